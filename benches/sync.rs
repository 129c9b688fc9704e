//! Lock and Semaphore, uncontended and contended: tulipa (on a tulipa loop)
//! against tokio::sync (on a current_thread runtime), in one process,
//! interleaved samples, medians and ratios.
//!
//!     cargo bench --bench sync
//!
//! Workloads (ns per acquire/release pair):
//! - lock-uncontended: one task, 1_000_000 × `lock().await` + drop.
//! - lock-contended: 8 tasks × 25_000 × (lock, yield while holding, unlock):
//!   every acquire queues behind the others, so each is a wait + handoff.
//! - sem-uncontended: one task, 1_000_000 × `acquire().await` + drop, 4 permits.
//! - sem-contended: 8 tasks × 25_000 × (acquire, yield, release), 2 permits.

mod support;

use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

const UNCONTENDED: u32 = 1_000_000;
const TASKS: u32 = 8;
const ROUNDS: u32 = 25_000;
const SAMPLES: usize = 7;

fn tulipa_loop() -> tulipa::EventLoop {
    tulipa::EventLoop::new().unwrap()
}

fn tokio_rt() -> tokio::runtime::Runtime {
    support::tokio_rt_without_drivers()
}

fn tulipa_lock_uncontended() -> Duration {
    tulipa_loop()
        .run_until_complete(async {
            let lock = tulipa::sync::Lock::new();
            let start = Instant::now();
            for _ in 0..UNCONTENDED {
                drop(std::hint::black_box(lock.lock().await));
            }
            start.elapsed()
        })
        .unwrap()
}

fn tokio_lock_uncontended() -> Duration {
    tokio_rt().block_on(async {
        let lock = tokio::sync::Mutex::new(());
        let start = Instant::now();
        for _ in 0..UNCONTENDED {
            drop(std::hint::black_box(lock.lock().await));
        }
        start.elapsed()
    })
}

fn tulipa_lock_contended() -> Duration {
    tulipa_loop()
        .run_until_complete(async {
            let lock = Rc::new(tulipa::sync::Lock::new());
            let start = Instant::now();
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    let lock = lock.clone();
                    tulipa::spawn(async move {
                        for _ in 0..ROUNDS {
                            let _g = lock.lock().await;
                            tulipa::yield_now().await;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            start.elapsed()
        })
        .unwrap()
}

fn tokio_lock_contended() -> Duration {
    tokio_rt().block_on(async {
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        let start = Instant::now();
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let lock = lock.clone();
                tokio::spawn(async move {
                    for _ in 0..ROUNDS {
                        let _g = lock.lock().await;
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        start.elapsed()
    })
}

fn tulipa_sem_uncontended() -> Duration {
    tulipa_loop()
        .run_until_complete(async {
            let sem = tulipa::sync::Semaphore::new(4);
            let start = Instant::now();
            for _ in 0..UNCONTENDED {
                drop(std::hint::black_box(sem.acquire().await));
            }
            start.elapsed()
        })
        .unwrap()
}

fn tokio_sem_uncontended() -> Duration {
    tokio_rt().block_on(async {
        let sem = tokio::sync::Semaphore::new(4);
        let start = Instant::now();
        for _ in 0..UNCONTENDED {
            drop(std::hint::black_box(sem.acquire().await.unwrap()));
        }
        start.elapsed()
    })
}

fn tulipa_sem_contended() -> Duration {
    tulipa_loop()
        .run_until_complete(async {
            let sem = Rc::new(tulipa::sync::Semaphore::new(2));
            let start = Instant::now();
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    let sem = sem.clone();
                    tulipa::spawn(async move {
                        for _ in 0..ROUNDS {
                            let _p = sem.acquire().await;
                            tulipa::yield_now().await;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            start.elapsed()
        })
        .unwrap()
}

fn tokio_sem_contended() -> Duration {
    tokio_rt().block_on(async {
        let sem = Arc::new(tokio::sync::Semaphore::new(2));
        let start = Instant::now();
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let sem = sem.clone();
                tokio::spawn(async move {
                    for _ in 0..ROUNDS {
                        let _p = sem.acquire().await.unwrap();
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        start.elapsed()
    })
}

type Run = fn() -> Duration;

fn main() {
    let workloads: [(&str, u32, Run, Run); 4] = [
        (
            "lock-uncontended",
            UNCONTENDED,
            tulipa_lock_uncontended,
            tokio_lock_uncontended,
        ),
        (
            "lock-contended",
            TASKS * ROUNDS,
            tulipa_lock_contended,
            tokio_lock_contended,
        ),
        (
            "sem-uncontended",
            UNCONTENDED,
            tulipa_sem_uncontended,
            tokio_sem_uncontended,
        ),
        (
            "sem-contended",
            TASKS * ROUNDS,
            tulipa_sem_contended,
            tokio_sem_contended,
        ),
    ];
    let mut samples = vec![(Vec::new(), Vec::new()); workloads.len()];
    // Warm-up, then SAMPLES interleaved rounds: every workload, both peers.
    for (_, _, tulipa, tokio) in &workloads {
        tulipa();
        tokio();
    }
    for _ in 0..SAMPLES {
        for (i, (_, ops, tulipa, tokio)) in workloads.iter().enumerate() {
            let per_op = |d: Duration| d.as_nanos() as f64 / f64::from(*ops);
            samples[i].0.push(per_op(tulipa()));
            samples[i].1.push(per_op(tokio()));
        }
    }
    println!("sync bench: medians of {SAMPLES} interleaved samples, ns per acquire+release");
    println!(
        "{:<18} {:>12} {:>12} {:>14}",
        "workload", "tulipa", "tokio", "tulipa/tokio"
    );
    for ((name, ..), (mut tulipa, mut tokio)) in workloads.iter().zip(samples) {
        let (a, b) = (support::median(&mut tulipa), support::median(&mut tokio));
        println!("{name:<18} {a:>12.1} {b:>12.1} {:>14.2}", a / b);
    }
}
