//! Blocking sleeps and a CPU-bound job (counting the primes below five
//! million) run on the loop's default executor while a heartbeat task ticks
//! on the loop every 100 ms: the heartbeat keeps its pace, so the loop never
//! stalls.
//!
//!     cargo run --release --example executor
use std::cell::Cell;
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

/// Sieve of Eratosthenes: the number of primes below `n`.
fn count_primes_below(n: usize) -> usize {
    let mut composite = vec![false; n];
    let mut count = 0;
    for i in 2..n {
        if !composite[i] {
            count += 1;
            for multiple in (i * i..n).step_by(i) {
                composite[multiple] = true;
            }
        }
    }
    count
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let ticks = Rc::new(Cell::new(0u32));
    let worst_gap = Rc::new(Cell::new(Duration::ZERO));
    let (beats, gap) = (ticks.clone(), worst_gap.clone());
    tulipa::run(async move {
        let heartbeat = tulipa::spawn(async move {
            let mut last = Instant::now();
            loop {
                tulipa::sleep(Duration::from_millis(100)).await;
                beats.set(beats.get() + 1);
                gap.set(gap.get().max(last.elapsed()));
                last = Instant::now();
            }
        });
        let primes = tulipa::run_in_executor(|| count_primes_below(5_000_000));
        let naps: Vec<_> = [300u64, 600, 900]
            .into_iter()
            .map(|ms| {
                tulipa::run_in_executor(move || {
                    thread::sleep(Duration::from_millis(ms)); // blocks a worker, not the loop
                    ms
                })
            })
            .collect();
        for nap in naps {
            let ms = nap.await?;
            println!(
                "{:>5.2} s  blocking sleep({ms} ms) done    heartbeats so far: {}",
                start.elapsed().as_secs_f64(),
                ticks.get()
            );
        }
        let primes = primes.await?;
        println!(
            "{:>5.2} s  primes below 5 000 000: {primes}    heartbeats so far: {}",
            start.elapsed().as_secs_f64(),
            ticks.get()
        );
        heartbeat.cancel();
        println!(
            "heartbeat: {} ticks, largest gap between two ticks {} ms: the loop never stalled",
            ticks.get(),
            worst_gap.get().as_millis()
        );
        Ok::<_, tulipa::ExecError>(())
    })??;
    Ok(())
}
