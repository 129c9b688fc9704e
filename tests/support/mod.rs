//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

#[cfg(target_os = "linux")]
pub mod fds;
pub mod logs;
#[cfg(not(loom))]
pub mod pool;

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

/// An ordered record of events, shared by the callbacks and tasks of a test.
#[derive(Clone, Default)]
pub struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    pub fn new() -> Log {
        Log::default()
    }

    pub fn push(&self, event: impl Into<String>) {
        self.0.borrow_mut().push(event.into());
    }

    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.borrow_mut())
    }

    /// How many clones of this log are alive (closures holding it count).
    pub fn handles(&self) -> usize {
        Rc::strong_count(&self.0)
    }

    pub fn snapshot(&self) -> Vec<String> {
        self.0.borrow().clone()
    }
}

/// A loop on the virtual clock.
pub fn virtual_loop() -> tulipa::EventLoop {
    tulipa::EventLoop::builder().virtual_time().build().unwrap()
}

/// Runs an example binary that `cargo test` built next to this test and
/// returns its stdout; fails the test if it exits non-zero.
pub fn run_example(name: &str, args: &[&str]) -> String {
    let path = example_path(name);
    let out = std::process::Command::new(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    assert!(
        out.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Where `cargo test` put the example binary `name`.
pub fn example_path(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> -> target/<profile>/examples/<name>
    exe.parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("examples")
        .join(name)
}

/// Runs `future` on a fresh loop with a virtual clock, then cancels leftovers
/// and closes the loop (`asyncio.run`).
///
/// # Panics
///
/// If `future` is still pending after a virtual day: with nothing left to
/// run, the virtual clock jumps straight to this watchdog, so a deadlock (a
/// stranded waiter) fails the test at once instead of hanging it.
pub(crate) fn run_virtual<F: Future>(future: F) -> F::Output {
    let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
    lp.run(async move {
        let mut future = pin!(future);
        let mut watchdog = pin!(tulipa::sleep(Duration::from_secs(86_400)));
        poll_fn(|cx| {
            if let Poll::Ready(out) = future.as_mut().poll(cx) {
                return Poll::Ready(out);
            }
            if watchdog.as_mut().poll(cx).is_ready() {
                panic!("deadlock: the test can no longer make progress");
            }
            Poll::Pending
        })
        .await
    })
    .unwrap()
}

/// Runs `future` on a fresh loop (`EventLoop::run`: leftover tasks are
/// cancelled and the loop closed at the end; unlike `tulipa::run`, no
/// Ctrl-C listener is added to its I/O sources). For tests on real sockets,
/// pipes and child processes, where the clock is real: a hang fails the
/// test after `limit` instead of hanging it.
pub fn run_within<F: Future>(limit: Duration, future: F) -> F::Output {
    tulipa::EventLoop::new()
        .unwrap()
        .run(tulipa::wait_for(future, limit))
        .unwrap()
        .unwrap_or_else(|_| panic!("test hung: the {limit:?} watchdog fired"))
}

/// Runs `body` on a fresh thread and returns what it returns; fails the
/// test if it takes longer than `limit` (a lost wake-up or a hang: the stuck
/// thread is left behind, the test fails instead of hanging). A panic in
/// `body` fails the test with its message.
pub fn on_thread_within<T: Send + 'static>(
    limit: Duration,
    body: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let out = body();
        let _ = tx.send(());
        out
    });
    match rx.recv_timeout(limit) {
        Ok(()) => thread.join().unwrap(),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Ok(_) => unreachable!("the body ended without reporting"),
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("watchdog: no progress after {limit:?} (a lost wake-up or a hang)")
        }
    }
}

/// A task that puts `item` into `q` (asyncio's `create_task(q.put(item))`).
pub fn spawn_put<T: 'static>(
    q: &tulipa::Queue<T>,
    item: T,
) -> tulipa::Task<Result<(), tulipa::PutError<T>>> {
    let q = q.clone();
    tulipa::spawn(async move { q.put(item).await })
}

/// A task that gets an item from `q` (asyncio's `create_task(q.get())`).
pub fn spawn_get<T: 'static>(q: &tulipa::Queue<T>) -> tulipa::Task<Result<T, tulipa::GetError>> {
    let q = q.clone();
    tulipa::spawn(async move { q.get().await })
}

/// A `start_server` handler that sends back what it reads, until EOF or an
/// error on either side.
pub async fn echo(mut reader: tulipa::net::StreamReader, writer: tulipa::net::StreamWriter) {
    while let Ok(data) = reader.read(4096).await {
        if data.is_empty() {
            break;
        }
        writer.write(&data);
        if writer.drain().await.is_err() {
            break;
        }
    }
}

/// A `'static` reference to `value`, for tests whose tasks borrow one
/// primitive (a lock, a barrier) without an `Rc`.
pub fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

/// The guards of a leaked lock that a test holds on behalf of its tasks.
pub type Held = Rc<RefCell<Vec<tulipa::sync::LockGuard<'static>>>>;

/// asyncio's `lock.release()` from outside the holder: drops the oldest
/// guard still held.
pub fn release(held: &Held) {
    let guard = held.borrow_mut().remove(0);
    drop(guard);
}

/// `await asyncio.sleep(0)` repeated `n` times.
pub(crate) async fn yields(n: usize) {
    for _ in 0..n {
        tulipa::yield_now().await;
    }
}
