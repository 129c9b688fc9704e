//! One connection: a driver task that writes queued commands and matches
//! replies to them in order (pipelining), on tulipa's own sockets.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use tulipa::net::{TcpStream, UnixStream};

use crate::{Cmd, RedisError, Value};

/// TCP or Unix socket.
#[derive(Debug)]
pub(crate) enum Socket {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Socket {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        match self {
            Socket::Tcp(s) => s.poll_read(cx, buf),
            Socket::Unix(s) => s.poll_read(cx, buf),
        }
    }
    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self {
            Socket::Tcp(s) => s.poll_write(cx, buf),
            Socket::Unix(s) => s.poll_write(cx, buf),
        }
    }
}

/// Where one reply lands.
#[derive(Debug, Default)]
struct Slot {
    reply: RefCell<Option<Result<Value, RedisError>>>,
    waker: RefCell<Option<Waker>>,
    /// Where this command's bytes end in the connection's output.
    end: Cell<u64>,
    /// The connection broke before the command was completely written, so
    /// the server never ran it: safe to send again.
    unsent: Cell<bool>,
}

impl Slot {
    fn fill(&self, reply: Result<Value, RedisError>) {
        *self.reply.borrow_mut() = Some(reply);
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }
}

/// What the connection and its driver task share: the bytes to send, the
/// commands waiting for their replies, and how the connection ended.
#[derive(Debug)]
struct Pipeline {
    out: RefCell<Vec<u8>>,
    waiting: RefCell<VecDeque<Rc<Slot>>>,
    driver: RefCell<Option<Waker>>,
    broken: RefCell<Option<RedisError>>,
    closed: Cell<bool>,
    /// Bytes queued and bytes written since the connection opened.
    queued: Cell<u64>,
    written: Cell<u64>,
}

impl Pipeline {
    /// Fails every command in flight and every later one with `err`.
    fn fail(&self, err: RedisError) {
        if self.broken.borrow().is_none() {
            *self.broken.borrow_mut() = Some(err.clone());
        }
        let slots: Vec<_> = self.waiting.borrow_mut().drain(..).collect();
        for slot in slots {
            slot.unsent.set(slot.end.get() > self.written.get());
            slot.fill(Err(err.clone()));
        }
        self.out.borrow_mut().clear();
    }
}

/// A live connection; dropping it stops its driver and closes the socket.
#[derive(Debug)]
pub(crate) struct Conn {
    pipeline: Rc<Pipeline>,
    driver: tulipa::Task<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.pipeline.closed.set(true);
        self.driver.cancel();
        self.pipeline.fail(RedisError::Connection {
            kind: io::ErrorKind::NotConnected,
            message: "the client was dropped".into(),
        });
    }
}

impl Conn {
    pub(crate) fn start(socket: Socket, resp3: bool) -> Conn {
        let pipeline = Rc::new(Pipeline {
            out: RefCell::new(Vec::new()),
            waiting: RefCell::new(VecDeque::new()),
            driver: RefCell::new(None),
            broken: RefCell::new(None),
            closed: Cell::new(false),
            queued: Cell::new(0),
            written: Cell::new(0),
        });
        let driver = tulipa::spawn(Driver {
            pipeline: pipeline.clone(),
            socket,
            resp3,
            inbuf: Vec::with_capacity(READ_CHUNK),
            chunk: vec![0; READ_CHUNK].into_boxed_slice(),
            start: 0,
            written: 0,
        });
        Conn { pipeline, driver }
    }

    /// The error that broke this connection, if it is broken.
    pub(crate) fn broken(&self) -> Option<RedisError> {
        self.pipeline.broken.borrow().clone()
    }

    /// Queues `cmds` and returns one future per reply, in order.
    pub(crate) fn send(&self, cmds: &[Cmd]) -> Vec<Reply> {
        if let Some(err) = self.broken() {
            return cmds.iter().map(|_| Reply::failed(err.clone())).collect();
        }
        let mut out = self.pipeline.out.borrow_mut();
        let mut waiting = self.pipeline.waiting.borrow_mut();
        let replies = cmds
            .iter()
            .map(|c| {
                let before = out.len();
                c.write_to(&mut out);
                let queued = self.pipeline.queued.get() + (out.len() - before) as u64;
                self.pipeline.queued.set(queued);
                let slot = Rc::new(Slot::default());
                slot.end.set(queued);
                waiting.push_back(slot.clone());
                Reply { slot }
            })
            .collect();
        if let Some(w) = self.pipeline.driver.borrow_mut().take() {
            w.wake();
        }
        replies
    }
}

/// The future of one reply.
#[derive(Debug)]
pub(crate) struct Reply {
    slot: Rc<Slot>,
}

impl Reply {
    fn failed(err: RedisError) -> Reply {
        let slot = Slot::default();
        slot.unsent.set(true);
        *slot.reply.borrow_mut() = Some(Err(err));
        Reply {
            slot: Rc::new(slot),
        }
    }

    /// The reply; on failure also whether the command was never sent.
    pub(crate) async fn get_checked(self) -> Result<Value, (RedisError, bool)> {
        let unsent = self.slot.clone();
        self.get().await.map_err(|e| (e, unsent.unsent.get()))
    }

    pub(crate) async fn get(self) -> Result<Value, RedisError> {
        poll_fn(|cx| {
            if let Some(reply) = self.slot.reply.borrow_mut().take() {
                return Poll::Ready(reply);
            }
            *self.slot.waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }
}

struct Driver {
    pipeline: Rc<Pipeline>,
    socket: Socket,
    resp3: bool,
    inbuf: Vec<u8>,
    chunk: Box<[u8]>,
    start: usize,
    written: usize,
}

const READ_CHUNK: usize = 64 * 1024;

impl Driver {
    /// Decodes every complete frame in the buffer and hands it to the oldest
    /// waiting command. RESP3 push frames are not replies and are skipped.
    fn dispatch(&mut self) -> Result<(), RedisError> {
        loop {
            let buf = &self.inbuf[self.start..];
            if buf.is_empty() {
                break;
            }
            let decoded = if self.resp3 {
                match redis_protocol::resp3::decode::complete::decode(buf) {
                    Ok(Some((frame, n))) => {
                        let push =
                            matches!(frame, redis_protocol::resp3::types::OwnedFrame::Push { .. });
                        Some((Value::from_resp3(frame), n, push))
                    }
                    Ok(None) => None,
                    Err(e) => return Err(RedisError::Protocol(e.to_string())),
                }
            } else {
                match redis_protocol::resp2::decode::decode(buf) {
                    Ok(Some((frame, n))) => Some((Value::from_resp2(frame), n, false)),
                    Ok(None) => None,
                    Err(e) => return Err(RedisError::Protocol(e.to_string())),
                }
            };
            let Some((value, n, push)) = decoded else {
                break;
            };
            self.start += n;
            if push {
                continue;
            }
            let slot = self.pipeline.waiting.borrow_mut().pop_front();
            match slot {
                Some(slot) => slot.fill(value),
                None => {
                    return Err(RedisError::Protocol(
                        "a reply arrived that no command asked for".into(),
                    ))
                }
            }
        }
        if self.start == self.inbuf.len() {
            self.inbuf.clear();
            self.start = 0;
        } else if self.start > READ_CHUNK {
            self.inbuf.drain(..self.start);
            self.start = 0;
        }
        Ok(())
    }

    fn poll_io(&mut self, cx: &mut Context<'_>) -> Result<(), RedisError> {
        // Read first: a peer that closed is noticed before more is written.
        // Read whatever arrived.
        loop {
            match self.socket.poll_read(cx, &mut self.chunk[..]) {
                Poll::Ready(Ok(0)) => return Err(RedisError::closed()),
                Poll::Ready(Ok(n)) => {
                    self.inbuf.extend_from_slice(&self.chunk[..n]);
                    self.dispatch()?;
                }
                Poll::Ready(Err(e)) => return Err(RedisError::io(&e)),
                Poll::Pending => break,
            }
        }
        // Write everything queued.
        loop {
            let out = self.pipeline.out.borrow();
            if self.written == out.len() {
                break;
            }
            match self.socket.poll_write(cx, &out[self.written..]) {
                Poll::Ready(Ok(0)) => return Err(RedisError::closed()),
                Poll::Ready(Ok(n)) => {
                    self.written += n;
                    let total = self.pipeline.written.get() + n as u64;
                    self.pipeline.written.set(total);
                }
                Poll::Ready(Err(e)) => return Err(RedisError::io(&e)),
                Poll::Pending => break,
            }
        }
        {
            let mut out = self.pipeline.out.borrow_mut();
            if self.written == out.len() {
                out.clear();
                self.written = 0;
            }
        }
        Ok(())
    }
}

impl Future for Driver {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.pipeline.closed.get() {
            return Poll::Ready(());
        }
        *this.pipeline.driver.borrow_mut() = Some(cx.waker().clone());
        match this.poll_io(cx) {
            Ok(()) => Poll::Pending,
            Err(err) => {
                this.pipeline.fail(err);
                Poll::Ready(())
            }
        }
    }
}
