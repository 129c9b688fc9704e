//! [`ThreadPoolExecutor`]: the public handle of a bounded pool of lazily
//! started worker threads sharing one FIFO queue of jobs, and its calls
//! (the shared state is `core.rs`, the threads `worker.rs`); and
//! [`Builder::build`], which makes one.

use std::fmt;
use std::sync::Arc;

use super::builder::{Builder, Config};
use super::core::PoolCore;
use super::error::SubmitError;
use super::job::ExecFuture;
use super::submit::Submit;
use super::worker::{join_workers, Worker};

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
    core: Arc<PoolCore>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        let _no_join = self.core.shutdown(false, false);
    }
}

impl Builder {
    /// Builds the pool; no thread starts until the first job.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulipa::ThreadPoolExecutor::builder().max_workers(2).build();
    /// assert_eq!(pool.num_threads(), 0);
    /// assert_eq!(pool.submit(|| 3).unwrap().wait().unwrap(), 3);
    /// assert_eq!(pool.num_threads(), 1);
    /// ```
    pub fn build(self) -> ThreadPoolExecutor {
        ThreadPoolExecutor::from_config(self.config)
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
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulipa::ThreadPoolExecutor::builder().max_workers(1).max_queued(8).build();
    /// assert_eq!(pool.max_workers(), 1);
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    fn from_config(config: Config) -> ThreadPoolExecutor {
        let core = Arc::new(PoolCore::new(config, Worker::start));
        ThreadPoolExecutor {
            owner: Arc::new(Owner { core }),
        }
    }

    fn core(&self) -> &Arc<PoolCore> {
        &self.owner.core
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
        self.core().submit_blocking(f)
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
        self.core().try_submit(f)
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
        Submit::new(self.core().clone(), f)
    }

    /// Stops the pool (`concurrent.futures.Executor.shutdown`).
    ///
    /// No job is accepted afterwards, and submitters waiting for room get
    /// [`SubmitError::ShutDown`]. Jobs already queued still run, unless
    /// `cancel_pending` is set: then they are cancelled (their closures are
    /// dropped, never run; their futures resolve to
    /// [`ExecError::Cancelled`](crate::ExecError::Cancelled)). Running jobs
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
        let workers = self.core().shutdown(wait, cancel_pending);
        if wait {
            join_workers(self.core(), workers);
        }
    }

    /// Whether [`shutdown`](ThreadPoolExecutor::shutdown) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulipa::ThreadPoolExecutor::new(1);
    /// assert!(!pool.is_shutdown());
    /// pool.clone().shutdown(false, false); // any handle shuts the pool down
    /// assert!(pool.is_shutdown());
    /// ```
    pub fn is_shutdown(&self) -> bool {
        self.core().lock().queue.is_shut_down()
    }

    /// The most worker threads the pool will run at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulipa::ThreadPoolExecutor::default();
    /// let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    /// assert_eq!(pool.max_workers(), (cpus + 4).min(32)); // CPython's default
    /// ```
    pub fn max_workers(&self) -> usize {
        self.core().config.max_workers
    }

    /// The worker threads alive now (busy or idle).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulipa::ThreadPoolExecutor::new(4);
    /// assert_eq!(pool.num_threads(), 0); // workers start with the first jobs
    /// pool.submit(|| ()).unwrap().wait().unwrap();
    /// assert_eq!(pool.num_threads(), 1);
    /// pool.shutdown(true, false);
    /// assert_eq!(pool.num_threads(), 0);
    /// ```
    pub fn num_threads(&self) -> usize {
        self.core().lock().crew.threads
    }

    /// The worker threads asleep waiting for work now (not counting one
    /// that is still [spinning](Builder::spin_time) after its last job).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let pool = tulipa::ThreadPoolExecutor::new(2);
    /// assert_eq!(pool.idle_threads(), 0);
    /// pool.submit(|| ()).unwrap().wait().unwrap();
    /// let give_up = Instant::now() + Duration::from_secs(10);
    /// while pool.idle_threads() == 0 && Instant::now() < give_up {
    ///     std::thread::sleep(Duration::from_millis(1)); // the worker spins, then sleeps
    /// }
    /// assert_eq!(pool.idle_threads(), 1);
    /// ```
    pub fn idle_threads(&self) -> usize {
        self.core().lock().crew.idle
    }

    /// Jobs queued and not yet taken by a worker (cancelled ones not counted).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    ///
    /// let pool = tulipa::ThreadPoolExecutor::new(1);
    /// let (release, gate) = mpsc::channel::<()>();
    /// let (started_tx, started) = mpsc::channel::<()>();
    /// let busy = pool.submit(move || { started_tx.send(()).unwrap(); gate.recv().unwrap() }).unwrap();
    /// started.recv().unwrap();
    /// let waiting = pool.submit(|| 2).unwrap();
    /// assert_eq!(pool.queued(), 1);
    /// assert!(waiting.cancel());
    /// assert_eq!(pool.queued(), 0); // a cancelled job is not counted
    /// release.send(()).unwrap();
    /// busy.wait().unwrap();
    /// ```
    pub fn queued(&self) -> usize {
        self.core().lock().queue.queued()
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
        let core = self.core();
        let state = core.lock();
        f.debug_struct("ThreadPoolExecutor")
            .field("id", &core.id)
            .field("max_workers", &core.config.max_workers)
            .field("threads", &state.crew.threads)
            .field("idle", &state.crew.idle)
            .field("queued", &state.queue.queued())
            .field("shutdown", &state.queue.is_shut_down())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_and_handle_are_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<PoolCore>();
        check::<ThreadPoolExecutor>();
        check::<ExecFuture<Vec<u8>>>();
        fn check_send<T: Send>() {}
        check_send::<Submit<fn() -> u8>>();
    }
}
