//! The hand-off between a submitter that has just queued a job and the
//! workers that have none: who gets the job, and how it reaches them.
//!
//! A worker that finds the queue empty first *spins* (lock released, watching
//! the hint with a [`Backoff`]) for up to the pool's spin time, then
//! *sleeps* on the condvar (it is *idle*) until it is woken or times out. In
//! a request/response pattern (a loop awaiting one job at a time) the next
//! job usually comes within the spin, and handing it to a spinner saves a
//! futex wake-up on each side (W7 in BENCHMARKS.md).
//!
//! A submitter hands each job it queues, under the pool lock, to the first
//! of:
//!
//! 1. a spinner: `spinning - 1`, `spin_handed + 1`, hint `+ 1` (no syscall);
//! 2. a sleeper: `idle - 1`, `sleep_handed + 1`, then one condvar notify once
//!    the lock is released (tokio's `num_notify`): the idle count drops at
//!    once, so a burst of jobs wakes as many sleepers as it needs, no more;
//! 3. a new worker, below `max_workers`: `threads + 1`, and the caller
//!    starts the thread;
//! 4. nobody: every worker is busy and looks at the queue, under the lock,
//!    before it spins or sleeps again.
//!
//! # Invariants
//!
//! All counts change only under the pool lock.
//!
//! - `spinning + spin_handed + idle + sleep_handed <= threads <= max_workers`.
//! - `spin_handed` and `sleep_handed` are tokens: each is taken by exactly one
//!   worker of that kind (a spinner as it stops spinning, a sleeper as it
//!   wakes). A worker that stops without a token takes itself off its own
//!   count (`spinning` or `idle`) in the same critical section, so no token
//!   is ever handed to a worker that has left.
//! - The hint equals `spin_handed` whenever the lock is free. Spinners read
//!   it without the lock, and it only ends a spin early: whether a job was
//!   handed over is decided by `spin_handed`, under the lock.
//! - No job waits in the queue while a worker sleeps without a token for
//!   it: a worker checks the queue and registers as spinning or idle in one
//!   critical section, and every job queued after that hands a token out.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_utils::{Backoff, CachePadded};
use parking_lot::{Condvar, MutexGuard};

// The hint is loom's under `cfg(loom)`, so that the model at the end of
// this file checks the real `Crew` transitions and hint updates.
#[cfg(loom)]
use loom::sync::atomic::AtomicUsize;
#[cfg(not(loom))]
use std::sync::atomic::AtomicUsize;

/// The workers' counts (kept in the pool's locked state).
#[derive(Debug, Default)]
pub(super) struct Crew {
    /// Workers alive (started, or being started).
    pub(super) threads: usize,
    /// Workers asleep that nobody has handed a token yet.
    pub(super) idle: usize,
    /// Tokens handed to sleepers and not yet taken.
    sleep_handed: usize,
    /// Workers spinning that nobody has handed a job yet.
    spinning: usize,
    /// Jobs handed to spinners and not yet taken.
    spin_handed: usize,
}

/// Who a job queued just now was handed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub(super) enum Handed {
    /// A spinning worker: nothing more to do.
    Spinner,
    /// A sleeping worker: call [`Signals::wake_sleeper`] once the lock is
    /// released.
    Sleeper,
    /// Nobody yet: start a worker (already counted in `threads`).
    NewWorker,
    /// Nobody: every worker is busy.
    Nobody,
}

/// What reaches workers without the lock: the hint for spinners and the
/// condvar for sleepers.
pub(super) struct Signals {
    /// Mirrors `Crew::spin_handed`; on its own cache line, away from the
    /// pool lock that submitters and workers take for every job.
    hint: CachePadded<AtomicUsize>,
    /// Sleepers wait here.
    wake: Condvar,
}

impl Crew {
    /// A submitter's step, under the lock, for the job it has just queued.
    pub(super) fn hand_job(&mut self, signals: &Signals, max_workers: usize) -> Handed {
        if self.spinning > 0 {
            self.spinning -= 1;
            self.spin_handed += 1;
            // ORDERING: a hint that ends the spinner's loop early; the
            // hand-over itself is `spin_handed`, read under the lock.
            signals.hint.fetch_add(1, Ordering::Release);
            Handed::Spinner
        } else if self.idle > 0 {
            self.idle -= 1;
            self.sleep_handed += 1;
            Handed::Sleeper
        } else if self.threads < max_workers {
            self.threads += 1;
            Handed::NewWorker
        } else {
            Handed::Nobody
        }
    }

    /// A worker found the queue empty and starts to spin (under the lock).
    pub(super) fn begin_spin(&mut self) {
        self.spinning += 1;
    }

    /// A worker stops spinning (under the lock): true if it was handed a job.
    pub(super) fn end_spin(&mut self, signals: &Signals) -> bool {
        if self.spin_handed > 0 {
            self.spin_handed -= 1;
            // ORDERING: a hint only (see `hand_job`); the lock orders the counts.
            signals.hint.fetch_sub(1, Ordering::Release);
            true
        } else {
            self.spinning -= 1;
            false
        }
    }

    /// A worker goes to sleep (under the lock).
    pub(super) fn begin_sleep(&mut self) {
        self.idle += 1;
    }

    /// A sleeper looks for its token: true if it was handed one (whoever
    /// handed it took it off the idle count).
    pub(super) fn take_token(&mut self) -> bool {
        let handed = self.sleep_handed > 0;
        self.sleep_handed -= usize::from(handed);
        handed
    }

    /// A sleeper leaves without a token (shut down or timed out).
    pub(super) fn end_sleep(&mut self) {
        self.idle -= 1;
    }
}

impl Signals {
    pub(super) fn new() -> Signals {
        Signals {
            hint: CachePadded::new(AtomicUsize::new(0)),
            wake: Condvar::new(),
        }
    }

    /// Whether a job has been handed to some spinner and not yet taken.
    fn hinted(&self) -> bool {
        // ORDERING: the hint only ends a spin early; the hand-over itself
        // is read under the lock afterwards, so Relaxed would do too.
        self.hint.load(Ordering::Acquire) != 0
    }

    /// Spins with the lock released for up to `spin`, or until a job is
    /// handed to some spinner.
    pub(super) fn spin<S>(&self, guard: &mut MutexGuard<'_, S>, spin: Duration) {
        MutexGuard::unlocked(guard, || {
            let start = Instant::now();
            let backoff = Backoff::new();
            while !self.hinted() && start.elapsed() < spin {
                backoff.snooze();
            }
        });
    }

    /// Sleeps on the condvar until woken (or spuriously), or until
    /// `deadline`; true if the deadline has passed.
    pub(super) fn sleep<S>(
        &self,
        guard: &mut MutexGuard<'_, S>,
        deadline: Option<Instant>,
    ) -> bool {
        match deadline {
            Some(deadline) => self.wake.wait_until(guard, deadline).timed_out(),
            None => {
                self.wake.wait(guard);
                false
            }
        }
    }

    /// Wakes the sleeper handed a token by [`Crew::hand_job`].
    pub(super) fn wake_sleeper(&self) {
        self.wake.notify_one();
    }

    /// Wakes every sleeper (shutdown).
    pub(super) fn wake_all(&self) {
        self.wake.notify_all();
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! The hand-off between a submitter and one worker, under loom: the
    //! `Crew` transitions and the hint are the real code; the pool lock,
    //! the condvar and the spin loop are loom's stand-ins for `core.rs` and
    //! `worker.rs` (a spin of two looks at the hint). Loom explores the
    //! second job reaching the worker busy, spinning and asleep. A job queued with no
    //! worker to take it leaves the worker asleep forever, which loom
    //! reports as a deadlock.
    use super::*;
    use loom::sync::{Arc, Condvar as LoomCondvar, Mutex};

    struct Model {
        crew: Crew,
        /// Jobs queued and not yet taken.
        jobs: usize,
    }

    struct Pool {
        state: Mutex<Model>,
        signals: Signals,
        sleepers: LoomCondvar,
    }

    /// The worker's loop: take a job, else spin, else sleep; leave after
    /// `jobs` jobs.
    fn worker(pool: &Pool, jobs: usize) {
        let mut ran = 0;
        let mut state = pool.state.lock().unwrap();
        while ran < jobs {
            if state.jobs > 0 {
                state.jobs -= 1;
                ran += 1;
                continue;
            }
            state.crew.begin_spin();
            drop(state);
            // Two looks at the hint stand for the timed spin (a loom
            // `yield_now` here would keep loom from ever letting the spin
            // run out before the submitter moves).
            for _ in 0..2 {
                if pool.signals.hinted() {
                    break;
                }
            }
            state = pool.state.lock().unwrap();
            if state.crew.end_spin(&pool.signals) {
                continue;
            }
            state.crew.begin_sleep();
            while !state.crew.take_token() {
                state = pool.sleepers.wait(state).unwrap();
            }
        }
        state.crew.threads -= 1;
    }

    /// The submitter's step for one job (`PoolCore::enqueue`).
    fn submit(pool: &Arc<Pool>, jobs: usize) -> Option<loom::thread::JoinHandle<()>> {
        let mut state = pool.state.lock().unwrap();
        state.jobs += 1;
        match state.crew.hand_job(&pool.signals, 1) {
            Handed::Spinner | Handed::Nobody => None,
            Handed::Sleeper => {
                drop(state);
                pool.sleepers.notify_one();
                None
            }
            Handed::NewWorker => {
                drop(state);
                let pool = pool.clone();
                Some(loom::thread::spawn(move || worker(&pool, jobs)))
            }
        }
    }

    #[test]
    fn loom_tests_a_job_handed_to_a_spinning_or_idle_worker_is_never_lost() {
        loom::model(|| {
            let pool = Arc::new(Pool {
                state: Mutex::new(Model {
                    crew: Crew::default(),
                    jobs: 0,
                }),
                signals: Signals::new(),
                sleepers: LoomCondvar::new(),
            });
            let first = submit(&pool, 2).expect("the first job starts the worker");
            // The second job finds the worker busy, spinning or asleep.
            assert!(submit(&pool, 2).is_none());
            first.join().unwrap();
            let state = pool.state.lock().unwrap();
            assert_eq!(state.jobs, 0);
            assert_eq!(
                (state.crew.threads, state.crew.idle, state.crew.spinning),
                (0, 0, 0)
            );
            assert_eq!((state.crew.sleep_handed, state.crew.spin_handed), (0, 0));
            assert!(!pool.signals.hinted());
        });
    }
}
