//! Who drops what, and where, when a task's references are spread over
//! threads: a waker sent to another thread may hold the last reference to a
//! task block, but the task's (`!Send`) future and output must still be
//! dropped on the loop's thread, exactly once, and the block freed exactly
//! once. Wakes posted to a loop that has closed, or still queued in its
//! inbox when it closes, give their reference back. Panicking `poll` and
//! `Drop` leave nothing to be dropped twice.
//!
//! Run these under valgrind too: a leaked or doubly freed block shows there.
#![cfg(not(loom))]

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Waker};
use std::thread::{self, ThreadId};

use tulipa::EventLoop;

/// `!Send` (it holds an `Rc`): records the thread it is dropped on.
struct ThreadGuard {
    dropped_on: Rc<Cell<Option<ThreadId>>>,
    drops: Rc<Cell<u32>>,
}

/// Where the guard was dropped, and how many times.
type DropRecord = (Rc<Cell<Option<ThreadId>>>, Rc<Cell<u32>>);

impl ThreadGuard {
    fn new() -> (ThreadGuard, DropRecord) {
        let dropped_on = Rc::new(Cell::new(None));
        let drops = Rc::new(Cell::new(0));
        let guard = ThreadGuard {
            dropped_on: dropped_on.clone(),
            drops: drops.clone(),
        };
        (guard, (dropped_on, drops))
    }
}

impl Drop for ThreadGuard {
    fn drop(&mut self) {
        self.dropped_on.set(Some(thread::current().id()));
        self.drops.set(self.drops.get() + 1);
    }
}

/// Lets the loop run a few turns, so tasks spawned before it take a step.
async fn yield_turns(turns: u32) {
    let mut left = turns;
    poll_fn(move |cx| {
        if left == 0 {
            return Poll::Ready(());
        }
        left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}

/// Spawns a task that holds a [`ThreadGuard`] and waits forever, runs the
/// loop until the task has handed out its waker, and returns the task, the
/// guard's record and that waker.
fn waiting_task(lp: &EventLoop) -> (tulipa::Task<()>, DropRecord, Waker) {
    let (guard, record) = ThreadGuard::new();
    let (tx, rx) = mpsc::channel();
    let task = lp.spawn(async move {
        let _guard = guard;
        wait_and_send(tx).await;
    });
    lp.run_until_complete(yield_turns(3)).unwrap();
    let waker = rx.try_recv().expect("the task waited and sent its waker");
    (task, record, waker)
}

/// Pending forever; hands a clone of its waker out at its first poll.
async fn wait_and_send(tx: mpsc::Sender<Waker>) {
    let mut sent = false;
    poll_fn(move |cx| {
        if !sent {
            sent = true;
            tx.send(cx.waker().clone()).unwrap();
        }
        Poll::<()>::Pending
    })
    .await
}

#[test]
fn remote_waker_is_last_reference_after_close_future_dropped_on_loop_thread() {
    let lp = EventLoop::new().unwrap();
    let (task, (dropped_on, drops), waker) = waiting_task(&lp);
    let second = waker.clone();
    drop(task);
    lp.close().unwrap();
    assert_eq!(drops.get(), 1, "close dropped the future");
    assert_eq!(dropped_on.get(), Some(thread::current().id()));
    // The other thread now holds the only references: its wakes are
    // refused by the closed loop and the last drop frees the block there.
    thread::spawn(move || {
        waker.wake_by_ref();
        waker.wake();
        second.wake_by_ref();
        drop(second);
    })
    .join()
    .unwrap();
    drop(lp);
    assert_eq!(drops.get(), 1, "the future is dropped exactly once");
}

#[test]
fn remote_waker_is_last_reference_output_dropped_on_loop_thread_by_handle() {
    let lp = EventLoop::new().unwrap();
    let (guard, (dropped_on, drops)) = ThreadGuard::new();
    let (tx, rx) = mpsc::channel();
    let task = lp.spawn(async move {
        poll_fn(|cx| {
            tx.send(cx.waker().clone()).unwrap();
            Poll::Ready(())
        })
        .await;
        guard // a `!Send` output
    });
    lp.run_until_complete(yield_turns(3)).unwrap();
    assert!(task.is_done());
    let waker = rx.try_recv().unwrap();
    // The handle goes with the output still in the block: it is dropped here.
    drop(task);
    assert_eq!(drops.get(), 1);
    assert_eq!(dropped_on.get(), Some(thread::current().id()));
    thread::spawn(move || {
        waker.wake_by_ref();
        drop(waker);
    })
    .join()
    .unwrap();
    lp.close().unwrap();
    assert_eq!(drops.get(), 1);
}

#[test]
fn remote_waker_is_last_reference_detached_output_dropped_on_loop_thread() {
    let lp = EventLoop::new().unwrap();
    let (guard, (dropped_on, drops)) = ThreadGuard::new();
    let (tx, rx) = mpsc::channel();
    let task = lp.spawn(async move {
        yield_turns(1).await;
        poll_fn(|cx| {
            tx.send(cx.waker().clone()).unwrap();
            Poll::Ready(())
        })
        .await;
        guard
    });
    // Detached before it finishes: the loop drops the output at the end.
    drop(task);
    lp.run_until_complete(yield_turns(4)).unwrap();
    assert_eq!(drops.get(), 1);
    assert_eq!(dropped_on.get(), Some(thread::current().id()));
    let waker = rx.try_recv().unwrap();
    thread::spawn(move || waker.wake()).join().unwrap();
    lp.close().unwrap();
}

#[test]
fn wakes_queued_in_inbox_at_close_are_released() {
    let lp = EventLoop::new().unwrap();
    let (task, (dropped_on, drops), waker) = waiting_task(&lp);
    // Posted while the loop is not running: they wait in the inbox.
    thread::spawn(move || {
        for _ in 0..3 {
            waker.wake_by_ref();
        }
        waker.wake();
    })
    .join()
    .unwrap();
    lp.close().unwrap();
    assert!(task.is_done() && task.is_cancelled());
    assert_eq!(drops.get(), 1);
    assert_eq!(dropped_on.get(), Some(thread::current().id()));
    drop(task);
    drop(lp);
}

#[test]
fn wake_from_another_thread_while_loop_runs_resumes_task() {
    let lp = EventLoop::new().unwrap();
    let (tx, rx) = mpsc::channel::<Waker>();
    let task = lp.spawn(async move {
        let mut woken = false;
        poll_fn(move |cx| {
            if woken {
                return Poll::Ready(7);
            }
            woken = true;
            let waker = cx.waker().clone();
            thread::spawn(move || waker.wake());
            Poll::Pending
        })
        .await
    });
    drop(tx);
    drop(rx);
    assert_eq!(lp.run_until_complete(task).unwrap().unwrap(), 7);
}

/// Panics in `poll`, and again in `Drop`, which counts its runs.
struct PanicsTwice {
    drops: Arc<AtomicUsize>,
    poll_panics: bool,
}

impl Future for PanicsTwice {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.poll_panics {
            panic!("poll panicked");
        }
        Poll::Pending
    }
}

impl Drop for PanicsTwice {
    fn drop(&mut self) {
        // ORDERING: a test counter read on this same thread.
        self.drops.fetch_add(1, Ordering::Relaxed);
        if !thread::panicking() {
            panic!("drop panicked");
        }
    }
}

#[test]
fn panicking_poll_then_panicking_drop_drops_future_once() {
    let lp = EventLoop::new().unwrap();
    lp.set_exception_handler(Some(|_: &tulipa::ExceptionContext| {}));
    let drops = Arc::new(AtomicUsize::new(0));
    let task = lp.spawn(PanicsTwice {
        drops: drops.clone(),
        poll_panics: true,
    });
    let out = lp.run_until_complete(task).unwrap();
    assert!(matches!(out.unwrap_err(), tulipa::TaskError::Panicked(_)));
    assert_eq!(drops.load(Ordering::Relaxed), 1);
    lp.close().unwrap();
    assert_eq!(drops.load(Ordering::Relaxed), 1);
}

#[test]
fn panicking_drop_on_cancel_and_on_close_drops_future_once() {
    let lp = EventLoop::new().unwrap();
    lp.set_exception_handler(Some(|_: &tulipa::ExceptionContext| {}));
    let cancelled = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(AtomicUsize::new(0));
    let task = lp.spawn(PanicsTwice {
        drops: cancelled.clone(),
        poll_panics: false,
    });
    let left = lp.spawn(PanicsTwice {
        drops: closed.clone(),
        poll_panics: false,
    });
    lp.run_until_complete(yield_turns(2)).unwrap();
    assert!(task.cancel());
    let out = lp.run_until_complete(task).unwrap();
    assert!(out.is_err());
    assert_eq!(cancelled.load(Ordering::Relaxed), 1);
    // Close drops the other one; its panic does not escape close.
    let closing = catch_unwind(AssertUnwindSafe(|| lp.close()));
    assert!(
        closing.is_ok(),
        "a panicking Drop does not unwind out of close"
    );
    assert_eq!(closed.load(Ordering::Relaxed), 1);
    drop(left);
    drop(lp);
    assert_eq!(closed.load(Ordering::Relaxed), 1);
}

#[test]
fn remote_spawn_refused_or_queued_at_close_drops_future_once() {
    let lp = EventLoop::new().unwrap();
    let handle = lp.handle();
    let queued = Arc::new(AtomicUsize::new(0));
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            // ORDERING: the test reads it after joining or on this thread.
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let counted = Counted(queued.clone());
    let poster = handle.clone();
    let remote = thread::spawn(move || {
        poster
            .spawn_threadsafe(async move {
                let _counted = counted;
                std::future::pending::<()>().await
            })
            .unwrap()
    })
    .join()
    .unwrap();
    // Never run: the loop closes with the spawn still in its inbox.
    lp.close().unwrap();
    assert_eq!(queued.load(Ordering::Relaxed), 1);
    drop(remote);
    let refused = Arc::new(AtomicUsize::new(0));
    let counted = Counted(refused.clone());
    let result = thread::spawn(move || {
        handle
            .spawn_threadsafe(async move {
                let _counted = counted;
            })
            .is_err()
    })
    .join()
    .unwrap();
    assert!(result, "a closed loop refuses the spawn");
    assert_eq!(refused.load(Ordering::Relaxed), 1);
}

/// Spawns a task that counts its polls and waits forever, runs the loop
/// until it has handed out its waker, and returns the counter and waker.
fn counting_task(lp: &EventLoop) -> (tulipa::Task<()>, Rc<Cell<u32>>, Waker) {
    let polls = Rc::new(Cell::new(0));
    let (tx, rx) = mpsc::channel();
    let task = lp.spawn({
        let polls = polls.clone();
        poll_fn(move |cx| {
            polls.set(polls.get() + 1);
            if polls.get() == 1 {
                tx.send(cx.waker().clone()).unwrap();
            }
            Poll::<()>::Pending
        })
    });
    lp.run_until_complete(yield_turns(3)).unwrap();
    let waker = rx.try_recv().expect("the task waited and sent its waker");
    (task, polls, waker)
}

#[test]
fn a_wake_on_the_thread_of_a_task_whose_loop_is_not_running_reaches_its_own_loop() {
    let a = EventLoop::new().unwrap();
    let b = EventLoop::new().unwrap();
    let (task, polls, waker) = counting_task(&b);
    assert_eq!(polls.get(), 1);
    // While loop A runs on this thread, a wake of B's task must not make A
    // poll it: it waits in B's inbox (with the other wake, by value).
    a.run_until_complete(async {
        let by_value = waker.clone();
        waker.wake_by_ref();
        by_value.wake();
        yield_turns(3).await;
    })
    .unwrap();
    assert_eq!(polls.get(), 1, "loop A never polls loop B's task");
    // B runs it once for both wakes (a scheduled task is queued once).
    b.run_until_complete(yield_turns(3)).unwrap();
    assert_eq!(polls.get(), 2, "loop B ran its woken task");
    // With no loop running on the thread, a wake goes to the inbox too.
    waker.wake_by_ref();
    assert_eq!(polls.get(), 2);
    b.run_until_complete(yield_turns(3)).unwrap();
    assert_eq!(polls.get(), 3);
    // Once B has closed, its task's wakes are refused and drop nothing twice.
    task.cancel();
    b.close().unwrap();
    waker.wake();
    a.close().unwrap();
    assert_eq!(polls.get(), 3);
}
