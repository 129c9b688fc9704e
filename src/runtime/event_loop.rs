//! [`EventLoop`]: running, stopping and closing a loop, and scheduling on it;
//! [`run`] and [`get_running_loop`].

use std::fmt;
use std::future::Future;
use std::io;
use std::panic::Location;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::callback_handle::{CallCell, CallOnce};
use super::context::{self, Enter};
use super::core::{self, Core};
use super::timers::Action;
use super::{Builder, ExceptionContext, Handle, LoopHandle, LoopStats, RunError, TimerHandle};
use crate::task::error::TaskError;
use crate::task::id::TaskInfo;

/// A selector event loop on one thread (asyncio's `BaseEventLoop`).
///
/// The loop owns a ready queue of callbacks and tasks, its timers, a mio
/// selector and an inbox for posts from other threads. It is `!Send`: tasks
/// may hold `Rc`s and other `!Send` values, and same-thread wake-ups take no
/// lock. Use [`EventLoop::handle`] to reach it from other threads.
///
/// ```compile_fail
/// fn must_be_send<T: Send>(_: T) {}
/// must_be_send(tulipa::EventLoop::new().unwrap());
/// ```
///
/// # Examples
///
/// ```
/// use tulipa::EventLoop;
///
/// let lp = EventLoop::new().unwrap();
/// let answer = lp.run_until_complete(async { 40 + 2 }).unwrap();
/// assert_eq!(answer, 42);
/// lp.close().unwrap();
/// ```
pub struct EventLoop {
    pub(crate) core: Rc<Core>,
    /// The `EventLoop` made by `new`/`build` closes the loop when dropped; the
    /// ones handed out by [`get_running_loop`] do not.
    owner: bool,
}

impl EventLoop {
    /// The loop made by a `Builder`: it closes the loop when dropped.
    pub(super) fn owning(core: Rc<Core>) -> EventLoop {
        EventLoop { core, owner: true }
    }

    /// A loop on the real monotonic clock.
    ///
    /// # Errors
    ///
    /// The OS error if the selector (`epoll`) or its waker cannot be created.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// assert!(!lp.is_running() && !lp.is_closed());
    /// assert_eq!(lp.run_until_complete(async { 1 + 1 }).unwrap(), 2);
    /// ```
    pub fn new() -> io::Result<EventLoop> {
        Builder::default().build()
    }

    /// A [`Builder`] for a loop with non-default settings.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
    /// let start = lp.time();
    /// lp.run_until_complete(tulipa::sleep(Duration::from_secs(3600))).unwrap();
    /// assert_eq!(lp.time() - start, Duration::from_secs(3600)); // at once: a virtual hour
    /// ```
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Runs the loop until `future` completes and returns its output.
    ///
    /// The future runs on this thread as the loop's main task (asyncio wraps
    /// it in a task too): a task named "main" that
    /// [`current_task`](crate::current_task) returns inside it, scheduled
    /// like any other, but not listed by [`all_tasks`](EventLoop::all_tasks).
    /// It need not be `'static` or `Send`; it is dropped before this returns.
    /// Tasks it spawns keep running on the loop; they are not cancelled when
    /// it returns (use [`EventLoop::run`] or [`tulipa::run`](crate::run) for
    /// that).
    ///
    /// # Errors
    ///
    /// - [`RunError::AlreadyRunning`] if this loop, or any loop on this thread,
    ///   is already running (e.g. a re-entrant call from inside a callback);
    /// - [`RunError::Closed`] if the loop was closed;
    /// - [`RunError::Stopped`] if [`stop`](EventLoop::stop) ended the loop
    ///   before the future completed; the future is dropped;
    /// - [`RunError::Cancelled`] if the main task was cancelled
    ///   (`current_task().cancel()` inside it).
    ///
    /// # Panics
    ///
    /// A panic of `future` itself propagates to the caller (tasks' panics do
    /// not), at the end of the loop iteration in which it panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::RunError;
    ///
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let background = lp.spawn(async { 2 });
    /// assert_eq!(lp.run_until_complete(async { 40 }).unwrap(), 40);
    /// // The task outlives that call; a later one awaits it.
    /// assert_eq!(lp.run_until_complete(background).unwrap().unwrap(), 2);
    /// // A stop before the future completes drops the future.
    /// let stopped = lp.run_until_complete(async {
    ///     tulipa::get_running_loop().unwrap().stop();
    ///     std::future::pending::<()>().await
    /// });
    /// assert!(matches!(stopped, Err(RunError::Stopped)));
    /// ```
    #[track_caller]
    pub fn run_until_complete<F: Future>(&self, future: F) -> Result<F::Output, RunError> {
        let _enter = self.enter()?;
        let output = self.core.run_main(future, Location::caller());
        self.core.set_stopping(false);
        match output {
            None => Err(RunError::Stopped),
            Some(Ok(value)) => Ok(value),
            Some(Err(TaskError::Cancelled)) => Err(RunError::Cancelled),
            Some(Err(TaskError::Panicked(panic))) => std::panic::resume_unwind(panic.into_panic()),
        }
    }

    /// Runs the loop until [`stop`](EventLoop::stop) is called.
    ///
    /// # Errors
    ///
    /// [`RunError::AlreadyRunning`] or [`RunError::Closed`], as for
    /// [`run_until_complete`](EventLoop::run_until_complete).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let ran = Rc::new(Cell::new(false));
    /// let r = ran.clone();
    /// let _ = lp.call_soon(move || {
    ///     r.set(true);
    ///     tulipa::get_running_loop().unwrap().stop();
    /// });
    /// lp.run_forever().unwrap(); // until the callback stops it
    /// assert!(ran.get());
    /// ```
    pub fn run_forever(&self) -> Result<(), RunError> {
        let _enter = self.enter()?;
        loop {
            self.core.run_once();
            if self.core.is_stopping() {
                break;
            }
        }
        self.core.set_stopping(false);
        Ok(())
    }

    /// Runs exactly one iteration (see the [module docs](crate::runtime)).
    ///
    /// Blocks in the selector if nothing is ready and a timer or an outside
    /// post is awaited.
    ///
    /// # Errors
    ///
    /// [`RunError::AlreadyRunning`] or [`RunError::Closed`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let count = Rc::new(Cell::new(0));
    /// let c = count.clone();
    /// let _ = lp.call_soon(move || {
    ///     c.set(c.get() + 1);
    ///     // Scheduled during this iteration: runs in the next one.
    ///     let _ = tulipa::get_running_loop().unwrap().call_soon(move || c.set(c.get() + 1));
    /// });
    /// lp.run_once().unwrap();
    /// assert_eq!(count.get(), 1);
    /// lp.run_once().unwrap();
    /// assert_eq!(count.get(), 2);
    /// ```
    pub fn run_once(&self) -> Result<(), RunError> {
        let _enter = self.enter()?;
        self.core.run_once();
        Ok(())
    }

    /// Runs `future` to completion, cancels every task still alive and lets
    /// them unwind, then closes the loop (asyncio's `asyncio.run` on this loop).
    ///
    /// # Errors
    ///
    /// As [`run_until_complete`](EventLoop::run_until_complete).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// struct SetOnDrop(Rc<Cell<bool>>);
    /// impl Drop for SetOnDrop {
    ///     fn drop(&mut self) {
    ///         self.0.set(true);
    ///     }
    /// }
    ///
    /// let unwound = Rc::new(Cell::new(false));
    /// let flag = SetOnDrop(unwound.clone());
    /// let out = tulipa::EventLoop::new().unwrap().run(async move {
    ///     drop(tulipa::spawn(async move {
    ///         let _flag = flag;
    ///         std::future::pending::<()>().await
    ///     }));
    ///     7
    /// });
    /// assert_eq!(out.unwrap(), 7);
    /// assert!(unwound.get(), "the task left over was cancelled and dropped");
    /// ```
    #[track_caller]
    pub fn run<F: Future>(self, future: F) -> Result<F::Output, RunError> {
        let output = self.run_until_complete(future);
        self.cancel_all_tasks();
        let _ = self.close();
        output
    }

    /// Cancels every live task and runs the loop until they are all gone
    /// (asyncio's `_cancel_all_tasks`). Gives up after 100 rounds of tasks
    /// spawning tasks; `close` drops whatever is left.
    fn cancel_all_tasks(&self) {
        for _ in 0..100 {
            let live = self.core.tasks().live();
            if live.is_empty() {
                return;
            }
            for task in live {
                task.request_cancel();
            }
            if self.run_once().is_err() {
                return;
            }
        }
    }

    fn enter(&self) -> Result<Running<'_>, RunError> {
        if self.core.is_closed() {
            return Err(RunError::Closed);
        }
        let enter = Enter::new(&self.core)?;
        self.core.forget_clock_reading();
        self.core.counters().started_running();
        Ok(Running {
            _enter: enter,
            core: &self.core,
        })
    }

    /// What the loop has done so far: iterations, callbacks and polls run,
    /// timers, I/O events, posts from other threads, and where its time went.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// lp.run_until_complete(async { tulipa::spawn(async {}).await.unwrap() }).unwrap();
    /// let stats = lp.stats();
    /// assert!(stats.iterations >= 1);
    /// assert!(stats.task_polls >= 1);
    /// ```
    pub fn stats(&self) -> LoopStats {
        self.core.stats()
    }

    /// Whether debug mode is on (see [`Builder::debug`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::builder().debug(true).build().unwrap();
    /// assert!(lp.is_debug());
    /// let lp = tulipa::EventLoop::builder().debug(false).build().unwrap();
    /// assert!(!lp.is_debug());
    /// ```
    pub fn is_debug(&self) -> bool {
        self.core.slow_callback().is_some()
    }

    /// Turns debug mode on or off while the loop exists (asyncio's `set_debug`),
    /// keeping the slow-callback threshold at 100 ms unless set otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::builder().debug(false).build().unwrap();
    /// lp.set_debug(true);
    /// assert!(lp.is_debug());
    /// lp.set_debug(false);
    /// assert!(!lp.is_debug());
    /// ```
    pub fn set_debug(&self, on: bool) {
        let threshold = self
            .core
            .slow_callback()
            .unwrap_or(Duration::from_millis(100));
        self.core.set_slow_callback(on.then_some(threshold));
    }

    /// Sets debug mode's slow-callback threshold (asyncio's
    /// `loop.slow_callback_duration`); has no effect unless debug mode is on.
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
    /// let lp = tulipa::EventLoop::builder().debug(true).build().unwrap();
    /// lp.set_slow_callback_duration(Duration::from_millis(5));
    /// let slow = lp.spawn_named("slow", async { std::thread::sleep(Duration::from_millis(20)) });
    /// lp.run_until_complete(slow).unwrap().unwrap();
    /// // 20 ms: past the 5 ms threshold (not past the default 100 ms).
    /// let warnings = WARNINGS.lock().unwrap();
    /// assert!(warnings.iter().any(|w| w.contains("'slow'")), "{warnings:?}");
    /// ```
    pub fn set_slow_callback_duration(&self, threshold: Duration) {
        if self.core.slow_callback().is_some() {
            self.core.set_slow_callback(Some(threshold));
        }
    }

    /// Asks the loop to stop after the current iteration.
    ///
    /// Called while the loop is not running, it makes the next
    /// `run_forever` run one iteration and return (asyncio's behaviour).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let runs = Rc::new(Cell::new(0));
    /// let r = runs.clone();
    /// let _ = lp.call_soon(move || r.set(r.get() + 1));
    /// // Before running: the next `run_forever` runs one iteration and returns.
    /// lp.stop();
    /// lp.run_forever().unwrap();
    /// assert_eq!(runs.get(), 1);
    /// ```
    pub fn stop(&self) {
        self.core.set_stopping(true);
    }

    /// Closes the loop: every task still alive is dropped (its future with
    /// it), pending callbacks and timers are discarded, later posts from
    /// other threads fail with [`LoopClosed`](super::LoopClosed), and the default executor is
    /// shut down without waiting for its running jobs. Closing twice does
    /// nothing.
    ///
    /// # Errors
    ///
    /// [`RunError::AlreadyRunning`] if called while the loop is running.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::RunError;
    ///
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// // Not while it runs.
    /// let running = lp.run_until_complete(async { tulipa::get_running_loop().unwrap().close() });
    /// assert!(matches!(running.unwrap(), Err(RunError::AlreadyRunning)));
    /// let ran = std::rc::Rc::new(std::cell::Cell::new(false));
    /// let r = ran.clone();
    /// let _ = lp.call_soon(move || r.set(true));
    /// lp.close().unwrap();
    /// lp.close().unwrap(); // twice: nothing more
    /// assert_eq!(std::rc::Rc::strong_count(&ran), 1, "the pending callback was dropped");
    /// assert!(!ran.get());
    /// assert!(matches!(lp.run_until_complete(async {}), Err(RunError::Closed)));
    /// ```
    pub fn close(&self) -> Result<(), RunError> {
        if self.is_running() {
            return Err(RunError::AlreadyRunning);
        }
        self.core.close();
        Ok(())
    }

    /// Whether the loop is running on this thread right now.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// assert!(!lp.is_running());
    /// let inside = lp.run_until_complete(async { tulipa::get_running_loop().unwrap().is_running() });
    /// assert!(inside.unwrap());
    /// ```
    pub fn is_running(&self) -> bool {
        context::with_current(|c| c.is_some_and(|c| Rc::ptr_eq(c, &self.core)))
    }

    /// Whether [`close`](EventLoop::close) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// assert!(!lp.is_closed());
    /// lp.close().unwrap();
    /// assert!(lp.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.core.is_closed()
    }

    /// The loop's current time (asyncio's `loop.time()`): the monotonic clock,
    /// or the virtual clock if the loop was built with one.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
    /// let start = lp.time();
    /// lp.run_until_complete(tulipa::sleep(Duration::from_millis(250))).unwrap();
    /// assert_eq!(lp.time() - start, Duration::from_millis(250));
    /// ```
    pub fn time(&self) -> Instant {
        self.core.now()
    }

    /// Schedules `callback` to run in the next iteration, after every callback
    /// already scheduled (FIFO).
    ///
    /// A panic in the callback goes to the exception handler and the loop
    /// goes on. On a closed loop the callback is dropped and the returned
    /// handle is already cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    ///
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let log = Rc::new(RefCell::new(Vec::new()));
    /// for i in 0..3 {
    ///     let log = log.clone();
    ///     let _ = lp.call_soon(move || log.borrow_mut().push(i));
    /// }
    /// lp.run_once().unwrap();
    /// assert_eq!(*log.borrow(), [0, 1, 2]);
    /// ```
    pub fn call_soon<F: FnOnce() + 'static>(&self, callback: F) -> Handle {
        let cell: Rc<dyn CallOnce> = Rc::new(CallCell::new(callback));
        if self.core.is_closed() {
            cell.cancel();
        } else {
            self.core.push_ready(core::Ready::Call(cell.clone()));
        }
        Handle { cell }
    }

    /// Schedules `callback` to run `delay` from now (asyncio's `call_later`).
    ///
    /// Timers due at the same time run in the order they were scheduled.
    /// On a closed loop the returned handle is already cancelled. Any
    /// delay is valid: one too large to add to the clock (`Duration::MAX`)
    /// schedules the callback about a century ahead.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
    /// let start = lp.time();
    /// let stopper = lp.handle();
    /// let _ = lp.call_later(Duration::from_secs(5), move || { stopper.stop().unwrap(); });
    /// lp.run_forever().unwrap();
    /// assert_eq!(lp.time() - start, Duration::from_secs(5));
    /// ```
    pub fn call_later<F: FnOnce() + 'static>(&self, delay: Duration, callback: F) -> TimerHandle {
        self.call_at(crate::time::deadline_after(self.time(), delay), callback)
    }

    /// Schedules `callback` to run at loop time `when` (asyncio's `call_at`).
    ///
    /// A `when` in the past runs in the next iteration. On a closed loop the
    /// returned handle is already cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
    /// let when = lp.time() + Duration::from_secs(2);
    /// let stopper = lp.handle();
    /// let timer = lp.call_at(when, move || stopper.stop().unwrap());
    /// assert_eq!(timer.when(), when);
    /// lp.run_forever().unwrap();
    /// assert_eq!(lp.time(), when);
    /// ```
    pub fn call_at<F: FnOnce() + 'static>(&self, when: Instant, callback: F) -> TimerHandle {
        let cell: Rc<dyn CallOnce> = Rc::new(CallCell::new(callback));
        let key = self.core.insert_timer(when, Action::Call(cell.clone()));
        if self.core.is_closed() {
            cell.cancel();
            self.core.cancel_timer(key);
        }
        TimerHandle {
            cell,
            key,
            when,
            core: Rc::downgrade(&self.core),
        }
    }

    /// A `Send + Sync` handle for reaching this loop from other threads.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let handle = lp.handle();
    /// std::thread::spawn(move || {
    ///     handle.call_soon_threadsafe(|| tulipa::get_running_loop().unwrap().stop()).unwrap();
    /// });
    /// lp.run_forever().unwrap(); // until the other thread's callback stops it
    /// assert!(!lp.handle().is_closed());
    /// ```
    pub fn handle(&self) -> LoopHandle {
        LoopHandle {
            remote: self.core.remote().clone(),
        }
    }

    /// Sets the function that receives panics of callbacks and of tasks
    /// nobody awaits (asyncio's `set_exception_handler`); `None` restores the
    /// default, which prints to stderr.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    ///
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let seen = Rc::new(RefCell::new(Vec::new()));
    /// let s = seen.clone();
    /// lp.set_exception_handler(Some(move |ctx: &tulipa::ExceptionContext| {
    ///     s.borrow_mut().push(ctx.panic.clone());
    /// }));
    /// let _ = lp.call_soon(|| panic!("boom"));
    /// lp.run_once().unwrap(); // the loop goes on
    /// assert_eq!(*seen.borrow(), [Some("boom".to_string())]);
    /// ```
    pub fn set_exception_handler<H>(&self, handler: Option<H>)
    where
        H: Fn(&ExceptionContext) + 'static,
    {
        self.core
            .set_handler(handler.map(|h| Rc::new(h) as core::Handler));
    }

    /// Every task alive on this loop (asyncio's `all_tasks`).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let _waiting = lp.spawn_named("waiting", std::future::pending::<()>());
    /// let done = lp.spawn(async {});
    /// lp.run_until_complete(done).unwrap().unwrap();
    /// let names: Vec<_> = lp.all_tasks().into_iter().map(|t| t.name).collect();
    /// assert_eq!(names, [Some("waiting".to_string())]);
    /// ```
    pub fn all_tasks(&self) -> Vec<TaskInfo> {
        self.core.all_tasks()
    }
}

/// The loop is running on this thread until this drops.
struct Running<'a> {
    _enter: Enter,
    core: &'a Core,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.core.counters().stopped_running();
    }
}

impl Drop for EventLoop {
    fn drop(&mut self) {
        if self.owner && !self.is_running() {
            let _ = self.close();
        }
    }
}

impl fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLoop")
            .field("running", &self.is_running())
            .field("closed", &self.is_closed())
            .field("virtual_time", &self.core.is_virtual_time())
            .finish()
    }
}

/// The loop running on this thread, if any (asyncio's `get_running_loop`).
///
/// Dropping the returned value does not close the loop.
///
/// # Examples
///
/// ```
/// assert!(tulipa::get_running_loop().is_none());
/// let lp = tulipa::EventLoop::new().unwrap();
/// lp.run_until_complete(async {
///     let running = tulipa::get_running_loop().unwrap();
///     assert!(running.is_running());
/// })
/// .unwrap();
/// assert!(!lp.is_closed(), "dropping what it returned did not close the loop");
/// ```
pub fn get_running_loop() -> Option<EventLoop> {
    context::current().map(|core| EventLoop { core, owner: false })
}

/// Runs `future` on a new loop, cancels the tasks left over, closes the loop
/// and returns the output (asyncio's `asyncio.run`).
///
/// # Errors
///
/// [`RunError::Io`] if the loop cannot be created, [`RunError::AlreadyRunning`]
/// if called from inside a running loop, [`RunError::Stopped`] if the future
/// stopped the loop before completing.
/// With the `signal` feature (Unix), `RunError::Interrupted` if Ctrl-C
/// arrived first: as `asyncio.run` since 3.11, the first `SIGINT` drops the
/// future and cancels the tasks left, a second one takes the default action
/// (see the `tulipa::signal` module).
///
/// # Examples
///
/// ```
/// let out = tulipa::run(async {
///     let task = tulipa::spawn(async { 21 });
///     task.await.unwrap() * 2
/// });
/// assert_eq!(out.unwrap(), 42);
/// ```
#[track_caller]
pub fn run<F: Future>(future: F) -> Result<F::Output, RunError> {
    let lp = EventLoop::new().map_err(RunError::Io)?;
    #[cfg(all(unix, feature = "signal"))]
    return crate::signal::run_interruptible(lp, future);
    #[cfg(not(all(unix, feature = "signal")))]
    lp.run(future)
}
