//! The remote inbox: messages from other threads, plus the `wake_pending`
//! flag that coalesces wake-ups of the selector.
//!
//! A poster pushes under the lock, then makes sure `WAKE_PENDING` is set.
//! Only the poster that flips it from clear to set *while the loop is
//! parked in the selector* must wake it: while the loop is busy it drains
//! the inbox every iteration anyway, so posts cost no syscall at all
//! (asyncio writes one byte per post; uvloop coalesces the same way). A
//! poster that finds the flag already set skips even the read-modify-write:
//! one wake-up, at most, per batch.
//!
//! The loop clears `WAKE_PENDING` *before* it takes the messages, so a
//! message pushed after the take sets it again. Both flags are bits of one
//! atomic word and every change is a read-modify-write of it, so all changes
//! are totally ordered: a poster's "set WAKE_PENDING" either comes before
//! the loop's "set PARKED" (the loop sees the post and does not block) or
//! after it (the poster sees the parked loop and wakes it). A poster that
//! reads the flag set and skips its own set read a set made after the
//! loop's last clear (its push, under the lock, came after the loop's last
//! take, hence after that clear), so the loop has yet to drain, and will
//! find the message. No wake-up is lost.
//!
//! # Spinning before blocking
//!
//! A loop fed by another thread at a high rate (a consumer loop handing a
//! producer loop one free place in a full queue per item, a thread spawning
//! tasks in a tight loop) would block in the selector after every short
//! batch, and every post would then cost the poster an `eventfd` write and
//! the loop a wake-up and a context switch, which is several times the cost
//! of the work itself. So when the loop's last block in the selector was
//! short and ended by a post, the loop first spins for a short while
//! ([`SPIN`], with [`Backoff::spin`]), watching `WAKE_PENDING`, before it
//! sets `PARKED`; a post that arrives
//! meanwhile costs nobody a syscall. A spin that sees nothing, or a block
//! that lasts long or ends for another reason (I/O, a timer), turns the
//! spinning off again, so a quiet loop never spins. Tokio's workers and
//! Seastar's reactor spin before they sleep in the same way. The spin does
//! not yield its core: measured on W11 with a loaded machine, a yield
//! (`Backoff::snooze`) hands the core to another process for a whole time
//! slice, which the producer loop then spends away from its queue.

use std::time::{Duration, Instant};

use crossbeam_utils::{Backoff, CachePadded};

use crate::loom_shim::atomic::{AtomicUsize, Ordering};
use crate::loom_shim::Mutex;

/// A post is waiting to be drained, and whoever had to wake the loop for it
/// has done so (or the loop was awake).
const WAKE_PENDING: usize = 1;
/// The loop is (about to be) blocked in the selector.
const PARKED: usize = 2;

/// How long a loop with recent cross-thread traffic watches its inbox
/// before it blocks in the selector: a few times the cost of the wake-up
/// it saves, far below any timer's resolution.
const SPIN: Duration = Duration::from_micros(30);

/// A block in the selector that a post ended within this time means posts
/// come faster than blocking pays: the next wait spins first.
const SHORT_BLOCK: Duration = Duration::from_micros(250);

/// Messages plus a closed flag, behind one lock so that a post racing with
/// `close` either lands before it or is refused.
#[derive(Debug)]
struct Posts<M> {
    messages: Vec<M>,
    closed: bool,
}

#[derive(Debug)]
pub(crate) struct Inbox<M> {
    posts: Mutex<Posts<M>>,
    /// `WAKE_PENDING | PARKED` bits, on a cache line of their own: posters
    /// and the loop meet here.
    flags: CachePadded<AtomicUsize>,
    /// The loop's own: whether its next wait spins first (see the module
    /// docs). Only the loop thread reads or writes it, so it is not one of
    /// the hand-off's atomics and loom does not model it.
    spin: std::sync::atomic::AtomicBool,
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
            posts: Mutex::new(Posts {
                messages: Vec::new(),
                closed: false,
            }),
            flags: CachePadded::new(AtomicUsize::new(0)),
            spin: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Appends `message`, or gives it back if the inbox is closed.
    pub(crate) fn push(&self, message: M) -> Result<Pushed, M> {
        {
            let mut posts = self.posts.lock();
            if posts.closed {
                return Err(message);
            }
            posts.messages.push(message);
        }
        // ORDERING: Acquire pairs with the loop's AcqRel clear in `drain`:
        // a set flag read here was set after the loop's last clear (see
        // the module docs), so the loop has a drain to come.
        if self.flags.load(Ordering::Acquire) & WAKE_PENDING != 0 {
            return Ok(Pushed::NoWakeNeeded);
        }
        // ORDERING: AcqRel read-modify-writes of one word are totally
        // ordered (see the module docs); Release publishes the push to the
        // loop's Acquire in `drain`.
        let before = self.flags.fetch_or(WAKE_PENDING, Ordering::AcqRel);
        if before & WAKE_PENDING == 0 && before & PARKED != 0 {
            Ok(Pushed::WakeNeeded)
        } else {
            Ok(Pushed::NoWakeNeeded)
        }
    }

    /// Called by the loop before it blocks in the selector. Returns `false`
    /// (and stays unparked) if a post is already waiting, or arrives while
    /// the loop spins first: then it must not block.
    pub(crate) fn park(&self) -> bool {
        if self.spin_for_post() {
            return false;
        }
        // ORDERING: see `push`.
        let before = self.flags.fetch_or(PARKED, Ordering::AcqRel);
        if before & WAKE_PENDING != 0 {
            self.flags.fetch_and(!PARKED, Ordering::AcqRel);
            return false;
        }
        true
    }

    /// Called by the loop once the selector returned, with how long it was
    /// blocked there (the loop measures it for its stats anyway).
    pub(crate) fn unpark(&self, blocked: Duration) {
        // ORDERING: see `push`.
        let before = self.flags.fetch_and(!PARKED, Ordering::AcqRel);
        // Spin next time if a post ended a short block.
        let short = blocked < SHORT_BLOCK;
        // ORDERING: the loop's own flag; no other thread touches it.
        self.spin
            .store(short && before & WAKE_PENDING != 0, Ordering::Relaxed);
    }

    /// If posts came fast lately, watches `WAKE_PENDING` for up to [`SPIN`]:
    /// `true` if a post arrived. A spin that sees none turns spinning off.
    fn spin_for_post(&self) -> bool {
        // ORDERING: the loop's own flag.
        if cfg!(loom) || !self.spin.load(Ordering::Relaxed) {
            return false;
        }
        let deadline = Instant::now() + SPIN;
        let backoff = Backoff::new();
        loop {
            // ORDERING: Relaxed is enough to notice the flag; the drain
            // that follows synchronizes with the post.
            if self.flags.load(Ordering::Relaxed) & WAKE_PENDING != 0 {
                return true;
            }
            if Instant::now() >= deadline {
                self.spin.store(false, Ordering::Relaxed);
                return false;
            }
            backoff.spin();
        }
    }

    /// Whether a post may be waiting, for the loop to look before it calls
    /// [`drain`](Self::drain) on every iteration.
    #[inline]
    pub(crate) fn may_have_posts(&self) -> bool {
        // ORDERING: a hint only, as the first load of `drain`: a post it
        // misses is seen by the next iteration, or by `park` before the loop
        // could block; `drain` orders the messages themselves.
        self.flags.load(Ordering::Relaxed) & WAKE_PENDING != 0
    }

    /// Moves every pending message into `out` (which should be empty).
    ///
    /// Cheap when nothing was posted: one atomic load, no lock.
    pub(crate) fn drain(&self, out: &mut Vec<M>) {
        // ORDERING: see `push`. Clearing before taking means a push that the
        // take misses sets the flag again, which `park` then sees.
        // A plain load first: the common case, nothing posted, costs no
        // read-modify-write. A post it misses is seen by the next drain, or
        // by `park` before the loop could block.
        if self.flags.load(Ordering::Relaxed) & WAKE_PENDING == 0 {
            return;
        }
        if self.flags.fetch_and(!WAKE_PENDING, Ordering::AcqRel) & WAKE_PENDING == 0 {
            return;
        }
        let mut posts = self.posts.lock();
        std::mem::swap(&mut posts.messages, out);
    }

    /// Whether a post is waiting to be drained.
    pub(crate) fn is_wake_pending(&self) -> bool {
        self.flags.load(Ordering::Acquire) & WAKE_PENDING != 0
    }

    /// Refuses every later push and returns what was still queued.
    pub(crate) fn close(&self) -> Vec<M> {
        let mut posts = self.posts.lock();
        posts.closed = true;
        std::mem::take(&mut posts.messages)
    }

    /// Whether `close` was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.posts.lock().closed
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_post_to_a_parked_loop_wakes_it() {
        let inbox = Inbox::new();
        assert!(inbox.park());
        assert_eq!(inbox.push(1), Ok(Pushed::WakeNeeded));
        assert_eq!(inbox.push(2), Ok(Pushed::NoWakeNeeded));
        inbox.unpark(Duration::ZERO);
        let mut out = Vec::new();
        inbox.drain(&mut out);
        assert_eq!(out, vec![1, 2]);
        assert!(!inbox.is_wake_pending());
    }

    #[test]
    fn a_waiting_post_keeps_the_loop_from_parking() {
        let inbox = Inbox::new();
        assert_eq!(inbox.push(1), Ok(Pushed::NoWakeNeeded));
        assert!(!inbox.park());
        // Not parked: a post after the refused park needs no wake-up.
        let mut out = Vec::new();
        inbox.drain(&mut out);
        assert_eq!(inbox.push(2), Ok(Pushed::NoWakeNeeded));
    }

    #[test]
    fn a_short_block_ended_by_a_post_spins_the_next_wait() {
        let inbox = Inbox::new();
        assert!(inbox.park());
        assert_eq!(inbox.push(1), Ok(Pushed::WakeNeeded));
        inbox.unpark(Duration::ZERO);
        assert!(inbox.spin.load(Ordering::Relaxed));
        let mut out = Vec::new();
        inbox.drain(&mut out);
        // Nothing comes: the spin gives up, turns itself off, and parks.
        assert!(inbox.park());
        assert!(!inbox.spin.load(Ordering::Relaxed));
        inbox.unpark(Duration::ZERO);
        // Ended without a post (a timeout, I/O): no spinning next time.
        assert!(!inbox.spin.load(Ordering::Relaxed));
    }

    #[test]
    fn a_post_during_the_spin_keeps_the_loop_awake() {
        let inbox = std::sync::Arc::new(Inbox::new());
        inbox.spin.store(true, Ordering::Relaxed);
        // Posted before the spin starts: seen at its first look.
        assert_eq!(inbox.push(1), Ok(Pushed::NoWakeNeeded));
        assert!(!inbox.park());
        assert!(inbox.spin.load(Ordering::Relaxed));
    }

    #[test]
    fn closed_inbox_refuses_and_returns_the_rest() {
        let inbox = Inbox::new();
        inbox.push(1).unwrap();
        assert_eq!(inbox.close(), vec![1]);
        assert!(inbox.is_closed());
        assert_eq!(inbox.push(2), Err(2));
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! The handoff modelled with loom: posters and the loop. The loop
    //! parks on a loom `Notify` standing in for the mio `Waker`; if a
    //! wake-up were lost it would park forever and loom reports a deadlock.
    use super::*;
    use loom::sync::{Arc, Notify};

    /// The loop's side of `run_once` as far as the inbox goes: drain, and
    /// block until woken when nothing came.
    fn receive_all(inbox: &Inbox<u32>, waker: &Notify, expected: usize) -> Vec<u32> {
        let mut seen = Vec::new();
        let mut batch = Vec::new();
        while seen.len() < expected {
            inbox.drain(&mut batch);
            if batch.is_empty() && inbox.park() {
                // Blocked in the selector until a poster wakes it.
                waker.wait();
                inbox.unpark(Duration::ZERO);
            }
            seen.append(&mut batch);
        }
        seen.sort();
        seen
    }

    fn poster(
        inbox: &Arc<Inbox<u32>>,
        waker: &Arc<Notify>,
        messages: Vec<u32>,
    ) -> loom::thread::JoinHandle<()> {
        let inbox = inbox.clone();
        let waker = waker.clone();
        loom::thread::spawn(move || {
            for m in messages {
                if inbox.push(m).unwrap() == Pushed::WakeNeeded {
                    waker.notify();
                }
            }
        })
    }

    /// Three threads with every preemption explode loom's state space;
    /// lost wake-ups show up within a few preemptions (tokio's loom runs
    /// use the same bound).
    fn bounded() -> loom::model::Builder {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder
    }

    #[test]
    fn no_lost_wakeup() {
        bounded().check(|| {
            let inbox = Arc::new(Inbox::<u32>::new());
            let waker = Arc::new(Notify::new());
            let posters: Vec<_> = (0..2).map(|i| poster(&inbox, &waker, vec![i])).collect();
            assert_eq!(receive_all(&inbox, &waker, 2), vec![0, 1]);
            for p in posters {
                p.join().unwrap();
            }
        });
    }

    #[test]
    fn a_post_skipping_the_flag_is_still_drained() {
        // Two posts from one thread: the second may find `WAKE_PENDING`
        // set and skip its read-modify-write while the loop drains.
        loom::model(|| {
            let inbox = Arc::new(Inbox::<u32>::new());
            let waker = Arc::new(Notify::new());
            let p = poster(&inbox, &waker, vec![0, 1]);
            assert_eq!(receive_all(&inbox, &waker, 2), vec![0, 1]);
            p.join().unwrap();
        });
    }

    #[test]
    fn post_racing_drain_then_close_is_delivered_or_refused() {
        loom::model(|| {
            let inbox = Arc::new(Inbox::<u32>::new());
            let poster = {
                let inbox = inbox.clone();
                loom::thread::spawn(move || inbox.push(7).is_ok())
            };
            // The loop's last iteration, then `close`.
            let mut drained = Vec::new();
            inbox.drain(&mut drained);
            drained.extend(inbox.close());
            let accepted = poster.join().unwrap();
            // Accepted exactly when the loop got it: nothing silently vanishes.
            assert_eq!(accepted, drained == vec![7]);
        });
    }
}
