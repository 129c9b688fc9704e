//! A child process's pipe under a [`StreamReader`] or [`StreamWriter`]
//! (used by `crate::process`).

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::rc::Rc;
use std::task::{Context, Poll};

use mio::unix::pipe::{Receiver, Sender};
use mio::Interest;

use super::conn::Conn;
use super::io_source::IoSource;
use super::{StreamReader, StreamWriter};
use crate::runtime::core::Core;
use crate::runtime::reactor::Direction;

/// One end of a pipe, registered with the loop.
#[derive(Debug)]
pub(crate) enum Pipe {
    Read(IoSource<Receiver>),
    /// `None` once shut: closing the write end is how the reader gets EOF.
    Write(RefCell<Option<IoSource<Sender>>>),
}

fn wrong_end() -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, "wrong end of a pipe")
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "pipe closed")
}

impl Pipe {
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let Pipe::Read(source) = self else {
            return Poll::Ready(Err(wrong_end()));
        };
        let n = std::task::ready!(source.poll_io(Direction::Read, cx, |r| (&*r).read(buf)))?;
        source.note_transfer(Direction::Read, n, buf.len());
        Poll::Ready(Ok(n))
    }

    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let Pipe::Write(cell) = self else {
            return Poll::Ready(Err(wrong_end()));
        };
        let cell = cell.borrow();
        let Some(source) = cell.as_ref() else {
            return Poll::Ready(Err(closed()));
        };
        let n = std::task::ready!(source.poll_io(Direction::Write, cx, |w| (&*w).write(buf)))?;
        source.note_transfer(Direction::Write, n, buf.len());
        Poll::Ready(Ok(n))
    }

    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        let Pipe::Write(cell) = self else {
            return Err(wrong_end());
        };
        let cell = cell.borrow();
        let source = cell.as_ref().ok_or_else(closed)?;
        let n = source.try_io(Direction::Write, |w| (&*w).write(buf))?;
        source.note_transfer(Direction::Write, n, buf.len());
        Ok(n)
    }

    /// Shutting the write side closes the write end; a read end ignores it
    /// (it closes when its reader is dropped).
    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if let (Pipe::Write(cell), Shutdown::Write | Shutdown::Both) = (self, how) {
            let source = cell.borrow_mut().take();
            drop(source);
        }
        Ok(())
    }
}

/// A [`StreamReader`] on the read end of a pipe (made non-blocking here).
pub(crate) fn reader(core: Rc<Core>, pipe: Receiver) -> io::Result<StreamReader> {
    pipe.set_nonblocking(true)?;
    let source = IoSource::with_core(core, pipe, Interest::READABLE, true)?;
    Ok(super::stream_reader::reader(Rc::new(Conn::Pipe(
        Pipe::Read(source),
    ))))
}

/// A [`StreamWriter`] on the write end of a pipe (made non-blocking here).
pub(crate) fn writer(core: Rc<Core>, pipe: Sender) -> io::Result<StreamWriter> {
    pipe.set_nonblocking(true)?;
    let source = IoSource::with_core(core, pipe, Interest::WRITABLE, true)?;
    let conn = Conn::Pipe(Pipe::Write(RefCell::new(Some(source))));
    Ok(StreamWriter::new(Rc::new(conn)))
}
