//! The loop's table of live tasks, indexed by [`TaskKey`].

use std::rc::Rc;

use super::cell::RawTask;
use super::TaskInfo;

/// Index and generation of a task in its loop's slab; a key whose task has
/// finished (and whose slot was reused) no longer matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TaskKey {
    index: u32,
    gen: u32,
}

impl TaskKey {
    /// The future given to `run_until_complete`, which is not in the slab.
    pub(crate) const MAIN: TaskKey = TaskKey {
        index: u32::MAX,
        gen: u32::MAX,
    };
}

struct Slot {
    gen: u32,
    task: Option<Rc<dyn RawTask>>,
}

#[derive(Default)]
pub(crate) struct TaskSlab {
    slots: Vec<Slot>,
    free: Vec<u32>,
    len: usize,
}

impl TaskSlab {
    /// The key the next `insert` will use.
    pub(crate) fn vacant_key(&mut self) -> TaskKey {
        let index = match self.free.last() {
            Some(&index) => index,
            None => {
                self.slots.push(Slot { gen: 0, task: None });
                let index = u32::try_from(self.slots.len() - 1).expect("more than 2^32 tasks");
                self.free.push(index);
                index
            }
        };
        TaskKey {
            index,
            gen: self.slots[index as usize].gen,
        }
    }

    /// Fills the slot named by the last `vacant_key`.
    pub(crate) fn insert(&mut self, key: TaskKey, task: Rc<dyn RawTask>) {
        let index = self.free.pop().expect("vacant_key first");
        debug_assert_eq!(index, key.index);
        let slot = &mut self.slots[index as usize];
        debug_assert_eq!(slot.gen, key.gen);
        slot.task = Some(task);
        self.len += 1;
    }

    pub(crate) fn get(&self, key: TaskKey) -> Option<&Rc<dyn RawTask>> {
        let slot = self.slots.get(key.index as usize)?;
        if slot.gen != key.gen {
            return None;
        }
        slot.task.as_ref()
    }

    pub(crate) fn remove(&mut self, key: TaskKey) -> Option<Rc<dyn RawTask>> {
        let slot = self.slots.get_mut(key.index as usize)?;
        if slot.gen != key.gen || slot.task.is_none() {
            return None;
        }
        slot.gen = slot.gen.wrapping_add(1);
        self.free.push(key.index);
        self.len -= 1;
        slot.task.take()
    }

    pub(crate) fn live_tasks(&self) -> Vec<Rc<dyn RawTask>> {
        self.slots.iter().filter_map(|s| s.task.clone()).collect()
    }

    pub(crate) fn infos(&self) -> Vec<TaskInfo> {
        self.slots
            .iter()
            .filter_map(|s| s.task.as_ref().map(|t| t.header().info()))
            .collect()
    }

    /// Empties the slab (loop close); the caller drops the tasks.
    pub(crate) fn take_all(&mut self) -> Vec<Rc<dyn RawTask>> {
        let mut out = Vec::with_capacity(self.len);
        for index in 0..self.slots.len() {
            let key = TaskKey {
                index: index as u32,
                gen: self.slots[index].gen,
            };
            if let Some(task) = self.remove(key) {
                out.push(task);
            }
        }
        out
    }
}
