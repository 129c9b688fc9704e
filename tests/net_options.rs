//! `ListenOptions` (backlog, `SO_REUSEADDR`, `SO_REUSEPORT`), listeners made
//! beforehand, and `from_std` / `AsRawFd` / `AsFd` on every socket type.
#![cfg(unix)]
mod support;

use std::os::fd::{AsFd, AsRawFd};
use std::sync::mpsc;
use std::time::Duration;

use tulipa::net::{
    ListenOptions, TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream, DEFAULT_BACKLOG,
};

#[test]
fn reuse_port_lets_two_listeners_share_a_port_and_without_it_the_second_is_refused() {
    tulipa::run(async {
        let shared = ListenOptions::new().reuse_port(true);
        let first = shared.bind("127.0.0.1:0").await.unwrap();
        let addr = first.local_addr().unwrap();
        let second = shared.bind(addr).await.unwrap();
        assert_eq!(second.local_addr().unwrap(), addr);
        let plain = ListenOptions::new().bind(addr).await.unwrap_err();
        assert_eq!(plain.kind(), std::io::ErrorKind::AddrInUse);
        // Both accept: the kernel spreads connections over them.
        let mut clients = Vec::new();
        for _ in 0..32 {
            clients.push(TcpStream::connect(addr).await.unwrap());
        }
        let mut got = [0, 0];
        while got[0] + got[1] < clients.len() {
            tulipa::yield_now().await;
            for (i, l) in [&first, &second].into_iter().enumerate() {
                let waker = std::task::Waker::noop();
                let mut cx = std::task::Context::from_waker(waker);
                while let std::task::Poll::Ready(r) = l.poll_accept(&mut cx) {
                    r.unwrap();
                    got[i] += 1;
                }
            }
        }
        assert_eq!(got[0] + got[1], 32);
    })
    .unwrap();
}

#[test]
fn bind_std_makes_a_send_listener_for_another_threads_loop() {
    let options = ListenOptions::new().reuse_port(true).backlog(16);
    let std_listener = options.bind_std("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = std_listener.local_addr().unwrap();
    let worker = std::thread::spawn(move || {
        tulipa::run(async move {
            let listener = TcpListener::from_std(std_listener).unwrap();
            let client = tulipa::spawn(TcpStream::connect(addr));
            let (_conn, peer) = listener.accept().await.unwrap();
            assert_eq!(peer, client.await.unwrap().unwrap().local_addr().unwrap());
        })
        .unwrap()
    });
    worker.join().unwrap();
}

#[test]
fn reuse_address_off_still_binds_a_fresh_port() {
    tulipa::run(async {
        let l = ListenOptions::new()
            .reuse_address(false)
            .bind("127.0.0.1:0")
            .await
            .unwrap();
        assert!(l.local_addr().unwrap().port() > 0);
        let v6 = ListenOptions::new().bind("[::1]:0").await;
        // IPv6 may be disabled in a container; when present it works.
        if let Ok(v6) = v6 {
            assert!(v6.local_addr().unwrap().is_ipv6());
        }
    })
    .unwrap();
}

#[test]
fn bind_to_an_empty_address_list_is_invalid_input() {
    tulipa::run(async {
        let none: &[std::net::SocketAddr] = &[];
        let e = TcpListener::bind(none).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    })
    .unwrap();
}

#[test]
fn every_socket_type_comes_from_std_and_shows_its_fd() {
    tulipa::run(async {
        let std_l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let fd = std_l.as_raw_fd();
        let addr = std_l.local_addr().unwrap();
        let l = TcpListener::from_std(std_l).unwrap();
        assert_eq!((l.as_raw_fd(), l.as_fd().as_raw_fd()), (fd, fd));

        let std_s = std::net::TcpStream::connect(addr).unwrap();
        let fd = std_s.as_raw_fd();
        let s = TcpStream::from_std(std_s).unwrap();
        assert_eq!((s.as_raw_fd(), s.as_fd().as_raw_fd()), (fd, fd));
        let (accepted, _) = l.accept().await.unwrap();
        assert!(accepted.as_raw_fd() >= 0);

        let std_u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let fd = std_u.as_raw_fd();
        let u = UdpSocket::from_std(std_u).unwrap();
        assert_eq!((u.as_raw_fd(), u.as_fd().as_raw_fd()), (fd, fd));
        u.send_to(b"me", u.local_addr().unwrap()).await.unwrap();
        let mut buf = [0; 2];
        assert_eq!(u.recv_from(&mut buf).await.unwrap().0, 2);

        let dir = std::env::temp_dir().join(format!("tulipa-opts-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let std_ul = std::os::unix::net::UnixListener::bind(&dir).unwrap();
        let fd = std_ul.as_raw_fd();
        let ul = UnixListener::from_std(std_ul).unwrap();
        assert_eq!((ul.as_raw_fd(), ul.as_fd().as_raw_fd()), (fd, fd));
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let fd = a.as_raw_fd();
        let a = UnixStream::from_std(a).unwrap();
        assert_eq!((a.as_raw_fd(), a.as_fd().as_raw_fd()), (fd, fd));
        let b = UnixStream::from_std(b).unwrap();
        a.write_all(b"fd").await.unwrap();
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"fd");
        drop(ul);
        std::fs::remove_file(&dir).unwrap();
    })
    .unwrap();
}

/// `count` blocking connects to `connect` with nobody accepting; `Err` if
/// they stall (a backlog below `count`).
#[cfg(target_os = "linux")]
fn connects_without_accept(count: usize, connect: impl Fn() + Send + 'static) -> Result<(), ()> {
    let (tx, done) = mpsc::channel();
    std::thread::spawn(move || {
        for _ in 0..count {
            connect();
        }
        let _ = tx.send(());
    });
    done.recv_timeout(Duration::from_secs(60)).map_err(drop)
}

// Linux: a blocking connect to a full backlog waits (elsewhere it may fail).
#[cfg(target_os = "linux")]
#[test]
fn unix_listener_queues_a_thousand_connects_in_its_default_backlog() {
    assert_eq!(DEFAULT_BACKLOG, 1024);
    let path = std::env::temp_dir().join(format!("tulipa-backlog-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let lp = tulipa::EventLoop::new().unwrap();
    let listener = lp
        .run_until_complete(async { UnixListener::bind(&path) })
        .unwrap()
        .unwrap();
    let (keep, kept) = mpsc::channel();
    let p = path.clone();
    let outcome = connects_without_accept(1000, move || {
        keep.send(std::os::unix::net::UnixStream::connect(&p).unwrap())
            .unwrap();
    });
    assert!(
        outcome.is_ok(),
        "connects stalled: the backlog holds fewer than 1000"
    );
    assert_eq!(kept.try_iter().count(), 1000);
    drop(listener);
    std::fs::remove_file(&path).unwrap();
}

// Linux queues backlog + 1 connections and then drops SYNs.
#[cfg(target_os = "linux")]
#[test]
fn a_small_backlog_is_honoured() {
    let lp = tulipa::EventLoop::new().unwrap();
    let listener = lp
        .run_until_complete(ListenOptions::new().backlog(0).bind("127.0.0.1:0"))
        .unwrap()
        .unwrap();
    let addr = listener.local_addr().unwrap();
    // Linux queues backlog + 1; the next handshake waits for an accept.
    let first = std::net::TcpStream::connect(addr).unwrap();
    let stalled = connects_without_accept_for(addr, Duration::from_millis(300));
    assert!(stalled, "a connect past a full backlog of 0 went through");
    drop((first, listener));
}

/// Whether a non-blocking connect to `addr` is still pending after `wait`.
#[cfg(target_os = "linux")]
fn connects_without_accept_for(addr: std::net::SocketAddr, wait: Duration) -> bool {
    let lp = tulipa::EventLoop::new().unwrap();
    let attempt = tulipa::wait_for(TcpStream::connect(addr), wait);
    lp.run_until_complete(attempt).unwrap().is_err()
}
