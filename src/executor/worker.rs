//! The worker threads: each takes jobs off the queue until it is shut
//! down or has been idle for the idle timeout.
//!
//! After a job, a worker finding the queue empty spins for a few tens of
//! microseconds before it sleeps on the condvar: in a request/response
//! pattern (a loop awaiting one job at a time) the next job usually comes
//! within that window, and handing it to a spinning worker saves a futex
//! wake-up on each side (W7 in BENCHMARKS.md).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Waker;
use std::thread;
use std::time::Instant;

use parking_lot::MutexGuard;

use super::job::Runnable;
use super::shared::{Shared, State};

thread_local! {
    /// The pool this thread works for (0: none), so that
    /// `shutdown(wait = true)` from a job does not wait for itself.
    static WORKER_OF: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Whether the calling thread is a worker of the pool `id`.
pub(super) fn is_worker_of(id: u64) -> bool {
    WORKER_OF.with(|w| w.get()) == id
}

#[derive(Debug, PartialEq, Eq)]
enum Idle {
    Work,
    TimedOut,
}

impl Shared {
    pub(super) fn start_worker(self: &Arc<Self>, id: u64) {
        let mut builder = thread::Builder::new().name(format!("{}-{id}", self.config.prefix));
        if let Some(size) = self.config.stack_size {
            builder = builder.stack_size(size);
        }
        let shared = self.clone();
        match builder.spawn(move || shared.work_loop(id)) {
            Ok(handle) => self.state.lock().workers.push((id, handle)),
            Err(_) => self.spawn_failed(),
        }
    }

    /// The OS refused a thread. With other workers alive the job waits for
    /// them; with none, the queued jobs could never run, so they are
    /// cancelled rather than left hanging.
    fn spawn_failed(&self) {
        let mut state = self.state.lock();
        state.threads -= 1;
        let orphans = if state.threads == 0 {
            self.claim_all(&mut state)
        } else {
            Vec::new()
        };
        drop(state);
        self.exited.notify_all();
        orphans.iter().for_each(|job| job.abandon());
    }

    /// Pops jobs until one can be claimed.
    fn next_job(&self, state: &mut State) -> Option<(Arc<dyn Runnable>, Option<Waker>)> {
        while let Some(job) = state.queue.pop_front() {
            if job.claim() {
                state.queued -= 1;
                let waker = self.room_freed(state);
                return Some((job, waker));
            }
        }
        None
    }

    fn work_loop(self: Arc<Self>, id: u64) {
        WORKER_OF.with(|w| w.set(self.id));
        let mut state = self.state.lock();
        loop {
            if let Some((job, waker)) = self.next_job(&mut state) {
                MutexGuard::unlocked(&mut state, || {
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                    // `run` catches the job's panic; this catches one from
                    // dropping its result or from a foreign waker.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run()));
                    drop(job);
                });
                continue;
            }
            if state.shutdown {
                break;
            }
            if self.spin_for_work(&mut state) {
                continue;
            }
            if self.wait_for_work(&mut state) == Idle::TimedOut {
                // Nobody will join this thread: detach it.
                state.workers.retain(|(w, _)| *w != id);
                break;
            }
        }
        state.threads -= 1;
        drop(state);
        self.exited.notify_all();
    }

    /// Spins briefly (lock released) in case a job follows at once, as in a
    /// request/response loop; true if one was handed over.
    fn spin_for_work(&self, state: &mut MutexGuard<'_, State>) -> bool {
        let spin = self.config.spin;
        if spin.is_zero() {
            return false;
        }
        state.spinning += 1;
        MutexGuard::unlocked(state, || {
            let start = Instant::now();
            // ORDERING: the hint only ends the spin early; the hand-over
            // itself is read under the lock below, so Relaxed would do too.
            while self.spin_hint.load(Ordering::Acquire) == 0 && start.elapsed() < spin {
                std::hint::spin_loop();
            }
        });
        if state.spin_handed > 0 {
            state.spin_handed -= 1;
            // ORDERING: a hint only (see above); the lock orders the counts.
            self.spin_hint.fetch_sub(1, Ordering::Release);
            true
        } else {
            state.spinning -= 1;
            false
        }
    }

    /// Waits as an idle worker until handed a token, shut down, or timed out.
    fn wait_for_work(&self, state: &mut MutexGuard<'_, State>) -> Idle {
        state.idle += 1;
        let deadline = self
            .config
            .idle_timeout
            .and_then(|t| Instant::now().checked_add(t));
        let mut timed_out = false;
        loop {
            if state.notified > 0 {
                // Whoever handed the token took us off the idle count.
                state.notified -= 1;
                return Idle::Work;
            }
            if state.shutdown {
                state.idle -= 1;
                return Idle::Work;
            }
            if timed_out {
                state.idle -= 1;
                return Idle::TimedOut;
            }
            timed_out = match deadline {
                Some(deadline) => self.work.wait_until(state, deadline).timed_out(),
                None => {
                    self.work.wait(state);
                    false
                }
            };
        }
    }
}
