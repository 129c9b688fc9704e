//! [`Barrier`]: a meeting point for a fixed number of tasks (asyncio's
//! `Barrier`, Python 3.11).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::loom_shim::{Mutex, MutexGuard};
use crate::waiters::{wake_all, WaiterList};

/// A barrier for `parties` tasks (asyncio's `Barrier`).
///
/// Each task calls [`wait`](Barrier::wait); the barrier releases them all
/// together when the `parties`-th arrives, and each gets its arrival index
/// `0..parties`. The barrier then refills for the next round; tasks arriving
/// while the previous round is still draining wait for it to finish.
///
/// [`reset`](Barrier::reset) sends every current waiter a
/// [`BrokenBarrierError`] and returns the barrier to its empty state;
/// [`abort`](Barrier::abort) breaks it for good (until a `reset`).
///
/// This follows CPython's state machine (filling, draining, resetting,
/// broken). `reset` and `abort` are plain functions here: asyncio makes them
/// coroutines only to take its internal condition lock.
///
/// `Send + Sync`, needs only a [`Waker`].
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use tulipa::sync::Barrier;
///
/// tulipa::run(async {
///     let barrier = Rc::new(Barrier::new(3));
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let barrier = barrier.clone();
///             tulipa::spawn(async move { barrier.wait().await.unwrap() })
///         })
///         .collect();
///     let mut indexes = Vec::new();
///     for task in tasks {
///         indexes.push(task.await.unwrap());
///     }
///     assert_eq!(indexes, [0, 1, 2]);
/// })
/// .unwrap();
/// ```
pub struct Barrier {
    parties: usize,
    state: Mutex<BarrierState>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Filling,
    Draining,
    Resetting,
    Broken,
}

struct BarrierState {
    phase: Phase,
    /// Tasks inside `wait` past the entry check (CPython's `_count`).
    count: usize,
    waiters: WaiterList,
}

impl BarrierState {
    /// One task leaves the barrier (CPython's `_exit`).
    fn exit(&mut self) -> Vec<Waker> {
        self.count -= 1;
        if self.count > 0 {
            return Vec::new();
        }
        if matches!(self.phase, Phase::Resetting | Phase::Draining) {
            self.phase = Phase::Filling;
        }
        self.notify_all()
    }

    /// Wakes every waiter; their wakers, to be woken once the lock is
    /// released.
    fn notify_all(&mut self) -> Vec<Waker> {
        let mut wakers = Vec::new();
        self.waiters.notify_all(&mut wakers);
        wakers
    }
}

impl Barrier {
    /// A barrier that releases its waiters once `parties` tasks wait.
    ///
    /// # Panics
    ///
    /// If `parties` is 0 (asyncio's `ValueError`).
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = tulipa::sync::Barrier::new(2);
    /// assert_eq!(barrier.parties(), 2);
    /// ```
    pub fn new(parties: usize) -> Barrier {
        assert!(parties > 0, "Barrier::new: parties must be > 0");
        Barrier {
            parties,
            state: Mutex::new(BarrierState {
                phase: Phase::Filling,
                count: 0,
                waiters: WaiterList::new(),
            }),
        }
    }

    /// Waits until `parties` tasks are waiting, then returns this task's
    /// arrival index in `0..parties`.
    ///
    /// # Errors
    ///
    /// [`BrokenBarrierError`] if the barrier is broken (aborted) when this
    /// task arrives, or is reset or aborted while it waits.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future takes the task out of the barrier: a waiter that
    /// had not yet been released no longer counts towards `parties`; one
    /// dropped while its round drains lets the round finish without it.
    ///
    /// # Examples
    ///
    /// ```
    /// tulipa::run(async {
    ///     let barrier = tulipa::sync::Barrier::new(1);
    ///     assert_eq!(barrier.wait().await, Ok(0));
    /// })
    /// .unwrap();
    /// ```
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            stage: Stage::Entering,
            key: None,
        }
    }

    /// Returns the barrier to its empty state (asyncio's `reset`). Tasks
    /// waiting in it get [`BrokenBarrierError`]; new arrivals wait until
    /// they have all left.
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = tulipa::sync::Barrier::new(2);
    /// barrier.abort();
    /// barrier.reset();
    /// assert!(!barrier.is_broken());
    /// ```
    pub fn reset(&self) {
        let wakers = {
            let mut state = self.state.lock();
            state.phase = if state.count > 0 {
                Phase::Resetting
            } else {
                Phase::Filling
            };
            state.notify_all()
        };
        wake_all(wakers);
    }

    /// Breaks the barrier (asyncio's `abort`): every current and future
    /// `wait` fails with [`BrokenBarrierError`] until [`reset`](Barrier::reset).
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = tulipa::sync::Barrier::new(2);
    /// barrier.abort();
    /// assert!(barrier.is_broken());
    /// ```
    pub fn abort(&self) {
        let wakers = {
            let mut state = self.state.lock();
            state.phase = Phase::Broken;
            state.notify_all()
        };
        wake_all(wakers);
    }

    /// How many tasks it takes to trip the barrier.
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = tulipa::sync::Barrier::new(3);
    /// assert_eq!(barrier.parties(), 3);
    /// assert_eq!(barrier.n_waiting(), 0);
    /// ```
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// How many tasks wait for the barrier to fill (0 while it drains,
    /// resets or is broken).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tulipa::sync::Barrier::new(2).n_waiting(), 0);
    /// ```
    pub fn n_waiting(&self) -> usize {
        let state = self.state.lock();
        match state.phase {
            Phase::Filling => state.count,
            _ => 0,
        }
    }

    /// Whether the barrier is broken (asyncio's `broken`).
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = tulipa::sync::Barrier::new(3);
    /// assert!(!barrier.is_broken());
    /// barrier.abort();
    /// assert!(barrier.is_broken());
    /// ```
    #[doc(alias = "broken")]
    pub fn is_broken(&self) -> bool {
        self.state.lock().phase == Phase::Broken
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("phase", &state.phase)
            .field("count", &state.count)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting for a draining or resetting round to end (CPython's `_block`).
    Entering,
    /// Counted in with this index, waiting for the round to fill.
    Inside(usize),
    Done,
}

/// The future of [`Barrier::wait`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    stage: Stage,
    key: Option<u32>,
}

impl BarrierWait<'_> {
    /// `Pending` while the wake-up registered earlier has not come (the
    /// state then has not changed: every change notifies all waiters).
    fn still_waiting(&mut self, state: &mut BarrierState, waker: &Waker) -> bool {
        match self.key {
            Some(key) if state.waiters.poll_notified(key, waker).is_pending() => true,
            Some(_) => {
                self.key = None;
                false
            }
            None => false,
        }
    }

    /// Joins the line of waiters (a task that must wait).
    fn wait_in_line(
        &mut self,
        state: &mut BarrierState,
        waker: &Waker,
    ) -> Poll<Result<usize, BrokenBarrierError>> {
        self.key = Some(state.waiters.push_back(waker));
        Poll::Pending
    }

    /// Leaves the barrier with `result`, waking whoever that lets in.
    fn leave(
        &mut self,
        mut state: MutexGuard<'_, BarrierState>,
        result: Result<usize, BrokenBarrierError>,
    ) -> Poll<Result<usize, BrokenBarrierError>> {
        self.stage = Stage::Done;
        let wakers = state.exit();
        drop(state);
        wake_all(wakers);
        Poll::Ready(result)
    }
}

impl Future for BarrierWait<'_> {
    type Output = Result<usize, BrokenBarrierError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let barrier = this.barrier;
        let mut state = barrier.state.lock();
        if this.still_waiting(&mut state, cx.waker()) {
            return Poll::Pending;
        }
        match this.stage {
            Stage::Entering => match state.phase {
                Phase::Draining | Phase::Resetting => this.wait_in_line(&mut state, cx.waker()),
                Phase::Broken => {
                    this.stage = Stage::Done;
                    Poll::Ready(Err(BrokenBarrierError(())))
                }
                Phase::Filling => {
                    let index = state.count;
                    state.count += 1;
                    if index + 1 < barrier.parties {
                        this.stage = Stage::Inside(index);
                        return this.wait_in_line(&mut state, cx.waker());
                    }
                    // The last arrival releases the round.
                    state.phase = Phase::Draining;
                    let wakers = state.notify_all();
                    let out = this.leave(state, Ok(index));
                    wake_all(wakers);
                    out
                }
            },
            Stage::Inside(index) => match state.phase {
                Phase::Filling => this.wait_in_line(&mut state, cx.waker()),
                Phase::Draining => this.leave(state, Ok(index)),
                Phase::Resetting | Phase::Broken => this.leave(state, Err(BrokenBarrierError(()))),
            },
            Stage::Done => panic!("BarrierWait polled after completion"),
        }
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        let wakers = {
            let mut state = self.barrier.state.lock();
            if let Some(key) = self.key.take() {
                // Barrier notifications go to everyone: nothing to pass on.
                let _ = state.waiters.remove(key);
            }
            match self.stage {
                Stage::Inside(_) => state.exit(),
                Stage::Entering | Stage::Done => Vec::new(),
            }
        };
        wake_all(wakers);
    }
}

/// The barrier was broken (aborted) or reset while waiting (asyncio's
/// `BrokenBarrierError`).
///
/// # Examples
///
/// ```
/// tulipa::run(async {
///     let barrier = tulipa::sync::Barrier::new(2);
///     barrier.abort();
///     let err = barrier.wait().await.unwrap_err();
///     assert_eq!(err.to_string(), "barrier is broken");
/// })
/// .unwrap();
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct BrokenBarrierError(());

impl fmt::Debug for BrokenBarrierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BrokenBarrierError")
    }
}

impl fmt::Display for BrokenBarrierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("barrier is broken")
    }
}

impl std::error::Error for BrokenBarrierError {}
