//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::cell::RefCell;
use std::rc::Rc;

/// An ordered record of events, shared by the callbacks and tasks of a test.
#[derive(Clone, Default)]
pub struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    pub fn new() -> Log {
        Log::default()
    }

    pub fn push(&self, event: impl Into<String>) {
        self.0.borrow_mut().push(event.into());
    }

    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.borrow_mut())
    }

    /// How many clones of this log are alive (closures holding it count).
    pub fn handles(&self) -> usize {
        Rc::strong_count(&self.0)
    }

    pub fn snapshot(&self) -> Vec<String> {
        self.0.borrow().clone()
    }
}

/// A loop on the virtual clock.
pub fn virtual_loop() -> tulipa::EventLoop {
    tulipa::EventLoop::builder().virtual_time().build().unwrap()
}
