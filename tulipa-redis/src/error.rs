//! The typed errors of the client and the queues.

use std::fmt;
use std::io;

/// Everything that can go wrong talking to Redis.
///
/// A reply the server marked as an error is [`RedisError::Server`] and keeps
/// the server's own text (`"NOGROUP No such key ..."`); the connection is still
/// fine after one. The other variants mean the connection was lost or could not
/// be trusted any more; the [`Client`](crate::Client) reconnects on the next
/// command.
///
/// # Examples
///
/// ```
/// use tulipa_redis::RedisError;
///
/// let err = RedisError::Server("WRONGTYPE Operation against a key".into());
/// assert_eq!(err.code(), Some("WRONGTYPE"));
/// assert!(!err.is_connection_error());
/// assert_eq!(err.to_string(), "redis: WRONGTYPE Operation against a key");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedisError {
    /// The server replied with an error; the text is the server's.
    Server(String),
    /// The socket failed or the server closed the connection. Commands in
    /// flight at that moment may or may not have run on the server.
    Connection {
        /// The kind of the underlying I/O error.
        kind: io::ErrorKind,
        /// What happened.
        message: String,
    },
    /// The peer sent bytes that are not RESP; the connection was dropped.
    Protocol(String),
    /// No reply within the client's command timeout (or the connect timeout).
    Timeout,
    /// The reply was valid RESP but not the shape the caller expected.
    UnexpectedReply(String),
    /// The URL given to [`Client::connect`](crate::Client::connect) is not valid.
    InvalidUrl(String),
}

impl RedisError {
    /// The first word of a server error (`"NOSCRIPT"`, `"BUSYGROUP"`), if this is one.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa_redis::RedisError;
    /// assert_eq!(RedisError::Timeout.code(), None);
    /// ```
    pub fn code(&self) -> Option<&str> {
        match self {
            RedisError::Server(msg) => msg.split_whitespace().next(),
            _ => None,
        }
    }

    /// True when the connection was lost, broken by garbage or timed out: the
    /// cases where retrying on a fresh connection may succeed.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa_redis::RedisError;
    /// assert!(RedisError::Timeout.is_connection_error());
    /// assert!(!RedisError::Server("ERR x".into()).is_connection_error());
    /// ```
    pub fn is_connection_error(&self) -> bool {
        matches!(
            self,
            RedisError::Connection { .. } | RedisError::Protocol(_) | RedisError::Timeout
        )
    }

    /// True for connection errors and for server replies that mean "not
    /// now" (`LOADING` while a restarted server reads its data, `TRYAGAIN`,
    /// `MASTERDOWN`): the cases worth retrying.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa_redis::RedisError;
    /// assert!(RedisError::Server("LOADING Redis is loading".into()).is_retryable());
    /// assert!(!RedisError::Server("WRONGTYPE x".into()).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        self.is_connection_error()
            || matches!(
                self.code(),
                Some("LOADING" | "TRYAGAIN" | "MASTERDOWN" | "BUSY")
            )
    }

    pub(crate) fn io(err: &io::Error) -> RedisError {
        RedisError::Connection {
            kind: err.kind(),
            message: err.to_string(),
        }
    }

    pub(crate) fn closed() -> RedisError {
        RedisError::Connection {
            kind: io::ErrorKind::UnexpectedEof,
            message: "the server closed the connection".into(),
        }
    }

    pub(crate) fn unexpected(what: impl fmt::Debug) -> RedisError {
        RedisError::UnexpectedReply(format!("{what:?}"))
    }
}

impl fmt::Display for RedisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedisError::Server(msg) => write!(f, "redis: {msg}"),
            RedisError::Connection { message, .. } => write!(f, "redis connection: {message}"),
            RedisError::Protocol(msg) => write!(f, "redis protocol error: {msg}"),
            RedisError::Timeout => f.write_str("redis: timed out"),
            RedisError::UnexpectedReply(what) => write!(f, "redis: unexpected reply {what}"),
            RedisError::InvalidUrl(msg) => write!(f, "redis: invalid url: {msg}"),
        }
    }
}

impl std::error::Error for RedisError {}
