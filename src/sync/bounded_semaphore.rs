//! [`BoundedSemaphore`]: a [`Semaphore`] that cannot be released above its
//! initial value (asyncio's `BoundedSemaphore`).

use std::fmt;

use crate::loom_shim::const_fn_unless_loom;

use super::semaphore::{Permit, Semaphore, SemaphoreAcquire, TryAcquireError};

/// A [`Semaphore`] that refuses to be released above its initial value
/// (asyncio's `BoundedSemaphore`).
///
/// Permits still out (live [`Permit`] guards) count against the bound, so a
/// stray [`release`](BoundedSemaphore::release) is caught even while a
/// guard is alive: the guard will give its unit back when it drops.
///
/// # Examples
///
/// ```
/// use tulipa::sync::BoundedSemaphore;
///
/// let sem = BoundedSemaphore::new(1);
/// assert!(sem.release().is_err()); // would exceed the initial value
/// sem.try_acquire().unwrap().forget();
/// assert!(sem.release().is_ok());
/// ```
pub struct BoundedSemaphore {
    sem: Semaphore,
    bound: usize,
}

impl BoundedSemaphore {
    const_fn_unless_loom! {
        /// A bounded semaphore with `permits` free permits, which is also its
        /// bound.
        ///
        /// # Examples
        ///
        /// ```
        /// let sem = tulipa::sync::BoundedSemaphore::new(2);
        /// let a = sem.try_acquire().unwrap();
        /// let _b = sem.try_acquire().unwrap();
        /// assert!(sem.try_acquire().is_err()); // both permits taken
        /// drop(a);
        /// assert!(sem.try_acquire().is_ok());
        /// ```
        pub fn new(permits: usize) -> BoundedSemaphore {
            BoundedSemaphore {
                sem: Semaphore::new(permits),
                bound: permits,
            }
        }
    }

    pub(super) fn inner(&self) -> &Semaphore {
        &self.sem
    }

    /// Like [`Semaphore::acquire`].
    ///
    /// # Cancel safety
    ///
    /// As for [`Semaphore::acquire`]: a dropped waiter never loses a permit.
    ///
    /// # Examples
    ///
    /// ```
    /// tulipa::run(async {
    ///     let sem = tulipa::sync::BoundedSemaphore::new(1);
    ///     let _permit = sem.acquire().await;
    ///     assert!(sem.is_locked());
    /// })
    /// .unwrap();
    /// ```
    pub fn acquire(&self) -> SemaphoreAcquire<'_> {
        self.sem.acquire()
    }

    /// Like [`Semaphore::try_acquire`].
    ///
    /// # Errors
    ///
    /// [`TryAcquireError`] if no permit is free.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = tulipa::sync::BoundedSemaphore::new(1);
    /// let _permit = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_err());
    /// ```
    pub fn try_acquire(&self) -> Result<Permit<'_>, TryAcquireError> {
        self.sem.try_acquire()
    }

    /// Adds one permit back (asyncio's `release`), unless that would take
    /// the semaphore above its initial value.
    ///
    /// # Errors
    ///
    /// [`BoundedReleaseError`] (asyncio's `ValueError`) if the free permits
    /// plus the permits still out under guards already reach the bound.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = tulipa::sync::BoundedSemaphore::new(2);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.release(), Ok(()));
    /// let err = sem.release().unwrap_err();
    /// assert_eq!(err.to_string(), "semaphore released too many times");
    /// ```
    pub fn release(&self) -> Result<(), BoundedReleaseError> {
        if self.sem.release_within(self.bound) {
            Ok(())
        } else {
            Err(BoundedReleaseError(()))
        }
    }

    /// How many permits are free right now.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tulipa::sync::BoundedSemaphore::new(3).available(), 3);
    /// ```
    pub fn available(&self) -> usize {
        self.sem.available()
    }

    /// Whether an `acquire` would have to wait (asyncio's `locked()`).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(tulipa::sync::BoundedSemaphore::new(0).is_locked());
    /// ```
    #[doc(alias = "locked")]
    pub fn is_locked(&self) -> bool {
        self.sem.is_locked()
    }

    /// The initial value, above which it cannot be released.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tulipa::sync::BoundedSemaphore::new(4).bound(), 4);
    /// ```
    pub fn bound(&self) -> usize {
        self.bound
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore")
            .field("bound", &self.bound)
            .field("inner", &self.sem)
            .finish()
    }
}

/// [`BoundedSemaphore::release`] would have exceeded the initial value
/// (asyncio's `ValueError`).
///
/// # Examples
///
/// ```
/// let sem = tulipa::sync::BoundedSemaphore::new(1);
/// let err = sem.release().unwrap_err();
/// assert_eq!(err.to_string(), "semaphore released too many times");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct BoundedReleaseError(());

impl fmt::Debug for BoundedReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BoundedReleaseError")
    }
}

impl fmt::Display for BoundedReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore released too many times")
    }
}

impl std::error::Error for BoundedReleaseError {}
