//! [`shield`]: await a task without letting the awaiter's cancellation
//! reach it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::task::{Task, TaskError, TaskId};

/// Awaits `task` so that cancelling (dropping) the awaiter does not cancel
/// the task (asyncio's `asyncio.shield`).
///
/// In asyncio, a task awaiting another task passes its own cancellation on
/// to it, and so does tulipa: an awaited [`Task`] handle dropped before its
/// task finished cancels the task. `shield` stops that: dropping a
/// [`Shield`], awaited or not, detaches the task, which runs on to its end.
/// A `Shield` has no `cancel` either, so code that receives one (or a time
/// limit such as [`wait_for`](crate::wait_for) around it) cannot stop the
/// work. To shield a plain future, spawn it first:
/// `shield(tulipa::spawn(fut))`.
///
/// Awaiting the shield gives the task's output, and a task cancelled by
/// someone else gives [`TaskError::Cancelled`] here too (asyncio's
/// `test_shield_cancel_inner`).
///
/// # Cancel safety
///
/// Dropping the shield detaches the task, which runs on to its end.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
/// lp.run(async {
///     let save = tulipa::spawn(async {
///         tulipa::sleep(Duration::from_secs(5)).await;
///         "saved"
///     });
///     let id = save.id();
///     let shielded = tulipa::shield(save);
///     // The caller gives up after 1 s; the save goes on.
///     assert!(tulipa::wait_for(shielded, Duration::from_secs(1)).await.is_err());
///     assert!(tulipa::all_tasks().iter().any(|t| t.id == id));
///     tulipa::sleep(Duration::from_secs(5)).await;
///     assert!(tulipa::all_tasks().is_empty());
/// })
/// .unwrap();
/// ```
#[doc(alias = "asyncio.shield")]
pub fn shield<T>(task: Task<T>) -> Shield<T> {
    Shield { task }
}

/// The future of [`shield`].
#[must_use = "futures do nothing unless you `.await` or poll them; dropping a Shield detaches the task"]
pub struct Shield<T> {
    task: Task<T>,
}

impl<T> Shield<T> {
    /// Whether the shielded task has finished.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// lp.run(async {
    ///     let shielded = tulipa::shield(tulipa::spawn(async { 3 }));
    ///     assert!(!shielded.is_done());
    ///     tulipa::yield_now().await;
    ///     assert!(shielded.is_done());
    ///     assert_eq!(shielded.await.unwrap(), 3);
    /// })
    /// .unwrap();
    /// ```
    pub fn is_done(&self) -> bool {
        self.task.is_done()
    }

    /// The shielded task's id.
    ///
    /// # Examples
    ///
    /// ```
    /// tulipa::run(async {
    ///     let task = tulipa::spawn(async {});
    ///     let id = task.id();
    ///     assert_eq!(tulipa::shield(task).id(), id);
    /// })
    /// .unwrap();
    /// ```
    pub fn id(&self) -> TaskId {
        self.task.id()
    }
}

impl<T> Future for Shield<T> {
    type Output = Result<T, TaskError>;

    /// # Panics
    ///
    /// If polled again after it returned `Ready`.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.task).poll(cx)
    }
}

impl<T> Drop for Shield<T> {
    fn drop(&mut self) {
        // Dropping the handle now detaches the task instead of cancelling it.
        self.task.unmark_polled();
    }
}

impl<T> fmt::Debug for Shield<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shield").field("task", &self.task).finish()
    }
}
