//! [`PoolCore`]: what the pool's handles, workers, job futures and waiting
//! submitters share: one lock around the job queue (`queue.rs`) and the
//! workers' counts (`handoff.rs`), and the submit paths that put a job
//! in the one and hand it on through the other.
//!
//! Every submit takes the lock once: admit, push, hand on (`handoff.rs`).
//! Wakers and the condvar are woken after it is released. Workers are
//! started through `start_worker` (`Worker::start`, given by the handle), so
//! that this file needs nothing of `worker.rs`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::blocking::block_until;
use super::builder::Config;
use super::error::SubmitError;
use super::handoff::{Crew, Handed, Signals};
use super::job::{new_job, ExecFuture, QueueSlot};
use super::queue::{Admit, JobQueue, Slot};

static NEXT_POOL_ID: AtomicU64 = AtomicU64::new(1);

/// Starts worker `id` of a pool (the thread, or the accounting of its failure).
pub(super) type StartWorker = fn(&Arc<PoolCore>, u64);

/// The shared heart of one pool.
pub(crate) struct PoolCore {
    pub(super) state: Mutex<PoolState>,
    /// The hint and the condvar that reach workers without the lock.
    pub(super) signals: Signals,
    /// `shutdown(wait = true)` waits here for the workers to leave.
    pub(super) exited: Condvar,
    pub(super) config: Config,
    pub(super) id: u64,
    start_worker: StartWorker,
}

/// What the pool lock guards.
pub(super) struct PoolState {
    pub(super) queue: JobQueue,
    pub(super) crew: Crew,
    /// Threads to join on `shutdown(wait = true)`; a worker that times out
    /// removes (detaches) itself.
    pub(super) workers: Vec<(u64, JoinHandle<()>)>,
    next_worker: u64,
}

impl PoolCore {
    pub(super) fn new(config: Config, start_worker: StartWorker) -> PoolCore {
        PoolCore {
            state: Mutex::new(PoolState {
                queue: JobQueue::new(config.max_queued),
                crew: Crew::default(),
                workers: Vec::new(),
                next_worker: 0,
            }),
            signals: Signals::new(),
            exited: Condvar::new(),
            config,
            id: NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed),
            start_worker,
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock()
    }

    /// Queues `f` if that needs no waiting.
    pub(super) fn try_submit<F, T>(self: &Arc<Self>, f: F) -> Result<ExecFuture<T>, SubmitError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let state = self.lock();
        match state.queue.admit() {
            Admit::Yes => Ok(self.enqueue(state, f)),
            Admit::Full => Err(SubmitError::Full(f)),
            Admit::ShutDown => Err(SubmitError::ShutDown(f)),
        }
    }

    /// One step of a submit that waits for room: `slot` is the submitter's
    /// place in line, `f` is taken when it is queued (or given back in the
    /// error). A submitter still in line stays there: the line is FIFO.
    pub(super) fn poll_submit<F, T>(
        self: &Arc<Self>,
        slot: &mut Slot,
        f: &mut Option<F>,
        waker: &Waker,
    ) -> Poll<Result<ExecFuture<T>, SubmitError<F>>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let mut state = self.lock();
        if state.queue.still_in_line(*slot, waker) {
            return Poll::Pending;
        }
        let job = f.take().expect("Submit polled after it completed");
        match state.queue.admit() {
            Admit::Yes => {
                state.queue.leave_line(slot);
                Poll::Ready(Ok(self.enqueue(state, job)))
            }
            Admit::ShutDown => {
                state.queue.leave_line(slot);
                Poll::Ready(Err(SubmitError::ShutDown(job)))
            }
            Admit::Full => {
                *f = Some(job);
                state.queue.wait_in_line(slot, waker);
                Poll::Pending
            }
        }
    }

    /// A waiting submitter gave up: it leaves the line, passing on a wake-up
    /// it may have taken.
    pub(super) fn give_up(&self, slot: &mut Slot) {
        if slot.is_none() {
            return;
        }
        let waker = self.lock().queue.give_up(slot);
        wake(waker);
    }

    /// Queues `f`, blocking the calling thread while the queue is full; the
    /// thread waits in the same line as tasks.
    pub(super) fn submit_blocking<F, T>(
        self: &Arc<Self>,
        f: F,
    ) -> Result<ExecFuture<T>, SubmitError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let f = match self.try_submit(f) {
            Err(SubmitError::Full(f)) => f,
            done => return done,
        };
        let (mut slot, mut f) = (None, Some(f));
        block_until(None, |cx| self.poll_submit(&mut slot, &mut f, cx.waker()))
            .expect("an untimed wait returns only once the job is queued")
    }

    /// Pushes an admitted job, then hands it on (`handoff.rs`).
    fn enqueue<F, T>(self: &Arc<Self>, mut state: MutexGuard<'_, PoolState>, f: F) -> ExecFuture<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (job, future) = new_job(f, self.clone());
        state.queue.push(job);
        match state.crew.hand_job(&self.signals, self.config.max_workers) {
            Handed::Spinner | Handed::Nobody => {}
            Handed::Sleeper => {
                drop(state);
                self.signals.wake_sleeper();
            }
            Handed::NewWorker => {
                let id = state.next_worker;
                state.next_worker += 1;
                drop(state);
                (self.start_worker)(self, id);
            }
        }
        future
    }

    /// Stops admitting jobs and wakes everyone who waits for the pool; with
    /// `cancel_pending` the queued jobs are cancelled. Returns the worker
    /// threads to join if `wait`.
    pub(super) fn shutdown(&self, wait: bool, cancel_pending: bool) -> Vec<(u64, JoinHandle<()>)> {
        let (cancelled, waiters, workers) = {
            let mut state = self.lock();
            let waiters = state.queue.shut_down();
            let cancelled = if cancel_pending {
                state.queue.claim_all()
            } else {
                Vec::new()
            };
            let workers = if wait {
                std::mem::take(&mut state.workers)
            } else {
                Vec::new()
            };
            (cancelled, waiters, workers)
        };
        self.signals.wake_all();
        waiters.into_iter().for_each(Waker::wake);
        cancelled.iter().for_each(|job| job.abandon());
        workers
    }
}

impl QueueSlot for PoolCore {
    fn release(&self) {
        let waker = self.lock().queue.release();
        wake(waker);
    }
}

fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}
