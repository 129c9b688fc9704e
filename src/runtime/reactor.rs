//! The selector: the only file that talks to mio's `Poll`.
//!
//! It owns the `mio::Poll`, its event buffer, the `mio::Waker` that other
//! threads use to interrupt a blocking poll (the modern form of asyncio's
//! self-pipe, `_write_to_self`), and the table of registered I/O sources
//! (asyncio's selector map).
//!
//! Two kinds of source share the table:
//!
//! - sockets (`crate::net`) get a [`ScheduledIo`]: edge-triggered readiness
//!   bits plus the wakers of the tasks waiting on each direction, as tokio's
//!   `ScheduledIo`. A socket operation that hits `WouldBlock` clears its bit
//!   and waits; the next event sets it and wakes the waiting tasks. No event
//!   can be dispatched while a task runs (one thread), so a bit cleared by a
//!   task can never hide an event that arrived after its `WouldBlock`.
//! - raw fds of `add_reader` / `add_writer` get callbacks. asyncio's selector
//!   is level-triggered; mio is edge-triggered, so after each callback run
//!   the fd is re-armed (`EPOLL_CTL_MOD`), which reports it again at the next
//!   poll if it is still ready: level-triggered behaviour, one syscall per run.
//!
//! A token is a key of the [`SourceTable`]: slot index plus generation, so an
//! event for a source removed (and its slot reused) after the kernel queued
//! the event is ignored.

use std::cell::{Cell, RefCell};
#[cfg(unix)]
use std::collections::HashMap;
use std::io;
#[cfg(unix)]
use std::os::fd::RawFd;
use std::rc::Rc;
use std::task::{Context, Poll as TaskPoll, Waker};
use std::time::Duration;

use mio::event::{Event, Source};
use mio::{Events, Interest, Poll, Token, Waker as MioWaker};

use super::sources::SourceTable;

/// Token of the cross-thread waker; I/O sources get other tokens.
const WAKER: Token = Token(usize::MAX);

/// Largest single selector sleep, as asyncio's `MAXIMUM_SELECT_TIMEOUT`.
pub(crate) const MAX_SELECT_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// A direction of I/O.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

// Readiness bits of a `ScheduledIo`. The "closed" bits are kept apart so that
// a short read can clear READABLE without forgetting a FIN already seen.
const READABLE: u8 = 1;
const WRITABLE: u8 = 2;
const READ_CLOSED: u8 = 4;
const WRITE_CLOSED: u8 = 8;

impl Direction {
    /// Every bit that lets an operation in this direction proceed.
    fn any(self) -> u8 {
        match self {
            Direction::Read => READABLE | READ_CLOSED,
            Direction::Write => WRITABLE | WRITE_CLOSED,
        }
    }

    fn edge(self) -> u8 {
        match self {
            Direction::Read => READABLE,
            Direction::Write => WRITABLE,
        }
    }
}

/// Readiness and waiting tasks of one socket.
#[derive(Debug, Default)]
pub(crate) struct ScheduledIo {
    ready: Cell<u8>,
    readers: RefCell<Vec<Waker>>,
    writers: RefCell<Vec<Waker>>,
}

impl ScheduledIo {
    /// Ready in `dir`, or keeps the waker of `cx` until the next event for it.
    pub(crate) fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> TaskPoll<()> {
        if self.ready.get() & dir.any() != 0 {
            return TaskPoll::Ready(());
        }
        let mut waiters = self.waiters(dir).borrow_mut();
        if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
            waiters.push(cx.waker().clone());
        }
        TaskPoll::Pending
    }

    /// Whether an operation in `dir` may proceed without waiting.
    pub(crate) fn is_ready(&self, dir: Direction) -> bool {
        self.ready.get() & dir.any() != 0
    }

    /// The operation said `WouldBlock`: forget every readiness of `dir`.
    pub(crate) fn clear_ready(&self, dir: Direction) {
        self.ready.set(self.ready.get() & !dir.any());
    }

    /// A short read or write drained the socket buffer: forget the edge but
    /// keep a "closed" state, which is final.
    pub(crate) fn clear_edge(&self, dir: Direction) {
        self.ready.set(self.ready.get() & !dir.edge());
    }

    fn waiters(&self, dir: Direction) -> &RefCell<Vec<Waker>> {
        match dir {
            Direction::Read => &self.readers,
            Direction::Write => &self.writers,
        }
    }

    /// Records `event` and moves the wakers it concerns to `woken`.
    fn set_from(&self, event: &Event, woken: &mut Vec<Woken>) {
        let mut bits = 0;
        if event.is_readable() {
            bits |= READABLE;
        }
        if event.is_writable() {
            bits |= WRITABLE;
        }
        if event.is_read_closed() || event.is_error() {
            bits |= READ_CLOSED;
        }
        if event.is_write_closed() || event.is_error() {
            bits |= WRITE_CLOSED;
        }
        self.ready.set(self.ready.get() | bits);
        if bits & Direction::Read.any() != 0 {
            woken.extend(self.readers.borrow_mut().drain(..).map(Woken::Task));
        }
        if bits & Direction::Write.any() != 0 {
            woken.extend(self.writers.borrow_mut().drain(..).map(Woken::Task));
        }
    }
}

/// The callback of an `add_reader` / `add_writer` (asyncio's reader `Handle`).
#[cfg(unix)]
pub(crate) struct FdCallback {
    callback: RefCell<Box<dyn FnMut()>>,
    cancelled: Cell<bool>,
    /// Already in the ready queue: a second event adds nothing.
    queued: Cell<bool>,
    token: Token,
}

/// What a poll found ready, in event order; dispatched once the borrows end.
pub(crate) enum Woken {
    Task(Waker),
    #[cfg(unix)]
    Fd(Rc<FdCallback>),
}

#[cfg(unix)]
struct FdEntry {
    fd: RawFd,
    reader: Option<Rc<FdCallback>>,
    writer: Option<Rc<FdCallback>>,
}

#[cfg(unix)]
impl FdEntry {
    fn interest(&self) -> Option<Interest> {
        match (self.reader.is_some(), self.writer.is_some()) {
            (true, true) => Some(Interest::READABLE | Interest::WRITABLE),
            (true, false) => Some(Interest::READABLE),
            (false, true) => Some(Interest::WRITABLE),
            (false, false) => None,
        }
    }
}

enum Entry {
    Io(Rc<ScheduledIo>),
    #[cfg(unix)]
    Fd(FdEntry),
}

pub(crate) struct Reactor {
    poll: RefCell<Poll>,
    events: RefCell<Events>,
    /// Registered I/O sources. While any exist, the virtual clock may not jump
    /// past real time: data could still arrive.
    table: RefCell<SourceTable<Entry>>,
    /// Token of each fd given to `add_reader` / `add_writer`.
    #[cfg(unix)]
    fds: RefCell<HashMap<RawFd, Token>>,
    /// Filled by `poll`, emptied by `take_woken`.
    woken: RefCell<Vec<Woken>>,
}

impl std::fmt::Debug for Reactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reactor")
            .field("sources", &self.source_count())
            .finish_non_exhaustive()
    }
}

/// The thread-safe half: wakes the selector from any thread.
#[derive(Debug)]
pub(crate) struct Wakeup(MioWaker);

impl Wakeup {
    pub(crate) fn wake(&self) {
        // A failed eventfd write means the counter is saturated, i.e. a wake-up
        // is already pending; nothing is lost by ignoring it.
        let _ = self.0.wake();
    }
}

/// What one poll saw.
#[derive(Debug, Default)]
pub(crate) struct Polled {
    /// Number of I/O events (not counting the waker).
    pub(crate) io_events: usize,
    /// Whether another thread woke the selector.
    pub(crate) woken: bool,
}

impl Reactor {
    pub(crate) fn new() -> io::Result<(Reactor, Wakeup)> {
        let poll = Poll::new()?;
        let waker = MioWaker::new(poll.registry(), WAKER)?;
        let reactor = Reactor {
            poll: RefCell::new(poll),
            events: RefCell::new(Events::with_capacity(1024)),
            table: RefCell::new(SourceTable::default()),
            #[cfg(unix)]
            fds: RefCell::new(HashMap::new()),
            woken: RefCell::new(Vec::new()),
        };
        Ok((reactor, Wakeup(waker)))
    }

    pub(crate) fn has_sources(&self) -> bool {
        self.source_count() > 0
    }

    /// Registered sockets and fds (asyncio's `len(selector.get_map())`).
    pub(crate) fn source_count(&self) -> usize {
        self.table.borrow().len()
    }

    /// Blocks for at most `timeout` (`None`: until woken) and records what
    /// arrived; [`take_woken`](Reactor::take_woken) hands it out.
    pub(crate) fn poll(&self, timeout: Option<Duration>) -> Polled {
        let timeout = timeout.map(|t| t.min(MAX_SELECT_TIMEOUT));
        let mut events = self.events.borrow_mut();
        let mut polled = Polled::default();
        match self.poll.borrow_mut().poll(&mut events, timeout) {
            Ok(()) => {}
            // A signal interrupted the wait: a wake-up (not a timeout, which
            // would let a virtual clock jump the whole gap); the loop goes round.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                polled.woken = true;
                return polled;
            }
            Err(e) => panic!("tulipa: the selector failed: {e}"),
        }
        let table = self.table.borrow();
        let mut woken = self.woken.borrow_mut();
        for event in events.iter() {
            if event.token() == WAKER {
                polled.woken = true;
                continue;
            }
            polled.io_events += 1;
            // `None`: a stale event for a source removed since.
            match table.get(event.token().0) {
                None => {}
                Some(Entry::Io(io)) => io.set_from(event, &mut woken),
                #[cfg(unix)]
                Some(Entry::Fd(fd)) => fd.queue(event, &mut woken),
            }
        }
        polled
    }

    /// Moves what the last polls found ready into `out` (which should be
    /// empty, and is swapped in to keep its capacity).
    pub(crate) fn take_woken(&self, out: &mut Vec<Woken>) {
        std::mem::swap(&mut *self.woken.borrow_mut(), out);
    }

    /// Registers a socket; `ready` says whether it starts out as readable and
    /// writable (an accepted socket) or must wait for events (a connect).
    pub(crate) fn register<S: Source + ?Sized>(
        &self,
        source: &mut S,
        interest: Interest,
        ready: bool,
    ) -> io::Result<(Token, Rc<ScheduledIo>)> {
        let io = Rc::new(ScheduledIo::default());
        if ready {
            io.ready.set(READABLE | WRITABLE);
        }
        Ok((self.register_io(source, interest, io.clone())?, io))
    }

    /// Registers a socket with readiness and waiters of its own (a socket
    /// moving here from another loop keeps its waiting tasks).
    pub(crate) fn register_io<S: Source + ?Sized>(
        &self,
        source: &mut S,
        interest: Interest,
        io: Rc<ScheduledIo>,
    ) -> io::Result<Token> {
        let token = Token(self.table.borrow_mut().insert(Entry::Io(io)));
        let registered = self
            .poll
            .borrow()
            .registry()
            .register(source, token, interest);
        if let Err(e) = registered {
            self.table.borrow_mut().remove(token.0);
            return Err(e);
        }
        Ok(token)
    }

    /// Removes a socket before it is closed; events already queued for its
    /// token are ignored from now on.
    pub(crate) fn deregister<S: Source + ?Sized>(&self, source: &mut S, token: Token) {
        // An error here means the source was never registered or the loop's
        // selector is gone; either way nothing remains to undo.
        let _ = self.poll.borrow().registry().deregister(source);
        let removed = self.table.borrow_mut().remove(token.0);
        // The wakers it held are dropped after the borrow ends.
        drop(removed);
    }

    /// Forgets every source (loop close); callbacks and wakers are dropped
    /// after the borrow ends, since dropping them may run user code.
    pub(crate) fn clear(&self) {
        let taken = self.table.borrow_mut().take_all();
        #[cfg(unix)]
        self.fds.borrow_mut().clear();
        drop(std::mem::take(&mut *self.woken.borrow_mut()));
        drop(taken);
    }
}

#[cfg(unix)]
impl FdEntry {
    fn queue(&self, event: &Event, woken: &mut Vec<Woken>) {
        let readable = event.is_readable() || event.is_read_closed() || event.is_error();
        let writable = event.is_writable() || event.is_write_closed() || event.is_error();
        for (hit, callback) in [(readable, &self.reader), (writable, &self.writer)] {
            if let (true, Some(callback)) = (hit, callback) {
                if !callback.queued.replace(true) {
                    woken.push(Woken::Fd(callback.clone()));
                }
            }
        }
    }
}

/// `add_reader` / `add_writer` on raw fds.
#[cfg(unix)]
impl Reactor {
    /// Sets the callback of `fd` for `dir`, replacing any earlier one (whose
    /// pending run, if queued, is skipped).
    pub(crate) fn add_fd(
        &self,
        fd: RawFd,
        dir: Direction,
        callback: Box<dyn FnMut()>,
    ) -> io::Result<()> {
        let existing = self.fds.borrow().get(&fd).copied();
        let token = match existing {
            Some(token) => token,
            None => Token(self.table.borrow_mut().insert(Entry::Fd(FdEntry {
                fd,
                reader: None,
                writer: None,
            }))),
        };
        let callback = Rc::new(FdCallback {
            callback: RefCell::new(callback),
            cancelled: Cell::new(false),
            queued: Cell::new(false),
            token,
        });
        let old = self
            .with_fd(token, |entry| entry.slot(dir).replace(callback))
            .flatten();
        if let Err(e) = self.apply_interest(token, existing.is_none()) {
            // Undo: the fd is not usable (closed, or already registered as a
            // socket), and epoll was left as it was.
            if existing.is_none() {
                let removed = self.table.borrow_mut().remove(token.0);
                drop(removed);
            } else {
                let new = self.with_fd(token, |entry| std::mem::replace(entry.slot(dir), old));
                drop(new);
            }
            return Err(e);
        }
        if existing.is_none() {
            self.fds.borrow_mut().insert(fd, token);
        }
        if let Some(old) = old {
            old.cancelled.set(true);
        }
        Ok(())
    }

    /// Removes the callback of `fd` for `dir`; `true` if there was one.
    pub(crate) fn remove_fd(&self, fd: RawFd, dir: Direction) -> bool {
        let Some(token) = self.fds.borrow().get(&fd).copied() else {
            return false;
        };
        let old = self
            .with_fd(token, |entry| entry.slot(dir).take())
            .flatten();
        if let Some(old) = &old {
            old.cancelled.set(true);
        }
        let _ = self.apply_interest(token, false);
        old.is_some()
    }

    /// Runs a queued fd callback, then re-arms the fd (level-triggered).
    pub(crate) fn run_fd(&self, callback: &FdCallback) {
        callback.queued.set(false);
        if callback.cancelled.get() {
            return;
        }
        struct Rearm<'a>(&'a Reactor, Token);
        impl Drop for Rearm<'_> {
            fn drop(&mut self) {
                let _ = self.0.apply_interest(self.1, false);
            }
        }
        let _rearm = Rearm(self, callback.token);
        if let Ok(mut f) = callback.callback.try_borrow_mut() {
            f();
        }
    }

    fn with_fd<R>(&self, token: Token, f: impl FnOnce(&mut FdEntry) -> R) -> Option<R> {
        match self.table.borrow_mut().get_mut(token.0) {
            Some(Entry::Fd(entry)) => Some(f(entry)),
            _ => None,
        }
    }

    /// Tells epoll what the fd's entry wants now: (re)register it, or drop it
    /// once it has neither reader nor writer. A closed fd is not an error
    /// worth reporting here: epoll already forgot it.
    fn apply_interest(&self, token: Token, fresh: bool) -> io::Result<()> {
        let Some((fd, interest)) = self.with_fd(token, |e| (e.fd, e.interest())) else {
            return Ok(());
        };
        let poll = self.poll.borrow();
        let registry = poll.registry();
        let mut source = mio::unix::SourceFd(&fd);
        let Some(interest) = interest else {
            let _ = registry.deregister(&mut source);
            drop(poll);
            self.fds.borrow_mut().remove(&fd);
            let removed = self.table.borrow_mut().remove(token.0);
            drop(removed);
            return Ok(());
        };
        if fresh {
            return registry.register(&mut source, token, interest);
        }
        match registry.reregister(&mut source, token, interest) {
            // The fd was closed (and maybe its number reused) while registered:
            // epoll dropped it, so register it afresh.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                registry.register(&mut source, token, interest)
            }
            other => other,
        }
    }
}

#[cfg(unix)]
impl FdEntry {
    fn slot(&mut self, dir: Direction) -> &mut Option<Rc<FdCallback>> {
        match dir {
            Direction::Read => &mut self.reader,
            Direction::Write => &mut self.writer,
        }
    }
}
