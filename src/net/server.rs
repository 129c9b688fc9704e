//! [`start_server`] and the [`Server`] it runs (asyncio's streams API).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::panic::Location;
#[cfg(unix)]
use std::path::Path;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::conn::Conn;
use super::stream_reader::split;
use super::stream_writer::WriterHandle;
#[cfg(unix)]
use super::UnixListener;
use super::{ListenOptions, StreamReader, StreamWriter, TcpListener, ToSocketAddrs};
use crate::runtime::{context, ExceptionContext};
use crate::task::Task;

/// How long the accept loop rests after an error such as `EMFILE`, as
/// asyncio's `ACCEPT_RETRY_DELAY`.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_secs(1);

/// Listens on `addr` and runs `handler(reader, writer)` as a new task for
/// every connection (asyncio's `start_server(client_connected_cb, ...)`).
///
/// The listener has tulipa's defaults (backlog 1024, `SO_REUSEADDR`); other
/// options: [`ListenOptions::start_server`]; a listener of your own:
/// [`start_server_on`]. The server accepts in a task of its own until
/// [`Server::close`] or until the `Server` is dropped; handlers already
/// running go on.
///
/// A panic in `handler` itself (not in the future it returns) is reported
/// at once to the loop's exception handler, naming the call site of
/// `start_server`; the connection is closed and the server keeps
/// accepting. A panic in the returned future is a panic in its task,
/// reported the same way.
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
/// Only a name lookup waits; dropping the future leaves nothing bound.
///
/// # Examples
///
/// ```
/// use tulipa::net::{open_connection, start_server};
///
/// tulipa::run(async {
///     let server = start_server(
///         |mut reader, writer| async move {
///             let n: usize = reader.readline().await.unwrap().len();
///             writer.write(format!("{n}\n").as_bytes());
///         },
///         "127.0.0.1:0",
///     )
///     .await?;
///     for line in [&b"a\n"[..], b"four\n"] {
///         let (mut reader, writer) = open_connection(server.local_addr()?).await?;
///         writer.write(line);
///         let answer = reader.readline().await.unwrap();
///         assert_eq!(answer, format!("{}\n", line.len()).as_bytes());
///     }
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
#[track_caller]
pub fn start_server<H, F, A>(handler: H, addr: A) -> impl Future<Output = io::Result<Server>>
where
    H: FnMut(StreamReader, StreamWriter) -> F + 'static,
    F: Future<Output = ()> + 'static,
    A: ToSocketAddrs,
{
    ListenOptions::new().start_server(handler, addr)
}

/// Serves connections from a listener made beforehand (asyncio's
/// `start_server(cb, sock=sock)`): one from [`ListenOptions`], or from
/// [`TcpListener::from_std`] over a socket configured by other means.
///
/// # Panics
///
/// Outside a running tulipa loop.
///
/// # Examples
///
/// ```
/// use tulipa::net::{open_connection, start_server_on, ListenOptions, TcpListener};
///
/// tulipa::run(async {
///     let listener = ListenOptions::new().backlog(8).bind("127.0.0.1:0").await?;
///     let server = start_server_on(|_r, w| async move { w.write(b"on\n") }, listener);
///     let (mut reader, _w) = open_connection(server.local_addr()?).await?;
///     assert_eq!(reader.readline().await.unwrap(), b"on\n");
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
#[track_caller]
pub fn start_server_on<H, F>(handler: H, listener: TcpListener) -> Server
where
    H: FnMut(StreamReader, StreamWriter) -> F + 'static,
    F: Future<Output = ()> + 'static,
{
    Server::start_at(Listener::Tcp(listener), handler, Location::caller())
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
///
/// # Examples
///
/// ```
/// use tulipa::net::{open_unix_connection, start_unix_server};
///
/// let dir = std::env::temp_dir().join(format!("tulipa-doc-sus-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("s.sock");
/// tulipa::run(async {
///     let server = start_unix_server(|_r, w| async move { w.write(b"unix\n") }, &path).await?;
///     let (mut reader, _w) = open_unix_connection(&path).await?;
///     assert_eq!(reader.readline().await.unwrap(), b"unix\n");
///     // A Unix-domain server has no socket address.
///     assert_eq!(server.local_addr().unwrap_err().kind(), std::io::ErrorKind::Unsupported);
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap()
/// .unwrap();
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[cfg(unix)]
#[track_caller]
pub fn start_unix_server<H, F, P>(handler: H, path: P) -> impl Future<Output = io::Result<Server>>
where
    H: FnMut(StreamReader, StreamWriter) -> F + 'static,
    F: Future<Output = ()> + 'static,
    P: AsRef<Path>,
{
    let location = Location::caller();
    async move {
        let listener = UnixListener::bind(path)?;
        Ok(Server::start_at(
            Listener::Unix(listener),
            handler,
            location,
        ))
    }
}

/// [`start_server_on`] for a Unix-domain listener (asyncio's
/// `start_unix_server(cb, sock=sock)`).
///
/// # Panics
///
/// Outside a running tulipa loop.
///
/// # Examples
///
/// ```
/// use tulipa::net::{open_unix_connection, start_unix_server_on, UnixListener};
///
/// let path = std::env::temp_dir().join(format!("tulipa-doc-on-{}.sock", std::process::id()));
/// let _ = std::fs::remove_file(&path);
/// tulipa::run(async {
///     let listener = UnixListener::bind(&path).unwrap();
///     let server = start_unix_server_on(|_r, w| async move { w.write(b"u\n") }, listener);
///     let (mut reader, _w) = open_unix_connection(&path).await.unwrap();
///     assert_eq!(reader.readline().await.unwrap(), b"u\n");
///     assert!(server.is_serving());
/// })
/// .unwrap();
/// std::fs::remove_file(&path).unwrap();
/// ```
#[cfg(unix)]
#[track_caller]
pub fn start_unix_server_on<H, F>(handler: H, listener: UnixListener) -> Server
where
    H: FnMut(StreamReader, StreamWriter) -> F + 'static,
    F: Future<Output = ()> + 'static,
{
    Server::start_at(Listener::Unix(listener), handler, Location::caller())
}

pub(crate) enum Listener {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(UnixListener),
}

impl From<TcpListener> for Listener {
    fn from(listener: TcpListener) -> Listener {
        Listener::Tcp(listener)
    }
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
/// It counts a connection as open until its handler task has ended and its
/// [`StreamWriter`] is closed (or dropped), as asyncio counts transports.
/// Dropping the `Server` closes it, as [`close`](Server::close) does.
///
/// The server is bound to its loop's thread (`!Send`):
///
/// ```compile_fail,E0277
/// fn must_be_send<T: Send>(_: T) {}
/// tulipa::run(async {
///     let server = tulipa::net::start_server(|_r, _w| async {}, "127.0.0.1:0").await.unwrap();
///     must_be_send(server);
/// });
/// ```
///
/// # Examples
///
/// ```
/// use tulipa::net::{open_connection, start_server};
///
/// tulipa::run(async {
///     let server = start_server(|_r, w| async move { w.write(b"bye\n") }, "127.0.0.1:0").await?;
///     assert!(server.is_serving());
///     let (mut reader, _w) = open_connection(server.local_addr()?).await?;
///     assert_eq!(reader.readline().await.unwrap(), b"bye\n");
///     server.close();
///     server.wait_closed().await;
///     assert!(!server.is_serving());
///     assert_eq!(server.connections(), 0);
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub struct Server {
    inner: Rc<Inner>,
}

struct Inner {
    listener: RefCell<Option<Listener>>,
    local: Option<SocketAddr>,
    acceptor: RefCell<Option<Task<()>>>,
    /// Open connections, by id (asyncio's `_clients`).
    clients: RefCell<HashMap<u64, WriterHandle>>,
    next_client: Cell<u64>,
    /// `wait_closed` and `serve_forever` callers.
    waiters: RefCell<Vec<Waker>>,
}

impl Server {
    pub(crate) fn start_at<H, F>(
        listener: Listener,
        mut handler: H,
        location: &'static Location<'static>,
    ) -> Server
    where
        H: FnMut(StreamReader, StreamWriter) -> F + 'static,
        F: Future<Output = ()> + 'static,
    {
        let core = context::expect_current("tulipa::net::start_server");
        let local = match &listener {
            Listener::Tcp(l) => l.local_addr().ok(),
            #[cfg(unix)]
            Listener::Unix(_) => None,
        };
        let inner = Rc::new(Inner {
            listener: RefCell::new(Some(listener)),
            local,
            acceptor: RefCell::new(None),
            clients: RefCell::new(HashMap::new()),
            next_client: Cell::new(0),
            waiters: RefCell::new(Vec::new()),
        });
        let server = inner.clone();
        let accepting = async move {
            while let Some(accepted) = poll_fn(|cx| server.poll_accept(cx)).await {
                match accepted {
                    Ok(conn) => server.serve(conn, &mut handler, location),
                    Err(e) => {
                        report_accept_error(&e);
                        crate::sleep(ACCEPT_RETRY_DELAY).await;
                    }
                }
            }
        };
        let acceptor = crate::task::spawn_on(&core, accepting, None, location);
        *inner.acceptor.borrow_mut() = Some(acceptor);
        Server { inner }
    }

    /// The address the server listens on (TCP servers).
    ///
    /// # Errors
    ///
    /// `Unsupported` for a Unix-domain server.
    ///
    /// # Examples
    ///
    /// ```
    /// tulipa::run(async {
    ///     let server = tulipa::net::start_server(|_r, _w| async {}, "127.0.0.1:0").await?;
    ///     let addr = server.local_addr()?;
    ///     assert!(addr.ip().is_loopback() && addr.port() != 0);
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    #[doc(alias = "sockets")]
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner
            .local
            .ok_or_else(|| io::ErrorKind::Unsupported.into())
    }

    /// Stops listening: the listening socket is closed at once; connections
    /// already accepted go on. Closing twice does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::{start_server, TcpStream};
    ///
    /// tulipa::run(async {
    ///     let server = start_server(|_r, _w| async {}, "127.0.0.1:0").await?;
    ///     let addr = server.local_addr()?;
    ///     server.close();
    ///     server.close(); // a second close does nothing
    ///     assert!(!server.is_serving());
    ///     let refused = TcpStream::connect(addr).await.unwrap_err();
    ///     assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    pub fn close(&self) {
        let listener = self.inner.listener.borrow_mut().take();
        drop(listener);
        let acceptor = self.inner.acceptor.borrow_mut().take();
        if let Some(acceptor) = acceptor {
            acceptor.cancel();
        }
        self.inner.wake_waiters();
    }

    /// Closes every open connection of the server (asyncio 3.13's
    /// `close_clients`): each [`StreamWriter`] flushes what it holds, then
    /// shuts the socket down, so the handlers read the end of the stream.
    /// The listener is left alone; connections accepted later are not
    /// affected.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::{open_connection, start_server};
    ///
    /// tulipa::run(async {
    ///     let server = start_server(
    ///         |mut r, _w| async move { while !r.read(100).await.unwrap().is_empty() {} },
    ///         "127.0.0.1:0",
    ///     )
    ///     .await?;
    ///     let (mut reader, _w) = open_connection(server.local_addr()?).await?;
    ///     while server.connections() == 0 {
    ///         tulipa::yield_now().await;
    ///     }
    ///     server.close();
    ///     server.close_clients();
    ///     server.wait_closed().await; // the idle client no longer holds it up
    ///     assert_eq!(reader.read(1).await?, b""); // the server hung up
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    pub fn close_clients(&self) {
        self.inner.each_client(WriterHandle::close);
    }

    /// Closes every open connection at once, dropping what their writers
    /// still buffer (asyncio 3.13's `abort_clients`); see
    /// [`StreamWriter::abort`].
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::{open_connection, start_server};
    ///
    /// tulipa::run(async {
    ///     let server = start_server(|_r, w| async move { w.write(b"x"); std::future::pending::<()>().await }, "127.0.0.1:0").await?;
    ///     let (_r, _w) = open_connection(server.local_addr()?).await?;
    ///     while server.connections() == 0 {
    ///         tulipa::yield_now().await;
    ///     }
    ///     server.abort_clients();
    ///     assert!(server.connections() > 0); // the handler task still runs
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    pub fn abort_clients(&self) {
        self.inner.each_client(WriterHandle::abort);
    }

    /// Whether the server accepts connections: not closed, and its accept
    /// task still running (it is gone once its loop closed).
    ///
    /// # Examples
    ///
    /// ```
    /// tulipa::run(async {
    ///     let server = tulipa::net::start_server(|_r, _w| async {}, "127.0.0.1:0").await?;
    ///     assert!(server.is_serving());
    ///     server.close();
    ///     assert!(!server.is_serving());
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    pub fn is_serving(&self) -> bool {
        self.inner.serving()
    }

    /// How many connections are open: accepted, and with a handler task
    /// still running or a writer not yet closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::{open_connection, start_server};
    ///
    /// tulipa::run(async {
    ///     // The handler echoes one line and returns, closing its writer.
    ///     let server = start_server(
    ///         |mut r, w| async move { w.write(&r.readline().await.unwrap()) },
    ///         "127.0.0.1:0",
    ///     )
    ///     .await?;
    ///     assert_eq!(server.connections(), 0);
    ///     let (mut reader, writer) = open_connection(server.local_addr()?).await?;
    ///     writer.write(b"one\n");
    ///     assert_eq!(reader.readline().await.unwrap(), b"one\n");
    ///     server.close();
    ///     server.wait_closed().await; // the handler ended and its writer closed
    ///     assert_eq!(server.connections(), 0);
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    pub fn connections(&self) -> usize {
        self.inner.clients.borrow().len()
    }

    /// Waits until the server is closed and every connection is closed (as
    /// asyncio's `wait_closed` since 3.12.1): returns at once if both hold,
    /// and otherwise wakes when the last of the two comes true, in either
    /// order. Idle clients keep it waiting; see
    /// [`close_clients`](Server::close_clients).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: nothing is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// tulipa::run(async {
    ///     let server = tulipa::net::start_server(|_r, _w| async {}, "127.0.0.1:0").await?;
    ///     server.close();
    ///     server.wait_closed().await; // no connections: returns at once
    ///     server.wait_closed().await; // and again
    ///     assert!(!server.is_serving());
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    pub async fn wait_closed(&self) {
        poll_fn(|cx| {
            self.inner
                .poll_until(cx, |i| !i.serving() && i.clients.borrow().is_empty())
        })
        .await
    }

    /// Waits until the server is closed (from another task), serving all
    /// the while (asyncio's `serve_forever`).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future leaves the server running.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    ///
    /// tulipa::run(async {
    ///     let server = Rc::new(tulipa::net::start_server(|_r, _w| async {}, "127.0.0.1:0").await?);
    ///     let closer = server.clone();
    ///     tulipa::spawn(async move { closer.close() });
    ///     server.serve_forever().await; // until the other task closes it
    ///     assert!(!server.is_serving());
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
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

    /// Starts the handler of a new connection; a panic in the handler call
    /// is reported, with the server's call site, and closes the connection.
    fn serve<H, F>(self: &Rc<Self>, conn: Conn, handler: &mut H, at: &'static Location<'static>)
    where
        H: FnMut(StreamReader, StreamWriter) -> F,
        F: Future<Output = ()> + 'static,
    {
        let (reader, writer) = split(conn);
        let client = Rc::new(Client::open(self, &writer));
        writer.hold_until_closed(client.clone());
        let call = std::panic::AssertUnwindSafe(|| handler(reader, writer));
        match std::panic::catch_unwind(call) {
            Ok(handling) => {
                let core = context::expect_current("tulipa::net::start_server");
                let task = async move {
                    handling.await;
                    drop(client);
                };
                drop(crate::task::spawn_on(&core, task, None, at));
            }
            Err(payload) => report_handler_panic(&*payload, at),
        }
    }

    fn serving(&self) -> bool {
        let running = self
            .acceptor
            .borrow()
            .as_ref()
            .is_some_and(|t| !t.is_done());
        running && self.listener.borrow().is_some()
    }

    fn each_client(&self, f: impl Fn(&WriterHandle)) {
        // Closing a writer may end a connection, which edits the map.
        let ids: Vec<u64> = self.clients.borrow().keys().copied().collect();
        for id in ids {
            let handle = self.clients.borrow().get(&id).cloned();
            if let Some(handle) = handle {
                f(&handle);
            }
        }
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

/// One open connection: held by its handler task and by its writer until
/// closed; the last to let go removes it from the server.
struct Client {
    server: Rc<Inner>,
    id: u64,
}

impl Client {
    fn open(server: &Rc<Inner>, writer: &StreamWriter) -> Client {
        let id = server.next_client.get();
        server.next_client.set(id + 1);
        server.clients.borrow_mut().insert(id, writer.handle());
        Client {
            server: server.clone(),
            id,
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let removed = self.server.clients.borrow_mut().remove(&self.id);
        drop(removed);
        if self.server.clients.borrow().is_empty() {
            self.server.wake_waiters();
        }
    }
}

fn report_handler_panic(payload: &(dyn std::any::Any + Send), at: &'static Location<'static>) {
    if let Some(core) = context::current() {
        core.report(&ExceptionContext {
            message: format!("the handler of the server started at {at} panicked"),
            panic: Some(crate::task::panic_message(payload)),
            task: None,
        });
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
