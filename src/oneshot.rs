//! A one-value channel that crosses threads: the sending side is any thread,
//! the receiving side is awaited on any executor or waited on from a plain
//! thread. Used by `spawn_threadsafe` (and the executor's job futures).

use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

struct State<T> {
    value: Option<T>,
    /// The sender was dropped or has sent.
    sender_gone: bool,
    waker: Option<Waker>,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
}

pub(crate) struct Sender<T> {
    shared: Arc<Shared<T>>,
}

pub(crate) struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

/// Why a blocking receive returned without a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecvError {
    /// The sender was dropped without sending.
    Closed,
    /// The timeout passed first.
    Timeout,
}

pub(crate) fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            value: None,
            sender_gone: false,
            waker: None,
        }),
        ready: Condvar::new(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

impl<T> Sender<T> {
    pub(crate) fn send(self, value: T) {
        self.shared.state.lock().value = Some(value);
        // `Drop` marks the sender gone and wakes the receiver.
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut state = self.shared.state.lock();
            state.sender_gone = true;
            state.waker.take()
        };
        self.shared.ready.notify_all();
        // Woken after the lock is released.
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Receiver<T> {
    /// `Ready(Some(v))` once sent, `Ready(None)` if the sender left without sending.
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut state = self.shared.state.lock();
        if let Some(value) = state.value.take() {
            return Poll::Ready(Some(value));
        }
        if state.sender_gone {
            return Poll::Ready(None);
        }
        match &state.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => state.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Blocks the calling thread until the value arrives or `timeout` passes.
    pub(crate) fn recv_blocking(&self, timeout: Option<Duration>) -> Result<T, RecvError> {
        // A timeout too large to add to the clock means no limit.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut state = self.shared.state.lock();
        loop {
            if let Some(value) = state.value.take() {
                return Ok(value);
            }
            if state.sender_gone {
                return Err(RecvError::Closed);
            }
            match deadline {
                None => self.shared.ready.wait(&mut state),
                Some(deadline) => {
                    if self
                        .shared
                        .ready
                        .wait_until(&mut state, deadline)
                        .timed_out()
                        && state.value.is_none()
                        && !state.sender_gone
                    {
                        return Err(RecvError::Timeout);
                    }
                }
            }
        }
    }

    /// Whether a value (or the sender's departure) is there to be read.
    pub(crate) fn is_ready(&self) -> bool {
        let state = self.shared.state.lock();
        state.value.is_some() || state.sender_gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocking_receive_across_threads() {
        let (tx, rx) = channel();
        std::thread::spawn(move || tx.send(5));
        assert_eq!(rx.recv_blocking(None), Ok(5));
    }

    #[test]
    fn dropped_sender_closes() {
        let (tx, rx) = channel::<u8>();
        drop(tx);
        assert_eq!(rx.recv_blocking(None), Err(RecvError::Closed));
    }

    #[test]
    fn timeout_elapses_without_value() {
        let (_tx, rx) = channel::<u8>();
        assert_eq!(
            rx.recv_blocking(Some(Duration::from_millis(1))),
            Err(RecvError::Timeout)
        );
    }
}
