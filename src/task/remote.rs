//! [`RemoteTask`]: the handle of a task spawned from another thread.

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{PanicError, TaskError};
use crate::oneshot;

/// A task spawned from another thread with
/// [`LoopHandle::spawn_threadsafe`](crate::LoopHandle::spawn_threadsafe).
///
/// It is `Send`: await it on any executor, or block a plain thread on it with
/// [`wait`](RemoteTask::wait). Dropping it detaches the task. If the loop
/// closes before the task finishes, the result is [`TaskError::Cancelled`].
///
/// # Examples
///
/// ```
/// let lp = tulipa::EventLoop::new().unwrap();
/// let remote = lp.handle().spawn_threadsafe(async { 6 * 7 }).unwrap();
/// assert!(!remote.is_done());
/// assert_eq!(lp.run_until_complete(remote).unwrap().unwrap(), 42);
/// ```
#[must_use = "dropping a RemoteTask detaches the task"]
pub struct RemoteTask<T> {
    rx: oneshot::Receiver<Result<T, TaskError>>,
}

impl<T> RemoteTask<T> {
    /// Blocks the calling thread until the task finishes.
    ///
    /// Never call this on the loop's own thread: the loop could not run.
    pub fn wait(self) -> Result<T, TaskError> {
        self.rx
            .recv_blocking(None)
            .unwrap_or(Err(TaskError::Cancelled))
    }

    /// Like [`wait`](RemoteTask::wait) for at most `timeout`; gives the handle
    /// back if the task is still running.
    ///
    /// # Errors
    ///
    /// `Err(self)` if `timeout` passed first.
    pub fn wait_timeout(self, timeout: Duration) -> Result<Result<T, TaskError>, RemoteTask<T>> {
        match self.rx.recv_blocking(Some(timeout)) {
            Ok(output) => Ok(output),
            Err(oneshot::RecvError::Closed) => Ok(Err(TaskError::Cancelled)),
            Err(oneshot::RecvError::Timeout) => Err(self),
        }
    }

    /// Whether the task has finished.
    pub fn is_done(&self) -> bool {
        self.rx.is_ready()
    }
}

impl<T> Future for RemoteTask<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.rx
            .poll_recv(cx)
            .map(|output| output.unwrap_or(Err(TaskError::Cancelled)))
    }
}

impl<T> fmt::Debug for RemoteTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteTask")
            .field("done", &self.is_done())
            .finish()
    }
}

/// The future a threadsafe spawn runs, and the handle to give back: the
/// user's future, whose output (or panic) is sent to the [`RemoteTask`].
/// The task itself outputs nothing, so no second task forwards the result;
/// if it is cancelled, the sender is dropped unsent and the handle reads
/// `Cancelled`.
pub(crate) fn forward<F>(future: F) -> (impl Future<Output = ()> + Send, RemoteTask<F::Output>)
where
    F: Future + Send,
    F::Output: Send,
{
    let (tx, rx) = oneshot::channel();
    let run = async move {
        let mut future = std::pin::pin!(future);
        let output = std::future::poll_fn(|cx| {
            match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
                Ok(Poll::Pending) => Poll::Pending,
                Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
                Err(payload) => Poll::Ready(Err(TaskError::Panicked(PanicError::new(payload)))),
            }
        })
        .await;
        tx.send(output);
    };
    (run, RemoteTask { rx })
}
