//! `futures_io::AsyncRead` / `AsyncWrite` for the stream sockets (feature
//! `futures-io`), so that `futures::io` helpers and codecs work on them.

use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use super::TcpStream;
#[cfg(unix)]
use super::UnixStream;

macro_rules! impl_futures_io {
    ($ty:ty) => {
        #[cfg_attr(docsrs, doc(cfg(feature = "futures-io")))]
        impl AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                <$ty>::poll_read(&*self, cx, buf)
            }
        }

        #[cfg_attr(docsrs, doc(cfg(feature = "futures-io")))]
        impl AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                <$ty>::poll_write(&*self, cx, buf)
            }

            /// Writes are unbuffered: nothing to flush.
            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            /// Shuts down the write half (the peer reads the end of the stream).
            fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.shutdown(Shutdown::Write))
            }
        }

        #[cfg_attr(docsrs, doc(cfg(feature = "futures-io")))]
        impl AsyncRead for &$ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                <$ty>::poll_read(*self, cx, buf)
            }
        }

        #[cfg_attr(docsrs, doc(cfg(feature = "futures-io")))]
        impl AsyncWrite for &$ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                <$ty>::poll_write(*self, cx, buf)
            }

            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.shutdown(Shutdown::Write))
            }
        }
    };
}

impl_futures_io!(TcpStream);
#[cfg(unix)]
impl_futures_io!(UnixStream);
