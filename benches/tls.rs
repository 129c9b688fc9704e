//! TLS on tulipa's loop (rustls through `futures-rustls`, `tulipa::tls`)
//! against tokio-rustls on tokio's current_thread runtime: full handshakes
//! per second, and bulk throughput over one connection. Same rustls
//! configs (ring, TLS 1.3, ECDSA P-256, no resumption), server and client
//! on two threads, interleaved in one process run.
//!
//!     cargo bench --bench tls --features tls
//!     TULIPA_BENCH_SAMPLES=9 cargo bench --bench tls --features tls
//!     TULIPA_BENCH_ONLY=tokio cargo bench --bench tls --features tls
#![cfg(not(loom))]

mod support;

use std::cell::Cell;
use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use futures::{AsyncReadExt, AsyncWriteExt};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tulipa::tls::rustls;

/// Handshakes per sample, from `PARALLEL` clients at once.
const HANDSHAKES: usize = 400;
const PARALLEL: usize = 8;
/// Bytes per bulk sample, written in `CHUNK`s.
const BULK: usize = 256 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

#[derive(Clone)]
struct Configs {
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
}

fn configs() -> Configs {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let der: CertificateDer<'static> = cert.cert.der().clone();
    let key = PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    let mut server = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key)
        .unwrap();
    server.send_tls13_tickets = 0;
    server.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der).unwrap();
    let mut client = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.resumption = rustls::client::Resumption::disabled();
    Configs {
        server: Arc::new(server),
        client: Arc::new(client),
    }
}

type Run = fn(&Configs) -> Duration;

/// A workload: its name, unit, the amount one run moves, the contenders
/// (the peer last).
type Group = (&'static str, &'static str, f64, [(&'static str, Run); 3]);

fn main() {
    let samples = support::samples(5);
    let configs = configs();
    let groups: [Group; 2] = [
        (
            "full TLS 1.3 handshakes",
            "handshakes/s",
            HANDSHAKES as f64,
            [
                ("tulipa::tls (TlsConnector/TlsAcceptor)", tulipa_handshakes),
                (
                    "tulipa::tls open_connection/start_server",
                    tulipa_handshakes_streams,
                ),
                ("tokio-rustls", tokio_handshakes),
            ],
        ),
        (
            "bulk TLS, one connection",
            "MiB/s",
            (BULK / (1024 * 1024)) as f64,
            [
                ("tulipa::tls TlsStream (futures-io)", tulipa_bulk),
                ("tulipa::tls StreamWriter/StreamReader", tulipa_bulk_streams),
                ("tokio-rustls", tokio_bulk),
            ],
        ),
    ];
    if let Ok(only) = std::env::var("TULIPA_BENCH_ONLY") {
        for (_, unit, amount, contenders) in &groups {
            for (who, run) in contenders.iter().filter(|(who, _)| who.contains(&only)) {
                let rate = amount / run(&configs).as_secs_f64();
                println!("  {who:<44} {rate:>10.0} {unit}");
            }
        }
        return;
    }
    for (what, unit, amount, contenders) in &groups {
        println!(
            "{what}: {samples} interleaved samples; medians; ratio = tulipa / tokio-rustls \
             (> 1 is faster)"
        );
        let configs = &configs;
        let runs: Vec<_> = contenders
            .iter()
            .map(|&(who, run)| (who, move || run(configs)))
            .collect();
        let medians = support::interleaved(samples, *amount, &runs);
        for (i, (who, _)) in contenders.iter().enumerate() {
            println!("  {who:<44} {:>10.0} {unit}", medians[i]);
        }
        let peer = medians[contenders.len() - 1];
        for (i, (who, _)) in contenders.iter().enumerate().take(contenders.len() - 1) {
            println!("  ratio {who} / tokio-rustls: {:.2}", medians[i] / peer);
        }
    }
}

/// Server on its own thread (sends its address), client here on another;
/// returns the client's wall time.
fn pair(
    configs: &Configs,
    server: fn(Configs, mpsc::Sender<SocketAddr>),
    client: fn(Configs, SocketAddr) -> Duration,
) -> Duration {
    let (s, c) = (configs.clone(), configs.clone());
    support::pair(move |ready| server(s, ready), move |addr| client(c, addr))
}

// ---- tulipa ----------------------------------------------------------------

fn tulipa_handshakes(configs: &Configs) -> Duration {
    pair(configs, tulipa_handshake_server, tulipa_handshake_clients)
}

fn tulipa_handshakes_streams(configs: &Configs) -> Duration {
    pair(
        configs,
        tulipa_handshake_server_streams,
        tulipa_handshake_clients_streams,
    )
}

/// Accepts `HANDSHAKES` connections; each: handshake, one byte back.
fn tulipa_handshake_server(configs: Configs, ready: mpsc::Sender<SocketAddr>) {
    support::tulipa_run(async move {
        let listener = tulipa::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        ready.send(listener.local_addr().unwrap()).unwrap();
        let acceptor = tulipa::tls::TlsAcceptor::new(configs.server);
        let mut tasks = Vec::new();
        for _ in 0..HANDSHAKES {
            let (stream, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            tasks.push(tulipa::spawn(async move {
                let mut tls = acceptor.accept(stream).await.unwrap();
                tls.write_all(b"!").await.unwrap();
                tls.close().await.unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

fn tulipa_handshake_clients(configs: Configs, addr: SocketAddr) -> Duration {
    let connector = tulipa::tls::TlsConnector::new(configs.client);
    support::tulipa_clients(PARALLEL, move || {
        let connector = connector.clone();
        async move {
            for _ in 0..HANDSHAKES / PARALLEL {
                let stream = tulipa::net::TcpStream::connect(addr).await.unwrap();
                let mut tls = connector.connect("localhost", stream).await.unwrap();
                let mut one = [0u8; 1];
                tls.read_exact(&mut one).await.unwrap();
            }
        }
    })
}

/// `tulipa::tls::start_server` with `handler` on 127.0.0.1:0; sends the
/// address and returns once a handler has set the event it is given.
fn tulipa_streams_server<H, F>(configs: Configs, ready: mpsc::Sender<SocketAddr>, handler: H)
where
    H: Fn(tulipa::net::StreamWriter, Rc<tulipa::Event>) -> F + 'static,
    F: Future<Output = ()> + 'static,
{
    support::tulipa_run(async move {
        let finished = Rc::new(tulipa::Event::new());
        let f = finished.clone();
        let server = tulipa::tls::start_server(
            move |_reader, writer| handler(writer, f.clone()),
            "127.0.0.1:0",
            tulipa::tls::TlsAcceptor::new(configs.server),
        )
        .await
        .unwrap();
        ready.send(server.local_addr().unwrap()).unwrap();
        finished.wait().await;
    });
}

fn tulipa_handshake_server_streams(configs: Configs, ready: mpsc::Sender<SocketAddr>) {
    let done = Rc::new(Cell::new(0));
    tulipa_streams_server(configs, ready, move |writer, finished| {
        let done = done.clone();
        async move {
            writer.write(b"!");
            writer.close();
            let _ = writer.wait_closed().await;
            done.set(done.get() + 1);
            if done.get() == HANDSHAKES {
                finished.set();
            }
        }
    });
}

fn tulipa_handshake_clients_streams(configs: Configs, addr: SocketAddr) -> Duration {
    let connector = tulipa::tls::TlsConnector::new(configs.client);
    support::tulipa_clients(PARALLEL, move || {
        let connector = connector.clone();
        async move {
            for _ in 0..HANDSHAKES / PARALLEL {
                let (mut reader, _writer) =
                    tulipa::tls::open_connection(addr, &connector, "localhost")
                        .await
                        .unwrap();
                assert_eq!(reader.readexactly(1).await.unwrap(), b"!");
            }
        }
    })
}

fn tulipa_bulk(configs: &Configs) -> Duration {
    pair(configs, tulipa_bulk_server, tulipa_bulk_client)
}

fn tulipa_bulk_streams(configs: &Configs) -> Duration {
    pair(
        configs,
        tulipa_bulk_server_streams,
        tulipa_bulk_client_streams,
    )
}

/// One connection: the server sends `BULK` bytes and closes.
fn tulipa_bulk_server(configs: Configs, ready: mpsc::Sender<SocketAddr>) {
    support::tulipa_run(async move {
        let listener = tulipa::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        ready.send(listener.local_addr().unwrap()).unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        let acceptor = tulipa::tls::TlsAcceptor::new(configs.server);
        let mut tls = acceptor.accept(stream).await.unwrap();
        let chunk = vec![5u8; CHUNK];
        for _ in 0..BULK / CHUNK {
            tls.write_all(&chunk).await.unwrap();
        }
        tls.close().await.unwrap();
    });
}

fn tulipa_bulk_client(configs: Configs, addr: SocketAddr) -> Duration {
    support::tulipa_run(async move {
        let connector = tulipa::tls::TlsConnector::new(configs.client);
        let stream = tulipa::net::TcpStream::connect(addr).await.unwrap();
        let mut tls = connector.connect("localhost", stream).await.unwrap();
        let start = Instant::now();
        let mut buf = vec![0u8; CHUNK];
        let mut total = 0;
        loop {
            let n = tls.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            total += n;
        }
        assert_eq!(total, BULK);
        start.elapsed()
    })
}

fn tulipa_bulk_server_streams(configs: Configs, ready: mpsc::Sender<SocketAddr>) {
    tulipa_streams_server(configs, ready, |writer, finished| async move {
        let chunk = vec![5u8; CHUNK];
        for _ in 0..BULK / CHUNK {
            writer.write(&chunk);
            writer.drain().await.unwrap();
        }
        writer.close();
        writer.wait_closed().await.unwrap();
        finished.set();
    });
}

fn tulipa_bulk_client_streams(configs: Configs, addr: SocketAddr) -> Duration {
    support::tulipa_run(async move {
        let connector = tulipa::tls::TlsConnector::new(configs.client);
        let (mut reader, _writer) = tulipa::tls::open_connection(addr, &connector, "localhost")
            .await
            .unwrap();
        let start = Instant::now();
        let mut total = 0;
        loop {
            let data = reader.read(CHUNK).await.unwrap();
            if data.is_empty() {
                break;
            }
            total += data.len();
        }
        assert_eq!(total, BULK);
        start.elapsed()
    })
}

// ---- tokio-rustls ----------------------------------------------------------

fn tokio_handshakes(configs: &Configs) -> Duration {
    pair(configs, tokio_handshake_server, tokio_handshake_clients)
}

fn tokio_handshake_server(configs: Configs, ready: mpsc::Sender<SocketAddr>) {
    use tokio::io::AsyncWriteExt;
    support::tokio_rt().block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        ready.send(listener.local_addr().unwrap()).unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(configs.server);
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let mut tasks = Vec::new();
                for _ in 0..HANDSHAKES {
                    let (stream, _) = listener.accept().await.unwrap();
                    let acceptor = acceptor.clone();
                    tasks.push(tokio::task::spawn_local(async move {
                        let mut tls = acceptor.accept(stream).await.unwrap();
                        tls.write_all(b"!").await.unwrap();
                        tls.shutdown().await.unwrap();
                    }));
                }
                for t in tasks {
                    t.await.unwrap();
                }
            })
            .await;
    });
}

fn tokio_handshake_clients(configs: Configs, addr: SocketAddr) -> Duration {
    use tokio::io::AsyncReadExt;
    support::tokio_rt().block_on(async move {
        let connector = tokio_rustls::TlsConnector::from(configs.client);
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let start = Instant::now();
                let workers: Vec<_> = (0..PARALLEL)
                    .map(|_| {
                        let connector = connector.clone();
                        tokio::task::spawn_local(async move {
                            for _ in 0..HANDSHAKES / PARALLEL {
                                let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                                let name = ServerName::try_from("localhost").unwrap();
                                let mut tls = connector.connect(name, stream).await.unwrap();
                                let mut one = [0u8; 1];
                                tls.read_exact(&mut one).await.unwrap();
                            }
                        })
                    })
                    .collect();
                for w in workers {
                    w.await.unwrap();
                }
                start.elapsed()
            })
            .await
    })
}

fn tokio_bulk(configs: &Configs) -> Duration {
    pair(configs, tokio_bulk_server, tokio_bulk_client)
}

fn tokio_bulk_server(configs: Configs, ready: mpsc::Sender<SocketAddr>) {
    use tokio::io::AsyncWriteExt;
    support::tokio_rt().block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        ready.send(listener.local_addr().unwrap()).unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(configs.server);
        let mut tls = acceptor.accept(stream).await.unwrap();
        let chunk = vec![5u8; CHUNK];
        for _ in 0..BULK / CHUNK {
            tls.write_all(&chunk).await.unwrap();
        }
        tls.shutdown().await.unwrap();
    });
}

fn tokio_bulk_client(configs: Configs, addr: SocketAddr) -> Duration {
    use tokio::io::AsyncReadExt;
    support::tokio_rt().block_on(async move {
        let connector = tokio_rustls::TlsConnector::from(configs.client);
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let mut tls = connector.connect(name, stream).await.unwrap();
        let start = Instant::now();
        let mut buf = vec![0u8; CHUNK];
        let mut total = 0;
        loop {
            let n = tls.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            total += n;
        }
        assert_eq!(total, BULK);
        start.elapsed()
    })
}
