//! [`TcpStream`]: a TCP connection on the loop's selector.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::task::{Context, Poll};

use mio::Interest;

use super::io_source::IoSource;
use super::ToSocketAddrs;
use crate::runtime::reactor::Direction;

/// A TCP connection registered with the running loop (the socket of
/// asyncio's `open_connection` transports; tokio's `TcpStream`).
///
/// Reads and writes take `&self`, so one task may read while another writes.
/// The stream belongs to the loop that created it and is `!Send`. Dropping
/// it closes the socket. For buffered, line-oriented reading and a write
/// buffer with back-pressure, wrap it in a [`StreamReader`](super::StreamReader)
/// and a [`StreamWriter`](super::StreamWriter) with
/// [`into_split`](TcpStream::into_split).
///
/// ```compile_fail
/// fn must_be_send<T: Send>(_: T) {}
/// tulipa::run(async {
///     let stream = tulipa::net::TcpStream::connect("127.0.0.1:9").await;
///     must_be_send(stream);
/// });
/// ```
///
/// # Examples
///
/// ```
/// use tulipa::net::{TcpListener, TcpStream};
///
/// tulipa::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let client = TcpStream::connect(addr).await?;
///     let (server, _) = listener.accept().await?;
///     client.write_all(b"ping").await?;
///     let mut buf = [0; 4];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub struct TcpStream {
    io: IoSource<mio::net::TcpStream>,
}

impl TcpStream {
    /// Opens a connection to `addr`, trying each resolved address in turn
    /// until one succeeds (asyncio's defaults; for happy eyeballs see
    /// [`ConnectOptions`](super::ConnectOptions)).
    ///
    /// A name (`"localhost:80"`) is resolved in the loop's default
    /// executor, as asyncio's `getaddrinfo`, so the loop keeps running.
    ///
    /// # Errors
    ///
    /// As [`ConnectOptions::connect`](super::ConnectOptions::connect): the
    /// error of the address tried, or of each of several.
    ///
    /// # Panics
    ///
    /// Polled outside a running tulipa loop.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future closes the half-open socket and deregisters it;
    /// nothing is left behind.
    #[doc(alias = "sock_connect")]
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        super::ConnectOptions::new().connect(addr).await
    }

    pub(crate) async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let socket = mio::net::TcpStream::connect(addr)?;
        let interest = Interest::READABLE | Interest::WRITABLE;
        let io = IoSource::new("TcpStream::connect", socket, interest, false)?;
        poll_fn(|cx| poll_connected(&io, cx)).await?;
        Ok(TcpStream { io })
    }

    /// Wraps a connected standard-library stream, making it non-blocking.
    ///
    /// # Errors
    ///
    /// If the socket cannot be made non-blocking or registered.
    ///
    /// # Panics
    ///
    /// Outside a running tulipa loop.
    #[track_caller]
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::from_mio(mio::net::TcpStream::from_std(stream))
    }

    #[track_caller]
    pub(crate) fn from_mio(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        let interest = Interest::READABLE | Interest::WRITABLE;
        let io = IoSource::new("TcpStream::from_std", stream, interest, true)?;
        Ok(TcpStream { io })
    }

    pub(crate) fn from_source(io: IoSource<mio::net::TcpStream>) -> TcpStream {
        TcpStream { io }
    }

    /// Reads what is available, at most `buf.len()` bytes, waiting until at
    /// least one byte (or the end of the stream) arrives. `Ok(0)` means the
    /// peer closed its side (or `buf` is empty).
    ///
    /// # Errors
    ///
    /// The socket's error, e.g. `ConnectionReset`.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: if the future is dropped, no data was read.
    #[doc(alias = "sock_recv")]
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_read(cx, buf)).await
    }

    /// Reads exactly `buf.len()` bytes.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the stream ends first (the bytes read so far are in
    /// `buf`), or the socket's error.
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: bytes read before the drop are lost.
    pub async fn read_exact(&self, buf: &mut [u8]) -> io::Result<()> {
        self.io.read_exact(buf).await
    }

    /// Writes some of `buf`, waiting until the socket accepts at least one
    /// byte; returns how many it took.
    ///
    /// # Errors
    ///
    /// The socket's error, e.g. `BrokenPipe` or `ConnectionReset`.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: if the future is dropped, nothing was written.
    #[doc(alias = "sock_send")]
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_write(cx, buf)).await
    }

    /// Writes all of `buf`, waiting for room in the socket as needed.
    ///
    /// # Errors
    ///
    /// The socket's error; `WriteZero` if the socket accepts nothing.
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: an unknown prefix of `buf` may have been written.
    #[doc(alias = "sock_sendall")]
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        self.io.write_all(buf).await
    }

    /// Polls for a read into `buf` (the building block of
    /// [`read`](TcpStream::read), for hand-written futures).
    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_read(cx, buf)
    }

    /// Polls for a write of `buf` (the building block of
    /// [`write`](TcpStream::write)).
    pub fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_write(cx, buf)
    }

    /// Writes what the socket takes right now, without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if the socket's buffer is full, or the socket's error.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write(buf)
    }

    /// Shuts down the read half, the write half (sends FIN: the peer reads
    /// the end of the stream) or both.
    ///
    /// # Errors
    ///
    /// The OS error, e.g. `NotConnected`.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get().shutdown(how)
    }

    /// The address of the peer.
    ///
    /// # Errors
    ///
    /// The OS error, e.g. `NotConnected`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().peer_addr()
    }

    /// The local address of the socket.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// Sets `TCP_NODELAY` (no Nagle delay for small writes).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get().nodelay()
    }

    /// Splits the stream into a buffered [`StreamReader`](super::StreamReader)
    /// and [`StreamWriter`](super::StreamWriter), as
    /// [`open_connection`](super::open_connection) returns them.
    pub fn into_split(self) -> (super::StreamReader, super::StreamWriter) {
        super::stream_reader::split(super::conn::Conn::Tcp(self))
    }
}

/// A non-blocking connect is done when the socket turns writable and has a
/// peer; an error event carries the reason it failed.
fn poll_connected(
    io: &IoSource<mio::net::TcpStream>,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    loop {
        std::task::ready!(io.poll_ready(Direction::Write, cx))?;
        if let Some(e) = io.get().take_error()? {
            return Poll::Ready(Err(e));
        }
        match io.get().peer_addr() {
            Ok(_) => return Poll::Ready(Ok(())),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => io.clear_ready(Direction::Write),
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
}

super::io_source::impl_as_fd!(TcpStream);

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}
