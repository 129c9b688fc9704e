//! [`Lock`]: a strictly FIFO mutual-exclusion lock for tasks (asyncio's
//! `Lock`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::loom_shim::{const_fn_unless_loom, Mutex};
use crate::waiters::{Seen, WaiterList};

/// A mutual-exclusion lock for tasks (asyncio's `Lock`).
///
/// [`lock`](Lock::lock) waits for the lock and gives a [`LockGuard`] that
/// unlocks it on drop (asyncio's `async with lock:`). Like asyncio's lock it
/// guards no data: it orders tasks. Keep the protected state in a `Cell` or
/// `RefCell` (loop-local) or a plain `Mutex`, and touch it only while holding
/// the guard.
///
/// **Fairness.** Waiters acquire in arrival order, with no barging (asyncio
/// 3.11+): unlocking hands the lock straight to the first waiter, so a task
/// that calls `lock()` while others wait queues behind them. A lock being
/// handed over therefore still reports [`is_locked`](Lock::is_locked).
///
/// **Cancellation.** A waiter that is dropped (its task cancelled) leaves the
/// queue; one dropped after the lock was handed to it, but before it ran,
/// passes the lock to the next waiter. Nobody is stranded.
///
/// The lock needs only a [`Waker`], so it also works under tokio or smol,
/// and is `Send + Sync`: tasks on different loops and threads can share it
/// through an `Arc`.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use tulipa::sync::Lock;
///
/// tulipa::run(async {
///     let lock = Rc::new(Lock::new());
///     let total = Rc::new(Cell::new(0));
///     let mut tasks = Vec::new();
///     for _ in 0..3 {
///         let (lock, total) = (lock.clone(), total.clone());
///         tasks.push(tulipa::spawn(async move {
///             let _guard = lock.lock().await;
///             let seen = total.get();
///             tulipa::yield_now().await; // others queue up meanwhile
///             total.set(seen + 1);
///         }));
///     }
///     for task in tasks {
///         task.await.unwrap();
///     }
///     assert_eq!(total.get(), 3);
/// })
/// .unwrap();
/// ```
pub struct Lock {
    state: Mutex<LockState>,
}

struct LockState {
    /// Held, or being handed to a notified waiter. When `false` nobody waits.
    locked: bool,
    waiters: WaiterList,
}

impl Lock {
    const_fn_unless_loom! {
        /// An unlocked lock.
        ///
        /// # Examples
        ///
        /// ```
        /// static LOCK: tulipa::sync::Lock = tulipa::sync::Lock::new(); // const: usable in a static
        /// assert!(!LOCK.is_locked());
        /// let guard = LOCK.try_lock().unwrap();
        /// assert!(LOCK.is_locked());
        /// drop(guard);
        /// assert!(!LOCK.is_locked());
        /// ```
        pub fn new() -> Lock {
            Lock {
                state: Mutex::new(LockState {
                    locked: false,
                    waiters: WaiterList::new(),
                }),
            }
        }
    }

    /// Waits until the lock is free and this caller's turn has come, then
    /// locks it (asyncio's `acquire`, and `async with lock:`).
    ///
    /// The future enters the queue at its first poll.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes gives up its place in the
    /// queue; if the lock had already been handed to it, the lock passes to
    /// the next waiter (or becomes free). No other waiter is stranded.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::sync::Lock;
    ///
    /// tulipa::run(async {
    ///     let lock = Lock::new();
    ///     let guard = lock.lock().await;
    ///     assert!(lock.is_locked());
    ///     drop(guard);
    ///     assert!(!lock.is_locked());
    /// })
    /// .unwrap();
    /// ```
    #[doc(alias = "acquire")]
    pub fn lock(&self) -> LockAcquire<'_> {
        LockAcquire {
            lock: self,
            key: None,
            done: false,
        }
    }

    /// Locks the lock if it is free right now.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if it is locked (or being handed to a waiter).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::sync::Lock;
    ///
    /// let lock = Lock::new();
    /// let guard = lock.try_lock().unwrap();
    /// assert!(lock.try_lock().is_err());
    /// drop(guard);
    /// assert!(lock.try_lock().is_ok());
    /// ```
    pub fn try_lock(&self) -> Result<LockGuard<'_>, TryLockError> {
        let mut state = self.state.lock();
        if state.locked {
            return Err(TryLockError(()));
        }
        state.locked = true;
        Ok(LockGuard { lock: self })
    }

    /// Whether the lock is held, or being handed to a waiter (asyncio's
    /// `locked()`).
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = tulipa::sync::Lock::new();
    /// assert!(!lock.is_locked());
    /// let _guard = lock.try_lock().unwrap();
    /// assert!(lock.is_locked());
    /// ```
    #[doc(alias = "locked")]
    pub fn is_locked(&self) -> bool {
        self.state.lock().locked
    }

    /// Unlocks, or hands the lock to the first waiter.
    pub(super) fn unlock(&self) {
        let waker = unlock_locked(&mut self.state.lock());
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    pub(crate) fn same_as(&self, other: &Lock) -> bool {
        std::ptr::eq(self, other)
    }
}

/// Hands the lock to the first waiter (it stays locked), or frees it.
fn unlock_locked(state: &mut LockState) -> Option<Waker> {
    let waker = state.waiters.notify_one();
    if waker.is_none() {
        state.locked = false;
    }
    waker
}

impl Default for Lock {
    fn default() -> Lock {
        Lock::new()
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("Lock")
            .field("locked", &state.locked)
            .field("waiters", &state.waiters.waiting())
            .finish()
    }
}

/// The future of [`Lock::lock`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct LockAcquire<'a> {
    lock: &'a Lock,
    key: Option<u32>,
    done: bool,
}

impl<'a> Future for LockAcquire<'a> {
    type Output = LockGuard<'a>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard<'a>> {
        let this = self.get_mut();
        assert!(!this.done, "LockAcquire polled after completion");
        let mut state = this.lock.state.lock();
        match this.key {
            None if !state.locked => state.locked = true,
            None => {
                this.key = Some(state.waiters.push_back(cx.waker()));
                return Poll::Pending;
            }
            Some(key) => {
                if state.waiters.poll_notified(key, cx.waker()).is_pending() {
                    return Poll::Pending;
                }
                this.key = None;
            }
        }
        this.done = true;
        Poll::Ready(LockGuard { lock: this.lock })
    }
}

impl Drop for LockAcquire<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let waker = {
            let mut state = self.lock.state.lock();
            if state.waiters.remove(key) == Seen::Notified {
                // Handed the lock but never took it: pass it on.
                unlock_locked(&mut state)
            } else {
                None
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl fmt::Debug for LockAcquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockAcquire")
            .field("queued", &self.key.is_some())
            .finish()
    }
}

/// Proof of holding a [`Lock`]; unlocks it (or hands it to the next waiter)
/// on drop (asyncio's `release`).
///
/// # Examples
///
/// ```
/// let lock = tulipa::sync::Lock::new();
/// let guard = lock.try_lock().unwrap();
/// assert!(lock.is_locked());
/// drop(guard);
/// assert!(!lock.is_locked());
/// ```
#[must_use = "dropping the guard unlocks the lock at once"]
pub struct LockGuard<'a> {
    lock: &'a Lock,
}

impl<'a> LockGuard<'a> {
    /// The lock this guard holds.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = tulipa::sync::Lock::new();
    /// let guard = lock.try_lock().unwrap();
    /// assert!(std::ptr::eq(guard.lock(), &lock));
    /// ```
    pub fn lock(&self) -> &'a Lock {
        self.lock
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}

impl fmt::Debug for LockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LockGuard")
    }
}

/// [`Lock::try_lock`] found the lock taken.
///
/// # Examples
///
/// ```
/// let lock = tulipa::sync::Lock::new();
/// let _held = lock.try_lock().unwrap();
/// let err = lock.try_lock().unwrap_err();
/// assert_eq!(err.to_string(), "lock is already locked");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct TryLockError(());

impl fmt::Debug for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TryLockError")
    }
}

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("lock is already locked")
    }
}

impl std::error::Error for TryLockError {}
