//! A FIFO of waiters (asyncio's `_getters` / `_putters` deques), with a
//! per-waiter state so that cancellation never loses a wake-up: the line of
//! the queues' getters, putters and joiners, and of the executor's
//! submitters waiting for room in a bounded job queue.
//!
//! Each waiter owns one slot of a slab; the slots that are *waiting* are
//! linked in FIFO order. Waking the next waiter unlinks the head and marks
//! its slot *notified* (asyncio pops the future at wake time too); the slot
//! stays allocated until its owner comes back for it. So the owner can tell,
//! when it is dropped, whether it took a wake-up it will never use, and pass
//! it on (asyncio's `_wakeup_next` in the `except` branch of `get`/`put`).
//!
//! Only the owner of a slot frees it, so a slot index can never be reused
//! behind its owner's back: no generation counter is needed.

use std::task::Waker;

const NIL: u32 = u32::MAX;

enum SlotState {
    /// Unused; the next free slot.
    Free { next_free: u32 },
    /// Linked in the FIFO, waiting to be woken.
    Waiting(Waker),
    /// Woken and unlinked; the owner has not come back yet.
    Notified,
}

struct Slot {
    state: SlotState,
    prev: u32,
    next: u32,
}

/// What a waiter finds when it looks at its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Still in line.
    Waiting,
    /// Woken: the waiter should re-check its condition.
    Notified,
}

/// The waiters of one kind (a queue's getters, putters or joiners; an
/// executor's waiting submitters).
pub(crate) struct WaiterList {
    slots: Vec<Slot>,
    free_head: u32,
    head: u32,
    tail: u32,
    /// Waiting (linked) slots.
    waiting: usize,
}

impl WaiterList {
    pub(crate) const fn new() -> WaiterList {
        WaiterList {
            slots: Vec::new(),
            free_head: NIL,
            head: NIL,
            tail: NIL,
            waiting: 0,
        }
    }

    /// How many waiters are in line (notified ones are not counted).
    #[inline]
    pub(crate) fn waiting(&self) -> usize {
        self.waiting
    }

    /// Puts a new waiter at the back of the line and returns its slot.
    #[inline]
    pub(crate) fn push_back(&mut self, waker: Waker) -> u32 {
        let index = self.alloc(waker);
        self.link_back(index);
        index
    }

    /// Puts the notified waiter `index` back in line, at the front: it was
    /// woken for an item (or a free place) that someone else took first, and
    /// keeps its place rather than going to the back (asyncio's gh-83055).
    #[inline]
    pub(crate) fn repark_front(&mut self, index: u32, waker: Waker) {
        let slot = &mut self.slots[index as usize];
        debug_assert!(matches!(slot.state, SlotState::Notified));
        slot.state = SlotState::Waiting(waker);
        slot.prev = NIL;
        slot.next = self.head;
        match self.head {
            NIL => self.tail = index,
            head => self.slots[head as usize].prev = index,
        }
        self.head = index;
        self.waiting += 1;
    }

    /// Looks at slot `index`; a waiting one takes `waker` if it differs from
    /// the one it holds (the future moved to another task or executor).
    #[inline]
    pub(crate) fn poll_slot(&mut self, index: u32, waker: &Waker) -> Seen {
        match &mut self.slots[index as usize].state {
            SlotState::Waiting(held) => {
                if !held.will_wake(waker) {
                    held.clone_from(waker);
                }
                Seen::Waiting
            }
            SlotState::Notified => Seen::Notified,
            SlotState::Free { .. } => unreachable!("a waiter looked at a freed slot"),
        }
    }

    /// Wakes the waiter at the front of the line, if any: unlinks it, marks
    /// it notified and returns its waker, to be woken once the lock is
    /// released (asyncio's `_wakeup_next`).
    #[inline]
    pub(crate) fn notify_one(&mut self) -> Option<Waker> {
        if self.head == NIL {
            return None;
        }
        let index = self.head;
        self.unlink(index);
        match std::mem::replace(&mut self.slots[index as usize].state, SlotState::Notified) {
            SlotState::Waiting(waker) => Some(waker),
            _ => unreachable!("a linked waiter was not waiting"),
        }
    }

    /// Wakes every waiter in line (shutdown, `join` completion).
    pub(crate) fn notify_all(&mut self, out: &mut Vec<Waker>) {
        while let Some(waker) = self.notify_one() {
            out.push(waker);
        }
    }

    /// Frees slot `index` (its owner is done with it or was dropped) and
    /// tells whether it had been notified: a notified waiter that leaves
    /// without acting must pass the wake-up on.
    #[inline]
    pub(crate) fn remove(&mut self, index: u32) -> Seen {
        let seen = match self.slots[index as usize].state {
            SlotState::Waiting(_) => {
                self.unlink(index);
                Seen::Waiting
            }
            SlotState::Notified => Seen::Notified,
            SlotState::Free { .. } => unreachable!("a waiter was freed twice"),
        };
        // Dropping the old state drops the waker; the caller holds the lock,
        // but dropping a waker never re-enters the line's owner.
        self.slots[index as usize].state = SlotState::Free {
            next_free: self.free_head,
        };
        self.free_head = index;
        seen
    }

    #[inline]
    fn alloc(&mut self, waker: Waker) -> u32 {
        let slot = Slot {
            state: SlotState::Waiting(waker),
            prev: NIL,
            next: NIL,
        };
        if self.free_head == NIL {
            let index = u32::try_from(self.slots.len())
                .ok()
                .filter(|&i| i != NIL)
                .expect("more than 2^32 - 1 waiters in one line");
            self.slots.push(slot);
            return index;
        }
        let index = self.free_head;
        let old = std::mem::replace(&mut self.slots[index as usize], slot);
        match old.state {
            SlotState::Free { next_free } => self.free_head = next_free,
            _ => unreachable!("the free list held a used slot"),
        }
        index
    }

    #[inline]
    fn link_back(&mut self, index: u32) {
        self.slots[index as usize].prev = self.tail;
        self.slots[index as usize].next = NIL;
        match self.tail {
            NIL => self.head = index,
            tail => self.slots[tail as usize].next = index,
        }
        self.tail = index;
        self.waiting += 1;
    }

    #[inline]
    fn unlink(&mut self, index: u32) {
        let Slot { prev, next, .. } = self.slots[index as usize];
        match prev {
            NIL => self.head = next,
            prev => self.slots[prev as usize].next = next,
        }
        match next {
            NIL => self.tail = prev,
            next => self.slots[next as usize].prev = prev,
        }
        self.waiting -= 1;
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Tag(usize, Arc<AtomicUsize>);
    impl Wake for Tag {
        fn wake(self: Arc<Self>) {
            self.1.store(self.0, Ordering::SeqCst);
        }
    }

    fn waker(tag: usize, last: &Arc<AtomicUsize>) -> Waker {
        Waker::from(Arc::new(Tag(tag, last.clone())))
    }

    #[test]
    fn fifo_order_and_removal_from_the_middle() {
        let last = Arc::new(AtomicUsize::new(0));
        let mut list = WaiterList::new();
        let a = list.push_back(waker(1, &last));
        let b = list.push_back(waker(2, &last));
        let c = list.push_back(waker(3, &last));
        assert_eq!(list.remove(b), Seen::Waiting);
        assert_eq!(list.waiting(), 2);
        list.notify_one().unwrap().wake();
        assert_eq!(last.load(Ordering::SeqCst), 1);
        assert_eq!(list.poll_slot(a, &Waker::noop().clone()), Seen::Notified);
        list.notify_one().unwrap().wake();
        assert_eq!(last.load(Ordering::SeqCst), 3);
        assert!(list.notify_one().is_none());
        assert_eq!(list.remove(a), Seen::Notified);
        assert_eq!(list.remove(c), Seen::Notified);
        // Freed slots are reused.
        let d = list.push_back(waker(4, &last));
        assert!(d == a || d == c);
        assert_eq!(list.slots.len(), 3);
    }

    #[test]
    fn repark_front_keeps_the_place() {
        let last = Arc::new(AtomicUsize::new(0));
        let mut list = WaiterList::new();
        let a = list.push_back(waker(1, &last));
        let _b = list.push_back(waker(2, &last));
        let _ = list.notify_one();
        list.repark_front(a, waker(1, &last));
        list.notify_one().unwrap().wake();
        assert_eq!(last.load(Ordering::SeqCst), 1);
    }
}
