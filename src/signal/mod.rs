//! Unix signals on the loop (asyncio's `loop.add_signal_handler`), the
//! awaitable forms [`ctrl_c`] and [`signal`], and the Ctrl-C handling of
//! [`tulipa::run`](crate::run).
//!
//! | asyncio | tulipa |
//! |---|---|
//! | `loop.add_signal_handler(sig, cb)` | [`EventLoop::add_signal_handler`] |
//! | `loop.remove_signal_handler(sig) -> bool` | [`EventLoop::remove_signal_handler`] |
//! | `asyncio.run` / `Runner`: first Ctrl-C cancels the main task | [`tulipa::run`](crate::run) → [`RunError::Interrupted`] |
//!
//! # How a signal reaches the loop
//!
//! The process-wide handler is installed through `signal-hook` (its
//! registry chains handlers, so other users of the crate keep theirs). For
//! every loop that listens to a signal it does two things, both
//! async-signal-safe: an atomic store to that loop's per-signal "pending"
//! flag, then a one-byte `send(2)` with `MSG_DONTWAIT` on the loop's
//! self-pipe (a Unix socket pair; `signal-hook`'s `low_level::pipe`). No
//! allocation, no lock, no user code runs in the handler. The pipe's read
//! end is an [`add_reader`](crate::EventLoop::add_reader) fd of the loop, so
//! a signal that arrives while the loop sleeps in the selector wakes it;
//! the reader drains the pipe, swaps each flag back to `false`, and schedules
//! the callbacks of the signals it found as ordinary ready callbacks. Several
//! deliveries before the loop looks therefore run a callback once (the
//! kernel coalesces standard signals too).
//!
//! While a loop listens to any signal, the pipe is one of its I/O sources
//! ([`io_sources`](crate::EventLoop::io_sources)), so a virtual clock follows
//! real time as for any other source.
//!
//! When the last tulipa listener of a signal goes, the signal's default
//! action is restored (asyncio's `signal.signal(sig, SIG_DFL)`), except for
//! `SIGPIPE`, which Rust programs ignore.
//!
//! # Examples
//!
//! ```
//! use std::cell::Cell;
//! use std::rc::Rc;
//! use tulipa::signal::SIGUSR1;
//!
//! let lp = tulipa::EventLoop::new().unwrap();
//! let seen = Rc::new(Cell::new(0));
//! let s = seen.clone();
//! lp.add_signal_handler(SIGUSR1, move || {
//!     s.set(s.get() + 1);
//!     tulipa::get_running_loop().unwrap().stop();
//! })
//! .unwrap();
//! // A helper thread sends the signal to this process.
//! std::thread::spawn(|| signal_hook::low_level::raise(SIGUSR1).unwrap());
//! lp.run_forever().unwrap();
//! assert_eq!(seen.get(), 1);
//! assert!(lp.remove_signal_handler(SIGUSR1).unwrap());
//! ```

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::task::{Context, Poll, Waker};

use signal_hook::low_level::{self, pipe};
use signal_hook::SigId;

use crate::runtime::core::Core;
use crate::runtime::reactor::Direction;
use crate::{EventLoop, RunError};

pub use signal_hook::consts::signal::{
    SIGALRM, SIGCHLD, SIGCONT, SIGHUP, SIGINT, SIGKILL, SIGPIPE, SIGQUIT, SIGSTOP, SIGTERM,
    SIGUSR1, SIGUSR2, SIGWINCH,
};

/// A signal number, as in asyncio and libc (`SIGTERM` is 15 on Linux).
pub type Signal = std::ffi::c_int;

/// Why a signal handler could not be set or removed.
#[derive(Debug)]
#[non_exhaustive]
pub enum SignalError {
    /// The signal cannot be caught (`SIGKILL`, `SIGSTOP`) or must not be
    /// (`SIGILL`, `SIGFPE`, `SIGSEGV`, which the process raises for its own
    /// faults).
    Forbidden(Signal),
    /// Not a signal this system names (zero, negative, out of range, or a
    /// real-time signal, which tulipa does not handle).
    Invalid(Signal),
    /// The loop was closed.
    LoopClosed,
    /// The OS refused (creating the self-pipe, installing the handler).
    Io(io::Error),
}

impl fmt::Display for SignalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignalError::Forbidden(sig) => write!(f, "signal {sig} cannot be caught"),
            SignalError::Invalid(sig) => write!(f, "invalid signal number {sig}"),
            SignalError::LoopClosed => f.write_str("event loop is closed"),
            SignalError::Io(e) => write!(f, "cannot install the signal handler: {e}"),
        }
    }
}

impl std::error::Error for SignalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SignalError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for SignalError {
    fn from(e: io::Error) -> SignalError {
        SignalError::Io(e)
    }
}

impl From<SignalError> for io::Error {
    fn from(e: SignalError) -> io::Error {
        match e {
            SignalError::Io(e) => e,
            other => io::Error::new(io::ErrorKind::InvalidInput, other),
        }
    }
}

/// Checks `sig` as asyncio's `_check_signal` does.
fn check(sig: Signal) -> Result<(), SignalError> {
    if signal_hook::consts::FORBIDDEN.contains(&sig) {
        return Err(SignalError::Forbidden(sig));
    }
    if low_level::signal_name(sig).is_none() {
        return Err(SignalError::Invalid(sig));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Process-wide state: how many tulipa listeners each signal has.

struct Global {
    listeners: usize,
    /// Read by the handler: `true` = nobody in tulipa listens, so run the
    /// signal's default action.
    unhandled: Arc<AtomicBool>,
}

static GLOBAL: Mutex<Option<HashMap<Signal, Global>>> = Mutex::new(None);

/// `tulipa::run` was interrupted once: the next SIGINT takes the default
/// action (asyncio's second Ctrl-C raising `KeyboardInterrupt`).
static INTERRUPTED_ONCE: AtomicBool = AtomicBool::new(false);
static INTERRUPT_DEFAULT: Once = Once::new();

/// A tulipa listener of `sig` appears.
fn acquire(sig: Signal) -> io::Result<()> {
    let mut global = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    let map = global.get_or_insert_with(HashMap::new);
    if let Some(entry) = map.get_mut(&sig) {
        entry.listeners += 1;
        // ORDERING: SeqCst, as every flag the handler reads; signals are rare.
        entry.unhandled.store(false, Ordering::SeqCst);
        return Ok(());
    }
    let unhandled = Arc::new(AtomicBool::new(false));
    // Registered first, so it runs before the listeners' actions; never
    // removed: from now on it stands for the signal's default action.
    if sig != SIGPIPE {
        signal_hook::flag::register_conditional_default(sig, unhandled.clone())?;
    }
    map.insert(
        sig,
        Global {
            listeners: 1,
            unhandled,
        },
    );
    Ok(())
}

/// A tulipa listener of `sig` goes.
fn release(sig: Signal) {
    let mut global = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(entry) = global.as_mut().and_then(|m| m.get_mut(&sig)) {
        entry.listeners -= 1;
        if entry.listeners == 0 {
            // ORDERING: SeqCst, see `acquire`.
            entry.unhandled.store(true, Ordering::SeqCst);
        }
    }
}

// ---------------------------------------------------------------------------
// Per-loop state: the self-pipe and what listens to each signal.

type Callback = Rc<dyn Fn()>;

struct Slot {
    /// Set by the signal handler, swapped back by the loop.
    pending: Arc<AtomicBool>,
    ids: [SigId; 2],
    /// `add_signal_handler`'s callback.
    handler: Option<Callback>,
    /// Streams, `ctrl_c`, the child reaper.
    listeners: Vec<(u64, Callback)>,
    /// Runs only when neither a handler nor a listener is there
    /// (`tulipa::run`'s Ctrl-C).
    fallback: Option<Callback>,
}

impl Slot {
    fn is_empty(&self) -> bool {
        self.handler.is_none() && self.listeners.is_empty() && self.fallback.is_none()
    }
}

pub(crate) struct LoopSignals {
    core: Weak<Core>,
    read: UnixStream,
    write: UnixStream,
    slots: RefCell<HashMap<Signal, Slot>>,
    next_id: Cell<u64>,
}

thread_local! {
    /// The signal state of each loop of this thread, by loop id. The strong
    /// reference is the loop's reader callback, so the state goes with the
    /// loop (close clears its readers).
    static LOOPS: RefCell<HashMap<u64, Weak<LoopSignals>>> = RefCell::new(HashMap::new());
}

impl LoopSignals {
    /// The signal state of `core`'s loop, made on first use.
    fn of(core: &Rc<Core>) -> Result<Rc<LoopSignals>, SignalError> {
        if core.is_closed() {
            return Err(SignalError::LoopClosed);
        }
        let found = LOOPS.with(|loops| {
            let mut loops = loops.borrow_mut();
            loops.retain(|_, w| w.strong_count() > 0);
            loops.get(&core.id()).and_then(Weak::upgrade)
        });
        if let Some(found) = found {
            return Ok(found);
        }
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        let fd = read.as_raw_fd();
        let sigs = Rc::new(LoopSignals {
            core: Rc::downgrade(core),
            read,
            write,
            slots: RefCell::new(HashMap::new()),
            next_id: Cell::new(1),
        });
        let reader = sigs.clone();
        core.reactor()
            .add_fd(fd, Direction::Read, Box::new(move || reader.on_readable()))?;
        LOOPS.with(|loops| loops.borrow_mut().insert(core.id(), Rc::downgrade(&sigs)));
        Ok(sigs)
    }

    /// The pipe is readable: drain it, then schedule what each signal that
    /// fired has to run.
    fn on_readable(self: &Rc<Self>) {
        let mut buf = [0u8; 256];
        while matches!((&self.read).read(&mut buf), Ok(n) if n > 0) {}
        let fired: Vec<(Signal, Vec<u64>)> = self
            .slots
            .borrow()
            .iter()
            // ORDERING: SeqCst pairs with the handler's store, which comes
            // before its pipe write: a flag set after this swap leaves a
            // byte in the pipe, so the reader runs again.
            .filter(|(_, slot)| slot.pending.swap(false, Ordering::SeqCst))
            .map(|(&sig, slot)| (sig, slot.listeners.iter().map(|(id, _)| *id).collect()))
            .collect();
        let Some(lp) = crate::get_running_loop() else {
            return;
        };
        for (sig, listeners) in fired {
            let me = Rc::downgrade(self);
            drop(lp.call_soon(move || {
                if let Some(me) = me.upgrade() {
                    me.run_handler(sig);
                }
            }));
            for id in listeners {
                let me = Rc::downgrade(self);
                drop(lp.call_soon(move || {
                    if let Some(me) = me.upgrade() {
                        me.run_listener(sig, id);
                    }
                }));
            }
        }
    }

    /// Runs the handler of `sig` as it is now (a handler replaced or removed
    /// since the delivery takes effect at once), or else the fallback.
    fn run_handler(&self, sig: Signal) {
        let callback = {
            let slots = self.slots.borrow();
            let Some(slot) = slots.get(&sig) else { return };
            match (&slot.handler, &slot.fallback) {
                (Some(handler), _) => handler.clone(),
                (None, Some(fallback)) if slot.listeners.is_empty() => fallback.clone(),
                _ => return,
            }
        };
        callback();
    }

    fn run_listener(&self, sig: Signal, id: u64) {
        let callback = self
            .slots
            .borrow()
            .get(&sig)
            .and_then(|slot| slot.listeners.iter().find(|(i, _)| *i == id))
            .map(|(_, cb)| cb.clone());
        if let Some(callback) = callback {
            callback();
        }
    }

    /// Runs `edit` on the slot of `sig`, creating it (and installing the
    /// process-wide handler) if needed.
    fn with_slot<R>(&self, sig: Signal, edit: impl FnOnce(&mut Slot) -> R) -> io::Result<R> {
        if let Some(slot) = self.slots.borrow_mut().get_mut(&sig) {
            return Ok(edit(slot));
        }
        acquire(sig)?;
        let pending = Arc::new(AtomicBool::new(false));
        let registered = signal_hook::flag::register(sig, pending.clone()).and_then(|flag| {
            // Async-signal-safety of what runs in the handler: `flag` is one
            // atomic store; the pipe action is one `send(2)` of one byte with
            // MSG_DONTWAIT on a socket this action owns (a full buffer just
            // fails: a wake-up is already pending). Both are listed
            // async-signal-safe by POSIX; neither allocates nor locks.
            match self.write.try_clone().and_then(|w| pipe::register(sig, w)) {
                Ok(pipe) => Ok([flag, pipe]),
                Err(e) => {
                    low_level::unregister(flag);
                    Err(e)
                }
            }
        });
        let ids = match registered {
            Ok(ids) => ids,
            Err(e) => {
                release(sig);
                return Err(e);
            }
        };
        let mut slot = Slot {
            pending,
            ids,
            handler: None,
            listeners: Vec::new(),
            fallback: None,
        };
        let out = edit(&mut slot);
        self.slots.borrow_mut().insert(sig, slot);
        Ok(out)
    }

    /// Drops the slot of `sig` if nothing uses it any more, and the whole
    /// state (its reader, its pipe) if no slot is left.
    fn tidy(self: &Rc<Self>, sig: Signal) {
        let removed = {
            let mut slots = self.slots.borrow_mut();
            match slots.get(&sig) {
                Some(slot) if slot.is_empty() => slots.remove(&sig),
                _ => None,
            }
        };
        if let Some(slot) = removed {
            drop_slot(sig, slot);
        }
        if self.slots.borrow().is_empty() {
            if let Some(core) = self.core.upgrade() {
                // Drops the reader callback, which held the state.
                core.reactor()
                    .remove_fd(self.read.as_raw_fd(), Direction::Read);
                LOOPS.with(|loops| loops.borrow_mut().remove(&core.id()));
            }
        }
    }

    /// Listener ids start at 1; 0 marks the fallback.
    fn next_id(&self) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        id
    }
}

fn drop_slot(sig: Signal, slot: Slot) {
    for id in slot.ids {
        low_level::unregister(id);
    }
    release(sig);
}

impl Drop for LoopSignals {
    fn drop(&mut self) {
        for (sig, slot) in self.slots.get_mut().drain() {
            drop_slot(sig, slot);
        }
    }
}

/// A listener of one signal on one loop; removed on drop.
pub(crate) struct Listener {
    sigs: Weak<LoopSignals>,
    sig: Signal,
    id: u64,
}

impl Listener {
    /// Calls `callback` on `core`'s loop, as an ordinary callback, after
    /// each batch of deliveries of `sig`.
    pub(crate) fn new(
        core: &Rc<Core>,
        sig: Signal,
        callback: Callback,
    ) -> Result<Listener, SignalError> {
        check(sig)?;
        let sigs = LoopSignals::of(core)?;
        let id = sigs.next_id();
        let added = sigs.with_slot(sig, |slot| slot.listeners.push((id, callback)));
        if let Err(e) = added {
            sigs.tidy(sig);
            return Err(e.into());
        }
        Ok(Listener {
            sigs: Rc::downgrade(&sigs),
            sig,
            id,
        })
    }

    fn fallback(core: &Rc<Core>, sig: Signal, callback: Callback) -> Result<Listener, SignalError> {
        let sigs = LoopSignals::of(core)?;
        if let Err(e) = sigs.with_slot(sig, |slot| slot.fallback = Some(callback)) {
            sigs.tidy(sig);
            return Err(e.into());
        }
        Ok(Listener {
            sigs: Rc::downgrade(&sigs),
            sig,
            id: 0,
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let Some(sigs) = self.sigs.upgrade() else {
            return;
        };
        let removed = {
            let mut slots = sigs.slots.borrow_mut();
            slots.get_mut(&self.sig).map(|slot| {
                if self.id == 0 {
                    slot.fallback.take()
                } else {
                    let at = slot.listeners.iter().position(|(i, _)| *i == self.id);
                    at.map(|at| slot.listeners.remove(at).1)
                }
            })
        };
        // The callback may own user values: drop it after the borrow ends.
        drop(removed);
        sigs.tidy(self.sig);
    }
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("signal", &self.sig)
            .finish()
    }
}

// ---------------------------------------------------------------------------
// The public API.

impl EventLoop {
    /// Calls `callback` on the loop whenever `signal` is delivered to the
    /// process (asyncio's `loop.add_signal_handler`); replaces the handler
    /// that `signal` had on this loop.
    ///
    /// The callback runs in a loop iteration as an ordinary callback, never
    /// inside the signal handler, so it may do anything a callback may; a
    /// panic in it goes to the exception handler. A signal delivered while
    /// the loop waits in the selector wakes it. Deliveries that arrive
    /// before the loop gets to them run the callback once. A handler
    /// replaced or removed takes effect at once, even for a delivery
    /// already seen but not yet dispatched.
    ///
    /// Signals are process-wide: every loop with a handler for `signal`
    /// sees each delivery. While this loop has a handler it counts one more
    /// I/O source (the self-pipe; see the [module docs](crate::signal)).
    ///
    /// # Errors
    ///
    /// - [`SignalError::Forbidden`] for `SIGKILL`, `SIGSTOP`, `SIGILL`,
    ///   `SIGFPE`, `SIGSEGV`; [`SignalError::Invalid`] for a number that is
    ///   not a signal (asyncio: `ValueError` / `RuntimeError`);
    /// - [`SignalError::LoopClosed`] on a closed loop;
    /// - [`SignalError::Io`] if the self-pipe or the handler cannot be set up.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::signal::{SignalError, SIGKILL, SIGUSR2};
    ///
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// assert!(matches!(lp.add_signal_handler(SIGKILL, || {}), Err(SignalError::Forbidden(9))));
    /// assert!(matches!(lp.add_signal_handler(0, || {}), Err(SignalError::Invalid(0))));
    /// lp.add_signal_handler(SIGUSR2, || println!("got SIGUSR2")).unwrap();
    /// assert!(lp.remove_signal_handler(SIGUSR2).unwrap());
    /// assert!(!lp.remove_signal_handler(SIGUSR2).unwrap());
    /// ```
    #[cfg_attr(docsrs, doc(cfg(all(unix, feature = "signal"))))]
    pub fn add_signal_handler<F: Fn() + 'static>(
        &self,
        signal: Signal,
        callback: F,
    ) -> Result<(), SignalError> {
        check(signal)?;
        let sigs = LoopSignals::of(&self.core)?;
        let callback: Callback = Rc::new(callback);
        let old = sigs.with_slot(signal, |slot| slot.handler.replace(callback));
        match old {
            Ok(old) => {
                drop(old);
                Ok(())
            }
            Err(e) => {
                sigs.tidy(signal);
                Err(e.into())
            }
        }
    }

    /// Removes the handler of `signal` from this loop (asyncio's
    /// `loop.remove_signal_handler`): `Ok(true)` if there was one. When no
    /// tulipa listener of `signal` is left in the process, its default
    /// action is back.
    ///
    /// # Errors
    ///
    /// [`SignalError::Forbidden`] or [`SignalError::Invalid`], as for
    /// [`add_signal_handler`](EventLoop::add_signal_handler).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// assert!(!lp.remove_signal_handler(tulipa::signal::SIGHUP).unwrap());
    /// ```
    #[cfg_attr(docsrs, doc(cfg(all(unix, feature = "signal"))))]
    pub fn remove_signal_handler(&self, signal: Signal) -> Result<bool, SignalError> {
        check(signal)?;
        let found = LOOPS.with(|loops| loops.borrow().get(&self.core.id()).and_then(Weak::upgrade));
        let Some(sigs) = found else {
            return Ok(false);
        };
        let old = sigs
            .slots
            .borrow_mut()
            .get_mut(&signal)
            .and_then(|slot| slot.handler.take());
        let had = old.is_some();
        drop(old);
        sigs.tidy(signal);
        Ok(had)
    }
}

/// The deliveries of one signal to this process, as a stream (each item is
/// one or more deliveries that arrived before the loop looked).
///
/// Made by [`signal()`]; stops listening when dropped. Implements
/// [`futures_core::Stream`] (it never ends).
///
/// # Examples
///
/// ```
/// use tulipa::signal::{signal, SIGWINCH};
///
/// tulipa::run(async {
///     let mut winch = signal(SIGWINCH).unwrap();
///     std::thread::spawn(|| signal_hook::low_level::raise(SIGWINCH).unwrap());
///     winch.recv().await;
///     assert_eq!(winch.signal(), SIGWINCH);
/// })
/// .unwrap();
/// ```
#[cfg_attr(docsrs, doc(cfg(all(unix, feature = "signal"))))]
pub struct SignalStream {
    state: Rc<StreamState>,
    sig: Signal,
    _listener: Listener,
}

#[derive(Default)]
struct StreamState {
    ready: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl SignalStream {
    /// Waits for the next delivery (or batch of deliveries) of the signal.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a delivery seen while no `recv` waits is kept for the
    /// next one.
    pub async fn recv(&mut self) {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next delivery; the waker of `cx` is woken by it.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.state.ready.replace(false) {
            return Poll::Ready(());
        }
        *self.state.waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }

    /// The signal this stream receives.
    pub fn signal(&self) -> Signal {
        self.sig
    }
}

impl futures_core::Stream for SignalStream {
    type Item = ();

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.poll_recv(cx).map(Some)
    }
}

impl fmt::Debug for SignalStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignalStream")
            .field("signal", &self.sig)
            .field("ready", &self.state.ready.get())
            .finish()
    }
}

/// Starts listening to `sig` on the running loop; see [`SignalStream`].
///
/// Listening starts now: a delivery between this call and the first
/// `recv` is kept. It does not replace the loop's
/// [`add_signal_handler`](EventLoop::add_signal_handler) handler; both run.
///
/// # Errors
///
/// As [`EventLoop::add_signal_handler`].
///
/// # Panics
///
/// Outside a running tulipa loop.
///
/// # Examples
///
/// ```
/// use tulipa::signal::{signal, SignalError, SIGSTOP};
///
/// tulipa::run(async {
///     assert!(matches!(signal(SIGSTOP), Err(SignalError::Forbidden(_))));
/// })
/// .unwrap();
/// ```
#[cfg_attr(docsrs, doc(cfg(all(unix, feature = "signal"))))]
#[track_caller]
pub fn signal(sig: Signal) -> Result<SignalStream, SignalError> {
    let core = crate::runtime::context::expect_current("tulipa::signal::signal");
    let state = Rc::new(StreamState::default());
    let seen = state.clone();
    let listener = Listener::new(
        &core,
        sig,
        Rc::new(move || {
            seen.ready.set(true);
            if let Some(waker) = seen.waker.borrow_mut().take() {
                waker.wake();
            }
        }),
    )?;
    Ok(SignalStream {
        state,
        sig,
        _listener: listener,
    })
}

/// Waits for Ctrl-C (`SIGINT`) on the running loop.
///
/// Inside [`tulipa::run`](crate::run) a pending `ctrl_c` takes the Ctrl-C
/// instead of the main future being interrupted, as any `SIGINT` listener
/// does. Listening starts at the first poll.
///
/// # Errors
///
/// [`SignalError::Io`] if the handler cannot be installed.
///
/// # Panics
///
/// When first polled outside a running tulipa loop.
///
/// # Cancel safety
///
/// Cancel-safe, but a Ctrl-C that arrives while no `ctrl_c` is pending is
/// not kept for a later call (use [`signal()`] for that).
///
/// # Examples
///
/// ```
/// tulipa::run(async {
///     std::thread::spawn(|| signal_hook::low_level::raise(tulipa::signal::SIGINT).unwrap());
///     tulipa::signal::ctrl_c().await.unwrap();
///     println!("interrupted, shutting down");
/// })
/// .unwrap();
/// ```
#[cfg_attr(docsrs, doc(cfg(all(unix, feature = "signal"))))]
pub async fn ctrl_c() -> Result<(), SignalError> {
    signal(SIGINT)?.recv().await;
    Ok(())
}

// ---------------------------------------------------------------------------
// `tulipa::run`'s Ctrl-C (asyncio.Runner since 3.11).

#[derive(Default)]
struct Interrupt {
    interrupted: Cell<bool>,
    finished: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

/// The main future of `tulipa::run`: resolves to `Err` at the first Ctrl-C,
/// dropping the wrapped future at once (its cancellation).
struct Interruptible<F> {
    inner: Option<Pin<Box<F>>>,
    state: Rc<Interrupt>,
}

impl<F: Future> Future for Interruptible<F> {
    type Output = Result<F::Output, RunError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.state.interrupted.get() {
            self.inner = None;
            self.state.finished.set(true);
            return Poll::Ready(Err(RunError::Interrupted));
        }
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Pending;
        };
        match inner.as_mut().poll(cx) {
            Poll::Ready(out) => {
                self.inner = None;
                self.state.finished.set(true);
                Poll::Ready(Ok(out))
            }
            Poll::Pending => {
                *self.state.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// `tulipa::run` with asyncio's SIGINT rule: the first Ctrl-C (while no
/// other SIGINT handler or listener is on the loop) drops the main future,
/// the leftover tasks are cancelled and unwind, and the result is
/// [`RunError::Interrupted`]; a Ctrl-C after that takes the default action.
pub(crate) fn run_interruptible<F: Future>(
    lp: EventLoop,
    future: F,
) -> Result<F::Output, RunError> {
    let state = Rc::new(Interrupt::default());
    let seen = state.clone();
    let on_sigint = move || {
        if seen.finished.get() {
            // The main future is done and the loop is unwinding: as asyncio's
            // `KeyboardInterrupt`, the default action.
            let _ = low_level::emulate_default_handler(SIGINT);
            return;
        }
        // ORDERING: SeqCst, read by the handler installed just below.
        INTERRUPTED_ONCE.store(true, Ordering::SeqCst);
        seen.interrupted.set(true);
        if let Some(waker) = seen.waker.borrow_mut().take() {
            waker.wake();
        }
    };
    let mut armed = Ok(());
    INTERRUPT_DEFAULT.call_once(|| {
        armed =
            signal_hook::flag::register_conditional_default(SIGINT, &INTERRUPTED_ONCE).map(drop);
    });
    // If Ctrl-C cannot be caught, run without the rule rather than not at all.
    let listener = match armed {
        Ok(()) => Listener::fallback(&lp.core, SIGINT, Rc::new(on_sigint)).ok(),
        Err(_) => None,
    };
    let main = Interruptible {
        inner: Some(Box::pin(future)),
        state,
    };
    let out = lp.run(main);
    drop(listener);
    // ORDERING: SeqCst, as above.
    INTERRUPTED_ONCE.store(false, Ordering::SeqCst);
    out.and_then(|r| r)
}
