//! hyper 1.x on the loop: HTTP/1.1 and HTTP/2, server and client, through
//! `HyperIo`, `LocalExec` and `LoopTimer`.
#![cfg(feature = "hyper")]

mod support;

use std::cell::Cell;
use std::convert::Infallible;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use tulipa::hyper_rt::{HyperIo, LocalExec, LoopTimer};
use tulipa::net::{TcpListener, TcpStream};

use support::run_within;

/// Generous: only a hang gets near it.
const WATCHDOG: Duration = Duration::from_secs(60);

type BoxBody = http_body_util::combinators::UnsyncBoxBody<Bytes, hyper::Error>;

fn full(text: impl Into<Bytes>) -> BoxBody {
    Full::new(text.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

thread_local! {
    /// Request body bytes `/count` has read so far.
    static CONSUMED: Cell<usize> = const { Cell::new(0) };
}

/// The test service: `/hello` answers, `/panic` panics, `/count` drains
/// the request body frame by frame (slowly) and answers its length.
async fn handle(req: Request<Incoming>, served: Rc<Cell<u32>>) -> Response<BoxBody> {
    served.set(served.get() + 1);
    match req.uri().path() {
        "/panic" => panic!("handler failed"),
        "/count" => {
            let mut body = req.into_body();
            let mut total = 0usize;
            CONSUMED.set(0);
            let mut frames = 0u32;
            while let Some(frame) = body.frame().await {
                if let Ok(data) = frame.unwrap().into_data() {
                    total += data.len();
                    CONSUMED.set(total);
                }
                frames += 1;
                if frames % 8 == 0 {
                    tulipa::sleep(Duration::from_millis(1)).await;
                }
            }
            Response::new(full(total.to_string()))
        }
        path => Response::new(full(format!("hello {path}"))),
    }
}

/// Runs `handle` as a task of its own: a panic answers 500.
async fn contained(
    req: Request<Incoming>,
    served: Rc<Cell<u32>>,
) -> Result<Response<BoxBody>, Infallible> {
    Ok(match tulipa::spawn(handle(req, served)).await {
        Ok(response) => response,
        Err(_) => {
            let mut response = Response::new(full("internal error"));
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            response
        }
    })
}

struct TestServer {
    addr: std::net::SocketAddr,
    connections: Rc<Cell<u32>>,
    served: Rc<Cell<u32>>,
    acceptor: tulipa::Task<()>,
}

/// An HTTP server on 127.0.0.1: one task per connection, HTTP/1.1 or
/// HTTP/2 (prior knowledge).
async fn serve(h2: bool) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Rc::new(Cell::new(0));
    let served = Rc::new(Cell::new(0));
    let (c, s) = (connections.clone(), served.clone());
    let acceptor = tulipa::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            c.set(c.get() + 1);
            let s = s.clone();
            let service = service_fn(move |req| contained(req, s.clone()));
            let io = HyperIo::new(stream);
            drop(tulipa::spawn(async move {
                let _ = if h2 {
                    hyper::server::conn::http2::Builder::new(LocalExec)
                        .timer(LoopTimer)
                        .serve_connection(io, service)
                        .await
                } else {
                    hyper::server::conn::http1::Builder::new()
                        .timer(LoopTimer)
                        .serve_connection(io, service)
                        .await
                };
            }));
        }
    });
    TestServer {
        addr,
        connections,
        served,
        acceptor,
    }
}

async fn h1_client(addr: std::net::SocketAddr) -> hyper::client::conn::http1::SendRequest<BoxBody> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(HyperIo::new(stream))
        .await
        .unwrap();
    drop(tulipa::spawn(conn));
    sender
}

fn get(path: &str) -> Request<BoxBody> {
    Request::get(path)
        .header("host", "localhost")
        .body(Empty::new().map_err(|never| match never {}).boxed_unsync())
        .unwrap()
}

async fn text(response: Response<Incoming>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn http1_keep_alive_round_trips_on_one_connection() {
    run_within(WATCHDOG, async {
        let server = serve(false).await;
        let mut sender = h1_client(server.addr).await;
        for i in 0..5 {
            sender.ready().await.unwrap();
            let response = sender.send_request(get(&format!("/n{i}"))).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(text(response).await, format!("hello /n{i}"));
        }
        assert_eq!(server.connections.get(), 1, "keep-alive: one connection");
        assert_eq!(server.served.get(), 5);
        server.acceptor.cancel();
    });
}

#[test]
fn http2_concurrent_streams_with_non_send_state() {
    run_within(WATCHDOG, async {
        let server = serve(true).await;
        let stream = TcpStream::connect(server.addr).await.unwrap();
        let (sender, conn) = hyper::client::conn::http2::Builder::new(LocalExec)
            .timer(LoopTimer)
            .handshake::<_, BoxBody>(HyperIo::new(stream))
            .await
            .unwrap();
        drop(tulipa::spawn(conn));
        let requests = (0..20).map(|i| {
            let mut sender = sender.clone();
            tulipa::spawn(async move {
                let response = sender.send_request(get(&format!("/s{i}"))).await.unwrap();
                assert_eq!(response.version(), hyper::Version::HTTP_2);
                text(response).await
            })
        });
        let bodies = tulipa::gather(requests).await;
        for (i, body) in bodies.into_iter().enumerate() {
            assert_eq!(body.unwrap(), format!("hello /s{i}"));
        }
        assert_eq!(server.connections.get(), 1);
        assert_eq!(server.served.get(), 20);
        server.acceptor.cancel();
    });
}

#[test]
fn slow_client_does_not_hold_up_others() {
    run_within(WATCHDOG, async {
        let server = serve(false).await;
        // Half a request, then silence.
        let slow = TcpStream::connect(server.addr).await.unwrap();
        slow.write_all(b"GET /slow HTTP/1.1\r\nhost: localhost\r\n")
            .await
            .unwrap();
        let mut sender = h1_client(server.addr).await;
        for i in 0..10 {
            sender.ready().await.unwrap();
            let response = sender
                .send_request(get(&format!("/fast{i}")))
                .await
                .unwrap();
            assert_eq!(text(response).await, format!("hello /fast{i}"));
        }
        // The slow one finishes its request and is answered too.
        slow.write_all(b"\r\n").await.unwrap();
        let mut got = Vec::new();
        let mut buf = [0; 1024];
        while !String::from_utf8_lossy(&got).contains("hello /slow") {
            let n = slow.read(&mut buf).await.unwrap();
            assert!(n > 0, "connection closed early");
            got.extend_from_slice(&buf[..n]);
        }
        assert!(got.starts_with(b"HTTP/1.1 200 OK"));
        server.acceptor.cancel();
    });
}

/// A request body made on demand, one 64 KiB frame per poll; records how
/// far it ran ahead of what the server had consumed.
struct Producer {
    left: usize,
    produced: Arc<AtomicUsize>,
}

impl Body for Producer {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let n = self.left.min(64 * 1024);
        self.left -= n;
        // ORDERING: one thread; the atomic only makes the body `Send`.
        self.produced.fetch_add(n, Ordering::Relaxed);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![7u8; n])))))
    }
}

#[test]
fn request_body_streamed_with_back_pressure() {
    const TOTAL: usize = 48 * 1024 * 1024;
    run_within(WATCHDOG, async {
        let server = serve(false).await;
        let mut sender = h1_client(server.addr).await;
        let produced = Arc::new(AtomicUsize::new(0));
        let body = Producer {
            left: TOTAL,
            produced: produced.clone(),
        };
        let request = Request::post("/count")
            .header("host", "localhost")
            .body(body.boxed_unsync())
            .unwrap();
        let response = tulipa::spawn(sender.send_request(request));
        // The producer never gets far ahead of the slow server: the socket
        // buffers (a few MiB on loopback) and hyper's, not the whole body.
        let mut lead_max = 0;
        while !response.is_done() {
            let lead = produced.load(Ordering::Relaxed) - CONSUMED.get();
            lead_max = lead_max.max(lead);
            tulipa::sleep(Duration::from_millis(2)).await;
        }
        let response = response.await.unwrap().unwrap();
        assert_eq!(text(response).await, TOTAL.to_string());
        assert_eq!(produced.load(Ordering::Relaxed), TOTAL);
        assert!(lead_max > 0, "the watcher saw the upload in flight");
        assert!(
            lead_max < TOTAL / 2,
            "producer ran {lead_max} bytes ahead of the reader"
        );
        server.acceptor.cancel();
    });
}

#[test]
fn panicking_handler_answers_500_and_server_goes_on() {
    run_within(WATCHDOG, async {
        let server = serve(false).await;
        let mut sender = h1_client(server.addr).await;
        let response = sender.send_request(get("/panic")).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(text(response).await, "internal error");
        // Same connection, and a new one, both still served.
        sender.ready().await.unwrap();
        let response = sender.send_request(get("/after")).await.unwrap();
        assert_eq!(text(response).await, "hello /after");
        let mut other = h1_client(server.addr).await;
        let response = other.send_request(get("/other")).await.unwrap();
        assert_eq!(text(response).await, "hello /other");
        server.acceptor.cancel();
    });
}

#[test]
fn header_read_timeout_runs_on_loop_timer() {
    run_within(WATCHDOG, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tulipa::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let service = service_fn(|_req: Request<Incoming>| async {
                Ok::<_, Infallible>(Response::new(full("never")))
            });
            hyper::server::conn::http1::Builder::new()
                .timer(LoopTimer)
                .header_read_timeout(Duration::from_millis(50))
                .serve_connection(HyperIo::new(stream), service)
                .await
        });
        let silent = TcpStream::connect(addr).await.unwrap();
        silent.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        // hyper's timer fires and the server ends the connection.
        let result = server.await.unwrap();
        assert!(result.unwrap_err().is_timeout());
        let mut buf = [0; 256];
        let mut all = Vec::new();
        loop {
            match silent.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
        assert!(!String::from_utf8_lossy(&all).contains("never"));
    });
}

#[cfg(unix)]
#[test]
fn http1_over_a_unix_socket() {
    run_within(WATCHDOG, async {
        let (a, b) = tulipa::net::UnixStream::pair().unwrap();
        let server = tulipa::spawn(async move {
            let service = service_fn(|req: Request<Incoming>| async move {
                Ok::<_, Infallible>(Response::new(full(format!("unix {}", req.uri().path()))))
            });
            hyper::server::conn::http1::Builder::new()
                .serve_connection(HyperIo::new(a), service)
                .await
        });
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake::<_, BoxBody>(HyperIo::new(b))
                .await
                .unwrap();
        let conn = tulipa::spawn(conn);
        let response = sender.send_request(get("/sock")).await.unwrap();
        assert_eq!(text(response).await, "unix /sock");
        drop(sender);
        conn.await.unwrap().unwrap();
        server.await.unwrap().unwrap();
    });
}
