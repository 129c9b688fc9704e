//! One job: its closure and its result slot, in one allocation shared by
//! the pool's queue and the [`ExecFuture`].
//!
//! The closure moves through these stages, each change under the job's
//! lock; the result goes through the crate's one-shot
//! ([`ResultSlot`](crate::oneshot::ResultSlot)), which wakes the waiter:
//!
//! ```text
//! Queued(f) ──claim (worker, under the pool lock)──▶ Claimed(f) ──run──▶ Running ──▶ Ended (result filled)
//!     │                                                   │
//!     └── ExecFuture dropped / cancelled ──▶ Cancelled    └── pool cancels it (shutdown) ──▶ Ended (Err(Cancelled))
//! ```
//!
//! Whoever takes a job out of `Queued` (a worker's `claim`, or the future's
//! `cancel`) is the one who decrements the pool's count of queued jobs, so
//! the count is right whichever side wins the race. The job knows nothing
//! else of the pool: its future holds the job and a [`QueueSlot`] to give
//! back when it cancels a queued job.
//!
//! A thread that [`wait`](ExecFuture::wait)s polls the job as a task would,
//! parked behind a waker that unparks it (`blocking.rs`).

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::blocking::block_until;
use super::error::ExecError;
use crate::oneshot::{ResultSlot, Taken};
use crate::task::PanicError;

/// What a job's future gives back when it cancels its job while the job is
/// still queued: the job's place under the queue's bound.
pub(crate) trait QueueSlot: Send + Sync {
    /// A queued job was cancelled: one more job fits.
    fn release(&self);
}

/// The queue's view of a job, whatever its closure and result types.
pub(crate) trait Runnable: Send + Sync {
    /// `Queued → Claimed`; false if the job was cancelled while queued.
    /// Called by a worker with the pool lock held.
    fn claim(&self) -> bool;
    /// Runs a claimed job and publishes its result (or its panic).
    fn run(&self);
    /// Gives up a claimed job without running it (shutdown with
    /// `cancel_pending`): its future reports [`ExecError::Cancelled`].
    fn abandon(&self);
}

/// The future's view of a job, typed by its result only.
trait JobHandle<T>: Send + Sync {
    fn poll_result(&self, cx: &mut Context<'_>) -> Poll<Result<T, ExecError>>;
    /// `Queued → Cancelled`. `Some(true)` if this call cancelled it (the
    /// caller must then release its queue slot), `Some(false)` if it was
    /// cancelled already, `None` if it has started or finished.
    fn cancel(&self) -> Option<bool>;
    /// The future is gone: cancel a queued job, or drop a running job's
    /// result when it comes. True if a queued job was cancelled.
    fn detach(&self) -> bool;
    fn is_done(&self) -> bool;
    /// Keeps `guard` alive until the job ends (finishes, is cancelled or
    /// abandoned) or the future is dropped; drops it now if that happened.
    fn keep_until_done(&self, guard: Guard);
}

/// Something a job keeps alive while it is out (the loop's virtual-clock
/// hold); dropped after the waiter has been woken.
pub(crate) type Guard = Box<dyn Send>;

/// Where the job's closure is.
enum Closure<F> {
    Queued(F),
    Claimed(F),
    Running,
    /// It ran (or was abandoned) and its result is in the slot.
    Ended,
    /// Cancelled while queued; never runs.
    Cancelled,
}

/// The closure's stage and the hold kept until the job ends.
struct ClosureStage<F> {
    closure: Closure<F>,
    /// Released when the job ends, after the waiter has been woken.
    until_done: Option<Guard>,
}

struct JobCell<F, T> {
    stage: Mutex<ClosureStage<F>>,
    result: ResultSlot<Result<T, ExecError>>,
}

/// Makes a job: the entry for the pool's queue and the future for the
/// caller, which gives `slot` back if it cancels the queued job.
pub(crate) fn new_job<F, T>(f: F, slot: Arc<dyn QueueSlot>) -> (Arc<dyn Runnable>, ExecFuture<T>)
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let cell = Arc::new(JobCell {
        stage: Mutex::new(ClosureStage {
            closure: Closure::Queued(f),
            until_done: None,
        }),
        result: ResultSlot::new(),
    });
    let future = ExecFuture {
        job: cell.clone(),
        slot,
    };
    (cell, future)
}

impl<F, T> JobCell<F, T> {
    /// `Claimed → Running`: the closure, to run or drop; `None` if the job
    /// is not claimed.
    fn start(&self) -> Option<F> {
        let mut stage = self.stage.lock();
        match std::mem::replace(&mut stage.closure, Closure::Running) {
            Closure::Claimed(f) => Some(f),
            other => {
                stage.closure = other;
                None
            }
        }
    }

    /// Fills the result slot, which wakes the waiter (or drops the outcome
    /// if the future is gone), then ends the hold.
    fn finish(&self, outcome: Result<T, ExecError>) {
        self.result.fill(outcome);
        let guard = {
            let mut stage = self.stage.lock();
            stage.closure = Closure::Ended;
            stage.until_done.take()
        };
        // Only now: a virtual clock must not jump before the wake is posted.
        drop(guard);
    }
}

impl<F, T> Runnable for JobCell<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    fn claim(&self) -> bool {
        let mut stage = self.stage.lock();
        match std::mem::replace(&mut stage.closure, Closure::Running) {
            Closure::Queued(f) => {
                stage.closure = Closure::Claimed(f);
                true
            }
            other => {
                stage.closure = other;
                false
            }
        }
    }

    fn run(&self) {
        let Some(f) = self.start() else { return };
        let outcome = catch_unwind(AssertUnwindSafe(f))
            .map_err(|payload| ExecError::Panicked(PanicError::new(payload)));
        self.finish(outcome);
    }

    fn abandon(&self) {
        let Some(f) = self.start() else { return };
        // The closure's captures are dropped before the waiter hears of it.
        drop(f);
        self.finish(Err(ExecError::Cancelled));
    }
}

impl<F, T> JobHandle<T> for JobCell<F, T>
where
    F: Send,
    T: Send,
{
    fn poll_result(&self, cx: &mut Context<'_>) -> Poll<Result<T, ExecError>> {
        self.result.poll_take(cx).map(|taken| match taken {
            Taken::Value(outcome) => outcome,
            // A job's slot is always filled, never closed.
            Taken::Closed => Err(ExecError::Cancelled),
            Taken::Gone => panic!("ExecFuture polled after it completed"),
        })
    }

    fn cancel(&self) -> Option<bool> {
        let (f, guard) = {
            let mut stage = self.stage.lock();
            match std::mem::replace(&mut stage.closure, Closure::Cancelled) {
                Closure::Queued(f) => (f, stage.until_done.take()),
                Closure::Cancelled => return Some(false),
                other => {
                    stage.closure = other;
                    return None;
                }
            }
        };
        drop(f);
        self.result.fill(Err(ExecError::Cancelled));
        drop(guard);
        Some(true)
    }

    fn detach(&self) -> bool {
        let (f, guard) = {
            let mut stage = self.stage.lock();
            let guard = stage.until_done.take();
            match std::mem::replace(&mut stage.closure, Closure::Cancelled) {
                Closure::Queued(f) => (Some(f), guard),
                other => {
                    stage.closure = other;
                    (None, guard)
                }
            }
        };
        let cancelled = f.is_some();
        // User values are dropped outside the lock: the closure here, a
        // result already there (or still to come) by the slot.
        drop(f);
        self.result.detach();
        drop(guard);
        cancelled
    }

    fn keep_until_done(&self, guard: Guard) {
        let mut stage = self.stage.lock();
        let late = match stage.closure {
            Closure::Ended | Closure::Cancelled => Some(guard),
            _ => stage.until_done.replace(guard),
        };
        drop(stage);
        drop(late);
    }

    fn is_done(&self) -> bool {
        self.result.is_ready()
    }
}

/// The result of a job submitted to a
/// [`ThreadPoolExecutor`](crate::ThreadPoolExecutor) (`concurrent.futures.Future`).
///
/// Await it on any executor (tulipa, tokio, a `block_on`), or block a plain
/// thread on it with [`wait`](ExecFuture::wait) /
/// [`wait_timeout`](ExecFuture::wait_timeout). It is `Send + Sync`.
///
/// Dropping it cancels the job if no worker has started it yet (the closure
/// is dropped and never runs); a job already running runs to the end and its
/// result is dropped.
///
/// On a loop with a virtual clock, await jobs through
/// [`ThreadPoolExecutor::run`](crate::ThreadPoolExecutor::run) or
/// [`run_in_executor_on`](crate::run_in_executor_on) instead: they also keep
/// virtual time from jumping past a job that is still running.
///
/// # Examples
///
/// ```
/// use tulipa::ThreadPoolExecutor;
///
/// let pool = ThreadPoolExecutor::new(2);
/// let job = pool.submit(|| 6 * 7).unwrap();
/// assert_eq!(job.wait().unwrap(), 42);
/// ```
#[must_use = "dropping an ExecFuture cancels its job if it has not started"]
pub struct ExecFuture<T> {
    job: Arc<dyn JobHandle<T>>,
    slot: Arc<dyn QueueSlot>,
}

impl<T> ExecFuture<T> {
    /// Keeps `guard` alive until the job ends or this future is dropped,
    /// whichever comes first, even if the future is never polled.
    pub(crate) fn keep_until_done(&self, guard: Guard) {
        self.job.keep_until_done(guard);
    }

    /// Cancels the job if no worker has started it (`concurrent.futures.Future.cancel`).
    ///
    /// Returns `true` if the job is cancelled: it will never run, its closure
    /// is dropped now, and the future resolves to [`ExecError::Cancelled`].
    /// Returns `false` if the job is running or finished; it then runs to
    /// the end and the future gives its result as usual.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use tulipa::ThreadPoolExecutor;
    ///
    /// let pool = ThreadPoolExecutor::new(1);
    /// let (release, gate) = mpsc::channel::<()>();
    /// let busy = pool.submit(move || gate.recv().unwrap()).unwrap();
    /// let queued = pool.submit(|| unreachable!("never runs")).unwrap();
    /// assert!(queued.cancel());
    /// assert!(queued.wait().unwrap_err().is_cancelled());
    /// release.send(()).unwrap();
    /// busy.wait().unwrap();
    /// ```
    pub fn cancel(&self) -> bool {
        match self.job.cancel() {
            Some(true) => {
                self.slot.release();
                true
            }
            Some(false) => true,
            None => false,
        }
    }

    /// Whether the job has finished, panicked or been cancelled
    /// (`concurrent.futures.Future.done`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    ///
    /// let pool = tulipa::ThreadPoolExecutor::new(1);
    /// let (release, gate) = mpsc::channel::<()>();
    /// let job = pool.submit(move || gate.recv().unwrap()).unwrap();
    /// assert!(!job.is_done()); // blocked on the gate
    /// let queued = pool.submit(|| ()).unwrap();
    /// assert!(queued.cancel());
    /// assert!(queued.is_done()); // a cancelled job is done
    /// release.send(()).unwrap();
    /// job.wait().unwrap();
    /// ```
    #[doc(alias = "done")]
    pub fn is_done(&self) -> bool {
        self.job.is_done()
    }

    /// Blocks the calling thread until the job is done and returns its result
    /// (`concurrent.futures.Future.result`).
    ///
    /// Never call this on a loop's thread for a job that needs that loop:
    /// the loop could not run meanwhile.
    ///
    /// # Errors
    ///
    /// [`ExecError::Panicked`] if the job panicked, [`ExecError::Cancelled`]
    /// if it was cancelled before it started.
    ///
    /// # Panics
    ///
    /// If the future already gave its result by being polled.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulipa::ThreadPoolExecutor::new(1);
    /// let job = pool.submit(|| "done".to_owned()).unwrap();
    /// assert_eq!(job.wait().unwrap(), "done");
    /// ```
    #[doc(alias = "result")]
    pub fn wait(self) -> Result<T, ExecError> {
        block_until(None, |cx| self.job.poll_result(cx))
            .expect("an untimed wait returns only once the job is done")
    }

    /// Like [`wait`](ExecFuture::wait) for at most `timeout`; gives the future
    /// back if the job is still queued or running. Any `timeout` is valid;
    /// one too large for the clock waits without limit.
    ///
    /// # Errors
    ///
    /// `Err(self)` if `timeout` passed first (the job is not cancelled).
    /// `Ok(Err(_))` as for [`wait`](ExecFuture::wait).
    ///
    /// # Panics
    ///
    /// If the future already gave its result by being polled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    ///
    /// let pool = tulipa::ThreadPoolExecutor::new(1);
    /// let (release, gate) = mpsc::channel::<()>();
    /// let job = pool.submit(move || gate.recv().unwrap()).unwrap();
    /// let job = job.wait_timeout(Duration::from_millis(1)).unwrap_err(); // still blocked
    /// release.send(()).unwrap();
    /// assert!(job.wait_timeout(Duration::MAX).unwrap().is_ok());
    /// ```
    pub fn wait_timeout(self, timeout: Duration) -> Result<Result<T, ExecError>, ExecFuture<T>> {
        let deadline = Instant::now().checked_add(timeout);
        match block_until(deadline, |cx| self.job.poll_result(cx)) {
            Some(outcome) => Ok(outcome),
            None => Err(self),
        }
    }
}

impl<T> Future for ExecFuture<T> {
    type Output = Result<T, ExecError>;

    /// # Panics
    ///
    /// If polled again after it returned `Ready`.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.job.poll_result(cx)
    }
}

impl<T> Drop for ExecFuture<T> {
    fn drop(&mut self) {
        if self.job.detach() {
            self.slot.release();
        }
    }
}

impl<T> fmt::Debug for ExecFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecFuture")
            .field("done", &self.is_done())
            .finish()
    }
}
