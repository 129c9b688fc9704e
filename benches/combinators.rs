//! W1 (spawn + gather), W5 (wait_for / timeout churn) and W9 (first
//! completed) of BENCHMARKS.md: tulipa against tokio's current-thread
//! runtime in the same process, interleaved samples, medians and ratios.
//!
//!     cargo bench --bench combinators
#![cfg(not(loom))]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tulipa::{EventLoop, ReturnWhen};

const SAMPLES: usize = 7;
const W1_TASKS: u64 = 100_000;
const W5_OPS: u64 = 1_000_000;
const W9_ROUNDS: u64 = 100_000;

/// Pending at its first poll (waking itself), ready at the second.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = u64;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        if std::mem::replace(&mut self.0, true) {
            Poll::Ready(1)
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

fn w1_tulipa(lp: &EventLoop) {
    let sum: u64 = lp
        .run_until_complete(async {
            let tasks: Vec<_> = (0..W1_TASKS)
                .map(|i| tulipa::spawn(async move { i }))
                .collect();
            tulipa::gather(tasks)
                .await
                .into_iter()
                .map(Result::unwrap)
                .sum()
        })
        .unwrap();
    assert_eq!(sum, W1_TASKS * (W1_TASKS - 1) / 2);
}

/// Reference, not a peer: the same spawns awaited one by one (what gather
/// adds on top of spawning).
fn w1_tulipa_sequential(lp: &EventLoop) {
    let sum: u64 = lp
        .run_until_complete(async {
            let tasks: Vec<_> = (0..W1_TASKS)
                .map(|i| tulipa::spawn(async move { i }))
                .collect();
            let mut sum = 0;
            for t in tasks {
                sum += t.await.unwrap();
            }
            sum
        })
        .unwrap();
    assert_eq!(sum, W1_TASKS * (W1_TASKS - 1) / 2);
}

fn w1_tokio_join_all(rt: &tokio::runtime::Runtime) {
    let sum: u64 = rt.block_on(async {
        let handles: Vec<_> = (0..W1_TASKS)
            .map(|i| tokio::spawn(async move { i }))
            .collect();
        futures::future::join_all(handles)
            .await
            .into_iter()
            .map(Result::unwrap)
            .sum()
    });
    assert_eq!(sum, W1_TASKS * (W1_TASKS - 1) / 2);
}

fn w1_tokio_joinset(rt: &tokio::runtime::Runtime) {
    let sum: u64 = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..W1_TASKS {
            set.spawn(async move { i });
        }
        let mut sum = 0;
        while let Some(r) = set.join_next().await {
            sum += r.unwrap();
        }
        sum
    });
    assert_eq!(sum, W1_TASKS * (W1_TASKS - 1) / 2);
}

fn w5_tulipa(lp: &EventLoop, pending_once: bool) {
    let sum = lp
        .run_until_complete(async {
            let mut sum = 0;
            for _ in 0..W5_OPS {
                sum += if pending_once {
                    tulipa::wait_for(YieldOnce(false), Duration::from_secs(10)).await
                } else {
                    tulipa::wait_for(std::future::ready(1), Duration::from_secs(10)).await
                }
                .unwrap();
            }
            sum
        })
        .unwrap();
    assert_eq!(sum, W5_OPS);
}

fn w5_tokio(rt: &tokio::runtime::Runtime, pending_once: bool) {
    let sum = rt.block_on(async {
        let mut sum = 0;
        for _ in 0..W5_OPS {
            sum += if pending_once {
                tokio::time::timeout(Duration::from_secs(10), YieldOnce(false)).await
            } else {
                tokio::time::timeout(Duration::from_secs(10), std::future::ready(1)).await
            }
            .unwrap();
        }
        sum
    });
    assert_eq!(sum, W5_OPS);
}

fn w9_tulipa(lp: &EventLoop) {
    let sum = lp
        .run_until_complete(async {
            let mut sum = 0;
            for _ in 0..W9_ROUNDS {
                let fast = tulipa::spawn(async { 1u64 });
                let slow = tulipa::spawn(async {
                    tulipa::sleep(Duration::from_secs(3600)).await;
                    2u64
                });
                let (done, pending) = tulipa::wait([fast, slow], ReturnWhen::FirstCompleted, None)
                    .await
                    .unwrap();
                for task in pending {
                    task.cancel();
                }
                for task in done {
                    sum += task.await.unwrap();
                }
            }
            tulipa::yield_now().await; // let the last cancel land
            sum
        })
        .unwrap();
    assert_eq!(sum, W9_ROUNDS);
}

fn w9_tokio(rt: &tokio::runtime::Runtime) {
    let sum = rt.block_on(async {
        let mut sum = 0;
        for _ in 0..W9_ROUNDS {
            let mut fast = tokio::spawn(async { 1u64 });
            let mut slow = tokio::spawn(async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                2u64
            });
            tokio::select! {
                r = &mut fast => { slow.abort(); sum += r.unwrap(); }
                r = &mut slow => { fast.abort(); sum += r.unwrap(); }
            }
        }
        tokio::task::yield_now().await;
        sum
    });
    assert_eq!(sum, W9_ROUNDS);
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Runs every contender once per round (interleaved), `SAMPLES` rounds
/// after one warm-up, and prints medians in ns per op plus the ratio of
/// tulipa (the first contender) to the best peer.
fn workload(title: &str, ops: u64, contenders: &mut [(&str, &mut dyn FnMut())]) {
    // `cargo bench --bench combinators -- W9` runs only the W9 rows.
    if let Some(filter) = std::env::args().skip(1).find(|a| !a.starts_with('-')) {
        if !title.contains(&filter) {
            return;
        }
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    for round in 0..=SAMPLES {
        for (i, (_, run)) in contenders.iter_mut().enumerate() {
            let start = Instant::now();
            run();
            let ns = start.elapsed().as_nanos() as f64 / ops as f64;
            if round > 0 {
                times[i].push(ns);
            }
        }
    }
    let medians: Vec<f64> = times.into_iter().map(median).collect();
    // Contenders named in parentheses are references, not peers.
    let best_peer = contenders
        .iter()
        .zip(&medians)
        .skip(1)
        .filter(|((name, _), _)| !name.starts_with('('))
        .map(|(_, m)| *m)
        .fold(f64::INFINITY, f64::min);
    let row: Vec<String> = contenders
        .iter()
        .zip(&medians)
        .map(|((name, _), m)| format!("{name} {m:.1}"))
        .collect();
    println!(
        "{title}: {} | tulipa/best-peer {:.2}",
        row.join(" | "),
        medians[0] / best_peer
    );
}

fn main() {
    let lp = EventLoop::new().unwrap();
    let rt = tokio_rt();
    println!("medians of {SAMPLES} interleaved samples, ns per op (lower is better)");
    workload(
        "W1 spawn 100k + gather, ns/task",
        W1_TASKS,
        &mut [
            ("tulipa gather", &mut || w1_tulipa(&lp)),
            ("(tulipa await-each)", &mut || w1_tulipa_sequential(&lp)),
            ("tokio join_all", &mut || w1_tokio_join_all(&rt)),
            ("tokio JoinSet", &mut || w1_tokio_joinset(&rt)),
        ],
    );
    workload(
        "W5 wait_for(ready, 10 s), ns/op",
        W5_OPS,
        &mut [
            ("tulipa wait_for", &mut || w5_tulipa(&lp, false)),
            ("tokio timeout", &mut || w5_tokio(&rt, false)),
        ],
    );
    workload(
        "W5 pending-once variant, ns/op",
        W5_OPS,
        &mut [
            ("tulipa wait_for", &mut || w5_tulipa(&lp, true)),
            ("tokio timeout", &mut || w5_tokio(&rt, true)),
        ],
    );
    workload(
        "W9 first-completed + cancel, ns/round",
        W9_ROUNDS,
        &mut [
            ("tulipa wait", &mut || w9_tulipa(&lp)),
            ("tokio select!+abort", &mut || w9_tokio(&rt)),
        ],
    );
}
