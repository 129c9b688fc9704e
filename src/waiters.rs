//! The waiter line: a FIFO of waiters with a per-waiter state, so that
//! cancellation never loses a wake-up (asyncio's `_getters` / `_putters`
//! deques in `queues.py`, and the `_waiters` deques in `locks.py`). It is
//! the line of the queues' getters, putters and joiners, of every primitive
//! in [`crate::sync`], of the executor's submitters waiting for room in
//! a bounded job queue, and of the runs of a [`Timeout`](crate::Timeout)
//! scope waiting for its deadline to move.
//!
//! A [`WaiterList`] lives inside its owner's mutex (or, for a loop-bound
//! owner, its `RefCell`). Each waiter owns one
//! slot, named by its index, from its first `Pending` until it is done
//! waiting or is dropped. Slots sit in a `Vec` and the *waiting* ones are
//! chained into a doubly linked FIFO by index, so push, pop and removal
//! from the middle (a cancelled waiter) are all O(1), freed slots are
//! reused, and waiting allocates nothing once the `Vec` has grown to the
//! peak number of waiters.
//!
//! Notifying the next waiter unlinks the head, marks its slot *notified*
//! (asyncio pops the future at wake time too) and hands its `Waker` back,
//! to be woken once the owner's mutex is released. The slot stays
//! allocated until its owner comes back for it. So the owner can tell, when
//! it is dropped, whether it took a wake-up it will never use, and pass it
//! on (asyncio's `_wakeup_next` in the `except` branch of `get` / `put`, and
//! `Lock._wake_up_first` in `acquire`).
//!
//! The owner comes back in one of two ways. A queue's waiter looks with
//! [`WaiterList::poll_slot`], which keeps the slot, re-checks its condition
//! and, if someone else took the item first, goes back to the front with
//! [`WaiterList::rejoin_front`]. A sync waiter, to which the notification
//! itself hands what it waited for (a lock, a permit), consumes it with
//! [`WaiterList::poll_notified`], which frees the slot.
//!
//! Only the owner of a slot frees it, so a slot index can never be reused
//! behind its owner's back: no generation counter is needed.

use std::task::{Poll, Waker};

use crate::runtime::raw_task::ThinWaker;

const NIL: u32 = u32::MAX;

/// Slot indices stay below this, so that an owner may keep a few values
/// above it as markers of its own (e.g. "not in line", "done").
pub(crate) const MAX_SLOTS: u32 = u32::MAX - 16;

/// `prev` of a free slot (whose `next` is the next free slot).
const FREE: u32 = u32::MAX - 1;
/// `prev` of a notified slot: woken and unlinked, the owner has not come
/// back yet.
const NOTIFIED: u32 = u32::MAX - 2;

/// One waiter, in 16 bytes: a slot holding a waker is linked in the FIFO,
/// waiting to be woken; one without is free or notified, which its `prev`
/// tells ([`FREE`], [`NOTIFIED`]; neither is a slot index).
struct Slot {
    waker: Option<ThinWaker>,
    prev: u32,
    next: u32,
}

#[cfg(not(loom))]
const _: () = assert!(std::mem::size_of::<Slot>() == 16);
const _: () = assert!(NOTIFIED >= MAX_SLOTS && FREE >= MAX_SLOTS);

/// What a waiter finds when it looks at its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Still in line.
    Waiting,
    /// Woken: the waiter should re-check its condition (or, leaving, pass
    /// the wake-up on).
    Notified,
}

/// One line of waiters (a queue's getters, putters or joiners; a sync
/// primitive's waiters; an executor's waiting submitters).
pub(crate) struct WaiterList {
    slots: Vec<Slot>,
    free_head: u32,
    head: u32,
    tail: u32,
    /// Waiting (linked) slots.
    waiting: usize,
    /// Notified slots whose owner has not come back yet ("in transit").
    notified: usize,
}

impl WaiterList {
    /// An empty line; allocates nothing.
    pub(crate) const fn new() -> WaiterList {
        WaiterList {
            slots: Vec::new(),
            free_head: NIL,
            head: NIL,
            tail: NIL,
            waiting: 0,
            notified: 0,
        }
    }

    /// How many waiters are in line (notified ones are not counted).
    #[inline]
    pub(crate) fn waiting(&self) -> usize {
        self.waiting
    }

    /// Whether nobody waits and no notified waiter is still in transit.
    #[inline]
    pub(crate) fn is_idle(&self) -> bool {
        self.waiting == 0 && self.notified == 0
    }

    /// Puts a new waiter at the back of the line and returns its slot.
    #[inline]
    pub(crate) fn push_back(&mut self, waker: &Waker) -> u32 {
        let index = self.alloc(waker);
        self.link_back(index);
        index
    }

    /// Puts the notified waiter `index` back in line, at the front. A
    /// waiter woken for an item (or a free place) that someone else took
    /// first keeps its place rather than going to the back (asyncio's
    /// gh-83055); a run of a `Timeout` woken by `reschedule` waits on.
    #[inline]
    pub(crate) fn rejoin_front(&mut self, index: u32, waker: &Waker) {
        let slot = &mut self.slots[index as usize];
        debug_assert!(slot.waker.is_none() && slot.prev == NOTIFIED);
        slot.waker = Some(ThinWaker::from_ref(waker));
        slot.prev = NIL;
        slot.next = self.head;
        match self.head {
            NIL => self.tail = index,
            head => self.slots[head as usize].prev = index,
        }
        self.head = index;
        self.notified -= 1;
        self.waiting += 1;
    }

    /// Keeps a waiter in line with `waker`: one without a slot (`None`)
    /// joins at the back and `slot` takes its index; one whose slot was
    /// notified, but must wait again, goes back to the front
    /// ([`rejoin_front`](WaiterList::rejoin_front)). A `Some` slot must be
    /// notified.
    #[inline]
    pub(crate) fn wait_in_line(&mut self, slot: &mut Option<u32>, waker: &Waker) {
        match *slot {
            Some(index) => self.rejoin_front(index, waker),
            None => *slot = Some(self.push_back(waker)),
        }
    }

    /// Looks at slot `index`, keeping it; a waiting one takes `waker` if it
    /// differs from the one it holds (the future moved to another task or
    /// executor).
    #[inline]
    pub(crate) fn poll_slot(&mut self, index: u32, waker: &Waker) -> Seen {
        let slot = &mut self.slots[index as usize];
        match &mut slot.waker {
            Some(held) => {
                held.set(waker);
                Seen::Waiting
            }
            None if slot.prev == NOTIFIED => Seen::Notified,
            None => unreachable!("a waiter looked at a freed slot"),
        }
    }

    /// `Ready` once slot `index` was notified: the notification is consumed
    /// and the slot freed (`index` is then dead). Otherwise as
    /// [`poll_slot`](WaiterList::poll_slot), and `Pending`.
    #[inline]
    pub(crate) fn poll_notified(&mut self, index: u32, waker: &Waker) -> Poll<()> {
        match self.poll_slot(index, waker) {
            Seen::Waiting => Poll::Pending,
            Seen::Notified => {
                self.remove(index);
                Poll::Ready(())
            }
        }
    }

    /// Wakes the waiter at the front of the line, if any: unlinks it, marks
    /// it notified and returns its waker, to be woken once the lock is
    /// released (asyncio's `_wakeup_next`).
    #[inline]
    pub(crate) fn notify_one(&mut self) -> Option<Waker> {
        // Checked here, inlined into every caller, so that an empty line
        // (a queue's putters, nearly always) costs no call.
        if self.head == NIL {
            return None;
        }
        Some(self.notify_head())
    }

    /// [`notify_one`](Self::notify_one) of a line with a waiter in it.
    #[inline(never)]
    fn notify_head(&mut self) -> Waker {
        let index = self.head;
        self.unlink(index);
        self.notified += 1;
        let slot = &mut self.slots[index as usize];
        slot.prev = NOTIFIED;
        let waker = slot.waker.take().expect("a linked waiter was waiting");
        waker.into_waker()
    }

    /// Wakes up to `n` waiters in FIFO order, pushing their wakers onto
    /// `out`; returns how many.
    pub(crate) fn notify_many(&mut self, n: usize, out: &mut Vec<Waker>) -> usize {
        let mut count = 0;
        while count < n {
            match self.notify_one() {
                Some(waker) => out.push(waker),
                None => break,
            }
            count += 1;
        }
        count
    }

    /// Wakes every waiter in line, in FIFO order (shutdown, `join`
    /// completion, `Event::set`, a barrier's round).
    pub(crate) fn notify_all(&mut self, out: &mut Vec<Waker>) {
        self.notify_many(usize::MAX, out);
    }

    /// Frees the notified slot `index` of a waiter that has just acted on
    /// its wake-up (it looked with [`poll_slot`](WaiterList::poll_slot)
    /// and found what it waited for): [`remove`](WaiterList::remove) for
    /// the case the owner knows, with no waker to look at.
    #[inline]
    pub(crate) fn free_notified(&mut self, index: u32) {
        let slot = &mut self.slots[index as usize];
        assert!(
            slot.waker.is_none() && slot.prev == NOTIFIED,
            "a waiter freed a slot that was not notified"
        );
        self.notified -= 1;
        self.push_free(index);
    }

    /// Frees slot `index` (its owner is done with it or was dropped) and
    /// tells whether it had been notified: a notified waiter that leaves
    /// without acting must pass the wake-up on.
    #[inline]
    pub(crate) fn remove(&mut self, index: u32) -> Seen {
        // The caller holds the lock while the waker drops here, but dropping
        // a waker never re-enters the owner of a mutex-guarded line.
        self.remove_keeping_waker(index).0
    }

    /// As [`remove`](WaiterList::remove), but hands back the waker of a
    /// waiting slot rather than dropping it, for an owner that drops it
    /// only once its borrow of the line has ended (a line in a `RefCell`,
    /// which a waker's drop running arbitrary code could reach again).
    #[inline]
    pub(crate) fn remove_keeping_waker(&mut self, index: u32) -> (Seen, Option<Waker>) {
        let slot = &mut self.slots[index as usize];
        let taken = match slot.waker.take() {
            Some(waker) => {
                self.unlink(index);
                (Seen::Waiting, Some(waker.into_waker()))
            }
            None if slot.prev == NOTIFIED => {
                self.notified -= 1;
                (Seen::Notified, None)
            }
            None => unreachable!("a waiter was freed twice"),
        };
        self.push_free(index);
        taken
    }

    /// Puts the emptied slot `index` at the head of the free list.
    #[inline]
    fn push_free(&mut self, index: u32) {
        let slot = &mut self.slots[index as usize];
        slot.prev = FREE;
        slot.next = self.free_head;
        self.free_head = index;
    }

    /// Always inlined: out of line it cost W2 32M instructions in 4.2G
    /// (callgrind), the call's own overhead.
    #[inline(always)]
    fn alloc(&mut self, waker: &Waker) -> u32 {
        // `from_ref` clones a task waker with no call through its vtable.
        let waker = ThinWaker::from_ref(waker);
        if self.free_head == NIL {
            return self.alloc_new(waker);
        }
        let index = self.free_head;
        let free = &mut self.slots[index as usize];
        assert!(
            free.waker.is_none() && free.prev == FREE,
            "the free list held a used slot"
        );
        self.free_head = free.next;
        // Field by field: a whole `Slot` built on the stack and copied in
        // one 16-byte move stalls on store forwarding (W2's hottest spot).
        free.waker = Some(waker);
        free.prev = NIL;
        free.next = NIL;
        index
    }

    /// [`alloc`](Self::alloc) with no free slot: the line grows by one.
    /// Out of line, so that the common path (a free slot reused) keeps
    /// few registers live.
    #[cold]
    #[inline(never)]
    fn alloc_new(&mut self, waker: ThinWaker) -> u32 {
        let index = u32::try_from(self.slots.len())
            .ok()
            .filter(|&i| i < MAX_SLOTS)
            .expect("more than 2^32 - 17 waiters in one line");
        self.slots.push(Slot {
            waker: Some(waker),
            prev: NIL,
            next: NIL,
        });
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

/// Wakes every waker; call it only once the owner's mutex is released.
pub(crate) fn wake_all(wakers: Vec<Waker>) {
    wakers.into_iter().for_each(Waker::wake);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    /// Records its tag as the last one woken, and counts its wake-ups.
    struct Tag(usize, Arc<AtomicUsize>, AtomicUsize);

    impl Wake for Tag {
        fn wake(self: Arc<Self>) {
            self.1.store(self.0, Ordering::SeqCst);
            self.2.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn tagged(tag: usize, last: &Arc<AtomicUsize>) -> (Arc<Tag>, Waker) {
        let tag = Arc::new(Tag(tag, last.clone(), AtomicUsize::new(0)));
        (tag.clone(), Waker::from(tag))
    }

    fn waker(tag: usize, last: &Arc<AtomicUsize>) -> Waker {
        tagged(tag, last).1
    }

    #[test]
    fn fifo_order_and_removal_from_the_middle() {
        let last = Arc::new(AtomicUsize::new(0));
        let mut list = WaiterList::new();
        let a = list.push_back(&waker(1, &last));
        let b = list.push_back(&waker(2, &last));
        let c = list.push_back(&waker(3, &last));
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
        let d = list.push_back(&waker(4, &last));
        assert!(d == a || d == c);
        assert_eq!(list.slots.len(), 3);
    }

    #[test]
    fn rejoin_front_keeps_the_place_and_ends_the_transit() {
        let last = Arc::new(AtomicUsize::new(0));
        let mut list = WaiterList::new();
        let a = list.push_back(&waker(1, &last));
        let _b = list.push_back(&waker(2, &last));
        let _ = list.notify_one();
        assert_eq!((list.waiting(), list.notified), (1, 1));
        list.rejoin_front(a, &waker(1, &last));
        assert_eq!((list.waiting(), list.notified), (2, 0));
        list.notify_one().unwrap().wake();
        assert_eq!(last.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn wait_in_line_joins_at_the_back_then_rejoins_at_the_front() {
        let last = Arc::new(AtomicUsize::new(0));
        let mut list = WaiterList::new();
        let _a = list.push_back(&waker(1, &last));
        let mut slot = None;
        list.wait_in_line(&mut slot, &waker(2, &last));
        let b = slot.expect("a new waiter takes a slot");
        assert_eq!(list.waiting(), 2);
        let mut woken = Vec::new();
        assert_eq!(list.notify_many(2, &mut woken), 2);
        list.wait_in_line(&mut slot, &waker(2, &last));
        assert_eq!(slot, Some(b), "a rejoining waiter keeps its slot");
        assert_eq!((list.waiting(), list.notified), (1, 1));
        list.notify_one().unwrap().wake();
        assert_eq!(last.load(Ordering::SeqCst), 2, "back at the front");
    }

    #[test]
    fn a_notified_waiter_in_transit_keeps_the_line_busy_until_it_looks() {
        let last = Arc::new(AtomicUsize::new(0));
        let mut list = WaiterList::new();
        let a = list.push_back(&waker(1, &last));
        let c = list.push_back(&waker(3, &last));
        assert!(list.notify_one().is_some());
        assert_eq!(list.poll_notified(a, Waker::noop()), Poll::Ready(()));
        assert_eq!(list.poll_notified(c, Waker::noop()), Poll::Pending);
        assert!(list.notify_one().is_some());
        assert!(list.notify_one().is_none());
        assert_eq!(list.waiting(), 0);
        assert!(!list.is_idle(), "c is in transit");
        assert_eq!(list.remove(c), Seen::Notified, "c never looked");
        assert!(list.is_idle());
    }

    #[test]
    fn a_consumed_slot_is_freed_and_reused() {
        let last = Arc::new(AtomicUsize::new(0));
        let mut list = WaiterList::new();
        for _ in 0..100 {
            let k = list.push_back(&waker(1, &last));
            let _ = list.notify_one();
            assert_eq!(list.poll_notified(k, Waker::noop()), Poll::Ready(()));
        }
        assert_eq!(list.slots.len(), 1);
        assert!(list.is_idle());
    }

    #[test]
    fn poll_slot_replaces_a_waker_for_another_task() {
        let last = Arc::new(AtomicUsize::new(0));
        let mut list = WaiterList::new();
        let (first, w1) = tagged(1, &last);
        let (second, w2) = tagged(2, &last);
        let k = list.push_back(&w1);
        assert_eq!(list.poll_slot(k, &w2), Seen::Waiting);
        list.notify_one().unwrap().wake();
        assert_eq!(first.2.load(Ordering::SeqCst), 0);
        assert_eq!(second.2.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn notify_many_stops_at_n_and_removing_the_tail_relinks() {
        let last = Arc::new(AtomicUsize::new(0));
        let mut list = WaiterList::new();
        let keys: Vec<_> = (0..5).map(|i| list.push_back(&waker(i, &last))).collect();
        assert_eq!(list.remove(keys[4]), Seen::Waiting);
        let mut wakers = Vec::new();
        assert_eq!(list.notify_many(2, &mut wakers), 2);
        assert_eq!(list.waiting(), 2);
        let k = list.push_back(&waker(9, &last));
        assert_eq!(list.notify_many(10, &mut wakers), 3);
        wake_all(wakers);
        assert_eq!(last.load(Ordering::SeqCst), 9, "woken in FIFO order");
        for key in [keys[0], keys[1], keys[2], keys[3], k] {
            assert_eq!(list.poll_notified(key, Waker::noop()), Poll::Ready(()));
        }
        assert!(list.is_idle());
    }

    #[test]
    fn remove_keeping_waker_hands_back_only_a_waiting_slots_waker() {
        let last = Arc::new(AtomicUsize::new(0));
        let mut list = WaiterList::new();
        let (tag, w) = tagged(1, &last);
        let a = list.push_back(&w);
        let b = list.push_back(&waker(2, &last));
        let (seen, kept) = list.remove_keeping_waker(a);
        assert_eq!(seen, Seen::Waiting);
        kept.expect("a waiting slot hands its waker back").wake();
        assert_eq!(tag.2.load(Ordering::SeqCst), 1);
        assert_eq!(list.waiting(), 1);
        let _ = list.notify_one();
        let (seen, kept) = list.remove_keeping_waker(b);
        assert_eq!(seen, Seen::Notified);
        assert!(
            kept.is_none(),
            "a notified slot's waker was handed out already"
        );
        assert!(list.is_idle());
    }
}
