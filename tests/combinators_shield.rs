//! `shield`, ported from the shield cases of CPython's
//! `Lib/test/test_asyncio/test_tasks.py` and `WaitForShieldTests` of
//! `test_waitfor.py`.
#![cfg(not(loom))]

#[path = "support/combinators.rs"]
mod support;

use support::{ms, secs, vloop, Counter};

/// test_shield_result / test_shield_exception: the outer mirrors the inner.
#[test]
fn test_shield_result_and_exception() {
    vloop()
        .run(async {
            let ok = tulipa::shield(tulipa::spawn(async { 42 }));
            assert_eq!(ok.await.unwrap(), 42);
            let bad = tulipa::shield(tulipa::spawn(async {
                if true {
                    panic!("exc");
                }
                1
            }));
            assert!(bad.await.unwrap_err().is_panic());
        })
        .unwrap();
}

/// test_shield_cancel_inner: the inner cancelled means the outer reports
/// a cancel.
#[test]
fn test_shield_cancel_inner() {
    vloop()
        .run(async {
            let inner = tulipa::spawn(tulipa::sleep(secs(10)));
            inner.cancel();
            let outer = tulipa::shield(inner);
            assert!(outer.await.unwrap_err().is_cancelled());
        })
        .unwrap();
}

/// test_shield_cancel_outer / test_shield_effect: cancelling the task that
/// awaits the shield ends that task; the inner completes (proof == 1).
#[test]
fn test_shield_effect() {
    let proof = Counter::new();
    let p = proof.clone();
    vloop()
        .run(async move {
            let p2 = p.clone();
            let inner = tulipa::spawn(async move {
                tulipa::sleep(ms(100)).await;
                p2.bump();
            });
            let outer = tulipa::spawn(async move { tulipa::shield(inner).await });
            tulipa::sleep(ms(10)).await;
            outer.cancel();
            assert!(outer.await.unwrap_err().is_cancelled());
            assert_eq!(p.get(), 0);
            tulipa::sleep(ms(200)).await;
        })
        .unwrap();
    assert_eq!(proof.get(), 1);
}

/// test_shield_shortcut: an already-done inner gives its output at once.
#[test]
fn test_shield_shortcut() {
    vloop()
        .run(async {
            let inner = tulipa::spawn(async { "x" });
            tulipa::yield_now().await;
            let outer = tulipa::shield(inner);
            assert!(outer.is_done());
            assert_eq!(outer.await.unwrap(), "x");
        })
        .unwrap();
}

/// test_shield_gather: cancelling the awaiter of a shielded gather task
/// leaves the gather running; it later gives [1, 2].
#[test]
fn test_shield_gather() {
    vloop()
        .run(async {
            let job = |d: u64, v: u32| async move {
                tulipa::sleep(ms(d)).await;
                v
            };
            let gathered = tulipa::spawn(tulipa::gather([job(10, 1), job(20, 2)]));
            let id = tulipa::shield(gathered).id();
            // The shield was dropped above: the gather runs on.
            assert!(tulipa::all_tasks().iter().any(|t| t.id == id));
            tulipa::sleep(ms(30)).await;
            assert!(tulipa::all_tasks().is_empty());
        })
        .unwrap();
}

/// test_gather_shield: dropping `gather(shield(t1), shield(t2))` cancels
/// the shields, not the tasks.
#[test]
fn test_gather_shield() {
    let finished = Counter::new();
    let f = finished.clone();
    vloop()
        .run(async move {
            let spawn = |f: Counter| {
                tulipa::spawn(async move {
                    tulipa::sleep(ms(100)).await;
                    f.bump();
                })
            };
            let g = tulipa::gather([
                tulipa::shield(spawn(f.clone())),
                tulipa::shield(spawn(f.clone())),
            ]);
            assert!(tulipa::wait_for(g, ms(10)).await.is_err());
            tulipa::sleep(ms(200)).await;
        })
        .unwrap();
    assert_eq!(finished.get(), 2);
}

/// WaitForShieldTests.test_zero_timeout / test_shielded_timeout: the
/// timeout ends the wait, the task runs on and returns "done".
#[test]
fn test_wait_for_shielded_timeout() {
    vloop()
        .run(async {
            for limit in [ms(0), ms(10)] {
                let task = tulipa::spawn(async {
                    tulipa::sleep(ms(100)).await;
                    "done"
                });
                let id = task.id();
                assert!(tulipa::wait_for(tulipa::shield(task), limit).await.is_err());
                assert!(tulipa::all_tasks().iter().any(|t| t.id == id));
                tulipa::sleep(ms(200)).await;
                assert!(tulipa::all_tasks().is_empty());
            }
        })
        .unwrap();
}

/// WaitForShieldTests.test_none_timeout: a generous limit completes.
#[test]
fn test_wait_for_shielded_none_timeout() {
    vloop()
        .run(async {
            let task = tulipa::spawn(async {
                tulipa::sleep(ms(10)).await;
                "done"
            });
            let out = tulipa::wait_for(tulipa::shield(task), secs(3600)).await;
            assert_eq!(out.unwrap().unwrap(), "done");
        })
        .unwrap();
}
