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
/// ```compile_fail,E0277
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
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::{TcpListener, TcpStream};
    ///
    /// tulipa::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let stream = TcpStream::connect(listener.local_addr()?).await?;
    ///     assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::TcpStream;
    ///
    /// tulipa::run(async {
    ///     let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    ///     let std_stream = std::net::TcpStream::connect(listener.local_addr()?)?;
    ///     let stream = TcpStream::from_std(std_stream)?;
    ///     let (mut peer, _) = listener.accept()?;
    ///     std::io::Write::write_all(&mut peer, b"hi")?;
    ///     let mut buf = [0; 2];
    ///     stream.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"hi");
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// # use tulipa::net::{TcpListener, TcpStream};
    /// # tulipa::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// # let client = TcpStream::connect(listener.local_addr()?).await?;
    /// # let (server, _) = listener.accept().await?;
    /// client.write_all(b"hello").await?;
    /// client.shutdown(std::net::Shutdown::Write)?;
    /// let mut buf = [0; 16];
    /// let mut got = Vec::new();
    /// loop {
    ///     let n = server.read(&mut buf).await?;
    ///     if n == 0 {
    ///         break; // the peer closed its side
    ///     }
    ///     got.extend_from_slice(&buf[..n]);
    /// }
    /// assert_eq!(got, b"hello");
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// # use tulipa::net::{TcpListener, TcpStream};
    /// # tulipa::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// # let client = TcpStream::connect(listener.local_addr()?).await?;
    /// # let (server, _) = listener.accept().await?;
    /// client.write_all(b"abc").await?;
    /// drop(client);
    /// let mut buf = [0; 2];
    /// server.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"ab");
    /// let err = server.read_exact(&mut buf).await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// # use tulipa::net::{TcpListener, TcpStream};
    /// # tulipa::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// # let client = TcpStream::connect(listener.local_addr()?).await?;
    /// # let (server, _) = listener.accept().await?;
    /// let n = client.write(b"ping").await?;
    /// assert!(n >= 1 && n <= 4);
    /// let mut buf = [0; 4];
    /// server.read_exact(&mut buf[..n]).await?;
    /// assert_eq!(&buf[..n], &b"ping"[..n]);
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// # use tulipa::net::{TcpListener, TcpStream};
    /// # tulipa::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// # let client = TcpStream::connect(listener.local_addr()?).await?;
    /// # let (server, _) = listener.accept().await?;
    /// client.write_all(b"all of it").await?;
    /// let mut buf = [0; 9];
    /// server.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"all of it");
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    #[doc(alias = "sock_sendall")]
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        self.io.write_all(buf).await
    }

    /// Polls for a read into `buf` (the building block of
    /// [`read`](TcpStream::read), for hand-written futures).
    ///
    /// # Errors
    ///
    /// As [`read`](TcpStream::read); also an `Other` error if no tulipa loop
    /// runs on this thread when the socket would wait.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// # use tulipa::net::{TcpListener, TcpStream};
    /// # tulipa::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// # let client = TcpStream::connect(listener.local_addr()?).await?;
    /// # let (server, _) = listener.accept().await?;
    /// client.write_all(b"x").await?;
    /// let mut buf = [0; 1];
    /// let n = poll_fn(|cx| server.poll_read(cx, &mut buf)).await?;
    /// assert_eq!(&buf[..n], b"x");
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_read(cx, buf)
    }

    /// Polls for a write of `buf` (the building block of
    /// [`write`](TcpStream::write)).
    ///
    /// # Errors
    ///
    /// As [`write`](TcpStream::write); also an `Other` error if no tulipa loop
    /// runs on this thread when the socket would wait.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// # use tulipa::net::{TcpListener, TcpStream};
    /// # tulipa::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// # let client = TcpStream::connect(listener.local_addr()?).await?;
    /// # let (server, _) = listener.accept().await?;
    /// let n = poll_fn(|cx| client.poll_write(cx, b"y")).await?;
    /// assert_eq!(n, 1);
    /// let mut buf = [0; 1];
    /// server.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"y");
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_write(cx, buf)
    }

    /// Writes what the socket takes right now, without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if the socket's buffer is full, or the socket's error.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tulipa::net::{TcpListener, TcpStream};
    /// # tulipa::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// # let client = TcpStream::connect(listener.local_addr()?).await?;
    /// # let (server, _) = listener.accept().await?;
    /// // A fresh socket has room for a few bytes.
    /// assert_eq!(client.try_write(b"now")?, 3);
    /// let mut buf = [0; 3];
    /// server.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"now");
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write(buf)
    }

    /// Shuts down the read half, the write half (sends FIN: the peer reads
    /// the end of the stream) or both.
    ///
    /// # Errors
    ///
    /// The OS error, e.g. `NotConnected`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Shutdown;
    /// # use tulipa::net::{TcpListener, TcpStream};
    /// # tulipa::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// # let client = TcpStream::connect(listener.local_addr()?).await?;
    /// # let (server, _) = listener.accept().await?;
    /// client.shutdown(Shutdown::Write)?;
    /// let mut buf = [0; 1];
    /// assert_eq!(server.read(&mut buf).await?, 0); // the end of the stream
    /// server.write_all(b"z").await?; // the other direction still works
    /// client.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"z");
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get().shutdown(how)
    }

    /// The address of the peer.
    ///
    /// # Errors
    ///
    /// The OS error, e.g. `NotConnected`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tulipa::net::{TcpListener, TcpStream};
    /// # tulipa::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// # let client = TcpStream::connect(listener.local_addr()?).await?;
    /// # let (server, _) = listener.accept().await?;
    /// assert_eq!(client.peer_addr()?, listener.local_addr()?);
    /// assert_eq!(server.peer_addr()?, client.local_addr()?);
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().peer_addr()
    }

    /// The local address of the socket.
    ///
    /// # Errors
    ///
    /// The OS error.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tulipa::net::{TcpListener, TcpStream};
    /// # tulipa::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// # let client = TcpStream::connect(listener.local_addr()?).await?;
    /// # let (server, _) = listener.accept().await?;
    /// assert_eq!(server.local_addr()?, listener.local_addr()?);
    /// assert!(client.local_addr()?.ip().is_loopback());
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// Sets `TCP_NODELAY` (no Nagle delay for small writes).
    ///
    /// # Errors
    ///
    /// The OS error.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tulipa::net::{TcpListener, TcpStream};
    /// # tulipa::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// # let client = TcpStream::connect(listener.local_addr()?).await?;
    /// client.set_nodelay(true)?;
    /// assert!(client.nodelay()?);
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// The OS error.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tulipa::net::{TcpListener, TcpStream};
    /// # tulipa::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// # let client = TcpStream::connect(listener.local_addr()?).await?;
    /// client.set_nodelay(false)?;
    /// assert!(!client.nodelay()?);
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get().nodelay()
    }

    /// Splits the stream into a buffered [`StreamReader`](super::StreamReader)
    /// and [`StreamWriter`](super::StreamWriter), as
    /// [`open_connection`](super::open_connection) returns them.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tulipa::net::{TcpListener, TcpStream};
    /// # tulipa::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// # let client = TcpStream::connect(listener.local_addr()?).await?;
    /// # let (server, _) = listener.accept().await?;
    /// let (mut reader, writer) = client.into_split();
    /// server.write_all(b"line\n").await?;
    /// assert_eq!(reader.readline().await.unwrap(), b"line\n");
    /// writer.write(b"back");
    /// writer.drain().await?;
    /// let mut buf = [0; 4];
    /// server.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"back");
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
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
