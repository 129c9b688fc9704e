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
}

#[derive(Debug)]
struct Ring {
    events: VecDeque<Event>,
    capacity: usize,
    dropped: u64,
    /// Lane names; lane 0 is the loop thread.
    lanes: Vec<String>,
}

/// The thread-safe end of a trace: other threads (executor workers) record
/// their slices through a clone of it.
#[derive(Debug, Clone)]
pub(crate) struct TraceSink {
    ring: Arc<Mutex<Ring>>,
    origin: Instant,
    /// Virtual-clock jumps so far, in microseconds, added to every timestamp.
    jumped: Arc<Mutex<Duration>>,
}

impl TraceSink {
    fn new(capacity: usize) -> TraceSink {
        TraceSink {
            ring: Arc::new(Mutex::new(Ring {
                events: VecDeque::with_capacity(capacity.min(4096)),
                capacity: capacity.max(1),
                dropped: 0,
                lanes: vec!["loop".to_owned()],
            })),
            origin: Instant::now(),
            jumped: Arc::new(Mutex::new(Duration::ZERO)),
        }
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
        match ring.lanes.iter().position(|l| *l == name) {
            Some(i) => i,
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
            lane,
            name,
            cat,
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
            lane,
            name,
            cat,
        });
    }
}

/// The loop's tracer: the sink plus where to write it.
#[derive(Debug)]
pub(crate) struct Tracer {
    pub(crate) sink: TraceSink,
    json_path: PathBuf,
    svg_path: Option<PathBuf>,
}

impl Tracer {
    pub(crate) fn new(json_path: PathBuf, svg_path: Option<PathBuf>, capacity: usize) -> Tracer {
        Tracer {
            sink: TraceSink::new(capacity),
            json_path,
            svg_path,
        }
    }

    pub(crate) fn now(&self) -> f64 {
        self.sink.ts(Instant::now())
    }

    /// Adds a virtual-clock jump to every later timestamp.
    pub(crate) fn jumped(&self, by: Duration) {
        *self.sink.jumped.lock() += by;
    }

    /// Writes the JSON file (and the SVG, if asked for).
    pub(crate) fn flush(&self) -> std::io::Result<()> {
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
        match e.dur {
            Some(dur) => {
                let _ = write!(out, ",\"ph\":\"X\",\"dur\":{dur:.3}}}");
            }
            None => out.push_str(",\"ph\":\"i\",\"s\":\"t\"}"),
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
        let sink = TraceSink::new(2);
        for i in 0..5 {
            sink.instant(0, format!("e{i}"), "t", i as f64);
        }
        let ring = sink.ring.lock();
        assert_eq!(ring.dropped, 3);
        let names: Vec<_> = ring.events.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["e3", "e4"]);
    }
}
