//! The loop's state and one turn of it (`run_once`).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use std::future::Future;
use std::panic::Location;

use super::callback_handle::{CallCell, CallOnce};
use super::clock::Clock;
use super::context::Enter;
use super::raw_task::{Finished, JoinRef, LocalTasks, Scheduled, TaskRef};
use super::reactor::{Polled, Reactor, Woken};
use super::remote::{Msg, Remote};
use super::stats::{bump, Counters, LoopStats};
use super::timers::{Action, TimerKey, Timers};
use super::ExceptionContext;
use crate::panic::panic_message;
use crate::task::error::TaskError;
use crate::task::id::TaskInfo;
use crate::trace::Tracer;

/// Lane of the loop thread in a trace.
const LOOP_LANE: usize = 0;

/// Entries of ready-queue buffer kept once the queue drains (see
/// `ReadyQueue`).
const READY_KEPT: usize = 4096;

/// What the builder decided.
pub(crate) struct Config {
    pub(crate) virtual_time: bool,
    /// The loop's seat at its group's shared virtual clock.
    pub(crate) group_clock: Option<super::clock::ClockMember>,
    /// `spawn` starts tasks eagerly.
    pub(crate) eager_tasks: bool,
    /// `Some(threshold)` in debug mode.
    pub(crate) slow_callback: Option<Duration>,
    pub(crate) tracer: Option<Tracer>,
}

/// One entry of the ready queue (asyncio's `_ready` deque of handles).
pub(crate) enum Ready {
    /// Poll a task.
    Task(Scheduled),
    /// Run a callback (`call_soon`, a due `call_later`, a posted callback).
    Call(Rc<dyn CallOnce>),
    /// Run a callback posted from another thread.
    Posted(Box<dyn FnOnce() + Send>),
    /// Run an `add_reader` / `add_writer` callback whose fd is ready.
    #[cfg(unix)]
    Fd(Rc<super::reactor::FdCallback>),
}

/// The ready queue (asyncio's `_ready` deque): one FIFO over tasks and
/// callbacks.
///
/// The order is kept one word per entry: a task, or a mark that the next
/// entry is the first of the callbacks, which wait in a deque of their own
/// in the same order (every kind of entry but a task is a callback). A
/// task, the common entry, is thus pushed with one 8-byte store and popped
/// with one load; a three-word [`Ready`] built on the stack and copied into
/// the deque with a 16-byte move stalled on store forwarding (the hottest
/// spot of W2, queue ping-pong, one ready task per iteration).
///
/// It gives its buffers back as soon as they drain: once empty, a buffer
/// grown past [`READY_KEPT`] entries shrinks back to that, so a burst (a
/// million tasks spawned at once) does not keep its peak's memory for the
/// loop's lifetime. A loop that refills a big queue every iteration pays
/// for regrowing it: at most one copy of each entry per iteration while the
/// buffer is below the allocator's mmap threshold (beyond it, a `realloc`
/// moves pages, not entries).
#[derive(Default)]
struct ReadyQueue {
    /// Every entry's turn, in FIFO order.
    order: VecDeque<Turn>,
    /// The callbacks of the [`Turn::Callback`] marks, in the same order;
    /// never a [`Ready::Task`].
    callbacks: VecDeque<Ready>,
}

/// One entry's place in the ready queue's order, in one word.
enum Turn {
    /// Poll this task.
    Task(Scheduled),
    /// Run the first of the queued callbacks.
    Callback,
}

#[cfg(not(loom))]
const _: () = assert!(std::mem::size_of::<Turn>() == 8);

impl ReadyQueue {
    #[inline]
    fn len(&self) -> usize {
        self.order.len()
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    #[inline]
    fn push(&mut self, entry: Ready) {
        match entry {
            Ready::Task(task) => self.push_task(task),
            callback => {
                self.order.push_back(Turn::Callback);
                self.callbacks.push_back(callback);
            }
        }
    }

    #[inline]
    fn push_task(&mut self, task: Scheduled) {
        self.order.push_back(Turn::Task(task));
    }

    #[inline]
    fn pop(&mut self) -> Option<Turn> {
        if self.order.len() == 1 && self.order.capacity() > READY_KEPT {
            return self.pop_last_and_shrink();
        }
        // The common case returns the turn straight from the deque.
        self.order.pop_front()
    }

    #[cold]
    #[inline(never)]
    fn pop_last_and_shrink(&mut self) -> Option<Turn> {
        let turn = self.order.pop_front();
        self.order.shrink_to(READY_KEPT);
        turn
    }

    /// The callback of a [`Turn::Callback`] just popped.
    fn pop_callback(&mut self) -> Ready {
        let callback = self
            .callbacks
            .pop_front()
            .expect("every callback turn has its callback queued");
        if self.callbacks.is_empty() && self.callbacks.capacity() > READY_KEPT {
            self.callbacks.shrink_to(READY_KEPT);
        }
        callback
    }

    /// Every entry, in order (loop close).
    fn into_entries(mut self) -> impl Iterator<Item = Ready> {
        let order = std::mem::take(&mut self.order);
        order.into_iter().map(move |turn| match turn {
            Turn::Task(task) => Ready::Task(task),
            Turn::Callback => self.pop_callback(),
        })
    }

    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.order.capacity()
    }

    #[cfg(test)]
    fn callbacks_capacity(&self) -> usize {
        self.callbacks.capacity()
    }
}

pub(crate) type Handler = Rc<dyn Fn(&ExceptionContext)>;

/// Loop state shared by the `EventLoop`, its handles and the thread-local slot.
pub(crate) struct Core {
    id: u64,
    clock: Clock,
    ready: RefCell<ReadyQueue>,
    /// The live tasks; also this loop's identity for their wakers.
    tasks: LocalTasks,
    timers: RefCell<Timers>,
    reactor: Reactor,
    /// Reused buffer for what the selector found ready.
    io_woken: RefCell<Vec<Woken>>,
    remote: Arc<Remote>,
    /// Reused buffer for draining the inbox.
    drained: RefCell<Vec<Msg>>,
    stopping: Cell<bool>,
    closed: Cell<bool>,
    handler: RefCell<Option<Handler>>,
    eager_tasks: bool,
    /// Tasks cancelled because their awaited handle was dropped, collected
    /// while `wait_for` / `timeout` drop their future (see `collect_cancelled`).
    cancelled: RefCell<Option<Vec<TaskRef>>>,
    /// Inside `spawn_refused`: spawns on the closed loop queue their futures
    /// in `refused` instead of dropping them at once.
    refusing: Cell<bool>,
    refused: RefCell<Vec<Box<dyn std::any::Any>>>,
    /// Inside `detaching`: a dropped awaited handle detaches its task.
    detaching: Cell<bool>,
    counters: Counters,
    /// Debug mode: warn about callbacks slower than this.
    slow_callback: Cell<Option<Duration>>,
    tracer: Option<Tracer>,
    /// The pool of `run_in_executor`, made on first use; shut down by `close`.
    default_executor: RefCell<Option<crate::executor::ThreadPoolExecutor>>,
}

impl Core {
    pub(crate) fn new(id: u64, config: Config) -> std::io::Result<Core> {
        let (reactor, wakeup) = Reactor::new()?;
        let remote = Arc::new(Remote::new(wakeup));
        Ok(Core {
            id,
            clock: Clock::new(config.virtual_time, config.group_clock),
            ready: RefCell::new(ReadyQueue::default()),
            tasks: LocalTasks::new(remote.clone()),
            timers: RefCell::new(Timers::default()),
            reactor,
            io_woken: RefCell::new(Vec::new()),
            remote,
            drained: RefCell::new(Vec::new()),
            stopping: Cell::new(false),
            closed: Cell::new(false),
            handler: RefCell::new(None),
            eager_tasks: config.eager_tasks,
            cancelled: RefCell::new(None),
            detaching: Cell::new(false),
            refusing: Cell::new(false),
            refused: RefCell::new(Vec::new()),
            counters: Counters::default(),
            slow_callback: Cell::new(config.slow_callback),
            tracer: config.tracer,
            default_executor: RefCell::new(None),
        })
    }

    /// The loop's number, unique in the process (timers and I/O sources
    /// remember which loop they were armed on).
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The loop's selector and its registered sources.
    pub(crate) fn reactor(&self) -> &Reactor {
        &self.reactor
    }

    /// The loop's inbox, the door from other threads.
    pub(crate) fn remote(&self) -> &Arc<Remote> {
        &self.remote
    }

    /// The trace recorder, on a traced loop.
    pub(crate) fn tracer(&self) -> Option<&Tracer> {
        self.tracer.as_ref()
    }

    /// Whether the loop runs on the virtual clock.
    pub(crate) fn is_virtual_time(&self) -> bool {
        self.clock.is_virtual()
    }

    /// Whether `close` was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.get()
    }

    /// Whether `stop` was asked for and the current run has not ended yet.
    pub(super) fn is_stopping(&self) -> bool {
        self.stopping.get()
    }

    /// Asks the loop to stop after the current iteration, or sets whether
    /// a run ending now has consumed the stop.
    pub(super) fn set_stopping(&self, stopping: bool) {
        self.stopping.set(stopping);
    }

    /// The live tasks and the loop's scheduling of them.
    pub(super) fn tasks(&self) -> &LocalTasks {
        &self.tasks
    }

    /// The per-loop counters behind `stats()`.
    pub(super) fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Debug mode's slow-callback threshold; `None` when debug mode is off.
    pub(super) fn slow_callback(&self) -> Option<Duration> {
        self.slow_callback.get()
    }

    pub(super) fn set_slow_callback(&self, threshold: Option<Duration>) {
        self.slow_callback.set(threshold);
    }

    /// The pool of `run_in_executor`, made by `make` on first use; `None`
    /// once the loop is closed.
    pub(crate) fn default_executor(
        &self,
        make: impl FnOnce() -> crate::executor::ThreadPoolExecutor,
    ) -> Option<crate::executor::ThreadPoolExecutor> {
        if self.closed.get() {
            return None;
        }
        Some(
            self.default_executor
                .borrow_mut()
                .get_or_insert_with(make)
                .clone(),
        )
    }

    /// Replaces the pool of `run_in_executor`; returns the previous one.
    pub(crate) fn replace_default_executor(
        &self,
        pool: Option<crate::executor::ThreadPoolExecutor>,
    ) -> Option<crate::executor::ThreadPoolExecutor> {
        self.default_executor.replace(pool)
    }

    /// Whether the timer `key` is still armed (not fired, not cancelled).
    pub(crate) fn timer_is_armed(&self, key: TimerKey) -> bool {
        self.timers.borrow().is_armed(key)
    }

    /// Replaces the waker of the armed timer `key`.
    pub(crate) fn set_timer_waker(&self, key: TimerKey, waker: &std::task::Waker) {
        self.timers.borrow_mut().set_waker(key, waker);
    }

    pub(crate) fn stats(&self) -> LoopStats {
        let counts = self.timers.borrow().counts;
        self.counters.snapshot(counts.fired, counts.cancelled)
    }

    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Drops the clock reading that the firing step could reuse: the loop
    /// starts to run, and any time may have passed since it last ran.
    pub(crate) fn forget_clock_reading(&self) {
        self.clock.forget_reading();
    }

    pub(crate) fn push_ready(&self, entry: Ready) {
        self.ready.borrow_mut().push(entry);
    }

    /// Appends a task to the ready queue.
    #[inline]
    pub(crate) fn push_task(&self, task: Scheduled) {
        self.ready.borrow_mut().push_task(task);
    }

    /// Schedules a callback with `call_soon`.
    pub(crate) fn call_soon_boxed(&self, callback: Box<dyn FnOnce()>) {
        self.push_ready(Ready::Call(Rc::new(CallCell::new(callback))));
    }

    /// Whether `spawn` starts tasks eagerly on this loop.
    pub(crate) fn eager_tasks(&self) -> bool {
        self.eager_tasks
    }

    /// Whether this loop is the one running on this thread.
    fn is_running_here(&self) -> bool {
        super::context::with_current(|c| c.is_some_and(|c| std::ptr::eq(&**c, self)))
    }

    /// Makes a task. On a closed loop it is cancelled at once; an eager
    /// task on the running loop takes its first step now; any other is
    /// appended to the ready queue.
    pub(crate) fn spawn_task<F>(
        &self,
        future: F,
        name: Option<String>,
        location: &'static Location<'static>,
        eager: bool,
    ) -> JoinRef<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        if self.closed.get() {
            return self.spawn_refused(future, name, location);
        }
        let join = self.tasks.spawn(future, name, location);
        if eager && self.is_running_here() {
            bump(&self.counters.task_polls, 1);
            if let Some(finished) = self.tasks.run_now(&join) {
                self.on_finished(finished);
            }
        } else if let Some(scheduled) = self.tasks.schedule(join.task()) {
            self.push_task(scheduled);
        }
        join
    }

    /// A spawn on a closed loop: the task is cancelled at once (asyncio
    /// raises `RuntimeError`). Its future is dropped here, but a spawn made
    /// by such a `Drop` only queues its future, which the outermost call
    /// drops afterwards: no recursion. A chain that keeps spawning is cut
    /// after `MAX_REFUSED` futures, which are then leaked and reported.
    fn spawn_refused<F>(
        &self,
        future: F,
        name: Option<String>,
        location: &'static Location<'static>,
    ) -> JoinRef<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        const MAX_REFUSED: usize = 100_000;
        if self.refusing.get() {
            self.refused.borrow_mut().push(Box::new(future));
            let pending = std::future::pending::<F::Output>();
            return self.tasks.spawn_cancelled(pending, name, location);
        }
        self.refusing.set(true);
        let join = self.tasks.spawn_cancelled(future, name, location);
        let mut dropped = 0;
        loop {
            let next = self.refused.borrow_mut().pop();
            let Some(next) = next else { break };
            if dropped == MAX_REFUSED {
                let left = std::mem::take(&mut *self.refused.borrow_mut());
                self.report(&ExceptionContext {
                    message: format!(
                        "futures spawned on a closed loop keep spawning from their Drop; \
                         {} left undropped",
                        left.len() + 1
                    ),
                    panic: None,
                    task: None,
                });
                std::mem::forget(next);
                std::mem::forget(left);
                break;
            }
            dropped += 1;
            self.discard(next);
        }
        self.refusing.set(false);
        join
    }

    /// What a finished task leaves to the loop: wake its awaiter, schedule
    /// its done callbacks (asyncio uses `call_soon`, in order), report a
    /// panic nobody will retrieve.
    fn on_finished(&self, finished: Finished) {
        let Finished {
            join_waker,
            callbacks,
            unretrieved_panic,
        } = finished;
        if let Some((task, panic)) = unretrieved_panic.map(|b| *b) {
            self.report(&ExceptionContext {
                message: "task panicked and its handle was dropped".to_owned(),
                panic: Some(panic),
                task: Some(task),
            });
        }
        if let Some(waker) = join_waker {
            self.wake_local(waker);
        }
        // Most tasks have none: no iterator is made for them.
        if !callbacks.is_empty() {
            for callback in callbacks {
                self.call_soon_boxed(callback);
            }
        }
    }

    /// Wakes `waker` from inside the loop: a waker of one of this loop's
    /// tasks appends it to the ready queue directly, as it would itself on
    /// this thread, but without looking up the running loop.
    fn wake_local(&self, waker: Waker) {
        if let Some(scheduled) = self.tasks.wake_local(waker) {
            self.push_task(scheduled);
        }
    }

    /// The task being polled right now.
    pub(crate) fn current_task(&self) -> Option<TaskRef> {
        self.tasks.current()
    }

    /// Every live task, in spawn order.
    pub(crate) fn all_tasks(&self) -> Vec<TaskInfo> {
        self.tasks.live().iter().map(TaskRef::info).collect()
    }

    /// Runs `drop_future` and returns the tasks it cancelled by dropping
    /// their awaited handles, so that the caller can wait for them to
    /// finish unwinding (asyncio's `wait_for` waits for the cancelled inner).
    pub(crate) fn collect_cancelled(&self, drop_future: impl FnOnce()) -> Vec<TaskRef> {
        let outer = self.cancelled.replace(Some(Vec::new()));
        drop_future();
        let mine = std::mem::replace(&mut *self.cancelled.borrow_mut(), outer);
        mine.unwrap_or_default()
    }

    /// Runs `drop_futures` with dropped `Task` handles detaching their
    /// tasks even if they were awaited (`try_gather`'s early error: asyncio
    /// leaves the other children running).
    pub(crate) fn detaching(&self, drop_futures: impl FnOnce()) {
        let outer = self.detaching.replace(true);
        drop_futures();
        self.detaching.set(outer);
    }

    /// Whether a dropped awaited handle should detach rather than cancel.
    pub(crate) fn is_detaching(&self) -> bool {
        self.detaching.get()
    }

    /// A task was cancelled by the drop of its awaited handle.
    pub(crate) fn note_cancelled(&self, task: &TaskRef) {
        if let Some(collected) = self.cancelled.borrow_mut().as_mut() {
            collected.push(task.clone());
        }
    }

    /// Closes the loop (see `EventLoop::close`); closing twice does nothing.
    pub(super) fn close(self: &Rc<Core>) {
        if self.closed.replace(true) {
            return;
        }
        // Drop user futures with this loop as the running one, so their Drop
        // code may still look at it (spawns made there are cancelled at once).
        let enter = Enter::for_close(self);
        for msg in self.remote.inbox.close() {
            self.discard(msg);
        }
        self.close_tasks(self.slow_callback.get().is_some());
        self.clear_queues();
        drop(enter);
        // asyncio's close: `executor.shutdown(wait=False)`. The loop's jobs
        // that had not started were cancelled with their tasks just above.
        if let Some(pool) = self.default_executor.take() {
            pool.shutdown(false, false);
        }
        if let Some(tracer) = &self.tracer {
            if let Err(e) = tracer.flush() {
                emit(
                    log::Level::Error,
                    format_args!("cannot write the trace: {e}"),
                );
            }
        }
    }

    /// Drops every live task's future, one at a time (loop close).
    fn close_tasks(&self, debug: bool) {
        while let Some((info, finished)) = self.tasks.close_next() {
            if debug {
                // asyncio: "Task was destroyed but it is pending!"
                emit(
                    log::Level::Error,
                    format_args!("{info} was destroyed but it is pending"),
                );
            }
            let Finished {
                join_waker,
                callbacks,
                unretrieved_panic,
            } = finished;
            if let Some((task, panic)) = unretrieved_panic.map(|b| *b) {
                self.report(&ExceptionContext {
                    message: "task panicked and its handle was dropped".to_owned(),
                    panic: Some(panic),
                    task: Some(task),
                });
            }
            drop(join_waker);
            // Discarded unrun, as asyncio's close does; a panic in their
            // `Drop` is reported, not propagated.
            for callback in callbacks {
                self.discard(callback);
            }
        }
    }

    /// Drops a value that will never be used; a panic in its `Drop` goes
    /// to the exception handler.
    pub(crate) fn discard<V>(&self, value: V) {
        let run = std::panic::AssertUnwindSafe(move || drop(value));
        if let Err(payload) = std::panic::catch_unwind(run) {
            self.report(&ExceptionContext {
                message: "dropping a discarded callback panicked".to_owned(),
                panic: Some(panic_message(&*payload)),
                task: None,
            });
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

    /// Runs the loop until `future`, the main task, completes or the loop
    /// stops (`run_until_complete`); `None` if it stopped first, in which
    /// case the future has been dropped.
    pub(super) fn run_main<F: Future>(
        &self,
        future: F,
        location: &'static Location<'static>,
    ) -> Option<Result<F::Output, TaskError>> {
        self.tasks.run_main(future, location, |scheduled, is_done| {
            self.push_task(scheduled);
            // As asyncio's `run_forever`: an iteration first, then the
            // checks, so a `stop()` made before running still lets one
            // iteration happen.
            loop {
                self.run_once();
                if is_done() || self.stopping.get() {
                    break;
                }
            }
        })
    }

    /// One iteration, as asyncio's `BaseEventLoop._run_once`.
    pub(crate) fn run_once(&self) {
        bump(&self.counters.iterations, 1);
        if self.skips_to_ready() {
            // Steps 1 to 4 would do nothing (see `skips_to_ready`).
            self.drain_inbox();
            self.run_ready(false);
            return;
        }
        let traced_from = self.tracer.as_ref().map(Tracer::now);
        // 1. asyncio sweeps cancelled timers off its heap here
        //    (`_timer_cancelled_count`). There is nothing to sweep: a
        //    cancelled timer leaves the timers when it is cancelled (timers.rs),
        //    which fires timers in the same order.
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
        let timed = self.tracer.is_some() || self.slow_callback.get().is_some();
        self.run_ready(timed);
        if let (Some(tracer), Some(from)) = (&self.tracer, traced_from) {
            let to = tracer.now();
            tracer
                .sink
                .slice(LOOP_LANE, "run_once".to_owned(), "iteration", from, to);
        }
    }

    /// Whether an iteration can go straight to the inbox and the ready
    /// queue: something is ready, so the poll timeout is 0; no I/O source
    /// is registered, so there is nothing to select; no timer is armed, so
    /// none is due; and neither tracing nor debug mode times the callbacks.
    /// Each skipped step would then have done nothing, so the iteration is
    /// the same as asyncio's (a post from another thread is still drained,
    /// and only the entries ready at its start run).
    #[inline]
    fn skips_to_ready(&self) -> bool {
        self.tracer.is_none()
            && self.slow_callback.get().is_none()
            && !self.ready.borrow().is_empty()
            && !self.reactor.has_sources()
            && self.timers.borrow().next_deadline().is_none()
    }

    /// Step 6: runs the entries ready now, in order, each with a clock read
    /// around it if `timed`.
    #[inline(always)]
    fn run_ready(&self, timed: bool) {
        let ntodo = self.ready.borrow().len();
        for _ in 0..ntodo {
            let Some(turn) = self.ready.borrow_mut().pop() else {
                break;
            };
            let entry = match turn {
                Turn::Task(task) if !timed => {
                    self.run_task(task);
                    continue;
                }
                Turn::Task(task) => Ready::Task(task),
                Turn::Callback => self.ready.borrow_mut().pop_callback(),
            };
            if timed {
                self.run_entry_timed(entry);
            } else {
                self.run_entry(entry);
            }
        }
    }

    fn select_timeout(&self) -> Option<Duration> {
        if !self.ready.borrow().is_empty() || self.stopping.get() {
            return Some(Duration::ZERO);
        }
        let next = self.timers.borrow().next_deadline()?;
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
                Woken::Task(waker) => self.wake_local(waker),
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
        if may_block {
            // The loop may wait, for a timer or for ever: the firing step
            // after it reads the clock.
            self.clock.forget_reading();
        }
        if !may_block || self.remote.inbox.is_wake_pending() {
            // Work is ready, or a post is already waiting: look at I/O
            // without blocking, if there is any I/O to look at.
            if self.reactor.has_sources() {
                self.poll_selector(Some(Duration::ZERO));
            }
            return;
        }
        // About to wait: the freed task blocks kept for reuse go back, but
        // a few.
        super::raw_task::loop_idle();
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
        self.remote.inbox.unpark(waited);
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
        if let Some(group) = self.clock.group() {
            return group.wait(timeout, outside_can_post, |t| {
                let polled = self.poll_selector(t);
                polled.io_events > 0 || polled.woken
            });
        }
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
        let Some(next) = self.timers.borrow().next_deadline() else {
            return;
        };
        // A fresh reading, or the last one when it shows that nothing is due
        // yet (the clock's `now_for_firing` says when).
        let now = self.clock.now_for_firing(next);
        if now < next {
            return;
        }
        loop {
            let action = self.timers.borrow_mut().pop_due(now);
            match action {
                None => break,
                Some(Action::Wake(waker)) => self.wake_local(waker),
                Some(Action::Call(call)) => self.push_ready(Ready::Call(call)),
            }
            if let Some(tracer) = &self.tracer {
                tracer
                    .sink
                    .instant(LOOP_LANE, "timer fired".to_owned(), "timer", tracer.now());
            }
        }
    }

    #[inline]
    fn drain_inbox(&self) {
        // Nothing posted, the common case: one load and no call.
        if self.remote.inbox.may_have_posts() {
            self.drain_posts();
        }
    }

    #[inline(never)]
    fn drain_posts(&self) {
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
                Msg::Wake(wake) => {
                    if let Some(scheduled) = self.tasks.accept(wake) {
                        self.push_task(scheduled);
                    }
                }
                Msg::Spawn(spawn) => {
                    if let Some(scheduled) = self.tasks.adopt(spawn) {
                        self.push_task(scheduled);
                    }
                }
                Msg::Stop => self.stopping.set(true),
            }
        }
    }

    #[inline]
    fn run_entry(&self, entry: Ready) {
        match entry {
            Ready::Task(task) => self.run_task(task),
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

    #[inline]
    fn run_task(&self, task: Scheduled) {
        bump(&self.counters.task_polls, 1);
        if let Some(finished) = self.tasks.run(task) {
            self.on_finished(finished);
        }
    }

    /// `run_entry` with a clock read around it, for debug mode and tracing.
    fn run_entry_timed(&self, entry: Ready) {
        let task = match &entry {
            Ready::Task(scheduled) => Some(scheduled.task()),
            _ => None,
        };
        if task.as_ref().is_some_and(TaskRef::is_done) {
            // A finished task still in the queue: nothing runs.
            self.run_entry(entry);
            return;
        }
        let label = match (&entry, &task) {
            (_, Some(task)) => task.label(),
            (Ready::Task(_), None) => unreachable!("a task entry has a task"),
            (Ready::Call(_), _) => "callback".to_owned(),
            (Ready::Posted(_), _) => "threadsafe callback".to_owned(),
            #[cfg(unix)]
            (Ready::Fd(_), _) => "fd callback".to_owned(),
        };
        let started = Instant::now();
        self.run_entry(entry);
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
                    Some(task) => task.info().to_string(),
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
    fn clear_queues(&self) {
        let ready = std::mem::take(&mut *self.ready.borrow_mut());
        let timers = self.timers.borrow_mut().clear();
        self.reactor.clear();
        for entry in ready.into_entries() {
            self.discard(entry);
        }
        for action in timers {
            self.discard(action);
        }
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::READY_KEPT;
    use crate::EventLoop;

    /// A burst of 20 000 ready tasks grows the queue; once it drains, the
    /// buffer is back to `READY_KEPT` entries, and the next burst grows it
    /// again.
    #[test]
    fn ready_queue_gives_back_a_burst_once_drained() {
        let lp = EventLoop::new().unwrap();
        let core = lp.core.clone();
        let capacities = lp
            .run_until_complete(async move {
                let mut seen = Vec::new();
                for _ in 0..2 {
                    let tasks: Vec<_> = (0..20_000)
                        .map(|i| crate::spawn(async move { i }))
                        .collect();
                    seen.push(core.ready.borrow().capacity());
                    let mut sum = 0;
                    for task in tasks {
                        sum += task.await.unwrap();
                    }
                    assert_eq!(sum, 20_000 * 19_999 / 2);
                    seen.push(core.ready.borrow().capacity());
                }
                seen
            })
            .unwrap();
        assert!(capacities[0] >= 20_000, "{capacities:?}");
        assert!(capacities[1] <= READY_KEPT, "{capacities:?}");
        assert!(capacities[2] >= 20_000, "{capacities:?}");
        assert!(capacities[3] <= READY_KEPT, "{capacities:?}");
    }

    /// A burst of 20 000 callbacks grows the callbacks' deque too; once
    /// they have run, both buffers are back to `READY_KEPT` entries, and
    /// the tasks queued among the callbacks ran in their turn.
    #[test]
    fn ready_queue_gives_back_a_burst_of_callbacks_once_drained() {
        use std::cell::RefCell;
        use std::rc::Rc;
        let lp = EventLoop::new().unwrap();
        let core = lp.core.clone();
        let log = Rc::new(RefCell::new(Vec::new()));
        let l = log.clone();
        let capacities = lp
            .run_until_complete(async move {
                let lp = crate::get_running_loop().unwrap();
                let mut tasks = Vec::new();
                for i in 0..20_000u32 {
                    let l = l.clone();
                    if i % 1_000 == 0 {
                        tasks.push(crate::spawn(async move { l.borrow_mut().push(i) }));
                    } else {
                        let _ = lp.call_soon(move || l.borrow_mut().push(i));
                    }
                }
                let grown = core.ready.borrow().callbacks_capacity();
                for task in tasks {
                    task.await.unwrap();
                }
                crate::yield_now().await;
                let ready = core.ready.borrow();
                (grown, ready.capacity(), ready.callbacks_capacity())
            })
            .unwrap();
        assert!(capacities.0 >= 19_000, "{capacities:?}");
        assert!(capacities.1 <= READY_KEPT, "{capacities:?}");
        assert!(capacities.2 <= READY_KEPT, "{capacities:?}");
        assert_eq!(*log.borrow(), (0..20_000).collect::<Vec<_>>());
    }

    /// Closing a loop with tasks and callbacks still queued drops every
    /// one of them, callbacks included.
    #[test]
    fn close_drops_queued_tasks_and_callbacks() {
        use std::rc::Rc;
        let lp = EventLoop::new().unwrap();
        let token = Rc::new(());
        for i in 0..10 {
            let t = token.clone();
            if i % 3 == 0 {
                drop(lp.spawn(async move { drop(t) }));
            } else {
                let _ = lp.call_soon(move || drop(t));
            }
        }
        assert_eq!(Rc::strong_count(&token), 11);
        lp.close().unwrap();
        assert_eq!(
            Rc::strong_count(&token),
            1,
            "every queued entry was dropped"
        );
    }
}
