//! The lock and the thread parking the queue uses, swapped for loom's
//! models under `cfg(loom)` so that the thread-crossing path can be checked
//! exhaustively.

use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::Instant;

#[cfg(not(loom))]
pub(crate) use parking_lot::{Mutex, MutexGuard};

#[cfg(not(loom))]
use std::thread::{current, park, park_timeout, Thread};

#[cfg(loom)]
pub(crate) use self::loom_mutex::{Mutex, MutexGuard};

#[cfg(loom)]
use loom::thread::{current, park, Thread};

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

/// Wakes a thread blocked in `put_blocking` / `get_blocking`: a blocked
/// thread waits in the same FIFO as tasks, behind an ordinary `Waker`.
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
pub(crate) fn thread_waker() -> Waker {
    Waker::from(Arc::new(ThreadWake(current())))
}

/// Parks the calling thread until it is unparked (or spuriously woken), or
/// until `deadline`. Returns `false` once the deadline has passed.
pub(crate) fn park_until(deadline: Option<Instant>) -> bool {
    match deadline {
        None => {
            park();
            true
        }
        #[cfg(not(loom))]
        Some(deadline) => {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            park_timeout(deadline - now);
            true
        }
        #[cfg(loom)]
        Some(_) => unimplemented!("loom models no timeouts"),
    }
}

/// Whether a tulipa loop is running on this thread: a blocking queue call
/// here would stall every task of the loop, including the one that would
/// unblock it, so the call returns `OnLoopThread` instead (one thread-local
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
