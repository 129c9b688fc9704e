//! The loop's clock: real monotonic time, a virtual clock that only moves
//! when the loop has nothing to do but wait for a timer, or one virtual
//! clock shared by every loop of a group ([`GroupClock`]).

#[cfg(loom)]
use loom::sync::atomic::AtomicU64;
use std::cell::Cell;
#[cfg(not(loom))]
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::remote::{Msg, Remote};
use crate::loom_shim::Mutex;
use crate::trace::TraceSink;

/// How far the earliest timer must be beyond the loop's last clock
/// reading for the firing step to take that reading as "now" instead of
/// reading the clock again (see [`Clock::now_for_firing`]).
const REUSE_MARGIN: Duration = Duration::from_millis(1);

#[derive(Debug)]
pub(crate) enum Clock {
    /// `Instant::now()`, as asyncio's `time.monotonic()`, and the last
    /// reading, if the firing step may still use it.
    Real(Cell<Option<Instant>>),
    /// Starts at the real time the loop was made and moves only when told to.
    Virtual(Cell<Instant>),
    /// Loop `member` of a group whose loops share one virtual time.
    Group(ClockMember),
}

/// A loop's seat at a [`GroupClock`].
#[derive(Debug, Clone)]
pub(crate) struct ClockMember {
    pub(crate) clock: Arc<GroupClock>,
    pub(crate) index: usize,
}

impl Clock {
    pub(crate) fn new(virtual_time: bool, group: Option<ClockMember>) -> Clock {
        match group {
            Some(member) => Clock::Group(member),
            None if virtual_time => Clock::Virtual(Cell::new(Instant::now())),
            None => Clock::Real(Cell::new(None)),
        }
    }

    /// The time now (a fresh reading).
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        match self {
            Clock::Real(last) => {
                let now = Instant::now();
                last.set(Some(now));
                now
            }
            Clock::Virtual(now) => now.get(),
            Clock::Group(member) => member.clock.now(),
        }
    }

    /// "Now" for the step that fires due timers, whose earliest deadline
    /// is `next`: a reading of the real clock costs about as much as
    /// handing a timer over, so that step reuses the loop's last reading
    /// when it can tell from it alone that no timer is due, and reads the
    /// clock otherwise.
    ///
    /// The last reading (by [`now`](Clock::now): arming a timer, the poll
    /// timeout, or this step) is reused once at most, and only when `next`
    /// is at least [`REUSE_MARGIN`] past it. So a timer never fires early
    /// (the reading is never later than the time), and it fires in the
    /// same iteration as with a fresh reading unless the loop spent more
    /// than the margin since that reading, within one iteration (the one
    /// before): then it fires one iteration later. A reading is dropped
    /// ([`forget_reading`]) before the loop may wait in the selector (for a
    /// timer or without limit) and when the loop starts to run, so time
    /// spent waiting or outside the loop never makes a timer late: after
    /// either, the firing step reads the clock. The virtual
    /// clocks cost nothing to read and are always read.
    ///
    /// [`forget_reading`]: Clock::forget_reading
    #[inline]
    pub(crate) fn now_for_firing(&self, next: Instant) -> Instant {
        match self {
            Clock::Real(last) => {
                if let Some(at) = last.take() {
                    if at.checked_add(REUSE_MARGIN).is_some_and(|t| t <= next) {
                        return at;
                    }
                }
                self.now()
            }
            _ => self.now(),
        }
    }

    /// Drops the last reading: the loop is about to wait in the selector,
    /// or starts to run.
    #[inline]
    pub(crate) fn forget_reading(&self) {
        if let Clock::Real(last) = self {
            last.set(None);
        }
    }

    pub(crate) fn is_virtual(&self) -> bool {
        !matches!(self, Clock::Real(_))
    }

    /// Moves a virtual clock forward by `by`.
    pub(crate) fn advance_by(&self, by: Duration) {
        match self {
            Clock::Real(_) => {}
            Clock::Virtual(now) => now.set(crate::time::deadline_after(now.get(), by)),
            Clock::Group(member) => {
                let to = crate::time::deadline_after(member.clock.now(), by);
                member.clock.advance_to(to);
            }
        }
    }

    /// The group's clock, if this loop shares one.
    pub(crate) fn group(&self) -> Option<&ClockMember> {
        match self {
            Clock::Group(member) => Some(member),
            _ => None,
        }
    }
}

/// What a loop of the group is doing, as far as the clock is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Activity {
    /// Running, starting, or waiting for something from outside the group
    /// (I/O, an executor job): time may not jump.
    Busy,
    /// Nothing ready and nothing in its inbox: it waits for a post or for
    /// the clock to reach its next timer (`None`: it has none).
    Idle(Option<Instant>),
    /// Closed: it takes no part any more.
    Gone,
}

/// What the clock needs of a loop's inbox: whether a post is waiting in
/// it, and a way to wake the loop (a loop's [`Remote`]; a model in the loom
/// tests).
pub(crate) trait Door: Send + Sync {
    /// Something was posted that the loop has not taken yet.
    fn has_post(&self) -> bool;
    /// Wakes the loop's selector (with an empty post).
    fn wake(&self);
}

impl Door for Remote {
    fn has_post(&self) -> bool {
        self.inbox.is_wake_pending()
    }

    fn wake(&self) {
        let _ = self.post(Msg::Call(Box::new(|| {})));
    }
}

/// One seat per loop.
struct Seat {
    activity: Activity,
    /// Its inbox, to see posts on their way to an idle loop and to wake it.
    door: Option<Arc<dyn Door>>,
}

/// One virtual time for every loop of a group.
///
/// The time jumps, to the earliest timer of any loop, only when every loop
/// is idle (nothing ready) and nothing is on its way between them (every
/// idle loop's inbox is empty). The loop that makes the last of them idle
/// makes the jump and wakes the loops whose timer is then due; they count
/// as busy from that moment, so no second jump can pass them by. A loop
/// waiting for I/O or an executor job waits in real time, as a lone virtual
/// loop does, and moves the shared time by what it waited.
///
/// So the same program over several loops sees the same timer order and
/// timeouts on every run; only work outside the group's inboxes (a plain
/// thread posting at a random moment, a socket) brings real time in.
#[derive(Debug)]
pub(crate) struct GroupClock {
    origin: Instant,
    /// Nanoseconds of virtual time past `origin` (a century fits in u64).
    offset: AtomicU64,
    seats: Mutex<Vec<Seat>>,
    trace: Option<TraceSink>,
}

impl std::fmt::Debug for Seat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Seat")
            .field("activity", &self.activity)
            .finish_non_exhaustive()
    }
}

impl GroupClock {
    /// A clock for `loops` loops, all busy until they first wait.
    pub(crate) fn new(loops: usize, trace: Option<TraceSink>) -> Arc<GroupClock> {
        Arc::new(GroupClock {
            origin: Instant::now(),
            offset: AtomicU64::new(0),
            seats: Mutex::new(
                (0..loops)
                    .map(|_| Seat {
                        activity: Activity::Busy,
                        door: None,
                    })
                    .collect(),
            ),
            trace,
        })
    }

    /// Tells the clock where loop `index`'s inbox is (before it runs).
    pub(crate) fn attach(&self, index: usize, door: Arc<dyn Door>) {
        self.seats.lock()[index].door = Some(door);
    }

    /// Loop `index` has closed, or its thread ended: it no longer holds the
    /// clock back.
    pub(crate) fn leave(&self, index: usize) {
        let mut seats = self.seats.lock();
        seats[index].activity = Activity::Gone;
        self.jump_if_all_idle(&mut seats);
    }

    pub(crate) fn now(&self) -> Instant {
        // ORDERING: Acquire pairs with the Release store of a jump, so a
        // loop woken by the jump reads the new time.
        let offset = self.offset.load(Ordering::Acquire);
        self.origin + Duration::from_nanos(offset)
    }

    fn offset_of(&self, at: Instant) -> u64 {
        let nanos = at.saturating_duration_since(self.origin).as_nanos();
        u64::try_from(nanos).unwrap_or(u64::MAX)
    }

    /// Moves the time forward to `to` (never back) and wakes the idle loops
    /// whose timer is due then.
    fn advance_to(&self, to: Instant) {
        let mut seats = self.seats.lock();
        self.set_time(&mut seats, to);
    }

    fn set_time(&self, seats: &mut [Seat], to: Instant) {
        let target = self.offset_of(to);
        // ORDERING: Relaxed: every store happens under the seats lock.
        let current = self.offset.load(Ordering::Relaxed);
        if target > current {
            // ORDERING: Release pairs with `now`'s Acquire load.
            self.offset.store(target, Ordering::Release);
            if let Some(sink) = &self.trace {
                sink.add_jump(Duration::from_nanos(target - current));
            }
        }
        let now = self.now();
        for seat in seats.iter_mut() {
            if let Activity::Idle(Some(deadline)) = seat.activity {
                if deadline <= now {
                    seat.activity = Activity::Busy;
                    if let Some(door) = &seat.door {
                        door.wake();
                    }
                }
            }
        }
    }

    /// If every loop is idle or gone and no post is on its way, jumps to
    /// the earliest timer of any of them.
    fn jump_if_all_idle(&self, seats: &mut [Seat]) {
        let mut earliest: Option<Instant> = None;
        for seat in seats.iter() {
            match seat.activity {
                Activity::Busy => return,
                Activity::Gone => {}
                Activity::Idle(deadline) => {
                    if seat.door.as_ref().is_some_and(|d| d.has_post()) {
                        return;
                    }
                    if let Some(d) = deadline {
                        earliest = Some(earliest.map_or(d, |e| e.min(d)));
                    }
                }
            }
        }
        if let Some(to) = earliest {
            self.set_time(seats, to);
        }
    }
}

impl ClockMember {
    /// The loop has nothing ready and no post waiting; its next timer is
    /// `timeout` away (`None`: no timer). `outside` says whether I/O or an
    /// executor job could still bring it work. `block(timeout)` waits in the
    /// loop's selector and tells whether anything arrived.
    ///
    /// Without `outside`, the loop becomes idle and, if it is the last one,
    /// makes the group's time jump; then it waits for a post or for the
    /// jump that makes its timer due. With `outside`, it waits in real time
    /// for up to `timeout` and moves the group's time by what it waited.
    pub(crate) fn wait(
        &self,
        timeout: Option<Duration>,
        outside: bool,
        mut block: impl FnMut(Option<Duration>) -> bool,
    ) {
        let clock = &*self.clock;
        let from = clock.now();
        let deadline = timeout.map(|gap| crate::time::deadline_after(from, gap));
        if outside {
            let started = Instant::now();
            let arrived = block(timeout);
            let waited = started.elapsed();
            let to = match deadline {
                Some(deadline) if !arrived => deadline,
                Some(deadline) => crate::time::deadline_after(from, waited).min(deadline),
                None => crate::time::deadline_after(from, waited),
            };
            clock.advance_to(to);
            return;
        }
        {
            let mut seats = clock.seats.lock();
            seats[self.index].activity = Activity::Idle(deadline);
            clock.jump_if_all_idle(&mut seats);
            if seats[self.index].activity == Activity::Busy {
                // This loop's own timer was the earliest: it is due now.
                return;
            }
        }
        block(None);
        clock.seats.lock()[self.index].activity = Activity::Busy;
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! The jump against a post in flight: loop A posts to idle loop B and
    //! then goes idle itself with a timer. If the clock could jump before B
    //! took the post, B would see the time already moved.
    use super::*;
    use loom::sync::atomic::AtomicBool;
    use loom::sync::Notify;

    #[derive(Default)]
    struct ModelDoor {
        posted: AtomicBool,
        notify: Notify,
    }

    impl Door for ModelDoor {
        fn has_post(&self) -> bool {
            self.posted.load(Ordering::SeqCst)
        }

        fn wake(&self) {
            self.posted.store(true, Ordering::SeqCst);
            self.notify.notify();
        }
    }

    #[test]
    fn no_jump_while_a_post_is_on_its_way_to_an_idle_loop() {
        loom::model(|| {
            let clock = GroupClock::new(2, None);
            let doors = [
                Arc::new(ModelDoor::default()),
                Arc::new(ModelDoor::default()),
            ];
            for (i, door) in doors.iter().enumerate() {
                clock.attach(i, door.clone());
            }
            let start = clock.now();
            // Each side loops as a loop's iterations do: a wake-up may come
            // for nothing (loom's `Notify` wakes spuriously), so it checks
            // its inbox and its timer again before waiting again.
            let b = {
                let (clock, door) = (clock.clone(), doors[1].clone());
                loom::thread::spawn(move || {
                    let member = ClockMember {
                        clock: clock.clone(),
                        index: 1,
                    };
                    while !door.has_post() {
                        member.wait(None, false, |_| {
                            door.notify.wait();
                            true
                        });
                    }
                    // Takes the post (the inbox drain), at the time it came.
                    door.posted.store(false, Ordering::SeqCst);
                    let seen = clock.now();
                    clock.leave(1);
                    seen
                })
            };
            // Loop A: a post to B, then idle with a timer ten seconds ahead.
            doors[1].wake();
            let a = ClockMember {
                clock: clock.clone(),
                index: 0,
            };
            let due = start + Duration::from_secs(10);
            while clock.now() < due {
                let left = due - clock.now();
                a.wait(Some(left), false, |_| {
                    doors[0].notify.wait();
                    true
                });
                doors[0].posted.store(false, Ordering::SeqCst);
            }
            assert_eq!(
                b.join().unwrap(),
                start,
                "the clock jumped past a post in flight"
            );
            assert_eq!(
                clock.now() - start,
                Duration::from_secs(10),
                "then it jumped to A's timer"
            );
        });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn last(clock: &Clock) -> Option<Instant> {
        match clock {
            Clock::Real(last) => last.get(),
            _ => None,
        }
    }

    #[test]
    fn a_reading_is_reused_once_when_the_next_timer_is_past_the_margin() {
        let clock = Clock::new(false, None);
        let at = clock.now();
        let next = at + REUSE_MARGIN;
        assert_eq!(clock.now_for_firing(next), at, "reused");
        assert_eq!(last(&clock), None, "and used up");
        let fresh = clock.now_for_firing(next);
        assert!(fresh >= at);
        assert_eq!(last(&clock), Some(fresh), "a fresh reading, kept");
        assert!(fresh <= Instant::now(), "never later than the time");
    }

    #[test]
    fn the_clock_is_read_when_the_next_timer_is_within_the_margin() {
        let clock = Clock::new(false, None);
        let at = clock.now();
        let near = at + REUSE_MARGIN - Duration::from_nanos(1);
        let read = clock.now_for_firing(near);
        assert_eq!(last(&clock), Some(read), "a fresh reading");
        assert!(read >= at);
        // A deadline already passed by the reading: read again too.
        clock.now();
        let again = clock.now_for_firing(at);
        assert_eq!(last(&clock), Some(again));
    }

    #[test]
    fn a_forgotten_reading_is_not_reused() {
        let clock = Clock::new(false, None);
        let at = clock.now();
        clock.forget_reading();
        let far = at + Duration::from_secs(3600);
        let read = clock.now_for_firing(far);
        assert_eq!(last(&clock), Some(read), "read, not reused");
        // Duration::MAX-like deadlines: the margin cannot overflow.
        let _ = clock.now_for_firing(crate::time::deadline_after(at, Duration::MAX));
    }

    #[test]
    fn the_virtual_clock_is_always_read() {
        let clock = Clock::new(true, None);
        let at = clock.now();
        clock.advance_by(Duration::from_secs(5));
        let far = at + Duration::from_secs(3600);
        assert_eq!(clock.now_for_firing(far), at + Duration::from_secs(5));
    }
}
