//! TLS streams on the loop: asyncio's `open_connection(ssl=)`,
//! `start_server(ssl=)` and `start_tls`, with certificates made at test time.
#![cfg(feature = "tls")]

mod support;

#[path = "support/certs.rs"]
mod certs;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use certs::{client_config, mtls_server_config, server_config, Ca, Pki};
use tulipa::net::{self, TcpListener, TcpStream};
use tulipa::tls::rustls::{AlertDescription, CertificateError, ProtocolVersion};
use tulipa::tls::{self, TlsAcceptor, TlsConnector, TlsError, DEFAULT_HANDSHAKE_TIMEOUT};

use support::run_within;

/// Generous: only a hang gets near it.
const WATCHDOG: Duration = Duration::from_secs(60);

/// An echo server: every line comes back prefixed with what the server
/// knows of the client (its certificate count and the ALPN protocol).
async fn echo_server(acceptor: TlsAcceptor) -> net::Server {
    tls::start_server(
        |mut reader, writer| async move {
            let certs = writer.peer_certificates().map_or(0, |c| c.len());
            let alpn = writer.alpn_protocol().unwrap_or_default();
            let hello = format!("certs={certs} alpn={}\n", String::from_utf8_lossy(&alpn));
            writer.write(hello.as_bytes());
            while let Ok(line) = reader.readline().await {
                if line.is_empty() {
                    break;
                }
                writer.write(&line);
                if writer.drain().await.is_err() {
                    break;
                }
            }
        },
        "127.0.0.1:0",
        acceptor,
    )
    .await
    .unwrap()
}

/// Starts [`echo_server`] with `acceptor`, connects to it through
/// `connector` as "localhost", and returns why the handshake failed.
async fn handshake_error(acceptor: TlsAcceptor, connector: &TlsConnector) -> TlsError {
    connect_error(acceptor, connector, "localhost").await
}

/// Starts an echo server and returns the error of connecting to it as
/// `host`.
async fn connect_error(acceptor: TlsAcceptor, connector: &TlsConnector, host: &str) -> TlsError {
    let server = echo_server(acceptor).await;
    tls::open_connection(server.local_addr().unwrap(), connector, host)
        .await
        .expect_err("the connection should fail")
}

#[test]
fn open_connection_and_start_server_round_trip_lines() {
    let pki = Pki::new();
    run_within(WATCHDOG, async move {
        let server = echo_server(pki.acceptor()).await;
        let addr = server.local_addr().unwrap();
        let (mut reader, writer) = tls::open_connection(addr, &pki.connector(), "localhost")
            .await
            .unwrap();
        assert_eq!(reader.readline().await.unwrap(), b"certs=0 alpn=\n");
        writer.write(b"one\ntwo\n");
        assert_eq!(reader.readline().await.unwrap(), b"one\n");
        assert_eq!(reader.readexactly(4).await.unwrap(), b"two\n");
        // The server's chain: its certificate, then the CA.
        let chain = writer.peer_certificates().unwrap();
        assert_eq!(chain.len(), 2);
        assert_eq!(chain[0], pki.server.cert);
        assert_eq!(writer.tls_version(), Some(ProtocolVersion::TLSv1_3));
        assert_eq!(writer.alpn_protocol(), None);
        assert_eq!(writer.peer_addr().unwrap(), addr);
        writer.close();
        writer.wait_closed().await.unwrap();
        server.close();
        server.wait_closed().await;
    });
}

#[test]
fn ip_address_as_server_hostname() {
    let pki = Pki::new();
    run_within(WATCHDOG, async move {
        let server = echo_server(pki.acceptor()).await;
        let (mut reader, _writer) =
            tls::open_connection(server.local_addr().unwrap(), &pki.connector(), "127.0.0.1")
                .await
                .unwrap();
        assert_eq!(reader.readline().await.unwrap(), b"certs=0 alpn=\n");
    });
}

#[test]
fn alpn_protocol_negotiated_on_both_sides() {
    let pki = Pki::new();
    let server = server_config(&pki.ca, &pki.server, &[b"h2", b"http/1.1"]);
    let client = client_config(&pki.ca, None, &[b"http/1.1"]);
    run_within(WATCHDOG, async move {
        let server = echo_server(TlsAcceptor::new(Arc::new(server))).await;
        let connector = TlsConnector::new(Arc::new(client));
        let (mut reader, writer) =
            tls::open_connection(server.local_addr().unwrap(), &connector, "localhost")
                .await
                .unwrap();
        assert_eq!(reader.readline().await.unwrap(), b"certs=0 alpn=http/1.1\n");
        assert_eq!(writer.alpn_protocol().as_deref(), Some(&b"http/1.1"[..]));
    });
}

#[test]
fn alpn_without_common_protocol_is_refused() {
    let pki = Pki::new();
    let server = server_config(&pki.ca, &pki.server, &[b"h2"]);
    let client = client_config(&pki.ca, None, &[b"http/1.1"]);
    run_within(WATCHDOG, async move {
        let acceptor = TlsAcceptor::new(Arc::new(server));
        let err = handshake_error(acceptor, &TlsConnector::new(Arc::new(client))).await;
        assert!(
            matches!(
                err,
                TlsError::AlertReceived(AlertDescription::NoApplicationProtocol)
            ),
            "{err:?}"
        );
    });
}

#[test]
fn mutual_tls_server_sees_the_client_certificate() {
    let pki = Pki::new();
    let clients = Ca::new("client CA");
    let leaf = clients.client("client-1");
    let client_cert = leaf.cert.clone();
    let server = mtls_server_config(&pki.ca, &pki.server, &clients);
    let client = client_config(&pki.ca, Some(&leaf), &[]);
    run_within(WATCHDOG, async move {
        let seen = Rc::new(RefCell::new(None));
        let seen_in = seen.clone();
        let server = tls::start_server(
            move |_reader, writer| {
                *seen_in.borrow_mut() = writer.peer_certificates();
                async move {
                    writer.write(b"welcome\n");
                }
            },
            "127.0.0.1:0",
            TlsAcceptor::new(Arc::new(server)),
        )
        .await
        .unwrap();
        let connector = TlsConnector::new(Arc::new(client));
        let (mut reader, _writer) =
            tls::open_connection(server.local_addr().unwrap(), &connector, "localhost")
                .await
                .unwrap();
        assert_eq!(reader.readline().await.unwrap(), b"welcome\n");
        assert_eq!(seen.borrow().as_deref(), Some(&[client_cert][..]));
    });
}

/// Reads until the connection fails, and returns why.
async fn failure_of(reader: &mut net::StreamReader) -> TlsError {
    loop {
        match reader.read(1024).await {
            Ok(data) if data.is_empty() => panic!("clean end of stream, expected a TLS error"),
            Ok(_) => continue,
            Err(e) => return TlsError::from(e),
        }
    }
}

#[test]
fn mutual_tls_client_without_certificate_is_refused() {
    let pki = Pki::new();
    let clients = Ca::new("client CA");
    let server = mtls_server_config(&pki.ca, &pki.server, &clients);
    run_within(WATCHDOG, async move {
        let server = echo_server(TlsAcceptor::new(Arc::new(server))).await;
        // In TLS 1.3 the client may finish its side of the handshake before
        // the server's refusal arrives: the error then comes with the first read.
        let err =
            match tls::open_connection(server.local_addr().unwrap(), &pki.connector(), "localhost")
                .await
            {
                Err(e) => e,
                Ok((mut reader, _writer)) => failure_of(&mut reader).await,
            };
        assert!(
            matches!(
                err,
                TlsError::AlertReceived(AlertDescription::CertificateRequired)
            ),
            "{err:?}"
        );
    });
}

#[test]
fn mutual_tls_client_certificate_of_unknown_ca_is_refused_and_server_goes_on() {
    let pki = Pki::new();
    let clients = Ca::new("client CA");
    let stranger = Ca::new("stranger CA").client("mallory");
    let good = clients.client("alice");
    let server = mtls_server_config(&pki.ca, &pki.server, &clients);
    let bad_client = client_config(&pki.ca, Some(&stranger), &[]);
    let good_client = client_config(&pki.ca, Some(&good), &[]);
    run_within(WATCHDOG, async move {
        let server = echo_server(TlsAcceptor::new(Arc::new(server))).await;
        let addr = server.local_addr().unwrap();
        let bad = TlsConnector::new(Arc::new(bad_client));
        let err = match tls::open_connection(addr, &bad, "localhost").await {
            Err(e) => e,
            Ok((mut reader, _writer)) => failure_of(&mut reader).await,
        };
        assert!(
            matches!(err, TlsError::AlertReceived(AlertDescription::UnknownCA)),
            "{err:?}"
        );
        let good = TlsConnector::new(Arc::new(good_client));
        let (mut reader, _writer) = tls::open_connection(addr, &good, "localhost")
            .await
            .unwrap();
        assert_eq!(reader.readline().await.unwrap(), b"certs=1 alpn=\n");
    });
}

#[test]
fn wrong_host_name_is_a_name_mismatch() {
    let pki = Pki::new();
    run_within(WATCHDOG, async move {
        let err = connect_error(pki.acceptor(), &pki.connector(), "example.com").await;
        assert!(
            matches!(
                err,
                TlsError::NameMismatch(
                    CertificateError::NotValidForName
                        | CertificateError::NotValidForNameContext { .. }
                )
            ),
            "{err:?}"
        );
        let io: std::io::Error = err.into();
        assert_eq!(io.kind(), std::io::ErrorKind::InvalidData);
    });
}

#[test]
fn expired_certificate_is_a_bad_certificate() {
    let pki = Pki::new();
    let expired = pki.ca.expired_server();
    let config = server_config(&pki.ca, &expired, &[]);
    run_within(WATCHDOG, async move {
        let err = handshake_error(TlsAcceptor::new(Arc::new(config)), &pki.connector()).await;
        assert!(
            matches!(
                err,
                TlsError::BadCertificate(
                    CertificateError::Expired | CertificateError::ExpiredContext { .. }
                )
            ),
            "{err:?}"
        );
    });
}

#[test]
fn certificate_of_untrusted_ca_is_a_bad_certificate() {
    let pki = Pki::new();
    let other = Ca::new("other CA");
    let connector = TlsConnector::new(Arc::new(client_config(&other, None, &[])));
    run_within(WATCHDOG, async move {
        let err = handshake_error(pki.acceptor(), &connector).await;
        assert!(
            matches!(
                err,
                TlsError::BadCertificate(CertificateError::UnknownIssuer)
            ),
            "{err:?}"
        );
    });
}

#[test]
fn invalid_server_hostname_is_refused_before_connecting_tls() {
    let pki = Pki::new();
    run_within(WATCHDOG, async move {
        let err = connect_error(pki.acceptor(), &pki.connector(), "not a name!").await;
        assert!(
            matches!(&err, TlsError::InvalidServerName(n) if n == "not a name!"),
            "{err:?}"
        );
    });
}

/// asyncio's `test_create_connection_ssl_slow_handshake`.
#[test]
fn handshake_timeout_when_the_server_never_answers() {
    let pki = Pki::new();
    assert_eq!(
        pki.connector().handshake_timeout(),
        DEFAULT_HANDSHAKE_TIMEOUT
    );
    assert_eq!(DEFAULT_HANDSHAKE_TIMEOUT, Duration::from_secs(60));
    run_within(WATCHDOG, async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Accepts, then holds the socket open and silent.
        let silent = tulipa::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            tulipa::sleep(Duration::from_secs(3600)).await;
            drop(socket);
        });
        let connector = pki
            .connector()
            .with_handshake_timeout(Duration::from_millis(50));
        let err = tls::open_connection(addr, &connector, "localhost")
            .await
            .unwrap_err();
        assert!(
            matches!(err, TlsError::HandshakeTimeout(d) if d == Duration::from_millis(50)),
            "{err:?}"
        );
        silent.cancel();
    });
}

#[test]
fn server_handshake_timeout_closes_a_silent_client() {
    let pki = Pki::new();
    run_within(WATCHDOG, async move {
        let acceptor = pki
            .acceptor()
            .with_handshake_timeout(Duration::from_millis(50));
        let called = Rc::new(RefCell::new(false));
        let called_in = called.clone();
        let server = tls::start_server(
            move |_r, _w| {
                *called_in.borrow_mut() = true;
                async {}
            },
            "127.0.0.1:0",
            acceptor,
        )
        .await
        .unwrap();
        let silent = TcpStream::connect(server.local_addr().unwrap())
            .await
            .unwrap();
        let mut buf = [0; 16];
        // The server gives up on the handshake and closes: end of stream.
        assert_eq!(silent.read(&mut buf).await.unwrap(), 0);
        assert!(!*called.borrow());
        server.close();
        server.wait_closed().await;
        assert_eq!(server.connections(), 0);
    });
}

#[test]
fn handshake_timeout_duration_max_means_none() {
    let pki = Pki::new();
    run_within(WATCHDOG, async move {
        let server = echo_server(pki.acceptor().with_handshake_timeout(Duration::MAX)).await;
        let connector = pki.connector().with_handshake_timeout(Duration::MAX);
        let (mut reader, _w) =
            tls::open_connection(server.local_addr().unwrap(), &connector, "localhost")
                .await
                .unwrap();
        assert_eq!(reader.readline().await.unwrap(), b"certs=0 alpn=\n");
    });
}

#[test]
fn peer_closing_mid_handshake_is_reported() {
    let pki = Pki::new();
    run_within(WATCHDOG, async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Reads the ClientHello, then hangs up.
        let closer = tulipa::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            let mut buf = [0; 5];
            socket.read_exact(&mut buf).await.unwrap();
            assert_eq!(buf[0], 22, "a TLS handshake record");
            drop(socket);
        });
        let err = tls::open_connection(addr, &pki.connector(), "localhost")
            .await
            .unwrap_err();
        assert!(matches!(err, TlsError::ClosedDuringHandshake), "{err:?}");
        let io: std::io::Error = err.into();
        assert_eq!(io.kind(), std::io::ErrorKind::UnexpectedEof);
        closer.await.unwrap();
    });
}

#[test]
fn client_closing_mid_handshake_leaves_the_server_serving() {
    let pki = Pki::new();
    run_within(WATCHDOG, async move {
        let server = echo_server(pki.acceptor()).await;
        let addr = server.local_addr().unwrap();
        // Half a TLS record header, then gone.
        let quitter = TcpStream::connect(addr).await.unwrap();
        quitter.write_all(&[22, 3, 1]).await.unwrap();
        drop(quitter);
        let (mut reader, _w) = tls::open_connection(addr, &pki.connector(), "localhost")
            .await
            .unwrap();
        assert_eq!(reader.readline().await.unwrap(), b"certs=0 alpn=\n");
    });
}

/// asyncio's `test_start_tls_client_reg_proto_1` / `test_start_tls_server_1`.
#[test]
fn start_tls_upgrades_a_plain_line_protocol() {
    let pki = Pki::new();
    let acceptor = pki.acceptor();
    run_within(WATCHDOG, async move {
        let server = net::start_server(
            move |mut reader, writer| {
                let acceptor = acceptor.clone();
                async move {
                    assert_eq!(reader.readline().await.unwrap(), b"STARTTLS\n");
                    // Sent in plain before the handshake begins.
                    writer.write(b"OK\n");
                    let (mut reader, writer) =
                        writer.start_tls_server(reader, &acceptor).await.unwrap();
                    let line = reader.readline().await.unwrap();
                    writer.write(&line.to_ascii_uppercase());
                    writer.drain().await.unwrap();
                }
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let (mut reader, writer) = net::open_connection(server.local_addr().unwrap())
            .await
            .unwrap();
        assert_eq!(writer.tls_version(), None);
        writer.write(b"STARTTLS\n");
        assert_eq!(reader.readline().await.unwrap(), b"OK\n");
        reader.set_limit(1000);
        let (mut reader, writer) = writer
            .start_tls(reader, &pki.connector(), "localhost")
            .await
            .unwrap();
        assert_eq!(reader.limit(), 1000, "the reader keeps its limit");
        assert_eq!(writer.tls_version(), Some(ProtocolVersion::TLSv1_3));
        writer.write(b"now secret\n");
        assert_eq!(reader.readline().await.unwrap(), b"NOW SECRET\n");
    });
}

#[test]
fn start_tls_bytes_buffered_before_the_upgrade_start_the_tls_stream() {
    let pki = Pki::new();
    let acceptor = pki.acceptor();
    let hello_sent = Rc::new(tulipa::Event::new());
    let go = hello_sent.clone();
    run_within(WATCHDOG, async move {
        let server = net::start_server(
            move |mut reader, writer| {
                let acceptor = acceptor.clone();
                let go = go.clone();
                async move {
                    // The ClientHello is in the socket behind the command
                    // by now: one read buffers both.
                    go.wait().await;
                    assert_eq!(reader.readline().await.unwrap(), b"STARTTLS\n");
                    assert!(reader.buffered() > 0, "part of the handshake is buffered");
                    let (mut reader, writer) =
                        writer.start_tls_server(reader, &acceptor).await.unwrap();
                    let line = reader.readline().await.unwrap();
                    writer.write(&line);
                    writer.drain().await.unwrap();
                }
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let (reader, writer) = net::open_connection(server.local_addr().unwrap())
            .await
            .unwrap();
        writer.write(b"STARTTLS\n");
        let connector = pki.connector();
        let client = tulipa::spawn(async move {
            let (mut reader, writer) = writer
                .start_tls(reader, &connector, "localhost")
                .await
                .unwrap();
            writer.write(b"through\n");
            reader.readline().await.unwrap()
        });
        // The client task runs up to its ClientHello (loopback writes land
        // in the peer's buffer at once).
        for _ in 0..3 {
            tulipa::yield_now().await;
        }
        hello_sent.set();
        assert_eq!(client.await.unwrap(), b"through\n");
    });
}

#[test]
fn start_tls_with_halves_of_different_connections_is_refused() {
    let pki = Pki::new();
    run_within(WATCHDOG, async move {
        let server = echo_server(pki.acceptor()).await;
        let addr = server.local_addr().unwrap();
        let (r1, _w1) = net::open_connection(addr).await.unwrap();
        let (_r2, w2) = net::open_connection(addr).await.unwrap();
        let err = w2
            .start_tls(r1, &pki.connector(), "localhost")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, TlsError::Io(e) if e.kind() == std::io::ErrorKind::InvalidInput),
            "{err:?}"
        );
    });
}

/// Deterministic bytes for connection `seed`.
fn payload(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

async fn byte_echo_server(acceptor: TlsAcceptor) -> net::Server {
    tls::start_server(
        |mut reader, writer| async move {
            loop {
                match reader.read(64 * 1024).await {
                    Ok(data) if !data.is_empty() => {
                        writer.write(&data);
                        if writer.drain().await.is_err() {
                            break;
                        }
                    }
                    _ => break,
                }
            }
        },
        "127.0.0.1:0",
        acceptor,
    )
    .await
    .unwrap()
}

#[test]
fn two_hundred_concurrent_connections_echoed_intact() {
    let pki = Pki::new();
    run_within(WATCHDOG, async move {
        let server = byte_echo_server(pki.acceptor()).await;
        let addr = server.local_addr().unwrap();
        let connector = pki.connector();
        let clients = (0..200u32).map(|i| {
            let connector = connector.clone();
            tulipa::spawn(async move {
                let (mut reader, writer) = tls::open_connection(addr, &connector, "localhost")
                    .await
                    .unwrap();
                let data = payload(i, 8 * 1024 + i as usize * 7);
                for chunk in data.chunks(3000) {
                    writer.write(chunk);
                    writer.drain().await.unwrap();
                }
                let back = reader.readexactly(data.len()).await.unwrap();
                writer.close();
                writer.wait_closed().await.unwrap();
                back == data
            })
        });
        let results = tulipa::gather(clients).await;
        let intact = results.into_iter().filter(|r| *r.as_ref().unwrap()).count();
        assert_eq!(intact, 200);
        server.close();
        server.wait_closed().await;
    });
}

#[test]
fn large_transfer_to_a_slow_reader_arrives_whole_with_close_notify() {
    let pki = Pki::new();
    let total = 4 * 1024 * 1024;
    run_within(WATCHDOG, async move {
        let server = tls::start_server(
            move |_reader, writer| async move {
                let data = payload(7, total);
                for chunk in data.chunks(50_000) {
                    writer.write(chunk);
                    // Back-pressure: the buffer stays near the high-water mark.
                    assert!(writer.write_buffer_size() <= 64 * 1024 + 50_000);
                    writer.drain().await.unwrap();
                }
                writer.close();
                writer.wait_closed().await.unwrap();
            },
            "127.0.0.1:0",
            pki.acceptor(),
        )
        .await
        .unwrap();
        let (mut reader, _writer) =
            tls::open_connection(server.local_addr().unwrap(), &pki.connector(), "localhost")
                .await
                .unwrap();
        let mut got = Vec::new();
        loop {
            // A slow reader: small reads with pauses.
            let data = reader.read(10_000).await.unwrap();
            if data.is_empty() {
                break;
            }
            got.extend_from_slice(&data);
            if got.len() % 7 == 0 {
                tulipa::sleep(Duration::from_millis(1)).await;
            }
        }
        assert_eq!(got.len(), total);
        assert!(got == payload(7, total), "bytes differ");
        // The end came with close_notify, not a truncation error.
        assert!(reader.at_eof());
    });
}

#[test]
fn write_eof_sends_close_notify_and_the_peer_can_still_answer() {
    let pki = Pki::new();
    run_within(WATCHDOG, async move {
        let server = tls::start_server(
            |mut reader, writer| async move {
                let all = reader.read_to_end().await.unwrap();
                writer.write(format!("{} bytes\n", all.len()).as_bytes());
            },
            "127.0.0.1:0",
            pki.acceptor(),
        )
        .await
        .unwrap();
        let (mut reader, writer) =
            tls::open_connection(server.local_addr().unwrap(), &pki.connector(), "localhost")
                .await
                .unwrap();
        writer.write(&[b'x'; 1000]);
        writer.write_eof();
        assert_eq!(reader.readline().await.unwrap(), b"1000 bytes\n");
    });
}

#[test]
fn peer_closing_without_close_notify_is_a_truncation_error() {
    let pki = Pki::new();
    run_within(WATCHDOG, async move {
        let outcome = Rc::new(RefCell::new(None));
        let seen = outcome.clone();
        let done = Rc::new(tulipa::Event::new());
        let finished = done.clone();
        let server = tls::start_server(
            move |mut reader, _writer| {
                let (seen, finished) = (seen.clone(), finished.clone());
                async move {
                    let first = reader.readline().await.unwrap();
                    let rest = reader.read(100).await;
                    *seen.borrow_mut() = Some((first, rest.map_err(|e| e.kind())));
                    finished.set();
                }
            },
            "127.0.0.1:0",
            pki.acceptor(),
        )
        .await
        .unwrap();
        let stream = TcpStream::connect(server.local_addr().unwrap())
            .await
            .unwrap();
        let mut tls = pki.connector().connect("localhost", stream).await.unwrap();
        futures::AsyncWriteExt::write_all(&mut tls, b"hello\n")
            .await
            .unwrap();
        futures::AsyncWriteExt::flush(&mut tls).await.unwrap();
        // Dropped without `close`: the TCP connection ends, TLS does not.
        drop(tls);
        done.wait().await;
        let (first, rest) = outcome.borrow_mut().take().unwrap();
        assert_eq!(first, b"hello\n");
        assert_eq!(rest, Err(std::io::ErrorKind::UnexpectedEof));
    });
}

/// asyncio's `test_handshake_timeout_zero` rejects 0 with `ValueError`; here
/// any duration is valid and zero times the handshake out at once.
#[test]
fn handshake_timeout_zero_times_out_at_once() {
    let pki = Pki::new();
    run_within(WATCHDOG, async move {
        let server = echo_server(pki.acceptor()).await;
        let connector = pki.connector().with_handshake_timeout(Duration::ZERO);
        let err = tls::open_connection(server.local_addr().unwrap(), &connector, "localhost")
            .await
            .unwrap_err();
        assert!(
            matches!(err, TlsError::HandshakeTimeout(d) if d.is_zero()),
            "{err:?}"
        );
        // The server goes on for the next client.
        let (mut reader, _w) =
            tls::open_connection(server.local_addr().unwrap(), &pki.connector(), "localhost")
                .await
                .unwrap();
        assert_eq!(reader.readline().await.unwrap(), b"certs=0 alpn=\n");
    });
}
