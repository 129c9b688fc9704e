//! The loom shim: the mutex, the atomics and the thread parking that the
//! queues, the sync primitives, the one-shot and the loop's inbox use where
//! they cross threads, swapped for loom's models
//! under `cfg(loom)` so that those paths can be checked exhaustively; and,
//! built on them, what a blocked thread does (wait in line behind a waker
//! that unparks it) and the check that refuses to block a loop's thread.
//!
//! loom's mutex cannot be built in a constant, so the primitives' `const`
//! constructors are written through [`const_fn_unless_loom!`], which drops
//! the `const` under `cfg(loom)` only.

use std::sync::Arc;
use std::task::{Poll, Wake, Waker};
use std::time::Instant;

#[cfg(not(loom))]
pub(crate) use parking_lot::{Mutex, MutexGuard};

#[cfg(not(loom))]
use std::thread::{current, park, park_timeout, Thread};

#[cfg(loom)]
pub(crate) use self::loom_mutex::{Mutex, MutexGuard};

#[cfg(loom)]
use loom::thread::{current, park, Thread};

/// The atomics of the cross-thread hand-offs (the loop's inbox).
pub(crate) mod atomic {
    #[cfg(not(loom))]
    pub(crate) use std::sync::atomic::AtomicUsize;
    pub(crate) use std::sync::atomic::Ordering;

    #[cfg(loom)]
    pub(crate) use loom::sync::atomic::AtomicUsize;
}

#[cfg(loom)]
mod loom_mutex {
    /// loom's mutex with parking_lot's signature (no poisoning).
    #[derive(Debug)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Mutex<T> {
            Mutex(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock().unwrap()
        }
    }
}

/// Defines the function it is given as a `const fn`, or under `cfg(loom)`
/// as a plain `fn` (loom's mutex has no `const` constructor).
macro_rules! const_fn_unless_loom {
    ($(#[$attr:meta])* $vis:vis fn $($rest:tt)*) => {
        #[cfg(not(loom))]
        $(#[$attr])* $vis const fn $($rest)*
        #[cfg(loom)]
        $(#[$attr])* $vis fn $($rest)*
    };
}
pub(crate) use const_fn_unless_loom;

/// Wakes a thread blocked in a queue's or a primitive's blocking call: a
/// blocked thread waits in the same FIFO as tasks, behind an ordinary
/// `Waker`.
struct ThreadWake(Thread);

impl Wake for ThreadWake {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// A waker that unparks the calling thread.
fn thread_waker() -> Waker {
    Waker::from(Arc::new(ThreadWake(current())))
}

/// Polls `step` with a waker that unparks this thread, parking it between
/// polls, until `step` is ready.
pub(crate) fn block_on<R>(mut step: impl FnMut(&Waker) -> Poll<R>) -> R {
    let waker = thread_waker();
    loop {
        if let Poll::Ready(out) = step(&waker) {
            return out;
        }
        park();
    }
}

/// [`block_on`] until `deadline`: `None` if `step` is still pending then,
/// after one last poll.
pub(crate) fn block_until<R>(
    deadline: Instant,
    mut step: impl FnMut(&Waker) -> Poll<R>,
) -> Option<R> {
    let waker = thread_waker();
    loop {
        if let Poll::Ready(out) = step(&waker) {
            return Some(out);
        }
        if !park_until(deadline) {
            return match step(&waker) {
                Poll::Ready(out) => Some(out),
                Poll::Pending => None,
            };
        }
    }
}

/// Parks the calling thread until it is unparked (or spuriously woken), or
/// until `deadline`. Returns `false` once the deadline has passed.
#[cfg(not(loom))]
fn park_until(deadline: Instant) -> bool {
    let now = Instant::now();
    if now >= deadline {
        return false;
    }
    park_timeout(deadline - now);
    true
}

#[cfg(loom)]
fn park_until(_: Instant) -> bool {
    unimplemented!("loom models no timeouts")
}

/// Whether a tulipa loop is running on this thread: a blocking call here
/// would stall every task of the loop, including the one that would unblock
/// it, so the call returns an `OnLoopThread` error instead (one thread-local
/// read). Always `false` under loom, which models no loop.
pub(crate) fn on_loop_thread() -> bool {
    #[cfg(not(loom))]
    {
        crate::runtime::context::with_current(|core| core.is_some())
    }
    #[cfg(loom)]
    {
        false
    }
}
