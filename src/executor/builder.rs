//! [`Builder`]: the settings of a pool, and the [`Config`] they fill in.
//! (`Builder::build` sits in `pool.rs`, next to the handle it makes.)

use std::time::Duration;

/// What a pool is built with.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) max_workers: usize,
    pub(crate) prefix: String,
    /// `None`: idle workers never exit.
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) stack_size: Option<usize>,
    /// `None`: the queue is unbounded.
    pub(crate) max_queued: Option<usize>,
    /// How long a worker that found the queue empty spins before sleeping.
    pub(crate) spin: Duration,
}

/// CPython's default pool size: `min(32, cpus + 4)`.
fn default_max_workers() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cpus + 4).min(32)
}

/// Configures a [`ThreadPoolExecutor`](crate::ThreadPoolExecutor) before it
/// is built.
///
/// Defaults: `min(32, cpus + 4)` workers (CPython's default), threads named
/// `tulipa-pool-N`, a 10 s idle timeout, the platform's stack size, an
/// unbounded queue and a 50 µs spin before a worker sleeps.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulipa::ThreadPoolExecutor;
///
/// let pool = ThreadPoolExecutor::builder()
///     .max_workers(4)
///     .thread_name_prefix("resize")
///     .idle_timeout(Duration::from_secs(1))
///     .stack_size(256 * 1024)
///     .max_queued(100)
///     .build();
/// let name = pool.submit(|| std::thread::current().name().unwrap().to_owned()).unwrap();
/// assert_eq!(name.wait().unwrap(), "resize-0");
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    pub(super) config: Config,
}

impl Builder {
    pub(crate) fn new() -> Builder {
        Builder {
            config: Config {
                max_workers: default_max_workers(),
                prefix: "tulipa-pool".to_owned(),
                idle_timeout: Some(Duration::from_secs(10)),
                stack_size: None,
                max_queued: None,
                spin: Duration::from_micros(50),
            },
        }
    }

    /// The most worker threads that run at once.
    ///
    /// # Panics
    ///
    /// If `n` is 0 (CPython raises `ValueError`).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulipa::ThreadPoolExecutor::builder().max_workers(3).build();
    /// assert_eq!(pool.max_workers(), 3);
    /// ```
    pub fn max_workers(mut self, n: usize) -> Builder {
        assert!(n > 0, "a thread pool needs at least one worker");
        self.config.max_workers = n;
        self
    }

    /// Names the workers `{prefix}-0`, `{prefix}-1`, ... (CPython's
    /// `thread_name_prefix`).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulipa::ThreadPoolExecutor::builder().thread_name_prefix("io").build();
    /// let name = pool.submit(|| std::thread::current().name().map(str::to_owned)).unwrap();
    /// assert_eq!(name.wait().unwrap().as_deref(), Some("io-0"));
    /// ```
    pub fn thread_name_prefix(mut self, prefix: impl Into<String>) -> Builder {
        self.config.prefix = prefix.into();
        self
    }

    /// How long a worker waits for a job before it exits; a later job
    /// starts a new one. `Duration::MAX` keeps idle workers forever.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let pool = tulipa::ThreadPoolExecutor::builder()
    ///     .idle_timeout(Duration::from_millis(10))
    ///     .build();
    /// pool.submit(|| ()).unwrap().wait().unwrap();
    /// let give_up = Instant::now() + Duration::from_secs(10);
    /// while pool.num_threads() > 0 && Instant::now() < give_up {
    ///     std::thread::sleep(Duration::from_millis(5));
    /// }
    /// assert_eq!(pool.num_threads(), 0); // the idle worker has exited
    /// ```
    #[doc(alias = "keep_alive")]
    pub fn idle_timeout(mut self, timeout: Duration) -> Builder {
        self.config.idle_timeout = (timeout != Duration::MAX).then_some(timeout);
        self
    }

    /// The stack size of each worker thread, in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulipa::ThreadPoolExecutor::builder().stack_size(4 << 20).build();
    /// // Four MiB of stack: room for a large local array.
    /// let sum = pool.submit(|| [1u8; 1 << 20].iter().map(|&b| u32::from(b)).sum::<u32>()).unwrap();
    /// assert_eq!(sum.wait().unwrap(), 1 << 20);
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.config.stack_size = Some(bytes);
        self
    }

    /// Bounds the jobs waiting for a worker: beyond `n`,
    /// [`submit`](crate::ThreadPoolExecutor::submit) blocks its thread and
    /// [`submit_async`](crate::ThreadPoolExecutor::submit_async) /
    /// [`run`](crate::ThreadPoolExecutor::run) wait, instead of letting the
    /// queue grow. Running jobs do not count.
    ///
    /// # Panics
    ///
    /// If `n` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    ///
    /// let pool = tulipa::ThreadPoolExecutor::builder().max_workers(1).max_queued(2).build();
    /// let (release, gate) = mpsc::channel::<()>();
    /// let (started_tx, started) = mpsc::channel::<()>();
    /// let busy = pool.submit(move || { started_tx.send(()).unwrap(); gate.recv().unwrap() }).unwrap();
    /// started.recv().unwrap();
    /// let queued: Vec<_> = (0..2).map(|i| pool.try_submit(move || i).unwrap()).collect();
    /// assert_eq!(pool.queued(), 2);
    /// assert!(pool.try_submit(|| 9).unwrap_err().is_full());
    /// release.send(()).unwrap();
    /// busy.wait().unwrap();
    /// assert_eq!(queued.into_iter().map(|j| j.wait().unwrap()).sum::<i32>(), 1);
    /// ```
    pub fn max_queued(mut self, n: usize) -> Builder {
        assert!(n > 0, "a bounded job queue needs room for at least one job");
        self.config.max_queued = Some(n);
        self
    }

    /// How long a worker that has just finished a job and found the queue
    /// empty keeps looking for the next one before it goes to sleep.
    ///
    /// When a loop awaits one job at a time, the next job usually arrives
    /// within microseconds; a spinning worker takes it without the futex
    /// wake-up a sleeping one needs, which cuts the round trip several-fold
    /// when a core is free. The cost is at most this much CPU time per job.
    /// `Duration::ZERO` turns spinning off.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = tulipa::ThreadPoolExecutor::builder().spin_time(Duration::ZERO).build();
    /// let trips: u32 = (0..10).map(|i| pool.submit(move || i).unwrap().wait().unwrap()).sum();
    /// assert_eq!(trips, 45);
    /// ```
    pub fn spin_time(mut self, spin: Duration) -> Builder {
        self.config.spin = spin;
        self
    }
}
