//! [`Semaphore`]: a strictly FIFO counting semaphore for tasks (asyncio's
//! `Semaphore`); [`BoundedSemaphore`](super::BoundedSemaphore) wraps it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::loom_shim::{const_fn_unless_loom, Mutex};
use crate::waiters::{wake_all, Seen, WaiterList};

/// A counting semaphore for tasks (asyncio's `Semaphore`).
///
/// [`acquire`](Semaphore::acquire) waits for a permit and gives a
/// [`Permit`] that returns it on drop (asyncio's `async with sem:`).
///
/// **Explicit release.** asyncio code often calls `acquire()` in one place
/// and `release()` in another. In tulipa call [`Permit::forget`] to keep the
/// unit without a guard, and [`release`](Semaphore::release) to add one back
/// later. `release` may also be called with nothing acquired: a semaphore
/// created with 0 permits is asyncio's way of signalling between tasks.
///
/// **Fairness.** Waiters are served in arrival order with a direct handoff:
/// a released permit goes straight to the first waiter. As in asyncio 3.13,
/// a newcomer also queues while a woken waiter has not resumed yet, even if
/// a permit is free, so tasks resume in arrival order.
///
/// **Cancellation.** A dropped waiter leaves the queue; one dropped after a
/// permit was handed to it gives the permit back, which goes to the next
/// waiter. Nobody is stranded.
///
/// `Send + Sync`, needs only a [`Waker`]: it works under tokio or smol too.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use std::time::Duration;
/// use tulipa::sync::Semaphore;
///
/// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
/// lp.run(async {
///     let sem = Rc::new(Semaphore::new(2)); // at most two at a time
///     let start = tulipa::now();
///     let tasks: Vec<_> = (0..6)
///         .map(|_| {
///             let sem = sem.clone();
///             tulipa::spawn(async move {
///                 let _permit = sem.acquire().await;
///                 tulipa::sleep(Duration::from_secs(1)).await;
///             })
///         })
///         .collect();
///     for task in tasks {
///         task.await.unwrap();
///     }
///     assert_eq!(tulipa::now() - start, Duration::from_secs(3));
/// })
/// .unwrap();
/// ```
pub struct Semaphore {
    state: Mutex<SemaphoreState>,
}

struct SemaphoreState {
    /// Free permits. When non-zero nobody waits (handoff).
    permits: usize,
    /// Live [`Permit`] guards, counting permits handed to a notified waiter
    /// that has not run yet. Only [`BoundedSemaphore`] reads it.
    guarded: usize,
    waiters: WaiterList,
}

impl SemaphoreState {
    /// Gives one unit back: to the first waiter (as a guarded permit), or to
    /// the free count.
    fn release_one(&mut self) -> Option<Waker> {
        let waker = self.waiters.notify_one();
        match waker {
            Some(_) => self.guarded += 1,
            None => self.permits += 1,
        }
        waker
    }

    /// Whether a newcomer may take a free permit without queueing: only when
    /// nobody waits and no woken waiter is still on its way (asyncio's
    /// `locked()` rule, which keeps resumption in FIFO order).
    fn can_take(&self) -> bool {
        self.permits > 0 && self.waiters.is_idle()
    }

    /// Hands free permits to waiters that queued behind a waiter in transit
    /// (asyncio's `while self._value > 0: self._wake_up_next()`).
    fn top_up(&mut self) -> Vec<Waker> {
        let mut wakers = Vec::new();
        self.top_up_into(&mut wakers);
        wakers
    }

    fn top_up_into(&mut self, wakers: &mut Vec<Waker>) {
        while self.permits > 0 && self.waiters.waiting() > 0 {
            if let Some(waker) = self.waiters.notify_one() {
                self.permits -= 1;
                self.guarded += 1;
                wakers.push(waker);
            }
        }
    }

    /// [`release_one`](SemaphoreState::release_one) then [`top_up`](SemaphoreState::top_up);
    /// the wakers in FIFO order, so tasks resume in arrival order.
    fn give_back(&mut self) -> Vec<Waker> {
        let mut wakers: Vec<Waker> = self.release_one().into_iter().collect();
        self.top_up_into(&mut wakers);
        wakers
    }
}

impl Semaphore {
    const_fn_unless_loom! {
        /// A semaphore with `permits` free permits.
        ///
        /// # Examples
        ///
        /// ```
        /// let sem = tulipa::sync::Semaphore::new(3);
        /// assert_eq!(sem.available(), 3);
        /// ```
        pub fn new(permits: usize) -> Semaphore {
            Semaphore {
                state: Mutex::new(SemaphoreState {
                    permits,
                    guarded: 0,
                    waiters: WaiterList::new(),
                }),
            }
        }
    }

    /// Waits for a permit in FIFO order (asyncio's `acquire`, and
    /// `async with sem:`).
    ///
    /// The future enters the queue at its first poll.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes gives up its place; if a
    /// permit had already been handed to it, the permit goes to the next
    /// waiter (or back to the free count). No permit is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::sync::Semaphore;
    ///
    /// tulipa::run(async {
    ///     let sem = Semaphore::new(1);
    ///     let permit = sem.acquire().await;
    ///     assert_eq!(sem.available(), 0);
    ///     drop(permit);
    ///     assert_eq!(sem.available(), 1);
    /// })
    /// .unwrap();
    /// ```
    pub fn acquire(&self) -> SemaphoreAcquire<'_> {
        SemaphoreAcquire {
            sem: self,
            key: None,
            done: false,
        }
    }

    /// Takes a permit if one is free right now.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError`] if no permit is free.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = tulipa::sync::Semaphore::new(1);
    /// let permit = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_err());
    /// drop(permit);
    /// assert!(sem.try_acquire().is_ok());
    /// ```
    pub fn try_acquire(&self) -> Result<Permit<'_>, TryAcquireError> {
        let mut state = self.state.lock();
        if !state.can_take() {
            return Err(TryAcquireError(()));
        }
        state.permits -= 1;
        state.guarded += 1;
        Ok(Permit { sem: self })
    }

    /// Adds one permit, handing it to the first waiter if there is one
    /// (asyncio's `release`). Pairs with [`Permit::forget`].
    ///
    /// # Panics
    ///
    /// If the permit count would overflow `usize`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::sync::Semaphore;
    ///
    /// tulipa::run(async {
    ///     let sem = Semaphore::new(1);
    ///     sem.acquire().await.forget(); // asyncio's `await sem.acquire()`
    ///     assert_eq!(sem.available(), 0);
    ///     sem.release(); // asyncio's `sem.release()`
    ///     assert_eq!(sem.available(), 1);
    /// })
    /// .unwrap();
    /// ```
    pub fn release(&self) {
        let wakers = {
            let mut state = self.state.lock();
            assert!(state.permits < usize::MAX, "semaphore permit overflow");
            state.give_back()
        };
        wake_all(wakers);
    }

    /// How many permits are free right now.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = tulipa::sync::Semaphore::new(2);
    /// let _p = sem.try_acquire().unwrap();
    /// assert_eq!(sem.available(), 1);
    /// ```
    pub fn available(&self) -> usize {
        self.state.lock().permits
    }

    /// Whether an `acquire` would have to wait (asyncio's `locked()`): no
    /// free permit, or tasks queued or woken and not yet resumed.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(tulipa::sync::Semaphore::new(0).is_locked());
    /// ```
    #[doc(alias = "locked")]
    pub fn is_locked(&self) -> bool {
        !self.state.lock().can_take()
    }

    /// [`release`](Semaphore::release), unless free plus guarded permits
    /// already reach `bound`; `false` then.
    pub(super) fn release_within(&self, bound: usize) -> bool {
        let wakers = {
            let mut state = self.state.lock();
            if state.permits + state.guarded >= bound {
                return false;
            }
            state.give_back()
        };
        wake_all(wakers);
        true
    }

    /// A guarded permit stops being guarded ([`Permit::forget`]).
    pub(super) fn unguard(&self) {
        self.state.lock().guarded -= 1;
    }

    /// Returns a guarded permit.
    pub(super) fn give_back(&self) {
        let wakers = {
            let mut state = self.state.lock();
            state.guarded -= 1;
            state.give_back()
        };
        wake_all(wakers);
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("Semaphore")
            .field("available", &state.permits)
            .field("waiters", &state.waiters.waiting())
            .finish()
    }
}

/// The future of [`Semaphore::acquire`] and
/// [`BoundedSemaphore::acquire`](super::BoundedSemaphore::acquire).
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct SemaphoreAcquire<'a> {
    sem: &'a Semaphore,
    key: Option<u32>,
    done: bool,
}

impl<'a> Future for SemaphoreAcquire<'a> {
    type Output = Permit<'a>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Permit<'a>> {
        let this = self.get_mut();
        assert!(!this.done, "SemaphoreAcquire polled after completion");
        let mut state = this.sem.state.lock();
        match this.key {
            None if state.can_take() => {
                state.permits -= 1;
                state.guarded += 1;
            }
            None => {
                this.key = Some(state.waiters.push_back(cx.waker()));
                return Poll::Pending;
            }
            // A notified waiter was handed a permit, already counted.
            Some(key) => {
                if state.waiters.poll_notified(key, cx.waker()).is_pending() {
                    return Poll::Pending;
                }
                this.key = None;
                let wakers = state.top_up();
                drop(state);
                wake_all(wakers);
            }
        }
        this.done = true;
        Poll::Ready(Permit { sem: this.sem })
    }
}

impl Drop for SemaphoreAcquire<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let wakers = {
            let mut state = self.sem.state.lock();
            if state.waiters.remove(key) == Seen::Notified {
                // Handed a permit but never took it: pass it on.
                state.guarded -= 1;
                state.give_back()
            } else {
                state.top_up()
            }
        };
        wake_all(wakers);
    }
}

impl fmt::Debug for SemaphoreAcquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreAcquire")
            .field("queued", &self.key.is_some())
            .finish()
    }
}

/// One unit of a [`Semaphore`]; given back on drop.
///
/// # Examples
///
/// ```
/// let sem = tulipa::sync::Semaphore::new(1);
/// let permit = sem.try_acquire().unwrap();
/// assert_eq!(sem.available(), 0);
/// drop(permit);
/// assert_eq!(sem.available(), 1);
/// ```
#[must_use = "dropping the permit releases it at once"]
pub struct Permit<'a> {
    sem: &'a Semaphore,
}

impl Permit<'_> {
    /// Keeps the unit without a guard: nothing is given back on drop. Give
    /// it back later with [`Semaphore::release`] (asyncio's manual
    /// `acquire()` / `release()` pairing).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = tulipa::sync::Semaphore::new(1);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.available(), 0);
    /// sem.release();
    /// assert_eq!(sem.available(), 1);
    /// ```
    pub fn forget(self) {
        self.sem.unguard();
        std::mem::forget(self);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.sem.give_back();
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Permit")
    }
}

/// [`Semaphore::try_acquire`] found no free permit.
///
/// # Examples
///
/// ```
/// let sem = tulipa::sync::Semaphore::new(0);
/// let err = sem.try_acquire().unwrap_err();
/// assert_eq!(err.to_string(), "no permits available");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct TryAcquireError(());

impl fmt::Debug for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TryAcquireError")
    }
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no permits available")
    }
}

impl std::error::Error for TryAcquireError {}
