//! Eager tasks (asyncio 3.12's `eager_task_factory`) and `spawn_threadsafe`
//! making one task.
#![cfg(not(loom))]

mod support;

use std::time::Duration;

use support::Log;

#[test]
fn an_eager_task_that_finishes_at_once_never_enters_the_ready_queue() {
    let lp = tulipa::EventLoop::new().unwrap();
    let polls = lp
        .run_until_complete(async {
            let before = tulipa::get_running_loop().unwrap().stats();
            let task = tulipa::spawn_eager(async { 3 });
            assert!(task.is_done());
            let after = tulipa::get_running_loop().unwrap().stats();
            assert_eq!(task.await.unwrap(), 3);
            after.task_polls - before.task_polls
        })
        .unwrap();
    // Its one step ran inside the call, and no iteration was needed.
    assert_eq!(polls, 1);
}

#[test]
fn eager_tasks_run_before_the_code_after_the_spawn_and_before_queued_tasks() {
    let log = Log::new();
    let l = log.clone();
    tulipa::run(async move {
        let l1 = l.clone();
        let lazy = tulipa::spawn(async move { l1.push("lazy") });
        let l2 = l.clone();
        let eager = tulipa::spawn_eager(async move {
            l2.push("eager step 1");
            tulipa::yield_now().await;
            l2.push("eager step 2");
        });
        l.push("after spawn_eager");
        lazy.await.unwrap();
        eager.await.unwrap();
    })
    .unwrap();
    assert_eq!(
        log.take(),
        ["eager step 1", "after spawn_eager", "lazy", "eager step 2"]
    );
}

#[test]
fn the_builder_option_makes_every_spawn_eager_and_nested_spawns_run_depth_first() {
    let log = Log::new();
    let l = log.clone();
    let lp = tulipa::EventLoop::builder().eager_tasks().build().unwrap();
    lp.run(async move {
        let l1 = l.clone();
        let outer = tulipa::spawn(async move {
            l1.push("outer");
            let l2 = l1.clone();
            let inner = tulipa::spawn(async move { l2.push("inner") });
            assert!(inner.is_done());
            l1.push("outer after inner");
        });
        assert!(outer.is_done());
        l.push("main");
        // The current task is restored after the nested eager steps.
        let me = tulipa::current_task().unwrap();
        assert_eq!(me.name.as_deref(), Some("main"));
    })
    .unwrap();
    assert_eq!(log.take(), ["outer", "inner", "outer after inner", "main"]);
}

#[test]
fn an_eager_spawn_on_a_loop_that_is_not_running_is_scheduled_as_usual() {
    let lp = tulipa::EventLoop::builder().eager_tasks().build().unwrap();
    let task = lp.spawn(async { 1 });
    assert!(!task.is_done());
    assert_eq!(lp.run_until_complete(task).unwrap().unwrap(), 1);
}

#[test]
fn an_eager_task_that_panics_at_once_is_done_with_the_panic() {
    tulipa::run(async {
        let task = tulipa::spawn_eager(async { panic!("early") });
        assert!(task.is_done());
        assert!(task.await.unwrap_err().is_panic());
    })
    .unwrap();
}

#[test]
fn spawn_threadsafe_makes_one_task_and_its_panic_reaches_the_handle() {
    let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
    let handle = lp.handle();
    let remote = std::thread::spawn(move || {
        handle
            .spawn_threadsafe(async {
                tulipa::sleep(Duration::from_secs(1)).await;
                panic!("remote boom")
            })
            .unwrap()
    })
    .join()
    .unwrap();
    let count = lp
        .run_until_complete(async {
            tulipa::yield_now().await;
            tulipa::all_tasks().len()
        })
        .unwrap();
    assert_eq!(count, 1, "no forwarding task");
    let err = lp.run_until_complete(remote).unwrap().unwrap_err();
    assert!(err.to_string().contains("remote boom"));
}

#[test]
fn a_dropped_remote_task_keeps_running_and_a_closed_loop_refuses_spawns() {
    let lp = tulipa::EventLoop::new().unwrap();
    let handle = lp.handle();
    let (tx, rx) = std::sync::mpsc::channel();
    drop(
        handle
            .spawn_threadsafe(async move { tx.send(5).unwrap() })
            .unwrap(),
    );
    lp.run_until_complete(tulipa::sleep(Duration::from_millis(1)))
        .unwrap();
    assert_eq!(rx.try_recv().unwrap(), 5);
    lp.close().unwrap();
    assert!(handle.spawn_threadsafe(async {}).is_err());
}

#[test]
fn a_remote_task_still_queued_when_the_loop_closes_reads_cancelled() {
    let lp = tulipa::EventLoop::new().unwrap();
    let remote = lp.handle().spawn_threadsafe(async { 1 }).unwrap();
    lp.close().unwrap();
    assert!(remote.wait().unwrap_err().is_cancelled());
}
