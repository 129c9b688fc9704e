//! `Server`: a panicking handler closure, `is_serving` telling the truth,
//! `close_clients` / `abort_clients` (asyncio 3.13) and `wait_closed` as
//! asyncio 3.12.1+ (server closed and every connection closed, either order).
mod support;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use tulipa::net::{open_connection, start_server, start_server_on, ListenOptions, StreamWriter};
use tulipa::ExceptionContext;

/// A loop whose exception handler records every report.
fn recording_loop() -> (tulipa::EventLoop, Rc<RefCell<Vec<ExceptionContext>>>) {
    let lp = tulipa::EventLoop::new().unwrap();
    let reports = Rc::new(RefCell::new(Vec::new()));
    let sink = reports.clone();
    lp.set_exception_handler(Some(move |c: &ExceptionContext| {
        sink.borrow_mut().push(c.clone())
    }));
    (lp, reports)
}

/// Runs `f` on `lp`, failing (instead of hanging) after 20 s.
fn run_bounded<T>(lp: &tulipa::EventLoop, f: impl std::future::Future<Output = T>) -> T {
    let guarded = tulipa::wait_for(f, Duration::from_secs(20));
    lp.run_until_complete(guarded).unwrap().expect("timed out")
}

#[test]
fn panicking_handler_closure_is_reported_at_once_with_the_call_site_and_serving_goes_on() {
    let (lp, reports) = recording_loop();
    let line = line!() + 4;
    run_bounded(&lp, async {
        let calls = Rc::new(Cell::new(0));
        let seen = calls.clone();
        let server = start_server(
            move |_r, w: StreamWriter| {
                seen.set(seen.get() + 1);
                assert!(seen.get() > 1, "first client refused");
                async move { w.write(b"welcome\n") }
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let addr = server.local_addr().unwrap();
        // The first handler call panics: its connection is closed.
        let (mut first, _w1) = open_connection(addr).await.unwrap();
        assert_eq!(first.read(100).await.unwrap(), b"");
        assert_eq!(reports.borrow().len(), 1, "reported at once");
        // The server still accepts, and says so.
        assert!(server.is_serving());
        let (mut second, _w2) = open_connection(addr).await.unwrap();
        assert_eq!(second.readline().await.unwrap(), b"welcome\n");
        assert_eq!(calls.get(), 2);
    });
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1);
    let report = &reports[0];
    assert_eq!(report.panic.as_deref(), Some("first client refused"));
    let site = format!("{}:{line}", file!());
    assert!(
        report.message.contains(&site),
        "{} lacks {site}",
        report.message
    );
}

#[test]
fn a_panic_in_the_handlers_future_names_the_start_server_call_site() {
    let (lp, reports) = recording_loop();
    let line = line!() + 2;
    run_bounded(&lp, async {
        let server = start_server(|_r, _w| async { panic!("in the future") }, "127.0.0.1:0")
            .await
            .unwrap();
        let (mut reader, _w) = open_connection(server.local_addr().unwrap()).await.unwrap();
        assert_eq!(
            reader.read(10).await.unwrap(),
            b"",
            "the connection was closed"
        );
        until("reported", || !reports.borrow().is_empty()).await;
        assert!(server.is_serving());
    });
    let reports = reports.borrow();
    assert_eq!(reports[0].panic.as_deref(), Some("in the future"));
    let task = reports[0].task.as_ref().expect("a task report").to_string();
    let site = format!("{}:{line}", file!());
    assert!(task.contains(&site), "{task} lacks {site}");
}

#[test]
fn is_serving_is_false_once_the_servers_loop_is_closed() {
    let lp = tulipa::EventLoop::new().unwrap();
    let server = lp
        .run_until_complete(start_server(|_r, _w| async {}, "127.0.0.1:0"))
        .unwrap()
        .unwrap();
    assert!(server.is_serving());
    lp.close().unwrap();
    assert!(!server.is_serving(), "the accept task died with its loop");
}

#[test]
fn start_server_on_serves_a_listener_made_beforehand() {
    let lp = tulipa::EventLoop::new().unwrap();
    run_bounded(&lp, async {
        let listener = ListenOptions::new()
            .backlog(4)
            .bind("127.0.0.1:0")
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let server = start_server_on(|_r, w| async move { w.write(b"sock=\n") }, listener);
        assert_eq!(server.local_addr().unwrap(), addr);
        let (mut reader, _w) = open_connection(addr).await.unwrap();
        assert_eq!(reader.readline().await.unwrap(), b"sock=\n");
    });
}

/// A server whose handlers return at once, leaving their writers in `kept`
/// (a chat server's list of clients): the connections stay open.
async fn stashing_server(kept: Rc<RefCell<Vec<StreamWriter>>>) -> tulipa::net::Server {
    start_server(
        move |_r, w| {
            kept.borrow_mut().push(w);
            async {}
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap()
}

async fn until(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..100_000 {
        if cond() {
            return;
        }
        tulipa::yield_now().await;
    }
    panic!("never became true: {what}");
}

#[test]
fn wait_closed_waits_for_connections_whose_handler_returned_but_writer_lives() {
    let lp = tulipa::EventLoop::new().unwrap();
    run_bounded(&lp, async {
        let kept = Rc::new(RefCell::new(Vec::new()));
        let server = Rc::new(stashing_server(kept.clone()).await);
        let (mut reader, _w) = open_connection(server.local_addr().unwrap()).await.unwrap();
        until("accepted", || kept.borrow().len() == 1).await;
        assert_eq!(
            server.connections(),
            1,
            "the handler returned, the connection is open"
        );
        server.close();
        let s = server.clone();
        let waiting = tulipa::spawn(async move { s.wait_closed().await });
        tulipa::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_done(), "returned with a connection open");
        kept.borrow()[0].write(b"bye\n");
        kept.borrow_mut().clear(); // drop closes after flushing
        waiting.await.unwrap();
        assert_eq!(reader.readline().await.unwrap(), b"bye\n");
        assert_eq!(reader.read(10).await.unwrap(), b"");
        assert_eq!(server.connections(), 0);
    });
}

#[test]
fn wait_closed_before_close_waits_for_close_then_returns_with_no_connections() {
    let lp = tulipa::EventLoop::new().unwrap();
    run_bounded(&lp, async {
        let server = Rc::new(
            start_server(|_r, _w| async {}, "127.0.0.1:0")
                .await
                .unwrap(),
        );
        let s = server.clone();
        let waiting = tulipa::spawn(async move { s.wait_closed().await });
        tulipa::sleep(Duration::from_millis(20)).await;
        assert!(
            !waiting.is_done(),
            "an open server with no clients is not closed"
        );
        server.close();
        waiting.await.unwrap();
        // Both conditions hold: it returns at once from now on.
        server.wait_closed().await;
    });
}

#[test]
fn close_clients_flushes_and_closes_idle_connections_so_wait_closed_returns() {
    let lp = tulipa::EventLoop::new().unwrap();
    run_bounded(&lp, async {
        let kept = Rc::new(RefCell::new(Vec::new()));
        let server = stashing_server(kept.clone()).await;
        let addr = server.local_addr().unwrap();
        let (mut a, _wa) = open_connection(addr).await.unwrap();
        let (mut b, _wb) = open_connection(addr).await.unwrap();
        until("accepted", || kept.borrow().len() == 2).await;
        for w in kept.borrow().iter() {
            w.write(b"last words\n");
        }
        server.close();
        server.close_clients();
        server.wait_closed().await;
        assert_eq!(server.connections(), 0);
        for reader in [&mut a, &mut b] {
            assert_eq!(reader.readline().await.unwrap(), b"last words\n");
            assert_eq!(reader.read(10).await.unwrap(), b"", "the server hung up");
        }
        assert!(kept.borrow().iter().all(StreamWriter::is_closing));
    });
}

#[test]
fn abort_clients_drops_buffered_data_and_fails_drain() {
    let lp = tulipa::EventLoop::new().unwrap();
    run_bounded(&lp, async {
        let kept = Rc::new(RefCell::new(Vec::new()));
        let server = stashing_server(kept.clone()).await;
        let (mut reader, _w) = open_connection(server.local_addr().unwrap()).await.unwrap();
        until("accepted", || kept.borrow().len() == 1).await;
        // More than the socket takes at once: some stays buffered.
        let writer = kept.borrow_mut().pop().unwrap();
        writer.write(&vec![7; 8 << 20]);
        assert!(writer.write_buffer_size() > 0);
        server.abort_clients();
        assert_eq!(writer.write_buffer_size(), 0, "the buffer is dropped");
        assert!(writer.drain().await.is_err());
        until("the handler task ended", || server.connections() == 0).await;
        let got = reader.read_to_end().await.unwrap();
        assert!(got.len() < 8 << 20, "the buffered rest never left");
        server.close();
        server.wait_closed().await;
    });
}
