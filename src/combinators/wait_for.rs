//! [`wait_for`]: await a future with a time limit.

use std::future::{poll_fn, Future, IntoFuture};
use std::pin::{pin, Pin};
use std::task::Poll;
use std::time::{Duration, Instant};

use super::timeout::{Expiry, TimeoutError};
use super::unwind::{cancel_inner, Unwinding};
use crate::time::{deadline_after, now};

/// Awaits `future` for at most `timeout` of loop time (asyncio's
/// `asyncio.wait_for`).
///
/// The future runs inline in the awaiting task (as in Python 3.12+, no task
/// is spawned). It is polled first, before any timer exists: a future that
/// is ready at once costs no timer and no clock read. Otherwise a timer is
/// armed for `timeout` from that first poll (any `timeout` is valid;
/// `Duration::MAX` means no limit in practice). When the deadline is seen
/// while the future is pending, the future is dropped at the next loop
/// iteration without another poll, as asyncio cancels the task then. A zero
/// `timeout` polls the future once, and if it is pending, times out in the
/// next iteration, as asyncio's `wait_for(aw, 0)` does.
///
/// # Errors
///
/// [`TimeoutError`] if the deadline passed first. The future has then been
/// dropped (cancelled) before `wait_for` returns: whatever its `Drop` does
/// has happened. A [`Task`](crate::Task) it awaited (the future itself,
/// or tasks awaited inside it, such as the children of a `gather`) is
/// cancelled with it, and `wait_for` returns only once those tasks have
/// finished unwinding, as asyncio ≥ 3.7 does; [`shield`](crate::shield) a
/// task to keep it running.
///
/// # Panics
///
/// If the future is pending at its first poll and no tulipa loop is running.
///
/// # Cancel safety
///
/// Dropping the returned future drops `future` and cancels the timer.
/// Nothing is lost that `future` itself does not lose when dropped.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
/// lp.run(async {
///     let quick = tulipa::wait_for(async { 42 }, Duration::from_secs(1)).await;
///     assert_eq!(quick.unwrap(), 42);
///
///     let slow = tulipa::sleep(Duration::from_secs(3600));
///     let started = tulipa::now();
///     let err = tulipa::wait_for(slow, Duration::from_secs(2)).await.unwrap_err();
///     assert_eq!(err.to_string(), "timed out");
///     assert_eq!(tulipa::now() - started, Duration::from_secs(2));
/// })
/// .unwrap();
/// ```
#[doc(alias = "asyncio.wait_for")]
pub fn wait_for<F>(
    future: F,
    timeout: Duration,
) -> impl Future<Output = Result<F::Output, TimeoutError>>
where
    F: IntoFuture,
{
    let future = future.into_future();
    async move {
        let mut future = pin!(Some(future));
        let mut deadline: Option<Instant> = None;
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
                .expect("wait_for polled after completion");
            if expiry.expiring {
                // Gone before we report, with the tasks it awaited:
                // asyncio's "waits for the cancellation".
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
            match deadline {
                Some(at) => expiry.poll(at, now, cx),
                None => {
                    let start = now();
                    let at = deadline_after(start, timeout);
                    deadline = Some(at);
                    expiry.poll(at, || start, cx);
                }
            }
            Poll::Pending
        })
        .await
    }
}
