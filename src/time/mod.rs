//! Time on the loop: [`sleep`], [`sleep_until`], [`yield_now`] and [`now`].
//!
//! All of them follow the loop's clock, so under a virtual clock a
//! `sleep(Duration::from_secs(3600))` finishes at once and `now()` says an
//! hour has passed.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::runtime::context;
use crate::runtime::core::Core;
use crate::runtime::timers::{Action, TimerKey};

/// `at + delay`, or the farthest instant this platform can represent when
/// that overflows (about a century ahead; `Duration::MAX` means "no limit").
///
/// Every delay tulipa takes goes through this, so any `Duration`, however
/// large, means "at most that long" and never panics.
pub(crate) fn deadline_after(at: Instant, delay: Duration) -> Instant {
    at.checked_add(delay).unwrap_or_else(|| far_future(at))
}

/// An instant far enough ahead to stand for "never" (asyncio's `None`).
fn far_future(at: Instant) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    [CENTURY, CENTURY / 100, Duration::from_secs(3600)]
        .into_iter()
        .find_map(|d| at.checked_add(d))
        .unwrap_or(at)
}

/// The running loop's time (asyncio's `loop.time()`).
///
/// # Panics
///
/// If no tulipa loop is running on this thread.
#[track_caller]
pub fn now() -> Instant {
    context::expect_current("tulipa::now").now()
}

/// Waits for `duration` of loop time (asyncio's `asyncio.sleep(delay)`).
///
/// `sleep(Duration::ZERO)` behaves like [`yield_now`]: it gives up exactly
/// one loop iteration. The deadline is taken when the future is first
/// polled. A `Sleep` is `Send`: polled later on another loop, it arms its
/// timer there and keeps its deadline. A duration too large to add to the clock (`Duration::MAX`)
/// sleeps until a deadline about a century ahead instead of overflowing.
///
/// # Cancel safety
///
/// Dropping the future cancels its timer; nothing else is lost.
///
/// # Panics
///
/// Polling it outside a running tulipa loop panics.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
/// let start = lp.time();
/// lp.run_until_complete(tulipa::sleep(Duration::from_secs(4))).unwrap();
/// assert_eq!(lp.time() - start, Duration::from_secs(4));
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    let when = if duration.is_zero() {
        When::Yield(yield_now())
    } else {
        When::After(duration)
    };
    Sleep { when, timer: None }
}

/// Waits until the loop's clock reaches `deadline` (a loop time from
/// [`now`] or [`EventLoop::time`](crate::EventLoop::time)).
///
/// A deadline in the past completes on the next loop iteration.
///
/// # Cancel safety
///
/// Dropping the future cancels its timer; nothing else is lost.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        when: When::At(deadline),
        timer: None,
    }
}

#[derive(Debug)]
enum When {
    After(Duration),
    At(Instant),
    /// `sleep(0)`: asyncio special-cases it as a bare yield.
    Yield(YieldNow),
}

/// The future of [`sleep`] and [`sleep_until`]. It is `Send` and `Unpin`.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    when: When,
    /// The armed timer: the loop's id and the timer's key.
    timer: Option<(u64, TimerKey)>,
}

impl Sleep {
    fn arm(&mut self, core: &Core, deadline: Instant, cx: &mut Context<'_>) -> Poll<()> {
        let key = core.insert_timer(deadline, Action::Wake(cx.waker().clone()));
        self.timer = Some((core.id(), key));
        Poll::Pending
    }

    /// The deadline, once the future has been polled (the clock is read then).
    pub fn deadline(&self) -> Option<Instant> {
        match self.when {
            When::At(at) => Some(at),
            When::After(_) | When::Yield(_) => None,
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let core = context::expect_current("tulipa::sleep");
        let deadline = match &mut self.when {
            When::Yield(y) => return Pin::new(y).poll(cx),
            When::At(at) => *at,
            When::After(d) => {
                let at = deadline_after(core.now(), *d);
                self.when = When::At(at);
                at
            }
        };
        match self.timer {
            // Never armed, or armed on another loop (a `Sleep` is `Send`):
            // arm it here, on the loop that polls it. A timer left on the
            // other loop only wakes a waker nobody listens to.
            None => self.arm(&core, deadline, cx),
            Some((loop_id, _)) if loop_id != core.id() => self.arm(&core, deadline, cx),
            Some((_, key)) => {
                if core.timer_is_armed(key) {
                    if core.now() < deadline {
                        core.set_timer_waker(key, cx.waker());
                        return Poll::Pending;
                    }
                    core.cancel_timer(key);
                }
                self.timer = None;
                Poll::Ready(())
            }
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some((loop_id, key)) = self.timer {
            // Off the loop's thread the timer stays armed and later wakes a
            // waker nobody listens to, which is harmless.
            context::with_current(|core| {
                if let Some(core) = core.filter(|c| c.id() == loop_id) {
                    core.cancel_timer(key);
                }
            });
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline())
            .field("armed", &self.timer.is_some())
            .finish()
    }
}

/// Gives up exactly one loop iteration (asyncio's `await asyncio.sleep(0)`).
///
/// The task is put at the back of the ready queue; it resumes in the next
/// iteration, after the callbacks already scheduled.
///
/// # Cancel safety
///
/// Nothing to lose.
///
/// # Examples
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
///
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let l = log.clone();
/// tulipa::run(async move {
///     let l2 = l.clone();
///     let other = tulipa::spawn(async move { l2.borrow_mut().push("other") });
///     l.borrow_mut().push("before");
///     tulipa::yield_now().await;
///     l.borrow_mut().push("after");
///     other.await.unwrap();
/// })
/// .unwrap();
/// assert_eq!(*log.borrow(), ["before", "other", "after"]);
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future of [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
