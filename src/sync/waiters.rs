//! The FIFO of parked waiters shared by every primitive in [`crate::sync`]
//! (asyncio's `collections.deque` of futures in `locks.py`).
//!
//! A [`WaitList`] lives inside a primitive's `parking_lot::Mutex`. Each
//! parked future owns one slot, named by a [`WaitKey`], from its first
//! `Pending` until it either sees that it was notified or is dropped. Slots
//! sit in a `Vec` and are chained into a doubly linked FIFO by index, so
//! push, pop and removal from the middle (a cancelled waiter) are all O(1),
//! freed slots are reused, and parking allocates nothing once the `Vec` has
//! grown to the peak number of waiters.
//!
//! Notifying a waiter unlinks its slot, marks it `Notified` and hands its
//! `Waker` back to the caller, who wakes it after releasing the mutex. The
//! slot stays allocated until its owner consumes the notification in
//! [`WaitList::poll`] or gives it back in [`WaitList::remove`]: that is how
//! a waiter chosen and then cancelled learns that it must pass its turn on.

use std::task::{Poll, Waker};

/// No slot: the end of a chain.
const NIL: u32 = u32::MAX;

enum Slot {
    /// Unused; `next` chains the free list.
    Free { next: u32 },
    /// Parked, linked into the FIFO.
    Waiting { waker: Waker, prev: u32, next: u32 },
    /// Chosen by a notify; unlinked, waiting for its owner to look.
    Notified,
}

/// The slot a parked future owns. Valid until the owner consumes it with
/// [`WaitList::poll`] (returning `Ready`) or [`WaitList::remove`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WaitKey(u32);

/// A FIFO of waiter slots; see the module docs.
pub(crate) struct WaitList {
    slots: Vec<Slot>,
    free: u32,
    head: u32,
    tail: u32,
    waiting: usize,
    /// Notified slots whose owner has not looked yet ("in transit").
    notified: usize,
}

impl WaitList {
    /// An empty list; allocates nothing.
    pub(crate) const fn new() -> WaitList {
        WaitList {
            slots: Vec::new(),
            free: NIL,
            head: NIL,
            tail: NIL,
            waiting: 0,
            notified: 0,
        }
    }

    /// How many waiters are parked and not yet notified.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting
    }

    /// Whether nobody waits and no notified waiter is still in transit.
    pub(crate) fn is_idle(&self) -> bool {
        self.waiting == 0 && self.notified == 0
    }

    /// Parks a new waiter at the back of the queue.
    pub(crate) fn push(&mut self, waker: Waker) -> WaitKey {
        let slot = Slot::Waiting {
            waker,
            prev: self.tail,
            next: NIL,
        };
        let index = if self.free != NIL {
            let index = self.free;
            match self.slots[index as usize] {
                Slot::Free { next } => self.free = next,
                _ => unreachable!("free list points at a used slot"),
            }
            self.slots[index as usize] = slot;
            index
        } else {
            let index = u32::try_from(self.slots.len())
                .ok()
                .filter(|&i| i != NIL)
                .expect("more than u32::MAX - 1 parked waiters");
            self.slots.push(slot);
            index
        };
        match self.tail {
            NIL => self.head = index,
            tail => self.set_next(tail, index),
        }
        self.tail = index;
        self.waiting += 1;
        WaitKey(index)
    }

    /// `Ready` if `key` was notified (the slot is then freed and `key` is
    /// dead); otherwise stores `waker` (if it would wake another task) and
    /// stays `Pending`.
    pub(crate) fn poll(&mut self, key: WaitKey, waker: &Waker) -> Poll<()> {
        match &mut self.slots[key.0 as usize] {
            Slot::Notified => {
                self.notified -= 1;
                self.release(key.0);
                Poll::Ready(())
            }
            Slot::Waiting { waker: stored, .. } => {
                if !stored.will_wake(waker) {
                    stored.clone_from(waker);
                }
                Poll::Pending
            }
            Slot::Free { .. } => unreachable!("polled a freed wait slot"),
        }
    }

    /// Frees `key`'s slot (its owner is going away). Returns `true` if the
    /// waiter had been notified and never saw it: the caller must then pass
    /// whatever the notification carried (a lock, a permit) on.
    pub(crate) fn remove(&mut self, key: WaitKey) -> bool {
        let notified = match self.slots[key.0 as usize] {
            Slot::Notified => {
                self.notified -= 1;
                true
            }
            Slot::Waiting { .. } => {
                self.unlink(key.0);
                false
            }
            Slot::Free { .. } => unreachable!("removed a freed wait slot"),
        };
        self.release(key.0);
        notified
    }

    /// Notifies the waiter at the front; returns its waker, to be woken once
    /// the caller has released its mutex. `None` if nobody waits.
    pub(crate) fn notify_one(&mut self) -> Option<Waker> {
        if self.head == NIL {
            return None;
        }
        let index = self.head;
        self.unlink(index);
        self.notified += 1;
        match std::mem::replace(&mut self.slots[index as usize], Slot::Notified) {
            Slot::Waiting { waker, .. } => Some(waker),
            _ => unreachable!("the queue links a slot that is not waiting"),
        }
    }

    /// Notifies up to `n` waiters in FIFO order, pushing their wakers onto
    /// `wakers`. Returns how many were notified.
    pub(crate) fn notify_many(&mut self, n: usize, wakers: &mut Vec<Waker>) -> usize {
        let mut count = 0;
        while count < n {
            match self.notify_one() {
                Some(waker) => wakers.push(waker),
                None => break,
            }
            count += 1;
        }
        count
    }

    /// Notifies every waiter; their wakers in FIFO order.
    pub(crate) fn notify_all(&mut self) -> Vec<Waker> {
        let mut wakers = Vec::with_capacity(self.waiting);
        self.notify_many(usize::MAX, &mut wakers);
        wakers
    }

    fn unlink(&mut self, index: u32) {
        let (prev, next) = match self.slots[index as usize] {
            Slot::Waiting { prev, next, .. } => (prev, next),
            _ => unreachable!("unlinked a slot that is not waiting"),
        };
        match prev {
            NIL => self.head = next,
            prev => self.set_next(prev, next),
        }
        match next {
            NIL => self.tail = prev,
            next => match &mut self.slots[next as usize] {
                Slot::Waiting { prev: p, .. } => *p = prev,
                _ => unreachable!("the queue links a slot that is not waiting"),
            },
        }
        self.waiting -= 1;
    }

    fn set_next(&mut self, index: u32, value: u32) {
        match &mut self.slots[index as usize] {
            Slot::Waiting { next, .. } => *next = value,
            _ => unreachable!("the queue links a slot that is not waiting"),
        }
    }

    fn release(&mut self, index: u32) {
        self.slots[index as usize] = Slot::Free { next: self.free };
        self.free = index;
    }
}

/// Wakes every waker; call it only after the primitive's mutex is released.
pub(crate) fn wake_all(wakers: Vec<Waker>) {
    for waker in wakers {
        waker.wake();
    }
}

impl std::fmt::Debug for WaitList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitList")
            .field("waiting", &self.waiting)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Flag(AtomicUsize);

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<Flag>, Waker) {
        let flag = Arc::new(Flag(AtomicUsize::new(0)));
        (flag.clone(), Waker::from(flag))
    }

    #[test]
    fn notify_one_is_fifo_and_skips_removed_waiters() {
        let mut list = WaitList::new();
        let (_, w) = waker();
        let a = list.push(w.clone());
        let b = list.push(w.clone());
        let c = list.push(w.clone());
        assert!(!list.remove(b));
        assert_eq!(list.waiting(), 2);
        assert!(list.notify_one().is_some());
        assert_eq!(list.poll(a, &w), Poll::Ready(()));
        assert_eq!(list.poll(c, &w), Poll::Pending);
        assert!(list.notify_one().is_some());
        assert!(list.notify_one().is_none());
        assert!(!list.is_idle(), "c is in transit");
        assert!(list.remove(c), "c was notified and never looked");
        assert_eq!(list.waiting(), 0);
        assert!(list.is_idle());
    }

    #[test]
    fn freed_slots_are_reused() {
        let mut list = WaitList::new();
        let (_, w) = waker();
        for _ in 0..100 {
            let k = list.push(w.clone());
            list.remove(k);
        }
        assert_eq!(list.slots.len(), 1);
    }

    #[test]
    fn poll_replaces_a_waker_for_another_task() {
        let mut list = WaitList::new();
        let (first, w1) = waker();
        let (second, w2) = waker();
        let k = list.push(w1);
        assert_eq!(list.poll(k, &w2), Poll::Pending);
        list.notify_one().unwrap().wake();
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn notify_many_stops_at_n_and_removing_the_tail_relinks() {
        let mut list = WaitList::new();
        let (_, w) = waker();
        let keys: Vec<_> = (0..5).map(|_| list.push(w.clone())).collect();
        assert!(!list.remove(keys[4]));
        let mut wakers = Vec::new();
        assert_eq!(list.notify_many(2, &mut wakers), 2);
        assert_eq!(list.waiting(), 2);
        let k = list.push(w.clone());
        assert_eq!(list.notify_many(10, &mut wakers), 3);
        for key in [keys[0], keys[1], keys[2], keys[3], k] {
            assert_eq!(list.poll(key, &w), Poll::Ready(()));
        }
    }
}
