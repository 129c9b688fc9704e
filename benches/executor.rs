//! W7 (executor round trip) and W7b (executor burst) of shared/BENCHMARKS.md:
//! tulipa's pool against tokio's `spawn_blocking` (current_thread runtime,
//! `max_blocking_threads(4)`) and the `blocking` crate (`BLOCKING_MAX_THREADS=4`),
//! smol's thread pool, interleaved in one process.
//!
//!     cargo bench --bench executor             # 7 samples per contender
//!     TULIPA_BENCH_SAMPLES=11 cargo bench --bench executor
//!
//! "tulipa gather" runs W7b only: the same burst collected with
//! `tulipa::gather` instead of awaiting each job in turn.
#![cfg(not(loom))]

use std::time::{Duration, Instant};

const W7_TRIPS: u64 = 20_000;
const W7B_JOBS: u64 = 100_000;

struct Peer {
    name: &'static str,
    /// `None`: the contender runs W7b only.
    w7: Option<Box<dyn FnMut() -> Duration>>,
    w7b: Box<dyn FnMut() -> Duration>,
    w7_samples: Vec<f64>,
    w7b_samples: Vec<f64>,
}

/// tulipa's pool; with `gather`, W7b only, collected by `tulipa::gather`.
fn tulipa_peer(name: &'static str, spin: Duration, gather: bool) -> Peer {
    let lp = std::rc::Rc::new(tulipa::EventLoop::new().unwrap());
    let pool = tulipa::ThreadPoolExecutor::builder()
        .max_workers(4)
        .spin_time(spin)
        .build();
    let lp2 = lp.clone();
    let pool2 = pool.clone();
    let w7: Box<dyn FnMut() -> Duration> = Box::new(move || {
        let pool = pool.clone();
        lp.run_until_complete(async move {
            pool.run(|| 0).await.unwrap(); // one warm worker
            let start = Instant::now();
            for i in 0..W7_TRIPS {
                assert_eq!(pool.run(move || i + 1).await.unwrap(), i + 1);
            }
            start.elapsed()
        })
        .unwrap()
    });
    Peer {
        name,
        w7: (!gather).then_some(w7),
        w7b: Box::new(move || {
            let pool = pool2.clone();
            lp2.run_until_complete(async move {
                let start = Instant::now();
                let jobs: Vec<_> = (0..W7B_JOBS).map(|i| pool.run(move || i + 1)).collect();
                let sum: u64 = if gather {
                    tulipa::gather(jobs)
                        .await
                        .into_iter()
                        .map(Result::unwrap)
                        .sum()
                } else {
                    let mut sum = 0;
                    for job in jobs {
                        sum += job.await.unwrap();
                    }
                    sum
                };
                assert_eq!(sum, W7B_JOBS * (W7B_JOBS + 1) / 2);
                start.elapsed()
            })
            .unwrap()
        }),
        w7_samples: Vec::new(),
        w7b_samples: Vec::new(),
    }
}

fn tokio_peer() -> Peer {
    let rt = std::rc::Rc::new(
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(4)
            .build()
            .unwrap(),
    );
    let rt2 = rt.clone();
    Peer {
        name: "tokio spawn_blocking",
        w7: Some(Box::new(move || {
            rt.block_on(async {
                tokio::task::spawn_blocking(|| 0).await.unwrap();
                let start = Instant::now();
                for i in 0..W7_TRIPS {
                    let out = tokio::task::spawn_blocking(move || i + 1).await.unwrap();
                    assert_eq!(out, i + 1);
                }
                start.elapsed()
            })
        })),
        w7b: Box::new(move || {
            rt2.block_on(async {
                let start = Instant::now();
                let jobs: Vec<_> = (0..W7B_JOBS)
                    .map(|i| tokio::task::spawn_blocking(move || i + 1))
                    .collect();
                let mut sum = 0;
                for job in jobs {
                    sum += job.await.unwrap();
                }
                assert_eq!(sum, W7B_JOBS * (W7B_JOBS + 1) / 2);
                start.elapsed()
            })
        }),
        w7_samples: Vec::new(),
        w7b_samples: Vec::new(),
    }
}

fn blocking_peer() -> Peer {
    Peer {
        name: "smol blocking::unblock",
        w7: Some(Box::new(|| {
            futures::executor::block_on(async {
                blocking::unblock(|| 0).await;
                let start = Instant::now();
                for i in 0..W7_TRIPS {
                    assert_eq!(blocking::unblock(move || i + 1).await, i + 1);
                }
                start.elapsed()
            })
        })),
        w7b: Box::new(|| {
            futures::executor::block_on(async {
                let start = Instant::now();
                let jobs: Vec<_> = (0..W7B_JOBS)
                    .map(|i| blocking::unblock(move || i + 1))
                    .collect();
                let mut sum = 0;
                for job in jobs {
                    sum += job.await;
                }
                assert_eq!(sum, W7B_JOBS * (W7B_JOBS + 1) / 2);
                start.elapsed()
            })
        }),
        w7_samples: Vec::new(),
        w7b_samples: Vec::new(),
    }
}

/// Samples per contender: `TULIPA_BENCH_SAMPLES`, 7 by default.
fn samples() -> usize {
    std::env::var("TULIPA_BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7)
}

fn median(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

fn main() {
    // The blocking crate reads this once, at its first use.
    std::env::set_var("BLOCKING_MAX_THREADS", "4");
    let mut peers = vec![
        tulipa_peer("tulipa", Duration::from_micros(50), false),
        tulipa_peer("tulipa (spin_time 0)", Duration::ZERO, false),
        tulipa_peer("tulipa gather", Duration::from_micros(50), true),
        tokio_peer(),
        blocking_peer(),
    ];
    let samples = samples();
    for _ in 0..samples {
        for peer in &mut peers {
            if let Some(w7) = &mut peer.w7 {
                let w7 = w7();
                peer.w7_samples
                    .push(w7.as_secs_f64() * 1e6 / W7_TRIPS as f64);
            }
            let w7b = (peer.w7b)();
            peer.w7b_samples
                .push(w7b.as_secs_f64() * 1e9 / W7B_JOBS as f64);
        }
    }
    let report = |title: &str, unit: &str, pick: &dyn Fn(&Peer) -> &Vec<f64>| {
        println!("{title} ({samples} interleaved samples, median)");
        let ours = median(pick(&peers[0]));
        let mut best: Option<(&str, f64)> = None;
        for peer in peers.iter().filter(|p| !pick(p).is_empty()) {
            let m = median(pick(peer));
            let all: Vec<String> = pick(peer).iter().map(|s| format!("{s:.2}")).collect();
            println!(
                "  {:<22} {m:>10.2} {unit}   tulipa/peer = {:.2}   [{}]",
                peer.name,
                ours / m,
                all.join(" ")
            );
            if !peer.name.starts_with("tulipa") && best.is_none_or(|(_, b)| m < b) {
                best = Some((peer.name, m));
            }
        }
        let Some((best_name, best)) = best else {
            return;
        };
        for peer in peers.iter().filter(|p| p.name.starts_with("tulipa")) {
            if !pick(peer).is_empty() {
                let m = median(pick(peer));
                println!(
                    "  {} / best peer ({best_name}) = {:.2}",
                    peer.name,
                    m / best
                );
            }
        }
    };
    report("W7 executor round trip", "us/trip", &|p| &p.w7_samples);
    report("W7b executor burst", "ns/job", &|p| &p.w7b_samples);
}
