//! The loom shim: the mutex, the atomics and the thread parking that the
//! queues, the sync primitives, the one-shot, the executor and the loop's
//! inbox use where they cross threads, swapped for loom's models
//! under `cfg(loom)` so that those paths can be checked exhaustively; and,
//! built on them, what a blocked thread does (wait in line behind a waker
//! that unparks it) and the check that refuses to block a loop's thread.
//!
//! A blocked thread parks on a crossbeam `Parker` kept for the crate's
//! blocking calls (one per thread) rather than on the thread's park token,
//! so no other park on the same thread can wake it. A waker of an earlier
//! blocking call may still unpark it early: that costs one more poll, since
//! every call polls again until it is ready. Under `cfg(loom)` it parks on
//! loom's model of the thread's token.
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
use crossbeam_utils::sync::{Parker, Unparker};

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

/// Wakes a thread blocked in a queue's, a primitive's or the executor's
/// blocking call: a blocked thread waits in the same FIFO as tasks, behind
/// an ordinary `Waker`.
#[cfg(not(loom))]
struct ThreadWake(Unparker);

#[cfg(loom)]
struct ThreadWake(Thread);

impl Wake for ThreadWake {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// A blocked thread's sleep between polls, and the waker that ends it.
struct Sleep {
    #[cfg(not(loom))]
    parker: Parker,
    waker: Waker,
}

impl Sleep {
    #[cfg(not(loom))]
    fn new() -> Sleep {
        let parker = Parker::new();
        let waker = Waker::from(Arc::new(ThreadWake(parker.unparker().clone())));
        Sleep { parker, waker }
    }

    #[cfg(loom)]
    fn new() -> Sleep {
        Sleep {
            waker: Waker::from(Arc::new(ThreadWake(current()))),
        }
    }

    /// Parks the calling thread until the waker is woken (or spuriously).
    fn park(&self) {
        #[cfg(not(loom))]
        self.parker.park();
        #[cfg(loom)]
        park();
    }

    /// As [`park`](Sleep::park), or until `deadline`. Returns `false`
    /// once the deadline has passed.
    #[cfg(not(loom))]
    fn park_until(&self, deadline: Instant) -> bool {
        if Instant::now() >= deadline {
            return false;
        }
        self.parker.park_deadline(deadline);
        true
    }

    #[cfg(loom)]
    fn park_until(&self, _: Instant) -> bool {
        unimplemented!("loom models no timeouts")
    }
}

/// Polls `step` with a waker that unparks this thread, parking it between
/// polls, until `step` is ready.
pub(crate) fn block_on<R>(mut step: impl FnMut(&Waker) -> Poll<R>) -> R {
    with_sleep(|sleep| loop {
        if let Poll::Ready(out) = step(&sleep.waker) {
            return out;
        }
        sleep.park();
    })
}

/// [`block_on`] until `deadline`: `None` if `step` is still pending then,
/// after one last poll.
pub(crate) fn block_until<R>(
    deadline: Instant,
    mut step: impl FnMut(&Waker) -> Poll<R>,
) -> Option<R> {
    with_sleep(|sleep| loop {
        if let Poll::Ready(out) = step(&sleep.waker) {
            return Some(out);
        }
        if !sleep.park_until(deadline) {
            return match step(&sleep.waker) {
                Poll::Ready(out) => Some(out),
                Poll::Pending => None,
            };
        }
    })
}

/// Runs `f` with this thread's [`Sleep`], made once per thread, so a
/// blocking call allocates nothing after the thread's first. A waker of an
/// earlier call still held somewhere can only unpark the thread early, which
/// costs one more poll: every caller re-polls until it is ready. (A fresh
/// `Sleep` while the thread's own is being destroyed at thread exit, and
/// under loom, which models no thread-locals here.)
fn with_sleep<R>(f: impl FnOnce(&Sleep) -> R) -> R {
    #[cfg(not(loom))]
    {
        thread_local! {
            static SLEEP: Sleep = Sleep::new();
        }
        let mut f = Some(f);
        if let Ok(out) = SLEEP.try_with(|sleep| (f.take().expect("called once"))(sleep)) {
            return out;
        }
        (f.take().expect("not called yet"))(&Sleep::new())
    }
    #[cfg(loom)]
    {
        f(&Sleep::new())
    }
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
