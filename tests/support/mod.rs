//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

/// Runs `future` on a fresh loop with a virtual clock, then cancels leftovers
/// and closes the loop (`asyncio.run`).
///
/// # Panics
///
/// If `future` is still pending after a virtual day: with nothing left to
/// run, the virtual clock jumps straight to this watchdog, so a deadlock (a
/// stranded waiter) fails the test at once instead of hanging it.
pub(crate) fn run_virtual<F: Future>(future: F) -> F::Output {
    let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
    lp.run(async move {
        let mut future = pin!(future);
        let mut watchdog = pin!(tulipa::sleep(Duration::from_secs(86_400)));
        poll_fn(|cx| {
            if let Poll::Ready(out) = future.as_mut().poll(cx) {
                return Poll::Ready(out);
            }
            if watchdog.as_mut().poll(cx).is_ready() {
                panic!("deadlock: the test can no longer make progress");
            }
            Poll::Pending
        })
        .await
    })
    .unwrap()
}

/// `await asyncio.sleep(0)` repeated `n` times.
pub(crate) async fn yields(n: usize) {
    for _ in 0..n {
        tulipa::yield_now().await;
    }
}
