//! Per-child wake-ups for combinators that drive many children at once.
//!
//! A combinator polling N children should not re-poll all N each time one of
//! them wakes it. [`WakeSet`] gives every child its own small waker; waking
//! it records the child's index in a shared list and wakes the parent once.
//! The parent then polls only the children named in the list. With few
//! children the bookkeeping costs more than it saves, so below
//! [`SMALL`] children the parent's own waker is used and every live child is
//! polled on each turn.
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
struct Shared {
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
    shared: Arc<Mutex<Shared>>,
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

/// Which children to poll next; see the module docs.
pub(crate) struct WakeSet {
    mode: Mode,
    /// The first pass polls every child.
    first: bool,
    len: usize,
}

enum Mode {
    /// Few children: use the parent's waker, poll them all.
    Small,
    /// Many children: one waker each, poll the woken ones.
    Large {
        shared: Arc<Mutex<Shared>>,
        children: Vec<Arc<ChildWake>>,
        wakers: Vec<Waker>,
        scratch: Vec<usize>,
    },
}

impl WakeSet {
    /// A set for `len` children.
    pub(crate) fn new(len: usize) -> WakeSet {
        let mode = if len <= SMALL {
            Mode::Small
        } else {
            let shared = Arc::new(Mutex::new(Shared::default()));
            let children: Vec<Arc<ChildWake>> = (0..len)
                .map(|index| {
                    Arc::new(ChildWake {
                        index,
                        queued: AtomicBool::new(false),
                        shared: shared.clone(),
                    })
                })
                .collect();
            let wakers = children.iter().map(|c| Waker::from(c.clone())).collect();
            Mode::Large {
                shared,
                children,
                wakers,
                scratch: Vec::new(),
            }
        };
        WakeSet {
            mode,
            first: true,
            len,
        }
    }

    /// Calls `poll(i, cx)` for each child `i` that may have made progress:
    /// all of them on the first call, then those woken since (every one, in
    /// small mode; `poll` skips children it has finished with). `cx` given
    /// to `poll` carries the child's own waker.
    pub(crate) fn poll_woken(
        &mut self,
        cx: &mut Context<'_>,
        mut poll: impl FnMut(usize, &mut Context<'_>),
    ) {
        let first = std::mem::replace(&mut self.first, false);
        match &mut self.mode {
            Mode::Small => (0..self.len).for_each(|i| poll(i, cx)),
            Mode::Large {
                shared,
                children,
                wakers,
                scratch,
            } => {
                {
                    let mut shared = shared.lock();
                    match &shared.parent {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        _ => shared.parent = Some(cx.waker().clone()),
                    }
                    std::mem::swap(&mut shared.woken, scratch);
                }
                let mut visit = |i: usize| {
                    // ORDERING: Release; see `ChildWake::wake_by_ref`.
                    children[i].queued.store(false, Ordering::Release);
                    poll(i, &mut Context::from_waker(&wakers[i]));
                };
                if first {
                    scratch.clear();
                    (0..children.len()).for_each(&mut visit);
                } else {
                    scratch.drain(..).for_each(&mut visit);
                }
            }
        }
    }
}

impl std::fmt::Debug for WakeSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WakeSet").field("len", &self.len).finish()
    }
}
