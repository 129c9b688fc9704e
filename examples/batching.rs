//! "Call some_remote_call 1000 times, but never more than 10 at once",
//! three ways: a Semaphore around a fan-out, 10 workers draining a Queue,
//! and a 10-worker thread pool. Each prints the largest concurrency it saw
//! (always exactly 10) and the total time.
//!
//!     cargo run --release --example batching
use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tulipa::{Queue, Semaphore, ThreadPoolExecutor};

const CALLS: u32 = 1000;
const LIMIT: usize = 10;

/// Counts calls in flight and remembers the most seen at once.
#[derive(Clone, Default)]
struct Gauge(Rc<(Cell<usize>, Cell<usize>)>);

impl Gauge {
    /// The remote call: 10 ms of (virtual) waiting.
    async fn some_remote_call(&self, i: u32) -> u32 {
        let (now, peak) = (&self.0 .0, &self.0 .1);
        now.set(now.get() + 1);
        peak.set(peak.get().max(now.get()));
        tulipa::sleep(Duration::from_millis(10)).await;
        now.set(now.get() - 1);
        i
    }
    fn peak(&self) -> usize {
        self.0 .1.get()
    }
}

async fn with_semaphore() -> (usize, u64) {
    let (gauge, limit) = (Gauge::default(), Rc::new(Semaphore::new(LIMIT)));
    let calls = (0..CALLS).map(|i| {
        let (gauge, limit) = (gauge.clone(), limit.clone());
        async move {
            let _permit = limit.acquire().await;
            gauge.some_remote_call(i).await
        }
    });
    let results = tulipa::gather(calls).await;
    (gauge.peak(), results.iter().map(|&r| u64::from(r)).sum())
}

async fn with_queue_workers() -> (usize, u64) {
    let (gauge, jobs) = (Gauge::default(), Queue::unbounded());
    for i in 0..CALLS {
        jobs.try_put(i).expect("an open, unbounded queue");
    }
    jobs.shutdown(false); // workers drain what is left, then stop
    let workers = (0..LIMIT).map(|_| {
        let (gauge, jobs) = (gauge.clone(), jobs.clone());
        tulipa::spawn(async move {
            let mut sum = 0;
            while let Ok(i) = jobs.get().await {
                sum += u64::from(gauge.some_remote_call(i).await);
            }
            sum
        })
    });
    let sums = tulipa::gather(workers).await;
    (gauge.peak(), sums.into_iter().map(Result::unwrap).sum())
}

/// The pool: the remote call is a blocking one (2 ms), on real time.
async fn with_pool() -> (usize, u64) {
    let pool = ThreadPoolExecutor::new(LIMIT);
    let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let jobs = (0..CALLS).map(|i| {
        let (now, peak) = (now.clone(), peak.clone());
        pool.run(move || {
            peak.fetch_max(now.fetch_add(1, SeqCst) + 1, SeqCst);
            std::thread::sleep(Duration::from_millis(2));
            now.fetch_sub(1, SeqCst);
            u64::from(i)
        })
    });
    let results = tulipa::gather(jobs).await;
    pool.shutdown(true, false);
    (
        peak.load(SeqCst),
        results.into_iter().map(Result::unwrap).sum(),
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let expected: u64 = (0..u64::from(CALLS)).sum();
    for (name, virtual_time) in [
        ("semaphore", true),
        ("queue + 10 workers", true),
        ("10-thread pool", false),
    ] {
        let mut builder = tulipa::EventLoop::builder();
        if virtual_time {
            builder = builder.virtual_time();
        }
        let (wall, lp) = (Instant::now(), builder.build()?);
        let start = lp.time();
        let ((peak, sum), took) = lp.run(async move {
            let out = match name {
                "semaphore" => with_semaphore().await,
                "queue + 10 workers" => with_queue_workers().await,
                _ => with_pool().await,
            };
            (out, tulipa::now() - start)
        })?;
        assert_eq!(sum, expected, "every call answered once");
        let clock = if virtual_time { "virtual" } else { "real" };
        println!(
            "{name:<20} {CALLS} calls, peak concurrency {peak}, {:.2} s ({clock} time; wall {:.2} s)",
            took.as_secs_f64(),
            wall.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
