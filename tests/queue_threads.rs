//! Plain OS threads and loop tasks on one queue: `put_blocking` /
//! `get_blocking` (+ timeouts), and stress tests that hang-proof themselves
//! with timeouts so a lost wake-up fails instead of hanging.
#![cfg(not(loom))]

use std::collections::HashSet;
use std::thread;
use std::time::Duration;

use tulipa::{
    BlockingGetError, BlockingPutError, EventLoop, GetTimeoutError, LifoQueue, PriorityQueue,
    PutTimeoutError, Queue,
};

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
                        Err(GetTimeoutError::ShutDown) => return got,
                        Err(GetTimeoutError::OnLoopThread) => {
                            unreachable!("no loop on this thread")
                        }
                        Err(GetTimeoutError::TimedOut) => panic!("lost wake-up: a getter starved"),
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
                        Err(GetTimeoutError::TimedOut) => {}
                        Err(GetTimeoutError::ShutDown) => return got,
                        Err(GetTimeoutError::OnLoopThread) => {
                            unreachable!("no loop on this thread")
                        }
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
        Err(GetTimeoutError::TimedOut)
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
    assert!(err.is_timed_out());
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
    assert_eq!(getter.join().unwrap(), Err(BlockingGetError::ShutDown));
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

/// Runs the four blocking calls on `$q` (a queue of `u8` holding exactly
/// `[1]`, `maxsize` 2: neither call would have to wait) on the current
/// thread: `refused` asserts each is refused with `OnLoopThread` and the
/// queue is left unchanged; `work` asserts they behave as usual.
macro_rules! four_blocking_calls {
    ($q:expr, refused) => {{
        let q = &$q;
        let short = Duration::from_millis(5);
        let err = q.put_blocking(7).unwrap_err();
        assert!(err.is_on_loop_thread() && !err.is_shutdown());
        assert!(matches!(err, BlockingPutError::OnLoopThread(7)));
        assert_eq!(err.into_inner(), 7, "put_blocking gives the item back");
        let err = q.put_blocking_timeout(8, short).unwrap_err();
        assert!(err.is_on_loop_thread() && !err.is_timed_out() && !err.is_shutdown());
        assert_eq!(
            err.into_inner(),
            8,
            "put_blocking_timeout gives the item back"
        );
        assert_eq!(q.get_blocking(), Err(BlockingGetError::OnLoopThread));
        assert_eq!(
            q.get_blocking_timeout(short),
            Err(GetTimeoutError::OnLoopThread)
        );
        // Nothing was put, nothing taken, nobody left waiting in a line.
        assert_eq!(q.len(), 1);
        let dbg = format!("{q:?}");
        assert!(
            dbg.contains("getters: 0") && dbg.contains("putters: 0"),
            "{dbg}"
        );
        assert!(dbg.contains("unfinished: 1"), "{dbg}");
        assert_eq!(q.try_get(), Ok(1));
    }};
    ($q:expr, work) => {{
        let q = &$q;
        let short = Duration::from_millis(5);
        q.put_blocking(7).unwrap();
        assert_eq!(
            q.put_blocking_timeout(8, short).unwrap_err().into_inner(),
            8,
            "full"
        );
        let mut got = vec![
            q.get_blocking().unwrap(),
            q.get_blocking_timeout(short).unwrap(),
        ];
        got.sort_unstable();
        assert_eq!(got, [1, 7]);
        assert_eq!(
            q.get_blocking_timeout(short),
            Err(GetTimeoutError::TimedOut)
        );
        q.put_blocking_timeout(9, short).unwrap();
        assert_eq!(q.len(), 1);
    }};
}

/// A `maxsize` 2 queue of each kind, holding `[1]`.
fn three_queues() -> (Queue<u8>, LifoQueue<u8>, PriorityQueue<u8>) {
    let (q, lq, pq) = (Queue::new(2), LifoQueue::new(2), PriorityQueue::new(2));
    q.try_put(1).unwrap();
    lq.try_put(1).unwrap();
    pq.try_put(1).unwrap();
    (q, lq, pq)
}

#[test]
fn blocking_calls_on_the_loop_thread_return_on_loop_thread_and_leave_the_queue_unchanged() {
    let lp = EventLoop::new().unwrap();
    let (q, lq, pq) = three_queues();
    lp.run_until_complete(async {
        four_blocking_calls!(q, refused);
        four_blocking_calls!(lq, refused);
        four_blocking_calls!(pq, refused);
    })
    .unwrap();
}

#[test]
fn blocking_calls_on_the_loop_thread_are_refused_even_when_they_would_wait_forever() {
    // An empty queue for get and a full one for put: the calls would never
    // return (nothing else runs while the loop's thread is blocked). The
    // loop runs on a helper thread so that a regression fails the test
    // after PATIENCE instead of hanging it.
    let (done, outcome) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let lp = EventLoop::new().unwrap();
        let empty = Queue::<u8>::unbounded();
        let full = Queue::new(1);
        full.try_put(0u8).unwrap();
        let results = lp
            .run_until_complete(async {
                (
                    empty.get_blocking(),
                    empty.get_blocking_timeout(PATIENCE),
                    full.put_blocking(1),
                    full.put_blocking_timeout(2, PATIENCE),
                )
            })
            .unwrap();
        let lines = (format!("{empty:?}"), format!("{full:?}"));
        done.send((results, empty.len(), full.len(), lines))
            .unwrap();
    });
    let (results, empty_len, full_len, (empty_dbg, full_dbg)) = outcome
        .recv_timeout(PATIENCE)
        .expect("a blocking call blocked the loop's thread");
    assert_eq!(
        results,
        (
            Err(BlockingGetError::OnLoopThread),
            Err(GetTimeoutError::OnLoopThread),
            Err(BlockingPutError::OnLoopThread(1)),
            Err(PutTimeoutError::OnLoopThread(2)),
        )
    );
    assert_eq!((empty_len, full_len), (0, 1));
    assert!(empty_dbg.contains("getters: 0"), "{empty_dbg}");
    assert!(full_dbg.contains("putters: 0"), "{full_dbg}");
}

#[test]
fn huge_timeouts_do_not_overflow_on_or_off_the_loop_thread() {
    // `Duration::MAX` cannot be added to `Instant::now()`: it means no limit,
    // and must neither panic nor hide the `OnLoopThread` refusal.
    let q = Queue::new(2);
    q.try_put(1u8).unwrap();
    let lp = EventLoop::new().unwrap();
    lp.run_until_complete(async {
        assert_eq!(
            q.get_blocking_timeout(Duration::MAX),
            Err(GetTimeoutError::OnLoopThread)
        );
        assert_eq!(
            q.put_blocking_timeout(2, Duration::MAX),
            Err(PutTimeoutError::OnLoopThread(2))
        );
    })
    .unwrap();
    // Off the loop: the calls can complete at once, so they return.
    assert_eq!(q.put_blocking_timeout(2, Duration::MAX), Ok(()));
    assert_eq!(q.get_blocking_timeout(Duration::MAX), Ok(1));
    let lq = LifoQueue::<u8>::unbounded();
    lq.put_blocking_timeout(3, Duration::MAX).unwrap();
    assert_eq!(lq.get_blocking_timeout(Duration::MAX), Ok(3));
    let pq = PriorityQueue::<u8>::unbounded();
    pq.put_blocking_timeout(4, Duration::MAX).unwrap();
    assert_eq!(pq.get_blocking_timeout(Duration::MAX), Ok(4));
}

#[test]
fn blocking_calls_in_a_loop_callback_return_on_loop_thread() {
    // A plain callback (not a task) runs on the loop's thread too. The queue
    // holds an item, so a regression returns it instead of hanging.
    let lp = EventLoop::new().unwrap();
    let q = Queue::<u8>::unbounded();
    q.try_put(1).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let _handle = lp.call_soon({
        let q = q.clone();
        move || tx.send(q.get_blocking()).unwrap()
    });
    lp.run_until_complete(tulipa::yield_now()).unwrap();
    assert_eq!(rx.try_recv().unwrap(), Err(BlockingGetError::OnLoopThread));
    assert_eq!(q.len(), 1);
}

#[test]
fn on_loop_thread_errors_display_and_debug() {
    let phrase = "blocking call on the event loop thread; use the async method";
    assert_eq!(BlockingPutError::OnLoopThread(()).to_string(), phrase);
    assert_eq!(PutTimeoutError::OnLoopThread(()).to_string(), phrase);
    assert_eq!(BlockingGetError::OnLoopThread.to_string(), phrase);
    assert_eq!(GetTimeoutError::OnLoopThread.to_string(), phrase);
    // No `T: Debug` needed.
    struct Opaque;
    assert_eq!(
        format!("{:?}", BlockingPutError::OnLoopThread(Opaque)),
        "OnLoopThread(..)"
    );
    assert_eq!(
        format!("{:?}", PutTimeoutError::OnLoopThread(Opaque)),
        "OnLoopThread(..)"
    );
    assert_eq!(
        PutTimeoutError::from(BlockingPutError::OnLoopThread(3)),
        PutTimeoutError::OnLoopThread(3)
    );
    assert_eq!(
        GetTimeoutError::from(BlockingGetError::OnLoopThread),
        GetTimeoutError::OnLoopThread
    );
    assert!(
        !BlockingGetError::OnLoopThread.is_shutdown() && BlockingGetError::ShutDown.is_shutdown()
    );
    assert!(
        BlockingPutError::ShutDown(()).is_shutdown()
            && !BlockingPutError::ShutDown(()).is_on_loop_thread()
    );
}

#[test]
fn blocking_calls_from_a_plain_thread_work_while_a_loop_runs_elsewhere() {
    // The check is per thread: a loop running on this thread does not stop
    // a plain OS thread from blocking on the same queues.
    let lp = EventLoop::new().unwrap();
    let (q, lq, pq) = three_queues();
    lp.run_until_complete(async {
        thread::scope(|s| {
            s.spawn(|| {
                four_blocking_calls!(q, work);
                four_blocking_calls!(lq, work);
                four_blocking_calls!(pq, work);
            });
        });
    })
    .unwrap();
}

#[test]
fn blocking_calls_work_on_a_thread_whose_loop_is_not_running() {
    // A loop that exists but is not running (before and after a run) does
    // not count: only a running loop would be stalled.
    let lp = EventLoop::new().unwrap();
    let (q, lq, pq) = three_queues();
    four_blocking_calls!(q, work); // before the loop runs
    let (q2, lq2, pq2) = three_queues();
    lp.run_until_complete(async {
        four_blocking_calls!(q2, refused);
        four_blocking_calls!(lq2, refused);
        four_blocking_calls!(pq2, refused);
    })
    .unwrap();
    four_blocking_calls!(lq, work); // after it ran
    four_blocking_calls!(pq, work);
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
                        Err(GetTimeoutError::ShutDown) => return got,
                        Err(GetTimeoutError::OnLoopThread) => {
                            unreachable!("no loop on this thread")
                        }
                        Err(GetTimeoutError::TimedOut) => panic!("lost wake-up: a getter starved"),
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
