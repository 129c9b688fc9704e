//! [`StreamReader`]: the buffered read half of a connection (asyncio's
//! `StreamReader`).

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::conn::Conn;
use super::{ReadError, StreamWriter};

/// The default buffer limit of a [`StreamReader`], as asyncio's `2**16`.
///
/// ```
/// assert_eq!(tulipa::net::DEFAULT_LIMIT, 1 << 16);
/// ```
pub const DEFAULT_LIMIT: usize = 64 * 1024;

/// Smallest free space offered to one socket read.
const MIN_READ: usize = 16 * 1024;

/// The read half of a connection, with a buffer (asyncio's `StreamReader`).
///
/// It reads from the socket only when asked, so a reader that falls behind
/// leaves the data in the kernel, whose full buffer then stops the peer.
/// The buffer holds what the calls ask for: `readline` and `readuntil` look
/// at most about twice the [limit](StreamReader::limit) ahead (plus one
/// read of 16 KiB), `readexactly(n)` gathers `n` bytes and `read_to_end`
/// the whole stream.
///
/// The reader is bound to its loop's thread (`!Send`):
///
/// ```compile_fail,E0277
/// fn must_be_send<T: Send>(_: T) {}
/// tulipa::run(async {
///     let (a, _b) = tulipa::net::UnixStream::pair().unwrap();
///     let (reader, _writer) = a.into_split();
///     must_be_send(reader);
/// });
/// ```
///
/// # Examples
///
/// ```
/// use tulipa::net::UnixStream;
///
/// tulipa::run(async {
///     let (a, b) = UnixStream::pair().unwrap();
///     let (_r, mut w) = a.into_split();
///     let (mut r, _w) = b.into_split();
///     w.write(b"one\ntwo\n");
///     assert_eq!(r.readline().await.unwrap(), b"one\n");
///     assert_eq!(r.readexactly(3).await.unwrap(), b"two");
/// })
/// .unwrap();
/// ```
pub struct StreamReader {
    conn: Rc<Conn>,
    buf: Buffer,
    limit: usize,
    eof: bool,
}

/// Makes the reader and writer of one connection.
pub(crate) fn split(conn: Conn) -> (StreamReader, StreamWriter) {
    let conn = Rc::new(conn);
    (reader(conn.clone()), StreamWriter::new(conn))
}

/// A reader alone (a pipe's read end).
pub(crate) fn reader(conn: Rc<Conn>) -> StreamReader {
    StreamReader {
        conn,
        buf: Buffer::default(),
        limit: DEFAULT_LIMIT,
        eof: false,
    }
}

impl StreamReader {
    /// Reads up to `n` bytes: what is buffered, or else what one socket read
    /// brings. An empty result means the end of the stream (or `n == 0`).
    ///
    /// # Errors
    ///
    /// The socket's error.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: bytes read from the socket stay in the buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulipa::run(async {
    /// # let (a, b) = tulipa::net::UnixStream::pair()?;
    /// # let (mut reader, _w) = b.into_split();
    /// a.write_all(b"hello").await?;
    /// drop(a);
    /// assert_eq!(reader.read(3).await?, b"hel");
    /// assert_eq!(reader.read(100).await?, b"lo"); // what is buffered
    /// assert_eq!(reader.read(100).await?, b""); // the end of the stream
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub async fn read(&mut self, n: usize) -> io::Result<Vec<u8>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        if self.buf.is_empty() && !self.eof {
            self.fill().await?;
        }
        let take = n.min(self.buf.len());
        Ok(self.buf.take(take))
    }

    /// Reads until the end of the stream (asyncio's `read(-1)`).
    ///
    /// # Errors
    ///
    /// The socket's error.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: what was read stays in the buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulipa::run(async {
    /// # let (a, b) = tulipa::net::UnixStream::pair()?;
    /// # let (mut reader, _w) = b.into_split();
    /// a.write_all(b"all ").await?;
    /// a.write_all(b"of it").await?;
    /// drop(a);
    /// assert_eq!(reader.read_to_end().await?, b"all of it");
    /// assert!(reader.at_eof());
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    #[doc(alias = "read(-1)")]
    pub async fn read_to_end(&mut self) -> io::Result<Vec<u8>> {
        while !self.eof {
            self.fill().await?;
        }
        Ok(self.buf.take(self.buf.len()))
    }

    /// Reads exactly `n` bytes.
    ///
    /// # Errors
    ///
    /// [`ReadError::IncompleteRead`] with the bytes read so far if the stream
    /// ends first; [`ReadError::Io`] if the socket fails.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the bytes read so far stay in the buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::ReadError;
    /// # tulipa::run(async {
    /// # let (a, b) = tulipa::net::UnixStream::pair()?;
    /// # let (mut reader, _w) = b.into_split();
    /// a.write_all(b"12345").await?;
    /// drop(a);
    /// assert_eq!(reader.readexactly(2).await?, b"12");
    /// match reader.readexactly(4).await {
    ///     Err(ReadError::IncompleteRead { partial, expected }) => {
    ///         assert_eq!((partial, expected), (b"345".to_vec(), Some(4)));
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub async fn readexactly(&mut self, n: usize) -> Result<Vec<u8>, ReadError> {
        loop {
            if self.buf.len() >= n {
                return Ok(self.buf.take(n));
            }
            if self.eof {
                let partial = self.buf.take(self.buf.len());
                let expected = Some(n);
                return Err(ReadError::IncompleteRead { partial, expected });
            }
            self.fill().await?;
        }
    }

    /// Reads up to and including `separator`.
    ///
    /// # Errors
    ///
    /// - [`ReadError::LimitOverrun`] if the separator is not within the
    ///   first [`limit`](StreamReader::limit) bytes; the data stays buffered;
    /// - [`ReadError::IncompleteRead`] (`expected: None`) with everything
    ///   buffered if the stream ends first;
    /// - [`ReadError::Io`] if the socket fails, or for an empty separator.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the bytes read so far stay in the buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::ReadError;
    /// # tulipa::run(async {
    /// # let (a, b) = tulipa::net::UnixStream::pair()?;
    /// # let (mut reader, _w) = b.into_split();
    /// a.write_all(b"key=value;0123456789;").await?;
    /// assert_eq!(reader.readuntil(b"=").await?, b"key=");
    /// assert_eq!(reader.readuntil(b";").await?, b"value;");
    /// reader.set_limit(4);
    /// let err = reader.readuntil(b";").await.unwrap_err();
    /// assert!(matches!(err, ReadError::LimitOverrun { consumed: 10 }));
    /// assert_eq!(reader.buffered(), 11); // the data stays buffered
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub async fn readuntil(&mut self, separator: &[u8]) -> Result<Vec<u8>, ReadError> {
        if separator.is_empty() {
            let e = io::Error::new(io::ErrorKind::InvalidInput, "empty separator");
            return Err(ReadError::Io(e));
        }
        // Where the search resumes: the part before it was searched already.
        let mut offset = 0;
        loop {
            let data = self.buf.data();
            if let Some(found) = find(&data[offset..], separator) {
                let at = offset + found;
                if at > self.limit {
                    return Err(ReadError::LimitOverrun { consumed: at });
                }
                return Ok(self.buf.take(at + separator.len()));
            }
            offset = (data.len() + 1).saturating_sub(separator.len());
            if offset > self.limit {
                // asyncio's buffer holds whatever has arrived (up to twice
                // the limit); look at it before giving up.
                if self.buf.len() < 2 * self.limit.max(MIN_READ) && self.try_fill().await? {
                    continue;
                }
                return Err(ReadError::LimitOverrun { consumed: offset });
            }
            if self.eof {
                let partial = self.buf.take(self.buf.len());
                return Err(ReadError::IncompleteRead {
                    partial,
                    expected: None,
                });
            }
            self.fill().await?;
        }
    }

    /// Reads one line, `\n` included. At the end of the stream it returns
    /// what is left, maybe an empty vector.
    ///
    /// # Errors
    ///
    /// [`ReadError::LimitOverrun`] if the line is longer than the limit: as in
    /// asyncio, the line (if complete) or the whole buffer is discarded.
    /// [`ReadError::Io`] if the socket fails.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the bytes read so far stay in the buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulipa::run(async {
    /// # let (a, b) = tulipa::net::UnixStream::pair()?;
    /// # let (mut reader, _w) = b.into_split();
    /// a.write_all(b"first\nlast").await?;
    /// drop(a);
    /// assert_eq!(reader.readline().await?, b"first\n");
    /// assert_eq!(reader.readline().await?, b"last"); // no newline at the end
    /// assert_eq!(reader.readline().await?, b""); // the end of the stream
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub async fn readline(&mut self) -> Result<Vec<u8>, ReadError> {
        match self.readuntil(b"\n").await {
            Ok(line) => Ok(line),
            Err(ReadError::IncompleteRead { partial, .. }) => Ok(partial),
            Err(ReadError::LimitOverrun { consumed }) => {
                if self.buf.data().get(consumed) == Some(&b'\n') {
                    self.buf.take(consumed + 1);
                } else {
                    self.buf.take(self.buf.len());
                }
                Err(ReadError::LimitOverrun { consumed })
            }
            Err(e) => Err(e),
        }
    }

    /// Whether the stream ended and the buffer is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulipa::run(async {
    /// # let (a, b) = tulipa::net::UnixStream::pair()?;
    /// # let (mut reader, _w) = b.into_split();
    /// a.write_all(b"x").await?;
    /// drop(a);
    /// assert!(!reader.at_eof());
    /// assert_eq!(reader.read_to_end().await?, b"x");
    /// assert!(reader.at_eof());
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn at_eof(&self) -> bool {
        self.eof && self.buf.is_empty()
    }

    /// The buffer limit for [`readuntil`](StreamReader::readuntil) and
    /// [`readline`](StreamReader::readline).
    ///
    /// # Examples
    ///
    /// ```
    /// # tulipa::run(async {
    /// # let (a, _b) = tulipa::net::UnixStream::pair()?;
    /// let (reader, _writer) = a.into_split();
    /// assert_eq!(reader.limit(), tulipa::net::DEFAULT_LIMIT);
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Sets the buffer limit (asyncio's `limit=` argument).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::ReadError;
    /// # tulipa::run(async {
    /// # let (a, b) = tulipa::net::UnixStream::pair()?;
    /// # let (mut reader, _w) = b.into_split();
    /// reader.set_limit(3);
    /// assert_eq!(reader.limit(), 3);
    /// a.write_all(b"too long\nok\n").await?;
    /// // readline drops a line past the limit, then goes on.
    /// assert!(matches!(reader.readline().await, Err(ReadError::LimitOverrun { .. })));
    /// assert_eq!(reader.readline().await?, b"ok\n");
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    /// Bytes read from the socket and not yet returned.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulipa::run(async {
    /// # let (a, b) = tulipa::net::UnixStream::pair()?;
    /// # let (mut reader, _w) = b.into_split();
    /// assert_eq!(reader.buffered(), 0);
    /// a.write_all(b"ab\ncd").await?;
    /// drop(a);
    /// assert_eq!(reader.readline().await?, b"ab\n");
    /// assert_eq!(reader.buffered(), 2); // "cd" came with the same read
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # }).unwrap().unwrap();
    /// ```
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The connection under the reader.
    #[cfg(feature = "tls")]
    pub(crate) fn conn(&self) -> &Rc<Conn> {
        &self.conn
    }

    /// Takes the connection out of the reader, with the bytes read from it
    /// and not yet returned (for `start_tls`).
    #[cfg(feature = "tls")]
    pub(crate) fn detach(self) -> (Rc<Conn>, Vec<u8>) {
        let mut buf = self.buf;
        let unread = buf.take(buf.len());
        (self.conn, unread)
    }

    /// One socket read into the buffer; the end of the stream sets `eof`.
    async fn fill(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_fill(cx)).await
    }

    /// A socket read if data is there right now; `true` if it brought bytes.
    async fn try_fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        let before = self.buf.len();
        poll_fn(|cx| match self.poll_fill(cx) {
            Poll::Pending => Poll::Ready(Ok(())),
            ready => ready,
        })
        .await?;
        Ok(self.buf.len() > before)
    }

    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let spare = self.buf.spare(MIN_READ);
        let n = std::task::ready!(self.conn.poll_read(cx, spare))?;
        if n == 0 {
            self.eof = true;
        }
        self.buf.commit(n);
        Poll::Ready(Ok(()))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() == 1 {
        return haystack.iter().position(|&b| b == needle[0]);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl fmt::Debug for StreamReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamReader")
            .field("buffered", &self.buf.len())
            .field("limit", &self.limit)
            .field("eof", &self.eof)
            .finish()
    }
}

/// Bytes `data[start..end]`; the vector stays zero-initialised up to its
/// length, so reads go straight into it without clearing memory again.
#[derive(Default)]
struct Buffer {
    data: Vec<u8>,
    start: usize,
    end: usize,
}

impl Buffer {
    fn len(&self) -> usize {
        self.end - self.start
    }

    fn is_empty(&self) -> bool {
        self.start == self.end
    }

    fn data(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        if self.start == 0 && n == self.end && n > MIN_READ {
            // Everything, from the front: hand the vector over, no copy.
            self.data.truncate(n);
            self.end = 0;
            return std::mem::take(&mut self.data);
        }
        let out = self.data[self.start..self.start + n].to_vec();
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        out
    }

    /// At least `min` writable bytes after the data: compacts, then grows.
    fn spare(&mut self, min: usize) -> &mut [u8] {
        if self.data.len() - self.end < min && self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.data.len() - self.end < min {
            // Use the capacity the vector already has: reads grow with it.
            let len = (self.end + min).max(self.data.capacity());
            self.data.resize(len, 0);
        }
        &mut self.data[self.end..]
    }

    fn commit(&mut self, n: usize) {
        self.end += n;
    }
}
