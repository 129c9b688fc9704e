//! 1000 connections arriving at once at a `start_server` whose loop is busy
//! elsewhere: the kernel must queue them all (the listen backlog, 1024 by
//! default), then every one is echoed intact, and the process's fd count
//! returns to its start.
//!
//! One test function on purpose: it counts the fds of the whole process.
#![cfg(target_os = "linux")]
mod support;

use std::cell::Cell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use support::echo;
use support::fds::{make_room, open_fds};
use tulipa::net::start_server;

const CONNECTIONS: usize = 1000;

/// A payload that tells connections apart, 500 + id bytes long.
fn payload(id: usize) -> Vec<u8> {
    (0..500 + id).map(|i| (i * 13 + id * 5) as u8).collect()
}

/// Connects `count` blocking clients, each sending its payload, with no
/// accept happening meanwhile; reports when all are connected, then checks
/// every echo.
fn clients(
    addr: std::net::SocketAddr,
    count: usize,
    connected: mpsc::Sender<()>,
) -> Result<(), String> {
    let mut streams = Vec::with_capacity(count);
    for id in 0..count {
        let mut s = std::net::TcpStream::connect(addr).map_err(|e| format!("connect {id}: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s.write_all(&payload(id))
            .map_err(|e| format!("write {id}: {e}"))?;
        streams.push(s);
    }
    connected.send(()).unwrap();
    for (id, mut s) in streams.into_iter().enumerate() {
        let mut back = vec![0; payload(id).len()];
        s.read_exact(&mut back)
            .map_err(|e| format!("echo {id}: {e}"))?;
        if back != payload(id) {
            return Err(format!("connection {id} got other bytes back"));
        }
    }
    Ok(())
}

#[test]
fn thousand_connections_arriving_at_once_wait_in_the_backlog_and_echo_intact() {
    let count = make_room(2 * CONNECTIONS as u64 + 256, CONNECTIONS);
    let before = open_fds();
    let lp = tulipa::EventLoop::new().unwrap();
    let served = Rc::new(Cell::new(0));
    let counter = served.clone();
    let handler = move |reader, writer| {
        let counter = counter.clone();
        async move {
            echo(reader, writer).await;
            counter.set(counter.get() + 1);
        }
    };
    let server = lp
        .run_until_complete(start_server(handler, "127.0.0.1:0"))
        .unwrap()
        .unwrap();
    let addr = server.local_addr().unwrap();
    // The loop is not running: every connection waits in the backlog.
    let (tx, connected) = mpsc::channel();
    let client_thread = thread::spawn(move || clients(addr, count, tx));
    // A backlog below `count` stalls a connect until an accept that cannot
    // come: the watchdog turns that into a failure.
    if connected.recv_timeout(Duration::from_secs(60)).is_err() {
        panic!("{count} connects stalled: the listen backlog holds fewer");
    }
    let stopper = lp.handle();
    let _ = lp.call_later(Duration::from_secs(120), move || {
        let _ = stopper.stop();
    });
    lp.run_until_complete(async {
        while served.get() < count {
            tulipa::sleep(Duration::from_millis(1)).await;
        }
        server.close();
        server.wait_closed().await;
    })
    .expect("timed out serving the connections");
    client_thread.join().unwrap().unwrap();
    assert_eq!(served.get(), count);
    assert_eq!(server.connections(), 0);
    drop(server);
    assert_eq!(lp.io_sources(), 0);
    drop(lp);
    assert_eq!(open_fds(), before, "fds leaked by the connections");
}
