//! [`GroupTask`]: the handle to a task that runs on one loop of a group and
//! is awaited, cancelled or waited for from anywhere.
//!
//! The handoff between the two threads is one small shared state: the
//! output slot, the awaiting side's waker, and the running side's waker plus
//! a cancel flag. The running side (a tulipa task on its own loop) reads the
//! flag at every poll, and registers its waker once, under the lock, the
//! first time its future is pending, reading the flag again there (a task
//! that ends at its first poll never takes the lock). A cancel sets the flag
//! and takes the registered waker in one critical section, so either the
//! registration sees the flag or the cancel sees the waker and wakes it.

use std::fmt;
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::lock_and_flag::{AtomicBool, Condvar, Mutex};
use crate::task::{PanicError, TaskError};
use crate::trace::GroupTrace;

/// What both ends of a cross-loop task share.
pub(crate) struct TaskShared<T> {
    /// A cancel was requested; read by the running side at each poll.
    cancel: AtomicBool,
    state: Mutex<Handoff<T>>,
    ended: Condvar,
    /// Where a cancel goes on from here (a scope child's own handle).
    upstream: Option<Arc<dyn Cancel>>,
}

/// What crosses between the two threads: the output and both sides' wakers.
struct Handoff<T> {
    output: Option<Result<T, TaskError>>,
    done: bool,
    /// The awaiting side.
    joiner: Option<Waker>,
    /// The running side, registered at its first poll.
    runner: Option<Waker>,
}

/// A type-erased way to cancel a cross-loop task (what a scope keeps).
pub(crate) trait Cancel: Send + Sync {
    /// Requests the cancel; `false` if the task had ended.
    fn cancel(&self) -> bool;
}

impl<T: Send> Cancel for TaskShared<T> {
    fn cancel(&self) -> bool {
        let runner = {
            let mut state = self.state.lock();
            if state.done {
                return false;
            }
            // ORDERING: Release pairs with the runner's Acquire load; the
            // lock orders it against the runner's first registration.
            self.cancel.store(true, Ordering::Release);
            state.runner.take()
        };
        if let Some(runner) = runner {
            runner.wake();
        }
        if let Some(upstream) = &self.upstream {
            upstream.cancel();
        }
        true
    }
}

impl<T> TaskShared<T> {
    pub(crate) fn new(upstream: Option<Arc<dyn Cancel>>) -> Arc<TaskShared<T>> {
        Arc::new(TaskShared {
            cancel: AtomicBool::new(false),
            state: Mutex::new(Handoff {
                output: None,
                done: false,
                joiner: None,
                runner: None,
            }),
            ended: Condvar::new(),
            upstream,
        })
    }

    /// The running side, at every poll: whether a cancel was requested.
    pub(crate) fn cancel_requested(&self) -> bool {
        // ORDERING: Acquire pairs with the Release store in `cancel`.
        self.cancel.load(Ordering::Acquire)
    }

    /// The running side, the first time it returns `Pending`: leaves its
    /// waker for a cancel to wake, and tells whether a cancel came first.
    /// A task that ends at its first poll never takes this lock.
    pub(crate) fn register_runner(&self, waker: &Waker) -> bool {
        let mut state = self.state.lock();
        state.runner = Some(waker.clone());
        // ORDERING: under the lock; see `Cancel::cancel`.
        self.cancel.load(Ordering::Acquire)
    }

    fn is_done(&self) -> bool {
        self.state.lock().done
    }
}

/// The running side's duty to report an output: dropped without
/// [`complete`](Completer::complete) (its loop closed, the post was
/// refused), it reports [`TaskError::Cancelled`].
pub(crate) struct Completer<T> {
    shared: Option<Arc<TaskShared<T>>>,
}

impl<T> Completer<T> {
    pub(crate) fn new(shared: Arc<TaskShared<T>>) -> Completer<T> {
        Completer {
            shared: Some(shared),
        }
    }

    pub(crate) fn shared(&self) -> &TaskShared<T> {
        self.shared.as_ref().expect("present until completed")
    }

    pub(crate) fn complete(mut self, output: Result<T, TaskError>) {
        if let Some(shared) = self.shared.take() {
            finish(&shared, output);
        }
    }
}

impl<T> Drop for Completer<T> {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            finish(&shared, Err(TaskError::Cancelled));
        }
    }
}

fn finish<T>(shared: &TaskShared<T>, output: Result<T, TaskError>) {
    let (joiner, runner) = {
        let mut state = shared.state.lock();
        state.output = Some(output);
        state.done = true;
        (state.joiner.take(), state.runner.take())
    };
    shared.ended.notify_all();
    drop(runner);
    if let Some(joiner) = joiner {
        joiner.wake();
    }
}

/// The future that runs on the chosen loop: builds the user's future there,
/// polls it, and reports its output, panic or cancellation to the handle.
pub(crate) async fn run_remote<F, Fut>(build: F, completer: Completer<Fut::Output>)
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    let output = {
        // Built at the first poll, so a panic in `build` is the task's panic.
        let mut future = pin!(async move { build().await });
        let mut registered = false;
        poll_fn(|cx| {
            let shared = completer.shared();
            if shared.cancel_requested() {
                return Poll::Ready(Err(TaskError::Cancelled));
            }
            match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
                Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
                Ok(Poll::Pending) => {
                    if !registered {
                        registered = true;
                        if shared.register_runner(cx.waker()) {
                            return Poll::Ready(Err(TaskError::Cancelled));
                        }
                    }
                    Poll::Pending
                }
                Err(payload) => Poll::Ready(Err(TaskError::Panicked(PanicError::new(payload)))),
            }
        })
        .await
        // The user's future is dropped here, before the output is reported.
    };
    completer.complete(output);
}

/// A task running on one loop of a [`LoopGroup`](super::LoopGroup), seen
/// from anywhere: another loop, a plain thread, another executor.
///
/// Awaiting it gives the task's output, [`TaskError::Cancelled`] if it was
/// cancelled (or its loop closed first), [`TaskError::Panicked`] if it
/// panicked. It is `Send` and composes with [`gather`](crate::gather()),
/// [`wait_for`](crate::wait_for), [`as_completed`](crate::as_completed) and a
/// [`TaskGroup`](crate::TaskGroup) child on any loop; for
/// [`wait`](crate::wait), which takes local tasks, wrap each handle with
/// [`tulipa::spawn`](crate::spawn).
///
/// **Cancel propagation** (asyncio's): [`cancel`](GroupTask::cancel), or
/// dropping the handle after it was awaited (polled) but before the task
/// ended, cancels the task on its own loop: its future is dropped at its
/// next turn there. So `wait_for(handle, d)` timing out, or a `gather` of
/// handles being dropped, cancels the remote tasks. A handle dropped
/// without ever being polled detaches the task, which runs to its end.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
///
/// let group = tulipa::LoopGroup::new(2).unwrap();
/// // The closure is `Send`; the future it builds on loop 1 need not be.
/// let task = group
///     .spawn_on(1, || async {
///         let local = Rc::new(6 * 7);
///         tulipa::yield_now().await;
///         *local
///     })
///     .unwrap();
/// assert_eq!(task.loop_index(), 1);
/// assert_eq!(task.wait().unwrap(), 42);
/// assert!(group.close().is_clean());
/// ```
#[must_use = "dropping a GroupTask that was never polled detaches the task"]
pub struct GroupTask<T> {
    shared: Arc<TaskShared<T>>,
    index: usize,
    polled: bool,
    /// On a traced group: the arrow for the result, ended where it arrives.
    result_flow: Option<(GroupTrace, u64)>,
}

impl<T: Send + 'static> GroupTask<T> {
    pub(crate) fn new(
        shared: Arc<TaskShared<T>>,
        index: usize,
        result_flow: Option<(GroupTrace, u64)>,
    ) -> GroupTask<T> {
        GroupTask {
            shared,
            index,
            polled: false,
            result_flow,
        }
    }

    /// Asks for the task to be cancelled on its loop (asyncio's
    /// `Task.cancel`); returns `false` if it had already ended.
    ///
    /// The request crosses threads: the task's future is dropped at its next
    /// turn on its loop, and awaiting this handle then gives
    /// [`TaskError::Cancelled`].
    ///
    /// # Examples
    ///
    /// ```
    /// let group = tulipa::LoopGroup::new(1).unwrap();
    /// let task = group.spawn(|| std::future::pending::<()>()).unwrap();
    /// assert!(task.cancel());
    /// assert!(task.wait().unwrap_err().is_cancelled());
    /// assert!(group.close().is_clean());
    /// ```
    pub fn cancel(&self) -> bool {
        self.shared.cancel()
    }

    pub(crate) fn canceller(&self) -> Arc<dyn Cancel> {
        self.shared.clone()
    }
}

impl<T> GroupTask<T> {
    /// The index of the loop the task runs on.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = tulipa::LoopGroup::new(3).unwrap();
    /// let task = group.spawn_on(2, || async {}).unwrap();
    /// assert_eq!(task.loop_index(), 2);
    /// task.wait().unwrap();
    /// # drop(group);
    /// ```
    pub fn loop_index(&self) -> usize {
        self.index
    }

    /// Whether the task has ended (with an output, a panic or a cancel).
    ///
    /// # Examples
    ///
    /// ```
    /// let group = tulipa::LoopGroup::new(1).unwrap();
    /// let task = group.spawn(|| async { 1 }).unwrap();
    /// while !task.is_done() {
    ///     std::thread::yield_now();
    /// }
    /// assert_eq!(task.wait().unwrap(), 1);
    /// # drop(group);
    /// ```
    pub fn is_done(&self) -> bool {
        self.shared.is_done()
    }

    /// Registers `cx`'s waker for the task's end without taking its output
    /// and without counting as an await: a handle watched this way and then
    /// dropped detaches the task, as `Task::poll_done` does for `wait`.
    pub(crate) fn poll_done(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.shared.state.lock();
        if state.done {
            return Poll::Ready(());
        }
        match &state.joiner {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => state.joiner = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Forgets the waker `poll_done` registered: the watcher has stopped
    /// watching (`wait` returning with the task still pending).
    pub(crate) fn unwatch(&self) {
        let joiner = self.shared.state.lock().joiner.take();
        // Dropped outside the lock: dropping a waker may run foreign code.
        drop(joiner);
    }

    /// Whether the task ended by panicking (what `wait`'s `FirstException`
    /// looks for); `false` while it runs and after its output was taken.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = tulipa::LoopGroup::new(1).unwrap();
    /// let ok = group.spawn(|| async { 1 }).unwrap();
    /// let boom = group.spawn(|| async { panic!("boom") }).unwrap();
    /// while !(ok.is_done() && boom.is_done()) {
    ///     std::thread::yield_now();
    /// }
    /// assert!(!ok.is_panicked());
    /// assert!(boom.is_panicked());
    /// assert!(matches!(boom.wait(), Err(tulipa::TaskError::Panicked(_))));
    /// # drop(group);
    /// ```
    pub fn is_panicked(&self) -> bool {
        matches!(
            self.shared.state.lock().output,
            Some(Err(TaskError::Panicked(_)))
        )
    }

    /// Blocks the calling thread until the task ends.
    ///
    /// Never call it on a loop thread: that loop stops while it waits (and
    /// if the task runs on it, forever).
    ///
    /// # Panics
    ///
    /// If the output was already taken by awaiting the handle.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = tulipa::LoopGroup::new(2).unwrap();
    /// let task = group.spawn(|| async { "hi" }).unwrap();
    /// assert_eq!(task.wait().unwrap(), "hi");
    /// # drop(group);
    /// ```
    pub fn wait(self) -> Result<T, TaskError> {
        match self.wait_until(None) {
            Ok(output) => output,
            Err(_) => unreachable!("no deadline"),
        }
    }

    /// Like [`wait`](GroupTask::wait) for at most `timeout` (any duration,
    /// `Duration::MAX` included).
    ///
    /// # Errors
    ///
    /// `Err(self)` if the timeout passed first; the task keeps running.
    ///
    /// # Panics
    ///
    /// If the output was already taken by awaiting the handle.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let group = tulipa::LoopGroup::new(1).unwrap();
    /// let task = group.spawn(|| std::future::pending::<()>()).unwrap();
    /// let task = task.wait_timeout(Duration::from_millis(10)).unwrap_err();
    /// assert!(!task.is_done());
    /// # drop(group);
    /// ```
    pub fn wait_timeout(self, timeout: Duration) -> Result<Result<T, TaskError>, GroupTask<T>> {
        let deadline = Instant::now().checked_add(timeout);
        self.wait_until(deadline)
    }

    fn wait_until(mut self, deadline: Option<Instant>) -> Result<Result<T, TaskError>, Self> {
        let output = {
            let mut state = self.shared.state.lock();
            loop {
                if state.done {
                    break state.output.take();
                }
                match deadline {
                    None => self.shared.ended.wait(&mut state),
                    Some(deadline) => {
                        if self
                            .shared
                            .ended
                            .wait_until(&mut state, deadline)
                            .timed_out()
                            && !state.done
                        {
                            drop(state);
                            return Err(self);
                        }
                    }
                }
            }
        };
        self.polled = false;
        self.trace_arrival();
        Ok(output.expect("the output of a GroupTask was already taken"))
    }
}

impl<T> Future for GroupTask<T> {
    type Output = Result<T, TaskError>;

    /// # Panics
    ///
    /// If polled again after it returned `Ready`.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.polled = true;
        {
            let mut state = self.shared.state.lock();
            if state.done {
                let output = state.output.take();
                drop(state);
                self.trace_arrival();
                // Ended: dropping the handle has nothing left to cancel.
                self.polled = false;
                return Poll::Ready(output.expect("a GroupTask was polled after it completed"));
            }
            match &state.joiner {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => state.joiner = Some(cx.waker().clone()),
            }
        }
        Poll::Pending
    }
}

impl<T> GroupTask<T> {
    /// Ends the result's arrow on the lane of the thread that received it.
    fn trace_arrival(&mut self) {
        if let Some((trace, id)) = self.result_flow.take() {
            let lane = super::group()
                .and_then(|g| g.current_loop())
                .unwrap_or_else(|| trace.sink().lane_of_current_thread());
            trace.sink().flow(lane, "result", id, false);
        }
    }
}

impl<T> Drop for GroupTask<T> {
    fn drop(&mut self) {
        // asyncio: cancelling the awaiter cancels the awaited task.
        if self.polled {
            let runner = {
                let mut state = self.shared.state.lock();
                if state.done {
                    None
                } else {
                    // ORDERING: as in `Cancel::cancel`.
                    self.shared.cancel.store(true, Ordering::Release);
                    state.runner.take()
                }
            };
            if let Some(runner) = runner {
                runner.wake();
            }
            if let Some(upstream) = &self.shared.upstream {
                upstream.cancel();
            }
        }
    }
}

impl<T> fmt::Debug for GroupTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupTask")
            .field("loop", &self.index)
            .field("done", &self.is_done())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    struct CountWakes(AtomicUsize);

    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            // ORDERING: a test counter, read after the waking thread joined.
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn poll_done_is_woken_by_the_end_takes_no_output_and_does_not_cancel_on_drop() {
        let shared = TaskShared::<u32>::new(None);
        let completer = Completer::new(shared.clone());
        let task = GroupTask::new(shared.clone(), 0, None);
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(task.poll_done(&mut cx).is_pending());
        assert!(!task.is_panicked());
        std::thread::spawn(move || completer.complete(Ok(9)))
            .join()
            .unwrap();
        // ORDERING: the completing thread was joined.
        assert_eq!(wakes.0.load(Ordering::Relaxed), 1);
        assert!(task.poll_done(&mut cx).is_ready());
        assert_eq!(task.wait().unwrap(), 9, "the output is still there");

        // Watched, then dropped while pending: the task is not cancelled.
        let shared = TaskShared::<u32>::new(None);
        let task = GroupTask::new(shared.clone(), 0, None);
        assert!(task.poll_done(&mut cx).is_pending());
        drop(task);
        assert!(!shared.cancel_requested());
    }

    #[test]
    fn is_panicked_sees_a_panic_only() {
        let shared = TaskShared::<u32>::new(None);
        let task = GroupTask::new(shared.clone(), 0, None);
        let payload: Box<dyn std::any::Any + Send> = Box::new("boom");
        Completer::new(shared).complete(Err(TaskError::Panicked(PanicError::new(payload))));
        assert!(task.is_panicked());
        let cancelled = TaskShared::<u32>::new(None);
        let task = GroupTask::new(cancelled.clone(), 0, None);
        drop(Completer::new(cancelled));
        assert!(task.is_done() && !task.is_panicked());
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! The cancel handoff: a canceller on one thread, the running side's
    //! first poll on another. If the wake-up could be lost, the runner would
    //! block forever and loom would report a deadlock.
    use super::*;
    use loom::sync::Notify;
    use std::task::Wake;

    struct NotifyWake(Arc<Notify>);

    impl Wake for NotifyWake {
        fn wake(self: Arc<Self>) {
            self.0.notify();
        }
    }

    #[test]
    fn cancel_racing_first_poll_is_never_lost() {
        loom::model(|| {
            let shared = TaskShared::<u32>::new(None);
            let notify = Arc::new(Notify::new());
            let canceller = {
                let shared = shared.clone();
                loom::thread::spawn(move || shared.cancel())
            };
            let waker = Waker::from(Arc::new(NotifyWake(notify.clone())));
            let completer = Completer::new(shared.clone());
            let runner = completer.shared();
            // First poll: not cancelled yet, the future is pending, so the
            // runner registers; then it waits for a wake-up per later poll.
            if !runner.cancel_requested() && !runner.register_runner(&waker) {
                while !runner.cancel_requested() {
                    // Parked until a wake-up: the cancel must deliver one.
                    notify.wait();
                }
            }
            completer.complete(Err(TaskError::Cancelled));
            assert!(canceller.join().unwrap());
        });
    }

    #[test]
    fn output_racing_blocking_wait_is_delivered() {
        loom::model(|| {
            let shared = TaskShared::<u32>::new(None);
            let completer = Completer::new(shared.clone());
            let runner = loom::thread::spawn(move || completer.complete(Ok(7)));
            let task = GroupTask::new(shared, 0, None);
            assert_eq!(task.wait().unwrap(), 7);
            runner.join().unwrap();
        });
    }
}
