//! asyncio-style queues: [`Queue`] (FIFO), [`LifoQueue`] and
//! [`PriorityQueue`], for loop tasks, tasks on other executors and plain
//! threads alike.
//!
//! One algorithm (`inner.rs`, asyncio's `Queue` with its `_wakeup_next`
//! rule) runs over three stores (`store.rs`: a `VecDeque`, a `Vec`, a
//! `BinaryHeap`). Getters and putters wait in FIFO lines of waiter slots
//! (`waiters.rs`); a woken waiter that is cancelled passes its wake-up on.
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
//! | `QueueEmpty` / `QueueFull` / `QueueShutDown` | [`TryGetError::Empty`] / [`TryPutError::Full`] / `ShutDown` variants |
//! | — (threads) | [`Queue::put_blocking`] / [`Queue::get_blocking`] (+ `_timeout`); on the loop's thread they return an `OnLoopThread` error instead of blocking |
//! | — (`async for`) | [`Queue::stream`] |

mod error;
mod fifo;
mod futures;
mod inner;
mod store;
mod sync;
mod variants;
mod waiters;

use std::fmt;

pub use error::{GetError, PutError, TaskDoneError, TryGetError, TryPutError};
pub use fifo::Queue;
pub use variants::{LifoQueue, PriorityQueue};

/// The fields every queue's `Debug` shows (asyncio's `_format`).
fn debug_fields(mut d: fmt::DebugStruct<'_, '_>, s: &inner::Snapshot) -> fmt::Result {
    d.field("maxsize", &s.maxsize)
        .field("len", &s.len)
        .field("getters", &s.getters)
        .field("putters", &s.putters)
        .field("unfinished", &s.unfinished)
        .field("shutdown", &s.shutdown)
        .finish()
}

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
}
