//! The crate's one cross-thread one-shot: a [`ResultSlot`] that one side
//! fills once, from any thread, and the other side takes, awaited on any
//! executor or waited on from a plain thread.
//!
//! Two hand-offs use it: the output of a `spawn_threadsafe` task on its way
//! to the [`RemoteTask`](crate::RemoteTask) (through a [`Sender`] that
//! closes the slot if the task is dropped unfinished), and the result of an
//! executor job on its way to its [`ExecFuture`](crate::ExecFuture).
//!
//! The slot's stages, each change under its one lock:
//!
//! ```text
//! Empty ──fill──▶ Full(v) ──take──▶ Taken
//!   │   └─close──▶ Closed ──take──▶ Taken
//!   └──── detach (the receiver left) ──▶ Detached: a later fill drops its value
//! ```
//!
//! Whoever changes the stage takes the waiting waker out under the lock and
//! wakes it after the lock is released; a value the receiver will never take
//! is dropped outside the lock too, since dropping it may run user code.
//!
//! A [`Sender`] or [`Receiver`] that finds it holds the slot's last `Arc`
//! (the other end has left) takes no lock at all: nobody else can see the
//! slot any more, so what it holds is simply dropped with it. This is the
//! common case of a detached `spawn_threadsafe` task: the handle is dropped
//! on the posting thread before the task ends on the loop's.

use std::task::{Context, Poll, Waker};

use crate::loom_shim::Mutex;

#[cfg(not(loom))]
use std::sync::Arc;

#[cfg(loom)]
use loom::sync::Arc;

/// Where the one value is on its way from the filler to the taker.
enum Stage<T> {
    /// Nothing yet; the receiver may be waiting.
    Empty,
    /// Filled, not yet taken.
    Full(T),
    /// The filler left without a value.
    Closed,
    /// The receiver took the value (or the news of `Closed`).
    Taken,
    /// The receiver left: whatever comes is dropped at once.
    Detached,
}

/// The stage and the receiver's waker, behind the slot's lock.
struct SlotState<T> {
    stage: Stage<T>,
    waker: Option<Waker>,
}

/// A one-value slot crossing threads. Keep it in an `Arc` (or inside a
/// larger `Arc`ed block, as an executor job does) shared by both sides.
pub(crate) struct ResultSlot<T> {
    state: Mutex<SlotState<T>>,
}

/// What a take found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Taken<T> {
    /// The value that was filled in.
    Value(T),
    /// The filler closed the slot without a value.
    Closed,
    /// The value was already taken by an earlier call (or the receiver left).
    Gone,
}

impl<T> ResultSlot<T> {
    pub(crate) fn new() -> ResultSlot<T> {
        ResultSlot {
            state: Mutex::new(SlotState {
                stage: Stage::Empty,
                waker: None,
            }),
        }
    }

    /// Stores `value` and wakes the receiver. If the receiver has left, or
    /// the slot was already filled or closed, `value` is dropped here,
    /// after the lock is released.
    pub(crate) fn fill(&self, value: T) {
        self.resolve(Stage::Full(value));
    }

    /// The filler leaves without a value: the receiver reads
    /// [`Taken::Closed`]. Does nothing once the slot is filled.
    pub(crate) fn close(&self) {
        self.resolve(Stage::Closed);
    }

    fn resolve(&self, outcome: Stage<T>) {
        let mut state = self.state.lock();
        let (waker, unwanted) = match state.stage {
            Stage::Empty => {
                state.stage = outcome;
                (state.waker.take(), None)
            }
            _ => (None, Some(outcome)),
        };
        drop(state);
        drop(unwanted);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Takes the value if it is there; otherwise keeps `cx`'s waker (in
    /// place of an earlier one) to be woken when it comes.
    pub(crate) fn poll_take(&self, cx: &mut Context<'_>) -> Poll<Taken<T>> {
        let mut state = self.state.lock();
        match std::mem::replace(&mut state.stage, Stage::Taken) {
            Stage::Full(value) => Poll::Ready(Taken::Value(value)),
            Stage::Closed => Poll::Ready(Taken::Closed),
            Stage::Taken | Stage::Detached => Poll::Ready(Taken::Gone),
            Stage::Empty => {
                state.stage = Stage::Empty;
                match &state.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => state.waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }

    /// The receiver leaves: a value already there is dropped now, one that
    /// comes later is dropped by [`fill`](ResultSlot::fill). Both outside
    /// the lock.
    pub(crate) fn detach(&self) {
        let (old, waker) = {
            let mut state = self.state.lock();
            let old = std::mem::replace(&mut state.stage, Stage::Detached);
            (old, state.waker.take())
        };
        drop(waker);
        drop(old);
    }

    /// Whether the value (or the news that none will come) is there, or
    /// was taken already.
    pub(crate) fn is_ready(&self) -> bool {
        !matches!(self.state.lock().stage, Stage::Empty)
    }
}

/// The filling side of a [`ResultSlot`] shared through an `Arc`: dropping
/// it unfilled closes the slot, so the receiver never waits for a value
/// that cannot come.
pub(crate) struct Sender<T> {
    slot: Option<Arc<ResultSlot<T>>>,
}

/// The taking side: dropping it detaches the slot.
pub(crate) struct Receiver<T> {
    slot: Arc<ResultSlot<T>>,
}

/// Whether `slot` is the last `Arc` of its slot: the other end has left
/// (and, the ends being the only holders, none can come back). It only
/// decides to skip the lock; the slot itself is dropped through `Arc`'s own
/// drop, whose fences order the other end's writes before it, so a plain
/// count read is enough here.
fn is_last<T>(slot: &Arc<ResultSlot<T>>) -> bool {
    Arc::strong_count(slot) == 1
}

/// A slot and its two ends.
pub(crate) fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let slot = Arc::new(ResultSlot::new());
    (
        Sender {
            slot: Some(slot.clone()),
        },
        Receiver { slot },
    )
}

impl<T> Sender<T> {
    /// Fills the slot (one lock, one wake-up if the receiver waits). If the
    /// receiver has already left (this is the slot's last `Arc`), nobody can
    /// read it: `value` is dropped here, with no lock taken.
    pub(crate) fn send(mut self, value: T) {
        if let Some(slot) = self.slot.take() {
            if is_last(&slot) {
                drop(value);
                return;
            }
            slot.fill(value);
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            // The receiver left already: nobody to tell.
            if !is_last(&slot) {
                slot.close();
            }
        }
    }
}

impl<T> Receiver<T> {
    pub(crate) fn poll_take(&self, cx: &mut Context<'_>) -> Poll<Taken<T>> {
        self.slot.poll_take(cx)
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.slot.is_ready()
    }
}

impl<T> Drop for Receiver<T> {
    /// Detaches the slot, unless the sender left already (this is the
    /// slot's last `Arc`): then whatever it holds is dropped with it.
    fn drop(&mut self) {
        if !is_last(&self.slot) {
            self.slot.detach();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::loom_shim::{block_on, block_until};
    use std::time::{Duration, Instant};

    fn take_blocking<T>(rx: &Receiver<T>) -> Taken<T> {
        block_on(|waker| rx.poll_take(&mut Context::from_waker(waker)))
    }

    #[test]
    fn value_crosses_threads() {
        let (tx, rx) = channel();
        let filler = std::thread::spawn(move || tx.send(5));
        assert_eq!(take_blocking(&rx), Taken::Value(5));
        filler.join().unwrap();
        assert!(rx.is_ready());
        assert_eq!(take_blocking(&rx), Taken::Gone);
    }

    #[test]
    fn dropped_sender_closes() {
        let (tx, rx) = channel::<u8>();
        assert!(!rx.is_ready());
        drop(tx);
        assert!(rx.is_ready());
        assert_eq!(take_blocking(&rx), Taken::Closed);
    }

    #[test]
    fn no_value_before_the_deadline() {
        let (_tx, rx) = channel::<u8>();
        let deadline = Instant::now() + Duration::from_millis(1);
        let got = block_until(deadline, |waker| {
            rx.poll_take(&mut Context::from_waker(waker))
        });
        assert!(got.is_none());
    }

    #[test]
    fn value_sent_after_detach_is_dropped_by_the_sender() {
        let (tx, rx) = channel::<Arc<()>>();
        let value = Arc::new(());
        drop(rx);
        tx.send(value.clone());
        assert_eq!(Arc::strong_count(&value), 1);
    }

    #[test]
    fn detach_drops_a_value_already_there() {
        let (tx, rx) = channel::<Arc<()>>();
        let value = Arc::new(());
        tx.send(value.clone());
        assert_eq!(Arc::strong_count(&value), 2);
        drop(rx);
        assert_eq!(Arc::strong_count(&value), 1);
    }

    #[test]
    fn second_fill_is_dropped() {
        let slot = ResultSlot::new();
        slot.fill(1);
        slot.fill(2);
        slot.close();
        let waker = std::task::Waker::noop();
        assert_eq!(
            slot.poll_take(&mut Context::from_waker(waker)),
            Poll::Ready(Taken::Value(1))
        );
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! The slot's hand-off under loom: a fill or a close on one thread
    //! racing the receiver's poll (or its departure) on another. A wake-up
    //! lost between the receiver's look and its wait would leave it parked
    //! for ever, which loom reports as a deadlock.
    use super::*;
    use crate::loom_shim::block_on;

    fn take<T>(rx: &Receiver<T>) -> Taken<T> {
        block_on(|waker| rx.poll_take(&mut Context::from_waker(waker)))
    }

    #[test]
    fn fill_racing_the_wait_wakes_the_receiver() {
        loom::model(|| {
            let (tx, rx) = channel::<u32>();
            let filler = loom::thread::spawn(move || tx.send(7));
            assert_eq!(take(&rx), Taken::Value(7));
            filler.join().unwrap();
        });
    }

    #[test]
    fn close_racing_the_wait_wakes_the_receiver() {
        loom::model(|| {
            let (tx, rx) = channel::<u32>();
            let filler = loom::thread::spawn(move || drop(tx));
            assert_eq!(take(&rx), Taken::Closed);
            filler.join().unwrap();
        });
    }

    #[test]
    fn close_racing_detach_leaves_nothing_behind() {
        // Both ends leave at once, each possibly finding itself the last:
        // the slot is freed once (loom reports a leaked `Arc`).
        loom::model(|| {
            let (tx, rx) = channel::<Arc<()>>();
            let filler = loom::thread::spawn(move || drop(tx));
            drop(rx);
            filler.join().unwrap();
        });
    }

    #[test]
    fn fill_racing_detach_drops_the_value_once() {
        loom::model(|| {
            let value = Arc::new(());
            let (tx, rx) = channel::<Arc<()>>();
            let sent = value.clone();
            let filler = loom::thread::spawn(move || tx.send(sent));
            drop(rx);
            filler.join().unwrap();
            // Whichever side came last dropped it; nobody kept it.
            assert_eq!(Arc::strong_count(&value), 1);
        });
    }
}
