//! Cancellable handles to scheduled callbacks: [`Handle`] and [`TimerHandle`].

use std::cell::Cell;
use std::fmt;
use std::rc::{Rc, Weak};
use std::time::Instant;

use super::core::Core;
use super::timers::TimerKey;

/// A callback waiting in the ready queue or among the loop's timers.
pub(crate) trait CallOnce {
    /// Runs the callback unless it was cancelled; a second call does nothing.
    fn call(&self);
    /// Marks it cancelled and drops the callback at once.
    fn cancel(&self);
    fn is_cancelled(&self) -> bool;
}

/// One allocation per scheduled callback: the flag and the closure together.
pub(crate) struct CallCell<F> {
    cancelled: Cell<bool>,
    callback: Cell<Option<F>>,
}

impl<F: FnOnce()> CallCell<F> {
    pub(crate) fn new(callback: F) -> CallCell<F> {
        CallCell {
            cancelled: Cell::new(false),
            callback: Cell::new(Some(callback)),
        }
    }
}

impl<F: FnOnce()> CallOnce for CallCell<F> {
    fn call(&self) {
        if let Some(callback) = self.callback.take() {
            callback();
        }
    }

    fn cancel(&self) {
        self.cancelled.set(true);
        drop(self.callback.take());
    }

    fn is_cancelled(&self) -> bool {
        self.cancelled.get()
    }
}

/// A callback scheduled with [`EventLoop::call_soon`](crate::EventLoop::call_soon)
/// (asyncio's `Handle`).
///
/// Dropping the handle does not cancel the callback.
#[must_use = "dropping a Handle does not cancel it; use `let _ =` to say so"]
pub struct Handle {
    pub(crate) cell: Rc<dyn CallOnce>,
}

impl Handle {
    /// Cancels the callback if it has not run yet; the closure is dropped at once.
    ///
    /// Cancelling a callback that already ran, or twice, does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let ran = Rc::new(Cell::new(false));
    /// let flag = ran.clone();
    /// let handle = lp.call_soon(move || flag.set(true));
    /// handle.cancel();
    /// lp.run_once().unwrap();
    /// assert!(!ran.get()); // cancelled before its turn
    /// ```
    pub fn cancel(&self) {
        self.cell.cancel();
    }

    /// Whether [`cancel`](Handle::cancel) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let handle = lp.call_soon(|| {});
    /// assert!(!handle.is_cancelled());
    /// handle.cancel();
    /// assert!(handle.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.cell.is_cancelled()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// A callback scheduled for a time with [`EventLoop::call_later`](crate::EventLoop::call_later)
/// or [`EventLoop::call_at`](crate::EventLoop::call_at) (asyncio's `TimerHandle`).
///
/// Dropping the handle does not cancel the timer.
#[must_use = "dropping a TimerHandle does not cancel it; use `let _ =` to say so"]
pub struct TimerHandle {
    pub(crate) cell: Rc<dyn CallOnce>,
    pub(crate) key: TimerKey,
    pub(crate) when: Instant,
    pub(crate) core: Weak<Core>,
}

impl TimerHandle {
    /// Cancels the timer if its callback has not run yet.
    ///
    /// The timer leaves the loop's timers at once: from either end of the
    /// run of timers armed in deadline order in O(1), from its middle as a
    /// hole that is squeezed out later, from the heap of the others in
    /// O(log n). A million cancelled timers cost the loop nothing after.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use std::time::Duration;
    ///
    /// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
    /// let ran = Rc::new(Cell::new(false));
    /// let flag = ran.clone();
    /// let timer = lp.call_later(Duration::from_secs(60), move || flag.set(true));
    /// timer.cancel();
    /// lp.run_until_complete(tulipa::sleep(Duration::from_secs(120))).unwrap();
    /// assert!(!ran.get()); // its time passed, but it was cancelled
    /// ```
    pub fn cancel(&self) {
        self.cell.cancel();
        if let Some(core) = self.core.upgrade() {
            core.cancel_timer(self.key);
        }
    }

    /// Whether [`cancel`](TimerHandle::cancel) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let timer = lp.call_later(Duration::MAX, || {});
    /// assert!(!timer.is_cancelled());
    /// timer.cancel();
    /// assert!(timer.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.cell.is_cancelled()
    }

    /// The loop time at which the callback is due (asyncio's `when()`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
    /// let timer = lp.call_later(Duration::from_secs(5), || {});
    /// assert_eq!(timer.when(), lp.time() + Duration::from_secs(5));
    /// let at = lp.call_at(timer.when(), || {});
    /// assert_eq!(at.when(), timer.when());
    /// ```
    pub fn when(&self) -> Instant {
        self.when
    }
}

impl fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerHandle")
            .field("when", &self.when)
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}
