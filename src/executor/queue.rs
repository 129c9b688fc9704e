//! The job queue and its admission: jobs in submission order, the count
//! that the optional bound limits, and the line of submitters waiting for
//! room (tasks in `submit_async` and threads blocked in `submit`, in one
//! FIFO).
//!
//! The line is the crate's waiter line (`waiters.rs`, shared with the
//! queues): each waiter keeps a slot, so a cancelled one leaves in O(1); a
//! freed place wakes the first in line; a woken waiter that finds the place
//! taken again goes back to the front; and a woken waiter that is dropped
//! passes its wake-up on (asyncio's `_wakeup_next`).

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::Waker;

use super::job::Runnable;
use crate::waiters::{Seen, WaiterList};

/// A submitter's place in the line, if it holds one.
pub(super) type Slot = Option<u32>;

/// Whether a job may be queued now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Admit {
    Yes,
    Full,
    ShutDown,
}

/// The queue (kept in the pool's locked state).
pub(super) struct JobQueue {
    /// Jobs in submission order; cancelled ones stay as tombstones until a
    /// worker pops them.
    jobs: VecDeque<Arc<dyn Runnable>>,
    /// Jobs in `jobs` that are neither claimed nor cancelled (what the bound
    /// limits).
    queued: usize,
    /// `None`: unbounded.
    max_queued: Option<usize>,
    /// No job is admitted any more.
    shut_down: bool,
    /// Submitters waiting for room.
    line: WaiterList,
}

impl JobQueue {
    pub(super) fn new(max_queued: Option<usize>) -> JobQueue {
        JobQueue {
            jobs: VecDeque::new(),
            queued: 0,
            max_queued,
            shut_down: false,
            line: WaiterList::new(),
        }
    }

    /// Jobs queued and neither claimed nor cancelled.
    pub(super) fn queued(&self) -> usize {
        self.queued
    }

    pub(super) fn is_shut_down(&self) -> bool {
        self.shut_down
    }

    pub(super) fn admit(&self) -> Admit {
        if self.shut_down {
            Admit::ShutDown
        } else if self.max_queued.is_some_and(|max| self.queued >= max) {
            Admit::Full
        } else {
            Admit::Yes
        }
    }

    /// Queues an admitted job.
    pub(super) fn push(&mut self, job: Arc<dyn Runnable>) {
        self.jobs.push_back(job);
        self.queued += 1;
    }

    /// Pops jobs until one can be claimed; the place it leaves wakes the
    /// first submitter in line (the waker is returned, to be woken once the
    /// lock is released).
    pub(super) fn pop(&mut self) -> Option<(Arc<dyn Runnable>, Option<Waker>)> {
        while let Some(job) = self.jobs.pop_front() {
            if job.claim() {
                self.queued -= 1;
                return Some((job, self.room_freed()));
            }
        }
        None
    }

    /// A queued job was cancelled by its future: one more job fits.
    pub(super) fn release(&mut self) -> Option<Waker> {
        self.queued -= 1;
        self.room_freed()
    }

    /// Takes every job still queued out of the queue, claimed, so that no
    /// worker and no future can touch the count for them any more.
    pub(super) fn claim_all(&mut self) -> Vec<Arc<dyn Runnable>> {
        let mut claimed: Vec<_> = self.jobs.drain(..).collect();
        claimed.retain(|job| job.claim());
        self.queued -= claimed.len();
        claimed
    }

    /// Admits nothing more; returns every waiting submitter's waker, to be
    /// woken once the lock is released.
    pub(super) fn shut_down(&mut self) -> Vec<Waker> {
        self.shut_down = true;
        let mut wakers = Vec::new();
        self.line.notify_all(&mut wakers);
        wakers
    }

    /// Whether the submitter at `slot` is still waiting for its turn; it
    /// takes `waker` if it differs from the one it left.
    pub(super) fn still_in_line(&mut self, slot: Slot, waker: &Waker) -> bool {
        slot.is_some_and(|index| self.line.poll_slot(index, waker) == Seen::Waiting)
    }

    /// Puts a submitter in line: a new one at the back, one that was woken
    /// for room someone else took back at the front (asyncio's gh-83055).
    pub(super) fn wait_in_line(&mut self, slot: &mut Slot, waker: &Waker) {
        self.line.wait_in_line(slot, waker);
    }

    /// A submitter is done waiting (it queued its job or saw the shutdown).
    pub(super) fn leave_line(&mut self, slot: &mut Slot) {
        if let Some(index) = slot.take() {
            let _ = self.line.remove(index);
        }
    }

    /// A submitter gave up while it held `slot`: it leaves the line, and if
    /// it had been woken for room that is still there, the wake-up goes to
    /// the next in line (returned, to be woken once the lock is released).
    pub(super) fn give_up(&mut self, slot: &mut Slot) -> Option<Waker> {
        let index = slot.take()?;
        let woken = self.line.remove(index) == Seen::Notified;
        if woken && self.admit() == Admit::Yes {
            self.line.notify_one()
        } else {
            None
        }
    }

    /// One place came free: the first submitter in line is woken.
    fn room_freed(&mut self) -> Option<Waker> {
        self.max_queued?;
        self.line.notify_one()
    }
}
