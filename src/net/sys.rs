//! The socket calls that neither std nor mio offers: `listen(2)` with a
//! chosen backlog, and `SO_REUSEADDR` / `SO_REUSEPORT` set before `bind(2)`;
//! and, on Linux, the thread affinity calls a pinned loop group needs
//! (`sched_setaffinity(2)` / `sched_getaffinity(2)`, absent from std).
//!
//! This is the crate's only `unsafe` module. std and mio both listen with a
//! hard-coded backlog of 128 and neither can set an option between
//! `socket(2)` and `bind(2)`, which `SO_REUSEPORT` needs. The alternatives
//! were worse: `socket2` (the crate tokio uses) would be a new runtime
//! dependency, and taking only user-configured std listeners would leave the
//! documented default backlog unreachable. `libc` is already compiled into
//! every build (mio and parking_lot depend on it), so depending on it adds no
//! crate; the price is the few FFI calls below, each argued.
#![allow(unsafe_code)]

use std::io;
use std::mem::size_of;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The socket options of a listener made by [`tcp_listener`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Listen {
    pub(crate) backlog: i32,
    pub(crate) reuse_address: bool,
    pub(crate) reuse_port: bool,
}

/// A non-blocking, close-on-exec TCP socket with `opts` set, bound to
/// `addr` and listening.
pub(crate) fn tcp_listener(addr: SocketAddr, opts: Listen) -> io::Result<std::net::TcpListener> {
    let domain = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    let fd = socket(domain)?;
    if opts.reuse_address {
        set_flag(&fd, libc::SO_REUSEADDR)?;
    }
    if opts.reuse_port {
        set_flag(&fd, libc::SO_REUSEPORT)?;
    }
    bind(&fd, addr)?;
    listen(&fd, opts.backlog)?;
    Ok(std::net::TcpListener::from(fd))
}

/// Sets the backlog of a socket that already listens: Linux and the BSDs
/// update it in place when `listen(2)` is called again.
pub(crate) fn relisten(fd: &impl AsRawFd, backlog: i32) -> io::Result<()> {
    // SAFETY: listen(2) takes no pointers; a bad fd is reported as EBADF.
    cvt(unsafe { libc::listen(fd.as_raw_fd(), backlog) })
}

fn listen(fd: &OwnedFd, backlog: i32) -> io::Result<()> {
    relisten(fd, backlog)
}

#[cfg(not(target_vendor = "apple"))]
fn socket(domain: libc::c_int) -> io::Result<OwnedFd> {
    let kind = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: socket(2) takes no pointers.
    let fd = cvt_fd(unsafe { libc::socket(domain, kind, 0) })?;
    // SAFETY: `fd` was just returned by socket(2): open, and owned by nobody.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(target_vendor = "apple")]
fn socket(domain: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: socket(2) takes no pointers.
    let fd = cvt_fd(unsafe { libc::socket(domain, libc::SOCK_STREAM, 0) })?;
    // SAFETY: `fd` was just returned by socket(2): open, and owned by nobody.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: fcntl(2) with F_SETFD takes an int argument, no pointer.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) })?;
    let fd = std::net::TcpListener::from(fd);
    fd.set_nonblocking(true)?;
    Ok(OwnedFd::from(fd))
}

fn set_flag(fd: &OwnedFd, option: libc::c_int) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: the option value points to a live c_int and its exact size is
    // passed; the kernel only reads it.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (&on as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
}

fn bind(fd: &OwnedFd, addr: SocketAddr) -> io::Result<()> {
    match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_in is plain integers: all zeroes is valid
            // (and sets the BSD-only `sin_len` and `sin_zero` as required).
            let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            sa.sin_family = libc::AF_INET as libc::sa_family_t;
            sa.sin_port = a.port().to_be();
            sa.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
            let len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            // SAFETY: `sa` is a live sockaddr_in of `len` bytes, only read.
            cvt(unsafe {
                libc::bind(
                    fd.as_raw_fd(),
                    (&sa as *const libc::sockaddr_in).cast(),
                    len,
                )
            })
        }
        SocketAddr::V6(a) => {
            // SAFETY: as above, for sockaddr_in6.
            let mut sa: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sa.sin6_port = a.port().to_be();
            sa.sin6_addr.s6_addr = a.ip().octets();
            sa.sin6_flowinfo = a.flowinfo();
            sa.sin6_scope_id = a.scope_id();
            let len = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            // SAFETY: `sa` is a live sockaddr_in6 of `len` bytes, only read.
            cvt(unsafe {
                libc::bind(
                    fd.as_raw_fd(),
                    (&sa as *const libc::sockaddr_in6).cast(),
                    len,
                )
            })
        }
    }
}

/// The CPUs the calling thread may run on, ascending (`sched_getaffinity(2)`).
#[cfg(target_os = "linux")]
pub(crate) fn thread_cores() -> io::Result<Vec<usize>> {
    // SAFETY: cpu_set_t is a plain bit array: all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: pid 0 is the calling thread; `set` is a live cpu_set_t and its
    // exact size is passed, so the kernel writes within it.
    cvt(unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) })?;
    let max = 8 * size_of::<libc::cpu_set_t>();
    // SAFETY: CPU_ISSET only reads `set`, and every index is below its size
    // in bits (CPU_SETSIZE).
    Ok((0..max)
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect())
}

/// Restricts the calling thread to CPU `core` (`sched_setaffinity(2)`).
/// `core` must be below `CPU_SETSIZE`; the caller checks.
#[cfg(target_os = "linux")]
pub(crate) fn pin_thread(core: usize) -> io::Result<()> {
    if core >= 8 * size_of::<libc::cpu_set_t>() {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    // SAFETY: as in `thread_cores`, all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `core` was checked to be below the set's size in bits.
    unsafe { libc::CPU_SET(core, &mut set) };
    // SAFETY: pid 0 is the calling thread; `set` is a live cpu_set_t of the
    // size passed, only read by the kernel.
    cvt(unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) })
}

fn cvt(ret: libc::c_int) -> io::Result<()> {
    cvt_fd(ret).map(drop)
}

fn cvt_fd(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}
