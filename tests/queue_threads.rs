//! Plain OS threads and loop tasks on one queue: `put_blocking` /
//! `get_blocking` (+ timeouts), and stress tests that hang-proof themselves
//! with timeouts so a lost wake-up fails instead of hanging.
#![cfg(not(loom))]

use std::collections::HashSet;
use std::thread;
use std::time::Duration;

use tulipa::{EventLoop, GetError, Queue, TryGetError};

const THREADS: u64 = 4;
const PER_THREAD: u64 = 5_000;
/// Generous: only a lost wake-up gets near it.
const PATIENCE: Duration = Duration::from_secs(20);

/// Runs `future` on `lp`; if it has not finished after [`PATIENCE`] (a lost
/// wake-up), a timer stops the loop and the test fails instead of hanging.
fn run_patiently<F: std::future::Future>(lp: &EventLoop, future: F) -> F::Output {
    let handle = lp.handle();
    let watchdog = lp.call_later(PATIENCE, move || handle.stop().unwrap());
    let out = lp
        .run_until_complete(future)
        .expect("lost wake-up: the loop made no progress");
    watchdog.cancel();
    out
}

fn assert_each_exactly_once(mut got: Vec<u64>, n: u64) {
    got.sort_unstable();
    assert_eq!(got.len() as u64, n, "items lost or duplicated");
    assert!(got.iter().copied().eq(0..n), "items lost or duplicated");
}

#[test]
fn four_threads_put_blocking_into_loop_consumers() {
    let lp = EventLoop::new().unwrap();
    let q = Queue::new(16);
    let producers: Vec<_> = (0..THREADS)
        .map(|t| {
            let q = q.clone();
            thread::spawn(move || {
                for i in 0..PER_THREAD {
                    q.put_blocking(t * PER_THREAD + i).unwrap();
                }
            })
        })
        .collect();
    let closer = thread::spawn({
        let q = q.clone();
        move || {
            for p in producers {
                p.join().unwrap();
            }
            q.shutdown(false);
        }
    });
    let got = run_patiently(&lp, async {
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                let q = q.clone();
                tulipa::spawn(async move {
                    let mut got = Vec::new();
                    while let Ok(v) = q.get().await {
                        got.push(v);
                    }
                    got
                })
            })
            .collect();
        let mut all = Vec::new();
        for c in consumers {
            all.extend(c.await.unwrap());
        }
        all
    });
    closer.join().unwrap();
    assert_each_exactly_once(got, THREADS * PER_THREAD);
}

#[test]
fn loop_producers_into_four_threads_get_blocking() {
    let lp = EventLoop::new().unwrap();
    let q = Queue::new(16);
    let consumers: Vec<_> = (0..THREADS)
        .map(|_| {
            let q = q.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                loop {
                    match q.get_blocking_timeout(PATIENCE) {
                        Ok(v) => got.push(v),
                        Err(TryGetError::ShutDown) => return got,
                        Err(TryGetError::Empty) => panic!("lost wake-up: a getter starved"),
                    }
                }
            })
        })
        .collect();
    run_patiently(&lp, async {
        let producers: Vec<_> = (0..2)
            .map(|p| {
                let q = q.clone();
                tulipa::spawn(async move {
                    for i in 0..THREADS * PER_THREAD / 2 {
                        q.put(p * THREADS * PER_THREAD / 2 + i).await.unwrap();
                    }
                })
            })
            .collect();
        for p in producers {
            p.await.unwrap();
        }
        q.shutdown(false);
    });
    let mut all = Vec::new();
    for c in consumers {
        all.extend(c.join().unwrap());
    }
    assert_each_exactly_once(all, THREADS * PER_THREAD);
}

#[test]
fn thread_ping_pong_stress_loses_no_wakeup() {
    let (a, b) = (Queue::new(1), Queue::new(1));
    let echo = thread::spawn({
        let (a, b) = (a.clone(), b.clone());
        move || {
            while let Ok(v) = a.get_blocking_timeout(PATIENCE) {
                b.put_blocking(v).unwrap();
            }
        }
    });
    for i in 0..20_000u32 {
        a.put_blocking(i).unwrap();
        assert_eq!(b.get_blocking_timeout(PATIENCE), Ok(i));
    }
    a.shutdown(false);
    echo.join().unwrap();
}

#[test]
fn timed_out_getters_racing_puts_lose_no_item() {
    // Getters give up after tiny timeouts while items arrive: a wake-up
    // taken by a getter that times out must reach another getter.
    let q = Queue::unbounded();
    let n = 20_000u64;
    let getters: Vec<_> = (0..3)
        .map(|_| {
            let q = q.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                loop {
                    match q.get_blocking_timeout(Duration::from_micros(50)) {
                        Ok(v) => got.push(v),
                        Err(TryGetError::Empty) => {}
                        Err(TryGetError::ShutDown) => return got,
                    }
                }
            })
        })
        .collect();
    for i in 0..n {
        q.try_put(i).unwrap();
        if i % 64 == 0 {
            thread::yield_now();
        }
    }
    q.shutdown(false);
    let mut all = Vec::new();
    for g in getters {
        all.extend(g.join().unwrap());
    }
    assert_each_exactly_once(all, n);
}

#[test]
fn get_blocking_timeout_on_empty_queue_leaves_the_line() {
    let q = Queue::<u8>::unbounded();
    assert_eq!(
        q.get_blocking_timeout(Duration::from_millis(5)),
        Err(TryGetError::Empty)
    );
    assert!(format!("{q:?}").contains("getters: 0"));
}

#[test]
fn put_blocking_timeout_on_full_queue_gives_the_item_back() {
    let q = Queue::new(1);
    q.try_put(1).unwrap();
    let err = q
        .put_blocking_timeout(2, Duration::from_millis(5))
        .unwrap_err();
    assert!(err.is_full());
    assert_eq!(err.into_inner(), 2);
    assert!(format!("{q:?}").contains("putters: 0"));
}

#[test]
fn blocked_thread_is_woken_by_shutdown() {
    let q = Queue::<u8>::unbounded();
    let getter = thread::spawn({
        let q = q.clone();
        move || q.get_blocking()
    });
    while !format!("{q:?}").contains("getters: 1") {
        thread::yield_now();
    }
    q.shutdown(false);
    assert_eq!(getter.join().unwrap(), Err(GetError::ShutDown));
}

#[test]
fn blocked_thread_waits_in_the_same_line_as_tasks() {
    let lp = EventLoop::new().unwrap();
    let q = Queue::unbounded();
    lp.run_until_complete(async {
        let task = tulipa::spawn({
            let q = q.clone();
            async move { q.get().await.unwrap() }
        });
        tulipa::yield_now().await; // the task is first in line
        let thread = thread::spawn({
            let q = q.clone();
            move || q.get_blocking().unwrap()
        });
        while !format!("{q:?}").contains("getters: 2") {
            std::thread::yield_now();
        }
        q.try_put("first").unwrap();
        assert_eq!(task.await.unwrap(), "first");
        q.try_put("second").unwrap();
        assert_eq!(thread.join().unwrap(), "second");
    })
    .unwrap();
}

#[test]
#[should_panic(expected = "would block the event loop")]
fn get_blocking_on_the_loop_thread_panics() {
    let lp = EventLoop::new().unwrap();
    let q = Queue::<u8>::unbounded();
    lp.run_until_complete(async { q.get_blocking() })
        .unwrap()
        .ok();
}

#[test]
fn queues_from_many_threads_deliver_every_item_once() {
    // Mixed: 2 threads put, 2 threads get, a loop task puts then gets; a
    // closer thread shuts down once every producer is done, and every
    // consumer drains until the shutdown.
    let q = Queue::new(8);
    let n = 4_000u64;
    let putters: Vec<_> = (0..2)
        .map(|t| {
            let q = q.clone();
            thread::spawn(move || (0..n).for_each(|i| q.put_blocking(t * n + i).unwrap()))
        })
        .collect();
    let getters: Vec<_> = (0..2)
        .map(|_| {
            let q = q.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                loop {
                    match q.get_blocking_timeout(PATIENCE) {
                        Ok(v) => got.push(v),
                        Err(TryGetError::ShutDown) => return got,
                        Err(TryGetError::Empty) => panic!("lost wake-up: a getter starved"),
                    }
                }
            })
        })
        .collect();
    let (loop_put_all, all_put) = std::sync::mpsc::channel();
    let closer = thread::spawn({
        let q = q.clone();
        move || {
            for p in putters {
                p.join().unwrap();
            }
            all_put.recv().unwrap();
            q.shutdown(false);
        }
    });
    let lp = EventLoop::new().unwrap();
    let mut all = run_patiently(&lp, async {
        for i in 0..n {
            q.put(2 * n + i).await.unwrap();
        }
        loop_put_all.send(()).unwrap();
        let mut mine = Vec::new();
        while let Ok(v) = q.get().await {
            mine.push(v);
        }
        mine
    });
    closer.join().unwrap();
    for g in getters {
        all.extend(g.join().unwrap());
    }
    let unique: HashSet<_> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len());
    assert_each_exactly_once(all, 3 * n);
}
