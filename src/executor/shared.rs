//! The pool's shared state: the job queue, the worker counts and the
//! waiting submitters, all behind one lock.
//!
//! A submitter that finds an idle worker hands it a "notification token"
//! (tokio's `num_notify`): the idle count drops at once, so a burst of
//! submissions starts as many workers as it needs and no more. A worker that
//! has just finished a job first spins briefly (see `worker.rs`); a
//! submitter that finds a spinning worker hands the job to it the same way,
//! without a syscall.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Waker;
use std::thread::{self, JoinHandle, ThreadId};

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::builder::Config;
use super::job::{new_job, ExecFuture, Runnable};
use super::worker::is_worker_of;
use super::SubmitError;

static NEXT_POOL_ID: AtomicU64 = AtomicU64::new(1);

/// State shared by the pool's handles, its workers, its job futures and
/// its waiting submitters.
pub(crate) struct Shared {
    pub(super) state: Mutex<State>,
    /// Idle workers wait here.
    pub(super) work: Condvar,
    /// Threads blocked in `submit` on a full queue wait here.
    pub(super) space: Condvar,
    /// `shutdown(wait = true)` waits here for the workers to leave.
    pub(super) exited: Condvar,
    pub(super) config: Config,
    pub(super) id: u64,
    /// Mirrors `spin_handed` for spinners, who look without the lock.
    pub(super) spin_hint: AtomicUsize,
}

pub(super) struct State {
    /// Jobs in submission order; cancelled ones stay as tombstones until a
    /// worker pops them.
    pub(super) queue: VecDeque<Arc<dyn Runnable>>,
    /// Jobs in `queue` that are neither claimed nor cancelled (what the
    /// bound limits).
    pub(super) queued: usize,
    /// Workers alive (started, or being started).
    pub(super) threads: usize,
    /// Workers waiting for work that nobody has handed a token yet.
    pub(super) idle: usize,
    /// Tokens handed to idle workers and not yet picked up.
    pub(super) notified: usize,
    /// Workers spinning for a next job that nobody has handed one yet.
    pub(super) spinning: usize,
    /// Jobs handed to spinning workers and not yet picked up.
    pub(super) spin_handed: usize,
    pub(super) shutdown: bool,
    pub(super) workers: Vec<(u64, JoinHandle<()>)>,
    pub(super) next_worker: u64,
    /// Tasks waiting in `submit_async` for room in a bounded queue.
    pub(super) space_waiters: VecDeque<(u64, Waker)>,
    pub(super) next_waiter: u64,
    /// Threads blocked in `submit` on a full queue.
    pub(super) blocked_submitters: usize,
}

/// Whether a job may be queued now.
pub(crate) enum Admit {
    Yes,
    Full,
    ShutDown,
}

impl Shared {
    pub(super) fn new(config: Config) -> Shared {
        Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                queued: 0,
                threads: 0,
                idle: 0,
                notified: 0,
                spinning: 0,
                spin_handed: 0,
                shutdown: false,
                workers: Vec::new(),
                next_worker: 0,
                space_waiters: VecDeque::new(),
                next_waiter: 0,
                blocked_submitters: 0,
            }),
            work: Condvar::new(),
            space: Condvar::new(),
            exited: Condvar::new(),
            config,
            id: NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed),
            spin_hint: AtomicUsize::new(0),
        }
    }

    pub(super) fn admit(&self, state: &State) -> Admit {
        if state.shutdown {
            Admit::ShutDown
        } else if self
            .config
            .max_queued
            .is_some_and(|max| state.queued >= max)
        {
            Admit::Full
        } else {
            Admit::Yes
        }
    }

    /// `submit_async`'s step: queues `f` if there is room, else registers
    /// (or refreshes) the waker under `waiter` and gives `f` back as `Full`.
    pub(crate) fn submit_or_wait<F, T>(
        self: &Arc<Self>,
        waiter: &mut Option<u64>,
        waker: &Waker,
        f: F,
    ) -> Result<ExecFuture<T>, SubmitError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let mut state = self.state.lock();
        match self.admit(&state) {
            Admit::Yes => {
                if let Some(id) = waiter.take() {
                    state.space_waiters.retain(|(i, _)| *i != id);
                }
                Ok(self.enqueue(state, f))
            }
            Admit::ShutDown => {
                *waiter = None;
                Err(SubmitError::ShutDown(f))
            }
            Admit::Full => {
                let registered =
                    waiter.and_then(|id| state.space_waiters.iter_mut().find(|(i, _)| *i == id));
                match (registered, *waiter) {
                    (Some((_, w)), _) if w.will_wake(waker) => {}
                    (Some((_, w)), _) => *w = waker.clone(),
                    // Woken already, and the room went to someone else:
                    // back to the front of the line.
                    (None, Some(id)) => state.space_waiters.push_front((id, waker.clone())),
                    (None, None) => {
                        let id = state.next_waiter;
                        state.next_waiter += 1;
                        state.space_waiters.push_back((id, waker.clone()));
                        *waiter = Some(id);
                    }
                }
                Err(SubmitError::Full(f))
            }
        }
    }

    /// Forgets a `submit_async` that gave up; if it had been woken for room
    /// that is still there, the wake-up goes to the next waiter.
    pub(crate) fn forget_waiter(&self, id: u64) {
        let mut state = self.state.lock();
        let before = state.space_waiters.len();
        state.space_waiters.retain(|(i, _)| *i != id);
        let was_woken = state.space_waiters.len() == before;
        let next = if was_woken && matches!(self.admit(&state), Admit::Yes) {
            state.space_waiters.pop_front()
        } else {
            None
        };
        drop(state);
        if let Some((_, waker)) = next {
            waker.wake();
        }
    }

    pub(super) fn submit_blocking<F, T>(
        self: &Arc<Self>,
        f: F,
    ) -> Result<ExecFuture<T>, SubmitError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let mut state = self.state.lock();
        loop {
            match self.admit(&state) {
                Admit::Yes => return Ok(self.enqueue(state, f)),
                Admit::ShutDown => return Err(SubmitError::ShutDown(f)),
                Admit::Full => {
                    state.blocked_submitters += 1;
                    self.space.wait(&mut state);
                    state.blocked_submitters -= 1;
                }
            }
        }
    }

    /// Pushes the job, then hands it to an idle worker or starts one.
    pub(super) fn enqueue<F, T>(
        self: &Arc<Self>,
        mut state: MutexGuard<'_, State>,
        f: F,
    ) -> ExecFuture<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (job, future) = new_job(f, self.clone());
        state.queue.push_back(job);
        state.queued += 1;
        if state.spinning > 0 {
            state.spinning -= 1;
            state.spin_handed += 1;
            // ORDERING: a hint that ends the spinner's loop early; the
            // hand-over is `spin_handed`, read under the lock.
            self.spin_hint.fetch_add(1, Ordering::Release);
        } else if state.idle > 0 {
            state.idle -= 1;
            state.notified += 1;
            drop(state);
            self.work.notify_one();
        } else if state.threads < self.config.max_workers {
            state.threads += 1;
            let id = state.next_worker;
            state.next_worker += 1;
            drop(state);
            self.start_worker(id);
        }
        future
    }

    /// Takes every job still queued out of the queue, claimed, so that no
    /// worker and no future can touch the count for them any more.
    pub(super) fn claim_all(&self, state: &mut State) -> Vec<Arc<dyn Runnable>> {
        let mut claimed: Vec<_> = state.queue.drain(..).collect();
        claimed.retain(|job| job.claim());
        state.queued -= claimed.len();
        claimed
    }

    /// A queued job was cancelled by its future: one more job fits.
    pub(crate) fn release_cancelled_slot(&self) {
        let mut state = self.state.lock();
        state.queued -= 1;
        let waker = self.room_freed(&mut state);
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Wakes one thread and returns one task waker waiting for room.
    pub(super) fn room_freed(&self, state: &mut State) -> Option<Waker> {
        self.config.max_queued?;
        if state.blocked_submitters > 0 {
            self.space.notify_one();
        }
        state.space_waiters.pop_front().map(|(_, waker)| waker)
    }

    pub(super) fn shutdown(&self, wait: bool, cancel_pending: bool) {
        let (cancelled, waiters, workers) = {
            let mut state = self.state.lock();
            state.shutdown = true;
            let cancelled = if cancel_pending {
                self.claim_all(&mut state)
            } else {
                Vec::new()
            };
            let waiters = std::mem::take(&mut state.space_waiters);
            let workers = if wait {
                std::mem::take(&mut state.workers)
            } else {
                Vec::new()
            };
            (cancelled, waiters, workers)
        };
        self.work.notify_all();
        self.space.notify_all();
        waiters.into_iter().for_each(|(_, waker)| waker.wake());
        cancelled.iter().for_each(|job| job.abandon());
        drop(cancelled);
        if wait {
            self.join(workers);
        }
    }

    /// Joins the workers (all but the calling one, if it is a worker).
    fn join(&self, workers: Vec<(u64, JoinHandle<()>)>) {
        let me: ThreadId = thread::current().id();
        for (_, handle) in workers {
            if handle.thread().id() != me {
                let _ = handle.join();
            }
        }
        // Another `shutdown(true)` may hold the handles: wait on the count too.
        let own = usize::from(is_worker_of(self.id));
        let mut state = self.state.lock();
        while state.threads > own {
            self.exited.wait(&mut state);
        }
    }
}
