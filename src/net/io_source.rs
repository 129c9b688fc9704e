//! A mio socket registered with the running loop's reactor: the glue every
//! socket type of this module is built on.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::rc::Rc;
use std::task::{Context, Poll};

use mio::event::Source;
use mio::{Interest, Token};

use crate::runtime::context;
use crate::runtime::core::Core;
use crate::runtime::reactor::{Direction, ScheduledIo};

/// A socket plus its registration; deregistered (before it closes) on drop.
pub(crate) struct IoSource<S: Source> {
    source: S,
    token: Token,
    io: Rc<ScheduledIo>,
    core: Rc<Core>,
}

impl<S: Source> IoSource<S> {
    /// Registers `source` with the running loop. `ready`: assume it is
    /// readable and writable until an operation says otherwise (a socket
    /// that already exists); `false` waits for the first event (a connect).
    ///
    /// Panics outside a running loop, naming `what`.
    #[track_caller]
    pub(crate) fn new(
        what: &str,
        source: S,
        interest: Interest,
        ready: bool,
    ) -> io::Result<IoSource<S>> {
        let core = context::expect_current(what);
        IoSource::with_core(core, source, interest, ready)
    }

    pub(crate) fn with_core(
        core: Rc<Core>,
        mut source: S,
        interest: Interest,
        ready: bool,
    ) -> io::Result<IoSource<S>> {
        let (token, io) = core.reactor.register(&mut source, interest, ready)?;
        Ok(IoSource {
            source,
            token,
            io,
            core,
        })
    }

    pub(crate) fn get(&self) -> &S {
        &self.source
    }

    pub(crate) fn core(&self) -> &Rc<Core> {
        &self.core
    }

    /// Ready in `dir`, or parks the task until the next event for it.
    pub(crate) fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<()> {
        self.io.poll_ready(dir, cx)
    }

    /// Forgets the readiness of `dir` (the operation said `WouldBlock`).
    pub(crate) fn clear_ready(&self, dir: Direction) {
        self.io.clear_ready(dir);
    }

    /// Runs `op` once the socket is ready in `dir`, parking on `WouldBlock`.
    pub(crate) fn poll_io<R>(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            if self.poll_ready(dir, cx).is_pending() {
                return Poll::Pending;
            }
            match op(&self.source) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.io.clear_ready(dir),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                result => return Poll::Ready(result),
            }
        }
    }

    /// `op` without waiting: `WouldBlock` if the socket is known not ready.
    pub(crate) fn try_io<R>(
        &self,
        dir: Direction,
        op: impl FnOnce(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        if !self.io.is_ready(dir) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let result = op(&self.source);
        if matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.io.clear_ready(dir);
        }
        result
    }

    /// A stream read or write moved `done` of `asked` bytes: a short count
    /// means the kernel buffer is drained (or full), so the next attempt
    /// waits for an event instead of making a syscall that would fail with
    /// `WouldBlock` (tokio does the same).
    pub(crate) fn note_transfer(&self, dir: Direction, done: usize, asked: usize) {
        if done > 0 && done < asked {
            self.io.clear_edge(dir);
        }
    }
}

/// The byte-stream operations shared by `TcpStream` and `UnixStream`.
impl<S: Source> IoSource<S>
where
    for<'a> &'a S: io::Read + io::Write,
{
    /// Polls for a read into `buf`.
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let n = std::task::ready!(
            self.poll_io(Direction::Read, cx, |s| io::Read::read(&mut &*s, buf))
        )?;
        self.note_transfer(Direction::Read, n, buf.len());
        Poll::Ready(Ok(n))
    }

    /// Polls for a write of `buf`.
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let n = std::task::ready!(
            self.poll_io(Direction::Write, cx, |s| io::Write::write(&mut &*s, buf))
        )?;
        self.note_transfer(Direction::Write, n, buf.len());
        Poll::Ready(Ok(n))
    }

    /// Writes what the socket takes right now, without waiting.
    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        let n = self.try_io(Direction::Write, |s| io::Write::write(&mut &*s, buf))?;
        self.note_transfer(Direction::Write, n, buf.len());
        Ok(n)
    }

    /// Reads until `buf` is full; `UnexpectedEof` if the stream ends first.
    pub(crate) async fn read_exact(&self, buf: &mut [u8]) -> io::Result<()> {
        let mut filled = 0;
        while filled < buf.len() {
            match poll_fn(|cx| self.poll_read(cx, &mut buf[filled..])).await? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => filled += n,
            }
        }
        Ok(())
    }

    /// Writes all of `buf`; `WriteZero` if the socket accepts nothing.
    pub(crate) async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match poll_fn(|cx| self.poll_write(cx, buf)).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }
}

impl<S: Source> Drop for IoSource<S> {
    fn drop(&mut self) {
        self.core.reactor.deregister(&mut self.source, self.token);
    }
}

impl<S: Source + fmt::Debug> fmt::Debug for IoSource<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.source.fmt(f)
    }
}

/// `AsRawFd` and `AsFd` for a socket type whose `io` field is an `IoSource`.
macro_rules! impl_as_fd {
    ($ty:ty) => {
        #[cfg(unix)]
        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.io.get().as_raw_fd()
            }
        }

        #[cfg(unix)]
        impl std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.io.get().as_fd()
            }
        }
    };
}
pub(crate) use impl_as_fd;
