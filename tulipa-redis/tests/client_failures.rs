//! Broken peers and a restarted server: typed errors, never a hang or a
//! panic; reconnection without losing acked work.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::RedisServer;
use tulipa_redis::{cmd, Client, ClientOptions, QueueError, QueueOptions, RedisError, RedisQueue};

const BOUND: Duration = Duration::from_secs(10);

/// A TCP peer that answers every connection with `reply` (after reading
/// the first bytes), then closes it or keeps it open.
fn broken_peer(reply: &'static [u8], keep_open: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut buf = [0u8; 1024];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(reply);
            if keep_open {
                held.push(conn);
            }
        }
    });
    port
}

fn quick() -> ClientOptions {
    ClientOptions::default()
        .command_timeout(Duration::from_millis(300))
        .reconnect_for(Duration::from_millis(100))
}

fn run_query(port: u16, opts: ClientOptions) -> Result<tulipa_redis::Value, RedisError> {
    tulipa::run(async move {
        let c = Client::connect_with(&format!("redis://127.0.0.1:{port}"), opts)
            .await
            .unwrap();
        tulipa::wait_for(c.query(cmd("PING")), BOUND)
            .await
            .expect("a reply or an error, not a hang")
    })
    .unwrap()
}

#[test]
fn failures_malformed_reply_is_protocol_error() {
    let port = broken_peer(b"?this is not resp\r\n", true);
    let err = run_query(port, quick()).unwrap_err();
    assert!(matches!(err, RedisError::Protocol(_)), "{err:?}");
}

#[test]
fn failures_bad_length_prefix_is_protocol_error() {
    let port = broken_peer(b"$abc\r\nxyz\r\n", true);
    let err = run_query(port, quick()).unwrap_err();
    assert!(matches!(err, RedisError::Protocol(_)), "{err:?}");
}

#[test]
fn failures_unsolicited_extra_reply_is_protocol_error() {
    let port = broken_peer(b"+PONG\r\n+EXTRA\r\n", true);
    tulipa::run(async move {
        let c = Client::connect_with(&format!("redis://127.0.0.1:{port}"), quick())
            .await
            .unwrap();
        // The first reply matches PING; the second has no command: the
        // connection is dropped with a typed error for what follows.
        let first = tulipa::wait_for(c.query(cmd("PING")), BOUND).await.unwrap();
        assert_eq!(first.unwrap().as_str(), Some("PONG"));
        tulipa::sleep(Duration::from_millis(20)).await;
        let second = tulipa::wait_for(c.query(cmd("PING")), BOUND).await.unwrap();
        assert!(second.is_ok() || second.unwrap_err().is_connection_error());
    })
    .unwrap();
}

#[test]
fn failures_server_closes_connection_is_connection_error() {
    let port = broken_peer(b"", false);
    let err = run_query(port, quick()).unwrap_err();
    assert!(matches!(err, RedisError::Connection { .. }), "{err:?}");
}

#[test]
fn failures_truncated_reply_then_close_is_connection_error() {
    let port = broken_peer(b"$10\r\nabc", false);
    let err = run_query(port, quick()).unwrap_err();
    assert!(matches!(err, RedisError::Connection { .. }), "{err:?}");
}

#[test]
fn failures_silent_server_is_timeout() {
    let port = broken_peer(b"", true);
    let err = run_query(port, quick()).unwrap_err();
    assert_eq!(err, RedisError::Timeout);
}

#[test]
fn failures_nothing_listening_is_connection_error() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    tulipa::run(async move {
        let err = Client::connect_with(&format!("redis://127.0.0.1:{port}"), quick())
            .await
            .unwrap_err();
        assert!(matches!(err, RedisError::Connection { .. }), "{err:?}");
    })
    .unwrap();
}

#[test]
fn failures_queue_on_a_broken_peer_is_typed_error() {
    let port = broken_peer(b"*2\r\n:1\r\n", false);
    tulipa::run(async move {
        let opts = QueueOptions::default().client(quick());
        let err = tulipa::wait_for(
            RedisQueue::<String>::connect_with(
                &format!("redis://127.0.0.1:{port}"),
                "s",
                "g",
                "c",
                opts,
            ),
            BOUND,
        )
        .await
        .unwrap()
        .unwrap_err();
        assert!(
            matches!(err, QueueError::Redis(ref e) if e.is_connection_error()),
            "{err:?}"
        );
    })
    .unwrap();
}

#[test]
fn failures_client_reconnects_after_server_restart() {
    let mut server = RedisServer::start_persistent();
    let url = server.url();
    let c_url = url.clone();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let t = std::thread::spawn(move || {
        tulipa::run(async move {
            let c = Client::connect(&c_url).await.unwrap();
            c.query(cmd("SET").arg("k").arg("before")).await.unwrap();
            tx.send(()).unwrap();
            done_rx.recv().unwrap();
            // The old connection is dead; the next command reconnects.
            let v = c.query(cmd("GET").arg("k")).await.unwrap();
            assert_eq!(v.as_str(), Some("before"));
            assert_eq!(c.connects(), 2);
        })
        .unwrap();
    });
    rx.recv().unwrap();
    server.restart();
    done_tx.send(()).unwrap();
    t.join().unwrap();
}

#[test]
fn failures_queue_survives_server_restart_mid_run_nothing_acked_lost() {
    let server = Arc::new(Mutex::new(RedisServer::start_persistent()));
    let url = server.lock().unwrap().url();
    let n = 200;
    let restarter = {
        let server = server.clone();
        move || server.lock().unwrap().restart()
    };
    tulipa::run(async move {
        let opts = QueueOptions::default()
            .min_idle(Duration::from_millis(300))
            .block(Duration::from_millis(50))
            .poll(Duration::from_millis(5))
            .prefetch(4);
        let q = RedisQueue::<String>::connect_with(&url, "r", "g", "c", opts.clone())
            .await
            .unwrap();
        let consumer = RedisQueue::<String>::connect_with(&url, "r", "g", "w", opts)
            .await
            .unwrap();
        let acked = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let sink = acked.clone();
        let worker = tulipa::spawn(async move {
            loop {
                match consumer.get().await {
                    Ok(d) => {
                        let item = d.item().clone();
                        // `false`: an earlier ack of this entry went through
                        // but its reply was lost in the restart.
                        let first = d.task_done().await.unwrap();
                        sink.borrow_mut().push((item, first));
                    }
                    Err(QueueError::ShutDown) => return,
                    Err(e) => panic!("consumer: {e}"),
                }
            }
        });
        let mut restarter = Some(restarter);
        for i in 0..n {
            if i == n / 2 {
                // Restart while the consumer is blocked in XREADGROUP and
                // acks are in flight.
                let r = restarter.take().unwrap();
                tulipa::run_in_executor(r).await.unwrap();
            }
            q.put(format!("item-{i}")).await.unwrap();
            if i % 10 == 0 {
                tulipa::sleep(Duration::from_millis(1)).await;
            }
        }
        tulipa::wait_for(q.join(), Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap();
        q.shutdown(false).await.unwrap();
        tulipa::wait_for(worker, BOUND).await.unwrap().unwrap();
        let acked = acked.borrow();
        let mut got: Vec<_> = acked.iter().map(|(item, _)| item.clone()).collect();
        got.sort();
        got.dedup();
        assert_eq!(got.len(), n, "every item put was acked after the restart");
        let first_acks = acked.iter().filter(|(_, first)| *first).count();
        let lost_replies = acked.len() - first_acks;
        assert!(lost_replies <= 4, "{lost_replies} acks with lost replies");
        assert!(first_acks >= n - lost_replies);
        assert!(q.client().connects() >= 2, "the client reconnected");
    })
    .unwrap();
}

/// The test servers' own start-up: a port another server took first (as
/// a test running beside this one might) makes ours move to a free port,
/// and the client talks to our server, not the other one; killing the
/// other leaves ours serving.
#[test]
fn failures_a_test_server_whose_port_is_taken_moves_and_serves_as_itself() {
    let mut other = RedisServer::start();
    let ours = RedisServer::start_trying_port(other.port);
    assert_ne!(ours.port, other.port, "the taken port was left");
    let url = ours.url();
    let port = other.port;
    tulipa::run(async move {
        let c = Client::connect(&url).await.unwrap();
        c.query(cmd("SET").arg("who").arg("ours")).await.unwrap();
    })
    .unwrap();
    let other_url = format!("redis://127.0.0.1:{port}");
    tulipa::run(async move {
        let c = Client::connect(&other_url).await.unwrap();
        let seen = c.query(cmd("GET").arg("who")).await.unwrap();
        assert!(seen.is_nil(), "the write went to our server: {seen:?}");
    })
    .unwrap();
    other.kill();
    let url = ours.url();
    tulipa::run(async move {
        let c = Client::connect(&url).await.unwrap();
        let seen = c.query(cmd("GET").arg("who")).await.unwrap();
        assert_eq!(seen.as_str(), Some("ours"));
    })
    .unwrap();
}
