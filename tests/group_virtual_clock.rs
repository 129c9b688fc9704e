//! The group's one virtual clock: every loop reads the same time, which
//! jumps only when every loop is idle and no post is on its way between
//! them. Cross-loop `wait_for` timeouts, sleep order across loops, posts in
//! flight holding the clock, and the same interleaving on every run.
#![cfg(not(loom))]

#[path = "support/group.rs"]
mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{within, Flag, PATIENCE};
use tulipa::LoopGroup;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn cross_loop_wait_for_times_out_at_exactly_its_deadline_and_cancels_the_remote_task() {
    within(PATIENCE, || {
        let real = Instant::now();
        let dropped = Flag::new();
        let on_drop = dropped.clone();
        let (waited, timed_out) = LoopGroup::builder()
            .loops(2)
            .virtual_time()
            .run(async move {
                let group = tulipa::group().unwrap();
                let start = tulipa::now();
                let remote = group
                    .spawn_on(1, move || async move {
                        let _guard = on_drop.on_drop();
                        tulipa::sleep(secs(3600)).await;
                    })
                    .unwrap();
                let out = tulipa::wait_for(remote, secs(60)).await;
                (tulipa::now() - start, out.is_err())
            })
            .unwrap();
        assert!(timed_out, "an hour-long task cannot beat a minute");
        assert_eq!(
            waited,
            secs(60),
            "the timeout fires at exactly its deadline"
        );
        assert!(dropped.is_set(), "the timeout cancelled the task on loop 1");
        assert!(real.elapsed() < secs(20), "virtual: no real minute passed");
    });
}

#[test]
fn cross_loop_wait_for_gets_the_answer_at_the_remote_loops_timer_before_a_longer_timeout() {
    within(PATIENCE, || {
        let (answer, waited) = LoopGroup::builder()
            .loops(3)
            .virtual_time()
            .run(async {
                let group = tulipa::group().unwrap();
                let start = tulipa::now();
                let remote = group
                    .spawn_on(2, || async {
                        tulipa::sleep(secs(3600)).await;
                        tulipa::now()
                    })
                    .unwrap();
                let at = tulipa::wait_for(remote, secs(7200))
                    .await
                    .expect("the answer comes at one hour, before two")
                    .unwrap();
                (at - start, tulipa::now() - start)
            })
            .unwrap();
        assert_eq!(answer, secs(3600), "loop 2 woke at exactly one hour");
        assert_eq!(waited, secs(3600), "loop 0 sees the same time");
    });
}

/// Sleeps of `delays[i]` seconds on loop `i % loops`, all started from loop
/// 0; returns the order they woke in, with the shared time of each.
fn sleep_scenario(loops: usize, delays: &[u64]) -> Vec<(usize, Duration)> {
    let log: Arc<Mutex<Vec<(usize, Duration)>>> = Arc::default();
    let delays = delays.to_vec();
    let shared = log.clone();
    LoopGroup::builder()
        .loops(loops)
        .virtual_time()
        .run(async move {
            let group = tulipa::group().unwrap();
            let start = tulipa::now();
            let tasks: Vec<_> = delays
                .iter()
                .enumerate()
                .map(|(i, &d)| {
                    let log = shared.clone();
                    group
                        .spawn_on(i % loops, move || async move {
                            tulipa::sleep(secs(d)).await;
                            log.lock().unwrap().push((i, tulipa::now() - start));
                        })
                        .unwrap()
                })
                .collect();
            for result in tulipa::gather(tasks).await {
                result.unwrap();
            }
        })
        .unwrap();
    let out = log.lock().unwrap().clone();
    out
}

#[test]
fn sleeps_on_different_loops_wake_in_deadline_order_at_their_exact_times() {
    within(PATIENCE, || {
        let delays = [50, 10, 40, 20, 30, 60, 5, 45];
        let woke = sleep_scenario(4, &delays);
        let mut expected: Vec<(usize, Duration)> = delays
            .iter()
            .enumerate()
            .map(|(i, &d)| (i, secs(d)))
            .collect();
        expected.sort_by_key(|&(_, at)| at);
        assert_eq!(woke, expected);
    });
}

#[test]
fn the_same_program_over_several_loops_wakes_in_the_same_order_on_every_run() {
    within(PATIENCE * 2, || {
        // Equal deadlines on one loop keep their order; across loops they
        // wake in the same jump.
        let delays = [3, 1, 2, 1, 3, 2, 1, 1, 2, 3];
        let first = sleep_scenario(3, &delays);
        for _ in 0..20 {
            let again = sleep_scenario(3, &delays);
            let times = |v: &[(usize, Duration)]| {
                let mut t: Vec<_> = v.to_vec();
                t.sort();
                t
            };
            assert_eq!(
                times(&again),
                times(&first),
                "each sleep wakes at its own time"
            );
            for w in again.windows(2) {
                assert!(w[0].1 <= w[1].1, "woke out of deadline order: {again:?}");
            }
        }
    });
}

#[test]
fn posts_in_flight_between_loops_hold_the_clock_until_they_land() {
    within(PATIENCE, || {
        const ROUND_TRIPS: usize = 200;
        let log: Arc<Mutex<Vec<&'static str>>> = Arc::default();
        let shared = log.clone();
        let ping_pong_took = LoopGroup::builder()
            .loops(3)
            .virtual_time()
            .run(async move {
                let group = tulipa::group().unwrap();
                let start = tulipa::now();
                // Loop 2 has a timer one second ahead: the only thing that
                // could make the time jump.
                let timer_log = shared.clone();
                let timer = group
                    .spawn_on(2, move || async move {
                        tulipa::sleep(secs(1)).await;
                        timer_log.lock().unwrap().push("timer");
                    })
                    .unwrap();
                // Meanwhile loops 0 and 1 play ping-pong; loop 0 is idle
                // while each ping is on its way or running on loop 1.
                for _ in 0..ROUND_TRIPS {
                    let pong = group
                        .spawn_on(1, || async {
                            tulipa::yield_now().await;
                            tulipa::now()
                        })
                        .unwrap();
                    pong.await.unwrap();
                }
                let took = tulipa::now() - start;
                shared.lock().unwrap().push("ping-pong done");
                timer.await.unwrap();
                assert_eq!(tulipa::now() - start, secs(1));
                took
            })
            .unwrap();
        assert_eq!(
            ping_pong_took,
            Duration::ZERO,
            "the clock jumped with a post in flight"
        );
        assert_eq!(*log.lock().unwrap(), ["ping-pong done", "timer"]);
    });
}

#[test]
fn every_loop_reads_the_same_time() {
    within(PATIENCE, || {
        let group = LoopGroup::builder()
            .loops(3)
            .virtual_time()
            .build()
            .unwrap();
        let at = group
            .spawn_on(1, || async {
                tulipa::sleep(secs(90)).await;
                tulipa::now()
            })
            .unwrap()
            .wait()
            .unwrap();
        for i in [0, 2] {
            let now = group
                .spawn_on(i, || async { tulipa::now() })
                .unwrap()
                .wait()
                .unwrap();
            assert_eq!(now, at, "loop {i}");
        }
        assert!(group.close().is_clean());
    });
}

#[test]
fn a_loop_whose_thread_died_no_longer_holds_the_clock_back() {
    within(PATIENCE, || {
        let group = LoopGroup::builder()
            .loops(2)
            .virtual_time()
            .on_thread_start(|i| assert_ne!(i, 0, "loop 0's thread dies at start"))
            .build()
            .unwrap();
        let took = group
            .spawn_on(1, || async {
                let start = tulipa::now();
                tulipa::sleep(secs(3600)).await;
                tulipa::now() - start
            })
            .unwrap()
            .wait_timeout(PATIENCE / 2)
            .expect("the clock jumps without the dead loop")
            .unwrap();
        assert_eq!(took, secs(3600));
        let report = group.close();
        assert_eq!(report.died.len(), 1);
    });
}

#[test]
fn a_sleep_of_duration_max_on_another_loop_loses_to_a_timeout_at_its_exact_deadline() {
    within(PATIENCE, || {
        let (waited, timed_out) = LoopGroup::builder()
            .loops(2)
            .virtual_time()
            .run(async {
                let group = tulipa::group().unwrap();
                let start = tulipa::now();
                let forever = group.spawn_on(1, || tulipa::sleep(Duration::MAX)).unwrap();
                let out = tulipa::wait_for(forever, secs(10)).await;
                (tulipa::now() - start, out.is_err())
            })
            .unwrap();
        assert!(timed_out);
        assert_eq!(waited, secs(10));
    });
}
