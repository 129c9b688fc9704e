//! asyncio's cancel propagation: an awaited `Task` handle dropped unfinished
//! cancels its task, one never awaited detaches it; `shield` and `wait`
//! opt out; `wait_for` and `timeout` report `TimeoutError` only once the
//! tasks they cancelled have unwound; a task cancelled by itself ends
//! cancelled; `current_task()` can cancel. CPython's `test_tasks.py` /
//! `test_waitfor.py` cases are ported by name.
#![cfg(not(loom))]

#[path = "support/combinators.rs"]
mod support;

use std::time::Duration;

use support::{ms, secs, sleep_then, vloop, Counter};
use tulipa::{ReturnWhen, TaskError};

fn alive(id: tulipa::TaskId) -> bool {
    tulipa::all_tasks().iter().any(|t| t.id == id)
}

#[test]
fn an_awaited_handle_dropped_unfinished_cancels_its_task() {
    let dropped = Counter::new();
    let d = dropped.clone();
    vloop()
        .run(async move {
            let task = tulipa::spawn(sleep_then(secs(60), (), d.clone()));
            let id = task.id();
            // Awaited for a while, then given up (the awaiter was cancelled).
            assert!(tulipa::wait_for(task, ms(10)).await.is_err());
            assert_eq!(d.get(), 1);
            assert!(!alive(id));
        })
        .unwrap();
    assert_eq!(dropped.get(), 1);
}

#[test]
fn a_handle_never_awaited_detaches_its_task_when_dropped() {
    let finished = Counter::new();
    let f = finished.clone();
    vloop()
        .run(async move {
            let f2 = f.clone();
            drop(tulipa::spawn(async move {
                tulipa::sleep(secs(1)).await;
                f2.bump();
            }));
            tulipa::sleep(secs(2)).await;
        })
        .unwrap();
    assert_eq!(finished.get(), 1);
}

/// test_cancellation_broadcast: cancelling the task awaiting a gather of
/// tasks cancels the children.
#[test]
fn test_cancellation_broadcast() {
    let dropped = Counter::new();
    let d = dropped.clone();
    vloop()
        .run(async move {
            let children: Vec<_> = (0..2)
                .map(|_| tulipa::spawn(sleep_then(secs(60), 1, d.clone())))
                .collect();
            let ids: Vec<_> = children.iter().map(|t| t.id()).collect();
            let gatherer = tulipa::spawn(async move { tulipa::gather(children).await });
            tulipa::sleep(ms(1)).await;
            assert!(gatherer.cancel());
            assert!(gatherer.await.unwrap_err().is_cancelled());
            tulipa::yield_now().await;
            assert_eq!(d.get(), 2);
            assert!(ids.iter().all(|id| !alive(*id)));
        })
        .unwrap();
}

/// test_cancel_awaited_task: a task that cancels itself while awaiting a
/// nested task cancels the nested one too (bpo-34872).
#[test]
fn test_cancel_awaited_task() {
    let dropped = Counter::new();
    let d = dropped.clone();
    vloop()
        .run(async move {
            let outer = tulipa::spawn(async move {
                let nested = tulipa::spawn(sleep_then(secs(60), (), d));
                tulipa::current_task().unwrap().cancel();
                nested.await
            });
            assert!(outer.await.unwrap_err().is_cancelled());
            tulipa::yield_now().await;
        })
        .unwrap();
    assert_eq!(dropped.get(), 1);
}

/// test_cancel_at_end: a task that cancels itself and then returns ends
/// cancelled, its value discarded.
#[test]
fn test_cancel_at_end() {
    let out = vloop().run(async {
        let task = tulipa::spawn(async {
            assert!(tulipa::current_task().unwrap().cancel());
            12
        });
        task.await
    });
    assert!(out.unwrap().unwrap_err().is_cancelled());
}

/// test_cancel_current_task: `current_task().cancel()` then a suspension:
/// the task ends cancelled at once, not after the sleep.
#[test]
fn test_cancel_current_task() {
    let lp = vloop();
    let start = lp.time();
    let out = lp.run_until_complete(async {
        tulipa::spawn(async {
            let me = tulipa::current_task().unwrap();
            assert!(me.cancel());
            assert!(me.is_cancelling());
            tulipa::sleep(secs(100)).await;
            "not reached"
        })
        .await
    });
    assert!(out.unwrap().unwrap_err().is_cancelled());
    assert!(lp.time() - start < secs(1));
}

/// test_shield_effect with an awaited handle: the shield detaches.
#[test]
fn a_shielded_task_survives_its_awaiter_timing_out() {
    let finished = Counter::new();
    let f = finished.clone();
    vloop()
        .run(async move {
            let f2 = f.clone();
            let task = tulipa::spawn(async move {
                tulipa::sleep(secs(1)).await;
                f2.bump();
                "done"
            });
            // WaitForShieldTests.test_shielded_timeout.
            let shielded = tulipa::shield(task);
            assert!(tulipa::wait_for(shielded, ms(10)).await.is_err());
            tulipa::sleep(secs(2)).await;
        })
        .unwrap();
    assert_eq!(finished.get(), 1);
}

/// test_yield_wait_does_not_shield_cancel's other half: cancelling a task
/// blocked in `wait()` leaves the waited tasks running, and a timeout of
/// `wait` hands the pending ones back uncancelled.
#[test]
fn wait_gives_pending_tasks_back_uncancelled() {
    let finished = Counter::new();
    let f = finished.clone();
    vloop()
        .run(async move {
            let f2 = f.clone();
            let inner = tulipa::spawn(async move {
                tulipa::sleep(secs(1)).await;
                f2.bump();
            });
            let (done, pending) = tulipa::wait([inner], ReturnWhen::AllCompleted, Some(ms(10)))
                .await
                .unwrap();
            assert!(done.is_empty());
            assert!(!pending[0].is_cancelling());
            drop(pending);
            let f3 = f.clone();
            let other = tulipa::spawn(async move {
                tulipa::sleep(secs(1)).await;
                f3.bump();
            });
            let waiter = tulipa::spawn(async move {
                tulipa::wait([other], ReturnWhen::AllCompleted, None).await
            });
            tulipa::sleep(ms(10)).await;
            waiter.cancel();
            assert!(waiter.await.is_err());
            tulipa::sleep(secs(2)).await;
        })
        .unwrap();
    assert_eq!(finished.get(), 2);
}

/// test_wait_for_waits_for_task_cancellation: the `TimeoutError` comes only
/// after the cancelled task's cleanup ran, including tasks awaited deeper
/// inside the future (the children of a gather).
#[test]
fn test_wait_for_waits_for_task_cancellation() {
    let dropped = Counter::new();
    let d = dropped.clone();
    vloop()
        .run(async move {
            let a = tulipa::spawn(sleep_then(secs(60), 1, d.clone()));
            let b = tulipa::spawn(sleep_then(secs(60), 2, d.clone()));
            let err = tulipa::wait_for(tulipa::gather([a, b]), ms(5)).await;
            assert!(err.is_err());
            assert_eq!(d.get(), 2, "both children unwound before the error");
        })
        .unwrap();
}

/// test_wait_for_waits_for_task_cancellation_w_timeout_0.
#[test]
fn test_wait_for_waits_for_task_cancellation_w_timeout_0() {
    let dropped = Counter::new();
    let d = dropped.clone();
    vloop()
        .run(async move {
            let task = tulipa::spawn(sleep_then(secs(60), (), d.clone()));
            assert!(tulipa::wait_for(task, Duration::ZERO).await.is_err());
            assert_eq!(d.get(), 1);
        })
        .unwrap();
}

/// `timeout()` waits for the tasks it cancelled in the same way.
#[test]
fn timeout_reports_only_after_the_cancelled_task_unwound() {
    let dropped = Counter::new();
    let d = dropped.clone();
    vloop()
        .run(async move {
            let task = tulipa::spawn(sleep_then(secs(60), (), d.clone()));
            let cm = tulipa::timeout(ms(5));
            assert!(cm.run(task).await.is_err());
            assert!(cm.expired());
            assert_eq!(d.get(), 1);
        })
        .unwrap();
}

/// test_cancel_wait_for / test_cancel_blocking_wait_for: cancelling the
/// task running `wait_for(task, t)` cancels the inner task, whatever `t`.
#[test]
fn test_cancel_wait_for_and_test_cancel_blocking_wait_for() {
    for limit in [secs(60), secs(u64::from(u32::MAX))] {
        let dropped = Counter::new();
        let d = dropped.clone();
        vloop()
            .run(async move {
                let inner = tulipa::spawn(sleep_then(secs(3600), (), d.clone()));
                let id = inner.id();
                let outer = tulipa::spawn(async move { tulipa::wait_for(inner, limit).await });
                tulipa::sleep(ms(1)).await;
                outer.cancel();
                assert!(outer.await.unwrap_err().is_cancelled());
                tulipa::yield_now().await;
                assert!(!alive(id));
                assert_eq!(d.get(), 1);
            })
            .unwrap();
    }
}

/// `cancel_on_drop` still cancels a task nobody polled.
#[test]
fn cancel_on_drop_cancels_even_a_never_awaited_task() {
    let dropped = Counter::new();
    let d = dropped.clone();
    vloop()
        .run(async move {
            let task = tulipa::spawn(sleep_then(secs(60), (), d.clone()));
            drop(task.cancel_on_drop());
            tulipa::yield_now().await;
            assert_eq!(d.get(), 1);
        })
        .unwrap();
}

#[test]
fn task_errors_are_send_and_sync_and_convert_into_boxed_errors() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<TaskError>();
    send_sync::<tulipa::PanicError>();
    send_sync::<tulipa::ExecError>();
    let out: Result<(), Box<dyn std::error::Error + Send + Sync>> = (|| {
        let lp = tulipa::EventLoop::new()?;
        let task = lp.spawn(async { panic!("boom") });
        lp.run_until_complete(task)??;
        Ok(())
    })();
    assert_eq!(out.unwrap_err().to_string(), "task panicked: boom");
}
