//! The task core: W1 (spawn + gather), M1 (memory per waiting task) and W8x
//! (`spawn_threadsafe` from a plain thread) of BENCHMARKS.md, tulipa
//! against tokio's current-thread runtime and async-executor's
//! `LocalExecutor` (smol), interleaved samples, medians and ratios. W1 is
//! run twice, each sample in a process of its own: on a fresh loop
//! (runtime, executor) per burst, its drop timed ("W1"), and on one loop
//! kept for every burst ("W1k"), with a row for tulipa without its block
//! cache (`TULIPA_BLOCK_CACHE=off`).
//!
//!     cargo bench --bench task_core
//!     TULIPA_BENCH_ONLY=W1 cargo bench --bench task_core   # W1 and W1k
//!     TULIPA_BENCH_ONLY=W1k TULIPA_BENCH_ROW=tulipa cargo bench --bench task_core  # one row
//!     TASK_CORE_W1=kept:tulipa cargo bench --bench task_core  # one sample, to profile
#![cfg(not(loom))]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

const W1_TASKS: u64 = 100_000;
const M1_TASKS: usize = 1_000_000;
const W8_SPAWNS: usize = 200_000;

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn ns_per(start: Instant, n: u64) -> f64 {
    start.elapsed().as_nanos() as f64 / n as f64
}

// ---------------------------------------------------------------------- W1
//
// Every W1 sample runs in a process of its own, so that the contenders do
// not share a heap (glibc gives memory back to the kernel, or not,
// depending on what else sits in the heap, and one contender's leftovers
// changed another's page faults by a third). The child runs three bursts
// and reports the third: on a fresh loop (runtime, executor) each, its drop
// timed too, or all on one loop kept, bursts back to back with no wait
// between them (so tulipa's block cache is never trimmed: a loop that waits
// between bursts keeps only 256 KiB of blocks).

/// A loop, with eager tasks or not.
fn tulipa_loop(eager: bool) -> tulipa::EventLoop {
    let builder = tulipa::EventLoop::builder();
    let builder = if eager {
        builder.eager_tasks()
    } else {
        builder
    };
    builder.build().unwrap()
}

const W1_BURSTS: usize = 3;
const W1_SAMPLES: usize = 11;

fn w1_check(sum: u64) {
    assert_eq!(sum, W1_TASKS * (W1_TASKS - 1) / 2);
}

fn w1_tulipa_burst(lp: &tulipa::EventLoop) -> u64 {
    support::tulipa_w1_gather(lp, W1_TASKS)
}

fn w1_tokio_burst(rt: &tokio::runtime::Runtime) -> u64 {
    rt.block_on(async {
        let tasks: Vec<_> = (0..W1_TASKS)
            .map(|i| tokio::spawn(async move { i }))
            .collect();
        let mut sum = 0;
        for task in tasks {
            sum += task.await.unwrap();
        }
        sum
    })
}

fn w1_smol_burst(ex: &async_executor::LocalExecutor<'_>) -> u64 {
    futures::executor::block_on(ex.run(async {
        let tasks: Vec<_> = (0..W1_TASKS).map(|i| ex.spawn(async move { i })).collect();
        let mut sum = 0;
        for task in tasks {
            sum += task.await;
        }
        sum
    }))
}

/// The third burst of `row` ("tulipa", "tulipa eager", "tokio", "smol"),
/// in ns per task: on a fresh loop each (made outside the timing, dropped
/// inside it) or on one loop kept.
fn w1_child(row: &str, kept: bool) -> f64 {
    // A loop is made by `make`, a burst run by `burst`.
    fn bursts<L>(kept: bool, make: impl Fn() -> L, burst: impl Fn(&L) -> u64) -> f64 {
        let kept_loop = kept.then(&make);
        let mut ns = 0.0;
        for _ in 0..W1_BURSTS {
            match &kept_loop {
                Some(lp) => {
                    let start = Instant::now();
                    w1_check(burst(lp));
                    ns = ns_per(start, W1_TASKS);
                }
                None => {
                    let lp = make();
                    let start = Instant::now();
                    w1_check(burst(&lp));
                    drop(lp);
                    ns = ns_per(start, W1_TASKS);
                }
            }
        }
        ns
    }
    match row {
        "tulipa" => bursts(kept, || tulipa_loop(false), w1_tulipa_burst),
        "tulipa eager" => bursts(kept, || tulipa_loop(true), w1_tulipa_burst),
        "tokio" => bursts(kept, tokio_rt, w1_tokio_burst),
        "smol" => bursts(kept, async_executor::LocalExecutor::new, |ex| {
            w1_smol_burst(ex)
        }),
        other => unreachable!("no W1 row {other}"),
    }
}

/// W1's rows, on a fresh loop per burst or (`KEPT`) on one loop kept: a
/// `fn` per contender, each sample in a child process.
fn w1_rows<const KEPT: bool>() -> [Row<'static>; 5] {
    [
        ("tulipa", || w1_in_child("tulipa", KEPT, true)),
        ("tulipa eager", || w1_in_child("tulipa eager", KEPT, true)),
        ("tulipa, block cache off", || {
            w1_in_child("tulipa", KEPT, false)
        }),
        ("tokio current_thread", || w1_in_child("tokio", KEPT, true)),
        ("smol LocalExecutor", || w1_in_child("smol", KEPT, true)),
    ]
}

/// One W1 sample in a child process; `cache` false runs tulipa with
/// `TULIPA_BLOCK_CACHE=off`.
fn w1_in_child(row: &str, kept: bool, cache: bool) -> f64 {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child.env(
        "TASK_CORE_W1",
        format!("{}:{row}", if kept { "kept" } else { "fresh" }),
    );
    child.env("TULIPA_BLOCK_CACHE", if cache { "on" } else { "off" });
    let out = child.output().unwrap();
    assert!(
        out.status.success(),
        "W1 sample {row} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

// ---------------------------------------------------------------------- M1

/// Resident set size in bytes, from /proc/self/statm.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

fn m1_tulipa() -> f64 {
    let lp = tulipa::EventLoop::new().unwrap();
    lp.run_until_complete(async {
        let event = std::rc::Rc::new(tulipa::Event::new());
        let before = rss();
        let tasks: Vec<_> = (0..M1_TASKS)
            .map(|_| {
                let event = event.clone();
                tulipa::spawn(async move { event.wait().await })
            })
            .collect();
        tulipa::yield_now().await;
        tulipa::yield_now().await;
        let per_task = rss().saturating_sub(before) as f64 / M1_TASKS as f64;
        event.set();
        for task in tasks {
            task.await.unwrap();
        }
        per_task
    })
    .unwrap()
}

fn m1_tokio() -> f64 {
    let rt = tokio_rt();
    rt.block_on(async {
        // A closed channel wakes every receiver, even one that starts waiting late.
        let (tx, rx) = async_channel::bounded::<()>(1);
        let before = rss();
        let tasks: Vec<_> = (0..M1_TASKS)
            .map(|_| {
                let rx = rx.clone();
                tokio::spawn(async move {
                    let _ = rx.recv().await;
                })
            })
            .collect();
        tokio::task::yield_now().await;
        tokio::task::yield_now().await;
        let per_task = rss().saturating_sub(before) as f64 / M1_TASKS as f64;
        drop(tx);
        for task in tasks {
            task.await.unwrap();
        }
        per_task
    })
}

fn m1_smol() -> f64 {
    let ex = async_executor::LocalExecutor::new();
    futures::executor::block_on(ex.run(async {
        let (tx, rx) = async_channel::bounded::<()>(1);
        let before = rss();
        let tasks: Vec<_> = (0..M1_TASKS)
            .map(|_| {
                let rx = rx.clone();
                ex.spawn(async move {
                    let _ = rx.recv().await;
                })
            })
            .collect();
        futures_lite_yield().await;
        futures_lite_yield().await;
        let per_task = rss().saturating_sub(before) as f64 / M1_TASKS as f64;
        drop(tx);
        for task in tasks {
            task.await;
        }
        per_task
    }))
}

/// One yield to the executor, without a smol dependency.
async fn futures_lite_yield() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if std::mem::replace(&mut yielded, true) {
            std::task::Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

/// Runs one M1 sample in a fresh copy of this process.
fn m1_in_child(which: &str) -> f64 {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env("TASK_CORE_M1", which)
        .output()
        .unwrap();
    assert!(out.status.success(), "M1 sample {which} failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

// --------------------------------------------------------------------- W8x

fn w8x_tulipa() -> f64 {
    let lp = tulipa::EventLoop::new().unwrap();
    let handle = lp.handle();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let start = Instant::now();
    let poster = std::thread::spawn(move || {
        for _ in 0..W8_SPAWNS {
            let (c, stopper) = (c.clone(), handle.clone());
            drop(
                handle
                    .spawn_threadsafe(async move {
                        if c.fetch_add(1, Ordering::Relaxed) + 1 == W8_SPAWNS {
                            stopper.stop().unwrap();
                        }
                    })
                    .unwrap(),
            );
        }
    });
    lp.run_forever().unwrap();
    let ns = ns_per(start, W8_SPAWNS as u64);
    poster.join().unwrap();
    assert_eq!(count.load(Ordering::Relaxed), W8_SPAWNS);
    ns
}

fn w8x_tokio_channel() -> f64 {
    let rt = tokio_rt();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Box<dyn FnOnce() + Send>>();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let start = Instant::now();
    let poster = std::thread::spawn(move || {
        for _ in 0..W8_SPAWNS {
            let c = c.clone();
            tx.send(Box::new(move || {
                c.fetch_add(1, Ordering::Relaxed);
            }))
            .unwrap();
        }
    });
    rt.block_on(async {
        while count.load(Ordering::Relaxed) < W8_SPAWNS {
            match rx.recv().await {
                Some(f) => f(),
                None => break,
            }
        }
    });
    let ns = ns_per(start, W8_SPAWNS as u64);
    poster.join().unwrap();
    ns
}

fn w8x_smol() -> f64 {
    let ex = Arc::new(async_executor::Executor::new());
    let count = Arc::new(AtomicUsize::new(0));
    let (done_tx, done_rx) = async_channel::bounded::<()>(1);
    let (c, spawner) = (count.clone(), ex.clone());
    let start = Instant::now();
    let poster = std::thread::spawn(move || {
        for _ in 0..W8_SPAWNS {
            let (c, d) = (c.clone(), done_tx.clone());
            spawner
                .spawn(async move {
                    if c.fetch_add(1, Ordering::Relaxed) + 1 == W8_SPAWNS {
                        let _ = d.try_send(());
                    }
                })
                .detach();
        }
    });
    futures::executor::block_on(ex.run(async { done_rx.recv().await.unwrap() }));
    let ns = ns_per(start, W8_SPAWNS as u64);
    poster.join().unwrap();
    ns
}

// ------------------------------------------------------------------ report

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// A contender: its name and one sample.
type Row<'a> = (&'a str, fn() -> f64);

fn report(title: &str, rows: &[Row<'_>], samples: usize) {
    // TULIPA_BENCH_ROW=tulipa runs only the row of that name, or if there
    // is none, the rows whose name starts with it (to profile one
    // contender); no ratios are printed then.
    if let Ok(prefix) = std::env::var("TULIPA_BENCH_ROW") {
        let exact = rows.iter().any(|(name, _)| *name == prefix);
        let picked = |name: &str| {
            if exact {
                name == prefix
            } else {
                name.starts_with(&prefix)
            }
        };
        for (name, run) in rows.iter().filter(|(name, _)| picked(name)) {
            let mut one: Vec<f64> = (0..samples).map(|_| run()).collect();
            one.sort_by(f64::total_cmp);
            println!(
                "{title}: {name} {:.1} (median of {samples})",
                one[samples / 2]
            );
        }
        return;
    }
    let mut all = vec![Vec::new(); rows.len()];
    for _ in 0..samples {
        for (i, (_, run)) in rows.iter().enumerate() {
            all[i].push(run());
        }
    }
    let medians: Vec<f64> = all.into_iter().map(median).collect();
    println!("{title} (median of {samples})");
    for (i, (name, _)) in rows.iter().enumerate() {
        let ratios: Vec<String> = rows
            .iter()
            .zip(&medians)
            .skip(1)
            .filter(|((peer, _), _)| !peer.starts_with("tulipa"))
            .map(|((peer, _), m)| format!("{:.2}x {peer}", medians[i] / m))
            .collect();
        println!("  {name:<24} {:>9.1}   {}", medians[i], ratios.join(", "));
    }
}

fn main() {
    // One W1 or M1 sample, in a process of its own (see W1; for M1, freed
    // memory stays resident, so samples in one process would measure each
    // other's leftovers): checked first, so that the child runs nothing
    // else.
    if let Ok(which) = std::env::var("TASK_CORE_W1") {
        let (how, row) = which.split_once(':').unwrap();
        println!("{}", w1_child(row, how == "kept"));
        return;
    }
    if let Ok(which) = std::env::var("TASK_CORE_M1") {
        let bytes = match which.as_str() {
            "tulipa" => m1_tulipa(),
            "tokio" => m1_tokio(),
            _ => m1_smol(),
        };
        println!("{bytes}");
        return;
    }
    let only = std::env::var("TULIPA_BENCH_ONLY").unwrap_or_default();
    let wants = |w: &str| only.is_empty() || only == w;
    for (id, kept) in [("W1", false), ("W1k", true)] {
        if !(wants(id) || (kept && wants("W1"))) {
            continue;
        }
        let title = if kept {
            "W1k spawn 100k + gather, on one loop kept (third burst), ns/task"
        } else {
            "W1 spawn 100k + gather, on a fresh loop dropped in the timing (third burst), ns/task"
        };
        // More samples than the other rows: a process's heap makes some
        // samples of a contender much slower than the others.
        let rows = if kept {
            w1_rows::<true>()
        } else {
            w1_rows::<false>()
        };
        report(title, &rows, W1_SAMPLES);
    }
    if wants("M1") {
        report(
            "M1 1M tasks waiting on one event, bytes/task (RSS delta, one process per sample)",
            &[
                ("tulipa", || m1_in_child("tulipa")),
                ("tokio current_thread", || m1_in_child("tokio")),
                ("smol LocalExecutor", || m1_in_child("smol")),
            ],
            3,
        );
    }
    if wants("W8x") {
        report(
            "W8x spawn_threadsafe 200k from a plain thread, ns/spawn",
            &[
                ("tulipa", w8x_tulipa),
                ("tokio closure channel", w8x_tokio_channel),
                ("smol Executor::spawn", w8x_smol),
            ],
            5,
        );
    }
}
