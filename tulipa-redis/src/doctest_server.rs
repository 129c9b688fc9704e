//! A throwaway `redis-server` for this crate's doc examples, so that they
//! run against a real server instead of being only compiled. Hidden from the
//! docs; not part of the API.
//!
//! The server listens on a Unix socket in a fresh temporary directory (no
//! TCP port, so nothing to race for) and is killed, and its directory
//! removed, when the [`DoctestServer`] drops, even when the example panics.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A running `redis-server` on a Unix socket; see the module docs.
#[derive(Debug)]
pub struct DoctestServer {
    child: Child,
    dir: PathBuf,
}

/// Starts a server and waits until it accepts connections.
///
/// # Panics
///
/// If `redis-server` is not on `PATH` or does not start within 10 s.
///
/// # Examples
///
/// ```
/// let server = tulipa_redis::doctest_server::start();
/// let path = server.url().strip_prefix("unix://").unwrap().to_owned();
/// assert!(std::os::unix::net::UnixStream::connect(&path).is_ok());
/// drop(server);
/// assert!(std::os::unix::net::UnixStream::connect(&path).is_err(), "killed on drop");
/// ```
pub fn start() -> DoctestServer {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("tulipa-redis-doc-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let sock = dir.join("redis.sock");
    let child = Command::new("redis-server")
        .args(["--port", "0", "--save", "", "--appendonly", "no", "--dir"])
        .arg(&dir)
        .arg("--unixsocket")
        .arg(&sock)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server on PATH (apt-get install redis-server)");
    let server = DoctestServer { child, dir };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(&sock).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(5));
    }
    server
}

impl DoctestServer {
    /// The server's `unix://` URL.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = tulipa_redis::doctest_server::start();
    /// assert!(server.url().starts_with("unix://") && server.url().ends_with("/redis.sock"));
    /// ```
    pub fn url(&self) -> String {
        format!("unix://{}", self.dir.join("redis.sock").display())
    }
}

impl Drop for DoctestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
