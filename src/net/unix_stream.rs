//! [`UnixStream`]: a Unix-domain stream connection on the loop's selector.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context, Poll};

use mio::Interest;

use super::io_source::IoSource;

/// A Unix-domain stream connection registered with the running loop (the
/// socket of asyncio's `open_unix_connection`).
///
/// Same surface as [`TcpStream`](super::TcpStream), for filesystem-path
/// addresses.
///
/// The stream is bound to its loop's thread (`!Send`):
///
/// ```compile_fail,E0277
/// fn must_be_send<T: Send>(_: T) {}
/// tulipa::run(async {
///     let (a, _b) = tulipa::net::UnixStream::pair().unwrap();
///     must_be_send(a);
/// });
/// ```
///
/// # Examples
///
/// ```
/// use tulipa::net::UnixStream;
///
/// tulipa::run(async {
///     let (a, b) = UnixStream::pair()?;
///     a.write_all(b"over the pair").await?;
///     let mut buf = [0; 13];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"over the pair");
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub struct UnixStream {
    io: IoSource<mio::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path`.
    ///
    /// # Errors
    ///
    /// The OS error, e.g. `NotFound` or `ConnectionRefused`; `WouldBlock` if
    /// the listener's backlog is full.
    ///
    /// # Panics
    ///
    /// Polled outside a running tulipa loop.
    ///
    /// # Cancel safety
    ///
    /// A Unix-domain connect completes at once: nothing waits inside.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::{UnixListener, UnixStream};
    ///
    /// let dir = std::env::temp_dir().join(format!("tulipa-doc-uconnect-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("s.sock");
    /// tulipa::run(async {
    ///     let err = UnixStream::connect(&path).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    ///     let listener = UnixListener::bind(&path)?;
    ///     let client = UnixStream::connect(&path).await?;
    ///     assert_eq!(client.peer_addr()?.as_pathname(), Some(path.as_path()));
    ///     drop(listener);
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub async fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let stream = mio::net::UnixStream::connect(path)?;
        let stream = UnixStream::from_mio(stream)?;
        if let Some(e) = stream.io.get().take_error()? {
            return Err(e);
        }
        Ok(stream)
    }

    /// A pair of connected sockets (`socketpair(2)`).
    ///
    /// # Errors
    ///
    /// The OS error.
    ///
    /// # Panics
    ///
    /// Outside a running tulipa loop.
    ///
    /// # Examples
    ///
    /// ```
    /// tulipa::run(async {
    ///     let (a, b) = tulipa::net::UnixStream::pair()?;
    ///     b.write_all(b"pong").await?;
    ///     let mut buf = [0; 4];
    ///     a.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"pong");
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::from_mio(a)?, UnixStream::from_mio(b)?))
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
    /// use tulipa::net::UnixStream;
    ///
    /// let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// tulipa::run(async move {
    ///     let (a, b) = (UnixStream::from_std(a)?, UnixStream::from_std(b)?);
    ///     a.write_all(b"x").await?;
    ///     let mut buf = [0; 1];
    ///     b.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"x");
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        UnixStream::from_mio(mio::net::UnixStream::from_std(stream))
    }

    #[track_caller]
    pub(crate) fn from_mio(stream: mio::net::UnixStream) -> io::Result<UnixStream> {
        let interest = Interest::READABLE | Interest::WRITABLE;
        let io = IoSource::new("UnixStream", stream, interest, true)?;
        Ok(UnixStream { io })
    }

    pub(crate) fn from_source(io: IoSource<mio::net::UnixStream>) -> UnixStream {
        UnixStream { io }
    }

    /// Reads what is available into `buf`, waiting for at least one byte;
    /// `Ok(0)` at the end of the stream.
    ///
    /// # Errors
    ///
    /// The socket's error.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: if the future is dropped, no data was read.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulipa::run(async {
    /// let (a, b) = tulipa::net::UnixStream::pair()?;
    /// a.write_all(b"hi").await?;
    /// drop(a);
    /// let mut buf = [0; 8];
    /// let n = b.read(&mut buf).await?;
    /// assert_eq!(&buf[..n], b"hi");
    /// assert_eq!(b.read(&mut buf).await?, 0); // the end of the stream
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_read(cx, buf)).await
    }

    /// Reads exactly `buf.len()` bytes.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the stream ends first, or the socket's error.
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: bytes read before the drop are lost.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulipa::run(async {
    /// let (a, b) = tulipa::net::UnixStream::pair()?;
    /// a.write_all(b"abc").await?;
    /// drop(a);
    /// let mut buf = [0; 4];
    /// let err = b.read_exact(&mut buf).await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub async fn read_exact(&self, buf: &mut [u8]) -> io::Result<()> {
        self.io.read_exact(buf).await
    }

    /// Writes some of `buf`, waiting for room; returns how many bytes went.
    ///
    /// # Errors
    ///
    /// The socket's error, e.g. `BrokenPipe`.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: if the future is dropped, nothing was written.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulipa::run(async {
    /// let (a, b) = tulipa::net::UnixStream::pair()?;
    /// let n = a.write(b"some").await?;
    /// let mut buf = [0; 4];
    /// b.read_exact(&mut buf[..n]).await?;
    /// assert_eq!(&buf[..n], &b"some"[..n]);
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_write(cx, buf)).await
    }

    /// Writes all of `buf`.
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
    /// # tulipa::run(async {
    /// let (a, b) = tulipa::net::UnixStream::pair()?;
    /// a.write_all(b"every byte").await?;
    /// let mut buf = [0; 10];
    /// b.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"every byte");
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        self.io.write_all(buf).await
    }

    /// Polls for a read into `buf`.
    ///
    /// # Errors
    ///
    /// As [`read`](UnixStream::read); also an `Other` error if no tulipa loop
    /// runs on this thread when the socket would wait.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulipa::run(async {
    /// let (a, b) = tulipa::net::UnixStream::pair()?;
    /// a.write_all(b"x").await?;
    /// let mut buf = [0; 1];
    /// let n = std::future::poll_fn(|cx| b.poll_read(cx, &mut buf)).await?;
    /// assert_eq!(&buf[..n], b"x");
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_read(cx, buf)
    }

    /// Polls for a write of `buf`.
    ///
    /// # Errors
    ///
    /// As [`write`](UnixStream::write); also an `Other` error if no tulipa loop
    /// runs on this thread when the socket would wait.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulipa::run(async {
    /// let (a, b) = tulipa::net::UnixStream::pair()?;
    /// assert_eq!(std::future::poll_fn(|cx| a.poll_write(cx, b"y")).await?, 1);
    /// let mut buf = [0; 1];
    /// b.read_exact(&mut buf).await?;
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
    /// # tulipa::run(async {
    /// let (a, b) = tulipa::net::UnixStream::pair()?;
    /// assert_eq!(a.try_write(b"now")?, 3);
    /// let mut buf = [0; 3];
    /// b.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"now");
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write(buf)
    }

    /// Shuts down the read half, the write half or both.
    ///
    /// # Errors
    ///
    /// The OS error.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulipa::run(async {
    /// let (a, b) = tulipa::net::UnixStream::pair()?;
    /// a.shutdown(std::net::Shutdown::Write)?;
    /// let mut buf = [0; 1];
    /// assert_eq!(b.read(&mut buf).await?, 0);
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get().shutdown(how)
    }

    /// The address of the peer (often unnamed).
    ///
    /// # Errors
    ///
    /// The OS error.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulipa::run(async {
    /// let (a, _b) = tulipa::net::UnixStream::pair()?;
    /// assert!(a.peer_addr()?.is_unnamed()); // a socketpair has no path
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
    /// # tulipa::run(async {
    /// let (a, _b) = tulipa::net::UnixStream::pair()?;
    /// assert_eq!(a.local_addr()?.as_pathname(), None);
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// Splits the stream into a buffered [`StreamReader`](super::StreamReader)
    /// and [`StreamWriter`](super::StreamWriter).
    ///
    /// # Examples
    ///
    /// ```
    /// # tulipa::run(async {
    /// let (a, b) = tulipa::net::UnixStream::pair()?;
    /// let (mut reader, writer) = a.into_split();
    /// writer.write(b"echo\n");
    /// writer.drain().await?;
    /// let mut buf = [0; 5];
    /// b.read_exact(&mut buf).await?;
    /// b.write_all(&buf).await?;
    /// assert_eq!(reader.readline().await.unwrap(), b"echo\n");
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn into_split(self) -> (super::StreamReader, super::StreamWriter) {
        super::stream_reader::split(super::conn::Conn::Unix(self))
    }
}

super::io_source::impl_as_fd!(UnixStream);

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}
