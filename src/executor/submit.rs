//! [`Submit`]: queuing a job without blocking the thread while a bounded
//! queue is full. It waits in the queue's line of submitters (`queue.rs`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::core::PoolCore;
use super::error::SubmitError;
use super::job::ExecFuture;
use super::queue::Slot;

/// The future of [`ThreadPoolExecutor::submit_async`](crate::ThreadPoolExecutor::submit_async):
/// resolves to the job's [`ExecFuture`] once the job is queued.
///
/// # Cancel safety
///
/// Dropping it before it completes drops the closure unqueued, and passes a
/// wake-up it may have received on to the next waiting submitter.
///
/// # Examples
///
/// ```
/// let pool = tulipa::ThreadPoolExecutor::builder().max_workers(1).max_queued(1).build();
/// let n = tulipa::run(async {
///     let submit: tulipa::executor::Submit<_> = pool.submit_async(|| 7);
///     submit.await.unwrap().await.unwrap()
/// });
/// assert_eq!(n.unwrap(), 7);
/// ```
#[must_use = "futures do nothing unless awaited; dropping it drops the closure unqueued"]
pub struct Submit<F> {
    core: Arc<PoolCore>,
    f: Option<F>,
    /// Our place in the line of waiting submitters, once we have one.
    slot: Slot,
}

impl<F> Submit<F> {
    pub(super) fn new(core: Arc<PoolCore>, f: F) -> Submit<F> {
        Submit {
            core,
            f: Some(f),
            slot: None,
        }
    }
}

// The closure is only ever moved, never pinned.
impl<F> Unpin for Submit<F> {}

impl<F, T> Future for Submit<F>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    type Output = Result<ExecFuture<T>, SubmitError<F>>;

    /// # Panics
    ///
    /// If polled again after it returned `Ready`.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.core
            .poll_submit(&mut this.slot, &mut this.f, cx.waker())
    }
}

impl<F> Drop for Submit<F> {
    fn drop(&mut self) {
        self.core.give_up(&mut self.slot);
    }
}

impl<F> fmt::Debug for Submit<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Submit")
            .field("queued", &self.f.is_none())
            .field("waiting", &self.slot.is_some())
            .finish()
    }
}
