//! Tour step: asyncio-style queues — order, waiting, shutdown, threads.
use std::time::Duration;

use tulipa::{LifoQueue, PriorityQueue, Queue};

/// Prints a short demonstration of `Queue`, `LifoQueue` and `PriorityQueue`.
pub fn step() -> Result<(), Box<dyn std::error::Error>> {
    println!("== queues: Queue, LifoQueue, PriorityQueue ==");
    let (fifo, lifo, prio) = (
        Queue::unbounded(),
        LifoQueue::unbounded(),
        PriorityQueue::unbounded(),
    );
    for i in [1, 3, 2] {
        fifo.try_put(i)?;
        lifo.try_put(i)?;
        prio.try_put(i)?;
    }
    let drain = |get: &dyn Fn() -> Option<i32>| std::iter::from_fn(get).collect::<Vec<_>>();
    println!(
        "put 1, 3, 2 -> Queue {:?}, LifoQueue {:?}, PriorityQueue {:?}",
        drain(&|| fifo.try_get().ok()),
        drain(&|| lifo.try_get().ok()),
        drain(&|| prio.try_get().ok())
    );

    // A producer and a consumer on a bounded queue, on the virtual clock.
    let lp = tulipa::EventLoop::builder().virtual_time().build()?;
    lp.run(async {
        let q = Queue::new(1);
        let start = tulipa::now();
        let consumer = tulipa::spawn({
            let q = q.clone();
            async move {
                while let Ok(item) = q.get().await {
                    let t = (tulipa::now() - start).as_secs();
                    println!("  t={t}s consumer got {item}");
                    q.task_done().unwrap();
                }
                println!("  consumer: queue shut down, done");
            }
        });
        for item in ["spam", "eggs", "ham"] {
            q.put(item).await.unwrap();
            tulipa::sleep(Duration::from_secs(1)).await;
        }
        q.join().await; // every item got its task_done
        q.shutdown(false);
        consumer.await.unwrap();
    })?;

    // A plain thread feeds a loop task through the same queue.
    let q = Queue::new(2);
    let feeder = std::thread::spawn({
        let q = q.clone();
        move || {
            (1..=4).for_each(|i| q.put_blocking(i).unwrap());
            q.shutdown(false);
        }
    });
    let sum = tulipa::run(async move {
        let mut sum = 0;
        while let Ok(i) = q.get().await {
            sum += i;
        }
        sum
    })?;
    feeder.join().expect("the feeder thread does not panic");
    println!("a thread put_blocking 1..=4, a loop task summed them: {sum}");
    println!("(examples: producer_consumer, potatoes)");
    Ok(())
}
