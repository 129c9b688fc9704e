//! Tasks: futures driven by the loop, with handles to await, cancel and
//! inspect them (asyncio's `Task`).

mod cell;
mod slab;
mod waker;

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

pub(crate) use cell::panic_message;
pub(crate) use slab::{TaskKey, TaskSlab};
pub(crate) use waker::TaskWake;

use self::cell::{Header, Joinable, TaskCell};
use crate::oneshot;
use crate::runtime::context;
use crate::runtime::core::{Core, Ready};

/// A handle to a spawned task (asyncio's `Task`).
///
/// Awaiting it gives the task's output, or [`TaskError::Cancelled`] if it was
/// cancelled, or [`TaskError::Panicked`] if it panicked. Dropping the handle
/// detaches the task: it keeps running to the end (fire and forget), and a
/// panic in it is then reported to the loop's exception handler.
///
/// A `Task` lives on its loop's thread:
///
/// ```compile_fail
/// fn must_be_send<T: Send>(_: T) {}
/// let lp = tulipa::EventLoop::new().unwrap();
/// must_be_send(lp.spawn(async {}));
/// ```
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// tulipa::run(async {
///     let slow = tulipa::spawn(tulipa::sleep(Duration::from_secs(60)));
///     assert!(slow.cancel());
///     assert!(slow.await.unwrap_err().is_cancelled());
/// })
/// .unwrap();
/// ```
#[must_use = "dropping a Task detaches it; `drop(task)` says that is meant"]
pub struct Task<T> {
    inner: Rc<dyn Joinable<T>>,
}

impl<T> Task<T> {
    /// Asks for the task to be cancelled (asyncio's `Task.cancel`).
    ///
    /// The task's future is dropped at its next turn on the loop, without
    /// being polled again; awaiting the task then gives
    /// [`TaskError::Cancelled`]. A task that never started never runs.
    /// Returns `false` if the task had already finished.
    pub fn cancel(&self) -> bool {
        self.inner.request_cancel()
    }

    /// Whether the task has finished (with an output, a panic or a cancel).
    pub fn is_done(&self) -> bool {
        self.inner.is_done()
    }

    /// Whether the task finished by being cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }

    /// Schedules `callback` to run on the loop once the task is done, with
    /// `call_soon` (immediately scheduled if it is done already).
    pub fn add_done_callback<F: FnOnce() + 'static>(&self, callback: F) {
        self.inner.add_done_callback(Box::new(callback));
    }

    /// The task's id, unique within its loop.
    pub fn id(&self) -> TaskId {
        self.inner.header().id
    }

    /// The name given with [`spawn_named`], if any.
    pub fn name(&self) -> Option<&str> {
        self.inner.header().name.as_deref()
    }

    /// Id, name and spawn location.
    pub fn info(&self) -> TaskInfo {
        self.inner.header().info()
    }

    /// Registers `cx`'s waker for the task's end without taking its output
    /// (what `wait` needs to watch a task it hands back).
    pub(crate) fn poll_done(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.inner.poll_done(cx)
    }

    /// Whether the task ended by panicking (`wait`'s `FirstException`).
    pub(crate) fn is_panicked(&self) -> bool {
        self.inner.is_panicked()
    }
}

impl<T: 'static> Task<T> {
    /// A type-erased way to cancel the task later that does not keep it
    /// alive (a `TaskGroup` cancels its children with it).
    pub(crate) fn canceller(&self) -> Canceller {
        let inner = Rc::downgrade(&self.inner);
        Canceller(Box::new(move || {
            inner.upgrade().is_some_and(|task| task.request_cancel())
        }))
    }
}

/// See [`Task::canceller`].
pub(crate) struct Canceller(Box<dyn Fn() -> bool>);

impl Canceller {
    /// Requests the cancel; `false` if the task is done or gone.
    pub(crate) fn cancel(&self) -> bool {
        (self.0)()
    }
}

impl<T> Task<T> {
    /// Wraps the handle so that dropping it cancels the task instead of
    /// detaching it: asyncio's behaviour when a gather, `wait_for` or
    /// `as_completed` holding the task is cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
    /// lp.run_until_complete(async {
    ///     let slow = tulipa::spawn(tulipa::sleep(Duration::from_secs(60)));
    ///     let probe = slow.info().id;
    ///     let gathered = tulipa::gather([slow.cancel_on_drop()]);
    ///     let timed_out = tulipa::wait_for(gathered, Duration::from_secs(1)).await;
    ///     assert!(timed_out.is_err());
    ///     tulipa::yield_now().await;
    ///     // The gather was dropped on timeout, and the task with it.
    ///     assert!(tulipa::all_tasks().iter().all(|t| t.id != probe));
    /// })
    /// .unwrap();
    /// ```
    pub fn cancel_on_drop(self) -> CancelOnDrop<T> {
        CancelOnDrop { task: Some(self) }
    }
}

/// A [`Task`] that is cancelled when this handle is dropped before the task
/// finished; see [`Task::cancel_on_drop`]. Awaiting it gives the task's output.
#[must_use = "dropping it cancels the task"]
#[derive(Debug)]
pub struct CancelOnDrop<T> {
    /// `None` only after `into_inner`.
    task: Option<Task<T>>,
}

impl<T> CancelOnDrop<T> {
    /// The task inside, back as a plain handle (dropping that detaches).
    pub fn into_inner(mut self) -> Task<T> {
        self.task.take().expect("present until into_inner")
    }
}

impl<T> Future for CancelOnDrop<T> {
    type Output = Result<T, TaskError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let task = self.task.as_mut().expect("present until into_inner");
        Pin::new(task).poll(cx)
    }
}

impl<T> Drop for CancelOnDrop<T> {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.cancel();
        }
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T, TaskError>;

    /// # Panics
    ///
    /// If polled again after it returned `Ready`.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.poll_join(cx)
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.inner.detach();
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("done", &self.is_done())
            .finish()
    }
}

/// Spawns `future` as a task on the running loop (asyncio's `create_task`).
///
/// The task first runs in the loop's next iteration. The future may be
/// `!Send`; it is polled only on this thread.
///
/// # Panics
///
/// If no tulipa loop is running on this thread; use
/// [`EventLoop::spawn`](crate::EventLoop::spawn) to spawn on a loop that is
/// not running yet.
///
/// # Examples
///
/// ```
/// let out = tulipa::run(async {
///     let a = tulipa::spawn(async { 1 });
///     let b = tulipa::spawn(async { 2 });
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(out.unwrap(), 3);
/// ```
#[doc(alias = "create_task")]
#[track_caller]
pub fn spawn<F>(future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let core = context::expect_current("tulipa::spawn");
    spawn_on(&core, future, None, Location::caller())
}

/// Like [`spawn`], with a name that shows up in [`TaskInfo`], [`current_task`]
/// and reports.
///
/// # Panics
///
/// If no tulipa loop is running on this thread.
#[track_caller]
pub fn spawn_named<F>(name: impl Into<String>, future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let core = context::expect_current("tulipa::spawn_named");
    spawn_on(&core, future, Some(name.into()), Location::caller())
}

pub(crate) fn spawn_on<F>(
    core: &Core,
    future: F,
    name: Option<String>,
    location: &'static Location<'static>,
) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let key = core.tasks.borrow_mut().vacant_key();
    let id = TaskId(core.next_task_id.get());
    core.next_task_id.set(id.0 + 1);
    let header = Header {
        id,
        key,
        name: name.map(String::into_boxed_str),
        location,
        waker: Waker::from(Arc::new(TaskWake::new(key, core))),
        scheduled: std::cell::Cell::new(true),
        cancel_requested: std::cell::Cell::new(false),
    };
    let cell = Rc::new(TaskCell::new(header, future));
    if core.closed.get() {
        // A closed loop never runs again: the task is cancelled on the spot.
        cell::RawTask::drop_future(&*cell, core);
        return Task { inner: cell };
    }
    core.tasks.borrow_mut().insert(key, cell.clone());
    core.push_ready(Ready::Task(key));
    Task { inner: cell }
}

/// The task being polled right now, if this code runs inside one (asyncio's
/// `current_task`). `None` in callbacks and in the future given to
/// `run_until_complete`.
pub fn current_task() -> Option<TaskInfo> {
    context::with_current(|core| {
        let core = core?;
        let key = core.current_task.get()?;
        let tasks = core.tasks.borrow();
        tasks.get(key).map(|t| t.header().info())
    })
}

/// Every task alive on the running loop (asyncio's `all_tasks`); empty if no
/// loop is running.
pub fn all_tasks() -> Vec<TaskInfo> {
    context::with_current(|core| core.map(|c| c.tasks.borrow().infos()).unwrap_or_default())
}

/// A task's id, unique among the tasks of one loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(u64);

impl TaskId {
    /// The number behind the id (ids start at 1 and increase).
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// What introspection tells about a task: its id, name and where it was spawned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInfo {
    /// The task's id.
    pub id: TaskId,
    /// The name given at spawn time, if any.
    pub name: Option<String>,
    /// The source location of the `spawn` call.
    pub location: &'static Location<'static>,
}

impl fmt::Display for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.id)?;
        if let Some(name) = &self.name {
            write!(f, " '{name}'")?;
        }
        write!(f, " spawned at {}", self.location)
    }
}

/// How a task ended without an output.
#[derive(Debug)]
pub enum TaskError {
    /// The task was cancelled before it finished (asyncio's `CancelledError`).
    Cancelled,
    /// The task's future panicked; the panic was caught and the loop went on.
    Panicked(PanicError),
}

impl TaskError {
    /// Whether the task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskError::Cancelled)
    }

    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked(_))
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Cancelled => f.write_str("task was cancelled"),
            TaskError::Panicked(p) => write!(f, "task panicked: {}", p.message()),
        }
    }
}

impl std::error::Error for TaskError {}

/// A caught panic: its message, and the payload for `resume_unwind`.
pub struct PanicError {
    message: String,
    payload: Box<dyn Any + Send>,
}

impl PanicError {
    pub(crate) fn new(payload: Box<dyn Any + Send>) -> PanicError {
        PanicError {
            message: panic_message(&*payload),
            payload,
        }
    }

    /// The panic message, if the payload was a string.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The original payload, e.g. for `std::panic::resume_unwind`.
    pub fn into_panic(self) -> Box<dyn Any + Send> {
        self.payload
    }
}

impl fmt::Debug for PanicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PanicError")
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

/// A task spawned from another thread with
/// [`LoopHandle::spawn_threadsafe`](crate::LoopHandle::spawn_threadsafe).
///
/// It is `Send`: await it on any executor, or block a plain thread on it with
/// [`wait`](RemoteTask::wait). Dropping it detaches the task. If the loop
/// closes before the task finishes, the result is [`TaskError::Cancelled`].
#[must_use = "dropping a RemoteTask detaches the task"]
pub struct RemoteTask<T> {
    rx: oneshot::Receiver<Result<T, TaskError>>,
}

impl<T> RemoteTask<T> {
    pub(crate) fn new(rx: oneshot::Receiver<Result<T, TaskError>>) -> RemoteTask<T> {
        RemoteTask { rx }
    }

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
