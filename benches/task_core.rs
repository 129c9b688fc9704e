//! The task core: W1 (spawn + gather; as W1 on a fresh loop per sample,
//! its drop timed, and as W1k on one loop kept for every sample), M1
//! (memory per waiting task) and W8x (`spawn_threadsafe` from a plain
//! thread) of BENCHMARKS.md, tulipa
//! against tokio's current-thread runtime and async-executor's
//! `LocalExecutor` (smol) in the same process, interleaved samples,
//! medians and ratios.
//!
//!     cargo bench --bench task_core
//!     TULIPA_BENCH_ONLY=W1 cargo bench --bench task_core   # W1 and W1k
//!     TULIPA_BENCH_ONLY=W1k TULIPA_BENCH_ROW=tulipa cargo bench --bench task_core  # one row, to profile
#![cfg(not(loom))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

const SAMPLES: usize = 7;
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

/// The fresh-loop rows time the loop's drop too: what a loop frees or
/// keeps when it goes is part of the run.
fn w1_tulipa(eager: bool) -> f64 {
    let lp = tulipa_loop(eager);
    let start = Instant::now();
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
    drop(lp);
    let ns = ns_per(start, W1_TASKS);
    assert_eq!(sum, W1_TASKS * (W1_TASKS - 1) / 2);
    ns
}

fn w1_tokio() -> f64 {
    let rt = tokio_rt();
    let start = Instant::now();
    let sum: u64 = rt.block_on(async {
        let tasks: Vec<_> = (0..W1_TASKS)
            .map(|i| tokio::spawn(async move { i }))
            .collect();
        let mut sum = 0;
        for task in tasks {
            sum += task.await.unwrap();
        }
        sum
    });
    drop(rt);
    let ns = ns_per(start, W1_TASKS);
    assert_eq!(sum, W1_TASKS * (W1_TASKS - 1) / 2);
    ns
}

fn w1_smol() -> f64 {
    let ex = async_executor::LocalExecutor::new();
    let start = Instant::now();
    let sum: u64 = futures::executor::block_on(ex.run(async {
        let tasks: Vec<_> = (0..W1_TASKS).map(|i| ex.spawn(async move { i })).collect();
        let mut sum = 0;
        for task in tasks {
            sum += task.await;
        }
        sum
    }));
    drop(ex);
    let ns = ns_per(start, W1_TASKS);
    assert_eq!(sum, W1_TASKS * (W1_TASKS - 1) / 2);
    ns
}

// W1 again, every sample on one loop (runtime, executor) made once per
// thread, as a service's loop runs burst after burst. Fresh loops per sample
// (above) measure each burst's first touch of its memory too.

thread_local! {
    static W1_LOOP: tulipa::EventLoop = tulipa_loop(false);
    static W1_EAGER_LOOP: tulipa::EventLoop = tulipa_loop(true);
    static W1_TOKIO: tokio::runtime::Runtime = tokio_rt();
    static W1_SMOL: async_executor::LocalExecutor<'static> = const { async_executor::LocalExecutor::new() };
}

fn w1_tulipa_on(lp: &tulipa::EventLoop) -> f64 {
    let start = Instant::now();
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
    let ns = ns_per(start, W1_TASKS);
    assert_eq!(sum, W1_TASKS * (W1_TASKS - 1) / 2);
    ns
}

fn w1_tulipa_kept() -> f64 {
    W1_LOOP.with(w1_tulipa_on)
}

fn w1_tulipa_eager_kept() -> f64 {
    W1_EAGER_LOOP.with(w1_tulipa_on)
}

fn w1_tokio_kept() -> f64 {
    W1_TOKIO.with(|rt| {
        let start = Instant::now();
        let sum: u64 = rt.block_on(async {
            let tasks: Vec<_> = (0..W1_TASKS)
                .map(|i| tokio::spawn(async move { i }))
                .collect();
            let mut sum = 0;
            for task in tasks {
                sum += task.await.unwrap();
            }
            sum
        });
        let ns = ns_per(start, W1_TASKS);
        assert_eq!(sum, W1_TASKS * (W1_TASKS - 1) / 2);
        ns
    })
}

fn w1_smol_kept() -> f64 {
    W1_SMOL.with(|ex| {
        let start = Instant::now();
        let sum: u64 = futures::executor::block_on(ex.run(async {
            let tasks: Vec<_> = (0..W1_TASKS).map(|i| ex.spawn(async move { i })).collect();
            let mut sum = 0;
            for task in tasks {
                sum += task.await;
            }
            sum
        }));
        let ns = ns_per(start, W1_TASKS);
        assert_eq!(sum, W1_TASKS * (W1_TASKS - 1) / 2);
        ns
    })
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
    // One M1 sample, in a process of its own (freed memory stays resident,
    // so samples in one process would measure each other's leftovers):
    // checked first, so that the child runs nothing else.
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
    if wants("W1") {
        report(
            "W1 spawn 100k + gather, ns/task",
            &[
                ("tulipa", || w1_tulipa(false)),
                ("tulipa eager", || w1_tulipa(true)),
                ("tokio current_thread", w1_tokio),
                ("smol LocalExecutor", w1_smol),
            ],
            SAMPLES,
        );
    }
    if wants("W1") || wants("W1k") {
        report(
            "W1k spawn 100k + gather, every sample on one loop kept, ns/task",
            &[
                ("tulipa", w1_tulipa_kept),
                ("tulipa eager", w1_tulipa_eager_kept),
                ("tokio current_thread", w1_tokio_kept),
                ("smol LocalExecutor", w1_smol_kept),
            ],
            SAMPLES,
        );
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
