//! The selector: the only file that talks to mio.
//!
//! It owns the `mio::Poll`, its event buffer and the `mio::Waker` that other
//! threads use to interrupt a blocking poll (the modern form of asyncio's
//! self-pipe, `_write_to_self`).

use std::cell::{Cell, RefCell};
use std::io;
use std::time::Duration;

use mio::{Events, Poll, Token, Waker};

/// Token of the cross-thread waker; I/O sources get other tokens.
const WAKER: Token = Token(usize::MAX);

/// Largest single selector sleep, as asyncio's `MAXIMUM_SELECT_TIMEOUT`.
pub(crate) const MAX_SELECT_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug)]
pub(crate) struct Reactor {
    poll: RefCell<Poll>,
    events: RefCell<Events>,
    /// Registered I/O sources. While any exist, the virtual clock may not jump
    /// past real time: data could still arrive.
    sources: Cell<usize>,
}

/// The thread-safe half: wakes the selector from any thread.
#[derive(Debug)]
pub(crate) struct Wakeup(Waker);

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
        let waker = Waker::new(poll.registry(), WAKER)?;
        let reactor = Reactor {
            poll: RefCell::new(poll),
            events: RefCell::new(Events::with_capacity(1024)),
            sources: Cell::new(0),
        };
        Ok((reactor, Wakeup(waker)))
    }

    pub(crate) fn has_sources(&self) -> bool {
        self.sources.get() > 0
    }

    /// Blocks for at most `timeout` (`None`: until woken) and reports what arrived.
    pub(crate) fn poll(&self, timeout: Option<Duration>) -> Polled {
        let timeout = timeout.map(|t| t.min(MAX_SELECT_TIMEOUT));
        let mut events = self.events.borrow_mut();
        let mut polled = Polled::default();
        match self.poll.borrow_mut().poll(&mut events, timeout) {
            Ok(()) => {}
            // A signal interrupted the wait: report nothing, the loop goes round.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return polled,
            Err(e) => panic!("tulipa: the selector failed: {e}"),
        }
        for event in events.iter() {
            if event.token() == WAKER {
                polled.woken = true;
            } else {
                polled.io_events += 1;
            }
        }
        polled
    }
}
