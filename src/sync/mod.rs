//! Synchronization primitives for tasks (asyncio's `asyncio.locks`):
//! [`Event`], [`Lock`], [`Semaphore`], [`BoundedSemaphore`], [`Condition`]
//! and [`Barrier`].
//!
//! They follow asyncio's semantics (CPython 3.13): `Lock` and `Semaphore`
//! are strictly FIFO with no barging, a waiter cancelled after being chosen
//! passes its turn on, `Event::set` wakes every waiter, and `Barrier` has
//! asyncio's filling / draining / resetting / broken states.
//!
//! Unlike asyncio's, they are not bound to one loop: each needs only a
//! [`Waker`](std::task::Waker), so they are `Send + Sync` and also work
//! inside tokio or smol, or between tasks on loops in different threads.
//! Each keeps a small state and a FIFO of waiter slots (the crate's waiter
//! line, which the queues use too) behind a `parking_lot::Mutex` (loom's
//! under `cfg(loom)`, where the crate's loom models check the hand-offs
//! between threads), and wakes wakers only after releasing it. Cancellation
//! is drop: every future documents what dropping it does under
//! `# Cancel safety`.
//!
//! The futures borrow their primitive; share a primitive between spawned
//! tasks with an `Rc` (one loop) or an `Arc` (several threads). Behind an
//! `Arc`, [`Lock::lock_owned`] and [`Semaphore::acquire_owned`] give guards
//! that own it and can move into a task spawned later (as tokio's). Plain
//! threads wait with [`Lock::lock_blocking`] and
//! [`Semaphore::acquire_blocking`], which refuse with [`OnLoopThread`] on a
//! thread running a loop, as the queues' blocking calls do.
//!
//! | asyncio | tulipa |
//! |---|---|
//! | `async with lock:` / `acquire()` / `release()` / `locked()` | `let _g = lock.lock().await;` / drop the guard / [`Lock::is_locked`] |
//! | `async with sem:` / `sem.release()` / `sem.locked()` | `sem.acquire().await` / [`Semaphore::release`] (+ [`Permit::forget`]) / [`Semaphore::is_locked`] |
//! | `BoundedSemaphore.release()` raising `ValueError` | [`BoundedSemaphore::release`] returning [`BoundedReleaseError`] |
//! | `cond.wait()` / `cond.wait_for(pred)` | `guard = cond.wait(guard).await` / `cond.wait_for(guard, pred).await` |
//! | `Barrier.wait()` / `BrokenBarrierError` | [`Barrier::wait`] → `Result<usize, BrokenBarrierError>` |

mod barrier;
mod blocking;
mod bounded_semaphore;
mod condition;
mod event;
mod lock;
#[cfg(all(test, loom))]
mod loom_tests;
mod owned;
mod semaphore;

pub use barrier::{Barrier, BarrierWait, BrokenBarrierError};
pub use blocking::OnLoopThread;
pub use bounded_semaphore::{BoundedReleaseError, BoundedSemaphore};
pub use condition::{Condition, ConditionWait};
pub use event::{Event, EventWait};
pub use lock::{Lock, LockAcquire, LockGuard, TryLockError};
pub use owned::{OwnedLockGuard, OwnedPermit};
pub use semaphore::{Permit, Semaphore, SemaphoreAcquire, TryAcquireError};

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn primitives_and_their_futures_cross_threads() {
        send_sync::<Event>();
        send_sync::<Lock>();
        send_sync::<Semaphore>();
        send_sync::<BoundedSemaphore>();
        send_sync::<Condition>();
        send_sync::<Barrier>();
        send_sync::<LockGuard<'static>>();
        send_sync::<Permit<'static>>();
        send_sync::<EventWait<'static>>();
        send_sync::<LockAcquire<'static>>();
        send_sync::<SemaphoreAcquire<'static>>();
        send_sync::<ConditionWait<'static>>();
        send_sync::<BarrierWait<'static>>();
        send_sync::<OwnedLockGuard>();
        send_sync::<OwnedPermit>();
    }
}
