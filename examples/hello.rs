//! The README's first example.
//!
//!     cargo run --example hello
use std::time::Duration;

async fn greet(name: &str, delay_secs: u64) -> String {
    tulipa::sleep(Duration::from_secs(delay_secs)).await;
    format!("hello, {name}")
}

fn main() -> Result<(), tulipa::RunError> {
    tulipa::run(async {
        let slow = tulipa::spawn(greet("world", 2));
        let fast = tulipa::spawn(greet("asyncio", 1));
        println!("{}", fast.await.unwrap()); // after 1 s
        println!("{}", slow.await.unwrap()); // after 2 s
    })
}
