//! Misuse of the loop is a typed error, never a panic or a hang.
mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use tulipa::{EventLoop, LoopClosed, RunError};

#[test]
fn reentrant_run_until_complete_from_a_callback_is_already_running() {
    let lp = EventLoop::new().unwrap();
    let seen = Rc::new(RefCell::new(None));
    let s = seen.clone();
    let _ = lp.call_soon(move || {
        let inner = tulipa::get_running_loop().unwrap();
        *s.borrow_mut() = Some(inner.run_until_complete(async {}));
    });
    lp.run_once().unwrap();
    assert!(matches!(
        *seen.borrow(),
        Some(Err(RunError::AlreadyRunning))
    ));
}

#[test]
fn reentrant_run_forever_from_a_task_is_already_running() {
    let out = tulipa::run(async {
        let lp = tulipa::get_running_loop().unwrap();
        assert!(lp.is_running());
        lp.run_forever()
    })
    .unwrap();
    assert!(matches!(out, Err(RunError::AlreadyRunning)));
}

#[test]
fn a_second_loop_cannot_run_inside_the_first() {
    let out = tulipa::run(async { tulipa::run(async {}) }).unwrap();
    assert!(matches!(out, Err(RunError::AlreadyRunning)));
}

#[test]
fn running_a_closed_loop_is_an_error() {
    let lp = EventLoop::new().unwrap();
    lp.close().unwrap();
    assert!(lp.is_closed());
    assert!(matches!(
        lp.run_until_complete(async {}),
        Err(RunError::Closed)
    ));
    assert!(matches!(lp.run_forever(), Err(RunError::Closed)));
    assert!(matches!(lp.run_once(), Err(RunError::Closed)));
    // Closing twice is fine.
    lp.close().unwrap();
}

#[test]
fn closing_a_running_loop_is_an_error() {
    let out = tulipa::run(async { tulipa::get_running_loop().unwrap().close() }).unwrap();
    assert!(matches!(out, Err(RunError::AlreadyRunning)));
}

#[test]
fn stop_before_the_future_completes_is_stopped() {
    let lp = EventLoop::builder().virtual_time().build().unwrap();
    let stopper = lp.handle();
    let _ = lp.call_later(Duration::from_secs(1), move || stopper.stop().unwrap());
    let err = lp
        .run_until_complete(tulipa::sleep(Duration::from_secs(5)))
        .unwrap_err();
    assert!(matches!(err, RunError::Stopped));
    assert_eq!(
        err.to_string(),
        "event loop stopped before the future completed"
    );
    // The loop can run again afterwards.
    assert_eq!(lp.run_until_complete(async { 9 }).unwrap(), 9);
}

#[test]
fn stop_then_run_again_resumes_pending_tasks() {
    let lp = EventLoop::builder().virtual_time().build().unwrap();
    let task = lp.spawn(async {
        tulipa::sleep(Duration::from_secs(3)).await;
        "resumed"
    });
    let h = lp.handle();
    let _ = lp.call_later(Duration::from_secs(1), move || h.stop().unwrap());
    lp.run_forever().unwrap();
    assert!(!task.is_done());
    assert_eq!(lp.run_until_complete(task).unwrap().unwrap(), "resumed");
}

#[test]
fn stop_while_not_running_makes_run_forever_do_one_iteration() {
    let lp = EventLoop::new().unwrap();
    let ran = Rc::new(RefCell::new(0));
    let r = ran.clone();
    let _ = lp.call_soon(move || *r.borrow_mut() += 1);
    lp.stop();
    lp.run_forever().unwrap();
    assert_eq!(*ran.borrow(), 1);
}

#[test]
fn posting_to_a_closed_loop_is_loop_closed() {
    let lp = EventLoop::new().unwrap();
    let handle = lp.handle();
    lp.close().unwrap();
    assert!(handle.is_closed());
    assert_eq!(handle.call_soon_threadsafe(|| {}), Err(LoopClosed));
    assert_eq!(handle.stop(), Err(LoopClosed));
    assert!(handle.spawn_threadsafe(async {}).is_err());
    assert_eq!(LoopClosed.to_string(), "event loop is closed");
}

#[test]
fn dropping_the_loop_closes_it() {
    let handle = EventLoop::new().unwrap().handle();
    assert!(handle.is_closed());
}

#[test]
fn call_soon_on_a_closed_loop_returns_a_cancelled_handle() {
    let lp = EventLoop::new().unwrap();
    lp.close().unwrap();
    assert!(lp.call_soon(|| {}).is_cancelled());
    assert!(lp.call_later(Duration::from_secs(1), || {}).is_cancelled());
}

#[test]
fn the_main_future_may_borrow_locals() {
    let lp = EventLoop::new().unwrap();
    let mut local = vec![1, 2];
    lp.run_until_complete(async {
        local.push(3);
    })
    .unwrap();
    assert_eq!(local, [1, 2, 3]);
}
