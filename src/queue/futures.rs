//! The futures and the stream the queues hand out. Each holds its waiter's
//! slot in one of the queue's lines; dropping it (cancellation) leaves the
//! line and passes on a wake-up it took but did not use.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::{FusedStream, Stream};

use super::error::{GetError, PutError};
use super::inner::{Inner, Slot};
use super::store::Order;

/// The future of [`put`](super::GenericQueue::put): stores its item once
/// the queue has room.
///
/// # Cancel safety
///
/// Dropping it before it completes drops the item, which was not put. If it
/// had been woken for a free place it did not use, the wake-up goes to the
/// next putter.
///
/// # Examples
///
/// ```
/// tulipa::run(async {
///     let q = tulipa::Queue::new(1);
///     let put: tulipa::queue::Put<'_, u8, _> = q.put(1);
///     put.await.unwrap();
///     assert_eq!(q.len(), 1);
/// })
/// .unwrap();
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Put<'a, T, O: Order<T>> {
    inner: &'a Inner<O::Store>,
    item: Option<T>,
    slot: Slot,
}

impl<'a, T, O: Order<T>> Put<'a, T, O> {
    pub(super) fn new(inner: &'a Inner<O::Store>, item: T) -> Self {
        Put {
            inner,
            item: Some(item),
            slot: None,
        }
    }
}

// The item is never pinned: it is only moved in and out.
impl<T, O: Order<T>> Unpin for Put<'_, T, O> {}

impl<T, O: Order<T>> Future for Put<'_, T, O> {
    type Output = Result<(), PutError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.inner
            .poll_put(&mut this.slot, &mut this.item, cx.waker())
    }
}

impl<T, O: Order<T>> Drop for Put<'_, T, O> {
    #[inline]
    fn drop(&mut self) {
        if self.slot.is_some() {
            self.inner.cancel_put(&mut self.slot);
        }
    }
}

impl<T, O: Order<T>> fmt::Debug for Put<'_, T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Put")
            .field("queued", &self.slot.is_some())
            .finish()
    }
}

/// The future of [`get`](super::GenericQueue::get): takes an item once
/// there is one.
///
/// # Cancel safety
///
/// Cancel-safe: no item is lost if it is dropped. If it had been woken for
/// an item it did not take, the wake-up goes to the next getter (asyncio's
/// `_wakeup_next`).
///
/// # Examples
///
/// ```
/// tulipa::run(async {
///     let q = tulipa::Queue::unbounded();
///     q.try_put("x").unwrap();
///     let get: tulipa::queue::Get<'_, &str, _> = q.get();
///     assert_eq!(get.await, Ok("x"));
/// })
/// .unwrap();
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Get<'a, T, O: Order<T>> {
    inner: &'a Inner<O::Store>,
    slot: Slot,
}

impl<'a, T, O: Order<T>> Get<'a, T, O> {
    pub(super) fn new(inner: &'a Inner<O::Store>) -> Self {
        Get { inner, slot: None }
    }
}

impl<T, O: Order<T>> Future for Get<'_, T, O> {
    type Output = Result<T, GetError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.inner.poll_get(&mut this.slot, cx.waker())
    }
}

impl<T, O: Order<T>> Drop for Get<'_, T, O> {
    #[inline]
    fn drop(&mut self) {
        if self.slot.is_some() {
            self.inner.cancel_get(&mut self.slot);
        }
    }
}

impl<T, O: Order<T>> fmt::Debug for Get<'_, T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Get")
            .field("queued", &self.slot.is_some())
            .finish()
    }
}

/// The future of [`join`](super::GenericQueue::join): ready once every item
/// put has been marked done.
///
/// # Cancel safety
///
/// Cancel-safe: dropping it only leaves the line of joiners.
///
/// # Examples
///
/// ```
/// tulipa::run(async {
///     let q = tulipa::Queue::<u8>::unbounded();
///     let join: tulipa::queue::Join<'_, u8, _> = q.join();
///     join.await; // nothing unfinished: ready at once
///     assert_eq!(q.unfinished_tasks(), 0);
/// })
/// .unwrap();
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Join<'a, T, O: Order<T>> {
    inner: &'a Inner<O::Store>,
    slot: Slot,
}

impl<'a, T, O: Order<T>> Join<'a, T, O> {
    pub(super) fn new(inner: &'a Inner<O::Store>) -> Self {
        Join { inner, slot: None }
    }
}

impl<T, O: Order<T>> Future for Join<'_, T, O> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.inner.poll_join(&mut this.slot, cx.waker())
    }
}

impl<T, O: Order<T>> Drop for Join<'_, T, O> {
    fn drop(&mut self) {
        self.inner.cancel_join(&mut self.slot);
    }
}

impl<T, O: Order<T>> fmt::Debug for Join<'_, T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join")
            .field("queued", &self.slot.is_some())
            .finish()
    }
}

/// The receiving side of a queue as a [`Stream`] of items (asyncio's
/// `async for` over `get`), from [`stream`](super::GenericQueue::stream);
/// it ends once the queue is shut down and empty.
///
/// It owns a handle to the queue. Several streams (and getters) share the
/// items.
///
/// # Cancel safety
///
/// Dropping the stream, or a `next()` future of it, loses no item; a
/// wake-up it took is passed to the next getter.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
///
/// let q = tulipa::Queue::unbounded();
/// q.try_put(1).unwrap();
/// q.shutdown(false);
/// let mut items: tulipa::queue::QueueStream<i32, _> = q.stream();
/// assert_eq!(tulipa::run(items.next()).unwrap(), Some(1));
/// assert_eq!(tulipa::run(items.next()).unwrap(), None);
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct QueueStream<T, O: Order<T>> {
    inner: Arc<Inner<O::Store>>,
    slot: Slot,
    done: bool,
}

impl<T, O: Order<T>> QueueStream<T, O> {
    pub(super) fn new(inner: Arc<Inner<O::Store>>) -> Self {
        QueueStream {
            inner,
            slot: None,
            done: false,
        }
    }
}

impl<T, O: Order<T>> Stream for QueueStream<T, O> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match this.inner.poll_get(&mut this.slot, cx.waker()) {
            Poll::Ready(Ok(item)) => Poll::Ready(Some(item)),
            Poll::Ready(Err(GetError::ShutDown)) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T, O: Order<T>> FusedStream for QueueStream<T, O> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<T, O: Order<T>> Drop for QueueStream<T, O> {
    fn drop(&mut self) {
        self.inner.cancel_get(&mut self.slot);
    }
}

impl<T, O: Order<T>> fmt::Debug for QueueStream<T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueStream")
            .field("queued", &self.slot.is_some())
            .field("done", &self.done)
            .finish()
    }
}
