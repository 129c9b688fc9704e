//! [`gather`], [`try_gather`] and the [`gather!`](crate::gather!) macro:
//! run many futures at once and collect their outputs in input order.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::wake_set::WakeSet;
use crate::runtime::raw_task::pin_index;

/// Runs `futures` concurrently and gives their outputs in input order
/// (asyncio's `gather(*aws, return_exceptions=True)`).
///
/// The children are polled inside the task that awaits the gather; nothing
/// is spawned. They live in place, in one allocation for all of them (a
/// [`Task`](crate::Task) child is one pointer), not boxed one by one. After the first poll only the children that were woken are
/// polled again. Outputs keep their input positions whatever order the
/// children finish in. Errors are ordinary outputs: for futures returning
/// `Result` and for [`Task`](crate::Task)s (whose output is
/// `Result<T, TaskError>`) every position holds its own `Ok` or `Err`, as
/// with `return_exceptions=True`; see [`try_gather`] to stop at the first
/// error.
///
/// `gather` needs only a `Waker`: over plain futures it works under any
/// executor. An empty input gives an empty `Vec` at once.
///
/// # Cancel safety
///
/// Dropping the gather drops every child that has not finished, which
/// cancels them (asyncio cancels the children of a cancelled gather). A
/// [`Task`](crate::Task) handle among the children was awaited by the
/// gather, so dropping it cancels its task too, as in asyncio;
/// [`shield`](crate::shield) a task to keep it running.
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
/// let out = lp.run(async {
///     let started = tulipa::now();
///     let all = tulipa::gather([job(3), job(1), job(2)]).await;
///     (all, tulipa::now() - started)
/// });
/// assert_eq!(out.unwrap(), (vec![3, 1, 2], Duration::from_secs(3)));
/// ```
///
/// Gathering tasks, each output a `Result`:
///
/// ```
/// let sum: u64 = tulipa::run(async {
///     let tasks = (0..10u64).map(|i| tulipa::spawn(async move { i }));
///     tulipa::gather(tasks).await.into_iter().map(Result::unwrap).sum()
/// })
/// .unwrap();
/// assert_eq!(sum, 45);
/// ```
pub fn gather<I>(futures: I) -> Gather<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    let children: Box<[_]> = futures.into_iter().map(|f| Some(f.into_future())).collect();
    let n = children.len();
    Gather {
        wake: WakeSet::new(n),
        remaining: n,
        children: Box::into_pin(children),
        outputs: (0..n).map(|_| None).collect(),
    }
}

/// The future of [`gather`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Gather<F: Future> {
    /// The running children, in place; `None` once finished (or dropped).
    children: Pin<Box<[Option<F>]>>,
    /// Outputs by input position.
    outputs: Vec<Option<F::Output>>,
    remaining: usize,
    wake: WakeSet,
}

impl<F: Future> Gather<F> {
    /// Polls the children that may have progressed; `stop` looks at each
    /// fresh output and may end the gather early (used by `try_gather`).
    fn poll_children(
        &mut self,
        cx: &mut Context<'_>,
        mut stop: impl FnMut(&F::Output) -> bool,
    ) -> bool {
        let Gather {
            children,
            outputs,
            remaining,
            wake,
        } = self;
        let mut stopped = false;
        wake.poll_woken(cx, |i, cx| {
            let mut slot = pin_index(children.as_mut(), i);
            let Some(child) = slot.as_mut().as_pin_mut() else {
                return false;
            };
            if stopped {
                return true;
            }
            match child.poll(cx) {
                Poll::Ready(output) => {
                    stopped = stop(&output);
                    slot.set(None);
                    outputs[i] = Some(output);
                    *remaining -= 1;
                    false
                }
                Poll::Pending => true,
            }
        });
        stopped
    }

    fn take_all(&mut self) -> Vec<F::Output> {
        std::mem::take(&mut self.outputs)
            .into_iter()
            .map(|output| output.expect("gather finished with a child still running"))
            .collect()
    }
}

impl<F: Future> Unpin for Gather<F> {}

impl<F: Future> Future for Gather<F> {
    type Output = Vec<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.remaining > 0 {
            self.poll_children(cx, |_| false);
        }
        if self.remaining > 0 {
            return Poll::Pending;
        }
        Poll::Ready(self.take_all())
    }
}

impl<F: Future> fmt::Debug for Gather<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather")
            .field("children", &self.outputs.len())
            .field("remaining", &self.remaining)
            .finish()
    }
}

/// Runs `futures` concurrently and gives all their values in input order,
/// or the first error (asyncio's `gather(*aws)` without `return_exceptions`).
///
/// As soon as one child returns `Err`, the gather finishes with that error
/// and drops every other child: plain futures are thereby cancelled (which
/// is stricter than asyncio, whose other children keep running), while
/// [`Task`](crate::Task) children are detached and keep running, exactly as
/// in asyncio. Children that already finished are dropped with their values.
/// "First" means first observed: among children finishing in the same loop
/// iteration, the one earlier in input order wins on the first poll, and the
/// one woken first after that.
///
/// # Errors
///
/// The first `Err` a child returns.
///
/// # Cancel safety
///
/// As [`gather`]: dropping it drops the unfinished children.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
/// let out = lp.run(async {
///     let jobs = (1..=3u64).map(|i| async move {
///         tulipa::sleep(Duration::from_secs(i)).await;
///         if i == 2 { Err(format!("job {i} failed")) } else { Ok(i) }
///     });
///     tulipa::try_gather(jobs).await
/// });
/// assert_eq!(out.unwrap(), Err("job 2 failed".to_string()));
/// ```
pub fn try_gather<I, T, E>(futures: I) -> TryGather<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture<Output = Result<T, E>>,
{
    TryGather {
        inner: gather(futures),
    }
}

/// The future of [`try_gather`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct TryGather<F: Future> {
    inner: Gather<F>,
}

impl<F, T, E> Future for TryGather<F>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<Vec<T>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.inner;
        if inner.remaining > 0 && inner.poll_children(cx, Result::is_err) {
            // Drop the other children first, then hand out the error. Task
            // handles among them detach: asyncio's siblings keep running.
            let empty = Vec::new().into_boxed_slice();
            let children = std::mem::replace(&mut inner.children, Box::into_pin(empty));
            crate::runtime::context::detaching(|| drop(children));
            let error = std::mem::take(&mut inner.outputs)
                .into_iter()
                .find_map(|output| match output {
                    Some(Err(e)) => Some(e),
                    _ => None,
                });
            inner.remaining = 0;
            return Poll::Ready(Err(error.expect("a child returned an error")));
        }
        if inner.remaining > 0 {
            return Poll::Pending;
        }
        Poll::Ready(inner.take_all().into_iter().collect())
    }
}

impl<F: Future> fmt::Debug for TryGather<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryGather")
            .field("children", &self.inner.outputs.len())
            .field("remaining", &self.inner.remaining)
            .finish()
    }
}

/// Takes the output of a child of [`gather!`](crate::gather!) (not public API).
#[doc(hidden)]
pub fn __take<T>(slot: &mut Option<T>) -> T {
    slot.take().expect("gather! polled after completion")
}

/// Runs futures of different types concurrently and gives their outputs as a
/// tuple, in argument order (asyncio's `gather(a, b, c)`).
///
/// The arguments are evaluated (and turned into futures) at once, in order;
/// they are polled when the returned future is. Every output keeps its own
/// type, so a [`Task`](crate::Task) argument gives a
/// `Result<T, TaskError>` at its position.
///
/// # Cancel safety
///
/// Dropping the future drops every child that has not finished.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
/// let (a, b, c) = lp.run(async {
///     let task = tulipa::spawn(async { 3 });
///     tulipa::gather!(
///         async { tulipa::sleep(Duration::from_secs(1)).await; "one" },
///         async { 2u8 },
///         task,
///     )
///     .await
/// })
/// .unwrap();
/// assert_eq!((a, b, c.unwrap()), ("one", 2, 3));
/// ```
#[macro_export]
macro_rules! gather {
    ($($fut:expr),+ $(,)?) => {
        $crate::__gather_impl!(@munch [] $($fut,)+)
    };
}

/// The implementation of [`gather!`]: each argument gets its own pinned
/// slot and output variable (macro hygiene keeps the names apart).
#[doc(hidden)]
#[macro_export]
macro_rules! __gather_impl {
    (@munch [$($acc:tt)*] $head:expr, $($tail:expr,)*) => {
        $crate::__gather_impl!(@munch [$($acc)* (fut out $head)] $($tail,)*)
    };
    (@munch [$(($fut:ident $out:ident $e:expr))*]) => {{
        $( let $fut = ::core::future::IntoFuture::into_future($e); )*
        async move {
            $(
                let mut $fut = ::core::pin::pin!(::core::option::Option::Some($fut));
                let mut $out = ::core::option::Option::None;
            )*
            ::core::future::poll_fn(|cx| {
                let mut pending = false;
                $(
                    if let ::core::option::Option::Some(child) = $fut.as_mut().as_pin_mut() {
                        match ::core::future::Future::poll(child, cx) {
                            ::core::task::Poll::Ready(v) => {
                                $out = ::core::option::Option::Some(v);
                                $fut.set(::core::option::Option::None);
                            }
                            ::core::task::Poll::Pending => pending = true,
                        }
                    }
                )*
                if pending {
                    ::core::task::Poll::Pending
                } else {
                    ::core::task::Poll::Ready(($($crate::combinators::__take(&mut $out),)*))
                }
            })
            .await
        }
    }};
}
