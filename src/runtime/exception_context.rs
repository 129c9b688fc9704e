//! [`ExceptionContext`]: what the loop's exception handler receives.

use std::fmt;

use crate::panic::panic_message;
use crate::task::id::TaskInfo;

/// What the exception handler receives: a panic in a callback, or in a task
/// whose handle was dropped so nobody will see its result.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ExceptionContext {
    /// A short description, e.g. "callback panicked".
    pub message: String,
    /// The panic message, if the payload was a string.
    pub panic: Option<String>,
    /// The task concerned, if any.
    pub task: Option<TaskInfo>,
}

impl ExceptionContext {
    pub(crate) fn callback_panic(payload: Box<dyn std::any::Any + Send>) -> ExceptionContext {
        ExceptionContext {
            message: "callback panicked".to_owned(),
            panic: Some(panic_message(&*payload)),
            task: None,
        }
    }
}

impl fmt::Display for ExceptionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(task) = &self.task {
            write!(f, " ({task})")?;
        }
        if let Some(panic) = &self.panic {
            write!(f, ": {panic}")?;
        }
        Ok(())
    }
}
