//! tulipa is Python asyncio's programming model in Rust: a compact selector
//! event loop on mio, tasks and futures, asyncio-style queues, gather /
//! wait, and `run_in_executor`, with asyncio's scheduling order. It runs on
//! one thread like asyncio, so tasks may hold `Rc`s, and it is meant to be
//! small enough to read in an afternoon.
//!
//! ```
//! use std::time::Duration;
//!
//! async fn greet(name: &str, delay_secs: u64) -> String {
//!     tulipa::sleep(Duration::from_secs(delay_secs)).await;
//!     format!("hello, {name}")
//! }
//!
//! fn main() -> Result<(), tulipa::RunError> {
//!     tulipa::run(async {
//!         let slow = tulipa::spawn(greet("world", 2));
//!         let fast = tulipa::spawn(greet("asyncio", 1));
//!         println!("{}", fast.await.unwrap()); // after 1 s
//!         println!("{}", slow.await.unwrap()); // after 2 s
//!     })
//! }
//! ```
//!
//! (`examples/hello.rs`, run with `cargo run --example hello`.) Built with
//! `EventLoop::builder().virtual_time()`, the same program finishes at once,
//! with the same interleaving every run:
//!
//! ```
//! # use std::time::Duration;
//! # async fn greet(name: &str, delay_secs: u64) -> String {
//! #     tulipa::sleep(Duration::from_secs(delay_secs)).await;
//! #     format!("hello, {name}")
//! # }
//! let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
//! let start = lp.time();
//! let (fast, slow) = lp
//!     .run_until_complete(async {
//!         let slow = tulipa::spawn(greet("world", 2));
//!         let fast = tulipa::spawn(greet("asyncio", 1));
//!         (fast.await.unwrap(), slow.await.unwrap())
//!     })
//!     .unwrap();
//! assert_eq!((fast.as_str(), slow.as_str()), ("hello, asyncio", "hello, world"));
//! assert_eq!(lp.time() - start, Duration::from_secs(2)); // on the virtual clock
//! ```
//!
//! # If you know asyncio
//!
//! | asyncio | tulipa |
//! |---|---|
//! | `asyncio.run(main())` | [`run`]`(main())` |
//! | `loop.run_until_complete / call_soon / call_later` | the same names on [`EventLoop`] |
//! | `loop.call_soon_threadsafe`, `run_coroutine_threadsafe` | [`LoopHandle`] |
//! | `asyncio.create_task(coro)` / `task.cancel()` | [`spawn`]`(fut)` → [`Task`], `task.cancel()` |
//! | `asyncio.sleep(d)` / `sleep(0)` | [`sleep`]`(d)` / [`yield_now`]`()` |
//! | `gather / wait / wait_for / timeout / as_completed / shield` | [`gather()`] / [`gather!`], [`wait`], [`wait_for`], [`timeout`], [`as_completed`], [`shield`] |
//! | `asyncio.TaskGroup` | [`TaskGroup`] |
//! | `loop.create_future()` | [`LoopFuture::new`] |
//! | `Queue / PriorityQueue / LifoQueue`, `put_nowait / get_nowait` | [`Queue`], [`PriorityQueue`], [`LifoQueue`], `try_put / try_get` |
//! | `Event / Lock / Semaphore / Condition / Barrier` | [`sync`] (same names, FIFO, cancel-safe) |
//! | `loop.run_in_executor(None, f)` / `asyncio.to_thread(f)` | [`run_in_executor`]`(f)` |
//! | `open_connection / start_server`, `StreamReader / StreamWriter` | [`net::open_connection`], [`net::start_server`], same names |
//! | `loop.add_reader / add_writer` | the same names on [`EventLoop`] |
//! | `open_connection(ssl=) / start_server(ssl=)`, `start_tls` | `tulipa::tls` (feature `tls`) |
//! | `loop.add_signal_handler`, `asyncio.run`'s Ctrl-C | the same name on [`EventLoop`], `tulipa::signal` (feature `signal`) |
//! | `create_subprocess_exec / create_subprocess_shell` | `tulipa::process` (feature `process`) |
//! | `task.cancel()` on an awaiting coroutine | dropping its future |
//!
//! Futures are owned, so dropping one cancels it: every async method says
//! under `# Cancel safety` what a drop loses or keeps. A [`Task`] handle is
//! shared, so dropping it detaches the task. The loop and everything bound
//! to it (tasks, sockets, [`LoopFuture`]) are `!Send`; other threads reach
//! the loop through a [`LoopHandle`], and the [`sync`] primitives and
//! [`ThreadPoolExecutor`] are `Send + Sync`. Both are checked when the
//! docs are tested:
//!
//! ```
//! fn send_sync<T: Send + Sync>() {}
//! send_sync::<tulipa::LoopHandle>();
//! send_sync::<tulipa::ThreadPoolExecutor>();
//! send_sync::<tulipa::Queue<u32>>();
//! send_sync::<tulipa::sync::Lock>();
//! send_sync::<tulipa::sync::Semaphore>();
//! send_sync::<tulipa::sync::Event>();
//! ```
//!
//! ```compile_fail,E0277
//! fn must_be_send<T: Send>(_: T) {}
//! must_be_send(tulipa::EventLoop::new().unwrap());
//! ```
//!
//! ```compile_fail,E0277
//! fn must_be_send<T: Send>(_: T) {}
//! tulipa::run(async { must_be_send(tulipa::spawn(async {})) }).unwrap();
//! ```
//!
//! # Compared with tokio and smol
//!
//! - **One thread, on purpose.** Like asyncio and tokio's `LocalSet`, tasks
//!   need not be `Send`. Unlike smol's `LocalExecutor`, the ready queue is a
//!   plain `VecDeque`: no atomics or locks on same-thread wake-ups. Several
//!   cores take several loops, one per thread ([`LoopGroup`]); tasks never
//!   move between them.
//! - **Scheduling order is part of the API** (asyncio's `_run_once`: due
//!   timers, then I/O, then exactly the callbacks ready at that point, FIFO),
//!   and the virtual clock makes it reproducible.
//! - **asyncio's names and semantics** (queues with `join` / `task_done`,
//!   `wait` with `ReturnWhen`, `Server.wait_closed`, `drain` back-pressure)
//!   rather than tokio's or smol's own vocabulary; the README gives
//!   benchmark ratios against tokio's current-thread runtime.
//!
//! # Non-goals
//!
//! A multi-threaded work-stealing scheduler; Windows support (the loop uses
//! mio, but only Unix is tested); replacing tokio's ecosystem of drivers.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod combinators;
pub mod executor;
pub mod future;
pub mod group;
#[cfg(feature = "hyper")]
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
pub mod hyper_rt;
mod loom_shim;
pub mod net;
pub(crate) mod oneshot;
mod panic;
#[cfg(all(unix, feature = "process"))]
#[cfg_attr(docsrs, doc(cfg(all(unix, feature = "process"))))]
pub mod process;
pub mod queue;
pub mod runtime;
#[cfg(all(unix, feature = "signal"))]
#[cfg_attr(docsrs, doc(cfg(all(unix, feature = "signal"))))]
pub mod signal;
mod slab;
pub mod sync;
pub mod task;
pub mod time;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls;
pub mod trace;
mod waiters;

pub use combinators::{
    as_completed, gather, shield, timeout, timeout_at, try_gather, wait, wait_for, ReturnWhen,
    TaskGroup, Timeout, TimeoutError, WaitError, Waitable,
};
pub use executor::{ExecError, ExecFuture, SubmitError, ThreadPoolExecutor};
pub use future::LoopFuture;
pub use group::{group, run_group, GroupTask, LoopGroup};
pub use queue::{
    BlockingGetError, BlockingPutError, GetError, GetTimeoutError, LifoQueue, PriorityQueue,
    PutError, PutTimeoutError, Queue, TaskDoneError, TryGetError, TryPutError,
};
pub use runtime::{
    get_running_loop, run, run_in_executor, run_in_executor_on, Builder, EventLoop,
    ExceptionContext, Handle, LoopClosed, LoopHandle, LoopStats, RunError, RunInExecutor,
    TimerHandle,
};
pub use sync::{Barrier, BoundedSemaphore, Condition, Event, Lock, Semaphore};
pub use task::{
    all_tasks, current_task, spawn, spawn_eager, spawn_named, CancelOnDrop, CurrentTask,
    PanicError, RemoteTask, Task, TaskError, TaskId,
};
pub use time::{now, sleep, sleep_until, yield_now};
