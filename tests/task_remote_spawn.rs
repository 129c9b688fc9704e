//! `LoopHandle::spawn_threadsafe` for small futures (boxed, their task made
//! on the loop) and large ones (made into their task on the posting
//! thread): both start in the order of the thread's posts, are tasks of
//! the loop while they run, hand their output or panic to the handle, and
//! are dropped unrun, with a `Cancelled` handle, by a loop that closes
//! first. Tests with threads run under a watchdog.
#![cfg(not(loom))]

#[path = "support/group.rs"]
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use support::{within, PATIENCE};
use tulipa::EventLoop;

/// Bytes a "large" future carries: far above the size up to which the
/// future travels boxed.
const LARGE: usize = 4096;

/// Counts its drops, so a test sees where and whether the future went.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn small_and_large_futures_start_in_post_order_with_the_threads_callbacks() {
    within(PATIENCE, || {
        let lp = EventLoop::new().unwrap();
        let handle = lp.handle();
        let (log_tx, log_rx) = mpsc::channel::<String>();
        let poster = std::thread::spawn(move || {
            let mut remotes = Vec::new();
            for i in 0..30 {
                let log = log_tx.clone();
                match i % 3 {
                    0 => {
                        remotes.push(
                            handle
                                .spawn_threadsafe(async move {
                                    log.send(format!("small {i}")).unwrap();
                                    i
                                })
                                .unwrap(),
                        );
                    }
                    1 => {
                        let pad = [i as u8; LARGE];
                        remotes.push(
                            handle
                                .spawn_threadsafe(async move {
                                    log.send(format!("large {i}")).unwrap();
                                    usize::from(std::hint::black_box(pad)[LARGE - 1])
                                })
                                .unwrap(),
                        );
                    }
                    _ => handle
                        .call_soon_threadsafe(move || log.send(format!("call {i}")).unwrap())
                        .unwrap(),
                }
            }
            handle.stop().unwrap();
            remotes
        });
        let remotes = poster.join().unwrap();
        lp.run_forever().unwrap();
        let log: Vec<String> = log_rx.try_iter().collect();
        let expected: Vec<String> = (0..30)
            .map(|i| match i % 3 {
                0 => format!("small {i}"),
                1 => format!("large {i}"),
                _ => format!("call {i}"),
            })
            .collect();
        assert_eq!(log, expected);
        let outputs: Vec<usize> = remotes.into_iter().map(|r| r.wait().unwrap()).collect();
        let wanted: Vec<usize> = (0..30).filter(|i| i % 3 != 2).collect();
        assert_eq!(outputs, wanted);
    });
}

#[test]
fn a_large_remote_task_is_a_task_of_the_loop_and_its_panic_reaches_the_handle() {
    let lp = EventLoop::builder().virtual_time().build().unwrap();
    let pad = [1u8; LARGE];
    let remote = lp
        .handle()
        .spawn_threadsafe(async move {
            assert!(tulipa::current_task().is_some());
            tulipa::sleep(Duration::from_secs(1)).await;
            if std::hint::black_box(pad)[0] == 1 {
                panic!("large boom");
            }
        })
        .unwrap();
    let seen = lp
        .run_until_complete(async {
            tulipa::yield_now().await;
            tulipa::all_tasks().len()
        })
        .unwrap();
    assert_eq!(seen, 1, "the remote task (the main future is none)");
    match lp.run_until_complete(remote).unwrap() {
        Err(tulipa::TaskError::Panicked(panic)) => assert_eq!(panic.message(), "large boom"),
        other => panic!("expected the task's panic, got {other:?}"),
    }
}

#[test]
fn a_small_remote_task_is_a_task_of_the_loop_made_at_the_callers_line() {
    let lp = EventLoop::builder().virtual_time().build().unwrap();
    let handle = lp.handle();
    let future = async {
        assert!(tulipa::current_task().is_some());
        tulipa::sleep(Duration::from_secs(1)).await;
    };
    let (remote, line) = (handle.spawn_threadsafe(future).unwrap(), line!());
    let tasks = lp
        .run_until_complete(async {
            tulipa::yield_now().await;
            tulipa::all_tasks()
        })
        .unwrap();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(
        (tasks[0].location.file(), tasks[0].location.line()),
        (file!(), line)
    );
    lp.run_until_complete(remote).unwrap().unwrap();
}

#[test]
fn small_and_large_remote_tasks_queued_when_the_loop_closes_are_dropped_unrun() {
    let lp = EventLoop::new().unwrap();
    let handle = lp.handle();
    let drops = Arc::new(AtomicUsize::new(0));
    let ran = Arc::new(AtomicUsize::new(0));
    let small = {
        let (guard, ran) = (DropCount(drops.clone()), ran.clone());
        handle
            .spawn_threadsafe(async move {
                let _guard = guard;
                ran.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap()
    };
    let large = {
        let (guard, ran, pad) = (DropCount(drops.clone()), ran.clone(), [0u8; LARGE]);
        handle
            .spawn_threadsafe(async move {
                let _guard = (guard, std::hint::black_box(pad));
                ran.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap()
    };
    lp.close().unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert!(small.wait().unwrap_err().is_cancelled());
    assert!(large.wait().unwrap_err().is_cancelled());
}

#[test]
fn spawn_threadsafe_on_a_closed_loop_drops_small_and_large_futures_before_it_returns() {
    let lp = EventLoop::new().unwrap();
    let handle = lp.handle();
    lp.close().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let guard = DropCount(drops.clone());
    let small = handle.spawn_threadsafe(async move { drop(guard) });
    assert_eq!(small.unwrap_err(), tulipa::LoopClosed);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    let (guard, pad) = (DropCount(drops.clone()), [0u8; LARGE]);
    let large = handle.spawn_threadsafe(async move { drop((guard, std::hint::black_box(pad))) });
    assert_eq!(large.unwrap_err(), tulipa::LoopClosed);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[test]
fn many_small_remote_tasks_from_a_thread_all_run_and_report() {
    within(PATIENCE, || {
        const SPAWNS: usize = 20_000;
        let lp = EventLoop::new().unwrap();
        let handle = lp.handle();
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        let poster = std::thread::spawn(move || {
            let mut kept = Vec::new();
            for i in 0..SPAWNS {
                let (c, stopper) = (c.clone(), handle.clone());
                let remote = handle
                    .spawn_threadsafe(async move {
                        if c.fetch_add(1, Ordering::Relaxed) + 1 == SPAWNS {
                            stopper.stop().unwrap();
                        }
                        i
                    })
                    .unwrap();
                // Every tenth handle is kept and read; the others detach.
                if i % 10 == 0 {
                    kept.push((i, remote));
                }
            }
            kept
        });
        lp.run_forever().unwrap();
        let kept = poster.join().unwrap();
        assert_eq!(count.load(Ordering::Relaxed), SPAWNS);
        for (i, remote) in kept {
            assert_eq!(remote.wait().unwrap(), i);
        }
    });
}
