//! Running many things at once and collecting them: [`gather`],
//! [`try_gather`], [`gather!`](crate::gather!), [`wait`], [`wait_for`],
//! [`timeout`] / [`timeout_at`], [`as_completed`], [`shield`] and
//! [`TaskGroup`] (asyncio's `tasks.py`, `timeouts.py` and `taskgroups.py`).
//!
//! # Futures are owned, tasks are shared
//!
//! A combinator given a plain future owns it: it polls it inside the task
//! that awaits the combinator, and cancelling the combinator (dropping it)
//! drops the future, which is how tulipa cancels. A combinator given a
//! [`Task`](crate::Task) holds a handle to work the loop runs anyway:
//! dropping the handle detaches the task, it does not cancel it. So
//! `wait_for(fut, d)` cancels `fut` on timeout, while `wait_for(task, d)`
//! leaves the task running, as [`shield`] says explicitly. Tasks that must
//! not outlive their parent belong in a [`TaskGroup`].
//!
//! # Which need the loop
//!
//! [`gather`], [`try_gather`], [`gather!`](crate::gather!),
//! [`as_completed`] and [`wait`] without a timeout need only a `Waker`
//! (over plain futures they work under any executor); the time limits and
//! [`TaskGroup`] need a running tulipa loop.
//!
//! | asyncio | tulipa |
//! |---|---|
//! | `gather(*aws, return_exceptions=True)` | [`gather(iter)`](gather), [`gather!(a, b)`](crate::gather!) |
//! | `gather(*aws)` | [`try_gather(iter)`](try_gather) |
//! | `wait(aws, timeout, return_when)` | [`wait(tasks, ReturnWhen::..., timeout)`](wait) |
//! | `wait_for(aw, timeout)` | [`wait_for(fut, timeout)`](wait_for) |
//! | `async with timeout(d) as cm:` | [`let cm = timeout(d); cm.run(fut)`](timeout) |
//! | `as_completed(aws)` | [`as_completed(iter)`](as_completed) (a `Stream`) |
//! | `shield(task)` | [`shield(task)`](shield) |
//! | `async with TaskGroup() as tg:` | [`TaskGroup::scope(\|tg\| ...)`](TaskGroup::scope) |

mod as_completed;
mod gather;
mod shield;
mod task_group;
mod timeout;
mod unwind;
mod wait;
mod wait_for;
mod wake_set;

pub use as_completed::{as_completed, AsCompleted, Next};
#[doc(hidden)]
pub use gather::__take;
pub use gather::{gather, try_gather, Gather, TryGather};
pub use shield::{shield, Shield};
pub use task_group::{ChildError, GroupError, TaskGroup};
pub use timeout::{timeout, timeout_at, Timeout, TimeoutError};
pub use wait::{wait, ReturnWhen, Wait, WaitError, WaitOutput, Waitable};
pub use wait_for::wait_for;
