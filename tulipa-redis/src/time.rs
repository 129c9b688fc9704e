//! `sleep` and `wait_for` that take any `Duration`: a limit past the end of
//! the clock (`Duration::MAX`) means "no limit" instead of an `Instant`
//! overflow inside the timer.

use std::future::Future;
use std::time::Duration;

fn reachable(d: Duration) -> bool {
    tulipa::now().checked_add(d).is_some()
}

/// Sleeps for `d`, forever if `d` is past the clock's range.
pub(crate) async fn sleep(d: Duration) {
    if reachable(d) {
        tulipa::sleep(d).await
    } else {
        std::future::pending::<()>().await
    }
}

/// `fut`'s output, or `None` once `limit` passed (never, past the range).
pub(crate) async fn within<F: Future>(limit: Duration, fut: F) -> Option<F::Output> {
    if reachable(limit) {
        tulipa::wait_for(fut, limit).await.ok()
    } else {
        Some(fut.await)
    }
}
