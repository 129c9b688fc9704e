//! Spawning: [`spawn`], [`spawn_named`], [`spawn_eager`], and
//! [`EventLoop::spawn`] for a loop that is not running yet.

use std::future::Future;
use std::panic::Location;

use super::Task;
use crate::runtime::context;
use crate::runtime::core::Core;
use crate::EventLoop;

/// Spawns `future` as a task on the running loop (asyncio's `create_task`).
///
/// The task first runs in the loop's next iteration (or at once, inside
/// this call, on a loop built with
/// [`Builder::eager_tasks`](crate::Builder::eager_tasks)). The future may
/// be `!Send`; it is polled only on this thread.
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
    let eager = core.eager_tasks();
    spawn_with(&core, future, None, Location::caller(), eager)
}

/// Like [`spawn`], with a name that shows up in [`TaskInfo`](super::TaskInfo),
/// [`current_task`](super::current_task) and reports.
///
/// # Panics
///
/// If no tulipa loop is running on this thread.
///
/// # Examples
///
/// ```
/// let name = tulipa::run(async {
///     tulipa::spawn_named("worker", async {
///         tulipa::current_task().unwrap().name
///     })
///     .await
///     .unwrap()
/// });
/// assert_eq!(name.unwrap().as_deref(), Some("worker"));
/// ```
#[track_caller]
pub fn spawn_named<F>(name: impl Into<String>, future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let core = context::expect_current("tulipa::spawn_named");
    let eager = core.eager_tasks();
    spawn_with(&core, future, Some(name.into()), Location::caller(), eager)
}

/// Spawns `future` as an eager task (asyncio 3.12's `eager_task_factory`):
/// its first step runs inside this call, before `spawn_eager` returns.
///
/// A task that finishes without suspending never enters the ready queue:
/// it is done when this returns, and costs no loop iteration. One that
/// suspends is then scheduled as any task is, by its wakers.
///
/// **Scheduling order.** The eager task runs *before* the code after
/// `spawn_eager` and before every task already in the ready queue, where a
/// plain [`spawn`] runs after them; in particular, a chain of eager spawns
/// runs depth-first inside the spawning task's turn. Code that relies on
/// a spawned task not having started yet (asyncio code written before
/// 3.12 often does) must use `spawn`.
///
/// # Panics
///
/// If no tulipa loop is running on this thread.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
///
/// tulipa::run(async {
///     let ran = Rc::new(Cell::new(false));
///     let flag = ran.clone();
///     let task = tulipa::spawn_eager(async move {
///         flag.set(true);
///         7
///     });
///     // Already done: the first step ran inside the call.
///     assert!(ran.get() && task.is_done());
///     assert_eq!(task.await.unwrap(), 7);
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn spawn_eager<F>(future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let core = context::expect_current("tulipa::spawn_eager");
    spawn_with(&core, future, None, Location::caller(), true)
}

/// Spawns on `core`, lazily (the task first runs in the next iteration).
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
    spawn_with(core, future, name, location, false)
}

/// Spawns on `core`, eagerly or not.
fn spawn_with<F>(
    core: &Core,
    future: F,
    name: Option<String>,
    location: &'static Location<'static>,
    eager: bool,
) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    Task::from_join(core.spawn_task(future, name, location, eager))
}

impl EventLoop {
    /// Spawns `future` as a task on this loop; it first runs in the next
    /// iteration. The future may be `!Send`.
    ///
    /// On a closed loop the task is cancelled at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let task = lp.spawn(async { "done" });
    /// assert_eq!(lp.run_until_complete(task).unwrap().unwrap(), "done");
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let location = std::panic::Location::caller();
        spawn_with(&self.core, future, None, location, self.core.eager_tasks())
    }

    /// Like [`spawn`](EventLoop::spawn), with a name for introspection,
    /// reports and traces (asyncio's `create_task(coro, name=...)`).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let task = lp.spawn_named("worker", async { 1 });
    /// assert_eq!(task.name(), Some("worker"));
    /// assert_eq!(lp.run_until_complete(task).unwrap().unwrap(), 1);
    /// ```
    #[track_caller]
    pub fn spawn_named<F>(&self, name: impl Into<String>, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let location = std::panic::Location::caller();
        spawn_with(
            &self.core,
            future,
            Some(name.into()),
            location,
            self.core.eager_tasks(),
        )
    }
}
