//! [`as_completed`]: a stream of outputs in the order the futures finish.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::{FusedStream, Stream};

use super::wake_set::WakeSet;
use crate::runtime::raw_task::pin_index;

/// Runs `futures` concurrently and yields their outputs in the order they
/// finish (asyncio's `asyncio.as_completed`), as a [`Stream`].
///
/// Each item is `(index, output)`, where `index` is the future's position
/// in the input, so the caller knows which one finished (asyncio 3.13
/// yields the task objects themselves). Futures that finish in the same
/// loop iteration come out in the order they were woken; at the first poll,
/// in input order. The futures are polled by whoever polls the stream, like
/// [`gather`](fn@crate::gather); [`Task`](crate::Task)s work too, their outputs
/// being `Result<T, TaskError>`.
///
/// For a time limit, wrap each call to [`next`](AsCompleted::next) in
/// [`wait_for`](crate::wait_for): a timeout there drops only that call, and
/// the stream can be resumed (asyncio's `as_completed(timeout=)` raises
/// instead, but resuming is `test_as_completed_resume_iterator`).
///
/// # Cancel safety
///
/// Dropping the stream drops every future that has not finished (a `Task`
/// it polled is cancelled, as in asyncio). Dropping a [`next`](AsCompleted::next) future loses
/// nothing: finished outputs stay queued in the stream.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// async fn job(secs: u64) -> u64 {
///     tulipa::sleep(Duration::from_secs(secs)).await;
///     secs
/// }
///
/// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
/// let order = lp.run(async {
///     let mut stream = tulipa::as_completed([job(3), job(1), job(2)]);
///     let mut order = Vec::new();
///     while let Some((index, secs)) = stream.next().await {
///         order.push((index, secs));
///     }
///     order
/// });
/// assert_eq!(order.unwrap(), [(1, 1), (2, 2), (0, 3)]);
/// ```
#[doc(alias = "asyncio.as_completed")]
pub fn as_completed<I>(futures: I) -> AsCompleted<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    let children: Box<[_]> = futures.into_iter().map(|f| Some(f.into_future())).collect();
    AsCompleted {
        wake: WakeSet::new(children.len()),
        remaining: children.len(),
        children: Box::into_pin(children),
        finished: VecDeque::new(),
    }
}

/// The stream of [`as_completed`].
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<F: Future> {
    /// The running children, in place (one allocation for all).
    children: Pin<Box<[Option<F>]>>,
    /// Finished, not yet yielded.
    finished: VecDeque<(usize, F::Output)>,
    /// Children still running.
    remaining: usize,
    wake: WakeSet,
}

impl<F: Future> Unpin for AsCompleted<F> {}

impl<F: Future> AsCompleted<F> {
    /// The next output in completion order, `None` once all were yielded.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future before it completes loses no output.
    ///
    /// # Examples
    ///
    /// ```
    /// let out = tulipa::run(async {
    ///     let mut stream = tulipa::as_completed([async { 1 }]);
    ///     (stream.next().await, stream.next().await)
    /// });
    /// assert_eq!(out.unwrap(), (Some((0, 1)), None));
    /// ```
    // Named like `StreamExt::next` on purpose: it is that, without the import.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Next<'_, F> {
        Next { stream: self }
    }

    /// How many outputs are still to come (running or queued).
    ///
    /// # Examples
    ///
    /// ```
    /// let left = tulipa::run(async {
    ///     let mut stream = tulipa::as_completed([1, 2].map(|n| async move { n }));
    ///     let before = stream.len();
    ///     stream.next().await;
    ///     (before, stream.len())
    /// });
    /// assert_eq!(left.unwrap(), (2, 1));
    /// ```
    pub fn len(&self) -> usize {
        self.remaining + self.finished.len()
    }

    /// Whether every output has been yielded.
    ///
    /// # Examples
    ///
    /// ```
    /// let empty = tulipa::run(async {
    ///     let mut stream = tulipa::as_completed([async { 1 }]);
    ///     let before = stream.is_empty();
    ///     stream.next().await;
    ///     (before, stream.is_empty())
    /// });
    /// assert_eq!(empty.unwrap(), (false, true));
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn poll_children(&mut self, cx: &mut Context<'_>) {
        let AsCompleted {
            children,
            finished,
            remaining,
            wake,
        } = self;
        wake.poll_woken(cx, |i, cx| {
            let mut slot = pin_index(children.as_mut(), i);
            let Some(child) = slot.as_mut().as_pin_mut() else {
                return false;
            };
            match child.poll(cx) {
                Poll::Ready(output) => {
                    slot.set(None);
                    *remaining -= 1;
                    finished.push_back((i, output));
                    false
                }
                Poll::Pending => true,
            }
        });
    }
}

impl<F: Future> Stream for AsCompleted<F> {
    type Item = (usize, F::Output);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.finished.is_empty() && self.remaining > 0 {
            self.poll_children(cx);
        }
        match self.finished.pop_front() {
            Some(item) => Poll::Ready(Some(item)),
            None if self.remaining == 0 => Poll::Ready(None),
            None => Poll::Pending,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

impl<F: Future> FusedStream for AsCompleted<F> {
    fn is_terminated(&self) -> bool {
        self.is_empty()
    }
}

impl<F: Future> fmt::Debug for AsCompleted<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("running", &self.remaining)
            .field("queued", &self.finished.len())
            .finish()
    }
}

/// The future of [`AsCompleted::next`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Next<'a, F: Future> {
    stream: &'a mut AsCompleted<F>,
}

impl<F: Future> Future for Next<'_, F> {
    type Output = Option<(usize, F::Output)>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut *self.stream).poll_next(cx)
    }
}

impl<F: Future> fmt::Debug for Next<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Next")
            .field("stream", &self.stream)
            .finish()
    }
}
