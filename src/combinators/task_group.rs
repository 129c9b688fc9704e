//! [`TaskGroup`]: structured concurrency, asyncio 3.11's `TaskGroup`.

use std::cell::RefCell;
use std::fmt;
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::pin;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::runtime::context;
use crate::task::{spawn_on, Canceller, PanicError, Task};

/// A set of tasks that live and die together (asyncio's `TaskGroup`).
///
/// Open a group with [`TaskGroup::scope`]: the body receives the group and
/// [`spawn`](TaskGroup::spawn)s children into it (children may spawn more).
/// The scope returns when the body and every child have finished, so no
/// child outlives its group.
///
/// **Failure.** A child fails when it returns `Err(e)` or panics; the body
/// fails when it returns `Err(e)`. The first failure cancels every other
/// child and drops the body (asyncio cancels the parent task), new spawns
/// are refused, and once all children are gone the scope returns
/// [`GroupError`] listing every failure in the order they happened (a `Vec`
/// stands in for asyncio's `ExceptionGroup`). A child cancelled from outside
/// with [`Task::cancel`] is not a failure. A panic while a cancelled child
/// or the body is dropped (its cleanup) is one more failure, as an
/// exception raised in a `finally:` block is in asyncio; these are how a
/// group ends up with several errors.
///
/// **Handles.** [`spawn`](TaskGroup::spawn) returns the child's [`Task`].
/// A child that succeeds gives `Ok(value)` through it. A failed child hands
/// its error or panic to the group, so its own handle reports
/// [`TaskError::Cancelled`](crate::TaskError::Cancelled). Dropping the
/// handle is normal (the group keeps the child): write
/// `drop(group.spawn(...))`.
///
/// A group lives on the loop's thread:
///
/// ```compile_fail
/// fn must_be_send<T: Send>(_: T) {}
/// must_be_send(tulipa::TaskGroup::<()>::scope(|g| async move { must_be_send(g); Ok(()) }));
/// ```
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
/// let out = lp.run(tulipa::TaskGroup::scope(|group| async move {
///     let a = group.spawn(async {
///         tulipa::sleep(Duration::from_secs(1)).await;
///         Ok::<_, String>(42)
///     });
///     let b = group.spawn(async {
///         tulipa::sleep(Duration::from_secs(2)).await;
///         Ok(11)
///     });
///     Ok((a, b))
/// }));
/// let (a, b) = out.unwrap().unwrap();
/// assert!(a.is_done() && b.is_done());
/// ```
///
/// The first failure cancels the rest:
///
/// ```
/// use std::time::Duration;
///
/// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
/// let out = lp.run(tulipa::TaskGroup::scope(|group| async move {
///     drop(group.spawn(async {
///         tulipa::sleep(Duration::from_secs(1)).await;
///         Err::<(), _>("boom")
///     }));
///     let slow = group.spawn(async {
///         tulipa::sleep(Duration::from_secs(3600)).await;
///         Ok(())
///     });
///     Ok(slow)
/// }));
/// let err = out.unwrap().unwrap_err();
/// assert_eq!(err.errors().len(), 1);
/// assert_eq!(err.to_string(), "1 task of the group failed");
/// ```
#[doc(alias = "asyncio.TaskGroup")]
pub struct TaskGroup<E> {
    inner: Rc<RefCell<State<E>>>,
}

impl<E> Clone for TaskGroup<E> {
    fn clone(&self) -> Self {
        TaskGroup {
            inner: self.inner.clone(),
        }
    }
}

struct State<E> {
    /// Cancel handles of the live children, by slot.
    children: Vec<Option<Canceller>>,
    free: Vec<usize>,
    live: usize,
    errors: Vec<ChildError<E>>,
    /// A failure happened: the rest are being cancelled.
    aborting: bool,
    /// The scope has returned or was dropped.
    closed: bool,
    /// The scope's task, woken when a child fails or the last one ends.
    parent: Option<Waker>,
}

impl<E: 'static> TaskGroup<E> {
    /// Runs `body` with a new group and waits for it and all the group's
    /// children (asyncio's `async with TaskGroup() as group: body`).
    ///
    /// # Errors
    ///
    /// [`GroupError`] with every failure if the body or any child failed.
    ///
    /// # Cancel safety
    ///
    /// Dropping the scope drops the body and cancels every child; their
    /// futures are dropped at their next turn on the loop, before anything
    /// else they would do.
    ///
    /// # Examples
    ///
    /// ```
    /// let total = tulipa::run(tulipa::TaskGroup::scope(|group| async move {
    ///     let parts: Vec<_> = (1..=4u32)
    ///         .map(|i| group.spawn(async move { Ok::<_, std::convert::Infallible>(i * i) }))
    ///         .collect();
    ///     Ok(parts)
    /// }))
    /// .unwrap()
    /// .unwrap();
    /// assert_eq!(total.len(), 4);
    /// ```
    pub fn scope<B, Fut, R>(body: B) -> impl Future<Output = Result<R, GroupError<E>>>
    where
        B: FnOnce(TaskGroup<E>) -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        let group = TaskGroup {
            inner: Rc::new(RefCell::new(State {
                children: Vec::new(),
                free: Vec::new(),
                live: 0,
                errors: Vec::new(),
                aborting: false,
                closed: false,
                parent: None,
            })),
        };
        // Built before the async block so that it also runs if the scope is
        // dropped before its first poll (the body closure may have spawned).
        let close = CloseOnDrop(group.clone());
        let body = body(group.clone());
        async move {
            let _close = close;
            let mut body = pin!(Some(body));
            let mut output = None;
            poll_fn(|cx| {
                if let Some(running) = body.as_mut().as_pin_mut().filter(|_| !group.is_aborting()) {
                    match catch_unwind(AssertUnwindSafe(|| running.poll(cx))) {
                        Ok(Poll::Ready(Ok(value))) => output = Some(value),
                        Ok(Poll::Ready(Err(e))) => group.fail(ChildError::Failed(e)),
                        Ok(Poll::Pending) => {}
                        Err(payload) => group.fail(ChildError::Panicked(PanicError::new(payload))),
                    }
                }
                if body.is_some() && (output.is_some() || group.is_aborting()) {
                    // Dropping the body is its cancellation; a panic there is a failure too.
                    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| body.set(None))) {
                        group.fail(ChildError::Panicked(PanicError::new(payload)));
                    }
                }
                let mut state = group.inner.borrow_mut();
                if body.is_some() || state.live > 0 {
                    match &state.parent {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        _ => state.parent = Some(cx.waker().clone()),
                    }
                    return Poll::Pending;
                }
                state.closed = true;
                let errors = std::mem::take(&mut state.errors);
                Poll::Ready(match output.take() {
                    Some(value) if errors.is_empty() => Ok(value),
                    _ => Err(GroupError { errors }),
                })
            })
            .await
        }
    }

    /// Spawns `future` as a child of the group (asyncio's
    /// `TaskGroup.create_task`).
    ///
    /// If the group has already finished or is cancelling its children
    /// after a failure, the child is refused: the returned task is
    /// cancelled without ever running (asyncio raises `RuntimeError`).
    ///
    /// # Panics
    ///
    /// If no tulipa loop is running on this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let out = tulipa::run(tulipa::TaskGroup::scope(|group| async move {
    ///     let child = group.spawn(async { Ok::<_, String>("done") });
    ///     Ok(child.await.unwrap())
    /// }));
    /// assert_eq!(out.unwrap().unwrap(), "done");
    /// ```
    #[doc(alias = "create_task")]
    #[track_caller]
    pub fn spawn<F, T>(&self, future: F) -> Task<T>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
    {
        self.spawn_inner(future, None, Location::caller())
    }

    /// Like [`spawn`](TaskGroup::spawn), with a task name.
    ///
    /// # Panics
    ///
    /// If no tulipa loop is running on this thread.
    #[track_caller]
    pub fn spawn_named<F, T>(&self, name: impl Into<String>, future: F) -> Task<T>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
    {
        self.spawn_inner(future, Some(name.into()), Location::caller())
    }

    fn spawn_inner<F, T>(
        &self,
        future: F,
        name: Option<String>,
        location: &'static Location<'static>,
    ) -> Task<T>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
    {
        let core = context::expect_current("TaskGroup::spawn");
        let slot = {
            let mut state = self.inner.borrow_mut();
            if state.closed || state.aborting {
                None
            } else {
                state.live += 1;
                Some(state.free.pop().unwrap_or_else(|| {
                    state.children.push(None);
                    state.children.len() - 1
                }))
            }
        };
        let Some(slot) = slot else {
            let refused = spawn_on(&core, refused::<F, T>(future), name, location);
            refused.cancel();
            return refused;
        };
        let child = Child {
            group: self.clone(),
            slot,
            future: Some(Box::pin(future)),
            failed: false,
        };
        let task = spawn_on(&core, child, name, location);
        if !task.is_done() {
            self.inner.borrow_mut().children[slot] = Some(task.canceller());
        }
        task
    }

    /// How many children are still running (their futures not yet dropped).
    pub fn len(&self) -> usize {
        self.inner.borrow().live
    }

    /// Whether no child is running.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a failure has happened and the children are being cancelled.
    pub fn is_aborting(&self) -> bool {
        self.inner.borrow().aborting
    }
}

impl<E> TaskGroup<E> {
    /// Records a failure; the first one cancels every child.
    fn fail(&self, error: ChildError<E>) {
        let parent = {
            let mut state = self.inner.borrow_mut();
            state.errors.push(error);
            if !state.aborting {
                state.aborting = true;
                for canceller in state.children.iter().flatten() {
                    canceller.cancel();
                }
            }
            state.parent.take()
        };
        if let Some(parent) = parent {
            parent.wake();
        }
    }
}

/// What a refused child runs: nothing (it is cancelled before its first turn).
async fn refused<F, T>(future: F) -> T {
    drop(future);
    std::future::pending().await
}

/// The future a child task runs: the user's future, with failures diverted
/// to the group. After a failure it stays pending: the group has already
/// cancelled it, so it is dropped at its next turn. Dropping it (however the
/// child ended, even before its first poll) drops the user's future, turns
/// a panic there into a failure, and tells the group the child is gone.
struct Child<E, F> {
    group: TaskGroup<E>,
    slot: usize,
    /// Boxed so that `Drop` can drop it inside `catch_unwind`.
    future: Option<Pin<Box<F>>>,
    failed: bool,
}

impl<E, F> Unpin for Child<E, F> {}

impl<E: 'static, F, T> Future for Child<E, F>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        if self.failed {
            return Poll::Pending;
        }
        let future = self.future.as_mut().expect("a live child has its future");
        let error = match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Ready(Ok(value))) => return Poll::Ready(value),
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(Err(e))) => ChildError::Failed(e),
            Err(payload) => ChildError::Panicked(PanicError::new(payload)),
        };
        self.failed = true;
        self.group.fail(error);
        Poll::Pending
    }
}

impl<E, F> Drop for Child<E, F> {
    fn drop(&mut self) {
        if let Some(future) = self.future.take() {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(future))) {
                self.group
                    .fail(ChildError::Panicked(PanicError::new(payload)));
            }
        }
        let parent = {
            let mut state = self.group.inner.borrow_mut();
            state.children[self.slot] = None;
            state.free.push(self.slot);
            state.live -= 1;
            if state.live == 0 {
                state.parent.take()
            } else {
                None
            }
        };
        if let Some(parent) = parent {
            parent.wake();
        }
    }
}

/// Closes the group when the scope ends or is dropped, cancelling whatever
/// still runs (only possible when the scope is dropped early).
struct CloseOnDrop<E>(TaskGroup<E>);

impl<E> Drop for CloseOnDrop<E> {
    fn drop(&mut self) {
        let mut state = self.0.inner.borrow_mut();
        state.closed = true;
        state.parent = None;
        for canceller in state.children.iter().flatten() {
            canceller.cancel();
        }
    }
}

impl<E> fmt::Debug for TaskGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.borrow();
        f.debug_struct("TaskGroup")
            .field("live", &state.live)
            .field("errors", &state.errors.len())
            .field("aborting", &state.aborting)
            .field("closed", &state.closed)
            .finish()
    }
}

/// One failure inside a [`TaskGroup`].
pub enum ChildError<E> {
    /// A child (or the body) returned `Err`.
    Failed(E),
    /// A child panicked; the panic was caught.
    Panicked(PanicError),
}

impl<E> ChildError<E> {
    /// Whether this failure was a panic.
    pub fn is_panic(&self) -> bool {
        matches!(self, ChildError::Panicked(_))
    }

    /// The error a child returned, if that is what this failure was.
    pub fn into_error(self) -> Option<E> {
        match self {
            ChildError::Failed(e) => Some(e),
            ChildError::Panicked(_) => None,
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for ChildError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChildError::Failed(e) => f.debug_tuple("Failed").field(e).finish(),
            ChildError::Panicked(p) => f.debug_tuple("Panicked").field(p).finish(),
        }
    }
}

impl<E: fmt::Display> fmt::Display for ChildError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChildError::Failed(e) => write!(f, "task failed: {e}"),
            ChildError::Panicked(p) => write!(f, "task panicked: {}", p.message()),
        }
    }
}

/// Every failure of a [`TaskGroup`], in the order they happened (asyncio's
/// `ExceptionGroup`).
pub struct GroupError<E> {
    errors: Vec<ChildError<E>>,
}

impl<E> GroupError<E> {
    /// The failures of a group of tasks: a `TaskGroup`'s, or a cross-loop
    /// [`Scope`](crate::group::Scope)'s.
    pub(crate) fn new(errors: Vec<ChildError<E>>) -> GroupError<E> {
        GroupError { errors }
    }

    /// The failures, first one first.
    pub fn errors(&self) -> &[ChildError<E>] {
        &self.errors
    }

    /// The failures, by value.
    pub fn into_errors(self) -> Vec<ChildError<E>> {
        self.errors
    }
}

impl<E: fmt::Debug> fmt::Debug for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupError")
            .field("errors", &self.errors)
            .finish()
    }
}

impl<E> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.len() {
            1 => f.write_str("1 task of the group failed"),
            n => write!(f, "{n} tasks of the group failed"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for GroupError<E> {}
