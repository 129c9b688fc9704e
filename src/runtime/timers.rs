//! Timers: a four-ary min-heap ordered by (deadline, sequence number) whose
//! entries can be removed from the middle.
//!
//! Entries live in the crate's [`Slab`] so that a timer costs no allocation
//! of its own and a handle to it is one integer (which keeps `Sleep` `Send`);
//! a stale handle is recognised by the key's generation. Each slot knows
//! where its entry sits in the heap, so cancelling a timer takes its entry
//! out at once (O(log n)) and frees its slot: the heap holds live timers
//! only. asyncio instead marks a cancelled handle and leaves it in its heap
//! until it reaches the top or a rebuild sweeps it; the order in which
//! timers fire is the same either way, but here a cancelled timer costs the
//! loop nothing afterwards (no purge at each iteration, no lookup of the
//! top's state, no rebuild), and ten thousand cancelled timeouts leave no
//! heap behind.

use std::rc::Rc;
use std::task::Waker;
use std::time::Instant;

use super::callback_handle::CallOnce;
use crate::slab::{Key, Slab};

/// Children per heap node. Four rather than two halves the depth, and with
/// it the entries a pop moves, each of which writes its new position into
/// its timer's slot: in W6 (100 000 sleeps fired in deadline order) those
/// writes, scattered over the slab, were most of the loop's own time.
const ARITY: usize = 4;

/// What happens when a timer is due.
pub(crate) enum Action {
    /// Run a callback (`call_later` / `call_at`) in this iteration.
    Call(Rc<dyn CallOnce>),
    /// Wake a task (`sleep`).
    Wake(Waker),
}

/// Names one timer; a stale key (its timer fired or was cancelled) names none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerKey(Key);

#[derive(Clone, Copy)]
struct HeapEntry {
    when: Instant,
    seq: u64,
    key: TimerKey,
}

impl HeapEntry {
    /// Whether `self` fires before `other`: earlier deadline, or the same
    /// deadline and scheduled first.
    #[inline]
    fn before(&self, other: &HeapEntry) -> bool {
        (self.when, self.seq) < (other.when, other.seq)
    }
}

/// An armed timer.
struct Timer {
    action: Action,
    /// Where its entry is in the heap.
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
    /// A min-heap of the armed timers: `heap[0]` fires first, and every
    /// entry fires before its children `4i + 1` to `4i + 4`.
    heap: Vec<HeapEntry>,
    /// Every armed timer; each entry of `heap` names one, and each timer's
    /// `pos` is the index of its entry.
    slots: Slab<Timer>,
    next_seq: u64,
    pub(crate) counts: TimerCounts,
}

impl Timers {
    pub(crate) fn insert(&mut self, when: Instant, action: Action) -> TimerKey {
        let end = self.heap.len();
        let key = TimerKey(self.slots.insert(Timer { action, pos: end }));
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = HeapEntry { when, seq, key };
        self.heap.push(entry);
        let pos = self.sift_up(end, entry);
        if pos != end {
            self.set_pos(key, pos);
        }
        key
    }

    /// Cancels an armed timer. Returns whether it was armed (not yet fired,
    /// not already cancelled). Its entry leaves the heap and its action is
    /// dropped, at once.
    pub(crate) fn cancel(&mut self, key: TimerKey) -> bool {
        let Some(timer) = self.slots.remove(key.0) else {
            return false;
        };
        self.remove_entry(timer.pos);
        self.counts.cancelled += 1;
        drop(timer.action);
        true
    }

    /// Whether `key` is still armed.
    #[inline]
    pub(crate) fn is_armed(&self, key: TimerKey) -> bool {
        self.slots.get(key.0).is_some()
    }

    /// Replaces the waker of an armed `Wake` timer (a re-polled `sleep`).
    pub(crate) fn set_waker(&mut self, key: TimerKey, waker: &Waker) {
        if let Some(Timer {
            action: Action::Wake(w),
            ..
        }) = self.slots.get_mut(key.0)
        {
            if !w.will_wake(waker) {
                *w = waker.clone();
            }
        }
    }

    /// Armed timers (every heap entry is one).
    #[cfg(test)]
    pub(crate) fn heap_len(&self) -> usize {
        self.heap.len()
    }

    /// The deadline of the earliest armed timer.
    #[inline]
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        self.heap.first().map(|e| e.when)
    }

    /// Pops the next timer due at `now`, in (deadline, sequence) order.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Action> {
        let top = self.heap.first()?;
        if top.when > now {
            return None;
        }
        let key = top.key;
        self.remove_entry(0);
        let timer = self
            .slots
            .remove(key.0)
            .expect("every heap entry names an armed timer");
        self.counts.fired += 1;
        Some(timer.action)
    }

    /// Drops every timer (loop close).
    pub(crate) fn clear(&mut self) -> Vec<Action> {
        let mut actions = Vec::with_capacity(self.heap.len());
        for entry in std::mem::take(&mut self.heap) {
            if let Some(timer) = self.slots.remove(entry.key.0) {
                actions.push(timer.action);
            }
        }
        actions
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

    /// Tells the timer `key` that its entry is now at `pos`.
    #[inline]
    fn set_pos(&mut self, key: TimerKey, pos: usize) {
        if let Some(timer) = self.slots.get_mut(key.0) {
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
            assert_eq!(t.heap_len(), 1, "a cancelled timer leaves the heap at once");
        }
        assert_eq!(
            t.slots.slots_allocated(),
            2,
            "the cancelled timers' slot is reused"
        );
        assert_eq!(t.next_deadline(), Some(at + Duration::from_secs(1)));
        assert!(t.cancel(live));
        assert_eq!(t.next_deadline(), None);
        assert_eq!(t.counts.cancelled, 1_000_001);
    }

    /// Random inserts, cancels (from anywhere in the heap) and pops against
    /// a sorted list: the heap fires exactly the armed timers, in
    /// (deadline, insertion) order, and its positions stay right.
    #[test]
    fn cancels_from_the_middle_keep_deadline_then_insertion_order() {
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
                    // Few distinct deadlines: many ties to order by insertion.
                    let at = now + next() % 50;
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
            assert_eq!(t.heap_len(), model.len());
            for &(_, _, key) in &model {
                assert!(t.is_armed(key));
                let pos = t.slots.get(key.0).expect("armed").pos;
                assert_eq!(t.heap[pos].key, key, "a timer knows its heap position");
            }
        }
        let left = model.len();
        assert_eq!(t.clear().len(), left);
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn stale_key_cannot_cancel_a_reused_slot() {
        let mut t = Timers::default();
        let now = Instant::now();
        let old = t.insert(now, noop());
        assert!(t.pop_due(now).is_some());
        let new = t.insert(now, noop());
        assert!(!t.cancel(old));
        assert!(t.is_armed(new));
    }

    #[test]
    fn a_cancelled_timer_key_stays_stale_after_its_slot_is_reused() {
        let mut t = Timers::default();
        let now = Instant::now();
        let old = t.insert(now, noop());
        assert!(t.cancel(old));
        assert_eq!(t.heap_len(), 0);
        let new = t.insert(now, noop());
        assert!(!t.is_armed(old));
        assert!(!t.cancel(old), "a stale key cannot cancel the new timer");
        assert!(t.is_armed(new));
        assert_eq!(t.slots.slots_allocated(), 1, "the slot was reused");
    }
}
