//! The reactor's table of registered I/O sources: a slab whose keys carry a
//! generation, so that a key outlives its entry safely (a stale selector
//! event names a key that no longer matches).

/// Low half of a key: the slot index; high half: the slot's generation.
const INDEX_BITS: u32 = usize::BITS / 2;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
/// Generations stay below the top bit, so no key equals `usize::MAX`, the
/// token of the selector's cross-thread waker.
const GEN_MASK: usize = (1 << (INDEX_BITS - 1)) - 1;

struct Slot<E> {
    gen: usize,
    entry: Option<E>,
}

pub(crate) struct SourceTable<E> {
    slots: Vec<Slot<E>>,
    free: Vec<usize>,
    len: usize,
}

impl<E> Default for SourceTable<E> {
    fn default() -> Self {
        SourceTable {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }
}

impl<E> SourceTable<E> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Stores `entry` and returns its key.
    pub(crate) fn insert(&mut self, entry: E) -> usize {
        let index = self.free.pop().unwrap_or_else(|| {
            self.slots.push(Slot {
                gen: 0,
                entry: None,
            });
            self.slots.len() - 1
        });
        assert!(index <= INDEX_MASK, "tulipa: too many I/O sources");
        let slot = &mut self.slots[index];
        slot.entry = Some(entry);
        self.len += 1;
        slot.gen << INDEX_BITS | index
    }

    fn slot(&self, key: usize) -> Option<&Slot<E>> {
        let slot = self.slots.get(key & INDEX_MASK)?;
        (slot.gen == key >> INDEX_BITS).then_some(slot)
    }

    /// The entry of `key`, unless it was removed since.
    pub(crate) fn get(&self, key: usize) -> Option<&E> {
        self.slot(key)?.entry.as_ref()
    }

    pub(crate) fn get_mut(&mut self, key: usize) -> Option<&mut E> {
        let slot = self.slots.get_mut(key & INDEX_MASK)?;
        if slot.gen != key >> INDEX_BITS {
            return None;
        }
        slot.entry.as_mut()
    }

    /// Frees the slot of `key`; its next user gets a new generation.
    pub(crate) fn remove(&mut self, key: usize) -> Option<E> {
        let index = key & INDEX_MASK;
        let slot = self.slots.get_mut(index)?;
        if slot.gen != key >> INDEX_BITS {
            return None;
        }
        let entry = slot.entry.take()?;
        slot.gen = (slot.gen + 1) & GEN_MASK;
        self.free.push(index);
        self.len -= 1;
        Some(entry)
    }

    /// Removes every entry (each slot's generation moves on).
    pub(crate) fn take_all(&mut self) -> Vec<E> {
        let mut taken = Vec::with_capacity(self.len);
        for (index, slot) in self.slots.iter_mut().enumerate() {
            if let Some(entry) = slot.entry.take() {
                slot.gen = (slot.gen + 1) & GEN_MASK;
                self.free.push(index);
                taken.push(entry);
            }
        }
        self.len = 0;
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_of_a_removed_entry_no_longer_matches_after_reuse() {
        let mut table = SourceTable::default();
        let a = table.insert("a");
        assert_eq!(table.remove(a), Some("a"));
        let b = table.insert("b");
        assert_ne!(a, b, "same slot, new generation");
        assert_eq!(table.get(a), None);
        assert_eq!(table.remove(a), None);
        assert_eq!(table.get(b), Some(&"b"));
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn take_all_empties_and_invalidates_every_key() {
        let mut table = SourceTable::default();
        let keys: Vec<usize> = (0..3).map(|i| table.insert(i)).collect();
        assert_eq!(table.take_all(), vec![0, 1, 2]);
        assert_eq!(table.len(), 0);
        assert!(keys.iter().all(|&k| table.get(k).is_none()));
        assert_ne!(table.insert(9), keys[2]);
    }
}
