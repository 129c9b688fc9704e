//! asyncio-style queues: [`Queue`] (FIFO), [`LifoQueue`] and
//! [`PriorityQueue`], for loop tasks, tasks on other executors and plain
//! threads alike.
//!
//! The three are one type, [`GenericQueue<T, O>`](GenericQueue), whose
//! order `O` is [`Fifo`], [`Lifo`] or [`Priority`]; each method, future and
//! error is written once for all three.
//!
//! | file | holds |
//! |---|---|
//! | `generic.rs` | [`GenericQueue`], its methods, and the three names |
//! | `futures.rs` | the futures [`Put`], [`Get`], [`Join`] and the [`QueueStream`] |
//! | `error.rs` | one error per kind of call (async, `try_`, blocking, blocking with a timeout) |
//! | `inner.rs` | the algorithm: asyncio's `Queue` with its `_wakeup_next` rule, for tasks and blocked threads |
//! | `store.rs` | the [`Order`] markers and their stores: a `VecDeque`, a `Vec`, a `BinaryHeap` |
//!
//! The waiter lines are the crate's `waiters.rs` (FIFO slots; a woken waiter
//! that is cancelled passes its wake-up on), shared with the sync primitives
//! and the executor's bounded submit; the mutex and the thread parking come
//! from the crate's `loom_shim.rs`, swapped for loom's under `cfg(loom)`.
//!
//! The state sits behind one mutex and waiters are plain `Waker`s, so the
//! queues are `Send + Sync` and work on any executor; a blocked thread
//! waits in the same line behind a waker that unparks it.
//!
//! | asyncio | tulipa |
//! |---|---|
//! | `put` / `get` | [`Queue::put`] / [`Queue::get`] |
//! | `put_nowait` / `get_nowait` | [`Queue::try_put`] / [`Queue::try_get`] |
//! | `qsize` / `empty` / `full` | [`Queue::len`] / [`Queue::is_empty`] / [`Queue::is_full`] |
//! | `task_done` / `join` | [`Queue::task_done`] / [`Queue::join`] |
//! | `shutdown(immediate)` | [`Queue::shutdown`] |
//! | `QueueEmpty` / `QueueFull` / `QueueShutDown` | [`TryGetError::Empty`] / [`TryPutError::Full`] / the `ShutDown` variants |
//! | — (threads) | [`Queue::put_blocking`] / [`Queue::get_blocking`] (+ `_timeout`, failing with `TimedOut`); on the loop's thread they return an `OnLoopThread` error instead of blocking |
//! | — (`async for`) | [`Queue::stream`] |
//!
//! # Examples
//!
//! ```
//! use tulipa::queue::{GenericQueue, Lifo};
//! use tulipa::LifoQueue;
//!
//! // `LifoQueue<T>` is `GenericQueue<T, Lifo>`.
//! let q: GenericQueue<&str, Lifo> = LifoQueue::new(2);
//! q.try_put("a").unwrap();
//! q.try_put("b").unwrap();
//! assert!(q.try_put("c").unwrap_err().is_full());
//! assert_eq!(q.try_get(), Ok("b"));
//! ```

mod error;
mod futures;
mod generic;
mod inner;
mod store;

pub use error::{
    BlockingGetError, BlockingPutError, GetError, GetTimeoutError, PutError, PutTimeoutError,
    TaskDoneError, TryGetError, TryPutError,
};
pub use futures::{Get, Join, Put, QueueStream};
pub use generic::{GenericQueue, LifoQueue, PriorityQueue, Queue};
pub use store::{Fifo, Lifo, Order, Priority};

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn queues_are_send_and_sync() {
        assert_send_sync::<Queue<String>>();
        assert_send_sync::<LifoQueue<String>>();
        assert_send_sync::<PriorityQueue<String>>();
    }

    #[test]
    fn futures_are_send_when_items_are() {
        fn assert_send<T: Send>(_: &T) {}
        let q = Queue::<String>::unbounded();
        assert_send(&q.put(String::new()));
        assert_send(&q.get());
        assert_send(&q.join());
        assert_send(&q.stream());
    }

    #[test]
    fn new_and_default_infer_the_item_type() {
        let q = Queue::new(0);
        q.try_put(1u8).unwrap();
        let l = LifoQueue::default();
        l.try_put("x").unwrap();
        let p: PriorityQueue<_> = Default::default();
        p.try_put(2).unwrap();
        assert_eq!((q.len(), l.len(), p.len()), (1, 1, 1));
    }
}
