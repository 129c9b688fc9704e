//! Many cores: a [`LoopGroup`] runs one event loop per thread and lets a
//! program use them as one.
//!
//! Each loop is exactly the single-threaded [`EventLoop`]: tasks stay
//! `!Send` and never migrate. Work is placed when it is spawned, through a
//! `Send` closure that builds the (possibly `!Send`) future on the chosen
//! loop: [`GroupHandle::spawn`] picks the loop with the fewest live tasks
//! placed through the group (ties broken at random), and
//! [`GroupHandle::spawn_on`] names one. The returned [`GroupTask`] is `Send`:
//! await it on any loop, combine it with `gather`, `wait_for` or
//! `as_completed`, block a thread on it; cancelling it, or dropping it after
//! awaiting it, cancels the task on its own loop. [`GroupHandle::scope`] is
//! a structured scope whose children run on several loops.
//!
//! Loops talk only through their inboxes ([`LoopHandle::call_soon_threadsafe`]):
//! posts between two iterations of a busy loop cost no system call, and a
//! parked loop is woken once per batch (see the inbox rule in
//! [`crate::runtime`]).
//!
//! **Close.** [`LoopGroup::close`] (and dropping the group) stops every loop,
//! cancels the tasks left on it and closes it, then joins the threads for at
//! most [`Builder::close_timeout`]. A loop stuck in a blocking call is left
//! behind (its thread detached) and named in the [`CloseReport`], as is a
//! loop thread that died; a panic in a task or callback stays on its loop,
//! as on any loop.
//!
//! **Virtual time.** [`Builder::virtual_time`] gives the group one virtual
//! clock, shared by every loop. It jumps, to the earliest timer of any
//! loop, only when every loop is idle (nothing ready) and nothing is on its
//! way between them (every idle loop's inbox is empty); the loops whose
//! timer is then due wake together. So a test over several loops with
//! sleeps and timeouts runs at once and sees the same order on every run.
//! A loop waiting for I/O or an executor job waits in real time meanwhile,
//! and a post from a plain thread arrives whenever that thread sends it:
//! for a deterministic test, start the work from a loop of the group
//! ([`Builder::run`], [`run_group`]).
//!
//! **Trace.** [`Builder::trace`] (or `TULIPA_TRACE`) writes one timeline
//! for the whole group: a lane per loop, and an arrow for each piece of
//! work placed from one loop on another and for its result coming back
//! (see [`crate::trace`]).
//!
//! **Pinning.** [`Builder::pin_to_cores`] restricts each loop thread to one
//! CPU (Linux's `sched_setaffinity`); [`thread_cores`] reads the mask back.
//!
//! # Examples
//!
//! ```
//! use std::rc::Rc;
//!
//! let sum = tulipa::run_group(3, async {
//!     let group = tulipa::group().unwrap();
//!     let parts: Vec<_> = (0..6u64)
//!         .map(|i| group.spawn(move || async move { *Rc::new(i * i) }).unwrap())
//!         .collect();
//!     tulipa::gather(parts).await.into_iter().map(Result::unwrap).sum::<u64>()
//! })
//! .unwrap();
//! assert_eq!(sum, 55);
//! ```

mod lock_and_flag;
mod placement;
mod scope;
#[cfg(unix)]
mod server;
mod stats;
mod task;

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;
use parking_lot::{Condvar, Mutex};

pub use scope::Scope;
#[cfg(unix)]
pub use server::{GroupServer, ServeMode};
pub use stats::{GroupStats, LoopReport};
pub use task::GroupTask;

use self::placement::{By, Load, LoadGuard, Loads};
use self::task::{run_remote, Completer, TaskShared};
use crate::runtime::clock::{ClockMember, GroupClock};
use crate::runtime::{EventLoop, LoopHandle, RunError};
use crate::trace::GroupTrace;

/// A hook run on a loop thread, given the loop's index.
type Hook = Arc<dyn Fn(usize) + Send + Sync>;

/// Configures a [`LoopGroup`].
///
/// # Examples
///
/// ```
/// let group = tulipa::group::Builder::new()
///     .loops(2)
///     .thread_name("worker")
///     .build()
///     .unwrap();
/// let name = group
///     .spawn_on(1, || async { std::thread::current().name().map(str::to_owned) })
///     .unwrap()
///     .wait()
///     .unwrap();
/// assert_eq!(name.as_deref(), Some("worker-1"));
/// assert!(group.close().is_clean());
/// ```
#[derive(Clone)]
pub struct Builder {
    loops: Option<usize>,
    thread_name: String,
    virtual_time: bool,
    debug: Option<bool>,
    trace: Option<PathBuf>,
    close_timeout: Duration,
    on_thread_start: Option<Hook>,
    on_thread_stop: Option<Hook>,
    pinning: Pinning,
}

/// Which CPU each loop thread is restricted to.
#[derive(Debug, Clone)]
enum Pinning {
    /// The OS schedules the threads (the default).
    Off,
    /// Loop `i` on the `i`-th CPU the process may use, wrapping around.
    Available,
    /// Loop `i` on `cores[i % cores.len()]`.
    Cores(Vec<usize>),
}

impl Default for Builder {
    fn default() -> Builder {
        Builder {
            loops: None,
            thread_name: "tulipa-loop".to_owned(),
            virtual_time: false,
            debug: None,
            trace: None,
            close_timeout: Duration::from_secs(5),
            on_thread_start: None,
            on_thread_stop: None,
            pinning: Pinning::Off,
        }
    }
}

impl Builder {
    /// A builder with the defaults: one loop per available core, threads
    /// named `tulipa-loop-<index>`, real time, a 5-second close timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = tulipa::group::Builder::new().loops(2);
    /// let group = b.build().unwrap();
    /// assert_eq!(group.len(), 2);
    /// assert!(group.close().is_clean());
    /// ```
    pub fn new() -> Builder {
        Builder::default()
    }

    /// How many loops (default: `std::thread::available_parallelism()`).
    ///
    /// # Examples
    ///
    /// ```
    /// let group = tulipa::LoopGroup::builder().loops(3).build().unwrap();
    /// assert_eq!(group.handles().len(), 3);
    /// # drop(group);
    /// ```
    pub fn loops(mut self, n: usize) -> Builder {
        self.loops = Some(n);
        self
    }

    /// The prefix of the loop threads' names; loop `i` is `<prefix>-<i>`.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = tulipa::LoopGroup::builder().loops(1).thread_name("io").build().unwrap();
    /// let name = group.spawn_on(0, || async { std::thread::current().name().unwrap().to_owned() });
    /// assert_eq!(name.unwrap().wait().unwrap(), "io-0");
    /// # drop(group);
    /// ```
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Builder {
        self.thread_name = prefix.into();
        self
    }

    /// Gives the group one virtual clock, shared by every loop: it jumps to
    /// the next timer of any loop when every loop is idle and no post is on
    /// its way between them (see the [module docs](self)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let order = tulipa::LoopGroup::builder().loops(2).virtual_time().run(async {
    ///     let group = tulipa::group().unwrap();
    ///     let start = tulipa::now();
    ///     let late = group.spawn_on(1, || async { tulipa::sleep(Duration::from_secs(60)).await; 1 });
    ///     tulipa::sleep(Duration::from_secs(30)).await;
    ///     let first = 0;
    ///     let second = late.unwrap().await.unwrap();
    ///     (first, second, tulipa::now() - start)
    /// });
    /// assert_eq!(order.unwrap(), (0, 1, Duration::from_secs(60))); // at once, exactly
    /// ```
    pub fn virtual_time(mut self) -> Builder {
        self.virtual_time = true;
        self
    }

    /// Debug mode on every loop (see [`crate::Builder::debug`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let group = tulipa::LoopGroup::builder().loops(1).debug(true).build().unwrap();
    /// let debug = group.spawn_on(0, || async { tulipa::get_running_loop().unwrap().is_debug() });
    /// assert!(debug.unwrap().wait().unwrap());
    /// # drop(group);
    /// ```
    pub fn debug(mut self, on: bool) -> Builder {
        self.debug = Some(on);
        self
    }

    /// Records one timeline of every loop in the Chrome trace-event JSON
    /// file at `path`: a lane per loop, and an arrow for each spawn from one
    /// loop (or thread) onto another and for its result (see
    /// [`crate::trace`]). Each loop writes the file as it closes, with
    /// everything recorded so far, so the last to close leaves it whole.
    /// Without this call, the `TULIPA_TRACE` environment variable names the
    /// file.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("tulipa-doc-group-{}.json", std::process::id()));
    /// tulipa::LoopGroup::builder().loops(2).trace(&path).run(async {
    ///     let group = tulipa::group().unwrap();
    ///     group.spawn_on(1, || async { 7 }).unwrap().await.unwrap()
    /// })
    /// .unwrap();
    /// let trace = std::fs::read_to_string(&path).unwrap();
    /// assert!(trace.contains("\"loop 0\"") && trace.contains("\"loop 1\""));
    /// assert!(trace.contains("\"ph\":\"s\"") && trace.contains("\"ph\":\"f\"")); // the arrows
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn trace(mut self, path: impl Into<PathBuf>) -> Builder {
        self.trace = Some(path.into());
        self
    }

    /// How long [`LoopGroup::close`] waits for the loop threads to end
    /// (default 5 s; any duration is accepted) before it detaches the ones
    /// still running and reports them.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let group = tulipa::LoopGroup::builder()
    ///     .loops(1)
    ///     .close_timeout(Duration::from_millis(100))
    ///     .build()
    ///     .unwrap();
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// // Blocks its loop's thread until told to end.
    /// let (end_tx, end_rx) = std::sync::mpsc::channel::<()>();
    /// drop(group.spawn_on(0, move || async move { tx.send(()).unwrap(); let _ = end_rx.recv(); }));
    /// rx.recv().unwrap();
    /// let started = Instant::now();
    /// assert_eq!(group.close().stuck, [0]); // given up on after the timeout
    /// assert!(started.elapsed() < Duration::from_secs(5));
    /// drop(end_tx);
    /// ```
    pub fn close_timeout(mut self, timeout: Duration) -> Builder {
        self.close_timeout = timeout;
        self
    }

    /// Pins loop `i` to the `i`-th CPU the calling thread may run on
    /// (wrapping around when there are more loops than CPUs), with
    /// `sched_setaffinity(2)`. With [`run`](Builder::run), loop 0 is the
    /// calling thread, which stays pinned afterwards. Linux only.
    ///
    /// [`build`](Builder::build) reports a failure as
    /// [`LoopGroupError::Pin`].
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// let cores = tulipa::group::thread_cores().unwrap();
    /// let group = tulipa::LoopGroup::builder().loops(1).pin_to_cores().build().unwrap();
    /// let seen = group.spawn_on(0, || async { tulipa::group::thread_cores().unwrap() });
    /// assert_eq!(seen.unwrap().wait().unwrap(), [cores[0]]);
    /// # }
    /// ```
    pub fn pin_to_cores(mut self) -> Builder {
        self.pinning = Pinning::Available;
        self
    }

    /// Pins loop `i` to CPU `cores[i % cores.len()]` (as
    /// [`pin_to_cores`](Builder::pin_to_cores), with the CPUs chosen).
    ///
    /// [`build`](Builder::build) reports an empty list, or a CPU the
    /// calling thread may not run on, as [`LoopGroupError::Pin`].
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// let err = tulipa::LoopGroup::builder().loops(1).pin_loops_to([100_000]).build();
    /// assert!(matches!(
    ///     err.unwrap_err(),
    ///     tulipa::group::LoopGroupError::Pin(tulipa::group::PinError::NoSuchCore { core: 100_000, .. })
    /// ));
    /// # }
    /// ```
    pub fn pin_loops_to(mut self, cores: impl IntoIterator<Item = usize>) -> Builder {
        self.pinning = Pinning::Cores(cores.into_iter().collect());
        self
    }

    /// Runs `hook(index)` on each loop thread before its loop starts. A
    /// panic in it ends that loop's thread: the loop is reported as dead and
    /// receives no work.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let seen = started.clone();
    /// let group = tulipa::LoopGroup::builder()
    ///     .loops(3)
    ///     .on_thread_start(move |_| { seen.fetch_add(1, Ordering::SeqCst); })
    ///     .build()
    ///     .unwrap();
    /// // Each hook ran before its loop took any work.
    /// for i in 0..3 {
    ///     group.spawn_on(i, || async {}).unwrap().wait().unwrap();
    /// }
    /// assert_eq!(started.load(Ordering::SeqCst), 3);
    /// # drop(group);
    /// ```
    pub fn on_thread_start<H: Fn(usize) + Send + Sync + 'static>(mut self, hook: H) -> Builder {
        self.on_thread_start = Some(Arc::new(hook));
        self
    }

    /// Runs `hook(index)` on each loop thread after its loop closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    ///
    /// let stopped = Arc::new(Mutex::new(Vec::new()));
    /// let seen = stopped.clone();
    /// let group = tulipa::LoopGroup::builder()
    ///     .loops(2)
    ///     .on_thread_stop(move |i| seen.lock().unwrap().push(i))
    ///     .build()
    ///     .unwrap();
    /// assert!(group.close().is_clean());
    /// let mut stopped = stopped.lock().unwrap().clone();
    /// stopped.sort();
    /// assert_eq!(stopped, [0, 1]);
    /// ```
    pub fn on_thread_stop<H: Fn(usize) + Send + Sync + 'static>(mut self, hook: H) -> Builder {
        self.on_thread_stop = Some(Arc::new(hook));
        self
    }

    /// Starts the loops, each on its own thread.
    ///
    /// # Errors
    ///
    /// [`LoopGroupError::NoLoops`] for zero loops; [`LoopGroupError::Io`] if
    /// a loop's selector or a thread cannot be created;
    /// [`LoopGroupError::Pin`] if pinning was asked for and a loop thread
    /// cannot be pinned (the loops already started are closed again).
    ///
    /// # Examples
    ///
    /// ```
    /// let group = tulipa::LoopGroup::builder().loops(2).build().unwrap();
    /// assert_eq!(group.spawn(|| async { 1 + 1 }).unwrap().wait().unwrap(), 2);
    /// assert!(tulipa::LoopGroup::builder().loops(0).build().is_err()); // no loops
    /// # drop(group);
    /// ```
    pub fn build(self) -> Result<LoopGroup, LoopGroupError> {
        self.start(false).map(|(group, _)| group)
    }

    /// Runs `main` on loop 0, which is this thread, while the other loops run
    /// on their own threads; then cancels what is left and closes the group
    /// (as [`run_group`]).
    ///
    /// # Errors
    ///
    /// As [`build`](Builder::build), and [`LoopGroupError::Run`] if loop 0
    /// cannot run `main` (a loop already runs on this thread, or `main`
    /// stopped it).
    ///
    /// # Examples
    ///
    /// ```
    /// let on = tulipa::LoopGroup::builder()
    ///     .loops(2)
    ///     .run(async { tulipa::group().unwrap().current_loop() })
    ///     .unwrap();
    /// assert_eq!(on, Some(0)); // `main` runs on loop 0
    /// ```
    pub fn run<F: Future>(self, main: F) -> Result<F::Output, LoopGroupError> {
        let (group, lp) = self.start(true)?;
        let lp = lp.expect("loop 0 runs on this thread");
        let output = {
            let _current = Current::enter(group.handle.clone(), 0);
            lp.run(main)
        };
        group.handle.shared.record_exit(0, None);
        drop(group);
        output.map_err(LoopGroupError::Run)
    }

    fn loop_builder(&self, index: usize, parts: &Parts) -> crate::Builder {
        let mut b = EventLoop::builder();
        if let Some(on) = self.debug {
            b = b.debug(on);
        }
        let clock = parts
            .clock
            .clone()
            .map(|clock| ClockMember { clock, index });
        b.group_member(clock, parts.trace.clone().map(|t| (t, index)))
    }

    /// Starts the threads; with `caller_is_loop_0`, loop 0 is built here and
    /// returned instead of getting a thread.
    fn start(
        self,
        caller_is_loop_0: bool,
    ) -> Result<(LoopGroup, Option<EventLoop>), LoopGroupError> {
        let n = match self.loops {
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        if n == 0 {
            return Err(LoopGroupError::NoLoops);
        }
        let pins = self.resolve_pins(n)?;
        let trace = self
            .trace
            .clone()
            .or_else(|| std::env::var_os("TULIPA_TRACE").map(PathBuf::from))
            .map(|path| GroupTrace::new(path, n));
        let parts = Parts {
            clock: self
                .virtual_time
                .then(|| GroupClock::new(n, trace.as_ref().map(|t| t.sink().clone()))),
            trace,
        };
        let mut handles = Vec::with_capacity(n);
        let mut starts = Vec::with_capacity(n);
        let mut threads = Vec::with_capacity(n);
        let mut caller_loop = None;
        let mut failure = None;
        for index in 0..n {
            if index == 0 && caller_is_loop_0 {
                let built = pin_this_thread(0, pins[0]).and_then(|()| {
                    let builder = self.loop_builder(0, &parts);
                    builder.build().map_err(LoopGroupError::Io)
                });
                match built {
                    Ok(lp) => {
                        handles.push(lp.handle());
                        caller_loop = Some(lp);
                    }
                    Err(e) => failure = Some(e),
                }
                threads.push(None);
                continue;
            }
            match self.spawn_thread(index, pins[index], &parts) {
                Ok((handle, go, thread)) => {
                    handles.push(handle);
                    starts.push(go);
                    threads.push(Some(thread));
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
            if failure.is_some() {
                break;
            }
        }
        if let Some(e) = failure {
            // Dropping the start channels ends the threads started so far.
            drop(starts);
            for thread in threads.into_iter().flatten() {
                let _ = thread.join();
            }
            return Err(e);
        }
        let loads: Loads = (0..n)
            .map(|_| Arc::new(CachePadded::new(Load::default())))
            .collect();
        if let Some(clock) = &parts.clock {
            for (index, handle) in handles.iter().enumerate() {
                clock.attach(index, handle.remote.clone());
            }
        }
        let shared = Arc::new(GroupLoops {
            handles: handles.into(),
            loads,
            clock: parts.clock,
            trace: parts.trace,
            closing: AtomicBool::new(false),
            exits: Mutex::new((0..n).map(|_| None).collect()),
            exited: Condvar::new(),
        });
        for go in starts {
            let _ = go.send(Start {
                shared: shared.clone(),
                on_start: self.on_thread_start.clone(),
                on_stop: self.on_thread_stop.clone(),
            });
        }
        let group = LoopGroup {
            handle: GroupHandle { shared },
            threads,
            close_timeout: self.close_timeout,
            closed: false,
        };
        Ok((group, caller_loop))
    }

    /// One loop thread: it builds its loop, hands back the loop's handle and
    /// waits for the group to exist before running.
    fn spawn_thread(
        &self,
        index: usize,
        pin: Option<usize>,
        parts: &Parts,
    ) -> Result<(LoopHandle, mpsc::Sender<Start>, JoinHandle<()>), LoopGroupError> {
        let (ready_tx, ready_rx) = mpsc::channel::<Result<LoopHandle, LoopGroupError>>();
        let (go_tx, go_rx) = mpsc::channel::<Start>();
        let builder = self.loop_builder(index, parts);
        let thread = std::thread::Builder::new()
            .name(format!("{}-{index}", self.thread_name))
            .spawn(move || {
                if let Err(e) = pin_this_thread(index, pin) {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
                let lp = match builder.build().map_err(LoopGroupError::Io) {
                    Ok(lp) => lp,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(lp.handle()));
                if let Ok(start) = go_rx.recv() {
                    loop_thread(index, lp, start);
                }
            })
            .map_err(LoopGroupError::Io)?;
        match ready_rx.recv() {
            Ok(Ok(handle)) => Ok((handle, go_tx, thread)),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(LoopGroupError::Io(io::Error::other(
                    "a loop thread ended while starting",
                )))
            }
        }
    }
}

impl Builder {
    /// The CPU of each loop, checked against the CPUs the calling thread
    /// may run on.
    fn resolve_pins(&self, n: usize) -> Result<Vec<Option<usize>>, LoopGroupError> {
        let wanted = match &self.pinning {
            Pinning::Off => return Ok(vec![None; n]),
            Pinning::Cores(cores) if cores.is_empty() => {
                return Err(LoopGroupError::Pin(PinError::NoCores))
            }
            Pinning::Cores(cores) => Some(cores),
            Pinning::Available => None,
        };
        let available = thread_cores().map_err(|error| {
            LoopGroupError::Pin(match error.kind() {
                io::ErrorKind::Unsupported => PinError::Unsupported,
                _ => PinError::Os {
                    index: 0,
                    core: None,
                    error,
                },
            })
        })?;
        if available.is_empty() {
            return Err(LoopGroupError::Pin(PinError::NoCores));
        }
        (0..n)
            .map(|index| {
                let core = match wanted {
                    Some(cores) => cores[index % cores.len()],
                    None => available[index % available.len()],
                };
                if available.contains(&core) {
                    Ok(Some(core))
                } else {
                    Err(LoopGroupError::Pin(PinError::NoSuchCore {
                        index,
                        core,
                        available: available.clone(),
                    }))
                }
            })
            .collect()
    }
}

/// Pins the calling thread, which is to run loop `index`, to `core`.
fn pin_this_thread(index: usize, core: Option<usize>) -> Result<(), LoopGroupError> {
    let Some(core) = core else { return Ok(()) };
    #[cfg(target_os = "linux")]
    let pinned = crate::net::sys::pin_thread(core);
    #[cfg(not(target_os = "linux"))]
    let pinned: io::Result<()> = Err(io::ErrorKind::Unsupported.into());
    pinned.map_err(|error| {
        LoopGroupError::Pin(PinError::Os {
            index,
            core: Some(core),
            error,
        })
    })
}

/// The CPUs the calling thread may run on, ascending (Linux's
/// `sched_getaffinity(2)`): on a loop of a group built with
/// [`Builder::pin_to_cores`], exactly the loop's core.
///
/// # Errors
///
/// The OS error; [`io::ErrorKind::Unsupported`] off Linux.
///
/// # Examples
///
/// ```
/// # #[cfg(target_os = "linux")] {
/// let cores = tulipa::group::thread_cores().unwrap();
/// assert!(!cores.is_empty());
/// assert!(cores.windows(2).all(|w| w[0] < w[1]));
/// # }
/// ```
pub fn thread_cores() -> io::Result<Vec<usize>> {
    #[cfg(target_os = "linux")]
    return crate::net::sys::thread_cores();
    #[cfg(not(target_os = "linux"))]
    return Err(io::ErrorKind::Unsupported.into());
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("loops", &self.loops)
            .field("thread_name", &self.thread_name)
            .field("virtual_time", &self.virtual_time)
            .field("close_timeout", &self.close_timeout)
            .field("pinning", &self.pinning)
            .finish_non_exhaustive()
    }
}

/// What the loops of one group share from the start: the clock and the trace.
struct Parts {
    clock: Option<Arc<GroupClock>>,
    trace: Option<GroupTrace>,
}

/// What a loop thread needs once the group exists.
struct Start {
    shared: Arc<GroupLoops>,
    on_start: Option<Hook>,
    on_stop: Option<Hook>,
}

/// The body of a loop thread: run until the group closes (a stray `stop`
/// from user code does not end the loop), then cancel what is left and close.
fn loop_thread(index: usize, lp: EventLoop, start: Start) {
    let Start {
        shared,
        on_start,
        on_stop,
    } = start;
    let group = GroupHandle {
        shared: shared.clone(),
    };
    let closing = shared.clone();
    let outcome = catch_unwind(AssertUnwindSafe(move || {
        let _current = Current::enter(group, index);
        if let Some(hook) = &on_start {
            hook(index);
        }
        loop {
            let _ = lp.run_forever();
            // ORDERING: Acquire pairs with `close`'s Release store, made
            // before it posts the stop that ended `run_forever`.
            if closing.closing.load(Ordering::Acquire) {
                break;
            }
        }
        // As `tulipa::run`: cancel every task left, let them unwind, close.
        let _ = lp.run(std::future::ready(()));
        if let Some(hook) = &on_stop {
            hook(index);
        }
    }));
    let died = outcome
        .err()
        .map(|payload| crate::task::panic_message(&*payload));
    shared.record_exit(index, died);
}

/// The loops of a group, and what they share: placement loads, the shared
/// virtual clock and trace, the close flag and each thread's exit.
struct GroupLoops {
    handles: Box<[LoopHandle]>,
    loads: Loads,
    clock: Option<Arc<GroupClock>>,
    trace: Option<GroupTrace>,
    closing: AtomicBool,
    /// `Some(None)`: the loop's thread ended normally; `Some(Some(msg))`: it died.
    exits: Mutex<Vec<Option<Option<String>>>>,
    exited: Condvar,
}

impl GroupLoops {
    fn record_exit(&self, index: usize, died: Option<String>) {
        // ORDERING: a placement hint (see `placement::least_loaded`).
        self.loads[index].gone.store(true, Ordering::Relaxed);
        if let Some(clock) = &self.clock {
            clock.leave(index);
        }
        if let Some(message) = &died {
            report_death(index, message);
        }
        self.exits.lock()[index] = Some(died);
        self.exited.notify_all();
    }
}

fn report_death(index: usize, message: &str) {
    if log::max_level() == log::LevelFilter::Off {
        eprintln!("tulipa: loop {index} of the group died: {message}");
    } else {
        log::error!(target: "tulipa", "loop {index} of the group died: {message}");
    }
}

thread_local! {
    /// The group and index of the loop running on this thread.
    static CURRENT: RefCell<Option<(GroupHandle, usize)>> = const { RefCell::new(None) };
}

/// Marks this thread as loop `index` of a group until dropped.
struct Current;

impl Current {
    fn enter(group: GroupHandle, index: usize) -> Current {
        CURRENT.with(|c| *c.borrow_mut() = Some((group, index)));
        Current
    }
}

impl Drop for Current {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.borrow_mut().take());
    }
}

/// The group whose loop runs on this thread, if any (a loop of a
/// [`LoopGroup`], or loop 0 of [`run_group`]).
///
/// # Examples
///
/// ```
/// assert!(tulipa::group().is_none());
/// let n = tulipa::run_group(2, async { tulipa::group().unwrap().len() }).unwrap();
/// assert_eq!(n, 2);
/// ```
pub fn group() -> Option<GroupHandle> {
    CURRENT
        .try_with(|c| c.borrow().as_ref().map(|(g, _)| g.clone()))
        .ok()
        .flatten()
}

/// Runs `main` on loop 0 of a new group of `loops` loops (loop 0 is the
/// calling thread, so `main` need not be `Send`), then cancels every task
/// left on every loop and closes the group: `tulipa::run` for many cores.
///
/// # Errors
///
/// As [`Builder::run`].
///
/// # Examples
///
/// ```
/// let loops = tulipa::run_group(4, async {
///     let group = tulipa::group().unwrap();
///     let mut seen = Vec::new();
///     for i in 0..4 {
///         let task = group.spawn_on(i, || async { tulipa::group().unwrap().current_loop() });
///         seen.push(task.unwrap().await.unwrap().unwrap());
///     }
///     seen
/// })
/// .unwrap();
/// assert_eq!(loops, [0, 1, 2, 3]);
/// ```
pub fn run_group<F: Future>(loops: usize, main: F) -> Result<F::Output, LoopGroupError> {
    Builder::new().loops(loops).run(main)
}

/// A `Send + Sync + Clone` handle to a group: place work, reach its loops.
/// [`LoopGroup`] dereferences to one; [`group()`] gives one inside a loop.
///
/// # Examples
///
/// ```
/// let group = tulipa::LoopGroup::new(2).unwrap();
/// let handle: tulipa::group::GroupHandle = (*group).clone();
/// let t = std::thread::spawn(move || handle.spawn(|| async { 5 }).unwrap().wait().unwrap());
/// assert_eq!(t.join().unwrap(), 5);
/// # drop(group);
/// ```
#[derive(Clone)]
pub struct GroupHandle {
    shared: Arc<GroupLoops>,
}

impl GroupHandle {
    /// The number of loops.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = tulipa::LoopGroup::new(3).unwrap();
    /// assert_eq!(group.len(), 3);
    /// # drop(group);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.handles.len()
    }

    /// Always `false`: a group has at least one loop.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = tulipa::LoopGroup::new(1).unwrap();
    /// assert!(!group.is_empty());
    /// # drop(group);
    /// ```
    pub fn is_empty(&self) -> bool {
        self.shared.handles.is_empty()
    }

    /// The loops' handles, by index.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = tulipa::LoopGroup::new(3).unwrap();
    /// assert_eq!(group.handles().len(), 3);
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// group.handles()[2].call_soon_threadsafe(move || tx.send(2).unwrap()).unwrap();
    /// assert_eq!(rx.recv().unwrap(), 2);
    /// # drop(group);
    /// ```
    pub fn handles(&self) -> &[LoopHandle] {
        &self.shared.handles
    }

    /// The index of the loop running on the calling thread, if it is one of
    /// this group's.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = tulipa::LoopGroup::new(2).unwrap();
    /// assert_eq!(group.current_loop(), None); // this thread is no loop
    /// let handle = (*group).clone();
    /// let on = group.spawn_on(1, move || async move { handle.current_loop() });
    /// assert_eq!(on.unwrap().wait().unwrap(), Some(1));
    /// # drop(group);
    /// ```
    pub fn current_loop(&self) -> Option<usize> {
        CURRENT
            .try_with(|c| match &*c.borrow() {
                Some((g, i)) if Arc::ptr_eq(&g.shared, &self.shared) => Some(*i),
                _ => None,
            })
            .ok()
            .flatten()
    }

    /// Live tasks placed on loop `index` through the group (what
    /// [`spawn`](GroupHandle::spawn) compares); 0 for an unknown index.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = tulipa::LoopGroup::new(2).unwrap();
    /// let task = group.spawn_on(1, || std::future::pending::<()>()).unwrap();
    /// assert_eq!((group.load(0), group.load(1)), (0, 1));
    /// assert!(task.cancel());
    /// let _ = task.wait();
    /// while group.load(1) != 0 {
    ///     std::thread::yield_now(); // the count drops as the task unwinds on loop 1
    /// }
    /// assert_eq!(group.load(7), 0); // no such loop
    /// # drop(group);
    /// ```
    pub fn load(&self, index: usize) -> usize {
        self.shared.loads.get(index).map_or(0, |l| {
            // ORDERING: a snapshot for display and placement.
            l.tasks.load(Ordering::Relaxed)
        })
    }

    /// Places `build` on the loop with the fewest live tasks placed through
    /// the group (ties broken at random) and returns the task's handle.
    ///
    /// `build` is `Send`; it runs on the chosen loop and the future it
    /// returns may be `!Send`. The task first runs in that loop's next
    /// iteration after it sees the post, and never moves.
    ///
    /// # Errors
    ///
    /// [`SpawnError::Closed`] if every loop has ended;
    /// [`SpawnError::LoopClosed`] if the chosen loop closed while the post
    /// was on its way.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = tulipa::LoopGroup::new(2).unwrap();
    /// let a = group.spawn(|| std::future::pending::<()>()).unwrap();
    /// let b = group.spawn(|| std::future::pending::<()>()).unwrap();
    /// assert_ne!(a.loop_index(), b.loop_index()); // the second goes to the idle loop
    /// # drop(group);
    /// ```
    pub fn spawn<F, Fut>(&self, build: F) -> Result<GroupTask<Fut::Output>, SpawnError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let index =
            placement::least_loaded(&self.shared.loads, By::Tasks).ok_or(SpawnError::Closed)?;
        self.spawn_on(index, build)
    }

    /// Like [`spawn`](GroupHandle::spawn), on loop `index`.
    ///
    /// Spawning on the calling thread's own loop spawns at once, without a post.
    ///
    /// # Errors
    ///
    /// [`SpawnError::NoSuchLoop`] for an index past the end;
    /// [`SpawnError::LoopClosed`] if that loop has ended.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = tulipa::LoopGroup::new(2).unwrap();
    /// let task = group.spawn_on(1, || async { 2 + 2 }).unwrap();
    /// assert_eq!(task.loop_index(), 1);
    /// assert_eq!(task.wait().unwrap(), 4);
    /// assert!(group.spawn_on(2, || async {}).unwrap_err().is_no_such_loop());
    /// # drop(group);
    /// ```
    pub fn spawn_on<F, Fut>(
        &self,
        index: usize,
        build: F,
    ) -> Result<GroupTask<Fut::Output>, SpawnError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        self.spawn_shared(index, build, None)
    }

    pub(crate) fn spawn_shared<F, Fut>(
        &self,
        index: usize,
        build: F,
        upstream: Option<Arc<dyn task::Cancel>>,
    ) -> Result<GroupTask<Fut::Output>, SpawnError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let Some(handle) = self.shared.handles.get(index) else {
            return Err(SpawnError::NoSuchLoop {
                index,
                loops: self.len(),
            });
        };
        // ORDERING: see `placement::least_loaded`.
        if self.shared.loads[index].gone.load(Ordering::Relaxed) {
            return Err(SpawnError::LoopClosed { index });
        }
        let shared = TaskShared::new(upstream);
        let completer = Completer::new(shared.clone());
        let load = LoadGuard::new(&self.shared.loads, index, By::Tasks);
        // Traced: an arrow from here to the loop for the spawn, and one
        // back from there for the result.
        let flows = self.shared.trace.as_ref().map(|trace| {
            let (spawn, result) = (trace.next_flow(), trace.next_flow());
            trace
                .sink()
                .flow(self.trace_lane(trace), "spawn", spawn, true);
            (trace.clone(), spawn, result)
        });
        let result_flow = flows.as_ref().map(|(t, _, result)| (t.clone(), *result));
        let start = move || {
            if let Some((trace, spawn, _)) = &flows {
                trace.sink().flow(index, "spawn", *spawn, false);
            }
            drop(crate::spawn(async move {
                let _load = load;
                run_remote(build, completer).await;
                if let Some((trace, _, result)) = &flows {
                    trace.sink().flow(index, "result", *result, true);
                }
            }));
        };
        if self.current_loop() == Some(index) && crate::get_running_loop().is_some() {
            start();
        } else {
            handle
                .call_soon_threadsafe(start)
                .map_err(|_| SpawnError::LoopClosed { index })?;
        }
        Ok(GroupTask::new(shared, index, result_flow))
    }

    /// The trace lane of the calling thread: its loop's, or a thread lane.
    fn trace_lane(&self, trace: &GroupTrace) -> usize {
        self.current_loop()
            .unwrap_or_else(|| trace.sink().lane_of_current_thread())
    }
}

impl fmt::Debug for GroupHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let loads: Vec<usize> = (0..self.len()).map(|i| self.load(i)).collect();
        f.debug_struct("GroupHandle")
            .field("loops", &self.len())
            .field("load", &loads)
            .finish()
    }
}

/// One event loop per thread, used as one (see the [module docs](self)).
///
/// Dereferences to its [`GroupHandle`] for placing work. Dropping it closes
/// it, as [`close`](LoopGroup::close) does.
///
/// # Examples
///
/// ```
/// let group = tulipa::LoopGroup::new(2).unwrap();
/// let tasks: Vec<_> = (0..4).map(|i| group.spawn(move || async move { i * 10 }).unwrap()).collect();
/// let total: i32 = tasks.into_iter().map(|t| t.wait().unwrap()).sum();
/// assert_eq!(total, 60);
/// let report = group.close();
/// assert!(report.is_clean());
/// ```
pub struct LoopGroup {
    handle: GroupHandle,
    threads: Vec<Option<JoinHandle<()>>>,
    close_timeout: Duration,
    closed: bool,
}

impl LoopGroup {
    /// `n` loops, each on its own thread, with the [`Builder`]'s defaults.
    ///
    /// # Errors
    ///
    /// As [`Builder::build`].
    ///
    /// # Examples
    ///
    /// ```
    /// let group = tulipa::LoopGroup::new(2).unwrap();
    /// assert_eq!(group.len(), 2);
    /// assert!(tulipa::LoopGroup::new(0).is_err());
    /// # drop(group);
    /// ```
    pub fn new(n: usize) -> Result<LoopGroup, LoopGroupError> {
        Builder::new().loops(n).build()
    }

    /// A [`Builder`] for a group with non-default settings.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = tulipa::LoopGroup::builder().loops(1).thread_name("one").build().unwrap();
    /// assert_eq!(group.len(), 1);
    /// # drop(group);
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Stops every loop, cancels the tasks left on it, closes it, and joins
    /// its thread, waiting at most the close timeout in all; returns what did
    /// not end cleanly.
    ///
    /// Never hangs: a loop stuck in a blocking call (a task that never
    /// yields, an executor job it waits for synchronously) is detached and
    /// listed in [`CloseReport::stuck`]. Called from one of the group's own
    /// loops, that loop cannot end while it waits and is listed as stuck.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let group = tulipa::LoopGroup::builder()
    ///     .loops(2)
    ///     .close_timeout(Duration::from_millis(200))
    ///     .build()
    ///     .unwrap();
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// // A task that blocks its loop's thread for good.
    /// drop(group.spawn_on(1, move || async move { let _ = tx.send(()); std::thread::park(); }));
    /// rx.recv().unwrap();
    /// let report = group.close();
    /// assert_eq!(report.stuck, [1]);
    /// ```
    pub fn close(mut self) -> CloseReport {
        self.shutdown()
    }

    fn shutdown(&mut self) -> CloseReport {
        if std::mem::replace(&mut self.closed, true) {
            return CloseReport::default();
        }
        let shared = &self.handle.shared;
        // ORDERING: Release, before the stops; see `loop_thread`.
        shared.closing.store(true, Ordering::Release);
        for handle in shared.handles.iter() {
            let _ = handle.stop();
        }
        let own = self.handle.current_loop();
        let deadline = Instant::now().checked_add(self.close_timeout);
        {
            let mut exits = shared.exits.lock();
            let all_ended = |exits: &Vec<Option<Option<String>>>| {
                exits
                    .iter()
                    .enumerate()
                    .all(|(i, e)| e.is_some() || Some(i) == own)
            };
            while !all_ended(&exits) {
                match deadline {
                    Some(deadline) => {
                        if shared.exited.wait_until(&mut exits, deadline).timed_out() {
                            break;
                        }
                    }
                    None => shared.exited.wait(&mut exits),
                }
            }
        }
        let exits = shared.exits.lock().clone();
        let mut report = CloseReport::default();
        for (index, thread) in self.threads.iter_mut().enumerate() {
            match &exits[index] {
                Some(died) => {
                    if let Some(thread) = thread.take() {
                        let _ = thread.join();
                    }
                    if let Some(message) = died {
                        report.died.push((index, message.clone()));
                    }
                }
                // A loop without a thread of its own is loop 0 of `run`,
                // which has ended by the time the group closes.
                None if thread.is_some() => {
                    drop(thread.take());
                    report.stuck.push(index);
                }
                None => {}
            }
        }
        report
    }
}

impl std::ops::Deref for LoopGroup {
    type Target = GroupHandle;

    fn deref(&self) -> &GroupHandle {
        &self.handle
    }
}

impl Drop for LoopGroup {
    fn drop(&mut self) {
        let report = self.shutdown();
        if !report.stuck.is_empty() {
            log::warn!(target: "tulipa", "loops {:?} of the group did not close in time", report.stuck);
        }
    }
}

impl fmt::Debug for LoopGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopGroup")
            .field("loops", &self.len())
            .field("closed", &self.closed)
            .finish()
    }
}

/// What [`LoopGroup::close`] could not end cleanly.
///
/// # Examples
///
/// ```
/// let report = tulipa::LoopGroup::new(1).unwrap().close();
/// assert!(report.is_clean());
/// assert!(report.stuck.is_empty() && report.died.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloseReport {
    /// Loops whose thread did not end within the close timeout (detached).
    pub stuck: Vec<usize>,
    /// Loops whose thread died, with the panic message.
    pub died: Vec<(usize, String)>,
}

impl CloseReport {
    /// Whether every loop ended normally in time.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = tulipa::LoopGroup::new(2).unwrap();
    /// let report = group.close();
    /// assert!(report.is_clean());
    /// ```
    pub fn is_clean(&self) -> bool {
        self.stuck.is_empty() && self.died.is_empty()
    }
}

/// Why a group could not be made or run.
#[derive(Debug)]
#[non_exhaustive]
pub enum LoopGroupError {
    /// A group needs at least one loop.
    NoLoops,
    /// A loop's selector or thread could not be created.
    Io(io::Error),
    /// Loop 0 could not run the main future ([`run_group`]).
    Run(RunError),
    /// A loop thread could not be pinned to its CPU
    /// ([`Builder::pin_to_cores`], [`Builder::pin_loops_to`]).
    Pin(PinError),
}

/// Why the loops of a group could not be pinned to their CPUs.
#[derive(Debug)]
#[non_exhaustive]
pub enum PinError {
    /// Loop `index` was to run on `core`, which is not one of the CPUs the
    /// calling thread may run on (it does not exist, is offline, or is
    /// outside the process's affinity mask).
    NoSuchCore {
        /// The loop's index.
        index: usize,
        /// The CPU asked for.
        core: usize,
        /// The CPUs that may be used.
        available: Vec<usize>,
    },
    /// The list of CPUs was empty.
    NoCores,
    /// The OS refused: `sched_setaffinity(2)` on loop `index`'s thread to
    /// `core`, or reading the affinity mask (`core` is `None`).
    Os {
        /// The loop's index.
        index: usize,
        /// The CPU asked for.
        core: Option<usize>,
        /// The OS error.
        error: io::Error,
    },
    /// Thread affinity is not available on this platform (only Linux).
    Unsupported,
}

impl fmt::Display for PinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PinError::NoSuchCore {
                index,
                core,
                available,
            } => write!(
                f,
                "cannot pin loop {index} to CPU {core}: the CPUs available are {available:?}"
            ),
            PinError::NoCores => f.write_str("no CPU to pin the loops to"),
            PinError::Os {
                index,
                core: Some(core),
                error,
            } => write!(f, "cannot pin loop {index} to CPU {core}: {error}"),
            PinError::Os {
                core: None, error, ..
            } => write!(f, "cannot read the thread's CPU affinity: {error}"),
            PinError::Unsupported => {
                f.write_str("pinning threads to CPUs is not supported on this platform")
            }
        }
    }
}

impl std::error::Error for PinError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PinError::Os { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl fmt::Display for LoopGroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoopGroupError::NoLoops => f.write_str("a loop group needs at least one loop"),
            LoopGroupError::Io(e) => write!(f, "cannot start the loop group: {e}"),
            LoopGroupError::Run(e) => write!(f, "loop 0 of the group: {e}"),
            LoopGroupError::Pin(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for LoopGroupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoopGroupError::Io(e) => Some(e),
            LoopGroupError::Run(e) => Some(e),
            LoopGroupError::Pin(e) => Some(e),
            LoopGroupError::NoLoops => None,
        }
    }
}

/// Why work could not be placed on a loop.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpawnError {
    /// The index is past the last loop.
    NoSuchLoop {
        /// The index asked for.
        index: usize,
        /// How many loops the group has.
        loops: usize,
    },
    /// That loop has ended (the group is closing, or its thread died).
    LoopClosed {
        /// The loop's index.
        index: usize,
    },
    /// Every loop of the group has ended.
    Closed,
}

impl SpawnError {
    /// Whether the index was past the last loop.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = tulipa::LoopGroup::new(1).unwrap();
    /// let err = group.spawn_on(5, || async {}).unwrap_err();
    /// assert!(err.is_no_such_loop() && !err.is_closed());
    /// # drop(group);
    /// ```
    pub fn is_no_such_loop(&self) -> bool {
        matches!(self, SpawnError::NoSuchLoop { .. })
    }

    /// Whether the loop (or every loop) had ended.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = tulipa::LoopGroup::new(1).unwrap();
    /// let handle = (*group).clone();
    /// assert!(group.close().is_clean());
    /// let err = handle.spawn_on(0, || async {}).unwrap_err();
    /// assert!(err.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, SpawnError::LoopClosed { .. } | SpawnError::Closed)
    }
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::NoSuchLoop { index, loops } => {
                write!(f, "no loop {index} in a group of {loops}")
            }
            SpawnError::LoopClosed { index } => write!(f, "loop {index} of the group has ended"),
            SpawnError::Closed => f.write_str("every loop of the group has ended"),
        }
    }
}

impl std::error::Error for SpawnError {}
