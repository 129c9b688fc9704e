//! The futures and the stream the queues hand out. Each holds its waiter's
//! slot; dropping it (cancellation) leaves the line and passes on a wake-up
//! it took but did not use.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::{FusedStream, Stream};

use super::error::{GetError, PutError};
use super::inner::{Inner, Slot};
use super::store::Store;

/// The future of `put`.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub(crate) struct Put<'a, S: Store> {
    inner: &'a Inner<S>,
    item: Option<S::Item>,
    slot: Slot,
}

impl<'a, S: Store> Put<'a, S> {
    pub(crate) fn new(inner: &'a Inner<S>, item: S::Item) -> Self {
        Put {
            inner,
            item: Some(item),
            slot: None,
        }
    }
}

// The item is never pinned: it is only moved in and out.
impl<S: Store> Unpin for Put<'_, S> {}

impl<S: Store> Future for Put<'_, S> {
    type Output = Result<(), PutError<S::Item>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.inner
            .poll_put(&mut this.slot, &mut this.item, cx.waker())
    }
}

impl<S: Store> Drop for Put<'_, S> {
    #[inline]
    fn drop(&mut self) {
        if self.slot.is_some() {
            self.inner.cancel_put(&mut self.slot);
        }
    }
}

/// The future of `get`.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub(crate) struct Get<'a, S: Store> {
    inner: &'a Inner<S>,
    slot: Slot,
}

impl<'a, S: Store> Get<'a, S> {
    pub(crate) fn new(inner: &'a Inner<S>) -> Self {
        Get { inner, slot: None }
    }
}

impl<S: Store> Future for Get<'_, S> {
    type Output = Result<S::Item, GetError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.inner.poll_get(&mut this.slot, cx.waker())
    }
}

impl<S: Store> Drop for Get<'_, S> {
    #[inline]
    fn drop(&mut self) {
        if self.slot.is_some() {
            self.inner.cancel_get(&mut self.slot);
        }
    }
}

/// The future of `join`.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub(crate) struct Join<'a, S: Store> {
    inner: &'a Inner<S>,
    slot: Slot,
}

impl<'a, S: Store> Join<'a, S> {
    pub(crate) fn new(inner: &'a Inner<S>) -> Self {
        Join { inner, slot: None }
    }
}

impl<S: Store> Future for Join<'_, S> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.inner.poll_join(&mut this.slot, cx.waker())
    }
}

impl<S: Store> Drop for Join<'_, S> {
    fn drop(&mut self) {
        self.inner.cancel_join(&mut self.slot);
    }
}

/// The receiving side as a `Stream`: `get` in a loop, ending at shutdown.
pub(crate) struct Items<S: Store> {
    inner: Arc<Inner<S>>,
    slot: Slot,
    done: bool,
}

impl<S: Store> Items<S> {
    pub(crate) fn new(inner: Arc<Inner<S>>) -> Self {
        Items {
            inner,
            slot: None,
            done: false,
        }
    }
}

impl<S: Store> Stream for Items<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match this.inner.poll_get(&mut this.slot, cx.waker()) {
            Poll::Ready(Ok(item)) => Poll::Ready(Some(item)),
            // `poll_get` only fails once the queue is shut down and empty.
            Poll::Ready(Err(GetError::ShutDown | GetError::OnLoopThread)) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: Store> FusedStream for Items<S> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<S: Store> Drop for Items<S> {
    fn drop(&mut self) {
        self.inner.cancel_get(&mut self.slot);
    }
}
