//! [`GroupStats`]: every loop's [`LoopStats`] plus the group's own counters.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::task::{Completer, TaskShared};
use super::{GroupHandle, GroupTask};
use crate::runtime::LoopStats;

/// One loop's line in [`GroupStats`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoopReport {
    /// The loop's index.
    pub index: usize,
    /// Live tasks placed on it through the group.
    pub live_tasks: usize,
    /// Tasks ever placed on it through the group.
    pub spawned: u64,
    /// Open connections a group server handed to it.
    pub connections: usize,
    /// Whether its thread has ended.
    pub ended: bool,
    /// The loop's own statistics (`cross_thread_posts` counts the posts it
    /// received); `None` if it ended or did not answer within the timeout.
    pub stats: Option<LoopStats>,
}

/// What every loop of a group has done, from [`GroupHandle::stats`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupStats {
    /// One report per loop, by index.
    pub loops: Vec<LoopReport>,
}

impl GroupStats {
    /// The sum of the loops' cross-thread posts that answered.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let group = tulipa::LoopGroup::new(2).unwrap();
    /// for _ in 0..3 {
    ///     group.spawn_on(1, || async {}).unwrap().wait().unwrap();
    /// }
    /// let stats = group.stats(Duration::from_secs(5));
    /// assert!(stats.cross_thread_posts() >= 3); // the spawns, at least
    /// # drop(group);
    /// ```
    pub fn cross_thread_posts(&self) -> u64 {
        self.loops
            .iter()
            .filter_map(|l| l.stats.as_ref())
            .map(|s| s.cross_thread_posts)
            .sum()
    }
}

impl GroupHandle {
    /// Asks every loop for its [`LoopStats`] and collects them with the
    /// group's counters, waiting at most `timeout` (any duration) in all.
    ///
    /// It blocks the calling thread. On one of the group's loops, that
    /// loop's own stats are read directly; the others are asked by a post.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let group = tulipa::LoopGroup::new(2).unwrap();
    /// group.spawn_on(1, || async {}).unwrap().wait().unwrap();
    /// let stats = group.stats(Duration::from_secs(5));
    /// assert_eq!(stats.loops.len(), 2);
    /// assert_eq!(stats.loops[1].spawned, 1);
    /// assert!(stats.loops[1].stats.as_ref().unwrap().cross_thread_posts >= 1);
    /// # drop(group);
    /// ```
    pub fn stats(&self, timeout: Duration) -> GroupStats {
        let deadline = Instant::now().checked_add(timeout);
        let own = self.current_loop();
        let asked: Vec<_> = (0..self.len())
            .map(|i| {
                if Some(i) == own {
                    return None;
                }
                let shared = TaskShared::new(None);
                let completer = Completer::new(shared.clone());
                let ask = move || {
                    completer.complete(Ok(crate::get_running_loop().map(|lp| lp.stats())));
                };
                self.shared.handles[i].call_soon_threadsafe(ask).ok()?;
                Some(GroupTask::new(shared, i, None))
            })
            .collect();
        let loops = asked
            .into_iter()
            .enumerate()
            .map(|(index, task)| {
                let stats = match task {
                    None if Some(index) == own => crate::get_running_loop().map(|lp| lp.stats()),
                    None => None,
                    Some(task) => {
                        let left = deadline.map_or(Duration::MAX, |d| {
                            d.saturating_duration_since(Instant::now())
                        });
                        task.wait_timeout(left).ok().and_then(|r| r.ok()).flatten()
                    }
                };
                let load = &self.shared.loads[index];
                // ORDERING: snapshots of counters for display.
                LoopReport {
                    index,
                    live_tasks: load.tasks.load(Ordering::Relaxed),
                    spawned: load.spawned.load(Ordering::Relaxed),
                    connections: load.connections.load(Ordering::Relaxed),
                    ended: load.gone.load(Ordering::Relaxed),
                    stats,
                }
            })
            .collect();
        GroupStats { loops }
    }
}
