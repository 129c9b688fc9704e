//! The client: URL, handshake, pipelining, reconnection with backoff, timeouts.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use tulipa::net::{TcpStream, UnixStream};
use tulipa::sync::Lock;

use crate::conn::{Conn, Socket};
use crate::{cmd, Cmd, RedisError, Value};

/// Where and how to connect, parsed from a URL.
///
/// `redis://[user:password@]host[:port][/db][?protocol=3]` for TCP (port
/// 6379 by default) and `unix:///path/to/socket[?db=N&password=..&user=..&protocol=3]`
/// for a Unix socket. Percent-escapes in the user and password are decoded.
///
/// # Errors
///
/// [`RedisError::InvalidUrl`] for another scheme, a bad port or db number, or
/// a protocol other than 2 or 3.
///
/// # Examples
///
/// ```
/// use tulipa_redis::ConnectionInfo;
///
/// let info = ConnectionInfo::parse("redis://bob:p%40ss@example.com:6380/2?protocol=3").unwrap();
/// assert_eq!(info.user.as_deref(), Some("bob"));
/// assert_eq!(info.password.as_deref(), Some("p@ss"));
/// assert_eq!(info.db, 2);
/// assert!(info.resp3);
///
/// let unix = ConnectionInfo::parse("unix:///tmp/redis.sock?db=1").unwrap();
/// assert_eq!(unix.db, 1);
/// assert!(ConnectionInfo::parse("http://x").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// TCP `host:port` or a Unix socket path.
    pub addr: Addr,
    /// ACL user name (`AUTH user password`).
    pub user: Option<String>,
    /// Password (`AUTH`).
    pub password: Option<String>,
    /// Database selected after connecting (`SELECT`).
    pub db: i64,
    /// Speak RESP3 (`HELLO 3`) instead of RESP2.
    pub resp3: bool,
}

/// A server address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    /// `host:port`.
    Tcp(String),
    /// A Unix socket path.
    Unix(PathBuf),
}

fn bad(url: &str, why: &str) -> RedisError {
    RedisError::InvalidUrl(format!("{url}: {why}"))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl ConnectionInfo {
    /// Parses a `redis://` or `unix://` URL (see the type's documentation).
    ///
    /// # Errors
    ///
    /// [`RedisError::InvalidUrl`] as described on the type.
    ///
    /// # Examples
    ///
    /// ```
    /// let info = tulipa_redis::ConnectionInfo::parse("redis://localhost").unwrap();
    /// assert_eq!(info.addr, tulipa_redis::Addr::Tcp("localhost:6379".into()));
    /// ```
    pub fn parse(url: &str) -> Result<ConnectionInfo, RedisError> {
        let (rest, query) = match url.split_once('?') {
            Some((r, q)) => (r, q),
            None => (url, ""),
        };
        let mut info = ConnectionInfo {
            addr: Addr::Tcp(String::new()),
            user: None,
            password: None,
            db: 0,
            resp3: false,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "db" => info.db = v.parse().map_err(|_| bad(url, "bad db number"))?,
                "password" => info.password = Some(percent_decode(v)),
                "user" => info.user = Some(percent_decode(v)),
                "protocol" => info.resp3 = parse_protocol(url, v)?,
                _ => return Err(bad(url, "unknown query parameter")),
            }
        }
        if let Some(path) = rest.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(bad(url, "missing socket path"));
            }
            info.addr = Addr::Unix(PathBuf::from(path));
            return Ok(info);
        }
        let rest = rest
            .strip_prefix("redis://")
            .ok_or_else(|| bad(url, "the scheme must be redis:// or unix://"))?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = match authority.rsplit_once('@') {
            Some((cred, host)) => {
                match cred.split_once(':') {
                    Some((u, p)) => {
                        if !u.is_empty() {
                            info.user = Some(percent_decode(u));
                        }
                        info.password = Some(percent_decode(p));
                    }
                    None => info.password = Some(percent_decode(cred)),
                }
                host
            }
            None => authority,
        };
        if host.is_empty() {
            return Err(bad(url, "missing host"));
        }
        let has_port = match host.rfind(':') {
            Some(i) if !host.ends_with(']') => {
                host[i + 1..]
                    .parse::<u16>()
                    .map_err(|_| bad(url, "bad port"))?;
                true
            }
            _ => false,
        };
        info.addr = Addr::Tcp(if has_port {
            host.to_string()
        } else {
            format!("{host}:6379")
        });
        if !path.is_empty() {
            info.db = path.parse().map_err(|_| bad(url, "bad db number"))?;
        }
        Ok(info)
    }
}

fn parse_protocol(url: &str, v: &str) -> Result<bool, RedisError> {
    match v {
        "2" => Ok(false),
        "3" => Ok(true),
        _ => Err(bad(url, "protocol must be 2 or 3")),
    }
}

/// Timeouts and reconnection settings of a [`Client`].
///
/// Every `Duration` is valid, `Duration::MAX` meaning "no limit".
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let opts = tulipa_redis::ClientOptions::default().command_timeout(Duration::from_secs(1));
/// assert_eq!(opts.command_timeout, Duration::from_secs(1));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    /// How long one connection attempt (socket + handshake) may take. Default 5 s.
    pub connect_timeout: Duration,
    /// How long a command may wait for its reply (blocking commands get this
    /// on top of their own block time). Default 10 s.
    pub command_timeout: Duration,
    /// How long to keep reconnecting (with backoff) before a command fails
    /// with the last connection error. Default 10 s.
    pub reconnect_for: Duration,
    /// First reconnection delay; it doubles up to `max_backoff`. Default 10 ms.
    pub min_backoff: Duration,
    /// Longest reconnection delay. Default 1 s.
    pub max_backoff: Duration,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(10),
            reconnect_for: Duration::from_secs(10),
            min_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_secs(1),
        }
    }
}

impl ClientOptions {
    /// Sets [`connect_timeout`](Self::connect_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// let o = tulipa_redis::ClientOptions::default().connect_timeout(std::time::Duration::MAX);
    /// assert_eq!(o.connect_timeout, std::time::Duration::MAX);
    /// ```
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }
    /// Sets [`command_timeout`](Self::command_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// let o = tulipa_redis::ClientOptions::default().command_timeout(std::time::Duration::ZERO);
    /// assert!(o.command_timeout.is_zero());
    /// ```
    pub fn command_timeout(mut self, d: Duration) -> Self {
        self.command_timeout = d;
        self
    }
    /// Sets [`reconnect_for`](Self::reconnect_for).
    ///
    /// # Examples
    ///
    /// ```
    /// let o = tulipa_redis::ClientOptions::default().reconnect_for(std::time::Duration::ZERO);
    /// assert!(o.reconnect_for.is_zero());
    /// ```
    pub fn reconnect_for(mut self, d: Duration) -> Self {
        self.reconnect_for = d;
        self
    }
}

/// A Redis client on tulipa's loop: one connection, many commands in flight.
///
/// Commands issued by any number of tasks are written back to back and their
/// replies matched in order (pipelining). When the connection breaks, the
/// commands in flight fail with [`RedisError::Connection`] and the next
/// command reconnects, retrying with exponential backoff for
/// [`ClientOptions::reconnect_for`], then repeats `AUTH`/`HELLO` and `SELECT`.
/// Clones share the connection. Blocking commands (`XREADGROUP BLOCK`,
/// `BLPOP`) hold up every command behind them, so give them their own
/// client ([`Client::duplicate`]). The client is `!Send`: one per loop.
///
/// # Examples
///
/// ```
/// # let server = tulipa_redis::doctest_server::start();
/// # let url = server.url();
/// use tulipa_redis::{cmd, Client};
///
/// tulipa::run(async {
///     let client = Client::connect(&url).await?;
///     client.query(cmd("SET").arg("k").arg("v")).await?;
///     let v = client.query(cmd("GET").arg("k")).await?;
///     assert_eq!(v.as_str(), Some("v"));
///     Ok::<_, tulipa_redis::RedisError>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    inner: Rc<Inner>,
}

#[derive(Debug)]
struct Inner {
    info: ConnectionInfo,
    opts: ClientOptions,
    conn: RefCell<Option<Rc<Conn>>>,
    connecting: Lock,
    connects: Cell<u64>,
}

impl Client {
    /// Connects to `url` (see [`ConnectionInfo`]) with default options.
    ///
    /// # Errors
    ///
    /// [`RedisError::InvalidUrl`]; [`RedisError::Connection`] or
    /// [`RedisError::Timeout`] if the server cannot be reached within the
    /// connect timeout (the first connection is tried once); the server's
    /// error for a refused `AUTH`, `HELLO` or `SELECT`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future closes the half-open connection.
    ///
    /// # Examples
    ///
    /// ```
    /// tulipa::run(async {
    ///     let err = tulipa_redis::Client::connect("ftp://x").await.unwrap_err();
    ///     assert!(matches!(err, tulipa_redis::RedisError::InvalidUrl(_)));
    /// })
    /// .unwrap();
    /// ```
    pub async fn connect(url: &str) -> Result<Client, RedisError> {
        Client::connect_with(url, ClientOptions::default()).await
    }

    /// Connects to `url` with `opts`.
    ///
    /// # Errors
    ///
    /// As [`Client::connect`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tulipa_redis::{Client, ClientOptions};
    ///
    /// tulipa::run(async {
    ///     // Nothing listens on port 1: a typed connection error, at once.
    ///     let opts = ClientOptions::default().connect_timeout(Duration::from_secs(2));
    ///     let err = Client::connect_with("redis://127.0.0.1:1", opts).await.unwrap_err();
    ///     assert!(err.is_connection_error());
    /// })
    /// .unwrap();
    /// ```
    pub async fn connect_with(url: &str, opts: ClientOptions) -> Result<Client, RedisError> {
        let info = ConnectionInfo::parse(url)?;
        let client = Client {
            inner: Rc::new(Inner {
                info,
                opts,
                conn: RefCell::new(None),
                connecting: Lock::new(),
                connects: Cell::new(0),
            }),
        };
        let conn = client.open().await?;
        *client.inner.conn.borrow_mut() = Some(Rc::new(conn));
        Ok(client)
    }

    /// A new client with its own connection to the same server and settings
    /// (for blocking commands).
    ///
    /// # Errors
    ///
    /// As [`Client::connect`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// let client = tulipa_redis::Client::connect(&url).await.unwrap();
    /// let blocking = client.duplicate().await.unwrap();
    /// assert_eq!(blocking.info(), client.info());
    /// # }).unwrap();
    /// ```
    pub async fn duplicate(&self) -> Result<Client, RedisError> {
        let client = Client {
            inner: Rc::new(Inner {
                info: self.inner.info.clone(),
                opts: self.inner.opts.clone(),
                conn: RefCell::new(None),
                connecting: Lock::new(),
                connects: Cell::new(0),
            }),
        };
        let conn = client.open().await?;
        *client.inner.conn.borrow_mut() = Some(Rc::new(conn));
        Ok(client)
    }

    /// Where this client connects.
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// let c = tulipa_redis::Client::connect(&format!("{url}?db=3")).await.unwrap();
    /// assert_eq!(c.info().db, 3);
    /// # }).unwrap();
    /// ```
    pub fn info(&self) -> &ConnectionInfo {
        &self.inner.info
    }

    /// How many connections this client has opened (1 + reconnections).
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// let c = tulipa_redis::Client::connect(&url).await.unwrap();
    /// assert_eq!(c.connects(), 1);
    /// # }).unwrap();
    /// ```
    pub fn connects(&self) -> u64 {
        self.inner.connects.get()
    }

    /// Sends one command and waits for its reply, within the command timeout.
    ///
    /// # Errors
    ///
    /// [`RedisError::Server`] for an error reply (the connection stays up;
    /// `LOADING` from a server still reading its data is retried with
    /// backoff for `reconnect_for`);
    /// [`RedisError::Connection`] / [`RedisError::Protocol`] if the
    /// connection broke (the command may or may not have run) or could not be
    /// re-established within `reconnect_for`; [`RedisError::Timeout`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe for the connection: a dropped query's reply is read and
    /// discarded, keeping later replies matched. The command itself may still
    /// run on the server.
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// use tulipa_redis::{cmd, Client, RedisError};
    /// # tulipa::run(async {
    /// let c = Client::connect(&url).await.unwrap();
    /// let err = c.query(cmd("NOSUCHCOMMAND")).await.unwrap_err();
    /// assert_eq!(err.code(), Some("ERR"));
    /// # }).unwrap();
    /// ```
    pub async fn query(&self, cmd: Cmd) -> Result<Value, RedisError> {
        self.query_extra(cmd, Duration::ZERO).await
    }

    /// [`query`](Self::query) for a blocking command that may legitimately
    /// take `block` before it replies: the timeout is `block` plus the
    /// command timeout.
    ///
    /// # Errors
    ///
    /// As [`Client::query`].
    ///
    /// # Cancel safety
    ///
    /// As [`Client::query`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// use std::time::Duration;
    /// use tulipa_redis::{cmd, Client};
    /// # tulipa::run(async {
    /// let c = Client::connect(&url).await.unwrap();
    /// let v = c.query_blocking(cmd("BLPOP").arg("empty").arg("0.05"), Duration::from_millis(50)).await.unwrap();
    /// assert!(v.is_nil());
    /// # }).unwrap();
    /// ```
    pub async fn query_blocking(&self, cmd: Cmd, block: Duration) -> Result<Value, RedisError> {
        self.query_extra(cmd, block).await
    }

    async fn query_extra(&self, cmd: Cmd, block: Duration) -> Result<Value, RedisError> {
        let mut delay = self.inner.opts.min_backoff;
        let cmds = std::slice::from_ref(&cmd);
        let work = async {
            loop {
                let mut replies = self.send_all(cmds).await?.into_iter();
                match replies.next().expect("one reply per command") {
                    // A restarted server still reading its data ran nothing.
                    Err(e) if e.code() == Some("LOADING") => {
                        crate::time::sleep(delay).await;
                        delay = delay.saturating_mul(2).min(self.inner.opts.max_backoff);
                    }
                    other => return other,
                }
            }
        };
        let limit = self.inner.opts.command_timeout.saturating_add(block);
        crate::time::within(limit, work)
            .await
            .unwrap_or(Err(RedisError::Timeout))
    }

    /// Sends `cmds` back to back and returns their replies in order; an
    /// error reply is an `Err` in its place and does not stop the others.
    ///
    /// # Errors
    ///
    /// The outer `Err` is a connection error or timeout that hit before any
    /// reply could be read; per-command errors are the inner `Result`s.
    ///
    /// # Cancel safety
    ///
    /// As [`Client::query`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// use tulipa_redis::{cmd, Client};
    /// # tulipa::run(async {
    /// let c = Client::connect(&url).await.unwrap();
    /// let replies = c.pipeline(vec![cmd("SET").arg("n").arg(1), cmd("INCR").arg("n")]).await.unwrap();
    /// assert_eq!(replies[1].as_ref().unwrap().as_int(), Some(2));
    /// # }).unwrap();
    /// ```
    pub async fn pipeline(
        &self,
        cmds: Vec<Cmd>,
    ) -> Result<Vec<Result<Value, RedisError>>, RedisError> {
        self.pipeline_blocking(cmds, Duration::ZERO).await
    }

    /// The live connection, reconnecting with backoff when it is broken.
    async fn conn(&self) -> Result<Rc<Conn>, RedisError> {
        if let Some(c) = self.live() {
            return Ok(c);
        }
        let _guard = self.inner.connecting.lock().await;
        if let Some(c) = self.live() {
            return Ok(c);
        }
        let opts = &self.inner.opts;
        let deadline = tulipa::now().checked_add(opts.reconnect_for);
        let mut delay = opts.min_backoff;
        loop {
            match self.open().await {
                Ok(conn) => {
                    let conn = Rc::new(conn);
                    *self.inner.conn.borrow_mut() = Some(conn.clone());
                    return Ok(conn);
                }
                Err(err) if !err.is_retryable() => return Err(err),
                Err(err) => {
                    let now = tulipa::now();
                    if deadline.is_some_and(|d| now.checked_add(delay).is_none_or(|t| t > d)) {
                        return Err(err);
                    }
                    log::debug!("redis reconnect failed ({err}); retrying in {delay:?}");
                    crate::time::sleep(delay).await;
                    delay = delay.saturating_mul(2).min(opts.max_backoff);
                }
            }
        }
    }

    fn live(&self) -> Option<Rc<Conn>> {
        let conn = self.inner.conn.borrow();
        conn.as_ref().filter(|c| c.broken().is_none()).cloned()
    }

    /// One connection attempt: socket, then `HELLO`/`AUTH` and `SELECT`.
    async fn open(&self) -> Result<Conn, RedisError> {
        let info = &self.inner.info;
        let attempt = async {
            let socket = match &info.addr {
                Addr::Tcp(addr) => {
                    let s = TcpStream::connect(addr.as_str())
                        .await
                        .map_err(|e| RedisError::io(&e))?;
                    let _ = s.set_nodelay(true);
                    Socket::Tcp(s)
                }
                Addr::Unix(path) => Socket::Unix(
                    UnixStream::connect(path)
                        .await
                        .map_err(|e| RedisError::io(&e))?,
                ),
            };
            let conn = Conn::start(socket, info.resp3);
            let mut hello = Vec::new();
            if info.resp3 {
                let mut c = cmd("HELLO").arg("3");
                if let Some(pass) = &info.password {
                    c = c
                        .arg("AUTH")
                        .arg(info.user.as_deref().unwrap_or("default"))
                        .arg(pass);
                }
                hello.push(c);
            } else if let Some(pass) = &info.password {
                let mut c = cmd("AUTH");
                if let Some(user) = &info.user {
                    c = c.arg(user);
                }
                hello.push(c.arg(pass));
            }
            if info.db != 0 {
                hello.push(cmd("SELECT").arg(info.db));
            }
            for reply in conn.send(&hello) {
                reply.get().await?;
            }
            Ok(conn)
        };
        let conn = crate::time::within(self.inner.opts.connect_timeout, attempt)
            .await
            .unwrap_or(Err(RedisError::Timeout))?;
        self.inner.connects.set(self.inner.connects.get() + 1);
        Ok(conn)
    }
}

impl Client {
    /// [`pipeline`](Self::pipeline) whose last command may block for `block`.
    pub(crate) async fn pipeline_blocking(
        &self,
        cmds: Vec<Cmd>,
        block: Duration,
    ) -> Result<Vec<Result<Value, RedisError>>, RedisError> {
        let limit = self.inner.opts.command_timeout.saturating_add(block);
        crate::time::within(limit, self.send_all(&cmds))
            .await
            .unwrap_or(Err(RedisError::Timeout))
    }

    /// Sends `cmds` and collects their replies, resending them on a new
    /// connection if the old one broke before the first was written.
    async fn send_all(&self, cmds: &[Cmd]) -> Result<Vec<Result<Value, RedisError>>, RedisError> {
        loop {
            let conn = self.conn().await?;
            let replies = conn.send(cmds);
            drop(conn);
            let mut out = Vec::with_capacity(replies.len());
            for r in replies {
                match r.get_checked().await {
                    Err((_, true)) if out.is_empty() => break,
                    Err((e, _)) => out.push(Err(e)),
                    Ok(v) => out.push(Ok(v)),
                }
            }
            if out.len() == cmds.len() {
                return Ok(out);
            }
        }
    }
}
