//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::future::Future;

/// Runs `future` on a fresh loop with a virtual clock, then cancels leftovers
/// and closes the loop (`asyncio.run`).
pub(crate) fn run_virtual<F: Future>(future: F) -> F::Output {
    tulipa::EventLoop::builder()
        .virtual_time()
        .build()
        .unwrap()
        .run(future)
        .unwrap()
}

/// `await asyncio.sleep(0)` repeated `n` times.
pub(crate) async fn yields(n: usize) {
    for _ in 0..n {
        tulipa::yield_now().await;
    }
}
