//! The reactor's table of registered I/O sources (asyncio's selector map):
//! the crate's [`Slab`], keyed by the integers the reactor hands mio as
//! tokens.
//!
//! A token is a slab key, slot index plus generation, so that a key
//! outlives its entry safely: an event the kernel queued for a source that
//! was removed since (and whose slot may hold another source now) names a
//! stale key and matches nothing. No token equals `usize::MAX`, the token
//! of the selector's cross-thread waker.

use crate::slab::{Key, Slab};

pub(crate) struct SourceTable<E> {
    sources: Slab<E>,
}

impl<E> Default for SourceTable<E> {
    fn default() -> Self {
        SourceTable {
            sources: Slab::new(),
        }
    }
}

impl<E> SourceTable<E> {
    /// How many sources are registered.
    pub(crate) fn len(&self) -> usize {
        self.sources.len()
    }

    /// Stores `entry` and returns its token.
    pub(crate) fn insert(&mut self, entry: E) -> usize {
        self.sources.insert(entry).into_raw()
    }

    /// The entry of `token`, unless it was removed since.
    pub(crate) fn get(&self, token: usize) -> Option<&E> {
        self.sources.get(Key::from_raw(token))
    }

    /// The entry of `token`, mutably, unless it was removed since.
    pub(crate) fn get_mut(&mut self, token: usize) -> Option<&mut E> {
        self.sources.get_mut(Key::from_raw(token))
    }

    /// Frees the slot of `token`; its next user gets a new generation.
    pub(crate) fn remove(&mut self, token: usize) -> Option<E> {
        self.sources.remove(Key::from_raw(token))
    }

    /// Removes every entry (every token goes stale).
    pub(crate) fn take_all(&mut self) -> Vec<E> {
        self.sources.drain()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_of_a_removed_entry_no_longer_matches_after_reuse() {
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
    fn the_waker_token_matches_no_source() {
        let mut table = SourceTable::default();
        let a = table.insert(1);
        assert_ne!(a, usize::MAX);
        assert_eq!(table.get(usize::MAX), None);
        assert_eq!(table.get_mut(usize::MAX), None);
    }

    #[test]
    fn take_all_empties_and_invalidates_every_token() {
        let mut table = SourceTable::default();
        let tokens: Vec<usize> = (0..3).map(|i| table.insert(i)).collect();
        assert_eq!(table.take_all(), vec![0, 1, 2]);
        assert_eq!(table.len(), 0);
        assert!(tokens.iter().all(|&t| table.get(t).is_none()));
        assert_ne!(table.insert(9), tokens[2]);
    }
}
