//! Readiness callbacks on raw file descriptors: [`EventLoop::add_reader`]
//! and friends (asyncio's `loop.add_reader` family).

use std::io;
use std::os::fd::RawFd;

use crate::runtime::reactor::Direction;
use crate::EventLoop;

impl EventLoop {
    /// Calls `callback` in every loop iteration in which `fd` is readable
    /// (asyncio's `loop.add_reader`), until [`remove_reader`](EventLoop::remove_reader).
    ///
    /// As with asyncio's selector, readiness is level-triggered: a callback
    /// that leaves data unread runs again in the next iteration. Each ready
    /// fd appends its callback to the ready queue after the selector poll,
    /// like any other callback; a panic in it goes to the exception handler.
    /// Adding a reader to an fd that has one replaces it (a run already
    /// queued for the old callback is skipped).
    ///
    /// The loop does not own `fd`. Remove the reader before closing the fd:
    /// closing it first does not crash the loop (the kernel forgets it and
    /// the callback simply stops), but the registration stays until removed.
    ///
    /// # Errors
    ///
    /// The OS error: `EBADF` for a closed fd, `EPERM` for a regular file
    /// (epoll refuses those), `EEXIST` for the fd of a tulipa socket, or
    /// `Other` if the loop is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    ///
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let (mut tx, rx) = UnixStream::pair().unwrap();
    /// rx.set_nonblocking(true).unwrap();
    /// let fd = rx.as_raw_fd();
    /// lp.add_reader(fd, move || {
    ///     let mut buf = [0; 8];
    ///     let n = (&rx).read(&mut buf).unwrap();
    ///     assert_eq!(&buf[..n], b"ping");
    ///     tulipa::get_running_loop().unwrap().stop();
    /// })
    /// .unwrap();
    /// tx.write_all(b"ping").unwrap();
    /// lp.run_forever().unwrap();
    /// assert!(lp.remove_reader(fd));
    /// ```
    pub fn add_reader<F: FnMut() + 'static>(&self, fd: RawFd, callback: F) -> io::Result<()> {
        self.add_fd(fd, Direction::Read, Box::new(callback))
    }

    /// Calls `callback` in every loop iteration in which `fd` is writable
    /// (asyncio's `loop.add_writer`); otherwise as [`add_reader`](EventLoop::add_reader).
    ///
    /// # Errors
    ///
    /// As [`add_reader`](EventLoop::add_reader).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    ///
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let (tx, _rx) = UnixStream::pair().unwrap();
    /// let fd = tx.as_raw_fd();
    /// let calls = std::rc::Rc::new(std::cell::Cell::new(0));
    /// let seen = calls.clone();
    /// lp.add_writer(fd, move || {
    ///     seen.set(seen.get() + 1); // an empty socket is writable at once
    ///     tulipa::get_running_loop().unwrap().stop();
    /// })
    /// .unwrap();
    /// lp.run_forever().unwrap();
    /// assert_eq!(calls.get(), 1);
    /// assert!(lp.remove_writer(fd));
    /// ```
    pub fn add_writer<F: FnMut() + 'static>(&self, fd: RawFd, callback: F) -> io::Result<()> {
        self.add_fd(fd, Direction::Write, Box::new(callback))
    }

    /// Stops watching `fd` for reading; `true` if it had a reader (asyncio's
    /// `loop.remove_reader`). Works on an fd that was closed meanwhile.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    ///
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let (_tx, rx) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let fd = rx.as_raw_fd();
    /// assert!(!lp.remove_reader(fd)); // nothing to remove yet
    /// lp.add_reader(fd, || {}).unwrap();
    /// assert_eq!(lp.io_sources(), 1);
    /// assert!(lp.remove_reader(fd));
    /// assert_eq!(lp.io_sources(), 0);
    /// ```
    pub fn remove_reader(&self, fd: RawFd) -> bool {
        self.core.reactor().remove_fd(fd, Direction::Read)
    }

    /// Stops watching `fd` for writing; `true` if it had a writer.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    ///
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// let (tx, _rx) = std::os::unix::net::UnixStream::pair().unwrap();
    /// lp.add_writer(tx.as_raw_fd(), || {}).unwrap();
    /// assert!(lp.remove_writer(tx.as_raw_fd()));
    /// assert!(!lp.remove_writer(tx.as_raw_fd())); // removed already
    /// ```
    pub fn remove_writer(&self, fd: RawFd) -> bool {
        self.core.reactor().remove_fd(fd, Direction::Write)
    }

    /// How many I/O sources are registered with the loop's selector: sockets
    /// plus fds with a reader or writer (asyncio's
    /// `len(loop._selector.get_map())`). While it is non-zero the virtual
    /// clock follows real time, since data may still arrive.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulipa::EventLoop::new().unwrap();
    /// lp.run_until_complete(async {
    ///     let listener = tulipa::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     assert_eq!(tulipa::get_running_loop().unwrap().io_sources(), 1);
    ///     drop(listener);
    /// })
    /// .unwrap();
    /// assert_eq!(lp.io_sources(), 0);
    /// ```
    pub fn io_sources(&self) -> usize {
        self.core.reactor().source_count()
    }

    fn add_fd(&self, fd: RawFd, dir: Direction, callback: Box<dyn FnMut()>) -> io::Result<()> {
        if self.is_closed() {
            return Err(io::Error::other("event loop is closed"));
        }
        self.core.reactor().add_fd(fd, dir, callback)
    }
}
