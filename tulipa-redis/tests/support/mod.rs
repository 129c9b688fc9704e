//! A real `redis-server` per test, killed when the guard drops (even on panic).
#![allow(dead_code, unreachable_pub)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh temporary directory, removed on drop.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("tulipa-redis-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `redis-server`.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    pub dir: TempDir,
    pub unix: Option<PathBuf>,
    args: Vec<String>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl RedisServer {
    /// On a free TCP port, no persistence.
    pub fn start() -> RedisServer {
        RedisServer::with_args(&["--save", "", "--appendonly", "no"], false)
    }

    /// As [`start`](Self::start), trying `port` first (it moves to a free
    /// one if `port` is taken).
    pub fn start_trying_port(port: u16) -> RedisServer {
        RedisServer::with_args_on(&["--save", "", "--appendonly", "no"], false, Some(port))
    }

    /// With an append-only file synced on every write (for restarts).
    pub fn start_persistent() -> RedisServer {
        RedisServer::with_args(
            &[
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ],
            false,
        )
    }

    /// On a Unix socket in a temporary directory (and no TCP port).
    pub fn start_unix() -> RedisServer {
        RedisServer::with_args(&["--save", "", "--appendonly", "no"], true)
    }

    fn with_args(extra: &[&str], unix: bool) -> RedisServer {
        RedisServer::with_args_on(extra, unix, None)
    }

    fn with_args_on(extra: &[&str], unix: bool, port: Option<u16>) -> RedisServer {
        let dir = TempDir::new("server");
        let port = match port {
            _ if unix => 0,
            Some(port) => port,
            None => free_port(),
        };
        let mut args: Vec<String> = vec![
            "--port".into(),
            port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--dir".into(),
            dir.0.display().to_string(),
        ];
        let sock = dir.0.join("redis.sock");
        if unix {
            args.extend(["--unixsocket".into(), sock.display().to_string()]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut server = RedisServer {
            child: None,
            port,
            dir,
            unix: unix.then_some(sock),
            args,
        };
        server.spawn(true);
        server
    }

    /// Starts the server and waits until it answers as itself. `free_port`
    /// only found a port that was free a moment ago: a test running beside
    /// this one may have started its own server there first. Then ours
    /// exits (the port is taken), while a bare connect would succeed
    /// against the other server and this test would later find it gone.
    /// So readiness means `INFO server` reports our child's process id, and
    /// a first start whose child exits moves to another free port (a
    /// restart keeps its port, which its clients reconnect to).
    fn spawn(&mut self, first_start: bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut child = self.launch();
        loop {
            if let Some(status) = child.try_wait().expect("redis-server's status") {
                assert!(
                    Instant::now() < deadline,
                    "redis-server did not start: {status}"
                );
                if first_start && self.unix.is_none() {
                    self.port = free_port();
                    self.args[1] = self.port.to_string();
                }
                std::thread::sleep(Duration::from_millis(10));
                child = self.launch();
                continue;
            }
            if self.served_by(child.id()) {
                self.child = Some(child);
                return;
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn launch(&self) -> Child {
        Command::new("redis-server")
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server on PATH (apt-get install redis-server)")
    }

    /// Whether the server answering at our address is process `pid`.
    fn served_by(&self, pid: u32) -> bool {
        use std::io::{Read, Write};
        fn info(mut conn: impl Read + Write) -> std::io::Result<String> {
            conn.write_all(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")?;
            // The reply is one bulk string, `$<len>\r\n<len bytes>\r\n`.
            let mut reply = Vec::new();
            let mut buf = [0u8; 4096];
            let complete = |reply: &[u8]| {
                let Some(end) = reply.windows(2).position(|w| w == b"\r\n") else {
                    return false;
                };
                let len = std::str::from_utf8(&reply[1..end])
                    .ok()
                    .and_then(|n| n.parse::<usize>().ok());
                len.is_none_or(|len| reply.len() >= end + 2 + len + 2)
            };
            while !complete(&reply) {
                let n = conn.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                reply.extend_from_slice(&buf[..n]);
            }
            Ok(String::from_utf8_lossy(&reply).into_owned())
        }
        let timeout = Some(Duration::from_secs(1));
        let reply = match &self.unix {
            Some(p) => std::os::unix::net::UnixStream::connect(p).and_then(|c| {
                c.set_read_timeout(timeout)?;
                info(c)
            }),
            None => TcpStream::connect(("127.0.0.1", self.port)).and_then(|c| {
                c.set_read_timeout(timeout)?;
                info(c)
            }),
        };
        let Ok(reply) = reply else { return false };
        reply
            .lines()
            .find_map(|l| l.strip_prefix("process_id:"))
            .is_some_and(|id| id.trim() == pid.to_string())
    }

    pub fn url(&self) -> String {
        match &self.unix {
            Some(p) => format!("unix://{}", p.display()),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// SIGKILL and wait.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Kills the server and starts it again on the same port and directory.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn(false);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `cond` until it holds or `within` passes (then panics with `what`).
pub fn eventually(what: &str, within: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// The `distributed` example binary, built (or found up to date) by cargo.
pub fn example_bin() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "-q",
            "-p",
            "tulipa-redis",
            "--example",
            "distributed",
        ])
        .status()
        .expect("cargo");
    assert!(status.success(), "building the distributed example failed");
    // target/debug/deps/<test> -> target/debug/examples/distributed
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    dir.join("examples").join("distributed")
}

/// A child process whose stdout lines are collected by a thread.
pub struct Proc {
    pub child: Child,
    pub lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Proc {
    pub fn spawn(bin: &Path, args: &[&str]) -> Proc {
        let mut child = Command::new(bin)
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn example");
        let out = child.stdout.take().unwrap();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Proc {
            child,
            lines,
            reader: Some(reader),
        }
    }

    pub fn has_line(&self, pred: impl Fn(&str) -> bool) -> bool {
        self.lines.lock().unwrap().iter().any(|l| pred(l))
    }

    /// Waits (bounded) for the process to exit; true if it exited with 0.
    pub fn wait(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                if let Some(r) = self.reader.take() {
                    let _ = r.join();
                }
                return status.success();
            }
            assert!(Instant::now() < deadline, "child did not exit in time");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
