//! The queue's errors. Each one that rejects an item gives it back, and
//! none needs `T: Debug` to be printed.

use std::fmt;

/// The `Display` of every `OnLoopThread` variant.
const ON_LOOP_THREAD: &str = "blocking call on the event loop thread; use the async method";

/// Why [`try_put`](crate::Queue::try_put) (or a
/// [`put_blocking_timeout`](crate::Queue::put_blocking_timeout)) refused an
/// item; the item is given back.
///
/// # Examples
///
/// ```
/// use tulipa::{Queue, TryPutError};
///
/// let q = Queue::new(1);
/// q.try_put("a").unwrap();
/// let err = q.try_put("b").unwrap_err();
/// assert!(err.is_full());
/// assert_eq!(err.into_inner(), "b");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum TryPutError<T> {
    /// The queue was full (asyncio's `QueueFull`); for the timeout variants,
    /// it was still full when the timeout passed.
    #[doc(alias = "QueueFull")]
    Full(T),
    /// The queue was shut down (asyncio's `QueueShutDown`).
    #[doc(alias = "QueueShutDown")]
    ShutDown(T),
    /// `put_blocking_timeout` was called on a thread where a tulipa event
    /// loop is running: blocking it could never end, so nothing was tried
    /// and the queue is unchanged. Use the async [`put`](crate::Queue::put).
    /// Only the `put_blocking_timeout` methods return it, never `try_put`.
    OnLoopThread(T),
}

impl<T> TryPutError<T> {
    /// Whether the queue was full.
    pub fn is_full(&self) -> bool {
        matches!(self, TryPutError::Full(_))
    }

    /// Whether the queue was shut down.
    pub fn is_shutdown(&self) -> bool {
        matches!(self, TryPutError::ShutDown(_))
    }

    /// Whether the call was refused because it would have blocked the event
    /// loop running on this thread.
    pub fn is_on_loop_thread(&self) -> bool {
        matches!(self, TryPutError::OnLoopThread(_))
    }

    /// The item that was refused.
    pub fn into_inner(self) -> T {
        match self {
            TryPutError::Full(item)
            | TryPutError::ShutDown(item)
            | TryPutError::OnLoopThread(item) => item,
        }
    }
}

impl<T> From<PutError<T>> for TryPutError<T> {
    fn from(err: PutError<T>) -> Self {
        match err {
            PutError::ShutDown(item) => TryPutError::ShutDown(item),
            PutError::OnLoopThread(item) => TryPutError::OnLoopThread(item),
        }
    }
}

impl<T> fmt::Debug for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPutError::Full(_) => f.write_str("Full(..)"),
            TryPutError::ShutDown(_) => f.write_str("ShutDown(..)"),
            TryPutError::OnLoopThread(_) => f.write_str("OnLoopThread(..)"),
        }
    }
}

impl<T> fmt::Display for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPutError::Full(_) => f.write_str("queue is full"),
            TryPutError::ShutDown(_) => f.write_str("queue is shut down"),
            TryPutError::OnLoopThread(_) => f.write_str(ON_LOOP_THREAD),
        }
    }
}

impl<T> std::error::Error for TryPutError<T> {}

/// Why [`try_get`](crate::Queue::try_get) (or a
/// [`get_blocking_timeout`](crate::Queue::get_blocking_timeout)) returned
/// no item.
///
/// # Examples
///
/// ```
/// use tulipa::{Queue, TryGetError};
///
/// let q = Queue::<u8>::unbounded();
/// assert_eq!(q.try_get(), Err(TryGetError::Empty));
/// q.shutdown(false);
/// assert!(q.try_get().unwrap_err().is_shutdown());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryGetError {
    /// The queue was empty (asyncio's `QueueEmpty`); for the timeout
    /// variants, it was still empty when the timeout passed.
    #[doc(alias = "QueueEmpty")]
    Empty,
    /// The queue was shut down and is empty (asyncio's `QueueShutDown`).
    #[doc(alias = "QueueShutDown")]
    ShutDown,
    /// `get_blocking_timeout` was called on a thread where a tulipa event
    /// loop is running: blocking it could never end, so nothing was taken
    /// and the queue is unchanged. Use the async [`get`](crate::Queue::get).
    /// Only the `get_blocking_timeout` methods return it, never `try_get`.
    OnLoopThread,
}

impl TryGetError {
    /// Whether the queue was empty (and not shut down).
    pub fn is_empty(&self) -> bool {
        matches!(self, TryGetError::Empty)
    }

    /// Whether the queue was shut down and empty.
    pub fn is_shutdown(&self) -> bool {
        matches!(self, TryGetError::ShutDown)
    }

    /// Whether the call was refused because it would have blocked the event
    /// loop running on this thread.
    pub fn is_on_loop_thread(&self) -> bool {
        matches!(self, TryGetError::OnLoopThread)
    }
}

impl From<GetError> for TryGetError {
    fn from(err: GetError) -> Self {
        match err {
            GetError::ShutDown => TryGetError::ShutDown,
            GetError::OnLoopThread => TryGetError::OnLoopThread,
        }
    }
}

impl fmt::Display for TryGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryGetError::Empty => f.write_str("queue is empty"),
            TryGetError::ShutDown => f.write_str("queue is shut down"),
            TryGetError::OnLoopThread => f.write_str(ON_LOOP_THREAD),
        }
    }
}

impl std::error::Error for TryGetError {}

/// Why [`put`](crate::Queue::put) or [`put_blocking`](crate::Queue::put_blocking)
/// failed: the queue was shut down, or `put_blocking` was called on the
/// event loop's thread. The item is given back.
///
/// # Examples
///
/// ```
/// use tulipa::{PutError, Queue};
///
/// let q = Queue::unbounded();
/// q.shutdown(false);
/// let err = q.put_blocking(7).unwrap_err();
/// assert!(matches!(err, PutError::ShutDown(7)));
/// assert_eq!(err.into_inner(), 7);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum PutError<T> {
    /// The queue was shut down (asyncio's `QueueShutDown`).
    #[doc(alias = "QueueShutDown")]
    ShutDown(T),
    /// `put_blocking` was called on a thread where a tulipa event loop is
    /// running: blocking it could never end, so nothing was tried and the
    /// queue is unchanged. Use the async [`put`](crate::Queue::put). The
    /// async `put` never returns it.
    OnLoopThread(T),
}

impl<T> PutError<T> {
    /// Whether the queue was shut down.
    pub fn is_shutdown(&self) -> bool {
        matches!(self, PutError::ShutDown(_))
    }

    /// Whether the call was refused because it would have blocked the event
    /// loop running on this thread.
    pub fn is_on_loop_thread(&self) -> bool {
        matches!(self, PutError::OnLoopThread(_))
    }

    /// The item that was refused.
    pub fn into_inner(self) -> T {
        match self {
            PutError::ShutDown(item) | PutError::OnLoopThread(item) => item,
        }
    }

    /// The error of a `put_blocking` without a deadline, which can never
    /// time out (so never be `Full`).
    pub(crate) fn from_untimed(err: TryPutError<T>) -> Self {
        match err {
            TryPutError::OnLoopThread(item) => PutError::OnLoopThread(item),
            TryPutError::ShutDown(item) | TryPutError::Full(item) => PutError::ShutDown(item),
        }
    }
}

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::ShutDown(_) => f.write_str("ShutDown(..)"),
            PutError::OnLoopThread(_) => f.write_str("OnLoopThread(..)"),
        }
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::ShutDown(_) => f.write_str("queue is shut down"),
            PutError::OnLoopThread(_) => f.write_str(ON_LOOP_THREAD),
        }
    }
}

impl<T> std::error::Error for PutError<T> {}

/// Why [`get`](crate::Queue::get) or [`get_blocking`](crate::Queue::get_blocking)
/// failed: the queue was shut down and had no item left, or `get_blocking`
/// was called on the event loop's thread.
///
/// # Examples
///
/// ```
/// use tulipa::{GetError, Queue};
///
/// let q = Queue::<u8>::unbounded();
/// q.shutdown(false);
/// assert_eq!(q.get_blocking(), Err(GetError::ShutDown));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetError {
    /// The queue was shut down and is empty (asyncio's `QueueShutDown`).
    #[doc(alias = "QueueShutDown")]
    ShutDown,
    /// `get_blocking` was called on a thread where a tulipa event loop is
    /// running: blocking it could never end, so nothing was taken and the
    /// queue is unchanged. Use the async [`get`](crate::Queue::get). The
    /// async `get` never returns it.
    OnLoopThread,
}

impl GetError {
    /// Whether the queue was shut down and empty.
    pub fn is_shutdown(&self) -> bool {
        matches!(self, GetError::ShutDown)
    }

    /// Whether the call was refused because it would have blocked the event
    /// loop running on this thread.
    pub fn is_on_loop_thread(&self) -> bool {
        matches!(self, GetError::OnLoopThread)
    }

    /// The error of a `get_blocking` without a deadline, which can never
    /// time out (so never be `Empty`).
    pub(crate) fn from_untimed(err: TryGetError) -> Self {
        match err {
            TryGetError::OnLoopThread => GetError::OnLoopThread,
            TryGetError::ShutDown | TryGetError::Empty => GetError::ShutDown,
        }
    }
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetError::ShutDown => f.write_str("queue is shut down"),
            GetError::OnLoopThread => f.write_str(ON_LOOP_THREAD),
        }
    }
}

impl std::error::Error for GetError {}

/// [`task_done`](crate::Queue::task_done) was called more times than items
/// were put (asyncio's `ValueError`).
///
/// # Examples
///
/// ```
/// let q = tulipa::Queue::<u8>::unbounded();
/// assert!(q.task_done().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneError(pub(crate) ());

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called too many times")
    }
}

impl std::error::Error for TaskDoneError {}
