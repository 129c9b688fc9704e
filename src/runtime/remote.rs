//! The thread-safe part of a loop, [`Remote`], behind every
//! [`LoopHandle`](crate::LoopHandle) and every waker woken off the loop's
//! thread: the inbox, the selector's wake-up, and the count of posts on
//! their way; [`Msg`], what other threads post; and
//! [`Remote::post_spawn`], the loop's side of a spawn from another thread
//! (the handle and its result are `task/remote.rs`'s).

use std::future::Future;
use std::panic::Location;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::inbox::{Inbox, Pushed};
use super::loop_handle::LoopClosed;
use super::raw_task::{RemoteSpawn, WakeRef};
use super::reactor::Wakeup;

/// A message posted to the loop from another thread.
pub(crate) enum Msg {
    /// `call_soon_threadsafe`.
    Call(Box<dyn FnOnce() + Send>),
    /// A task's waker was woken off the loop thread.
    Wake(WakeRef),
    /// `spawn_threadsafe`: a task made on another thread.
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
    /// The task is made here, in one allocation, and adopted by the loop
    /// when it drains its inbox.
    pub(crate) fn post_spawn<F>(
        self: &Arc<Self>,
        future: F,
        location: &'static Location<'static>,
    ) -> Result<(), LoopClosed>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let task = RemoteSpawn::new(future, self.clone(), location);
        self.post(Msg::Spawn(task))
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
