//! Child processes: tulipa::process against tokio::process (current_thread
//! runtime), interleaved in one process run.
//!
//! - spawn + wait of `/bin/true`, 1 000 times in a row (children per second);
//! - pipe throughput: 64 MiB through `cat` (written to its stdin while its
//!   stdout is read, both at once), MiB per second.
//!
//! Run with:
//!
//!     cargo bench --bench process --features process
//!     TULIPA_BENCH_SAMPLES=9 cargo bench --bench process --features process
//!     TULIPA_BENCH_ONLY=tokio cargo bench --bench process --features process
//!     TULIPA_BENCH_WORKLOAD=cat cargo bench --bench process --features process
#![cfg(not(loom))]

mod support;

use std::time::{Duration, Instant};

const SPAWNS: usize = 1_000;
const PIPE_BYTES: usize = 64 << 20;

type Run = fn() -> Duration;

struct Workload {
    name: &'static str,
    unit: &'static str,
    /// Work per run, in `unit`s.
    amount: f64,
    contenders: [(&'static str, Run); 2],
}

fn main() {
    let samples = support::samples(5);
    let only = std::env::var("TULIPA_BENCH_ONLY").ok();
    // TULIPA_BENCH_WORKLOAD=<substring> runs only the workloads it names.
    let workload = std::env::var("TULIPA_BENCH_WORKLOAD").unwrap_or_default();
    let workloads = [
        Workload {
            name: "spawn + wait of /bin/true x 1000",
            unit: "children/s",
            amount: SPAWNS as f64,
            contenders: [("tulipa", tulipa_spawn), ("tokio", tokio_spawn)],
        },
        Workload {
            name: "64 MiB through cat",
            unit: "MiB/s",
            amount: (PIPE_BYTES >> 20) as f64,
            contenders: [("tulipa", tulipa_pipe), ("tokio", tokio_pipe)],
        },
    ];
    for w in workloads
        .iter()
        .filter(|w| w.name.contains(workload.as_str()))
    {
        if let Some(only) = &only {
            for (who, run) in w
                .contenders
                .iter()
                .filter(|(who, _)| who.contains(only.as_str()))
            {
                println!(
                    "  {}: {who} {:.0} {}",
                    w.name,
                    w.amount / run().as_secs_f64(),
                    w.unit
                );
            }
            continue;
        }
        let medians = support::interleaved(samples, w.amount, &w.contenders);
        println!("{}: {samples} interleaved samples, medians", w.name);
        for (i, (who, _)) in w.contenders.iter().enumerate() {
            println!("  {who:<8} {:>10.1} {}", medians[i], w.unit);
        }
        println!(
            "  ratio tulipa / tokio: {:.2} (> 1 is faster)",
            medians[0] / medians[1]
        );
    }
}

fn input() -> Vec<u8> {
    (0..PIPE_BYTES).map(|i| i as u8).collect()
}

fn tulipa_spawn() -> Duration {
    tulipa::run(async {
        let start = Instant::now();
        for _ in 0..SPAWNS {
            let mut child = tulipa::process::Command::new("/bin/true").spawn().unwrap();
            assert!(child.wait().await.unwrap().success());
        }
        start.elapsed()
    })
    .unwrap()
}

fn tokio_spawn() -> Duration {
    support::tokio_rt().block_on(async {
        let start = Instant::now();
        for _ in 0..SPAWNS {
            let mut child = tokio::process::Command::new("/bin/true").spawn().unwrap();
            assert!(child.wait().await.unwrap().success());
        }
        start.elapsed()
    })
}

fn tulipa_pipe() -> Duration {
    use tulipa::process::{Command, Stdio};
    let data = input();
    tulipa::run(async move {
        let start = Instant::now();
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.communicate(Some(&data)).await.unwrap();
        let took = start.elapsed();
        assert_eq!(out.stdout.len(), PIPE_BYTES);
        took
    })
    .unwrap()
}

fn tokio_pipe() -> Duration {
    use std::process::Stdio;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let data = input();
    support::tokio_rt().block_on(async move {
        let start = Instant::now();
        let mut child = tokio::process::Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let feed = async move {
            stdin.write_all(&data).await.unwrap();
            drop(stdin);
        };
        let mut out = Vec::new();
        let read = stdout.read_to_end(&mut out);
        let ((), n) = tokio::join!(feed, read);
        assert_eq!(n.unwrap(), PIPE_BYTES);
        assert!(child.wait().await.unwrap().success());
        start.elapsed()
    })
}
