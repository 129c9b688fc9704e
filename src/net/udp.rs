//! [`UdpSocket`]: datagrams on the loop's selector.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use mio::Interest;

use super::addr::resolve;
use super::io_source::IoSource;
use super::ToSocketAddrs;
use crate::runtime::reactor::Direction;

/// A UDP socket registered with the running loop (asyncio's
/// `loop.sock_sendto` / `sock_recvfrom` on a datagram socket).
///
/// The socket is bound to its loop's thread (`!Send`):
///
/// ```compile_fail,E0277
/// fn must_be_send<T: Send>(_: T) {}
/// tulipa::run(async {
///     let socket = tulipa::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     must_be_send(socket);
/// });
/// ```
///
/// # Examples
///
/// ```
/// use tulipa::net::UdpSocket;
///
/// tulipa::run(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await?;
///     let b = UdpSocket::bind("127.0.0.1:0").await?;
///     a.send_to(b"hello", b.local_addr()?).await?;
///     let mut buf = [0; 16];
///     let (n, from) = b.recv_from(&mut buf).await?;
///     assert_eq!((&buf[..n], from), (&b"hello"[..], a.local_addr()?));
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub struct UdpSocket {
    io: IoSource<mio::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds a socket to `addr` (port 0: the OS picks one); a name is
    /// resolved in the executor.
    ///
    /// # Errors
    ///
    /// The OS error of the last address tried, the resolver's error, or
    /// `InvalidInput` if `addr` resolves to no address.
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
    ///     let socket = tulipa::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert_ne!(socket.local_addr()?.port(), 0);
    ///     let none: &[std::net::SocketAddr] = &[];
    ///     let err = tulipa::net::UdpSocket::bind(none).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        let mut last = None;
        for addr in resolve(&addr).await? {
            match mio::net::UdpSocket::bind(addr) {
                Ok(socket) => return UdpSocket::from_mio(socket),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "address resolved to nothing")
        }))
    }

    /// Wraps a standard-library socket, making it non-blocking.
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
    /// let std_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let addr = std_socket.local_addr().unwrap();
    /// tulipa::run(async move {
    ///     let socket = tulipa::net::UdpSocket::from_std(std_socket).unwrap();
    ///     assert_eq!(socket.local_addr().unwrap(), addr);
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        UdpSocket::from_mio(mio::net::UdpSocket::from_std(socket))
    }

    #[track_caller]
    fn from_mio(socket: mio::net::UdpSocket) -> io::Result<UdpSocket> {
        let interest = Interest::READABLE | Interest::WRITABLE;
        let io = IoSource::new("UdpSocket::bind", socket, interest, true)?;
        Ok(UdpSocket { io })
    }

    /// Sends one datagram to `target`; returns the bytes sent.
    ///
    /// # Errors
    ///
    /// The OS error, e.g. `ConnectionRefused` reported for an earlier datagram.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: if the future is dropped, nothing was sent.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tulipa::net::UdpSocket;
    /// # tulipa::run(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// assert_eq!(a.send_to(b"datagram", b.local_addr()?).await?, 8);
    /// let mut buf = [0; 8];
    /// assert_eq!(b.recv_from(&mut buf).await?.0, 8);
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    #[doc(alias = "sock_sendto")]
    pub async fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        poll_fn(|cx| self.poll_send_to(cx, buf, target)).await
    }

    /// Receives one datagram into `buf` (a longer one is truncated) and
    /// returns its length and sender.
    ///
    /// # Errors
    ///
    /// The OS error.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: if the future is dropped, no datagram was taken.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tulipa::net::UdpSocket;
    /// # tulipa::run(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.send_to(b"too long", b.local_addr()?).await?;
    /// let mut buf = [0; 3];
    /// let (n, from) = b.recv_from(&mut buf).await?;
    /// assert_eq!((&buf[..n], from), (&b"too"[..], a.local_addr()?)); // truncated
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    #[doc(alias = "sock_recvfrom")]
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_recv_from(cx, buf)).await
    }

    /// Polls for a send (the building block of [`send_to`](UdpSocket::send_to)).
    ///
    /// # Errors
    ///
    /// As [`send_to`](UdpSocket::send_to); also an `Other` error if no tulipa
    /// loop runs on this thread when the socket would wait.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// # use tulipa::net::UdpSocket;
    /// # tulipa::run(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// let to = b.local_addr()?;
    /// assert_eq!(poll_fn(|cx| a.poll_send_to(cx, b"x", to)).await?, 1);
    /// let mut buf = [0; 1];
    /// assert_eq!(b.recv_from(&mut buf).await?, (1, a.local_addr()?));
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(Direction::Write, cx, |s| s.send_to(buf, target))
    }

    /// Polls for a datagram (the building block of [`recv_from`](UdpSocket::recv_from)).
    ///
    /// # Errors
    ///
    /// As [`recv_from`](UdpSocket::recv_from); also an `Other` error if no
    /// tulipa loop runs on this thread when the socket would wait.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// # use tulipa::net::UdpSocket;
    /// # tulipa::run(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.send_to(b"y", b.local_addr()?).await?;
    /// let mut buf = [0; 1];
    /// let (n, from) = poll_fn(|cx| b.poll_recv_from(cx, &mut buf)).await?;
    /// assert_eq!((n, from), (1, a.local_addr()?));
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_io(Direction::Read, cx, |s| s.recv_from(buf))
    }

    /// The address the socket is bound to.
    ///
    /// # Errors
    ///
    /// The OS error.
    ///
    /// # Examples
    ///
    /// ```
    /// tulipa::run(async {
    ///     let socket = tulipa::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert!(socket.local_addr()?.ip().is_loopback());
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }
}

super::io_source::impl_as_fd!(UdpSocket);

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local", &self.local_addr().ok())
            .finish()
    }
}
