//! W1 (lazy and eager tasks), W5, W6, W8, W8x and M1 of BENCHMARKS.md: tulipa against tokio's
//! current_thread runtime and async-executor's `LocalExecutor` ("smol",
//! with async-channel and async-io's `Timer`), interleaved in one process
//! run. M1 measures each contender in a fresh child process of this binary
//! so that the RSS deltas do not mix.
//!
//!     cargo bench --bench foundation            # 7 samples per contender
//!     TULIPA_BENCH_SAMPLES=11 cargo bench --bench foundation
//!     TULIPA_BENCH_ONLY=W8x cargo bench --bench foundation   # one workload
//!     TULIPA_BENCH_ONLY=W6 TULIPA_BENCH_PROFILE=1 cargo bench --bench foundation  # tulipa's W6 alone
#![cfg(not(loom))]

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

const W1_TASKS: u64 = 100_000;
const W5_OPS: u64 = 1_000_000;
const W6_TASKS: u64 = 100_000;
const W6_SPREAD: Duration = Duration::from_millis(100);
const W8_POSTS: usize = 1_000_000;
const W8X_SPAWNS: usize = 1_000_000;
const M1_TASKS: usize = 1_000_000;
const M1_SAMPLES: usize = 5;
/// Set in the environment of an M1 child: the contender it measures.
const M1_CHILD: &str = "TULIPA_BENCH_M1_CHILD";

/// One contender of one workload: returns (elapsed, operations).
type Run = fn() -> (Duration, u64);

/// A workload: its name, its unit, and its contenders (tulipa first).
type Workload = (&'static str, &'static str, &'static [(&'static str, Run)]);

/// One M1 contender: makes `M1_TASKS` tasks wait and returns bytes per task.
type MemRun = fn() -> f64;

thread_local! {
    /// W6 runs leave the worst lateness of their wake-ups here.
    static WORST_LATE: Cell<Option<Duration>> = const { Cell::new(None) };
}

fn main() {
    if let Ok(who) = std::env::var(M1_CHILD) {
        let run = M1_CONTENDERS
            .iter()
            .find(|(name, _)| *name == who)
            .map(|(_, run)| *run)
            .expect("unknown M1 contender");
        println!("{}", run());
        return;
    }
    let samples: usize = std::env::var("TULIPA_BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let workloads: &[Workload] = &[
        (
            "W1 spawn 100k + await all",
            "ns/task",
            &[
                ("tulipa", w1_tulipa),
                ("tokio", w1_tokio),
                ("smol", w1_smol),
            ],
        ),
        (
            "W1e eager tasks: spawn 100k + await all",
            "ns/task",
            &[
                ("tulipa spawn_eager", w1_tulipa_eager),
                ("tokio", w1_tokio),
                ("smol", w1_smol),
            ],
        ),
        (
            "W5 arm + cancel a 10 s timer",
            "ns/op",
            &[
                ("tulipa sleep poll+drop", w5_tulipa_sleep),
                ("tulipa call_later+cancel", w5_tulipa_call_later),
                ("tokio sleep poll+drop", w5_tokio),
                ("smol Timer poll+drop", w5_smol),
            ],
        ),
        (
            "W6 sleep storm: 100k tasks sleep k us, await all",
            "ns/task over 100 ms",
            &[
                ("tulipa", w6_tulipa),
                ("tokio", w6_tokio),
                ("smol", w6_smol),
            ],
        ),
        (
            "W8 1M call_soon_threadsafe from a thread",
            "ns/callback",
            &[
                ("tulipa call_soon_threadsafe", w8_tulipa),
                ("tokio Handle::spawn", w8_tokio_spawn),
                ("tokio mpsc of closures", w8_tokio_channel),
                ("smol async-channel of closures", w8_smol_channel),
            ],
        ),
        (
            "W8x 1M spawn_threadsafe from a thread",
            "ns/spawn",
            &[
                ("tulipa spawn_threadsafe", w8x_tulipa),
                ("tokio Handle::spawn", w8_tokio_spawn),
                ("tokio mpsc of closures", w8_tokio_channel),
                ("smol Executor::spawn", w8x_smol),
            ],
        ),
    ];
    // TULIPA_BENCH_ONLY=W1 runs one workload (e.g. under callgrind); M1 is
    // one too. "W8" also selects "W8x".
    let only = std::env::var("TULIPA_BENCH_ONLY").ok();
    let selected = |name: &str| only.as_deref().is_none_or(|o| name.starts_with(o));
    let workloads: Vec<&Workload> = workloads
        .iter()
        .filter(|(name, _, _)| selected(name))
        .collect();
    // TULIPA_BENCH_PROFILE=1 runs only tulipa's row of the selected
    // workloads, `samples` times, for a profiler to see nothing else.
    if std::env::var_os("TULIPA_BENCH_PROFILE").is_some() {
        for &&(name, _, contenders) in &workloads {
            let start = Instant::now();
            for _ in 0..samples {
                contenders[0].1();
            }
            eprintln!(
                "{name}: {:.3} s for tulipa's row",
                start.elapsed().as_secs_f64()
            );
        }
        return;
    }
    println!("{samples} interleaved samples per contender; medians; ratio = tulipa / peer (< 1 is faster)");
    for &&(name, unit, contenders) in &workloads {
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
        let mut late: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
        for _ in 0..samples {
            for (i, (_, run)) in contenders.iter().enumerate() {
                let (elapsed, ops) = run();
                times[i].push(elapsed.as_nanos() as f64 / ops as f64);
                if let Some(l) = WORST_LATE.take() {
                    late[i].push(l.as_secs_f64() * 1e3);
                }
            }
        }
        let medians: Vec<f64> = times.iter_mut().map(|t| median(t)).collect();
        println!("\n{name}");
        for (i, (who, _)) in contenders.iter().enumerate() {
            print!("  {who:<30} {:>10.1} {unit}", medians[i]);
            if !late[i].is_empty() {
                print!("   worst lateness {:.2} ms", median(&mut late[i]));
            }
            println!();
        }
        print_ratios(contenders.iter().map(|(who, _)| *who), &medians);
    }
    if selected("M1") {
        m1();
    }
}

/// The per-peer ratio lines, then the ratio to the best other peer.
/// Contenders named "tulipa..." are tulipa, "(...)" are references.
fn print_ratios<'a>(names: impl Iterator<Item = &'a str>, medians: &[f64]) {
    let tulipa = medians[0];
    let mut best: Option<(&str, f64)> = None;
    for (who, &m) in names.zip(medians) {
        if who.starts_with("tulipa") {
            continue;
        }
        println!("  ratio tulipa / {who}: {:.2}", tulipa / m);
        if !who.starts_with('(') && best.is_none_or(|(_, b)| m < b) {
            best = Some((who, m));
        }
    }
    if let Some((who, m)) = best {
        println!("  ratio tulipa / best peer ({who}): {:.2}", tulipa / m);
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Runs `f` on a fresh `LocalExecutor` driven by `futures`' `block_on`;
/// async-io's `Timer`s are then driven by async-io's own thread. (Driving
/// the reactor on this thread with `async_io::block_on` costs a reactor
/// notification per timer armed: see benches/combinators.rs.)
fn smol_run<F: Future>(
    f: impl FnOnce(Rc<async_executor::LocalExecutor<'static>>) -> F,
) -> F::Output {
    let ex = Rc::new(async_executor::LocalExecutor::new());
    futures::executor::block_on(ex.run(f(ex.clone())))
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn w1_tulipa() -> (Duration, u64) {
    w1_tulipa_with(tulipa::EventLoop::new().unwrap())
}

/// W1 on a loop whose `spawn` starts tasks eagerly (asyncio 3.12's
/// `eager_task_factory`): each task finishes inside its `spawn` call and
/// never enters the ready queue.
fn w1_tulipa_eager() -> (Duration, u64) {
    w1_tulipa_with(tulipa::EventLoop::builder().eager_tasks().build().unwrap())
}

fn w1_tulipa_with(lp: tulipa::EventLoop) -> (Duration, u64) {
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

// ------------------------------------------------------------- smol peers

fn w1_smol() -> (Duration, u64) {
    smol_run(|ex| async move {
        let start = Instant::now();
        let tasks: Vec<_> = (0..W1_TASKS).map(|i| ex.spawn(async move { i })).collect();
        let mut sum = 0;
        for t in tasks {
            sum += t.await;
        }
        let elapsed = start.elapsed();
        assert_eq!(sum, W1_TASKS * (W1_TASKS - 1) / 2);
        (elapsed, W1_TASKS)
    })
}

fn w5_smol() -> (Duration, u64) {
    smol_run(|_| async {
        let start = Instant::now();
        for _ in 0..W5_OPS {
            assert!(poll_once(async_io::Timer::after(Duration::from_secs(10))));
        }
        (start.elapsed(), W5_OPS)
    })
}

fn w8_smol_channel() -> (Duration, u64) {
    let (tx, rx) = async_channel::unbounded::<Box<dyn FnOnce() + Send>>();
    let count = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let c = count.clone();
    let poster = std::thread::spawn(move || {
        for _ in 0..W8_POSTS {
            let c = c.clone();
            tx.try_send(Box::new(move || {
                c.fetch_add(1, Ordering::Relaxed);
            }))
            .unwrap();
        }
    });
    smol_run(|_| async {
        while count.load(Ordering::Relaxed) < W8_POSTS {
            match rx.recv().await {
                Ok(f) => f(),
                Err(_) => break,
            }
        }
    });
    let elapsed = start.elapsed();
    poster.join().unwrap();
    assert_eq!(count.load(Ordering::Relaxed), W8_POSTS);
    (elapsed, W8_POSTS as u64)
}

// ------------------------------------------------------ W6 sleep storm

/// Task k sleeps k * 1 us; the figure is (wall - 100 ms) per task. Each
/// task also reports how late it woke (measured from its own sleep call).
fn w6_result(start: Instant, worst: Duration) -> (Duration, u64) {
    let wall = start.elapsed();
    WORST_LATE.set(Some(worst));
    (wall.saturating_sub(W6_SPREAD), W6_TASKS)
}

fn w6_delay(k: u64) -> Duration {
    W6_SPREAD * k as u32 / W6_TASKS as u32
}

fn w6_tulipa() -> (Duration, u64) {
    let lp = tulipa::EventLoop::new().unwrap();
    lp.run_until_complete(async {
        let start = Instant::now();
        let tasks: Vec<_> = (0..W6_TASKS)
            .map(|k| {
                tulipa::spawn(async move {
                    let (asked, d) = (Instant::now(), w6_delay(k));
                    tulipa::sleep(d).await;
                    asked.elapsed().saturating_sub(d)
                })
            })
            .collect();
        let mut worst = Duration::ZERO;
        for t in tasks {
            worst = worst.max(t.await.unwrap());
        }
        w6_result(start, worst)
    })
    .unwrap()
}

fn w6_tokio() -> (Duration, u64) {
    tokio_rt().block_on(async {
        let start = Instant::now();
        let tasks: Vec<_> = (0..W6_TASKS)
            .map(|k| {
                tokio::spawn(async move {
                    let (asked, d) = (Instant::now(), w6_delay(k));
                    tokio::time::sleep(d).await;
                    asked.elapsed().saturating_sub(d)
                })
            })
            .collect();
        let mut worst = Duration::ZERO;
        for t in tasks {
            worst = worst.max(t.await.unwrap());
        }
        w6_result(start, worst)
    })
}

fn w6_smol() -> (Duration, u64) {
    smol_run(|ex| async move {
        let start = Instant::now();
        let tasks: Vec<_> = (0..W6_TASKS)
            .map(|k| {
                ex.spawn(async move {
                    let (asked, d) = (Instant::now(), w6_delay(k));
                    async_io::Timer::after(d).await;
                    asked.elapsed().saturating_sub(d)
                })
            })
            .collect();
        let mut worst = Duration::ZERO;
        for t in tasks {
            worst = worst.max(t.await);
        }
        w6_result(start, worst)
    })
}

// ---------------------------------------- W8x spawn_threadsafe from a thread

fn w8x_tulipa() -> (Duration, u64) {
    let lp = tulipa::EventLoop::new().unwrap();
    let handle = lp.handle();
    let count = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let c = count.clone();
    let poster = std::thread::spawn(move || {
        for _ in 0..W8X_SPAWNS {
            let c = c.clone();
            let stopper = handle.clone();
            // Dropping the RemoteTask detaches the task.
            drop(
                handle
                    .spawn_threadsafe(async move {
                        if c.fetch_add(1, Ordering::Relaxed) + 1 == W8X_SPAWNS {
                            stopper.stop().unwrap();
                        }
                    })
                    .unwrap(),
            );
        }
    });
    lp.run_forever().unwrap();
    let elapsed = start.elapsed();
    poster.join().unwrap();
    assert_eq!(count.load(Ordering::Relaxed), W8X_SPAWNS);
    (elapsed, W8X_SPAWNS as u64)
}

/// A (non-local) `async_executor::Executor` run by the loop thread; a plain
/// thread spawns on it and detaches each task.
fn w8x_smol() -> (Duration, u64) {
    let ex = Arc::new(async_executor::Executor::new());
    let count = Arc::new(AtomicUsize::new(0));
    let (done_tx, done_rx) = async_channel::bounded::<()>(1);
    let start = Instant::now();
    let (c, spawner) = (count.clone(), ex.clone());
    let poster = std::thread::spawn(move || {
        for _ in 0..W8X_SPAWNS {
            let (c, d) = (c.clone(), done_tx.clone());
            spawner
                .spawn(async move {
                    if c.fetch_add(1, Ordering::Relaxed) + 1 == W8X_SPAWNS {
                        d.try_send(()).unwrap();
                    }
                })
                .detach();
        }
    });
    futures::executor::block_on(ex.run(done_rx.recv())).unwrap();
    let elapsed = start.elapsed();
    poster.join().unwrap();
    assert_eq!(count.load(Ordering::Relaxed), W8X_SPAWNS);
    (elapsed, W8X_SPAWNS as u64)
}

// ------------------------------------------------------- M1 task memory

/// The contenders of M1. The first three wait on the same `tulipa::Event`
/// (so only the task costs differ); the references in parentheses wait on
/// their runtime's own primitive.
const M1_CONTENDERS: &[(&str, MemRun)] = &[
    ("tulipa", m1_tulipa),
    ("tokio", m1_tokio),
    ("smol", m1_smol),
    ("(tokio on Notify)", m1_tokio_notify),
    ("(smol on event-listener)", m1_smol_listener),
];

/// Runs every M1 contender in its own child process, interleaved.
fn m1() {
    let exe = std::env::current_exe().unwrap();
    let mut bytes: Vec<Vec<f64>> = vec![Vec::new(); M1_CONTENDERS.len()];
    for _ in 0..M1_SAMPLES {
        for (i, (who, _)) in M1_CONTENDERS.iter().enumerate() {
            let out = std::process::Command::new(&exe)
                .env(M1_CHILD, who)
                .output()
                .unwrap();
            assert!(out.status.success(), "M1 child {who} failed: {out:?}");
            let text = String::from_utf8(out.stdout).unwrap();
            bytes[i].push(text.trim().parse().unwrap());
        }
    }
    let medians: Vec<f64> = bytes.iter_mut().map(|b| median(b)).collect();
    println!(
        "\nM1 1M tasks waiting on one Event, RSS delta ({M1_SAMPLES} samples, one child process each)"
    );
    for ((who, _), m) in M1_CONTENDERS.iter().zip(&medians) {
        println!("  {who:<30} {m:>10.1} bytes/task");
    }
    print_ratios(M1_CONTENDERS.iter().map(|(who, _)| *who), &medians);
}

/// Resident set size in bytes, from /proc/self/statm.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// What every M1 task shares: the event and two counters.
struct Waiting<E> {
    event: E,
    waiting: AtomicUsize,
    woken: AtomicUsize,
}

impl<E> Waiting<E> {
    fn new(event: E) -> Arc<Waiting<E>> {
        Arc::new(Waiting {
            event,
            waiting: AtomicUsize::new(0),
            woken: AtomicUsize::new(0),
        })
    }

    fn all_waiting(&self) -> bool {
        self.waiting.load(Ordering::Relaxed) == M1_TASKS
    }

    fn woken(&self) -> bool {
        self.woken.load(Ordering::Relaxed) == M1_TASKS
    }
}

/// One M1 task body: count itself waiting, wait on `$wait` (a method of
/// the shared event), count itself woken.
macro_rules! m1_task {
    ($p:expr, $wait:ident) => {{
        let p = $p.clone();
        async move {
            p.waiting.fetch_add(1, Ordering::Relaxed);
            p.event.$wait().await;
            p.woken.fetch_add(1, Ordering::Relaxed);
        }
    }};
}

fn per_task(before: usize) -> f64 {
    rss().saturating_sub(before) as f64 / M1_TASKS as f64
}

fn m1_tulipa() -> f64 {
    let lp = tulipa::EventLoop::new().unwrap();
    lp.run_until_complete(async {
        let p = Waiting::new(tulipa::Event::new());
        let before = rss();
        for _ in 0..M1_TASKS {
            // A handle dropped without being polled detaches its task.
            drop(tulipa::spawn(m1_task!(p, wait)));
        }
        while !p.all_waiting() {
            tulipa::yield_now().await;
        }
        let bytes = per_task(before);
        p.event.set();
        while !p.woken() {
            tulipa::yield_now().await;
        }
        bytes
    })
    .unwrap()
}

fn m1_tokio() -> f64 {
    tokio_rt().block_on(async {
        let p = Waiting::new(tulipa::Event::new());
        let before = rss();
        for _ in 0..M1_TASKS {
            drop(tokio::spawn(m1_task!(p, wait)));
        }
        while !p.all_waiting() {
            tokio::task::yield_now().await;
        }
        let bytes = per_task(before);
        p.event.set();
        while !p.woken() {
            tokio::task::yield_now().await;
        }
        bytes
    })
}

fn m1_tokio_notify() -> f64 {
    tokio_rt().block_on(async {
        let p = Waiting::new(tokio::sync::Notify::new());
        let before = rss();
        for _ in 0..M1_TASKS {
            drop(tokio::spawn(m1_task!(p, notified)));
        }
        while !p.all_waiting() {
            tokio::task::yield_now().await;
        }
        let bytes = per_task(before);
        p.event.notify_waiters();
        while !p.woken() {
            tokio::task::yield_now().await;
        }
        bytes
    })
}

/// A future that is pending once (waking itself), for yielding on smol.
fn smol_yield() -> impl Future<Output = ()> {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if std::mem::replace(&mut yielded, true) {
            std::task::Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
}

fn m1_smol() -> f64 {
    smol_run(|ex| async move {
        let p = Waiting::new(tulipa::Event::new());
        let before = rss();
        for _ in 0..M1_TASKS {
            ex.spawn(m1_task!(p, wait)).detach();
        }
        while !p.all_waiting() {
            smol_yield().await;
        }
        let bytes = per_task(before);
        p.event.set();
        while !p.woken() {
            smol_yield().await;
        }
        bytes
    })
}

fn m1_smol_listener() -> f64 {
    smol_run(|ex| async move {
        let p = Waiting::new(event_listener::Event::new());
        let before = rss();
        for _ in 0..M1_TASKS {
            ex.spawn(m1_task!(p, listen)).detach();
        }
        while !p.all_waiting() {
            smol_yield().await;
        }
        let bytes = per_task(before);
        p.event.notify(usize::MAX);
        while !p.woken() {
            smol_yield().await;
        }
        bytes
    })
}
