//! [`TaskId`] and [`TaskInfo`]: what identifies a task.

use std::fmt;
use std::panic::Location;

/// A task's id, unique among the tasks of one loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(u64);

impl TaskId {
    pub(crate) fn new(id: u64) -> TaskId {
        TaskId(id)
    }

    /// The number behind the id (ids start at 1 and increase).
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// What introspection tells about a task: its id, name and where it was spawned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInfo {
    /// The task's id.
    pub id: TaskId,
    /// The name given at spawn time, if any.
    pub name: Option<String>,
    /// The source location of the `spawn` call.
    pub location: &'static Location<'static>,
}

impl fmt::Display for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.id)?;
        if let Some(name) = &self.name {
            write!(f, " '{name}'")?;
        }
        write!(f, " spawned at {}", self.location)
    }
}
