//! Placement and the cross-loop handle: least-loaded and explicit placement,
//! tasks that never migrate, gather / wait / wait_for / as_completed /
//! TaskGroup over tasks on other loops, and cancel propagation across loops.
#![cfg(not(loom))]

#[path = "support/group.rs"]
mod support;

use std::rc::Rc;
use std::time::Duration;

use support::{eventually, within, Flag, PATIENCE};
use tulipa::group::{ServeMode, SpawnError};
use tulipa::{LoopGroup, ReturnWhen, TaskError, TaskGroup};

#[test]
fn spawn_places_on_the_least_loaded_loop() {
    within(PATIENCE, || {
        let group = LoopGroup::new(3).unwrap();
        // Three long tasks: one per loop, whatever the ties.
        let long: Vec<_> = (0..3)
            .map(|_| group.spawn(std::future::pending::<()>).unwrap())
            .collect();
        let mut loops: Vec<_> = long.iter().map(|t| t.loop_index()).collect();
        loops.sort();
        assert_eq!(loops, [0, 1, 2]);
        // Two more on loop 1: loops 0 and 2 are now the least loaded.
        let extra: Vec<_> = (0..2)
            .map(|_| group.spawn_on(1, std::future::pending::<()>).unwrap())
            .collect();
        assert_eq!(group.load(1), 3);
        let next = group.spawn(std::future::pending::<()>).unwrap();
        assert_ne!(next.loop_index(), 1);
        // Ending tasks lowers the count again.
        for t in extra {
            t.cancel();
            assert!(t.wait().unwrap_err().is_cancelled());
        }
        eventually("loop 1's count drops", || group.load(1) == 1);
        assert!(group.close().is_clean());
    });
}

#[test]
fn ties_are_broken_at_random_over_every_loop() {
    within(PATIENCE, || {
        let group = LoopGroup::new(4).unwrap();
        let mut seen = [0usize; 4];
        for _ in 0..400 {
            // Every loop idle: all four tie.
            let task = group.spawn(|| async {}).unwrap();
            seen[task.loop_index()] += 1;
            task.wait().unwrap();
            eventually("the count returns to zero", || {
                (0..4).all(|i| group.load(i) == 0)
            });
        }
        for (i, n) in seen.iter().enumerate() {
            assert!(*n > 40, "loop {i} got {n} of 400 tied spawns: {seen:?}");
        }
        drop(group);
    });
}

#[test]
fn spawn_on_an_unknown_or_ended_loop_is_a_typed_error() {
    let group = LoopGroup::new(2).unwrap();
    let handle = (*group).clone();
    assert_eq!(
        group.spawn_on(5, || async {}).unwrap_err(),
        SpawnError::NoSuchLoop { index: 5, loops: 2 }
    );
    assert!(group.close().is_clean());
    assert!(handle.spawn_on(0, || async {}).unwrap_err().is_closed());
    assert_eq!(handle.spawn(|| async {}).unwrap_err(), SpawnError::Closed);
    assert!(handle
        .start_server(ServeMode::Acceptor, "127.0.0.1:0", |_r, _w| async {})
        .is_err());
}

#[test]
fn a_task_never_migrates_and_may_hold_rcs() {
    let out = tulipa::run_group(3, async {
        let group = tulipa::group().unwrap();
        let task = group
            .spawn_on(2, || async {
                let here = || tulipa::group().unwrap().current_loop().unwrap();
                let local = Rc::new(std::cell::Cell::new(0));
                let mut seen = Vec::new();
                for _ in 0..5 {
                    local.set(local.get() + 1);
                    tulipa::sleep(Duration::from_millis(1)).await;
                    seen.push(here());
                }
                (seen, local.get())
            })
            .unwrap();
        task.await.unwrap()
    })
    .unwrap();
    assert_eq!(out, (vec![2; 5], 5));
}

#[test]
fn gather_over_tasks_on_other_loops() {
    let out = tulipa::run_group(4, async {
        let group = tulipa::group().unwrap();
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                group
                    .spawn_on(i, move || async move {
                        tulipa::sleep(Duration::from_millis(4 - i as u64)).await;
                        (i, tulipa::group().unwrap().current_loop())
                    })
                    .unwrap()
            })
            .collect();
        tulipa::gather(tasks).await
    })
    .unwrap();
    let out: Vec<_> = out.into_iter().map(Result::unwrap).collect();
    assert_eq!(out, (0..4).map(|i| (i, Some(i))).collect::<Vec<_>>());
}

#[test]
fn wait_first_completed_over_tasks_on_other_loops() {
    let out = tulipa::run_group(3, async {
        let group = tulipa::group().unwrap();
        let fast = group.spawn_on(1, || async { "fast" }).unwrap();
        let stuck = group
            .spawn_on(2, std::future::pending::<&'static str>)
            .unwrap();
        // `wait` takes local tasks: each handle is awaited by one.
        let local = vec![tulipa::spawn(fast), tulipa::spawn(stuck)];
        let (done, pending) = tulipa::wait(local, ReturnWhen::FirstCompleted, None)
            .await
            .unwrap();
        assert_eq!(pending.len(), 1);
        let first = done.into_iter().next().unwrap().await.unwrap().unwrap();
        // Cancelling the local waiter cancels the remote task it awaited.
        pending[0].cancel();
        (first, group.load(2))
    })
    .unwrap();
    assert_eq!(out.0, "fast");
}

#[test]
fn wait_for_timing_out_cancels_the_remote_task() {
    within(PATIENCE, || {
        let dropped = Flag::new();
        let probe = dropped.on_drop();
        let out = tulipa::run_group(2, async move {
            let group = tulipa::group().unwrap();
            let slow = group
                .spawn_on(1, move || async move {
                    let _guard = probe;
                    std::future::pending::<()>().await
                })
                .unwrap();
            tulipa::wait_for(slow, Duration::from_millis(20))
                .await
                .is_err()
        })
        .unwrap();
        assert!(out, "wait_for timed out");
        // The group has closed, so the task has ended by now anyway; check
        // that the cancel came from the timeout with a group that stays up.
        assert!(dropped.is_set());
        let dropped = Flag::new();
        let probe = dropped.on_drop();
        let group = LoopGroup::new(2).unwrap();
        let seen = dropped.clone();
        let timed_out = group
            .spawn_on(0, move || async move {
                let group = tulipa::group().unwrap();
                let slow = group
                    .spawn_on(1, move || async move {
                        let _guard = probe;
                        std::future::pending::<()>().await
                    })
                    .unwrap();
                tulipa::wait_for(slow, Duration::from_millis(20))
                    .await
                    .is_err()
            })
            .unwrap()
            .wait()
            .unwrap();
        assert!(timed_out);
        eventually("the remote future is dropped on loop 1", || seen.is_set());
        eventually("loop 1's count drops", || group.load(1) == 0);
        assert!(group.close().is_clean());
    });
}

#[test]
fn as_completed_over_tasks_on_other_loops() {
    let order = tulipa::run_group(3, async {
        let group = tulipa::group().unwrap();
        let gate = std::sync::Arc::new(tulipa::Queue::<()>::new(0));
        let tasks: Vec<_> = [(1, 1usize), (2, 0)]
            .into_iter()
            .map(|(i, wait_for)| {
                let gate = gate.clone();
                group
                    .spawn_on(i, move || async move {
                        for _ in 0..wait_for {
                            gate.get().await.unwrap();
                        }
                        i
                    })
                    .unwrap()
            })
            .collect();
        let mut stream = tulipa::as_completed(tasks);
        let (index, first) = stream.next().await.unwrap();
        gate.put(()).await.unwrap();
        let (_, second) = stream.next().await.unwrap();
        (index, first.unwrap(), second.unwrap())
    })
    .unwrap();
    assert_eq!(order, (1, 2, 1));
}

#[test]
fn task_group_child_awaits_a_remote_task_and_its_failure_cancels_siblings() {
    within(PATIENCE, || {
        let dropped = Flag::new();
        let probe = dropped.on_drop();
        let out = tulipa::run_group(3, async move {
            let group = tulipa::group().unwrap();
            TaskGroup::scope(|tg| async move {
                let g = group.clone();
                drop(tg.spawn(async move {
                    let remote = g
                        .spawn_on(1, move || async move {
                            let _guard = probe;
                            std::future::pending::<()>().await
                        })
                        .unwrap();
                    remote.await.map_err(|e| e.to_string())
                }));
                let g = group.clone();
                drop(tg.spawn(async move {
                    let remote = g.spawn_on(2, || async { Err::<(), _>("bad") }).unwrap();
                    remote.await.unwrap().map_err(str::to_owned)
                }));
                Ok(())
            })
            .await
            .map_err(|e| e.errors().len())
        })
        .unwrap();
        assert_eq!(out.unwrap_err(), 1);
        eventually("the sibling on loop 1 is cancelled", || dropped.is_set());
    });
}

#[test]
fn cancel_drops_the_future_on_its_own_loop() {
    within(PATIENCE, || {
        let group = LoopGroup::new(2).unwrap();
        let dropped = Flag::new();
        let probe = dropped.on_drop();
        let (tx, rx) = std::sync::mpsc::channel();
        let task = group
            .spawn_on(1, move || async move {
                let _guard = probe;
                let _ = tx.send(tulipa::group().unwrap().current_loop());
                std::future::pending::<()>().await
            })
            .unwrap();
        assert_eq!(rx.recv().unwrap(), Some(1));
        assert!(task.cancel());
        assert!(!task.cancel() || !task.is_done());
        let err = task.wait().unwrap_err();
        assert!(err.is_cancelled());
        assert!(dropped.is_set(), "dropped before the handle saw the cancel");
        assert!(group.close().is_clean());
    });
}

#[test]
fn cancel_before_the_task_starts_means_it_never_runs() {
    within(PATIENCE, || {
        let group = LoopGroup::new(2).unwrap();
        let ran = Flag::new();
        // Loop 1 is kept busy so the spawn waits in its inbox.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let blocker = group
            .spawn_on(1, move || async move { rx.recv().unwrap() })
            .unwrap();
        let probe = ran.clone();
        let task = group
            .spawn_on(1, move || async move { probe.set() })
            .unwrap();
        assert!(task.cancel());
        tx.send(()).unwrap();
        blocker.wait().unwrap();
        assert!(task.wait().unwrap_err().is_cancelled());
        assert!(!ran.is_set());
        drop(group);
    });
}

#[test]
fn dropping_an_awaited_handle_cancels_but_an_unpolled_one_detaches() {
    within(PATIENCE, || {
        let group = LoopGroup::new(2).unwrap();
        let cancelled = Flag::new();
        let finished = Flag::new();
        let (c, f) = (cancelled.on_drop(), finished.clone());
        group
            .spawn_on(0, move || async move {
                let group = tulipa::group().unwrap();
                let awaited = group
                    .spawn_on(1, move || async move {
                        let _guard = c;
                        std::future::pending::<()>().await
                    })
                    .unwrap();
                // Polled once, then dropped: asyncio's cancel propagation.
                let _ = tulipa::timeout(Duration::from_millis(5)).run(awaited).await;
                // Never polled, then dropped: it runs to its end.
                drop(
                    group
                        .spawn_on(1, move || async move {
                            tulipa::sleep(Duration::from_millis(10)).await;
                            f.set();
                        })
                        .unwrap(),
                );
            })
            .unwrap()
            .wait()
            .unwrap();
        eventually("the awaited task is cancelled", || cancelled.is_set());
        eventually("the detached task finishes", || finished.is_set());
        assert!(group.close().is_clean());
    });
}

#[test]
fn a_panic_on_one_loop_stays_there() {
    within(PATIENCE, || {
        let group = LoopGroup::new(2).unwrap();
        let task = group
            .spawn_on(1, || async {
                if true {
                    panic!("boom on loop 1");
                }
            })
            .unwrap();
        match task.wait() {
            Err(TaskError::Panicked(p)) => assert_eq!(p.message(), "boom on loop 1"),
            other => panic!("expected a panic, got {other:?}"),
        }
        // A panic in the closure that builds the future is the task's panic too.
        let task = group
            .spawn_on(1, || -> std::future::Ready<()> { panic!("in build") })
            .unwrap();
        assert!(task.wait().unwrap_err().is_panic());
        // A panicking callback goes to loop 1's exception handler.
        group.handles()[1]
            .call_soon_threadsafe(|| panic!("callback on loop 1 (expected in this test)"))
            .unwrap();
        // Loop 1 goes on serving.
        assert_eq!(
            group.spawn_on(1, || async { 7 }).unwrap().wait().unwrap(),
            7
        );
        assert!(group.close().is_clean());
    });
}

#[test]
fn tasks_left_at_close_are_cancelled_and_their_handles_say_so() {
    within(PATIENCE, || {
        let group = LoopGroup::new(2).unwrap();
        let dropped = Flag::new();
        let probe = dropped.on_drop();
        let task = group
            .spawn_on(1, move || async move {
                let _guard = probe;
                std::future::pending::<()>().await
            })
            .unwrap();
        eventually("the task started", || group.load(1) == 1);
        assert!(group.close().is_clean());
        assert!(dropped.is_set());
        assert!(task.wait().unwrap_err().is_cancelled());
    });
}

#[test]
fn the_thread_crossing_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<LoopGroup>();
    send_sync::<tulipa::group::GroupHandle>();
    send_sync::<tulipa::GroupTask<String>>();
    send_sync::<tulipa::group::GroupServer>();
    send_sync::<tulipa::group::CloseReport>();
}
