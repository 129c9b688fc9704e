//! HTTPS end to end: hyper over the TLS stream, HTTP/1.1 or HTTP/2 as ALPN
//! decides.
#![cfg(all(feature = "hyper", feature = "tls"))]

mod support;

#[path = "support/certs.rs"]
mod certs;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use certs::{client_config, server_config, Pki};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use tulipa::hyper_rt::{HyperIo, LocalExec, LoopTimer};
use tulipa::net::{TcpListener, TcpStream};
use tulipa::tls::{TlsAcceptor, TlsConnector, TlsStream};

use support::run_within;

/// Generous: only a hang gets near it.
const WATCHDOG: Duration = Duration::from_secs(60);

/// An HTTPS server speaking what ALPN picked.
async fn https_server(acceptor: TlsAcceptor) -> (std::net::SocketAddr, tulipa::Task<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tulipa::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            drop(tulipa::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let h2 = tls.alpn_protocol() == Some(b"h2");
                let service = service_fn(move |req: Request<Incoming>| async move {
                    let body = format!("{:?} {}", req.version(), req.uri().path());
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
                });
                let io = HyperIo::new(tls);
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
    (addr, task)
}

/// Starts [`https_server`] (offering h2 and http/1.1), connects to it
/// offering only `alpn`, and checks that ALPN picked it.
async fn connect_offering(pki: &Pki, alpn: &[u8]) -> (TlsStream, tulipa::Task<()>) {
    let server = server_config(&pki.ca, &pki.server, &[b"h2", b"http/1.1"]);
    let client = client_config(&pki.ca, None, &[alpn]);
    let (addr, task) = https_server(TlsAcceptor::new(Arc::new(server))).await;
    let connector = TlsConnector::new(Arc::new(client));
    let tls = connector
        .connect("localhost", TcpStream::connect(addr).await.unwrap())
        .await
        .unwrap();
    assert_eq!(tls.alpn_protocol(), Some(alpn));
    (tls, task)
}

fn get(path: &str) -> Request<Empty<Bytes>> {
    Request::get(path)
        .header("host", "localhost")
        .body(Empty::new())
        .unwrap()
}

#[test]
fn https_http1_end_to_end() {
    let pki = Pki::new();
    run_within(WATCHDOG, async move {
        let (tls, task) = connect_offering(&pki, b"http/1.1").await;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(HyperIo::new(tls))
            .await
            .unwrap();
        drop(tulipa::spawn(conn));
        for path in ["/a", "/b"] {
            sender.ready().await.unwrap();
            let response = sender.send_request(get(path)).await.unwrap();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, format!("HTTP/1.1 {path}"));
        }
        task.cancel();
    });
}

#[test]
fn https_http2_end_to_end() {
    let pki = Pki::new();
    run_within(WATCHDOG, async move {
        let (tls, task) = connect_offering(&pki, b"h2").await;
        let (sender, conn) = hyper::client::conn::http2::Builder::new(LocalExec)
            .timer(LoopTimer)
            .handshake(HyperIo::new(tls))
            .await
            .unwrap();
        drop(tulipa::spawn(conn));
        let requests = (0..8).map(|i| {
            let mut sender = sender.clone();
            tulipa::spawn(async move {
                let response = sender.send_request(get(&format!("/{i}"))).await.unwrap();
                response.into_body().collect().await.unwrap().to_bytes()
            })
        });
        for (i, body) in tulipa::gather(requests).await.into_iter().enumerate() {
            assert_eq!(body.unwrap(), format!("HTTP/2.0 /{i}"));
        }
        task.cancel();
    });
}
