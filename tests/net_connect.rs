//! Connecting: names resolved in the executor (asyncio's `getaddrinfo`),
//! addresses tried in turn by default, and RFC 8305 happy eyeballs
//! (`happy_eyeballs_delay`, `interleave`) past an address that hangs.
#![cfg(target_os = "linux")]
mod support;

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use tulipa::net::{open_connection, ConnectOptions, ListenOptions, TcpListener, TcpStream};
use tulipa::ThreadPoolExecutor;

use support::run_within;

/// Generous: only a hang gets near it.
const WATCHDOG: Duration = Duration::from_secs(30);

/// A loopback address nothing listens on (refused at once).
fn refused_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// A listener whose backlog (0, so one connection) is full: a new connect
/// to it hangs in SYN_SENT. Returns it with the connection that fills it.
async fn hanging_listener() -> (TcpListener, std::net::TcpStream) {
    let l = ListenOptions::new()
        .backlog(0)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let filler = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    (l, filler)
}

#[test]
fn a_host_name_is_resolved_in_the_executor_while_the_loop_runs_on() {
    let (pool, gate, _blocker) = support::pool::busy_pool(ThreadPoolExecutor::builder());
    let lp = tulipa::EventLoop::new().unwrap();
    lp.set_default_executor(pool);
    let guarded = tulipa::wait_for(
        async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let connecting = tulipa::spawn(TcpStream::connect(("localhost", port)));
            let ticks = Rc::new(Cell::new(0));
            for _ in 0..20 {
                tulipa::sleep(Duration::from_millis(1)).await;
                ticks.set(ticks.get() + 1);
            }
            // The executor's only worker is busy: the lookup waits there,
            // and the loop went on meanwhile.
            assert!(!connecting.is_done(), "resolved on the loop thread");
            assert_eq!(ticks.get(), 20);
            gate.open();
            let stream = connecting.await.unwrap().unwrap();
            assert_eq!(stream.peer_addr().unwrap(), listener.local_addr().unwrap());
        },
        Duration::from_secs(30),
    );
    lp.run_until_complete(guarded).unwrap().expect("timed out");
}

#[test]
fn an_unknown_host_fails_with_the_resolvers_error() {
    run_within(WATCHDOG, async {
        let e = TcpStream::connect("no-such-host.invalid:80")
            .await
            .unwrap_err();
        assert_ne!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}");
    });
}

#[test]
fn addresses_are_tried_in_turn_by_default() {
    run_within(WATCHDOG, async {
        let good = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addrs = [refused_addr(), good.local_addr().unwrap()];
        let stream = TcpStream::connect(&addrs[..]).await.unwrap();
        assert_eq!(stream.peer_addr().unwrap(), addrs[1]);
    });
}

#[test]
fn every_address_refused_gives_the_refusal() {
    run_within(WATCHDOG, async {
        let addrs = vec![refused_addr(), refused_addr()];
        let e = TcpStream::connect(addrs).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
    });
}

#[test]
fn happy_eyeballs_moves_past_a_hanging_address_and_drops_the_loser() {
    run_within(WATCHDOG, async {
        let (stuck, _filler) = hanging_listener().await;
        let good = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addrs = [stuck.local_addr().unwrap(), good.local_addr().unwrap()];
        let options = ConnectOptions::new().happy_eyeballs_delay(Duration::from_millis(50));
        let stream = options.connect(&addrs[..]).await.unwrap();
        assert_eq!(stream.peer_addr().unwrap(), addrs[1]);
        // Two listeners and the winner: the hanging attempt was closed.
        assert_eq!(tulipa::get_running_loop().unwrap().io_sources(), 3);
        let (_r, _w) = options
            .interleave(2)
            .open_connection(&addrs[..])
            .await
            .unwrap();
    });
}

#[test]
fn without_happy_eyeballs_a_hanging_first_address_holds_the_connect() {
    run_within(WATCHDOG, async {
        let (stuck, _filler) = hanging_listener().await;
        let good = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addrs = [stuck.local_addr().unwrap(), good.local_addr().unwrap()];
        let attempt = tulipa::wait_for(open_connection(&addrs[..]), Duration::from_millis(300));
        assert!(
            attempt.await.is_err(),
            "sequential attempts skipped the first"
        );
    });
}
