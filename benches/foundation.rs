//! W1, W5 and W8 of BENCHMARKS.md: tulipa against tokio's current_thread
//! runtime, interleaved in one process run.
//!
//!     cargo bench --bench foundation            # 7 samples per contender
//!     TULIPA_BENCH_SAMPLES=11 cargo bench --bench foundation
#![cfg(not(loom))]

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

const W1_TASKS: u64 = 100_000;
const W5_OPS: u64 = 1_000_000;
const W8_POSTS: usize = 1_000_000;

/// One contender of one workload: returns (elapsed, operations).
type Run = fn() -> (Duration, u64);

/// A workload: its name, its unit, and its contenders (tulipa first).
type Workload = (&'static str, &'static str, &'static [(&'static str, Run)]);

fn main() {
    let samples: usize = std::env::var("TULIPA_BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let workloads: &[Workload] = &[
        (
            "W1 spawn 100k + await all",
            "ns/task",
            &[("tulipa", w1_tulipa), ("tokio", w1_tokio)],
        ),
        (
            "W5 arm + cancel a 10 s timer",
            "ns/op",
            &[
                ("tulipa sleep poll+drop", w5_tulipa_sleep),
                ("tulipa call_later+cancel", w5_tulipa_call_later),
                ("tokio sleep poll+drop", w5_tokio),
            ],
        ),
        (
            "W8 1M call_soon_threadsafe from a thread",
            "ns/callback",
            &[
                ("tulipa call_soon_threadsafe", w8_tulipa),
                ("tokio Handle::spawn", w8_tokio_spawn),
                ("tokio mpsc of closures", w8_tokio_channel),
            ],
        ),
    ];
    // TULIPA_BENCH_ONLY=W1 runs one workload (e.g. under callgrind).
    let only = std::env::var("TULIPA_BENCH_ONLY").ok();
    let workloads: Vec<&Workload> = workloads
        .iter()
        .filter(|(name, _, _)| only.as_deref().is_none_or(|o| name.starts_with(o)))
        .collect();
    println!("{samples} interleaved samples per contender; medians; ratio = tulipa / peer (< 1 is faster)");
    for &&(name, unit, contenders) in &workloads {
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
        for _ in 0..samples {
            for (i, (_, run)) in contenders.iter().enumerate() {
                let (elapsed, ops) = run();
                times[i].push(elapsed.as_nanos() as f64 / ops as f64);
            }
        }
        let medians: Vec<f64> = times.iter_mut().map(|t| median(t)).collect();
        println!("\n{name}");
        for (i, (who, _)) in contenders.iter().enumerate() {
            println!("  {who:<30} {:>10.1} {unit}", medians[i]);
        }
        let tulipa = medians[0];
        for (i, (who, _)) in contenders.iter().enumerate() {
            if !who.starts_with("tulipa") {
                println!("  ratio tulipa / {who}: {:.2}", tulipa / medians[i]);
            }
        }
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn w1_tulipa() -> (Duration, u64) {
    let lp = tulipa::EventLoop::new().unwrap();
    let start = Instant::now();
    let sum = lp
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
    let elapsed = start.elapsed();
    assert_eq!(sum, W1_TASKS * (W1_TASKS - 1) / 2);
    (elapsed, W1_TASKS)
}

fn w1_tokio() -> (Duration, u64) {
    let rt = tokio_rt();
    let start = Instant::now();
    let sum = rt.block_on(async {
        let tasks: Vec<_> = (0..W1_TASKS)
            .map(|i| tokio::spawn(async move { i }))
            .collect();
        let mut sum = 0;
        for t in tasks {
            sum += t.await.unwrap();
        }
        sum
    });
    let elapsed = start.elapsed();
    assert_eq!(sum, W1_TASKS * (W1_TASKS - 1) / 2);
    (elapsed, W1_TASKS)
}

/// Polls `f` exactly once with a no-op waker, then drops it: for a sleep,
/// that arms the timer and cancels it.
fn poll_once<F: Future>(f: F) -> bool {
    let f = pin!(f);
    f.poll(&mut Context::from_waker(Waker::noop())).is_pending()
}

fn w5_tulipa_sleep() -> (Duration, u64) {
    let lp = tulipa::EventLoop::new().unwrap();
    lp.run_until_complete(async {
        let start = Instant::now();
        for _ in 0..W5_OPS {
            assert!(poll_once(tulipa::sleep(Duration::from_secs(10))));
        }
        (start.elapsed(), W5_OPS)
    })
    .unwrap()
}

fn w5_tulipa_call_later() -> (Duration, u64) {
    let lp = tulipa::EventLoop::new().unwrap();
    lp.run_until_complete(async {
        let lp = tulipa::get_running_loop().unwrap();
        let start = Instant::now();
        for _ in 0..W5_OPS {
            lp.call_later(Duration::from_secs(10), || {}).cancel();
        }
        (start.elapsed(), W5_OPS)
    })
    .unwrap()
}

fn w5_tokio() -> (Duration, u64) {
    tokio_rt().block_on(async {
        let start = Instant::now();
        for _ in 0..W5_OPS {
            assert!(poll_once(tokio::time::sleep(Duration::from_secs(10))));
        }
        (start.elapsed(), W5_OPS)
    })
}

fn w8_tulipa() -> (Duration, u64) {
    let lp = tulipa::EventLoop::new().unwrap();
    let handle = lp.handle();
    let count = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let c = count.clone();
    let poster = std::thread::spawn(move || {
        for _ in 0..W8_POSTS {
            let c = c.clone();
            let stopper = handle.clone();
            handle
                .call_soon_threadsafe(move || {
                    if c.fetch_add(1, Ordering::Relaxed) + 1 == W8_POSTS {
                        stopper.stop().unwrap();
                    }
                })
                .unwrap();
        }
    });
    lp.run_forever().unwrap();
    let elapsed = start.elapsed();
    poster.join().unwrap();
    assert_eq!(count.load(Ordering::Relaxed), W8_POSTS);
    (elapsed, W8_POSTS as u64)
}

fn w8_tokio_spawn() -> (Duration, u64) {
    let rt = tokio_rt();
    let handle = rt.handle().clone();
    let count = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(tokio::sync::Notify::new());
    let start = Instant::now();
    let (c, d) = (count.clone(), done.clone());
    let poster = std::thread::spawn(move || {
        for _ in 0..W8_POSTS {
            let (c, d) = (c.clone(), d.clone());
            drop(handle.spawn(async move {
                if c.fetch_add(1, Ordering::Relaxed) + 1 == W8_POSTS {
                    d.notify_one();
                }
            }));
        }
    });
    rt.block_on(done.notified());
    let elapsed = start.elapsed();
    poster.join().unwrap();
    assert_eq!(count.load(Ordering::Relaxed), W8_POSTS);
    (elapsed, W8_POSTS as u64)
}

fn w8_tokio_channel() -> (Duration, u64) {
    let rt = tokio_rt();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Box<dyn FnOnce() + Send>>();
    let count = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let c = count.clone();
    let poster = std::thread::spawn(move || {
        for _ in 0..W8_POSTS {
            let c = c.clone();
            tx.send(Box::new(move || {
                c.fetch_add(1, Ordering::Relaxed);
            }))
            .unwrap();
        }
    });
    rt.block_on(async {
        while count.load(Ordering::Relaxed) < W8_POSTS {
            match rx.recv().await {
                Some(f) => f(),
                None => break,
            }
        }
    });
    let elapsed = start.elapsed();
    poster.join().unwrap();
    assert_eq!(count.load(Ordering::Relaxed), W8_POSTS);
    (elapsed, W8_POSTS as u64)
}
