//! [`UnixListener`]: a listening Unix-domain socket on the loop's selector.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context, Poll};

use mio::Interest;

use super::io_source::IoSource;
use super::UnixStream;
use crate::runtime::reactor::Direction;

/// A Unix-domain socket listening for connections (the listening socket of
/// asyncio's `start_unix_server`).
///
/// Dropping it closes the socket but leaves the file at its path, as the OS
/// does; remove it yourself.
///
/// The listener is bound to its loop's thread (`!Send`):
///
/// ```compile_fail,E0277
/// fn must_be_send<T: Send>(_: T) {}
/// tulipa::run(async {
///     let listener = tulipa::net::UnixListener::bind("/tmp/tulipa-never-bound.sock").unwrap();
///     must_be_send(listener);
/// });
/// ```
///
/// # Examples
///
/// ```
/// use tulipa::net::{UnixListener, UnixStream};
///
/// let path = std::env::temp_dir().join(format!("tulipa-doc-{}.sock", std::process::id()));
/// let _ = std::fs::remove_file(&path);
/// tulipa::run(async {
///     let listener = UnixListener::bind(&path)?;
///     let client = UnixStream::connect(&path).await?;
///     let (server, _) = listener.accept().await?;
///     client.write_all(b"hi").await?;
///     let mut buf = [0; 2];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hi");
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap()
/// .unwrap();
/// std::fs::remove_file(&path).unwrap();
/// ```
pub struct UnixListener {
    io: IoSource<mio::net::UnixListener>,
}

impl UnixListener {
    /// Binds to `path` and listens with a backlog of
    /// [`DEFAULT_BACKLOG`](super::DEFAULT_BACKLOG) (1024).
    ///
    /// # Errors
    ///
    /// The OS error, e.g. `AddrInUse` if the file exists.
    ///
    /// # Panics
    ///
    /// Outside a running tulipa loop.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::UnixListener;
    ///
    /// let dir = std::env::temp_dir().join(format!("tulipa-doc-ubind-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("s.sock");
    /// tulipa::run(async {
    ///     let listener = UnixListener::bind(&path)?;
    ///     assert!(path.exists());
    ///     let again = UnixListener::bind(&path).unwrap_err();
    ///     assert_eq!(again.kind(), std::io::ErrorKind::AddrInUse);
    ///     drop(listener);
    ///     assert!(path.exists()); // the file stays after the close
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    #[track_caller]
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        let listener = mio::net::UnixListener::bind(path)?;
        // mio listens with std's 128; raise it in place.
        super::sys::relisten(&listener, super::DEFAULT_BACKLOG as i32)?;
        UnixListener::from_mio(listener)
    }

    /// Wraps a standard-library listener, making it non-blocking (asyncio's
    /// `sock=`); it keeps the backlog it was made with (128 for std's `bind`).
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
    /// let path = std::env::temp_dir().join(format!("tulipa-doc-std-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let std_listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    /// tulipa::run(async {
    ///     let listener = tulipa::net::UnixListener::from_std(std_listener).unwrap();
    ///     let _client = tulipa::net::UnixStream::connect(&path).await.unwrap();
    ///     assert!(listener.accept().await.is_ok());
    /// })
    /// .unwrap();
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    #[track_caller]
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        UnixListener::from_mio(mio::net::UnixListener::from_std(listener))
    }

    #[track_caller]
    fn from_mio(listener: mio::net::UnixListener) -> io::Result<UnixListener> {
        let io = IoSource::new("UnixListener::bind", listener, Interest::READABLE, true)?;
        Ok(UnixListener { io })
    }

    /// Waits for a connection.
    ///
    /// # Errors
    ///
    /// The OS error, e.g. `EMFILE`.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a connection that arrives after the drop stays in the
    /// backlog for the next `accept`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::{UnixListener, UnixStream};
    ///
    /// let dir = std::env::temp_dir().join(format!("tulipa-doc-uaccept-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("s.sock");
    /// tulipa::run(async {
    ///     let listener = UnixListener::bind(&path)?;
    ///     let client = UnixStream::connect(&path).await?;
    ///     let (server, _peer) = listener.accept().await?;
    ///     server.write_all(b"welcome").await?;
    ///     let mut buf = [0; 7];
    ///     client.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"welcome");
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection.
    ///
    /// # Errors
    ///
    /// As [`accept`](UnixListener::accept); also an `Other` error if no tulipa
    /// loop runs on this thread when the socket would wait.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::{UnixListener, UnixStream};
    ///
    /// let dir = std::env::temp_dir().join(format!("tulipa-doc-upoll-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("s.sock");
    /// tulipa::run(async {
    ///     let listener = UnixListener::bind(&path)?;
    ///     let _client = UnixStream::connect(&path).await?;
    ///     let accepted = std::future::poll_fn(|cx| listener.poll_accept(cx)).await;
    ///     assert!(accepted.is_ok());
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let (stream, addr) =
            std::task::ready!(self.io.poll_io(Direction::Read, cx, |l| l.accept()))?;
        let core = self.io.core();
        let interest = Interest::READABLE | Interest::WRITABLE;
        let io = IoSource::with_core(core, stream, interest, true)?;
        Poll::Ready(Ok((UnixStream::from_source(io), addr)))
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    ///
    /// The OS error.
    ///
    /// # Examples
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("tulipa-doc-uaddr-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("s.sock");
    /// tulipa::run(async {
    ///     let listener = tulipa::net::UnixListener::bind(&path)?;
    ///     assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }
}

super::io_source::impl_as_fd!(UnixListener);

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("local", &self.local_addr().ok())
            .finish()
    }
}
