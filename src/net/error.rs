//! [`ReadError`]: why a [`StreamReader`](super::StreamReader) read failed.

use std::fmt;
use std::io;

/// Why [`readexactly`](super::StreamReader::readexactly),
/// [`readuntil`](super::StreamReader::readuntil) or
/// [`readline`](super::StreamReader::readline) failed.
///
/// Converts into `io::Error` for `?` in functions returning `io::Result`
/// (`UnexpectedEof`, `InvalidData`).
///
/// # Examples
///
/// ```
/// use tulipa::net::{ReadError, UnixStream};
///
/// tulipa::run(async {
///     let (a, b) = UnixStream::pair().unwrap();
///     a.write_all(b"abc").await.unwrap();
///     drop(a);
///     let (mut reader, _writer) = b.into_split();
///     match reader.readexactly(5).await {
///         Err(ReadError::IncompleteRead { partial, expected }) => {
///             assert_eq!((partial, expected), (b"abc".to_vec(), Some(5)));
///         }
///         other => panic!("{other:?}"),
///     }
/// })
/// .unwrap();
/// ```
#[non_exhaustive]
pub enum ReadError {
    /// The stream ended before the read was complete (asyncio's
    /// `IncompleteReadError`). `partial` holds every byte that was read; they
    /// are no longer in the reader's buffer.
    #[doc(alias = "IncompleteReadError")]
    IncompleteRead {
        /// The bytes read before the end of the stream.
        partial: Vec<u8>,
        /// How many bytes were asked for (`None` for `readuntil`).
        expected: Option<usize>,
    },
    /// The separator was not found within the reader's limit (asyncio's
    /// `LimitOverrunError`). For `readuntil` the data stays in the buffer;
    /// `consumed` is how many bytes must be consumed to move past it.
    #[doc(alias = "LimitOverrunError")]
    LimitOverrun {
        /// Bytes to consume before the separator could be found.
        consumed: usize,
    },
    /// The socket failed.
    Io(io::Error),
}

impl ReadError {
    /// Whether the stream ended early.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::ReadError;
    /// let e = ReadError::IncompleteRead { partial: b"ab".to_vec(), expected: Some(4) };
    /// assert!(e.is_incomplete() && !e.is_limit_overrun());
    /// assert_eq!(e.to_string(), "stream ended after 2 of 4 bytes");
    /// ```
    pub fn is_incomplete(&self) -> bool {
        matches!(self, ReadError::IncompleteRead { .. })
    }

    /// Whether the limit was overrun.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::ReadError;
    /// let e = ReadError::LimitOverrun { consumed: 10 };
    /// assert!(e.is_limit_overrun() && !e.is_incomplete());
    /// let io: std::io::Error = e.into();
    /// assert_eq!(io.kind(), std::io::ErrorKind::InvalidData);
    /// ```
    pub fn is_limit_overrun(&self) -> bool {
        matches!(self, ReadError::LimitOverrun { .. })
    }

    /// The bytes read before the end of the stream, for `IncompleteRead`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::ReadError;
    /// let e = ReadError::IncompleteRead { partial: b"ab".to_vec(), expected: None };
    /// assert_eq!(e.into_partial(), Some(b"ab".to_vec()));
    /// assert_eq!(ReadError::LimitOverrun { consumed: 1 }.into_partial(), None);
    /// ```
    pub fn into_partial(self) -> Option<Vec<u8>> {
        match self {
            ReadError::IncompleteRead { partial, .. } => Some(partial),
            _ => None,
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::IncompleteRead {
                partial,
                expected: Some(n),
            } => write!(f, "stream ended after {} of {n} bytes", partial.len()),
            ReadError::IncompleteRead { partial, .. } => write!(
                f,
                "stream ended after {} bytes without the separator",
                partial.len()
            ),
            ReadError::LimitOverrun { consumed } => {
                write!(f, "separator not found within the limit ({consumed} bytes)")
            }
            ReadError::Io(e) => write!(f, "stream read failed: {e}"),
        }
    }
}

impl fmt::Debug for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::IncompleteRead { partial, expected } => f
                .debug_struct("IncompleteRead")
                .field("partial_len", &partial.len())
                .field("expected", expected)
                .finish(),
            ReadError::LimitOverrun { consumed } => f
                .debug_struct("LimitOverrun")
                .field("consumed", consumed)
                .finish(),
            ReadError::Io(e) => f.debug_tuple("Io").field(e).finish(),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> ReadError {
        ReadError::Io(e)
    }
}

impl From<ReadError> for io::Error {
    fn from(e: ReadError) -> io::Error {
        match e {
            ReadError::Io(e) => e,
            ReadError::IncompleteRead { .. } => io::Error::new(io::ErrorKind::UnexpectedEof, e),
            ReadError::LimitOverrun { .. } => io::Error::new(io::ErrorKind::InvalidData, e),
        }
    }
}
