//! Task blocks freed and allocated again, round after round: each task
//! sees only its own future and output, whatever the block held before
//! (the allocator hands the same memory back for blocks of one size), and
//! a block kept alive by a waker on another thread, past the drop of its
//! loop, is freed there. Run under valgrind by `.ci/run` (no use after
//! free, no leak).
#![cfg(not(loom))]

use std::cell::Cell;
use std::rc::Rc;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;
use std::time::Duration;

/// A future of about `N` bytes whose output is computed from all of them.
async fn sized<const N: usize>(seed: u8) -> u64 {
    let bytes = [seed; N];
    tulipa::yield_now().await;
    bytes.iter().map(|&b| u64::from(b)).sum()
}

fn expected(n: usize, seed: u8) -> u64 {
    n as u64 * u64::from(seed)
}

/// 10 000 rounds of spawn, finish, free, with futures of four sizes
/// spawned and finished in an order that changes every round: every
/// output is the one its own future computed.
#[test]
fn ten_thousand_rounds_of_blocks_of_different_future_sizes() {
    tulipa::run(async {
        for round in 0..10_000u32 {
            let seed = (round % 251) as u8;
            let small = tulipa::spawn(sized::<8>(seed));
            let medium = tulipa::spawn(sized::<64>(seed.wrapping_add(1)));
            let large = tulipa::spawn(sized::<512>(seed.wrapping_add(2)));
            let huge = tulipa::spawn(sized::<4096>(seed.wrapping_add(3)));
            // Await (and so free) them in a different order each round.
            let outs = match round % 3 {
                0 => [small.await, medium.await, large.await, huge.await],
                1 => {
                    let h = huge.await;
                    let l = large.await;
                    let m = medium.await;
                    [small.await, m, l, h]
                }
                _ => {
                    let m = medium.await;
                    let h = huge.await;
                    [small.await, m, large.await, h]
                }
            };
            let outs = outs.map(Result::unwrap);
            assert_eq!(
                outs,
                [
                    expected(8, seed),
                    expected(64, seed.wrapping_add(1)),
                    expected(512, seed.wrapping_add(2)),
                    expected(4096, seed.wrapping_add(3)),
                ],
                "round {round}"
            );
        }
    })
    .unwrap();
}

/// Outputs that own heap memory (a `String`), panics and cancellations,
/// in blocks of one size freed and reused in turn: each handle gets its
/// own task's ending, and each future is dropped exactly once.
#[test]
fn output_panic_and_cancel_of_tasks_in_reused_blocks() {
    let drops = Rc::new(Cell::new(0u32));
    let rounds = 3_000u32;
    let d = drops.clone();
    tulipa::run(async move {
        for round in 0..rounds {
            let guard = DropCount(d.clone());
            let task = tulipa::spawn(async move {
                let _guard = guard;
                tulipa::yield_now().await;
                match round % 3 {
                    0 => format!("output {round}"),
                    1 => panic!("panic {round}"),
                    _ => std::future::pending().await,
                }
            });
            if round % 3 == 2 {
                tulipa::yield_now().await;
                assert!(task.cancel());
            }
            match (round % 3, task.await) {
                (0, Ok(text)) => assert_eq!(text, format!("output {round}")),
                (1, Err(e)) => {
                    assert!(e.is_panic(), "round {round}: {e:?}");
                    assert!(e.to_string().contains(&format!("panic {round}")), "{e}");
                }
                (2, Err(e)) => assert!(e.is_cancelled(), "round {round}: {e:?}"),
                (_, other) => panic!("round {round}: unexpected {other:?}"),
            }
        }
    })
    .unwrap();
    assert_eq!(drops.get(), rounds, "every future dropped exactly once");
}

struct DropCount(Rc<Cell<u32>>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// Tasks still waiting when their loop is dropped: their futures are
/// dropped by the loop, once each, and blocks freed meanwhile by finished
/// tasks of the same size do not confuse it.
#[test]
fn loop_dropped_while_tasks_in_reused_blocks_wait() {
    let drops = Rc::new(Cell::new(0u32));
    let lp = tulipa::EventLoop::new().unwrap();
    let d = drops.clone();
    let waiting = lp
        .run_until_complete(async move {
            let mut waiting = Vec::new();
            for round in 0..1_000u32 {
                // One finishes and frees its block, one stays waiting.
                let guard = DropCount(d.clone());
                tulipa::spawn(async move {
                    let _guard = guard;
                    round
                })
                .await
                .unwrap();
                let guard = DropCount(d.clone());
                waiting.push(tulipa::spawn(async move {
                    let _guard = guard;
                    std::future::pending::<u32>().await
                }));
            }
            tulipa::yield_now().await;
            waiting
        })
        .unwrap();
    assert_eq!(drops.get(), 1_000, "only the finished ones so far");
    drop(lp);
    assert_eq!(drops.get(), 2_000, "the loop dropped every waiting future");
    for task in &waiting {
        assert!(task.is_done());
    }
    drop(waiting);
    assert_eq!(drops.get(), 2_000);
}

/// A task's waker, kept by another thread, outlives the task and its
/// loop: waking and dropping it there afterwards is harmless, and the
/// block is freed then. A watchdog turns a hang into a failure.
#[test]
fn waker_held_by_another_thread_past_the_loops_drop() {
    let kept: Arc<Mutex<Vec<Waker>>> = Arc::default();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel::<usize>();
    let held = kept.clone();
    let other = thread::spawn(move || {
        go_rx.recv().unwrap();
        let wakers = std::mem::take(&mut *held.lock().unwrap());
        let n = wakers.len();
        for waker in wakers {
            waker.wake_by_ref();
            waker.wake();
        }
        done_tx.send(n).unwrap();
    });
    {
        let lp = tulipa::EventLoop::new().unwrap();
        let keep = kept.clone();
        lp.run_until_complete(async move {
            for round in 0..500u32 {
                let keep = keep.clone();
                let mut first = true;
                let out = tulipa::spawn(std::future::poll_fn(move |cx| {
                    if std::mem::replace(&mut first, false) {
                        keep.lock().unwrap().push(cx.waker().clone());
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    Poll::Ready(round)
                }))
                .await
                .unwrap();
                assert_eq!(out, round);
            }
        })
        .unwrap();
        // Half the tasks of a second batch never finish: the loop drops
        // them, their wakers stay with the other thread.
        let keep = kept.clone();
        lp.run_until_complete(async move {
            for _ in 0..250 {
                let keep = keep.clone();
                drop(tulipa::spawn(std::future::poll_fn(move |cx| {
                    keep.lock().unwrap().push(cx.waker().clone());
                    Poll::<()>::Pending
                })));
            }
            tulipa::yield_now().await;
        })
        .unwrap();
    }
    go_tx.send(()).unwrap();
    let woken = done_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the other thread finished waking (watchdog)");
    assert_eq!(woken, 750);
    other.join().unwrap();
}
