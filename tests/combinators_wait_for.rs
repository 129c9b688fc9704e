//! `wait_for`, ported from CPython's `Lib/test/test_asyncio/test_waitfor.py`
//! where the cases mean something in Rust. Cancellation is drop here, so the
//! cases where the inner coroutine catches or suppresses its cancel
//! (`test_wait_for_cancellation_race_condition`, `test_wait_for_cancel_suppressed`,
//! `test_wait_for_issue86296`) have no port.
#![cfg(not(loom))]

#[path = "support/combinators.rs"]
mod support;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use support::{ms, secs, since, sleep_then, vloop, Counter};
use tulipa::LoopFuture;

/// test_wait_for: timeout 0.1 on a long sleep gives `TimeoutError` at 0.1
/// and the inner future's cleanup ("finally") has run.
#[test]
fn test_wait_for_times_out_and_drops_inner() {
    vloop()
        .run(async {
            let start = tulipa::now();
            let dropped = Counter::new();
            let out =
                tulipa::wait_for(sleep_then(secs(10), "done", dropped.clone()), ms(100)).await;
            assert!(out.is_err());
            assert_eq!(since(start), ms(100));
            assert_eq!(dropped.get(), 1);
        })
        .unwrap();
}

/// test_wait_for_waits_for_task_cancellation / test_asyncio_wait_for_timeout:
/// `wait_for` returns only after the inner future is gone: its `Drop` has
/// run when the error is seen.
#[test]
fn test_wait_for_waits_for_inner_cancellation() {
    let dropped = Counter::new();
    let d = dropped.clone();
    vloop()
        .run(async move {
            let inner = async move {
                let _cleanup = d.on_drop();
                std::future::pending::<()>().await
            };
            let err = tulipa::wait_for(inner, ms(10)).await.unwrap_err();
            assert_eq!(err.to_string(), "timed out");
            assert_eq!(dropped.get(), 1);
        })
        .unwrap();
}

/// test_wait_for_timeout_less_then_0_or_0_future_done: a zero timeout on a
/// done future returns its output.
#[test]
fn test_wait_for_timeout_0_future_done() {
    vloop()
        .run(async {
            let fut = LoopFuture::new();
            fut.set_result("done").unwrap();
            assert_eq!(tulipa::wait_for(fut, ms(0)).await.unwrap().unwrap(), "done");
        })
        .unwrap();
}

/// test_wait_for_timeout_less_then_0_or_0 / ..._coroutine_do_not_started:
/// with a zero timeout a pending future times out without time passing.
/// Unlike asyncio, it is polled once first (so it has started), and dropped.
#[test]
fn test_wait_for_timeout_0_pending_future_is_polled_once_then_dropped() {
    vloop()
        .run(async {
            let start = tulipa::now();
            let started = Counter::new();
            let dropped = Counter::new();
            let (s, d) = (started.clone(), dropped.clone());
            let inner = async move {
                let _g = d.on_drop();
                s.bump();
                tulipa::sleep(secs(1)).await;
            };
            assert!(tulipa::wait_for(inner, ms(0)).await.is_err());
            assert_eq!((started.get(), dropped.get()), (1, 1));
            assert_eq!(since(start), ms(0));
        })
        .unwrap();
}

/// test_wait_for_blocking: a generous timeout is a plain await.
#[test]
fn test_wait_for_blocking() {
    let out = vloop().run(async { tulipa::wait_for(async { "done" }, secs(3600)).await });
    assert_eq!(out.unwrap().unwrap(), "done");
}

/// test_wait_for_race_condition: the future is set (by a callback) before
/// the timeout: the result is returned.
#[test]
fn test_wait_for_race_condition() {
    vloop()
        .run(async {
            let lp = tulipa::get_running_loop().unwrap();
            let fut = LoopFuture::new();
            let setter = fut.clone();
            let _ = lp.call_later(ms(100), move || setter.set_result("ok").unwrap());
            assert_eq!(tulipa::wait_for(fut, ms(200)).await.unwrap().unwrap(), "ok");
        })
        .unwrap();
}

/// An output that becomes ready in the same iteration the deadline fires
/// is returned, never thrown away.
#[test]
fn wait_for_output_ready_at_the_deadline_wins() {
    vloop()
        .run(async {
            let start = tulipa::now();
            let out = tulipa::wait_for(
                async {
                    tulipa::sleep(secs(1)).await;
                    7
                },
                secs(1),
            )
            .await;
            assert_eq!(out, Ok(7));
            assert_eq!(since(start), secs(1));
        })
        .unwrap();
}

/// test_wait_for_reraises_exception_during_cancellation: a panic in the
/// inner future's cleanup propagates instead of `TimeoutError`.
#[test]
fn test_wait_for_reraises_panic_during_cancellation() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("FooException");
        }
    }
    vloop()
        .run(async {
            let task = tulipa::spawn(async {
                let inner = async {
                    let _bomb = PanicOnDrop;
                    tulipa::sleep(secs(1)).await;
                };
                tulipa::wait_for(inner, ms(10)).await
            });
            match task.await {
                Err(tulipa::TaskError::Panicked(p)) => assert_eq!(p.message(), "FooException"),
                other => panic!("unexpected {other:?}"),
            }
        })
        .unwrap();
}

/// test_cancel_wait_for / test_cancel_blocking_wait_for /
/// test_asyncio_wait_for_cancelled: cancelling the task running `wait_for`
/// drops (cancels) the inner future.
#[test]
fn test_cancel_wait_for_drops_inner() {
    vloop()
        .run(async {
            let dropped = Counter::new();
            let d = dropped.clone();
            let task = tulipa::spawn(async move {
                tulipa::wait_for(sleep_then(secs(60), (), d), secs(60)).await
            });
            tulipa::sleep(ms(100)).await;
            task.cancel();
            assert!(task.await.unwrap_err().is_cancelled());
            assert_eq!(dropped.get(), 1);
        })
        .unwrap();
}

/// A task given to `wait_for` is cancelled on timeout (asyncio's
/// `test_wait_for`: the awaited task is cancelled with its awaiter), and the
/// `TimeoutError` comes only after it finished unwinding.
#[test]
fn wait_for_task_on_timeout_is_cancelled_and_unwound_first() {
    let finished = Counter::new();
    let dropped = Counter::new();
    let (f, d) = (finished.clone(), dropped.clone());
    vloop()
        .run(async move {
            let (f2, d2) = (f.clone(), d.clone());
            let task = tulipa::spawn(async move {
                let _guard = d2.on_drop();
                tulipa::sleep(secs(1)).await;
                f2.bump();
            });
            let probe = task.id();
            assert!(tulipa::wait_for(task, ms(10)).await.is_err());
            // Already unwound when the error arrives.
            assert_eq!(d.get(), 1);
            assert!(tulipa::all_tasks().iter().all(|t| t.id != probe));
            tulipa::sleep(secs(2)).await;
        })
        .unwrap();
    assert_eq!(finished.get(), 0);
    assert_eq!(dropped.get(), 1);
}

/// W5's fast path: a ready future arms no timer and reads no clock, so it
/// even works with no tulipa loop at all.
#[test]
fn wait_for_ready_future_needs_no_loop_and_no_timer() {
    let out = futures::executor::block_on(tulipa::wait_for(async { 5 }, secs(10)));
    assert_eq!(out, Ok(5));
}

/// Pending once, then ready (W5's second variant): the value comes back
/// and no virtual time passes.
#[test]
fn wait_for_pending_once_then_ready() {
    struct YieldOnce(bool);
    impl Future for YieldOnce {
        type Output = u8;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u8> {
            if std::mem::replace(&mut self.0, true) {
                Poll::Ready(9)
            } else {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
    vloop()
        .run(async {
            let start = tulipa::now();
            for _ in 0..1000 {
                assert_eq!(tulipa::wait_for(YieldOnce(false), secs(10)).await, Ok(9));
            }
            assert_eq!(since(start), ms(0));
        })
        .unwrap();
}

/// asyncio's `wait_for(aw, 0)` raises `TimeoutError` when `aw` is not done
/// at once, even if it needs only one more iteration.
#[test]
fn wait_for_zero_times_out_a_body_needing_one_iteration() {
    vloop()
        .run(async {
            let out = tulipa::wait_for(tulipa::sleep(ms(0)), ms(0)).await;
            assert!(out.is_err());
            assert_eq!(tulipa::wait_for(async { 3 }, ms(0)).await, Ok(3));
        })
        .unwrap();
}
