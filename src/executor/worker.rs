//! [`Worker`]: one worker thread and its loop. It takes jobs off the queue
//! until the pool is shut down or it has been idle for the idle timeout;
//! between jobs it spins, then sleeps, as `handoff.rs` describes.

use std::cell::Cell;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Instant;

use parking_lot::MutexGuard;

use super::core::{PoolCore, PoolState};

thread_local! {
    /// The pool this thread works for (0: none), so that
    /// `shutdown(wait = true)` from a job does not wait for itself.
    static WORKER_OF: Cell<u64> = const { Cell::new(0) };
}

/// One worker thread of a pool.
pub(super) struct Worker {
    core: Arc<PoolCore>,
    id: u64,
}

/// Why a worker stopped waiting for work.
#[derive(Debug, PartialEq, Eq)]
enum Woke {
    /// A job, or the shutdown: back to the queue.
    Work,
    /// Idle for the idle timeout: the worker exits.
    TimedOut,
}

impl Worker {
    /// Starts worker `id` (already counted in the crew's `threads`).
    pub(super) fn start(core: &Arc<PoolCore>, id: u64) {
        let mut builder = thread::Builder::new().name(format!("{}-{id}", core.config.prefix));
        if let Some(size) = core.config.stack_size {
            builder = builder.stack_size(size);
        }
        let worker = Worker {
            core: core.clone(),
            id,
        };
        match builder.spawn(move || worker.run()) {
            Ok(handle) => core.lock().workers.push((id, handle)),
            Err(_) => spawn_failed(core),
        }
    }

    /// The work loop: a job if there is one, else spin, else sleep.
    fn run(self) {
        WORKER_OF.with(|w| w.set(self.core.id));
        let core = &*self.core;
        let mut state = core.lock();
        loop {
            if let Some((job, waker)) = state.queue.pop() {
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
            if state.queue.is_shut_down() {
                break;
            }
            if self.spin_for_work(&mut state) {
                continue;
            }
            if self.sleep_for_work(&mut state) == Woke::TimedOut {
                // Nobody will join this thread: detach it.
                state.workers.retain(|(w, _)| *w != self.id);
                break;
            }
        }
        state.crew.threads -= 1;
        drop(state);
        core.exited.notify_all();
    }

    /// Spins briefly (lock released) in case a job follows at once; true if
    /// one was handed over.
    fn spin_for_work(&self, state: &mut MutexGuard<'_, PoolState>) -> bool {
        let core = &*self.core;
        if core.config.spin.is_zero() {
            return false;
        }
        state.crew.begin_spin();
        core.signals.spin(state, core.config.spin);
        state.crew.end_spin(&core.signals)
    }

    /// Sleeps as an idle worker until handed a token, shut down, or timed out.
    fn sleep_for_work(&self, state: &mut MutexGuard<'_, PoolState>) -> Woke {
        let core = &*self.core;
        let deadline = core
            .config
            .idle_timeout
            .and_then(|t| Instant::now().checked_add(t));
        state.crew.begin_sleep();
        let mut timed_out = false;
        loop {
            if state.crew.take_token() {
                return Woke::Work;
            }
            if state.queue.is_shut_down() {
                state.crew.end_sleep();
                return Woke::Work;
            }
            if timed_out {
                state.crew.end_sleep();
                return Woke::TimedOut;
            }
            timed_out = core.signals.sleep(state, deadline);
        }
    }
}

/// The OS refused a thread. With other workers alive the job waits for
/// them; with none, the queued jobs could never run, so they are cancelled
/// rather than left hanging.
fn spawn_failed(core: &PoolCore) {
    let mut state = core.lock();
    state.crew.threads -= 1;
    let orphans = if state.crew.threads == 0 {
        state.queue.claim_all()
    } else {
        Vec::new()
    };
    drop(state);
    core.exited.notify_all();
    orphans.iter().for_each(|job| job.abandon());
}

/// Joins `workers` (all but the calling thread, if it is one of them), then
/// waits until every worker of the pool has left.
pub(super) fn join_workers(core: &PoolCore, workers: Vec<(u64, JoinHandle<()>)>) {
    let me = thread::current().id();
    for (_, handle) in workers {
        if handle.thread().id() != me {
            let _ = handle.join();
        }
    }
    // Another `shutdown(true)` may hold the handles: wait on the count too.
    let own = usize::from(WORKER_OF.with(|w| w.get()) == core.id);
    let mut state = core.lock();
    while state.crew.threads > own {
        core.exited.wait(&mut state);
    }
}
