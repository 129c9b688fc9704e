//! A TCP server on every loop of a group: [`GroupHandle::start_server`].

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::placement::{self, By, LoadGuard, Loads};
use super::task::Cancel;
use super::GroupHandle;
use crate::net::{ListenOptions, StreamReader, StreamWriter, TcpListener, TcpStream};
use crate::runtime::EventLoop;

/// How a [`GroupServer`] spreads connections over the loops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServeMode {
    /// One loop (loop 0) accepts every connection and hands it to the loop
    /// with the fewest open connections (ties broken at random). The count
    /// is raised when the connection is handed over, so a burst spreads
    /// evenly instead of piling onto a loop whose count is stale.
    Acceptor,
    /// Every loop accepts on its own listening socket, all bound to the
    /// same address with `SO_REUSEPORT`: the kernel spreads connections
    /// over them by a hash of the connection, not by load. (A connection
    /// still queued on one loop's socket when the server closes is lost
    /// with it, as with any `SO_REUSEPORT` group.)
    PerLoop,
}

impl GroupHandle {
    /// Starts a TCP server on `addr` whose connections are served on the
    /// group's loops: each connection runs `handler(reader, writer)` as a
    /// task on one loop (asyncio's `start_server` callback), chosen per
    /// `mode`.
    ///
    /// `handler` is shared by every loop (`Send + Sync`); the future it
    /// returns runs on the connection's loop and may be `!Send`. A
    /// connection counts as open until its handler's future ends.
    ///
    /// # Errors
    ///
    /// The OS error if the address cannot be bound, or
    /// [`io::ErrorKind::NotConnected`] if a loop needed has ended.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use tulipa::group::ServeMode;
    ///
    /// let group = tulipa::LoopGroup::new(2).unwrap();
    /// let server = group
    ///     .start_server(ServeMode::Acceptor, "127.0.0.1:0", |mut reader, writer| async move {
    ///         let line = reader.readline().await.unwrap();
    ///         writer.write(&line);
    ///         writer.drain().await.unwrap();
    ///     })
    ///     .unwrap();
    /// let mut client = std::net::TcpStream::connect(server.local_addr()).unwrap();
    /// client.write_all(b"ping\n").unwrap();
    /// let mut back = [0; 5];
    /// client.read_exact(&mut back).unwrap();
    /// assert_eq!(&back, b"ping\n");
    /// server.close();
    /// # drop(group);
    /// ```
    pub fn start_server<H, F, A>(
        &self,
        mode: ServeMode,
        addr: A,
        handler: H,
    ) -> io::Result<GroupServer>
    where
        H: Fn(StreamReader, StreamWriter) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + 'static,
        A: ToSocketAddrs,
    {
        self.serve_tcp(mode, addr, move |stream: TcpStream| {
            let (reader, writer) = stream.into_split();
            handler(reader, writer)
        })
    }

    /// Like [`start_server`](GroupHandle::start_server), handing each
    /// connection's handler the plain [`TcpStream`] (no buffering).
    ///
    /// # Errors
    ///
    /// As [`start_server`](GroupHandle::start_server).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use tulipa::group::ServeMode;
    ///
    /// let group = tulipa::LoopGroup::new(2).unwrap();
    /// let server = group
    ///     .serve_tcp(ServeMode::PerLoop, "127.0.0.1:0", |stream| async move {
    ///         let mut buf = [0; 16];
    ///         let n = stream.read(&mut buf).await.unwrap();
    ///         stream.write_all(&buf[..n]).await.unwrap();
    ///     })
    ///     .unwrap();
    /// let mut client = std::net::TcpStream::connect(server.local_addr()).unwrap();
    /// client.write_all(b"raw").unwrap();
    /// let mut back = [0; 3];
    /// client.read_exact(&mut back).unwrap();
    /// assert_eq!(&back, b"raw");
    /// # drop(group);
    /// ```
    pub fn serve_tcp<H, F, A>(
        &self,
        mode: ServeMode,
        addr: A,
        handler: H,
    ) -> io::Result<GroupServer>
    where
        H: Fn(TcpStream) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + 'static,
        A: ToSocketAddrs,
    {
        let addr = addr.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no address to listen on")
        })?;
        // Non-blocking, with the default backlog of 1024.
        let options = ListenOptions::new().reuse_port(mode == ServeMode::PerLoop);
        let listener = options.bind_std(addr)?;
        let local_addr = listener.local_addr()?;
        let handler = Arc::new(handler);
        let accepting = match mode {
            ServeMode::Acceptor => vec![self.acceptor(listener, handler)?],
            ServeMode::PerLoop => {
                // One socket per loop on the same (now fixed) port.
                let mut listeners = vec![listener];
                for _ in 1..self.len() {
                    listeners.push(options.bind_std(local_addr)?);
                }
                self.per_loop(listeners, handler)?
            }
        };
        Ok(GroupServer {
            local_addr,
            mode,
            accepting,
        })
    }

    /// Loop 0 accepts; each round of accepts is handed out in one post per
    /// target loop.
    fn acceptor<H, F>(
        &self,
        listener: std::net::TcpListener,
        handler: Arc<H>,
    ) -> io::Result<Arc<dyn Cancel>>
    where
        H: Fn(TcpStream) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + 'static,
    {
        let group = self.clone();
        let task = self.spawn_on(0, move || async move {
            if let Err(e) = accept_and_hand_out(&group, &listener, &handler).await {
                log::error!(target: "tulipa", "the group's acceptor stopped: {e}");
            }
        });
        let task = task.map_err(|e| io::Error::new(io::ErrorKind::NotConnected, e))?;
        Ok(task.canceller())
    }

    /// Every loop accepts on its own `SO_REUSEPORT` socket, one per loop.
    fn per_loop<H, F>(
        &self,
        listeners: Vec<std::net::TcpListener>,
        handler: Arc<H>,
    ) -> io::Result<Vec<Arc<dyn Cancel>>>
    where
        H: Fn(TcpStream) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + 'static,
    {
        let mut accepting = Vec::with_capacity(self.len());
        for (index, own) in listeners.into_iter().enumerate() {
            let handler = handler.clone();
            let loads: Loads = self.shared.loads.clone();
            let task = self.spawn_on(index, move || async move {
                let accept = async {
                    let listener = TcpListener::from_std(own)?;
                    loop {
                        let (stream, _) = listener.accept().await?;
                        let guard = LoadGuard::new(&loads, index, By::Connections);
                        serve_stream(stream, guard, &handler);
                    }
                };
                let result: io::Result<()> = accept.await;
                if let Err(e) = result {
                    log::error!(target: "tulipa", "loop {index} stopped accepting: {e}");
                }
            });
            let task = task.map_err(|e| io::Error::new(io::ErrorKind::NotConnected, e))?;
            accepting.push(task.canceller());
        }
        Ok(accepting)
    }

    /// Open connections on loop `index` handed out by a group server.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// use tulipa::group::ServeMode;
    ///
    /// let group = tulipa::LoopGroup::new(2).unwrap();
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let server = group
    ///     .start_server(ServeMode::Acceptor, "127.0.0.1:0", move |_reader, writer| {
    ///         let tx = tx.clone();
    ///         async move {
    ///             tx.send(tulipa::group().unwrap().current_loop().unwrap()).unwrap();
    ///             std::future::pending::<()>().await; // stays open
    ///             drop(writer);
    ///         }
    ///     })
    ///     .unwrap();
    /// let _client = std::net::TcpStream::connect(server.local_addr()).unwrap();
    /// let index = rx.recv().unwrap();
    /// assert_eq!(group.connections(index), 1);
    /// assert_eq!(group.connections(1 - index), 0);
    /// # drop(server);
    /// # drop(group);
    /// ```
    pub fn connections(&self, index: usize) -> usize {
        self.shared.loads.get(index).map_or(0, |l| {
            // ORDERING: a snapshot for display.
            l.connections.load(Ordering::Relaxed)
        })
    }
}

/// The acceptor's task: waits until the listener is readable (through
/// `add_reader`), accepts every pending connection, chooses a loop for each
/// and posts each loop its batch.
async fn accept_and_hand_out<H, F>(
    group: &GroupHandle,
    listener: &std::net::TcpListener,
    handler: &Arc<H>,
) -> io::Result<()>
where
    H: Fn(TcpStream) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + 'static,
{
    let lp = crate::get_running_loop().expect("the acceptor runs on loop 0");
    let readable = Rc::new(Readable::default());
    let fd = listener.as_raw_fd();
    {
        let readable = readable.clone();
        lp.add_reader(fd, move || readable.set())?;
    }
    let _unwatch = Unwatch { lp: &lp, fd };
    let loads = &group.shared.loads;
    loop {
        poll_fn(|cx| readable.poll_take(cx)).await;
        let mut batches: Vec<Vec<(std::net::TcpStream, LoadGuard)>> =
            (0..group.len()).map(|_| Vec::new()).collect();
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    let Some(target) = placement::least_loaded(loads, By::Connections) else {
                        return Ok(());
                    };
                    let guard = LoadGuard::new(loads, target, By::Connections);
                    batches[target].push((stream, guard));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) => {
                    log::error!(target: "tulipa", "accept failed: {e}");
                    break;
                }
            }
        }
        for (target, batch) in batches.into_iter().enumerate() {
            if batch.is_empty() {
                continue;
            }
            let handler = handler.clone();
            // A refused post (the loop ended) drops the batch: the
            // connections close and their counts go back down.
            let _ = group.handles()[target].call_soon_threadsafe(move || {
                for (stream, guard) in batch {
                    serve(stream, guard, &handler);
                }
            });
        }
    }
}

/// Set by the listener's `add_reader` callback, taken by the acceptor task.
#[derive(Default)]
struct Readable {
    ready: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Readable {
    fn set(&self) {
        self.ready.set(true);
        let waker = self.waker.borrow_mut().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn poll_take(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.ready.replace(false) {
            return Poll::Ready(());
        }
        *self.waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Stops watching the listener when the acceptor ends or is cancelled.
struct Unwatch<'a> {
    lp: &'a EventLoop,
    fd: RawFd,
}

impl Drop for Unwatch<'_> {
    fn drop(&mut self) {
        self.lp.remove_reader(self.fd);
    }
}

/// On the target loop: registers the connection and starts its handler.
fn serve<H, F>(stream: std::net::TcpStream, guard: LoadGuard, handler: &Arc<H>)
where
    H: Fn(TcpStream) -> F + 'static,
    F: Future<Output = ()> + 'static,
{
    match TcpStream::from_std(stream) {
        Ok(stream) => serve_stream(stream, guard, handler),
        Err(e) => log::error!(target: "tulipa", "cannot register an accepted connection: {e}"),
    }
}

fn serve_stream<H, F>(stream: TcpStream, guard: LoadGuard, handler: &Arc<H>)
where
    H: Fn(TcpStream) -> F + 'static,
    F: Future<Output = ()> + 'static,
{
    let conn = handler(stream);
    drop(crate::spawn(async move {
        let _open = guard;
        conn.await;
    }));
}

/// A server running on a group, from [`GroupHandle::start_server`].
///
/// Dropping it (or [`close`](GroupServer::close)) stops accepting; the
/// connections already open keep running on their loops.
pub struct GroupServer {
    local_addr: SocketAddr,
    mode: ServeMode,
    /// The accepting tasks; cancelling them closes their listeners.
    accepting: Vec<Arc<dyn Cancel>>,
}

impl GroupServer {
    /// The address the server listens on.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::group::ServeMode;
    ///
    /// let group = tulipa::LoopGroup::new(1).unwrap();
    /// let server = group.start_server(ServeMode::PerLoop, "127.0.0.1:0", |_, _| async {}).unwrap();
    /// assert!(server.local_addr().ip().is_loopback());
    /// assert_ne!(server.local_addr().port(), 0); // the port the OS chose
    /// # drop(server);
    /// # drop(group);
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// How it spreads connections.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::group::ServeMode;
    ///
    /// let group = tulipa::LoopGroup::new(1).unwrap();
    /// let server = group.start_server(ServeMode::Acceptor, "127.0.0.1:0", |_, _| async {}).unwrap();
    /// assert_eq!(server.mode(), ServeMode::Acceptor);
    /// # drop(server);
    /// # drop(group);
    /// ```
    pub fn mode(&self) -> ServeMode {
        self.mode
    }

    /// Stops accepting: the listeners close on their loops.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tulipa::group::ServeMode;
    ///
    /// let group = tulipa::LoopGroup::new(2).unwrap();
    /// let server = group.start_server(ServeMode::Acceptor, "127.0.0.1:0", |_, _| async {}).unwrap();
    /// let addr = server.local_addr();
    /// server.close();
    /// // The listener closes on its loop: connecting is soon refused.
    /// let mut refused = false;
    /// for _ in 0..500 {
    ///     if std::net::TcpStream::connect(addr).is_err() {
    ///         refused = true;
    ///         break;
    ///     }
    ///     std::thread::sleep(Duration::from_millis(10));
    /// }
    /// assert!(refused);
    /// # drop(group);
    /// ```
    pub fn close(&self) {
        for accepting in &self.accepting {
            accepting.cancel();
        }
    }
}

impl Drop for GroupServer {
    fn drop(&mut self) {
        self.close();
    }
}

impl fmt::Debug for GroupServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupServer")
            .field("local_addr", &self.local_addr)
            .field("mode", &self.mode)
            .finish()
    }
}
