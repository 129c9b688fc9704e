//! Task wakers. Woken on the loop thread, a waker appends its task to the
//! ready queue directly (no lock, no syscall); woken anywhere else, it posts
//! the task's key through the loop's inbox and wakes the selector.

use std::sync::Arc;
use std::task::Wake;

use super::TaskKey;
use crate::runtime::context;
use crate::runtime::core::Core;
use crate::runtime::remote::{Msg, Remote};

pub(crate) struct TaskWake {
    key: TaskKey,
    loop_id: u64,
    remote: Arc<Remote>,
}

impl TaskWake {
    pub(crate) fn new(key: TaskKey, core: &Core) -> TaskWake {
        TaskWake {
            key,
            loop_id: core.id,
            remote: core.remote.clone(),
        }
    }
}

impl Wake for TaskWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let local = context::with_current(|core| match core {
            Some(core) if core.id == self.loop_id => {
                core.schedule_task(self.key);
                true
            }
            _ => false,
        });
        if !local {
            // A closed loop refuses the post; its tasks are gone, so nothing is lost.
            let _ = self.remote.post(Msg::Wake(self.key));
        }
    }
}
