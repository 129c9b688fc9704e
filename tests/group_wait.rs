//! `wait` over `GroupTask`s directly.
#![cfg(not(loom))]

use std::time::Duration;
use tulipa::{LoopGroup, ReturnWhen};

#[test]
fn wait_over_group_tasks_first_completed_then_all_with_a_timeout_that_cancels_nothing() {
    let out = LoopGroup::builder()
        .loops(3)
        .virtual_time()
        .run(async {
            let group = tulipa::group().unwrap();
            let tasks: Vec<_> = [3u64, 1, 2]
                .into_iter()
                .enumerate()
                .map(|(i, s)| {
                    group
                        .spawn_on(i, move || async move {
                            tulipa::sleep(Duration::from_secs(s)).await;
                            s
                        })
                        .unwrap()
                })
                .collect();
            let (done, pending) = tulipa::wait(tasks, ReturnWhen::FirstCompleted, None)
                .await
                .unwrap();
            assert_eq!((done.len(), pending.len()), (1, 2));
            assert_eq!(done[0].loop_index(), 1);
            let (done2, pending2) = tulipa::wait(
                pending,
                ReturnWhen::AllCompleted,
                Some(Duration::from_millis(1500)),
            )
            .await
            .unwrap();
            assert_eq!((done2.len(), pending2.len()), (1, 1));
            assert!(!pending2[0].is_done());
            let mut all = Vec::new();
            for t in done.into_iter().chain(done2).chain(pending2) {
                all.push(t.await.unwrap());
            }
            all
        })
        .unwrap();
    assert_eq!(out, [1, 2, 3]);
}

#[test]
fn wait_first_exception_over_group_tasks_returns_at_the_panic() {
    let (done, pending) = LoopGroup::builder()
        .loops(2)
        .virtual_time()
        .run(async {
            let group = tulipa::group().unwrap();
            let slow = group
                .spawn_on(0, || tulipa::sleep(Duration::from_secs(60)))
                .unwrap();
            let boom = group
                .spawn_on(1, || async {
                    tulipa::sleep(Duration::from_secs(1)).await;
                    panic!("boom")
                })
                .unwrap();
            let (done, pending) = tulipa::wait([slow, boom], ReturnWhen::FirstException, None)
                .await
                .unwrap();
            (done.len(), pending.len())
        })
        .unwrap();
    assert_eq!((done, pending), (1, 1));
}
