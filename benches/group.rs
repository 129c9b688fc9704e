//! W11, W12 and the cross-loop spawn cost of BENCHMARKS.md, on a group of
//! loops against tokio's multi-thread runtime and tokio-util's
//! `LocalPoolHandle`, interleaved in one process run.
//!
//! - W11 cross-loop pipeline: one producer loop puts `ITEMS` u64 into one
//!   bounded `Queue` (maxsize 1024); N consumer loops get them, each item
//!   costing ~1 us of work, and sum. Peer: tokio multi-thread with N workers
//!   (and with N + 1, tulipa's thread count) and an `async-channel` of 1024;
//!   also tulipa with the producer sharing loop 0 with a consumer (N loops).
//! - W12 tcp-echo on N loops: W10's shape (32 connections x round trips of
//!   64 bytes, the clients on one more loop/thread) with the server on a
//!   group of N loops (acceptor mode and per-loop mode), on one tulipa loop,
//!   and on tokio multi-thread with N workers.
//! - spawn: `group.spawn_on(1, ..)` awaited from loop 0, one at a time and
//!   64 in flight, against `LocalPoolHandle::spawn_pinned` awaited from a
//!   current-thread runtime.
//!
//! Run it:
//!
//!     cargo bench --bench group                           # N = 1, 2; 5 samples
//!     TULIPA_GROUP_LOOPS="1 2 4 8" cargo bench --bench group
//!     TULIPA_BENCH_SAMPLES=9 TULIPA_BENCH_ONLY=W11 cargo bench --bench group
#![cfg(not(loom))]

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tulipa::group::ServeMode;
use tulipa::{LoopGroup, Queue};

const ITEMS: u64 = 1_000_000;
const CAPACITY: usize = 1024;
const CONNECTIONS: usize = 32;
const MESSAGE: usize = 64;
const SPAWNS: usize = 100_000;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let samples: usize = env_or("TULIPA_BENCH_SAMPLES", 5);
    let only = std::env::var("TULIPA_BENCH_ONLY").unwrap_or_default();
    let loops: Vec<usize> = std::env::var("TULIPA_GROUP_LOOPS")
        .unwrap_or_else(|_| "1 2".to_owned())
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    let spins = calibrate();
    println!(
        "cores: {}; {samples} interleaved samples, medians",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    if only.is_empty() || only.contains("W11") {
        w11(&loops, samples, spins);
    }
    if only.is_empty() || only.contains("W12") {
        w12(&loops, samples);
    }
    if only.is_empty() || only.contains("spawn") {
        spawn_round_trips(samples);
    }
}

/// A named run returning its rate.
type Contender = (String, Box<dyn Fn() -> f64>);

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Runs every contender `samples` times, interleaved, and returns the
/// median of each (higher is better).
fn interleave(samples: usize, contenders: &[Contender]) -> Vec<f64> {
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    for _ in 0..samples {
        for (i, (_, run)) in contenders.iter().enumerate() {
            rates[i].push(run());
        }
    }
    rates.iter_mut().map(|r| median(r)).collect()
}

// ---- the ~1 us of work per item --------------------------------------------

fn work(x: u64, spins: u32) -> u64 {
    let mut h = x;
    for _ in 0..spins {
        h = black_box(h.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ 0x5555);
    }
    h & 1
}

/// Spins of `work` that take about 1 us on this machine.
fn calibrate() -> u32 {
    let spins = 1000;
    let start = Instant::now();
    let mut acc = 0;
    for x in 0..2000 {
        acc += work(x, spins);
    }
    black_box(acc);
    let per_spin = start.elapsed().as_secs_f64() / (2000.0 * spins as f64);
    ((1e-6 / per_spin) as u32).max(1)
}

// ---- W11 -------------------------------------------------------------------

fn w11(loops: &[usize], samples: usize, spins: u32) {
    let items: u64 = env_or("TULIPA_W11_ITEMS", ITEMS);
    println!("W11 cross-loop pipeline: {items} u64 through one queue of {CAPACITY}, ~1 us of work per item (items/s)");
    for &n in loops {
        let contenders: Vec<Contender> = vec![
            (
                format!("tulipa group: 1 producer + {n} consumer loops"),
                Box::new(move || w11_tulipa(n, false, items, spins)),
            ),
            (
                format!("tulipa group of {n}: producer shares loop 0"),
                Box::new(move || w11_tulipa(n, true, items, spins)),
            ),
            (
                format!("tokio multi-thread, {n} workers"),
                Box::new(move || w11_tokio(n, n, items, spins)),
            ),
            (
                format!("tokio multi-thread, {} workers", n + 1),
                Box::new(move || w11_tokio(n + 1, n, items, spins)),
            ),
        ];
        let medians = interleave(samples, &contenders);
        for (i, (who, _)) in contenders.iter().enumerate() {
            println!("  N={n} {who:<46} {:>12.0}", medians[i]);
        }
        println!(
            "  N={n} ratio tulipa (own producer loop) / tokio {n} workers: {:.2}; / tokio {} workers: {:.2}; \
             tulipa (shared producer loop) / tokio {n} workers: {:.2}",
            medians[0] / medians[2],
            n + 1,
            medians[0] / medians[3],
            medians[1] / medians[2]
        );
    }
}

/// `shared`: the producer runs on loop 0 next to a consumer (N loops in
/// all, as tokio's N workers); otherwise on a loop of its own (N + 1).
fn w11_tulipa(consumers: usize, shared: bool, items: u64, spins: u32) -> f64 {
    let first = usize::from(!shared);
    let group = LoopGroup::new(consumers + first).unwrap();
    let queue = Queue::new(CAPACITY);
    let start = Instant::now();
    let sums: Vec<_> = (first..consumers + first)
        .map(|i| {
            let queue = queue.clone();
            group
                .spawn_on(i, move || async move {
                    let mut sum = 0u64;
                    while let Ok(x) = queue.get().await {
                        sum += x + work(x, spins);
                    }
                    sum
                })
                .unwrap()
        })
        .collect();
    let producer = group
        .spawn_on(0, move || async move {
            for x in 0..items {
                queue.put(x).await.unwrap();
            }
            queue.shutdown(false);
        })
        .unwrap();
    producer.wait().unwrap();
    let total: u64 = sums.into_iter().map(|s| s.wait().unwrap()).sum();
    let elapsed = start.elapsed();
    assert!(total >= items * (items - 1) / 2);
    assert!(group.close().is_clean());
    items as f64 / elapsed.as_secs_f64()
}

fn w11_tokio(workers: usize, consumers: usize, items: u64, spins: u32) -> f64 {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap();
    rt.block_on(async move {
        let (tx, rx) = async_channel::bounded::<u64>(CAPACITY);
        let start = Instant::now();
        let sums: Vec<_> = (0..consumers)
            .map(|_| {
                let rx = rx.clone();
                tokio::spawn(async move {
                    let mut sum = 0u64;
                    while let Ok(x) = rx.recv().await {
                        sum += x + work(x, spins);
                    }
                    sum
                })
            })
            .collect();
        drop(rx);
        let producer = tokio::spawn(async move {
            for x in 0..items {
                tx.send(x).await.unwrap();
            }
        });
        producer.await.unwrap();
        let mut total = 0;
        for s in sums {
            total += s.await.unwrap();
        }
        assert!(total >= items * (items - 1) / 2);
        items as f64 / start.elapsed().as_secs_f64()
    })
}

// ---- W12 -------------------------------------------------------------------

fn w12(loops: &[usize], samples: usize) {
    let trips: usize = env_or("TULIPA_W12_ROUND_TRIPS", 2_000);
    println!("W12 tcp-echo on N loops: {CONNECTIONS} connections x {trips} round trips of {MESSAGE} bytes, clients on one more thread (round trips/s)");
    let mut one_loop = None;
    for &n in loops {
        let contenders: Vec<Contender> = vec![
            (
                format!("tulipa group of {n}, acceptor"),
                Box::new(move || w12_group(n, ServeMode::Acceptor, trips)),
            ),
            (
                format!("tulipa group of {n}, per-loop listeners"),
                Box::new(move || w12_group(n, ServeMode::PerLoop, trips)),
            ),
            (
                "tulipa one loop".to_owned(),
                Box::new(move || w12_one_loop(trips)),
            ),
            (
                format!("tokio multi-thread, {n} workers"),
                Box::new(move || w12_tokio(n, trips)),
            ),
        ];
        let medians = interleave(samples, &contenders);
        for (i, (who, _)) in contenders.iter().enumerate() {
            println!("  N={n} {who:<46} {:>12.0}", medians[i]);
        }
        let best_group = medians[0].max(medians[1]);
        println!(
            "  N={n} ratio group (acceptor) / tokio: {:.2}; per-loop / tokio: {:.2}; group (acceptor) / one loop: {:.2}",
            medians[0] / medians[3],
            medians[1] / medians[3],
            medians[0] / medians[2]
        );
        let base = *one_loop.get_or_insert(if n == 1 { best_group } else { medians[2] });
        println!(
            "  N={n} scaling efficiency (best group at N / (N x one loop)): {:.2}",
            best_group / (n as f64 * base)
        );
    }
}

/// Runs the clients on their own loop thread against `addr`; returns round trips/s.
fn w12_clients(addr: SocketAddr, trips: usize) -> f64 {
    std::thread::spawn(move || {
        let lp = tulipa::EventLoop::new().unwrap();
        lp.run_until_complete(async move {
            let start = Instant::now();
            let clients: Vec<_> = (0..CONNECTIONS)
                .map(|_| {
                    tulipa::spawn(async move {
                        let stream = tulipa::net::TcpStream::connect(addr).await.unwrap();
                        stream.set_nodelay(true).unwrap();
                        let msg = [7u8; MESSAGE];
                        let mut buf = [0u8; MESSAGE];
                        for _ in 0..trips {
                            stream.write_all(&msg).await.unwrap();
                            stream.read_exact(&mut buf).await.unwrap();
                        }
                    })
                })
                .collect();
            for c in clients {
                c.await.unwrap();
            }
            (CONNECTIONS * trips) as f64 / start.elapsed().as_secs_f64()
        })
        .unwrap()
    })
    .join()
    .unwrap()
}

async fn echo(stream: tulipa::net::TcpStream) {
    stream.set_nodelay(true).unwrap();
    let mut buf = [0; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if stream.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
}

fn w12_group(n: usize, mode: ServeMode, trips: usize) -> f64 {
    let group = LoopGroup::new(n).unwrap();
    let server = group.serve_tcp(mode, "127.0.0.1:0", echo).unwrap();
    let rate = w12_clients(server.local_addr(), trips);
    drop(server);
    assert!(group.close().is_clean());
    rate
}

fn w12_one_loop(trips: usize) -> f64 {
    let (tx, rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let lp = tulipa::EventLoop::new().unwrap();
        let handle = lp.handle();
        std::thread::spawn(move || {
            let _ = stop_rx.recv();
            let _ = handle.stop();
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        tx.send(listener.local_addr().unwrap()).unwrap();
        drop(lp.spawn(async move {
            let listener = tulipa::net::TcpListener::from_std(listener).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                drop(tulipa::spawn(echo(stream)));
            }
        }));
        lp.run_forever().unwrap();
    });
    let rate = w12_clients(rx.recv().unwrap(), trips);
    stop_tx.send(()).unwrap();
    server.join().unwrap();
    rate
}

fn w12_tokio(workers: usize, trips: usize) -> f64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let mut buf = [0; 4096];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
    });
    let rate = w12_clients(addr, trips);
    rt.shutdown_timeout(Duration::from_secs(1));
    rate
}

// ---- cross-loop spawn ------------------------------------------------------

fn spawn_round_trips(samples: usize) {
    let spawns: usize = env_or("TULIPA_SPAWNS", SPAWNS);
    println!("cross-loop spawn: {spawns} spawns awaited from another loop/thread (round trips/s)");
    let contenders: Vec<Contender> = vec![
        (
            "tulipa spawn_on, one at a time".to_owned(),
            Box::new(move || spawn_tulipa(spawns, 1)),
        ),
        (
            "tokio-util spawn_pinned, one at a time".to_owned(),
            Box::new(move || spawn_tokio(spawns, 1)),
        ),
        (
            "tulipa spawn_on, 64 in flight".to_owned(),
            Box::new(move || spawn_tulipa(spawns, 64)),
        ),
        (
            "tokio-util spawn_pinned, 64 in flight".to_owned(),
            Box::new(move || spawn_tokio(spawns, 64)),
        ),
    ];
    let medians = interleave(samples, &contenders);
    for (i, (who, _)) in contenders.iter().enumerate() {
        println!("  {who:<46} {:>12.0}", medians[i]);
    }
    println!(
        "  ratio tulipa / tokio-util: one at a time {:.2}; 64 in flight {:.2}",
        medians[0] / medians[1],
        medians[2] / medians[3]
    );
}

fn spawn_tulipa(spawns: usize, in_flight: usize) -> f64 {
    let group = LoopGroup::new(2).unwrap();
    let rate = group
        .spawn_on(0, move || async move {
            let group = tulipa::group().unwrap();
            let start = Instant::now();
            let mut sum = 0;
            for batch in 0..spawns / in_flight {
                let tasks: Vec<_> = (0..in_flight)
                    .map(|k| group.spawn_on(1, move || async move { batch + k }).unwrap())
                    .collect();
                for t in tasks {
                    sum += t.await.unwrap();
                }
            }
            black_box(sum);
            spawns as f64 / start.elapsed().as_secs_f64()
        })
        .unwrap()
        .wait()
        .unwrap();
    assert!(group.close().is_clean());
    rate
}

fn spawn_tokio(spawns: usize, in_flight: usize) -> f64 {
    let pool = tokio_util::task::LocalPoolHandle::new(1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pool = Arc::new(pool);
    rt.block_on(async move {
        let start = Instant::now();
        let mut sum = 0;
        for batch in 0..spawns / in_flight {
            let tasks: Vec<_> = (0..in_flight)
                .map(|k| pool.spawn_pinned(move || async move { batch + k }))
                .collect();
            for t in tasks {
                sum += t.await.unwrap();
            }
        }
        black_box(sum);
        spawns as f64 / start.elapsed().as_secs_f64()
    })
}
