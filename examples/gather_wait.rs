//! asyncio's classic gather/wait demo on tulipa: three groups of tasks
//! gathered together, then `wait` with FIRST_COMPLETED, with a timeout,
//! and for the rest. Durations come from a seeded xorshift generator and
//! the loop runs on the virtual clock, so the output is the same every run.
//!
//!     cargo run --example gather_wait
use std::time::Duration;

use tulipa::{ReturnWhen, Task};

/// xorshift64: a tiny seeded generator (no dependency).
struct Rng(u64);

impl Rng {
    /// A duration drawn uniformly from `lo_ms..=hi_ms` milliseconds.
    fn millis(&mut self, lo_ms: u64, hi_ms: u64) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Duration::from_millis(lo_ms + self.0 % (hi_ms - lo_ms + 1))
    }
}

async fn coro(tag: String, delay: Duration) -> String {
    println!("> {tag}");
    tulipa::sleep(delay).await;
    println!("< {tag}");
    tag
}

async fn print_done(done: Vec<Task<String>>, seen: &mut Vec<String>) {
    for task in done {
        let tag = task.await.expect("tasks do not fail");
        println!("{tag}");
        seen.push(tag);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let lp = tulipa::EventLoop::builder().virtual_time().build()?;
    lp.run(async move {
        let mut group = |g: u32, n: u32| {
            tulipa::gather((1..=n).map(|i| coro(format!("group {g}.{i}"), rng.millis(1000, 3000))))
        };
        let (g1, g2, g3) = tulipa::gather!(group(1, 5), group(2, 3), group(3, 9)).await;
        println!("Results:\n{g1:?}\n{g2:?}\n{g3:?}\n");

        let tasks: Vec<Task<String>> = (1..=10)
            .map(|i| tulipa::spawn(coro(i.to_string(), rng.millis(500, 5000))))
            .collect();
        let mut seen = Vec::new();
        println!("Get first result:");
        let (done, pending) = tulipa::wait(tasks, ReturnWhen::FirstCompleted, None).await?;
        print_done(done, &mut seen).await;
        println!("unfinished: {}", pending.len());

        println!("Get more results in 2 seconds:");
        let two_s = Some(Duration::from_secs(2));
        let (done, pending) = tulipa::wait(pending, ReturnWhen::AllCompleted, two_s).await?;
        print_done(done, &mut seen).await;
        println!("unfinished: {}", pending.len());

        println!("Get all other results:");
        let (done, _) = tulipa::wait(pending, ReturnWhen::AllCompleted, None).await?;
        print_done(done, &mut seen).await;

        seen.sort_by_key(|tag| tag.parse::<u32>().unwrap_or(0));
        assert_eq!(seen, (1..=10).map(|i| i.to_string()).collect::<Vec<_>>());
        Ok::<_, tulipa::WaitError>(())
    })??;
    Ok(())
}
