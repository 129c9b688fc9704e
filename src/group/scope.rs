//! [`Scope`]: structured concurrency whose children run on several loops.

use std::cell::RefCell;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};

use super::task::{Cancel, Completer, TaskShared};
use super::{placement, GroupHandle, GroupTask, SpawnError};
use crate::combinators::{ChildError, GroupError};
use crate::task::TaskError;

/// The children of a cross-loop scope, opened with [`GroupHandle::scope`].
///
/// Like a [`TaskGroup`](crate::TaskGroup), but each child runs on a loop of
/// the group, placed as [`GroupHandle::spawn`] / [`spawn_on`](GroupHandle::spawn_on)
/// place work. The first failure (a child returning `Err`, a child
/// panicking, or the body returning `Err`) cancels every other child on
/// every loop and drops the body; the scope returns only when every child
/// has ended on its own loop, with a [`GroupError`] listing the failures (the error of a
/// [`TaskGroup`](crate::TaskGroup), whose rules these are) in
/// the order they happened. A child cancelled from outside is not a failure.
///
/// A child's [`GroupTask`] gives `Ok(value)` if it succeeded; a failed child
/// hands its error to the scope and its handle reports
/// [`TaskError::Cancelled`]. The scope lives on the loop that awaits it
/// (children are spawned from there):
///
/// ```compile_fail
/// fn must_be_send<T: Send>(_: T) {}
/// let group = tulipa::LoopGroup::new(1).unwrap();
/// let _ = group.scope(|s: tulipa::group::Scope<()>| async move { must_be_send(s); Ok(()) });
/// ```
pub struct Scope<E> {
    group: GroupHandle,
    state: Rc<RefCell<ScopeChildren<E>>>,
}

impl<E> Clone for Scope<E> {
    fn clone(&self) -> Self {
        Scope {
            group: self.group.clone(),
            state: self.state.clone(),
        }
    }
}

/// The scope's book of its children: their cancel handles, the failures so
/// far, and the awaiting task to wake.
struct ScopeChildren<E> {
    /// Cancel handles of the live children, by slot.
    children: Vec<Option<Arc<dyn Cancel>>>,
    free: Vec<usize>,
    live: usize,
    errors: Vec<ChildError<E>>,
    aborting: bool,
    closed: bool,
    /// The scope's task: woken by a failure and by the last child's end.
    parent: Option<Waker>,
}

impl GroupHandle {
    /// Runs `body` with a new cross-loop [`Scope`] and waits for it and for
    /// every child, on every loop.
    ///
    /// # Errors
    ///
    /// [`GroupError`] with every failure, if the body or a child failed.
    ///
    /// # Panics
    ///
    /// Polled outside a running tulipa loop (the scope watches its children
    /// from the loop that awaits it).
    ///
    /// # Cancel safety
    ///
    /// Dropping the scope's future drops the body and requests the cancel of
    /// every child on its loop; it cannot wait for them to end.
    ///
    /// # Examples
    ///
    /// ```
    /// let out = tulipa::run_group(3, async {
    ///     let group = tulipa::group().unwrap();
    ///     group
    ///         .scope(|scope| async move {
    ///             let slow = scope
    ///                 .spawn_on(1, || std::future::pending::<Result<(), String>>())
    ///                 .unwrap();
    ///             drop(scope.spawn_on(2, || async { Err::<(), _>("no".to_string()) }).unwrap());
    ///             Ok(slow)
    ///         })
    ///         .await
    /// })
    /// .unwrap();
    /// let err = out.unwrap_err();
    /// assert_eq!(err.errors().len(), 1);
    /// ```
    pub fn scope<E, B, Fut, R>(&self, body: B) -> impl Future<Output = Result<R, GroupError<E>>>
    where
        E: Send + 'static,
        B: FnOnce(Scope<E>) -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        let scope = Scope {
            group: self.clone(),
            state: Rc::new(RefCell::new(ScopeChildren {
                children: Vec::new(),
                free: Vec::new(),
                live: 0,
                errors: Vec::new(),
                aborting: false,
                closed: false,
                parent: None,
            })),
        };
        async move {
            let _close = CloseOnDrop(scope.clone());
            let body = body(scope.clone());
            let value = {
                let mut body = pin!(body);
                poll_fn(|cx| {
                    if scope.state.borrow().aborting {
                        return Poll::Ready(None);
                    }
                    scope.state.borrow_mut().parent = Some(cx.waker().clone());
                    body.as_mut().poll(cx).map(Some)
                })
                .await
                // The body is dropped here when aborting, as asyncio cancels it.
            };
            let value = match value {
                Some(Ok(value)) => Some(value),
                Some(Err(e)) => {
                    scope.fail(ChildError::Failed(e));
                    None
                }
                None => None,
            };
            poll_fn(|cx| {
                let mut state = scope.state.borrow_mut();
                if state.live == 0 {
                    return Poll::Ready(());
                }
                state.parent = Some(cx.waker().clone());
                Poll::Pending
            })
            .await;
            let mut state = scope.state.borrow_mut();
            state.closed = true;
            let errors = std::mem::take(&mut state.errors);
            match value {
                Some(value) if errors.is_empty() => Ok(value),
                _ => Err(GroupError::new(errors)),
            }
        }
    }
}

impl<E: Send + 'static> Scope<E> {
    /// Starts a child on the least-loaded loop (as [`GroupHandle::spawn`]).
    ///
    /// A spawn after the scope began failing, or after it ended, is refused:
    /// the returned handle reports [`TaskError::Cancelled`] and nothing runs.
    ///
    /// # Errors
    ///
    /// [`SpawnError::Closed`] if every loop has ended.
    ///
    /// # Panics
    ///
    /// Outside a running tulipa loop.
    ///
    /// # Examples
    ///
    /// ```
    /// let loops = tulipa::run_group(2, async {
    ///     let group = tulipa::group().unwrap();
    ///     group
    ///         .scope(|scope| async move {
    ///             let a = scope.spawn(|| async { Ok::<_, String>(tulipa::group().unwrap().current_loop()) }).unwrap();
    ///             let b = scope.spawn(|| async { Ok::<_, String>(tulipa::group().unwrap().current_loop()) }).unwrap();
    ///             Ok((a.await.unwrap(), b.await.unwrap()))
    ///         })
    ///         .await
    ///         .unwrap()
    /// })
    /// .unwrap();
    /// assert_ne!(loops.0, loops.1); // least loaded: one child per loop
    /// ```
    pub fn spawn<F, Fut, T>(&self, build: F) -> Result<GroupTask<T>, SpawnError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Send + 'static,
    {
        let loads = &self.group.shared.loads;
        let index =
            placement::least_loaded(loads, placement::By::Tasks).ok_or(SpawnError::Closed)?;
        self.spawn_on(index, build)
    }

    /// Starts a child on loop `index`.
    ///
    /// # Errors
    ///
    /// As [`GroupHandle::spawn_on`].
    ///
    /// # Panics
    ///
    /// Outside a running tulipa loop.
    ///
    /// # Examples
    ///
    /// ```
    /// let sum = tulipa::run_group(3, async {
    ///     let group = tulipa::group().unwrap();
    ///     group
    ///         .scope(|scope| async move {
    ///             let children: Vec<_> = (0..3u32)
    ///                 .map(|i| scope.spawn_on(i as usize, move || async move { Ok::<_, String>(i * 10) }).unwrap())
    ///                 .collect();
    ///             let mut sum = 0;
    ///             for child in children {
    ///                 sum += child.await.unwrap();
    ///             }
    ///             Ok(sum)
    ///         })
    ///         .await
    ///         .unwrap()
    /// })
    /// .unwrap();
    /// assert_eq!(sum, 30);
    /// ```
    pub fn spawn_on<F, Fut, T>(&self, index: usize, build: F) -> Result<GroupTask<T>, SpawnError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Send + 'static,
    {
        {
            let state = self.state.borrow();
            if state.closed || state.aborting {
                // Dropped at once: the handle reports a cancel.
                let refused = TaskShared::new(None);
                drop(Completer::new(refused.clone()));
                return Ok(GroupTask::new(refused, index, None));
            }
        }
        let remote = self.group.spawn_shared(index, build, None)?;
        let user = TaskShared::new(Some(remote.canceller()));
        let completer = Completer::new(user.clone());
        let slot = {
            let mut state = self.state.borrow_mut();
            state.live += 1;
            let slot = state.free.pop().unwrap_or_else(|| {
                state.children.push(None);
                state.children.len() - 1
            });
            state.children[slot] = Some(remote.canceller());
            slot
        };
        let scope = self.clone();
        drop(crate::spawn(async move {
            match remote.await {
                Ok(Ok(value)) => completer.complete(Ok(value)),
                Ok(Err(e)) => scope.fail(ChildError::Failed(e)),
                Err(TaskError::Panicked(p)) => scope.fail(ChildError::Panicked(p)),
                Err(TaskError::Cancelled) => {}
            }
            scope.ended(slot);
        }));
        Ok(GroupTask::new(user, index, None))
    }

    /// Live children.
    ///
    /// # Examples
    ///
    /// ```
    /// let live = tulipa::run_group(2, async {
    ///     let group = tulipa::group().unwrap();
    ///     group
    ///         .scope(|scope| async move {
    ///             let child = scope.spawn_on(1, || async { Ok::<_, String>(()) }).unwrap();
    ///             let live = scope.len();
    ///             child.await.unwrap();
    ///             Ok((live, scope.len()))
    ///         })
    ///         .await
    ///         .unwrap()
    /// })
    /// .unwrap();
    /// assert_eq!(live.0, 1);
    /// ```
    pub fn len(&self) -> usize {
        self.state.borrow().live
    }

    /// Whether no child is live.
    ///
    /// # Examples
    ///
    /// ```
    /// let empty = tulipa::run_group(1, async {
    ///     let group = tulipa::group().unwrap();
    ///     group
    ///         .scope(|scope: tulipa::group::Scope<String>| async move { Ok(scope.is_empty()) })
    ///         .await
    ///         .unwrap()
    /// })
    /// .unwrap();
    /// assert!(empty);
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a failure happened and the children are being cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let seen = tulipa::run_group(2, async {
    ///     let group = tulipa::group().unwrap();
    ///     let out = group
    ///         .scope(|scope| async move {
    ///             assert!(!scope.is_aborting());
    ///             let failing = scope.spawn_on(1, || async { Err::<(), _>("no".to_owned()) }).unwrap();
    ///             let _ = failing.await; // the failure went to the scope
    ///             Ok(scope.is_aborting())
    ///         })
    ///         .await;
    ///     out.unwrap_err().errors().len()
    /// })
    /// .unwrap();
    /// assert_eq!(seen, 1); // the body was dropped once the child failed
    /// ```
    pub fn is_aborting(&self) -> bool {
        self.state.borrow().aborting
    }
}

impl<E> Scope<E> {
    fn fail(&self, error: ChildError<E>) {
        let (cancels, parent) = {
            let mut state = self.state.borrow_mut();
            state.errors.push(error);
            let cancels = if state.aborting {
                Vec::new()
            } else {
                state.aborting = true;
                state.children.iter().flatten().cloned().collect()
            };
            (cancels, state.parent.take())
        };
        for cancel in cancels {
            cancel.cancel();
        }
        if let Some(parent) = parent {
            parent.wake();
        }
    }

    fn ended(&self, slot: usize) {
        let parent = {
            let mut state = self.state.borrow_mut();
            state.children[slot] = None;
            state.free.push(slot);
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

/// Cancels every child if the scope's future is dropped early.
struct CloseOnDrop<E>(Scope<E>);

impl<E> Drop for CloseOnDrop<E> {
    fn drop(&mut self) {
        let cancels: Vec<_> = {
            let mut state = self.0.state.borrow_mut();
            state.closed = true;
            state.parent = None;
            state.children.iter().flatten().cloned().collect()
        };
        for cancel in cancels {
            cancel.cancel();
        }
    }
}

impl<E> fmt::Debug for Scope<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Scope")
            .field("live", &state.live)
            .field("errors", &state.errors.len())
            .field("aborting", &state.aborting)
            .finish()
    }
}
