//! A `log` logger that keeps what each test thread logged.
#![allow(dead_code, unreachable_pub)]

use std::sync::{Mutex, Once};
use std::thread::ThreadId;

static RECORDS: Mutex<Vec<(ThreadId, log::Level, String)>> = Mutex::new(Vec::new());
static INIT: Once = Once::new();

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        RECORDS.lock().unwrap().push((
            std::thread::current().id(),
            record.level(),
            record.args().to_string(),
        ));
    }
    fn flush(&self) {}
}

/// Installs the capturing logger (once per test binary).
pub fn init() {
    INIT.call_once(|| {
        log::set_logger(&Capture).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
    });
}

/// What the calling thread logged since the last call.
pub fn take() -> Vec<(log::Level, String)> {
    let me = std::thread::current().id();
    let mut all = RECORDS.lock().unwrap();
    let (mine, rest): (Vec<_>, Vec<_>) = all.drain(..).partition(|(t, _, _)| *t == me);
    *all = rest;
    mine.into_iter().map(|(_, l, m)| (l, m)).collect()
}
