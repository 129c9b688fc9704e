//! [`ToSocketAddrs`]: addresses that may need a name lookup, done in the
//! executor (asyncio's `loop.getaddrinfo`) rather than on the loop thread.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// What the socket constructors of this module accept as an address: a
/// [`SocketAddr`] (or its parts), `(ip, port)`, a slice or `Vec` of
/// addresses, or a string such as `"127.0.0.1:8080"`, `"[::1]:80"`,
/// `"localhost:8080"` or `("example.org", 443)`.
///
/// A string that is not a literal address is resolved with the system
/// resolver in the loop's default executor, as asyncio's `getaddrinfo` does,
/// so a slow DNS server stalls only the task that asked, never the loop.
/// Literal addresses are parsed on the spot. The trait is sealed: it
/// mirrors `std::net::ToSocketAddrs`, whose blocking lookup it replaces.
///
/// # Examples
///
/// ```
/// use tulipa::net::TcpListener;
///
/// tulipa::run(async {
///     let a = TcpListener::bind("127.0.0.1:0").await?;
///     let b = TcpListener::bind(("localhost", 0)).await?; // looked up off the loop
///     assert!(a.local_addr()?.ip().is_loopback() && b.local_addr()?.ip().is_loopback());
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub trait ToSocketAddrs: sealed::Sealed {}

pub(crate) mod sealed {
    use super::Lookup;

    /// The lookup an address needs; not nameable outside the crate.
    #[allow(unreachable_pub)]
    pub trait Sealed {
        fn lookup(&self) -> Lookup;
    }
}

/// Addresses known at once, or a `host:port` string for the resolver.
#[derive(Debug)]
pub enum Lookup {
    Ready(Vec<SocketAddr>),
    Name(String),
}

macro_rules! ready_addr {
    ($($ty:ty),*) => {$(
        impl ToSocketAddrs for $ty {}
        impl sealed::Sealed for $ty {
            fn lookup(&self) -> Lookup {
                Lookup::Ready(vec![SocketAddr::from(*self)])
            }
        }
    )*};
}

ready_addr!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl ToSocketAddrs for str {}
impl sealed::Sealed for str {
    fn lookup(&self) -> Lookup {
        match self.parse::<SocketAddr>() {
            Ok(addr) => Lookup::Ready(vec![addr]),
            Err(_) => Lookup::Name(self.to_owned()),
        }
    }
}

impl ToSocketAddrs for String {}
impl sealed::Sealed for String {
    fn lookup(&self) -> Lookup {
        self.as_str().lookup()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl sealed::Sealed for (&str, u16) {
    fn lookup(&self) -> Lookup {
        let (host, port) = *self;
        match host.parse::<IpAddr>() {
            Ok(ip) => Lookup::Ready(vec![SocketAddr::new(ip, port)]),
            // IPv6 names need no brackets in the tuple form; the resolver's
            // `host:port` string does.
            Err(_) => Lookup::Name(format!("{host}:{port}")),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl sealed::Sealed for (String, u16) {
    fn lookup(&self) -> Lookup {
        (self.0.as_str(), self.1).lookup()
    }
}

impl ToSocketAddrs for [SocketAddr] {}
impl sealed::Sealed for [SocketAddr] {
    fn lookup(&self) -> Lookup {
        Lookup::Ready(self.to_vec())
    }
}

impl<const N: usize> ToSocketAddrs for [SocketAddr; N] {}
impl<const N: usize> sealed::Sealed for [SocketAddr; N] {
    fn lookup(&self) -> Lookup {
        Lookup::Ready(self.to_vec())
    }
}

impl ToSocketAddrs for Vec<SocketAddr> {}
impl sealed::Sealed for Vec<SocketAddr> {
    fn lookup(&self) -> Lookup {
        Lookup::Ready(self.clone())
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: sealed::Sealed + ?Sized> sealed::Sealed for &T {
    fn lookup(&self) -> Lookup {
        (**self).lookup()
    }
}

/// The addresses of `addr`, looked up in the default executor if needed.
pub(crate) async fn resolve<A: ToSocketAddrs + ?Sized>(addr: &A) -> io::Result<Vec<SocketAddr>> {
    match addr.lookup() {
        Lookup::Ready(addrs) => Ok(addrs),
        Lookup::Name(name) => {
            let job = crate::run_in_executor(move || {
                std::net::ToSocketAddrs::to_socket_addrs(&name).map(Iterator::collect)
            });
            match job.await {
                Ok(found) => found,
                Err(e) => Err(io::Error::other(format!("name lookup failed: {e}"))),
            }
        }
    }
}
