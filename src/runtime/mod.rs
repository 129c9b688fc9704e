//! The event loop: [`EventLoop`], its [`Builder`], [`LoopHandle`] and the
//! handles of scheduled callbacks.
//!
//! One iteration ([`EventLoop::run_once`]) follows asyncio's `_run_once`:
//!
//! 1. (asyncio sweeps cancelled timers off its heap here; there is nothing
//!    to sweep: a cancelled timer leaves the loop's timers at once);
//! 2. compute the selector timeout: zero if anything is ready or the loop is
//!    stopping, else the time to the earliest timer, else forever;
//! 3. wait in the selector (or, on the virtual clock, jump to the next timer
//!    when nothing can arrive from outside), then move what it reported to
//!    the ready queue: tasks waiting on a ready socket, and the callbacks of
//!    ready fds (`add_reader` / `add_writer`);
//! 4. move due timers to the ready queue in (deadline, sequence) order;
//! 5. take the callbacks and wake-ups other threads posted;
//! 6. run exactly the callbacks that are ready at this point, in FIFO order;
//!    anything they schedule runs in the next iteration.

mod builder;
pub(crate) mod callback_handle;
pub(crate) mod clock;
pub(crate) mod context;
pub(crate) mod core;
mod event_loop;
mod exception_context;
mod inbox;
mod loop_handle;
#[allow(unsafe_code)]
pub(crate) mod raw_task;
pub(crate) mod reactor;
pub(crate) mod remote;
mod run_error;
mod run_in_executor;
mod sources;
mod stats;
pub(crate) mod timers;

pub use builder::Builder;
pub use callback_handle::{Handle, TimerHandle};
pub use event_loop::{get_running_loop, run, EventLoop};
pub use exception_context::ExceptionContext;
pub use loop_handle::{LoopClosed, LoopHandle, PendingPost};
pub use run_error::RunError;
pub use run_in_executor::{run_in_executor, run_in_executor_on, RunInExecutor};
pub use stats::LoopStats;
