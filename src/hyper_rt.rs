//! hyper 1.x on the loop (feature `hyper`): the three adapters hyper asks a
//! runtime for, as thin as hyper-util's tokio ones.
//!
//! - [`HyperIo`] gives any `futures-io` stream — [`TcpStream`](crate::net::TcpStream),
//!   [`UnixStream`](crate::net::UnixStream), the TLS stream of the `tls`
//!   feature — hyper's `rt::Read` / `rt::Write`;
//! - [`LocalExec`] is an `rt::Executor` that spawns on the running loop, so
//!   the futures hyper hands it (HTTP/2 streams) may be `!Send`;
//! - [`LoopTimer`] is an `rt::Timer` on the loop's clock ([`sleep`](crate::sleep)),
//!   for header-read timeouts and HTTP/2 keep-alive.
//!
//! The HTTP itself is hyper's: build connections with
//! `hyper::server::conn::http1::Builder` / `http2::Builder` and
//! `hyper::client::conn`. A handler that may panic can run as a task of
//! its own, `tulipa::spawn(handler(request)).await`, whose panic comes back
//! as [`TaskError::Panicked`](crate::TaskError) to answer with a 500.
//!
//! ```
//! use std::convert::Infallible;
//! use hyper::body::Bytes;
//! use tulipa::hyper_rt::{HyperIo, LoopTimer};
//! use tulipa::net::{TcpListener, TcpStream};
//!
//! tulipa::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let server = tulipa::spawn(async move {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         let service = hyper::service::service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
//!             let body = format!("hello {}", req.uri().path());
//!             Ok::<_, Infallible>(hyper::Response::new(http_body_util::Full::new(Bytes::from(body))))
//!         });
//!         hyper::server::conn::http1::Builder::new()
//!             .timer(LoopTimer)
//!             .serve_connection(HyperIo::new(stream), service)
//!             .await
//!     });
//!     let stream = TcpStream::connect(addr).await?;
//!     let (mut sender, conn) = hyper::client::conn::http1::handshake(HyperIo::new(stream)).await.unwrap();
//!     let conn = tulipa::spawn(conn);
//!     let request = hyper::Request::get("/tulipa").body(http_body_util::Empty::<Bytes>::new()).unwrap();
//!     let response = sender.send_request(request).await.unwrap();
//!     use http_body_util::BodyExt;
//!     let body = response.into_body().collect().await.unwrap().to_bytes();
//!     assert_eq!(body, "hello /tulipa");
//!     drop(sender);
//!     conn.await.unwrap().unwrap();
//!     server.await.unwrap().unwrap();
//!     Ok::<_, std::io::Error>(())
//! })
//! .unwrap()
//! .unwrap();
//! ```

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ::hyper::rt::{Executor, ReadBufCursor, Sleep, Timer};
use futures_io::{AsyncRead, AsyncWrite};

use crate::runtime::context;

/// Largest read handed to the stream at once.
const SCRATCH: usize = 64 * 1024;

thread_local! {
    /// Reads land here and are copied into hyper's buffer: filling hyper's
    /// uninitialised buffer directly would take `unsafe`. One per thread,
    /// since one read runs at a time on a loop.
    static SCRATCH_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A `futures-io` stream seen as hyper's `rt::Read` + `rt::Write` (what
/// hyper-util's `TokioIo` is for tokio).
///
/// # Examples
///
/// ```
/// use tulipa::hyper_rt::HyperIo;
///
/// tulipa::run(async {
///     let (a, b) = tulipa::net::UnixStream::pair()?;
///     let mut io = HyperIo::new(a); // hyper reads and writes through this
///     io.get_mut().write_all(b"raw").await?; // the stream inside
///     let mut buf = [0; 3];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"raw");
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
///
/// A whole HTTP exchange: see the [module documentation](self).
pub struct HyperIo<T> {
    inner: T,
}

impl<T> HyperIo<T> {
    /// Wraps `inner`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::hyper_rt::HyperIo;
    ///
    /// tulipa::run(async {
    ///     let (a, _b) = tulipa::net::UnixStream::pair()?;
    ///     let io = HyperIo::new(a);
    ///     assert!(io.get_ref().peer_addr()?.is_unnamed());
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    pub fn new(inner: T) -> HyperIo<T> {
        HyperIo { inner }
    }

    /// The stream inside.
    ///
    /// # Examples
    ///
    /// ```
    /// tulipa::run(async {
    ///     let listener = tulipa::net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let stream = tulipa::net::TcpStream::connect(listener.local_addr()?).await?;
    ///     let io = tulipa::hyper_rt::HyperIo::new(stream);
    ///     assert_eq!(io.get_ref().peer_addr()?, listener.local_addr()?);
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The stream inside, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut io = tulipa::hyper_rt::HyperIo::new(Vec::<u8>::new());
    /// io.get_mut().push(1);
    /// assert_eq!(io.get_ref(), &[1]);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the stream.
    ///
    /// # Examples
    ///
    /// ```
    /// tulipa::run(async {
    ///     let (a, b) = tulipa::net::UnixStream::pair()?;
    ///     let a = tulipa::hyper_rt::HyperIo::new(a).into_inner();
    ///     a.write_all(b"back").await?;
    ///     let mut buf = [0; 4];
    ///     b.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"back");
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: fmt::Debug> fmt::Debug for HyperIo<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("HyperIo").field(&self.inner).finish()
    }
}

impl<T: AsyncRead + Unpin> ::hyper::rt::Read for HyperIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let want = buf.remaining().min(SCRATCH);
        SCRATCH_BUF.with_borrow_mut(|scratch| {
            if scratch.len() < want {
                scratch.resize(want, 0);
            }
            let n =
                std::task::ready!(Pin::new(&mut self.inner).poll_read(cx, &mut scratch[..want]))?;
            buf.put_slice(&scratch[..n]);
            Poll::Ready(Ok(()))
        })
    }
}

impl<T: AsyncWrite + Unpin> ::hyper::rt::Write for HyperIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
}

/// hyper's executor on the running loop: every future it is handed becomes
/// a tulipa task (`!Send` futures welcome), detached.
///
/// # Panics
///
/// `execute` panics outside a running tulipa loop; hyper calls it from the
/// connection future, which runs on the loop.
///
/// # Examples
///
/// ```
/// use hyper::rt::Executor;
/// use std::rc::Rc;
/// use std::cell::Cell;
///
/// tulipa::run(async {
///     let ran = Rc::new(Cell::new(false)); // !Send
///     let flag = ran.clone();
///     tulipa::hyper_rt::LocalExec.execute(async move { flag.set(true) });
///     tulipa::yield_now().await;
///     assert!(ran.get());
/// })
/// .unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalExec;

impl<F> Executor<F> for LocalExec
where
    F: Future + 'static,
{
    #[track_caller]
    fn execute(&self, future: F) {
        drop(crate::spawn(async move {
            future.await;
        }));
    }
}

/// hyper's timer on the loop's clock: [`sleep`](crate::sleep) and the
/// loop's [`now`](crate::now), so a virtual clock drives hyper's timeouts
/// too.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use hyper::rt::Timer;
///
/// let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
/// let start = lp.time();
/// lp.run_until_complete(async {
///     tulipa::hyper_rt::LoopTimer.sleep(Duration::from_secs(30)).await;
/// })
/// .unwrap();
/// assert_eq!(lp.time() - start, Duration::from_secs(30));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct LoopTimer;

impl Timer for LoopTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        match self.now().checked_add(duration) {
            Some(deadline) => self.sleep_until(deadline),
            None => Box::pin(LoopSleep(None)),
        }
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        Box::pin(LoopSleep(Some(crate::sleep_until(deadline))))
    }

    fn now(&self) -> Instant {
        context::current().map_or_else(Instant::now, |core| core.now())
    }
}

/// A [`Sleep`](crate::time::Sleep) hyper can hold; `None` never fires (a
/// deadline past the end of time).
struct LoopSleep(Option<crate::time::Sleep>);

impl Future for LoopSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.0 {
            Some(sleep) => Pin::new(sleep).poll(cx),
            None => Poll::Pending,
        }
    }
}

impl Sleep for LoopSleep {}
