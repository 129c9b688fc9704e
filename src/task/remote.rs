//! [`LoopHandle::spawn_threadsafe`] and its [`RemoteTask`], the handle of
//! a task spawned from another thread: the user's future wrapped so that
//! its output (or panic) goes to a one-value slot that the handle reads.
//! The loop's side, posting the wrapped future and making its task, is
//! [`Remote::post_spawn`](crate::runtime::remote::Remote::post_spawn).

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::{PanicError, TaskError};
use crate::loom_shim::{block_on, block_until};
use crate::oneshot::{self, Taken};
use crate::{LoopClosed, LoopHandle};

impl LoopHandle {
    /// Spawns a `Send` future on the loop from any thread
    /// (asyncio's `run_coroutine_threadsafe`).
    ///
    /// The returned [`RemoteTask`] can be awaited on any executor or waited on
    /// from a plain thread with [`RemoteTask::wait`]. The future is posted
    /// to the loop, which starts the task when it drains its inbox, in the
    /// order of this thread's other posts; its output reaches the handle
    /// through a one-value slot, with no second task forwarding it.
    ///
    /// # Errors
    ///
    /// [`LoopClosed`] if the loop has been closed; the future is dropped
    /// here, unrun.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let handle = lp.handle();
    /// let remote = std::thread::spawn(move || handle.spawn_threadsafe(async { 6 * 7 }).unwrap())
    ///     .join()
    ///     .unwrap();
    /// assert_eq!(lp.run_until_complete(remote).unwrap().unwrap(), 42);
    /// ```
    #[track_caller]
    pub fn spawn_threadsafe<F>(&self, future: F) -> Result<RemoteTask<F::Output>, LoopClosed>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.remote
            .post_spawn(forward(future, tx), Location::caller())?;
        Ok(RemoteTask { rx })
    }
}

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

/// The task's outcome from what its slot held: no value means the task was
/// dropped unfinished (cancelled, or its loop closed).
fn outcome<T>(taken: Taken<Result<T, TaskError>>) -> Result<T, TaskError> {
    match taken {
        Taken::Value(output) => output,
        Taken::Closed | Taken::Gone => Err(TaskError::Cancelled),
    }
}

impl<T> RemoteTask<T> {
    /// Blocks the calling thread until the task finishes and returns its
    /// outcome.
    ///
    /// Never call this on the loop's own thread: the loop could not run.
    ///
    /// # Errors
    ///
    /// [`TaskError::Panicked`] if the task panicked, [`TaskError::Cancelled`]
    /// if it was cancelled or its loop closed before it finished.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let handle = lp.handle();
    /// let remote = handle.spawn_threadsafe(async { "from the loop" }).unwrap();
    /// let waiter = std::thread::spawn(move || remote.wait());
    /// handle.call_soon_threadsafe({
    ///     let handle = handle.clone();
    ///     move || handle.stop().unwrap()
    /// }).unwrap();
    /// lp.run_forever().unwrap();
    /// assert_eq!(waiter.join().unwrap().unwrap(), "from the loop");
    /// ```
    pub fn wait(self) -> Result<T, TaskError> {
        outcome(block_on(|waker| {
            self.rx.poll_take(&mut Context::from_waker(waker))
        }))
    }

    /// Like [`wait`](RemoteTask::wait) for at most `timeout`; gives the handle
    /// back if the task is still running. Any `timeout` is valid; one too
    /// large for the clock waits without limit.
    ///
    /// # Errors
    ///
    /// `Err(self)` if `timeout` passed first (the task goes on);
    /// `Ok(Err(_))` as for [`wait`](RemoteTask::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let remote = lp.handle().spawn_threadsafe(async { 6 * 7 }).unwrap();
    /// // The loop has not run yet: the task cannot have finished.
    /// let remote = remote.wait_timeout(Duration::from_millis(1)).unwrap_err();
    /// lp.run_until_complete(tulipa::yield_now()).unwrap();
    /// assert_eq!(remote.wait_timeout(Duration::MAX).unwrap().unwrap(), 42);
    /// ```
    pub fn wait_timeout(self, timeout: Duration) -> Result<Result<T, TaskError>, RemoteTask<T>> {
        let step = |waker: &std::task::Waker| self.rx.poll_take(&mut Context::from_waker(waker));
        let taken = match Instant::now().checked_add(timeout) {
            Some(deadline) => block_until(deadline, step),
            None => Some(block_on(step)),
        };
        match taken {
            Some(taken) => Ok(outcome(taken)),
            None => Err(self),
        }
    }

    /// Whether the task has finished (or was dropped unfinished).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let remote = lp.handle().spawn_threadsafe(async {}).unwrap();
    /// assert!(!remote.is_done()); // the loop has not run it yet
    /// lp.run_until_complete(tulipa::yield_now()).unwrap();
    /// assert!(remote.is_done());
    /// ```
    pub fn is_done(&self) -> bool {
        self.rx.is_ready()
    }
}

impl<T> Future for RemoteTask<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.rx.poll_take(cx).map(outcome)
    }
}

impl<T> fmt::Debug for RemoteTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteTask")
            .field("done", &self.is_done())
            .finish()
    }
}

/// The future a threadsafe spawn runs: the user's future, whose output (or
/// panic) is sent to the [`RemoteTask`]. The task itself outputs nothing,
/// so no second task forwards the result; if it is cancelled (or its loop
/// closes first), the sender is dropped unsent and the handle reads
/// `Cancelled`.
async fn forward<F>(future: F, tx: oneshot::Sender<Result<F::Output, TaskError>>)
where
    F: Future + Send,
    F::Output: Send,
{
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
}
