//! [`LoopFuture`]: a one-shot result slot that loop-local code sets by hand
//! (asyncio's `Future`, from `loop.create_future()`).

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::runtime::callback_handle::CallCell;
use crate::runtime::context;
use crate::runtime::core::Ready;

/// What a [`LoopFuture`] holds: nothing yet, or its result.
enum Outcome<T> {
    Pending,
    Done(Result<T, FutureError>),
}

/// The slot its clones share: the outcome, the tasks awaiting it, the done callbacks.
struct FutureSlot<T> {
    outcome: Outcome<T>,
    waiters: Vec<Waker>,
    callbacks: Vec<Box<dyn FnOnce()>>,
}

/// A settable one-shot future for code on the loop thread (asyncio's `Future`).
///
/// Clones share one slot: set it through one clone, await any number of
/// others. Awaiting gives a clone of the result, so `T: Clone` for awaiting.
///
/// # Cancel safety
///
/// Awaiting a `LoopFuture` takes nothing from the slot: dropping the future
/// that awaits a clone (cancelling the task that awaits it) leaves the slot
/// pending, and the other clones can still set and await it. Unlike asyncio,
/// where cancelling a task that awaits a `Future` cancels that `Future`,
/// call [`cancel`](LoopFuture::cancel) for that.
///
/// The slot is bound to its loop's thread (`!Send`):
///
/// ```compile_fail,E0277
/// fn must_be_send<T: Send>(_: T) {}
/// must_be_send(tulipa::LoopFuture::<u32>::new());
/// ```
///
/// # Examples
///
/// ```
/// use tulipa::LoopFuture;
///
/// let out = tulipa::run(async {
///     let fut = LoopFuture::new();
///     let setter = fut.clone();
///     let _ = tulipa::get_running_loop().unwrap().call_soon(move || {
///         setter.set_result(7).unwrap();
///     });
///     fut.await
/// });
/// assert_eq!(out.unwrap().unwrap(), 7);
/// ```
#[doc(alias = "Future")]
#[doc(alias = "create_future")]
pub struct LoopFuture<T> {
    slot: Rc<RefCell<FutureSlot<T>>>,
}

impl<T> Clone for LoopFuture<T> {
    fn clone(&self) -> Self {
        LoopFuture {
            slot: self.slot.clone(),
        }
    }
}

impl<T> Default for LoopFuture<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> LoopFuture<T> {
    /// A pending future.
    ///
    /// # Examples
    ///
    /// ```
    /// let fut = tulipa::LoopFuture::<u32>::new();
    /// assert!(!fut.is_done());
    /// assert!(fut.result().is_none());
    /// ```
    pub fn new() -> LoopFuture<T> {
        LoopFuture {
            slot: Rc::new(RefCell::new(FutureSlot {
                outcome: Outcome::Pending,
                waiters: Vec::new(),
                callbacks: Vec::new(),
            })),
        }
    }

    /// Completes the future with `value` and wakes every awaiter.
    ///
    /// # Errors
    ///
    /// [`InvalidStateError`] (with the value back) if it is already done.
    ///
    /// # Examples
    ///
    /// ```
    /// let fut = tulipa::LoopFuture::new();
    /// fut.set_result("first").unwrap();
    /// let err = fut.set_result("second").unwrap_err();
    /// assert_eq!(err.0, "second"); // the value comes back
    /// assert_eq!(fut.result().unwrap().unwrap(), "first");
    /// ```
    pub fn set_result(&self, value: T) -> Result<(), InvalidStateError<T>> {
        if self.is_done() {
            return Err(InvalidStateError(value));
        }
        self.complete(Ok(value));
        Ok(())
    }

    /// Completes the future with an error (asyncio's `set_exception`).
    ///
    /// # Errors
    ///
    /// [`InvalidStateError`] (with the error back) if it is already done.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::future::FutureError;
    ///
    /// let fut = tulipa::LoopFuture::<u32>::new();
    /// fut.set_error(std::io::Error::other("boom")).unwrap();
    /// match tulipa::run(fut).unwrap() {
    ///     Err(FutureError::Error(e)) => assert_eq!(e.to_string(), "boom"),
    ///     other => panic!("{other:?}"),
    /// }
    /// ```
    pub fn set_error<E>(&self, error: E) -> Result<(), InvalidStateError<E>>
    where
        E: std::error::Error + 'static,
    {
        if self.is_done() {
            return Err(InvalidStateError(error));
        }
        self.complete(Err(FutureError::Error(Rc::new(error))));
        Ok(())
    }

    /// Cancels the future; returns `false` if it was already done.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::future::FutureError;
    ///
    /// let fut = tulipa::LoopFuture::<u32>::new();
    /// assert!(fut.cancel());
    /// assert!(!fut.cancel()); // done already
    /// assert!(fut.is_cancelled());
    /// assert!(matches!(tulipa::run(fut).unwrap(), Err(FutureError::Cancelled)));
    /// ```
    pub fn cancel(&self) -> bool {
        if self.is_done() {
            return false;
        }
        self.complete(Err(FutureError::Cancelled));
        true
    }

    /// Whether it has a result, an error or was cancelled (asyncio's `done()`).
    ///
    /// # Examples
    ///
    /// ```
    /// let fut = tulipa::LoopFuture::new();
    /// assert!(!fut.is_done());
    /// fut.set_result(1).unwrap();
    /// assert!(fut.is_done());
    /// ```
    pub fn is_done(&self) -> bool {
        matches!(self.slot.borrow().outcome, Outcome::Done(_))
    }

    /// Whether it was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let fut = tulipa::LoopFuture::new();
    /// fut.set_result(1).unwrap();
    /// assert!(fut.is_done() && !fut.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(
            self.slot.borrow().outcome,
            Outcome::Done(Err(FutureError::Cancelled))
        )
    }

    /// Runs `callback` once the future is done: scheduled with `call_soon` on
    /// the running loop (asyncio's behaviour), or called at once when no loop
    /// runs on this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// let calls = Rc::new(Cell::new(0));
    /// tulipa::run({
    ///     let calls = calls.clone();
    ///     async move {
    ///         let fut = tulipa::LoopFuture::new();
    ///         let seen = calls.clone();
    ///         fut.add_done_callback(move || seen.set(seen.get() + 1));
    ///         fut.set_result(()).unwrap();
    ///         assert_eq!(calls.get(), 0); // scheduled, not called yet
    ///         tulipa::yield_now().await;
    ///         assert_eq!(calls.get(), 1);
    ///     }
    /// })
    /// .unwrap();
    /// assert_eq!(calls.get(), 1);
    /// ```
    pub fn add_done_callback<F: FnOnce() + 'static>(&self, callback: F) {
        if self.is_done() {
            schedule(Box::new(callback));
        } else {
            self.slot.borrow_mut().callbacks.push(Box::new(callback));
        }
    }

    fn complete(&self, outcome: Result<T, FutureError>) {
        let (waiters, callbacks) = {
            let mut slot = self.slot.borrow_mut();
            slot.outcome = Outcome::Done(outcome);
            (
                std::mem::take(&mut slot.waiters),
                std::mem::take(&mut slot.callbacks),
            )
        };
        // Woken and scheduled after the borrow ends.
        for waker in waiters {
            waker.wake();
        }
        for callback in callbacks {
            schedule(callback);
        }
    }
}

impl<T: Clone> LoopFuture<T> {
    /// The outcome if done (asyncio's `result()` / `exception()`), else `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// let fut = tulipa::LoopFuture::new();
    /// assert!(fut.result().is_none());
    /// fut.set_result(5).unwrap();
    /// assert_eq!(fut.result().unwrap().unwrap(), 5);
    /// assert_eq!(fut.result().unwrap().unwrap(), 5); // a clone each time
    /// ```
    pub fn result(&self) -> Option<Result<T, FutureError>> {
        match &self.slot.borrow().outcome {
            Outcome::Pending => None,
            Outcome::Done(outcome) => Some(outcome.clone()),
        }
    }
}

fn schedule(callback: Box<dyn FnOnce()>) {
    match context::current() {
        Some(core) => core.push_ready(Ready::Call(Rc::new(CallCell::new(callback)))),
        None => callback(),
    }
}

impl<T: Clone> Future for LoopFuture<T> {
    type Output = Result<T, FutureError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.slot.borrow_mut();
        if let Outcome::Done(outcome) = &slot.outcome {
            return Poll::Ready(outcome.clone());
        }
        if !slot.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            slot.waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl<T> fmt::Debug for LoopFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopFuture")
            .field("done", &self.is_done())
            .finish()
    }
}

/// How a [`LoopFuture`] ended without a value.
///
/// # Examples
///
/// ```
/// use tulipa::future::FutureError;
///
/// let fut = tulipa::LoopFuture::<()>::new();
/// fut.cancel();
/// let err = fut.result().unwrap().unwrap_err();
/// assert!(matches!(err, FutureError::Cancelled));
/// assert_eq!(err.to_string(), "future was cancelled");
/// ```
#[derive(Clone)]
pub enum FutureError {
    /// It was cancelled.
    Cancelled,
    /// An error was set with [`LoopFuture::set_error`].
    Error(Rc<dyn std::error::Error>),
}

impl fmt::Debug for FutureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FutureError::Cancelled => f.write_str("Cancelled"),
            FutureError::Error(e) => f.debug_tuple("Error").field(&e.to_string()).finish(),
        }
    }
}

impl fmt::Display for FutureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FutureError::Cancelled => f.write_str("future was cancelled"),
            FutureError::Error(e) => write!(f, "future failed: {e}"),
        }
    }
}

impl std::error::Error for FutureError {}

/// The future was already done (asyncio's `InvalidStateError`); carries back
/// what could not be set.
///
/// # Examples
///
/// ```
/// let fut = tulipa::LoopFuture::new();
/// fut.set_result(1).unwrap();
/// let err = fut.set_result(2).unwrap_err();
/// assert_eq!(err.0, 2);
/// assert_eq!(err.to_string(), "future is already done");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct InvalidStateError<T>(pub T);

impl<T> fmt::Debug for InvalidStateError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InvalidStateError(..)")
    }
}

impl<T> fmt::Display for InvalidStateError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("future is already done")
    }
}

impl<T> std::error::Error for InvalidStateError<T> {}
