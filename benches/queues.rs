//! Queue workloads W2, W3, W4 and M2 of shared/BENCHMARKS.md, tulipa and its
//! peers in one process, samples interleaved.
//!
//!     cargo bench --bench queues
//!
//! Peers: tokio mpsc on a current_thread runtime, async-channel on
//! async-executor's LocalExecutor ("smol"), futures mpsc on a LocalPool.
//! W4's tokio and futures variants share their single receiver behind an
//! async mutex (their channels are single-consumer).
#![cfg(not(loom))]

mod support;

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use futures::task::LocalSpawnExt;
use futures::{SinkExt, StreamExt};

const SAMPLES: usize = 5;
const W2_N: u64 = 200_000;
const W3_N: u64 = 1_000_000;
const W4_PRODUCERS: u64 = 4;
const W4_PER: u64 = 250_000;
const CAP: usize = 1024;
const M2_N: u64 = 10_000_000;

type Run = fn() -> f64;

fn main() {
    // `QUEUES_PROFILE=w2` repeats tulipa's W2 only, for a profiler;
    // `QUEUES_PROFILE=tokio-w2` (or smol-, futures-; w2, w3, w4) a peer's, so
    // that CPU times (`perf stat`) can be compared on a loaded machine.
    if let Ok(w) = std::env::var("QUEUES_PROFILE") {
        let run: Run = match w.as_str() {
            "w2" | "tulipa-w2" => tulipa_w2,
            "w3" | "tulipa-w3" => tulipa_w3,
            "w4" | "tulipa-w4" => tulipa_w4,
            "tokio-w2" => tokio_w2,
            "tokio-w3" => tokio_w3,
            "tokio-w4" => tokio_w4,
            "smol-w2" => smol_w2,
            "smol-w3" => smol_w3,
            "smol-w4" => smol_w4,
            "futures-w2" => futures_w2,
            "futures-w3" => futures_w3,
            "futures-w4" => futures_w4,
            other => panic!("QUEUES_PROFILE={other}: expected w2, w3, w4 or <peer>-w<n>"),
        };
        for _ in 0..20 {
            run();
        }
        return;
    }
    let w2: &[(&str, Run)] = &[
        ("tulipa", tulipa_w2),
        ("tokio", tokio_w2),
        ("smol", smol_w2),
        ("futures", futures_w2),
    ];
    let w3: &[(&str, Run)] = &[
        ("tulipa", tulipa_w3),
        ("tokio", tokio_w3),
        ("smol", smol_w3),
        ("futures", futures_w3),
    ];
    let w4: &[(&str, Run)] = &[
        ("tulipa", tulipa_w4),
        ("tokio", tokio_w4),
        ("smol", smol_w4),
        ("futures", futures_w4),
    ];
    report("W2 ping-pong, ns per round trip", w2);
    report("W3 spsc-bounded, ns per item", w3);
    report("W4 mpmc-bounded, ns per item", w4);
    m2();
}

fn report(title: &str, runs: &[(&str, Run)]) {
    let mut samples = vec![Vec::new(); runs.len()];
    for _ in 0..SAMPLES {
        for (i, (_, run)) in runs.iter().enumerate() {
            samples[i].push(run());
        }
    }
    println!("{title} (median of {SAMPLES} interleaved samples)");
    let medians: Vec<f64> = samples.iter_mut().map(|s| support::median(s)).collect();
    let best_peer = medians[1..].iter().copied().fold(f64::INFINITY, f64::min);
    for ((name, _), m) in runs.iter().zip(&medians) {
        println!(
            "  {name:<8} {m:>9.1}   tulipa/{name} = {:.2}",
            medians[0] / m
        );
    }
    println!("  tulipa / fastest peer = {:.2}\n", medians[0] / best_peer);
}

fn ns_per(start: Instant, ops: u64) -> f64 {
    start.elapsed().as_nanos() as f64 / ops as f64
}

// ---------------------------------------------------------------- tulipa

fn tulipa_w2() -> f64 {
    support::tulipa_run(async {
        let (q1, q2) = (tulipa::Queue::unbounded(), tulipa::Queue::unbounded());
        let start = Instant::now();
        let b = tulipa::spawn({
            let (q1, q2) = (q1.clone(), q2.clone());
            async move {
                for _ in 0..W2_N {
                    let v: u64 = q1.get().await.unwrap();
                    q2.put(v).await.unwrap();
                }
            }
        });
        let a = tulipa::spawn(async move {
            for i in 0..W2_N {
                q1.put(i).await.unwrap();
                assert_eq!(q2.get().await.unwrap(), i);
            }
        });
        a.await.unwrap();
        b.await.unwrap();
        ns_per(start, W2_N)
    })
}

fn tulipa_w3() -> f64 {
    support::tulipa_run(async {
        let q = tulipa::Queue::new(CAP);
        let start = Instant::now();
        let consumer = tulipa::spawn({
            let q = q.clone();
            async move {
                let mut sum = 0u64;
                while let Ok(v) = q.get().await {
                    sum += v;
                }
                sum
            }
        });
        let producer = tulipa::spawn({
            let q = q.clone();
            async move {
                for i in 0..W3_N {
                    q.put(i).await.unwrap();
                }
                q.shutdown(false);
            }
        });
        producer.await.unwrap();
        assert_eq!(consumer.await.unwrap(), W3_N * (W3_N - 1) / 2);
        ns_per(start, W3_N)
    })
}

fn tulipa_w4() -> f64 {
    support::tulipa_run(async {
        let q = tulipa::Queue::new(CAP);
        let start = Instant::now();
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let q = q.clone();
                tulipa::spawn(async move {
                    let mut sum = 0u64;
                    while let Ok(v) = q.get().await {
                        sum += v;
                    }
                    sum
                })
            })
            .collect();
        let producers: Vec<_> = (0..W4_PRODUCERS)
            .map(|p| {
                let q = q.clone();
                tulipa::spawn(async move {
                    for i in 0..W4_PER {
                        q.put(p * W4_PER + i).await.unwrap();
                    }
                })
            })
            .collect();
        for p in producers {
            p.await.unwrap();
        }
        q.shutdown(false);
        let mut sum = 0;
        for c in consumers {
            sum += c.await.unwrap();
        }
        let n = W4_PRODUCERS * W4_PER;
        assert_eq!(sum, n * (n - 1) / 2);
        ns_per(start, n)
    })
}

// ----------------------------------------------------------------- tokio

fn tokio_block_on<F: Future>(f: F) -> F::Output {
    support::tokio_rt_without_drivers().block_on(f)
}

fn tokio_w2() -> f64 {
    tokio_block_on(async {
        let (tx1, mut rx1) = tokio::sync::mpsc::unbounded_channel::<u64>();
        let (tx2, mut rx2) = tokio::sync::mpsc::unbounded_channel::<u64>();
        let start = Instant::now();
        let b = tokio::spawn(async move {
            for _ in 0..W2_N {
                let v = rx1.recv().await.unwrap();
                tx2.send(v).unwrap();
            }
        });
        let a = tokio::spawn(async move {
            for i in 0..W2_N {
                tx1.send(i).unwrap();
                assert_eq!(rx2.recv().await.unwrap(), i);
            }
        });
        a.await.unwrap();
        b.await.unwrap();
        ns_per(start, W2_N)
    })
}

fn tokio_w3() -> f64 {
    tokio_block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(CAP);
        let start = Instant::now();
        let consumer = tokio::spawn(async move {
            let mut sum = 0u64;
            while let Some(v) = rx.recv().await {
                sum += v;
            }
            sum
        });
        let producer = tokio::spawn(async move {
            for i in 0..W3_N {
                tx.send(i).await.unwrap();
            }
        });
        producer.await.unwrap();
        assert_eq!(consumer.await.unwrap(), W3_N * (W3_N - 1) / 2);
        ns_per(start, W3_N)
    })
}

fn tokio_w4() -> f64 {
    tokio_block_on(async {
        let (tx, rx) = tokio::sync::mpsc::channel::<u64>(CAP);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let start = Instant::now();
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let rx = rx.clone();
                tokio::spawn(async move {
                    let mut sum = 0u64;
                    loop {
                        let v = rx.lock().await.recv().await;
                        match v {
                            Some(v) => sum += v,
                            None => return sum,
                        }
                    }
                })
            })
            .collect();
        let producers: Vec<_> = (0..W4_PRODUCERS)
            .map(|p| {
                let tx = tx.clone();
                tokio::spawn(async move {
                    for i in 0..W4_PER {
                        tx.send(p * W4_PER + i).await.unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        for p in producers {
            p.await.unwrap();
        }
        let mut sum = 0;
        for c in consumers {
            sum += c.await.unwrap();
        }
        let n = W4_PRODUCERS * W4_PER;
        assert_eq!(sum, n * (n - 1) / 2);
        ns_per(start, n)
    })
}

// ------------------------------------------ async-channel + LocalExecutor

fn smol_block_on<F: Future>(
    f: impl FnOnce(std::rc::Rc<async_executor::LocalExecutor<'static>>) -> F,
) -> F::Output {
    let ex = std::rc::Rc::new(async_executor::LocalExecutor::new());
    futures::executor::block_on(ex.run(f(ex.clone())))
}

fn smol_w2() -> f64 {
    smol_block_on(|ex| async move {
        let (tx1, rx1) = async_channel::unbounded::<u64>();
        let (tx2, rx2) = async_channel::unbounded::<u64>();
        let start = Instant::now();
        let b = ex.spawn(async move {
            for _ in 0..W2_N {
                let v = rx1.recv().await.unwrap();
                tx2.send(v).await.unwrap();
            }
        });
        let a = ex.spawn(async move {
            for i in 0..W2_N {
                tx1.send(i).await.unwrap();
                assert_eq!(rx2.recv().await.unwrap(), i);
            }
        });
        a.await;
        b.await;
        ns_per(start, W2_N)
    })
}

fn smol_w3() -> f64 {
    smol_block_on(|ex| async move {
        let (tx, rx) = async_channel::bounded::<u64>(CAP);
        let start = Instant::now();
        let consumer = ex.spawn(async move {
            let mut sum = 0u64;
            while let Ok(v) = rx.recv().await {
                sum += v;
            }
            sum
        });
        let producer = ex.spawn(async move {
            for i in 0..W3_N {
                tx.send(i).await.unwrap();
            }
        });
        producer.await;
        assert_eq!(consumer.await, W3_N * (W3_N - 1) / 2);
        ns_per(start, W3_N)
    })
}

fn smol_w4() -> f64 {
    smol_block_on(|ex| async move {
        let (tx, rx) = async_channel::bounded::<u64>(CAP);
        let start = Instant::now();
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let rx = rx.clone();
                ex.spawn(async move {
                    let mut sum = 0u64;
                    while let Ok(v) = rx.recv().await {
                        sum += v;
                    }
                    sum
                })
            })
            .collect();
        drop(rx);
        let producers: Vec<_> = (0..W4_PRODUCERS)
            .map(|p| {
                let tx = tx.clone();
                ex.spawn(async move {
                    for i in 0..W4_PER {
                        tx.send(p * W4_PER + i).await.unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        for p in producers {
            p.await;
        }
        let mut sum = 0;
        for c in consumers {
            sum += c.await;
        }
        let n = W4_PRODUCERS * W4_PER;
        assert_eq!(sum, n * (n - 1) / 2);
        ns_per(start, n)
    })
}

// ------------------------------------------------ futures mpsc + LocalPool

fn futures_block_on<F: Future<Output = f64> + 'static>(
    f: impl FnOnce(futures::executor::LocalSpawner) -> F,
) -> f64 {
    let mut pool = futures::executor::LocalPool::new();
    let spawner = pool.spawner();
    let handle = spawner.spawn_local_with_handle(f(spawner.clone())).unwrap();
    pool.run_until(handle)
}

fn futures_w2() -> f64 {
    futures_block_on(|sp| async move {
        let (tx1, mut rx1) = futures::channel::mpsc::unbounded::<u64>();
        let (tx2, mut rx2) = futures::channel::mpsc::unbounded::<u64>();
        let start = Instant::now();
        let b = sp
            .spawn_local_with_handle(async move {
                for _ in 0..W2_N {
                    let v = rx1.next().await.unwrap();
                    tx2.unbounded_send(v).unwrap();
                }
            })
            .unwrap();
        let a = sp
            .spawn_local_with_handle(async move {
                for i in 0..W2_N {
                    tx1.unbounded_send(i).unwrap();
                    assert_eq!(rx2.next().await.unwrap(), i);
                }
            })
            .unwrap();
        a.await;
        b.await;
        ns_per(start, W2_N)
    })
}

fn futures_w3() -> f64 {
    futures_block_on(|sp| async move {
        let (mut tx, mut rx) = futures::channel::mpsc::channel::<u64>(CAP);
        let start = Instant::now();
        let consumer = sp
            .spawn_local_with_handle(async move {
                let mut sum = 0u64;
                while let Some(v) = rx.next().await {
                    sum += v;
                }
                sum
            })
            .unwrap();
        let producer = sp
            .spawn_local_with_handle(async move {
                for i in 0..W3_N {
                    tx.send(i).await.unwrap();
                }
            })
            .unwrap();
        producer.await;
        assert_eq!(consumer.await, W3_N * (W3_N - 1) / 2);
        ns_per(start, W3_N)
    })
}

fn futures_w4() -> f64 {
    futures_block_on(|sp| async move {
        let (tx, rx) = futures::channel::mpsc::channel::<u64>(CAP);
        let rx = Arc::new(futures::lock::Mutex::new(rx));
        let start = Instant::now();
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let rx = rx.clone();
                sp.spawn_local_with_handle(async move {
                    let mut sum = 0u64;
                    loop {
                        let v = rx.lock().await.next().await;
                        match v {
                            Some(v) => sum += v,
                            None => return sum,
                        }
                    }
                })
                .unwrap()
            })
            .collect();
        let producers: Vec<_> = (0..W4_PRODUCERS)
            .map(|p| {
                let mut tx = tx.clone();
                sp.spawn_local_with_handle(async move {
                    for i in 0..W4_PER {
                        tx.send(p * W4_PER + i).await.unwrap();
                    }
                })
                .unwrap()
            })
            .collect();
        drop(tx);
        for p in producers {
            p.await;
        }
        let mut sum = 0;
        for c in consumers {
            sum += c.await;
        }
        let n = W4_PRODUCERS * W4_PER;
        assert_eq!(sum, n * (n - 1) / 2);
        ns_per(start, n)
    })
}

// -------------------------------------------------------------------- M2

/// Resident set size in bytes, from /proc/self/statm.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

fn per_item(build: impl FnOnce() -> Box<dyn std::any::Any>) -> f64 {
    let before = rss();
    let held = build();
    let delta = rss().saturating_sub(before);
    drop(held);
    delta as f64 / M2_N as f64
}

fn m2() {
    // The runs whose memory goes back to the OS on drop (one big buffer)
    // come first and interleave; the peers' block lists may stay in the
    // allocator, so they run last, once each.
    let mut tulipa = Vec::new();
    let mut deque = Vec::new();
    for _ in 0..SAMPLES {
        tulipa.push(per_item(|| {
            let q = tulipa::Queue::unbounded();
            for i in 0..M2_N {
                q.try_put(i).unwrap();
            }
            Box::new(q)
        }));
        deque.push(per_item(|| {
            let mut d = VecDeque::new();
            for i in 0..M2_N {
                d.push_back(i);
            }
            Box::new(d)
        }));
    }
    let tokio = per_item(|| {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
        for i in 0..M2_N {
            tx.send(i).unwrap();
        }
        Box::new((tx, rx))
    });
    let smol = per_item(|| {
        let (tx, rx) = async_channel::unbounded::<u64>();
        for i in 0..M2_N {
            tx.try_send(i).unwrap();
        }
        Box::new((tx, rx))
    });
    let (t, d) = (support::median(&mut tulipa), support::median(&mut deque));
    println!("M2 queue memory, bytes per queued u64 (RSS delta, {M2_N} items)");
    println!("  tulipa   {t:>6.2}   (median of {SAMPLES})");
    println!(
        "  VecDeque {d:>6.2}   (median of {SAMPLES})   tulipa/VecDeque = {:.2}",
        t / d
    );
    println!(
        "  tokio    {tokio:>6.2}   (one sample)   tulipa/tokio = {:.2}",
        t / tokio
    );
    println!(
        "  smol     {smol:>6.2}   (one sample)   tulipa/smol = {:.2}",
        t / smol
    );
}
