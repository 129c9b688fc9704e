//! What the benches share: the sample count, medians, interleaved samples
//! of the contenders, the two-thread server/client pair, and the peers'
//! runtimes. Included with `mod support;`; it is not a bench of its own.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Samples per contender: `TULIPA_BENCH_SAMPLES`, else `default`.
pub fn samples(default: usize) -> usize {
    std::env::var("TULIPA_BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The median of `v` (sorted in place).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// `samples` rounds of every contender in turn (tulipa, peer, tulipa, ...),
/// each run's rate being `amount / its duration`; the median rate of each
/// contender, in the order given.
pub fn interleaved<R: Fn() -> Duration>(
    samples: usize,
    amount: f64,
    contenders: &[(&str, R)],
) -> Vec<f64> {
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    for _ in 0..samples {
        for (i, (_, run)) in contenders.iter().enumerate() {
            rates[i].push(amount / run().as_secs_f64());
        }
    }
    rates.iter_mut().map(|r| median(r)).collect()
}

/// Starts `server` on its own thread; it sends its address when it listens.
/// Then runs `client` on a second thread and returns the duration it
/// reports, once both threads have finished.
pub fn pair<S, C>(server: S, client: C) -> Duration
where
    S: FnOnce(mpsc::Sender<SocketAddr>) + Send + 'static,
    C: FnOnce(SocketAddr) -> Duration + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let server = std::thread::spawn(move || server(tx));
    let addr = rx.recv().unwrap();
    let elapsed = std::thread::spawn(move || client(addr)).join().unwrap();
    server.join().unwrap();
    elapsed
}

/// W1 on tulipa: spawns `tasks` tasks on `lp`, each returning its index,
/// gathers them and returns the sum of their outputs.
pub fn tulipa_w1_gather(lp: &tulipa::EventLoop, tasks: u64) -> u64 {
    lp.run_until_complete(async move {
        let tasks: Vec<_> = (0..tasks)
            .map(|i| tulipa::spawn(async move { i }))
            .collect();
        tulipa::gather(tasks)
            .await
            .into_iter()
            .map(Result::unwrap)
            .sum()
    })
    .unwrap()
}

/// `future` on a fresh tulipa loop (closed when it returns).
pub fn tulipa_run<F: Future>(future: F) -> F::Output {
    tulipa::EventLoop::new()
        .unwrap()
        .run_until_complete(future)
        .unwrap()
}

/// On a fresh tulipa loop: spawns `count` tasks made by `client` and returns
/// the wall time from before the first spawn until all have finished.
pub fn tulipa_clients<F, Fut>(count: usize, client: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    tulipa_run(async move {
        let start = Instant::now();
        let clients: Vec<_> = (0..count).map(|_| tulipa::spawn(client())).collect();
        for c in clients {
            c.await.unwrap();
        }
        start.elapsed()
    })
}

/// [`tulipa_clients`] on [`tokio_rt`], with `tokio::spawn`.
pub fn tokio_clients<F, Fut>(count: usize, client: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio_rt().block_on(async move {
        let start = Instant::now();
        let clients: Vec<_> = (0..count).map(|_| tokio::spawn(client())).collect();
        for c in clients {
            c.await.unwrap();
        }
        start.elapsed()
    })
}

/// tokio's current_thread runtime with its I/O and time drivers.
pub fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// tokio's current_thread runtime without drivers (no I/O, no timers), for
/// the rows that only wait on their own primitives (queues, locks).
pub fn tokio_rt_without_drivers() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// `future` inside a `LocalSet` on [`tokio_rt`], for `spawn_local` tasks.
pub fn tokio_local<F: Future>(future: F) -> F::Output {
    tokio_rt().block_on(tokio::task::LocalSet::new().run_until(future))
}
