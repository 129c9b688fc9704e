//! W1 (spawn + gather), W5 (wait_for / timeout churn) and W9 (first
//! completed) of BENCHMARKS.md: tulipa against tokio's current-thread
//! runtime and async-executor's `LocalExecutor` ("smol", with async-io's
//! `Timer`) in the same process, interleaved samples, medians and ratios.
//!
//!     cargo bench --bench combinators          # 7 samples per contender
//!     TULIPA_BENCH_SAMPLES=11 cargo bench --bench combinators
//!     cargo bench --bench combinators -- W9     # only the rows whose title contains "W9"
//!     COMBINATORS_PROFILE=w9 cargo bench --bench combinators  # tulipa's W9 alone (w1, w5, w5x too)
#![cfg(not(loom))]

mod support;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_executor::LocalExecutor;
use futures::future::{select, Either};
use tulipa::{EventLoop, ReturnWhen};

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
    let sum = support::tulipa_w1_gather(lp, W1_TASKS);
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

// ------------------------------------------------------------- smol peers

/// Runs `f` on the executor. The peer is driven by `futures`' `block_on`,
/// and its `Timer`s by async-io's own driver thread; with `own_reactor`
/// (`smol::block_on`, i.e. async-io's `block_on`) this thread drives the
/// reactor itself, which costs a reactor notification per timer armed and
/// is about ten times slower on W5x and W9 here, so it is a reference row.
fn smol_on<F: Future>(ex: &LocalExecutor<'_>, own_reactor: bool, f: F) -> F::Output {
    if own_reactor {
        async_io::block_on(ex.run(f))
    } else {
        futures::executor::block_on(ex.run(f))
    }
}

fn w1_smol_join_all(ex: &LocalExecutor<'_>) {
    let sum: u64 = smol_on(ex, false, async {
        let tasks: Vec<_> = (0..W1_TASKS).map(|i| ex.spawn(async move { i })).collect();
        futures::future::join_all(tasks).await.into_iter().sum()
    });
    assert_eq!(sum, W1_TASKS * (W1_TASKS - 1) / 2);
}

/// smol has no `timeout`: its idiom races the future against a `Timer`
/// (created with the future, registered only if polled, as tokio's).
async fn smol_timeout<F: Future + Unpin>(d: Duration, f: F) -> Result<F::Output, ()> {
    match select(f, async_io::Timer::after(d)).await {
        Either::Left((out, _timer)) => Ok(out),
        Either::Right(_) => Err(()),
    }
}

fn w5_smol(ex: &LocalExecutor<'_>, own_reactor: bool, pending_once: bool) {
    let sum = smol_on(ex, own_reactor, async {
        let mut sum = 0;
        for _ in 0..W5_OPS {
            sum += if pending_once {
                smol_timeout(Duration::from_secs(10), YieldOnce(false)).await
            } else {
                smol_timeout(Duration::from_secs(10), std::future::ready(1)).await
            }
            .unwrap();
        }
        sum
    });
    assert_eq!(sum, W5_OPS);
}

fn w9_smol(ex: &LocalExecutor<'_>, own_reactor: bool) {
    let sum = smol_on(ex, own_reactor, async {
        let mut sum = 0;
        for _ in 0..W9_ROUNDS {
            let fast = ex.spawn(async { 1u64 });
            let slow = ex.spawn(async {
                async_io::Timer::after(Duration::from_secs(3600)).await;
                2u64
            });
            // Dropping a smol task cancels it.
            match select(fast, slow).await {
                Either::Left((r, slow)) => {
                    drop(slow);
                    sum += r;
                }
                Either::Right((r, fast)) => {
                    drop(fast);
                    sum += r;
                }
            }
        }
        YieldOnce(false).await; // let the last cancel land
        sum
    });
    assert_eq!(sum, W9_ROUNDS);
}

/// Samples per contender: `TULIPA_BENCH_SAMPLES`, 7 by default.
fn samples() -> usize {
    std::env::var("TULIPA_BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Runs every contender once per round (interleaved), `samples()` rounds
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
    for round in 0..=samples() {
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
    let (best_name, best_peer) = contenders
        .iter()
        .zip(&medians)
        .skip(1)
        .filter(|((name, _), _)| !name.starts_with('('))
        .map(|((name, _), m)| (*name, *m))
        .fold(
            ("none", f64::INFINITY),
            |best, c| if c.1 < best.1 { c } else { best },
        );
    let row: Vec<String> = contenders
        .iter()
        .zip(&medians)
        .map(|((name, _), m)| format!("{name} {m:.1}"))
        .collect();
    println!(
        "{title}: {} | tulipa/best-peer {:.2} ({best_name})",
        row.join(" | "),
        medians[0] / best_peer
    );
}

fn main() {
    let lp = EventLoop::new().unwrap();
    // `COMBINATORS_PROFILE=w9` runs only tulipa's W9, `TULIPA_BENCH_SAMPLES`
    // times, for a profiler (perf, callgrind) to see nothing else;
    // `COMBINATORS_PROFILE=w1,w9` runs W1 once first, on the same loop (as
    // the full bench does), and times only the last one.
    if let Ok(which) = std::env::var("COMBINATORS_PROFILE") {
        let runs: Vec<fn(&EventLoop)> = which
            .split(',')
            .map(|name| -> fn(&EventLoop) {
                match name {
                    "w1" => w1_tulipa,
                    "w5" => |lp| w5_tulipa(lp, false),
                    "w5x" => |lp| w5_tulipa(lp, true),
                    "w9" => w9_tulipa,
                    other => panic!("COMBINATORS_PROFILE: no workload {other:?} (w1, w5, w5x, w9)"),
                }
            })
            .collect();
        let (last, before) = runs.split_last().expect("split gives one name at least");
        for run in before {
            run(&lp);
        }
        let start = Instant::now();
        for _ in 0..samples() {
            last(&lp);
        }
        eprintln!(
            "{which}: {:.3} s for the last workload",
            start.elapsed().as_secs_f64()
        );
        return;
    }
    let rt = tokio_rt();
    let ex = LocalExecutor::new();
    println!(
        "medians of {} interleaved samples, ns per op (lower is better)",
        samples()
    );
    workload(
        "W1 spawn 100k + gather, ns/task",
        W1_TASKS,
        &mut [
            ("tulipa gather", &mut || w1_tulipa(&lp)),
            ("(tulipa await-each)", &mut || w1_tulipa_sequential(&lp)),
            ("tokio join_all", &mut || w1_tokio_join_all(&rt)),
            ("tokio JoinSet", &mut || w1_tokio_joinset(&rt)),
            ("smol join_all", &mut || w1_smol_join_all(&ex)),
        ],
    );
    workload(
        "W5 wait_for(ready, 10 s), ns/op",
        W5_OPS,
        &mut [
            ("tulipa wait_for", &mut || w5_tulipa(&lp, false)),
            ("tokio timeout", &mut || w5_tokio(&rt, false)),
            ("smol Timer race", &mut || w5_smol(&ex, false, false)),
        ],
    );
    workload(
        "W5 pending-once variant, ns/op",
        W5_OPS,
        &mut [
            ("tulipa wait_for", &mut || w5_tulipa(&lp, true)),
            ("tokio timeout", &mut || w5_tokio(&rt, true)),
            ("smol Timer race", &mut || w5_smol(&ex, false, true)),
            ("(smol::block_on)", &mut || w5_smol(&ex, true, true)),
        ],
    );
    workload(
        "W9 first-completed + cancel, ns/round",
        W9_ROUNDS,
        &mut [
            ("tulipa wait", &mut || w9_tulipa(&lp)),
            ("tokio select!+abort", &mut || w9_tokio(&rt)),
            ("smol select+drop", &mut || w9_smol(&ex, false)),
            ("(smol::block_on)", &mut || w9_smol(&ex, true)),
        ],
    );
}
