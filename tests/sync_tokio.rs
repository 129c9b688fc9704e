//! The primitives need only a Waker: they run unchanged inside tokio's
//! current_thread runtime, and one primitive can even be shared between a
//! tokio runtime and a tulipa loop on two threads.
#![cfg(not(loom))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tulipa::sync::{Barrier, Condition, Event, Lock, Semaphore};

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

#[test]
fn primitives_work_inside_a_tokio_current_thread_runtime() {
    current_thread().block_on(async {
        let lock = Arc::new(Lock::new());
        let sem = Arc::new(Semaphore::new(2));
        let start = Arc::new(Event::new());
        let barrier = Arc::new(Barrier::new(4));
        let cond = Arc::new(Condition::new());
        let inside = Arc::new(AtomicUsize::new(0));
        let order = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let done = Arc::new(AtomicUsize::new(0));

        let mut handles = Vec::new();
        for i in 0..4 {
            let (lock, sem, start, barrier, cond, inside, order, done) = (
                lock.clone(),
                sem.clone(),
                start.clone(),
                barrier.clone(),
                cond.clone(),
                inside.clone(),
                order.clone(),
                done.clone(),
            );
            // tokio::spawn demands Send futures: the primitives' futures are.
            handles.push(tokio::spawn(async move {
                start.wait().await;
                {
                    let _g = lock.lock().await;
                    order.lock().push(i);
                    tokio::task::yield_now().await;
                }
                {
                    let _p = sem.acquire().await;
                    assert!(inside.fetch_add(1, Ordering::SeqCst) < 2);
                    tokio::task::yield_now().await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                }
                let index = barrier.wait().await.unwrap();
                let guard = cond.lock().await;
                done.fetch_add(1, Ordering::SeqCst);
                cond.notify_all();
                drop(guard);
                index
            }));
        }
        tokio::task::yield_now().await;
        start.set();
        let guard = cond.lock().await;
        let guard = cond
            .wait_for(guard, || done.load(Ordering::SeqCst) == 4)
            .await;
        drop(guard);
        let mut indexes = Vec::new();
        for h in handles {
            indexes.push(h.await.unwrap());
        }
        indexes.sort();
        assert_eq!(indexes, [0, 1, 2, 3]);
        assert_eq!(*order.lock(), [0, 1, 2, 3], "FIFO under tokio too");
        assert!(!lock.is_locked());
        assert_eq!(sem.available(), 2);
    });
}

#[test]
fn one_lock_shared_by_a_tokio_runtime_and_a_tulipa_loop() {
    const ROUNDS: usize = 500;
    let lock = Arc::new(Lock::new());
    let counter = Arc::new(AtomicUsize::new(0));
    let body = |lock: Arc<Lock>, counter: Arc<AtomicUsize>| async move {
        for _ in 0..ROUNDS {
            let _g = lock.lock().await;
            // A read-modify-write split by a suspension: only exclusion
            // keeps it from losing increments.
            let v = counter.load(Ordering::Relaxed);
            tulipa_or_tokio_yield().await;
            counter.store(v + 1, Ordering::Relaxed);
        }
    };
    let tokio_side = {
        let fut = body(lock.clone(), counter.clone());
        std::thread::spawn(move || current_thread().block_on(fut))
    };
    let tulipa_side = {
        let fut = body(lock.clone(), counter.clone());
        std::thread::spawn(move || tulipa::EventLoop::new().unwrap().run(fut).unwrap())
    };
    tokio_side.join().unwrap();
    tulipa_side.join().unwrap();
    assert_eq!(counter.load(Ordering::SeqCst), 2 * ROUNDS);
    assert!(!lock.is_locked());
}

/// A runtime-neutral yield: wake ourselves once.
fn tulipa_or_tokio_yield() -> impl std::future::Future<Output = ()> {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            return std::task::Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
}
