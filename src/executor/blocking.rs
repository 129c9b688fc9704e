//! How a plain thread waits for the pool: it polls, as a task would, with a
//! waker that unparks it, and parks between polls: the crate's one blocking
//! wait ([`loom_shim::block_on`] / [`loom_shim::block_until`], on a
//! crossbeam `Parker`), taking a `Context` as the pool's futures do.
//! Used by [`ExecFuture::wait`](crate::ExecFuture::wait) and by `submit` on
//! a full bounded queue, so that blocked threads wait in the same lines as
//! tasks.

use std::task::{Context, Poll};
use std::time::Instant;

use crate::loom_shim;

/// Polls `poll` with a waker that unparks this thread, parking between
/// polls, until it is ready (`Some`) or `deadline` has passed (`None`, after
/// a last poll). `deadline: None` waits without limit.
pub(super) fn block_until<R>(
    deadline: Option<Instant>,
    mut poll: impl FnMut(&mut Context<'_>) -> Poll<R>,
) -> Option<R> {
    let step = |waker: &_| poll(&mut Context::from_waker(waker));
    match deadline {
        None => Some(loom_shim::block_on(step)),
        Some(deadline) => loom_shim::block_until(deadline, step),
    }
}
