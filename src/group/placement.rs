//! Where new work goes: per-loop load counters and the least-loaded choice
//! with random ties (a thread-local xorshift, no dependency).

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use crossbeam_utils::CachePadded;

/// What one loop carries, counted where work is placed.
#[derive(Debug, Default)]
pub(crate) struct Load {
    /// Live tasks placed through the group.
    pub(crate) tasks: AtomicUsize,
    /// Open connections handed to the loop by a group server.
    pub(crate) connections: AtomicUsize,
    /// Tasks ever placed on the loop.
    pub(crate) spawned: AtomicU64,
    /// The loop's thread has ended (closed or died): place nothing there.
    pub(crate) gone: AtomicBool,
}

/// Per loop, its own allocation: a guard holds only its loop's counters.
pub(crate) type Loads = Arc<[Arc<CachePadded<Load>>]>;

/// Which counter a placement compares.
#[derive(Debug, Clone, Copy)]
pub(crate) enum By {
    Tasks,
    Connections,
}

impl Load {
    fn count(&self, by: By) -> usize {
        // ORDERING: a hint for placement; staleness only skews the choice.
        match by {
            By::Tasks => self.tasks.load(Ordering::Relaxed),
            By::Connections => self.connections.load(Ordering::Relaxed),
        }
    }
}

/// The live loop with the smallest count, ties broken uniformly at random;
/// `None` if every loop is gone.
pub(crate) fn least_loaded(loads: &[Arc<CachePadded<Load>>], by: By) -> Option<usize> {
    let mut best = None;
    let mut best_count = usize::MAX;
    let mut ties = 0u64;
    for (i, load) in loads.iter().enumerate() {
        // ORDERING: set once by the exiting loop thread; a stale read makes
        // the post fail with a clear error instead.
        if load.gone.load(Ordering::Relaxed) {
            continue;
        }
        let count = load.count(by);
        if count < best_count {
            best = Some(i);
            best_count = count;
            ties = 1;
        } else if count == best_count {
            // Reservoir sampling: the k-th tie replaces the choice with
            // probability 1/k, so every tied loop is equally likely.
            ties += 1;
            if random() % ties == 0 {
                best = Some(i);
            }
        }
    }
    best
}

/// A counter held while the work it counts lives.
#[derive(Debug)]
pub(crate) struct LoadGuard {
    load: Arc<CachePadded<Load>>,
    by: By,
}

impl LoadGuard {
    /// Counts one more unit of `by` on loop `index`.
    pub(crate) fn new(loads: &Loads, index: usize, by: By) -> LoadGuard {
        let load = &loads[index];
        // ORDERING: counters only steer placement (see `least_loaded`).
        match by {
            By::Tasks => {
                load.tasks.fetch_add(1, Ordering::Relaxed);
                load.spawned.fetch_add(1, Ordering::Relaxed);
            }
            By::Connections => {
                load.connections.fetch_add(1, Ordering::Relaxed);
            }
        }
        LoadGuard {
            load: load.clone(),
            by,
        }
    }
}

impl Drop for LoadGuard {
    fn drop(&mut self) {
        let load = &self.load;
        // ORDERING: as in `new`.
        match self.by {
            By::Tasks => load.tasks.fetch_sub(1, Ordering::Relaxed),
            By::Connections => load.connections.fetch_sub(1, Ordering::Relaxed),
        };
    }
}

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    // std's hasher keys are random per process and per `RandomState`.
    let mut h = RandomState::new().build_hasher();
    h.write_usize(&h as *const _ as usize);
    h.finish() | 1
}

/// xorshift64*: plenty for breaking ties.
pub(crate) fn random() -> u64 {
    RNG.with(|state| {
        let mut x = state.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loads(counts: &[usize]) -> Vec<Arc<CachePadded<Load>>> {
        counts
            .iter()
            .map(|&c| {
                let load = Load::default();
                load.tasks.store(c, Ordering::Relaxed);
                Arc::new(CachePadded::new(load))
            })
            .collect()
    }

    #[test]
    fn least_loaded_picks_the_minimum() {
        let l = loads(&[3, 1, 2]);
        assert_eq!(least_loaded(&l, By::Tasks), Some(1));
    }

    #[test]
    fn ties_are_spread_over_every_tied_loop() {
        let l = loads(&[0, 5, 0, 0]);
        let mut seen = [0usize; 4];
        for _ in 0..4000 {
            seen[least_loaded(&l, By::Tasks).unwrap()] += 1;
        }
        assert_eq!(seen[1], 0);
        for i in [0, 2, 3] {
            assert!(seen[i] > 1000, "loop {i} chosen {} times of 4000", seen[i]);
        }
    }

    #[test]
    fn gone_loops_are_skipped_and_none_when_all_gone() {
        let l = loads(&[0, 9]);
        l[0].gone.store(true, Ordering::Relaxed);
        assert_eq!(least_loaded(&l, By::Tasks), Some(1));
        l[1].gone.store(true, Ordering::Relaxed);
        assert_eq!(least_loaded(&l, By::Tasks), None);
    }
}
