//! The cross-loop scope: children on several loops, the first failure
//! cancelling the siblings on every loop, and the scope returning only once
//! every child has ended on its own loop.
#![cfg(not(loom))]

#[path = "support/group.rs"]
mod support;

use std::time::Duration;

use support::{within, Flag, PATIENCE};
use tulipa::combinators::ChildError;

/// A child that waits forever and raises `flag` when its future is dropped.
fn stuck(flag: &Flag) -> impl FnOnce() -> std::future::Pending<Result<(), String>> + Send {
    let guard = flag.on_drop();
    move || {
        let _guard = guard;
        std::future::pending()
    }
}

#[test]
fn scope_returns_every_childs_value_from_every_loop() {
    let out = tulipa::run_group(3, async {
        let group = tulipa::group().unwrap();
        group
            .scope(|scope| async move {
                let tasks: Vec<_> = (0..3)
                    .map(|i| {
                        scope
                            .spawn_on(i, move || async move {
                                tulipa::sleep(Duration::from_millis(1)).await;
                                Ok::<_, String>((i, tulipa::group().unwrap().current_loop()))
                            })
                            .unwrap()
                    })
                    .collect();
                Ok(tasks)
            })
            .await
            .unwrap()
    })
    .unwrap();
    for (i, task) in out.into_iter().enumerate() {
        assert!(task.is_done(), "the scope returned before child {i} ended");
        assert_eq!(task.wait().unwrap(), (i, Some(i)));
    }
}

#[test]
fn first_failure_cancels_siblings_on_every_loop_before_the_scope_returns() {
    within(PATIENCE, || {
        let flags: Vec<Flag> = (0..3).map(|_| Flag::new()).collect();
        let seen = flags.clone();
        let out = tulipa::run_group(4, async move {
            let group = tulipa::group().unwrap();
            let guards: Vec<_> = seen.to_vec();
            let result = group
                .scope(|scope| async move {
                    let siblings: Vec<_> = (0..3)
                        .map(|i| scope.spawn_on(i + 1, stuck(&guards[i])).unwrap())
                        .collect();
                    drop(
                        scope
                            .spawn_on(2, || async {
                                tulipa::sleep(Duration::from_millis(5)).await;
                                Err::<(), _>("child failed".to_owned())
                            })
                            .unwrap(),
                    );
                    Ok(siblings)
                })
                .await;
            // The scope is back: every sibling ended on its own loop first.
            let all_dropped = seen.iter().all(Flag::is_set);
            (result.map(|_| ()), all_dropped)
        })
        .unwrap();
        let (result, all_dropped_at_return) = out;
        assert!(
            all_dropped_at_return,
            "a sibling was still alive when the scope returned"
        );
        let err = result.unwrap_err();
        assert_eq!(err.errors().len(), 1);
        match &err.errors()[0] {
            ChildError::Failed(e) => assert_eq!(e, "child failed"),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(err.to_string(), "1 task of the group failed");
        assert!(flags.iter().all(Flag::is_set));
    });
}

#[test]
fn a_panicking_child_is_a_failure_and_its_handle_reports_cancelled() {
    within(PATIENCE, || {
        let sibling = Flag::new();
        let probe = sibling.clone();
        let (err, handle_said) = tulipa::run_group(2, async move {
            let group = tulipa::group().unwrap();
            let mut bad = None;
            let err = group
                .scope(|scope| {
                    let bad = &mut bad;
                    async move {
                        drop(scope.spawn_on(0, stuck(&probe)).unwrap());
                        *bad = Some(
                            scope
                                .spawn_on(1, || async {
                                    if true {
                                        panic!("child panicked");
                                    }
                                    Ok::<(), String>(())
                                })
                                .unwrap(),
                        );
                        Ok(())
                    }
                })
                .await
                .unwrap_err();
            (err, bad.unwrap().await.map_err(|e| e.is_cancelled()))
        })
        .unwrap();
        assert!(err.errors()[0].is_panic());
        assert_eq!(handle_said, Err(true));
        assert!(sibling.is_set());
    });
}

#[test]
fn the_body_failing_cancels_the_children_and_spawns_after_are_refused() {
    within(PATIENCE, || {
        let child = Flag::new();
        let probe = child.clone();
        let out = tulipa::run_group(2, async move {
            let group = tulipa::group().unwrap();
            group
                .scope(|scope| async move {
                    drop(scope.spawn_on(1, stuck(&probe)).unwrap());
                    tulipa::yield_now().await;
                    Err::<(), _>("body failed".to_owned())
                })
                .await
        })
        .unwrap();
        assert_eq!(
            out.unwrap_err().into_errors()[0].to_string(),
            "task failed: body failed"
        );
        assert!(child.is_set());

        // A scope that has ended refuses new children.
        let refused = tulipa::run_group(2, async {
            let group = tulipa::group().unwrap();
            let mut saved = None;
            let failed = group
                .scope(|scope| {
                    saved = Some(scope.clone());
                    async move {
                        drop(scope.spawn_on(1, || async { Err::<(), _>(1) }).unwrap());
                        Ok(())
                    }
                })
                .await
                .is_err();
            assert!(failed);
            let late = saved.unwrap().spawn_on(1, || async { Ok(()) }).unwrap();
            late.await
        })
        .unwrap();
        assert!(refused.unwrap_err().is_cancelled());
    });
}

#[test]
fn cancelling_a_childs_handle_is_not_a_failure() {
    let out = tulipa::run_group(2, async {
        let group = tulipa::group().unwrap();
        group
            .scope(|scope| async move {
                let child = scope
                    .spawn_on(1, std::future::pending::<Result<(), String>>)
                    .unwrap();
                tulipa::sleep(Duration::from_millis(2)).await;
                assert!(child.cancel());
                Ok(child.await.unwrap_err().is_cancelled())
            })
            .await
    })
    .unwrap();
    assert!(out.unwrap());
}
