//! [`Condition`]: a condition variable over a tulipa [`Lock`] (asyncio's
//! `Condition`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::lock::{Lock, LockAcquire, LockGuard};
use crate::loom_shim::Mutex;
use crate::waiters::{wake_all, Seen, WaiterList};

/// A condition variable for tasks (asyncio's `Condition`).
///
/// It pairs a [`Lock`] with a FIFO of waiters. A task takes the lock with
/// [`lock`](Condition::lock), checks some shared state, and if it must wait
/// hands its guard to [`wait`](Condition::wait), which unlocks, sleeps until
/// [`notify`](Condition::notify) or [`notify_all`](Condition::notify_all),
/// then locks again and gives the guard back. Because `wait` consumes the
/// guard, asyncio's "cannot wait on un-acquired lock" `RuntimeError` cannot
/// happen.
///
/// `notify` does not require the lock (asyncio raises `RuntimeError` when it
/// is not held). Change the shared state while holding the lock, and notify
/// either before or after unlocking: a waiter registers before it unlocks, so
/// a notify that follows a state change is never lost.
///
/// Like every condition variable, `wait` may return spuriously (for instance
/// when a woken waiter is cancelled and passes its turn on): re-check the
/// state, or use [`wait_for`](Condition::wait_for).
///
/// `Send + Sync`, needs only a [`Waker`](std::task::Waker).
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use tulipa::sync::Condition;
///
/// tulipa::run(async {
///     let cond = Rc::new(Condition::new());
///     let items = Rc::new(Cell::new(0));
///     let consumer = {
///         let (cond, items) = (cond.clone(), items.clone());
///         tulipa::spawn(async move {
///             let guard = cond.lock().await;
///             let _guard = cond.wait_for(guard, || items.get() > 0).await;
///             items.set(items.get() - 1);
///         })
///     };
///     tulipa::yield_now().await;
///     {
///         let _guard = cond.lock().await;
///         items.set(1);
///         cond.notify(1);
///     }
///     consumer.await.unwrap();
///     assert_eq!(items.get(), 0);
/// })
/// .unwrap();
/// ```
pub struct Condition {
    lock: Arc<Lock>,
    waiters: Mutex<WaiterList>,
}

impl Condition {
    /// A condition with a lock of its own.
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = tulipa::sync::Condition::new();
    /// assert!(!cond.is_locked());
    /// let _guard = cond.as_lock().try_lock().unwrap();
    /// assert!(cond.is_locked());
    /// ```
    pub fn new() -> Condition {
        Condition::with_lock(Arc::new(Lock::new()))
    }

    /// A condition over `lock`, which other conditions or plain users may
    /// share (asyncio's `Condition(lock)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulipa::sync::{Condition, Lock};
    ///
    /// let lock = Arc::new(Lock::new());
    /// let cond = Condition::with_lock(lock.clone());
    /// let _guard = lock.try_lock().unwrap();
    /// assert!(cond.is_locked());
    /// ```
    pub fn with_lock(lock: Arc<Lock>) -> Condition {
        Condition {
            lock,
            waiters: Mutex::new(WaiterList::new()),
        }
    }

    /// The underlying lock.
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = tulipa::sync::Condition::new();
    /// let guard = cond.as_lock().try_lock().unwrap();
    /// assert!(cond.as_lock().is_locked());
    /// drop(guard);
    /// assert!(!cond.is_locked());
    /// ```
    pub fn as_lock(&self) -> &Lock {
        &self.lock
    }

    /// Locks the underlying lock (asyncio's `acquire`, `async with cond:`).
    ///
    /// # Cancel safety
    ///
    /// As for [`Lock::lock`]: a dropped future passes its turn on.
    ///
    /// # Examples
    ///
    /// ```
    /// tulipa::run(async {
    ///     let cond = tulipa::sync::Condition::new();
    ///     let _guard = cond.lock().await;
    ///     assert!(cond.is_locked());
    /// })
    /// .unwrap();
    /// ```
    #[doc(alias = "acquire")]
    pub fn lock(&self) -> LockAcquire<'_> {
        self.lock.lock()
    }

    /// Whether the underlying lock is held (asyncio's `locked()`).
    ///
    /// # Examples
    ///
    /// ```
    /// tulipa::run(async {
    ///     let cond = tulipa::sync::Condition::new();
    ///     assert!(!cond.is_locked());
    ///     let guard = cond.lock().await;
    ///     assert!(cond.is_locked());
    ///     drop(guard);
    ///     assert!(!cond.is_locked());
    /// })
    /// .unwrap();
    /// ```
    #[doc(alias = "locked")]
    pub fn is_locked(&self) -> bool {
        self.lock.is_locked()
    }

    /// Unlocks, waits for a notify, locks again and gives the guard back.
    ///
    /// The waiter joins the queue and then unlocks, both at the first poll.
    /// Once notified it queues for the lock like any other locker.
    ///
    /// # Panics
    ///
    /// If `guard` belongs to another lock than this condition's.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cannot re-lock the lock as asyncio does (there is
    /// nothing to return a guard to): the lock stays unlocked by this waiter.
    /// If the waiter had already been notified (or was re-locking), its
    /// notification passes to the next waiter, so a notify is never lost to
    /// a cancel; this may give that waiter a spurious wake-up.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// use tulipa::sync::Condition;
    ///
    /// tulipa::run(async {
    ///     let cond = Rc::new(Condition::new());
    ///     let waiter = {
    ///         let cond = cond.clone();
    ///         tulipa::spawn(async move {
    ///             let guard = cond.lock().await;
    ///             let guard = cond.wait(guard).await;
    ///             drop(guard);
    ///         })
    ///     };
    ///     tulipa::yield_now().await;
    ///     assert_eq!(cond.notify(1), 1);
    ///     waiter.await.unwrap();
    /// })
    /// .unwrap();
    /// ```
    pub fn wait<'a>(&'a self, guard: LockGuard<'a>) -> ConditionWait<'a> {
        assert!(
            guard.lock().same_as(&self.lock),
            "Condition::wait: the guard belongs to another lock"
        );
        ConditionWait {
            cond: self,
            stage: Stage::Start(guard),
        }
    }

    /// Waits until `predicate` returns `true`, checking it first and again
    /// after each wake-up, always while holding the lock (asyncio's
    /// `wait_for`). Gives the guard back.
    ///
    /// # Panics
    ///
    /// If `guard` belongs to another lock than this condition's.
    ///
    /// # Cancel safety
    ///
    /// As for [`wait`](Condition::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// tulipa::run(async {
    ///     let cond = Rc::new(tulipa::sync::Condition::new());
    ///     let count = Rc::new(Cell::new(0));
    ///     let (c, n) = (cond.clone(), count.clone());
    ///     let producer = tulipa::spawn(async move {
    ///         for _ in 0..3 {
    ///             let _guard = c.lock().await;
    ///             n.set(n.get() + 1);
    ///             c.notify_all();
    ///         }
    ///     });
    ///     let guard = cond.lock().await;
    ///     let guard = cond.wait_for(guard, || count.get() == 3).await;
    ///     assert_eq!(count.get(), 3);
    ///     drop(guard);
    ///     producer.await.unwrap();
    ///     // A predicate already true: no wait.
    ///     let _guard = cond.wait_for(cond.lock().await, || true).await;
    /// })
    /// .unwrap();
    /// ```
    pub async fn wait_for<'a, P>(
        &'a self,
        mut guard: LockGuard<'a>,
        mut predicate: P,
    ) -> LockGuard<'a>
    where
        P: FnMut() -> bool,
    {
        while !predicate() {
            guard = self.wait(guard).await;
        }
        guard
    }

    /// Wakes up to `n` waiters, first come first served; returns how many.
    /// Each woken waiter still has to re-lock before its `wait` returns.
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = tulipa::sync::Condition::new();
    /// assert_eq!(cond.notify(1), 0); // nobody waits
    /// ```
    pub fn notify(&self, n: usize) -> usize {
        let mut wakers = Vec::new();
        let count = self.waiters.lock().notify_many(n, &mut wakers);
        wake_all(wakers);
        count
    }

    /// Wakes every waiter; returns how many.
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = tulipa::sync::Condition::new();
    /// assert_eq!(cond.notify_all(), 0);
    /// ```
    pub fn notify_all(&self) -> usize {
        self.notify(usize::MAX)
    }
}

impl Default for Condition {
    fn default() -> Condition {
        Condition::new()
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("lock", &self.lock)
            .field("waiters", &self.waiters.lock().waiting())
            .finish()
    }
}

enum Stage<'a> {
    /// Not polled yet: still holding the caller's guard (dropped, and so
    /// unlocked, when the waiter has queued).
    Start(#[allow(dead_code)] LockGuard<'a>),
    /// Queued for a notify.
    Waiting(u32),
    /// Notified; queued for the lock.
    Relocking(LockAcquire<'a>),
    Done,
}

/// The future of [`Condition::wait`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ConditionWait<'a> {
    cond: &'a Condition,
    stage: Stage<'a>,
}

impl<'a> Future for ConditionWait<'a> {
    type Output = LockGuard<'a>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard<'a>> {
        let this = self.get_mut();
        loop {
            match &mut this.stage {
                Stage::Start(_) => {
                    let key = this.cond.waiters.lock().push_back(cx.waker());
                    // Queued first, then unlocked: no notify can slip between.
                    this.stage = Stage::Waiting(key);
                    return Poll::Pending;
                }
                Stage::Waiting(key) => {
                    if this
                        .cond
                        .waiters
                        .lock()
                        .poll_notified(*key, cx.waker())
                        .is_pending()
                    {
                        return Poll::Pending;
                    }
                    this.stage = Stage::Relocking(this.cond.lock.lock());
                }
                Stage::Relocking(acquire) => {
                    let guard = std::task::ready!(Pin::new(acquire).poll(cx));
                    this.stage = Stage::Done;
                    return Poll::Ready(guard);
                }
                Stage::Done => panic!("ConditionWait polled after completion"),
            }
        }
    }
}

impl Drop for ConditionWait<'_> {
    fn drop(&mut self) {
        let pass_on = match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::Waiting(key) => self.cond.waiters.lock().remove(key) == Seen::Notified,
            // The lock future's own drop passes the lock on.
            Stage::Relocking(acquire) => {
                drop(acquire);
                true
            }
            Stage::Start(_) | Stage::Done => false,
        };
        if pass_on {
            // Notified but leaving: another waiter gets the wake-up.
            self.cond.notify(1);
        }
    }
}

impl fmt::Debug for ConditionWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match self.stage {
            Stage::Start(_) => "start",
            Stage::Waiting(_) => "waiting",
            Stage::Relocking(_) => "relocking",
            Stage::Done => "done",
        };
        f.debug_struct("ConditionWait")
            .field("stage", &stage)
            .finish()
    }
}
