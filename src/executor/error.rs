//! The executor's errors: [`ExecError`] (a job gave no result) and
//! [`SubmitError`] (a job could not be queued, given back).

use std::fmt;

use crate::task::PanicError;

/// Why a job gave no result.
///
/// # Examples
///
/// ```
/// use tulipa::ThreadPoolExecutor;
///
/// let pool = ThreadPoolExecutor::new(1);
/// let err = pool.submit(|| -> u8 { panic!("boom") }).unwrap().wait().unwrap_err();
/// assert!(err.is_panic());
/// assert_eq!(err.to_string(), "job panicked: boom");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ExecError {
    /// The job was cancelled before a worker started it: by
    /// [`ExecFuture::cancel`](crate::ExecFuture::cancel) or by a shutdown
    /// with `cancel_pending` (`concurrent.futures.CancelledError`).
    Cancelled,
    /// The job panicked; the worker caught it and went on.
    Panicked(PanicError),
    /// The pool was shut down before the job could be queued (asyncio's
    /// "cannot schedule new futures after shutdown").
    ShutDown,
}

impl ExecError {
    /// Whether the job was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use tulipa::ThreadPoolExecutor;
    ///
    /// let pool = ThreadPoolExecutor::new(1);
    /// let (release, gate) = mpsc::channel::<()>();
    /// let (started_tx, started) = mpsc::channel::<()>();
    /// let busy = pool.submit(move || { started_tx.send(()).unwrap(); gate.recv().unwrap() }).unwrap();
    /// started.recv().unwrap(); // the worker is busy
    /// let queued = pool.submit(|| 1).unwrap();
    /// pool.shutdown(false, true); // cancel_pending: `queued` never runs
    /// release.send(()).unwrap();
    /// assert!(queued.wait().unwrap_err().is_cancelled());
    /// busy.wait().unwrap();
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, ExecError::Cancelled)
    }

    /// Whether the job panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulipa::ThreadPoolExecutor::new(1);
    /// let job = pool.submit(|| -> u8 { panic!("no") }).unwrap();
    /// assert!(job.wait().unwrap_err().is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, ExecError::Panicked(_))
    }

    /// Whether the pool was shut down before the job was queued.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulipa::ThreadPoolExecutor::new(1);
    /// pool.shutdown(false, false);
    /// let err = tulipa::run(async move { pool.run(|| 1).await }).unwrap();
    /// assert!(err.unwrap_err().is_shutdown());
    /// ```
    pub fn is_shutdown(&self) -> bool {
        matches!(self, ExecError::ShutDown)
    }

    /// The caught panic, if the job panicked (e.g. to `resume_unwind` it).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulipa::ThreadPoolExecutor::new(1);
    /// let err = pool.submit(|| -> u8 { panic!("lost") }).unwrap().wait().unwrap_err();
    /// let panic = err.into_panic().unwrap();
    /// assert_eq!(panic.message(), "lost");
    /// ```
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
///
/// `Debug` and `Display` do not need the closure to be `Debug`.
///
/// # Examples
///
/// ```
/// let pool = tulipa::ThreadPoolExecutor::new(1);
/// pool.shutdown(false, false);
/// let err = pool.submit(|| 1).unwrap_err();
/// assert_eq!(format!("{err:?}: {err}"), "ShutDown(..): executor is shut down");
/// ```
pub enum SubmitError<F> {
    /// The bounded queue is full (only from
    /// [`try_submit`](crate::ThreadPoolExecutor::try_submit)).
    Full(F),
    /// The pool was shut down.
    ShutDown(F),
}

impl<F> SubmitError<F> {
    /// Whether the queue was full.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    ///
    /// let pool = tulipa::ThreadPoolExecutor::builder().max_workers(1).max_queued(1).build();
    /// let (release, gate) = mpsc::channel::<()>();
    /// let (started_tx, started) = mpsc::channel::<()>();
    /// let busy = pool.submit(move || { started_tx.send(()).unwrap(); gate.recv().unwrap() }).unwrap();
    /// started.recv().unwrap();
    /// let queued = pool.try_submit(|| 1).unwrap();
    /// assert!(pool.try_submit(|| 2).unwrap_err().is_full());
    /// release.send(()).unwrap();
    /// assert_eq!(queued.wait().unwrap(), 1);
    /// busy.wait().unwrap();
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, SubmitError::Full(_))
    }

    /// Whether the pool was shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulipa::ThreadPoolExecutor::new(1);
    /// pool.shutdown(false, false);
    /// assert!(pool.try_submit(|| 1).unwrap_err().is_shutdown());
    /// ```
    pub fn is_shutdown(&self) -> bool {
        matches!(self, SubmitError::ShutDown(_))
    }

    /// The closure that was not queued.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulipa::ThreadPoolExecutor::new(1);
    /// pool.shutdown(false, false);
    /// let f = pool.submit(|| 6 * 7).unwrap_err().into_inner();
    /// assert_eq!(f(), 42); // still ours to run
    /// ```
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
