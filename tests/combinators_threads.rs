//! Cross-thread wake-ups into `gather` and `as_completed`: the per-child
//! wakers are woken from other threads while the loop polls the gather. A
//! lost wake-up would leave the gather pending forever; the real-clock
//! `wait_for` turns that into a failure instead of a hang. The senders wait
//! until the gather has made a few passes, so that the children are on
//! their own wakers (not the parent's) when the wake-ups race the polls.
#![cfg(not(loom))]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::channel::oneshot;

type Child = Pin<Box<dyn Future<Output = usize>>>;

/// The receivers as children, plus one that yields a few loop turns (so the
/// gather makes several passes) and then lets the senders go.
fn children(rxs: Vec<oneshot::Receiver<usize>>, go: Arc<AtomicBool>) -> Vec<Child> {
    let n = rxs.len();
    let mut out: Vec<Child> = rxs
        .into_iter()
        .map(|rx| Box::pin(async move { rx.await.unwrap() }) as Child)
        .collect();
    out.push(Box::pin(async move {
        for _ in 0..4 {
            tulipa::yield_now().await;
        }
        go.store(true, Ordering::Release);
        n
    }));
    out
}

/// Senders fired from `threads` threads in an interleaved order, with
/// small random pauses (a seeded xorshift) so wakes race the loop's polls.
fn fire_from_threads(
    senders: Vec<oneshot::Sender<usize>>,
    threads: usize,
    seed: u64,
    go: Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<()>> {
    let mut buckets: Vec<Vec<(usize, oneshot::Sender<usize>)>> =
        (0..threads).map(|_| Vec::new()).collect();
    for (i, tx) in senders.into_iter().enumerate() {
        buckets[i % threads].push((i, tx));
    }
    buckets
        .into_iter()
        .enumerate()
        .map(|(t, bucket)| {
            let go = go.clone();
            std::thread::spawn(move || {
                while !go.load(Ordering::Acquire) {
                    std::thread::yield_now();
                }
                let mut x = seed ^ (t as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                for (i, tx) in bucket {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    match x % 64 {
                        0 => std::thread::sleep(Duration::from_micros(x % 50)),
                        1..=8 => std::thread::yield_now(),
                        _ => {}
                    }
                    tx.send(i).unwrap();
                }
            })
        })
        .collect()
}

fn channels(n: usize) -> (Vec<oneshot::Sender<usize>>, Vec<oneshot::Receiver<usize>>) {
    (0..n).map(|_| oneshot::channel()).unzip()
}

#[test]
fn gather_woken_from_threads_loses_no_wakeup() {
    let lp = tulipa::EventLoop::new().unwrap();
    for (round, n) in [3usize, 8, 9, 100, 2000]
        .into_iter()
        .cycle()
        .take(100)
        .enumerate()
    {
        let go = Arc::new(AtomicBool::new(false));
        let (txs, rxs) = channels(n);
        let threads = fire_from_threads(txs, 4, round as u64 + 1, go.clone());
        let out = lp
            .run_until_complete(tulipa::wait_for(
                tulipa::gather(children(rxs, go)),
                Duration::from_secs(30),
            ))
            .unwrap()
            .expect("a lost wake-up left the gather pending");
        assert_eq!(out, (0..=n).collect::<Vec<_>>());
        threads.into_iter().for_each(|t| t.join().unwrap());
    }
}

#[test]
fn as_completed_woken_from_threads_loses_no_wakeup() {
    let lp = tulipa::EventLoop::new().unwrap();
    for round in 0..40u64 {
        let n = if round % 2 == 0 { 6 } else { 1000 };
        let go = Arc::new(AtomicBool::new(false));
        let (txs, rxs) = channels(n);
        let threads = fire_from_threads(txs, 3, round + 100, go.clone());
        let mut seen = lp
            .run_until_complete(async {
                let mut stream = tulipa::as_completed(children(rxs, go));
                let mut seen = Vec::new();
                while let Some((i, v)) = tulipa::wait_for(stream.next(), Duration::from_secs(30))
                    .await
                    .expect("a lost wake-up left as_completed pending")
                {
                    assert_eq!(i, v);
                    seen.push(i);
                }
                seen
            })
            .unwrap();
        seen.sort_unstable();
        assert_eq!(seen, (0..=n).collect::<Vec<_>>());
        threads.into_iter().for_each(|t| t.join().unwrap());
    }
}
