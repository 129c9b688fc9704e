//! `timeout` / `timeout_at` / `Timeout`, ported from CPython's
//! `Lib/test/test_asyncio/test_timeouts.py` where the cases mean something
//! in Rust. Cases about catching `CancelledError` inside the scope, or
//! entering a context manager twice, have no Rust counterpart (a scope here
//! may run several futures; see `scope_runs_several_futures_under_one_deadline`).
#![cfg(not(loom))]

#[path = "support/combinators.rs"]
mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use support::{ms, secs, since, sleep_then, vloop, Counter};
use tulipa::{timeout, timeout_at, Timeout};

/// test_timeout_basic
#[test]
fn test_timeout_basic() {
    vloop()
        .run(async {
            let cm = timeout(ms(10));
            assert!(cm.run(tulipa::sleep(secs(10))).await.is_err());
            assert!(cm.expired());
        })
        .unwrap();
}

/// test_timeout_at_basic
#[test]
fn test_timeout_at_basic() {
    vloop()
        .run(async {
            let deadline = tulipa::now() + ms(10);
            let cm = timeout_at(deadline);
            assert!(cm.run(tulipa::sleep(secs(10))).await.is_err());
            assert!(cm.expired());
            assert_eq!(cm.when(), Some(deadline));
            assert_eq!(tulipa::now(), deadline);
        })
        .unwrap();
}

/// test_nested_timeouts: both scopes share a deadline; both expire, and
/// only the outer one reports the timeout (the inner one is dropped with
/// the body, as asyncio's inner scope sees only `CancelledError`).
#[test]
fn test_nested_timeouts() {
    vloop()
        .run(async {
            let deadline = tulipa::now() + ms(10);
            let cm1 = timeout_at(deadline);
            let cm2 = timeout_at(deadline);
            let out = cm1.run(cm2.run(tulipa::sleep(secs(10)))).await;
            assert!(out.is_err(), "the outer scope reports: {out:?}");
            assert!(cm1.expired());
            assert!(cm2.expired());
        })
        .unwrap();
}

/// test_nested_timeouts_concurrent: the shorter outer deadline fires first
/// and drops the inner scope with its future.
#[test]
fn test_nested_timeouts_concurrent_outer_shorter() {
    vloop()
        .run(async {
            let start = tulipa::now();
            let outer = timeout(ms(2));
            let inner = timeout(ms(100));
            let out = outer.run(inner.run(tulipa::sleep(secs(1)))).await;
            assert!(out.is_err());
            assert!(outer.expired() && !inner.expired());
            assert_eq!(since(start), ms(2));
        })
        .unwrap();
}

/// test_nested_timeouts_loop_busy: after the inner timeout is handled, the
/// outer one still interrupts what follows.
#[test]
fn test_nested_timeouts_outer_interrupts_after_inner_handled() {
    vloop()
        .run(async {
            let start = tulipa::now();
            let outer = timeout(ms(100));
            let out = outer
                .run(async {
                    let inner = timeout(ms(10));
                    assert!(inner.run(tulipa::sleep(secs(1))).await.is_err());
                    tulipa::sleep(secs(10)).await;
                })
                .await;
            assert!(out.is_err());
            assert_eq!(since(start), ms(100));
        })
        .unwrap();
}

/// test_waiter_cancelled: the future under the scope is cancelled (its
/// cleanup runs) when the deadline passes.
#[test]
fn test_waiter_cancelled() {
    vloop()
        .run(async {
            let dropped = Counter::new();
            let out = timeout(ms(10))
                .run(sleep_then(secs(10), (), dropped.clone()))
                .await;
            assert!(out.is_err());
            assert_eq!(dropped.get(), 1);
        })
        .unwrap();
}

/// test_timeout_not_called
#[test]
fn test_timeout_not_called() {
    vloop()
        .run(async {
            let cm = timeout(secs(10));
            cm.run(tulipa::sleep(ms(10))).await.unwrap();
            let t1 = tulipa::now();
            assert!(!cm.expired());
            assert!(cm.when().unwrap() > t1);
        })
        .unwrap();
}

/// test_timeout_disabled / test_timeout_at_disabled
#[test]
fn test_timeout_disabled() {
    vloop()
        .run(async {
            let cm = Timeout::never();
            cm.run(tulipa::sleep(ms(10))).await.unwrap();
            assert!(!cm.expired());
            assert_eq!(cm.when(), None);
        })
        .unwrap();
}

/// test_timeout_zero: expires without time passing.
#[test]
fn test_timeout_zero() {
    vloop()
        .run(async {
            let t0 = tulipa::now();
            let cm = timeout(ms(0));
            assert!(cm.run(tulipa::sleep(secs(10))).await.is_err());
            let t1 = tulipa::now();
            assert!(cm.expired());
            assert!(t0 <= cm.when().unwrap() && cm.when().unwrap() <= t1);
            assert_eq!(t0, t1);
        })
        .unwrap();
}

/// test_timeout_zero_sleep_zero / test_timeout_in_the_past_sleep_zero: a
/// deadline that has already passed times out a body that waits even one
/// iteration, as asyncio raises `TimeoutError`; a body that never waits
/// keeps its output.
#[test]
fn test_timeout_zero_sleep_zero() {
    vloop()
        .run(async {
            let zero = timeout(Duration::ZERO);
            assert!(zero.run(tulipa::sleep(Duration::ZERO)).await.is_err());
            assert!(zero.expired());
            let past = timeout_at(tulipa::now() - ms(11));
            let out = past
                .run(async {
                    tulipa::sleep(ms(0)).await;
                    1
                })
                .await;
            assert!(out.is_err());
            assert!(past.expired());
            let ready = timeout(Duration::ZERO);
            assert_eq!(ready.run(async { 7 }).await, Ok(7));
            assert!(!ready.expired());
        })
        .unwrap();
}

/// The body is dropped one iteration after the deadline is seen, without
/// another poll: a callback scheduled when the body started runs first,
/// as asyncio's `_on_timeout` → `task.cancel()` order has it.
#[test]
fn timeout_expires_one_iteration_after_the_deadline_is_seen() {
    let log = Rc::new(RefCell::new(Vec::<String>::new()));
    let push = |log: &Rc<RefCell<Vec<String>>>, s: &str| log.borrow_mut().push(s.to_string());
    vloop()
        .run({
            let log = log.clone();
            async move {
                let lp = tulipa::get_running_loop().expect("inside the loop");
                let cm = timeout(Duration::ZERO);
                let body = {
                    let log = log.clone();
                    async move {
                        push(&log, "body polled");
                        tulipa::yield_now().await;
                        push(&log, "body resumed");
                    }
                };
                let l2 = log.clone();
                let _ = lp.call_soon(move || push(&l2, "callback"));
                let out = cm.run(body).await;
                push(
                    &log,
                    if out.is_err() {
                        "timed out"
                    } else {
                        "finished"
                    },
                );
            }
        })
        .unwrap();
    assert_eq!(*log.borrow(), ["body polled", "callback", "timed out"]);
}

/// test_foreign_exception_passed: an error from the body passes through
/// untouched and the scope is not expired.
#[test]
fn test_foreign_exception_passed() {
    vloop()
        .run(async {
            let cm = timeout(ms(10));
            let out = cm.run(async { Err::<(), _>("KeyError") }).await;
            assert_eq!(out, Ok(Err("KeyError")));
            assert!(!cm.expired());
        })
        .unwrap();
}

/// test_foreign_exception_on_timeout: a panic in the body's cleanup on
/// timeout propagates.
#[test]
fn test_foreign_exception_on_timeout() {
    struct Crash;
    impl Drop for Crash {
        fn drop(&mut self) {
            panic!("ZeroDivisionError");
        }
    }
    vloop()
        .run(async {
            let task = tulipa::spawn(async {
                timeout(ms(10))
                    .run(async {
                        let _crash = Crash;
                        tulipa::sleep(secs(1)).await;
                    })
                    .await
            });
            assert!(task.await.unwrap_err().is_panic());
        })
        .unwrap();
}

/// test_foreign_cancel_doesnt_timeout_if_not_expired: cancelling the task
/// inside the scope cancels it, and the scope is not expired.
#[test]
fn test_foreign_cancel_doesnt_timeout_if_not_expired() {
    vloop()
        .run(async {
            let cm = timeout(secs(10));
            let cm2 = cm.clone();
            let task = tulipa::spawn(async move { cm2.run(tulipa::sleep(secs(10))).await });
            tulipa::sleep(ms(1)).await;
            task.cancel();
            assert!(task.await.unwrap_err().is_cancelled());
            assert!(!cm.expired());
        })
        .unwrap();
}

/// test_outer_task_is_not_cancelled: the task running the timed-out scope
/// finishes normally.
#[test]
fn test_outer_task_is_not_cancelled() {
    vloop()
        .run(async {
            let task = tulipa::spawn(async {
                assert!(timeout(ms(1)).run(tulipa::sleep(secs(10))).await.is_err());
            });
            tulipa::sleep(ms(5)).await;
            assert!(task.is_done() && !task.is_cancelled());
            task.await.unwrap();
        })
        .unwrap();
}

/// test_reschedule: the deadline is moved (later, then removed) from
/// another task while the scope runs; a later cancel is not an expiry.
#[test]
fn test_reschedule() {
    vloop()
        .run(async {
            let deadline1 = tulipa::now() + secs(10);
            let deadline2 = deadline1 + secs(20);
            let cm = timeout_at(deadline1);
            let inner = cm.clone();
            let task = tulipa::spawn(async move { inner.run(tulipa::sleep(secs(50))).await });
            tulipa::yield_now().await;
            assert_eq!(cm.when(), Some(deadline1));
            cm.reschedule(Some(deadline2));
            assert_eq!(cm.when(), Some(deadline2));
            tulipa::sleep(secs(15)).await; // past deadline1: nothing happens
            assert!(!task.is_done());
            cm.reschedule(None);
            assert_eq!(cm.when(), None);
            tulipa::sleep(secs(20)).await; // past deadline2: nothing happens
            assert!(!task.is_done());
            task.cancel();
            assert!(task.await.unwrap_err().is_cancelled());
            assert!(!cm.expired());
        })
        .unwrap();
}

/// Rescheduling earlier wakes the running scope so it expires at the new
/// deadline, not the old one.
#[test]
fn reschedule_earlier_takes_effect_at_once() {
    vloop()
        .run(async {
            let start = tulipa::now();
            let cm = timeout(secs(60));
            let inner = cm.clone();
            let task = tulipa::spawn(async move { inner.run(tulipa::sleep(secs(3600))).await });
            tulipa::sleep(secs(1)).await;
            cm.reschedule(Some(tulipa::now() + secs(2)));
            assert!(task.await.unwrap().is_err());
            assert_eq!(since(start), secs(3));
            assert!(cm.expired());
        })
        .unwrap();
}

/// The body can push its own deadline back.
#[test]
fn reschedule_from_inside_the_body_extends_it() {
    vloop()
        .run(async {
            let start = tulipa::now();
            let cm = timeout(secs(1));
            let me = cm.clone();
            let out = cm
                .run(async move {
                    for _ in 0..5 {
                        tulipa::sleep(ms(900)).await;
                        me.reschedule(Some(tulipa::now() + secs(1)));
                    }
                    "done"
                })
                .await;
            assert_eq!(out, Ok("done"));
            assert_eq!(since(start), ms(4500));
        })
        .unwrap();
}

/// test_timeout_double_enter has no port as such: a scope may run several
/// futures, which share its deadline.
#[test]
fn scope_runs_several_futures_under_one_deadline() {
    vloop()
        .run(async {
            let start = tulipa::now();
            let cm = timeout(secs(3));
            assert!(cm.run(tulipa::sleep(secs(1))).await.is_ok());
            let (a, b) = tulipa::gather!(
                cm.run(tulipa::sleep(secs(1))),
                cm.run(tulipa::sleep(secs(5)))
            )
            .await;
            assert!(a.is_ok() && b.is_err());
            assert_eq!(since(start), secs(3));
        })
        .unwrap();
}

/// test_repr_active / test_repr_expired / test_repr_disabled: `Debug`
/// shows the deadline and whether it expired.
#[test]
fn test_repr_shows_state() {
    vloop()
        .run(async {
            let cm = Timeout::never();
            assert_eq!(format!("{cm:?}"), "Timeout { when: None, expired: false }");
            let cm = timeout(ms(1));
            let _ = cm.run(tulipa::sleep(secs(1))).await;
            assert!(format!("{cm:?}").ends_with("expired: true }"));
        })
        .unwrap();
}

/// A scope reused by many runs in many tasks keeps working, and
/// rescheduling reaches every run still in progress.
#[test]
fn scope_shared_by_many_tasks_reschedule_reaches_all() {
    vloop()
        .run(async {
            let start = tulipa::now();
            let cm = timeout(secs(100));
            for _ in 0..100 {
                cm.run(tulipa::yield_now()).await.unwrap();
            }
            let tasks: Vec<_> = (0..5)
                .map(|_| {
                    let cm = cm.clone();
                    tulipa::spawn(async move { cm.run(tulipa::sleep(secs(3600))).await })
                })
                .collect();
            tulipa::sleep(secs(1)).await;
            cm.reschedule(Some(tulipa::now() + secs(1)));
            for t in tasks {
                assert!(t.await.unwrap().is_err());
            }
            assert_eq!(since(start), secs(2));
        })
        .unwrap();
}

/// A run woken by one reschedule goes back in line, so a second
/// reschedule reaches it too; a run dropped while woken (before it looked)
/// leaves nothing behind in the scope.
#[test]
fn reschedule_reaches_a_run_woken_by_an_earlier_reschedule() {
    vloop()
        .run(async {
            let start = tulipa::now();
            let cm = timeout(secs(60));
            let spawn_run = |cm: &Timeout| {
                let cm = cm.clone();
                tulipa::spawn(async move { cm.run(tulipa::sleep(secs(3600))).await })
            };
            let kept = spawn_run(&cm);
            let dropped = spawn_run(&cm);
            tulipa::sleep(secs(1)).await;
            cm.reschedule(Some(tulipa::now() + secs(120))); // wakes both runs
            dropped.cancel(); // dropped before it looks at its wake-up
            tulipa::sleep(secs(1)).await;
            cm.reschedule(Some(tulipa::now() + secs(1)));
            assert!(kept.await.unwrap().is_err());
            assert_eq!(
                since(start),
                secs(3),
                "the second reschedule took effect at once"
            );
            assert!(dropped.await.unwrap_err().is_cancelled());
            // The scope still serves new runs.
            cm.reschedule(None);
            let late = spawn_run(&cm);
            tulipa::yield_now().await;
            cm.reschedule(Some(tulipa::now() + secs(2)));
            assert!(late.await.unwrap().is_err());
            assert_eq!(since(start), secs(5));
        })
        .unwrap();
}
