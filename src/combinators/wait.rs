//! [`wait`]: wait for some or all of a set of tasks, without consuming them.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::wake_set::WakeSet;
use crate::group::GroupTask;
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

/// A task handle [`wait`] can watch without consuming it: a [`Task`] of
/// this loop or a [`GroupTask`] of any loop of a group. Sealed: no other
/// type implements it.
///
/// # Examples
///
/// ```
/// use tulipa::{ReturnWhen, Waitable};
///
/// fn watchable<H: Waitable>(_: &H) -> bool {
///     true
/// }
///
/// let done = tulipa::run(async {
///     let task = tulipa::spawn(async { 7 });
///     assert!(watchable(&task));
///     let (done, pending) = tulipa::wait([task], ReturnWhen::AllCompleted, None)
///         .await
///         .unwrap();
///     assert!(pending.is_empty());
///     done.into_iter().next().unwrap().await.unwrap()
/// })
/// .unwrap();
/// assert_eq!(done, 7);
/// ```
pub trait Waitable: sealed::Watch {}

mod sealed {
    use std::task::{Context, Poll};

    /// What `wait` asks of a handle.
    pub trait Watch {
        fn poll_done(&self, cx: &mut Context<'_>) -> Poll<()>;
        fn is_done(&self) -> bool;
        fn is_panicked(&self) -> bool;
        /// Drops the waker `poll_done` registered.
        fn unwatch(&self);
    }
}

impl<T> sealed::Watch for Task<T> {
    fn poll_done(&self, cx: &mut Context<'_>) -> Poll<()> {
        Task::poll_done(self, cx)
    }
    fn is_done(&self) -> bool {
        Task::is_done(self)
    }
    fn is_panicked(&self) -> bool {
        Task::is_panicked(self)
    }
    fn unwatch(&self) {
        Task::unwatch(self)
    }
}

impl<T> Waitable for Task<T> {}

impl<T> sealed::Watch for GroupTask<T> {
    fn poll_done(&self, cx: &mut Context<'_>) -> Poll<()> {
        GroupTask::poll_done(self, cx)
    }
    fn is_done(&self) -> bool {
        GroupTask::is_done(self)
    }
    fn is_panicked(&self) -> bool {
        GroupTask::is_panicked(self)
    }
    fn unwatch(&self) {
        GroupTask::unwatch(self)
    }
}

impl<T> Waitable for GroupTask<T> {}

/// Waits until `tasks` satisfy `return_when` or `timeout` passes, and hands
/// the tasks back split into `(done, pending)` (asyncio's `asyncio.wait`).
///
/// The tasks are not consumed: the done ones give their outputs when
/// awaited (at once), and the pending ones can be waited on again. Both
/// lists keep the input order. `done` holds every task that is done when
/// `wait` returns, including ones that finished in the same iteration as
/// the one that released it. A timeout cancels nothing; it only returns
/// early. The same task cannot appear twice: `Task` handles are not
/// `Clone`. The handles may be [`Task`]s of this loop or [`GroupTask`]s
/// of any loop of a group (see [`Waitable`]), one kind per call.
///
/// Scheduling order is asyncio's: `wait` returns two loop iterations after
/// the task that satisfied it finished (asyncio's done callback and then
/// its waiter future each take a `call_soon`), and two iterations after
/// the first poll if `return_when` is already satisfied then. A timeout
/// returns in the iteration its timer fires.
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
pub fn wait<I, H>(tasks: I, return_when: ReturnWhen, timeout: Option<Duration>) -> Wait<H>
where
    I: IntoIterator<Item = H>,
    H: Waitable,
{
    let tasks: Vec<H> = tasks.into_iter().collect();
    Wait {
        wake: WakeSet::new(tasks.len()),
        seen: Seen::new(tasks.len()),
        tasks,
        ndone: 0,
        panicked: false,
        return_when,
        timeout,
        timer: None,
        hops: None,
        polled: false,
    }
}

/// The future of [`wait`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Wait<H> {
    tasks: Vec<H>,
    /// Tasks already seen done.
    seen: Seen,
    ndone: usize,
    panicked: bool,
    return_when: ReturnWhen,
    timeout: Option<Duration>,
    /// Armed at the first poll that has to wait.
    timer: Option<Sleep>,
    /// Once satisfied: loop iterations left before returning (see `poll`).
    hops: Option<u8>,
    /// Whether `poll` has run before.
    polled: bool,
    wake: WakeSet,
}

/// The output of [`wait`]: the done tasks and the pending ones.
pub type WaitOutput<H> = Result<(Vec<H>, Vec<H>), WaitError>;

impl<H: Waitable> Wait<H> {
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
            if seen.get(i) {
                return false;
            }
            if tasks[i].poll_done(cx).is_pending() {
                return true;
            }
            seen.set(i);
            *ndone += 1;
            *panicked |= tasks[i].is_panicked();
            false
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

    /// Spends one of the remaining loop iterations before returning.
    fn hop(&mut self, hops: u8, cx: &mut Context<'_>) -> Poll<WaitOutput<H>> {
        if hops == 0 {
            self.hops = None;
            return Poll::Ready(Ok(self.split()));
        }
        self.hops = Some(hops - 1);
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn split(&mut self) -> (Vec<H>, Vec<H>) {
        self.timer = None;
        let (done, pending) = split_done(std::mem::take(&mut self.tasks));
        // asyncio's `_wait` removes its done callback from every task in
        // its `finally`: a pending task given back no longer wakes this
        // waiter when it ends.
        for task in &pending {
            task.unwatch();
        }
        (done, pending)
    }
}

/// Splits `tasks` into `(done, pending)`, each in input order. Up to 64
/// tasks, `done` keeps the input's buffer and only `pending` is allocated
/// (nothing is when one side is empty); beyond that, both are.
///
/// Each task's `is_done` is read exactly once: a [`GroupTask`] may finish
/// on another thread meanwhile, and the split must agree with itself.
fn split_done<H: Waitable>(mut tasks: Vec<H>) -> (Vec<H>, Vec<H>) {
    if tasks.len() > 64 {
        return tasks.into_iter().partition(|t| t.is_done());
    }
    let done_bits = tasks
        .iter()
        .enumerate()
        .fold(0u64, |bits, (i, t)| bits | u64::from(t.is_done()) << i);
    let ndone = done_bits.count_ones() as usize;
    if ndone == 0 {
        return (Vec::new(), tasks);
    }
    // A stable in-place partition: each done task rotates down past the
    // pending ones before it, which keep their order.
    let mut front = 0;
    for i in 0..tasks.len() {
        if done_bits & 1 << i != 0 {
            tasks[front..=i].rotate_right(1);
            front += 1;
        }
    }
    let pending = tasks.split_off(ndone);
    (tasks, pending)
}

/// Which tasks `wait` has counted as done: a bit each, the first 64 inline
/// (no allocation for the common, small waits).
struct Seen {
    first: u64,
    rest: Vec<u64>,
}

impl Seen {
    fn new(len: usize) -> Seen {
        Seen {
            first: 0,
            rest: vec![0; len.saturating_sub(1) / 64],
        }
    }

    fn get(&self, i: usize) -> bool {
        let word = if i < 64 {
            self.first
        } else {
            self.rest[i / 64 - 1]
        };
        word & 1 << (i % 64) != 0
    }

    fn set(&mut self, i: usize) {
        let word = if i < 64 {
            &mut self.first
        } else {
            &mut self.rest[i / 64 - 1]
        };
        *word |= 1 << (i % 64);
    }
}

impl<H> Unpin for Wait<H> {}

impl<H: Waitable> Future for Wait<H> {
    type Output = WaitOutput<H>;

    /// # Panics
    ///
    /// If polled again after it returned `Ready`.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.tasks.is_empty() {
            assert!(!self.polled, "tulipa::Wait polled after completion");
            return Poll::Ready(Err(WaitError::Empty));
        }
        if let Some(hops) = self.hops {
            return self.hop(hops, cx);
        }
        let first_poll = !std::mem::replace(&mut self.polled, true);
        self.poll_tasks(cx);
        if self.satisfied() {
            // asyncio resumes the waiter through two `call_soon` hops: a
            // finished task's done callback (`_on_completion`) runs one
            // iteration after it finished and sets the waiter future, whose
            // own callback wakes the waiting task one iteration later. Our
            // poll here is the first hop (we were woken by the finished
            // task); tasks already done at the first poll still owe both.
            // The split is taken when we return, so a task finishing in
            // between is in `done`, as asyncio's `f.done()` scan finds it.
            return self.hop(if first_poll { 2 } else { 1 }, cx);
        }
        if self.timed_out(cx) {
            return Poll::Ready(Ok(self.split()));
        }
        Poll::Pending
    }
}

impl<H> fmt::Debug for Wait<H> {
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
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::{ReturnWhen, Task};
    ///
    /// let err = tulipa::run(async {
    ///     let none: Vec<Task<()>> = Vec::new();
    ///     tulipa::wait(none, ReturnWhen::AllCompleted, None).await.unwrap_err()
    /// });
    /// assert!(err.unwrap().is_empty());
    /// ```
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
