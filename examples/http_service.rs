//! A small JSON HTTP/1.1 service on tulipa with hyper.
//!
//! - `POST /jobs {"n": 200000}`: puts a job on a `tulipa::Queue`; worker
//!   tasks take jobs and count the primes below `n` on the thread pool
//!   (`run_in_executor`), so the loop stays free;
//! - `GET /gather?delay_ms=10`: asks `/square` three times at once, through
//!   a hyper client on the same loop, with a 500 ms timeout (504 if late);
//! - `GET /stream?mib=8`: a large body made by a producer task through a
//!   4-chunk queue: the producer waits whenever the client reads slowly;
//! - `GET /health`, `GET /square?x=3`, `GET /panic` (a handler that panics:
//!   the answer is a 500 and the server goes on);
//! - `POST /shutdown`: graceful shutdown: stop accepting, let the
//!   connections finish their requests, stop the workers, exit.
//!
//! With the `tls` feature it also serves HTTPS on a second port with a
//! self-signed certificate made at start-up.
//!
//! `cargo run --example http_service --features hyper` serves on a free port until
//! `POST /shutdown`; `-- --self-test` starts the service, exercises every
//! endpoint with a hyper client on the same loop, prints what it checked
//! and exits 0 (1 if a check fails).

use std::cell::Cell;
use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use futures::StreamExt;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use tulipa::hyper_rt::{HyperIo, LoopTimer};
use tulipa::net::{TcpListener, TcpStream};
use tulipa::{Event, LoopFuture, Queue};

/// Response bodies: boxed, and `!Send` allowed (the loop is one thread).
type Body = std::pin::Pin<Box<dyn hyper::body::Body<Data = Bytes, Error = Infallible>>>;

const WORKERS: usize = 2;
const CHUNK: usize = 64 * 1024;
const STREAM_QUEUE: usize = 4;
const GATHER_TIMEOUT: Duration = Duration::from_millis(500);

/// A CPU job and where its answer goes.
struct Job {
    n: u64,
    reply: LoopFuture<u64>,
}

/// What every request handler shares (on the loop thread: `Rc`s are fine).
struct App {
    addr: SocketAddr,
    jobs: Queue<Job>,
    shutdown: Event,
    connections: Cell<usize>,
    drained: Event,
}

fn json_response(status: StatusCode, value: Value) -> Response<Body> {
    let mut response = Response::new(Box::pin(Full::new(Bytes::from(value.to_string()))) as Body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

fn query(req: &Request<Incoming>, key: &str) -> Option<u64> {
    req.uri().query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| v.parse().ok()).flatten()
    })
}

fn count_primes(n: u64) -> u64 {
    let n = n as usize;
    let mut sieve = vec![true; n.max(2)];
    sieve[0] = false;
    sieve[1] = false;
    let mut i = 2;
    while i * i < n {
        if sieve[i] {
            (i * i..n).step_by(i).for_each(|j| sieve[j] = false);
        }
        i += 1;
    }
    sieve.iter().filter(|&&p| p).count() as u64
}

/// Worker task: takes jobs off the queue until it is shut down.
async fn worker(app: Rc<App>) {
    while let Ok(job) = app.jobs.get().await {
        let n = job.n;
        match tulipa::run_in_executor(move || count_primes(n)).await {
            Ok(primes) => drop(job.reply.set_result(primes)),
            Err(e) => drop(job.reply.set_error(e)),
        }
        let _ = app.jobs.task_done();
    }
}

async fn route(req: Request<Incoming>, app: Rc<App>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    match (req.method().clone(), path.as_str()) {
        (Method::GET, "/health") => json_response(StatusCode::OK, json!({"status": "ok"})),
        (Method::GET, "/square") => {
            let x = query(&req, "x").unwrap_or(0);
            let delay = query(&req, "delay_ms").unwrap_or(0);
            tulipa::sleep(Duration::from_millis(delay)).await;
            json_response(StatusCode::OK, json!({"x": x, "square": x * x}))
        }
        (Method::POST, "/jobs") => {
            let body = req.into_body().collect().await.map(|b| b.to_bytes());
            let n = body
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .and_then(|v| v["n"].as_u64())
                .filter(|&n| n <= 50_000_000);
            let Some(n) = n else {
                let error = json!({"error": "expected {\"n\": <integer up to 50000000>}"});
                return json_response(StatusCode::BAD_REQUEST, error);
            };
            let reply = LoopFuture::new();
            let job = Job {
                n,
                reply: reply.clone(),
            };
            if app.jobs.put(job).await.is_err() {
                let error = json!({"error": "shutting down"});
                return json_response(StatusCode::SERVICE_UNAVAILABLE, error);
            }
            match reply.await {
                Ok(primes) => json_response(StatusCode::OK, json!({"n": n, "primes": primes})),
                Err(e) => json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"error": e.to_string()}),
                ),
            }
        }
        (Method::GET, "/gather") => {
            let delay = query(&req, "delay_ms").unwrap_or(0);
            let addr = app.addr;
            let calls = (1..=3).map(move |x| async move {
                fetch(addr, &format!("/square?x={x}&delay_ms={delay}")).await
            });
            match tulipa::wait_for(tulipa::gather(calls.map(tulipa::spawn)), GATHER_TIMEOUT).await {
                Ok(results) => {
                    let squares: Vec<Value> = results
                        .into_iter()
                        .map(|r| match r {
                            Ok(Ok((_, body))) => body["square"].clone(),
                            _ => Value::Null,
                        })
                        .collect();
                    json_response(StatusCode::OK, json!({"squares": squares}))
                }
                Err(_) => json_response(
                    StatusCode::GATEWAY_TIMEOUT,
                    json!({"error": "timeout", "after_ms": GATHER_TIMEOUT.as_millis() as u64}),
                ),
            }
        }
        (Method::GET, "/stream") => {
            let mib = query(&req, "mib").unwrap_or(1).min(1024) as usize;
            stream_body(mib * 1024 * 1024)
        }
        (Method::GET, "/panic") => panic!("this handler always panics"),
        (Method::POST, "/shutdown") => {
            app.shutdown.set();
            json_response(StatusCode::OK, json!({"shutting_down": true}))
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            json!({"error": "not found", "path": path}),
        ),
    }
}

/// A body of `total` bytes: chunk `i` is filled with the byte `i % 251`.
/// A producer task puts chunks into a small queue that the body drains as
/// hyper sends: when the client is slow, `put` waits (back-pressure).
/// Dropping the body (client gone) cancels the producer.
fn stream_body(total: usize) -> Response<Body> {
    let chunks: Queue<Bytes> = Queue::new(STREAM_QUEUE);
    let tx = chunks.clone();
    let producer = tulipa::spawn(async move {
        let mut sent = 0;
        let mut i = 0usize;
        while sent < total {
            let n = CHUNK.min(total - sent);
            if tx.put(Bytes::from(vec![(i % 251) as u8; n])).await.is_err() {
                return;
            }
            sent += n;
            i += 1;
        }
        tx.shutdown(false);
    })
    .cancel_on_drop();
    let frames = chunks.stream().map(move |chunk| {
        let _producer = &producer;
        Ok::<_, Infallible>(Frame::data(chunk))
    });
    let mut response = Response::new(Box::pin(StreamBody::new(frames)) as Body);
    response.headers_mut().insert(
        hyper::header::CONTENT_LENGTH,
        hyper::header::HeaderValue::from(total),
    );
    response
}

/// Runs `route` as a task of its own: a panic becomes a 500 answer.
async fn contained(req: Request<Incoming>, app: Rc<App>) -> Result<Response<Body>, Infallible> {
    Ok(match tulipa::spawn(route(req, app)).await {
        Ok(response) => response,
        Err(e) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "internal error", "detail": e.to_string()}),
        ),
    })
}

/// Serves one connection; on shutdown asks hyper to finish the request in
/// progress and close.
async fn serve_connection<S>(io: S, app: Rc<App>)
where
    S: futures::AsyncRead + futures::AsyncWrite + Unpin + 'static,
{
    app.connections.set(app.connections.get() + 1);
    let service = service_fn({
        let app = app.clone();
        move |req| contained(req, app.clone())
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(LoopTimer)
        .header_read_timeout(Duration::from_secs(10))
        .serve_connection(HyperIo::new(io), service);
    let mut conn = pin!(conn);
    let mut stop = pin!(app.shutdown.wait());
    let mut stopping = false;
    let _ = poll_fn(|cx| {
        if !stopping && stop.as_mut().poll(cx).is_ready() {
            stopping = true;
            conn.as_mut().graceful_shutdown();
        }
        conn.as_mut().poll(cx)
    })
    .await;
    app.connections.set(app.connections.get() - 1);
    if app.connections.get() == 0 && app.shutdown.is_set() {
        app.drained.set();
    }
}

/// Accepts until shutdown; `wrap` turns a TCP stream into what is served
/// (itself, or a TLS stream).
async fn accept_loop<W, F, S>(listener: TcpListener, app: Rc<App>, wrap: W)
where
    W: Fn(TcpStream) -> F + 'static,
    F: Future<Output = Option<S>> + 'static,
    S: futures::AsyncRead + futures::AsyncWrite + Unpin + 'static,
{
    loop {
        let accepted = {
            let mut accept = pin!(listener.accept());
            let mut stop = pin!(app.shutdown.wait());
            poll_fn(|cx| {
                if stop.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(None);
                }
                accept.as_mut().poll(cx).map(Some)
            })
            .await
        };
        match accepted {
            None => return,
            Some(Ok((stream, _))) => {
                let app = app.clone();
                let wrapped = wrap(stream);
                drop(tulipa::spawn(async move {
                    if let Some(io) = wrapped.await {
                        serve_connection(io, app).await;
                    }
                }));
            }
            Some(Err(e)) => eprintln!("accept failed: {e}"),
        }
    }
}

/// One request on a fresh connection; returns the status and the JSON body.
async fn fetch(addr: SocketAddr, path: &str) -> Result<(StatusCode, Value), String> {
    request(addr, Method::GET, path, None).await
}

async fn request(
    addr: SocketAddr,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<(StatusCode, Value), String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let (status, bytes) = send(stream, method, path, body).await?;
    let value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    Ok((status, value))
}

async fn send<S>(
    io: S,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<(StatusCode, Bytes), String>
where
    S: futures::AsyncRead + futures::AsyncWrite + Unpin + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(HyperIo::new(io))
        .await
        .map_err(|e| e.to_string())?;
    drop(tulipa::spawn(conn));
    let body = body.map(|v| v.to_string()).unwrap_or_default();
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let response = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, bytes))
}

fn check(what: &str, ok: bool, detail: String) -> Result<(), String> {
    if ok {
        println!("ok   {what}: {detail}");
        Ok(())
    } else {
        Err(format!("FAIL {what}: {detail}"))
    }
}

/// Reads `/stream` slowly, frame by frame, and checks every byte.
async fn check_stream(addr: SocketAddr, mib: usize) -> Result<(), String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(HyperIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    drop(tulipa::spawn(conn));
    let req = Request::get(format!("/stream?mib={mib}"))
        .header("host", "localhost")
        .body(http_body_util::Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let mut body = response.into_body();
    let (mut total, mut frames, mut intact) = (0usize, 0usize, true);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| e.to_string())?;
        if let Ok(data) = frame.into_data() {
            for (k, byte) in data.iter().enumerate() {
                intact &= *byte == (((total + k) / CHUNK) % 251) as u8;
            }
            total += data.len();
            frames += 1;
            if frames % 16 == 0 {
                // A slow reader: the producer waits meanwhile.
                tulipa::sleep(Duration::from_millis(1)).await;
            }
        }
    }
    check(
        &format!("GET /stream?mib={mib}"),
        total == mib * 1024 * 1024 && intact,
        format!("{total} bytes in {frames} frames, intact: {intact}, through a {STREAM_QUEUE}-chunk queue"),
    )
}

async fn self_test(app: Rc<App>, tls: Option<Tls>) -> Result<(), String> {
    let addr = app.addr;
    let (status, body) = fetch(addr, "/health").await?;
    check(
        "GET /health",
        status == 200 && body["status"] == "ok",
        body.to_string(),
    )?;

    let jobs = [100_000u64, 1_000_000, 2_000_000];
    let expected = [9_592u64, 78_498, 148_933];
    let posts =
        jobs.map(|n| tulipa::spawn(request(addr, Method::POST, "/jobs", Some(json!({"n": n})))));
    for ((n, want), answer) in jobs.iter().zip(expected).zip(tulipa::gather(posts).await) {
        let (status, body) = answer.map_err(|e| e.to_string())??;
        check(
            &format!("POST /jobs {{\"n\": {n}}}"),
            status == 200 && body["primes"] == want,
            body.to_string(),
        )?;
    }
    let (status, body) = request(addr, Method::POST, "/jobs", Some(json!({"x": 1}))).await?;
    check(
        "POST /jobs (bad body)",
        status == 400,
        format!("{status} {body}"),
    )?;

    let (status, body) = fetch(addr, "/gather?delay_ms=10").await?;
    check(
        "GET /gather?delay_ms=10",
        status == 200 && body["squares"] == json!([1, 4, 9]),
        body.to_string(),
    )?;
    let (status, body) = fetch(addr, "/gather?delay_ms=1000").await?;
    check(
        "GET /gather?delay_ms=1000",
        status == 504 && body["error"] == "timeout",
        format!("{status} {body}"),
    )?;

    check_stream(addr, 8).await?;

    let (status, body) = fetch(addr, "/panic").await?;
    check("GET /panic", status == 500, format!("{status} {body}"))?;
    let (status, _) = fetch(addr, "/health").await?;
    check(
        "GET /health after the panic",
        status == 200,
        status.to_string(),
    )?;
    let (status, body) = fetch(addr, "/nowhere").await?;
    check("GET /nowhere", status == 404, format!("{status} {body}"))?;

    if let Some(tls) = tls {
        tls.check().await?;
    }

    // Graceful shutdown with a request in flight: it is answered first.
    let slow = tulipa::spawn(fetch(addr, "/square?x=7&delay_ms=200"));
    tulipa::sleep(Duration::from_millis(50)).await;
    let (status, _) = request(addr, Method::POST, "/shutdown", None).await?;
    let (slow_status, slow_body) = slow.await.map_err(|e| e.to_string())??;
    check(
        "POST /shutdown",
        status == 200 && slow_status == 200 && slow_body["square"] == 49,
        format!("in-flight request answered during shutdown: {slow_body}"),
    )?;
    Ok(())
}

#[cfg(feature = "tls")]
mod https {
    //! The HTTPS side: a self-signed certificate for `localhost`.
    use std::net::SocketAddr;
    use std::sync::Arc;

    use hyper::Method;
    use tulipa::net::TcpStream;
    use tulipa::tls::{rustls, TlsAcceptor, TlsConnector};

    pub(crate) struct Tls {
        pub(crate) addr: SocketAddr,
        pub(crate) connector: TlsConnector,
    }

    pub(crate) fn configs() -> (TlsAcceptor, TlsConnector) {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let der = cert.cert.der().clone();
        let key =
            rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
        let mut server = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![der.clone()], key)
            .unwrap();
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        let mut roots = rustls::RootCertStore::empty();
        roots.add(der).unwrap();
        let mut client = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        client.alpn_protocols = vec![b"http/1.1".to_vec()];
        (
            TlsAcceptor::new(Arc::new(server)),
            TlsConnector::new(Arc::new(client)),
        )
    }

    impl Tls {
        pub(crate) async fn check(&self) -> Result<(), String> {
            let stream = TcpStream::connect(self.addr)
                .await
                .map_err(|e| e.to_string())?;
            let tls = self
                .connector
                .connect("localhost", stream)
                .await
                .map_err(|e| e.to_string())?;
            let alpn = tls
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned());
            let version = format!("{:?}", tls.protocol_version());
            let (status, body) = super::send(tls, Method::GET, "/health", None).await?;
            super::check(
                "HTTPS GET /health",
                status == 200 && body.as_ref() == br#"{"status":"ok"}"#,
                format!(
                    "{version}, ALPN {alpn:?}, {}",
                    String::from_utf8_lossy(&body)
                ),
            )
        }
    }
}
#[cfg(feature = "tls")]
use https::Tls;

#[cfg(not(feature = "tls"))]
struct Tls;
#[cfg(not(feature = "tls"))]
impl Tls {
    async fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

async fn main_async(self_testing: bool) -> Result<(), String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let app = Rc::new(App {
        addr,
        jobs: Queue::new(16),
        shutdown: Event::new(),
        connections: Cell::new(0),
        drained: Event::new(),
    });
    println!("serving http://{addr}");
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| tulipa::spawn(worker(app.clone())))
        .collect();
    #[allow(unused_mut)]
    let mut acceptors = vec![tulipa::spawn(accept_loop(
        listener,
        app.clone(),
        |s| async { Some(s) },
    ))];

    #[cfg(feature = "tls")]
    let tls = {
        let (acceptor, connector) = https::configs();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let tls_addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!("serving https://localhost:{}", tls_addr.port());
        acceptors.push(tulipa::spawn(accept_loop(
            listener,
            app.clone(),
            move |s| {
                let acceptor = acceptor.clone();
                async move { acceptor.accept(s).await.ok() }
            },
        )));
        Some(Tls {
            addr: tls_addr,
            connector,
        })
    };
    #[cfg(not(feature = "tls"))]
    let tls: Option<Tls> = None;

    let outcome = if self_testing {
        let result = self_test(app.clone(), tls).await;
        app.shutdown.set();
        result
    } else {
        let _ = tls;
        app.shutdown.wait().await;
        Ok(())
    };

    // Graceful shutdown: no new connections, open ones finish, then the
    // workers finish the queued jobs and stop.
    for acceptor in acceptors {
        let _ = acceptor.await;
    }
    if app.connections.get() > 0 {
        app.drained.wait().await;
    }
    app.jobs.shutdown(false);
    for worker in workers {
        let _ = worker.await;
    }
    println!("shut down: connections drained, workers stopped");
    outcome
}

fn main() {
    let self_testing = std::env::args().any(|a| a == "--self-test");
    // `/panic` panics on purpose: one line on stderr, not a backtrace.
    std::panic::set_hook(Box::new(|info| eprintln!("handler panicked: {info}")));
    match tulipa::run(main_async(self_testing)) {
        Ok(Ok(())) => {
            if self_testing {
                println!("self-test passed");
            }
        }
        Ok(Err(failure)) => {
            eprintln!("{failure}");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("loop failed: {e}");
            std::process::exit(1);
        }
    }
}
