//! Two coroutines interleaved by the loop: `countdown(5)` sleeps 4 s between
//! steps, `countup(20)` sleeps 1 s.
//!
//!     cargo run --example countdown              # virtual clock: instant
//!     cargo run --example countdown -- --real-time   # wall clock: 20 s
use std::time::Duration;

async fn countdown(n: u32) {
    for i in (1..=n).rev() {
        println!("Down {i}");
        tulipa::sleep(Duration::from_secs(4)).await;
    }
}

async fn countup(stop: u32) {
    for i in 0..stop {
        println!("Up {i}");
        tulipa::sleep(Duration::from_secs(1)).await;
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let real_time = std::env::args().any(|a| a == "--real-time");
    let mut builder = tulipa::EventLoop::builder();
    if !real_time {
        builder = builder.virtual_time();
    }
    builder.build()?.run(async {
        let down = tulipa::spawn(countdown(5));
        let up = tulipa::spawn(countup(20));
        down.await.unwrap();
        up.await.unwrap();
    })?;
    Ok(())
}
