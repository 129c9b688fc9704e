//! [`ThreadPoolExecutor`]: the public handle of a bounded pool of lazily
//! started worker threads sharing one FIFO queue of jobs (the state and the
//! workers live in `shared.rs` and `worker.rs`).

use std::fmt;
use std::sync::Arc;

use super::builder::Config;
use super::job::ExecFuture;
use super::shared::{Admit, Shared};
use super::submit::Submit;
use super::{Builder, RunInExecutor, SubmitError};

/// A pool of worker threads that runs blocking closures
/// (`concurrent.futures.ThreadPoolExecutor`).
///
/// [`submit`](ThreadPoolExecutor::submit) queues a closure and returns an
/// [`ExecFuture`] for its result, awaitable on any executor or waitable from
/// a plain thread. On a tulipa loop, [`run`](ThreadPoolExecutor::run) (or
/// [`run_in_executor_on`](crate::run_in_executor_on)) does the same and
/// keeps the loop's virtual clock honest while the job runs.
///
/// Workers start lazily, one per job that finds none idle, up to
/// `max_workers`; a worker idle for the [idle timeout](Builder::idle_timeout)
/// (10 s by default) exits. Jobs start in submission order.
///
/// The handle is `Clone + Send + Sync`; when the last handle is dropped the
/// pool is shut down as by `shutdown(false, false)`: queued jobs still run,
/// nothing waits for them, and a job that blocks forever cannot hang the drop.
///
/// # Examples
///
/// ```
/// use tulipa::ThreadPoolExecutor;
///
/// let pool = ThreadPoolExecutor::new(4);
/// let jobs: Vec<_> = (0..8u64).map(|i| pool.submit(move || i * i).unwrap()).collect();
/// let squares: Vec<u64> = jobs.into_iter().map(|j| j.wait().unwrap()).collect();
/// assert_eq!(squares, [0, 1, 4, 9, 16, 25, 36, 49]);
/// pool.shutdown(true, false);
/// assert_eq!(pool.num_threads(), 0);
/// ```
#[derive(Clone)]
pub struct ThreadPoolExecutor {
    owner: Arc<Owner>,
}

/// Shuts the pool down when the last handle goes.
struct Owner {
    shared: Arc<Shared>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.shared.shutdown(false, false);
    }
}

impl ThreadPoolExecutor {
    /// A pool of at most `max_workers` threads with the default settings
    /// (see [`Builder`]).
    ///
    /// # Panics
    ///
    /// If `max_workers` is 0 (CPython raises `ValueError`).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulipa::ThreadPoolExecutor::new(2);
    /// assert_eq!(pool.max_workers(), 2);
    /// assert_eq!(pool.num_threads(), 0); // none started yet
    /// ```
    pub fn new(max_workers: usize) -> ThreadPoolExecutor {
        Builder::new().max_workers(max_workers).build()
    }

    /// A [`Builder`] for a pool with a thread name prefix, an idle timeout,
    /// a stack size or a bound on queued jobs.
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn from_config(config: Config) -> ThreadPoolExecutor {
        let shared = Arc::new(Shared::new(config));
        ThreadPoolExecutor {
            owner: Arc::new(Owner { shared }),
        }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.owner.shared
    }

    /// Queues `f` and returns the future of its result
    /// (`concurrent.futures.Executor.submit`).
    ///
    /// Callable from any thread. If the pool has a [bound on queued
    /// jobs](Builder::max_queued) and it is reached, the calling thread
    /// blocks until a worker takes a job; on a loop's thread use
    /// [`submit_async`](ThreadPoolExecutor::submit_async) or
    /// [`run`](ThreadPoolExecutor::run) instead, which wait without blocking
    /// the loop.
    ///
    /// # Errors
    ///
    /// [`SubmitError::ShutDown`] with `f` if the pool was shut down (also
    /// while this call was blocked on a full queue).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulipa::ThreadPoolExecutor::new(1);
    /// let job = pool.submit(|| "hello".len()).unwrap();
    /// assert_eq!(job.wait().unwrap(), 5);
    /// pool.shutdown(false, false);
    /// assert!(pool.submit(|| 1).unwrap_err().is_shutdown());
    /// ```
    pub fn submit<F, T>(&self, f: F) -> Result<ExecFuture<T>, SubmitError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.shared().submit_blocking(f)
    }

    /// Queues `f` only if that needs no waiting.
    ///
    /// # Errors
    ///
    /// [`SubmitError::Full`] with `f` if the queue is at its bound,
    /// [`SubmitError::ShutDown`] with `f` if the pool was shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use tulipa::ThreadPoolExecutor;
    ///
    /// let pool = ThreadPoolExecutor::builder().max_workers(1).max_queued(1).build();
    /// let (release, gate) = mpsc::channel::<()>();
    /// let (started_tx, started) = mpsc::channel::<()>();
    /// let busy = pool.submit(move || { started_tx.send(()).unwrap(); gate.recv().unwrap() }).unwrap();
    /// started.recv().unwrap();
    /// let queued = pool.try_submit(|| 1).unwrap(); // takes the one slot
    /// assert!(pool.try_submit(|| 2).unwrap_err().is_full());
    /// release.send(()).unwrap();
    /// assert_eq!(queued.wait().unwrap(), 1);
    /// busy.wait().unwrap();
    /// ```
    #[doc(alias = "submit_nowait")]
    pub fn try_submit<F, T>(&self, f: F) -> Result<ExecFuture<T>, SubmitError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let shared = self.shared();
        let state = shared.state.lock();
        match shared.admit(&state) {
            Admit::Yes => Ok(shared.enqueue(state, f)),
            Admit::Full => Err(SubmitError::Full(f)),
            Admit::ShutDown => Err(SubmitError::ShutDown(f)),
        }
    }

    /// Queues `f`, waiting without blocking the thread while a bounded queue
    /// is full; the output is the job's [`ExecFuture`].
    ///
    /// The wait is FIFO among async submitters. Use it from tasks on a
    /// loop; without a bound it is ready at the first poll.
    ///
    /// # Errors
    ///
    /// [`SubmitError::ShutDown`] with `f` if the pool was shut down before
    /// `f` could be queued.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes drops `f` without queuing
    /// it, and passes a wake-up it may have received on to the next waiting
    /// submitter, so no room in the queue goes unused.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulipa::ThreadPoolExecutor::builder().max_workers(2).max_queued(4).build();
    /// let answer = tulipa::run(async {
    ///     let job = pool.submit_async(|| 40 + 2).await.unwrap();
    ///     job.await.unwrap()
    /// });
    /// assert_eq!(answer.unwrap(), 42);
    /// ```
    pub fn submit_async<F, T>(&self, f: F) -> Submit<F>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        Submit::new(self.shared().clone(), f)
    }

    /// Runs `f` on the pool and resolves to its result: [`submit_async`]
    /// and the job's future in one (asyncio's `loop.run_in_executor(pool, f)`).
    ///
    /// The job is queued at once if the queue has room (like asyncio,
    /// before the future is first polled), else when the future is polled
    /// and room appears. See [`run_in_executor_on`](crate::run_in_executor_on).
    ///
    /// [`submit_async`]: ThreadPoolExecutor::submit_async
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
        RunInExecutor::on_pool(self, f, crate::runtime::context::current().as_deref())
    }

    /// Stops the pool (`concurrent.futures.Executor.shutdown`).
    ///
    /// No job is accepted afterwards, and submitters waiting for room get
    /// [`SubmitError::ShutDown`]. Jobs already queued still run, unless
    /// `cancel_pending` is set: then they are cancelled (their closures are
    /// dropped, never run; their futures resolve to
    /// [`ExecError::Cancelled`](super::ExecError::Cancelled)). Running jobs
    /// always run to the end. With `wait` the call blocks until every worker
    /// has exited (it would hang on a job that never returns); without it,
    /// it returns at once. Calling it again is harmless.
    ///
    /// Called from one of the pool's own jobs with `wait`, it waits for the
    /// other workers only.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulipa::ThreadPoolExecutor::new(2);
    /// let job = pool.submit(|| 1).unwrap();
    /// pool.shutdown(true, false);
    /// assert_eq!(job.wait().unwrap(), 1);
    /// assert!(pool.is_shutdown());
    /// ```
    pub fn shutdown(&self, wait: bool, cancel_pending: bool) {
        self.shared().shutdown(wait, cancel_pending);
    }

    /// Whether [`shutdown`](ThreadPoolExecutor::shutdown) was called.
    pub fn is_shutdown(&self) -> bool {
        self.shared().state.lock().shutdown
    }

    /// The most worker threads the pool will run at once.
    pub fn max_workers(&self) -> usize {
        self.shared().config.max_workers
    }

    /// The worker threads alive now (busy or idle).
    pub fn num_threads(&self) -> usize {
        self.shared().state.lock().threads
    }

    /// The worker threads asleep waiting for work now (not counting one
    /// that is still [spinning](Builder::spin_time) after its last job).
    pub fn idle_threads(&self) -> usize {
        self.shared().state.lock().idle
    }

    /// Jobs queued and not yet taken by a worker (cancelled ones not counted).
    pub fn queued(&self) -> usize {
        self.shared().state.lock().queued
    }
}

impl Default for ThreadPoolExecutor {
    /// A pool with CPython's default size, `min(32, cpus + 4)` workers.
    fn default() -> ThreadPoolExecutor {
        Builder::new().build()
    }
}

impl fmt::Debug for ThreadPoolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = self.shared();
        let state = shared.state.lock();
        f.debug_struct("ThreadPoolExecutor")
            .field("id", &shared.id)
            .field("max_workers", &shared.config.max_workers)
            .field("threads", &state.threads)
            .field("idle", &state.idle)
            .field("queued", &state.queued)
            .field("shutdown", &state.shutdown)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_and_handle_are_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Shared>();
        check::<ThreadPoolExecutor>();
        check::<ExecFuture<Vec<u8>>>();
        fn check_send<T: Send>() {}
        check_send::<super::super::RunInExecutor<Vec<u8>>>();
        check_send::<Submit<fn() -> u8>>();
    }
}
