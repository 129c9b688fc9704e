//! The three orders a queue can hand its items out in, and the store behind
//! each (asyncio's `_init`, `_put`, `_get` hooks): FIFO on a `VecDeque`,
//! LIFO on a `Vec`, smallest-first on a `BinaryHeap` with an insertion
//! sequence so that equal items come out in the order they went in.
//!
//! [`Order`] is the public, sealed link from a marker type ([`Fifo`],
//! [`Lifo`], [`Priority`]) to its private store.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// Where a queue keeps its items. The waiter algorithm is the same for all.
pub trait Store {
    /// What the queue holds.
    type Item;
    /// An empty store.
    fn new() -> Self;
    /// Adds an item.
    fn push(&mut self, item: Self::Item);
    /// Takes the next item out, in the store's order.
    fn pop(&mut self) -> Option<Self::Item>;
    /// How many items are stored.
    fn len(&self) -> usize;
    /// Takes every item out (immediate shutdown); the caller drops them
    /// once the queue's lock is released.
    fn take_all(&mut self) -> Self;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Fifo {}
    impl Sealed for super::Lifo {}
    impl Sealed for super::Priority {}
}

/// The order in which a [`GenericQueue`](super::GenericQueue) of `T` hands
/// out its items: [`Fifo`], [`Lifo`] or [`Priority`] (the last only for
/// `T: Ord`). Sealed: these three are all there is.
///
/// # Examples
///
/// ```
/// use tulipa::queue::{GenericQueue, Lifo};
///
/// let q: GenericQueue<u8, Lifo> = GenericQueue::unbounded();
/// q.try_put(1).unwrap();
/// q.try_put(2).unwrap();
/// assert_eq!(q.try_get(), Ok(2));
/// ```
///
/// A priority queue of items without an order does not compile:
///
/// ```compile_fail
/// struct Unordered;
/// let q = tulipa::PriorityQueue::<Unordered>::unbounded();
/// ```
pub trait Order<T>: sealed::Sealed {
    #[doc(hidden)]
    type Store: Store<Item = T>;
    /// The name `Debug` shows: `"Queue"`, `"LifoQueue"` or `"PriorityQueue"`.
    #[doc(hidden)]
    const NAME: &'static str;
}

/// First in, first out: the order of [`Queue`](crate::Queue) (asyncio's
/// `Queue`). A marker type with no values.
///
/// # Examples
///
/// ```
/// let q: tulipa::queue::GenericQueue<_, tulipa::queue::Fifo> = tulipa::Queue::unbounded();
/// q.try_put('a').unwrap();
/// q.try_put('b').unwrap();
/// assert_eq!(q.try_get(), Ok('a'));
/// ```
#[derive(Debug)]
pub enum Fifo {}

/// Last in, first out: the order of [`LifoQueue`](crate::LifoQueue)
/// (asyncio's `LifoQueue`). A marker type with no values.
///
/// # Examples
///
/// ```
/// let q: tulipa::queue::GenericQueue<_, tulipa::queue::Lifo> = tulipa::LifoQueue::unbounded();
/// q.try_put('a').unwrap();
/// q.try_put('b').unwrap();
/// assert_eq!(q.try_get(), Ok('b'));
/// ```
#[derive(Debug)]
pub enum Lifo {}

/// Smallest first, equal items in the order they were put: the order of
/// [`PriorityQueue`](crate::PriorityQueue) (asyncio's `PriorityQueue`). A
/// marker type with no values.
///
/// # Examples
///
/// ```
/// let q: tulipa::queue::GenericQueue<_, tulipa::queue::Priority> = tulipa::PriorityQueue::unbounded();
/// q.try_put(3).unwrap();
/// q.try_put(1).unwrap();
/// assert_eq!(q.try_get(), Ok(1));
/// ```
#[derive(Debug)]
pub enum Priority {}

impl<T> Order<T> for Fifo {
    type Store = VecDeque<T>;
    const NAME: &'static str = "Queue";
}

impl<T> Order<T> for Lifo {
    type Store = Vec<T>;
    const NAME: &'static str = "LifoQueue";
}

impl<T: Ord> Order<T> for Priority {
    type Store = Heap<T>;
    const NAME: &'static str = "PriorityQueue";
}

impl<T> Store for VecDeque<T> {
    type Item = T;

    fn new() -> Self {
        VecDeque::new()
    }

    #[inline]
    fn push(&mut self, item: T) {
        self.push_back(item);
    }

    #[inline]
    fn pop(&mut self) -> Option<T> {
        self.pop_front()
    }

    #[inline]
    fn len(&self) -> usize {
        VecDeque::len(self)
    }

    fn take_all(&mut self) -> Self {
        std::mem::take(self)
    }
}

impl<T> Store for Vec<T> {
    type Item = T;

    fn new() -> Self {
        Vec::new()
    }

    #[inline]
    fn push(&mut self, item: T) {
        Vec::push(self, item);
    }

    #[inline]
    fn pop(&mut self) -> Option<T> {
        Vec::pop(self)
    }

    #[inline]
    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn take_all(&mut self) -> Self {
        std::mem::take(self)
    }
}

/// The priority store: a max-heap of entries whose order is reversed, with
/// an insertion sequence to break ties first-in first-out.
pub struct Heap<T> {
    heap: BinaryHeap<Entry<T>>,
    next_seq: u64,
}

impl<T> std::fmt::Debug for Heap<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Heap")
            .field("len", &self.heap.len())
            .finish()
    }
}

struct Entry<T> {
    item: T,
    seq: u64,
}

impl<T: Ord> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .item
            .cmp(&self.item)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

impl<T: Ord> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: Ord> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<T: Ord> Eq for Entry<T> {}

impl<T: Ord> Store for Heap<T> {
    type Item = T;

    fn new() -> Self {
        Heap {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }

    fn push(&mut self, item: T) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { item, seq });
    }

    fn pop(&mut self) -> Option<T> {
        self.heap.pop().map(|e| e.item)
    }

    fn len(&self) -> usize {
        self.heap.len()
    }

    fn take_all(&mut self) -> Self {
        Heap {
            heap: std::mem::take(&mut self.heap),
            next_seq: self.next_seq,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn drain<S: Store>(mut s: S, items: &[S::Item]) -> Vec<S::Item>
    where
        S::Item: Clone,
    {
        for i in items {
            s.push(i.clone());
        }
        std::iter::from_fn(|| s.pop()).collect()
    }

    #[test]
    fn orders() {
        assert_eq!(drain(VecDeque::new(), &[1, 3, 2]), [1, 3, 2]);
        assert_eq!(drain(Vec::new(), &[1, 3, 2]), [2, 3, 1]);
        assert_eq!(drain(Heap::new(), &[1, 3, 2]), [1, 2, 3]);
    }

    #[test]
    fn priority_ties_come_out_in_insertion_order() {
        #[derive(Clone, Debug, PartialEq, Eq)]
        struct Job(u8, &'static str);
        impl Ord for Job {
            fn cmp(&self, o: &Self) -> Ordering {
                self.0.cmp(&o.0)
            }
        }
        impl PartialOrd for Job {
            fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
                Some(self.cmp(o))
            }
        }
        let jobs = [
            Job(2, "a"),
            Job(1, "b"),
            Job(2, "c"),
            Job(1, "d"),
            Job(2, "e"),
        ];
        let names: Vec<_> = drain(Heap::new(), &jobs).iter().map(|j| j.1).collect();
        assert_eq!(names, ["b", "d", "a", "c", "e"]);
    }
}
