//! The loop's side of the executor: [`run_in_executor`],
//! [`run_in_executor_on`], [`ThreadPoolExecutor::run`], the loop's default
//! executor, and the [`RunInExecutor`] future. The pool itself
//! (`crate::executor`) knows nothing of the loop; this file joins the two.
//!
//! A finished job wakes the awaiting task's waker from the worker thread;
//! that wake goes through the loop's inbox and its `mio::Waker` (asyncio's
//! `call_soon_threadsafe` + self-pipe), so nothing polls and no thread is
//! spent per job. On a virtual-clock loop each job holds a
//! [`LoopHandle::hold`](crate::LoopHandle::hold) until it ends, so virtual
//! time does not jump past a job that is still running, and moves on as
//! soon as it has finished, whether or not its future was polled.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::context;
use super::core::Core;
use super::{EventLoop, LoopHandle, PendingPost};
use crate::executor::{Builder, ExecError, ExecFuture, Submit, SubmitError, ThreadPoolExecutor};

type BoxedJob<T> = Box<dyn FnOnce() -> T + Send>;

/// The future of [`run_in_executor`], [`run_in_executor_on`] and
/// [`ThreadPoolExecutor::run`]: the job's result, or why there is none.
///
/// The job is queued when the future is made if the pool has room, so
/// several of them run in parallel even before they are awaited. It is
/// `Send` and can be awaited on any executor.
///
/// Dropping it cancels the job if it has not started; a started job runs to
/// the end and its result is dropped.
#[must_use = "dropping a RunInExecutor cancels its job if it has not started"]
pub struct RunInExecutor<T> {
    stage: RunStage<T>,
    /// Keeps a virtual clock from jumping while the job is out.
    hold: Option<PendingPost>,
}

enum RunStage<T> {
    /// Waiting for room in a bounded queue.
    Waiting(Submit<BoxedJob<T>>),
    Running(ExecFuture<T>),
    Failed(Option<ExecError>),
}

impl<T: Send + 'static> RunInExecutor<T> {
    pub(crate) fn on_pool<F>(pool: &ThreadPoolExecutor, f: F, core: Option<&Core>) -> Self
    where
        F: FnOnce() -> T + Send + 'static,
    {
        // On a traced loop the job draws itself on its worker's lane.
        match core.and_then(|c| c.tracer()) {
            Some(tracer) => {
                let sink = tracer.sink.clone();
                Self::submit(pool, move || sink.job("executor job", f), core)
            }
            None => Self::submit(pool, f, core),
        }
    }

    fn submit<F>(pool: &ThreadPoolExecutor, f: F, core: Option<&Core>) -> Self
    where
        F: FnOnce() -> T + Send + 'static,
    {
        let stage = match pool.try_submit(f) {
            Ok(job) => RunStage::Running(job),
            Err(SubmitError::Full(f)) => RunStage::Waiting(pool.submit_async(Box::new(f) as _)),
            Err(SubmitError::ShutDown(_)) => RunStage::Failed(Some(ExecError::ShutDown)),
        };
        let hold = match (&stage, core) {
            (RunStage::Failed(_), _) | (_, None) => None,
            (_, Some(core)) if !core.is_virtual_time() => None,
            (_, Some(core)) => Some(
                LoopHandle {
                    remote: core.remote().clone(),
                }
                .hold(),
            ),
        };
        let mut run = RunInExecutor { stage, hold };
        run.hand_hold_to_job();
        run
    }

    /// A queued job keeps the hold itself and ends it when it ends, so an
    /// unpolled future whose job has finished does not stall virtual time.
    fn hand_hold_to_job(&mut self) {
        if let (RunStage::Running(job), Some(hold)) = (&self.stage, self.hold.take()) {
            job.keep_until_done(Box::new(hold));
        }
    }

    fn on_default<F>(core: &Core, f: F) -> Self
    where
        F: FnOnce() -> T + Send + 'static,
    {
        match default_executor_of(core) {
            Some(pool) => RunInExecutor::on_pool(&pool, f, Some(core)),
            None => RunInExecutor {
                stage: RunStage::Failed(Some(ExecError::ShutDown)),
                hold: None,
            },
        }
    }
}

impl<T> Future for RunInExecutor<T>
where
    T: Send + 'static,
{
    type Output = Result<T, ExecError>;

    /// # Panics
    ///
    /// If polled again after it returned `Ready`.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        loop {
            match &mut this.stage {
                RunStage::Waiting(submit) => match ready!(Pin::new(submit).poll(cx)) {
                    Ok(job) => {
                        this.stage = RunStage::Running(job);
                        this.hand_hold_to_job();
                    }
                    Err(_) => this.stage = RunStage::Failed(Some(ExecError::ShutDown)),
                },
                RunStage::Running(job) => {
                    let output = ready!(Pin::new(job).poll(cx));
                    this.hold = None;
                    return Poll::Ready(output);
                }
                RunStage::Failed(error) => {
                    this.hold = None;
                    let error = error
                        .take()
                        .expect("RunInExecutor polled after it completed");
                    return Poll::Ready(Err(error));
                }
            }
        }
    }
}

impl<T> fmt::Debug for RunInExecutor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match &self.stage {
            RunStage::Waiting(_) => "waiting for room",
            RunStage::Running(_) => "queued or running",
            RunStage::Failed(_) => "failed",
        };
        f.debug_struct("RunInExecutor")
            .field("stage", &stage)
            .finish()
    }
}

/// The loop's default pool, made on first use; `None` once the loop is closed.
fn default_executor_of(core: &Core) -> Option<ThreadPoolExecutor> {
    core.default_executor(|| Builder::new().thread_name_prefix("tulipa-default").build())
}

/// Runs the blocking closure `f` on the running loop's default executor and
/// resolves to its result (asyncio's `loop.run_in_executor(None, f)` /
/// `asyncio.to_thread(f)`).
///
/// The default executor is a [`ThreadPoolExecutor`] of `min(32, cpus + 4)`
/// workers, made on first use and shut down when the loop closes; replace it
/// with [`EventLoop::set_default_executor`]. The job is queued at once; the
/// loop keeps running other tasks meanwhile.
///
/// # Errors
///
/// The future resolves to [`ExecError::Panicked`] if `f` panicked,
/// [`ExecError::Cancelled`] if the pool cancelled the job (a shutdown with
/// `cancel_pending`), [`ExecError::ShutDown`] if the default executor was
/// shut down before the job could be queued.
///
/// # Panics
///
/// If no tulipa loop is running on this thread (use
/// [`EventLoop::run_in_executor`] then).
///
/// # Cancel safety
///
/// Dropping the future cancels the job if no worker has started it; a
/// started job runs to the end and its result is dropped.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let out = tulipa::run(async {
///     let slow = tulipa::run_in_executor(|| {
///         std::thread::sleep(Duration::from_millis(20)); // blocking, off the loop
///         "slept"
///     });
///     tulipa::sleep(Duration::from_millis(1)).await; // the loop is free meanwhile
///     slow.await.unwrap()
/// });
/// assert_eq!(out.unwrap(), "slept");
/// ```
#[doc(alias = "to_thread")]
#[track_caller]
pub fn run_in_executor<F, T>(f: F) -> RunInExecutor<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let core = context::expect_current("tulipa::run_in_executor");
    RunInExecutor::on_default(&core, f)
}

/// Runs the blocking closure `f` on `pool` and resolves to its result
/// (asyncio's `loop.run_in_executor(pool, f)`); the same as
/// [`ThreadPoolExecutor::run`].
///
/// Works on any executor. Under a running tulipa loop with a virtual clock
/// it also keeps virtual time from jumping while the job is out. On a pool
/// with a [bound on queued jobs](crate::executor::Builder::max_queued) that is full,
/// the future first waits for room (FIFO) without blocking the loop.
///
/// # Errors
///
/// As [`run_in_executor`]; [`ExecError::ShutDown`] if `pool` was shut down
/// before the job could be queued.
///
/// # Cancel safety
///
/// Dropping the future while it waits for room drops `f` unqueued (and
/// passes its turn on); dropping it later cancels the job if no worker has
/// started it; a started job runs to the end and its result is dropped.
///
/// # Examples
///
/// ```
/// use tulipa::{run_in_executor_on, ThreadPoolExecutor};
///
/// let pool = ThreadPoolExecutor::new(4);
/// let total = tulipa::run(async {
///     let jobs: Vec<_> = (0..4u64)
///         .map(|i| run_in_executor_on(&pool, move || (i * 1000..(i + 1) * 1000).sum::<u64>()))
///         .collect();
///     let mut total = 0;
///     for job in jobs {
///         total += job.await.unwrap();
///     }
///     total
/// });
/// assert_eq!(total.unwrap(), (0..4000u64).sum());
/// ```
pub fn run_in_executor_on<F, T>(pool: &ThreadPoolExecutor, f: F) -> RunInExecutor<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    pool.run(f)
}

impl EventLoop {
    /// Runs the blocking closure `f` on this loop's default executor
    /// (asyncio's `loop.run_in_executor(None, f)`); see [`run_in_executor`].
    ///
    /// Unlike the free function it works before the loop runs.
    ///
    /// # Errors
    ///
    /// As [`run_in_executor`]; on a closed loop the future resolves to
    /// [`ExecError::ShutDown`] at once.
    ///
    /// # Cancel safety
    ///
    /// As [`run_in_executor`].
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let job = lp.run_in_executor(|| 2 + 2);
    /// assert_eq!(lp.run_until_complete(job).unwrap().unwrap(), 4);
    /// ```
    pub fn run_in_executor<F, T>(&self, f: F) -> RunInExecutor<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        RunInExecutor::on_default(&self.core, f)
    }

    /// Makes `pool` the executor of [`run_in_executor`] on this loop
    /// (asyncio's `set_default_executor`).
    ///
    /// The previous default is dropped (shut down without waiting if that
    /// was its last handle); its queued and running jobs still finish.
    /// Closing the loop shuts `pool` down without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::{EventLoop, ThreadPoolExecutor};
    ///
    /// let lp = EventLoop::new().unwrap();
    /// lp.set_default_executor(ThreadPoolExecutor::builder().max_workers(2).thread_name_prefix("mine").build());
    /// let name = lp.run_in_executor(|| std::thread::current().name().unwrap().to_owned());
    /// assert_eq!(lp.run_until_complete(name).unwrap().unwrap(), "mine-0");
    /// assert_eq!(lp.default_executor().max_workers(), 2);
    /// ```
    pub fn set_default_executor(&self, pool: ThreadPoolExecutor) {
        let previous = self.core.replace_default_executor(Some(pool));
        drop(previous);
    }

    /// A handle to this loop's default executor, made now if it was not yet.
    ///
    /// On a closed loop this is a new pool that is already shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let pool = lp.default_executor();
    /// assert_eq!(pool.submit(|| 6 * 7).unwrap().wait().unwrap(), 42);
    /// lp.close().unwrap();
    /// assert!(lp.default_executor().submit(|| ()).is_err()); // shut down
    /// ```
    pub fn default_executor(&self) -> ThreadPoolExecutor {
        default_executor_of(&self.core).unwrap_or_else(|| {
            let pool = ThreadPoolExecutor::new(1);
            pool.shutdown(false, false);
            pool
        })
    }
}

impl ThreadPoolExecutor {
    /// Runs `f` on the pool and resolves to its result: [`submit_async`]
    /// and the job's future in one (asyncio's `loop.run_in_executor(pool, f)`).
    ///
    /// The job is queued at once if the queue has room (like asyncio,
    /// before the future is first polled), else when the future is polled
    /// and room appears. See [`run_in_executor_on`](crate::run_in_executor_on).
    ///
    /// [`submit_async`]: ThreadPoolExecutor::submit_async
    ///
    /// # Errors
    ///
    /// The future resolves to [`ExecError::Panicked`](crate::ExecError::Panicked)
    /// if `f` panicked, [`ExecError::Cancelled`](crate::ExecError::Cancelled)
    /// if a shutdown with `cancel_pending` cancelled the job, and
    /// [`ExecError::ShutDown`](crate::ExecError::ShutDown) if the pool was shut
    /// down before the job could be queued.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels the job if it has not started; a running
    /// job finishes and its result is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulipa::ThreadPoolExecutor::new(2);
    /// let n = tulipa::run(async { pool.run(|| (1..=10u32).sum::<u32>()).await.unwrap() });
    /// assert_eq!(n.unwrap(), 55);
    /// ```
    #[doc(alias = "run_in_executor")]
    pub fn run<F, T>(&self, f: F) -> RunInExecutor<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        RunInExecutor::on_pool(self, f, context::current().as_deref())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn run_in_executor_is_send() {
        fn check_send<T: Send>() {}
        check_send::<super::RunInExecutor<Vec<u8>>>();
    }
}
