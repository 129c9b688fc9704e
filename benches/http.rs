//! HTTP/1.1 keep-alive hello-world: hyper's server on tulipa's loop (through
//! `tulipa::hyper_rt`) against hyper's server on tokio's current_thread
//! runtime (through hyper-util's `TokioIo`), same service, interleaved in
//! one process run.
//!
//! The load generator is the same for both: 64 keep-alive connections on a
//! tulipa loop in another thread, each sending `GET /` and reading the
//! whole response before the next (a light raw-socket client, so that the
//! server is what is measured).
//!
//!     cargo bench --bench http --features hyper
//!     TULIPA_BENCH_SAMPLES=9 cargo bench --bench http --features hyper
//!     TULIPA_BENCH_ONLY=tokio cargo bench --bench http --features hyper
#![cfg(not(loom))]

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};

const CONNECTIONS: usize = 64;
const REQUESTS: usize = 1_500;
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n";

type Run = fn() -> Duration;

fn main() {
    let samples = support::samples(5);
    let contenders: &[(&str, Run)] = &[
        ("tulipa + hyper (http1)", || pair(tulipa_server)),
        ("tokio current_thread + hyper (http1)", || {
            pair(tokio_server)
        }),
    ];
    let total = (CONNECTIONS * REQUESTS) as f64;
    if let Ok(only) = std::env::var("TULIPA_BENCH_ONLY") {
        for (who, run) in contenders.iter().filter(|(who, _)| who.contains(&only)) {
            println!(
                "  {who:<40} {:>10.0} requests/s",
                total / run().as_secs_f64()
            );
        }
        return;
    }
    println!(
        "HTTP/1.1 keep-alive hello world: {CONNECTIONS} connections x {REQUESTS} requests; \
         {samples} interleaved samples; medians; ratio = tulipa / tokio (> 1 is faster)"
    );
    let medians = support::interleaved(samples, total, contenders);
    for (i, (who, _)) in contenders.iter().enumerate() {
        println!("  {who:<40} {:>10.0} requests/s", medians[i]);
    }
    println!("  ratio tulipa / tokio: {:.2}", medians[0] / medians[1]);
}

async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello, World!",
    ))))
}

/// Runs `server` on its own thread (it sends its address, serves
/// `CONNECTIONS` connections until they close), the load on a second
/// thread; returns the load's wall time.
fn pair(server: fn(mpsc::Sender<SocketAddr>)) -> Duration {
    support::pair(server, load)
}

fn tulipa_server(ready: mpsc::Sender<SocketAddr>) {
    use tulipa::hyper_rt::{HyperIo, LoopTimer};
    support::tulipa_run(async {
        let listener = tulipa::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        ready.send(listener.local_addr().unwrap()).unwrap();
        let mut connections = Vec::new();
        for _ in 0..CONNECTIONS {
            let (stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            connections.push(tulipa::spawn(async move {
                hyper::server::conn::http1::Builder::new()
                    .timer(LoopTimer)
                    .serve_connection(HyperIo::new(stream), hyper::service::service_fn(hello))
                    .await
                    .unwrap();
            }));
        }
        for c in connections {
            c.await.unwrap();
        }
    });
}

fn tokio_server(ready: mpsc::Sender<SocketAddr>) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    support::tokio_rt().block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        ready.send(listener.local_addr().unwrap()).unwrap();
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let mut connections = Vec::new();
                for _ in 0..CONNECTIONS {
                    let (stream, _) = listener.accept().await.unwrap();
                    stream.set_nodelay(true).unwrap();
                    connections.push(tokio::task::spawn_local(async move {
                        hyper::server::conn::http1::Builder::new()
                            .timer(TokioTimer::new())
                            .serve_connection(
                                TokioIo::new(stream),
                                hyper::service::service_fn(hello),
                            )
                            .await
                            .unwrap();
                    }));
                }
                for c in connections {
                    c.await.unwrap();
                }
            })
            .await;
    });
}

/// The load generator: `CONNECTIONS` keep-alive connections on a tulipa
/// loop, `REQUESTS` sequential requests each; every response is parsed
/// (header end, `content-length`) and its body checked.
fn load(addr: SocketAddr) -> Duration {
    use tulipa::net::TcpStream;
    support::tulipa_clients(CONNECTIONS, move || async move {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let mut buf = vec![0u8; 4096];
        let mut have = 0;
        for _ in 0..REQUESTS {
            stream.write_all(REQUEST).await.unwrap();
            loop {
                if let Some(used) = response_len(&buf[..have]) {
                    assert!(buf[..used].ends_with(b"Hello, World!"));
                    buf.copy_within(used..have, 0);
                    have -= used;
                    break;
                }
                let n = stream.read(&mut buf[have..]).await.unwrap();
                assert!(n > 0, "server closed");
                have += n;
            }
        }
    })
}

/// The length of the complete response at the start of `data`, if it is.
fn response_len(data: &[u8]) -> Option<usize> {
    let head = data.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let headers = std::str::from_utf8(&data[..head]).ok()?;
    let body: usize = headers
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0);
    (data.len() >= head + body).then_some(head + body)
}
