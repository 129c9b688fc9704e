//! One job: its closure, its result and the one waiter, in one allocation
//! shared by the pool's queue and the [`ExecFuture`].
//!
//! A job moves through these stages, each change under the job's own lock:
//!
//! ```text
//! Queued(f) ──claim (worker, under the pool lock)──▶ Claimed(f) ──run──▶ Running ──▶ Done(result) ──▶ Taken
//!     │                                                   │
//!     └── ExecFuture dropped / cancelled ──▶ Cancelled    └── pool cancels it (shutdown) ──▶ Done(Err(Cancelled))
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
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::blocking::block_until;
use super::error::ExecError;
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

enum Stage<F, T> {
    Queued(F),
    Claimed(F),
    Running,
    Done(Result<T, ExecError>),
    Cancelled,
    /// The result was handed out.
    Taken,
}

struct State<F, T> {
    stage: Stage<F, T>,
    waker: Option<Waker>,
    /// The future was dropped: a result that arrives is dropped at once.
    detached: bool,
    /// Released when the job ends, after the waker has been woken.
    until_done: Option<Guard>,
}

struct JobCell<F, T> {
    state: Mutex<State<F, T>>,
}

/// Makes a job: the entry for the pool's queue and the future for the
/// caller, which gives `slot` back if it cancels the queued job.
pub(crate) fn new_job<F, T>(f: F, slot: Arc<dyn QueueSlot>) -> (Arc<dyn Runnable>, ExecFuture<T>)
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let cell = Arc::new(JobCell {
        state: Mutex::new(State {
            stage: Stage::Queued(f),
            waker: None,
            detached: false,
            until_done: None,
        }),
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
        let mut state = self.state.lock();
        match std::mem::replace(&mut state.stage, Stage::Running) {
            Stage::Claimed(f) => Some(f),
            other => {
                state.stage = other;
                None
            }
        }
    }

    /// Stores the outcome, wakes the waiter (after the lock is released).
    /// A detached job's result is dropped here, outside the lock.
    fn finish(&self, outcome: Result<T, ExecError>) {
        let mut state = self.state.lock();
        let guard = state.until_done.take();
        if state.detached {
            state.stage = Stage::Taken;
            drop(state);
            drop(outcome);
            return;
        }
        state.stage = Stage::Done(outcome);
        let waker = state.waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
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
        let mut state = self.state.lock();
        match std::mem::replace(&mut state.stage, Stage::Running) {
            Stage::Queued(f) => {
                state.stage = Stage::Claimed(f);
                true
            }
            other => {
                state.stage = other;
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
        let mut state = self.state.lock();
        match std::mem::replace(&mut state.stage, Stage::Taken) {
            Stage::Done(outcome) => Poll::Ready(outcome),
            Stage::Cancelled => Poll::Ready(Err(ExecError::Cancelled)),
            Stage::Taken => panic!("ExecFuture polled after it completed"),
            pending => {
                state.stage = pending;
                match &state.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => state.waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }

    fn cancel(&self) -> Option<bool> {
        let (f, guard) = {
            let mut state = self.state.lock();
            match std::mem::replace(&mut state.stage, Stage::Cancelled) {
                Stage::Queued(f) => (f, state.until_done.take()),
                Stage::Cancelled => return Some(false),
                other => {
                    state.stage = other;
                    return None;
                }
            }
        };
        drop(f);
        drop(guard);
        Some(true)
    }

    fn detach(&self) -> bool {
        let (f, result, guard) = {
            let mut state = self.state.lock();
            state.detached = true;
            state.waker = None;
            let guard = state.until_done.take();
            match std::mem::replace(&mut state.stage, Stage::Taken) {
                Stage::Queued(f) => (Some(f), None, guard),
                Stage::Done(outcome) => (None, Some(outcome), guard),
                other => {
                    state.stage = other;
                    (None, None, guard)
                }
            }
        };
        let cancelled = f.is_some();
        // User values are dropped outside the lock.
        drop(f);
        drop(result);
        drop(guard);
        cancelled
    }

    fn keep_until_done(&self, guard: Guard) {
        let mut state = self.state.lock();
        let ended = state.detached
            || matches!(
                state.stage,
                Stage::Done(_) | Stage::Cancelled | Stage::Taken
            );
        let late = if ended {
            Some(guard)
        } else {
            state.until_done.replace(guard)
        };
        drop(state);
        drop(late);
    }

    fn is_done(&self) -> bool {
        matches!(
            self.state.lock().stage,
            Stage::Done(_) | Stage::Cancelled | Stage::Taken
        )
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
