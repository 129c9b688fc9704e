//! `TaskGroup`, ported from CPython's `Lib/test/test_asyncio/test_taskgroups.py`
//! where the cases mean something in Rust. Cases where the body catches
//! `CancelledError` and keeps running (`_15`, `_16`, `_18`, `_21`) have no
//! port: cancellation is drop, and a dropped body cannot await. Raising in
//! a `finally:` block (`_19`, `_20a`) is a panic in `Drop` here.
#![cfg(not(loom))]

#[path = "support/combinators.rs"]
mod support;

use support::{ms, secs, since, vloop, Counter};
use tulipa::combinators::ChildError;
use tulipa::{TaskError, TaskGroup};

type Group = TaskGroup<String>;

async fn ok_after<T>(d: std::time::Duration, v: T) -> Result<T, String> {
    tulipa::sleep(d).await;
    Ok(v)
}

async fn fail_after<T>(d: std::time::Duration, msg: &str) -> Result<T, String> {
    tulipa::sleep(d).await;
    Err(msg.to_string())
}

/// Sleeps, bumping `cancelled` if dropped before the end (even before its
/// first poll).
fn cancellable(
    d: std::time::Duration,
    cancelled: Counter,
) -> impl std::future::Future<Output = Result<(), String>> {
    let guard = cancelled.on_drop();
    async move {
        tulipa::sleep(d).await;
        std::mem::forget(guard);
        Ok(())
    }
}

/// test_taskgroup_01: the scope waits for every child.
#[test]
fn test_taskgroup_01() {
    vloop()
        .run(async {
            let start = tulipa::now();
            let (t1, t2) = Group::scope(|g| async move {
                Ok((
                    g.spawn(ok_after(ms(100), 42)),
                    g.spawn(ok_after(ms(200), 11)),
                ))
            })
            .await
            .unwrap();
            assert_eq!(since(start), ms(200));
            assert_eq!((t1.await.unwrap(), t2.await.unwrap()), (42, 11));
        })
        .unwrap();
}

/// test_taskgroup_02: a child spawned after the body slept.
#[test]
fn test_taskgroup_02() {
    vloop()
        .run(async {
            let start = tulipa::now();
            let (t1, t2) = Group::scope(|g| async move {
                let t1 = g.spawn(ok_after(ms(100), 42));
                tulipa::sleep(ms(150)).await;
                Ok((t1, g.spawn(ok_after(ms(200), 11))))
            })
            .await
            .unwrap();
            assert_eq!(since(start), ms(350));
            assert_eq!((t1.await.unwrap(), t2.await.unwrap()), (42, 11));
        })
        .unwrap();
}

/// test_taskgroup_03: a child cancelled explicitly is not a failure.
#[test]
fn test_taskgroup_03() {
    vloop()
        .run(async {
            let (t1, t2) = Group::scope(|g| async move {
                let t1 = g.spawn(ok_after(secs(1), 42));
                tulipa::sleep(ms(150)).await;
                t1.cancel();
                Ok((t1, g.spawn(ok_after(ms(200), 11))))
            })
            .await
            .unwrap();
            assert!(t1.is_cancelled());
            assert_eq!(t2.await.unwrap(), 11);
        })
        .unwrap();
}

/// test_taskgroup_04: a child error cancels its sibling; the code after
/// the scope does not run; the group reports the error.
#[test]
fn test_taskgroup_04() {
    vloop()
        .run(async {
            let t2_cancel = Counter::new();
            let c = t2_cancel.clone();
            let runner = tulipa::spawn(async move {
                Group::scope(|g| async move {
                    drop(g.spawn(fail_after::<()>(ms(100), "ZeroDivisionError")));
                    drop(g.spawn(cancellable(secs(1), c)));
                    Ok(())
                })
                .await?;
                Ok::<_, tulipa::combinators::GroupError<String>>(10)
            });
            let err = runner.await.unwrap().unwrap_err();
            assert_eq!(err.errors().len(), 1);
            assert!(matches!(&err.errors()[0], ChildError::Failed(e) if e == "ZeroDivisionError"));
            assert_eq!(t2_cancel.get(), 1);
        })
        .unwrap();
}

/// test_cancel_children_on_child_error: three failing children and a
/// slow one; the slow child and the body are cancelled; the errors are all
/// of the failing kind.
#[test]
fn test_cancel_children_on_child_error() {
    vloop()
        .run(async {
            let start = tulipa::now();
            let t2_cancel = Counter::new();
            let runner_cancel = Counter::new();
            let (c2, cr) = (t2_cancel.clone(), runner_cancel.clone());
            let err = Group::scope(|g| async move {
                for _ in 0..3 {
                    drop(g.spawn(fail_after::<()>(ms(100), "ZeroDivisionError")));
                }
                drop(g.spawn(cancellable(secs(5), c2)));
                cancellable(secs(10), cr).await
            })
            .await
            .unwrap_err();
            // All three wake in the same iteration; the first failure's
            // cancel reaches the other two before they run again.
            assert_eq!(err.errors().len(), 1);
            assert!(err
                .errors()
                .iter()
                .all(|e| matches!(e, ChildError::Failed(m) if m == "ZeroDivisionError")));
            assert_eq!(err.to_string(), "1 task of the group failed");
            assert_eq!((t2_cancel.get(), runner_cancel.get()), (1, 1));
            assert_eq!(since(start), ms(100));
        })
        .unwrap();
}

/// test_cancellation: cancelling the task running the scope cancels every
/// child, and they are gone before the canceller resumes.
#[test]
fn test_cancellation() {
    vloop()
        .run(async {
            let num = Counter::new();
            let n = num.clone();
            let r = tulipa::spawn(Group::scope(|g| async move {
                for _ in 0..5 {
                    drop(g.spawn(cancellable(secs(5), n.clone())));
                }
                Ok(())
            }));
            tulipa::sleep(ms(100)).await;
            assert!(!r.is_done());
            r.cancel();
            assert!(r.await.unwrap_err().is_cancelled());
            assert_eq!(num.get(), 5);
            assert!(tulipa::all_tasks().is_empty());
        })
        .unwrap();
}

/// test_taskgroup_07: the body is cancelled with the children.
#[test]
fn test_taskgroup_07() {
    vloop()
        .run(async {
            let num = Counter::new();
            let n = num.clone();
            let r = tulipa::spawn(Group::scope(|g| async move {
                for _ in 0..5 {
                    drop(g.spawn(cancellable(secs(5), n.clone())));
                }
                let _body = Counter::on_drop(&n);
                let _more = Counter::on_drop(&n);
                tulipa::sleep(secs(10)).await;
                Ok(())
            }));
            tulipa::sleep(ms(100)).await;
            r.cancel();
            assert!(r.await.unwrap_err().is_cancelled());
            assert_eq!(num.get(), 7);
        })
        .unwrap();
}

/// test_taskgroup_09 / test_taskgroup_10: the body fails (after a sleep, or
/// at once): every child is cancelled and the error is reported.
#[test]
fn test_taskgroup_09_and_10_body_error_cancels_children() {
    for body_sleep in [Some(ms(100)), None] {
        vloop()
            .run(async move {
                let (slot1, slot2) = (
                    std::rc::Rc::new(std::cell::RefCell::new(None)),
                    std::rc::Rc::new(std::cell::RefCell::new(None)),
                );
                let (s1, s2) = (slot1.clone(), slot2.clone());
                let err = Group::scope(|g| async move {
                    *s1.borrow_mut() = Some(g.spawn(ok_after(secs(1), 42)));
                    *s2.borrow_mut() = Some(g.spawn(ok_after(secs(2), 11)));
                    if let Some(d) = body_sleep {
                        tulipa::sleep(d).await;
                    }
                    Err::<(), _>("ZeroDivisionError".to_string())
                })
                .await
                .unwrap_err();
                assert_eq!(err.errors().len(), 1);
                let t1 = slot1.borrow_mut().take().unwrap();
                let t2 = slot2.borrow_mut().take().unwrap();
                assert!(t1.is_cancelled() && t2.is_cancelled());
            })
            .unwrap();
    }
}

/// test_taskgroup_11 / test_taskgroup_12: cancelling a task running nested
/// groups cancels everything inside.
#[test]
fn test_taskgroup_12_nested_groups_cancelled() {
    vloop()
        .run(async {
            let num = Counter::new();
            let n = num.clone();
            let r = tulipa::spawn(Group::scope(|g1| async move {
                drop(g1.spawn(cancellable(secs(10), n.clone())));
                Group::scope(|g2| async move {
                    for _ in 0..5 {
                        drop(g2.spawn(cancellable(secs(10), n.clone())));
                    }
                    tulipa::sleep(secs(10)).await;
                    Ok(())
                })
                .await
                .map_err(|e| e.to_string())
            }));
            tulipa::sleep(ms(100)).await;
            r.cancel();
            assert!(r.await.unwrap_err().is_cancelled());
            assert_eq!(num.get(), 6);
        })
        .unwrap();
}

/// test_taskgroup_13: an outer child fails first: the inner group (in the
/// body) is dropped with its child; only the outer error is reported.
#[test]
fn test_taskgroup_13() {
    vloop()
        .run(async {
            let err = Group::scope(|g1| async move {
                drop(g1.spawn(fail_after::<()>(ms(100), "ValueError(0.1)")));
                Group::scope(|g2| async move {
                    drop(g2.spawn(fail_after::<()>(secs(10), "ValueError(10)")));
                    Ok(())
                })
                .await
                .map_err(|e| e.to_string())
            })
            .await
            .unwrap_err();
            let errors = err.into_errors();
            assert_eq!(errors.len(), 1);
            assert_eq!(
                errors.into_iter().next().unwrap().into_error().unwrap(),
                "ValueError(0.1)"
            );
        })
        .unwrap();
}

/// test_taskgroup_14: the inner group fails first; its error becomes the
/// body's error in the outer group (asyncio nests the ExceptionGroup).
#[test]
fn test_taskgroup_14() {
    vloop()
        .run(async {
            let err = Group::scope(|g1| async move {
                drop(g1.spawn(fail_after::<()>(secs(10), "ValueError(10)")));
                Group::scope(|g2| async move {
                    drop(g2.spawn(fail_after::<()>(ms(100), "ValueError(0.1)")));
                    Ok(())
                })
                .await
                .map_err(|e| format!("inner: {}", e.errors()[0]))
            })
            .await
            .unwrap_err();
            assert_eq!(err.errors().len(), 1);
            assert_eq!(
                err.errors()[0].to_string(),
                "task failed: inner: task failed: ValueError(0.1)"
            );
        })
        .unwrap();
}

/// test_taskgroup_17: a group with no children whose body is cancelled.
#[test]
fn test_taskgroup_17() {
    vloop()
        .run(async {
            let num = Counter::new();
            let n = num.clone();
            let r = tulipa::spawn(Group::scope(|_g| async move {
                let _g = n.on_drop();
                tulipa::sleep(secs(10)).await;
                Ok(())
            }));
            tulipa::sleep(ms(100)).await;
            r.cancel();
            assert!(r.await.unwrap_err().is_cancelled());
            assert_eq!(num.get(), 1);
        })
        .unwrap();
}

/// test_taskgroup_22: cancelling the task while the group waits for its
/// children (body already done).
#[test]
fn test_taskgroup_22() {
    vloop()
        .run(async {
            let r = tulipa::spawn(Group::scope(|g| async move {
                drop(g.spawn(ok_after(secs(1), 42)));
                drop(g.spawn(ok_after(secs(2), 11)));
                Ok(())
            }));
            tulipa::sleep(ms(50)).await;
            r.cancel();
            assert!(r.await.unwrap_err().is_cancelled());
            assert!(tulipa::all_tasks().is_empty());
        })
        .unwrap();
}

/// test_taskgroup_23: finished children leave the group.
#[test]
fn test_taskgroup_23() {
    vloop()
        .run(async {
            Group::scope(|g| async move {
                for count in 0..10 {
                    tulipa::sleep(ms(100)).await;
                    drop(g.spawn(ok_after(ms(300), ())));
                    if count == 5 {
                        assert!(g.len() < 5);
                    }
                }
                tulipa::sleep(ms(1350)).await;
                assert_eq!(g.len(), 0);
                assert!(g.is_empty());
                Ok(())
            })
            .await
            .unwrap();
        })
        .unwrap();
}

/// test_taskgroup_24: children spawn children into the group.
#[test]
fn test_taskgroup_24() {
    vloop()
        .run(async {
            let start = tulipa::now();
            Group::scope(|g| async move {
                let g2 = g.clone();
                drop(g.spawn(async move {
                    tulipa::sleep(ms(100)).await;
                    drop(g2.spawn(ok_after(ms(100), ())));
                    drop(g2.spawn(ok_after(ms(200), ())));
                    Ok(())
                }));
                Ok(())
            })
            .await
            .unwrap();
            assert_eq!(since(start), ms(300));
        })
        .unwrap();
}

/// test_taskgroup_25: hydras multiply until hercules fails, which ends them all.
#[test]
fn test_taskgroup_25() {
    fn hydra(
        g: Group,
        n: Counter,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>>>> {
        Box::pin(async move {
            n.bump();
            tulipa::sleep(ms(10)).await;
            drop(g.spawn(hydra(g.clone(), n.clone())));
            drop(g.spawn(hydra(g.clone(), n.clone())));
            Ok(())
        })
    }
    vloop()
        .run(async {
            let nhydras = Counter::new();
            let n = nhydras.clone();
            let err = Group::scope(|g| async move {
                drop(g.spawn(hydra(g.clone(), n.clone())));
                drop(g.spawn(async move {
                    while n.get() < 10 {
                        tulipa::sleep(ms(15)).await;
                    }
                    Err::<(), _>("ZeroDivisionError".to_string())
                }));
                Ok(())
            })
            .await
            .unwrap_err();
            assert_eq!(err.errors().len(), 1);
            assert!(nhydras.get() >= 10);
            assert!(tulipa::all_tasks().is_empty());
        })
        .unwrap();
}

/// test_taskgroup_task_name
#[test]
fn test_taskgroup_task_name() {
    tulipa::run(async {
        Group::scope(|g| async move {
            let t = g.spawn_named("yolo", async { Ok(()) });
            assert_eq!(t.name(), Some("yolo"));
            Ok(())
        })
        .await
        .unwrap();
    })
    .unwrap();
}

/// A panicking child is a failure like an error: the others are cancelled
/// and the panic is in the report; the failed child's handle says Cancelled.
#[test]
fn child_panic_is_a_failure_and_its_handle_reports_cancelled() {
    vloop()
        .run(async {
            let slot = std::rc::Rc::new(std::cell::RefCell::new(None));
            let s = slot.clone();
            let cancelled = Counter::new();
            let c = cancelled.clone();
            let err = Group::scope(|g| async move {
                *s.borrow_mut() = Some(g.spawn(async {
                    tulipa::sleep(ms(10)).await;
                    if true {
                        panic!("child panicked");
                    }
                    Ok(())
                }));
                drop(g.spawn(cancellable(secs(10), c)));
                Ok(())
            })
            .await
            .unwrap_err();
            assert!(err.errors()[0].is_panic());
            assert_eq!(err.errors()[0].to_string(), "task panicked: child panicked");
            assert_eq!(cancelled.get(), 1);
            let failed = slot.borrow_mut().take().unwrap();
            assert!(matches!(failed.await, Err(TaskError::Cancelled)));
        })
        .unwrap();
}

/// The first failure is the one reported first; children failing later
/// were cancelled before they could.
#[test]
fn first_failure_cancels_later_failures() {
    vloop()
        .run(async {
            let err = Group::scope(|g| async move {
                drop(g.spawn(fail_after::<()>(ms(20), "second")));
                drop(g.spawn(fail_after::<()>(ms(10), "first")));
                drop(g.spawn(fail_after::<()>(ms(20), "third")));
                Ok(())
            })
            .await
            .unwrap_err();
            let msgs: Vec<_> = err
                .into_errors()
                .into_iter()
                .map(|e| e.into_error().unwrap())
                .collect();
            assert_eq!(msgs, ["first"]);
        })
        .unwrap();
}

struct RaiseInFinally(&'static str);
impl Drop for RaiseInFinally {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}

/// test_taskgroup_19 / test_taskgroup_20a: the body is cancelled by a
/// child's failure and fails again in its cleanup: both are reported, in
/// order.
#[test]
fn test_taskgroup_19_cleanup_failure_of_the_body_is_reported() {
    vloop()
        .run(async {
            let err = Group::scope(|g| async move {
                drop(g.spawn(fail_after::<()>(ms(100), "ZeroDivisionError")));
                let _finally = RaiseInFinally("MyExc");
                tulipa::sleep(secs(10)).await;
                Ok(())
            })
            .await
            .unwrap_err();
            let errors = err.errors();
            assert_eq!(errors.len(), 2);
            assert!(matches!(&errors[0], ChildError::Failed(e) if e == "ZeroDivisionError"));
            assert_eq!(errors[1].to_string(), "task panicked: MyExc");
        })
        .unwrap();
}

/// A cancelled sibling that panics in its cleanup adds its panic to the
/// report (asyncio: an exception raised while handling the cancel).
#[test]
fn cancelled_child_cleanup_panic_is_reported() {
    vloop()
        .run(async {
            let err = Group::scope(|g| async move {
                drop(g.spawn(fail_after::<()>(ms(100), "first")));
                drop(g.spawn(async {
                    let _finally = RaiseInFinally("cleanup");
                    tulipa::sleep(secs(10)).await;
                    Ok(())
                }));
                Ok(())
            })
            .await
            .unwrap_err();
            assert_eq!(err.errors().len(), 2);
            assert_eq!(err.errors()[1].to_string(), "task panicked: cleanup");
        })
        .unwrap();
}

/// A panic in the body is a failure like a child's: children are
/// cancelled and the panic is reported.
#[test]
fn body_panic_is_a_failure() {
    vloop()
        .run(async {
            let cancelled = Counter::new();
            let c = cancelled.clone();
            let err = Group::scope(|g| async move {
                drop(g.spawn(cancellable(secs(10), c)));
                tulipa::sleep(ms(10)).await;
                if true {
                    panic!("body");
                }
                Ok(())
            })
            .await
            .unwrap_err();
            assert_eq!(err.errors()[0].to_string(), "task panicked: body");
            assert_eq!(cancelled.get(), 1);
        })
        .unwrap();
}

/// A group scope dropped before its first poll still cancels children the
/// body closure spawned, and a child cancelled before its first poll still
/// leaves the group (the `_10` hang this caught).
#[test]
fn scope_dropped_before_first_poll_cancels_children() {
    vloop()
        .run(async {
            let cancelled = Counter::new();
            let c = cancelled.clone();
            let scope = Group::scope(|g| {
                drop(g.spawn(cancellable(secs(10), c)));
                async { Ok(()) }
            });
            drop(scope);
            tulipa::yield_now().await;
            assert_eq!(cancelled.get(), 1);
            assert!(tulipa::all_tasks().is_empty());
        })
        .unwrap();
}

/// Spawning into a finished group, or one cancelling after a failure, is
/// refused: the task is cancelled without running.
#[test]
fn spawn_into_finished_or_aborting_group_is_refused() {
    vloop()
        .run(async {
            let kept = std::rc::Rc::new(std::cell::RefCell::new(None));
            let k = kept.clone();
            let ran = Counter::new();
            Group::scope(|g| async move {
                *k.borrow_mut() = Some(g);
                Ok(())
            })
            .await
            .unwrap();
            let g = kept.borrow_mut().take().unwrap();
            let r = ran.clone();
            let late = g.spawn(async move {
                r.bump();
                Ok(())
            });
            assert!(late.await.unwrap_err().is_cancelled());

            let r = ran.clone();
            let err = Group::scope(|g| async move {
                drop(g.spawn(fail_after::<()>(ms(1), "boom")));
                let g2 = g.clone();
                drop(g.spawn(async move {
                    tulipa::sleep(ms(1)).await;
                    // Runs in the same iteration as the failure, just after it.
                    let refused = g2.spawn(async move {
                        r.bump();
                        Ok(())
                    });
                    assert!(g2.is_aborting());
                    drop(refused);
                    Ok(())
                }));
                Ok(())
            })
            .await
            .unwrap_err();
            assert_eq!(err.errors().len(), 1);
            assert_eq!(ran.get(), 0);
        })
        .unwrap();
}

/// No child outlives its group: when the scope returns, or the task
/// running it has been cancelled and awaited, no child task is alive.
#[test]
fn no_child_outlives_its_group() {
    vloop()
        .run(async {
            Group::scope(|g| async move {
                for i in 0..50u64 {
                    drop(g.spawn(ok_after(ms(i), ())));
                }
                Ok(())
            })
            .await
            .unwrap();
            assert!(tulipa::all_tasks().is_empty());
            let r = tulipa::spawn(Group::scope(|g| async move {
                for i in 0..50u64 {
                    drop(g.spawn(ok_after(secs(i), ())));
                }
                tulipa::sleep(secs(100)).await;
                Ok(())
            }));
            tulipa::sleep(ms(1500)).await;
            r.cancel();
            let _ = r.await;
            assert!(tulipa::all_tasks().is_empty());
        })
        .unwrap();
}

/// Children that come and go in waves reuse the group's places; the count
/// stays exact, and a failure cancels exactly the children still running.
#[test]
fn children_in_waves_reuse_places_and_a_failure_cancels_only_the_live_ones() {
    vloop()
        .run(async {
            let cancelled = Counter::new();
            let c = cancelled.clone();
            let out = Group::scope(|g| async move {
                for wave in 0..10u64 {
                    for i in 0..100u64 {
                        drop(g.spawn(ok_after(ms(i), wave)));
                    }
                    assert_eq!(g.len(), 100);
                    tulipa::sleep(ms(100)).await;
                    assert!(g.is_empty(), "wave {wave} finished");
                }
                for _ in 0..7 {
                    drop(g.spawn(cancellable(secs(60), c.clone())));
                }
                drop(g.spawn(fail_after::<()>(ms(1), "boom")));
                assert_eq!(g.len(), 8);
                tulipa::sleep(secs(60)).await;
                Ok(())
            })
            .await;
            assert_eq!(out.unwrap_err().errors().len(), 1);
            assert_eq!(cancelled.get(), 7);
            assert!(tulipa::all_tasks().is_empty());
        })
        .unwrap();
}
