//! Helpers shared by the `combinators_*` tests.
#![allow(dead_code)]

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tulipa::EventLoop;

/// A loop on the virtual clock.
pub(crate) fn vloop() -> EventLoop {
    EventLoop::builder().virtual_time().build().unwrap()
}

/// Milliseconds.
pub(crate) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Seconds.
pub(crate) fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Loop time elapsed since `start`.
pub(crate) fn since(start: Instant) -> Duration {
    tulipa::now() - start
}

/// A counter shared between a test and the futures it spawns.
#[derive(Clone, Default)]
pub(crate) struct Counter(Rc<Cell<u32>>);

impl Counter {
    pub(crate) fn new() -> Counter {
        Counter::default()
    }
    pub(crate) fn get(&self) -> u32 {
        self.0.get()
    }
    pub(crate) fn bump(&self) {
        self.0.set(self.0.get() + 1);
    }
    /// A guard that bumps the counter when dropped (asyncio's `finally:`).
    pub(crate) fn on_drop(&self) -> OnDrop {
        OnDrop(self.clone())
    }
}

/// Bumps its counter when dropped.
pub(crate) struct OnDrop(Counter);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.bump();
    }
}

/// Sleeps `d` then returns `value`, bumping `dropped` however it ends
/// (even if it is dropped before its first poll).
pub(crate) fn sleep_then<T>(d: Duration, value: T, dropped: Counter) -> impl Future<Output = T> {
    let guard = dropped.on_drop();
    async move {
        let _guard = guard;
        tulipa::sleep(d).await;
        value
    }
}
