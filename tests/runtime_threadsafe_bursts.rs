//! Posts that come fast, then stop, then come again: the loop spins before
//! it blocks after a short block ended by a post, and blocks for real once
//! the posts stop. Each test runs under a watchdog, so a wake-up lost in
//! either mode fails it instead of hanging.
#![cfg(not(loom))]

#[path = "support/group.rs"]
mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use support::{within, PATIENCE};
use tulipa::{EventLoop, Queue};

/// Bursts of posts with pauses longer than the loop's spin between them:
/// each burst finds the loop blocked in the selector (or spinning), and
/// every post of every burst runs.
#[test]
fn bursts_with_pauses_between_them_lose_no_post() {
    within(PATIENCE, || {
        const BURSTS: u64 = 40;
        const PER_BURST: u64 = 2_000;
        let lp = EventLoop::new().unwrap();
        let handle = lp.handle();
        let sum = Arc::new(AtomicU64::new(0));
        let (ack_tx, ack_rx) = mpsc::channel();
        let total = sum.clone();
        let poster = std::thread::spawn(move || {
            for burst in 0..BURSTS {
                for i in 0..PER_BURST {
                    let total = total.clone();
                    handle
                        .call_soon_threadsafe(move || {
                            total.fetch_add(i, Ordering::Relaxed);
                        })
                        .unwrap();
                }
                // The burst's last post answers once the loop ran it.
                let ack = ack_tx.clone();
                handle
                    .call_soon_threadsafe(move || ack.send(burst).unwrap())
                    .unwrap();
                assert_eq!(ack_rx.recv().unwrap(), burst);
                // Long past the spin: the loop blocks before the next burst.
                std::thread::sleep(Duration::from_millis(1));
            }
            handle.stop().unwrap();
        });
        lp.run_forever().unwrap();
        poster.join().unwrap();
        assert_eq!(
            sum.load(Ordering::Relaxed),
            BURSTS * (PER_BURST * (PER_BURST - 1) / 2)
        );
    });
}

/// One post at a time, each answered before the next: the loop goes from
/// blocked to spinning and back on every round trip.
#[test]
fn ping_pong_posts_with_a_thread_lose_no_wake_up() {
    within(PATIENCE, || {
        let lp = EventLoop::new().unwrap();
        let handle = lp.handle();
        let (tx, rx) = mpsc::channel();
        let pinger = std::thread::spawn(move || {
            for i in 0..20_000u32 {
                let tx = tx.clone();
                handle
                    .call_soon_threadsafe(move || tx.send(i).unwrap())
                    .unwrap();
                assert_eq!(rx.recv().unwrap(), i);
                if i % 1000 == 0 {
                    // Now and then long enough for the loop to block.
                    std::thread::sleep(Duration::from_micros(500));
                }
            }
            handle.stop().unwrap();
        });
        lp.run_forever().unwrap();
        pinger.join().unwrap();
    });
}

/// W11's shape, small: a producer loop waits for room in a full bounded
/// queue that a consumer loop on another thread empties, so every few
/// items a get on one loop wakes a task of the other. Every item arrives
/// exactly once.
#[test]
fn producer_loop_waiting_on_a_full_queue_gets_every_wake_up() {
    within(PATIENCE, || {
        const ITEMS: u64 = 100_000;
        let queue = Queue::new(8);
        let consumer_queue = queue.clone();
        let consumer = std::thread::spawn(move || {
            tulipa::run(async move {
                let (mut sum, mut count) = (0u64, 0u64);
                while let Ok(x) = consumer_queue.get().await {
                    sum += x;
                    count += 1;
                }
                (sum, count)
            })
            .unwrap()
        });
        tulipa::run(async move {
            for x in 0..ITEMS {
                queue.put(x).await.unwrap();
            }
            queue.shutdown(false);
        })
        .unwrap();
        let (sum, count) = consumer.join().unwrap();
        assert_eq!(count, ITEMS);
        assert_eq!(sum, ITEMS * (ITEMS - 1) / 2);
    });
}

/// Many `spawn_threadsafe` calls from a plain thread, half of them awaited
/// and half detached at once: every task runs once, every awaited one
/// reports its own output.
#[test]
fn spawn_threadsafe_storm_awaited_and_detached() {
    within(PATIENCE, || {
        const SPAWNS: u64 = 20_000;
        let lp = EventLoop::new().unwrap();
        let handle = lp.handle();
        let ran = Arc::new(AtomicU64::new(0));
        let counter = ran.clone();
        let spawner = std::thread::spawn(move || {
            let mut awaited = Vec::new();
            for i in 0..SPAWNS {
                let counter = counter.clone();
                let task = handle
                    .spawn_threadsafe(async move {
                        counter.fetch_add(1, Ordering::Relaxed);
                        i * 3
                    })
                    .unwrap();
                if i % 2 == 0 {
                    awaited.push((i, task));
                } else {
                    drop(task);
                }
            }
            for (i, task) in awaited {
                assert_eq!(task.wait().unwrap(), i * 3);
            }
            handle.stop().unwrap();
        });
        lp.run_forever().unwrap();
        spawner.join().unwrap();
        assert_eq!(ran.load(Ordering::Relaxed), SPAWNS);
    });
}
