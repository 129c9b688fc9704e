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
    pub fn debug(mut self, on: bool) -> Builder {
        self.debug = Some(on);
        self
    }

    /// The threshold for debug mode's slow-callback warning (default 100 ms).
    pub fn slow_callback_duration(mut self, threshold: Duration) -> Builder {
        self.slow_callback = threshold;
        self
    }

    /// Records a timeline of the loop (see [`crate::trace`]) and writes it
    /// as Chrome trace-event JSON to `path` when the loop closes. Without this
    /// call, the `TULIPA_TRACE` environment variable names the file.
    pub fn trace(mut self, path: impl Into<PathBuf>) -> Builder {
        self.trace = Some(path.into());
        self
    }

    /// Also draws the timeline as an SVG picture at `path` (needs [`trace`](Builder::trace)).
    pub fn trace_svg(mut self, path: impl Into<PathBuf>) -> Builder {
        self.trace_svg = Some(path.into());
        self
    }

    /// How many trace events to keep (default 100 000); older ones are dropped.
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
