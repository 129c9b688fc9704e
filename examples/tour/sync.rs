//! Tour step: asyncio's synchronization primitives, one short scene each.
//! Runs on the virtual clock, so the sleeps cost nothing.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use tulipa::sync::{Barrier, BoundedSemaphore, Condition, Event, Lock, Semaphore};

/// Event, Lock, Semaphore, BoundedSemaphore, Condition and Barrier, one
/// printed line (or two) each.
pub fn step() -> Result<(), Box<dyn std::error::Error>> {
    let lp = tulipa::EventLoop::builder().virtual_time().build()?;
    lp.run(async {
        let secs = |s: u64| Duration::from_secs(s);
        let t0 = tulipa::now();
        let at = move || (tulipa::now() - t0).as_secs();

        // Event: one set() wakes every waiter.
        let go = Rc::new(Event::new());
        let runners: Vec<_> = (0..3)
            .map(|i| {
                let go = go.clone();
                tulipa::spawn(async move {
                    go.wait().await;
                    i
                })
            })
            .collect();
        tulipa::sleep(secs(1)).await;
        go.set();
        let mut started = Vec::new();
        for r in runners {
            started.push(r.await?);
        }
        println!(
            "Event     : set at t={}s released runners {started:?}",
            at()
        );

        // Lock: strict FIFO; the guard unlocks on drop.
        let lock = Rc::new(Lock::new());
        let order = Rc::new(RefCell::new(Vec::new()));
        let users: Vec<_> = ["ann", "bob", "cy"]
            .into_iter()
            .map(|name| {
                let (lock, order) = (lock.clone(), order.clone());
                tulipa::spawn(async move {
                    let _guard = lock.lock().await;
                    order.borrow_mut().push(name);
                    tulipa::sleep(Duration::from_secs(1)).await;
                })
            })
            .collect();
        for u in users {
            u.await?;
        }
        println!(
            "Lock      : served in arrival order {:?}, done at t={}s",
            order.borrow(),
            at()
        );

        // Semaphore: at most two downloads at a time.
        let sem = Rc::new(Semaphore::new(2));
        let start = at();
        let jobs: Vec<_> = (0..6)
            .map(|_| {
                let sem = sem.clone();
                tulipa::spawn(async move {
                    let _permit = sem.acquire().await;
                    tulipa::sleep(Duration::from_secs(1)).await;
                })
            })
            .collect();
        for j in jobs {
            j.await?;
        }
        println!(
            "Semaphore : 6 one-second jobs, 2 at a time, took {}s",
            at() - start
        );

        // BoundedSemaphore: releasing past the initial value is an error.
        let bounded = BoundedSemaphore::new(1);
        println!(
            "Bounded   : extra release() -> {}",
            bounded.release().unwrap_err()
        );

        // Condition: a consumer waits for a predicate under the lock.
        let cond = Rc::new(Condition::new());
        let stock = Rc::new(Cell::new(0));
        let consumer = {
            let (cond, stock) = (cond.clone(), stock.clone());
            tulipa::spawn(async move {
                let guard = cond.lock().await;
                let _guard = cond.wait_for(guard, || stock.get() >= 3).await;
                stock.get()
            })
        };
        for _ in 0..3 {
            tulipa::sleep(secs(1)).await;
            let _guard = cond.lock().await;
            stock.set(stock.get() + 1);
            cond.notify_all();
        }
        println!(
            "Condition : consumer woke with stock={} at t={}s",
            consumer.await?,
            at()
        );

        // Barrier: three parties meet; each learns its arrival index.
        let barrier = Rc::new(Barrier::new(3));
        let parties: Vec<_> = (1..=3)
            .map(|k| {
                let barrier = barrier.clone();
                tulipa::spawn(async move {
                    tulipa::sleep(Duration::from_secs(k)).await;
                    barrier.wait().await
                })
            })
            .collect();
        let mut indexes = Vec::new();
        for p in parties {
            indexes.push(p.await??);
        }
        println!(
            "Barrier   : all met at t={}s, arrival indexes {indexes:?}",
            at()
        );
        barrier.abort();
        println!(
            "Barrier   : after abort(), wait() -> {}",
            barrier.wait().await.unwrap_err()
        );
        Ok::<(), Box<dyn std::error::Error>>(())
    })?
}
