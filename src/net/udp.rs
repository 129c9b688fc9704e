//! [`UdpSocket`]: datagrams on the loop's selector.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::task::{Context, Poll};

use mio::Interest;

use super::io_source::IoSource;
use crate::runtime::reactor::Direction;

/// A UDP socket registered with the running loop (asyncio's
/// `loop.sock_sendto` / `sock_recvfrom` on a datagram socket).
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
    /// Binds a socket to `addr` (port 0: the OS picks one).
    ///
    /// # Errors
    ///
    /// The OS error of the last address tried, or `InvalidInput` if `addr`
    /// resolves to no address.
    ///
    /// # Panics
    ///
    /// Polled outside a running tulipa loop.
    ///
    /// # Cancel safety
    ///
    /// Nothing waits inside: it completes at its first poll.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        let mut last = None;
        for addr in addr.to_socket_addrs()? {
            match mio::net::UdpSocket::bind(addr) {
                Ok(socket) => {
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    let io = IoSource::new("UdpSocket::bind", socket, interest, true)?;
                    return Ok(UdpSocket { io });
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "address resolved to nothing")
        }))
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
    #[doc(alias = "sock_recvfrom")]
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_recv_from(cx, buf)).await
    }

    /// Polls for a send (the building block of [`send_to`](UdpSocket::send_to)).
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
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local", &self.local_addr().ok())
            .finish()
    }
}
