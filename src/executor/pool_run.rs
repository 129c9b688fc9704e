//! [`ThreadPoolExecutor::run`]: the pool's call for loop tasks, made of
//! `submit_async` and the job's future by [`RunInExecutor`] (`run.rs`, the
//! loop side). It stands apart from `pool.rs` so that the handle's file
//! needs nothing of the loop side.

use super::pool::ThreadPoolExecutor;
use super::run::RunInExecutor;

impl ThreadPoolExecutor {
    /// Runs `f` on the pool and resolves to its result: [`submit_async`]
    /// and the job's future in one (asyncio's `loop.run_in_executor(pool, f)`).
    ///
    /// The job is queued at once if the queue has room (like asyncio,
    /// before the future is first polled), else when the future is polled
    /// and room appears. See [`run_in_executor_on`](crate::run_in_executor_on).
    ///
    /// [`submit_async`]: ThreadPoolExecutor::submit_async
    ///
    /// # Errors
    ///
    /// The future resolves to [`ExecError::Panicked`](crate::ExecError::Panicked)
    /// if `f` panicked, [`ExecError::Cancelled`](crate::ExecError::Cancelled)
    /// if a shutdown with `cancel_pending` cancelled the job, and
    /// [`ExecError::ShutDown`](crate::ExecError::ShutDown) if the pool was shut
    /// down before the job could be queued.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels the job if it has not started; a running
    /// job finishes and its result is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulipa::ThreadPoolExecutor::new(2);
    /// let n = tulipa::run(async { pool.run(|| (1..=10u32).sum::<u32>()).await.unwrap() });
    /// assert_eq!(n.unwrap(), 55);
    /// ```
    #[doc(alias = "run_in_executor")]
    pub fn run<F, T>(&self, f: F) -> RunInExecutor<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        RunInExecutor::on_pool(self, f, crate::runtime::context::current().as_deref())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn run_in_executor_is_send() {
        fn check_send<T: Send>() {}
        check_send::<super::RunInExecutor<Vec<u8>>>();
    }
}
