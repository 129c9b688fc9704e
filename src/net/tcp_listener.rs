//! [`TcpListener`]: a listening TCP socket on the loop's selector.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use mio::Interest;

use super::io_source::IoSource;
use super::{ListenOptions, TcpStream, ToSocketAddrs};
use crate::runtime::reactor::Direction;

/// A TCP socket listening for connections, registered with the running loop
/// (the listening socket behind asyncio's `start_server`).
///
/// Dropping it closes the socket; connections it already accepted live on.
///
/// The listener is bound to its loop's thread (`!Send`):
///
/// ```compile_fail,E0277
/// fn must_be_send<T: Send>(_: T) {}
/// tulipa::run(async {
///     let listener = tulipa::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     must_be_send(listener);
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
///     let client = tulipa::spawn(async move { TcpStream::connect(addr).await });
///     let (_conn, peer) = listener.accept().await?;
///     assert_eq!(peer, client.await.unwrap()?.local_addr()?);
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub struct TcpListener {
    io: IoSource<mio::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (port 0: the OS picks one; see
    /// [`local_addr`](TcpListener::local_addr)) and listens, with
    /// `SO_REUSEADDR` and a backlog of
    /// [`DEFAULT_BACKLOG`](super::DEFAULT_BACKLOG) (1024). Other choices:
    /// [`ListenOptions`]. A name is resolved in the executor.
    ///
    /// # Errors
    ///
    /// The OS error of the last address tried (e.g. `AddrInUse`), the
    /// resolver's error, or `InvalidInput` if `addr` resolves to no address.
    ///
    /// # Panics
    ///
    /// Polled outside a running tulipa loop.
    ///
    /// # Cancel safety
    ///
    /// Only a name lookup waits; dropping the future leaves nothing bound.
    ///
    /// # Examples
    ///
    /// ```
    /// tulipa::run(async {
    ///     let listener = tulipa::net::TcpListener::bind("127.0.0.1:0").await?;
    ///     assert_ne!(listener.local_addr()?.port(), 0);
    ///     // The same port again: SO_REUSEADDR does not allow two listeners.
    ///     let again = tulipa::net::TcpListener::bind(listener.local_addr()?).await;
    ///     assert_eq!(again.unwrap_err().kind(), std::io::ErrorKind::AddrInUse);
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        ListenOptions::new().bind(addr).await
    }

    /// Wraps a standard-library listener, making it non-blocking (asyncio's
    /// `sock=` argument). The listener keeps the options it was made with:
    /// `std::net::TcpListener::bind` listens with a backlog of 128, while
    /// [`ListenOptions::bind_std`] makes one with tulipa's options.
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
    /// use tulipa::net::{TcpListener, TcpStream};
    ///
    /// tulipa::run(async {
    ///     let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    ///     let listener = TcpListener::from_std(std_listener)?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (_conn, peer) = listener.accept().await?;
    ///     assert_eq!(peer, client.local_addr()?);
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        TcpListener::from_mio(mio::net::TcpListener::from_std(listener))
    }

    #[track_caller]
    fn from_mio(listener: mio::net::TcpListener) -> io::Result<TcpListener> {
        let io = IoSource::new("TcpListener::from_std", listener, Interest::READABLE, true)?;
        Ok(TcpListener { io })
    }

    /// Waits for a connection and returns it with the peer's address.
    ///
    /// # Errors
    ///
    /// The OS error, e.g. `EMFILE` when the process is out of file descriptors.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a connection that arrives after the drop stays in the
    /// backlog for the next `accept`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::{TcpListener, TcpStream};
    ///
    /// tulipa::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (conn, peer) = listener.accept().await?;
    ///     assert_eq!(peer, client.local_addr()?);
    ///     assert_eq!(conn.peer_addr()?, peer);
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    #[doc(alias = "sock_accept")]
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection (the building block of [`accept`](TcpListener::accept)).
    ///
    /// # Errors
    ///
    /// As [`accept`](TcpListener::accept); also an `Other` error if no tulipa
    /// loop runs on this thread when the socket would wait.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use tulipa::net::{TcpListener, TcpStream};
    ///
    /// tulipa::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (_conn, peer) = poll_fn(|cx| listener.poll_accept(cx)).await?;
    ///     assert_eq!(peer, client.local_addr()?);
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (stream, addr) =
            std::task::ready!(self.io.poll_io(Direction::Read, cx, |l| l.accept()))?;
        let core = self.io.core();
        let interest = Interest::READABLE | Interest::WRITABLE;
        let io = IoSource::with_core(core, stream, interest, true)?;
        Poll::Ready(Ok((TcpStream::from_source(io), addr)))
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
    /// tulipa::run(async {
    ///     let listener = tulipa::net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let addr = listener.local_addr()?;
    ///     assert_eq!(addr.ip(), std::net::Ipv4Addr::LOCALHOST);
    ///     assert_ne!(addr.port(), 0);
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }
}

super::io_source::impl_as_fd!(TcpListener);

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local", &self.local_addr().ok())
            .finish()
    }
}
