//! TLS on the loop (feature `tls`): asyncio's `ssl=` streams with rustls.
//!
//! The TLS stack is [rustls] (its `ring` provider) through `futures-rustls`,
//! running over tulipa's sockets; nothing here encrypts or parses anything
//! itself.
//!
//! | asyncio | tulipa |
//! |---|---|
//! | `ssl.SSLContext` (client / server) | [`TlsConnector`] / [`TlsAcceptor`] over a rustls `ClientConfig` / `ServerConfig` |
//! | `open_connection(host, port, ssl=ctx, server_hostname=...)` | [`open_connection`] |
//! | `start_server(cb, host, port, ssl=ctx)` | [`start_server`] |
//! | `StreamWriter.start_tls(ctx, server_hostname=...)` | [`StreamWriter::start_tls`], [`StreamWriter::start_tls_server`] |
//! | `ssl_handshake_timeout=` (60 s) | [`TlsConnector::with_handshake_timeout`], [`DEFAULT_HANDSHAKE_TIMEOUT`] |
//! | `get_extra_info("peercert")`, `ssl_object.selected_alpn_protocol()` | [`StreamWriter::peer_certificates`], [`StreamWriter::alpn_protocol`] |
//! | `ssl.SSLError`, `ssl.SSLCertVerificationError` | [`TlsError`] |
//!
//! ALPN and client certificates are rustls settings of the config
//! (`alpn_protocols`, `with_client_auth_cert`, a `WebPkiClientVerifier`).
//! The streams are tulipa's own [`StreamReader`] / [`StreamWriter`], so
//! `readline`, `readexactly`, `drain` and the rest behave exactly as on a
//! plain socket. One difference from asyncio, which by default reports it as
//! a plain end of stream: a peer that closes the TCP connection without TLS's
//! `close_notify` makes the next read fail with `UnexpectedEof`, since the
//! data may have been cut short.
//!
//! ```
//! use std::sync::Arc;
//! use tulipa::tls::{self, rustls, TlsAcceptor, TlsConnector};
//!
//! // A self-signed certificate for "localhost" (made here with rcgen).
//! let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
//! let der = cert.cert.der().clone();
//! let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
//!
//! let server_config = rustls::ServerConfig::builder()
//!     .with_no_client_auth()
//!     .with_single_cert(vec![der.clone()], key)
//!     .unwrap();
//! let mut roots = rustls::RootCertStore::empty();
//! roots.add(der).unwrap();
//! let client_config = rustls::ClientConfig::builder()
//!     .with_root_certificates(roots)
//!     .with_no_client_auth();
//!
//! tulipa::run(async move {
//!     let server = tls::start_server(
//!         |mut reader, writer| async move {
//!             let line = reader.readline().await.unwrap();
//!             writer.write(&line.to_ascii_uppercase());
//!         },
//!         "127.0.0.1:0",
//!         TlsAcceptor::new(Arc::new(server_config)),
//!     )
//!     .await?;
//!     let connector = TlsConnector::new(Arc::new(client_config));
//!     let (mut reader, writer) =
//!         tls::open_connection(server.local_addr()?, &connector, "localhost").await?;
//!     writer.write(b"secret\n");
//!     assert_eq!(reader.readline().await.unwrap(), b"SECRET\n");
//!     assert!(writer.peer_certificates().is_some());
//!     Ok::<_, std::io::Error>(())
//! })
//! .unwrap()
//! .unwrap();
//! ```

mod error;
mod stream;

use crate::net::ToSocketAddrs;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

pub use rustls;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ProtocolVersion, ServerConfig};

pub use error::TlsError;
pub(crate) use stream::TlsConn;
pub use stream::TlsStream;
use stream::Transport;

use crate::net::{Conn, Server, StreamReader, StreamWriter, TcpStream};

/// How long a TLS handshake may take before it fails with
/// [`TlsError::HandshakeTimeout`]: 60 s, asyncio's `SSL_HANDSHAKE_TIMEOUT`.
///
/// ```
/// assert_eq!(tulipa::tls::DEFAULT_HANDSHAKE_TIMEOUT, std::time::Duration::from_secs(60));
/// ```
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);

/// The client side of TLS: a rustls `ClientConfig` (trusted roots, client
/// certificate, ALPN protocols) and a handshake timeout. Cheap to clone.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use tulipa::tls::{rustls, TlsConnector, DEFAULT_HANDSHAKE_TIMEOUT};
///
/// let config = rustls::ClientConfig::builder()
///     .with_root_certificates(rustls::RootCertStore::empty())
///     .with_no_client_auth();
/// let connector = TlsConnector::new(Arc::new(config));
/// assert_eq!(connector.handshake_timeout(), DEFAULT_HANDSHAKE_TIMEOUT);
/// let connector = connector.with_handshake_timeout(Duration::from_secs(5));
/// assert_eq!(connector.handshake_timeout(), Duration::from_secs(5));
/// ```
#[derive(Clone)]
pub struct TlsConnector {
    inner: futures_rustls::TlsConnector,
    timeout: Duration,
}

impl TlsConnector {
    /// A connector for `config`, with the default handshake timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulipa::tls::{rustls, TlsConnector};
    ///
    /// let config = rustls::ClientConfig::builder()
    ///     .with_root_certificates(rustls::RootCertStore::empty())
    ///     .with_no_client_auth();
    /// let connector = TlsConnector::new(Arc::new(config));
    /// assert_eq!(connector.handshake_timeout(), tulipa::tls::DEFAULT_HANDSHAKE_TIMEOUT);
    /// ```
    pub fn new(config: Arc<ClientConfig>) -> TlsConnector {
        TlsConnector {
            inner: config.into(),
            timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// Sets the handshake timeout (asyncio's `ssl_handshake_timeout`); any
    /// duration is valid, `Duration::MAX` meaning none.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use tulipa::tls::{rustls, TlsConnector};
    ///
    /// let config = rustls::ClientConfig::builder()
    ///     .with_root_certificates(rustls::RootCertStore::empty())
    ///     .with_no_client_auth();
    /// let connector = TlsConnector::new(Arc::new(config)).with_handshake_timeout(Duration::MAX);
    /// assert_eq!(connector.handshake_timeout(), Duration::MAX); // no timeout
    /// ```
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> TlsConnector {
        self.timeout = timeout;
        self
    }

    /// The handshake timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use tulipa::tls::{rustls, TlsConnector};
    ///
    /// let config = rustls::ClientConfig::builder()
    ///     .with_root_certificates(rustls::RootCertStore::empty())
    ///     .with_no_client_auth();
    /// let connector = TlsConnector::new(Arc::new(config)).with_handshake_timeout(Duration::ZERO);
    /// assert_eq!(connector.handshake_timeout(), Duration::ZERO);
    /// ```
    pub fn handshake_timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs the client handshake over `stream`, verifying the server's
    /// certificate for `server_hostname` (a DNS name or an IP address).
    ///
    /// # Errors
    ///
    /// [`TlsError::InvalidServerName`], [`TlsError::BadCertificate`],
    /// [`TlsError::NameMismatch`], [`TlsError::AlertReceived`],
    /// [`TlsError::HandshakeTimeout`], [`TlsError::ClosedDuringHandshake`],
    /// [`TlsError::Protocol`] or [`TlsError::Io`]; the socket is closed.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future closes the connection.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulipa::net::TcpListener;
    /// use tulipa::tls::{rustls, TlsConnector, TlsError};
    ///
    /// let config = rustls::ClientConfig::builder()
    ///     .with_root_certificates(rustls::RootCertStore::empty())
    ///     .with_no_client_auth();
    /// let connector = TlsConnector::new(Arc::new(config));
    /// tulipa::run(async move {
    ///     // A peer that accepts and hangs up at once.
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let addr = listener.local_addr().unwrap();
    ///     let closer = tulipa::spawn(async move { drop(listener.accept().await) });
    ///     let stream = tulipa::net::TcpStream::connect(addr).await.unwrap();
    ///     let err = connector.connect("localhost", stream).await.unwrap_err();
    ///     assert!(matches!(err, TlsError::ClosedDuringHandshake), "{err}");
    ///     closer.await.unwrap();
    /// })
    /// .unwrap();
    /// ```
    pub async fn connect(
        &self,
        server_hostname: &str,
        stream: TcpStream,
    ) -> Result<TlsStream, TlsError> {
        self.handshake(
            server_hostname,
            Transport::new(Rc::new(Conn::Tcp(stream)), Vec::new()),
        )
        .await
    }

    async fn handshake(
        &self,
        server_hostname: &str,
        transport: Transport,
    ) -> Result<TlsStream, TlsError> {
        let name = ServerName::try_from(server_hostname.to_owned())
            .map_err(|_| TlsError::InvalidServerName(server_hostname.to_owned()))?;
        let connect = self.inner.connect(name, transport);
        with_timeout(self.timeout, async {
            let stream = connect.await.map_err(TlsError::from_handshake)?;
            Ok(TlsStream::new(stream.into()))
        })
        .await
    }
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnector")
            .field("handshake_timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The server side of TLS: a rustls `ServerConfig` (certificate chain and
/// key, client-certificate verifier, ALPN protocols) and a handshake
/// timeout. Cheap to clone.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tulipa::tls::{rustls, TlsAcceptor, DEFAULT_HANDSHAKE_TIMEOUT};
///
/// let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
/// let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
/// let config = rustls::ServerConfig::builder()
///     .with_no_client_auth()
///     .with_single_cert(vec![cert.cert.der().clone()], key)
///     .unwrap();
/// let acceptor = TlsAcceptor::new(Arc::new(config));
/// assert_eq!(acceptor.handshake_timeout(), DEFAULT_HANDSHAKE_TIMEOUT);
/// ```
#[derive(Clone)]
pub struct TlsAcceptor {
    inner: futures_rustls::TlsAcceptor,
    timeout: Duration,
}

impl TlsAcceptor {
    /// An acceptor for `config`, with the default handshake timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tulipa::tls::{self, rustls, TlsAcceptor, TlsConnector};
    /// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// # let der = cert.cert.der().clone();
    /// # let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    /// # let mut server_config = rustls::ServerConfig::builder()
    /// #     .with_no_client_auth()
    /// #     .with_single_cert(vec![der.clone()], key)
    /// #     .unwrap();
    /// # server_config.alpn_protocols = vec![b"h2".to_vec()];
    /// # let mut roots = rustls::RootCertStore::empty();
    /// # roots.add(der.clone()).unwrap();
    /// # let mut client_config = rustls::ClientConfig::builder()
    /// #     .with_root_certificates(roots)
    /// #     .with_no_client_auth();
    /// # client_config.alpn_protocols = vec![b"h2".to_vec()];
    /// let acceptor = TlsAcceptor::new(Arc::new(server_config));
    /// assert_eq!(acceptor.handshake_timeout(), tulipa::tls::DEFAULT_HANDSHAKE_TIMEOUT);
    /// ```
    pub fn new(config: Arc<ServerConfig>) -> TlsAcceptor {
        TlsAcceptor {
            inner: config.into(),
            timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// Sets the handshake timeout (asyncio's `ssl_handshake_timeout`); any
    /// duration is valid, `Duration::MAX` meaning none.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tulipa::tls::{self, rustls, TlsAcceptor, TlsConnector};
    /// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// # let der = cert.cert.der().clone();
    /// # let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    /// # let mut server_config = rustls::ServerConfig::builder()
    /// #     .with_no_client_auth()
    /// #     .with_single_cert(vec![der.clone()], key)
    /// #     .unwrap();
    /// # server_config.alpn_protocols = vec![b"h2".to_vec()];
    /// # let mut roots = rustls::RootCertStore::empty();
    /// # roots.add(der.clone()).unwrap();
    /// # let mut client_config = rustls::ClientConfig::builder()
    /// #     .with_root_certificates(roots)
    /// #     .with_no_client_auth();
    /// # client_config.alpn_protocols = vec![b"h2".to_vec()];
    /// use std::time::Duration;
    /// let acceptor = TlsAcceptor::new(Arc::new(server_config))
    ///     .with_handshake_timeout(Duration::from_secs(10));
    /// assert_eq!(acceptor.handshake_timeout(), Duration::from_secs(10));
    /// ```
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> TlsAcceptor {
        self.timeout = timeout;
        self
    }

    /// The handshake timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tulipa::tls::{self, rustls, TlsAcceptor, TlsConnector};
    /// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// # let der = cert.cert.der().clone();
    /// # let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    /// # let mut server_config = rustls::ServerConfig::builder()
    /// #     .with_no_client_auth()
    /// #     .with_single_cert(vec![der.clone()], key)
    /// #     .unwrap();
    /// # server_config.alpn_protocols = vec![b"h2".to_vec()];
    /// # let mut roots = rustls::RootCertStore::empty();
    /// # roots.add(der.clone()).unwrap();
    /// # let mut client_config = rustls::ClientConfig::builder()
    /// #     .with_root_certificates(roots)
    /// #     .with_no_client_auth();
    /// # client_config.alpn_protocols = vec![b"h2".to_vec()];
    /// let acceptor = TlsAcceptor::new(Arc::new(server_config));
    /// let again = acceptor.clone().with_handshake_timeout(std::time::Duration::MAX);
    /// assert_eq!(acceptor.handshake_timeout(), tulipa::tls::DEFAULT_HANDSHAKE_TIMEOUT);
    /// assert_eq!(again.handshake_timeout(), std::time::Duration::MAX);
    /// ```
    pub fn handshake_timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs the server handshake over an accepted `stream`.
    ///
    /// # Errors
    ///
    /// As [`TlsConnector::connect`] (a client certificate that does not
    /// verify is [`TlsError::BadCertificate`]); the socket is closed.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future closes the connection.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tulipa::tls::{self, rustls, TlsAcceptor, TlsConnector};
    /// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// # let der = cert.cert.der().clone();
    /// # let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    /// # let mut server_config = rustls::ServerConfig::builder()
    /// #     .with_no_client_auth()
    /// #     .with_single_cert(vec![der.clone()], key)
    /// #     .unwrap();
    /// # server_config.alpn_protocols = vec![b"h2".to_vec()];
    /// # let mut roots = rustls::RootCertStore::empty();
    /// # roots.add(der.clone()).unwrap();
    /// # let mut client_config = rustls::ClientConfig::builder()
    /// #     .with_root_certificates(roots)
    /// #     .with_no_client_auth();
    /// # client_config.alpn_protocols = vec![b"h2".to_vec()];
    /// # let acceptor = TlsAcceptor::new(Arc::new(server_config));
    /// # let connector = TlsConnector::new(Arc::new(client_config));
    /// # tulipa::run(async move {
    /// # let listener = tulipa::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let addr = listener.local_addr()?;
    /// # let accepting = tulipa::spawn(async move {
    /// #     let (socket, _) = listener.accept().await.unwrap();
    /// #     acceptor.accept(socket).await
    /// # });
    /// # let socket = tulipa::net::TcpStream::connect(addr).await?;
    /// let client = connector.connect("localhost", socket).await?;
    /// let server = accepting.await.unwrap()?;
    /// assert_eq!(server.server_name(), Some("localhost"));
    /// assert!(client.peer_certificates().is_some());
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub async fn accept(&self, stream: TcpStream) -> Result<TlsStream, TlsError> {
        self.handshake(Transport::new(Rc::new(Conn::Tcp(stream)), Vec::new()))
            .await
    }

    async fn handshake(&self, transport: Transport) -> Result<TlsStream, TlsError> {
        let accept = self.inner.accept(transport);
        with_timeout(self.timeout, async {
            let stream = accept.await.map_err(TlsError::from_handshake)?;
            Ok(TlsStream::new(stream.into()))
        })
        .await
    }
}

impl fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsAcceptor")
            .field("handshake_timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

async fn with_timeout<T>(
    timeout: Duration,
    handshake: impl Future<Output = Result<T, TlsError>>,
) -> Result<T, TlsError> {
    // A timeout past the end of time is no timeout.
    if crate::now().checked_add(timeout).is_none() {
        return handshake.await;
    }
    match crate::wait_for(handshake, timeout).await {
        Ok(result) => result,
        Err(_) => Err(TlsError::HandshakeTimeout(timeout)),
    }
}

/// Connects to `addr`, runs the TLS handshake for `server_hostname` and
/// returns the buffered halves of the connection (asyncio's
/// `open_connection(..., ssl=ctx, server_hostname=...)`).
///
/// # Errors
///
/// As [`TcpStream::connect`] ([`TlsError::Io`]) and
/// [`TlsConnector::connect`].
///
/// # Panics
///
/// Polled outside a running tulipa loop.
///
/// # Cancel safety
///
/// Dropping the future closes the connection; nothing is left behind.
///
/// # Examples
///
/// ```
/// # use std::sync::Arc;
/// # use tulipa::tls::{self, rustls, TlsAcceptor, TlsConnector};
/// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
/// # let der = cert.cert.der().clone();
/// # let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
/// # let mut server_config = rustls::ServerConfig::builder()
/// #     .with_no_client_auth()
/// #     .with_single_cert(vec![der.clone()], key)
/// #     .unwrap();
/// # server_config.alpn_protocols = vec![b"h2".to_vec()];
/// # let mut roots = rustls::RootCertStore::empty();
/// # roots.add(der.clone()).unwrap();
/// # let mut client_config = rustls::ClientConfig::builder()
/// #     .with_root_certificates(roots)
/// #     .with_no_client_auth();
/// # client_config.alpn_protocols = vec![b"h2".to_vec()];
/// # let acceptor = TlsAcceptor::new(Arc::new(server_config));
/// # let connector = TlsConnector::new(Arc::new(client_config));
/// # tulipa::run(async move {
/// let server = tls::start_server(
///     |_reader, writer| async move { writer.write(b"over tls\n") },
///     "127.0.0.1:0",
///     acceptor,
/// )
/// .await?;
/// let (mut reader, writer) = tls::open_connection(server.local_addr()?, &connector, "localhost").await?;
/// assert_eq!(reader.readline().await?, b"over tls\n");
/// assert_eq!(writer.tls_version(), Some(rustls::ProtocolVersion::TLSv1_3));
/// // A name the certificate does not cover fails the handshake.
/// let err = tls::open_connection(server.local_addr()?, &connector, "example.org").await.unwrap_err();
/// assert!(matches!(err, tls::TlsError::NameMismatch(_)), "{err}");
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// # }).unwrap().unwrap();
/// ```
pub async fn open_connection<A: ToSocketAddrs>(
    addr: A,
    connector: &TlsConnector,
    server_hostname: &str,
) -> Result<(StreamReader, StreamWriter), TlsError> {
    let stream = TcpStream::connect(addr).await?;
    Ok(connector
        .connect(server_hostname, stream)
        .await?
        .into_split())
}

/// Listens on `addr`, runs the TLS handshake on every connection and then
/// `handler(reader, writer)` as a task of its own (asyncio's
/// `start_server(..., ssl=ctx)`).
///
/// A connection whose handshake fails (bad client certificate, timeout,
/// the peer gone) is closed and logged at debug level, as asyncio does;
/// the server goes on. The returned [`Server`] is the plain one: `close`,
/// `wait_closed`, `serve_forever` and `connections` work as for TCP.
///
/// # Errors
///
/// As [`TcpListener::bind`](crate::net::TcpListener::bind).
///
/// # Panics
///
/// Polled outside a running tulipa loop.
///
/// # Cancel safety
///
/// Only a name lookup waits (a literal address binds at the first poll);
/// dropping the future leaves nothing bound.
///
/// # Examples
///
/// ```
/// # use std::sync::Arc;
/// # use tulipa::tls::{self, rustls, TlsAcceptor, TlsConnector};
/// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
/// # let der = cert.cert.der().clone();
/// # let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
/// # let mut server_config = rustls::ServerConfig::builder()
/// #     .with_no_client_auth()
/// #     .with_single_cert(vec![der.clone()], key)
/// #     .unwrap();
/// # server_config.alpn_protocols = vec![b"h2".to_vec()];
/// # let mut roots = rustls::RootCertStore::empty();
/// # roots.add(der.clone()).unwrap();
/// # let mut client_config = rustls::ClientConfig::builder()
/// #     .with_root_certificates(roots)
/// #     .with_no_client_auth();
/// # client_config.alpn_protocols = vec![b"h2".to_vec()];
/// # let acceptor = TlsAcceptor::new(Arc::new(server_config));
/// # let connector = TlsConnector::new(Arc::new(client_config));
/// # tulipa::run(async move {
/// let server = tls::start_server(
///     |mut reader, writer| async move {
///         let line = reader.readline().await.unwrap();
///         writer.write(&line);
///     },
///     "127.0.0.1:0",
///     acceptor,
/// )
/// .await?;
/// // A plain client fails its handshake; the server goes on.
/// let (_r, plain) = tulipa::net::open_connection(server.local_addr()?).await?;
/// plain.write(b"not tls\n");
/// drop(plain);
/// let (mut reader, writer) = tls::open_connection(server.local_addr()?, &connector, "localhost").await?;
/// writer.write(b"still serving\n");
/// assert_eq!(reader.readline().await?, b"still serving\n");
/// assert!(server.is_serving());
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// # }).unwrap().unwrap();
/// ```
pub async fn start_server<H, F, A>(handler: H, addr: A, acceptor: TlsAcceptor) -> io::Result<Server>
where
    H: FnMut(StreamReader, StreamWriter) -> F + 'static,
    F: Future<Output = ()> + 'static,
    A: ToSocketAddrs,
{
    let handler = Rc::new(RefCell::new(handler));
    crate::net::start_server(
        move |reader, writer| {
            let handler = handler.clone();
            let acceptor = acceptor.clone();
            async move {
                match writer.start_tls_server(reader, &acceptor).await {
                    Ok((reader, writer)) => {
                        let handling = (handler.borrow_mut())(reader, writer);
                        handling.await;
                    }
                    Err(e) => log::debug!("TLS handshake failed: {e}"),
                }
            }
        },
        addr,
    )
    .await
}

/// Takes the connection out of a reader / writer pair for an upgrade.
async fn upgrade(reader: StreamReader, writer: StreamWriter) -> Result<Transport, TlsError> {
    if !Rc::ptr_eq(reader.conn(), writer.conn()) {
        let e = io::Error::new(
            io::ErrorKind::InvalidInput,
            "start_tls: the reader and the writer are of different connections",
        );
        return Err(TlsError::Io(e));
    }
    let (conn, unread) = reader.detach();
    let (_, unsent) = writer.detach()?;
    let transport = Transport::new(conn, unread);
    transport.send_plain(&unsent).await?;
    Ok(transport)
}

/// TLS details of the connection under a writer, and asyncio's `start_tls`.
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
impl StreamWriter {
    /// Upgrades this plain connection to TLS as the client (asyncio 3.11's
    /// `StreamWriter.start_tls(sslcontext, server_hostname=...)`).
    ///
    /// What the writer still buffers is sent first, in plain; bytes the
    /// reader already holds are taken as the start of the TLS stream. It
    /// takes the pair and returns a new one over TLS.
    ///
    /// # Errors
    ///
    /// As [`TlsConnector::connect`]; [`TlsError::Io`] with `InvalidInput`
    /// if `reader` is of another connection, or the writer's error if it
    /// had failed or was closed.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future closes the connection.
    ///
    /// # Examples
    ///
    /// A line protocol that switches to TLS after `STARTTLS`:
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulipa::tls::{rustls, TlsAcceptor, TlsConnector};
    ///
    /// let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// let der = cert.cert.der().clone();
    /// let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    /// let server = rustls::ServerConfig::builder()
    ///     .with_no_client_auth()
    ///     .with_single_cert(vec![der.clone()], key)
    ///     .unwrap();
    /// let mut roots = rustls::RootCertStore::empty();
    /// roots.add(der).unwrap();
    /// let client = rustls::ClientConfig::builder()
    ///     .with_root_certificates(roots)
    ///     .with_no_client_auth();
    /// let acceptor = TlsAcceptor::new(Arc::new(server));
    ///
    /// tulipa::run(async move {
    ///     let server = tulipa::net::start_server(
    ///         move |mut reader, writer| {
    ///             let acceptor = acceptor.clone();
    ///             async move {
    ///                 assert_eq!(reader.readline().await.unwrap(), b"STARTTLS\n");
    ///                 writer.write(b"GO\n");
    ///                 let (mut reader, writer) =
    ///                     writer.start_tls_server(reader, &acceptor).await.unwrap();
    ///                 let line = reader.readline().await.unwrap();
    ///                 writer.write(&line.to_ascii_uppercase());
    ///             }
    ///         },
    ///         "127.0.0.1:0",
    ///     )
    ///     .await?;
    ///     let (mut reader, writer) = tulipa::net::open_connection(server.local_addr()?).await?;
    ///     writer.write(b"STARTTLS\n");
    ///     assert_eq!(reader.readline().await.unwrap(), b"GO\n");
    ///     assert_eq!(writer.tls_version(), None);
    ///     let connector = TlsConnector::new(Arc::new(client));
    ///     let (mut reader, writer) = writer.start_tls(reader, &connector, "localhost").await?;
    ///     assert!(writer.tls_version().is_some());
    ///     writer.write(b"private\n");
    ///     assert_eq!(reader.readline().await.unwrap(), b"PRIVATE\n");
    ///     Ok::<_, Box<dyn std::error::Error>>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    pub async fn start_tls(
        self,
        reader: StreamReader,
        connector: &TlsConnector,
        server_hostname: &str,
    ) -> Result<(StreamReader, StreamWriter), TlsError> {
        let limit = reader.limit();
        let transport = upgrade(reader, self).await?;
        let (mut reader, writer) = connector
            .handshake(server_hostname, transport)
            .await?
            .into_split();
        reader.set_limit(limit);
        Ok((reader, writer))
    }

    /// Upgrades this plain connection to TLS as the server (asyncio's
    /// `start_tls` on a server-side writer).
    ///
    /// # Errors
    ///
    /// As [`TlsAcceptor::accept`] and [`start_tls`](StreamWriter::start_tls).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future closes the connection.
    ///
    /// # Examples
    ///
    /// See [`start_tls`](StreamWriter::start_tls), whose server side calls it.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tulipa::tls::{self, rustls, TlsAcceptor, TlsConnector};
    /// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// # let der = cert.cert.der().clone();
    /// # let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    /// # let mut server_config = rustls::ServerConfig::builder()
    /// #     .with_no_client_auth()
    /// #     .with_single_cert(vec![der.clone()], key)
    /// #     .unwrap();
    /// # server_config.alpn_protocols = vec![b"h2".to_vec()];
    /// # let mut roots = rustls::RootCertStore::empty();
    /// # roots.add(der.clone()).unwrap();
    /// # let mut client_config = rustls::ClientConfig::builder()
    /// #     .with_root_certificates(roots)
    /// #     .with_no_client_auth();
    /// # client_config.alpn_protocols = vec![b"h2".to_vec()];
    /// # let acceptor = TlsAcceptor::new(Arc::new(server_config));
    /// # let connector = TlsConnector::new(Arc::new(client_config));
    /// # tulipa::run(async move {
    /// let plain = tulipa::net::start_server(
    ///     move |reader, writer| {
    ///         let acceptor = acceptor.clone();
    ///         async move {
    ///             let (mut reader, writer) = writer.start_tls_server(reader, &acceptor).await.unwrap();
    ///             assert!(writer.tls_version().is_some());
    ///             writer.write(&reader.readline().await.unwrap());
    ///         }
    ///     },
    ///     "127.0.0.1:0",
    /// )
    /// .await?;
    /// let (reader, writer) = tulipa::net::open_connection(plain.local_addr()?).await?;
    /// let (mut reader, writer) = writer.start_tls(reader, &connector, "localhost").await?;
    /// writer.write(b"upgraded\n");
    /// assert_eq!(reader.readline().await?, b"upgraded\n");
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub async fn start_tls_server(
        self,
        reader: StreamReader,
        acceptor: &TlsAcceptor,
    ) -> Result<(StreamReader, StreamWriter), TlsError> {
        let limit = reader.limit();
        let transport = upgrade(reader, self).await?;
        let (mut reader, writer) = acceptor.handshake(transport).await?.into_split();
        reader.set_limit(limit);
        Ok((reader, writer))
    }

    /// The certificate chain the TLS peer presented, its own first (asyncio's
    /// `get_extra_info("peercert")`); `None` on a plain connection or if the
    /// peer sent none.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tulipa::tls::{self, rustls, TlsAcceptor, TlsConnector};
    /// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// # let der = cert.cert.der().clone();
    /// # let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    /// # let mut server_config = rustls::ServerConfig::builder()
    /// #     .with_no_client_auth()
    /// #     .with_single_cert(vec![der.clone()], key)
    /// #     .unwrap();
    /// # server_config.alpn_protocols = vec![b"h2".to_vec()];
    /// # let mut roots = rustls::RootCertStore::empty();
    /// # roots.add(der.clone()).unwrap();
    /// # let mut client_config = rustls::ClientConfig::builder()
    /// #     .with_root_certificates(roots)
    /// #     .with_no_client_auth();
    /// # client_config.alpn_protocols = vec![b"h2".to_vec()];
    /// # let acceptor = TlsAcceptor::new(Arc::new(server_config));
    /// # let connector = TlsConnector::new(Arc::new(client_config));
    /// # tulipa::run(async move {
    /// # let listener = tulipa::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let addr = listener.local_addr()?;
    /// # let accepting = tulipa::spawn(async move {
    /// #     let (socket, _) = listener.accept().await.unwrap();
    /// #     acceptor.accept(socket).await
    /// # });
    /// # let socket = tulipa::net::TcpStream::connect(addr).await?;
    /// let client = connector.connect("localhost", socket).await?;
    /// let server = accepting.await.unwrap()?;
    /// let (_reader, writer) = client.into_split();
    /// assert_eq!(writer.peer_certificates().unwrap()[0], der);
    /// let (_r, plain) = tulipa::net::UnixStream::pair()?.0.into_split();
    /// assert!(plain.peer_certificates().is_none());
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # }).unwrap().unwrap();
    /// ```
    #[doc(alias = "getpeercert")]
    pub fn peer_certificates(&self) -> Option<Vec<CertificateDer<'static>>> {
        let tls = TlsConn::of(self.conn())?;
        tls.stream().peer_certificates().map(<[_]>::to_vec)
    }

    /// The protocol agreed through ALPN (asyncio's
    /// `ssl_object.selected_alpn_protocol()`); `None` on a plain connection
    /// or if none was agreed.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tulipa::tls::{self, rustls, TlsAcceptor, TlsConnector};
    /// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// # let der = cert.cert.der().clone();
    /// # let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    /// # let mut server_config = rustls::ServerConfig::builder()
    /// #     .with_no_client_auth()
    /// #     .with_single_cert(vec![der.clone()], key)
    /// #     .unwrap();
    /// # server_config.alpn_protocols = vec![b"h2".to_vec()];
    /// # let mut roots = rustls::RootCertStore::empty();
    /// # roots.add(der.clone()).unwrap();
    /// # let mut client_config = rustls::ClientConfig::builder()
    /// #     .with_root_certificates(roots)
    /// #     .with_no_client_auth();
    /// # client_config.alpn_protocols = vec![b"h2".to_vec()];
    /// # let acceptor = TlsAcceptor::new(Arc::new(server_config));
    /// # let connector = TlsConnector::new(Arc::new(client_config));
    /// # tulipa::run(async move {
    /// # let listener = tulipa::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let addr = listener.local_addr()?;
    /// # let accepting = tulipa::spawn(async move {
    /// #     let (socket, _) = listener.accept().await.unwrap();
    /// #     acceptor.accept(socket).await
    /// # });
    /// # let socket = tulipa::net::TcpStream::connect(addr).await?;
    /// let client = connector.connect("localhost", socket).await?;
    /// let server = accepting.await.unwrap()?;
    /// let (_reader, writer) = client.into_split();
    /// assert_eq!(writer.alpn_protocol(), Some(b"h2".to_vec()));
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # }).unwrap().unwrap();
    /// ```
    #[doc(alias = "selected_alpn_protocol")]
    pub fn alpn_protocol(&self) -> Option<Vec<u8>> {
        let tls = TlsConn::of(self.conn())?;
        tls.stream().alpn_protocol().map(<[u8]>::to_vec)
    }

    /// The TLS version in use; `None` on a plain connection.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tulipa::tls::{self, rustls, TlsAcceptor, TlsConnector};
    /// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// # let der = cert.cert.der().clone();
    /// # let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    /// # let mut server_config = rustls::ServerConfig::builder()
    /// #     .with_no_client_auth()
    /// #     .with_single_cert(vec![der.clone()], key)
    /// #     .unwrap();
    /// # server_config.alpn_protocols = vec![b"h2".to_vec()];
    /// # let mut roots = rustls::RootCertStore::empty();
    /// # roots.add(der.clone()).unwrap();
    /// # let mut client_config = rustls::ClientConfig::builder()
    /// #     .with_root_certificates(roots)
    /// #     .with_no_client_auth();
    /// # client_config.alpn_protocols = vec![b"h2".to_vec()];
    /// # let acceptor = TlsAcceptor::new(Arc::new(server_config));
    /// # let connector = TlsConnector::new(Arc::new(client_config));
    /// # tulipa::run(async move {
    /// # let listener = tulipa::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let addr = listener.local_addr()?;
    /// # let accepting = tulipa::spawn(async move {
    /// #     let (socket, _) = listener.accept().await.unwrap();
    /// #     acceptor.accept(socket).await
    /// # });
    /// # let socket = tulipa::net::TcpStream::connect(addr).await?;
    /// let client = connector.connect("localhost", socket).await?;
    /// let server = accepting.await.unwrap()?;
    /// let (_reader, writer) = server.into_split();
    /// assert_eq!(writer.tls_version(), Some(rustls::ProtocolVersion::TLSv1_3));
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn tls_version(&self) -> Option<ProtocolVersion> {
        TlsConn::of(self.conn())?.stream().protocol_version()
    }
}
