//! Loop statistics: counters that are always on, and timings that cost a
//! clock read only where the loop is idle anyway (around a blocking poll),
//! or per callback when debug mode or tracing asks for it.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// What a loop has done so far, from [`EventLoop::stats`](crate::EventLoop::stats).
///
/// # Examples
///
/// ```
/// let lp = tulipa::EventLoop::new().unwrap();
/// let _ = lp.call_soon(|| {});
/// lp.run_until_complete(async { tulipa::yield_now().await }).unwrap();
/// let stats = lp.stats();
/// assert_eq!(stats.callbacks_run, 1);
/// assert_eq!(stats.task_polls, 2); // the main future, before and after its yield
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoopStats {
    /// Iterations of `run_once`.
    pub iterations: u64,
    /// Plain callbacks run: `call_soon`, due `call_later` / `call_at`, and
    /// `call_soon_threadsafe` posts.
    pub callbacks_run: u64,
    /// Polls of tasks (and of the future given to `run_until_complete`).
    pub task_polls: u64,
    /// Timers that came due and ran (callbacks) or woke a task (sleeps).
    pub timers_fired: u64,
    /// Timers cancelled before they came due.
    pub timers_cancelled: u64,
    /// I/O readiness events reported by the selector.
    pub io_events: u64,
    /// Messages taken from other threads: posted callbacks, task wake-ups, stops.
    pub cross_thread_posts: u64,
    /// Real time spent blocked in the selector waiting for something to do.
    pub time_polling: Duration,
    /// Real time spent inside `run_*` calls, not counting `time_polling`.
    pub time_running: Duration,
    /// The longest single callback or task poll. Measured only in debug mode
    /// or with tracing on (a clock read per callback is not free); `None`
    /// otherwise.
    pub longest_callback: Option<Duration>,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) iterations: Cell<u64>,
    pub(crate) callbacks: Cell<u64>,
    pub(crate) task_polls: Cell<u64>,
    pub(crate) io_events: Cell<u64>,
    pub(crate) posts: Cell<u64>,
    pub(crate) time_polling: Cell<Duration>,
    time_running: Cell<Duration>,
    running_since: Cell<Option<Instant>>,
    pub(crate) longest: Cell<Option<Duration>>,
}

/// Adds to a counter. `--cfg tulipa_no_stats` compiles the counters out; it
/// exists only to measure what they cost (see the CHANGELOG).
#[inline(always)]
pub(crate) fn bump(counter: &Cell<u64>, by: u64) {
    #[cfg(not(tulipa_no_stats))]
    counter.set(counter.get() + by);
    #[cfg(tulipa_no_stats)]
    let _ = (counter, by);
}

impl Counters {
    pub(crate) fn started_running(&self) {
        self.running_since.set(Some(Instant::now()));
    }

    pub(crate) fn stopped_running(&self) {
        if let Some(since) = self.running_since.take() {
            self.time_running
                .set(self.time_running.get() + since.elapsed());
        }
    }

    pub(crate) fn add_polling(&self, waited: Duration) {
        self.time_polling.set(self.time_polling.get() + waited);
    }

    pub(crate) fn saw_callback_duration(&self, took: Duration) {
        if self.longest.get().is_none_or(|l| took > l) {
            self.longest.set(Some(took));
        }
    }

    pub(crate) fn snapshot(&self, timers_fired: u64, timers_cancelled: u64) -> LoopStats {
        let running_now = self
            .running_since
            .get()
            .map_or(Duration::ZERO, |since| since.elapsed());
        let running = self.time_running.get() + running_now;
        LoopStats {
            iterations: self.iterations.get(),
            callbacks_run: self.callbacks.get(),
            task_polls: self.task_polls.get(),
            timers_fired,
            timers_cancelled,
            io_events: self.io_events.get(),
            cross_thread_posts: self.posts.get(),
            time_polling: self.time_polling.get(),
            time_running: running.saturating_sub(self.time_polling.get()),
            longest_callback: self.longest.get(),
        }
    }
}
