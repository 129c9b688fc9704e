//! [`ListenOptions`]: how a TCP listener is made (asyncio's `create_server`
//! keywords `backlog`, `reuse_address`, `reuse_port`).

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use super::addr::{resolve, ToSocketAddrs};
use super::{Server, StreamReader, StreamWriter, TcpListener};

/// The listen backlog of [`TcpListener::bind`] and
/// [`start_server`](super::start_server): 1024 pending connections. The
/// kernel caps it at `net.core.somaxconn` (4096 on Linux since 5.4).
///
/// ```
/// assert_eq!(tulipa::net::DEFAULT_BACKLOG, 1024);
/// ```
pub const DEFAULT_BACKLOG: u32 = 1024;

/// Options for a listening TCP socket: backlog, `SO_REUSEADDR`,
/// `SO_REUSEPORT` (asyncio's `create_server(..., backlog=, reuse_address=,
/// reuse_port=)`).
///
/// The defaults are those of [`TcpListener::bind`]: a backlog of
/// [`DEFAULT_BACKLOG`], `SO_REUSEADDR` on (as asyncio on Unix), `SO_REUSEPORT`
/// off. With `reuse_port` several sockets, each with the option, can listen
/// on the same port and the kernel spreads connections over them: one
/// listener per loop of a group, each made on its own thread, or made on
/// one thread with [`bind_std`](ListenOptions::bind_std) and handed over
/// (a std listener is `Send`).
///
/// # Examples
///
/// ```
/// use tulipa::net::{ListenOptions, TcpStream};
///
/// tulipa::run(async {
///     let options = ListenOptions::new().backlog(4096).reuse_port(true);
///     let first = options.bind("127.0.0.1:0").await?;
///     let addr = first.local_addr()?;
///     let second = options.bind(addr).await?; // the same port
///     assert_eq!(second.local_addr()?, addr);
///     let _client = TcpStream::connect(addr).await?;
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenOptions {
    backlog: u32,
    reuse_address: bool,
    reuse_port: bool,
}

impl Default for ListenOptions {
    fn default() -> ListenOptions {
        ListenOptions::new()
    }
}

impl ListenOptions {
    /// The defaults: backlog 1024, `SO_REUSEADDR` on, `SO_REUSEPORT` off.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = tulipa::net::ListenOptions::new();
    /// assert_eq!(options, tulipa::net::ListenOptions::default());
    /// ```
    pub const fn new() -> ListenOptions {
        ListenOptions {
            backlog: DEFAULT_BACKLOG,
            reuse_address: true,
            reuse_port: false,
        }
    }

    /// How many connections the kernel queues before they are accepted
    /// (capped by the kernel at `net.core.somaxconn`; values past `i32::MAX`
    /// are clamped).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::ListenOptions;
    /// assert_ne!(ListenOptions::new().backlog(16), ListenOptions::new());
    /// assert_eq!(ListenOptions::new().backlog(1024), ListenOptions::new());
    /// ```
    pub const fn backlog(mut self, backlog: u32) -> ListenOptions {
        self.backlog = backlog;
        self
    }

    /// `SO_REUSEADDR`: rebind a port whose old connections are still in
    /// `TIME_WAIT` (on by default).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::ListenOptions;
    /// assert_eq!(ListenOptions::new().reuse_address(true), ListenOptions::new());
    /// ```
    pub const fn reuse_address(mut self, on: bool) -> ListenOptions {
        self.reuse_address = on;
        self
    }

    /// `SO_REUSEPORT`: several sockets with this option listen on one port,
    /// and the kernel balances new connections between them.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::ListenOptions;
    /// assert_ne!(ListenOptions::new().reuse_port(true), ListenOptions::new());
    /// ```
    pub const fn reuse_port(mut self, on: bool) -> ListenOptions {
        self.reuse_port = on;
        self
    }

    /// Binds a listener with these options, registered with the running
    /// loop. Names are resolved in the executor (see
    /// [`ToSocketAddrs`](super::ToSocketAddrs)); the addresses are tried in
    /// turn.
    ///
    /// # Errors
    ///
    /// The OS error of the last address tried (e.g. `AddrInUse`), the
    /// resolver's error, or `InvalidInput` if `addr` resolves to nothing.
    /// `Unsupported` for `reuse_port` or a backlog on a platform without
    /// those calls.
    ///
    /// # Panics
    ///
    /// Polled outside a running tulipa loop.
    ///
    /// # Cancel safety
    ///
    /// Only resolution waits; dropping the future leaves nothing bound.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::ListenOptions;
    ///
    /// tulipa::run(async {
    ///     let listener = ListenOptions::new().backlog(16).bind("127.0.0.1:0").await?;
    ///     let client = tulipa::net::TcpStream::connect(listener.local_addr()?).await?;
    ///     let (_conn, peer) = listener.accept().await?;
    ///     assert_eq!(peer, client.local_addr()?);
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    pub async fn bind<A: ToSocketAddrs>(&self, addr: A) -> io::Result<TcpListener> {
        let addrs = resolve(&addr).await?;
        let listener = self.bind_addrs(&addrs)?;
        TcpListener::from_std(listener)
    }

    /// Binds a standard-library listener with these options, without a
    /// loop: it is `Send`, so one thread can make the listeners of a group
    /// of loops and hand one to each, to be wrapped with
    /// [`TcpListener::from_std`] there. It is non-blocking already.
    ///
    /// # Errors
    ///
    /// As [`bind`](ListenOptions::bind), for the single address given.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::{ListenOptions, TcpListener};
    ///
    /// let options = ListenOptions::new().reuse_port(true);
    /// let std_listener = options.bind_std("127.0.0.1:0".parse().unwrap()).unwrap();
    /// let addr = std_listener.local_addr().unwrap();
    /// let worker = std::thread::spawn(move || {
    ///     tulipa::run(async move {
    ///         let listener = TcpListener::from_std(std_listener).unwrap();
    ///         listener.local_addr().unwrap()
    ///     })
    ///     .unwrap()
    /// });
    /// assert_eq!(worker.join().unwrap(), addr);
    /// ```
    pub fn bind_std(&self, addr: SocketAddr) -> io::Result<std::net::TcpListener> {
        self.bind_addrs(&[addr])
    }

    /// [`start_server`](super::start_server) on a listener with these
    /// options.
    ///
    /// # Errors
    ///
    /// As [`bind`](ListenOptions::bind).
    ///
    /// # Panics
    ///
    /// Polled outside a running tulipa loop.
    ///
    /// # Cancel safety
    ///
    /// Only resolution waits; dropping the future leaves nothing bound.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::{open_connection, ListenOptions};
    ///
    /// tulipa::run(async {
    ///     let options = ListenOptions::new().backlog(64);
    ///     let server = options
    ///         .start_server(|_r, w| async move { w.write(b"hi\n") }, "127.0.0.1:0")
    ///         .await?;
    ///     let (mut reader, _w) = open_connection(server.local_addr()?).await?;
    ///     assert_eq!(reader.readline().await.unwrap(), b"hi\n");
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn start_server<H, F, A>(
        &self,
        handler: H,
        addr: A,
    ) -> impl Future<Output = io::Result<Server>>
    where
        H: FnMut(StreamReader, StreamWriter) -> F + 'static,
        F: Future<Output = ()> + 'static,
        A: ToSocketAddrs,
    {
        let location = std::panic::Location::caller();
        let options = *self;
        async move {
            let listener = options.bind(addr).await?;
            Ok(Server::start_at(listener.into(), handler, location))
        }
    }

    fn bind_addrs(&self, addrs: &[SocketAddr]) -> io::Result<std::net::TcpListener> {
        let mut last = None;
        for &addr in addrs {
            match self.bind_one(addr) {
                Ok(listener) => return Ok(listener),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "address resolved to nothing")
        }))
    }

    #[cfg(unix)]
    fn bind_one(&self, addr: SocketAddr) -> io::Result<std::net::TcpListener> {
        let opts = super::sys::Listen {
            backlog: i32::try_from(self.backlog).unwrap_or(i32::MAX),
            reuse_address: self.reuse_address,
            reuse_port: self.reuse_port,
        };
        super::sys::tcp_listener(addr, opts)
    }

    /// Without the Unix calls only std's listener (backlog 128) is there.
    #[cfg(not(unix))]
    fn bind_one(&self, addr: SocketAddr) -> io::Result<std::net::TcpListener> {
        if self.reuse_port || *self != ListenOptions::new() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "listen options need a Unix platform",
            ));
        }
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(listener)
    }
}
