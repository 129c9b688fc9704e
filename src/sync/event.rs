//! [`Event`]: a flag that tasks wait on (asyncio's `Event`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::loom_shim::{const_fn_unless_loom, Mutex};
use crate::waiters::{wake_all, WaiterList};

/// A flag tasks can wait for (asyncio's `Event`).
///
/// [`set`](Event::set) raises the flag and wakes every waiter;
/// [`wait`](Event::wait) returns at once while it is raised;
/// [`clear`](Event::clear) lowers it. A waiter already woken by `set` returns
/// even if the flag is cleared before it runs, as in asyncio.
///
/// `Send + Sync`, needs only a [`Waker`](std::task::Waker): `set` may be
/// called from any thread, and waiting works under tokio or smol too.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use tulipa::sync::Event;
///
/// tulipa::run(async {
///     let ready = Rc::new(Event::new());
///     let waiter = {
///         let ready = ready.clone();
///         tulipa::spawn(async move {
///             ready.wait().await;
///             "went"
///         })
///     };
///     tulipa::yield_now().await;
///     ready.set();
///     assert_eq!(waiter.await.unwrap(), "went");
/// })
/// .unwrap();
/// ```
pub struct Event {
    state: Mutex<EventState>,
}

struct EventState {
    set: bool,
    waiters: WaiterList,
}

impl Event {
    const_fn_unless_loom! {
        /// A lowered flag.
        ///
        /// # Examples
        ///
        /// ```
        /// static READY: tulipa::sync::Event = tulipa::sync::Event::new(); // const: usable in a static
        /// assert!(!READY.is_set());
        /// READY.set();
        /// assert!(READY.is_set());
        /// ```
        pub fn new() -> Event {
            Event {
                state: Mutex::new(EventState {
                    set: false,
                    waiters: WaiterList::new(),
                }),
            }
        }
    }

    /// Raises the flag and wakes every waiter (in arrival order).
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = tulipa::sync::Event::new();
    /// ev.set();
    /// assert!(ev.is_set());
    /// ```
    pub fn set(&self) {
        let wakers = {
            let mut state = self.state.lock();
            if state.set {
                return;
            }
            state.set = true;
            let mut wakers = Vec::new();
            state.waiters.notify_all(&mut wakers);
            wakers
        };
        wake_all(wakers);
    }

    /// Lowers the flag. Waiters already woken by [`set`](Event::set) still
    /// return.
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = tulipa::sync::Event::new();
    /// ev.set();
    /// ev.clear();
    /// assert!(!ev.is_set());
    /// ```
    pub fn clear(&self) {
        self.state.lock().set = false;
    }

    /// Whether the flag is raised.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!tulipa::sync::Event::new().is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.state.lock().set
    }

    /// Waits until the flag is raised; returns at once if it already is.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future removes the waiter; it affects no other waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    ///
    /// tulipa::run(async {
    ///     let ev = Rc::new(tulipa::sync::Event::new());
    ///     let e = ev.clone();
    ///     let waiter = tulipa::spawn(async move {
    ///         e.wait().await;
    ///         e.is_set()
    ///     });
    ///     tulipa::yield_now().await; // the waiter now waits
    ///     ev.set();
    ///     assert!(waiter.await.unwrap());
    ///     ev.wait().await; // already set: no wait
    /// })
    /// .unwrap();
    /// ```
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
            key: UNQUEUED,
        }
    }
}

impl Default for Event {
    fn default() -> Event {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("Event")
            .field("set", &state.set)
            .field("waiters", &state.waiters.waiting())
            .finish()
    }
}

/// The future of [`Event::wait`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct EventWait<'a> {
    event: &'a Event,
    /// The waiter's slot in the line, or [`UNQUEUED`], or [`DONE`]: one
    /// word with the reference, so that a task waiting on an event stays
    /// small (BENCHMARKS.md's M1).
    key: u32,
}

/// Not in line (yet, or any more).
const UNQUEUED: u32 = u32::MAX;
/// Returned `Ready`.
const DONE: u32 = u32::MAX - 1;
const _: () = assert!(
    DONE >= crate::waiters::MAX_SLOTS,
    "keys never collide with slots"
);

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        assert!(this.key != DONE, "EventWait polled after completion");
        let mut state = this.event.state.lock();
        match this.key {
            UNQUEUED if state.set => {}
            UNQUEUED => {
                this.key = state.waiters.push_back(cx.waker());
                return Poll::Pending;
            }
            key => {
                if state.waiters.poll_notified(key, cx.waker()).is_pending() {
                    return Poll::Pending;
                }
            }
        }
        this.key = DONE;
        Poll::Ready(())
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        if self.key < DONE {
            // A notification carries nothing to pass on.
            let _ = self.event.state.lock().waiters.remove(self.key);
        }
    }
}

impl fmt::Debug for EventWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait")
            .field("queued", &(self.key < DONE))
            .finish()
    }
}
