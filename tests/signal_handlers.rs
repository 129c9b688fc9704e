//! `EventLoop::add_signal_handler` / `remove_signal_handler` and
//! `tulipa::signal::signal` (asyncio's test_unix_events signal tests, on a
//! real process: a helper thread sends the signal to this process).
//!
//! Signals are process-wide, so the tests of this binary take one lock and
//! run one at a time; signal tests live in their own binaries so that the
//! dispositions they change disturb no other test.
#![cfg(all(unix, feature = "signal"))]

use std::cell::Cell;
use std::process::Command;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::Duration;

use signal_hook::low_level::raise;
use tulipa::signal::{signal, Signal, SignalError, SIGUSR1, SIGUSR2, SIGWINCH};
use tulipa::EventLoop;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sends `sig` to this process from another thread, after `delay`.
fn send_later(sig: Signal, delay: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        raise(sig).unwrap();
    });
}

/// Sends `sig` from another thread and waits until it was handled there
/// (`raise` runs the process-wide handler in the calling thread).
fn send_now(sig: Signal) {
    std::thread::spawn(move || raise(sig).unwrap())
        .join()
        .unwrap();
}

/// Runs `future` with a watchdog: a lost wake-up fails instead of hanging.
fn run_watched<F: std::future::Future>(lp: &EventLoop, future: F) -> F::Output {
    lp.run_until_complete(tulipa::wait_for(future, Duration::from_secs(10)))
        .unwrap()
        .expect("watchdog: the signal never reached the loop")
}

#[test]
fn delivery_while_blocked_in_the_selector_wakes_the_loop() {
    let _serial = serial();
    let lp = EventLoop::new().unwrap();
    let hits = Rc::new(Cell::new(0));
    let h = hits.clone();
    lp.add_signal_handler(SIGUSR1, move || {
        h.set(h.get() + 1);
        tulipa::get_running_loop().unwrap().stop();
    })
    .unwrap();
    // Nothing else to do: the loop sleeps in the selector until the signal.
    send_later(SIGUSR1, Duration::from_millis(20));
    let handle = lp.handle();
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(10));
        let _ = handle.stop();
    });
    lp.run_forever().unwrap();
    assert_eq!(hits.get(), 1, "the signal woke the blocked loop");
    assert!(lp.stats().time_polling > Duration::ZERO);
    assert!(lp.remove_signal_handler(SIGUSR1).unwrap());
    drop(watchdog);
}

#[test]
fn deliveries_while_busy_coalesce_into_one_callback_run() {
    let _serial = serial();
    let lp = EventLoop::new().unwrap();
    let hits = Rc::new(Cell::new(0));
    let h = hits.clone();
    lp.add_signal_handler(SIGUSR2, move || h.set(h.get() + 1))
        .unwrap();
    let hits_seen = run_watched(&lp, async {
        // The loop is busy (blocked in this task) while five signals arrive.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for _ in 0..5 {
                raise(SIGUSR2).unwrap();
            }
            tx.send(()).unwrap();
        });
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(hits.get(), 0, "never inside the signal handler");
        while hits.get() == 0 {
            tulipa::yield_now().await;
        }
        // Let any further (wrong) runs happen.
        for _ in 0..5 {
            tulipa::yield_now().await;
        }
        hits.get()
    });
    assert_eq!(hits_seen, 1);
    // A later delivery runs it again.
    send_now(SIGUSR2);
    run_watched(&lp, async {
        while hits.get() < 2 {
            tulipa::yield_now().await;
        }
    });
    assert!(lp.remove_signal_handler(SIGUSR2).unwrap());
}

#[test]
fn several_handlers_in_turn_replacement_takes_effect_at_once() {
    let _serial = serial();
    let lp = EventLoop::new().unwrap();
    let log = Rc::new(std::cell::RefCell::new(Vec::new()));
    for name in ["first", "second", "third"] {
        let l = log.clone();
        lp.add_signal_handler(SIGUSR1, move || l.borrow_mut().push(name))
            .unwrap();
        send_now(SIGUSR1);
        run_watched(&lp, async {
            while log.borrow().last() != Some(&name) {
                tulipa::yield_now().await;
            }
        });
    }
    assert_eq!(*log.borrow(), ["first", "second", "third"]);

    // Seen by the loop but not yet dispatched, then replaced: only the new one runs.
    let l = log.clone();
    lp.add_signal_handler(SIGUSR1, move || l.borrow_mut().push("old"))
        .unwrap();
    let l = log.clone();
    run_watched(&lp, async {
        send_now(SIGUSR1);
        // Next iteration: the pipe's reader runs after this task and queues
        // the dispatch; the one after: this task runs before that dispatch.
        tulipa::yield_now().await;
        tulipa::yield_now().await;
        tulipa::get_running_loop()
            .unwrap()
            .add_signal_handler(SIGUSR1, move || l.borrow_mut().push("new"))
            .unwrap();
        while log.borrow().len() < 4 {
            tulipa::yield_now().await;
        }
    });
    assert_eq!(log.borrow()[3], "new");
    assert!(!log.borrow().contains(&"old"));
    assert!(lp.remove_signal_handler(SIGUSR1).unwrap());
}

#[test]
fn removal_takes_effect_at_once_and_frees_the_pipe() {
    let _serial = serial();
    let lp = EventLoop::new().unwrap();
    assert_eq!(lp.io_sources(), 0);
    let hits = Rc::new(Cell::new(0));
    let h = hits.clone();
    lp.add_signal_handler(SIGWINCH, move || h.set(h.get() + 1))
        .unwrap();
    assert_eq!(lp.io_sources(), 1, "the self-pipe");
    let stream_hits = run_watched(&lp, async {
        // A stream on the same signal keeps it caught while the handler goes.
        let mut stream = signal(SIGWINCH).unwrap();
        send_now(SIGWINCH);
        assert!(tulipa::get_running_loop()
            .unwrap()
            .remove_signal_handler(SIGWINCH)
            .unwrap());
        stream.recv().await;
        for _ in 0..3 {
            tulipa::yield_now().await;
        }
        1
    });
    assert_eq!(stream_hits, 1);
    assert_eq!(hits.get(), 0, "removed before its dispatch: never runs");
    assert!(!lp.remove_signal_handler(SIGWINCH).unwrap());
    assert_eq!(lp.io_sources(), 0, "the pipe goes with the last listener");
}

#[test]
fn a_stream_keeps_a_delivery_made_before_recv() {
    let _serial = serial();
    let lp = EventLoop::new().unwrap();
    run_watched(&lp, async {
        let mut stream = signal(SIGUSR1).unwrap();
        send_now(SIGUSR1);
        // Let the loop dispatch it while nobody waits.
        for _ in 0..3 {
            tulipa::yield_now().await;
        }
        stream.recv().await;
        send_now(SIGUSR1);
        stream.recv().await;
    });
    assert_eq!(lp.io_sources(), 0);
}

#[test]
fn every_loop_with_a_handler_sees_the_delivery() {
    let _serial = serial();
    let seen = Arc::new(AtomicUsize::new(0));
    let (ready_tx, ready_rx) = mpsc::channel();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let seen = seen.clone();
            let ready = ready_tx.clone();
            std::thread::spawn(move || {
                let lp = EventLoop::new().unwrap();
                lp.add_signal_handler(SIGUSR2, move || {
                    seen.fetch_add(1, Ordering::SeqCst);
                    tulipa::get_running_loop().unwrap().stop();
                })
                .unwrap();
                ready.send(()).unwrap();
                let handle = lp.handle();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_secs(10));
                    let _ = handle.stop();
                });
                lp.run_forever().unwrap();
                lp.remove_signal_handler(SIGUSR2).unwrap();
            })
        })
        .collect();
    for _ in 0..2 {
        ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    }
    send_now(SIGUSR2);
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

#[test]
fn a_panicking_handler_goes_to_the_exception_handler() {
    let _serial = serial();
    let lp = EventLoop::new().unwrap();
    let reports = Rc::new(std::cell::RefCell::new(Vec::new()));
    let r = reports.clone();
    lp.set_exception_handler(Some(move |ctx: &tulipa::ExceptionContext| {
        r.borrow_mut().push(ctx.panic.clone().unwrap_or_default())
    }));
    lp.add_signal_handler(SIGUSR1, || panic!("boom from the handler"))
        .unwrap();
    send_now(SIGUSR1);
    run_watched(&lp, async {
        while reports.borrow().is_empty() {
            tulipa::yield_now().await;
        }
    });
    assert_eq!(*reports.borrow(), ["boom from the handler"]);
    // The loop goes on.
    assert_eq!(lp.run_until_complete(async { 7 }).unwrap(), 7);
    assert!(lp.remove_signal_handler(SIGUSR1).unwrap());
}

#[test]
fn invalid_and_uncatchable_signals_are_typed_errors() {
    let _serial = serial();
    let lp = EventLoop::new().unwrap();
    for sig in [
        signal_hook::consts::SIGKILL,
        signal_hook::consts::SIGSTOP,
        11,
    ] {
        assert!(matches!(
            lp.add_signal_handler(sig, || {}),
            Err(SignalError::Forbidden(s)) if s == sig
        ));
        assert!(matches!(
            lp.remove_signal_handler(sig),
            Err(SignalError::Forbidden(_))
        ));
    }
    for sig in [0, -1, 65, 1000, i32::MAX] {
        assert!(matches!(
            lp.add_signal_handler(sig, || {}),
            Err(SignalError::Invalid(s)) if s == sig
        ));
    }
    let err = lp.add_signal_handler(0, || {}).unwrap_err();
    assert_eq!(err.to_string(), "invalid signal number 0");
    assert_eq!(lp.io_sources(), 0, "a failed call leaves nothing behind");
    lp.close().unwrap();
    assert!(matches!(
        lp.add_signal_handler(SIGUSR1, || {}),
        Err(SignalError::LoopClosed)
    ));
}

#[test]
fn closing_the_loop_drops_its_handlers() {
    let _serial = serial();
    let dropped = Rc::new(Cell::new(false));
    struct Flag(Rc<Cell<bool>>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let lp = EventLoop::new().unwrap();
    let flag = Flag(dropped.clone());
    lp.add_signal_handler(SIGUSR1, move || {
        let _ = &flag;
    })
    .unwrap();
    lp.close().unwrap();
    assert!(dropped.get());
    // A new loop can take the signal again.
    let lp = EventLoop::new().unwrap();
    lp.add_signal_handler(SIGUSR1, || {}).unwrap();
    assert!(lp.remove_signal_handler(SIGUSR1).unwrap());
}

/// In a child process: after the last handler is removed, SIGUSR1 takes its
/// default action again (the process dies by it), as asyncio's SIG_DFL.
#[test]
fn removing_the_last_handler_restores_the_default_action() {
    use std::os::unix::process::ExitStatusExt;
    if std::env::var_os("TULIPA_SIGNAL_CHILD").is_some() {
        let lp = EventLoop::new().unwrap();
        lp.add_signal_handler(SIGUSR1, || {}).unwrap();
        assert!(lp.remove_signal_handler(SIGUSR1).unwrap());
        raise(SIGUSR1).unwrap();
        std::thread::sleep(Duration::from_secs(5));
        std::process::exit(3);
    }
    let _serial = serial();
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "removing_the_last_handler_restores_the_default_action",
            "--exact",
            "--test-threads=1",
        ])
        .env("TULIPA_SIGNAL_CHILD", "1")
        .output()
        .unwrap()
        .status;
    assert_eq!(status.signal(), Some(SIGUSR1), "{status:?}");
}
