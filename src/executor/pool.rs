//! [`ThreadPoolExecutor`]: a bounded pool of lazily started worker threads
//! sharing one FIFO queue of jobs.
//!
//! Workers are started only when a job finds no idle worker, up to
//! `max_workers`, and leave after `idle_timeout` without work. A submitter
//! that finds an idle worker hands it a "notification token" (tokio's
//! `num_notify`): the idle count drops at once, so a burst of submissions
//! starts as many workers as it needs and no more.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Waker;
use std::thread::{self, JoinHandle, ThreadId};
use std::time::Instant;

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::builder::Config;
use super::job::{new_job, ExecFuture, Runnable};
use super::submit::Submit;
use super::{Builder, RunInExecutor, SubmitError};

static NEXT_POOL_ID: AtomicU64 = AtomicU64::new(1);

/// State shared by the pool's handles, its workers, its job futures and
/// its waiting submitters.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Idle workers wait here.
    work: Condvar,
    /// Threads blocked in `submit` on a full queue wait here.
    space: Condvar,
    /// `shutdown(wait = true)` waits here for the workers to leave.
    exited: Condvar,
    config: Config,
    id: u64,
}

struct State {
    /// Jobs in submission order; cancelled ones stay as tombstones until a
    /// worker pops them.
    queue: VecDeque<Arc<dyn Runnable>>,
    /// Jobs in `queue` that are neither claimed nor cancelled (what the
    /// bound limits).
    queued: usize,
    /// Workers alive (started, or being started).
    threads: usize,
    /// Workers waiting for work that nobody has handed a token yet.
    idle: usize,
    /// Tokens handed to idle workers and not yet picked up.
    notified: usize,
    shutdown: bool,
    workers: Vec<(u64, JoinHandle<()>)>,
    next_worker: u64,
    /// Tasks waiting in `submit_async` for room in a bounded queue.
    space_waiters: VecDeque<(u64, Waker)>,
    next_waiter: u64,
    /// Threads blocked in `submit` on a full queue.
    blocked_submitters: usize,
}

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
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                queued: 0,
                threads: 0,
                idle: 0,
                notified: 0,
                shutdown: false,
                workers: Vec::new(),
                next_worker: 0,
                space_waiters: VecDeque::new(),
                next_waiter: 0,
                blocked_submitters: 0,
            }),
            work: Condvar::new(),
            space: Condvar::new(),
            exited: Condvar::new(),
            config,
            id: NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed),
        });
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

    /// The worker threads waiting for work now.
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

/// Whether a job may be queued now.
pub(crate) enum Admit {
    Yes,
    Full,
    ShutDown,
}

thread_local! {
    /// The pool this thread works for (0: none), so that
    /// `shutdown(wait = true)` from a job does not wait for itself.
    static WORKER_OF: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

impl Shared {
    fn admit(&self, state: &State) -> Admit {
        if state.shutdown {
            Admit::ShutDown
        } else if self.config.max_queued.is_some_and(|max| state.queued >= max) {
            Admit::Full
        } else {
            Admit::Yes
        }
    }

    /// `submit_async`'s step: queues `f` if there is room, else registers
    /// (or refreshes) the waker under `waiter` and gives `f` back as `Full`.
    pub(crate) fn submit_or_wait<F, T>(
        self: &Arc<Self>,
        waiter: &mut Option<u64>,
        waker: &Waker,
        f: F,
    ) -> Result<ExecFuture<T>, SubmitError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let mut state = self.state.lock();
        match self.admit(&state) {
            Admit::Yes => {
                if let Some(id) = waiter.take() {
                    state.space_waiters.retain(|(i, _)| *i != id);
                }
                Ok(self.enqueue(state, f))
            }
            Admit::ShutDown => {
                *waiter = None;
                Err(SubmitError::ShutDown(f))
            }
            Admit::Full => {
                let registered = waiter.and_then(|id| {
                    state.space_waiters.iter_mut().find(|(i, _)| *i == id)
                });
                match (registered, *waiter) {
                    (Some((_, w)), _) if w.will_wake(waker) => {}
                    (Some((_, w)), _) => *w = waker.clone(),
                    // Woken already, and the room went to someone else:
                    // back to the front of the line.
                    (None, Some(id)) => state.space_waiters.push_front((id, waker.clone())),
                    (None, None) => {
                        let id = state.next_waiter;
                        state.next_waiter += 1;
                        state.space_waiters.push_back((id, waker.clone()));
                        *waiter = Some(id);
                    }
                }
                Err(SubmitError::Full(f))
            }
        }
    }

    /// Forgets a `submit_async` that gave up; if it had been woken for room
    /// that is still there, the wake-up goes to the next waiter.
    pub(crate) fn forget_waiter(&self, id: u64) {
        let mut state = self.state.lock();
        let before = state.space_waiters.len();
        state.space_waiters.retain(|(i, _)| *i != id);
        let was_woken = state.space_waiters.len() == before;
        let next = if was_woken && matches!(self.admit(&state), Admit::Yes) {
            state.space_waiters.pop_front()
        } else {
            None
        };
        drop(state);
        if let Some((_, waker)) = next {
            waker.wake();
        }
    }

    fn submit_blocking<F, T>(self: &Arc<Self>, f: F) -> Result<ExecFuture<T>, SubmitError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let mut state = self.state.lock();
        loop {
            match self.admit(&state) {
                Admit::Yes => return Ok(self.enqueue(state, f)),
                Admit::ShutDown => return Err(SubmitError::ShutDown(f)),
                Admit::Full => {
                    state.blocked_submitters += 1;
                    self.space.wait(&mut state);
                    state.blocked_submitters -= 1;
                }
            }
        }
    }

    /// Pushes the job, then hands it to an idle worker or starts one.
    fn enqueue<F, T>(self: &Arc<Self>, mut state: MutexGuard<'_, State>, f: F) -> ExecFuture<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (job, future) = new_job(f, self.clone());
        state.queue.push_back(job);
        state.queued += 1;
        if state.idle > 0 {
            state.idle -= 1;
            state.notified += 1;
            drop(state);
            self.work.notify_one();
        } else if state.threads < self.config.max_workers {
            state.threads += 1;
            let id = state.next_worker;
            state.next_worker += 1;
            drop(state);
            self.start_worker(id);
        }
        future
    }

    fn start_worker(self: &Arc<Self>, id: u64) {
        let mut builder = thread::Builder::new().name(format!("{}-{id}", self.config.prefix));
        if let Some(size) = self.config.stack_size {
            builder = builder.stack_size(size);
        }
        let shared = self.clone();
        match builder.spawn(move || shared.work_loop(id)) {
            Ok(handle) => self.state.lock().workers.push((id, handle)),
            Err(_) => self.spawn_failed(),
        }
    }

    /// The OS refused a thread. With other workers alive the job waits for
    /// them; with none, the queued jobs could never run, so they are
    /// cancelled rather than left hanging.
    fn spawn_failed(&self) {
        let mut state = self.state.lock();
        state.threads -= 1;
        let orphans = if state.threads == 0 {
            self.claim_all(&mut state)
        } else {
            Vec::new()
        };
        drop(state);
        self.exited.notify_all();
        orphans.iter().for_each(|job| job.abandon());
    }

    /// Takes every job still queued out of the queue, claimed, so that no
    /// worker and no future can touch the count for them any more.
    fn claim_all(&self, state: &mut State) -> Vec<Arc<dyn Runnable>> {
        let mut claimed: Vec<_> = state.queue.drain(..).collect();
        claimed.retain(|job| job.claim());
        state.queued -= claimed.len();
        claimed
    }

    /// A queued job was cancelled by its future: one more job fits.
    pub(crate) fn release_cancelled_slot(&self) {
        let mut state = self.state.lock();
        state.queued -= 1;
        let waker = self.room_freed(&mut state);
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Wakes one thread and returns one task waker waiting for room.
    fn room_freed(&self, state: &mut State) -> Option<Waker> {
        self.config.max_queued?;
        if state.blocked_submitters > 0 {
            self.space.notify_one();
        }
        state.space_waiters.pop_front().map(|(_, waker)| waker)
    }

    /// Pops jobs until one can be claimed.
    fn next_job(&self, state: &mut State) -> Option<(Arc<dyn Runnable>, Option<Waker>)> {
        while let Some(job) = state.queue.pop_front() {
            if job.claim() {
                state.queued -= 1;
                let waker = self.room_freed(state);
                return Some((job, waker));
            }
        }
        None
    }

    fn work_loop(self: Arc<Self>, id: u64) {
        WORKER_OF.with(|w| w.set(self.id));
        let mut state = self.state.lock();
        loop {
            if let Some((job, waker)) = self.next_job(&mut state) {
                MutexGuard::unlocked(&mut state, || {
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                    // `run` catches the job's panic; this catches one from
                    // dropping its result or from a foreign waker.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run()));
                    drop(job);
                });
                continue;
            }
            if state.shutdown {
                break;
            }
            if self.wait_for_work(&mut state) == Idle::TimedOut {
                // Nobody will join this thread: detach it.
                state.workers.retain(|(w, _)| *w != id);
                break;
            }
        }
        state.threads -= 1;
        drop(state);
        self.exited.notify_all();
    }

    /// Waits as an idle worker until handed a token, shut down, or timed out.
    fn wait_for_work(&self, state: &mut MutexGuard<'_, State>) -> Idle {
        state.idle += 1;
        let deadline = self.config.idle_timeout.and_then(|t| Instant::now().checked_add(t));
        let mut timed_out = false;
        loop {
            if state.notified > 0 {
                // Whoever handed the token took us off the idle count.
                state.notified -= 1;
                return Idle::Work;
            }
            if state.shutdown {
                state.idle -= 1;
                return Idle::Work;
            }
            if timed_out {
                state.idle -= 1;
                return Idle::TimedOut;
            }
            timed_out = match deadline {
                Some(deadline) => self.work.wait_until(state, deadline).timed_out(),
                None => {
                    self.work.wait(state);
                    false
                }
            };
        }
    }

    fn shutdown(&self, wait: bool, cancel_pending: bool) {
        let (cancelled, waiters, workers) = {
            let mut state = self.state.lock();
            state.shutdown = true;
            let cancelled = if cancel_pending {
                self.claim_all(&mut state)
            } else {
                Vec::new()
            };
            let waiters = std::mem::take(&mut state.space_waiters);
            let workers = if wait {
                std::mem::take(&mut state.workers)
            } else {
                Vec::new()
            };
            (cancelled, waiters, workers)
        };
        self.work.notify_all();
        self.space.notify_all();
        waiters.into_iter().for_each(|(_, waker)| waker.wake());
        cancelled.iter().for_each(|job| job.abandon());
        drop(cancelled);
        if wait {
            self.join(workers);
        }
    }

    /// Joins the workers (all but the calling one, if it is a worker).
    fn join(&self, workers: Vec<(u64, JoinHandle<()>)>) {
        let me: ThreadId = thread::current().id();
        for (_, handle) in workers {
            if handle.thread().id() != me {
                let _ = handle.join();
            }
        }
        // Another `shutdown(true)` may hold the handles: wait on the count too.
        let own = usize::from(WORKER_OF.with(|w| w.get()) == self.id);
        let mut state = self.state.lock();
        while state.threads > own {
            self.exited.wait(&mut state);
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Idle {
    Work,
    TimedOut,
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
    }
}
