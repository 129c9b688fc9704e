//! Timers: a binary heap ordered by (deadline, sequence number), with
//! asyncio's lazy purge of cancelled entries.
//!
//! Entries live in the crate's [`Slab`] so that a timer costs no allocation
//! of its own and a handle to it is one integer (which keeps `Sleep` `Send`);
//! a stale handle is recognised by the key's generation. Cancelling
//! only marks the slot; the heap entry stays until it reaches the top or a
//! rebuild sweeps it, exactly as asyncio's `_timer_cancelled_count` scheme:
//! when more than half of over 100 entries are cancelled, the heap is rebuilt.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::rc::Rc;
use std::task::Waker;
use std::time::Instant;

use super::callback_handle::CallOnce;
use crate::slab::{Key, Slab};

/// asyncio's `_MIN_SCHEDULED_TIMER_HANDLES`.
const MIN_SCHEDULED_FOR_REBUILD: usize = 100;

/// What happens when a timer is due.
pub(crate) enum Action {
    /// Run a callback (`call_later` / `call_at`) in this iteration.
    Call(Rc<dyn CallOnce>),
    /// Wake a task (`sleep`).
    Wake(Waker),
}

/// Names one timer; a stale key (its timer fired or was purged) names none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerKey(Key);

struct HeapEntry {
    when: Instant,
    seq: u64,
    key: TimerKey,
}

impl PartialEq for HeapEntry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for HeapEntry {}
impl PartialOrd for HeapEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for HeapEntry {
    /// Reversed: `BinaryHeap` is a max-heap and the earliest must be on top.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.when, other.seq).cmp(&(self.when, self.seq))
    }
}

/// A timer still in the heap.
enum TimerState {
    Armed(Action),
    /// Cancelled; its heap entry has not been purged yet.
    Cancelled,
}

/// Counters for the statistics and the tests.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct TimerCounts {
    pub(crate) fired: u64,
    pub(crate) cancelled: u64,
}

#[derive(Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<HeapEntry>,
    /// Every timer with an entry in the heap, armed or cancelled.
    slots: Slab<TimerState>,
    next_seq: u64,
    /// Cancelled entries still in the heap (asyncio's `_timer_cancelled_count`).
    cancelled_in_heap: usize,
    pub(crate) counts: TimerCounts,
}

impl Timers {
    pub(crate) fn insert(&mut self, when: Instant, action: Action) -> TimerKey {
        self.maybe_rebuild();
        let key = TimerKey(self.slots.insert(TimerState::Armed(action)));
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(HeapEntry { when, seq, key });
        key
    }

    /// Cancels an armed timer. Returns whether it was armed (not yet fired,
    /// not already cancelled). The action is dropped at once.
    pub(crate) fn cancel(&mut self, key: TimerKey) -> bool {
        let Some(state) = self.slots.get_mut(key.0) else {
            return false;
        };
        if !matches!(state, TimerState::Armed(_)) {
            return false;
        }
        let action = std::mem::replace(state, TimerState::Cancelled);
        self.cancelled_in_heap += 1;
        self.counts.cancelled += 1;
        drop(action);
        true
    }

    /// Whether `key` is still armed.
    pub(crate) fn is_armed(&self, key: TimerKey) -> bool {
        matches!(self.slots.get(key.0), Some(TimerState::Armed(_)))
    }

    /// Replaces the waker of an armed `Wake` timer (a re-polled `sleep`).
    pub(crate) fn set_waker(&mut self, key: TimerKey, waker: &Waker) {
        if let Some(TimerState::Armed(Action::Wake(w))) = self.slots.get_mut(key.0) {
            if !w.will_wake(waker) {
                *w = waker.clone();
            }
        }
    }

    /// Whether the timer of a heap entry was cancelled (every heap entry's
    /// key is live: an entry leaves the slab only when it leaves the heap).
    #[inline]
    fn is_cancelled(&self, key: TimerKey) -> bool {
        matches!(self.slots.get(key.0), Some(TimerState::Cancelled))
    }

    /// Frees the slot of a timer whose heap entry is gone.
    #[inline]
    fn release(&mut self, key: TimerKey) -> Option<TimerState> {
        self.slots.remove(key.0)
    }

    /// Live timers plus cancelled ones not yet purged.
    #[cfg(test)]
    pub(crate) fn heap_len(&self) -> usize {
        self.heap.len()
    }

    /// Step 1 of an iteration: drop cancelled entries, asyncio style.
    #[inline]
    pub(crate) fn purge(&mut self) {
        if self.heap.is_empty() {
            return;
        }
        if !self.maybe_rebuild() {
            self.purge_top();
        }
    }

    /// Rebuilds the heap without cancelled entries when they are more than
    /// half of over 100 (asyncio's `_MIN_CANCELLED_TIMER_HANDLES_FRACTION`).
    fn maybe_rebuild(&mut self) -> bool {
        let len = self.heap.len();
        if len <= MIN_SCHEDULED_FOR_REBUILD || self.cancelled_in_heap * 2 <= len {
            return false;
        }
        let mut entries = std::mem::take(&mut self.heap).into_vec();
        entries.retain(|e| {
            let cancelled = self.is_cancelled(e.key);
            if cancelled {
                self.slots.remove(e.key.0);
            }
            !cancelled
        });
        self.cancelled_in_heap = 0;
        self.heap = BinaryHeap::from(entries);
        true
    }

    /// The deadline of the earliest live timer.
    #[inline]
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        if self.heap.is_empty() {
            return None;
        }
        self.purge_top();
        self.heap.peek().map(|e| e.when)
    }

    fn purge_top(&mut self) {
        while let Some(top) = self.heap.peek() {
            let key = top.key;
            if !self.is_cancelled(key) {
                return;
            }
            self.heap.pop();
            self.cancelled_in_heap -= 1;
            self.release(key);
        }
    }

    /// Pops the next live timer due at `now`, in (deadline, sequence) order.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Action> {
        loop {
            let top = self.heap.peek()?;
            if top.when > now {
                // Nothing is due; leave the top live for `next_deadline`.
                self.purge_top();
                return None;
            }
            let key = top.key;
            self.heap.pop();
            match self.release(key) {
                Some(TimerState::Armed(action)) => {
                    self.counts.fired += 1;
                    return Some(action);
                }
                Some(TimerState::Cancelled) => self.cancelled_in_heap -= 1,
                None => unreachable!("a heap entry outlived its timer"),
            }
        }
    }

    /// Drops every timer (loop close).
    pub(crate) fn clear(&mut self) -> Vec<Action> {
        let mut actions = Vec::new();
        for entry in std::mem::take(&mut self.heap).into_vec() {
            if let Some(TimerState::Armed(action)) = self.release(entry.key) {
                actions.push(action);
            }
        }
        self.cancelled_in_heap = 0;
        actions
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
    fn million_cancelled_timers_are_swept() {
        let mut t = Timers::default();
        let at = Instant::now() + Duration::from_secs(10);
        for _ in 0..1_000_000 {
            let key = t.insert(at, noop());
            assert!(t.cancel(key));
        }
        // Rebuilds at insert keep the heap near the asyncio bound (live * 2 + 100).
        assert!(
            t.heap_len() <= 2 * MIN_SCHEDULED_FOR_REBUILD + 2,
            "{}",
            t.heap_len()
        );
        assert!(t.slots.slots_allocated() <= 2 * MIN_SCHEDULED_FOR_REBUILD + 2);
        t.purge();
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
    fn a_purged_cancelled_timer_key_stays_stale_after_its_slot_is_reused() {
        let mut t = Timers::default();
        let now = Instant::now();
        let old = t.insert(now, noop());
        assert!(t.cancel(old));
        t.purge();
        assert_eq!(t.heap_len(), 0);
        let new = t.insert(now, noop());
        assert!(!t.is_armed(old));
        assert!(!t.cancel(old), "a stale key cannot cancel the new timer");
        assert!(t.is_armed(new));
        assert_eq!(t.slots.slots_allocated(), 1, "the slot was reused");
    }
}
