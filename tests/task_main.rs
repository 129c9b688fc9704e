//! The future of `run_until_complete` runs as the loop's main task: it is
//! `current_task()` inside, it may borrow from the caller's stack, and it is
//! dropped before `run_until_complete` returns however the run ends
//! (completion, `stop()`, its own cancel, a panic).
mod support;

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::mpsc;
use std::task::{Poll, Waker};
use std::thread;
use std::time::Duration;

use support::virtual_loop;
use tulipa::{EventLoop, RunError};

/// Sets its flag when dropped.
struct DropFlag<'a>(&'a Cell<bool>);

impl Drop for DropFlag<'_> {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// Stops the loop from another thread if the test has not finished in
/// time, so a lost wake-up fails the test instead of hanging it.
fn watchdog(lp: &EventLoop) -> mpsc::Sender<()> {
    let handle = lp.handle();
    let (done, wait) = mpsc::channel::<()>();
    thread::spawn(move || {
        if wait.recv_timeout(Duration::from_secs(20)).is_err() {
            let _ = handle.stop();
        }
    });
    done
}

#[test]
fn current_task_inside_the_main_future_is_the_main_task() {
    let lp = EventLoop::new().unwrap();
    let (main_id, child_saw) = lp
        .run_until_complete(async {
            let me = tulipa::current_task().expect("the main future is a task");
            assert_eq!(me.name.as_deref(), Some("main"));
            assert!(!me.is_cancelling());
            assert!(tulipa::all_tasks().is_empty(), "main is not listed");
            let child = tulipa::spawn(async { tulipa::current_task().unwrap().id });
            (me.id, child.await.unwrap())
        })
        .unwrap();
    assert_ne!(main_id, child_saw);
    // After the run, nothing is current any more.
    assert!(tulipa::current_task().is_none());
}

#[test]
fn each_run_until_complete_is_a_new_main_task() {
    let lp = EventLoop::new().unwrap();
    let first = lp
        .run_until_complete(async { tulipa::current_task().unwrap().id })
        .unwrap();
    let second = lp
        .run_until_complete(async { tulipa::current_task().unwrap().id })
        .unwrap();
    assert!(second > first);
}

#[test]
fn main_future_borrows_the_callers_stack() {
    let lp = EventLoop::new().unwrap();
    let mut total = 0u64;
    let words = vec!["a".to_owned(), "bb".to_owned()];
    let longest: &str = lp
        .run_until_complete(async {
            for w in &words {
                tulipa::yield_now().await;
                total += w.len() as u64;
            }
            // The output may borrow too.
            words.iter().max_by_key(|w| w.len()).unwrap().as_str()
        })
        .unwrap();
    assert_eq!(longest, "bb");
    assert_eq!(total, 3);
}

#[test]
fn main_future_dropped_before_return_when_stopped() {
    let lp = virtual_loop();
    let dropped = Cell::new(false);
    let out = lp.run_until_complete(async {
        let _flag = DropFlag(&dropped);
        tulipa::get_running_loop().unwrap().stop();
        tulipa::sleep(Duration::from_secs(3600)).await;
    });
    assert!(matches!(out, Err(RunError::Stopped)));
    assert!(dropped.get(), "dropped before run_until_complete returned");
    // The loop runs on; the old main task is never polled again.
    assert_eq!(lp.run_until_complete(async { 5 }).unwrap(), 5);
}

#[test]
fn main_future_dropped_before_return_when_stopped_while_scheduled() {
    // The main task is in the ready queue when the loop stops: its queue
    // entry outlives the run and must be harmless afterwards.
    let lp = EventLoop::new().unwrap();
    let dropped = Cell::new(false);
    let out = lp.run_until_complete(async {
        let _flag = DropFlag(&dropped);
        tulipa::get_running_loop().unwrap().stop();
        loop {
            tulipa::yield_now().await;
        }
    });
    assert!(matches!(out, Err(RunError::Stopped)));
    assert!(dropped.get());
    lp.run_once().unwrap();
    lp.close().unwrap();
}

#[test]
fn main_future_panic_propagates_after_its_future_is_dropped() {
    let lp = EventLoop::new().unwrap();
    let dropped = Cell::new(false);
    let caught = catch_unwind(AssertUnwindSafe(|| {
        lp.run_until_complete(async {
            let _flag = DropFlag(&dropped);
            tulipa::yield_now().await;
            panic!("main boom");
        })
    }));
    let payload = caught.expect_err("the panic reaches the caller");
    assert_eq!(*payload.downcast::<&str>().unwrap(), "main boom");
    assert!(dropped.get());
    // The loop is still usable.
    assert_eq!(lp.run_until_complete(async { 1 }).unwrap(), 1);
}

#[test]
fn main_task_cancelling_itself_ends_run_until_complete_cancelled() {
    let lp = virtual_loop();
    let dropped = Cell::new(false);
    let out = lp.run_until_complete(async {
        let _flag = DropFlag(&dropped);
        assert!(tulipa::current_task().unwrap().cancel());
        tulipa::sleep(Duration::from_secs(1)).await;
        "unreachable"
    });
    assert!(matches!(out, Err(RunError::Cancelled)), "{out:?}");
    assert!(dropped.get());
}

#[test]
fn main_task_cancelled_then_returning_ends_cancelled() {
    // asyncio's `test_cancel_at_end` for the main task.
    let lp = EventLoop::new().unwrap();
    let out = lp.run_until_complete(async {
        tulipa::current_task().unwrap().cancel();
        7
    });
    assert!(matches!(out, Err(RunError::Cancelled)));
}

#[test]
fn main_task_woken_from_another_thread() {
    let lp = EventLoop::new().unwrap();
    let done = watchdog(&lp);
    let ready = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = ready.clone();
    let mut waker_sent = false;
    let out = lp.run_until_complete(poll_fn(|cx| {
        if seen.load(std::sync::atomic::Ordering::SeqCst) {
            return Poll::Ready("woken");
        }
        if !waker_sent {
            waker_sent = true;
            let waker = cx.waker().clone();
            let flag = ready.clone();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(10));
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                waker.wake();
            });
        }
        Poll::Pending
    }));
    drop(done);
    assert_eq!(out.unwrap(), "woken");
}

#[test]
fn main_task_wakers_and_handles_outliving_the_run_are_harmless() {
    let lp = EventLoop::new().unwrap();
    let kept: RefCell<Option<Waker>> = RefCell::new(None);
    let current = RefCell::new(None);
    let borrowed = String::from("on the stack");
    let n = lp
        .run_until_complete(poll_fn(|cx| {
            *kept.borrow_mut() = Some(cx.waker().clone());
            *current.borrow_mut() = tulipa::current_task();
            Poll::Ready(borrowed.len())
        }))
        .unwrap();
    assert_eq!(n, 12);
    let waker = kept.take().unwrap();
    let me = current.take().unwrap();
    // A wake after the run, on the loop's thread with the loop running...
    let again = waker.clone();
    lp.run_until_complete(async move {
        again.wake();
        tulipa::yield_now().await;
    })
    .unwrap();
    // ... and from another thread, and a cancel of the finished task.
    let off = waker.clone();
    thread::spawn(move || off.wake()).join().unwrap();
    lp.run_once().unwrap();
    assert!(!me.cancel(), "finished already");
    assert_eq!(me.name.as_deref(), Some("main"));
    drop(waker);
    lp.close().unwrap();
    drop(me);
}

#[test]
fn main_task_waker_dropped_on_another_thread_after_close() {
    let lp = EventLoop::new().unwrap();
    let kept = Rc::new(RefCell::new(None));
    let slot = kept.clone();
    lp.run_until_complete(poll_fn(move |cx| {
        *slot.borrow_mut() = Some(cx.waker().clone());
        Poll::Ready(())
    }))
    .unwrap();
    lp.close().unwrap();
    let waker: Waker = kept.borrow_mut().take().unwrap();
    // The last reference to the block goes on another thread.
    thread::spawn(move || {
        waker.wake_by_ref();
        drop(waker);
    })
    .join()
    .unwrap();
}
