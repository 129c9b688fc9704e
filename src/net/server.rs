//! [`start_server`], [`open_connection`] and the [`Server`] they run
//! (asyncio's streams API).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
#[cfg(unix)]
use std::path::Path;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::conn::Conn;
use super::stream_reader::split;
use super::{StreamReader, StreamWriter, TcpListener, TcpStream};
#[cfg(unix)]
use super::{UnixListener, UnixStream};
use crate::runtime::{context, ExceptionContext};
use crate::task::Task;

/// How long the accept loop rests after an error such as `EMFILE`, as
/// asyncio's `ACCEPT_RETRY_DELAY`.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_secs(1);

/// Connects to `addr` and returns the buffered halves of the connection
/// (asyncio's `open_connection`).
///
/// # Errors
///
/// As [`TcpStream::connect`].
///
/// # Panics
///
/// Polled outside a running tulipa loop.
///
/// # Cancel safety
///
/// Dropping the future closes the half-open socket; nothing is left behind.
///
/// # Examples
///
/// ```
/// tulipa::run(async {
///     let server = tulipa::net::start_server(
///         |mut reader, writer| async move {
///             let line = reader.readline().await.unwrap();
///             writer.write(&line.to_ascii_uppercase());
///         },
///         "127.0.0.1:0",
///     )
///     .await?;
///     let (mut reader, writer) = tulipa::net::open_connection(server.local_addr()?).await?;
///     writer.write(b"shout\n");
///     assert_eq!(reader.readline().await.unwrap(), b"SHOUT\n");
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub async fn open_connection<A: ToSocketAddrs>(
    addr: A,
) -> io::Result<(StreamReader, StreamWriter)> {
    Ok(TcpStream::connect(addr).await?.into_split())
}

/// Connects to the Unix-domain socket at `path` (asyncio's `open_unix_connection`).
///
/// # Errors
///
/// As [`UnixStream::connect`].
///
/// # Panics
///
/// Polled outside a running tulipa loop.
///
/// # Cancel safety
///
/// A Unix-domain connect completes at once: nothing waits inside.
#[cfg(unix)]
pub async fn open_unix_connection<P: AsRef<Path>>(
    path: P,
) -> io::Result<(StreamReader, StreamWriter)> {
    Ok(UnixStream::connect(path).await?.into_split())
}

/// Listens on `addr` and runs `handler(reader, writer)` as a new task for
/// every connection (asyncio's `start_server(client_connected_cb, ...)`).
///
/// The server accepts in a task of its own until [`Server::close`] or until
/// the `Server` is dropped; handlers already running go on.
///
/// # Errors
///
/// As [`TcpListener::bind`].
///
/// # Panics
///
/// Polled outside a running tulipa loop.
///
/// # Cancel safety
///
/// Nothing waits inside: it completes at its first poll.
///
/// # Examples
///
/// See [`open_connection`].
pub async fn start_server<H, F, A>(handler: H, addr: A) -> io::Result<Server>
where
    H: FnMut(StreamReader, StreamWriter) -> F + 'static,
    F: Future<Output = ()> + 'static,
    A: ToSocketAddrs,
{
    let listener = TcpListener::bind(addr).await?;
    Ok(Server::start(Listener::Tcp(listener), handler))
}

/// [`start_server`] on a Unix-domain socket at `path` (asyncio's
/// `start_unix_server`).
///
/// # Errors
///
/// As [`UnixListener::bind`].
///
/// # Panics
///
/// Polled outside a running tulipa loop.
///
/// # Cancel safety
///
/// Nothing waits inside: it completes at its first poll.
#[cfg(unix)]
pub async fn start_unix_server<H, F, P>(handler: H, path: P) -> io::Result<Server>
where
    H: FnMut(StreamReader, StreamWriter) -> F + 'static,
    F: Future<Output = ()> + 'static,
    P: AsRef<Path>,
{
    let listener = UnixListener::bind(path)?;
    Ok(Server::start(Listener::Unix(listener), handler))
}

enum Listener {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(UnixListener),
}

impl Listener {
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<Conn>> {
        match self {
            Listener::Tcp(l) => l.poll_accept(cx).map_ok(|(s, _)| Conn::Tcp(s)),
            #[cfg(unix)]
            Listener::Unix(l) => l.poll_accept(cx).map_ok(|(s, _)| Conn::Unix(s)),
        }
    }
}

/// A running server from [`start_server`] (asyncio's `Server`).
///
/// Dropping it closes it, as [`close`](Server::close) does.
pub struct Server {
    inner: Rc<Inner>,
}

struct Inner {
    listener: RefCell<Option<Listener>>,
    local: Option<SocketAddr>,
    acceptor: RefCell<Option<Task<()>>>,
    /// Handler tasks still running.
    connections: Cell<usize>,
    /// `wait_closed` and `serve_forever` callers.
    waiters: RefCell<Vec<Waker>>,
}

impl Server {
    fn start<H, F>(listener: Listener, mut handler: H) -> Server
    where
        H: FnMut(StreamReader, StreamWriter) -> F + 'static,
        F: Future<Output = ()> + 'static,
    {
        let local = match &listener {
            Listener::Tcp(l) => l.local_addr().ok(),
            #[cfg(unix)]
            Listener::Unix(_) => None,
        };
        let inner = Rc::new(Inner {
            listener: RefCell::new(Some(listener)),
            local,
            acceptor: RefCell::new(None),
            connections: Cell::new(0),
            waiters: RefCell::new(Vec::new()),
        });
        let server = inner.clone();
        let acceptor = crate::spawn(async move {
            while let Some(accepted) = poll_fn(|cx| server.poll_accept(cx)).await {
                match accepted {
                    Ok(conn) => {
                        let (reader, writer) = split(conn);
                        let guard = Connection::open(&server);
                        let handling = handler(reader, writer);
                        drop(crate::spawn(async move {
                            handling.await;
                            drop(guard);
                        }));
                    }
                    Err(e) => {
                        report_accept_error(&e);
                        crate::sleep(ACCEPT_RETRY_DELAY).await;
                    }
                }
            }
        });
        *inner.acceptor.borrow_mut() = Some(acceptor);
        Server { inner }
    }

    /// The address the server listens on (TCP servers).
    ///
    /// # Errors
    ///
    /// `Unsupported` for a Unix-domain server.
    #[doc(alias = "sockets")]
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner
            .local
            .ok_or_else(|| io::ErrorKind::Unsupported.into())
    }

    /// Stops listening: the listening socket is closed at once; connections
    /// already accepted go on. Closing twice does nothing.
    pub fn close(&self) {
        let listener = self.inner.listener.borrow_mut().take();
        drop(listener);
        let acceptor = self.inner.acceptor.borrow_mut().take();
        if let Some(acceptor) = acceptor {
            acceptor.cancel();
        }
        self.inner.wake_waiters();
    }

    /// Whether the server still accepts connections.
    pub fn is_serving(&self) -> bool {
        self.inner.listener.borrow().is_some()
    }

    /// How many handler tasks are still running.
    pub fn connections(&self) -> usize {
        self.inner.connections.get()
    }

    /// Waits until the server is closed and every handler has finished (as
    /// asyncio's `wait_closed` since 3.12).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: nothing is lost.
    pub async fn wait_closed(&self) {
        poll_fn(|cx| {
            self.inner
                .poll_until(cx, |i| !i.serving() && i.connections.get() == 0)
        })
        .await
    }

    /// Waits until the server is closed (from another task), serving all
    /// the while (asyncio's `serve_forever`).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future leaves the server running.
    pub async fn serve_forever(&self) {
        poll_fn(|cx| self.inner.poll_until(cx, |i| !i.serving())).await
    }
}

impl Inner {
    /// The next connection, or `None` once the server is closed.
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Conn>>> {
        match &*self.listener.borrow() {
            None => Poll::Ready(None),
            Some(listener) => listener.poll_accept(cx).map(Some),
        }
    }

    fn serving(&self) -> bool {
        self.listener.borrow().is_some()
    }

    fn poll_until(&self, cx: &mut Context<'_>, done: impl Fn(&Inner) -> bool) -> Poll<()> {
        if done(self) {
            return Poll::Ready(());
        }
        let mut waiters = self.waiters.borrow_mut();
        if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
            waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }

    fn wake_waiters(&self) {
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        waiters.into_iter().for_each(Waker::wake);
    }
}

/// Counts a handler task; the count drops when the task ends or is cancelled.
struct Connection(Rc<Inner>);

impl Connection {
    fn open(inner: &Rc<Inner>) -> Connection {
        inner.connections.set(inner.connections.get() + 1);
        Connection(inner.clone())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.0.connections.set(self.0.connections.get() - 1);
        if self.0.connections.get() == 0 {
            self.0.wake_waiters();
        }
    }
}

fn report_accept_error(e: &io::Error) {
    if let Some(core) = context::current() {
        core.report(&ExceptionContext {
            message: format!("server accept failed, retrying in 1 s: {e}"),
            panic: None,
            task: None,
        });
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.close();
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local", &self.inner.local)
            .field("serving", &self.is_serving())
            .field("connections", &self.connections())
            .finish()
    }
}
