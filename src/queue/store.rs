//! The three item stores behind one private trait (asyncio's `_init`,
//! `_put`, `_get` hooks): FIFO on a `VecDeque`, LIFO on a `Vec`, and
//! smallest-first on a `BinaryHeap` with an insertion sequence so that
//! equal items come out in the order they went in.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// Where a queue keeps its items. The waiter algorithm is the same for all.
pub(crate) trait Store {
    type Item;
    fn new() -> Self;
    fn push(&mut self, item: Self::Item);
    fn pop(&mut self) -> Option<Self::Item>;
    fn len(&self) -> usize;
    /// Takes every item out (immediate shutdown); the caller drops them
    /// once the queue's lock is released.
    fn take_all(&mut self) -> Self;
}

/// First in, first out (`asyncio.Queue`).
pub(crate) struct Fifo<T>(VecDeque<T>);

impl<T> Store for Fifo<T> {
    type Item = T;

    fn new() -> Self {
        Fifo(VecDeque::new())
    }

    #[inline]
    fn push(&mut self, item: T) {
        self.0.push_back(item);
    }

    #[inline]
    fn pop(&mut self) -> Option<T> {
        self.0.pop_front()
    }

    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }

    fn take_all(&mut self) -> Self {
        Fifo(std::mem::take(&mut self.0))
    }
}

/// Last in, first out (`asyncio.LifoQueue`).
pub(crate) struct Lifo<T>(Vec<T>);

impl<T> Store for Lifo<T> {
    type Item = T;

    fn new() -> Self {
        Lifo(Vec::new())
    }

    #[inline]
    fn push(&mut self, item: T) {
        self.0.push(item);
    }

    #[inline]
    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }

    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }

    fn take_all(&mut self) -> Self {
        Lifo(std::mem::take(&mut self.0))
    }
}

/// Smallest first, equal items in insertion order (`asyncio.PriorityQueue`).
pub(crate) struct Priority<T> {
    heap: BinaryHeap<Entry<T>>,
    next_seq: u64,
}

/// A heap entry: the heap is a max-heap, so the order is reversed.
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

impl<T: Ord> Store for Priority<T> {
    type Item = T;

    fn new() -> Self {
        Priority {
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
        Priority {
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
        assert_eq!(drain(Fifo::new(), &[1, 3, 2]), [1, 3, 2]);
        assert_eq!(drain(Lifo::new(), &[1, 3, 2]), [2, 3, 1]);
        assert_eq!(drain(Priority::new(), &[1, 3, 2]), [1, 2, 3]);
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
        let names: Vec<_> = drain(Priority::new(), &jobs).iter().map(|j| j.1).collect();
        assert_eq!(names, ["b", "d", "a", "c", "e"]);
    }
}
