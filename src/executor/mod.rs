//! Offloading blocking work: [`ThreadPoolExecutor`] and
//! [`run_in_executor`](crate::run_in_executor) (asyncio's `loop.run_in_executor` on
//! `concurrent.futures.ThreadPoolExecutor`).
//!
//! A job travels through the files in this order:
//!
//! | file | holds |
//! |---|---|
//! | `pool.rs` | [`ThreadPoolExecutor`], the handle, and its calls; [`Builder::build`] |
//! | `builder.rs` | [`Builder`], the pool's settings |
//! | `core.rs` | the state every handle, worker and submitter shares, behind one lock; the submit paths |
//! | `queue.rs` | the job queue and its admission: the bound, and the FIFO line of submitters waiting for room |
//! | `submit.rs` | [`Submit`], queuing without blocking the thread while the queue is full |
//! | `handoff.rs` | who gets a job just queued: a spinning worker, a sleeping one, or a new one; the invariants |
//! | `worker.rs` | the `Worker` thread and its loop: run jobs, spin, sleep, exit when idle too long |
//! | `job.rs` | one job, its stages, and its [`ExecFuture`] |
//! | `blocking.rs` | how a plain thread waits: parked behind a waker, like a task |
//! | `error.rs` | [`ExecError`] and [`SubmitError`] |
//!
//! The loop's side, [`ThreadPoolExecutor::run`] and
//! [`run_in_executor`](crate::run_in_executor) with its
//! [`RunInExecutor`](crate::RunInExecutor) future, lives with the loop
//! (`runtime/run_in_executor.rs`): nothing here knows of the loop.
//!
//! `submit` admits the job (or waits in line for room), pushes it on the
//! queue and hands it to a spinning or idle worker (or starts one, up to
//! `max_workers`); the worker runs it, stores the result in the job and
//! wakes the waiting task's waker. Woken from the worker thread, that waker
//! posts through the loop's inbox and `mio::Waker`, as
//! `call_soon_threadsafe` does.
//!
//! ```
//! use std::time::Duration;
//!
//! let lp = tulipa::EventLoop::new().unwrap();
//! let primes = lp.run(async {
//!     let count = tulipa::run_in_executor(|| (2..10_000u32).filter(|n| (2..*n).take_while(|d| d * d <= *n).all(|d| n % d != 0)).count());
//!     tulipa::sleep(Duration::from_millis(1)).await; // the loop goes on meanwhile
//!     count.await.unwrap()
//! });
//! assert_eq!(primes.unwrap(), 1229);
//! ```

mod blocking;
mod builder;
mod core;
mod error;
mod handoff;
mod job;
mod pool;
mod queue;
mod submit;
mod worker;

pub use builder::Builder;
pub use error::{ExecError, SubmitError};
pub use job::ExecFuture;
pub use pool::ThreadPoolExecutor;
pub use submit::Submit;
