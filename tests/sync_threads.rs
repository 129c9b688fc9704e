//! Cross-thread stress: several threads, each running its own tulipa loop,
//! share one primitive through an `Arc`. A lost wake-up shows up as a task
//! that never finishes; a watchdog turns that into a failure instead of a
//! hang.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use tulipa::sync::{Condition, Event, Lock, Semaphore};
use tulipa::{spawn, yield_now, EventLoop};

const THREADS: usize = 4;
const TASKS: usize = 4;
const ROUNDS: usize = 2_000;

/// Runs `make(thread, task)` as TASKS tasks on a loop in each of THREADS
/// threads; fails if they are not all done within 60 s.
fn on_threads<F, Fut>(make: F)
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let make = Arc::new(make);
    let (done_tx, done_rx) = mpsc::channel();
    for thread in 0..THREADS {
        let (make, done_tx) = (make.clone(), done_tx.clone());
        std::thread::spawn(move || {
            EventLoop::new()
                .unwrap()
                .run(async move {
                    let tasks: Vec<_> = (0..TASKS).map(|t| spawn(make(thread, t))).collect();
                    for task in tasks {
                        task.await.unwrap();
                    }
                })
                .unwrap();
            done_tx.send(()).unwrap();
        });
    }
    for _ in 0..THREADS {
        done_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("a loop never finished: lost wake-up");
    }
}

#[test]
fn lock_across_loops_on_threads_keeps_exclusion_and_loses_no_wakeup() {
    let lock = Arc::new(Lock::new());
    let counter = Arc::new(AtomicUsize::new(0));
    let (l, c) = (lock.clone(), counter.clone());
    on_threads(move |_, _| {
        let (lock, counter) = (l.clone(), c.clone());
        async move {
            for _ in 0..ROUNDS {
                let _g = lock.lock().await;
                let v = counter.load(Ordering::Relaxed);
                yield_now().await;
                counter.store(v + 1, Ordering::Relaxed);
            }
        }
    });
    assert_eq!(counter.load(Ordering::SeqCst), THREADS * TASKS * ROUNDS);
    assert!(!lock.is_locked());
}

#[test]
fn semaphore_across_loops_on_threads_bounds_holders_and_loses_no_permit() {
    let sem = Arc::new(Semaphore::new(3));
    let inside = Arc::new(AtomicUsize::new(0));
    let (s, i) = (sem.clone(), inside.clone());
    on_threads(move |_, _| {
        let (sem, inside) = (s.clone(), i.clone());
        async move {
            for _ in 0..ROUNDS {
                let _p = sem.acquire().await;
                assert!(inside.fetch_add(1, Ordering::SeqCst) < 3);
                yield_now().await;
                inside.fetch_sub(1, Ordering::SeqCst);
            }
        }
    });
    assert_eq!(sem.available(), 3);
}

#[test]
fn condition_and_event_across_loops_on_threads_lose_no_notify() {
    // Thread 0's tasks produce; everyone else consumes. Each consumer takes
    // exactly ROUNDS items; the event starts everyone at once.
    let cond = Arc::new(Condition::new());
    let start = Arc::new(Event::new());
    let items = Arc::new(AtomicUsize::new(0));
    let consumers = (THREADS - 1) * TASKS;
    let producers = TASKS;
    let per_producer = consumers * ROUNDS / producers;
    let (c, s, it) = (cond.clone(), start.clone(), items.clone());
    let starter = {
        let start = start.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            start.set();
        })
    };
    on_threads(move |thread, _| {
        let (cond, start, items) = (c.clone(), s.clone(), it.clone());
        async move {
            start.wait().await;
            if thread == 0 {
                for _ in 0..per_producer {
                    let _g = cond.lock().await;
                    items.fetch_add(1, Ordering::SeqCst);
                    cond.notify(1);
                }
            } else {
                for _ in 0..ROUNDS {
                    let g = cond.lock().await;
                    let _g = cond.wait_for(g, || items.load(Ordering::SeqCst) > 0).await;
                    items.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
    });
    starter.join().unwrap();
    assert_eq!(items.load(Ordering::SeqCst), 0);
}
