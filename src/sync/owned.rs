//! Guards that own their primitive through an `Arc` (tokio's
//! `lock_owned` / `acquire_owned`), so a held lock or permit can move into
//! a spawned task or another thread.

use std::fmt;
use std::sync::Arc;

use super::{BoundedSemaphore, Lock, Semaphore};

impl Lock {
    /// [`lock`](Lock::lock) for a lock behind an `Arc`: the guard holds a
    /// clone of the `Arc` instead of a borrow, so it is `'static` and can
    /// be moved into a task spawned later, or to another thread.
    ///
    /// # Cancel safety
    ///
    /// As [`lock`](Lock::lock): dropping the future gives up its place, and
    /// passes on a lock already handed to it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulipa::sync::Lock;
    ///
    /// tulipa::run(async {
    ///     let lock = Arc::new(Lock::new());
    ///     let guard = lock.clone().lock_owned().await;
    ///     let worker = tulipa::spawn(async move {
    ///         let _held = guard; // moved into the task
    ///         tulipa::yield_now().await;
    ///     });
    ///     assert!(lock.is_locked());
    ///     worker.await.unwrap();
    ///     assert!(!lock.is_locked());
    /// })
    /// .unwrap();
    /// ```
    pub async fn lock_owned(self: Arc<Self>) -> OwnedLockGuard {
        std::mem::forget(self.lock().await);
        OwnedLockGuard { lock: self }
    }
}

/// A held [`Lock`] that owns an `Arc` of it; unlocks on drop. From
/// [`Lock::lock_owned`].
#[must_use = "dropping the guard unlocks the lock at once"]
pub struct OwnedLockGuard {
    lock: Arc<Lock>,
}

impl OwnedLockGuard {
    /// The lock this guard holds.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let lock = Arc::new(tulipa::sync::Lock::new());
    /// let guard = tulipa::run(lock.clone().lock_owned()).unwrap();
    /// assert!(Arc::ptr_eq(guard.lock(), &lock));
    /// ```
    pub fn lock(&self) -> &Arc<Lock> {
        &self.lock
    }
}

impl Drop for OwnedLockGuard {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}

impl fmt::Debug for OwnedLockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnedLockGuard")
    }
}

impl Semaphore {
    /// [`acquire`](Semaphore::acquire) for a semaphore behind an `Arc`: the
    /// permit holds a clone of the `Arc`, so it is `'static` and can be
    /// moved into a spawned task (a connection limit taken by the accept
    /// loop and released by the connection's task).
    ///
    /// # Cancel safety
    ///
    /// As [`acquire`](Semaphore::acquire): no permit is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulipa::sync::Semaphore;
    ///
    /// tulipa::run(async {
    ///     let sem = Arc::new(Semaphore::new(2));
    ///     let mut tasks = Vec::new();
    ///     for _ in 0..4 {
    ///         let permit = sem.clone().acquire_owned().await;
    ///         tasks.push(tulipa::spawn(async move {
    ///             tulipa::yield_now().await;
    ///             drop(permit);
    ///         }));
    ///     }
    ///     for task in tasks {
    ///         task.await.unwrap();
    ///     }
    ///     assert_eq!(sem.available(), 2);
    /// })
    /// .unwrap();
    /// ```
    pub async fn acquire_owned(self: Arc<Self>) -> OwnedPermit {
        // Keep the unit guarded: the owned permit gives it back.
        std::mem::forget(self.acquire().await);
        OwnedPermit {
            owner: Some(Owner::Plain(self)),
        }
    }
}

impl BoundedSemaphore {
    /// As [`Semaphore::acquire_owned`], for a bounded semaphore behind an
    /// `Arc`; the permit counts against the bound while it lives.
    ///
    /// # Cancel safety
    ///
    /// As [`Semaphore::acquire`]: no permit is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulipa::sync::BoundedSemaphore;
    ///
    /// tulipa::run(async {
    ///     let sem = Arc::new(BoundedSemaphore::new(1));
    ///     let permit = sem.clone().acquire_owned().await;
    ///     assert!(sem.release().is_err(), "the permit is still out");
    ///     tulipa::spawn(async move { drop(permit) }).await.unwrap();
    ///     assert_eq!(sem.available(), 1);
    /// })
    /// .unwrap();
    /// ```
    pub async fn acquire_owned(self: Arc<Self>) -> OwnedPermit {
        std::mem::forget(self.acquire().await);
        OwnedPermit {
            owner: Some(Owner::Bounded(self)),
        }
    }
}

/// One unit of a [`Semaphore`] or [`BoundedSemaphore`] that owns an `Arc`
/// of it; given back on drop. From [`Semaphore::acquire_owned`] or
/// [`BoundedSemaphore::acquire_owned`].
#[must_use = "dropping the permit releases it at once"]
pub struct OwnedPermit {
    /// `None` once forgotten.
    owner: Option<Owner>,
}

enum Owner {
    Plain(Arc<Semaphore>),
    Bounded(Arc<BoundedSemaphore>),
}

impl Owner {
    fn sem(&self) -> &Semaphore {
        match self {
            Owner::Plain(sem) => sem,
            Owner::Bounded(sem) => sem.inner(),
        }
    }
}

impl OwnedPermit {
    /// Keeps the unit without a guard, as [`Permit::forget`](super::Permit::forget).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(tulipa::sync::Semaphore::new(1));
    /// tulipa::run(sem.clone().acquire_owned()).unwrap().forget();
    /// assert_eq!(sem.available(), 0);
    /// ```
    pub fn forget(mut self) {
        if let Some(owner) = self.owner.take() {
            owner.sem().unguard();
        }
    }
}

impl Drop for OwnedPermit {
    fn drop(&mut self) {
        if let Some(owner) = self.owner.take() {
            owner.sem().give_back();
        }
    }
}

impl fmt::Debug for OwnedPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnedPermit")
    }
}
