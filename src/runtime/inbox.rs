//! The remote inbox: messages from other threads, plus the "already notified"
//! flag that coalesces wake-ups of the selector.
//!
//! A poster pushes under the lock, then sets `notified`; only the poster that
//! flips it from `false` to `true` must wake the selector (one `eventfd` write
//! per batch, where asyncio writes one byte per post). The loop clears the flag
//! *before* it takes the messages, so a message pushed after the take always
//! finds the flag clear and wakes the loop again: no wake-up is lost.

#[cfg(loom)]
use loom::sync::{atomic::AtomicBool, Mutex};
use std::sync::atomic::Ordering;
#[cfg(not(loom))]
use std::sync::{atomic::AtomicBool, Mutex};

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
    notified: AtomicBool,
}

/// What a successful push asks of the caller.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// The flag was clear: the caller must wake the selector.
    WakeNeeded,
    /// Someone else already woke it and the loop has not drained since.
    AlreadyNotified,
}

impl<M> Inbox<M> {
    pub(crate) fn new() -> Inbox<M> {
        Inbox {
            slot: Mutex::new(Slot {
                messages: Vec::new(),
                closed: false,
            }),
            notified: AtomicBool::new(false),
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
        // ORDERING: AcqRel pairs with the loop's `swap(false)` in `drain`: the
        // loop that sees `true` also sees the push made before it.
        if self.notified.swap(true, Ordering::AcqRel) {
            Ok(Pushed::AlreadyNotified)
        } else {
            Ok(Pushed::WakeNeeded)
        }
    }

    /// Moves every pending message into `out` (which should be empty).
    ///
    /// Cheap when nothing was posted: one atomic swap, no lock.
    pub(crate) fn drain(&self, out: &mut Vec<M>) {
        // ORDERING: see `push`. Clearing before taking means a push that the
        // take misses sets the flag again and wakes the loop.
        if !self.notified.swap(false, Ordering::AcqRel) {
            return;
        }
        let mut slot = self.slot.lock().unwrap();
        std::mem::swap(&mut slot.messages, out);
    }

    /// Whether a post is waiting to be drained.
    pub(crate) fn is_notified(&self) -> bool {
        self.notified.load(Ordering::Acquire)
    }

    /// Refuses every later push and returns what was still queued.
    pub(crate) fn close(&self) -> Vec<M> {
        let mut slot = self.slot.lock().unwrap();
        slot.closed = true;
        std::mem::take(&mut slot.messages)
    }

    /// Accepts pushes again (a closed loop never reopens; used by `reset`).
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
                if batch.is_empty() {
                    waker.wait();
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
