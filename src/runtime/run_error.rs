//! [`RunError`]: why a loop could not run.

use std::fmt;
use std::io;

/// Why a loop could not run, or stopped before its future completed.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunError {
    /// A loop is already running on this thread (asyncio: "This event loop is
    /// already running" / "Cannot run the event loop while another loop is running").
    AlreadyRunning,
    /// The loop was closed.
    Closed,
    /// `stop()` ended the loop before the future completed.
    Stopped,
    /// The future was cancelled: it runs as the loop's main task, and
    /// [`current_task`](crate::current_task)`().cancel()` inside it cancels
    /// it as any task (asyncio raises `CancelledError` out of
    /// `run_until_complete`).
    Cancelled,
    /// The selector could not be created.
    Io(io::Error),
    /// Ctrl-C (`SIGINT`) interrupted [`run`](super::run) (asyncio's `KeyboardInterrupt`).
    #[cfg(feature = "signal")]
    Interrupted,
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::AlreadyRunning => {
                f.write_str("an event loop is already running on this thread")
            }
            RunError::Closed => f.write_str("event loop is closed"),
            RunError::Stopped => f.write_str("event loop stopped before the future completed"),
            RunError::Cancelled => f.write_str("the future of run_until_complete was cancelled"),
            RunError::Io(e) => write!(f, "cannot create the event loop: {e}"),
            #[cfg(feature = "signal")]
            RunError::Interrupted => f.write_str("interrupted by Ctrl-C (SIGINT)"),
        }
    }
}

impl std::error::Error for RunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunError::Io(e) => Some(e),
            _ => None,
        }
    }
}
