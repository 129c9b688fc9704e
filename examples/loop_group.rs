//! The producer/consumer scenario on a group of loops: one producer on
//! loop 0, consumers spread over the group by least-loaded placement, one
//! bounded queue between them (a `Queue` is `Send + Sync`).
//!
//!     cargo run --example loop_group            # 4 loops
//!     cargo run --example loop_group -- 2       # 2 loops
//!
//! Each consumer prints which loop it runs on and what it got; at the end,
//! every loop's share. The interleaving differs from run to run (the loops
//! are real threads); the totals do not: 20 items, sum 190.
use std::error::Error;
use std::rc::Rc;
use std::time::Duration;

use tulipa::Queue;

async fn consumer(id: usize, queue: Queue<u64>) -> (usize, usize, u64) {
    let here = tulipa::group().and_then(|g| g.current_loop()).unwrap();
    // Loop-local state: an `Rc` is fine, the task never leaves its loop.
    let seen = Rc::new(std::cell::Cell::new((0, 0)));
    while let Ok(item) = queue.get().await {
        println!("loop {here}: consumer {id} got {item}");
        seen.set((seen.get().0 + 1, seen.get().1 + item));
        tulipa::sleep(Duration::from_millis(2)).await; // some work
    }
    (here, seen.get().0, seen.get().1)
}

fn main() -> Result<(), Box<dyn Error>> {
    let loops = std::env::args().nth(1).map_or(Ok(4), |n| n.parse())?;
    tulipa::run_group(loops, async move {
        let group = tulipa::group().unwrap();
        let queue = Queue::new(4);
        let consumers: Vec<_> = (0..loops * 2)
            .map(|id| {
                let queue = queue.clone();
                group.spawn(move || consumer(id, queue)).unwrap()
            })
            .collect();
        for i in 0..20 {
            queue.put(i).await.unwrap();
            println!("loop 0: produced {i}");
        }
        queue.shutdown(false); // consumers drain what is left, then stop
        let mut share = vec![(0, 0); loops];
        for result in tulipa::gather(consumers).await {
            let (here, items, sum) = result.unwrap();
            share[here].0 += items;
            share[here].1 += sum;
        }
        for (i, (items, sum)) in share.iter().enumerate() {
            println!("loop {i} served {items} items (sum {sum})");
        }
        let total: (usize, u64) = share.iter().fold((0, 0), |a, s| (a.0 + s.0, a.1 + s.1));
        println!("total: {} items, sum {}", total.0, total.1);
    })?;
    Ok(())
}
