//! W10 of BENCHMARKS.md (tcp-echo): an echo server on 127.0.0.1:0 and 32
//! client connections each doing 10_000 round trips of a 64-byte message,
//! the clients on a second loop in a second thread. tulipa against tokio's
//! current_thread runtime (same client shape: `write_all` + `read_exact`),
//! interleaved in one process run.
//!
//!     cargo bench --bench net                      # 5 samples per contender
//!     TULIPA_BENCH_SAMPLES=9 cargo bench --bench net
//!     TULIPA_BENCH_ONLY=tokio cargo bench --bench net   # one contender, one run
#![cfg(not(loom))]

mod support;

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

const CONNECTIONS: usize = 32;
const ROUND_TRIPS: usize = 10_000;
const MESSAGE: usize = 64;

/// One contender: runs a server thread and a client thread, returns the
/// clients' wall time for all round trips.
type Run = fn() -> Duration;

fn main() {
    let samples = support::samples(5);
    let contenders: &[(&str, Run)] = &[
        ("tulipa TcpStream", tulipa_raw),
        (
            "tulipa streams (start_server/open_connection)",
            tulipa_streams,
        ),
        ("tokio TcpStream", tokio_raw),
    ];
    // TULIPA_BENCH_ONLY=<substring> runs one contender once (for strace/perf).
    if let Ok(only) = std::env::var("TULIPA_BENCH_ONLY") {
        for (who, run) in contenders.iter().filter(|(who, _)| who.contains(&only)) {
            let rate = (CONNECTIONS * ROUND_TRIPS) as f64 / run().as_secs_f64();
            println!("  {who:<48} {rate:>10.0} round trips/s");
        }
        return;
    }
    let total = (CONNECTIONS * ROUND_TRIPS) as f64;
    println!(
        "W10 tcp-echo: {CONNECTIONS} connections x {ROUND_TRIPS} round trips of {MESSAGE} bytes; \
         {samples} interleaved samples; medians; ratio = tulipa / tokio (> 1 is faster)"
    );
    let medians = support::interleaved(samples, total, contenders);
    for (i, (who, _)) in contenders.iter().enumerate() {
        println!("  {who:<48} {:>10.0} round trips/s", medians[i]);
    }
    let tokio = medians[contenders.len() - 1];
    for (i, (who, _)) in contenders.iter().enumerate().take(contenders.len() - 1) {
        println!("  ratio {who} / tokio: {:.2}", medians[i] / tokio);
    }
}

// ---- tulipa ----------------------------------------------------------------

fn tulipa_raw() -> Duration {
    support::pair(tulipa_raw_server, tulipa_raw_clients)
}

fn tulipa_streams() -> Duration {
    support::pair(tulipa_streams_server, tulipa_streams_clients)
}

fn tulipa_raw_server(ready: mpsc::Sender<SocketAddr>) {
    use tulipa::net::TcpListener;
    support::tulipa_run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        ready.send(listener.local_addr().unwrap()).unwrap();
        let mut handlers = Vec::new();
        for _ in 0..CONNECTIONS {
            let (stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            handlers.push(tulipa::spawn(async move {
                let mut buf = [0; 4096];
                loop {
                    let n = stream.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    stream.write_all(&buf[..n]).await.unwrap();
                }
            }));
        }
        for h in handlers {
            h.await.unwrap();
        }
    });
}

fn tulipa_raw_clients(addr: SocketAddr) -> Duration {
    use tulipa::net::TcpStream;
    support::tulipa_clients(CONNECTIONS, move || async move {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let msg = [7u8; MESSAGE];
        let mut buf = [0u8; MESSAGE];
        for _ in 0..ROUND_TRIPS {
            stream.write_all(&msg).await.unwrap();
            stream.read_exact(&mut buf).await.unwrap();
        }
    })
}

fn tulipa_streams_server(ready: mpsc::Sender<SocketAddr>) {
    use std::cell::Cell;
    use std::rc::Rc;
    support::tulipa_run(async {
        let done = Rc::new(Cell::new(0));
        let d = done.clone();
        let server = tulipa::net::start_server(
            move |mut reader, writer| {
                let d = d.clone();
                async move {
                    loop {
                        match reader.read(4096).await {
                            Ok(data) if !data.is_empty() => {
                                writer.write(&data);
                                writer.drain().await.unwrap();
                            }
                            _ => break,
                        }
                    }
                    d.set(d.get() + 1);
                }
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        ready.send(server.local_addr().unwrap()).unwrap();
        while done.get() < CONNECTIONS {
            tulipa::sleep(Duration::from_millis(1)).await;
        }
    });
}

fn tulipa_streams_clients(addr: SocketAddr) -> Duration {
    support::tulipa_clients(CONNECTIONS, move || async move {
        let (mut reader, writer) = tulipa::net::open_connection(addr).await.unwrap();
        let msg = [7u8; MESSAGE];
        for _ in 0..ROUND_TRIPS {
            writer.write(&msg);
            writer.drain().await.unwrap();
            reader.readexactly(MESSAGE).await.unwrap();
        }
    })
}

// ---- tokio -----------------------------------------------------------------

fn tokio_raw() -> Duration {
    support::pair(tokio_server, tokio_clients)
}

fn tokio_server(ready: mpsc::Sender<SocketAddr>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    support::tokio_rt().block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        ready.send(listener.local_addr().unwrap()).unwrap();
        let mut handlers = Vec::new();
        for _ in 0..CONNECTIONS {
            let (mut stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            handlers.push(tokio::spawn(async move {
                let mut buf = [0; 4096];
                loop {
                    let n = stream.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    stream.write_all(&buf[..n]).await.unwrap();
                }
            }));
        }
        for h in handlers {
            h.await.unwrap();
        }
    });
}

fn tokio_clients(addr: SocketAddr) -> Duration {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    support::tokio_clients(CONNECTIONS, move || async move {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let msg = [7u8; MESSAGE];
        let mut buf = [0u8; MESSAGE];
        for _ in 0..ROUND_TRIPS {
            stream.write_all(&msg).await.unwrap();
            stream.read_exact(&mut buf).await.unwrap();
        }
    })
}
