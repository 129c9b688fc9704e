//! [`timeout`] and [`timeout_at`]: a deadline scope whose deadline can be
//! moved while it runs (asyncio's `asyncio.timeout` / `timeout_at`).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::{poll_fn, Future, IntoFuture};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use super::unwind::{cancel_inner, Unwinding};
use crate::time::{deadline_after, now, sleep_until, Sleep};
use crate::waiters::{wake_all, Seen, WaiterList};

/// A deadline scope (asyncio's `asyncio.Timeout`, what `async with
/// asyncio.timeout(d) as cm` binds to `cm`).
///
/// Run futures under it with [`run`](Timeout::run); move its deadline at
/// any time, even while they run, with [`reschedule`](Timeout::reschedule).
/// Clones share one deadline, so a clone can be handed to the future being
/// timed, or to another task, to push the deadline back. A scope may run
/// several futures, one after another or at once; they all share the
/// deadline.
///
/// `Timeout` lives on the loop's thread:
///
/// ```compile_fail
/// fn must_be_send<T: Send>(_: T) {}
/// must_be_send(tulipa::timeout_at(std::time::Instant::now()));
/// ```
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
/// lp.run(async {
///     let cm = tulipa::timeout(Duration::from_secs(1));
///     let extend = cm.clone();
///     let started = tulipa::now();
///     let out = cm
///         .run(async move {
///             // Found more work: give ourselves 5 s more.
///             extend.reschedule(extend.when().map(|w| w + Duration::from_secs(5)));
///             tulipa::sleep(Duration::from_secs(3)).await;
///             "finished"
///         })
///         .await;
///     assert_eq!(out.unwrap(), "finished");
///     assert_eq!(tulipa::now() - started, Duration::from_secs(3));
///     assert!(!cm.expired());
/// })
/// .unwrap();
/// ```
#[derive(Clone)]
#[doc(alias = "asyncio.Timeout")]
pub struct Timeout {
    deadline: Rc<ScopeDeadline>,
}

/// What the clones of one scope share: the deadline, whether it stopped a
/// run, and the line of runs waiting on it.
struct ScopeDeadline {
    when: Cell<Option<Instant>>,
    expired: Cell<bool>,
    /// The pending runs, all woken by `reschedule` so that they re-arm
    /// their timers (as `Event::set` wakes its whole line). A run woken so
    /// goes back in line at its next pending poll; one dropped after being
    /// woken has nothing to pass on, since every other run was woken too.
    runs: RefCell<WaiterList>,
}

/// A run's place in its scope's line, taken out when the run finishes or
/// is dropped, so a scope reused by many runs keeps no stale wakers.
struct RunSlot {
    deadline: Rc<ScopeDeadline>,
    slot: Option<u32>,
}

impl RunSlot {
    /// Keeps the run in line with `waker`: it joins, refreshes its waker,
    /// or, woken by `reschedule`, goes back in line.
    fn wait(&mut self, waker: &Waker) {
        let mut runs = self.deadline.runs.borrow_mut();
        if let Some(slot) = self.slot {
            if runs.poll_slot(slot, waker) == Seen::Waiting {
                return;
            }
            // Woken by `reschedule`: wait on. Places in this line do not
            // matter; `reschedule` wakes every run.
        }
        runs.wait_in_line(&mut self.slot, waker);
    }
}

impl Drop for RunSlot {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            let (_, waker) = self.deadline.runs.borrow_mut().remove_keeping_waker(slot);
            drop(waker); // after the borrow ends: dropping a waker may run code
        }
    }
}

/// A deadline scope that ends `delay` from now (asyncio's `asyncio.timeout`).
///
/// The deadline is fixed when `timeout` is called, as in asyncio. A zero
/// `delay` expires at the first loop iteration in which the future it runs
/// is still pending.
///
/// # Panics
///
/// If no tulipa loop is running on this thread (use [`timeout_at`] with a
/// loop time to build one beforehand).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
/// let out = lp.run(async {
///     tulipa::timeout(Duration::from_millis(10))
///         .run(tulipa::sleep(Duration::from_secs(10)))
///         .await
/// });
/// assert!(out.unwrap().is_err());
/// ```
#[doc(alias = "asyncio.timeout")]
#[track_caller]
pub fn timeout(delay: Duration) -> Timeout {
    timeout_at(deadline_after(now(), delay))
}

/// A deadline scope that ends at loop time `deadline` (asyncio's
/// `asyncio.timeout_at`). A deadline in the past expires at the first loop
/// iteration in which the future it runs is still pending.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
/// let cm = tulipa::timeout_at(lp.time() + Duration::from_secs(5));
/// let out = lp.run_until_complete(cm.run(async { 7 })).unwrap();
/// assert_eq!(out.unwrap(), 7);
/// assert_eq!(cm.when(), Some(lp.time() + Duration::from_secs(5)));
/// ```
#[doc(alias = "asyncio.timeout_at")]
pub fn timeout_at(deadline: Instant) -> Timeout {
    Timeout::with_deadline(Some(deadline))
}

impl Timeout {
    /// A scope without a deadline (asyncio's `timeout(None)`); give it one
    /// later with [`reschedule`](Timeout::reschedule).
    ///
    /// # Examples
    ///
    /// ```
    /// let cm = tulipa::Timeout::never();
    /// assert_eq!(cm.when(), None);
    /// ```
    pub fn never() -> Timeout {
        Timeout::with_deadline(None)
    }

    fn with_deadline(deadline: Option<Instant>) -> Timeout {
        Timeout {
            deadline: Rc::new(ScopeDeadline {
                when: Cell::new(deadline),
                expired: Cell::new(false),
                runs: RefCell::new(WaiterList::new()),
            }),
        }
    }

    /// The current deadline, `None` if there is none (asyncio's `when()`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
    /// let at = lp.time() + Duration::from_secs(3);
    /// let cm = tulipa::timeout_at(at);
    /// assert_eq!(cm.when(), Some(at));
    /// cm.reschedule(None);
    /// assert_eq!(cm.when(), None);
    /// ```
    pub fn when(&self) -> Option<Instant> {
        self.deadline.when.get()
    }

    /// Moves the deadline (asyncio's `reschedule`); `None` removes it.
    ///
    /// Takes effect at once for futures running under the scope: their
    /// timers are re-armed the next time they are polled, and they are
    /// woken so that this happens now. A future that already timed out
    /// stays timed out.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
    /// let cm = tulipa::timeout_at(lp.time() + Duration::from_secs(1));
    /// cm.reschedule(None);
    /// let out = lp.run_until_complete(cm.run(tulipa::sleep(Duration::from_secs(60))));
    /// assert!(out.unwrap().is_ok());
    /// ```
    pub fn reschedule(&self, when: Option<Instant>) {
        self.deadline.when.set(when);
        let mut wakers = Vec::new();
        self.deadline.runs.borrow_mut().notify_all(&mut wakers);
        wake_all(wakers);
    }

    /// Whether a future run under this scope was stopped by its deadline
    /// (asyncio's `expired()`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
    /// let cm = tulipa::timeout_at(lp.time() + Duration::from_secs(1));
    /// lp.run_until_complete(cm.run(async { 1 })).unwrap().unwrap();
    /// assert!(!cm.expired(), "finished in time");
    /// let late = lp.run_until_complete(cm.run(tulipa::sleep(Duration::from_secs(2))));
    /// assert!(late.unwrap().is_err());
    /// assert!(cm.expired());
    /// ```
    pub fn expired(&self) -> bool {
        self.deadline.expired.get()
    }

    /// Runs `future` under the scope's deadline.
    ///
    /// The future runs inline in the awaiting task and is polled before the
    /// deadline is looked at, so a future that completes without waiting
    /// is never timed out, and no timer is armed for it. Once the deadline
    /// is seen while the future is pending (at once, for a deadline that
    /// has already passed), the future is dropped at the next loop
    /// iteration without another poll: asyncio's `_on_timeout` cancels the
    /// task, and the cancellation reaches the body at its next step. So
    /// `timeout(Duration::ZERO)` around `sleep(Duration::ZERO)` times out,
    /// and of two nested scopes with the same deadline both expire and the
    /// outer one reports the timeout, as in asyncio.
    ///
    /// # Errors
    ///
    /// [`TimeoutError`] once the deadline has passed; the future has then
    /// been dropped, and [`expired`](Timeout::expired) is true. Tasks the
    /// future awaited are cancelled with it, and the error comes only once
    /// they have finished unwinding (as [`wait_for`](crate::wait_for)).
    ///
    /// # Panics
    ///
    /// If the future is pending, the scope has a deadline and no tulipa
    /// loop is running.
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future drops `future` and cancels the timer;
    /// the scope is not marked expired.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
    /// lp.run(async {
    ///     let cm = tulipa::timeout(Duration::from_secs(2));
    ///     let first = cm.run(tulipa::sleep(Duration::from_secs(1))).await;
    ///     let second = cm.run(tulipa::sleep(Duration::from_secs(5))).await;
    ///     assert!(first.is_ok());
    ///     assert!(second.is_err() && cm.expired());
    /// })
    /// .unwrap();
    /// ```
    pub fn run<F: IntoFuture>(
        &self,
        future: F,
    ) -> impl Future<Output = Result<F::Output, TimeoutError>> {
        let deadline = self.deadline.clone();
        let mut run_slot = RunSlot {
            deadline: deadline.clone(),
            slot: None,
        };
        let future = future.into_future();
        async move {
            let mut future = pin!(Some(future));
            let mut expiry = Expiry::default();
            let mut unwinding: Option<Unwinding> = None;
            poll_fn(|cx| {
                if let Some(unwinding) = &mut unwinding {
                    return Pin::new(unwinding)
                        .poll(cx)
                        .map(|()| Err(TimeoutError::new()));
                }
                let inner = future
                    .as_mut()
                    .as_pin_mut()
                    .expect("Timeout::run polled after completion");
                if expiry.expiring {
                    deadline.expired.set(true);
                    // The tasks the future awaited are cancelled with it;
                    // the error comes once they have unwound.
                    let mut cancelled = cancel_inner(|| future.set(None));
                    if Pin::new(&mut cancelled).poll(cx).is_ready() {
                        return Poll::Ready(Err(TimeoutError::new()));
                    }
                    unwinding = Some(cancelled);
                    return Poll::Pending;
                }
                if let Poll::Ready(output) = inner.poll(cx) {
                    future.set(None);
                    return Poll::Ready(Ok(output));
                }
                match deadline.when.get() {
                    Some(when) => expiry.poll(when, now, cx),
                    None => expiry.disarm(),
                }
                if expiry.expiring {
                    // asyncio's EXPIRING state already counts as expired.
                    deadline.expired.set(true);
                }
                run_slot.wait(cx.waker());
                Poll::Pending
            })
            .await
        }
    }
}

/// The deadline half of [`Timeout::run`] and [`wait_for`](super::wait_for).
///
/// Once the body is pending at or past its deadline the scope is
/// *expiring*: the caller drops the body at its next poll, one loop
/// iteration later, without polling it again. That is asyncio's order:
/// `_on_timeout` calls `task.cancel()`, and the cancellation reaches the
/// body at the task's next step. A deadline already past when the body
/// first waits (`timeout(Duration::ZERO)`) therefore fires even around a
/// body that needs only one iteration, as in asyncio.
#[derive(Default)]
pub(super) struct Expiry {
    timer: Option<(Instant, Sleep)>,
    /// The deadline was seen while the body was pending.
    pub(super) expiring: bool,
}

impl Expiry {
    /// Arms (or re-arms) the timer for `deadline` and notes whether it has
    /// passed; when it has, wakes the task so the next poll can expire.
    /// `now` reads the loop's clock, only when a timer is to be armed.
    pub(super) fn poll(
        &mut self,
        deadline: Instant,
        now: impl FnOnce() -> Instant,
        cx: &mut std::task::Context<'_>,
    ) {
        if self.timer.as_ref().map(|(at, _)| *at) != Some(deadline) {
            // Replacing the old timer cancels it. A deadline that has
            // already passed needs no timer at all.
            if deadline <= now() {
                self.timer = None;
                self.expire(cx);
                return;
            }
            self.timer = Some((deadline, sleep_until(deadline)));
        }
        let (_, sleep) = self.timer.as_mut().expect("armed above");
        if Pin::new(sleep).poll(cx).is_ready() {
            self.expire(cx);
        }
    }

    fn expire(&mut self, cx: &mut std::task::Context<'_>) {
        self.expiring = true;
        cx.waker().wake_by_ref();
    }

    /// The scope lost its deadline: cancel the timer.
    pub(super) fn disarm(&mut self) {
        self.timer = None;
    }
}

impl fmt::Debug for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("when", &self.when())
            .field("expired", &self.expired())
            .finish()
    }
}

/// The deadline passed before the future finished (asyncio's
/// `TimeoutError`). The future was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutError(());

impl TimeoutError {
    pub(crate) fn new() -> TimeoutError {
        TimeoutError(())
    }
}

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timed out")
    }
}

impl std::error::Error for TimeoutError {}
