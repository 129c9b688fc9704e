//! [`open_connection`] and [`ConnectOptions`]: how a TCP connection is
//! opened, with RFC 8305 "happy eyeballs" over the resolved addresses
//! (asyncio's `open_connection(..., happy_eyeballs_delay=, interleave=)`,
//! `base_events.py` and `staggered.py`).

use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use super::addr::{resolve, ToSocketAddrs};
#[cfg(unix)]
use super::UnixStream;
use super::{StreamReader, StreamWriter, TcpStream};
use crate::time::Sleep;
#[cfg(unix)]
use std::path::Path;

/// How [`TcpStream::connect`] and [`open_connection`](super::open_connection)
/// try the addresses a host resolves to (asyncio's `happy_eyeballs_delay`
/// and `interleave`).
///
/// By default, as in asyncio, the addresses are tried one after the other,
/// each to its end. With a [happy eyeballs
/// delay](ConnectOptions::happy_eyeballs_delay) (RFC 8305 suggests 250 ms)
/// the next address is tried when the current attempt has not connected
/// within the delay, or at once when it fails, while the earlier attempts
/// go on; the first to connect wins and the others are dropped (their
/// sockets closed). [Interleaving](ConnectOptions::interleave) reorders the
/// addresses so that IPv6 and IPv4 alternate.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulipa::net::{ConnectOptions, TcpListener};
///
/// tulipa::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let options = ConnectOptions::new().happy_eyeballs_delay(Duration::from_millis(250));
///     let stream = options.connect(("localhost", addr.port())).await?;
///     assert_eq!(stream.peer_addr()?, addr);
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConnectOptions {
    delay: Option<Duration>,
    interleave: Option<usize>,
}

impl ConnectOptions {
    /// Sequential attempts, no interleaving (asyncio's defaults).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tulipa::net::ConnectOptions::new(), Default::default());
    /// ```
    pub const fn new() -> ConnectOptions {
        ConnectOptions {
            delay: None,
            interleave: None,
        }
    }

    /// Starts the next attempt after `delay` without waiting for the
    /// current one to end (RFC 8305's "Connection Attempt Delay"). Turns on
    /// interleaving by one address family, unless
    /// [`interleave`](ConnectOptions::interleave) says otherwise. Any
    /// duration is valid; `Duration::MAX` means "only when the previous
    /// attempt fails".
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tulipa::net::ConnectOptions;
    /// let options = ConnectOptions::new().happy_eyeballs_delay(Duration::from_millis(250));
    /// assert_ne!(options, ConnectOptions::new());
    /// ```
    pub const fn happy_eyeballs_delay(mut self, delay: Duration) -> ConnectOptions {
        self.delay = Some(delay);
        self
    }

    /// Reorders the addresses by family: `count - 1` addresses of the first
    /// family, then one of each family in turn (RFC 8305's "First Address
    /// Family Count"). `0` keeps the resolver's order.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::ConnectOptions;
    /// assert_ne!(ConnectOptions::new().interleave(2), ConnectOptions::new());
    /// ```
    pub const fn interleave(mut self, count: usize) -> ConnectOptions {
        self.interleave = Some(count);
        self
    }

    /// Resolves `addr` (in the executor if it is a name) and connects to
    /// one of its addresses, as these options say.
    ///
    /// # Errors
    ///
    /// The resolver's error; `InvalidInput` if `addr` resolves to nothing;
    /// the error of the only address tried; with several addresses, the
    /// first error if all failed alike, else an error of the first error's
    /// kind listing each address and its error (asyncio's "Multiple
    /// exceptions").
    ///
    /// # Panics
    ///
    /// Polled outside a running tulipa loop.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future closes every half-open socket; nothing is left.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::net::{ConnectOptions, TcpListener};
    ///
    /// tulipa::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let addr = listener.local_addr()?;
    ///     // Two addresses, the first refusing: the second is tried next.
    ///     let closed = TcpListener::bind("127.0.0.1:0").await?.local_addr()?; // dropped at once
    ///     let stream = ConnectOptions::new().connect(vec![closed, addr]).await?;
    ///     assert_eq!(stream.peer_addr()?, addr);
    ///     let none: Vec<std::net::SocketAddr> = Vec::new();
    ///     let err = ConnectOptions::new().connect(none).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<TcpStream> {
        let mut addrs = resolve(&addr).await?;
        if addrs.is_empty() {
            let e = io::Error::new(io::ErrorKind::InvalidInput, "address resolved to nothing");
            return Err(e);
        }
        let interleave = match (self.interleave, self.delay) {
            (Some(count), _) => count,
            (None, Some(_)) => 1,
            (None, None) => 0,
        };
        if interleave > 0 {
            addrs = interleave_families(addrs, interleave);
        }
        staggered_race(&addrs, self.delay, TcpStream::connect_addr)
            .await
            .map_err(combine_errors)
    }

    /// [`connect`](ConnectOptions::connect), then the buffered halves of
    /// the connection (asyncio's `open_connection` with these keywords).
    ///
    /// # Errors
    ///
    /// As [`connect`](ConnectOptions::connect).
    ///
    /// # Panics
    ///
    /// Polled outside a running tulipa loop.
    ///
    /// # Cancel safety
    ///
    /// As [`connect`](ConnectOptions::connect).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tulipa::net::{start_server, ConnectOptions};
    ///
    /// tulipa::run(async {
    ///     let server = start_server(|_r, w| async move { w.write(b"hey\n") }, "127.0.0.1:0").await?;
    ///     let options = ConnectOptions::new().happy_eyeballs_delay(Duration::from_millis(250));
    ///     let (mut reader, _w) = options.open_connection(server.local_addr()?).await?;
    ///     assert_eq!(reader.readline().await.unwrap(), b"hey\n");
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    pub async fn open_connection<A: ToSocketAddrs>(
        &self,
        addr: A,
    ) -> io::Result<(StreamReader, StreamWriter)> {
        Ok(self.connect(addr).await?.into_split())
    }
}

/// Connects to `addr` and returns the buffered halves of the connection
/// (asyncio's `open_connection`).
///
/// # Errors
///
/// As [`TcpStream::connect`].
///
/// # Panics
///
/// Polled outside a running tulipa loop.
///
/// # Cancel safety
///
/// Dropping the future closes the half-open socket; nothing is left behind.
///
/// # Examples
///
/// ```
/// tulipa::run(async {
///     let server = tulipa::net::start_server(
///         |mut reader, writer| async move {
///             let line = reader.readline().await.unwrap();
///             writer.write(&line.to_ascii_uppercase());
///         },
///         "127.0.0.1:0",
///     )
///     .await?;
///     let (mut reader, writer) = tulipa::net::open_connection(server.local_addr()?).await?;
///     writer.write(b"shout\n");
///     assert_eq!(reader.readline().await.unwrap(), b"SHOUT\n");
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
#[doc(alias = "create_connection")]
pub async fn open_connection<A: ToSocketAddrs>(
    addr: A,
) -> io::Result<(StreamReader, StreamWriter)> {
    Ok(TcpStream::connect(addr).await?.into_split())
}

/// Connects to the Unix-domain socket at `path` (asyncio's `open_unix_connection`).
///
/// # Errors
///
/// As [`UnixStream::connect`].
///
/// # Panics
///
/// Polled outside a running tulipa loop.
///
/// # Cancel safety
///
/// A Unix-domain connect completes at once: nothing waits inside.
///
/// # Examples
///
/// ```
/// let dir = std::env::temp_dir().join(format!("tulipa-doc-ouc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("s.sock");
/// tulipa::run(async {
///     let _server = tulipa::net::start_unix_server(
///         |_reader, writer| async move { writer.write(b"unix hello\n") },
///         &path,
///     )
///     .await?;
///     let (mut reader, _writer) = tulipa::net::open_unix_connection(&path).await?;
///     assert_eq!(reader.readline().await.unwrap(), b"unix hello\n");
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap()
/// .unwrap();
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[cfg(unix)]
pub async fn open_unix_connection<P: AsRef<Path>>(
    path: P,
) -> io::Result<(StreamReader, StreamWriter)> {
    Ok(UnixStream::connect(path).await?.into_split())
}

/// asyncio's `_interleave_addrinfos`: families in order of first
/// appearance; `first_count - 1` of the first family, then round-robin.
pub(crate) fn interleave_families(addrs: Vec<SocketAddr>, first_count: usize) -> Vec<SocketAddr> {
    let mut families: Vec<Vec<SocketAddr>> = Vec::new();
    for addr in addrs {
        match families
            .iter_mut()
            .find(|f| f[0].is_ipv4() == addr.is_ipv4())
        {
            Some(family) => family.push(addr),
            None => families.push(vec![addr]),
        }
    }
    let mut lists: Vec<std::vec::IntoIter<SocketAddr>> =
        families.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::new();
    if let Some(first) = lists.first_mut() {
        out.extend(first.by_ref().take(first_count.saturating_sub(1)));
    }
    loop {
        let before = out.len();
        out.extend(lists.iter_mut().filter_map(Iterator::next));
        if out.len() == before {
            return out;
        }
    }
}

/// asyncio's `staggered_race`: starts `attempt(addrs[0])`; starts the next
/// when the latest attempt fails or has run for `delay` (`None`: only on
/// failure); the first success wins and the other attempts are dropped.
/// All failed: every address with its error, in the order they failed.
pub(crate) async fn staggered_race<T, F, Fut>(
    addrs: &[SocketAddr],
    delay: Option<Duration>,
    mut attempt: F,
) -> Result<T, Vec<(SocketAddr, io::Error)>>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    let mut running: Vec<(usize, Pin<Box<Fut>>)> = Vec::new();
    let mut errors = Vec::new();
    let mut next = 0;
    let mut timer: Option<Pin<Box<Sleep>>> = None;
    let mut start_next = true;
    poll_fn(|cx| loop {
        if start_next && next < addrs.len() {
            running.push((next, Box::pin(attempt(addrs[next]))));
            next += 1;
            timer = delay
                .and_then(|d| crate::now().checked_add(d))
                .map(|at| Box::pin(crate::sleep_until(at)));
        }
        start_next = false;
        let mut i = 0;
        while i < running.len() {
            match running[i].1.as_mut().poll(cx) {
                Poll::Ready(Ok(value)) => return Poll::Ready(Ok(value)),
                Poll::Ready(Err(e)) => {
                    let (index, _) = running.remove(i);
                    errors.push((addrs[index], e));
                    // Only the failure of the latest attempt starts the next.
                    start_next |= index + 1 == next;
                }
                Poll::Pending => i += 1,
            }
        }
        if let Some(sleep) = timer.as_mut() {
            if sleep.as_mut().poll(cx).is_ready() {
                timer = None;
                start_next = true;
            }
        }
        if start_next && next < addrs.len() {
            continue;
        }
        if running.is_empty() {
            return Poll::Ready(Err(std::mem::take(&mut errors)));
        }
        return Poll::Pending;
    })
    .await
}

/// One error for all the attempts, as asyncio's `create_connection`.
fn combine_errors(mut errors: Vec<(SocketAddr, io::Error)>) -> io::Error {
    if errors.len() == 1 {
        return errors.pop().expect("one error").1;
    }
    let first = errors[0].1.to_string();
    if errors.iter().all(|(_, e)| e.to_string() == first) {
        return errors.swap_remove(0).1;
    }
    let kind = errors[0].1.kind();
    let list: Vec<String> = errors.iter().map(|(a, e)| format!("{a}: {e}")).collect();
    io::Error::new(kind, format!("multiple errors: {}", list.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn interleave_alternates_families_after_the_first_count() {
        let v6 = |p| SocketAddr::new("::1".parse().unwrap(), p);
        let v4 = |p| SocketAddr::new("127.0.0.1".parse().unwrap(), p);
        let addrs = vec![v6(1), v6(2), v6(3), v4(4), v4(5)];
        let one = interleave_families(addrs.clone(), 1);
        assert_eq!(one, vec![v6(1), v4(4), v6(2), v4(5), v6(3)]);
        let two = interleave_families(addrs.clone(), 2);
        assert_eq!(two, vec![v6(1), v6(2), v4(4), v6(3), v4(5)]);
        assert_eq!(
            interleave_families(vec![v4(1), v4(2)], 1),
            vec![v4(1), v4(2)]
        );
        assert_eq!(interleave_families(addrs.clone(), usize::MAX), addrs);
    }

    /// The winner's port, or the ports that failed in order; and when each
    /// attempt started, in virtual seconds.
    type Raced = (Result<u16, Vec<u16>>, Vec<(u16, f64)>);

    /// Attempt `i` sleeps `plan[i].0` virtual seconds, then succeeds or not.
    fn race(plan: &'static [(u64, bool)], delay: Option<Duration>) -> Raced {
        let lp = crate::EventLoop::builder().virtual_time().build().unwrap();
        let started = Rc::new(RefCell::new(Vec::new()));
        let log = started.clone();
        let out = lp
            .run_until_complete(async move {
                let t0 = crate::now();
                let addrs: Vec<SocketAddr> = (0..plan.len())
                    .map(|i| addr(&format!("127.0.0.1:{}", i + 1)))
                    .collect();
                let result = staggered_race(&addrs, delay, |a| {
                    let (secs, ok) = plan[usize::from(a.port()) - 1];
                    let at = (crate::now() - t0).as_secs_f64();
                    log.borrow_mut().push((a.port(), at));
                    async move {
                        crate::sleep(Duration::from_secs(secs)).await;
                        if ok {
                            Ok(a.port())
                        } else {
                            Err(io::Error::from(io::ErrorKind::ConnectionRefused))
                        }
                    }
                })
                .await;
                result.map_err(|errs| errs.iter().map(|(a, _)| a.port()).collect())
            })
            .unwrap();
        let started = started.borrow().clone();
        (out, started)
    }

    #[test]
    fn staggered_race_starts_the_next_attempt_after_the_delay() {
        // 1 hangs for 100 s; 2 starts at 0.25 s and connects at 1.25 s.
        let (out, started) = race(&[(100, true), (1, true)], Some(Duration::from_millis(250)));
        assert_eq!(out, Ok(2));
        assert_eq!(started, vec![(1, 0.0), (2, 0.25)]);
    }

    #[test]
    fn staggered_race_starts_the_next_attempt_at_once_when_the_latest_fails() {
        let (out, started) = race(&[(1, false), (1, true)], Some(Duration::from_secs(10)));
        assert_eq!(out, Ok(2));
        assert_eq!(started, vec![(1, 0.0), (2, 1.0)]);
    }

    #[test]
    fn staggered_race_without_delay_is_sequential() {
        let (out, started) = race(&[(3, false), (2, false), (1, true)], None);
        assert_eq!(out, Ok(3));
        assert_eq!(started, vec![(1, 0.0), (2, 3.0), (3, 5.0)]);
    }

    #[test]
    fn staggered_race_reports_every_failure_in_order() {
        let (out, _) = race(&[(5, false), (1, false)], Some(Duration::from_secs(2)));
        // 2 starts at 2 s and fails at 3 s; 1 fails at 5 s.
        assert_eq!(out, Err(vec![2, 1]));
    }

    #[test]
    fn staggered_race_with_a_huge_delay_waits_for_failures_only() {
        let (out, started) = race(&[(7, false), (1, true)], Some(Duration::MAX));
        assert_eq!(out, Ok(2));
        assert_eq!(started, vec![(1, 0.0), (2, 7.0)]);
    }

    #[test]
    fn combined_errors_name_each_address_unless_all_alike() {
        let refused = || io::Error::from(io::ErrorKind::ConnectionRefused);
        let alike = combine_errors(vec![
            (addr("127.0.0.1:1"), refused()),
            (addr("[::1]:1"), refused()),
        ]);
        assert_eq!(alike.kind(), io::ErrorKind::ConnectionRefused);
        assert!(!alike.to_string().contains("multiple"));
        let other = io::Error::from(io::ErrorKind::TimedOut);
        let mixed = combine_errors(vec![
            (addr("127.0.0.1:1"), refused()),
            (addr("[::1]:1"), other),
        ]);
        assert_eq!(mixed.kind(), io::ErrorKind::ConnectionRefused);
        assert!(mixed.to_string().contains("[::1]:1"), "{mixed}");
    }
}
