//! The thread-safe part of a loop, [`Remote`], behind every
//! [`LoopHandle`](crate::LoopHandle) and every waker woken off the loop's
//! thread: the inbox, the selector's wake-up, and the count of posts on
//! their way; [`Msg`], what other threads post; and
//! [`Remote::post_spawn`], the loop's side of a spawn from another thread
//! (the handle and its result are `task/remote.rs`'s).
//!
//! # Where a task posted from another thread is made
//!
//! A small future travels boxed inside a posted callback and its task block
//! is made on the loop's thread, where the block is also freed when the
//! task ends. A large one is made in its task block on the posting thread
//! ([`RemoteSpawn`]), in one allocation with no second copy. Measured on
//! W8x (a plain thread spawning small tasks as fast as it can, glibc's
//! allocator), making the block on the loop takes about two thirds of the
//! time of making it on the poster: a block freed by another thread than
//! the one that allocated it takes the allocating thread's arena lock,
//! which that thread, allocating the next blocks, contends for; the small
//! box and result slot freed across threads instead go to bins that need
//! no lock. For futures of a few hundred bytes the second copy eats the
//! gain (measured equal at ~300 bytes, the poster's block ahead at 4 KiB);
//! beyond [`BOXED_SPAWN_MAX`] the block is made where the future is.
//!
//! A boxed spawn reaches the loop as a posted callback, as asyncio's
//! `run_coroutine_threadsafe` does, so the loop's stats count it among the
//! callbacks run as well as among the task polls.

use std::future::Future;
use std::panic::Location;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::context;
use super::inbox::{Inbox, Pushed};
use super::loop_handle::LoopClosed;
use super::raw_task::{RemoteSpawn, WakeRef};
use super::reactor::Wakeup;

/// The largest future, in bytes, that [`Remote::post_spawn`] sends to the
/// loop boxed, to be made into a task there (see the module docs).
const BOXED_SPAWN_MAX: usize = 256;

/// A message posted to the loop from another thread.
pub(crate) enum Msg {
    /// `call_soon_threadsafe`.
    Call(Box<dyn FnOnce() + Send>),
    /// A task's waker was woken off the loop thread.
    Wake(WakeRef),
    /// `spawn_threadsafe` of a large future: a task made on another thread.
    Spawn(RemoteSpawn),
    /// `LoopHandle::stop`.
    Stop,
}

/// The thread-safe part of a loop, shared by its [`LoopHandle`]s and wakers.
pub(crate) struct Remote {
    pub(crate) inbox: Inbox<Msg>,
    wakeup: Wakeup,
    /// Outstanding external completions (executor jobs, ...). While non-zero
    /// the virtual clock does not jump: a post is still expected.
    holds: AtomicUsize,
}

impl Remote {
    pub(crate) fn new(wakeup: Wakeup) -> Remote {
        Remote {
            inbox: Inbox::new(),
            wakeup,
            holds: AtomicUsize::new(0),
        }
    }

    /// Queues `msg` and wakes the selector if nobody has since the last drain.
    pub(crate) fn post(&self, msg: Msg) -> Result<(), LoopClosed> {
        match self.inbox.push(msg) {
            Ok(Pushed::WakeNeeded) => {
                self.wakeup.wake();
                Ok(())
            }
            Ok(Pushed::NoWakeNeeded) => Ok(()),
            Err(_) => Err(LoopClosed),
        }
    }

    /// Spawns `future` on the loop from any thread, detached: it runs to
    /// its end and its (unit) output goes nowhere; a closing loop drops it
    /// unfinished. Tasks posted from one thread start in the order they
    /// were posted, interleaved in that order with its callbacks.
    ///
    /// A small future is boxed into a posted callback that makes its task
    /// on the loop and runs its first step there and then (an eager task,
    /// so that it starts where its post stands among the loop's ready
    /// callbacks); a large one is made into its task here (see the module
    /// docs).
    pub(crate) fn post_spawn<F>(
        self: &Arc<Self>,
        future: F,
        location: &'static Location<'static>,
    ) -> Result<(), LoopClosed>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        if size_of::<F>() > BOXED_SPAWN_MAX {
            let task = RemoteSpawn::new(future, self.clone(), location);
            return self.post(Msg::Spawn(task));
        }
        self.post(Msg::Call(Box::new(move || {
            // Posted callbacks run on the loop that drained them, as its
            // running loop; without one the future is dropped unrun.
            if let Some(core) = context::current() {
                drop(
                    core.spawn_task(future, None, location, true)
                        .into_detached(),
                );
            }
        })))
    }

    pub(crate) fn has_holds(&self) -> bool {
        // ORDERING: Acquire pairs with `end_hold`'s Release: a loop that
        // sees no hold sees what the hold's job posted before it ended.
        self.holds.load(Ordering::Acquire) > 0
    }

    /// A post is on its way (see [`LoopHandle::hold`](crate::LoopHandle::hold)).
    pub(crate) fn begin_hold(&self) {
        // ORDERING: see `has_holds`.
        self.holds.fetch_add(1, Ordering::AcqRel);
    }

    /// The post came (or will not): wakes the loop so that it re-evaluates
    /// whether virtual time may jump.
    pub(crate) fn end_hold(&self) {
        // ORDERING: see `has_holds`.
        self.holds.fetch_sub(1, Ordering::AcqRel);
        self.wakeup.wake();
    }
}
