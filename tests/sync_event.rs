//! Event: CPython's `EventTests` (test_locks.py, 3.13) ported by name.

mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use support::run_virtual as run;
use tulipa::sync::Event;
use tulipa::{spawn, yield_now, EventLoop};

fn waiters(ev: &Event) -> String {
    let debug = format!("{ev:?}");
    debug[debug.find("waiters: ").unwrap() + 9..]
        .trim_end_matches(" }")
        .to_string()
}

#[test]
fn test_wait() {
    run(async {
        let ev = Rc::new(Event::new());
        assert!(!ev.is_set());
        let result = Rc::new(RefCell::new(Vec::new()));
        let c = |n: i32| {
            let (ev, result) = (ev.clone(), result.clone());
            spawn(async move {
                ev.wait().await;
                result.borrow_mut().push(n);
            })
        };
        let t1 = c(1);
        let t2 = c(2);
        yield_now().await;
        assert_eq!(*result.borrow(), []);

        let t3 = c(3);
        ev.set();
        yield_now().await;
        // t3 finds the flag up at its first step; t1 and t2 wake in order.
        assert_eq!(*result.borrow(), [3, 1, 2]);
        for t in [t1, t2, t3] {
            assert!(t.is_done());
        }
    });
}

#[test]
fn test_wait_on_set() {
    run(async {
        let ev = Event::new();
        ev.set();
        ev.wait().await;
    });
}

#[test]
fn test_wait_cancel() {
    run(async {
        let ev = Rc::new(Event::new());
        let e = ev.clone();
        let wait = spawn(async move { e.wait().await });
        yield_now().await;
        assert_eq!(waiters(&ev), "1");
        wait.cancel();
        assert!(wait.await.unwrap_err().is_cancelled());
        assert_eq!(waiters(&ev), "0", "the cancelled waiter left the list");
    });
}

#[test]
fn test_clear() {
    let ev = Event::new();
    assert!(!ev.is_set());
    ev.set();
    assert!(ev.is_set());
    ev.clear();
    assert!(!ev.is_set());
}

#[test]
fn test_clear_with_waiters() {
    // A waiter woken by set() returns even though the flag was cleared (and
    // set again) before it ran.
    run(async {
        let ev = Rc::new(Event::new());
        let result = Rc::new(RefCell::new(Vec::new()));
        let (e, r) = (ev.clone(), result.clone());
        let t = spawn(async move {
            e.wait().await;
            r.borrow_mut().push(1);
            true
        });
        yield_now().await;
        assert_eq!(*result.borrow(), []);

        ev.set();
        ev.clear();
        assert!(!ev.is_set());

        ev.set();
        ev.set();
        yield_now().await;
        assert_eq!(*result.borrow(), [1]);
        assert_eq!(waiters(&ev), "0");
        assert!(t.await.unwrap());
    });
}

#[test]
fn cleared_before_the_woken_waiter_runs_still_wakes_it() {
    run(async {
        let ev = Rc::new(Event::new());
        let e = ev.clone();
        let t = spawn(async move { e.wait().await });
        yield_now().await;
        ev.set();
        ev.clear();
        yield_now().await;
        assert!(t.is_done());
    });
}

#[test]
fn waiting_after_clear_blocks_again() {
    run(async {
        let ev = Rc::new(Event::new());
        ev.set();
        ev.clear();
        let e = ev.clone();
        let t = spawn(async move { e.wait().await });
        tulipa::sleep(Duration::from_secs(10)).await;
        assert!(!t.is_done());
        ev.set();
        t.await.unwrap();
    });
}

#[test]
fn set_from_another_thread_wakes_the_loop() {
    let lp = EventLoop::new().unwrap();
    let ev = Arc::new(Event::new());
    let setter = {
        let ev = ev.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            ev.set();
        })
    };
    let e = ev.clone();
    lp.run_until_complete(async move { e.wait().await })
        .unwrap();
    setter.join().unwrap();
    assert!(ev.is_set());
}
