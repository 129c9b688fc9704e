//! [`wait`]: wait for some or all of a set of tasks, without consuming them.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::wake_set::WakeSet;
use crate::task::Task;
use crate::time::{sleep, Sleep};

/// When [`wait`] returns (asyncio's `FIRST_COMPLETED`, `FIRST_EXCEPTION`,
/// `ALL_COMPLETED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReturnWhen {
    /// As soon as any task is done.
    #[doc(alias = "FIRST_COMPLETED")]
    FirstCompleted,
    /// As soon as any task panics, or when all are done. A cancelled task
    /// does not count (as in asyncio). A task returning `Err` finished
    /// normally as far as `wait` can see: only panics are exceptions here.
    #[doc(alias = "FIRST_EXCEPTION")]
    FirstException,
    /// When every task is done.
    #[doc(alias = "ALL_COMPLETED")]
    AllCompleted,
}

/// Waits until `tasks` satisfy `return_when` or `timeout` passes, and hands
/// the tasks back split into `(done, pending)` (asyncio's `asyncio.wait`).
///
/// The tasks are not consumed: the done ones give their outputs when
/// awaited (at once), and the pending ones can be waited on again. Both
/// lists keep the input order. `done` holds every task that is done when
/// `wait` returns, including ones that finished in the same iteration as
/// the one that released it. A timeout cancels nothing; it only returns
/// early. If `return_when` is already satisfied at the first poll, `wait`
/// returns without yielding. The same task cannot appear twice: `Task`
/// handles are not `Clone`.
///
/// Without a timeout `wait` needs only a `Waker`; with one it needs a
/// running tulipa loop.
///
/// # Errors
///
/// [`WaitError::Empty`] if `tasks` is empty (asyncio raises `ValueError`).
///
/// # Panics
///
/// Polling it with a `timeout` outside a running tulipa loop.
///
/// # Cancel safety
///
/// Dropping the future drops the task handles it holds, which detaches the
/// tasks: they keep running, as the tasks of a cancelled `asyncio.wait` do.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulipa::ReturnWhen;
///
/// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
/// lp.run(async {
///     let tasks: Vec<_> = [3u64, 1, 2]
///         .into_iter()
///         .map(|s| tulipa::spawn(async move {
///             tulipa::sleep(Duration::from_secs(s)).await;
///             s
///         }))
///         .collect();
///     let (done, pending) = tulipa::wait(tasks, ReturnWhen::FirstCompleted, None).await.unwrap();
///     assert_eq!((done.len(), pending.len()), (1, 2));
///     assert_eq!(done.into_iter().next().unwrap().await.unwrap(), 1);
///
///     // The rest, with a time limit that cancels nothing.
///     let (done, pending) =
///         tulipa::wait(pending, ReturnWhen::AllCompleted, Some(Duration::from_millis(1500)))
///             .await
///             .unwrap();
///     assert_eq!((done.len(), pending.len()), (1, 1));
///     assert!(!pending[0].is_done());
/// })
/// .unwrap();
/// ```
#[doc(alias = "asyncio.wait")]
pub fn wait<I, T>(tasks: I, return_when: ReturnWhen, timeout: Option<Duration>) -> Wait<T>
where
    I: IntoIterator<Item = Task<T>>,
{
    let tasks: Vec<Task<T>> = tasks.into_iter().collect();
    Wait {
        wake: WakeSet::new(tasks.len()),
        seen: vec![false; tasks.len()],
        tasks,
        ndone: 0,
        panicked: false,
        return_when,
        timeout,
        timer: None,
    }
}

/// The future of [`wait`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Wait<T> {
    tasks: Vec<Task<T>>,
    /// Tasks already seen done.
    seen: Vec<bool>,
    ndone: usize,
    panicked: bool,
    return_when: ReturnWhen,
    timeout: Option<Duration>,
    /// Armed at the first poll that has to wait.
    timer: Option<Sleep>,
    wake: WakeSet,
}

/// The output of [`wait`]: the done tasks and the pending ones.
pub type WaitOutput<T> = Result<(Vec<Task<T>>, Vec<Task<T>>), WaitError>;

impl<T> Wait<T> {
    fn satisfied(&self) -> bool {
        match self.return_when {
            ReturnWhen::FirstCompleted => self.ndone > 0,
            ReturnWhen::FirstException => self.panicked || self.ndone == self.tasks.len(),
            ReturnWhen::AllCompleted => self.ndone == self.tasks.len(),
        }
    }

    fn poll_tasks(&mut self, cx: &mut Context<'_>) {
        let Wait {
            tasks,
            seen,
            ndone,
            panicked,
            wake,
            ..
        } = self;
        wake.poll_woken(cx, |i, cx| {
            if !seen[i] && tasks[i].poll_done(cx).is_ready() {
                seen[i] = true;
                *ndone += 1;
                *panicked |= tasks[i].is_panicked();
            }
            !seen[i]
        });
    }

    /// Whether the time limit has passed (arming the timer on first use).
    fn timed_out(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(timeout) = self.timeout else {
            return false;
        };
        let timer = self.timer.get_or_insert_with(|| sleep(timeout));
        Pin::new(timer).poll(cx).is_ready()
    }

    fn split(&mut self) -> (Vec<Task<T>>, Vec<Task<T>>) {
        self.timer = None;
        std::mem::take(&mut self.tasks)
            .into_iter()
            .partition(|t| t.is_done())
    }
}

impl<T> Unpin for Wait<T> {}

impl<T> Future for Wait<T> {
    type Output = WaitOutput<T>;

    /// # Panics
    ///
    /// If polled again after it returned `Ready`.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.tasks.is_empty() {
            assert!(self.seen.is_empty(), "tulipa::Wait polled after completion");
            return Poll::Ready(Err(WaitError::Empty));
        }
        self.poll_tasks(cx);
        if self.satisfied() || self.timed_out(cx) {
            return Poll::Ready(Ok(self.split()));
        }
        Poll::Pending
    }
}

impl<T> fmt::Debug for Wait<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("tasks", &self.tasks.len())
            .field("done", &self.ndone)
            .field("return_when", &self.return_when)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why [`wait`] could not wait.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitError {
    /// No task was given (asyncio: `ValueError('Set of Tasks/Futures is empty.')`).
    Empty,
}

impl WaitError {
    /// Whether no task was given.
    pub fn is_empty(&self) -> bool {
        matches!(self, WaitError::Empty)
    }
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitError::Empty => f.write_str("no tasks to wait for"),
        }
    }
}

impl std::error::Error for WaitError {}
