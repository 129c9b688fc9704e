//! The door from other threads: `LoopHandle`, cross-thread wakers, no lost posts.
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tulipa::EventLoop;

fn assert_send_sync<T: Send + Sync + Clone>() {}

#[test]
fn loop_handle_is_send_sync_clone() {
    assert_send_sync::<tulipa::LoopHandle>();
}

/// 8 threads × 100_000 posts: every callback runs exactly once, and each
/// thread's callbacks run in the order it posted them.
#[test]
fn eight_threads_post_100k_each_and_none_is_lost() {
    const THREADS: usize = 8;
    const PER_THREAD: u64 = 100_000;
    let lp = EventLoop::new().unwrap();
    let handle = lp.handle();
    let count = Arc::new(AtomicUsize::new(0));
    let last_seen: Arc<Vec<AtomicU64>> =
        Arc::new((0..THREADS).map(|_| AtomicU64::new(0)).collect());
    let out_of_order = Arc::new(AtomicUsize::new(0));
    let posters: Vec<_> = (0..THREADS)
        .map(|t| {
            let handle = handle.clone();
            let (count, last_seen, out_of_order) =
                (count.clone(), last_seen.clone(), out_of_order.clone());
            std::thread::spawn(move || {
                for i in 1..=PER_THREAD {
                    let (count, last_seen, out_of_order) =
                        (count.clone(), last_seen.clone(), out_of_order.clone());
                    let stopper = handle.clone();
                    handle
                        .call_soon_threadsafe(move || {
                            if last_seen[t].swap(i, Ordering::Relaxed) != i - 1 {
                                out_of_order.fetch_add(1, Ordering::Relaxed);
                            }
                            let n = count.fetch_add(1, Ordering::Relaxed) + 1;
                            if n == THREADS * PER_THREAD as usize {
                                stopper.stop().unwrap();
                            }
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    lp.run_forever().unwrap();
    for p in posters {
        p.join().unwrap();
    }
    assert_eq!(count.load(Ordering::Relaxed), THREADS * PER_THREAD as usize);
    assert_eq!(out_of_order.load(Ordering::Relaxed), 0);
}

/// A flag plus a waker slot: completed by another thread.
#[derive(Default)]
struct Remote {
    done: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

struct WaitRemote(Arc<Remote>);

impl Future for WaitRemote {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.0.waker.lock().unwrap() = Some(cx.waker().clone());
        if self.0.done.load(Ordering::Acquire) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// The loop blocks in the selector with nothing to do; a task waker woken
/// on another thread must wake it up (through the inbox and the mio waker).
#[test]
fn task_woken_from_another_thread_wakes_a_blocked_loop() {
    for _ in 0..200 {
        let lp = EventLoop::new().unwrap();
        let remote = Arc::new(Remote::default());
        let r = remote.clone();
        let waker_thread = std::thread::spawn(move || {
            // Wait until the task has stored its waker, then complete it.
            let waker = loop {
                if let Some(w) = r.waker.lock().unwrap().clone() {
                    break w;
                }
                std::thread::yield_now();
            };
            r.done.store(true, Ordering::Release);
            waker.wake();
        });
        let task = lp.spawn(WaitRemote(remote));
        lp.run_until_complete(task).unwrap().unwrap();
        waker_thread.join().unwrap();
    }
}

#[test]
fn spawn_threadsafe_runs_on_the_loop_and_reports_back() {
    let lp = EventLoop::new().unwrap();
    let handle = lp.handle();
    let loop_thread = std::thread::current().id();
    let worker = std::thread::spawn(move || {
        let tasks: Vec<_> = (0..10u64)
            .map(|i| {
                handle
                    .spawn_threadsafe(async move { (i * 2, std::thread::current().id()) })
                    .unwrap()
            })
            .collect();
        let results: Vec<_> = tasks.into_iter().map(|t| t.wait().unwrap()).collect();
        handle.stop().unwrap();
        results
    });
    lp.run_forever().unwrap();
    let results = worker.join().unwrap();
    assert_eq!(results.len(), 10);
    for (i, (value, thread)) in results.into_iter().enumerate() {
        assert_eq!(value, i as u64 * 2);
        assert_eq!(thread, loop_thread);
    }
}

#[test]
fn remote_task_of_a_closed_loop_reports_cancelled() {
    let lp = EventLoop::new().unwrap();
    let remote = lp
        .handle()
        .spawn_threadsafe(std::future::pending::<()>())
        .unwrap();
    // Drain the post and start the task (it then waits forever).
    lp.run_until_complete(async {
        tulipa::yield_now().await;
        tulipa::yield_now().await;
    })
    .unwrap();
    assert!(!remote.is_done());
    lp.close().unwrap();
    assert!(remote.wait().unwrap_err().is_cancelled());
}

#[test]
fn remote_task_wait_timeout_gives_the_handle_back() {
    let lp = EventLoop::new().unwrap();
    let remote = lp.handle().spawn_threadsafe(async { 1 }).unwrap();
    let remote = remote.wait_timeout(Duration::from_millis(1)).unwrap_err();
    assert!(!remote.is_done());
    // `run_once` blocks when nothing is ready, so run exactly until it is done.
    while !remote.is_done() {
        lp.run_once().unwrap();
    }
    assert_eq!(
        remote
            .wait_timeout(Duration::from_secs(5))
            .unwrap()
            .unwrap(),
        1
    );
}

/// Posts racing with `stop()`: the loop stops, and whatever was posted
/// after the stop runs when the loop runs again. Nothing is lost.
#[test]
fn posts_racing_stop_are_kept_for_the_next_run() {
    const POSTS: usize = 50_000;
    let lp = EventLoop::new().unwrap();
    let handle = lp.handle();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let poster = std::thread::spawn(move || {
        for i in 0..POSTS {
            let c = c.clone();
            handle
                .call_soon_threadsafe(move || {
                    c.fetch_add(1, Ordering::Relaxed);
                })
                .unwrap();
            if i == POSTS / 2 {
                handle.stop().unwrap();
            }
        }
        let last = handle.clone();
        handle
            .call_soon_threadsafe(move || last.stop().unwrap())
            .unwrap();
    });
    lp.run_forever().unwrap();
    poster.join().unwrap();
    while count.load(Ordering::Relaxed) < POSTS {
        lp.run_forever().unwrap();
    }
    assert_eq!(count.load(Ordering::Relaxed), POSTS);
}

#[test]
fn callbacks_posted_from_one_thread_run_on_the_loop_thread() {
    let lp = EventLoop::new().unwrap();
    let loop_thread = std::thread::current().id();
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    let handle = lp.handle();
    std::thread::spawn(move || {
        let stopper = handle.clone();
        handle
            .call_soon_threadsafe(move || {
                *s.lock().unwrap() = Some(std::thread::current().id());
                stopper.stop().unwrap();
            })
            .unwrap();
    })
    .join()
    .unwrap();
    lp.run_forever().unwrap();
    assert_eq!(*seen.lock().unwrap(), Some(loop_thread));
}

/// Virtual clock + a hold: time does not jump while a post is on its way.
#[test]
fn a_hold_keeps_the_virtual_clock_from_jumping_past_a_pending_post() {
    let lp = EventLoop::builder().virtual_time().build().unwrap();
    let handle = lp.handle();
    let hold = handle.hold();
    let arrived = Arc::new(AtomicBool::new(false));
    let a = arrived.clone();
    let h = handle.clone();
    let worker = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        h.call_soon_threadsafe(move || a.store(true, Ordering::SeqCst))
            .unwrap();
        drop(hold);
    });
    let start = lp.time();
    let got = Arc::new(AtomicBool::new(false));
    let (arrived2, got2) = (arrived.clone(), got.clone());
    lp.run_until_complete(async move {
        // With no hold the clock would jump a full hour at once; with it the
        // loop waits in real time and sees the post long before.
        tulipa::sleep(Duration::from_secs(3600)).await;
        got2.store(arrived2.load(Ordering::SeqCst), Ordering::SeqCst);
    })
    .unwrap();
    worker.join().unwrap();
    assert!(
        got.load(Ordering::SeqCst),
        "the post arrived before the hour was up"
    );
    assert_eq!(lp.time() - start, Duration::from_secs(3600));
}

/// `LoopHandle::stop`: posts that reach the loop in the same batch as the
/// stop still run in this run (asyncio's ready queue takes them too);
/// a post that arrives in a later batch waits for the next run.
#[test]
fn stop_runs_posts_of_its_batch_and_keeps_later_ones() {
    let lp = EventLoop::new().unwrap();
    let handle = lp.handle();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (l1, l2, h2) = (log.clone(), log.clone(), handle.clone());
    handle.stop().unwrap();
    handle
        .call_soon_threadsafe(move || {
            l1.lock().unwrap().push("same batch");
            // Runs in the stopping iteration, so this post is a later batch.
            h2.call_soon_threadsafe(move || l2.lock().unwrap().push("later batch"))
                .unwrap();
        })
        .unwrap();
    lp.run_forever().unwrap();
    assert_eq!(*log.lock().unwrap(), ["same batch"]);
    let h3 = handle.clone();
    handle
        .call_soon_threadsafe(move || h3.stop().unwrap())
        .unwrap();
    lp.run_forever().unwrap();
    assert_eq!(*log.lock().unwrap(), ["same batch", "later batch"]);
}
