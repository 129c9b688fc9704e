//! The primitives' hand-offs between threads, modelled with loom: under
//! `cfg(loom)` each primitive's mutex and the threads' park / unpark come
//! from loom (see `crate::loom_shim`), so loom runs every interleaving of
//! the threads below. A lost wake-up leaves a thread parked forever, which
//! loom reports as a deadlock; a broken exclusion or a lost or doubled
//! permit fails an assertion.
//!
//! The counters are loom atomics read and written with `Relaxed` in two
//! steps (load, then store): two threads inside at once could both read the
//! same value, and without the primitive's hand-off ordering the two
//! accesses a thread makes would not see the other thread's; loom checks
//! both.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use loom::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use loom::sync::Arc;
use loom::thread;

use super::blocking::block_on;
use super::{Event, Lock, Semaphore};

/// A critical section that a second thread inside at once would spoil.
fn bump(count: &AtomicUsize) {
    let seen = count.load(Relaxed);
    count.store(seen + 1, Relaxed);
}

/// This thread and another each run `critical` once, which enters the
/// primitive and [`bump`]s the counter; both must have bumped it.
fn two_threads_take_turns<P>(primitive: Arc<P>, critical: fn(&P, &AtomicUsize))
where
    P: Send + Sync + 'static,
{
    let count = Arc::new(AtomicUsize::new(0));
    let other = {
        let (primitive, count) = (primitive.clone(), count.clone());
        thread::spawn(move || critical(&primitive, &count))
    };
    critical(&primitive, &count);
    other.join().unwrap();
    assert_eq!(count.load(Relaxed), 2, "both were inside at once");
}

/// Polls `future` once, with a waker that does nothing, then drops it: a
/// task's waiter that is cancelled while it waits.
fn poll_once_then_cancel<F: Future>(future: F) -> Poll<F::Output> {
    let mut future = pin!(future);
    future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn loom_lock_handed_between_two_threads_excludes_and_wakes() {
    loom::model(|| {
        let lock = Arc::new(Lock::new());
        two_threads_take_turns(lock.clone(), |lock, count| {
            let _guard = lock.lock_blocking().unwrap();
            bump(count);
        });
        assert!(!lock.is_locked());
    });
}

#[test]
fn loom_lock_cancelled_waiter_passes_the_lock_to_a_blocked_thread() {
    // A task's waiter queues, then is dropped while the unlock may already
    // have handed it the lock: the blocked thread must still get it.
    loom::model(|| {
        let lock = Arc::new(Lock::new());
        let guard = lock.try_lock().unwrap();
        let cancelled = {
            let lock = lock.clone();
            // Had it taken the lock on its first poll, its guard unlocks.
            thread::spawn(move || drop(poll_once_then_cancel(lock.lock())))
        };
        let blocked = {
            let lock = lock.clone();
            thread::spawn(move || drop(lock.lock_blocking().unwrap()))
        };
        drop(guard);
        blocked.join().unwrap();
        cancelled.join().unwrap();
        assert!(!lock.is_locked(), "the lock was stranded");
    });
}

#[test]
fn loom_semaphore_permit_handed_between_two_threads() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(1));
        two_threads_take_turns(sem.clone(), |sem, count| {
            let _permit = sem.acquire_blocking().unwrap();
            bump(count);
        });
        assert_eq!(sem.available(), 1, "a permit was lost or doubled");
    });
}

#[test]
fn loom_semaphore_release_from_another_thread_wakes_a_blocked_acquire() {
    // asyncio's signalling idiom: a semaphore created with no permits.
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let releaser = {
            let sem = sem.clone();
            thread::spawn(move || sem.release())
        };
        sem.acquire_blocking().unwrap().forget();
        releaser.join().unwrap();
        assert_eq!(sem.available(), 0);
    });
}

#[test]
fn loom_semaphore_cancelled_waiter_gives_its_permit_to_a_blocked_thread() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let cancelled = {
            let sem = sem.clone();
            thread::spawn(move || match poll_once_then_cancel(sem.acquire()) {
                // Took the permit on its first poll: it was given back.
                Poll::Ready(permit) => drop(permit),
                Poll::Pending => {}
            })
        };
        let blocked = {
            let sem = sem.clone();
            thread::spawn(move || sem.acquire_blocking().unwrap().forget())
        };
        sem.release();
        blocked.join().unwrap();
        cancelled.join().unwrap();
        assert_eq!(
            sem.available(),
            0,
            "the blocked thread holds the only permit"
        );
    });
}

#[test]
fn loom_event_set_from_another_thread_wakes_a_waiter() {
    loom::model(|| {
        let event = Arc::new(Event::new());
        let setter = {
            let event = event.clone();
            thread::spawn(move || event.set())
        };
        block_on(event.wait());
        assert!(event.is_set());
        setter.join().unwrap();
    });
}

#[test]
fn loom_event_set_wakes_two_waiting_threads() {
    loom::model(|| {
        let event = Arc::new(Event::new());
        let waiter = {
            let event = event.clone();
            thread::spawn(move || block_on(event.wait()))
        };
        let setter = {
            let event = event.clone();
            thread::spawn(move || event.set())
        };
        block_on(event.wait());
        waiter.join().unwrap();
        setter.join().unwrap();
    });
}
