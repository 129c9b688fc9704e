//! TCP sockets through the public API: connect/accept, partial reads and
//! writes, end of stream, a peer reset mid-stream, cancelled accept and
//! connect.
mod support;

use std::io::ErrorKind;
use std::net::Shutdown;
use std::time::Duration;

use tulipa::net::{TcpListener, TcpStream};

/// A connected pair: (client, server side).
async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, peer) = listener.accept().await.unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
    (client, server)
}

#[test]
fn connect_accept_and_echo_one_message() {
    let lp = support::virtual_loop();
    lp.run_until_complete(async {
        let (client, server) = pair().await;
        client.write_all(b"hello").await.unwrap();
        let mut buf = [0; 5];
        server.read_exact(&mut buf).await.unwrap();
        server.write_all(&buf).await.unwrap();
        let mut back = [0; 5];
        client.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"hello");
    })
    .unwrap();
    assert_eq!(lp.io_sources(), 0);
}

#[test]
fn partial_reads_return_what_is_there_and_read_into_small_buffers() {
    support::virtual_loop()
        .run_until_complete(async {
            let (client, server) = pair().await;
            client.write_all(b"abcdef").await.unwrap();
            let mut small = [0; 4];
            // Wait until everything arrived, then read it in small pieces.
            let mut got = Vec::new();
            while got.len() < 6 {
                let n = server.read(&mut small).await.unwrap();
                assert!(n > 0 && n <= 4);
                got.extend_from_slice(&small[..n]);
            }
            assert_eq!(got, b"abcdef");
        })
        .unwrap();
}

#[test]
fn partial_writes_when_the_peer_does_not_read_then_everything_arrives() {
    support::virtual_loop()
        .run_until_complete(async {
            let (client, server) = pair().await;
            let big = vec![7u8; 8 << 20];
            // The kernel buffers fill: one write takes only part of it.
            let first = client.write(&big).await.unwrap();
            assert!(first > 0 && first < big.len(), "wrote {first}");
            let reader = tulipa::spawn(async move {
                let mut total = 0;
                let mut buf = vec![0; 64 * 1024];
                loop {
                    let n = server.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break total;
                    }
                    assert!(buf[..n].iter().all(|&b| b == 7));
                    total += n;
                }
            });
            client.write_all(&big[first..]).await.unwrap();
            client.shutdown(Shutdown::Write).unwrap();
            assert_eq!(reader.await.unwrap(), big.len());
        })
        .unwrap();
}

#[test]
fn eof_read_returns_zero_after_peer_shuts_down_write_and_again_after() {
    support::virtual_loop()
        .run_until_complete(async {
            let (client, server) = pair().await;
            client.write_all(b"last words").await.unwrap();
            client.shutdown(Shutdown::Write).unwrap();
            let mut buf = [0; 64];
            let mut got = Vec::new();
            loop {
                let n = server.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            assert_eq!(got, b"last words");
            assert_eq!(server.read(&mut buf).await.unwrap(), 0);
            // The other direction still works after a half close.
            server.write_all(b"reply").await.unwrap();
            let mut reply = [0; 5];
            client.read_exact(&mut reply).await.unwrap();
            assert_eq!(&reply, b"reply");
        })
        .unwrap();
}

#[test]
fn read_exact_reports_unexpected_eof_when_the_stream_ends_early() {
    support::virtual_loop()
        .run_until_complete(async {
            let (client, server) = pair().await;
            client.write_all(b"abc").await.unwrap();
            drop(client);
            let mut buf = [0; 10];
            let err = server.read_exact(&mut buf).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
        })
        .unwrap();
}

#[test]
fn peer_reset_mid_stream_surfaces_as_an_error_not_a_hang() {
    support::virtual_loop()
        .run_until_complete(async {
            let (client, server) = pair().await;
            // The client closes with unread data in its buffer: the kernel
            // answers with a reset instead of a FIN.
            server.write_all(b"unread").await.unwrap();
            tulipa::sleep(Duration::from_millis(20)).await;
            drop(client);
            let chunk = vec![1u8; 64 * 1024];
            let mut buf = [0; 16];
            let err = loop {
                if let Err(e) = server.write_all(&chunk).await {
                    break e;
                }
                match server.read(&mut buf).await {
                    Err(e) => break e,
                    Ok(0) => continue,
                    Ok(_) => panic!("no data was sent to the server"),
                }
            };
            assert!(
                matches!(
                    err.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::BrokenPipe
                ),
                "{err:?}"
            );
        })
        .unwrap();
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    support::virtual_loop()
        .run_until_complete(async {
            let addr = TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap()
                .local_addr()
                .unwrap();
            let err = TcpStream::connect(addr).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
            assert_eq!(tulipa::get_running_loop().unwrap().io_sources(), 0);
        })
        .unwrap();
}

#[test]
fn nodelay_can_be_set_and_read_back() {
    support::virtual_loop()
        .run_until_complete(async {
            let (client, _server) = pair().await;
            client.set_nodelay(true).unwrap();
            assert!(client.nodelay().unwrap());
            client.set_nodelay(false).unwrap();
            assert!(!client.nodelay().unwrap());
        })
        .unwrap();
}

#[test]
fn accept_cancelled_midway_leaves_no_waiter_and_loses_no_connection() {
    let lp = support::virtual_loop();
    lp.run_until_complete(async {
        let listener = std::rc::Rc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = listener.local_addr().unwrap();
        let l = listener.clone();
        let accepting = tulipa::spawn(async move { l.accept().await.map(|(s, _)| s) });
        tulipa::yield_now().await;
        assert!(accepting.cancel());
        assert!(accepting.await.unwrap_err().is_cancelled());
        // Only the listener is registered now.
        assert_eq!(tulipa::get_running_loop().unwrap().io_sources(), 1);
        // A connection arriving after the cancel waits for the next accept.
        let client = TcpStream::connect(addr).await.unwrap();
        let (server, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        drop((client, server));
    })
    .unwrap();
    assert_eq!(lp.io_sources(), 0);
}

#[test]
fn connect_cancelled_midway_leaves_nothing_registered() {
    let lp = support::virtual_loop();
    lp.run_until_complete(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connecting = tulipa::spawn(TcpStream::connect(addr));
        tulipa::yield_now().await;
        // The connect has started: the half-open socket is registered.
        assert_eq!(tulipa::get_running_loop().unwrap().io_sources(), 2);
        assert!(connecting.cancel());
        assert!(connecting.await.unwrap_err().is_cancelled());
        assert_eq!(tulipa::get_running_loop().unwrap().io_sources(), 1);
    })
    .unwrap();
    assert_eq!(lp.io_sources(), 0);
}

#[test]
fn a_stream_dropped_while_its_event_is_in_flight_is_ignored_safely() {
    support::virtual_loop()
        .run_until_complete(async {
            for _ in 0..50 {
                let (client, server) = pair().await;
                // The server is readable (event queued) but dropped before
                // the loop polls; a new socket may reuse its slot.
                client.write_all(b"x").await.unwrap();
                drop(server);
                let (c2, s2) = pair().await;
                c2.write_all(b"y").await.unwrap();
                let mut b = [0; 1];
                s2.read_exact(&mut b).await.unwrap();
                assert_eq!(&b, b"y");
                drop((client, c2, s2));
            }
        })
        .unwrap();
}

#[test]
fn tcp_stream_from_std_works_on_the_loop() {
    support::virtual_loop()
        .run_until_complete(async {
            let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let listener = TcpListener::from_std(std_listener).unwrap();
            let std_client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let client = TcpStream::from_std(std_client).unwrap();
            let (server, _) = listener.accept().await.unwrap();
            server.write_all(b"std").await.unwrap();
            let mut b = [0; 3];
            client.read_exact(&mut b).await.unwrap();
            assert_eq!(&b, b"std");
        })
        .unwrap();
}

#[test]
fn reads_and_writes_by_two_tasks_on_one_stream_proceed_independently() {
    support::virtual_loop()
        .run_until_complete(async {
            let (client, server) = pair().await;
            let client = std::rc::Rc::new(client);
            let c = client.clone();
            // One task waits on read while another writes on the same stream.
            let reader = tulipa::spawn(async move {
                let mut b = [0; 4];
                c.read_exact(&mut b).await.unwrap();
                b
            });
            tulipa::yield_now().await;
            client.write_all(b"ping").await.unwrap();
            let mut b = [0; 4];
            server.read_exact(&mut b).await.unwrap();
            server.write_all(b"pong").await.unwrap();
            assert_eq!(&reader.await.unwrap(), b"pong");
        })
        .unwrap();
}

/// Two loops in two threads, 10 000 round trips of varying sizes through a
/// server whose reads are smaller than the messages: a lost wake-up (a
/// readiness bit cleared when it should not be) would hang one side, and
/// the watchdog would fail the test.
#[test]
fn stress_two_loops_in_two_threads_lose_no_wakeup() {
    const ROUNDS: usize = 10_000;
    let (tx, rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        let lp = tulipa::EventLoop::new().unwrap();
        let stopper = lp.handle();
        let _ = lp.call_later(Duration::from_secs(60), move || {
            let _ = stopper.stop();
        });
        lp.run_until_complete(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let (stream, _) = listener.accept().await.unwrap();
            // Without it Nagle holds the second piece of each echo until the
            // client's delayed ACK (40 ms) arrives.
            stream.set_nodelay(true).unwrap();
            let mut buf = [0; 1000];
            let mut total = 0;
            loop {
                let n = stream.read(&mut buf).await.unwrap();
                if n == 0 {
                    break total;
                }
                total += n;
                stream.write_all(&buf[..n]).await.unwrap();
            }
        })
        .expect("the server side hung")
    });
    let addr = rx.recv().unwrap();
    let lp = tulipa::EventLoop::new().unwrap();
    let stopper = lp.handle();
    let _ = lp.call_later(Duration::from_secs(60), move || {
        let _ = stopper.stop();
    });
    let sent = lp
        .run_until_complete(async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let mut sent = 0;
            let mut back = vec![0; 3000];
            for i in 0..ROUNDS {
                let len = 1 + (i * 997) % 2999;
                let msg: Vec<u8> = (0..len).map(|j| (i + j) as u8).collect();
                stream.write_all(&msg).await.unwrap();
                stream.read_exact(&mut back[..len]).await.unwrap();
                assert_eq!(&back[..len], &msg[..], "round {i}");
                sent += len;
            }
            sent
        })
        .expect("the client side hung");
    assert_eq!(server.join().unwrap(), sent);
}
