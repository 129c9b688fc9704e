//! A short walk through what tulipa does today, printed as it goes.
//!
//!     cargo run --release --example tour
// Each step lives in examples/tour/<area>.rs with a `pub fn step()`.
#![allow(unreachable_pub)]

#[path = "tour/combinators.rs"]
mod combinators;
#[path = "tour/executor.rs"]
mod executor;
#[path = "tour/foundation.rs"]
mod foundation;
#[path = "tour/net.rs"]
mod net;
#[path = "tour/queue.rs"]
mod queue;
#[path = "tour/sync.rs"]
mod sync;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The panic of the demo task would otherwise print a backtrace note.
    std::panic::set_hook(Box::new(|_| {}));
    foundation::step()?;
    println!();
    queue::step()?;
    println!("\n== gather, wait, wait_for, timeout, TaskGroup ==");
    combinators::step()?;
    println!("\n== synchronization primitives ==");
    sync::step()?;
    println!();
    executor::step()?;
    println!();
    net::step()?;
    Ok(())
}
