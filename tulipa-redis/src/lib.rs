//! tulipa's `Queue` across processes and machines, on Redis Streams.
//!
//! [`RedisQueue`] keeps the shape of `tulipa::Queue` (asyncio's `Queue`):
//! `put` is `XADD`, `get` is `XREADGROUP` in a consumer group, a
//! [`Delivery`]'s `task_done` is `XACK` (acked entries are trimmed in
//! batches, so the stream does not grow), `join` waits for the group's pending count plus its lag to reach
//! zero. Delivery is at least once: an item whose consumer died (even by
//! `kill -9`) stays pending and is claimed by another consumer after
//! `min_idle` (`XAUTOCLAIM`-style, in a Lua script); an item delivered more
//! than `max_deliveries` times moves to a dead-letter stream with its
//! history.
//!
//! Underneath is a small [`Client`] on tulipa's own sockets (no tokio):
//! RESP2 and RESP3 decoded by the `redis-protocol` crate, pipelining,
//! reconnection with backoff, timeouts and a typed [`RedisError`].
//!
//! # Examples
//!
//! ```
//! # let server = tulipa_redis::doctest_server::start();
//! # let url = server.url();
//! use tulipa_redis::RedisQueue;
//!
//! tulipa::run(async {
//!     let q = RedisQueue::<String>::connect(&url, "jobs", "workers", "w1").await?;
//!     q.put("hello".to_string()).await?;
//!     let d = q.get().await?;
//!     assert_eq!(d.item(), "hello");
//!     d.task_done().await?;
//!     q.join().await?;
//!     Ok::<_, tulipa_redis::QueueError>(())
//! })
//! .unwrap()
//! .unwrap();
//! ```

mod client;
mod cmd;
mod conn;
#[doc(hidden)]
pub mod doctest_server;
mod error;
mod item;
mod queue;
mod scripts;
mod time;
mod value;

pub use client::{Addr, Client, ClientOptions, ConnectionInfo};
pub use cmd::{cmd, Cmd, ToArg};
pub use error::RedisError;
pub use item::Item;
#[cfg(feature = "serde")]
pub use item::Json;
pub use queue::{
    DeadLetter, Delivery, PriorityQueue, QueueError, QueueOptions, RedisQueue, ShutdownMode,
};
pub use value::Value;
