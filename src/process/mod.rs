//! Child processes with pipes on the loop (asyncio's
//! `create_subprocess_exec` / `create_subprocess_shell` and `Process`).
//!
//! | asyncio | tulipa |
//! |---|---|
//! | `await create_subprocess_exec(prog, *args, stdin=PIPE, ...)` | [`create_subprocess_exec`], or [`Command`] (as `std::process::Command`) |
//! | `await create_subprocess_shell(cmd, ...)` | [`create_subprocess_shell`] (`/bin/sh -c cmd`) |
//! | `PIPE` / `DEVNULL` / `None` / `STDOUT` | [`Stdio::piped`] / [`Stdio::null`] / [`Stdio::inherit`] / [`Stdio::stdout`] (stderr merged into stdout) |
//! | `Process.stdin` / `stdout` / `stderr` | [`Child::stdin`] ([`StreamWriter`]), [`Child::stdout`], [`Child::stderr`] ([`StreamReader`]) |
//! | `Process.wait()` / `communicate(input)` | [`Child::wait`] / [`Child::communicate`] |
//! | `Process.send_signal` / `terminate` / `kill` | same names |
//! | `Process.pid` / `returncode` | [`Child::pid`] / [`Child::returncode`] |
//!
//! # How an exit is noticed
//!
//! On Linux ≥ 5.3 each child gets a pidfd (`pidfd_open`), registered in the
//! loop's selector: it becomes readable when the child exits, and the loop
//! reaps the child then (`waitpid` with `WNOHANG`, through
//! `std::process::Child::try_wait`). Elsewhere, or if `pidfd_open` is
//! refused, the loop listens to `SIGCHLD` (see [`crate::signal`]) and, at
//! each delivery, tries to reap each of its children. Either way nothing
//! polls, and a child whose [`Child`] was dropped without `wait` is still
//! reaped in the background by its loop (no zombie). Children still running
//! when their loop closes are kept in a process-wide list and reaped at the
//! next spawn or exit that any loop handles. Setting the environment
//! variable `TULIPA_PROCESS_REAPER=sigchld` forces the `SIGCHLD` path.
//!
//! A running child is an outside source for the virtual clock: while one
//! runs, the loop's time follows real time (as for a
//! [`LoopHandle::hold`](crate::LoopHandle::hold)).
//!
//! # Examples
//!
//! ```
//! use tulipa::process::{Command, Stdio};
//!
//! tulipa::run(async {
//!     let mut child = Command::new("sort")
//!         .stdin(Stdio::piped())
//!         .stdout(Stdio::piped())
//!         .spawn()?;
//!     let out = child.communicate(Some(b"pear\napple\nfig\n")).await?;
//!     assert!(out.status.success());
//!     assert_eq!(out.stdout, b"apple\nfig\npear\n");
//!     Ok::<_, std::io::Error>(())
//! })
//! .unwrap()
//! .unwrap();
//! ```

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::process::{ExitStatus, Output};
use std::rc::{Rc, Weak};
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use crate::net::{StreamReader, StreamWriter};
use crate::runtime::core::Core;
use crate::runtime::reactor::Direction;
use crate::runtime::PendingPost;
use crate::signal::{Listener, Signal, SIGCHLD, SIGKILL, SIGTERM};
use crate::LoopHandle;

/// What to connect a child's stdin, stdout or stderr to (asyncio's `PIPE`,
/// `DEVNULL`, `None`, `STDOUT`).
///
/// # Examples
///
/// ```
/// use tulipa::process::{Command, Stdio};
///
/// tulipa::run(async {
///     let out = Command::new("sh")
///         .args(["-c", "echo out; echo err >&2"])
///         .stdout(Stdio::piped())
///         .stderr(Stdio::stdout())
///         .output()
///         .await
///         .unwrap();
///     assert_eq!(out.stdout, b"out\nerr\n");
///     assert!(out.stderr.is_empty());
/// })
/// .unwrap();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stdio(Kind);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Piped,
    Inherit,
    Null,
    Stdout,
}

impl Stdio {
    /// A pipe to the parent: a [`StreamWriter`] for stdin, a
    /// [`StreamReader`] for stdout and stderr (asyncio's `PIPE`).
    pub fn piped() -> Stdio {
        Stdio(Kind::Piped)
    }

    /// The parent's own stream (asyncio's `None`, the default).
    pub fn inherit() -> Stdio {
        Stdio(Kind::Inherit)
    }

    /// `/dev/null` (asyncio's `DEVNULL`).
    pub fn null() -> Stdio {
        Stdio(Kind::Null)
    }

    /// For stderr only: wherever the child's stdout goes, so both come
    /// through one pipe in the order written (asyncio's `STDOUT`).
    pub fn stdout() -> Stdio {
        Stdio(Kind::Stdout)
    }
}

/// Builds and spawns a child process, as [`std::process::Command`] does,
/// with its pipes on the running loop.
///
/// By default the child inherits stdin, stdout and stderr (as asyncio's
/// `create_subprocess_exec`); [`output`](Command::output) pipes stdout and
/// stderr unless told otherwise. A `Command` can spawn several children.
///
/// # Examples
///
/// ```
/// use tulipa::process::{Command, Stdio};
///
/// tulipa::run(async {
///     let mut child = Command::new("sh")
///         .args(["-c", "echo \"$GREETING from $(pwd)\""])
///         .env("GREETING", "hello")
///         .current_dir("/")
///         .stdout(Stdio::piped())
///         .spawn()
///         .unwrap();
///     let line = child.stdout.as_mut().unwrap().readline().await.unwrap();
///     assert_eq!(line, b"hello from /\n");
///     assert!(child.wait().await.unwrap().success());
/// })
/// .unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Command {
    program: OsString,
    args: Vec<OsString>,
    env_clear: bool,
    env: Vec<(OsString, Option<OsString>)>,
    cwd: Option<PathBuf>,
    stdin: Option<Stdio>,
    stdout: Option<Stdio>,
    stderr: Option<Stdio>,
}

impl Command {
    /// A command that runs `program` (looked up in `PATH` if it has no `/`).
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env_clear: false,
            env: Vec::new(),
            cwd: None,
            stdin: None,
            stdout: None,
            stderr: None,
        }
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets an environment variable of the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.env
            .push((key.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    /// Sets several environment variables of the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        for (k, v) in vars {
            self.env(k, v);
        }
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.env.push((key.as_ref().to_owned(), None));
        self
    }

    /// Starts the child with an empty environment (plus what `env` adds).
    pub fn env_clear(&mut self) -> &mut Command {
        self.env_clear = true;
        self.env.clear();
        self
    }

    /// Sets the child's working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    /// What the child's stdin is.
    pub fn stdin(&mut self, cfg: Stdio) -> &mut Command {
        self.stdin = Some(cfg);
        self
    }

    /// What the child's stdout is.
    pub fn stdout(&mut self, cfg: Stdio) -> &mut Command {
        self.stdout = Some(cfg);
        self
    }

    /// What the child's stderr is; [`Stdio::stdout`] merges it into stdout.
    pub fn stderr(&mut self, cfg: Stdio) -> &mut Command {
        self.stderr = Some(cfg);
        self
    }

    /// Starts the child on the running loop.
    ///
    /// # Errors
    ///
    /// The OS error of the spawn: `NotFound` for a program that does not
    /// exist, `PermissionDenied` for one that is not executable, ...;
    /// `InvalidInput` for [`Stdio::stdout`] given to stdin or stdout.
    ///
    /// # Panics
    ///
    /// Outside a running tulipa loop.
    ///
    /// # Examples
    ///
    /// ```
    /// tulipa::run(async {
    ///     let err = tulipa::process::Command::new("/no/such/program").spawn().unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn spawn(&mut self) -> io::Result<Child> {
        let core = crate::runtime::context::expect_current("tulipa::process::Command::spawn");
        self.spawn_on(&core, Kind::Inherit)
    }

    /// Runs the child to its end and collects its output (`std`'s
    /// `Command::output`): stdout and stderr are piped unless set, stdin is
    /// `/dev/null` unless set.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Command::spawn), or a pipe's error.
    ///
    /// # Panics
    ///
    /// Outside a running tulipa loop.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the child's pipes; the child is still
    /// reaped by the loop when it exits.
    ///
    /// # Examples
    ///
    /// ```
    /// tulipa::run(async {
    ///     let out = tulipa::process::Command::new("echo").arg("hi").output().await.unwrap();
    ///     assert_eq!(out.stdout, b"hi\n");
    /// })
    /// .unwrap();
    /// ```
    pub async fn output(&mut self) -> io::Result<Output> {
        let core = crate::runtime::context::expect_current("tulipa::process::Command::output");
        let mut cmd = self.clone();
        cmd.stdin.get_or_insert(Stdio::null());
        let mut child = cmd.spawn_on(&core, Kind::Piped)?;
        child.communicate(None).await
    }

    fn spawn_on(&self, core: &Rc<Core>, default: Kind) -> io::Result<Child> {
        if self.stdin == Some(Stdio::stdout()) || self.stdout == Some(Stdio::stdout()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Stdio::stdout() is only for stderr",
            ));
        }
        reap_orphans();
        let pidfd = use_pidfd();
        // Listen to SIGCHLD before the child can exit.
        let reaper = if pidfd {
            None
        } else {
            Some(Reaper::of(core).map_err(io::Error::from)?)
        };
        let in_kind = self.stdin.map_or(Kind::Inherit, |s| s.0);
        let out_kind = self.stdout.map_or(default, |s| s.0);
        let err_kind = self.stderr.map_or(default, |s| s.0);

        let mut cmd = std::process::Command::new(&self.program);
        cmd.args(&self.args);
        if self.env_clear {
            cmd.env_clear();
        }
        for (k, v) in &self.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        cmd.stdin(std_stdio(in_kind));
        // Merged stderr: both get the same pipe (or file) as stdout.
        let mut merged = None;
        if err_kind == Kind::Stdout {
            let (to_child, from_child): (OwnedFd, Option<mio::unix::pipe::Receiver>) =
                match out_kind {
                    Kind::Piped => {
                        let (tx, rx) = mio::unix::pipe::new()?;
                        // The child's end must block, as a normal stdout does.
                        tx.set_nonblocking(false)?;
                        (OwnedFd::from(tx), Some(rx))
                    }
                    Kind::Inherit => (io::stdout().as_fd().try_clone_to_owned()?, None),
                    Kind::Null => (std::fs::File::create("/dev/null")?.into(), None),
                    Kind::Stdout => unreachable!("checked above"),
                };
            cmd.stderr(std::process::Stdio::from(to_child.try_clone()?));
            cmd.stdout(std::process::Stdio::from(to_child));
            merged = from_child;
        } else {
            cmd.stdout(std_stdio(out_kind));
            cmd.stderr(std_stdio(err_kind));
        }
        let spawned = cmd.spawn();
        // Our copies of the child's ends close here, so that EOF can come.
        drop(cmd);
        let mut child = spawned?;

        let stdin = child
            .stdin
            .take()
            .map(|p| crate::net::pipe::writer(core.clone(), p.into()))
            .transpose()?;
        let stdout = match merged {
            Some(rx) => Some(crate::net::pipe::reader(core.clone(), rx)?),
            None => child
                .stdout
                .take()
                .map(|p| crate::net::pipe::reader(core.clone(), p.into()))
                .transpose()?,
        };
        let stderr = child
            .stderr
            .take()
            .map(|p| crate::net::pipe::reader(core.clone(), p.into()))
            .transpose()?;
        let handle = LoopHandle {
            remote: core.remote().clone(),
        };
        let state = Rc::new(ChildState {
            pid: child.id(),
            child: RefCell::new(Some(child)),
            exit: Cell::new(None),
            waiters: RefCell::new(Vec::new()),
            pidfd: RefCell::new(None),
            core: Rc::downgrade(core),
            hold: RefCell::new(Some(handle.hold())),
        });
        match reaper {
            Some(reaper) => reaper.adopt(state.clone()),
            None => watch_pidfd(core, &state)?,
        }
        Ok(Child {
            stdin,
            stdout,
            stderr,
            state,
        })
    }
}

fn std_stdio(kind: Kind) -> std::process::Stdio {
    match kind {
        Kind::Piped => std::process::Stdio::piped(),
        Kind::Inherit => std::process::Stdio::inherit(),
        Kind::Null | Kind::Stdout => std::process::Stdio::null(),
    }
}

/// Spawns `program` with `args` on the running loop (asyncio's
/// `create_subprocess_exec`); stdin, stdout and stderr are inherited (use
/// [`Command`] to pipe them).
///
/// # Errors
///
/// As [`Command::spawn`].
///
/// # Panics
///
/// Outside a running tulipa loop.
///
/// # Cancel safety
///
/// The child is spawned at the first poll; the future is then ready.
///
/// # Examples
///
/// ```
/// tulipa::run(async {
///     let mut child = tulipa::process::create_subprocess_exec("sh", ["-c", "exit 3"]).await.unwrap();
///     assert_eq!(child.wait().await.unwrap().code(), Some(3));
///     assert_eq!(child.returncode(), Some(3));
/// })
/// .unwrap();
/// ```
pub async fn create_subprocess_exec<I, S>(program: impl AsRef<OsStr>, args: I) -> io::Result<Child>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(program).args(args).spawn()
}

/// Runs `cmd` through `/bin/sh -c` on the running loop (asyncio's
/// `create_subprocess_shell`); stdin, stdout and stderr are inherited.
///
/// The command line goes to the shell as it is: quote anything that comes
/// from outside.
///
/// # Errors
///
/// As [`Command::spawn`].
///
/// # Panics
///
/// Outside a running tulipa loop.
///
/// # Cancel safety
///
/// The child is spawned at the first poll; the future is then ready.
///
/// # Examples
///
/// ```
/// tulipa::run(async {
///     let mut child = tulipa::process::create_subprocess_shell("exit 7").await.unwrap();
///     assert_eq!(child.wait().await.unwrap().code(), Some(7));
/// })
/// .unwrap();
/// ```
pub async fn create_subprocess_shell(cmd: impl AsRef<OsStr>) -> io::Result<Child> {
    Command::new("/bin/sh").arg("-c").arg(cmd).spawn()
}

/// A running or finished child process (asyncio's `Process`).
///
/// Dropping it does not kill the child, and does not leave a zombie: the
/// loop reaps the child when it exits.
///
/// # Examples
///
/// ```
/// use tulipa::process::{Command, Stdio};
///
/// tulipa::run(async {
///     let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
///     let stdin = child.stdin.take().unwrap();
///     stdin.write(b"echo\n");
///     stdin.drain().await?;
///     drop(stdin); // EOF for cat
///     let out = child.stdout.as_mut().unwrap().read_to_end().await?;
///     assert_eq!(out, b"echo\n");
///     assert!(child.wait().await?.success());
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub struct Child {
    /// The child's stdin, if piped; dropping or closing it gives the child EOF.
    pub stdin: Option<StreamWriter>,
    /// The child's stdout, if piped (with stderr, if merged).
    pub stdout: Option<StreamReader>,
    /// The child's stderr, if piped.
    pub stderr: Option<StreamReader>,
    state: Rc<ChildState>,
}

impl Child {
    /// The child's process id (asyncio's `Process.pid`).
    pub fn pid(&self) -> u32 {
        self.state.pid
    }

    /// The child's process id, as `std::process::Child::id`.
    pub fn id(&self) -> u32 {
        self.state.pid
    }

    /// Waits for the child to exit (asyncio's `Process.wait`); closes its
    /// stdin first, as `std` does, so a child reading it cannot wait for
    /// us while we wait for it. Does not read stdout or stderr: a child
    /// that fills a pipe nobody reads never exits (use
    /// [`communicate`](Child::communicate)).
    ///
    /// # Errors
    ///
    /// The OS error of `waitpid` (e.g. `ECHILD` if something else in the
    /// process reaped the child).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the exit status is kept for the next call.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    ///
    /// tulipa::run(async {
    ///     let mut child = tulipa::process::Command::new("sleep").arg("100").spawn().unwrap();
    ///     child.kill().unwrap();
    ///     let status = child.wait().await.unwrap();
    ///     assert_eq!(status.signal(), Some(9));
    ///     assert_eq!(child.returncode(), Some(-9));
    /// })
    /// .unwrap();
    /// ```
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        poll_fn(|cx| self.state.poll_exit(cx)).await
    }

    /// The exit status if the child has exited, without waiting.
    ///
    /// # Errors
    ///
    /// As [`wait`](Child::wait).
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.state.check();
        match self.state.exit.get() {
            Some(Ok(status)) => Ok(Some(status)),
            Some(Err(errno)) => Err(io::Error::from_raw_os_error(errno)),
            None => Ok(None),
        }
    }

    /// asyncio's `Process.returncode`: `None` while running, the exit code,
    /// or minus the signal number that killed the child. Only exits the
    /// loop has noticed count (no system call).
    pub fn returncode(&self) -> Option<i32> {
        match self.state.exit.get()? {
            Ok(status) => status.code().or_else(|| status.signal().map(|s| -s)),
            Err(_) => None,
        }
    }

    /// Sends `signal` to the child (asyncio's `send_signal`). Does nothing
    /// once the child has been reaped (its pid may belong to another
    /// process by then).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a number that is not a signal; the OS error of
    /// `kill` / `pidfd_send_signal`.
    ///
    /// # Examples
    ///
    /// ```
    /// tulipa::run(async {
    ///     let mut child = tulipa::process::Command::new("sleep").arg("100").spawn().unwrap();
    ///     child.send_signal(tulipa::signal::SIGTERM).unwrap();
    ///     assert_eq!(child.wait().await.unwrap().to_string(), "signal: 15 (SIGTERM)");
    ///     assert!(child.send_signal(0xdead).is_ok(), "reaped: nothing is sent");
    /// })
    /// .unwrap();
    /// ```
    pub fn send_signal(&self, signal: Signal) -> io::Result<()> {
        if self.state.exit.get().is_some() {
            return Ok(());
        }
        let sig = rustix::process::Signal::from_named_raw(signal).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid signal {signal}"),
            )
        })?;
        #[cfg(target_os = "linux")]
        if let Some(fd) = self.state.pidfd.borrow().as_ref() {
            return Ok(rustix::process::pidfd_send_signal(fd, sig)?);
        }
        let pid = rustix::process::Pid::from_raw(self.state.pid as i32)
            .ok_or_else(|| io::Error::other("invalid pid"))?;
        Ok(rustix::process::kill_process(pid, sig)?)
    }

    /// Sends `SIGTERM` (asyncio's `terminate`).
    ///
    /// # Errors
    ///
    /// As [`send_signal`](Child::send_signal).
    pub fn terminate(&self) -> io::Result<()> {
        self.send_signal(SIGTERM)
    }

    /// Sends `SIGKILL` (asyncio's `kill`).
    ///
    /// # Errors
    ///
    /// As [`send_signal`](Child::send_signal).
    pub fn kill(&self) -> io::Result<()> {
        self.send_signal(SIGKILL)
    }

    /// Writes `input` to stdin and closes it, reads stdout and stderr to
    /// their end, all at once, then waits for the exit (asyncio's
    /// `communicate`). Since the three go on together, a child that fills
    /// stderr while we still feed its stdin cannot deadlock us. A child that
    /// stops reading stdin early (a broken pipe) is not an error, as in
    /// asyncio. Pipes not set to [`Stdio::piped`] give empty output.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `input` is given but stdin is not piped; a pipe's
    /// error; as [`wait`](Child::wait).
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: the pipes are taken out of the `Child`, and output
    /// read so far is lost with the future.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::process::{Command, Stdio};
    ///
    /// tulipa::run(async {
    ///     let mut child = Command::new("sh")
    ///         .args(["-c", "tr a-z A-Z; echo done >&2"])
    ///         .stdin(Stdio::piped())
    ///         .stdout(Stdio::piped())
    ///         .stderr(Stdio::piped())
    ///         .spawn()
    ///         .unwrap();
    ///     let out = child.communicate(Some(b"shout")).await.unwrap();
    ///     assert_eq!((&out.stdout[..], &out.stderr[..]), (&b"SHOUT"[..], &b"done\n"[..]));
    /// })
    /// .unwrap();
    /// ```
    pub async fn communicate(&mut self, input: Option<&[u8]>) -> io::Result<Output> {
        let stdin = self.stdin.take();
        if input.is_some() && stdin.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "communicate: input given but stdin is not piped",
            ));
        }
        let mut stdout = self.stdout.take();
        let mut stderr = self.stderr.take();
        let feed = async move {
            let Some(writer) = stdin else { return Ok(()) };
            for chunk in input.unwrap_or_default().chunks(64 * 1024) {
                writer.write(chunk);
                if let Err(e) = writer.drain().await {
                    return ignore_broken_pipe(e);
                }
            }
            writer.close();
            writer.wait_closed().await.or_else(ignore_broken_pipe)
        };
        let read_out = read_all(stdout.as_mut());
        let read_err = read_all(stderr.as_mut());
        let (fed, out, err) = join3(feed, read_out, read_err).await;
        fed?;
        let (stdout, stderr) = (out?, err?);
        let status = self.wait().await?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

fn ignore_broken_pipe(e: io::Error) -> io::Result<()> {
    match e.kind() {
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => Ok(()),
        _ => Err(e),
    }
}

async fn read_all(reader: Option<&mut StreamReader>) -> io::Result<Vec<u8>> {
    match reader {
        Some(reader) => reader.read_to_end().await,
        None => Ok(Vec::new()),
    }
}

/// Polls three futures together until all are done.
async fn join3<A: Future, B: Future, C: Future>(
    a: A,
    b: B,
    c: C,
) -> (A::Output, B::Output, C::Output) {
    let (mut a, mut b, mut c) = (pin!(a), pin!(b), pin!(c));
    let (mut ra, mut rb, mut rc) = (None, None, None);
    poll_fn(|cx| {
        if ra.is_none() {
            ra = poll_once(a.as_mut(), cx);
        }
        if rb.is_none() {
            rb = poll_once(b.as_mut(), cx);
        }
        if rc.is_none() {
            rc = poll_once(c.as_mut(), cx);
        }
        if ra.is_some() && rb.is_some() && rc.is_some() {
            Poll::Ready((ra.take().unwrap(), rb.take().unwrap(), rc.take().unwrap()))
        } else {
            Poll::Pending
        }
    })
    .await
}

fn poll_once<F: Future>(f: std::pin::Pin<&mut F>, cx: &mut Context<'_>) -> Option<F::Output> {
    match f.poll(cx) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("pid", &self.state.pid)
            .field("returncode", &self.returncode())
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------
// Reaping.

/// What the loop knows of one child; shared by the `Child` and whatever
/// watches for its exit (the pidfd callback or the SIGCHLD reaper), so a
/// dropped `Child` is still reaped.
struct ChildState {
    pid: u32,
    /// `None` once reaped (or moved to the orphans).
    child: RefCell<Option<std::process::Child>>,
    /// The exit status, or the errno of a failed `waitpid`.
    exit: Cell<Option<Result<ExitStatus, i32>>>,
    waiters: RefCell<Vec<Waker>>,
    pidfd: RefCell<Option<OwnedFd>>,
    core: Weak<Core>,
    /// Keeps the virtual clock from jumping while the child runs.
    hold: RefCell<Option<PendingPost>>,
}

impl ChildState {
    /// Reaps the child if it has exited (`waitpid(WNOHANG)`); `true` once done.
    fn check(&self) -> bool {
        if self.exit.get().is_some() {
            return true;
        }
        let polled = match self.child.borrow_mut().as_mut() {
            Some(child) => child.try_wait(),
            None => return true,
        };
        let exit = match polled {
            Ok(None) => return false,
            Ok(Some(status)) => Ok(status),
            Err(e) => Err(e.raw_os_error().unwrap_or(libc_echild())),
        };
        self.exit.set(Some(exit));
        drop(self.child.borrow_mut().take());
        self.unwatch();
        drop(self.hold.borrow_mut().take());
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        waiters.into_iter().for_each(Waker::wake);
        true
    }

    /// Stops watching the pidfd and closes it.
    fn unwatch(&self) {
        let fd = self.pidfd.borrow_mut().take();
        if let (Some(fd), Some(core)) = (&fd, self.core.upgrade()) {
            core.reactor().remove_fd(fd.as_raw_fd(), Direction::Read);
        }
        drop(fd);
    }

    fn poll_exit(&self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        if !self.check() {
            let mut waiters = self.waiters.borrow_mut();
            if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
                waiters.push(cx.waker().clone());
            }
            return Poll::Pending;
        }
        Poll::Ready(match self.exit.get() {
            Some(Ok(status)) => Ok(status),
            Some(Err(errno)) => Err(io::Error::from_raw_os_error(errno)),
            None => Err(io::Error::other("child lost")),
        })
    }
}

impl Drop for ChildState {
    fn drop(&mut self) {
        // The loop went away with the child still running: hand it to the
        // process-wide orphan list, reaped at later spawns and exits.
        if let Some(child) = self.child.get_mut().take() {
            lock_orphans().push(child);
        }
    }
}

fn libc_echild() -> i32 {
    rustix::io::Errno::CHILD.raw_os_error()
}

static ORPHANS: Mutex<Vec<std::process::Child>> = Mutex::new(Vec::new());

fn lock_orphans() -> std::sync::MutexGuard<'static, Vec<std::process::Child>> {
    ORPHANS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Reaps the orphans that have exited.
fn reap_orphans() {
    let mut orphans = lock_orphans();
    if !orphans.is_empty() {
        orphans.retain_mut(|child| matches!(child.try_wait(), Ok(None)));
    }
}

/// Whether to watch children through pidfds (Linux) rather than SIGCHLD.
fn use_pidfd() -> bool {
    cfg!(target_os = "linux")
        && std::env::var_os("TULIPA_PROCESS_REAPER").is_none_or(|v| v != "sigchld")
}

/// Registers the child's pidfd in the selector; falls back to the SIGCHLD
/// reaper if the kernel has no `pidfd_open` (or refuses it).
fn watch_pidfd(core: &Rc<Core>, state: &Rc<ChildState>) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{pidfd_open, Pid, PidfdFlags};
        let opened = Pid::from_raw(state.pid as i32)
            .ok_or_else(|| io::Error::other("invalid pid"))
            .and_then(|pid| Ok(pidfd_open(pid, PidfdFlags::NONBLOCK)?));
        if let Ok(fd) = opened {
            let raw = fd.as_raw_fd();
            *state.pidfd.borrow_mut() = Some(fd);
            let watched = state.clone();
            let added = core.reactor().add_fd(
                raw,
                Direction::Read,
                Box::new(move || {
                    watched.check();
                    reap_orphans();
                }),
            );
            match added {
                Ok(()) => return Ok(()),
                Err(_) => drop(state.pidfd.borrow_mut().take()),
            }
        }
    }
    // The child may have exited before SIGCHLD was listened to: the first
    // check below catches that.
    let reaper = Reaper::of(core).map_err(io::Error::from)?;
    reaper.adopt(state.clone());
    state.check();
    Ok(())
}

/// A loop's SIGCHLD path: its children, tried at each SIGCHLD.
struct Reaper {
    children: RefCell<Vec<Rc<ChildState>>>,
    listener: RefCell<Option<Listener>>,
}

/// Each loop's reaper, by loop id, with the loop to tell when it is gone.
type Reapers = HashMap<u64, (Weak<Core>, Rc<Reaper>)>;

thread_local! {
    static REAPERS: RefCell<Reapers> = RefCell::new(HashMap::new());
}

impl Reaper {
    /// The reaper of `core`'s loop, listening to SIGCHLD.
    fn of(core: &Rc<Core>) -> Result<Rc<Reaper>, crate::signal::SignalError> {
        let reaper = REAPERS.with(|reapers| {
            let mut reapers = reapers.borrow_mut();
            // Reapers of loops gone: their children become orphans.
            reapers.retain(|_, (core, _)| core.strong_count() > 0);
            reapers
                .entry(core.id())
                .or_insert_with(|| {
                    let reaper = Rc::new(Reaper {
                        children: RefCell::new(Vec::new()),
                        listener: RefCell::new(None),
                    });
                    (Rc::downgrade(core), reaper)
                })
                .1
                .clone()
        });
        if reaper.listener.borrow().is_none() {
            let weak = Rc::downgrade(&reaper);
            let listener = Listener::new(
                core,
                SIGCHLD,
                Rc::new(move || {
                    if let Some(reaper) = weak.upgrade() {
                        reaper.on_sigchld();
                    }
                }),
            )?;
            *reaper.listener.borrow_mut() = Some(listener);
        }
        Ok(reaper)
    }

    fn adopt(&self, child: Rc<ChildState>) {
        self.children.borrow_mut().push(child);
    }

    fn on_sigchld(&self) {
        let children = std::mem::take(&mut *self.children.borrow_mut());
        let mut running = Vec::with_capacity(children.len());
        for child in children {
            if !child.check() {
                running.push(child);
            }
        }
        let idle = running.is_empty();
        self.children.borrow_mut().extend(running);
        reap_orphans();
        if idle && self.children.borrow().is_empty() {
            // No child left: stop listening (frees the loop's self-pipe).
            let listener = self.listener.borrow_mut().take();
            drop(listener);
        }
    }
}
