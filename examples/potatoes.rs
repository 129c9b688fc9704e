//! The seed shop: a buyer of 12 potatoes and a buyer of 15 tomatoes shop at
//! once. Each shelf is a queue that starts with 2 items; a buyer who finds
//! its shelf empty asks the supplier to restock it (2 s, then 1..=10 new
//! items from a seeded RNG) while the other buyer goes on shopping.
//!
//!     cargo run --example potatoes
//!
//! Runs on the virtual clock: the same lines, with the same times, every run.
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use tulipa::{Queue, TryGetError};

/// A tiny xorshift64 generator, so the example needs no RNG crate.
#[derive(Clone)]
struct Rng(Rc<Cell<u64>>);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(Rc::new(Cell::new(seed)))
    }

    /// A number in `low..=high`.
    fn range(&self, low: u64, high: u64) -> u64 {
        let mut x = self.0.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0.set(x);
        low + x % (high - low + 1)
    }
}

/// The supplier: 2 s on the road, then 1..=10 new items on the shelf.
async fn restock(shelf: &Queue<u64>, rng: &Rng) {
    tulipa::sleep(Duration::from_secs(2)).await;
    for _ in 0..rng.range(1, 10) {
        shelf.try_put(rng.range(100, 999)).unwrap(); // the item's serial number
    }
}

async fn buy(what: &'static str, wanted: usize, shelf: Queue<u64>, rng: Rng, say: impl Fn(String)) {
    let start = tulipa::now();
    for n in 1..=wanted {
        let serial = match shelf.try_get() {
            Ok(serial) => serial,
            Err(TryGetError::Empty) => {
                restock(&shelf, &rng).await;
                shelf.get().await.unwrap()
            }
            Err(err) => unreachable!("the shop never closes: {err}"),
        };
        let t = (tulipa::now() - start).as_secs();
        say(format!(
            "add {what} {n:>2}/{wanted} (serial {serial}) at t={t} s"
        ));
        tulipa::yield_now().await; // let the other buyer shop too
    }
}

/// The shop; every line goes to `say` (the test collects them).
pub(crate) async fn scenario(say: impl Fn(String) + Clone + 'static) {
    let rng = Rng::new(0x5EED_CAFE);
    let (potatoes, tomatoes) = (Queue::unbounded(), Queue::unbounded());
    for shelf in [&potatoes, &tomatoes] {
        for _ in 0..2 {
            shelf.try_put(rng.range(100, 999)).unwrap();
        }
    }
    let a = tulipa::spawn(buy("potato", 12, potatoes, rng.clone(), say.clone()));
    let b = tulipa::spawn(buy("tomato", 15, tomatoes, rng, say));
    a.await.unwrap();
    b.await.unwrap();
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lp = tulipa::EventLoop::builder().virtual_time().build()?;
    lp.run(scenario(|line| println!("{line}")))?;
    Ok(())
}
