//! Waiting for the tasks a time limit cancelled to finish unwinding, as
//! asyncio's `wait_for` and `timeout` do before they raise `TimeoutError`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::runtime::context;
use crate::runtime::raw_task::TaskRef;

/// Drops `future` (through `drop_it`) and gives back the tasks that this
/// cancelled: the awaited `Task` handles inside it, dropped unfinished.
pub(crate) fn cancel_inner(drop_it: impl FnOnce()) -> Unwinding {
    Unwinding {
        tasks: context::collect_cancelled(drop_it),
    }
}

/// Ready once every task it holds is done (its future dropped, the
/// cleanup in its `Drop` run).
pub(crate) struct Unwinding {
    tasks: Vec<TaskRef>,
}

impl Future for Unwinding {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.tasks.retain(|task| !task.is_done());
        match self.tasks.first() {
            None => Poll::Ready(()),
            Some(task) => {
                // The handle is gone, so the task's join slot is free. One
                // at a time: the rest are checked again when it wakes us.
                task.set_join_waker(cx.waker());
                Poll::Pending
            }
        }
    }
}
