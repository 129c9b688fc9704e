//! [`TaskError`]: how a task ended without an output.

use std::fmt;

use crate::panic::PanicError;

/// How a task ended without an output.
///
/// It is `Send + Sync` and one pointer wide, so `task.await?` converts into
/// `Box<dyn Error + Send + Sync>` (or `anyhow::Error`).
///
/// # Examples
///
/// ```
/// fn check() -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
///     let lp = tulipa::EventLoop::new().unwrap();
///     let task = lp.spawn(async { 5 });
///     task.cancel();
///     Ok(lp.run_until_complete(task)??)
/// }
/// assert_eq!(check().unwrap_err().to_string(), "task was cancelled");
/// ```
#[derive(Debug)]
pub enum TaskError {
    /// The task was cancelled before it finished (asyncio's `CancelledError`).
    Cancelled,
    /// The task's future panicked; the panic was caught and the loop went on.
    Panicked(PanicError),
}

impl TaskError {
    /// Whether the task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskError::Cancelled)
    }

    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked(_))
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Cancelled => f.write_str("task was cancelled"),
            TaskError::Panicked(p) => write!(f, "task panicked: {}", p.message()),
        }
    }
}

impl std::error::Error for TaskError {}
