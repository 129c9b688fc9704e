//! [`TlsError`]: why a TLS connection could not be set up.

use std::error::Error;
use std::fmt;
use std::io;
use std::time::Duration;

use rustls::{AlertDescription, CertificateError};

/// Why a TLS handshake (or the connection under it) failed.
///
/// A handshake never hangs past its timeout and never panics: each failure
/// ends as one of these. It converts into an [`io::Error`] (the `TlsError`
/// stays inside, reachable with [`TlsError::of`]), and an `io::Error` that a
/// TLS stream returned converts back with `From`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulipa::tls::TlsError;
///
/// let e = TlsError::HandshakeTimeout(Duration::from_secs(60));
/// let io: std::io::Error = e.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
/// assert!(matches!(TlsError::of(&io), Some(TlsError::HandshakeTimeout(_))));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// The peer's certificate did not verify: unknown issuer, expired or
    /// not yet valid, revoked, bad signature, wrong purpose...
    BadCertificate(CertificateError),
    /// The peer's certificate is valid, but not for the name asked for
    /// (`server_hostname`).
    NameMismatch(CertificateError),
    /// The handshake did not finish within the handshake timeout (asyncio's
    /// `ssl_handshake_timeout`); the connection was closed.
    HandshakeTimeout(Duration),
    /// The peer closed (or reset) the connection before the handshake
    /// finished.
    ClosedDuringHandshake,
    /// The peer refused the handshake with this alert; for example
    /// `BadCertificate` or `CertificateRequired` when it rejects ours.
    AlertReceived(AlertDescription),
    /// Any other TLS protocol failure (no common protocol version or
    /// cipher suite, no common ALPN protocol, a corrupt record...).
    Protocol(rustls::Error),
    /// `server_hostname` is neither a DNS name nor an IP address.
    InvalidServerName(String),
    /// The socket failed, or the streams given to `start_tls` could not be
    /// upgraded.
    Io(io::Error),
}

impl TlsError {
    /// The `TlsError` inside an [`io::Error`] made from one, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::tls::TlsError;
    ///
    /// let io: std::io::Error = TlsError::ClosedDuringHandshake.into();
    /// assert!(matches!(TlsError::of(&io), Some(TlsError::ClosedDuringHandshake)));
    /// assert!(TlsError::of(&std::io::Error::other("plain")).is_none());
    /// ```
    pub fn of(e: &io::Error) -> Option<&TlsError> {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<TlsError>())
    }

    /// Classifies an error of a handshake: EOF and resets mean the peer
    /// closed mid-handshake.
    pub(crate) fn from_handshake(e: io::Error) -> TlsError {
        match e.kind() {
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
                if rustls_error(&e).is_none() =>
            {
                TlsError::ClosedDuringHandshake
            }
            _ => TlsError::from(e),
        }
    }
}

fn rustls_error(e: &io::Error) -> Option<&rustls::Error> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

impl From<rustls::Error> for TlsError {
    fn from(e: rustls::Error) -> TlsError {
        match e {
            rustls::Error::InvalidCertificate(
                c @ (CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. }),
            ) => TlsError::NameMismatch(c),
            rustls::Error::InvalidCertificate(c) => TlsError::BadCertificate(c),
            rustls::Error::AlertReceived(a) => TlsError::AlertReceived(a),
            other => TlsError::Protocol(other),
        }
    }
}

/// Recovers the TLS failure inside an error of a TLS stream: a wrapped
/// `TlsError` or `rustls::Error`; anything else is [`TlsError::Io`].
impl From<io::Error> for TlsError {
    fn from(e: io::Error) -> TlsError {
        if TlsError::of(&e).is_some() {
            let inner = e.into_inner().expect("checked above");
            return *inner.downcast::<TlsError>().expect("checked above");
        }
        if let Some(r) = rustls_error(&e) {
            return TlsError::from(r.clone());
        }
        TlsError::Io(e)
    }
}

impl From<TlsError> for io::Error {
    fn from(e: TlsError) -> io::Error {
        let kind = match &e {
            TlsError::Io(io) => return io::Error::new(io.kind(), e),
            TlsError::HandshakeTimeout(_) => io::ErrorKind::TimedOut,
            TlsError::ClosedDuringHandshake => io::ErrorKind::UnexpectedEof,
            TlsError::InvalidServerName(_) => io::ErrorKind::InvalidInput,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, e)
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::BadCertificate(c) => write!(f, "peer certificate rejected: {c:?}"),
            TlsError::NameMismatch(c) => {
                write!(f, "peer certificate is not valid for the name: {c:?}")
            }
            TlsError::HandshakeTimeout(d) => write!(f, "TLS handshake timed out after {d:?}"),
            TlsError::ClosedDuringHandshake => {
                f.write_str("peer closed the connection during the TLS handshake")
            }
            TlsError::AlertReceived(a) => write!(f, "peer refused the TLS handshake: {a:?}"),
            TlsError::Protocol(e) => write!(f, "TLS error: {e}"),
            TlsError::InvalidServerName(n) => write!(f, "invalid TLS server name {n:?}"),
            TlsError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl Error for TlsError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            TlsError::Protocol(e) => Some(e),
            TlsError::Io(e) => Some(e),
            _ => None,
        }
    }
}
