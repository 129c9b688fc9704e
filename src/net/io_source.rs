//! A mio socket registered with the running loop's reactor: the glue every
//! socket type of this module is built on.

use std::cell::RefCell;
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

/// A mio socket that can name its fd, so that it can move between loops.
#[cfg(unix)]
pub(crate) trait Socket: Source + std::os::fd::AsRawFd {}
#[cfg(unix)]
impl<S: Source + std::os::fd::AsRawFd> Socket for S {}
#[cfg(not(unix))]
pub(crate) trait Socket: Source {}
#[cfg(not(unix))]
impl<S: Source> Socket for S {}

/// A socket plus its registration; deregistered (before it closes) on drop.
///
/// The registration follows the loop that polls the socket: a socket made
/// on one loop and awaited in a task of another loop of the same thread
/// (loops run one at a time per thread), or after its own loop closed,
/// moves its registration to the running loop the first time it would
/// park, keeping its parked tasks. Polled with no tulipa loop running, it
/// fails with an `io::Error` instead of parking forever.
pub(crate) struct IoSource<S: Socket> {
    source: S,
    interest: Interest,
    io: Rc<ScheduledIo>,
    reg: RefCell<Registration>,
}

/// The loop a socket is registered with, and its token there.
struct Registration {
    core: Rc<Core>,
    token: Token,
}

impl<S: Socket> IoSource<S> {
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
        let (token, io) = core.reactor().register(&mut source, interest, ready)?;
        Ok(IoSource {
            source,
            interest,
            io,
            reg: RefCell::new(Registration { core, token }),
        })
    }

    pub(crate) fn get(&self) -> &S {
        &self.source
    }

    /// The loop the socket is registered with now.
    pub(crate) fn core(&self) -> Rc<Core> {
        self.reg.borrow().core.clone()
    }

    /// Ready in `dir`, or parks the task until the next event for it, on
    /// the running loop.
    ///
    /// # Errors
    ///
    /// No tulipa loop runs on this thread, or the running loop refused the
    /// socket.
    pub(crate) fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.io.poll_ready(dir, cx).is_ready() {
            return Poll::Ready(Ok(()));
        }
        // About to park: the running loop must be the one watching.
        match self.follow_running_loop() {
            Ok(()) => Poll::Pending,
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn follow_running_loop(&self) -> io::Result<()> {
        let running = context::with_current(|current| {
            current.map(|c| (Rc::ptr_eq(c, &self.reg.borrow().core), c.clone()))
        });
        match running {
            Some((true, _)) => Ok(()),
            Some((false, core)) => self.move_to(core),
            None => Err(io::Error::other(
                "tulipa socket polled with no tulipa event loop running on this thread",
            )),
        }
    }

    /// Registers with `core` (the running loop), then leaves the old loop.
    #[cfg(unix)]
    fn move_to(&self, core: Rc<Core>) -> io::Result<()> {
        let fd = self.source.as_raw_fd();
        let mut source = mio::unix::SourceFd(&fd);
        let token = core
            .reactor()
            .register_io(&mut source, self.interest, self.io.clone())?;
        let old = std::mem::replace(&mut *self.reg.borrow_mut(), Registration { core, token });
        old.core.reactor().deregister(&mut source, old.token);
        Ok(())
    }

    #[cfg(not(unix))]
    fn move_to(&self, _core: Rc<Core>) -> io::Result<()> {
        Err(io::Error::other(
            "tulipa socket polled on an event loop other than its own",
        ))
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
            std::task::ready!(self.poll_ready(dir, cx))?;
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
impl<S: Socket> IoSource<S>
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

impl<S: Socket> Drop for IoSource<S> {
    fn drop(&mut self) {
        let reg = self.reg.get_mut();
        // By fd on Unix: a socket that moved was registered that way.
        #[cfg(unix)]
        let fd = self.source.as_raw_fd();
        #[cfg(unix)]
        let source = &mut mio::unix::SourceFd(&fd);
        #[cfg(not(unix))]
        let source = &mut self.source;
        reg.core.reactor().deregister(source, reg.token);
    }
}

impl<S: Socket + fmt::Debug> fmt::Debug for IoSource<S> {
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
