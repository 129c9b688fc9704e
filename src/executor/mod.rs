//! Offloading blocking work: [`ThreadPoolExecutor`] and
//! [`run_in_executor`] (asyncio's `loop.run_in_executor` on
//! `concurrent.futures.ThreadPoolExecutor`).
//!
//! - `builder.rs`: [`Builder`], the pool's settings;
//! - `pool.rs`: the pool, its workers and its (optionally bounded) queue;
//! - `job.rs`: one job and its [`ExecFuture`];
//! - `submit.rs`: [`Submit`], queuing without blocking while the queue is full;
//! - `run.rs`: the loop side, [`run_in_executor`] and [`RunInExecutor`].
//!
//! A job travels: `submit` pushes it on the pool's queue and hands it to an
//! idle worker (or starts one, up to `max_workers`); the worker runs it,
//! stores the result in the job and wakes the waiting task's waker. Woken
//! from the worker thread, that waker posts through the loop's inbox and
//! `mio::Waker`, as `call_soon_threadsafe` does.
//!
//! ```
//! use std::time::Duration;
//!
//! let lp = tulipa::EventLoop::new().unwrap();
//! let primes = lp.run(async {
//!     let count = tulipa::run_in_executor(|| (2..10_000u32).filter(|n| (2..*n).take_while(|d| d * d <= *n).all(|d| n % d != 0)).count());
//!     tulipa::sleep(Duration::from_millis(1)).await; // the loop goes on meanwhile
//!     count.await.unwrap()
//! });
//! assert_eq!(primes.unwrap(), 1229);
//! ```

mod builder;
mod job;
mod pool;
mod run;
mod shared;
mod submit;
mod worker;

use std::fmt;

pub use builder::Builder;
pub use job::ExecFuture;
pub use pool::ThreadPoolExecutor;
pub use run::{run_in_executor, run_in_executor_on, RunInExecutor};
pub use submit::Submit;

use crate::task::PanicError;

/// Why a job gave no result.
#[derive(Debug)]
#[non_exhaustive]
pub enum ExecError {
    /// The job was cancelled before a worker started it: by
    /// [`ExecFuture::cancel`] or by a shutdown with `cancel_pending`
    /// (`concurrent.futures.CancelledError`).
    Cancelled,
    /// The job panicked; the worker caught it and went on.
    Panicked(PanicError),
    /// The pool was shut down before the job could be queued (asyncio's
    /// "cannot schedule new futures after shutdown").
    ShutDown,
}

impl ExecError {
    /// Whether the job was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, ExecError::Cancelled)
    }

    /// Whether the job panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, ExecError::Panicked(_))
    }

    /// Whether the pool was shut down before the job was queued.
    pub fn is_shutdown(&self) -> bool {
        matches!(self, ExecError::ShutDown)
    }

    /// The caught panic, if the job panicked (e.g. to `resume_unwind` it).
    pub fn into_panic(self) -> Option<PanicError> {
        match self {
            ExecError::Panicked(p) => Some(p),
            _ => None,
        }
    }
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecError::Cancelled => f.write_str("job was cancelled"),
            ExecError::Panicked(p) => write!(f, "job panicked: {}", p.message()),
            ExecError::ShutDown => f.write_str("executor is shut down"),
        }
    }
}

impl std::error::Error for ExecError {}

/// A job that could not be queued, given back.
pub enum SubmitError<F> {
    /// The bounded queue is full (only from
    /// [`try_submit`](ThreadPoolExecutor::try_submit)).
    Full(F),
    /// The pool was shut down.
    ShutDown(F),
}

impl<F> SubmitError<F> {
    /// Whether the queue was full.
    pub fn is_full(&self) -> bool {
        matches!(self, SubmitError::Full(_))
    }

    /// Whether the pool was shut down.
    pub fn is_shutdown(&self) -> bool {
        matches!(self, SubmitError::ShutDown(_))
    }

    /// The closure that was not queued.
    pub fn into_inner(self) -> F {
        match self {
            SubmitError::Full(f) | SubmitError::ShutDown(f) => f,
        }
    }
}

impl<F> fmt::Debug for SubmitError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::Full(_) => f.write_str("Full(..)"),
            SubmitError::ShutDown(_) => f.write_str("ShutDown(..)"),
        }
    }
}

impl<F> fmt::Display for SubmitError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::Full(_) => f.write_str("executor queue is full"),
            SubmitError::ShutDown(_) => f.write_str("executor is shut down"),
        }
    }
}

impl<F> std::error::Error for SubmitError<F> {}
