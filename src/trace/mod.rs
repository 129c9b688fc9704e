//! A timeline of what the loop ran: Chrome trace-event JSON (opens in
//! Perfetto or `chrome://tracing`) and, on request, an SVG picture of it.
//!
//! Turn it on with [`Builder::trace`](crate::Builder::trace) or the
//! `TULIPA_TRACE=path` environment variable. The loop records, on a lane
//! named `loop`:
//!
//! - one slice per `run_once` iteration (`run_once`);
//! - inside it, one slice per callback or task poll, named after the task
//!   (its name, or `task #id`), `main` for the future of `run_until_complete`;
//! - the selector wait (`poll`), or the virtual clock's jump (`virtual jump`);
//! - instant events for timer firings and for wake-ups from other threads.
//!
//! Work that other threads do for the loop (executor jobs) goes on a lane
//! per thread. Every slice is a complete event (`"ph": "X"`, start and
//! duration), so the file cannot hold an unmatched begin or end, even when a
//! task panics or the ring buffer has dropped old events.
//!
//! A [`LoopGroup`](crate::LoopGroup) traced with
//! [`group::Builder::trace`](crate::group::Builder::trace) writes one file
//! for all its loops: one lane per loop (`loop 0`, `loop 1`, ...), then the
//! other threads, on one time axis. Work placed on another loop shows as a
//! flow arrow (`"ph": "s"` to `"ph": "f"`) from the posting lane to the
//! loop that runs it (`spawn`), and from there back to the loop that
//! receives the result (`result`).
//!
//! Memory is bounded: events go into a ring buffer of
//! [`Builder::trace_capacity`](crate::Builder::trace_capacity) entries
//! (default 100 000); the oldest are dropped first and the file says how many.
//! The file is written when the loop closes.
//!
//! Timestamps are real time, plus the virtual clock's jumps on a loop with a
//! virtual clock, so a one-hour `sleep` shows as an hour-long gap while the
//! slices keep their real widths.
//!
//! ```
//! use std::time::Duration;
//!
//! let dir = std::env::temp_dir().join(format!("tulipa-doc-trace-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let (json, svg) = (dir.join("timeline.json"), dir.join("timeline.svg"));
//! let lp = tulipa::EventLoop::builder()
//!     .virtual_time()
//!     .trace(&json)
//!     .trace_svg(&svg)
//!     .build()
//!     .unwrap();
//! lp.run_until_complete(async {
//!     let ticker = tulipa::spawn_named("ticker", async {
//!         tulipa::sleep(Duration::from_secs(3600)).await; // an hour-long gap
//!     });
//!     ticker.await.unwrap();
//! })
//! .unwrap();
//! lp.close().unwrap(); // writes the files
//! let trace = std::fs::read_to_string(&json).unwrap();
//! assert!(trace.contains("\"run_once\"") && trace.contains("\"ticker\""));
//! assert!(trace.contains("\"ph\":\"X\"")); // complete events, with a duration
//! assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```

mod svg;

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Default ring buffer size, in events.
pub(crate) const DEFAULT_CAPACITY: usize = 100_000;

/// One recorded event.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    /// Microseconds since the trace started.
    pub(crate) ts: f64,
    /// Duration in microseconds for a slice, `None` for an instant event.
    pub(crate) dur: Option<f64>,
    /// Index into the lane names.
    pub(crate) lane: usize,
    pub(crate) name: String,
    pub(crate) cat: &'static str,
    /// `Some((id, start))` for a flow event: an arrow from the `start` end
    /// to the other end with the same id.
    pub(crate) flow: Option<(u64, bool)>,
}

#[derive(Debug)]
struct Ring {
    events: VecDeque<Event>,
    capacity: usize,
    dropped: u64,
    /// Lane names: first the loops' lanes, then one per other thread.
    lanes: Vec<String>,
    /// How many of the first lanes are loops' lanes.
    loop_lanes: usize,
}

/// The thread-safe end of a trace: other threads (executor workers) record
/// their slices through a clone of it.
#[derive(Debug, Clone)]
pub(crate) struct TraceSink {
    ring: Arc<Mutex<Ring>>,
    origin: Instant,
    /// Virtual-clock jumps so far, in microseconds, added to every timestamp.
    jumped: Arc<Mutex<Duration>>,
    /// The lane that lane 0 stands for in `slice` and `instant`: the lane
    /// of the loop this sink belongs to (0 for a loop of its own).
    own_lane: usize,
}

impl TraceSink {
    fn new(capacity: usize, loop_lanes: Vec<String>) -> TraceSink {
        let count = loop_lanes.len();
        TraceSink {
            ring: Arc::new(Mutex::new(Ring {
                events: VecDeque::with_capacity(capacity.min(4096)),
                capacity: capacity.max(1),
                dropped: 0,
                lanes: loop_lanes,
                loop_lanes: count,
            })),
            origin: Instant::now(),
            jumped: Arc::new(Mutex::new(Duration::ZERO)),
            own_lane: 0,
        }
    }

    /// Lane 0 (`LOOP_LANE`) is this sink's loop; other lanes are absolute
    /// (threads' lanes come after every loop lane, so never 0).
    fn lane(&self, lane: usize) -> usize {
        if lane == 0 {
            self.own_lane
        } else {
            lane
        }
    }

    /// Adds a virtual-clock jump to every later timestamp of every lane.
    pub(crate) fn add_jump(&self, by: Duration) {
        let mut jumped = self.jumped.lock();
        *jumped = jumped.saturating_add(by);
    }

    /// Records one end of a cross-loop arrow on the absolute lane `lane`
    /// (a loop's index, or a thread lane from `lane_of_current_thread`).
    pub(crate) fn flow(&self, lane: usize, name: &'static str, id: u64, start: bool) {
        self.push(Event {
            ts: self.ts(Instant::now()),
            dur: None,
            lane,
            name: name.to_owned(),
            cat: "post",
            flow: Some((id, start)),
        });
    }

    /// The trace timestamp of a real instant.
    pub(crate) fn ts(&self, at: Instant) -> f64 {
        let real = at.saturating_duration_since(self.origin);
        (real + *self.jumped.lock()).as_secs_f64() * 1e6
    }

    fn push(&self, event: Event) {
        let mut ring = self.ring.lock();
        if ring.events.len() == ring.capacity {
            ring.events.pop_front();
            ring.dropped += 1;
        }
        ring.events.push_back(event);
    }

    /// The lane of the calling thread, named after it (created on first use).
    pub(crate) fn lane_of_current_thread(&self) -> usize {
        let thread = std::thread::current();
        let name = thread
            .name()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{:?}", thread.id()));
        let mut ring = self.ring.lock();
        let first = ring.loop_lanes;
        match ring.lanes.iter().skip(first).position(|l| *l == name) {
            Some(i) => first + i,
            None => {
                ring.lanes.push(name);
                ring.lanes.len() - 1
            }
        }
    }

    /// Records a slice from `start` to `end` on `lane`.
    pub(crate) fn slice(&self, lane: usize, name: String, cat: &'static str, start: f64, end: f64) {
        self.push(Event {
            ts: start,
            dur: Some((end - start).max(0.0)),
            lane: self.lane(lane),
            name,
            cat,
            flow: None,
        });
    }

    /// Runs `f` on this (worker) thread and records it as a slice on the
    /// thread's own lane.
    pub(crate) fn job<T>(&self, name: &str, f: impl FnOnce() -> T) -> T {
        let lane = self.lane_of_current_thread();
        let start = self.ts(Instant::now());
        let out = f();
        self.slice(lane, name.to_owned(), "run", start, self.ts(Instant::now()));
        out
    }

    /// Records an instant event on `lane`.
    pub(crate) fn instant(&self, lane: usize, name: String, cat: &'static str, at: f64) {
        self.push(Event {
            ts: at,
            dur: None,
            lane: self.lane(lane),
            name,
            cat,
            flow: None,
        });
    }
}

/// The loop's tracer: the sink plus where to write it.
#[derive(Debug)]
pub(crate) struct Tracer {
    pub(crate) sink: TraceSink,
    json_path: PathBuf,
    svg_path: Option<PathBuf>,
    /// Held while writing: the loops of a group share one file.
    writing: Arc<Mutex<()>>,
}

impl Tracer {
    pub(crate) fn new(json_path: PathBuf, svg_path: Option<PathBuf>, capacity: usize) -> Tracer {
        Tracer {
            sink: TraceSink::new(capacity, vec!["loop".to_owned()]),
            json_path,
            svg_path,
            writing: Arc::new(Mutex::new(())),
        }
    }

    pub(crate) fn now(&self) -> f64 {
        self.sink.ts(Instant::now())
    }

    /// Adds a virtual-clock jump to every later timestamp.
    pub(crate) fn jumped(&self, by: Duration) {
        self.sink.add_jump(by);
    }

    /// Writes the JSON file (and the SVG, if asked for). In a group every
    /// loop writes the shared file when it closes, one at a time, each time
    /// with every event recorded so far: the last loop to close leaves the
    /// whole timeline.
    pub(crate) fn flush(&self) -> std::io::Result<()> {
        let _writing = self.writing.lock();
        let (events, lanes, dropped) = {
            let ring = self.sink.ring.lock();
            (
                ring.events.iter().cloned().collect::<Vec<_>>(),
                ring.lanes.clone(),
                ring.dropped,
            )
        };
        std::fs::write(&self.json_path, chrome_json(&events, &lanes, dropped))?;
        if let Some(svg_path) = &self.svg_path {
            std::fs::write(svg_path, svg::render(&events, &lanes))?;
        }
        Ok(())
    }
}

/// One trace for every loop of a group: a lane per loop, one file.
#[derive(Debug, Clone)]
pub(crate) struct GroupTrace {
    sink: TraceSink,
    json_path: PathBuf,
    writing: Arc<Mutex<()>>,
    next_flow: Arc<std::sync::atomic::AtomicU64>,
}

impl GroupTrace {
    pub(crate) fn new(json_path: PathBuf, loops: usize) -> GroupTrace {
        let lanes = (0..loops).map(|i| format!("loop {i}")).collect();
        GroupTrace {
            sink: TraceSink::new(DEFAULT_CAPACITY, lanes),
            json_path,
            writing: Arc::new(Mutex::new(())),
            next_flow: Arc::new(std::sync::atomic::AtomicU64::new(1)),
        }
    }

    /// The tracer of loop `index`: its lane 0 is the group's lane `index`.
    pub(crate) fn tracer(&self, index: usize) -> Tracer {
        let mut sink = self.sink.clone();
        sink.own_lane = index;
        Tracer {
            sink,
            json_path: self.json_path.clone(),
            svg_path: None,
            writing: self.writing.clone(),
        }
    }

    pub(crate) fn sink(&self) -> &TraceSink {
        &self.sink
    }

    /// A fresh id for a cross-loop arrow.
    pub(crate) fn next_flow(&self) -> u64 {
        // ORDERING: a unique number; nothing else is published through it.
        self.next_flow
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

/// The Chrome trace-event format: one process, a thread per lane.
fn chrome_json(events: &[Event], lanes: &[String], dropped: u64) -> String {
    let mut out = String::with_capacity(64 + events.len() * 96);
    out.push_str(
        "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"tool\":\"tulipa\",\"dropped_events\":",
    );
    let _ = write!(out, "{dropped}}},\"traceEvents\":[");
    out.push_str("{\"ph\":\"M\",\"pid\":1,\"tid\":0,\"name\":\"process_name\",\"args\":{\"name\":\"tulipa\"}}");
    for (tid, lane) in lanes.iter().enumerate() {
        let _ = write!(
            out,
            ",\n{{\"ph\":\"M\",\"pid\":1,\"tid\":{},\"name\":\"thread_name\",\"args\":{{\"name\":{}}}}}",
            tid + 1,
            json_string(lane)
        );
    }
    for e in events {
        let _ = write!(
            out,
            ",\n{{\"pid\":1,\"tid\":{},\"ts\":{:.3},\"name\":{},\"cat\":\"{}\"",
            e.lane + 1,
            e.ts,
            json_string(&e.name),
            e.cat
        );
        match (e.dur, e.flow) {
            (_, Some((id, true))) => {
                let _ = write!(out, ",\"ph\":\"s\",\"id\":{id}}}");
            }
            (_, Some((id, false))) => {
                let _ = write!(out, ",\"ph\":\"f\",\"bp\":\"e\",\"id\":{id}}}");
            }
            (Some(dur), None) => {
                let _ = write!(out, ",\"ph\":\"X\",\"dur\":{dur:.3}}}");
            }
            (None, None) => out.push_str(",\"ph\":\"i\",\"s\":\"t\"}"),
        }
    }
    out.push_str("\n]}\n");
    out
}

/// A JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }

    #[test]
    fn ring_drops_oldest_and_counts_them() {
        let sink = TraceSink::new(2, vec!["loop".to_owned()]);
        for i in 0..5 {
            sink.instant(0, format!("e{i}"), "t", i as f64);
        }
        let ring = sink.ring.lock();
        assert_eq!(ring.dropped, 3);
        let names: Vec<_> = ring.events.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["e3", "e4"]);
    }
}
