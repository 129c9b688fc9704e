//! The slab: values in reusable slots, named by keys that carry the slot's
//! generation, so that a key outlives its value safely.
//!
//! One structure serves every loop-side table whose entries are named from
//! outside by a small copyable key: the reactor's I/O registrations (a key
//! is the mio token, and an event queued by the kernel for a source removed
//! since names a stale key), the timers (a `Sleep` or a `TimerHandle` holds
//! a key to its timer), and a `TaskGroup`'s children (each child holds the
//! key of its cancel handle). A stale key — one whose value was removed,
//! even if its slot now holds another value — is rejected by every method:
//! `get` and `remove` return `None`.
//!
//! Tasks do not live here: a task is a reference-counted allocation of its
//! own (`runtime/raw_task.rs`) whose wakers point at it directly, so it
//! needs no key to look up. Nor do waiters: the waiter line
//! (`src/waiters.rs`) links its slots into a FIFO by index, and only a
//! slot's owner frees it, so its indexes need no generation.
//!
//! A key is one `usize`: the slot index in the low half, the generation in
//! the high half, whose top bit is never set. So no key equals `usize::MAX`,
//! the token of the selector's cross-thread waker, and a key can be a mio
//! token as it is. A slot's generation moves on each time its value is
//! removed; a slot whose generation is exhausted (after 2³¹ − 1 reuses on a
//! 64-bit target) is retired rather than wrapped, so a key is never issued
//! twice. The index half bounds a slab to 2³² − 1 values at once on 64-bit
//! targets (2¹⁶ − 1 on 32-bit ones).
//!
//! Vacant slots are chained into a free list through the slots themselves,
//! so inserting after a removal allocates nothing and reuses the most
//! recently freed slot. An emptied slab can give back the slots past a
//! count ([`Slab::shrink_to`], after a storm of timers); a slot pushed
//! later at a dropped index starts at the highest generation the dropped
//! slots reached, past every key they issued, so those keys stay stale.

use std::fmt;

/// Bits of a key that hold the slot index.
const INDEX_BITS: u32 = usize::BITS / 2;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
/// The largest generation: the key's top bit stays clear.
const MAX_GENERATION: usize = (1 << (INDEX_BITS - 1)) - 1;
/// The highest generation a slot may have reached and still be dropped by
/// [`Slab::shrink_to`]: slots pushed after a shrink get at least half the
/// generations a slot has.
const SHRINK_GENERATIONS: usize = MAX_GENERATION / 2;
/// End of the free list (never a valid index: indexes stay below `INDEX_MASK`).
const NIL: usize = usize::MAX;

/// Names one value of a [`Slab`]: slot index plus generation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key(usize);

impl Key {
    /// The key as one integer (a mio token); never `usize::MAX`.
    #[inline]
    pub(crate) fn into_raw(self) -> usize {
        self.0
    }

    /// The key `into_raw` gave. Any integer is accepted: one that no slab
    /// issued simply matches no value.
    #[inline]
    pub(crate) fn from_raw(raw: usize) -> Key {
        Key(raw)
    }

    #[inline]
    fn new(index: usize, generation: usize) -> Key {
        Key(generation << INDEX_BITS | index)
    }

    #[inline]
    fn index(self) -> usize {
        self.0 & INDEX_MASK
    }

    #[inline]
    fn generation(self) -> usize {
        self.0 >> INDEX_BITS
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({}v{})", self.index(), self.generation())
    }
}

enum Entry<T> {
    Occupied(T),
    /// Free; `next_free` chains the free list (`NIL` ends it, and a retired
    /// slot is vacant but on no list).
    Vacant {
        next_free: usize,
    },
}

struct Slot<T> {
    generation: usize,
    entry: Entry<T>,
}

/// Values in reusable slots, named by generational [`Key`]s.
pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    free_head: usize,
    len: usize,
    /// The generation a newly pushed slot starts at: 0, until
    /// [`shrink_to`](Slab::shrink_to) drops slots whose keys must stay
    /// stale when their indexes come back.
    fresh_generation: usize,
    /// The slot count the last shrink left: a slab that has not grown
    /// past it since has nothing more to give back.
    shrunk_to: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab::new()
    }
}

impl<T> Slab<T> {
    /// An empty slab; allocates nothing.
    pub(crate) const fn new() -> Slab<T> {
        Slab {
            slots: Vec::new(),
            free_head: NIL,
            len: 0,
            fresh_generation: 0,
            shrunk_to: 0,
        }
    }

    /// How many values it holds.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no value.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores `value` and returns its key.
    ///
    /// # Panics
    ///
    /// If the slab already holds as many values as a key can index
    /// (2³² − 1 on 64-bit targets).
    #[inline]
    pub(crate) fn insert(&mut self, value: T) -> Key {
        self.len += 1;
        if self.free_head == NIL {
            let index = self.slots.len();
            assert!(index < INDEX_MASK, "tulipa: too many entries in one slab");
            let generation = self.fresh_generation;
            self.slots.push(Slot {
                generation,
                entry: Entry::Occupied(value),
            });
            return Key::new(index, generation);
        }
        let index = self.free_head;
        let slot = &mut self.slots[index];
        match std::mem::replace(&mut slot.entry, Entry::Occupied(value)) {
            Entry::Vacant { next_free } => self.free_head = next_free,
            Entry::Occupied(_) => unreachable!("the free list held an occupied slot"),
        }
        Key::new(index, slot.generation)
    }

    /// The value of `key`, unless it was removed since.
    #[inline]
    pub(crate) fn get(&self, key: Key) -> Option<&T> {
        match self.slots.get(key.index()) {
            Some(Slot {
                generation,
                entry: Entry::Occupied(value),
            }) if *generation == key.generation() => Some(value),
            _ => None,
        }
    }

    /// The value of `key`, mutably, unless it was removed since.
    #[inline]
    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        match self.slots.get_mut(key.index()) {
            Some(Slot {
                generation,
                entry: Entry::Occupied(value),
            }) if *generation == key.generation() => Some(value),
            _ => None,
        }
    }

    /// Takes the value of `key` out; `None` for a stale key. The slot's
    /// next value gets a new generation, so `key` stays stale for good.
    #[inline]
    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        let index = key.index();
        match self.slots.get(index) {
            Some(Slot {
                generation,
                entry: Entry::Occupied(_),
            }) if *generation == key.generation() => Some(self.vacate(index)),
            _ => None,
        }
    }

    /// Takes every value out, in slot order; every key goes stale.
    pub(crate) fn drain(&mut self) -> Vec<T> {
        let mut taken = Vec::with_capacity(self.len);
        for index in 0..self.slots.len() {
            if matches!(self.slots[index].entry, Entry::Occupied(_)) {
                taken.push(self.vacate(index));
            }
        }
        taken
    }

    /// The values with their keys, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Key, &T)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| match &slot.entry {
                Entry::Occupied(value) => Some((Key::new(index, slot.generation), value)),
                Entry::Vacant { .. } => None,
            })
    }

    /// Gives back the memory of the slots past `keep`, if the slab is empty
    /// and has grown past `keep` since it last shrank. Every key issued so
    /// far stays stale: the kept slots keep their generations, and a slot
    /// pushed later at a dropped index starts at the highest generation the
    /// dropped slots reached, which is past every key they issued.
    ///
    /// A slot past `keep` whose generation is above [`SHRINK_GENERATIONS`]
    /// is kept, with every slot below it: dropping it would make every
    /// later slot start that high and retire after few uses (and a retired
    /// slot, at [`MAX_GENERATION`], has no generation left above it).
    pub(crate) fn shrink_to(&mut self, keep: usize) {
        if self.len != 0 || self.slots.len() <= keep.max(self.shrunk_to) {
            return;
        }
        let cut = match self.slots[keep..]
            .iter()
            .rposition(|slot| slot.generation > SHRINK_GENERATIONS)
        {
            Some(high) => keep + high + 1,
            None => keep,
        };
        // A vacant slot's generation is already past its last key's.
        let reached = self.slots[cut..].iter().map(|slot| slot.generation).max();
        self.fresh_generation = self.fresh_generation.max(reached.unwrap_or(0));
        self.slots.truncate(cut);
        self.slots.shrink_to(cut);
        self.shrunk_to = cut;
        // Chain the kept slots again, lowest index first. A slot at its
        // last generation stays off the list: retired, or retired one use
        // early.
        self.free_head = NIL;
        for index in (0..cut).rev() {
            let slot = &mut self.slots[index];
            if slot.generation == MAX_GENERATION {
                continue;
            }
            slot.entry = Entry::Vacant {
                next_free: self.free_head,
            };
            self.free_head = index;
        }
    }

    /// Slots allocated, occupied or not (the slab's memory, for tests).
    #[cfg(test)]
    pub(crate) fn slots_allocated(&self) -> usize {
        self.slots.len()
    }

    /// Empties the occupied slot `index`, moves its generation on and puts
    /// it on the free list, or retires it if its generation is exhausted.
    #[inline]
    fn vacate(&mut self, index: usize) -> T {
        let slot = &mut self.slots[index];
        let retire = slot.generation == MAX_GENERATION;
        let next_free = if retire { NIL } else { self.free_head };
        let Entry::Occupied(value) =
            std::mem::replace(&mut slot.entry, Entry::Vacant { next_free })
        else {
            unreachable!("vacated a vacant slot")
        };
        if !retire {
            slot.generation += 1;
            self.free_head = index;
        }
        self.len -= 1;
        value
    }
}

impl<T> fmt::Debug for Slab<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slab")
            .field("len", &self.len)
            .field("slots", &self.slots.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_get_mut_and_len() {
        let mut slab = Slab::new();
        assert!(slab.is_empty());
        let a = slab.insert("a");
        let b = slab.insert("b");
        assert_eq!(slab.len(), 2);
        assert_eq!(slab.get(a), Some(&"a"));
        *slab.get_mut(b).unwrap() = "B";
        assert_eq!(slab.get(b), Some(&"B"));
    }

    #[test]
    fn a_stale_key_after_remove_matches_nothing() {
        let mut slab = Slab::new();
        let a = slab.insert(1);
        assert_eq!(slab.remove(a), Some(1));
        assert_eq!(slab.get(a), None);
        assert_eq!(slab.get_mut(a), None);
        assert_eq!(slab.remove(a), None, "removed twice");
        assert!(slab.is_empty());
    }

    #[test]
    fn reuse_of_a_slot_bumps_its_generation() {
        let mut slab = Slab::new();
        let a = slab.insert("a");
        slab.remove(a);
        let b = slab.insert("b");
        assert_eq!(b.index(), a.index(), "the freed slot is reused");
        assert_eq!(b.generation(), a.generation() + 1);
        assert_ne!(a, b);
        assert_eq!(slab.get(a), None);
        assert_eq!(
            slab.remove(a),
            None,
            "a stale key cannot remove the new value"
        );
        assert_eq!(slab.get(b), Some(&"b"));
        assert_eq!(slab.slots_allocated(), 1);
    }

    /// `shrink_to` on an emptied slab drops the slots past `keep`; keys
    /// of kept and of dropped slots alike stay stale, also once new values
    /// take the dropped indexes again.
    #[test]
    fn shrinking_an_empty_slab_keeps_every_old_key_stale() {
        let mut slab = Slab::new();
        let old: Vec<Key> = (0..10).map(|i| slab.insert(i)).collect();
        for &key in &old[..5] {
            slab.remove(key);
        }
        // Not empty: nothing is dropped.
        slab.shrink_to(2);
        assert_eq!(slab.slots_allocated(), 10);
        for &key in &old[5..] {
            slab.remove(key);
        }
        // Slot 9, the last freed, goes through a second generation.
        let again = slab.insert(70);
        assert_eq!(again.index(), old[9].index());
        slab.remove(again);
        slab.shrink_to(2);
        assert_eq!(slab.slots_allocated(), 2);
        assert!(slab.is_empty());
        let new: Vec<Key> = (0..10).map(|i| slab.insert(100 + i)).collect();
        assert_eq!(slab.slots_allocated(), 10);
        for (i, (&o, &n)) in old.iter().zip(&new).enumerate() {
            assert_eq!(slab.get(o), None, "old key {i}");
            assert_eq!(slab.get(again), None);
            assert_eq!(slab.get(n), Some(&(100 + i)));
        }
        // The kept slots are reused first, lowest index first; new slots
        // start above every dropped slot's generation (slot 9 reached 2).
        assert_eq!((new[0].index(), new[1].index()), (0, 1));
        assert!(new[2..].iter().all(|k| k.generation() == 2));
        assert_eq!(slab.remove(old[3]), None);
        assert_eq!(slab.len(), 10);
    }

    /// A slot past `keep` with many generations used (or retired) is kept,
    /// with the slots below it, so later slots still get at least half the
    /// generations; a retired kept slot stays off the free list; a second
    /// shrink with no growth in between does nothing.
    #[test]
    fn shrinking_keeps_well_used_slots_and_their_lower_neighbours() {
        let mut slab = Slab::new();
        let keys: Vec<Key> = (0..6).map(|i| slab.insert(i)).collect();
        // Freed last to first, so slot 0 heads the free list.
        assert!(keys.iter().rev().all(|&k| slab.remove(k).is_some()));
        // Retire slot 0 for real: its last generation is issued and freed.
        slab.slots[0].generation = MAX_GENERATION;
        let last = slab.insert(60);
        assert_eq!((last.index(), last.generation()), (0, MAX_GENERATION));
        assert_eq!(slab.remove(last), Some(60));
        // Slot 3 has used more than half its generations.
        slab.slots[3].generation = SHRINK_GENERATIONS + 1;
        slab.shrink_to(2);
        assert_eq!(slab.slots_allocated(), 4, "slots 4 and 5 go, 3 stays");
        slab.shrink_to(1);
        assert_eq!(slab.slots_allocated(), 4, "no growth since: nothing to do");
        let new: Vec<Key> = (0..4).map(|i| slab.insert(10 + i)).collect();
        let at: Vec<(usize, usize)> = new.iter().map(|k| (k.index(), k.generation())).collect();
        // Slot 0 is retired; 1 to 3 are reused in order; index 4 is pushed
        // again at the dropped slots' generation (1), past their keys' 0.
        assert_eq!(at, [(1, 1), (2, 1), (3, SHRINK_GENERATIONS + 1), (4, 1)]);
        assert!(keys.iter().chain([&last]).all(|&k| slab.get(k).is_none()));
        assert!(new.iter().zip(10..).all(|(&k, v)| slab.get(k) == Some(&v)));
    }

    #[test]
    fn the_most_recently_freed_slot_is_reused_first() {
        let mut slab = Slab::new();
        let keys: Vec<Key> = (0..4).map(|i| slab.insert(i)).collect();
        slab.remove(keys[1]);
        slab.remove(keys[3]);
        assert_eq!(slab.insert(9).index(), keys[3].index());
        assert_eq!(slab.insert(8).index(), keys[1].index());
        assert_eq!(slab.insert(7).index(), 4);
    }

    #[test]
    fn generation_wrap_retires_the_slot_instead_of_reissuing_a_key() {
        let mut slab = Slab::new();
        let first = slab.insert(0);
        slab.remove(first);
        // Fast-forward slot 0 to its last generation.
        slab.slots[0].generation = MAX_GENERATION;
        let last = slab.insert(1);
        assert_eq!((last.index(), last.generation()), (0, MAX_GENERATION));
        assert_ne!(last.into_raw(), usize::MAX);
        assert_eq!(slab.remove(last), Some(1));
        // Slot 0 is retired: the next value takes a new slot, and neither
        // old key matches it.
        let next = slab.insert(2);
        assert_eq!(next.index(), 1);
        assert_eq!(slab.get(first), None);
        assert_eq!(slab.get(last), None);
        assert_eq!(slab.remove(last), None);
        assert_eq!(slab.len(), 1);
        assert_eq!(
            slab.iter().map(|(k, v)| (k, *v)).collect::<Vec<_>>(),
            [(next, 2)]
        );
    }

    #[test]
    fn no_key_equals_usize_max() {
        let key = Key::new(INDEX_MASK - 1, MAX_GENERATION);
        assert_ne!(key.into_raw(), usize::MAX);
        assert_eq!(Key::from_raw(key.into_raw()), key);
        // The waker's token names no value of any slab.
        let mut slab = Slab::new();
        slab.insert(());
        assert_eq!(slab.get(Key::from_raw(usize::MAX)), None);
    }

    #[test]
    fn drain_empties_and_invalidates_every_key() {
        let mut slab = Slab::new();
        let keys: Vec<Key> = (0..3).map(|i| slab.insert(i)).collect();
        assert_eq!(slab.drain(), vec![0, 1, 2]);
        assert!(slab.is_empty());
        assert!(keys.iter().all(|&k| slab.get(k).is_none()));
        let again = slab.insert(9);
        assert!(!keys.contains(&again));
        assert_eq!(slab.len(), 1);
    }

    #[test]
    fn iter_yields_the_live_values_with_their_keys() {
        let mut slab = Slab::new();
        let a = slab.insert('a');
        let b = slab.insert('b');
        let c = slab.insert('c');
        slab.remove(b);
        let seen: Vec<(Key, char)> = slab.iter().map(|(k, v)| (k, *v)).collect();
        assert_eq!(seen, [(a, 'a'), (c, 'c')]);
    }
}
