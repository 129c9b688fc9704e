//! [`LoopHandle`], the door in from other threads, with its guard
//! [`PendingPost`] and its error [`LoopClosed`].

use std::fmt;
use std::sync::Arc;

use super::remote::{Msg, Remote};

/// The `Send + Sync` handle to an [`EventLoop`](crate::EventLoop), the only
/// way in from other threads.
///
/// Posting from another thread appends to the loop's inbox and, if the loop
/// has not been woken since it last drained the inbox, wakes its selector
/// through a `mio::Waker` (an `eventfd` on Linux). Many posts between two
/// loop iterations cost one wake-up.
///
/// # Examples
///
/// ```
/// use tulipa::EventLoop;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
///
/// let lp = EventLoop::new().unwrap();
/// let handle = lp.handle();
/// let hits = Arc::new(AtomicUsize::new(0));
/// let seen = hits.clone();
/// std::thread::spawn(move || {
///     handle.call_soon_threadsafe(move || { seen.fetch_add(1, Ordering::SeqCst); }).unwrap();
///     handle.stop().unwrap();
/// });
/// lp.run_forever().unwrap();
/// assert_eq!(hits.load(Ordering::SeqCst), 1);
/// ```
#[derive(Clone)]
pub struct LoopHandle {
    pub(crate) remote: Arc<Remote>,
}

impl LoopHandle {
    /// Schedules `callback` to run on the loop thread, in the loop's next
    /// iteration after it sees the post (asyncio's `call_soon_threadsafe`).
    ///
    /// Callbacks posted from one thread run in the order they were posted.
    /// A callback that panics goes to the loop's exception handler.
    ///
    /// # Errors
    ///
    /// [`LoopClosed`] if the loop has been closed; the callback is dropped
    /// without running.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    ///
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let handle = lp.handle();
    /// let (tx, rx) = mpsc::channel();
    /// std::thread::spawn(move || {
    ///     for i in 0..3 {
    ///         let tx = tx.clone();
    ///         handle.call_soon_threadsafe(move || tx.send(i).unwrap()).unwrap();
    ///     }
    ///     handle.stop().unwrap();
    /// })
    /// .join()
    /// .unwrap();
    /// lp.run_forever().unwrap();
    /// // In the order they were posted, on the loop's thread.
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [0, 1, 2]);
    /// ```
    pub fn call_soon_threadsafe<F>(&self, callback: F) -> Result<(), LoopClosed>
    where
        F: FnOnce() + Send + 'static,
    {
        self.remote.post(Msg::Call(Box::new(callback)))
    }

    /// Asks the loop to stop after its current iteration, as
    /// `call_soon_threadsafe(loop.stop)` does in asyncio.
    ///
    /// The loop takes its posts in batches, once per iteration. Callbacks
    /// posted before `stop` still run in this run. So do callbacks posted
    /// after it that reach the loop in the same batch: they join the
    /// iteration's ready callbacks, as they would join asyncio's ready
    /// queue before the loop sees `_stopping`. Callbacks that arrive in a
    /// later batch stay queued and run when the loop is run again.
    ///
    /// # Errors
    ///
    /// [`LoopClosed`] if the loop has been closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let handle = lp.handle();
    /// std::thread::spawn(move || handle.stop().unwrap()).join().unwrap();
    /// lp.run_forever().unwrap(); // returns: the stop was waiting
    /// lp.close().unwrap();
    /// assert_eq!(lp.handle().stop(), Err(tulipa::LoopClosed));
    /// ```
    pub fn stop(&self) -> Result<(), LoopClosed> {
        self.remote.post(Msg::Stop)
    }

    /// Whether the loop has been closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let handle = lp.handle();
    /// assert!(!handle.is_closed());
    /// lp.close().unwrap();
    /// assert!(handle.is_closed());
    /// assert!(handle.call_soon_threadsafe(|| {}).is_err());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.remote.inbox.is_closed()
    }

    /// Tells the loop that a post is on its way (an executor job, a reply from
    /// another thread), until the returned guard drops.
    ///
    /// Only the virtual clock cares: while any hold is alive it does not jump
    /// to the next timer but waits, in real time, for the post.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    ///
    /// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
    /// let handle = lp.handle();
    /// let (tx, rx) = mpsc::channel();
    /// let hold = handle.hold(); // a reply is on its way
    /// let replier = std::thread::spawn(move || {
    ///     std::thread::sleep(Duration::from_millis(20));
    ///     handle.call_soon_threadsafe(move || tx.send(tulipa::now()).unwrap()).unwrap();
    ///     drop(hold); // virtual time may jump again
    /// });
    /// let start = lp.time();
    /// lp.run_until_complete(tulipa::sleep(Duration::from_secs(3600))).unwrap();
    /// replier.join().unwrap();
    /// // The reply ran long before the hour was up: time did not jump past it.
    /// assert!(rx.recv().unwrap() - start < Duration::from_secs(3600));
    /// assert!(lp.time() - start >= Duration::from_secs(3600));
    /// ```
    pub fn hold(&self) -> PendingPost {
        self.remote.begin_hold();
        PendingPost {
            remote: self.remote.clone(),
        }
    }
}

impl fmt::Debug for LoopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopHandle")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// A guard from [`LoopHandle::hold`]: while alive, the virtual clock waits
/// for a post instead of jumping ahead.
#[must_use = "the hold ends as soon as the guard is dropped"]
pub struct PendingPost {
    remote: Arc<Remote>,
}

impl Drop for PendingPost {
    fn drop(&mut self) {
        self.remote.end_hold();
    }
}

impl fmt::Debug for PendingPost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingPost").finish_non_exhaustive()
    }
}

/// The loop was closed: nothing can be posted to it any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopClosed;

impl fmt::Display for LoopClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("event loop is closed")
    }
}

impl std::error::Error for LoopClosed {}
