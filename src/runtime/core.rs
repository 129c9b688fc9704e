//! The loop's state and one turn of it (`run_once`).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::clock::Clock;
use super::handle::CallOnce;
use super::reactor::{Polled, Reactor, Woken};
use super::remote::{Msg, Remote};
use super::stats::{bump, Counters, LoopStats};
use super::timers::{Action, TimerKey, Timers};
use super::ExceptionContext;
use crate::task::{TaskKey, TaskSlab};
use crate::trace::Tracer;

/// Lane of the loop thread in a trace.
const LOOP_LANE: usize = 0;

/// What the builder decided.
pub(crate) struct Config {
    pub(crate) virtual_time: bool,
    /// `Some(threshold)` in debug mode.
    pub(crate) slow_callback: Option<Duration>,
    pub(crate) tracer: Option<Tracer>,
}

/// One entry of the ready queue (asyncio's `_ready` deque of handles).
pub(crate) enum Ready {
    /// Poll a task.
    Task(TaskKey),
    /// Poll the future given to `run_until_complete`.
    Main,
    /// Run a callback (`call_soon`, a due `call_later`, a posted callback).
    Call(Rc<dyn CallOnce>),
    /// Run a callback posted from another thread.
    Posted(Box<dyn FnOnce() + Send>),
    /// Run an `add_reader` / `add_writer` callback whose fd is ready.
    #[cfg(unix)]
    Fd(Rc<super::reactor::FdCallback>),
}

pub(crate) type Handler = Rc<dyn Fn(&ExceptionContext)>;

/// Loop state shared by the `EventLoop`, its handles and the thread-local slot.
pub(crate) struct Core {
    pub(crate) id: u64,
    pub(crate) clock: Clock,
    ready: RefCell<VecDeque<Ready>>,
    pub(crate) tasks: RefCell<TaskSlab>,
    pub(crate) timers: RefCell<Timers>,
    pub(crate) reactor: Reactor,
    /// Reused buffer for what the selector found ready.
    io_woken: RefCell<Vec<Woken>>,
    pub(crate) remote: Arc<Remote>,
    /// Reused buffer for draining the inbox.
    drained: RefCell<Vec<Msg>>,
    pub(crate) stopping: Cell<bool>,
    pub(crate) closed: Cell<bool>,
    main_scheduled: Cell<bool>,
    handler: RefCell<Option<Handler>>,
    pub(crate) next_task_id: Cell<u64>,
    /// The task being polled, for `current_task()`.
    pub(crate) current_task: Cell<Option<TaskKey>>,
    pub(crate) counters: Counters,
    /// Debug mode: warn about callbacks slower than this.
    pub(crate) slow_callback: Cell<Option<Duration>>,
    pub(crate) tracer: Option<Tracer>,
    /// The pool of `run_in_executor`, made on first use; shut down by `close`.
    pub(crate) default_executor: RefCell<Option<crate::executor::ThreadPoolExecutor>>,
}

impl Core {
    pub(crate) fn new(id: u64, config: Config) -> std::io::Result<Core> {
        let (reactor, wakeup) = Reactor::new()?;
        Ok(Core {
            id,
            clock: Clock::new(config.virtual_time),
            ready: RefCell::new(VecDeque::with_capacity(64)),
            tasks: RefCell::new(TaskSlab::default()),
            timers: RefCell::new(Timers::default()),
            reactor,
            io_woken: RefCell::new(Vec::new()),
            remote: Arc::new(Remote::new(wakeup)),
            drained: RefCell::new(Vec::new()),
            stopping: Cell::new(false),
            closed: Cell::new(false),
            main_scheduled: Cell::new(false),
            handler: RefCell::new(None),
            next_task_id: Cell::new(1),
            current_task: Cell::new(None),
            counters: Counters::default(),
            slow_callback: Cell::new(config.slow_callback),
            tracer: config.tracer,
            default_executor: RefCell::new(None),
        })
    }

    pub(crate) fn stats(&self) -> LoopStats {
        let counts = self.timers.borrow().counts;
        self.counters.snapshot(counts.fired, counts.cancelled)
    }

    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    pub(crate) fn push_ready(&self, entry: Ready) {
        self.ready.borrow_mut().push_back(entry);
    }

    /// Schedules a task (its waker was woken on the loop thread).
    pub(crate) fn schedule_task(&self, key: TaskKey) {
        if key == TaskKey::MAIN {
            if !self.main_scheduled.replace(true) {
                self.push_ready(Ready::Main);
            }
            return;
        }
        let tasks = self.tasks.borrow();
        if let Some(task) = tasks.get(key) {
            if !task.header().scheduled.replace(true) {
                self.push_ready(Ready::Task(key));
            }
        }
    }

    pub(crate) fn set_handler(&self, handler: Option<Handler>) {
        *self.handler.borrow_mut() = handler;
    }

    /// Sends a report to the exception handler (default: stderr).
    pub(crate) fn report(&self, context: &ExceptionContext) {
        let handler = self.handler.borrow().clone();
        match handler {
            Some(handler) => {
                // A panicking handler must not take the loop down either.
                let run = std::panic::AssertUnwindSafe(|| handler(context));
                if std::panic::catch_unwind(run).is_err() {
                    eprintln!("tulipa: the exception handler panicked while reporting: {context}");
                }
            }
            None => default_report(context),
        }
    }

    pub(crate) fn insert_timer(&self, when: Instant, action: Action) -> TimerKey {
        self.timers.borrow_mut().insert(when, action)
    }

    pub(crate) fn cancel_timer(&self, key: TimerKey) -> bool {
        self.timers.borrow_mut().cancel(key)
    }

    /// One iteration, as asyncio's `BaseEventLoop._run_once`.
    ///
    /// `main` polls the future of `run_until_complete` when it is ready.
    pub(crate) fn run_once(&self, main: &mut dyn FnMut()) {
        bump(&self.counters.iterations, 1);
        let traced_from = self.tracer.as_ref().map(Tracer::now);
        // 1. Sweep cancelled timers off the heap (`_timer_cancelled_count`).
        self.timers.borrow_mut().purge();
        // 2. Poll timeout: 0 if anything is ready or we are stopping, else the
        //    time to the earliest timer, else forever.
        let timeout = self.select_timeout();
        // 3. Wait in the selector (`self._selector.select(timeout)`), or jump
        //    the virtual clock; then `_process_events`: wake the tasks of
        //    ready sockets and queue ready `add_reader`/`add_writer` callbacks.
        self.wait_for_events(timeout);
        // 4. Move due timers to the ready queue (`end_time = self.time() + ...`).
        self.fire_due_timers();
        // 5. Take what other threads posted (`call_soon_threadsafe`).
        self.drain_inbox();
        // 6. Run exactly the callbacks ready now (`ntodo = len(self._ready)`);
        //    whatever they schedule runs in the next iteration.
        let ntodo = self.ready.borrow().len();
        let timed = self.tracer.is_some() || self.slow_callback.get().is_some();
        for _ in 0..ntodo {
            let Some(entry) = self.ready.borrow_mut().pop_front() else {
                break;
            };
            if timed {
                self.run_entry_timed(entry, main);
            } else {
                self.run_entry(entry, main);
            }
        }
        if let (Some(tracer), Some(from)) = (&self.tracer, traced_from) {
            let to = tracer.now();
            tracer
                .sink
                .slice(LOOP_LANE, "run_once".to_owned(), "iteration", from, to);
        }
    }

    fn select_timeout(&self) -> Option<Duration> {
        if !self.ready.borrow().is_empty() || self.stopping.get() {
            return Some(Duration::ZERO);
        }
        let next = self.timers.borrow_mut().next_deadline()?;
        Some(next.saturating_duration_since(self.now()))
    }

    /// Step 3: select, then process the events (`_process_events`): the
    /// tasks waiting on a ready socket are woken, which appends them to the
    /// ready queue, and ready `add_reader` / `add_writer` callbacks are
    /// appended as they are in asyncio.
    fn wait_for_events(&self, timeout: Option<Duration>) {
        self.select(timeout);
        if !self.reactor.has_sources() {
            return;
        }
        // Taken out of its cell, so that no borrow is held while waking.
        let mut woken = std::mem::take(&mut *self.io_woken.borrow_mut());
        self.reactor.take_woken(&mut woken);
        for ready in woken.drain(..) {
            match ready {
                // On the loop thread a task waker appends to the ready queue.
                Woken::Task(waker) => waker.wake(),
                #[cfg(unix)]
                Woken::Fd(callback) => self.push_ready(Ready::Fd(callback)),
            }
        }
        *self.io_woken.borrow_mut() = woken;
    }

    /// The selector is only entered when it can report something: with work
    /// ready and no I/O source registered, the inbox flag alone tells whether
    /// another thread posted, and no syscall is made.
    fn select(&self, timeout: Option<Duration>) {
        let may_block = timeout != Some(Duration::ZERO);
        if !may_block || self.remote.inbox.is_notified() {
            // Work is ready, or a post is already waiting: look at I/O
            // without blocking, if there is any I/O to look at.
            if self.reactor.has_sources() {
                self.poll_selector(Some(Duration::ZERO));
            }
            return;
        }
        if self.clock.is_virtual() {
            self.wait_virtual(timeout);
        } else {
            self.poll_selector(timeout);
        }
    }

    /// Polls the selector, counting I/O events and, when it may block,
    /// the time spent waiting.
    fn poll_selector(&self, timeout: Option<Duration>) -> Polled {
        if timeout == Some(Duration::ZERO) {
            let polled = self.reactor.poll(timeout);
            bump(&self.counters.io_events, polled.io_events as u64);
            return polled;
        }
        if !self.remote.inbox.park() {
            // A post arrived since the last look: go round instead of blocking.
            return Polled {
                io_events: 0,
                woken: true,
            };
        }
        let started = Instant::now();
        let polled = self.reactor.poll(timeout);
        let waited = started.elapsed();
        self.remote.inbox.unpark();
        bump(&self.counters.io_events, polled.io_events as u64);
        self.counters.add_polling(waited);
        if let Some(tracer) = &self.tracer {
            let to = tracer.now();
            let from = to - waited.as_secs_f64() * 1e6;
            tracer
                .sink
                .slice(LOOP_LANE, "poll".to_owned(), "wait", from, to);
        }
        polled
    }

    /// The virtual clock jumps straight to the next timer when nothing can
    /// arrive from outside (no I/O source, no outstanding hold). Otherwise it
    /// waits in real time and lets virtual time follow.
    fn wait_virtual(&self, timeout: Option<Duration>) {
        let outside_can_post = self.reactor.has_sources() || self.remote.has_holds();
        match timeout {
            Some(gap) if !outside_can_post => {
                self.clock.advance_by(gap);
                if let Some(tracer) = &self.tracer {
                    let from = tracer.now();
                    tracer.jumped(gap);
                    let to = tracer.now();
                    tracer
                        .sink
                        .slice(LOOP_LANE, "virtual jump".to_owned(), "wait", from, to);
                }
            }
            _ => {
                let started = Instant::now();
                let polled = self.poll_selector(timeout);
                let waited = started.elapsed();
                let moved = match timeout {
                    // Nothing arrived: the whole gap passed.
                    Some(gap) if polled.io_events == 0 && !polled.woken => gap,
                    Some(gap) => waited.min(gap),
                    None => waited,
                };
                self.clock.advance_by(moved);
            }
        }
    }

    fn fire_due_timers(&self) {
        // No timer, no clock read (a clock read per iteration was a quarter
        // of the ping-pong workload W2).
        if self.timers.borrow_mut().next_deadline().is_none() {
            return;
        }
        let now = self.now();
        loop {
            let action = self.timers.borrow_mut().pop_due(now);
            match action {
                None => break,
                Some(Action::Wake(waker)) => waker.wake(),
                Some(Action::Call(call)) => self.push_ready(Ready::Call(call)),
            }
            if let Some(tracer) = &self.tracer {
                tracer
                    .sink
                    .instant(LOOP_LANE, "timer fired".to_owned(), "timer", tracer.now());
            }
        }
    }

    fn drain_inbox(&self) {
        let mut drained = self.drained.borrow_mut();
        self.remote.inbox.drain(&mut drained);
        if drained.is_empty() {
            return;
        }
        bump(&self.counters.posts, drained.len() as u64);
        if let Some(tracer) = &self.tracer {
            let name = format!("wake-up: {} posts from other threads", drained.len());
            tracer.sink.instant(LOOP_LANE, name, "wakeup", tracer.now());
        }
        for msg in drained.drain(..) {
            match msg {
                Msg::Call(callback) => self.push_ready(Ready::Posted(callback)),
                Msg::Wake(key) => self.schedule_task(key),
                Msg::Stop => self.stopping.set(true),
            }
        }
    }

    fn run_entry(&self, entry: Ready, main: &mut dyn FnMut()) {
        match entry {
            Ready::Task(key) => {
                let task = self.tasks.borrow().get(key).cloned();
                if let Some(task) = task {
                    bump(&self.counters.task_polls, 1);
                    task.run(self);
                }
            }
            Ready::Main => {
                self.main_scheduled.set(false);
                bump(&self.counters.task_polls, 1);
                main();
            }
            Ready::Call(call) => {
                if !call.is_cancelled() {
                    bump(&self.counters.callbacks, 1);
                    self.run_callback(|| call.call());
                }
            }
            Ready::Posted(callback) => {
                bump(&self.counters.callbacks, 1);
                self.run_callback(callback);
            }
            #[cfg(unix)]
            Ready::Fd(callback) => {
                bump(&self.counters.callbacks, 1);
                self.run_callback(|| self.reactor.run_fd(&callback));
            }
        }
    }

    /// `run_entry` with a clock read around it, for debug mode and tracing.
    fn run_entry_timed(&self, entry: Ready, main: &mut dyn FnMut()) {
        let task = match &entry {
            Ready::Task(key) => self.tasks.borrow().get(*key).cloned(),
            _ => None,
        };
        let label = match (&entry, &task) {
            (Ready::Task(_), Some(task)) => task.header().label(),
            (Ready::Task(_), None) => return,
            (Ready::Main, _) => "main".to_owned(),
            (Ready::Call(_), _) => "callback".to_owned(),
            (Ready::Posted(_), _) => "threadsafe callback".to_owned(),
            #[cfg(unix)]
            (Ready::Fd(_), _) => "fd callback".to_owned(),
        };
        let started = Instant::now();
        self.run_entry(entry, main);
        let took = started.elapsed();
        self.counters.saw_callback_duration(took);
        if let Some(tracer) = &self.tracer {
            let from = tracer.sink.ts(started);
            tracer.sink.slice(
                LOOP_LANE,
                label.clone(),
                "run",
                from,
                from + took.as_secs_f64() * 1e6,
            );
        }
        if let Some(slow) = self.slow_callback.get() {
            if took >= slow {
                let what = match &task {
                    Some(task) => task.header().info().to_string(),
                    None => label,
                };
                let took = took.as_secs_f64();
                emit(
                    log::Level::Warn,
                    format_args!("executing {what} took {took:.3} seconds"),
                );
            }
        }
    }

    /// Runs a plain callback; a panic goes to the exception handler
    /// (asyncio's `Handle._run` → `call_exception_handler`).
    fn run_callback(&self, callback: impl FnOnce()) {
        let run = std::panic::AssertUnwindSafe(callback);
        if let Err(payload) = std::panic::catch_unwind(run) {
            self.report(&ExceptionContext::callback_panic(payload));
        }
    }

    /// Empties the ready queue and the timers (loop close); the entries are
    /// dropped after the borrows end, since dropping them runs user code.
    pub(crate) fn clear_queues(&self) {
        let ready = std::mem::take(&mut *self.ready.borrow_mut());
        let timers = self.timers.borrow_mut().clear();
        self.reactor.clear();
        drop(ready);
        drop(timers);
    }
}

/// The default exception handler: the `log` facade at error level, or stderr
/// when no logger is set up (so a panic is never silently lost).
pub(crate) fn default_report(context: &ExceptionContext) {
    emit(log::Level::Error, format_args!("{context}"));
}

/// Every report and debug-mode warning of the loop: the `log` facade
/// (target `tulipa`), or stderr when no logger is set up, i.e. while
/// `log::max_level()` is still `Off`, as asyncio's warnings reach stderr
/// through logging's last-resort handler.
pub(crate) fn emit(level: log::Level, message: std::fmt::Arguments<'_>) {
    if log::max_level() == log::LevelFilter::Off {
        eprintln!("tulipa: {message}");
    } else {
        log::log!(target: "tulipa", level, "{message}");
    }
}
