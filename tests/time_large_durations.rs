//! Any `Duration`, however large, is valid input: `Duration::MAX` (the
//! natural "no timeout", asyncio's `None`) means "at most that long" and
//! never overflows, in every call that takes a delay.
#![cfg(not(loom))]

use std::time::Duration;

use tulipa::{EventLoop, ReturnWhen};

fn vloop() -> EventLoop {
    EventLoop::builder().virtual_time().build().unwrap()
}

#[test]
fn call_later_duration_max_is_cancellable_and_never_due() {
    let lp = vloop();
    let handle = lp.call_later(Duration::MAX, || panic!("never due"));
    assert!(handle.when() > lp.time() + Duration::from_secs(365 * 24 * 3600));
    handle.cancel();
    lp.run_until_complete(tulipa::sleep(Duration::from_secs(1)))
        .unwrap();
}

#[test]
fn sleep_duration_max_loses_a_race_and_is_dropped() {
    let lp = vloop();
    let out = lp
        .run(async {
            let start = tulipa::now();
            let forever = tulipa::spawn(tulipa::sleep(Duration::MAX));
            let quick = tulipa::spawn(tulipa::sleep(Duration::from_secs(2)));
            let (done, pending) = tulipa::wait([forever, quick], ReturnWhen::FirstCompleted, None)
                .await
                .unwrap();
            assert_eq!((done.len(), pending.len()), (1, 1));
            for t in pending {
                t.cancel();
            }
            tulipa::now() - start
        })
        .unwrap();
    assert_eq!(out, Duration::from_secs(2));
}

#[test]
fn wait_for_and_timeout_with_duration_max_return_the_output() {
    let lp = vloop();
    lp.run(async {
        let slow = tulipa::sleep(Duration::from_secs(3600));
        assert_eq!(
            tulipa::wait_for(
                async {
                    slow.await;
                    5
                },
                Duration::MAX
            )
            .await,
            Ok(5)
        );
        let cm = tulipa::timeout(Duration::MAX);
        let out = cm.run(tulipa::sleep(Duration::from_secs(60))).await;
        assert!(out.is_ok() && !cm.expired());
        assert!(cm.when().is_some());
    })
    .unwrap();
}

#[test]
fn wait_with_a_duration_max_timeout_waits_for_the_tasks() {
    let lp = vloop();
    lp.run(async {
        let task = tulipa::spawn(async {
            tulipa::sleep(Duration::from_secs(10)).await;
            "done"
        });
        let (done, pending) = tulipa::wait([task], ReturnWhen::AllCompleted, Some(Duration::MAX))
            .await
            .unwrap();
        assert!(pending.is_empty());
        assert_eq!(done.into_iter().next().unwrap().await.unwrap(), "done");
    })
    .unwrap();
}

#[test]
fn remote_task_wait_timeout_duration_max_on_a_finished_task() {
    let lp = EventLoop::new().unwrap();
    let remote = lp.handle().spawn_threadsafe(async { 7 }).unwrap();
    lp.run_until_complete(tulipa::sleep(Duration::from_millis(1)))
        .unwrap();
    assert_eq!(remote.wait_timeout(Duration::MAX).ok().unwrap().unwrap(), 7);
}

#[test]
fn remote_task_wait_timeout_duration_max_waits_for_the_task() {
    let lp = EventLoop::new().unwrap();
    let handle = lp.handle();
    let waiter = std::thread::spawn(move || {
        let remote = handle.spawn_threadsafe(async { 8 }).unwrap();
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            remote.wait_timeout(Duration::MAX).ok()
        }));
        // Stop the loop whatever happened, so a failure cannot hang the test.
        handle.stop().unwrap();
        out
    });
    lp.run_forever().unwrap();
    let out = waiter
        .join()
        .unwrap()
        .expect("wait_timeout(Duration::MAX) panicked");
    assert_eq!(out.expect("timed out").unwrap(), 8);
}

#[test]
fn exec_future_wait_timeout_duration_max() {
    let pool = tulipa::ThreadPoolExecutor::new(1);
    let job = pool.submit(|| 3).unwrap();
    assert_eq!(job.wait_timeout(Duration::MAX).ok().unwrap().unwrap(), 3);
}

#[test]
fn timeout_at_a_far_deadline_and_huge_sleeps_on_the_virtual_clock() {
    let lp = vloop();
    lp.run(async {
        let start = tulipa::now();
        // A year of virtual time passes at once and exactly.
        let year = Duration::from_secs(365 * 24 * 3600);
        tulipa::sleep(year).await;
        assert_eq!(tulipa::now() - start, year);
    })
    .unwrap();
}
