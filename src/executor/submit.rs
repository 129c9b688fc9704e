//! [`Submit`]: queuing a job without blocking the thread while a bounded
//! queue is full.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::job::ExecFuture;
use super::shared::Shared;
use super::SubmitError;

/// The future of [`ThreadPoolExecutor::submit_async`](super::ThreadPoolExecutor::submit_async):
/// resolves to the job's [`ExecFuture`] once the job is queued.
#[must_use = "futures do nothing unless awaited; dropping it drops the closure unqueued"]
pub struct Submit<F> {
    pool: Arc<Shared>,
    f: Option<F>,
    /// Our place among the pool's waiting submitters, once we have one.
    waiter: Option<u64>,
}

impl<F> Submit<F> {
    pub(crate) fn new(pool: Arc<Shared>, f: F) -> Submit<F> {
        Submit {
            pool,
            f: Some(f),
            waiter: None,
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
        let f = this.f.take().expect("Submit polled after it completed");
        match this.pool.submit_or_wait(&mut this.waiter, cx.waker(), f) {
            Err(SubmitError::Full(f)) => {
                this.f = Some(f);
                Poll::Pending
            }
            done => Poll::Ready(done),
        }
    }
}

impl<F> Drop for Submit<F> {
    fn drop(&mut self) {
        if let Some(id) = self.waiter {
            self.pool.forget_waiter(id);
        }
    }
}

impl<F> fmt::Debug for Submit<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Submit")
            .field("queued", &self.f.is_none())
            .field("waiting", &self.waiter.is_some())
            .finish()
    }
}
