//! The queue algorithm, written once for the three stores (asyncio's
//! `Queue` with its `_init/_put/_get` hooks).
//!
//! There is no item handoff: a put stores the item and wakes the first
//! getter in line, which takes an item when it runs (asyncio's
//! `_wakeup_next`). A woken waiter that finds its condition false again
//! (someone barged in) goes back to the *front* of the line. A woken waiter
//! that is dropped passes its wake-up on, so nothing is stranded.
//!
//! Every operation takes the lock once; wakers are woken after it is
//! released. Tasks and blocked threads wait in the same lines: a thread
//! waits behind a waker that unparks it.

use std::task::{Poll, Waker};
use std::time::Instant;

use super::error::{
    BlockingGetError, BlockingPutError, GetError, GetTimeoutError, PutError, PutTimeoutError,
    TaskDoneError, TryGetError, TryPutError,
};
use super::store::Store;
use crate::loom_shim::{self, Mutex, MutexGuard};
use crate::waiters::{Seen, WaiterList};

/// What the queue's mutex guards: the items, the counts and the three
/// lines of waiters.
pub(crate) struct QueueState<S> {
    store: S,
    /// 0 means unbounded.
    maxsize: usize,
    /// Items put and not yet marked done (asyncio's `_unfinished_tasks`).
    unfinished: usize,
    shutdown: bool,
    getters: WaiterList,
    putters: WaiterList,
    joiners: WaiterList,
}

impl<S: Store> QueueState<S> {
    #[inline]
    fn is_full(&self) -> bool {
        self.maxsize > 0 && self.store.len() >= self.maxsize
    }
}

/// The state every handle of one queue shares.
pub(crate) struct Inner<S> {
    state: Mutex<QueueState<S>>,
}

/// A snapshot for `Debug` (asyncio's `_format`).
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) maxsize: usize,
    pub(crate) len: usize,
    pub(crate) getters: usize,
    pub(crate) putters: usize,
    pub(crate) unfinished: usize,
    pub(crate) shutdown: bool,
}

/// A waiter's slot in one of the lines, if it holds one.
pub(crate) type Slot = Option<u32>;

impl<S: Store> Inner<S> {
    pub(crate) fn new(maxsize: usize) -> Inner<S> {
        Inner {
            state: Mutex::new(QueueState {
                store: S::new(),
                maxsize,
                unfinished: 0,
                shutdown: false,
                getters: WaiterList::new(),
                putters: WaiterList::new(),
                joiners: WaiterList::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState<S>> {
        self.state.lock()
    }

    pub(crate) fn maxsize(&self) -> usize {
        self.lock().maxsize
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().store.len()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.lock().is_full()
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.lock().shutdown
    }

    pub(crate) fn unfinished(&self) -> usize {
        self.lock().unfinished
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let st = self.lock();
        Snapshot {
            maxsize: st.maxsize,
            len: st.store.len(),
            getters: st.getters.waiting(),
            putters: st.putters.waiting(),
            unfinished: st.unfinished,
            shutdown: st.shutdown,
        }
    }

    /// Stores `item` and wakes the first getter (asyncio's `put_nowait`).
    pub(crate) fn try_put(&self, item: S::Item) -> Result<(), TryPutError<S::Item>> {
        let mut st = self.lock();
        if st.shutdown {
            return Err(TryPutError::ShutDown(item));
        }
        if st.is_full() {
            return Err(TryPutError::Full(item));
        }
        let wake = store_item(&mut st, item);
        drop(st);
        wake_one(wake);
        Ok(())
    }

    /// Takes an item and wakes the first putter (asyncio's `get_nowait`).
    pub(crate) fn try_get(&self) -> Result<S::Item, TryGetError> {
        let mut st = self.lock();
        match st.store.pop() {
            Some(item) => {
                let wake = st.putters.notify_one();
                drop(st);
                wake_one(wake);
                Ok(item)
            }
            None if st.shutdown => Err(TryGetError::ShutDown),
            None => Err(TryGetError::Empty),
        }
    }

    /// One step of `put().await`: `slot` is the waiter's place in line,
    /// `item` is taken when it is stored (or given back in the error).
    pub(crate) fn poll_put(
        &self,
        slot: &mut Slot,
        item: &mut Option<S::Item>,
        waker: &Waker,
    ) -> Poll<Result<(), PutError<S::Item>>> {
        let mut st = self.lock();
        if let Some(index) = *slot {
            if st.putters.poll_slot(index, waker) == Seen::Waiting {
                return Poll::Pending;
            }
        }
        let value = item
            .take()
            .expect("a queue Put future was polled after it completed");
        if st.shutdown {
            release(&mut st.putters, slot);
            return Poll::Ready(Err(PutError::ShutDown(value)));
        }
        if st.is_full() {
            *item = Some(value);
            st.putters.wait_in_line(slot, waker);
            return Poll::Pending;
        }
        release_notified(&mut st.putters, slot);
        let wake = store_item(&mut st, value);
        drop(st);
        wake_one(wake);
        Poll::Ready(Ok(()))
    }

    /// One step of `get().await`.
    pub(crate) fn poll_get(
        &self,
        slot: &mut Slot,
        waker: &Waker,
    ) -> Poll<Result<S::Item, GetError>> {
        let mut st = self.lock();
        if let Some(index) = *slot {
            if st.getters.poll_slot(index, waker) == Seen::Waiting {
                return Poll::Pending;
            }
        }
        if let Some(value) = st.store.pop() {
            release_notified(&mut st.getters, slot);
            let wake = st.putters.notify_one();
            drop(st);
            wake_one(wake);
            return Poll::Ready(Ok(value));
        }
        if st.shutdown {
            release(&mut st.getters, slot);
            return Poll::Ready(Err(GetError::ShutDown));
        }
        st.getters.wait_in_line(slot, waker);
        Poll::Pending
    }

    /// A `put` future dropped while it held `slot` (asyncio's `except`
    /// branch of `put`): leave the line, and if a wake-up was taken and a
    /// place is still free, pass it on.
    pub(crate) fn cancel_put(&self, slot: &mut Slot) {
        let Some(index) = slot.take() else { return };
        let mut st = self.lock();
        let mut wake = None;
        if st.putters.remove(index) == Seen::Notified && !st.is_full() {
            wake = st.putters.notify_one();
        }
        drop(st);
        wake_one(wake);
    }

    /// A `get` future dropped while it held `slot`: as [`Inner::cancel_put`],
    /// passing the wake-up on if an item is still there.
    pub(crate) fn cancel_get(&self, slot: &mut Slot) {
        let Some(index) = slot.take() else { return };
        let mut st = self.lock();
        let mut wake = None;
        if st.getters.remove(index) == Seen::Notified && st.store.len() > 0 {
            wake = st.getters.notify_one();
        }
        drop(st);
        wake_one(wake);
    }

    /// Marks one item done; the last one wakes every `join`.
    pub(crate) fn task_done(&self) -> Result<(), TaskDoneError> {
        let mut st = self.lock();
        if st.unfinished == 0 {
            return Err(TaskDoneError(()));
        }
        st.unfinished -= 1;
        let mut wakers = Vec::new();
        if st.unfinished == 0 {
            st.joiners.notify_all(&mut wakers);
        }
        drop(st);
        wakers.into_iter().for_each(Waker::wake);
        Ok(())
    }

    /// One step of `join().await`: ready once no item is unfinished, or
    /// once woken by the `task_done` that brought the count to zero (even if
    /// a put came in since, as asyncio's `Event.wait`).
    pub(crate) fn poll_join(&self, slot: &mut Slot, waker: &Waker) -> Poll<()> {
        let mut st = self.lock();
        if let Some(index) = *slot {
            if st.joiners.poll_slot(index, waker) == Seen::Notified {
                release(&mut st.joiners, slot);
                return Poll::Ready(());
            }
        }
        if st.unfinished == 0 {
            release(&mut st.joiners, slot);
            return Poll::Ready(());
        }
        if slot.is_none() {
            *slot = Some(st.joiners.push_back(waker));
        }
        Poll::Pending
    }

    /// A dropped `join` leaves the line (a join has no wake-up to pass on).
    pub(crate) fn cancel_join(&self, slot: &mut Slot) {
        if let Some(index) = slot.take() {
            let _ = self.lock().joiners.remove(index);
        }
    }

    /// Shuts the queue down (Python 3.13's `shutdown`): later puts fail; with
    /// `immediate` the items left are discarded and counted done; every
    /// waiting getter and putter is woken to find out.
    pub(crate) fn shutdown(&self, immediate: bool) {
        let mut st = self.lock();
        st.shutdown = true;
        let mut wakers = Vec::new();
        let discarded = if immediate {
            let items = st.store.take_all();
            st.unfinished = st.unfinished.saturating_sub(items.len());
            if st.unfinished == 0 {
                st.joiners.notify_all(&mut wakers);
            }
            Some(items)
        } else {
            None
        };
        st.getters.notify_all(&mut wakers);
        st.putters.notify_all(&mut wakers);
        drop(st);
        wakers.into_iter().for_each(Waker::wake);
        // The items' destructors run outside the lock.
        drop(discarded);
    }

    /// `put` for a plain thread: waits in the putters' line, parked. On a
    /// thread running a loop it refuses at once, touching nothing.
    pub(crate) fn put_blocking(&self, item: S::Item) -> Result<(), BlockingPutError<S::Item>> {
        if loom_shim::on_loop_thread() {
            return Err(BlockingPutError::OnLoopThread(item));
        }
        let (mut slot, mut item) = (None, Some(item));
        loom_shim::block_on(|waker| self.poll_put(&mut slot, &mut item, waker)).map_err(Into::into)
    }

    /// [`Inner::put_blocking`] until `deadline`; then one last try, and the
    /// putter leaves the line.
    pub(crate) fn put_blocking_until(
        &self,
        item: S::Item,
        deadline: Instant,
    ) -> Result<(), PutTimeoutError<S::Item>> {
        if loom_shim::on_loop_thread() {
            return Err(PutTimeoutError::OnLoopThread(item));
        }
        let (mut slot, mut item) = (None, Some(item));
        let step = |waker: &Waker| self.poll_put(&mut slot, &mut item, waker);
        if let Some(done) = loom_shim::block_until(deadline, step) {
            return done.map_err(Into::into);
        }
        self.cancel_put(&mut slot);
        let value = item.take().expect("the item is kept while waiting");
        Err(PutTimeoutError::TimedOut(value))
    }

    /// `get` for a plain thread: waits in the getters' line, parked. On a
    /// thread running a loop it refuses at once, touching nothing.
    pub(crate) fn get_blocking(&self) -> Result<S::Item, BlockingGetError> {
        if loom_shim::on_loop_thread() {
            return Err(BlockingGetError::OnLoopThread);
        }
        let mut slot = None;
        loom_shim::block_on(|waker| self.poll_get(&mut slot, waker)).map_err(Into::into)
    }

    /// [`Inner::get_blocking`] until `deadline`; then one last try, and the
    /// getter leaves the line.
    pub(crate) fn get_blocking_until(&self, deadline: Instant) -> Result<S::Item, GetTimeoutError> {
        if loom_shim::on_loop_thread() {
            return Err(GetTimeoutError::OnLoopThread);
        }
        let mut slot = None;
        let step = |waker: &Waker| self.poll_get(&mut slot, waker);
        if let Some(done) = loom_shim::block_until(deadline, step) {
            return done.map_err(Into::into);
        }
        self.cancel_get(&mut slot);
        Err(GetTimeoutError::TimedOut)
    }
}

/// Stores an item, counts it unfinished, and picks the getter to wake.
#[inline]
fn store_item<S: Store>(st: &mut QueueState<S>, item: S::Item) -> Option<Waker> {
    st.store.push(item);
    st.unfinished += 1;
    st.getters.notify_one()
}

/// Frees a waiter's slot once it is done waiting.
#[inline]
fn release(line: &mut WaiterList, slot: &mut Slot) {
    if let Some(index) = slot.take() {
        let _ = line.remove(index);
    }
}

/// Frees the slot of a waiter that found its condition true after a
/// wake-up (`poll_slot` saw it notified), if it held one.
#[inline]
fn release_notified(line: &mut WaiterList, slot: &mut Slot) {
    if let Some(index) = slot.take() {
        line.free_notified(index);
    }
}

#[inline]
fn wake_one(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! The thread-crossing path under loom: the queue's mutex and the
    //! threads' park/unpark come from loom (see `crate::loom_shim`), so loom
    //! explores every interleaving of a blocked thread and the thread that
    //! wakes it. A lost wake-up leaves a thread parked forever, which loom
    //! reports as a deadlock.
    use super::*;
    use std::collections::VecDeque;
    use std::sync::Arc;

    type Q = Inner<VecDeque<u32>>;

    #[test]
    fn loom_blocked_get_is_woken_by_put_from_another_thread() {
        loom::model(|| {
            let q = Arc::new(Q::new(0));
            let putter = {
                let q = q.clone();
                loom::thread::spawn(move || q.try_put(7).unwrap())
            };
            assert_eq!(q.get_blocking(), Ok(7));
            putter.join().unwrap();
        });
    }

    #[test]
    fn loom_blocked_put_is_woken_by_get_from_another_thread() {
        loom::model(|| {
            let q = Arc::new(Q::new(1));
            q.try_put(1).unwrap();
            let getter = {
                let q = q.clone();
                loom::thread::spawn(move || q.try_get())
            };
            q.put_blocking(2).unwrap();
            assert_eq!(getter.join().unwrap(), Ok(1));
            assert_eq!(q.try_get(), Ok(2));
        });
    }

    #[test]
    fn loom_two_blocked_getters_each_get_one_item() {
        loom::model(|| {
            let q = Arc::new(Q::new(0));
            let getters: Vec<_> = (0..2)
                .map(|_| {
                    let q = q.clone();
                    loom::thread::spawn(move || q.get_blocking().unwrap())
                })
                .collect();
            q.try_put(1).unwrap();
            q.try_put(2).unwrap();
            let mut got: Vec<u32> = getters.into_iter().map(|g| g.join().unwrap()).collect();
            got.sort_unstable();
            assert_eq!(got, [1, 2]);
        });
    }

    #[test]
    fn loom_dropped_waiter_passes_its_wakeup_to_a_blocked_thread() {
        // A future-style getter registers, then is dropped (cancelled) while
        // a put may already have woken it: the blocked thread must still
        // get the item.
        loom::model(|| {
            let q = Arc::new(Q::new(0));
            let blocked = {
                let q = q.clone();
                loom::thread::spawn(move || q.get_blocking())
            };
            let cancelled = {
                let q = q.clone();
                loom::thread::spawn(move || {
                    let mut slot = None;
                    let first = q.poll_get(&mut slot, Waker::noop());
                    q.cancel_get(&mut slot);
                    first
                })
            };
            q.try_put(5).unwrap();
            let took = cancelled.join().unwrap();
            match took {
                // The cancelled getter took the item on its first poll.
                Poll::Ready(item) => {
                    assert_eq!(item, Ok(5));
                    q.shutdown(false);
                    assert_eq!(blocked.join().unwrap(), Err(BlockingGetError::ShutDown));
                }
                Poll::Pending => assert_eq!(blocked.join().unwrap(), Ok(5)),
            }
        });
    }

    #[test]
    fn loom_shutdown_wakes_a_blocked_getter() {
        loom::model(|| {
            let q = Arc::new(Q::new(0));
            let getter = {
                let q = q.clone();
                loom::thread::spawn(move || q.get_blocking())
            };
            q.shutdown(false);
            assert_eq!(getter.join().unwrap(), Err(BlockingGetError::ShutDown));
        });
    }
}
