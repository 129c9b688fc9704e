//! The connection under a stream pair: a TCP or a Unix-domain stream, or
//! (feature `tls`) a connection layered on one, such as a TLS stream.

use std::io;
use std::net::Shutdown;
use std::task::{Context, Poll};

use super::TcpStream;
#[cfg(unix)]
use super::UnixStream;

#[derive(Debug)]
pub(crate) enum Conn {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
    /// A child process's pipe.
    #[cfg(all(unix, feature = "process"))]
    Pipe(super::pipe::Pipe),
    /// A connection implemented outside this module (the TLS stream).
    #[cfg(feature = "tls")]
    Custom(Box<dyn CustomConn>),
}

/// The socket operations a [`Conn::Custom`] provides, with the sockets'
/// meaning: `poll_write` and `try_write` return how many bytes were taken,
/// `shutdown` does not wait.
#[cfg(feature = "tls")]
pub(crate) trait CustomConn: std::fmt::Debug {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;
    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;
    fn try_write(&self, buf: &[u8]) -> io::Result<usize>;
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;
    fn peer_addr(&self) -> io::Result<std::net::SocketAddr>;
    fn as_any(&self) -> &dyn std::any::Any;
}

impl Conn {
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self {
            Conn::Tcp(s) => s.poll_read(cx, buf),
            #[cfg(unix)]
            Conn::Unix(s) => s.poll_read(cx, buf),
            #[cfg(all(unix, feature = "process"))]
            Conn::Pipe(p) => p.poll_read(cx, buf),
            #[cfg(feature = "tls")]
            Conn::Custom(s) => s.poll_read(cx, buf),
        }
    }

    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self {
            Conn::Tcp(s) => s.poll_write(cx, buf),
            #[cfg(unix)]
            Conn::Unix(s) => s.poll_write(cx, buf),
            #[cfg(all(unix, feature = "process"))]
            Conn::Pipe(p) => p.poll_write(cx, buf),
            #[cfg(feature = "tls")]
            Conn::Custom(s) => s.poll_write(cx, buf),
        }
    }

    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.try_write(buf),
            #[cfg(unix)]
            Conn::Unix(s) => s.try_write(buf),
            #[cfg(all(unix, feature = "process"))]
            Conn::Pipe(p) => p.try_write(buf),
            #[cfg(feature = "tls")]
            Conn::Custom(s) => s.try_write(buf),
        }
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Conn::Tcp(s) => s.shutdown(how),
            #[cfg(unix)]
            Conn::Unix(s) => s.shutdown(how),
            #[cfg(all(unix, feature = "process"))]
            Conn::Pipe(p) => p.shutdown(how),
            #[cfg(feature = "tls")]
            Conn::Custom(s) => s.shutdown(how),
        }
    }
}
