//! [`StreamWriter`]: the buffered write half of a connection (asyncio's
//! `StreamWriter` over a selector transport).

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use super::conn::Conn;
use crate::runtime::context;

/// Default high-water mark of the write buffer: 64 KiB, as asyncio's
/// selector transports (`4 * 16 KiB`).
///
/// ```
/// assert_eq!(tulipa::net::DEFAULT_HIGH_WATER, 64 * 1024);
/// ```
pub const DEFAULT_HIGH_WATER: usize = 64 * 1024;

/// The write half of a connection, with a buffer (asyncio's `StreamWriter`).
///
/// [`write`](StreamWriter::write) never waits: it sends what the socket takes
/// at once and buffers the rest, which a background task flushes as the
/// socket drains. [`drain`](StreamWriter::drain) is the back-pressure point:
/// while the buffer is above its high-water mark it waits until the buffer
/// falls to the low-water mark. A writer that awaits `drain` after each
/// `write` therefore holds at most the high-water mark plus one write in
/// memory, however slow the reader is.
///
/// Dropping the writer closes the connection (after flushing), as
/// [`close`](StreamWriter::close) does.
///
/// The writer is bound to its loop's thread (`!Send`):
///
/// ```compile_fail,E0277
/// fn must_be_send<T: Send>(_: T) {}
/// tulipa::run(async {
///     let (a, _b) = tulipa::net::UnixStream::pair().unwrap();
///     let (_reader, writer) = a.into_split();
///     must_be_send(writer);
/// });
/// ```
///
/// # Examples
///
/// ```
/// use tulipa::net::UnixStream;
///
/// tulipa::run(async {
///     let (a, b) = UnixStream::pair().unwrap();
///     let (_r, writer) = a.into_split();
///     let (mut reader, _w) = b.into_split();
///     writer.write(b"hello ");
///     writer.writelines([&b"stream"[..], b"s\n"]);
///     writer.drain().await.unwrap();
///     writer.close();
///     writer.wait_closed().await.unwrap();
///     assert_eq!(reader.read_to_end().await.unwrap(), b"hello streams\n");
/// })
/// .unwrap();
/// ```
pub struct StreamWriter {
    transport: Rc<Transport>,
}

struct Transport {
    conn: Rc<Conn>,
    state: RefCell<WriteBuffer>,
    /// Dropped once the writer is closed (or dropped): a server counts its
    /// open connections with it.
    on_closed: RefCell<Option<Rc<dyn Any>>>,
}

/// A server's weak hold on the writer of one of its connections, to close
/// or abort it from outside (asyncio's `Server._clients` of transports).
#[derive(Clone)]
pub(crate) struct WriterHandle(Weak<Transport>);

impl WriterHandle {
    /// As [`StreamWriter::close`], if the writer still exists.
    pub(crate) fn close(&self) {
        if let Some(transport) = self.0.upgrade() {
            transport.close();
        }
    }

    /// As [`StreamWriter::abort`], if the writer still exists.
    pub(crate) fn abort(&self) {
        if let Some(transport) = self.0.upgrade() {
            transport.abort();
        }
    }
}

#[derive(Default)]
struct WriteBuffer {
    /// Buffered bytes are `buf[pos..]`.
    buf: Vec<u8>,
    pos: usize,
    high: usize,
    low: usize,
    /// Above the high-water mark and not yet back to the low one.
    paused: bool,
    /// A flusher task is running.
    flushing: bool,
    /// `write_eof` was called: shut the write side once flushed.
    eof: bool,
    /// `close` was called: shut the socket once flushed.
    closing: bool,
    closed: bool,
    /// The first socket error; later writes are dropped, `drain` reports it.
    error: Option<io::Error>,
    drain_waiters: Vec<Waker>,
    close_waiters: Vec<Waker>,
}

impl WriteBuffer {
    fn pending(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn error(&self) -> Option<io::Error> {
        self.error
            .as_ref()
            .map(|e| io::Error::new(e.kind(), e.to_string()))
    }

    /// Records a socket error: the buffer is dropped, every waiter released.
    fn fail(&mut self, e: io::Error, wake: &mut Vec<Waker>) {
        self.error.get_or_insert(e);
        self.buf.clear();
        self.pos = 0;
        self.paused = false;
        wake.append(&mut self.drain_waiters);
    }
}

impl StreamWriter {
    pub(crate) fn new(conn: Rc<Conn>) -> StreamWriter {
        let state = WriteBuffer {
            high: DEFAULT_HIGH_WATER,
            low: DEFAULT_HIGH_WATER / 4,
            ..WriteBuffer::default()
        };
        let state = RefCell::new(state);
        let on_closed = RefCell::new(None);
        StreamWriter {
            transport: Rc::new(Transport {
                conn,
                state,
                on_closed,
            }),
        }
    }

    /// Keeps `guard` until the writer is closed or dropped.
    pub(crate) fn hold_until_closed(&self, guard: Rc<dyn Any>) {
        *self.transport.on_closed.borrow_mut() = Some(guard);
    }

    pub(crate) fn handle(&self) -> WriterHandle {
        WriterHandle(Rc::downgrade(&self.transport))
    }

    /// Sends `data`, buffering what the socket does not take at once; never
    /// waits. After [`close`](StreamWriter::close),
    /// [`abort`](StreamWriter::abort), [`write_eof`](StreamWriter::write_eof)
    /// or a socket error the data is dropped (the error shows up in
    /// [`drain`](StreamWriter::drain)). Written while no loop runs on the
    /// thread, what the socket does not take at once waits in the buffer
    /// until the next `write`, `drain`, `write_eof` or `close` on a loop.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulipa::run(async {
    /// # let (a, b) = tulipa::net::UnixStream::pair()?;
    /// # let (_r, writer) = a.into_split();
    /// # let (mut reader, _w) = b.into_split();
    /// writer.write(b"sent ");
    /// writer.write(b"at once");
    /// writer.close();
    /// writer.write(b" and dropped"); // after close: dropped
    /// assert_eq!(reader.read_to_end().await?, b"sent at once");
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn write(&self, data: &[u8]) {
        let mut wake = Vec::new();
        self.transport.write(data, &mut wake);
        wake.into_iter().for_each(Waker::wake);
    }

    /// Writes each buffer in turn (asyncio's `writelines`).
    ///
    /// # Examples
    ///
    /// ```
    /// # tulipa::run(async {
    /// # let (a, b) = tulipa::net::UnixStream::pair()?;
    /// # let (_r, writer) = a.into_split();
    /// # let (mut reader, _w) = b.into_split();
    /// writer.writelines(["one\n", "two\n"]);
    /// drop(writer);
    /// assert_eq!(reader.read_to_end().await?, b"one\ntwo\n");
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn writelines<I, B>(&self, lines: I)
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        for line in lines {
            self.write(line.as_ref());
        }
    }

    /// Waits while the write buffer is above its high-water mark, until it
    /// is back at the low-water mark; returns at once otherwise.
    ///
    /// # Errors
    ///
    /// The socket error that stopped the writer (e.g. `ConnectionReset`,
    /// `BrokenPipe`), or `ConnectionReset` once the writer's close has
    /// completed (while a close still flushes, `drain` waits as before).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: nothing is lost; the buffer keeps flushing.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulipa::run(async {
    /// # let (a, b) = tulipa::net::UnixStream::pair()?;
    /// # let (_r, writer) = a.into_split();
    /// # let (mut reader, _w) = b.into_split();
    /// let reading = tulipa::spawn(async move { reader.read_to_end().await });
    /// writer.write(&vec![7; 4 << 20]); // more than the socket takes at once
    /// assert!(writer.write_buffer_size() > tulipa::net::DEFAULT_HIGH_WATER);
    /// writer.drain().await?; // until the reader took enough
    /// assert!(writer.write_buffer_size() <= tulipa::net::DEFAULT_HIGH_WATER / 4);
    /// drop(writer);
    /// assert_eq!(reading.await.unwrap()?.len(), 4 << 20);
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub async fn drain(&self) -> io::Result<()> {
        self.transport
            .start_flusher(&mut self.transport.state.borrow_mut());
        poll_fn(|cx| self.transport.poll_drain(cx)).await
    }

    /// Flushes the buffer, then shuts the connection down (both directions);
    /// returns at once. Calling it again does nothing. Called while no loop
    /// runs on the thread (a writer dropped after its loop ended), it shuts
    /// the connection down at once: what is still buffered is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulipa::run(async {
    /// # let (a, b) = tulipa::net::UnixStream::pair()?;
    /// # let (_r, writer) = a.into_split();
    /// # let (mut reader, _w) = b.into_split();
    /// writer.write(b"last words");
    /// writer.close();
    /// writer.close(); // does nothing
    /// assert!(writer.is_closing());
    /// writer.wait_closed().await?;
    /// assert_eq!(reader.read_to_end().await?, b"last words");
    /// let err = writer.drain().await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn close(&self) {
        self.transport.close();
    }

    /// Closes the connection at once, dropping whatever is still buffered
    /// (asyncio's `transport.abort()`): the peer sees the end of the stream,
    /// later writes are dropped and [`drain`](StreamWriter::drain) fails
    /// with `ConnectionReset`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::UnixStream;
    ///
    /// tulipa::run(async {
    ///     let (a, b) = UnixStream::pair().unwrap();
    ///     let (_r, writer) = a.into_split();
    ///     let (mut reader, _w) = b.into_split();
    ///     writer.abort();
    ///     assert!(writer.is_closing());
    ///     assert_eq!(reader.read_to_end().await.unwrap(), b"");
    ///     assert!(writer.drain().await.is_err());
    /// })
    /// .unwrap();
    /// ```
    pub fn abort(&self) {
        self.transport.abort();
    }

    /// Whether [`close`](StreamWriter::close) was called (asyncio's `is_closing`).
    ///
    /// # Examples
    ///
    /// ```
    /// # tulipa::run(async {
    /// # let (a, _b) = tulipa::net::UnixStream::pair()?;
    /// # let (_r, writer) = a.into_split();
    /// assert!(!writer.is_closing());
    /// writer.close();
    /// assert!(writer.is_closing());
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn is_closing(&self) -> bool {
        self.transport.state.borrow().closing
    }

    /// Waits until the writer is closed: buffer flushed and socket shut down.
    ///
    /// # Errors
    ///
    /// The socket error that stopped the writer, if any.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the close goes on.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulipa::run(async {
    /// # let (a, b) = tulipa::net::UnixStream::pair()?;
    /// # let (_r, writer) = a.into_split();
    /// # let (mut reader, _w) = b.into_split();
    /// let reading = tulipa::spawn(async move { reader.read_to_end().await });
    /// writer.write(&vec![1; 1 << 20]);
    /// writer.close();
    /// writer.wait_closed().await?; // flushed and shut down
    /// assert_eq!(writer.write_buffer_size(), 0);
    /// assert_eq!(reading.await.unwrap()?.len(), 1 << 20);
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub async fn wait_closed(&self) -> io::Result<()> {
        poll_fn(|cx| {
            let mut state = self.transport.state.borrow_mut();
            if !state.closed {
                if !state.close_waiters.iter().any(|w| w.will_wake(cx.waker())) {
                    state.close_waiters.push(cx.waker().clone());
                }
                return Poll::Pending;
            }
            Poll::Ready(state.error().map_or(Ok(()), Err))
        })
        .await
    }

    /// Shuts the write direction once the buffer is flushed: the peer reads
    /// the end of the stream, and can still answer.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulipa::run(async {
    /// # let (a, b) = tulipa::net::UnixStream::pair()?;
    /// # let (mut my_reader, writer) = a.into_split();
    /// # let (mut reader, peer_writer) = b.into_split();
    /// writer.write(b"question");
    /// writer.write_eof();
    /// assert_eq!(reader.read_to_end().await?, b"question");
    /// peer_writer.write(b"answer"); // the other direction still works
    /// drop(peer_writer);
    /// assert_eq!(my_reader.read_to_end().await?, b"answer");
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn write_eof(&self) {
        let mut state = self.transport.state.borrow_mut();
        state.eof = true;
        self.transport.start_flusher(&mut state);
        if !state.flushing {
            drop(state);
            let _ = self.transport.conn.shutdown(Shutdown::Write);
        }
    }

    /// Sets the high- and low-water marks of the write buffer (asyncio's
    /// `transport.set_write_buffer_limits`); `low` defaults to `high / 4`.
    ///
    /// # Panics
    ///
    /// If `low > high`.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulipa::run(async {
    /// # let (a, b) = tulipa::net::UnixStream::pair()?;
    /// # let (_r, writer) = a.into_split();
    /// # let (mut reader, _w) = b.into_split();
    /// writer.set_write_buffer_limits(1 << 20, Some(0));
    /// let reading = tulipa::spawn(async move { reader.read_to_end().await });
    /// writer.write(&vec![0; 4 << 20]);
    /// writer.drain().await?; // low-water mark 0: until all was handed to the socket
    /// assert_eq!(writer.write_buffer_size(), 0);
    /// drop(writer);
    /// assert_eq!(reading.await.unwrap()?.len(), 4 << 20);
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    ///
    /// ```should_panic
    /// # tulipa::run(async {
    /// # let (a, _b) = tulipa::net::UnixStream::pair().unwrap();
    /// # let (_r, writer) = a.into_split();
    /// writer.set_write_buffer_limits(10, Some(11)); // low above high: panics
    /// # }).unwrap();
    /// ```
    pub fn set_write_buffer_limits(&self, high: usize, low: Option<usize>) {
        let low = low.unwrap_or(high / 4);
        assert!(
            low <= high,
            "low-water mark {low} above high-water mark {high}"
        );
        let mut state = self.transport.state.borrow_mut();
        state.high = high;
        state.low = low;
    }

    /// Bytes buffered and not yet handed to the socket (asyncio's
    /// `transport.get_write_buffer_size`).
    ///
    /// # Examples
    ///
    /// ```
    /// # tulipa::run(async {
    /// # let (a, _b) = tulipa::net::UnixStream::pair()?;
    /// # let (_r, writer) = a.into_split();
    /// writer.write(b"small");
    /// assert_eq!(writer.write_buffer_size(), 0); // the socket took it all
    /// writer.write(&vec![0; 4 << 20]);
    /// assert!(writer.write_buffer_size() > 0); // nobody reads: the rest waits
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    #[doc(alias = "get_write_buffer_size")]
    pub fn write_buffer_size(&self) -> usize {
        self.transport.state.borrow().pending()
    }

    /// The peer's address, for a TCP connection (asyncio's
    /// `get_extra_info("peername")`).
    ///
    /// # Errors
    ///
    /// The OS error; `Unsupported` on a Unix-domain connection.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::{open_connection, TcpListener};
    ///
    /// tulipa::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let (_reader, writer) = open_connection(listener.local_addr()?).await?;
    ///     assert_eq!(writer.peer_addr()?, listener.local_addr()?);
    ///     let (a, _b) = tulipa::net::UnixStream::pair()?;
    ///     let (_r, unix_writer) = a.into_split();
    ///     assert_eq!(unix_writer.peer_addr().unwrap_err().kind(), std::io::ErrorKind::Unsupported);
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    #[doc(alias = "get_extra_info")]
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        match &*self.transport.conn {
            Conn::Tcp(s) => s.peer_addr(),
            #[cfg(unix)]
            Conn::Unix(_) => Err(io::ErrorKind::Unsupported.into()),
            #[cfg(all(unix, feature = "process"))]
            Conn::Pipe(_) => Err(io::ErrorKind::Unsupported.into()),
            #[cfg(feature = "tls")]
            Conn::Custom(c) => c.peer_addr(),
        }
    }

    /// The connection under the writer.
    #[cfg(feature = "tls")]
    pub(crate) fn conn(&self) -> &Rc<Conn> {
        &self.transport.conn
    }

    /// Takes the connection out of the writer without closing it, with the
    /// bytes not yet sent (for `start_tls`). The writer is left inert: its
    /// flusher stops and dropping it does not close the connection.
    ///
    /// Errors: the socket error that stopped the writer, or `NotConnected`
    /// if it was closed.
    #[cfg(feature = "tls")]
    pub(crate) fn detach(self) -> io::Result<(Rc<Conn>, Vec<u8>)> {
        let mut state = self.transport.state.borrow_mut();
        if let Some(e) = state.error() {
            return Err(e);
        }
        if state.closing || state.eof {
            return Err(io::Error::new(io::ErrorKind::NotConnected, "writer closed"));
        }
        let pos = state.pos;
        let unsent = state.buf.split_off(pos);
        state.buf.clear();
        state.pos = 0;
        state.closing = true;
        state.closed = true;
        drop(state);
        Ok((self.transport.conn.clone(), unsent))
    }
}

impl Transport {
    fn write(self: &Rc<Self>, mut data: &[u8], wake: &mut Vec<Waker>) {
        let mut state = self.state.borrow_mut();
        if state.closing || state.eof || state.error.is_some() || data.is_empty() {
            return;
        }
        if state.pending() == 0 {
            match self.conn.try_write(data) {
                Ok(n) => data = &data[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return state.fail(e, wake),
            }
            if data.is_empty() {
                return;
            }
        }
        state.buf.extend_from_slice(data);
        if state.pending() > state.high {
            state.paused = true;
        }
        self.start_flusher(&mut state);
    }

    /// Starts the flusher task on the running loop if bytes wait and none
    /// runs. Bytes buffered while no loop ran (a write outside any loop)
    /// get their flusher from the next write, `drain`, `write_eof` or
    /// `close` on a loop.
    fn start_flusher(self: &Rc<Self>, state: &mut WriteBuffer) {
        if state.flushing || state.pending() == 0 {
            return;
        }
        if let Some(core) = context::current() {
            state.flushing = true;
            let transport = self.clone();
            let flusher = poll_fn(move |cx| transport.poll_flush(cx));
            let location = std::panic::Location::caller();
            drop(crate::task::spawn_on(&core, flusher, None, location));
        }
    }

    /// The flusher task: writes the buffer out, then carries out a pending
    /// `write_eof` or `close`.
    fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut wake = Vec::new();
        let mut state = self.state.borrow_mut();
        while state.pending() > 0 {
            let written = match self.conn.poll_write(cx, &state.buf[state.pos..]) {
                Poll::Pending => {
                    // Drain waiters released earlier in this poll (the buffer
                    // fell to the low-water mark) must still be woken.
                    drop(state);
                    wake.into_iter().for_each(Waker::wake);
                    return Poll::Pending;
                }
                Poll::Ready(Ok(0)) => Err(io::ErrorKind::WriteZero.into()),
                Poll::Ready(result) => result,
            };
            match written {
                Ok(n) => state.pos += n,
                Err(e) => state.fail(e, &mut wake),
            }
            if state.paused && state.pending() <= state.low {
                state.paused = false;
                wake.append(&mut state.drain_waiters);
            }
        }
        state.buf.clear();
        state.pos = 0;
        state.flushing = false;
        let (eof, closing) = (state.eof, state.closing);
        drop(state);
        if eof {
            let _ = self.conn.shutdown(Shutdown::Write);
        }
        if closing {
            self.finish_close();
        }
        wake.into_iter().for_each(Waker::wake);
        Poll::Ready(())
    }

    fn poll_drain(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut state = self.state.borrow_mut();
        if let Some(e) = state.error() {
            return Poll::Ready(Err(e));
        }
        if state.closed {
            let e = io::Error::new(io::ErrorKind::ConnectionReset, "connection lost");
            return Poll::Ready(Err(e));
        }
        if !state.paused {
            return Poll::Ready(Ok(()));
        }
        if !state.drain_waiters.iter().any(|w| w.will_wake(cx.waker())) {
            state.drain_waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }

    fn close(self: &Rc<Self>) {
        let mut state = self.state.borrow_mut();
        if state.closing {
            return;
        }
        state.closing = true;
        self.start_flusher(&mut state);
        if !state.flushing {
            drop(state);
            self.finish_close();
        }
    }

    fn abort(&self) {
        let wake = {
            let mut state = self.state.borrow_mut();
            state.buf.clear();
            state.pos = 0;
            state.paused = false;
            state.closing = true;
            std::mem::take(&mut state.drain_waiters)
        };
        // A flusher still waiting finds the buffer empty when it wakes.
        self.finish_close();
        wake.into_iter().for_each(Waker::wake);
    }

    fn finish_close(&self) {
        if self.state.borrow().closed {
            // Closed already, or detached: the connection is not ours.
            return;
        }
        // NotConnected after a reset is fine: the connection is gone anyway.
        let _ = self.conn.shutdown(Shutdown::Both);
        let waiters = {
            let mut state = self.state.borrow_mut();
            state.closed = true;
            std::mem::take(&mut state.close_waiters)
        };
        let guard = self.on_closed.borrow_mut().take();
        waiters.into_iter().for_each(Waker::wake);
        drop(guard);
    }
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        self.close();
    }
}

impl fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.transport.state.borrow();
        f.debug_struct("StreamWriter")
            .field("buffered", &state.pending())
            .field("closing", &state.closing)
            .field("error", &state.error)
            .finish()
    }
}
