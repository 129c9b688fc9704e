//! The loop's clock: real monotonic time, or a virtual clock that only moves
//! when the loop has nothing to do but wait for a timer.

use std::cell::Cell;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub(crate) enum Clock {
    /// `Instant::now()`, as asyncio's `time.monotonic()`.
    Real,
    /// Starts at the real time the loop was made and moves only when told to.
    Virtual(Cell<Instant>),
}

impl Clock {
    pub(crate) fn new(virtual_time: bool) -> Clock {
        if virtual_time {
            Clock::Virtual(Cell::new(Instant::now()))
        } else {
            Clock::Real
        }
    }

    pub(crate) fn now(&self) -> Instant {
        match self {
            Clock::Real => Instant::now(),
            Clock::Virtual(now) => now.get(),
        }
    }

    pub(crate) fn is_virtual(&self) -> bool {
        matches!(self, Clock::Virtual(_))
    }

    /// Moves a virtual clock forward by `by`.
    pub(crate) fn advance_by(&self, by: Duration) {
        if let Clock::Virtual(now) = self {
            now.set(now.get() + by);
        }
    }
}
