//! [`GenericQueue`]: the queue type and its methods, written once for the
//! three orders; [`Queue`], [`LifoQueue`] and [`PriorityQueue`] name it for
//! each.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::error::{
    BlockingGetError, BlockingPutError, GetTimeoutError, PutTimeoutError, TaskDoneError,
    TryGetError, TryPutError,
};
use super::futures::{Get, Join, Put, QueueStream};
use super::inner::Inner;
use super::store::{Fifo, Lifo, Order, Priority};

/// A first-in, first-out queue for tasks and threads (asyncio's `Queue`).
///
/// All its methods are those of [`GenericQueue`].
///
/// # Examples
///
/// ```
/// use tulipa::Queue;
///
/// tulipa::run(async {
///     let q = Queue::new(2);
///     let producer = tulipa::spawn({
///         let q = q.clone();
///         async move {
///             for i in 0..5 {
///                 q.put(i).await.unwrap();
///             }
///             q.shutdown(false);
///         }
///     });
///     let mut got = Vec::new();
///     while let Ok(item) = q.get().await {
///         got.push(item);
///     }
///     producer.await.unwrap();
///     assert_eq!(got, [0, 1, 2, 3, 4]);
/// })
/// .unwrap();
/// ```
pub type Queue<T> = GenericQueue<T, Fifo>;

/// A last-in, first-out queue (asyncio's `LifoQueue`): `get` takes the
/// newest item.
///
/// All its methods, and its waiters' behaviour, are those of
/// [`GenericQueue`].
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
pub type LifoQueue<T> = GenericQueue<T, Lifo>;

/// A queue that hands out its smallest item first, equal items in the
/// order they were put (asyncio's `PriorityQueue`). Put `(priority, item)`
/// tuples to order by a key.
///
/// All its methods, and its waiters' behaviour, are those of
/// [`GenericQueue`].
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
pub type PriorityQueue<T> = GenericQueue<T, Priority>;

/// An asyncio queue of `T` for tasks and threads, handing items out in the
/// order `O`: [`Fifo`] ([`Queue`]), [`Lifo`] ([`LifoQueue`]) or
/// [`Priority`] ([`PriorityQueue`]). Use it through those three names.
///
/// `put` waits while the queue is full and `get` waits while it is empty;
/// waiters are served in the order they arrived. `try_put` and `try_get`
/// never wait. Each item put counts as unfinished until [`task_done`] is
/// called for it, and [`join`] waits until none is left. [`shutdown`] ends
/// the queue (Python 3.13).
///
/// A queue is a handle: cloning it gives another handle to the same queue.
/// It is `Send + Sync` when `T: Send`, so one queue can link loop tasks,
/// tasks on other executors (its futures need only a `Waker`) and plain
/// threads ([`put_blocking`], [`get_blocking`]). A task woken from another
/// thread is scheduled through its loop's thread-safe door.
///
/// As in asyncio there is no hand-off: a put stores the item and wakes the
/// first waiting getter, which takes an item when it runs. A `try_get` in
/// between may take it first; the woken getter then waits again, at the
/// front of the line (asyncio sends it to the back). A woken waiter that is
/// cancelled passes its wake-up on, so no item and no waiter is stranded.
///
/// [`task_done`]: GenericQueue::task_done
/// [`join`]: GenericQueue::join
/// [`shutdown`]: GenericQueue::shutdown
/// [`put_blocking`]: GenericQueue::put_blocking
/// [`get_blocking`]: GenericQueue::get_blocking
///
/// # Examples
///
/// ```
/// use tulipa::queue::{GenericQueue, Order};
///
/// // One function for the three kinds of queue.
/// fn drain<T, O: Order<T>>(q: &GenericQueue<T, O>) -> Vec<T> {
///     std::iter::from_fn(|| q.try_get().ok()).collect()
/// }
///
/// let (fifo, lifo) = (tulipa::Queue::unbounded(), tulipa::LifoQueue::unbounded());
/// for i in 1..=3 {
///     fifo.try_put(i).unwrap();
///     lifo.try_put(i).unwrap();
/// }
/// assert_eq!(drain(&fifo), [1, 2, 3]);
/// assert_eq!(drain(&lifo), [3, 2, 1]);
/// ```
pub struct GenericQueue<T, O: Order<T>> {
    inner: Arc<Inner<O::Store>>,
}

impl<T, O: Order<T>> GenericQueue<T, O> {
    /// A queue that holds at most `maxsize` items; `0` means unbounded, as
    /// in asyncio.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulipa::Queue::<u32>::new(10);
    /// assert_eq!(q.maxsize(), 10);
    /// ```
    pub fn new(maxsize: usize) -> Self {
        GenericQueue {
            inner: Arc::new(Inner::new(maxsize)),
        }
    }

    /// A queue without a size limit: `put` never waits.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulipa::Queue::unbounded();
    /// for i in 0..1000 {
    ///     q.try_put(i).unwrap();
    /// }
    /// assert!(!q.is_full());
    /// ```
    pub fn unbounded() -> Self {
        Self::new(0)
    }

    /// The size limit; `0` for an unbounded queue.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tulipa::LifoQueue::<u8>::unbounded().maxsize(), 0);
    /// ```
    pub fn maxsize(&self) -> usize {
        self.inner.maxsize()
    }

    /// How many items are in the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulipa::Queue::unbounded();
    /// q.try_put('a').unwrap();
    /// assert_eq!(q.len(), 1);
    /// ```
    #[doc(alias = "qsize")]
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether the queue holds no item.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulipa::PriorityQueue::unbounded();
    /// assert!(q.is_empty());
    /// q.try_put(1).unwrap();
    /// assert!(!q.is_empty());
    /// ```
    #[doc(alias = "empty")]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the queue holds `maxsize` items; an unbounded queue is never
    /// full.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulipa::Queue::new(1);
    /// q.try_put(1).unwrap();
    /// assert!(q.is_full());
    /// ```
    #[doc(alias = "full")]
    pub fn is_full(&self) -> bool {
        self.inner.is_full()
    }

    /// Puts `item` in the queue, waiting for a free place while it is full.
    ///
    /// Putters wait in FIFO order. When the item is stored, the first
    /// waiting getter is woken.
    ///
    /// # Errors
    ///
    /// [`PutError::ShutDown`](super::PutError::ShutDown) with the item if the
    /// queue is shut down, before or while waiting.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes drops the item, which was not
    /// put. If the future had been woken for a free place it did not use,
    /// the wake-up goes to the next putter.
    ///
    /// # Examples
    ///
    /// ```
    /// tulipa::run(async {
    ///     let q = tulipa::Queue::new(1);
    ///     q.put("a").await.unwrap();
    ///     assert!(q.is_full());
    /// })
    /// .unwrap();
    /// ```
    pub fn put(&self, item: T) -> Put<'_, T, O> {
        Put::new(&self.inner, item)
    }

    /// Takes the next item (the first, newest or smallest, by the queue's
    /// order), waiting while the queue is empty.
    ///
    /// Getters wait in FIFO order. When an item is taken, the first waiting
    /// putter is woken. After [`shutdown`](GenericQueue::shutdown) the items
    /// left are still handed out; then `get` fails.
    ///
    /// # Errors
    ///
    /// [`GetError::ShutDown`](super::GetError::ShutDown) if the queue is shut
    /// down and empty.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: no item is lost if the future is dropped. A dropped
    /// getter that had been woken passes the wake-up to the next getter
    /// (asyncio's `_wakeup_next`).
    ///
    /// # Examples
    ///
    /// ```
    /// tulipa::run(async {
    ///     let q = tulipa::Queue::unbounded();
    ///     let getter = tulipa::spawn({
    ///         let q = q.clone();
    ///         async move { q.get().await.unwrap() }
    ///     });
    ///     q.put(42).await.unwrap();
    ///     assert_eq!(getter.await.unwrap(), 42);
    /// })
    /// .unwrap();
    /// ```
    pub fn get(&self) -> Get<'_, T, O> {
        Get::new(&self.inner)
    }

    /// Puts `item` without waiting (asyncio's `put_nowait`).
    ///
    /// # Errors
    ///
    /// [`TryPutError::ShutDown`] if the queue is shut down, else
    /// [`TryPutError::Full`] if it is full; both give the item back.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulipa::Queue::new(1);
    /// assert!(q.try_put(1).is_ok());
    /// assert!(q.try_put(2).unwrap_err().is_full());
    /// ```
    #[doc(alias = "put_nowait")]
    pub fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
        self.inner.try_put(item)
    }

    /// Takes the next item without waiting (asyncio's `get_nowait`).
    ///
    /// # Errors
    ///
    /// [`TryGetError::Empty`] if the queue is empty, or
    /// [`TryGetError::ShutDown`] if it is empty and shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulipa::Queue::unbounded();
    /// q.try_put(1).unwrap();
    /// assert_eq!(q.try_get(), Ok(1));
    /// assert!(q.try_get().unwrap_err().is_empty());
    /// ```
    #[doc(alias = "get_nowait")]
    pub fn try_get(&self) -> Result<T, TryGetError> {
        self.inner.try_get()
    }

    /// Puts `item` from a plain thread, blocking it while the queue is full.
    ///
    /// The thread waits in the same line as tasks. Meant for threads such
    /// as executor jobs; a task should use [`put`](GenericQueue::put).
    ///
    /// # Errors
    ///
    /// [`BlockingPutError::ShutDown`] with the item if the queue is shut
    /// down. [`BlockingPutError::OnLoopThread`] with the item, at once and
    /// whatever the queue holds, if a tulipa event loop is running on this
    /// thread (blocking it could never end); the queue is unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulipa::Queue::new(1);
    /// let feeder = std::thread::spawn({
    ///     let q = q.clone();
    ///     move || (0..3).for_each(|i| q.put_blocking(i).unwrap())
    /// });
    /// let got: Vec<i32> = (0..3).map(|_| q.get_blocking().unwrap()).collect();
    /// feeder.join().unwrap();
    /// assert_eq!(got, [0, 1, 2]);
    /// ```
    pub fn put_blocking(&self, item: T) -> Result<(), BlockingPutError<T>> {
        self.inner.put_blocking(item)
    }

    /// Like [`put_blocking`](GenericQueue::put_blocking), for at most
    /// `timeout`.
    ///
    /// A `timeout` too large to add to [`Instant::now`] (such as
    /// [`Duration::MAX`]) means no time limit.
    ///
    /// # Errors
    ///
    /// [`PutTimeoutError::TimedOut`] if the queue was still full when
    /// `timeout` passed, [`PutTimeoutError::ShutDown`] if it was shut down,
    /// [`PutTimeoutError::OnLoopThread`] at once if a tulipa event loop is
    /// running on this thread (the queue is unchanged); all give the item
    /// back.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let q = tulipa::Queue::new(1);
    /// q.put_blocking(1).unwrap();
    /// let err = q.put_blocking_timeout(2, Duration::from_millis(5)).unwrap_err();
    /// assert!(err.is_timed_out());
    /// ```
    pub fn put_blocking_timeout(
        &self,
        item: T,
        timeout: Duration,
    ) -> Result<(), PutTimeoutError<T>> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.inner.put_blocking_until(item, deadline),
            None => self.put_blocking(item).map_err(Into::into),
        }
    }

    /// Takes the next item from a plain thread, blocking it while the
    /// queue is empty.
    ///
    /// # Errors
    ///
    /// [`BlockingGetError::ShutDown`] if the queue is shut down and empty.
    /// [`BlockingGetError::OnLoopThread`], at once and whatever the queue
    /// holds, if a tulipa event loop is running on this thread (blocking it
    /// could never end); nothing is taken.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulipa::Queue::unbounded();
    /// std::thread::spawn({
    ///     let q = q.clone();
    ///     move || q.try_put("hello").unwrap()
    /// });
    /// assert_eq!(q.get_blocking(), Ok("hello"));
    /// ```
    pub fn get_blocking(&self) -> Result<T, BlockingGetError> {
        self.inner.get_blocking()
    }

    /// Like [`get_blocking`](GenericQueue::get_blocking), for at most
    /// `timeout`.
    ///
    /// A `timeout` too large to add to [`Instant::now`] (such as
    /// [`Duration::MAX`]) means no time limit.
    ///
    /// # Errors
    ///
    /// [`GetTimeoutError::TimedOut`] if the queue was still empty when
    /// `timeout` passed, [`GetTimeoutError::ShutDown`] if it is shut down and
    /// empty, [`GetTimeoutError::OnLoopThread`] at once if a tulipa event
    /// loop is running on this thread (nothing is taken).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let q = tulipa::Queue::<u8>::unbounded();
    /// assert!(q.get_blocking_timeout(Duration::from_millis(5)).unwrap_err().is_timed_out());
    /// ```
    pub fn get_blocking_timeout(&self, timeout: Duration) -> Result<T, GetTimeoutError> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.inner.get_blocking_until(deadline),
            None => self.get_blocking().map_err(Into::into),
        }
    }

    /// Marks one item taken from the queue as processed.
    ///
    /// Every put adds one unfinished item; when `task_done` brings the count
    /// to zero, every [`join`](GenericQueue::join) completes.
    ///
    /// # Errors
    ///
    /// [`TaskDoneError`] if called more times than items were put
    /// (asyncio's `ValueError`); the count stays at zero.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulipa::Queue::unbounded();
    /// q.try_put(1).unwrap();
    /// let _ = q.try_get().unwrap();
    /// assert!(q.task_done().is_ok());
    /// assert!(q.task_done().is_err());
    /// ```
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        self.inner.task_done()
    }

    /// Waits until every item put has been marked done with
    /// [`task_done`](GenericQueue::task_done).
    ///
    /// Completes at once if no item is unfinished.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future only leaves the line.
    ///
    /// # Examples
    ///
    /// ```
    /// tulipa::run(async {
    ///     let q = tulipa::Queue::unbounded();
    ///     q.put(1).await.unwrap();
    ///     let worker = tulipa::spawn({
    ///         let q = q.clone();
    ///         async move {
    ///             let _item = q.get().await.unwrap();
    ///             q.task_done().unwrap();
    ///         }
    ///     });
    ///     q.join().await;
    ///     assert!(worker.is_done());
    /// })
    /// .unwrap();
    /// ```
    pub fn join(&self) -> Join<'_, T, O> {
        Join::new(&self.inner)
    }

    /// Shuts the queue down (Python 3.13's `Queue.shutdown`).
    ///
    /// Later puts fail with `ShutDown`. Gets hand out the items left, then
    /// fail with `ShutDown`. With `immediate` the items left are discarded
    /// instead (and counted done for [`join`](GenericQueue::join)). Every
    /// waiting getter and putter is woken to find out. Shutting down twice
    /// is allowed; a second `shutdown(true)` still discards.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulipa::Queue::unbounded();
    /// q.try_put(1).unwrap();
    /// q.shutdown(false);
    /// assert!(q.try_put(2).unwrap_err().is_shutdown());
    /// assert_eq!(q.try_get(), Ok(1));
    /// assert!(q.try_get().unwrap_err().is_shutdown());
    /// ```
    pub fn shutdown(&self, immediate: bool) {
        self.inner.shutdown(immediate);
    }

    /// Whether [`shutdown`](GenericQueue::shutdown) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulipa::Queue::<u8>::unbounded();
    /// assert!(!q.is_shutdown());
    /// q.shutdown(true);
    /// assert!(q.is_shutdown());
    /// ```
    pub fn is_shutdown(&self) -> bool {
        self.inner.is_shutdown()
    }

    /// How many items were put and not yet marked done (asyncio's
    /// `_unfinished_tasks`).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulipa::Queue::unbounded();
    /// q.try_put('a').unwrap();
    /// q.try_get().unwrap();
    /// assert_eq!(q.unfinished_tasks(), 1); // taken, not yet done
    /// q.task_done().unwrap();
    /// assert_eq!(q.unfinished_tasks(), 0);
    /// ```
    pub fn unfinished_tasks(&self) -> usize {
        self.inner.unfinished()
    }

    /// The receiving side as a [`Stream`](futures_core::Stream) of items,
    /// ending once the queue is shut down and empty.
    ///
    /// The stream owns a handle to the queue. Several streams (and getters)
    /// share the items.
    ///
    /// # Cancel safety
    ///
    /// Dropping the stream, or a `next()` future of it, loses no item.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    ///
    /// let q = tulipa::Queue::unbounded();
    /// for i in 1..=3 {
    ///     q.try_put(i).unwrap();
    /// }
    /// q.shutdown(false);
    /// let sum = tulipa::run(q.stream().fold(0, |a, b| async move { a + b })).unwrap();
    /// assert_eq!(sum, 6);
    /// ```
    pub fn stream(&self) -> QueueStream<T, O> {
        QueueStream::new(self.inner.clone())
    }
}

impl<T, O: Order<T>> Clone for GenericQueue<T, O> {
    /// Another handle to the same queue.
    fn clone(&self) -> Self {
        GenericQueue {
            inner: self.inner.clone(),
        }
    }
}

impl<T, O: Order<T>> Default for GenericQueue<T, O> {
    /// An unbounded queue.
    fn default() -> Self {
        Self::unbounded()
    }
}

impl<T, O: Order<T>> fmt::Debug for GenericQueue<T, O> {
    /// Shows the counts asyncio's `repr` shows (never the items):
    /// `Queue { maxsize: 0, len: 1, getters: 0, putters: 0, unfinished: 1, shutdown: false }`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.inner.snapshot();
        f.debug_struct(O::NAME)
            .field("maxsize", &s.maxsize)
            .field("len", &s.len)
            .field("getters", &s.getters)
            .field("putters", &s.putters)
            .field("unfinished", &s.unfinished)
            .field("shutdown", &s.shutdown)
            .finish()
    }
}
