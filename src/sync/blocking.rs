//! Acquiring from plain threads (executor jobs, threads of other runtimes):
//! [`Lock::lock_blocking`], [`Semaphore::acquire_blocking`], refused on a
//! thread that runs a tulipa loop, as the queues' blocking calls are.

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

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

/// The queues' rule: one thread-local read. Always allowed under loom,
/// which models no loop.
fn refuse_on_loop_thread() -> Result<(), OnLoopThread> {
    #[cfg(not(loom))]
    let on_loop = crate::runtime::context::with_current(|core| core.is_some());
    #[cfg(loom)]
    let on_loop = false;
    if on_loop {
        Err(OnLoopThread(()))
    } else {
        Ok(())
    }
}

/// Unparks the waiting thread.
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` on this thread, parking between polls (a spurious
/// unpark only costs a poll).
fn block_on<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}
