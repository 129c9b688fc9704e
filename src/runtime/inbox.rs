//! The remote inbox: messages from other threads, plus the "already notified"
//! flag that coalesces wake-ups of the selector.
//!
//! A poster pushes under the lock, then sets `notified`. Only the poster that
//! flips it from `false` to `true` *while the loop is parked in the selector*
//! must wake it: while the loop is busy it drains the inbox every iteration
//! anyway, so posts cost no syscall at all (asyncio writes one byte per post;
//! uvloop coalesces the same way).
//!
//! The loop clears `notified` *before* it takes the messages, so a message
//! pushed after the take sets it again. Both flags are bits of one atomic
//! word and every change is a read-modify-write of it, so all changes are
//! totally ordered: a poster's "set NOTIFIED" either comes before the loop's
//! "set PARKED" (the loop sees the post and does not block) or after it (the
//! poster sees the parked loop and wakes it). No wake-up is lost.

#[cfg(loom)]
use loom::sync::{atomic::AtomicUsize, Mutex};
use std::sync::atomic::Ordering;
#[cfg(not(loom))]
use std::sync::{atomic::AtomicUsize, Mutex};

/// A post is waiting to be drained.
const NOTIFIED: usize = 1;
/// The loop is (about to be) blocked in the selector.
const PARKED: usize = 2;

/// Messages plus a closed flag, behind one lock so that a post racing with
/// `close` either lands before it or is refused.
#[derive(Debug)]
struct Slot<M> {
    messages: Vec<M>,
    closed: bool,
}

#[derive(Debug)]
pub(crate) struct Inbox<M> {
    slot: Mutex<Slot<M>>,
    /// `NOTIFIED | PARKED` bits.
    state: AtomicUsize,
}

/// What a successful push asks of the caller.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// The loop is parked and nobody woke it yet: the caller must wake the selector.
    WakeNeeded,
    /// The loop is awake and will drain the inbox, or someone already woke it.
    NoWakeNeeded,
}

impl<M> Inbox<M> {
    pub(crate) fn new() -> Inbox<M> {
        Inbox {
            slot: Mutex::new(Slot {
                messages: Vec::new(),
                closed: false,
            }),
            state: AtomicUsize::new(0),
        }
    }

    /// Appends `message`, or gives it back if the inbox is closed.
    pub(crate) fn push(&self, message: M) -> Result<Pushed, M> {
        {
            let mut slot = self.slot.lock().unwrap();
            if slot.closed {
                return Err(message);
            }
            slot.messages.push(message);
        }
        // ORDERING: AcqRel read-modify-writes of one word are totally
        // ordered (see the module docs); Release publishes the push to the
        // loop's Acquire in `drain`.
        let before = self.state.fetch_or(NOTIFIED, Ordering::AcqRel);
        if before & NOTIFIED == 0 && before & PARKED != 0 {
            Ok(Pushed::WakeNeeded)
        } else {
            Ok(Pushed::NoWakeNeeded)
        }
    }

    /// Called by the loop before it blocks in the selector. Returns `false`
    /// (and stays unparked) if a post is already waiting: then it must not block.
    pub(crate) fn park(&self) -> bool {
        // ORDERING: see `push`.
        let before = self.state.fetch_or(PARKED, Ordering::AcqRel);
        if before & NOTIFIED != 0 {
            self.unpark();
            return false;
        }
        true
    }

    /// Called by the loop once the selector returned.
    pub(crate) fn unpark(&self) {
        self.state.fetch_and(!PARKED, Ordering::AcqRel);
    }

    /// Moves every pending message into `out` (which should be empty).
    ///
    /// Cheap when nothing was posted: one atomic swap, no lock.
    pub(crate) fn drain(&self, out: &mut Vec<M>) {
        // ORDERING: see `push`. Clearing before taking means a push that the
        // take misses sets the flag again, which `park` then sees.
        // A plain load first: the common case, nothing posted, costs no
        // read-modify-write. A post it misses is seen by the next drain, or
        // by `park` before the loop could block.
        if self.state.load(Ordering::Relaxed) & NOTIFIED == 0 {
            return;
        }
        if self.state.fetch_and(!NOTIFIED, Ordering::AcqRel) & NOTIFIED == 0 {
            return;
        }
        let mut slot = self.slot.lock().unwrap();
        std::mem::swap(&mut slot.messages, out);
    }

    /// Whether a post is waiting to be drained.
    pub(crate) fn is_notified(&self) -> bool {
        self.state.load(Ordering::Acquire) & NOTIFIED != 0
    }

    /// Refuses every later push and returns what was still queued.
    pub(crate) fn close(&self) -> Vec<M> {
        let mut slot = self.slot.lock().unwrap();
        slot.closed = true;
        std::mem::take(&mut slot.messages)
    }

    /// Whether `close` was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.slot.lock().unwrap().closed
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! The handoff modelled with loom: two posters and the loop. The loop
    //! parks on a loom `Notify` standing in for the mio `Waker`; if a
    //! wake-up were lost it would park forever and loom reports a deadlock.
    use super::*;
    use loom::sync::{Arc, Notify};

    #[test]
    fn no_lost_wakeup() {
        loom::model(|| {
            let inbox = Arc::new(Inbox::<u32>::new());
            let waker = Arc::new(Notify::new());
            let posters: Vec<_> = (0..2)
                .map(|i| {
                    let inbox = inbox.clone();
                    let waker = waker.clone();
                    loom::thread::spawn(move || {
                        if inbox.push(i).unwrap() == Pushed::WakeNeeded {
                            waker.notify();
                        }
                    })
                })
                .collect();
            let mut seen = Vec::new();
            let mut batch = Vec::new();
            while seen.len() < 2 {
                inbox.drain(&mut batch);
                if batch.is_empty() && inbox.park() {
                    // Blocked in the selector until a poster wakes it.
                    waker.wait();
                    inbox.unpark();
                }
                seen.append(&mut batch);
            }
            for p in posters {
                p.join().unwrap();
            }
            seen.sort();
            assert_eq!(seen, vec![0, 1]);
        });
    }

    #[test]
    fn post_racing_close_is_delivered_or_refused() {
        loom::model(|| {
            let inbox = Arc::new(Inbox::<u32>::new());
            let poster = {
                let inbox = inbox.clone();
                loom::thread::spawn(move || inbox.push(7).is_ok())
            };
            let left = inbox.close();
            let accepted = poster.join().unwrap();
            // Accepted exactly when close saw it: nothing silently vanishes.
            assert_eq!(accepted, left == vec![7]);
        });
    }
}
