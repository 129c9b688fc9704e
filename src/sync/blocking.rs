//! Acquiring from plain threads (executor jobs, threads of other runtimes):
//! [`Lock::lock_blocking`], [`Semaphore::acquire_blocking`], refused on a
//! thread that runs a tulipa loop, as the queues' blocking calls are.

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::task::Context;

use crate::loom_shim;

use super::{BoundedSemaphore, Lock, LockGuard, Permit, Semaphore};

/// A blocking acquire was called on a thread running a tulipa loop: it
/// would stall every task of the loop, including the one that would
/// release the primitive. Use the async method there.
///
/// # Examples
///
/// ```
/// use tulipa::sync::Lock;
///
/// tulipa::run(async {
///     let lock = Lock::new();
///     assert!(lock.lock_blocking().is_err());
/// })
/// .unwrap();
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct OnLoopThread(());

impl fmt::Debug for OnLoopThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnLoopThread")
    }
}

impl fmt::Display for OnLoopThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("blocking call on the event loop thread; use the async method")
    }
}

impl std::error::Error for OnLoopThread {}

impl Lock {
    /// Waits for the lock on a plain thread, parked (the same FIFO line as
    /// [`lock`](Lock::lock)).
    ///
    /// # Errors
    ///
    /// [`OnLoopThread`] at once, touching nothing, on a thread running a
    /// tulipa loop.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulipa::sync::Lock;
    ///
    /// let lock = Arc::new(Lock::new());
    /// let guard = lock.try_lock().unwrap();
    /// let l = lock.clone();
    /// let waiter = std::thread::spawn(move || {
    ///     let _g = l.lock_blocking().unwrap();
    ///     "got it"
    /// });
    /// drop(guard);
    /// assert_eq!(waiter.join().unwrap(), "got it");
    /// ```
    pub fn lock_blocking(&self) -> Result<LockGuard<'_>, OnLoopThread> {
        refuse_on_loop_thread()?;
        Ok(block_on(self.lock()))
    }
}

impl Semaphore {
    /// Waits for a permit on a plain thread, parked (the same FIFO line as
    /// [`acquire`](Semaphore::acquire)).
    ///
    /// # Errors
    ///
    /// [`OnLoopThread`] at once, touching nothing, on a thread running a
    /// tulipa loop.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = tulipa::sync::Semaphore::new(1);
    /// let permit = sem.acquire_blocking().unwrap();
    /// assert_eq!(sem.available(), 0);
    /// drop(permit);
    /// assert_eq!(sem.available(), 1);
    /// ```
    pub fn acquire_blocking(&self) -> Result<Permit<'_>, OnLoopThread> {
        refuse_on_loop_thread()?;
        Ok(block_on(self.acquire()))
    }
}

impl BoundedSemaphore {
    /// As [`Semaphore::acquire_blocking`].
    ///
    /// # Errors
    ///
    /// [`OnLoopThread`] on a thread running a tulipa loop.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = tulipa::sync::BoundedSemaphore::new(1);
    /// let _permit = sem.acquire_blocking().unwrap();
    /// assert!(sem.try_acquire().is_err());
    /// ```
    pub fn acquire_blocking(&self) -> Result<Permit<'_>, OnLoopThread> {
        refuse_on_loop_thread()?;
        Ok(block_on(self.acquire()))
    }
}

/// The queues' rule, shared through the loom shim: one thread-local read.
fn refuse_on_loop_thread() -> Result<(), OnLoopThread> {
    if loom_shim::on_loop_thread() {
        Err(OnLoopThread(()))
    } else {
        Ok(())
    }
}

/// Polls `future` on this thread, parked between polls (the loom shim's
/// thread parking; a spurious unpark only costs a poll).
pub(super) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    loom_shim::block_on(|waker| future.as_mut().poll(&mut Context::from_waker(waker)))
}
