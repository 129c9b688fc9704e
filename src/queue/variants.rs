//! [`LifoQueue`] and [`PriorityQueue`]: the same API and the same waiter
//! machinery as [`Queue`](crate::Queue), over another store. Each method
//! forwards to the one algorithm in `inner.rs`; its full description is on
//! the `Queue` method of the same name.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_core::FusedStream;

use super::error::{GetError, PutError, TaskDoneError, TryGetError, TryPutError};
use super::futures::{Get, Items, Join, Put};
use super::inner::Inner;
use super::store::{Lifo, Priority};

macro_rules! variant_queue {
    (
        $(#[$attr:meta])*
        $name:ident, $store:ident, [$($bound:tt)*], $order:literal
    ) => {
        $(#[$attr])*
        pub struct $name<T> {
            inner: Arc<Inner<$store<T>>>,
        }

        impl<T: $($bound)*> $name<T> {
            #[doc = concat!("A ", $order, " queue of at most `maxsize` items; `0` means unbounded.")]
            pub fn new(maxsize: usize) -> Self {
                $name { inner: Arc::new(Inner::new(maxsize)) }
            }

            /// A queue without a size limit.
            pub fn unbounded() -> Self {
                Self::new(0)
            }

            /// The size limit; `0` for an unbounded queue.
            pub fn maxsize(&self) -> usize {
                self.inner.maxsize()
            }

            /// How many items are in the queue.
            #[doc(alias = "qsize")]
            pub fn len(&self) -> usize {
                self.inner.len()
            }

            /// Whether the queue holds no item.
            #[doc(alias = "empty")]
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// Whether the queue holds `maxsize` items.
            #[doc(alias = "full")]
            pub fn is_full(&self) -> bool {
                self.inner.is_full()
            }

            /// Puts `item`, waiting for a free place while the queue is full
            /// (see [`Queue::put`](crate::Queue::put)).
            ///
            /// # Errors
            ///
            /// [`PutError::ShutDown`] with the item if the queue is shut down.
            ///
            /// # Cancel safety
            ///
            /// Dropping the future drops the item, which was not put; a
            /// wake-up it took is passed to the next putter.
            pub fn put(&self, item: T) -> impl Future<Output = Result<(), PutError<T>>> + '_ {
                Put::new(&self.inner, item)
            }

            #[doc = concat!("Takes the ", $order, " item, waiting while the queue is empty")]
            /// (see [`Queue::get`](crate::Queue::get)).
            ///
            /// # Errors
            ///
            /// [`GetError::ShutDown`] if the queue is shut down and empty.
            ///
            /// # Cancel safety
            ///
            /// Cancel-safe: no item is lost; a wake-up it took is passed to
            /// the next getter.
            pub fn get(&self) -> impl Future<Output = Result<T, GetError>> + '_ {
                Get::new(&self.inner)
            }

            /// Puts `item` without waiting (asyncio's `put_nowait`).
            ///
            /// # Errors
            ///
            /// [`TryPutError::ShutDown`] or [`TryPutError::Full`], with the item.
            #[doc(alias = "put_nowait")]
            pub fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
                self.inner.try_put(item)
            }

            #[doc = concat!("Takes the ", $order, " item without waiting (asyncio's `get_nowait`).")]
            ///
            /// # Errors
            ///
            /// [`TryGetError::Empty`], or [`TryGetError::ShutDown`] once shut down and empty.
            #[doc(alias = "get_nowait")]
            pub fn try_get(&self) -> Result<T, TryGetError> {
                self.inner.try_get()
            }

            /// Puts `item` from a plain thread, blocking while the queue is full.
            ///
            /// # Errors
            ///
            /// [`PutError::ShutDown`] with the item if the queue is shut down;
            /// [`PutError::OnLoopThread`] with the item, at once, if a tulipa
            /// event loop is running on this thread (the queue is unchanged).
            pub fn put_blocking(&self, item: T) -> Result<(), PutError<T>> {
                self.inner.put_blocking(item, None).map_err(PutError::from_untimed)
            }

            /// Like `put_blocking`, for at most `timeout`.
            ///
            /// # Errors
            ///
            /// [`TryPutError::Full`] on timeout, [`TryPutError::ShutDown`],
            /// [`TryPutError::OnLoopThread`] at once on a thread running a
            /// tulipa event loop (the queue is unchanged); all give the item back.
            pub fn put_blocking_timeout(&self, item: T, timeout: Duration) -> Result<(), TryPutError<T>> {
                self.inner.put_blocking(item, Instant::now().checked_add(timeout))
            }

            /// Takes an item from a plain thread, blocking while the queue is empty.
            ///
            /// # Errors
            ///
            /// [`GetError::ShutDown`] if the queue is shut down and empty;
            /// [`GetError::OnLoopThread`], at once, if a tulipa event loop is
            /// running on this thread (nothing is taken).
            pub fn get_blocking(&self) -> Result<T, GetError> {
                self.inner.get_blocking(None).map_err(GetError::from_untimed)
            }

            /// Like `get_blocking`, for at most `timeout`.
            ///
            /// # Errors
            ///
            /// [`TryGetError::Empty`] on timeout, [`TryGetError::ShutDown`] once shut down and empty,
            /// [`TryGetError::OnLoopThread`] at once on a thread running a
            /// tulipa event loop (nothing is taken).
            pub fn get_blocking_timeout(&self, timeout: Duration) -> Result<T, TryGetError> {
                self.inner.get_blocking(Instant::now().checked_add(timeout))
            }

            /// Marks one item as processed (see [`Queue::task_done`](crate::Queue::task_done)).
            ///
            /// # Errors
            ///
            /// [`TaskDoneError`] if called more times than items were put.
            pub fn task_done(&self) -> Result<(), TaskDoneError> {
                self.inner.task_done()
            }

            /// Waits until every item put has been marked done.
            ///
            /// # Cancel safety
            ///
            /// Cancel-safe: dropping the future only leaves the line.
            pub fn join(&self) -> impl Future<Output = ()> + '_ {
                Join::new(&self.inner)
            }

            /// Shuts the queue down (see [`Queue::shutdown`](crate::Queue::shutdown)).
            pub fn shutdown(&self, immediate: bool) {
                self.inner.shutdown(immediate);
            }

            /// Whether `shutdown` was called.
            pub fn is_shutdown(&self) -> bool {
                self.inner.is_shutdown()
            }

            /// How many items were put and not yet marked done.
            pub fn unfinished_tasks(&self) -> usize {
                self.inner.unfinished()
            }

            /// The receiving side as a `Stream`, ending at shutdown.
            ///
            /// # Cancel safety
            ///
            /// Dropping the stream loses no item.
            pub fn stream(&self) -> impl FusedStream<Item = T> + Unpin {
                Items::new(self.inner.clone())
            }
        }

        impl<T> Clone for $name<T> {
            fn clone(&self) -> Self {
                $name { inner: self.inner.clone() }
            }
        }

        impl<T: $($bound)*> Default for $name<T> {
            /// An unbounded queue.
            fn default() -> Self {
                Self::unbounded()
            }
        }

        impl<T: $($bound)*> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                super::debug_fields(f.debug_struct(stringify!($name)), &self.inner.snapshot())
            }
        }
    };
}

variant_queue! {
    /// A last-in, first-out queue (asyncio's `LifoQueue`): `get` takes the
    /// newest item. Same API and waiter behaviour as [`Queue`](crate::Queue).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulipa::LifoQueue::unbounded();
    /// for i in [1, 3, 2] {
    ///     q.try_put(i).unwrap();
    /// }
    /// let out: Vec<_> = std::iter::from_fn(|| q.try_get().ok()).collect();
    /// assert_eq!(out, [2, 3, 1]);
    /// ```
    LifoQueue, Lifo, [], "newest"
}

variant_queue! {
    /// A queue that hands out its smallest item first, equal items in the
    /// order they were put (asyncio's `PriorityQueue`). Same API and waiter
    /// behaviour as [`Queue`](crate::Queue). Put `(priority, item)` tuples
    /// to order by a key.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulipa::PriorityQueue::unbounded();
    /// for job in [(2, "write"), (1, "read"), (2, "log")] {
    ///     q.try_put(job).unwrap();
    /// }
    /// assert_eq!(q.try_get(), Ok((1, "read")));
    /// assert_eq!(q.try_get(), Ok((2, "log")));
    /// ```
    PriorityQueue, Priority, [Ord], "smallest"
}
