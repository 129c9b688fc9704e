//! Helpers for the loop-group tests: a watchdog that turns a hang (a lost
//! wake-up) into a failure, and a drop flag that crosses threads.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Generous: only a lost wake-up or a hang gets near it.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

/// The integration tests' helpers (`mod.rs`), for the watchdog they share.
#[path = "mod.rs"]
mod common;

/// Runs `body` on a fresh thread and fails the test if it takes longer
/// than `limit` (the stuck thread is left behind; the test fails, it does
/// not hang). A panic in `body` fails the test with its message.
pub(crate) use common::on_thread_within as within;

/// A flag raised when the value made by [`Flag::on_drop`] is dropped.
#[derive(Clone, Default)]
pub(crate) struct Flag(Arc<AtomicBool>);

impl Flag {
    pub(crate) fn new() -> Flag {
        Flag::default()
    }

    pub(crate) fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    pub(crate) fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub(crate) fn on_drop(&self) -> SetOnDrop {
        SetOnDrop(self.clone())
    }
}

pub(crate) struct SetOnDrop(Flag);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.set();
    }
}

/// A counter shared across threads.
#[derive(Clone, Default)]
pub(crate) struct Count(Arc<AtomicUsize>);

impl Count {
    pub(crate) fn bump(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Polls `cond` until it holds, failing after [`PATIENCE`].
pub(crate) fn eventually(what: &str, cond: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(start.elapsed() < PATIENCE, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}
