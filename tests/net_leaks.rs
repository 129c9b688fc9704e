//! 1000 concurrent connections to one server with every byte echoed intact,
//! then the process's open fd count back to where it started; cancelled
//! accepts and connects leave nothing behind.
//!
//! One test function on purpose: it counts the fds of the whole process, so
//! no other test may open sockets while it runs.
#![cfg(target_os = "linux")]
mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use support::echo;
use support::fds::open_fds;
use tulipa::net::{open_connection, start_server};
use tulipa::net::{TcpListener, TcpStream};

const CONNECTIONS: usize = 1000;

fn make_room(needed: u64) -> usize {
    support::fds::make_room(needed, CONNECTIONS)
}

/// A payload that tells connections apart, 1000 + id bytes long.
fn payload(id: usize) -> Vec<u8> {
    (0..1000 + id).map(|i| (i * 31 + id * 7) as u8).collect()
}

async fn thousand_clients(count: usize) {
    let server = start_server(echo, "127.0.0.1:0").await.unwrap();
    let addr = server.local_addr().unwrap();
    let echoed = Rc::new(Cell::new(0));
    let peak = Rc::new(Cell::new(0));
    let clients: Vec<_> = (0..count)
        .map(|id| {
            let (echoed, peak) = (echoed.clone(), peak.clone());
            tulipa::spawn(async move {
                let (mut reader, writer) = open_connection(addr).await.unwrap();
                let data = payload(id);
                writer.write(&data);
                writer.drain().await.unwrap();
                let back = reader.readexactly(data.len()).await.unwrap();
                assert!(back == data, "connection {id} got other bytes back");
                echoed.set(echoed.get() + 1);
                // Hold the connection until every client has its echo: all
                // of them are open at once.
                while echoed.get() < count {
                    tulipa::sleep(Duration::from_millis(1)).await;
                }
                peak.set(
                    peak.get()
                        .max(tulipa::get_running_loop().unwrap().io_sources()),
                );
                writer.close();
                writer.wait_closed().await.unwrap();
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    assert_eq!(echoed.get(), count);
    // Both ends of every connection plus the listener were registered.
    assert!(peak.get() > 2 * count, "peak {} sources", peak.get());
    server.close();
    server.wait_closed().await;
    assert_eq!(server.connections(), 0);
}

async fn cancelled_accept_and_connect() {
    let listener = Rc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
    let addr = listener.local_addr().unwrap();
    let l = listener.clone();
    let accepting = tulipa::spawn(async move { l.accept().await.map(|_| ()) });
    tulipa::yield_now().await;
    accepting.cancel();
    assert!(accepting.await.unwrap_err().is_cancelled());
    let connecting = tulipa::spawn(TcpStream::connect(addr));
    tulipa::yield_now().await;
    connecting.cancel();
    assert!(connecting.await.unwrap_err().is_cancelled());
    drop(listener);
    assert_eq!(tulipa::get_running_loop().unwrap().io_sources(), 0);
}

#[test]
fn thousand_connections_echo_intact_and_fds_return_to_the_start() {
    let count = make_room(2 * CONNECTIONS as u64 + 256);
    let lp = support::virtual_loop();
    // A watchdog: a hang fails the test instead of stalling the suite.
    let stopper = lp.handle();
    let _ = lp.call_later(Duration::from_secs(120), move || {
        let _ = stopper.stop();
    });
    let before = open_fds();
    lp.run_until_complete(thousand_clients(count))
        .expect("timed out");
    assert_eq!(lp.io_sources(), 0);
    assert_eq!(open_fds(), before, "fds leaked by the connections");
    lp.run_until_complete(cancelled_accept_and_connect())
        .expect("timed out");
    assert_eq!(open_fds(), before, "fds leaked by cancelled accept/connect");
}
