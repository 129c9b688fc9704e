//! Helpers for the executor tests: a gate jobs block on, a bounded poll,
//! and a pool whose only worker is stuck.
#![allow(dead_code, unreachable_pub)]

use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use tulipa::ThreadPoolExecutor;

/// A latch jobs block on until the test opens it.
#[derive(Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    pub fn open(&self) {
        *self.0 .0.lock().unwrap() = true;
        self.0 .1.notify_all();
    }
    pub fn wait(&self) {
        let mut open = self.0 .0.lock().unwrap();
        while !*open {
            open = self.0 .1.wait(open).unwrap();
        }
    }
}

/// Polls `cond` for up to 10 s (generous: the machine is shared).
pub fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// A 1-worker pool whose worker is stuck in a job until the gate opens.
pub fn busy_pool(
    builder: tulipa::executor::Builder,
) -> (ThreadPoolExecutor, Gate, tulipa::ExecFuture<()>) {
    let pool = builder.max_workers(1).build();
    let gate = Gate::default();
    let (started_tx, started) = mpsc::channel();
    let g = gate.clone();
    let blocker = pool
        .submit(move || {
            started_tx.send(()).unwrap();
            g.wait();
        })
        .unwrap();
    started.recv().unwrap();
    (pool, gate, blocker)
}
