//! The queue's errors: one type per kind of call, holding only the
//! variants that call can return (as std's `mpsc` has `SendError`,
//! `TrySendError` and `SendTimeoutError`). Every error that refuses an item
//! gives it back, and none needs `T: Debug` to be printed.
//!
//! | call | error | variants |
//! |---|---|---|
//! | `put().await` / `get().await` | [`PutError`] / [`GetError`] | `ShutDown` |
//! | `try_put` / `try_get` | [`TryPutError`] / [`TryGetError`] | `Full` / `Empty`, `ShutDown` |
//! | `put_blocking` / `get_blocking` | [`BlockingPutError`] / [`BlockingGetError`] | `ShutDown`, `OnLoopThread` |
//! | `put_blocking_timeout` / `get_blocking_timeout` | [`PutTimeoutError`] / [`GetTimeoutError`] | `TimedOut`, `ShutDown`, `OnLoopThread` |

use std::fmt;

/// Defines an error enum with its `is_*` predicates, a `Display` phrase per
/// variant, and `std::error::Error`. The `<T>` form gives the refused item
/// back in every variant (with `into_inner`) and prints without `T: Debug`.
macro_rules! queue_error {
    (
        $(#[$attr:meta])*
        pub enum $name:ident<T> {
            $($(#[$vattr:meta])* $variant:ident => $is:ident, $phrase:expr;)+
        }
    ) => {
        $(#[$attr])*
        #[derive(Clone, PartialEq, Eq)]
        pub enum $name<T> {
            $($(#[$vattr])* $variant(T),)+
        }

        impl<T> $name<T> {
            $(
                #[doc = concat!("Whether this is [`", stringify!($variant), "`](Self::", stringify!($variant), ").")]
                ///
                /// # Examples
                ///
                #[doc = concat!("```\nassert!(tulipa::", stringify!($name), "::", stringify!($variant), "(0).", stringify!($is), "());\n```")]
                pub fn $is(&self) -> bool {
                    matches!(self, Self::$variant(_))
                }
            )+

            /// The item that was refused.
            ///
            /// # Examples
            ///
            /// ```
            $(#[doc = concat!("assert_eq!(tulipa::", stringify!($name), "::", stringify!($variant), "(7).into_inner(), 7);")])+
            /// ```
            pub fn into_inner(self) -> T {
                match self {
                    $(Self::$variant(item))|+ => item,
                }
            }
        }

        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $(Self::$variant(_) => f.write_str(concat!(stringify!($variant), "(..)")),)+
                }
            }
        }

        impl<T> fmt::Display for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $(Self::$variant(_) => f.write_str($phrase),)+
                }
            }
        }

        impl<T> std::error::Error for $name<T> {}
    };
    (
        $(#[$attr:meta])*
        pub enum $name:ident {
            $($(#[$vattr:meta])* $variant:ident => $is:ident, $phrase:expr;)+
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vattr])* $variant,)+
        }

        impl $name {
            $(
                #[doc = concat!("Whether this is [`", stringify!($variant), "`](Self::", stringify!($variant), ").")]
                ///
                /// # Examples
                ///
                #[doc = concat!("```\nassert!(tulipa::", stringify!($name), "::", stringify!($variant), ".", stringify!($is), "());\n```")]
                pub fn $is(&self) -> bool {
                    matches!(self, Self::$variant)
                }
            )+
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $(Self::$variant => f.write_str($phrase),)+
                }
            }
        }

        impl std::error::Error for $name {}
    };
}

/// `From` between two errors, for the variants they share (a narrower
/// call's error into a wider one's).
macro_rules! widen {
    ($from:ident<T> => $to:ident<T>: $($variant:ident),+) => {
        impl<T> From<$from<T>> for $to<T> {
            fn from(err: $from<T>) -> Self {
                match err {
                    $($from::$variant(item) => $to::$variant(item),)+
                }
            }
        }
    };
    ($from:ident => $to:ident: $($variant:ident),+) => {
        impl From<$from> for $to {
            fn from(err: $from) -> Self {
                match err {
                    $($from::$variant => $to::$variant,)+
                }
            }
        }
    };
}

const SHUT_DOWN: &str = "queue is shut down";
const ON_LOOP_THREAD: &str = "blocking call on the event loop thread; use the async method";

queue_error! {
    /// Why [`put`](crate::Queue::put) failed: the queue was shut down
    /// (asyncio's `QueueShutDown`). The item is given back.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::{PutError, Queue};
    ///
    /// tulipa::run(async {
    ///     let q = Queue::unbounded();
    ///     q.shutdown(false);
    ///     let err = q.put(7).await.unwrap_err();
    ///     assert!(matches!(err, PutError::ShutDown(7)));
    ///     assert_eq!(err.into_inner(), 7);
    /// })
    /// .unwrap();
    /// ```
    pub enum PutError<T> {
        /// The queue was shut down, before or while the put waited.
        #[doc(alias = "QueueShutDown")]
        ShutDown => is_shutdown, SHUT_DOWN;
    }
}

queue_error! {
    /// Why [`try_put`](crate::Queue::try_put) refused an item; the item is
    /// given back.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::{Queue, TryPutError};
    ///
    /// let q = Queue::new(1);
    /// q.try_put("a").unwrap();
    /// let err = q.try_put("b").unwrap_err();
    /// assert!(err.is_full() && !err.is_shutdown());
    /// assert_eq!(err.into_inner(), "b");
    /// ```
    pub enum TryPutError<T> {
        /// The queue was full (asyncio's `QueueFull`).
        #[doc(alias = "QueueFull")]
        Full => is_full, "queue is full";
        /// The queue was shut down (asyncio's `QueueShutDown`).
        #[doc(alias = "QueueShutDown")]
        ShutDown => is_shutdown, SHUT_DOWN;
    }
}

queue_error! {
    /// Why [`put_blocking`](crate::Queue::put_blocking) failed; the item is
    /// given back.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::{BlockingPutError, Queue};
    ///
    /// let q = Queue::unbounded();
    /// q.shutdown(false);
    /// let err = q.put_blocking(7).unwrap_err();
    /// assert!(matches!(err, BlockingPutError::ShutDown(7)));
    /// assert!(!err.is_on_loop_thread());
    /// ```
    pub enum BlockingPutError<T> {
        /// The queue was shut down (asyncio's `QueueShutDown`).
        #[doc(alias = "QueueShutDown")]
        ShutDown => is_shutdown, SHUT_DOWN;
        /// The call was made on a thread where a tulipa event loop is
        /// running: blocking it could never end, so nothing was tried and
        /// the queue is unchanged. Use the async [`put`](crate::Queue::put).
        OnLoopThread => is_on_loop_thread, ON_LOOP_THREAD;
    }
}

queue_error! {
    /// Why [`put_blocking_timeout`](crate::Queue::put_blocking_timeout)
    /// failed; the item is given back.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tulipa::{PutTimeoutError, Queue};
    ///
    /// let q = Queue::new(1);
    /// q.try_put(1).unwrap();
    /// let err = q.put_blocking_timeout(2, Duration::from_millis(1)).unwrap_err();
    /// assert!(matches!(err, PutTimeoutError::TimedOut(2)));
    /// assert!(err.is_timed_out());
    /// ```
    pub enum PutTimeoutError<T> {
        /// The queue was still full when the timeout passed.
        TimedOut => is_timed_out, "timed out waiting for room in the queue";
        /// The queue was shut down (asyncio's `QueueShutDown`).
        #[doc(alias = "QueueShutDown")]
        ShutDown => is_shutdown, SHUT_DOWN;
        /// The call was made on a thread where a tulipa event loop is
        /// running: blocking it could never end, so nothing was tried and
        /// the queue is unchanged. Use the async [`put`](crate::Queue::put).
        OnLoopThread => is_on_loop_thread, ON_LOOP_THREAD;
    }
}

widen!(PutError<T> => TryPutError<T>: ShutDown);
widen!(PutError<T> => BlockingPutError<T>: ShutDown);
widen!(PutError<T> => PutTimeoutError<T>: ShutDown);
widen!(BlockingPutError<T> => PutTimeoutError<T>: ShutDown, OnLoopThread);

queue_error! {
    /// Why [`get`](crate::Queue::get) failed: the queue was shut down and
    /// had no item left (asyncio's `QueueShutDown`).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::{GetError, Queue};
    ///
    /// tulipa::run(async {
    ///     let q = Queue::<u8>::unbounded();
    ///     q.shutdown(false);
    ///     assert_eq!(q.get().await, Err(GetError::ShutDown));
    /// })
    /// .unwrap();
    /// ```
    pub enum GetError {
        /// The queue was shut down and is empty.
        #[doc(alias = "QueueShutDown")]
        ShutDown => is_shutdown, SHUT_DOWN;
    }
}

queue_error! {
    /// Why [`try_get`](crate::Queue::try_get) returned no item.
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
    pub enum TryGetError {
        /// The queue was empty, and not shut down (asyncio's `QueueEmpty`).
        #[doc(alias = "QueueEmpty")]
        Empty => is_empty, "queue is empty";
        /// The queue was shut down and is empty (asyncio's `QueueShutDown`).
        #[doc(alias = "QueueShutDown")]
        ShutDown => is_shutdown, SHUT_DOWN;
    }
}

queue_error! {
    /// Why [`get_blocking`](crate::Queue::get_blocking) returned no item.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::{BlockingGetError, Queue};
    ///
    /// let q = Queue::<u8>::unbounded();
    /// q.shutdown(false);
    /// assert_eq!(q.get_blocking(), Err(BlockingGetError::ShutDown));
    /// ```
    pub enum BlockingGetError {
        /// The queue was shut down and is empty (asyncio's `QueueShutDown`).
        #[doc(alias = "QueueShutDown")]
        ShutDown => is_shutdown, SHUT_DOWN;
        /// The call was made on a thread where a tulipa event loop is
        /// running: blocking it could never end, so nothing was taken and
        /// the queue is unchanged. Use the async [`get`](crate::Queue::get).
        OnLoopThread => is_on_loop_thread, ON_LOOP_THREAD;
    }
}

queue_error! {
    /// Why [`get_blocking_timeout`](crate::Queue::get_blocking_timeout)
    /// returned no item.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tulipa::{GetTimeoutError, Queue};
    ///
    /// let q = Queue::<u8>::unbounded();
    /// let err = q.get_blocking_timeout(Duration::from_millis(1)).unwrap_err();
    /// assert_eq!(err, GetTimeoutError::TimedOut);
    /// ```
    pub enum GetTimeoutError {
        /// The queue was still empty when the timeout passed.
        TimedOut => is_timed_out, "timed out waiting for an item in the queue";
        /// The queue was shut down and is empty (asyncio's `QueueShutDown`).
        #[doc(alias = "QueueShutDown")]
        ShutDown => is_shutdown, SHUT_DOWN;
        /// The call was made on a thread where a tulipa event loop is
        /// running: blocking it could never end, so nothing was taken and
        /// the queue is unchanged. Use the async [`get`](crate::Queue::get).
        OnLoopThread => is_on_loop_thread, ON_LOOP_THREAD;
    }
}

widen!(GetError => TryGetError: ShutDown);
widen!(GetError => BlockingGetError: ShutDown);
widen!(GetError => GetTimeoutError: ShutDown);
widen!(BlockingGetError => GetTimeoutError: ShutDown, OnLoopThread);

/// [`task_done`](crate::Queue::task_done) was called more times than items
/// were put (asyncio's `ValueError`).
///
/// # Examples
///
/// ```
/// let q = tulipa::Queue::<u8>::unbounded();
/// let err = q.task_done().unwrap_err();
/// assert_eq!(err.to_string(), "task_done() called too many times");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneError(pub(crate) ());

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called too many times")
    }
}

impl std::error::Error for TaskDoneError {}
