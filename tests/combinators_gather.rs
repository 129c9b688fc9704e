//! `gather`, `try_gather` and `gather!`, ported from the gather cases of
//! CPython's `Lib/test/test_asyncio/test_tasks.py` (`GatherTestsBase`,
//! `FutureGatherTests`, `CoroutineGatherTests`) where they mean something
//! in Rust.
#![cfg(not(loom))]

#[path = "support/combinators.rs"]
mod support;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use support::{ms, secs, since, sleep_then, vloop, Counter};
use tulipa::TaskError;

/// test_success: outputs come back in input order, not completion order.
#[test]
fn test_success_outputs_in_input_order() {
    let out = vloop().run(async {
        let start = tulipa::now();
        let d = Counter::new();
        let out = tulipa::gather([
            sleep_then(ms(200), 1, d.clone()),
            sleep_then(ms(100), 2, d.clone()),
            sleep_then(ms(300), 3, d.clone()),
        ])
        .await;
        (out, since(start))
    });
    assert_eq!(out.unwrap(), (vec![1, 2, 3], ms(300)));
}

/// test_return_exceptions: errors are outputs at their positions, and the
/// gather is not done until the last child is.
#[test]
fn test_return_exceptions_keeps_every_result_in_place() {
    let out = vloop().run(async {
        let start = tulipa::now();
        let job = |d: u64, fail: bool| async move {
            tulipa::sleep(ms(d)).await;
            if fail {
                Err(format!("exc{d}"))
            } else {
                Ok(d)
            }
        };
        let out =
            tulipa::gather([job(30, false), job(10, false), job(20, true), job(40, true)]).await;
        (out, since(start))
    });
    let (out, took) = out.unwrap();
    assert_eq!(
        out,
        [
            Ok(30),
            Ok(10),
            Err("exc20".to_string()),
            Err("exc40".to_string())
        ]
    );
    assert_eq!(took, ms(40));
}

/// test_one_exception: `try_gather` finishes with the first error at once;
/// later results, errors and cancels are ignored.
#[test]
fn test_one_exception_try_gather_finishes_at_first_error() {
    let out = vloop().run(async {
        let start = tulipa::now();
        let job = |d: u64, fail: bool| async move {
            tulipa::sleep(ms(d)).await;
            if fail {
                Err(d)
            } else {
                Ok(d)
            }
        };
        let out = tulipa::try_gather([
            job(10, false),
            job(20, true),
            job(30, true),
            job(500, false),
        ])
        .await;
        (out, since(start))
    });
    assert_eq!(out.unwrap(), (Err(20), ms(20)));
}

/// `try_gather` over futures drops (cancels) the unfinished ones before it
/// returns the error: stricter than asyncio, which lets them run.
#[test]
fn try_gather_error_drops_remaining_futures() {
    let dropped = Counter::new();
    let d = dropped.clone();
    let out = vloop().run(async move {
        let job = |ms_: u64, fail: bool, d: Counter| async move {
            let _g = d.on_drop();
            tulipa::sleep(ms(ms_)).await;
            if fail {
                Err("boom")
            } else {
                Ok(())
            }
        };
        let out = tulipa::try_gather([
            job(10, true, d.clone()),
            job(1000, false, d.clone()),
            job(2000, false, d.clone()),
        ])
        .await;
        (out, d.get())
    });
    assert_eq!(out.unwrap(), (Err("boom"), 3));
    assert_eq!(dropped.get(), 3);
}

/// test_one_exception, observed behaviour: with task children, the other
/// tasks keep running after the error (they are detached, as in asyncio).
#[test]
fn try_gather_error_leaves_task_children_running() {
    let finished = Counter::new();
    let f = finished.clone();
    vloop()
        .run(async move {
            let f2 = f.clone();
            let slow = tulipa::spawn(async move {
                tulipa::sleep(secs(1)).await;
                f2.bump();
                Ok("slow-done")
            });
            let bad = tulipa::spawn(async { Err::<&str, _>("bad") });
            let flat = |t: tulipa::Task<Result<&'static str, &'static str>>| async move {
                t.await.unwrap()
            };
            assert_eq!(
                tulipa::try_gather([flat(bad), flat(slow)]).await,
                Err("bad")
            );
            assert_eq!(f.get(), 0);
            tulipa::sleep(secs(2)).await;
        })
        .unwrap();
    assert_eq!(finished.get(), 1);
}

/// `try_gather` with no error gives every value in input order.
#[test]
fn try_gather_all_ok_gives_values_in_order() {
    let out = tulipa::run(async {
        tulipa::try_gather((0..20u32).map(|i| async move { Ok::<_, ()>(i * 2) })).await
    });
    assert_eq!(
        out.unwrap().unwrap(),
        (0..20).map(|i| i * 2).collect::<Vec<_>>()
    );
}

/// test_one_cancellation / test_result_exception_one_cancellation: a
/// cancelled task child shows up as `Err(Cancelled)` at its position and
/// the others still complete.
#[test]
fn test_result_exception_one_cancellation() {
    let out = vloop().run(async {
        let a = tulipa::spawn(async {
            tulipa::sleep(ms(10)).await;
            1
        });
        let b = tulipa::spawn(async {
            tulipa::sleep(ms(50)).await;
            2
        });
        let c = tulipa::spawn(async {
            tulipa::sleep(ms(30)).await;
            3
        });
        b.cancel();
        tulipa::gather([a, b, c]).await
    });
    let out = out.unwrap();
    assert_eq!(*out[0].as_ref().unwrap(), 1);
    assert!(matches!(out[1], Err(TaskError::Cancelled)));
    assert_eq!(*out[2].as_ref().unwrap(), 3);
}

/// A panicking task child is `Err(Panicked)` at its position.
#[test]
fn gather_task_panic_is_err_at_its_position() {
    let out = vloop().run(async {
        let ok = tulipa::spawn(async { 1 });
        let bad = tulipa::spawn(async {
            if true {
                panic!("child failed");
            }
            2
        });
        tulipa::gather([ok, bad]).await
    });
    let out = out.unwrap();
    assert_eq!(*out[0].as_ref().unwrap(), 1);
    match &out[1] {
        Err(TaskError::Panicked(p)) => assert_eq!(p.message(), "child failed"),
        other => panic!("unexpected {other:?}"),
    }
}

/// test_constructor_empty_sequence_use_running_loop (and unlike
/// `..._without_loop`, no loop is needed): an empty gather is ready at once.
#[test]
fn test_constructor_empty_sequence_is_ready_without_a_loop() {
    let empty: Vec<std::future::Ready<u8>> = Vec::new();
    let out = futures::executor::block_on(tulipa::gather(empty));
    assert!(out.is_empty());
    let out = futures::executor::block_on(tulipa::try_gather(Vec::<
        std::future::Ready<Result<u8, ()>>,
    >::new()));
    assert_eq!(out, Ok(vec![]));
}

/// test_cancellation_broadcast: cancelling the task that awaits a gather
/// cancels (drops) every child.
#[test]
fn test_cancellation_broadcast_drops_every_child() {
    let dropped = Counter::new();
    let d = dropped.clone();
    vloop()
        .run(async move {
            let d2 = d.clone();
            let parent = tulipa::spawn(async move {
                tulipa::gather([
                    sleep_then(secs(10), (), d2.clone()),
                    sleep_then(secs(20), (), d2.clone()),
                ])
                .await
            });
            tulipa::sleep(ms(100)).await;
            assert_eq!(d.get(), 0);
            assert!(parent.cancel());
            assert!(parent.await.unwrap_err().is_cancelled());
            assert_eq!(d.get(), 2);
        })
        .unwrap();
    assert_eq!(dropped.get(), 2);
}

/// test_cancel_gather_1: cancelling after every child finished changes
/// nothing; the result stands.
#[test]
fn test_cancel_gather_1_after_children_done_keeps_result() {
    vloop()
        .run(async {
            let parent = tulipa::spawn(tulipa::gather([async { 42 }]));
            tulipa::yield_now().await;
            assert!(parent.is_done());
            assert!(!parent.cancel());
            assert_eq!(parent.await.unwrap(), [42]);
        })
        .unwrap();
}

/// test_cancel_gather_2: a task looping on gather(sleep) is cancelled
/// cleanly, wherever it is in the loop.
#[test]
fn test_cancel_gather_2_looping_task_is_cancelled() {
    vloop()
        .run(async {
            let rounds = Counter::new();
            let r = rounds.clone();
            let looping = tulipa::spawn(async move {
                loop {
                    tulipa::gather([tulipa::sleep(ms(50))]).await;
                    r.bump();
                }
            });
            tulipa::sleep(ms(175)).await;
            looping.cancel();
            assert!(looping.await.unwrap_err().is_cancelled());
            assert_eq!(rounds.get(), 3);
        })
        .unwrap();
}

/// A future that counts its polls, pending until its deadline.
struct Counted {
    polls: Rc<Cell<u32>>,
    sleep: tulipa::time::Sleep,
}

impl Future for Counted {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls.set(self.polls.get() + 1);
        Pin::new(&mut self.sleep).poll(cx)
    }
}

/// Efficiency: with many children, only the woken ones are polled again.
/// Each child here is polled at most four times (two passes with the
/// parent's waker, the pass that gives it its own waker, its own wake-up),
/// never once per sibling's wake-up (which would be ~200 times).
#[test]
fn gather_repolls_only_woken_children() {
    let polls: Vec<Rc<Cell<u32>>> = (0..200).map(|_| Rc::new(Cell::new(0))).collect();
    let p = polls.clone();
    vloop()
        .run(async move {
            let children = p.iter().enumerate().map(|(i, polls)| Counted {
                polls: polls.clone(),
                sleep: tulipa::sleep(ms(1 + i as u64)),
            });
            tulipa::gather(children).await;
        })
        .unwrap();
    let counts: Vec<u32> = polls.iter().map(|p| p.get()).collect();
    assert!(counts.iter().all(|&n| (2..=4).contains(&n)), "{counts:?}");
}

/// A few children use the parent's waker: still correct (each polled at
/// most once per loop iteration in which anything woke the gather).
#[test]
fn gather_small_group_completes_with_mixed_deadlines() {
    let out = vloop().run(async {
        let d = Counter::new();
        tulipa::gather(
            (0..5u64)
                .rev()
                .map(|i| sleep_then(ms(i * 10), i, d.clone())),
        )
        .await
    });
    assert_eq!(out.unwrap(), [4, 3, 2, 1, 0]);
}

/// W1 in miniature: spawn many tasks, gather their handles, check the sum.
#[test]
fn gather_ten_thousand_tasks_sums() {
    let sum: u64 = tulipa::run(async {
        let tasks: Vec<_> = (0..10_000u64)
            .map(|i| tulipa::spawn(async move { i }))
            .collect();
        tulipa::gather(tasks)
            .await
            .into_iter()
            .map(Result::unwrap)
            .sum()
    })
    .unwrap();
    assert_eq!(sum, 10_000 * 9_999 / 2);
}

/// A panic in a plain future child propagates to the task awaiting the
/// gather (it is polled there), and the other children are dropped.
#[test]
fn gather_child_panic_fails_the_awaiting_task() {
    let dropped = Counter::new();
    let d = dropped.clone();
    vloop()
        .run(async move {
            let parent = tulipa::spawn(async move {
                let boom = async {
                    tulipa::sleep(ms(10)).await;
                    panic!("boom")
                };
                tulipa::gather!(boom, sleep_then(secs(5), (), d.clone())).await
            });
            let err = parent.await.unwrap_err();
            assert!(err.is_panic());
        })
        .unwrap();
    assert_eq!(dropped.get(), 1);
}

/// `gather!` mixes output types and returns a tuple in argument order.
#[test]
fn gather_macro_mixed_types_in_argument_order() {
    let out = vloop().run(async {
        let start = tulipa::now();
        let task = tulipa::spawn(async { vec![1u8] });
        let out = tulipa::gather!(
            async {
                tulipa::sleep(ms(30)).await;
                "str"
            },
            task,
            async {
                tulipa::sleep(ms(10)).await;
                7u64
            },
        )
        .await;
        (out, since(start))
    });
    let ((s, v, n), took) = out.unwrap();
    assert_eq!((s, v.unwrap(), n, took), ("str", vec![1u8], 7, ms(30)));
}

/// `gather!` evaluates its arguments at once, in order, and polls them
/// only when awaited.
#[test]
fn gather_macro_evaluates_arguments_eagerly_in_order() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    tulipa::run(async move {
        let push = |s: &'static str| {
            l.borrow_mut().push(s);
            let l = l.clone();
            async move { l.borrow_mut().push("polled") }
        };
        let fut = tulipa::gather!(push("a"), push("b"));
        l.borrow_mut().push("built");
        fut.await;
    })
    .unwrap();
    assert_eq!(*log.borrow(), ["a", "b", "built", "polled", "polled"]);
}

/// Dropping an unfinished `gather!` drops its unfinished children.
#[test]
fn gather_macro_drop_cancels_children() {
    let dropped = Counter::new();
    let d = dropped.clone();
    vloop()
        .run(async move {
            let out = tulipa::wait_for(
                tulipa::gather!(
                    sleep_then(secs(9), 1, d.clone()),
                    sleep_then(ms(1), 2, d.clone())
                ),
                ms(100),
            )
            .await;
            assert!(out.is_err());
        })
        .unwrap();
    assert_eq!(dropped.get(), 2);
}

/// Decision 8: over plain futures `gather` needs only a `Waker`; it runs
/// under tokio's current-thread runtime.
#[test]
fn gather_and_gather_macro_work_under_tokio() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let out = rt.block_on(async {
        let many = tulipa::gather((0..20u64).map(|i| async move {
            tokio::time::sleep(std::time::Duration::from_millis(20 - i)).await;
            i
        }));
        tulipa::gather!(many, async { "x" }).await
    });
    assert_eq!(out, ((0..20).collect::<Vec<_>>(), "x"));
}

/// Children that wake themselves while being polled (`yield_now`), many of
/// them so that each has its own waker: a wake-up that arrives during the
/// child's poll must not be lost (the same-thread form of the race the
/// cross-thread stress test aims at).
#[test]
fn gather_children_waking_themselves_during_poll_lose_nothing() {
    vloop()
        .run(async {
            let children = (0..50u32).map(|i| async move {
                for _ in 0..10 {
                    tulipa::yield_now().await;
                }
                i
            });
            let out = tulipa::wait_for(tulipa::gather(children), secs(10)).await;
            assert_eq!(out.expect("a lost wake-up"), (0..50).collect::<Vec<_>>());
            let mut stream = tulipa::as_completed((0..50u32).map(|i| async move {
                for _ in 0..(i % 7) {
                    tulipa::yield_now().await;
                }
                i
            }));
            let mut n = 0;
            while let Some((_, _)) = tulipa::wait_for(stream.next(), secs(10))
                .await
                .expect("a lost wake-up")
            {
                n += 1;
            }
            assert_eq!(n, 50);
        })
        .unwrap();
}
