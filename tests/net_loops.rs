//! A socket used on a loop other than the one it was made on, or after its
//! loop closed, moves its registration to the loop that polls it; polled
//! with no loop running it fails with an `io::Error`. Each case runs on a
//! thread of its own under a watchdog, so a lost wake-up fails instead of
//! hanging.
#![cfg(unix)]
mod support;

use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::Duration;

use tulipa::net::{TcpListener, TcpStream, UdpSocket, UnixStream};
use tulipa::EventLoop;

use support::on_thread_within;

/// Generous: only a lost wake-up gets near it.
const WATCHDOG: Duration = Duration::from_secs(20);

#[test]
fn a_stream_made_on_one_loop_reads_on_another_loop_of_the_thread_and_back() {
    on_thread_within(WATCHDOG, || {
        let first = EventLoop::new().unwrap();
        let (a, b) = first
            .run_until_complete(async { UnixStream::pair() })
            .unwrap()
            .unwrap();
        let (a, b) = (Rc::new(a), Rc::new(b));
        let second = EventLoop::new().unwrap();
        for (lp, msg) in [(&second, b"two"), (&first, b"one"), (&second, b"2nd")] {
            let b = b.clone();
            let a = a.clone();
            lp.run_until_complete(async move {
                let reading = tulipa::spawn(async move {
                    let mut buf = [0; 3];
                    b.read_exact(&mut buf).await.map(|()| buf)
                });
                tulipa::sleep(Duration::from_millis(5)).await; // b waits first
                a.write_all(msg).await.unwrap();
                assert_eq!(&reading.await.unwrap().unwrap(), msg);
            })
            .unwrap();
        }
    });
}

#[test]
fn sockets_outlive_their_closed_loop_and_work_on_the_next() {
    on_thread_within(WATCHDOG, || {
        let first = EventLoop::new().unwrap();
        let listener = first
            .run_until_complete(TcpListener::bind("127.0.0.1:0"))
            .unwrap()
            .unwrap();
        first.close().unwrap();
        drop(first);
        tulipa::run(async move {
            let addr = listener.local_addr().unwrap();
            let client = tulipa::spawn(TcpStream::connect(addr));
            let (conn, _) = listener.accept().await.unwrap();
            let client = client.await.unwrap().unwrap();
            client.write_all(b"hi").await.unwrap();
            let mut buf = [0; 2];
            conn.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"hi");
        })
        .unwrap();
    });
}

#[test]
fn a_datagram_wakes_a_socket_that_moved_loops() {
    on_thread_within(WATCHDOG, || {
        let first = EventLoop::new().unwrap();
        let (rx, tx) = first
            .run_until_complete(async {
                let rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                (rx, tx)
            })
            .unwrap();
        first.close().unwrap();
        tulipa::run(async move {
            let to = rx.local_addr().unwrap();
            let receiving = tulipa::spawn(async move {
                let mut buf = [0; 8];
                rx.recv_from(&mut buf).await.map(|(n, _)| buf[..n].to_vec())
            });
            tulipa::sleep(Duration::from_millis(5)).await; // rx waits first
            tx.send_to(b"dgram", to).await.unwrap();
            assert_eq!(receiving.await.unwrap().unwrap(), b"dgram");
        })
        .unwrap();
    });
}

#[test]
fn a_socket_polled_with_no_loop_running_fails_with_an_io_error() {
    on_thread_within(WATCHDOG, || {
        let lp = EventLoop::new().unwrap();
        let (a, _b) = lp
            .run_until_complete(async { UnixStream::pair() })
            .unwrap()
            .unwrap();
        lp.close().unwrap();
        let mut buf = [0; 1];
        let e = futures::executor::block_on(a.read(&mut buf)).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::Other);
        assert!(e.to_string().contains("no tulipa event loop"), "{e}");
    });
}

#[test]
fn add_reader_on_a_closed_loop_is_refused() {
    let lp = EventLoop::new().unwrap();
    lp.close().unwrap();
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    let e = lp.add_reader(a.as_raw_fd(), || {}).unwrap_err();
    assert!(e.to_string().contains("closed"), "{e}");
}
