//! tulipa brings Python asyncio's programming model to Rust: a compact
//! selector event loop on mio, tasks, timers, asyncio-style queues,
//! gather / wait, and `run_in_executor`, all with asyncio's scheduling order.
//!
//! ```
//! use std::time::Duration;
//!
//! async fn countdown(name: &str, n: u32) -> String {
//!     for i in (1..=n).rev() {
//!         println!("{name} {i}");
//!         tulipa::sleep(Duration::from_secs(1)).await;
//!     }
//!     format!("{name} done")
//! }
//!
//! let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
//! let out = lp.run(async {
//!     let a = tulipa::spawn(countdown("a", 3));
//!     let b = tulipa::spawn(countdown("b", 2));
//!     (a.await.unwrap(), b.await.unwrap())
//! });
//! assert_eq!(out.unwrap(), ("a done".to_string(), "b done".to_string()));
//! ```
//!
//! The loop is single-threaded and `!Send`, like asyncio's; tasks may hold
//! `Rc`s. Other threads reach it through a [`LoopHandle`]. See the README for
//! the asyncio → tulipa table.

pub mod combinators;
pub mod executor;
pub mod future;
pub mod group;
pub mod net;
pub(crate) mod oneshot;
pub mod queue;
pub mod runtime;
pub mod sync;
pub mod task;
pub mod time;
pub mod trace;

pub use combinators::{
    as_completed, gather, shield, timeout, timeout_at, try_gather, wait, wait_for, ReturnWhen,
    TaskGroup, Timeout, TimeoutError, WaitError,
};
pub use executor::{
    run_in_executor, run_in_executor_on, ExecError, ExecFuture, RunInExecutor, SubmitError,
    ThreadPoolExecutor,
};
pub use future::LoopFuture;
pub use group::{group, run_group, GroupTask, LoopGroup};
pub use queue::{
    GetError, LifoQueue, PriorityQueue, PutError, Queue, TaskDoneError, TryGetError, TryPutError,
};
pub use runtime::{
    get_running_loop, run, Builder, EventLoop, ExceptionContext, Handle, LoopClosed, LoopHandle,
    LoopStats, RunError, TimerHandle,
};
pub use sync::{Barrier, BoundedSemaphore, Condition, Event, Lock, Semaphore};
pub use task::{
    all_tasks, current_task, spawn, spawn_named, CancelOnDrop, RemoteTask, Task, TaskError, TaskId,
};
pub use time::{now, sleep, sleep_until, yield_now};
