//! Tasks: futures driven by the loop, with handles to await, cancel and
//! inspect them (asyncio's `Task`).

pub(crate) mod error;
pub(crate) mod id;
mod remote;
mod spawn;

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

pub(crate) use crate::panic::panic_message;
pub use crate::panic::PanicError;
pub use error::TaskError;
pub use id::{TaskId, TaskInfo};
pub use remote::RemoteTask;
pub(crate) use spawn::spawn_on;
pub use spawn::{spawn, spawn_eager, spawn_named};

use crate::runtime::context;
use crate::runtime::raw_task::{JoinRef, TaskRef};

/// A handle to a spawned task (asyncio's `Task`).
///
/// Awaiting it gives the task's output, or [`TaskError::Cancelled`] if it was
/// cancelled, or [`TaskError::Panicked`] if it panicked.
///
/// Dropping the handle follows asyncio, where a task awaiting another task
/// passes its own cancellation on to it:
///
/// - a handle that was **awaited** (polled at least once) and is dropped
///   before its task finished **cancels** the task: the awaiter gave up, as
///   when a `wait_for`, `timeout` or `gather` holding the task is dropped;
/// - a handle dropped **without ever being polled** detaches the task: it
///   keeps running to its end (fire and forget), and a panic in it is then
///   reported to the loop's exception handler.
///
/// [`shield`](crate::shield) keeps an awaited task running through its
/// awaiter's cancellation; [`cancel_on_drop`](Task::cancel_on_drop) cancels
/// on drop even a task that was never awaited.
///
/// A task is one heap allocation: its bookkeeping, then its future, whose
/// place holds the output once it is done.
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
#[must_use = "dropping a Task that was never awaited detaches it; `drop(task)` says that is meant"]
pub struct Task<T> {
    /// Not an `Option`: a handle is one pointer and so is `Option<Task<T>>`
    /// (what `gather` keeps per child, reusing the `Vec<Task>`'s buffer).
    join: JoinRef<T>,
}

// One pointer, with or without an `Option` around it.
#[cfg(not(loom))]
const _: () = assert!(
    std::mem::size_of::<Option<Task<u64>>>() == std::mem::size_of::<usize>()
        && std::mem::size_of::<Task<u64>>() == std::mem::size_of::<usize>()
);

impl<T> Task<T> {
    pub(crate) fn from_join(join: JoinRef<T>) -> Task<T> {
        Task { join }
    }

    fn join(&self) -> &JoinRef<T> {
        &self.join
    }

    pub(crate) fn raw(&self) -> &TaskRef {
        self.join().task()
    }

    /// Asks for the task to be cancelled (asyncio's `Task.cancel`).
    ///
    /// The task's future is dropped at its next turn on the loop, without
    /// being polled again; awaiting the task then gives
    /// [`TaskError::Cancelled`]. A task that never started never runs. A
    /// task that cancels itself and then returns without yielding again
    /// still ends cancelled, its output discarded (asyncio's
    /// `test_cancel_at_end`). Returns `false` if the task had already
    /// finished.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let task = lp.spawn(async { 1 });
    /// assert!(task.cancel());
    /// assert!(lp.run_until_complete(task).unwrap().unwrap_err().is_cancelled());
    /// ```
    pub fn cancel(&self) -> bool {
        self.raw().request_cancel()
    }

    /// Whether the task has finished (with an output, a panic or a cancel).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let task = lp.spawn(async { 1 });
    /// assert!(!task.is_done(), "not started yet");
    /// lp.run_once().unwrap();
    /// assert!(task.is_done());
    /// ```
    pub fn is_done(&self) -> bool {
        self.raw().is_done()
    }

    /// Whether the task finished by being cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let task = lp.spawn(std::future::pending::<()>());
    /// task.cancel();
    /// assert!(!task.is_cancelled(), "cancelled at its next turn");
    /// lp.run_once().unwrap();
    /// assert!(task.is_cancelled() && task.is_done());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.raw().is_cancelled()
    }

    /// Whether a cancel was requested and the task has not finished yet
    /// (asyncio's `cancelling() > 0`).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let task = lp.spawn(std::future::pending::<()>());
    /// assert!(!task.is_cancelling());
    /// task.cancel();
    /// assert!(task.is_cancelling());
    /// lp.run_once().unwrap();
    /// assert!(!task.is_cancelling(), "finished: cancelled");
    /// ```
    pub fn is_cancelling(&self) -> bool {
        self.raw().is_cancelling()
    }

    /// Schedules `callback` to run on the loop once the task is done, with
    /// `call_soon` (immediately scheduled if it is done already).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let calls = Rc::new(Cell::new(0));
    /// let task = lp.spawn(async {});
    /// let c = calls.clone();
    /// task.add_done_callback(move || c.set(c.get() + 1));
    /// lp.run_once().unwrap(); // the task runs and ends: its callback is scheduled
    /// assert_eq!((task.is_done(), calls.get()), (true, 0));
    /// lp.run_once().unwrap(); // and runs in the next iteration
    /// assert_eq!(calls.get(), 1);
    /// ```
    pub fn add_done_callback<F: FnOnce() + 'static>(&self, callback: F) {
        if let Err(callback) = self.raw().add_done_callback(Box::new(callback)) {
            // asyncio: a callback added to a done future is scheduled at once.
            match context::current() {
                Some(core) => core.call_soon_boxed(callback),
                None => callback(),
            }
        }
    }

    /// The task's id, unique within its loop.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let (a, b) = (lp.spawn(async {}), lp.spawn(async {}));
    /// assert_ne!(a.id(), b.id());
    /// assert!(a.id() < b.id(), "ids increase");
    /// ```
    pub fn id(&self) -> TaskId {
        self.raw().id()
    }

    /// The name given with [`spawn_named`], if any.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// assert_eq!(lp.spawn_named("fetch", async {}).name(), Some("fetch"));
    /// assert_eq!(lp.spawn(async {}).name(), None);
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.raw().name()
    }

    /// Id, name and spawn location.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let task = lp.spawn_named("fetch", async {});
    /// let info = task.info();
    /// assert_eq!((info.id, info.name.as_deref()), (task.id(), Some("fetch")));
    /// assert_eq!(info.location.file(), file!(), "where `spawn_named` was called");
    /// ```
    pub fn info(&self) -> TaskInfo {
        self.raw().info()
    }

    /// Registers `cx`'s waker for the task's end without taking its output
    /// and without counting as an await (what `wait` needs to watch a task
    /// it hands back uncancelled).
    pub(crate) fn poll_done(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_done() {
            return Poll::Ready(());
        }
        self.raw().set_join_waker(cx.waker());
        Poll::Pending
    }

    /// Forgets the waker `poll_done` registered: the watcher has stopped
    /// watching (`wait` returning with the task still pending).
    pub(crate) fn unwatch(&self) {
        self.raw().clear_join_waker();
    }

    /// Whether the task ended by panicking (`wait`'s `FirstException`).
    pub(crate) fn is_panicked(&self) -> bool {
        self.raw().is_panicked()
    }

    /// Forgets that the handle was awaited, so that dropping it detaches
    /// the task instead of cancelling it (`shield`).
    pub(crate) fn unmark_polled(&self) {
        self.join().unmark_polled();
    }

    /// A type-erased way to cancel the task later (a `TaskGroup` cancels
    /// its children with it).
    pub(crate) fn canceller(&self) -> Canceller {
        Canceller(self.raw().clone())
    }

    /// Wraps the handle so that dropping it cancels the task even if it was
    /// never awaited.
    ///
    /// An awaited `Task` already cancels its task when dropped unfinished;
    /// this is for tasks handed to something that may drop them before the
    /// first poll, such as a future that is itself never polled.
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
    ///     // Dropped before anything polled it: still cancelled.
    ///     drop(slow.cancel_on_drop());
    ///     tulipa::yield_now().await;
    ///     assert!(tulipa::all_tasks().iter().all(|t| t.id != probe));
    /// })
    /// .unwrap();
    /// ```
    pub fn cancel_on_drop(self) -> CancelOnDrop<T> {
        CancelOnDrop { task: Some(self) }
    }
}

/// See [`Task::canceller`].
pub(crate) struct Canceller(TaskRef);

impl Canceller {
    /// Requests the cancel; `false` if the task is done.
    pub(crate) fn cancel(&self) -> bool {
        self.0.request_cancel()
    }
}

/// A [`Task`] that is cancelled when this handle is dropped before the task
/// finished, awaited or not; see [`Task::cancel_on_drop`]. Awaiting it
/// gives the task's output.
#[must_use = "dropping it cancels the task"]
#[derive(Debug)]
pub struct CancelOnDrop<T> {
    /// `None` only after `into_inner`.
    task: Option<Task<T>>,
}

impl<T> CancelOnDrop<T> {
    /// The task inside, back as a plain handle.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let guarded = lp.spawn(async { 3 }).cancel_on_drop();
    /// let task = guarded.into_inner(); // a plain handle again: dropping it would detach
    /// assert_eq!(lp.run_until_complete(task).unwrap().unwrap(), 3);
    /// ```
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
            if task.cancel() {
                context::note_cancelled(task.raw());
            }
        }
    }
}

impl<T> Unpin for Task<T> {}

impl<T> Future for Task<T> {
    type Output = Result<T, TaskError>;

    /// # Panics
    ///
    /// If polled again after it returned `Ready`.
    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let join = self.join();
        join.mark_polled();
        if let Some(output) = join.take_output() {
            return Poll::Ready(output);
        }
        if join.task().is_done() {
            panic!("a tulipa Task was polled after it returned its output");
        }
        join.task().set_join_waker(cx.waker());
        Poll::Pending
    }
}

impl<T> Drop for Task<T> {
    #[inline]
    fn drop(&mut self) {
        // The handle's reference goes with the field, after this.
        let join = &self.join;
        let task = join.task();
        if task.is_done() {
            if let Some(message) = join.untaken_panic() {
                context::report(&crate::runtime::ExceptionContext {
                    message: "task panicked and its handle was dropped".to_owned(),
                    panic: Some(message),
                    task: Some(task.info()),
                });
            }
            join.detach();
            return;
        }
        let awaited = join.was_polled() && !context::is_detaching();
        join.detach();
        // asyncio: the awaiter's cancellation reaches the awaited task.
        if awaited && task.request_cancel() {
            context::note_cancelled(task);
        }
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

/// The task being polled right now (asyncio's `current_task`), with what
/// introspection tells about it and a way to cancel it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
/// let out = lp.run_until_complete(async {
///     let task = tulipa::spawn(async {
///         // asyncio's `current_task().cancel()`: ends at the next suspension.
///         assert!(tulipa::current_task().unwrap().cancel());
///         tulipa::sleep(Duration::from_secs(1)).await;
///         "unreachable"
///     });
///     task.await
/// });
/// assert!(out.unwrap().unwrap_err().is_cancelled());
/// ```
#[derive(Clone)]
pub struct CurrentTask {
    /// The task's id.
    pub id: TaskId,
    /// The name given at spawn time, if any.
    pub name: Option<String>,
    /// The source location of the `spawn` call.
    pub location: &'static Location<'static>,
    task: TaskRef,
}

impl CurrentTask {
    /// Asks for the task to be cancelled, as [`Task::cancel`]: its future
    /// is dropped at its next turn, and if it returns before that it still
    /// ends cancelled. `false` if it has already finished.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
    /// let task = lp.spawn(async {
    ///     assert!(tulipa::current_task().unwrap().cancel());
    ///     tulipa::sleep(Duration::from_secs(1)).await; // cancelled here
    ///     "not reached"
    /// });
    /// assert!(lp.run_until_complete(task).unwrap().unwrap_err().is_cancelled());
    /// // Kept past its task's end, it cancels nothing.
    /// let me = lp.spawn(async { tulipa::current_task().unwrap() });
    /// let me = lp.run_until_complete(me).unwrap().unwrap();
    /// assert!(!me.cancel());
    /// ```
    pub fn cancel(&self) -> bool {
        self.task.request_cancel()
    }

    /// Whether a cancel was requested and the task has not finished.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let task = lp.spawn(async {
    ///     let me = tulipa::current_task().unwrap();
    ///     assert!(!me.is_cancelling());
    ///     me.cancel();
    ///     assert!(me.is_cancelling());
    /// });
    /// // It returned before its next turn: it still ends cancelled.
    /// assert!(lp.run_until_complete(task).unwrap().unwrap_err().is_cancelled());
    /// ```
    pub fn is_cancelling(&self) -> bool {
        self.task.is_cancelling()
    }

    /// Id, name and spawn location.
    ///
    /// # Examples
    ///
    /// ```
    /// tulipa::run(async {
    ///     let info = tulipa::spawn_named("me", async { tulipa::current_task().unwrap().info() })
    ///         .await
    ///         .unwrap();
    ///     assert_eq!(info.name.as_deref(), Some("me"));
    /// })
    /// .unwrap();
    /// ```
    pub fn info(&self) -> TaskInfo {
        TaskInfo {
            id: self.id,
            name: self.name.clone(),
            location: self.location,
        }
    }
}

impl fmt::Debug for CurrentTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurrentTask")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The task being polled right now, if this code runs inside one (asyncio's
/// `current_task`). The future given to `run_until_complete` (or
/// [`run`](crate::run)) runs as the loop's main task, named "main", so it
/// has one too; `None` in callbacks.
///
/// # Examples
///
/// ```
/// tulipa::run(async {
///     let main = tulipa::current_task().unwrap();
///     assert_eq!(main.name.as_deref(), Some("main"));
///     let id = tulipa::spawn(async { tulipa::current_task().unwrap().id }).await.unwrap();
///     assert!(id > main.id);
/// })
/// .unwrap();
/// ```
pub fn current_task() -> Option<CurrentTask> {
    let task = context::with_current(|core| core?.current_task())?;
    let info = task.info();
    Some(CurrentTask {
        id: info.id,
        name: info.name,
        location: info.location,
        task,
    })
}

/// Every task alive on the running loop (asyncio's `all_tasks`); empty if no
/// loop is running.
///
/// # Examples
///
/// ```
/// assert!(tulipa::all_tasks().is_empty(), "no loop running");
/// tulipa::run(async {
///     let _idle = tulipa::spawn_named("idle", std::future::pending::<()>());
///     tulipa::yield_now().await;
///     let names: Vec<_> = tulipa::all_tasks().into_iter().map(|t| t.name).collect();
///     assert_eq!(names, [Some("idle".to_string())]);
/// })
/// .unwrap();
/// ```
pub fn all_tasks() -> Vec<TaskInfo> {
    context::with_current(|core| core.map(|c| c.all_tasks()).unwrap_or_default())
}
