//! Servers on a group: the acceptor's balance (10 000 short connections in
//! bursts, the busiest loop at most 1.1x its fair share), the per-loop mode,
//! and closing the server.
#![cfg(all(unix, not(loom)))]

#[path = "support/group.rs"]
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use support::{eventually, within, PATIENCE};
use tulipa::group::ServeMode;
use tulipa::LoopGroup;

const LOOPS: usize = 4;

/// Starts an echo-one-line server that counts which loop served each
/// connection.
fn counting_server(
    group: &LoopGroup,
    mode: ServeMode,
) -> (tulipa::group::GroupServer, Arc<Vec<AtomicUsize>>) {
    let served: Arc<Vec<AtomicUsize>> = Arc::new((0..LOOPS).map(|_| AtomicUsize::new(0)).collect());
    let counts = served.clone();
    let server = group
        .start_server(mode, "127.0.0.1:0", move |mut reader, writer| {
            let counts = counts.clone();
            async move {
                let line = reader.readline().await.unwrap_or_default();
                let here = tulipa::group().unwrap().current_loop().unwrap();
                counts[here].fetch_add(1, Ordering::SeqCst);
                writer.write(&line);
                let _ = writer.drain().await;
                // The server closes first: TIME_WAIT stays on its side.
            }
        })
        .unwrap();
    (server, served)
}

/// `bursts` bursts of `size` connections opened at once, each sending a
/// line and reading it back until the server closes.
fn clients(addr: SocketAddr, bursts: usize, size: usize) {
    for _ in 0..bursts {
        let mut conns: Vec<TcpStream> = (0..size)
            .map(|_| TcpStream::connect(addr).unwrap())
            .collect();
        for c in &mut conns {
            c.write_all(b"hello\n").unwrap();
        }
        for c in conns {
            let mut reader = BufReader::new(c);
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            assert_eq!(line, "hello\n");
            let mut rest = Vec::new();
            reader.read_to_end(&mut rest).unwrap();
            assert!(rest.is_empty());
        }
    }
}

fn counts(served: &[AtomicUsize]) -> Vec<usize> {
    served.iter().map(|c| c.load(Ordering::SeqCst)).collect()
}

#[test]
fn acceptor_balances_10_000_short_connections_in_bursts_within_1_1x_fair_share() {
    within(PATIENCE * 4, || {
        let group = LoopGroup::new(LOOPS).unwrap();
        let (server, served) = counting_server(&group, ServeMode::Acceptor);
        clients(server.local_addr(), 100, 100);
        eventually("every connection was counted", || {
            counts(&served).iter().sum::<usize>() == 10_000
        });
        let seen = counts(&served);
        let fair = 10_000 / LOOPS;
        let busiest = *seen.iter().max().unwrap();
        eprintln!(
            "acceptor: connections per loop {seen:?}, busiest {:.3}x fair",
            busiest as f64 / fair as f64
        );
        assert!(
            busiest * 10 <= fair * 11,
            "busiest loop took {busiest} of a fair {fair}: {seen:?}"
        );
        eventually("the open counts return to zero", || {
            (0..LOOPS).all(|i| group.connections(i) == 0)
        });
        drop(server);
        assert!(group.close().is_clean());
    });
}

/// The kernel spreads `SO_REUSEPORT` connections by a hash of the
/// connection, not by load: the balance is reported, and only that every
/// loop took a share is asserted.
#[test]
fn per_loop_listeners_serve_10_000_short_connections_in_bursts_on_every_loop() {
    within(PATIENCE * 4, || {
        let group = LoopGroup::new(LOOPS).unwrap();
        let (server, served) = counting_server(&group, ServeMode::PerLoop);
        assert_eq!(server.mode(), ServeMode::PerLoop);
        clients(server.local_addr(), 100, 100);
        eventually("every connection was counted", || {
            counts(&served).iter().sum::<usize>() == 10_000
        });
        let seen = counts(&served);
        let fair = 10_000 / LOOPS;
        eprintln!(
            "per-loop (kernel's choice): connections per loop {seen:?}, busiest {:.3}x fair",
            *seen.iter().max().unwrap() as f64 / fair as f64
        );
        assert!(seen.iter().all(|&n| n > 0), "a loop took nothing: {seen:?}");
        drop(server);
        assert!(group.close().is_clean());
    });
}

/// Per-loop mode binds one `SO_REUSEPORT` socket per loop: another
/// `SO_REUSEPORT` socket may join the port (Linux allows that only when
/// every socket already on it set the option). The acceptor's single
/// socket does not set it, so the same bind is refused there.
#[test]
fn per_loop_listeners_are_reuse_port_sockets_and_the_acceptor_is_not() {
    within(PATIENCE, || {
        let group = LoopGroup::new(LOOPS).unwrap();
        let join = |addr: SocketAddr| {
            tulipa::net::ListenOptions::new()
                .reuse_port(true)
                .bind_std(addr)
        };
        let (per_loop, _) = counting_server(&group, ServeMode::PerLoop);
        let joined = join(per_loop.local_addr()).expect("the port is a SO_REUSEPORT group");
        drop(joined);
        let (acceptor, _) = counting_server(&group, ServeMode::Acceptor);
        let refused = join(acceptor.local_addr()).unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::AddrInUse);
        drop((per_loop, acceptor));
        assert!(group.close().is_clean());
    });
}

#[test]
fn closing_the_server_stops_accepting_and_open_connections_go_on() {
    within(PATIENCE, || {
        let group = LoopGroup::new(2).unwrap();
        let server = group
            .start_server(
                ServeMode::Acceptor,
                "127.0.0.1:0",
                |mut reader, writer| async move {
                    while let Ok(line) = reader.readline().await {
                        if line.is_empty() {
                            break;
                        }
                        writer.write(&line);
                        let _ = writer.drain().await;
                    }
                },
            )
            .unwrap();
        let addr = server.local_addr();
        let mut open = BufReader::new(TcpStream::connect(addr).unwrap());
        open.get_mut().write_all(b"one\n").unwrap();
        let mut line = String::new();
        open.read_line(&mut line).unwrap();
        server.close();
        eventually("the listener is closed", || {
            TcpStream::connect(addr).is_err()
        });
        open.get_mut().write_all(b"two\n").unwrap();
        line.clear();
        open.read_line(&mut line).unwrap();
        assert_eq!(line, "two\n");
        drop(open);
        assert!(group.close().is_clean());
    });
}
