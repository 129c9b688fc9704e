//! Cross-thread wake-ups into `gather` and `as_completed`: the per-child
//! wakers are woken from other threads while the loop polls the gather. A
//! lost wake-up would leave the gather pending forever; the real-clock
//! `wait_for` turns that into a failure instead of a hang.
#![cfg(not(loom))]

use std::time::Duration;

use futures::channel::oneshot;

/// Senders fired from `threads` threads in an interleaved order, with
/// small random pauses (a seeded xorshift) so wakes race the loop's polls.
fn fire_from_threads(
    senders: Vec<oneshot::Sender<usize>>,
    threads: usize,
    seed: u64,
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
            std::thread::spawn(move || {
                let mut x = seed ^ (t as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                for (i, tx) in bucket {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if x % 4 == 0 {
                        std::thread::sleep(Duration::from_micros(x % 50));
                    } else {
                        std::thread::yield_now();
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
    for (round, n) in [3usize, 8, 9, 100, 1000]
        .into_iter()
        .cycle()
        .take(30)
        .enumerate()
    {
        let (txs, rxs) = channels(n);
        let threads = fire_from_threads(txs, 4, round as u64 + 1);
        let out = lp
            .run_until_complete(tulipa::wait_for(
                tulipa::gather(rxs),
                Duration::from_secs(30),
            ))
            .unwrap()
            .expect("a lost wake-up left the gather pending");
        assert_eq!(
            out.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
            (0..n).collect::<Vec<_>>()
        );
        threads.into_iter().for_each(|t| t.join().unwrap());
    }
}

#[test]
fn as_completed_woken_from_threads_loses_no_wakeup() {
    let lp = tulipa::EventLoop::new().unwrap();
    for round in 0..20u64 {
        let n = if round % 2 == 0 { 6 } else { 300 };
        let (txs, rxs) = channels(n);
        let threads = fire_from_threads(txs, 3, round + 100);
        let mut seen = lp
            .run_until_complete(async {
                let mut stream = tulipa::as_completed(rxs);
                let mut seen = Vec::new();
                while let Some((i, v)) = tulipa::wait_for(stream.next(), Duration::from_secs(30))
                    .await
                    .expect("a lost wake-up left as_completed pending")
                {
                    assert_eq!(i, v.unwrap());
                    seen.push(i);
                }
                seen
            })
            .unwrap();
        seen.sort_unstable();
        assert_eq!(seen, (0..n).collect::<Vec<_>>());
        threads.into_iter().for_each(|t| t.join().unwrap());
    }
}
