//! Timers: a sorted run for timers armed in deadline order, and a four-ary
//! min-heap for the others, both ordered by (deadline, sequence number),
//! whose entries can be removed from the middle.
//!
//! Most programs arm timers in deadline order: every `sleep(d)` with one
//! `d`, every timeout of one length, each armed after the last. Such a
//! timer (its deadline no earlier than the latest in the run) is appended
//! to the run, a queue that is sorted by construction, and fires from its
//! front: arming and firing it cost O(1) and move no other entry. A timer
//! armed out of order (earlier than the run's last) goes to the heap. The
//! next timer to fire is the earlier of the run's front and the heap's top,
//! by (deadline, sequence), so timers fire in exactly the order one heap
//! would give: deadline order, equal deadlines in the order they were armed.
//!
//! A timer in the run lives in its run entry, named by a run number that
//! is never reused; one in the heap lives in the crate's [`Slab`], named
//! by its slot's key, and knows where its heap entry is. Either way a
//! handle is one integer and a tag (which keeps `Sleep` `Send`), and a
//! stale handle names nothing. Cancelling a timer takes it out at once:
//! out of the heap in O(log n); off the run's either end in O(1) (a timeout
//! cancelled before anything else was armed is its last), and from the
//! run's middle by leaving a hole that firing skips, the holes being
//! squeezed out when they are half of the run. asyncio instead marks a
//! cancelled handle and leaves it in its heap until it reaches the top or
//! a rebuild sweeps it; the order in which timers fire is the same either
//! way, but here a cancelled timer costs the loop next to nothing
//! afterwards, and ten thousand cancelled timeouts leave no heap behind.
//!
//! The run is what makes a storm of sleeps cheap to arm: one entry written
//! per timer, no slot, no sift.

use std::collections::VecDeque;
use std::rc::Rc;
use std::task::Waker;
use std::time::Instant;

use super::callback_handle::CallOnce;
use crate::slab::{Key, Slab};

/// Children per heap node. Four rather than two halves the depth, and with
/// it the entries a pop moves, each of which writes its new position into
/// its timer's slot.
const ARITY: usize = 4;

/// Holes below which the run is never compacted.
const RUN_MIN_COMPACT: usize = 32;

/// Entries the run's buffer keeps once it is empty: a storm of sleeps
/// grows it, and once they have all fired or been cancelled the rest is
/// given back.
const RUN_KEPT: usize = 4096;

/// Entries the heap's buffer, and slots its timers' slab, keep once the
/// heap is empty, as [`RUN_KEPT`]. The slab's shrink keeps every old key
/// stale (see `Slab::shrink_to`).
const HEAP_KEPT: usize = 4096;

/// What happens when a timer is due.
pub(crate) enum Action {
    /// Run a callback (`call_later` / `call_at`) in this iteration.
    Call(Rc<dyn CallOnce>),
    /// Wake a task (`sleep`).
    Wake(Waker),
}

/// Names one timer; a stale key (its timer fired or was cancelled) names none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimerKey {
    /// A heap timer: its slot.
    Heap(Key),
    /// A run timer: its run number.
    Run(u64),
}

#[derive(Clone, Copy)]
struct HeapEntry {
    when: Instant,
    seq: u64,
    key: Key,
}

impl HeapEntry {
    /// Whether `self` fires before `other`: earlier deadline, or the same
    /// deadline and scheduled first.
    #[inline]
    fn before(&self, other: &HeapEntry) -> bool {
        (self.when, self.seq) < (other.when, other.seq)
    }
}

/// A timer in the run, or the hole a cancelled one left.
struct RunEntry {
    when: Instant,
    seq: u64,
    /// Its run number: they grow along the run, one per timer ever
    /// appended, so that they are consecutive until holes are squeezed out.
    number: u64,
    /// `None`: a hole. The run's first and last entries are never holes.
    action: Option<Action>,
}

/// A timer in the heap.
struct HeapTimer {
    action: Action,
    /// The index of its entry in `heap`.
    pos: usize,
}

/// Counters for the statistics and the tests.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct TimerCounts {
    pub(crate) fired: u64,
    pub(crate) cancelled: u64,
}

#[derive(Default)]
pub(crate) struct Timers {
    /// Timers armed in deadline order, sorted by (deadline, sequence): each
    /// was appended when its deadline was no earlier than the last's.
    run: VecDeque<RunEntry>,
    /// Holes in `run`.
    run_holes: usize,
    /// The number the next timer appended to the run gets.
    next_number: u64,
    /// A min-heap of the other armed timers: `heap[0]` fires first, and
    /// every entry fires before its children `4i + 1` to `4i + 4`.
    heap: Vec<HeapEntry>,
    /// The heap's timers; each entry of `heap` names one, and each one's
    /// `pos` is the index of its entry.
    slots: Slab<HeapTimer>,
    next_seq: u64,
    pub(crate) counts: TimerCounts,
    /// Compactions of the run so far.
    #[cfg(test)]
    compactions: u64,
}

impl Timers {
    pub(crate) fn insert(&mut self, when: Instant, action: Action) -> TimerKey {
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.run.back().is_none_or(|last| last.when <= when) {
            let number = self.next_number;
            self.next_number += 1;
            self.run.push_back(RunEntry {
                when,
                seq,
                number,
                action: Some(action),
            });
            return TimerKey::Run(number);
        }
        let end = self.heap.len();
        let key = self.slots.insert(HeapTimer { action, pos: end });
        let entry = HeapEntry { when, seq, key };
        self.heap.push(entry);
        let pos = self.sift_up(end, entry);
        if pos != end {
            self.set_pos(key, pos);
        }
        TimerKey::Heap(key)
    }

    /// Cancels an armed timer. Returns whether it was armed (not yet fired,
    /// not already cancelled). Its entry leaves the heap or the run (as a
    /// hole, if in the run's middle) and its action is dropped, at once.
    pub(crate) fn cancel(&mut self, key: TimerKey) -> bool {
        let action = match key {
            TimerKey::Heap(key) => {
                let Some(timer) = self.slots.remove(key) else {
                    return false;
                };
                self.remove_entry(timer.pos);
                self.heap_drained();
                timer.action
            }
            TimerKey::Run(number) => {
                let Some(index) = self.find_in_run(number) else {
                    return false;
                };
                let action = self.run[index].action.take();
                self.remove_from_run(index);
                action.expect("find_in_run finds no hole")
            }
        };
        self.counts.cancelled += 1;
        drop(action);
        true
    }

    /// Whether `key` is still armed.
    #[inline]
    pub(crate) fn is_armed(&self, key: TimerKey) -> bool {
        match key {
            TimerKey::Heap(key) => self.slots.get(key).is_some(),
            TimerKey::Run(number) => self.find_in_run(number).is_some(),
        }
    }

    /// Replaces the waker of an armed `Wake` timer (a re-polled `sleep`).
    pub(crate) fn set_waker(&mut self, key: TimerKey, waker: &Waker) {
        let action = match key {
            TimerKey::Heap(key) => self.slots.get_mut(key).map(|t| &mut t.action),
            TimerKey::Run(number) => match self.find_in_run(number) {
                Some(index) => self.run[index].action.as_mut(),
                None => None,
            },
        };
        if let Some(Action::Wake(w)) = action {
            if !w.will_wake(waker) {
                *w = waker.clone();
            }
        }
    }

    /// Armed timers.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len() + self.run.len() - self.run_holes
    }

    /// The deadline of the earliest armed timer.
    #[inline]
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.earliest().map(|(when, _)| when)
    }

    /// The earliest armed timer, by (deadline, sequence): its deadline, and
    /// whether it is the run's front (else the heap's top).
    #[inline]
    fn earliest(&self) -> Option<(Instant, bool)> {
        match (self.run.front(), self.heap.first()) {
            (Some(r), Some(h)) if (h.when, h.seq) < (r.when, r.seq) => Some((h.when, false)),
            (Some(r), _) => Some((r.when, true)),
            (None, Some(h)) => Some((h.when, false)),
            (None, None) => None,
        }
    }

    /// Pops the next timer due at `now`, in (deadline, sequence) order.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Action> {
        let (when, from_run) = self.earliest()?;
        if when > now {
            return None;
        }
        let action = if from_run {
            self.pop_run_front()
        } else {
            let key = self.heap[0].key;
            self.remove_entry(0);
            let timer = self
                .slots
                .remove(key)
                .expect("every heap entry names a heap timer");
            self.heap_drained();
            timer.action
        };
        self.counts.fired += 1;
        Some(action)
    }

    /// Drops every timer (loop close).
    pub(crate) fn clear(&mut self) -> Vec<Action> {
        let mut actions: Vec<Action> = std::mem::take(&mut self.run)
            .into_iter()
            .filter_map(|entry| entry.action)
            .collect();
        self.run_holes = 0;
        for entry in std::mem::take(&mut self.heap) {
            if let Some(timer) = self.slots.remove(entry.key) {
                actions.push(timer.action);
            }
        }
        actions
    }

    /// Where the armed run timer `number` is in the run: at the index its
    /// number says, unless holes were squeezed out before it.
    #[inline]
    fn find_in_run(&self, number: u64) -> Option<usize> {
        let first = self.run.front()?.number;
        let guess = number.checked_sub(first)?;
        let index = match self.run.get(guess as usize) {
            Some(entry) if entry.number == number => guess as usize,
            _ => self.run.binary_search_by_key(&number, |e| e.number).ok()?,
        };
        self.run[index].action.is_some().then_some(index)
    }

    /// Takes the run's first entry (a timer), and the holes after it.
    fn pop_run_front(&mut self) -> Action {
        let action = self.run[0].action.take();
        self.remove_from_run(0);
        action.expect("the run's front is never a hole")
    }

    /// Takes the run's entry at `index` out, its action already taken
    /// (which made it a hole): holes at the run's ends leave it at once,
    /// and when holes are half the run, every hole does.
    fn remove_from_run(&mut self, index: usize) {
        self.run_holes += 1;
        if index == 0 {
            while self.run.front().is_some_and(|e| e.action.is_none()) {
                self.run.pop_front();
                self.run_holes -= 1;
            }
        } else if index + 1 == self.run.len() {
            while self.run.back().is_some_and(|e| e.action.is_none()) {
                self.run.pop_back();
                self.run_holes -= 1;
            }
        } else if self.run_holes >= RUN_MIN_COMPACT && self.run_holes * 2 >= self.run.len() {
            self.run.retain(|e| e.action.is_some());
            self.run_holes = 0;
            #[cfg(test)]
            {
                self.compactions += 1;
            }
        }
        if self.run.is_empty() && self.run.capacity() > RUN_KEPT {
            self.run.shrink_to(RUN_KEPT);
        }
    }

    /// Takes the entry at `pos` out of the heap; its timer's slot is the
    /// caller's to free.
    fn remove_entry(&mut self, pos: usize) {
        let last = self.heap.pop().expect("removing from a non-empty heap");
        if pos == self.heap.len() {
            return;
        }
        // The last entry fills the hole and moves to where it belongs.
        let to = if pos > 0 && last.before(&self.heap[(pos - 1) / ARITY]) {
            self.sift_up(pos, last)
        } else {
            self.sift_down(pos, last)
        };
        self.set_pos(last.key, to);
    }

    /// Once the heap is empty, gives back its buffer and its timers' slots
    /// past [`HEAP_KEPT`] (a storm of out-of-order timers grew them). Called
    /// after a heap timer's entry and slot are both gone.
    fn heap_drained(&mut self) {
        if self.heap.is_empty() {
            if self.heap.capacity() > HEAP_KEPT {
                self.heap.shrink_to(HEAP_KEPT);
            }
            self.slots.shrink_to(HEAP_KEPT);
        }
    }

    /// Puts `entry` where it belongs at or above the hole at `pos`, moving
    /// the entries it passes (and telling their timers); returns where it
    /// went. Its own timer is the caller's to tell.
    fn sift_up(&mut self, mut pos: usize, entry: HeapEntry) -> usize {
        while pos > 0 {
            let parent = (pos - 1) / ARITY;
            let above = self.heap[parent];
            if !entry.before(&above) {
                break;
            }
            self.heap[pos] = above;
            self.set_pos(above.key, pos);
            pos = parent;
        }
        self.heap[pos] = entry;
        pos
    }

    /// As [`sift_up`](Timers::sift_up), downwards: while a child of the hole
    /// fires before `entry`, the earliest child moves up.
    fn sift_down(&mut self, mut pos: usize, entry: HeapEntry) -> usize {
        let len = self.heap.len();
        loop {
            let first = ARITY * pos + 1;
            if first >= len {
                break;
            }
            let mut child = first;
            for next in first + 1..(first + ARITY).min(len) {
                if self.heap[next].before(&self.heap[child]) {
                    child = next;
                }
            }
            let below = self.heap[child];
            if !below.before(&entry) {
                break;
            }
            self.heap[pos] = below;
            self.set_pos(below.key, pos);
            pos = child;
        }
        self.heap[pos] = entry;
        pos
    }

    /// Tells the heap timer `key` that its entry is now at `pos`.
    #[inline]
    fn set_pos(&mut self, key: Key, pos: usize) {
        if let Some(timer) = self.slots.get_mut(key) {
            timer.pos = pos;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::callback_handle::CallCell;
    use std::cell::RefCell;
    use std::time::Duration;

    fn noop() -> Action {
        Action::Call(Rc::new(CallCell::new(|| {})))
    }

    fn call(log: &Rc<RefCell<Vec<u32>>>, n: u32) -> Action {
        let log = log.clone();
        Action::Call(Rc::new(CallCell::new(move || log.borrow_mut().push(n))))
    }

    fn run_due(t: &mut Timers, now: Instant) {
        while let Some(Action::Call(f)) = t.pop_due(now) {
            f.call();
        }
    }

    #[test]
    fn equal_deadlines_fire_in_insertion_order() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut t = Timers::default();
        let at = Instant::now();
        for n in 0..8 {
            t.insert(at, call(&log, n));
        }
        run_due(&mut t, at);
        assert_eq!(*log.borrow(), (0..8).collect::<Vec<_>>());
    }

    /// A storm of 100 000 timers in deadline order grows the run; once they
    /// have all fired (or, in a second storm, been cancelled from the
    /// back) the run keeps at most `RUN_KEPT` entries of buffer.
    #[test]
    fn the_run_gives_its_buffer_back_once_drained() {
        let mut t = Timers::default();
        let at = Instant::now();
        let keys: Vec<TimerKey> = (0..100_000u64)
            .map(|n| t.insert(at + Duration::from_nanos(n), noop()))
            .collect();
        assert!(t.run.capacity() >= 100_000);
        run_due(&mut t, at + Duration::from_secs(1));
        assert_eq!(t.len(), 0);
        assert!(t.run.capacity() <= RUN_KEPT, "fired: {}", t.run.capacity());
        assert!(keys.iter().all(|&k| !t.is_armed(k)));
        let keys: Vec<TimerKey> = (0..100_000u64)
            .map(|n| t.insert(at + Duration::from_nanos(n), noop()))
            .collect();
        for &key in keys.iter().rev() {
            assert!(t.cancel(key));
        }
        assert!(
            t.run.capacity() <= RUN_KEPT,
            "cancelled: {}",
            t.run.capacity()
        );
        // The run still works after shrinking.
        let log = Rc::new(RefCell::new(Vec::new()));
        t.insert(at, call(&log, 1));
        t.insert(at, call(&log, 2));
        run_due(&mut t, at);
        assert_eq!(*log.borrow(), vec![1, 2]);
    }

    /// The same for the heap: 100 000 timers armed latest first (each
    /// earlier than the last, so all in the heap), fired, then armed again
    /// and cancelled; the emptied heap keeps at most `HEAP_KEPT` entries of
    /// buffer and slots, and its old keys stay stale when a third storm
    /// takes the dropped slots' indexes again.
    #[test]
    fn the_heap_gives_its_buffer_back_once_drained() {
        let mut t = Timers::default();
        let at = Instant::now();
        let storm = |t: &mut Timers| -> Vec<TimerKey> {
            (0..100_000u64)
                .rev()
                .map(|n| t.insert(at + Duration::from_nanos(n + 1), noop()))
                .collect()
        };
        let fired = storm(&mut t);
        assert!(fired[1..].iter().all(|k| matches!(k, TimerKey::Heap(_))));
        assert!(t.heap.capacity() >= 99_999);
        run_due(&mut t, at + Duration::from_secs(1));
        assert_eq!(t.len(), 0);
        assert!(
            t.heap.capacity() <= HEAP_KEPT,
            "fired: {}",
            t.heap.capacity()
        );
        let cancelled = storm(&mut t);
        assert!(t.heap.capacity() >= 99_999);
        for &key in &cancelled {
            assert!(t.cancel(key));
        }
        assert!(
            t.heap.capacity() <= HEAP_KEPT,
            "cancelled: {}",
            t.heap.capacity()
        );
        assert!(
            t.slots.slots_allocated() <= HEAP_KEPT,
            "slots: {}",
            t.slots.slots_allocated()
        );
        assert!(fired.iter().chain(&cancelled).all(|&k| !t.is_armed(k)));
        assert!(fired.iter().chain(&cancelled).all(|&k| !t.cancel(k)));
        // A third storm reuses the dropped slots' indexes: the old keys
        // still name nothing, the new ones their own timers.
        let third = storm(&mut t);
        assert!(fired.iter().chain(&cancelled).all(|&k| !t.is_armed(k)));
        assert!(fired.iter().chain(&cancelled).all(|&k| !t.cancel(k)));
        assert!(third.iter().all(|&k| t.is_armed(k)));
        assert_eq!(t.len(), 100_000);
        for &key in &third {
            assert!(t.cancel(key));
        }
        // The heap still orders after shrinking.
        let log = Rc::new(RefCell::new(Vec::new()));
        t.insert(at + Duration::from_nanos(2), call(&log, 2));
        t.insert(at + Duration::from_nanos(1), call(&log, 1));
        run_due(&mut t, at + Duration::from_nanos(2));
        assert_eq!(*log.borrow(), vec![1, 2]);
    }

    #[test]
    fn earlier_deadline_first_and_not_before_due() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut t = Timers::default();
        let at = Instant::now();
        t.insert(at + Duration::from_secs(2), call(&log, 2));
        t.insert(at + Duration::from_secs(1), call(&log, 1));
        run_due(&mut t, at);
        assert!(log.borrow().is_empty());
        run_due(&mut t, at + Duration::from_secs(5));
        assert_eq!(*log.borrow(), vec![1, 2]);
    }

    #[test]
    fn million_cancelled_timers_leave_nothing_behind() {
        let mut t = Timers::default();
        let at = Instant::now() + Duration::from_secs(10);
        let live = t.insert(at + Duration::from_secs(1), noop());
        for _ in 0..1_000_000 {
            let key = t.insert(at, noop());
            assert!(t.cancel(key));
            assert_eq!(t.len(), 1, "a cancelled timer leaves the heap at once");
        }
        assert!(matches!(live, TimerKey::Run(_)));
        assert_eq!(
            t.slots.slots_allocated(),
            1,
            "the cancelled heap timers' slot is reused"
        );
        assert_eq!(t.next_deadline(), Some(at + Duration::from_secs(1)));
        assert!(t.cancel(live));
        assert_eq!(t.next_deadline(), None);
        assert_eq!(t.counts.cancelled, 1_000_001);
    }

    /// Checks that every armed timer's place names its entry, and that the
    /// run is sorted and has no hole at either end.
    fn check_places(t: &Timers, armed: impl Iterator<Item = TimerKey>) {
        let mut n = 0;
        for key in armed {
            n += 1;
            match key {
                TimerKey::Heap(key) => {
                    let pos = t.slots.get(key).expect("armed").pos;
                    assert_eq!(t.heap[pos].key, key, "a heap timer knows its index");
                }
                TimerKey::Run(number) => {
                    let index = t.find_in_run(number).expect("armed");
                    assert_eq!(t.run[index].number, number);
                }
            }
        }
        assert_eq!(t.len(), n);
        let holes = t.run.iter().filter(|e| e.action.is_none()).count();
        assert_eq!(holes, t.run_holes);
        assert!(t.run.front().is_none_or(|e| e.action.is_some()));
        assert!(t.run.back().is_none_or(|e| e.action.is_some()));
        assert!(t
            .run
            .iter()
            .zip(t.run.iter().skip(1))
            .all(|(a, b)| { (a.when, a.seq) < (b.when, b.seq) && a.number < b.number }));
    }

    /// Random inserts, cancels (from anywhere in the run or the heap) and
    /// pops against a sorted list: the timers fire exactly the armed ones,
    /// in (deadline, insertion) order, and their places stay right.
    /// `deadline(now, r)` picks a deadline (an offset in ms) from a random
    /// number.
    /// Returns the run's compactions.
    fn random_against_model(deadline: fn(u64, u64) -> u64) -> u64 {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut t = Timers::default();
        let base = Instant::now();
        // (deadline offset, id, key), the armed ones.
        let mut model: Vec<(u64, u32, TimerKey)> = Vec::new();
        let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut now = 0;
        for id in 0..20_000u32 {
            match next() % 4 {
                0 | 1 => {
                    let at = deadline(now, next());
                    let key = t.insert(base + Duration::from_millis(at), call(&log, id));
                    model.push((at, id, key));
                }
                2 if !model.is_empty() => {
                    let victim = model.swap_remove((next() % model.len() as u64) as usize);
                    assert!(t.cancel(victim.2));
                    assert!(!t.cancel(victim.2), "cancelled twice");
                }
                _ => {
                    now += next() % 5;
                    run_due(&mut t, base + Duration::from_millis(now));
                    model.sort_by_key(|&(at, id, _)| (at, id));
                    let due = model.partition_point(|&(at, _, _)| at <= now);
                    let fired: Vec<u32> = model.drain(..due).map(|(_, id, _)| id).collect();
                    assert_eq!(std::mem::take(&mut *log.borrow_mut()), fired);
                }
            }
            check_places(&t, model.iter().map(|m| m.2));
        }
        let left = model.len();
        assert_eq!(t.clear().len(), left);
        assert_eq!(t.next_deadline(), None);
        assert_eq!(t.len(), 0);
        t.compactions
    }

    #[test]
    fn cancels_from_the_middle_keep_deadline_then_insertion_order() {
        // Few distinct deadlines: many ties to order by insertion, and
        // timers in both the run and the heap.
        random_against_model(|now, r| now + r % 50);
    }

    #[test]
    fn mostly_in_order_deadlines_fill_the_run_and_compact_it() {
        // Mostly one delay (the run), sometimes a shorter one (the heap).
        let compactions =
            random_against_model(|now, r| if r % 8 == 0 { now + r % 30 } else { now + 40 });
        assert!(compactions > 0, "the run was compacted");
    }

    #[test]
    fn run_and_heap_timers_with_one_deadline_fire_in_arming_order() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut t = Timers::default();
        let at = Instant::now();
        let later = at + Duration::from_secs(1);
        t.insert(later, call(&log, 0)); // run
        t.insert(at, call(&log, 1)); // heap: earlier than the run's last
        t.insert(later, call(&log, 2)); // run
        t.insert(at, call(&log, 3)); // heap
        assert_eq!((t.run.len(), t.heap.len()), (2, 2));
        run_due(&mut t, later);
        assert_eq!(*log.borrow(), vec![1, 3, 0, 2]);
    }

    #[test]
    fn holes_in_the_run_are_compacted_and_skipped() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut t = Timers::default();
        let at = Instant::now();
        let keys: Vec<TimerKey> = (0..200)
            .map(|n| t.insert(at + Duration::from_millis(n), call(&log, n as u32)))
            .collect();
        assert_eq!(t.run.len(), 200);
        // Timers from the middle: holes, until they are half the run.
        for key in &keys[1..=150] {
            assert!(t.cancel(*key));
        }
        // At 100 holes of 200, then at 50 holes of the 100 left.
        assert_eq!(t.compactions, 2);
        assert_eq!(t.run.len(), 50);
        check_places(&t, keys.iter().copied().filter(|k| t.is_armed(*k)));
        run_due(&mut t, at + Duration::from_secs(1));
        let fired: Vec<u32> = (0..200).filter(|n| *n == 0 || *n > 150).collect();
        assert_eq!(*log.borrow(), fired);
        assert_eq!(t.len(), 0);
    }

    /// A timer far in the future, so that earlier ones go to the heap.
    fn fill_run(t: &mut Timers, now: Instant) -> TimerKey {
        t.insert(now + Duration::from_secs(3600), noop())
    }

    #[test]
    fn stale_key_cannot_cancel_a_reused_heap_slot() {
        let mut t = Timers::default();
        let now = Instant::now();
        fill_run(&mut t, now);
        let old = t.insert(now, noop());
        assert!(matches!(old, TimerKey::Heap(_)));
        assert!(t.pop_due(now).is_some());
        let new = t.insert(now, noop());
        assert!(!t.cancel(old));
        assert!(t.is_armed(new));
        assert_eq!(t.slots.slots_allocated(), 1, "the slot was reused");
    }

    #[test]
    fn a_cancelled_heap_timer_key_stays_stale_after_its_slot_is_reused() {
        let mut t = Timers::default();
        let now = Instant::now();
        fill_run(&mut t, now);
        let old = t.insert(now, noop());
        assert!(t.cancel(old));
        assert_eq!(t.len(), 1);
        let new = t.insert(now, noop());
        assert!(!t.is_armed(old));
        assert!(!t.cancel(old), "a stale key cannot cancel the new timer");
        assert!(t.is_armed(new));
        assert_eq!(t.slots.slots_allocated(), 1, "the slot was reused");
    }

    #[test]
    fn a_run_timer_key_stays_stale_after_it_fires_or_is_cancelled() {
        let mut t = Timers::default();
        let now = Instant::now();
        let fired = t.insert(now, noop());
        let cancelled = t.insert(now, noop());
        assert!(matches!(
            (fired, cancelled),
            (TimerKey::Run(_), TimerKey::Run(_))
        ));
        assert!(t.pop_due(now).is_some());
        assert!(t.cancel(cancelled));
        let new = t.insert(now, noop());
        for old in [fired, cancelled] {
            assert!(!t.is_armed(old));
            assert!(!t.cancel(old), "a stale key cannot cancel the new timer");
        }
        assert!(t.is_armed(new));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn run_keys_are_found_after_holes_are_squeezed_out() {
        let mut t = Timers::default();
        let at = Instant::now();
        let keys: Vec<TimerKey> = (0..100)
            .map(|n| t.insert(at + Duration::from_millis(n), noop()))
            .collect();
        for key in &keys[1..=50] {
            assert!(t.cancel(*key));
        }
        assert_eq!(t.compactions, 1);
        for (n, key) in keys.iter().enumerate() {
            assert_eq!(t.is_armed(*key), n == 0 || n > 50, "timer {n}");
            if n > 50 {
                t.set_waker(*key, Waker::noop());
            }
        }
        assert!(t.cancel(keys[70]));
        assert!(!t.is_armed(keys[70]));
        assert!(t.is_armed(keys[71]));
    }
}
