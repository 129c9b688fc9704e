//! [`Builder`]: how a loop is configured before it is built.

use std::io;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::core::Core;
use super::EventLoop;

static NEXT_LOOP_ID: AtomicU64 = AtomicU64::new(1);

/// Configures an [`EventLoop`] before it is built.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulipa::EventLoop;
///
/// let lp = EventLoop::builder().virtual_time().build().unwrap();
/// let start = lp.time();
/// lp.run_until_complete(tulipa::sleep(Duration::from_secs(3600))).unwrap();
/// assert_eq!(lp.time() - start, Duration::from_secs(3600)); // at once, exactly
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    virtual_time: bool,
    eager_tasks: bool,
    debug: Option<bool>,
    slow_callback: Duration,
    trace: Option<PathBuf>,
    trace_svg: Option<PathBuf>,
    trace_capacity: usize,
    /// Set by a loop group: the loop's seat at the group's clock, and its
    /// lane in the group's trace.
    group_clock: Option<super::clock::ClockMember>,
    group_tracer: Option<(crate::trace::GroupTrace, usize)>,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder {
            virtual_time: false,
            eager_tasks: false,
            debug: None,
            slow_callback: Duration::from_millis(100),
            trace: None,
            trace_svg: None,
            trace_capacity: crate::trace::DEFAULT_CAPACITY,
            group_clock: None,
            group_tracer: None,
        }
    }
}

impl Builder {
    /// Uses a virtual clock: when nothing is ready and nothing can arrive from
    /// outside (no I/O source, no [`LoopHandle::hold`](super::LoopHandle::hold)), time jumps to the next
    /// timer. Programs with long sleeps finish at once, and the same program
    /// produces the same interleaving on every run.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    /// use std::time::Duration;
    ///
    /// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
    /// let start = lp.time();
    /// let order = Rc::new(RefCell::new(Vec::new()));
    /// let tasks: Vec<_> = [("slow", 2), ("fast", 1)]
    ///     .into_iter()
    ///     .map(|(name, secs)| {
    ///         let order = order.clone();
    ///         lp.spawn(async move {
    ///             tulipa::sleep(Duration::from_secs(secs)).await;
    ///             order.borrow_mut().push(name);
    ///         })
    ///     })
    ///     .collect();
    /// for task in tasks {
    ///     lp.run_until_complete(task).unwrap().unwrap();
    /// }
    /// assert_eq!(*order.borrow(), ["fast", "slow"]); // the same on every run
    /// assert_eq!(lp.time() - start, Duration::from_secs(2));
    /// ```
    pub fn virtual_time(mut self) -> Builder {
        self.virtual_time = true;
        self
    }

    /// Makes every [`spawn`](crate::spawn) on this loop eager, as asyncio
    /// 3.12's `loop.set_task_factory(asyncio.eager_task_factory)`: a task's
    /// first step runs inside the spawn call; see
    /// [`spawn_eager`](crate::spawn_eager) for what that changes in the
    /// scheduling order. Spawns made while the loop is not running are
    /// scheduled as usual.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::builder().eager_tasks().build().unwrap();
    /// lp.run_until_complete(async {
    ///     let task = tulipa::spawn(async { 5 });
    ///     assert!(task.is_done());
    ///     assert_eq!(task.await.unwrap(), 5);
    /// })
    /// .unwrap();
    /// ```
    pub fn eager_tasks(mut self) -> Builder {
        self.eager_tasks = true;
        self
    }

    /// Turns debug mode on or off (asyncio's `loop.set_debug`). Without this
    /// call, the `TULIPA_DEBUG` environment variable decides (`1` = on).
    ///
    /// In debug mode the loop reports, through the `log` facade (target
    /// `tulipa`): any callback or task poll slower than
    /// [`slow_callback_duration`](Builder::slow_callback_duration) (warn),
    /// with the task's name and spawn location; and tasks still pending when
    /// the loop is closed (error). Panics that nobody retrieves are reported
    /// in any mode, through the exception handler.
    ///
    /// With no logger set up (`log::max_level()` still `Off`) these go to
    /// stderr instead, as asyncio's reach stderr unconfigured. Under
    /// `env_logger`, whose default filter shows errors only,
    /// `RUST_LOG=tulipa=warn` shows the slow-callback warnings too.
    ///
    /// # Examples
    ///
    /// ```
    /// // `debug(false)` wins over `TULIPA_DEBUG=1`.
    /// assert!(tulipa::EventLoop::builder().debug(true).build().unwrap().is_debug());
    /// assert!(!tulipa::EventLoop::builder().debug(false).build().unwrap().is_debug());
    /// ```
    pub fn debug(mut self, on: bool) -> Builder {
        self.debug = Some(on);
        self
    }

    /// The threshold for debug mode's slow-callback warning (default 100 ms).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use std::time::Duration;
    ///
    /// // A logger that keeps the warnings.
    /// static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());
    /// struct Keep;
    /// impl log::Log for Keep {
    ///     fn enabled(&self, _: &log::Metadata<'_>) -> bool {
    ///         true
    ///     }
    ///     fn log(&self, record: &log::Record<'_>) {
    ///         WARNINGS.lock().unwrap().push(record.args().to_string());
    ///     }
    ///     fn flush(&self) {}
    /// }
    /// log::set_logger(&Keep).unwrap();
    /// log::set_max_level(log::LevelFilter::Warn);
    ///
    /// let lp = tulipa::EventLoop::builder()
    ///     .debug(true)
    ///     .slow_callback_duration(Duration::from_millis(5))
    ///     .build()
    ///     .unwrap();
    /// let slow = lp.spawn_named("slow", async { std::thread::sleep(Duration::from_millis(20)) });
    /// lp.run_until_complete(slow).unwrap().unwrap();
    /// let warnings = WARNINGS.lock().unwrap();
    /// assert!(warnings.iter().any(|w| w.contains("'slow'")), "{warnings:?}");
    /// ```
    pub fn slow_callback_duration(mut self, threshold: Duration) -> Builder {
        self.slow_callback = threshold;
        self
    }

    /// Records a timeline of the loop (see [`crate::trace`]) and writes it
    /// as Chrome trace-event JSON to `path` when the loop closes. Without this
    /// call, the `TULIPA_TRACE` environment variable names the file.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("tulipa-doc-trace-{}.json", std::process::id()));
    /// let lp = tulipa::EventLoop::builder().trace(&path).build().unwrap();
    /// lp.run_until_complete(lp.spawn_named("traced", async {})).unwrap().unwrap();
    /// lp.close().unwrap(); // writes the file
    /// let json = std::fs::read_to_string(&path).unwrap();
    /// std::fs::remove_file(&path).unwrap();
    /// assert!(json.contains("\"traceEvents\"") && json.contains("traced"));
    /// ```
    pub fn trace(mut self, path: impl Into<PathBuf>) -> Builder {
        self.trace = Some(path.into());
        self
    }

    /// Also draws the timeline as an SVG picture at `path` (needs [`trace`](Builder::trace)).
    ///
    /// # Examples
    ///
    /// ```
    /// let dir = std::env::temp_dir();
    /// let json = dir.join(format!("tulipa-doc-svg-{}.json", std::process::id()));
    /// let svg = dir.join(format!("tulipa-doc-svg-{}.svg", std::process::id()));
    /// let lp = tulipa::EventLoop::builder().trace(&json).trace_svg(&svg).build().unwrap();
    /// lp.run_until_complete(lp.spawn_named("drawn", async {})).unwrap().unwrap();
    /// lp.close().unwrap();
    /// let picture = std::fs::read_to_string(&svg).unwrap();
    /// std::fs::remove_file(&json).unwrap();
    /// std::fs::remove_file(&svg).unwrap();
    /// assert!(picture.starts_with("<svg"));
    /// ```
    pub fn trace_svg(mut self, path: impl Into<PathBuf>) -> Builder {
        self.trace_svg = Some(path.into());
        self
    }

    /// How many trace events to keep (default 100 000); older ones are dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("tulipa-doc-cap-{}.json", std::process::id()));
    /// let lp = tulipa::EventLoop::builder().trace(&path).trace_capacity(10).build().unwrap();
    /// lp.run_until_complete(async {
    ///     for _ in 0..100 {
    ///         tulipa::spawn(async {}).await.unwrap();
    ///     }
    /// })
    /// .unwrap();
    /// lp.close().unwrap();
    /// let json = std::fs::read_to_string(&path).unwrap();
    /// std::fs::remove_file(&path).unwrap();
    /// assert!(!json.contains("\"dropped_events\":0}"), "the oldest events were dropped");
    /// ```
    pub fn trace_capacity(mut self, events: usize) -> Builder {
        self.trace_capacity = events;
        self
    }

    /// A loop of a group: it shares the group's clock and trace.
    pub(crate) fn group_member(
        mut self,
        clock: Option<super::clock::ClockMember>,
        trace: Option<(crate::trace::GroupTrace, usize)>,
    ) -> Builder {
        self.group_clock = clock;
        self.group_tracer = trace;
        self
    }

    /// Builds the loop.
    ///
    /// # Errors
    ///
    /// The OS error if the selector (`epoll`) or its waker cannot be created.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::builder().virtual_time().eager_tasks().build().unwrap();
    /// assert_eq!(lp.run_until_complete(async { 6 * 7 }).unwrap(), 42);
    /// ```
    pub fn build(self) -> io::Result<EventLoop> {
        let id = NEXT_LOOP_ID.fetch_add(1, Ordering::Relaxed);
        let debug = self.debug.unwrap_or_else(|| {
            std::env::var("TULIPA_DEBUG").is_ok_and(|v| v == "1" || v == "true")
        });
        let trace = self
            .trace
            .or_else(|| std::env::var_os("TULIPA_TRACE").map(PathBuf::from));
        let config = super::core::Config {
            virtual_time: self.virtual_time,
            group_clock: self.group_clock,
            eager_tasks: self.eager_tasks,
            slow_callback: debug.then_some(self.slow_callback),
            tracer: match self.group_tracer {
                Some((group, index)) => Some(group.tracer(index)),
                None => trace.map(|json| {
                    crate::trace::Tracer::new(json, self.trace_svg, self.trace_capacity)
                }),
            },
        };
        Ok(EventLoop::owning(Rc::new(Core::new(id, config)?)))
    }
}
