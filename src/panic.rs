//! [`PanicError`]: a caught panic, and how a panic payload's message is read.

use std::any::Any;
use std::fmt;
use std::sync::Mutex;

/// A caught panic: its message, and the payload for `resume_unwind`.
///
/// It is `Send + Sync` (the payload sits behind a lock), so errors holding
/// it convert into `Box<dyn Error + Send + Sync>` and `anyhow::Error`.
///
/// # Examples
///
/// ```
/// let lp = tulipa::EventLoop::new().unwrap();
/// let task = lp.spawn(async { panic!("boom") });
/// let err = lp.run_until_complete(task).unwrap().unwrap_err();
/// let tulipa::TaskError::Panicked(panic) = err else { unreachable!() };
/// assert_eq!(panic.message(), "boom");
/// let payload = panic.into_panic();
/// assert_eq!(*payload.downcast::<&str>().unwrap(), "boom");
/// ```
pub struct PanicError {
    /// Boxed, so that `TaskError` (and every task's output slot) stays one
    /// pointer wide.
    inner: Box<Inner>,
}

struct Inner {
    message: String,
    payload: Mutex<Box<dyn Any + Send>>,
}

impl PanicError {
    pub(crate) fn new(payload: Box<dyn Any + Send>) -> PanicError {
        PanicError {
            inner: Box::new(Inner {
                message: panic_message(&*payload),
                payload: Mutex::new(payload),
            }),
        }
    }

    /// The panic message, if the payload was a string.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The original payload, e.g. for `std::panic::resume_unwind`.
    pub fn into_panic(self) -> Box<dyn Any + Send> {
        match self.inner.payload.into_inner() {
            Ok(payload) => payload,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

impl fmt::Debug for PanicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PanicError")
            .field("message", &self.inner.message)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for PanicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "panicked: {}", self.inner.message)
    }
}

impl std::error::Error for PanicError {}

/// The text of a panic payload (`&str` or `String`), or a placeholder.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}
