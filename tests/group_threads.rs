//! The group under thread pressure: posts between loops (none lost, FIFO
//! per sender), a lost wake-up stress with a watchdog, close with stuck
//! tasks and executor jobs, a loop thread that dies, and stats.
#![cfg(not(loom))]

#[path = "support/group.rs"]
mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{eventually, within, PATIENCE};
use tulipa::LoopGroup;

const LOOPS: usize = 8;
const POSTS: u64 = 100_000;

#[test]
fn eight_loops_post_100_000_callbacks_each_to_another_loop_none_lost_fifo_per_sender() {
    within(PATIENCE * 4, || {
        let group = LoopGroup::new(LOOPS).unwrap();
        // received[target]: callbacks run there; last[target]: the last
        // sequence number seen there (each target hears from one sender).
        let received: Arc<Vec<AtomicU64>> =
            Arc::new((0..LOOPS).map(|_| AtomicU64::new(0)).collect());
        let last: Arc<Vec<AtomicU64>> = Arc::new((0..LOOPS).map(|_| AtomicU64::new(0)).collect());
        let senders: Vec<_> = (0..LOOPS)
            .map(|i| {
                let (received, last) = (received.clone(), last.clone());
                group
                    .spawn_on(i, move || async move {
                        let group = tulipa::group().unwrap();
                        let target = (i + 1) % LOOPS;
                        let to = &group.handles()[target];
                        for seq in 1..=POSTS {
                            let (received, last) = (received.clone(), last.clone());
                            to.call_soon_threadsafe(move || {
                                let prev = last[target].swap(seq, Ordering::Relaxed);
                                assert_eq!(prev + 1, seq, "posts from one loop run in order");
                                received[target].fetch_add(1, Ordering::Relaxed);
                            })
                            .unwrap();
                            if seq % 1024 == 0 {
                                tulipa::yield_now().await;
                            }
                        }
                    })
                    .unwrap()
            })
            .collect();
        for s in senders {
            s.wait().unwrap();
        }
        eventually("every post ran", || {
            received.iter().all(|r| r.load(Ordering::Relaxed) == POSTS)
        });
        let stats = group.stats(Duration::from_secs(10));
        assert!(stats.cross_thread_posts() >= LOOPS as u64 * POSTS);
        for report in &stats.loops {
            let posts = report.stats.as_ref().unwrap().cross_thread_posts;
            assert!(posts >= POSTS, "loop {} took {posts} posts", report.index);
        }
        assert!(group.close().is_clean());
    });
}

#[test]
fn lost_wakeup_stress_cross_loop_round_trips_with_a_watchdog() {
    // Every round trip parks a loop and needs a wake-up from another; a
    // lost one stalls a chain and the watchdog fails the test.
    within(PATIENCE, || {
        let group = LoopGroup::new(4).unwrap();
        let chains: Vec<_> = (0..4)
            .map(|i| {
                group
                    .spawn_on(i, move || async move {
                        let group = tulipa::group().unwrap();
                        let mut sum = 0u64;
                        for k in 0..5_000u64 {
                            let peer = (i + 1 + (k as usize % 3)) % 4;
                            sum += group
                                .spawn_on(peer, move || async move { k })
                                .unwrap()
                                .await
                                .unwrap();
                        }
                        sum
                    })
                    .unwrap()
            })
            .collect();
        // Plain threads block on handles at the same time.
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let group = (*group).clone();
                std::thread::spawn(move || {
                    (0..2_000u64)
                        .map(|k| {
                            group
                                .spawn(move || async move { k })
                                .unwrap()
                                .wait()
                                .unwrap()
                        })
                        .sum::<u64>()
                })
            })
            .collect();
        let expected = (0..5_000u64).sum::<u64>();
        for chain in chains {
            assert_eq!(chain.wait().unwrap(), expected);
        }
        for t in threads {
            assert_eq!(t.join().unwrap(), (0..2_000u64).sum::<u64>());
        }
        assert!(group.close().is_clean());
    });
}

#[test]
fn close_with_stuck_tasks_and_executor_jobs_is_bounded_and_reports_the_stuck_loop() {
    within(PATIENCE, || {
        let group = LoopGroup::builder()
            .loops(3)
            .close_timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        // Loop 0: a task pending forever (cancelled by close).
        drop(group.spawn_on(0, std::future::pending::<()>).unwrap());
        // Loop 1: a task that blocks its thread for good.
        let (tx, rx) = std::sync::mpsc::channel();
        drop(
            group
                .spawn_on(1, move || async move {
                    tx.send(()).unwrap();
                    loop {
                        std::thread::park();
                    }
                })
                .unwrap(),
        );
        rx.recv().unwrap();
        // Loop 2: a task awaiting an executor job that never ends.
        let (tx, rx) = std::sync::mpsc::channel();
        drop(
            group
                .spawn_on(2, move || async move {
                    tulipa::run_in_executor(move || {
                        tx.send(()).unwrap();
                        loop {
                            std::thread::park();
                        }
                    })
                    .await
                })
                .unwrap(),
        );
        rx.recv().unwrap();
        let started = Instant::now();
        let report = group.close();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "close took {:?}",
            started.elapsed()
        );
        assert_eq!(report.stuck, [1]);
        assert!(report.died.is_empty());
        assert!(!report.is_clean());
    });
}

#[test]
fn a_loop_thread_that_dies_is_reported_and_gets_no_work() {
    within(PATIENCE, || {
        let group = LoopGroup::builder()
            .loops(3)
            .on_thread_start(|i| {
                if i == 1 {
                    panic!("loop 1 failed to start (expected in this test)");
                }
            })
            .build()
            .unwrap();
        eventually("loop 1 is gone", || group.spawn_on(1, || async {}).is_err());
        assert!(group.spawn_on(1, || async {}).unwrap_err().is_closed());
        for _ in 0..50 {
            let t = group.spawn(|| async {}).unwrap();
            assert_ne!(t.loop_index(), 1);
            t.wait().unwrap();
        }
        let stats = group.stats(Duration::from_secs(5));
        assert!(stats.loops[1].ended && stats.loops[1].stats.is_none());
        assert!(stats.loops[0].stats.is_some());
        let report = group.close();
        assert_eq!(report.died.len(), 1);
        assert_eq!(report.died[0].0, 1);
        assert!(report.died[0].1.contains("failed to start"));
        assert!(report.stuck.is_empty());
    });
}

#[test]
fn a_stray_stop_does_not_end_a_group_loop() {
    within(PATIENCE, || {
        let group = LoopGroup::new(2).unwrap();
        group.handles()[1].stop().unwrap();
        group
            .spawn_on(1, || async { tulipa::get_running_loop().unwrap().stop() })
            .unwrap()
            .wait()
            .unwrap();
        assert_eq!(
            group.spawn_on(1, || async { 3 }).unwrap().wait().unwrap(),
            3
        );
        let stopped = Arc::new(AtomicU64::new(0));
        let seen = stopped.clone();
        let group2 = LoopGroup::builder()
            .loops(2)
            .on_thread_stop(move |_| {
                seen.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .unwrap();
        assert!(group2.close().is_clean());
        assert_eq!(stopped.load(Ordering::SeqCst), 2);
        assert!(group.close().is_clean());
    });
}

#[test]
fn the_loops_write_one_trace_file_and_the_receiving_lane_shows_the_post() {
    let dir = std::env::temp_dir().join(format!("tulipa-group-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let group = LoopGroup::builder()
        .loops(2)
        .trace(dir.join("trace.json"))
        .build()
        .unwrap();
    group
        .spawn_on(1, || async { tulipa::yield_now().await })
        .unwrap()
        .wait()
        .unwrap();
    assert!(group.close().is_clean());
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(files.len(), 1, "one file for the group: {files:?}");
    let json = std::fs::read_to_string(dir.join("trace.json")).unwrap();
    assert!(json.contains("\"traceEvents\""));
    // Loop 1 received the spawn from another thread, and its lane (tid 2)
    // shows the wake-up.
    let wakeup = json
        .lines()
        .find(|l| l.contains("posts from other threads") && l.contains("\"tid\":2,"));
    assert!(wakeup.is_some(), "{json}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_group_inside_a_running_loop_is_a_typed_error_and_zero_loops_too() {
    let out = tulipa::run(async { tulipa::run_group(2, async {}).map(|_| ()) }).unwrap();
    assert!(matches!(out, Err(tulipa::group::LoopGroupError::Run(_))));
    assert!(matches!(
        LoopGroup::new(0),
        Err(tulipa::group::LoopGroupError::NoLoops)
    ));
}
