//! Per-child wake-ups for combinators that drive many children at once.
//!
//! A combinator polling N children should not re-poll all N each time one of
//! them wakes it. [`WakeSet`] gives every child its own small waker; waking
//! it records the child's index in a shared list and wakes the parent once.
//! The parent then polls only the children named in the list. With few
//! children the bookkeeping costs more than it saves, so below
//! [`SMALL`] children the parent's own waker is used and every live child is
//! polled on each turn. With more, a child gets its own waker only if it is
//! still running at the parent's third turn (see [`WakeSet::poll_woken`]).
//!
//! The wakers are `Send + Sync` (std's `Waker` requires it): the list sits
//! behind a `parking_lot` mutex, uncontended when everything runs on the
//! loop's thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};

use parking_lot::Mutex;

/// Up to this many children, every live child is polled on each wake-up.
pub(crate) const SMALL: usize = 8;

#[derive(Default)]
struct WokenChildren {
    /// The parent's waker, taken by the first child wake-up after a poll:
    /// later wake-ups before the parent runs again need not wake it twice.
    parent: Option<Waker>,
    /// Children woken since the parent last looked.
    woken: Vec<usize>,
}

struct ChildWake {
    index: usize,
    /// Already in `woken`: a second wake-up adds nothing.
    queued: AtomicBool,
    shared: Arc<Mutex<WokenChildren>>,
}

impl Wake for ChildWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // ORDERING: AcqRel pairs with the Release store in `poll_woken`, so a
        // wake-up after the parent cleared the flag is always recorded.
        let newly = !self.queued.swap(true, Ordering::AcqRel);
        let parent = {
            let mut shared = self.shared.lock();
            if newly {
                shared.woken.push(self.index);
            }
            shared.parent.take()
        };
        // Woken after the lock is released.
        if let Some(parent) = parent {
            parent.wake();
        }
    }
}

/// In large mode, how many passes poll every running child with the
/// parent's waker before children get wakers of their own.
const UNNAMED_PASSES: u8 = 2;

/// Which children to poll next; see the module docs.
pub(crate) struct WakeSet {
    mode: Mode,
    len: usize,
}

enum Mode {
    /// Few children: use the parent's waker, poll them all.
    Small,
    /// Many children: one waker each, made on demand; poll the woken ones.
    Large {
        shared: Arc<Mutex<WokenChildren>>,
        /// A child's waker, made the first time it is polled after the
        /// first pass.
        wakers: Vec<Option<(Arc<ChildWake>, Waker)>>,
        /// Running children last polled with the parent's waker: they are
        /// polled on the next pass whatever woke the parent.
        unnamed: Vec<usize>,
        /// Passes made so far, up to `UNNAMED_PASSES`.
        passes: u8,
        scratch: Vec<usize>,
    },
}

impl WakeSet {
    /// A set for `len` children.
    pub(crate) fn new(len: usize) -> WakeSet {
        let mode = if len <= SMALL {
            Mode::Small
        } else {
            Mode::Large {
                shared: Arc::new(Mutex::new(WokenChildren::default())),
                wakers: Vec::new(),
                unnamed: Vec::new(),
                passes: 0,
                scratch: Vec::new(),
            }
        };
        WakeSet { mode, len }
    }

    /// Calls `poll(i, cx)` for each child `i` that may have made progress;
    /// `poll` returns whether the child is still running (it skips, and
    /// returns `false` for, children it has finished with).
    ///
    /// In small mode every child is polled each time, with the parent's
    /// waker. In large mode the first [`UNNAMED_PASSES`] passes poll every
    /// running child with the parent's waker too, allocating nothing:
    /// children that finish early never get a waker of their own (W1's
    /// spawn-then-gather: every task is done by the second pass). After
    /// that, the children still running get their own wakers, and only the
    /// woken ones are polled.
    pub(crate) fn poll_woken(
        &mut self,
        cx: &mut Context<'_>,
        mut poll: impl FnMut(usize, &mut Context<'_>) -> bool,
    ) {
        let Mode::Large {
            shared,
            wakers,
            unnamed,
            passes,
            scratch,
        } = &mut self.mode
        else {
            (0..self.len).for_each(|i| {
                poll(i, cx);
            });
            return;
        };
        if *passes < UNNAMED_PASSES {
            *passes += 1;
            if *passes < UNNAMED_PASSES {
                // Not even a list yet: children that finish by the next pass
                // cost nothing here.
                (0..self.len).for_each(|i| {
                    poll(i, cx);
                });
            } else {
                unnamed.extend((0..self.len).filter(|&i| poll(i, cx)));
            }
            return;
        }
        {
            let mut shared_ = shared.lock();
            match &shared_.parent {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => shared_.parent = Some(cx.waker().clone()),
            }
            std::mem::swap(&mut shared_.woken, scratch);
        }
        if wakers.is_empty() && !unnamed.is_empty() {
            wakers.resize_with(self.len, || None);
        }
        for i in unnamed.drain(..).chain(scratch.drain(..)) {
            let (child, waker) = wakers[i].get_or_insert_with(|| {
                let child = Arc::new(ChildWake {
                    index: i,
                    queued: AtomicBool::new(false),
                    shared: shared.clone(),
                });
                let waker = Waker::from(child.clone());
                (child, waker)
            });
            // ORDERING: Release; see `ChildWake::wake_by_ref`.
            child.queued.store(false, Ordering::Release);
            if !poll(i, &mut Context::from_waker(waker)) {
                // Finished: its waker is no longer needed.
                wakers[i] = None;
            }
        }
    }
}

impl std::fmt::Debug for WakeSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WakeSet").field("len", &self.len).finish()
    }
}
