//! The seed scenario: a producer puts 0..=9, sleeping 1 s after each, then
//! shuts the queue down; a consumer prints each item until the shutdown.
//!
//!     cargo run --example producer_consumer
//!
//! Runs on the virtual clock, so the 10 s of sleeps take no time. Output:
//! `Producing 0`, `Consuming 0`, ..., `Producing 9`, `Consuming 9`,
//! `Producer done`, `Consumer done`.
use std::time::Duration;

use tulipa::Queue;

/// The scenario; every line goes to `say` (the test collects them).
pub(crate) async fn scenario(say: impl Fn(String) + Clone + 'static) {
    let queue = Queue::unbounded();
    let producer = tulipa::spawn({
        let (queue, say) = (queue.clone(), say.clone());
        async move {
            for i in 0..=9 {
                say(format!("Producing {i}"));
                queue
                    .put(i)
                    .await
                    .expect("the queue is open until we shut it");
                tulipa::sleep(Duration::from_secs(1)).await;
            }
            say("Producer done".to_owned());
            queue.shutdown(false);
        }
    });
    let consumer = tulipa::spawn(async move {
        // `get` hands out what is left, then fails once the queue is shut down.
        while let Ok(item) = queue.get().await {
            say(format!("Consuming {item}"));
        }
        say("Consumer done".to_owned());
    });
    producer.await.unwrap();
    consumer.await.unwrap();
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lp = tulipa::EventLoop::builder().virtual_time().build()?;
    lp.run(scenario(|line| println!("{line}")))?;
    Ok(())
}
