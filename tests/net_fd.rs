//! add_reader / add_writer / remove_reader / remove_writer on raw fds, as
//! CPython's test_events.py and test_selector_events.py exercise them.
#![cfg(unix)]
mod support;

use std::cell::Cell;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use support::Log;

fn nonblocking_pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// Runs the loop for a few milliseconds of real time (a bare `run_once`
/// would block in the selector once nothing is left to do).
fn spin(lp: &tulipa::EventLoop) {
    lp.run_until_complete(tulipa::sleep(Duration::from_millis(5)))
        .unwrap();
}

#[test]
fn test_add_reader_callback_runs_when_data_arrives_and_reads_it() {
    let lp = tulipa::EventLoop::new().unwrap();
    let (mut tx, rx) = nonblocking_pair();
    let got = Rc::new(std::cell::RefCell::new(Vec::new()));
    let g = got.clone();
    let fd = rx.as_raw_fd();
    lp.add_reader(fd, move || {
        let mut buf = [0; 64];
        if let Ok(n) = (&rx).read(&mut buf) {
            g.borrow_mut().extend_from_slice(&buf[..n]);
        }
        if g.borrow().len() >= 6 {
            tulipa::get_running_loop().unwrap().stop();
        }
    })
    .unwrap();
    assert_eq!(lp.io_sources(), 1);
    tx.write_all(b"abc").unwrap();
    let _ = lp.call_later(Duration::from_millis(5), move || {
        tx.write_all(b"def").unwrap();
    });
    lp.run_forever().unwrap();
    assert_eq!(&*got.borrow(), b"abcdef");
    assert!(lp.remove_reader(fd));
    assert_eq!(lp.io_sources(), 0);
}

#[test]
fn reader_is_level_triggered_a_callback_that_leaves_data_runs_again() {
    let lp = tulipa::EventLoop::new().unwrap();
    let (mut tx, rx) = nonblocking_pair();
    let runs = Rc::new(Cell::new(0));
    let r = runs.clone();
    let fd = rx.as_raw_fd();
    // Reads one byte per run: four bytes need four runs with no new data.
    lp.add_reader(fd, move || {
        let mut one = [0; 1];
        if (&rx).read(&mut one).is_ok() {
            r.set(r.get() + 1);
        }
    })
    .unwrap();
    tx.write_all(b"wxyz").unwrap();
    spin(&lp);
    assert_eq!(runs.get(), 4);
    lp.remove_reader(fd);
}

#[test]
fn test_add_writer_runs_while_writable_and_remove_writer_stops_it() {
    let lp = tulipa::EventLoop::new().unwrap();
    let (tx, _rx) = nonblocking_pair();
    let fd = tx.as_raw_fd();
    let runs = Rc::new(Cell::new(0));
    let r = runs.clone();
    lp.add_writer(fd, move || r.set(r.get() + 1)).unwrap();
    spin(&lp);
    assert!(runs.get() >= 2, "ran {} times", runs.get());
    assert!(lp.remove_writer(fd));
    let before = runs.get();
    spin(&lp);
    assert_eq!(runs.get(), before);
    assert!(!lp.remove_writer(fd));
    assert_eq!(lp.io_sources(), 0);
}

#[test]
fn reader_and_writer_on_one_fd_are_independent() {
    let lp = tulipa::EventLoop::new().unwrap();
    let (mut tx, rx) = nonblocking_pair();
    let fd = rx.as_raw_fd();
    let log = Log::new();
    let (lr, lw) = (log.clone(), log.clone());
    lp.add_reader(fd, move || {
        let mut buf = [0; 8];
        let _ = (&rx).read(&mut buf);
        lr.push("read");
    })
    .unwrap();
    lp.add_writer(fd, move || lw.push("write")).unwrap();
    assert_eq!(lp.io_sources(), 1);
    tx.write_all(b"x").unwrap();
    spin(&lp);
    let seen = log.take();
    assert!(seen.contains(&"read".to_string()) && seen.contains(&"write".to_string()));
    // Removing the writer keeps the reader.
    assert!(lp.remove_writer(fd));
    log.take();
    tx.write_all(b"y").unwrap();
    spin(&lp);
    assert_eq!(log.take(), ["read"]);
    assert!(lp.remove_reader(fd));
    assert_eq!(lp.io_sources(), 0);
}

#[test]
fn test_add_reader_twice_replaces_the_callback() {
    let lp = tulipa::EventLoop::new().unwrap();
    let (mut tx, rx) = nonblocking_pair();
    let fd = rx.as_raw_fd();
    let log = Log::new();
    let first = log.clone();
    lp.add_reader(fd, move || first.push("first")).unwrap();
    let second = log.clone();
    let rx = Rc::new(rx);
    let r = rx.clone();
    lp.add_reader(fd, move || {
        let mut buf = [0; 8];
        let _ = (&*r).read(&mut buf);
        second.push("second");
    })
    .unwrap();
    // The replaced closure was dropped.
    assert_eq!(log.handles(), 2);
    tx.write_all(b"x").unwrap();
    spin(&lp);
    assert_eq!(log.take(), ["second"]);
    assert_eq!(lp.io_sources(), 1);
    lp.remove_reader(fd);
}

#[test]
fn remove_reader_from_an_earlier_callback_skips_the_queued_run() {
    let lp = tulipa::EventLoop::new().unwrap();
    let (mut tx1, rx1) = nonblocking_pair();
    let (mut tx2, rx2) = nonblocking_pair();
    let (fd1, fd2) = (rx1.as_raw_fd(), rx2.as_raw_fd());
    let log = Log::new();
    let l1 = log.clone();
    let l2 = log.clone();
    // Whichever runs first removes the other; the other's run, already
    // queued in the same iteration, must be skipped.
    lp.add_reader(fd1, move || {
        l1.push("one");
        let lp = tulipa::get_running_loop().unwrap();
        lp.remove_reader(fd2);
    })
    .unwrap();
    lp.add_reader(fd2, move || {
        l2.push("two");
        let lp = tulipa::get_running_loop().unwrap();
        lp.remove_reader(fd1);
    })
    .unwrap();
    tx1.write_all(b"x").unwrap();
    tx2.write_all(b"x").unwrap();
    std::thread::sleep(Duration::from_millis(5));
    spin(&lp);
    // The survivor runs on (its data is unread: level-triggered); the
    // removed one never ran.
    let seen = log.take();
    assert!(!seen.is_empty());
    assert!(seen.iter().all(|name| *name == seen[0]), "{seen:?}");
    drop((rx1, rx2));
    lp.remove_reader(fd1);
    lp.remove_reader(fd2);
    assert_eq!(lp.io_sources(), 0);
}

#[test]
fn closing_an_fd_that_is_still_registered_does_not_crash_the_loop() {
    let lp = tulipa::EventLoop::new().unwrap();
    let (mut tx, rx) = nonblocking_pair();
    let fd = rx.as_raw_fd();
    let runs = Rc::new(Cell::new(0));
    let r = runs.clone();
    lp.add_reader(fd, move || r.set(r.get() + 1)).unwrap();
    tx.write_all(b"pending").unwrap();
    // Closed with an event on its way and its callback registered.
    drop(rx);
    spin(&lp);
    let spawned = lp.spawn(async { 7 });
    assert_eq!(lp.run_until_complete(spawned).unwrap().unwrap(), 7);
    // Removing it afterwards works and reports that it was registered.
    assert!(lp.remove_reader(fd));
    assert_eq!(lp.io_sources(), 0);
    // The number may be reused by a new fd, which can be registered again.
    let (mut tx2, rx2) = nonblocking_pair();
    let hit = Rc::new(Cell::new(false));
    let h = hit.clone();
    lp.add_reader(rx2.as_raw_fd(), move || h.set(true)).unwrap();
    tx2.write_all(b"x").unwrap();
    spin(&lp);
    assert!(hit.get());
    lp.remove_reader(rx2.as_raw_fd());
}

#[test]
fn add_reader_on_a_closed_fd_is_an_error_and_registers_nothing() {
    let lp = tulipa::EventLoop::new().unwrap();
    let (_tx, rx) = nonblocking_pair();
    let fd = rx.as_raw_fd();
    drop(rx);
    assert!(lp.add_reader(fd, || {}).is_err());
    assert_eq!(lp.io_sources(), 0);
    assert!(!lp.remove_reader(fd));
}

#[test]
fn a_panicking_reader_goes_to_the_exception_handler_and_the_loop_goes_on() {
    let lp = tulipa::EventLoop::new().unwrap();
    let reports = Rc::new(Cell::new(0));
    let r = reports.clone();
    lp.set_exception_handler(Some(move |_: &tulipa::ExceptionContext| r.set(r.get() + 1)));
    let (mut tx, rx) = nonblocking_pair();
    let fd = rx.as_raw_fd();
    lp.add_reader(fd, move || {
        let mut buf = [0; 8];
        let _ = (&rx).read(&mut buf);
        panic!("reader bug");
    })
    .unwrap();
    tx.write_all(b"x").unwrap();
    spin(&lp);
    assert_eq!(reports.get(), 1);
    // Still registered and still called on new data.
    tx.write_all(b"y").unwrap();
    spin(&lp);
    assert_eq!(reports.get(), 2);
    lp.remove_reader(fd);
}

#[test]
fn closing_the_loop_drops_registered_callbacks() {
    let lp = tulipa::EventLoop::new().unwrap();
    let (_tx, rx) = nonblocking_pair();
    let log = Log::new();
    let l = log.clone();
    lp.add_reader(rx.as_raw_fd(), move || l.push("never"))
        .unwrap();
    assert_eq!(log.handles(), 2);
    lp.close().unwrap();
    assert_eq!(log.handles(), 1);
    assert!(lp.add_reader(rx.as_raw_fd(), || {}).is_err());
}

#[test]
fn a_registered_fd_makes_the_virtual_clock_follow_real_time() {
    let lp = support::virtual_loop();
    let (_tx, rx) = nonblocking_pair();
    lp.add_reader(rx.as_raw_fd(), || {}).unwrap();
    let wall = std::time::Instant::now();
    let start = lp.time();
    lp.run_until_complete(tulipa::sleep(Duration::from_millis(20)))
        .unwrap();
    // With a source registered, time is not skipped: data could arrive.
    assert!(wall.elapsed() >= Duration::from_millis(15));
    assert!(lp.time() - start >= Duration::from_millis(20));
    lp.remove_reader(rx.as_raw_fd());
    let wall = std::time::Instant::now();
    lp.run_until_complete(tulipa::sleep(Duration::from_secs(3600)))
        .unwrap();
    assert!(wall.elapsed() < Duration::from_secs(5));
}

#[test]
fn stale_events_for_a_removed_fd_whose_file_lives_on_are_ignored() {
    let lp = tulipa::EventLoop::new().unwrap();
    let (mut tx, rx) = nonblocking_pair();
    // A duplicate keeps the open file alive: epoll keeps its registration
    // (and its token) after the registered fd number is closed.
    let dup = rx.try_clone().unwrap();
    let fd = rx.as_raw_fd();
    let old = Rc::new(Cell::new(0));
    let o = old.clone();
    lp.add_reader(fd, move || o.set(o.get() + 1)).unwrap();
    drop(rx);
    assert!(lp.remove_reader(fd));
    // A new fd may take over the removed one's slot in the table.
    let (_tx2, rx2) = nonblocking_pair();
    let new = Rc::new(Cell::new(0));
    let n = new.clone();
    lp.add_reader(rx2.as_raw_fd(), move || n.set(n.get() + 1))
        .unwrap();
    // Data for the old file still makes epoll report the old token.
    tx.write_all(b"stale").unwrap();
    spin(&lp);
    assert_eq!((old.get(), new.get()), (0, 0));
    lp.remove_reader(rx2.as_raw_fd());
    drop(dup);
}
