//! [`TlsStream`], the transport under it, and the connection that lets the
//! buffered [`StreamReader`] / [`StreamWriter`] run over it.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_io::{AsyncRead, AsyncWrite};
use rustls::pki_types::CertificateDer;
use rustls::{CommonState, ProtocolVersion};

use crate::net::{split, Conn, CustomConn, StreamReader, StreamWriter};
use crate::runtime::context;

/// Most bytes one vectored write joins.
const GATHER: usize = 64 * 1024;

thread_local! {
    /// Where a vectored write's buffers are joined (one write at a time on
    /// a loop thread).
    static GATHERED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The connection a TLS session runs over: a socket (shared with the
/// streams it was upgraded from, for `start_tls`), and the bytes read from
/// it before the upgrade, which belong to the TLS layer.
pub(crate) struct Transport {
    conn: Rc<Conn>,
    unread: Vec<u8>,
    pos: usize,
}

impl Transport {
    pub(crate) fn new(conn: Rc<Conn>, unread: Vec<u8>) -> Transport {
        Transport {
            conn,
            unread,
            pos: 0,
        }
    }

    /// Sends `data` as plain bytes (what a writer held before `start_tls`).
    pub(crate) async fn send_plain(&self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            match poll_fn(|cx| self.conn.poll_write(cx, data)).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => data = &data[n..],
            }
        }
        Ok(())
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        match &*self.conn {
            Conn::Tcp(s) => s.peer_addr(),
            #[cfg(unix)]
            Conn::Unix(_) => Err(io::ErrorKind::Unsupported.into()),
            #[cfg(all(unix, feature = "process"))]
            Conn::Pipe(_) => Err(io::ErrorKind::Unsupported.into()),
            Conn::Custom(c) => c.peer_addr(),
        }
    }
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pos < this.unread.len() {
            let n = buf.len().min(this.unread.len() - this.pos);
            buf[..n].copy_from_slice(&this.unread[this.pos..this.pos + n]);
            this.pos += n;
            if this.pos == this.unread.len() {
                this.unread = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(n));
        }
        this.conn.poll_read(cx, buf)
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.conn.poll_write(cx, buf)
    }

    /// One write of the buffers joined (up to [`GATHER`] bytes). rustls
    /// hands its queued records over in one vectored write — a handshake
    /// flight, its last alert before it gives up — so writing only the
    /// first buffer, as the default does, would lose the alert, and one
    /// syscall per record would meet Nagle's delay on the next flight.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut parts = bufs.iter().filter(|b| !b.is_empty());
        let Some(first) = parts.next() else {
            return Poll::Ready(Ok(0));
        };
        if parts.next().is_none() {
            return self.conn.poll_write(cx, first);
        }
        GATHERED.with_borrow_mut(|joined| {
            joined.clear();
            for buf in bufs {
                let room = GATHER - joined.len();
                if room == 0 {
                    break;
                }
                joined.extend_from_slice(&buf[..buf.len().min(room)]);
            }
            self.conn.poll_write(cx, joined)
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.conn.shutdown(Shutdown::Write))
    }
}

/// A TLS connection on the loop (rustls through `futures-rustls`): the
/// handshake is done; reads and writes carry application data.
///
/// It implements `futures_io::AsyncRead` / `AsyncWrite` (and, with the
/// `hyper` feature, hyper's I/O traits through
/// `tulipa::hyper_rt::HyperIo`); [`into_split`](TlsStream::into_split)
/// gives asyncio's buffered [`StreamReader`] / [`StreamWriter`] over it.
/// Closing it (`AsyncWriteExt::close`) sends TLS's `close_notify`, then
/// shuts the socket's write side.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use futures::{AsyncReadExt, AsyncWriteExt};
/// use tulipa::net::{TcpListener, TcpStream};
/// use tulipa::tls::{rustls, TlsAcceptor, TlsConnector};
///
/// let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
/// let der = cert.cert.der().clone();
/// let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
/// let mut server = rustls::ServerConfig::builder()
///     .with_no_client_auth()
///     .with_single_cert(vec![der.clone()], key)
///     .unwrap();
/// server.alpn_protocols = vec![b"echo/1".to_vec()];
/// let mut roots = rustls::RootCertStore::empty();
/// roots.add(der.clone()).unwrap();
/// let mut client = rustls::ClientConfig::builder()
///     .with_root_certificates(roots)
///     .with_no_client_auth();
/// client.alpn_protocols = vec![b"echo/1".to_vec()];
///
/// tulipa::run(async move {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let acceptor = TlsAcceptor::new(Arc::new(server));
///     let server = tulipa::spawn(async move {
///         let (socket, _) = listener.accept().await.unwrap();
///         let mut tls = acceptor.accept(socket).await.unwrap();
///         assert_eq!(tls.server_name(), Some("localhost"));
///         let mut buf = [0; 4];
///         tls.read_exact(&mut buf).await.unwrap();
///         tls.write_all(&buf).await.unwrap();
///         tls.close().await.unwrap();
///     });
///     let connector = TlsConnector::new(Arc::new(client));
///     let mut tls = connector.connect("localhost", TcpStream::connect(addr).await?).await?;
///     assert_eq!(tls.alpn_protocol(), Some(&b"echo/1"[..]));
///     assert_eq!(tls.peer_certificates().unwrap()[0], der);
///     assert_eq!(tls.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_3));
///     tls.write_all(b"ping").await?;
///     let mut back = Vec::new();
///     tls.read_to_end(&mut back).await?; // ends with the server's close_notify
///     assert_eq!(back, b"ping");
///     server.await.unwrap();
///     Ok::<_, Box<dyn std::error::Error>>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub struct TlsStream {
    inner: futures_rustls::TlsStream<Transport>,
}

impl TlsStream {
    pub(crate) fn new(inner: futures_rustls::TlsStream<Transport>) -> TlsStream {
        TlsStream { inner }
    }

    fn state(&self) -> &CommonState {
        self.inner.get_ref().1
    }

    /// The certificate chain the peer presented, its own certificate first;
    /// `None` if it sent none (a client without a certificate).
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
    /// assert_eq!(client.peer_certificates().unwrap(), &[der]);
    /// assert!(server.peer_certificates().is_none()); // the client sent none
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # }).unwrap().unwrap();
    /// ```
    #[doc(alias = "getpeercert")]
    pub fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        self.state().peer_certificates()
    }

    /// The application protocol agreed through ALPN (asyncio's
    /// `selected_alpn_protocol`), if any.
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
    /// assert_eq!(client.alpn_protocol(), Some(&b"h2"[..]));
    /// assert_eq!(server.alpn_protocol(), Some(&b"h2"[..]));
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # }).unwrap().unwrap();
    /// ```
    #[doc(alias = "selected_alpn_protocol")]
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.state().alpn_protocol()
    }

    /// The TLS version in use (asyncio's `ssl_object.version()`).
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
    /// assert_eq!(client.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_3));
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.state().protocol_version()
    }

    /// The name the client asked for (SNI), on the server side.
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
    /// assert_eq!(client.server_name(), None); // the client side
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn server_name(&self) -> Option<&str> {
        match &self.inner {
            futures_rustls::TlsStream::Server(s) => s.get_ref().1.server_name(),
            futures_rustls::TlsStream::Client(_) => None,
        }
    }

    /// The peer's address (TCP connections).
    ///
    /// # Errors
    ///
    /// The OS error; `Unsupported` over a Unix-domain socket.
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
    /// assert_eq!(client.peer_addr()?, addr);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().0.peer_addr()
    }

    /// asyncio's buffered streams over this TLS connection. The writer's
    /// [`close`](StreamWriter::close) sends `close_notify` before closing
    /// the socket; the TLS details stay readable on the writer
    /// ([`StreamWriter::peer_certificates`] and friends).
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
    /// let (mut reader, writer) = client.into_split();
    /// let (mut server_reader, server_writer) = server.into_split();
    /// writer.write(b"hello\n");
    /// assert_eq!(server_reader.readline().await?, b"hello\n");
    /// server_writer.close(); // sends close_notify
    /// assert_eq!(reader.read_to_end().await?, b"");
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn into_split(self) -> (StreamReader, StreamWriter) {
        let conn = TlsConn {
            shared: Rc::new(TlsShared {
                stream: RefCell::new(self),
                driving: Cell::new(false),
                shutdown: Cell::new(None),
            }),
        };
        split(Conn::Custom(Box::new(conn)))
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = match &self.inner {
            futures_rustls::TlsStream::Client(_) => "client",
            futures_rustls::TlsStream::Server(_) => "server",
        };
        f.debug_struct("TlsStream")
            .field("side", &side)
            .field("version", &self.protocol_version())
            .field("alpn", &self.alpn_protocol().map(String::from_utf8_lossy))
            .finish()
    }
}

/// The TLS stream under a [`StreamReader`] / [`StreamWriter`] pair.
///
/// rustls takes plain bytes as soon as it can encrypt them, and may keep
/// records the socket did not take yet; a small driver task flushes those
/// (and sends `close_notify` on shutdown), so the writer's flush and close
/// mean what they mean on a socket.
pub(crate) struct TlsConn {
    shared: Rc<TlsShared>,
}

struct TlsShared {
    stream: RefCell<TlsStream>,
    /// A driver task is running.
    driving: Cell<bool>,
    /// A shutdown asked for, carried out once the records are flushed.
    shutdown: Cell<Option<Shutdown>>,
}

impl TlsConn {
    pub(crate) fn stream(&self) -> std::cell::Ref<'_, TlsStream> {
        self.shared.stream.borrow()
    }

    pub(crate) fn of(conn: &Conn) -> Option<&TlsConn> {
        match conn {
            Conn::Custom(c) => c.as_any().downcast_ref::<TlsConn>(),
            _ => None,
        }
    }
}

impl TlsShared {
    fn has_work(&self) -> bool {
        self.shutdown.get().is_some() || self.stream.borrow().state().wants_write()
    }

    /// Flushes the records rustls holds, then carries out a shutdown.
    fn poll_drive(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut stream = self.stream.borrow_mut();
        let flushed = std::task::ready!(Pin::new(&mut *stream).poll_flush(cx));
        if let (Ok(()), Some(how)) = (flushed, self.shutdown.get()) {
            // `close_notify`, flushed, then the socket's write side.
            let closed = std::task::ready!(Pin::new(&mut *stream).poll_close(cx));
            if closed.is_ok() && how == Shutdown::Both {
                let _ = stream.inner.get_ref().0.conn.shutdown(Shutdown::Both);
            }
        }
        self.driving.set(false);
        Poll::Ready(())
    }

    /// Drives pending records out now if the socket takes them, or else in
    /// a task of their own.
    fn drive(self: &Rc<Self>) {
        if self.driving.get() || !self.has_work() {
            return;
        }
        self.driving.set(true);
        let mut cx = Context::from_waker(Waker::noop());
        if self.poll_drive(&mut cx).is_ready() {
            return;
        }
        match context::current() {
            Some(core) => {
                let shared = self.clone();
                let driver = poll_fn(move |cx| shared.poll_drive(cx));
                let location = std::panic::Location::caller();
                drop(crate::task::spawn_on(&core, driver, None, location));
            }
            // No loop to flush on: the socket closes when dropped.
            None => self.driving.set(false),
        }
    }
}

impl CustomConn for TlsConn {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut stream = self.shared.stream.borrow_mut();
        Pin::new(&mut *stream).poll_read(cx, buf)
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let written = {
            let mut stream = self.shared.stream.borrow_mut();
            std::task::ready!(Pin::new(&mut *stream).poll_write(cx, buf))
        };
        self.shared.drive();
        Poll::Ready(written)
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        let mut cx = Context::from_waker(Waker::noop());
        match self.poll_write(&mut cx, buf) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if how == Shutdown::Read {
            return self
                .shared
                .stream
                .borrow()
                .inner
                .get_ref()
                .0
                .conn
                .shutdown(how);
        }
        let how = match self.shared.shutdown.get() {
            Some(Shutdown::Both) => Shutdown::Both,
            _ => how,
        };
        self.shared.shutdown.set(Some(how));
        self.shared.drive();
        Ok(())
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.shared.stream.borrow().peer_addr()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl fmt::Debug for TlsConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.shared.stream.try_borrow() {
            Ok(stream) => stream.fmt(f),
            Err(_) => f.write_str("TlsStream { .. }"),
        }
    }
}
