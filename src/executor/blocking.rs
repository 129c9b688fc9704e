//! How a plain thread waits for the pool: it polls, as a task would, with a
//! waker that unparks it (crossbeam's `Parker`), and parks between polls.
//! Used by [`ExecFuture::wait`](crate::ExecFuture::wait) and by `submit` on
//! a full bounded queue, so that blocked threads wait in the same lines as
//! tasks.

use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use crossbeam_utils::sync::{Parker, Unparker};

/// Wakes a thread parked in [`block_until`].
struct Unpark(Unparker);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `poll` with a waker that unparks this thread, parking between
/// polls, until it is ready (`Some`) or `deadline` has passed (`None`, after
/// a last poll). `deadline: None` waits without limit.
pub(super) fn block_until<R>(
    deadline: Option<Instant>,
    mut poll: impl FnMut(&mut Context<'_>) -> Poll<R>,
) -> Option<R> {
    let parker = Parker::new();
    let waker = Waker::from(Arc::new(Unpark(parker.unparker().clone())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = poll(&mut cx) {
            return Some(out);
        }
        match deadline {
            None => parker.park(),
            Some(deadline) if Instant::now() < deadline => parker.park_deadline(deadline),
            Some(_) => return None,
        }
    }
}
