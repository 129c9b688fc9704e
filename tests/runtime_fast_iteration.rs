//! An iteration with something ready, no I/O source, no armed timer and no
//! tracing or debug timing goes straight to the inbox and the ready queue.
//! These tests pin down that it is still asyncio's `_run_once`: only the
//! entries ready at its start run, a timer armed meanwhile fires, a post
//! from another thread is not lost, and debug mode still times callbacks.
#![cfg(not(loom))]

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Log = Rc<RefCell<Vec<&'static str>>>;

fn note(log: &Log, what: &'static str) {
    log.borrow_mut().push(what);
}

fn running_loop() -> tulipa::EventLoop {
    tulipa::get_running_loop().expect("called from a callback of the running loop")
}

/// A callback scheduled by a callback of a fast iteration runs in the next
/// iteration, not in the one that scheduled it (asyncio's `ntodo`).
#[test]
fn callback_scheduled_during_a_fast_iteration_runs_in_the_next() {
    let log: Log = Rc::default();
    let lp = tulipa::EventLoop::new().unwrap();
    let l = log.clone();
    let _ = lp.call_soon(move || {
        note(&l, "first");
        let l2 = l.clone();
        let _ = running_loop().call_soon(move || note(&l2, "scheduled by first"));
    });
    let l = log.clone();
    let _ = lp.call_soon(move || note(&l, "second"));
    lp.run_once().unwrap();
    assert_eq!(*log.borrow(), ["first", "second"]);
    lp.run_once().unwrap();
    assert_eq!(*log.borrow(), ["first", "second", "scheduled by first"]);
}

/// A task woken during a fast iteration (here: spawned by a callback, and
/// woken by a task that ran before it) is polled in the next iteration.
#[test]
fn task_woken_during_a_fast_iteration_is_polled_in_the_next() {
    let log: Log = Rc::default();
    let lp = tulipa::EventLoop::new().unwrap();
    let iterations = Rc::new(Cell::new(0u32));
    let (l, it) = (log.clone(), iterations.clone());
    let _ = lp.call_soon(move || {
        let l2 = l.clone();
        let it2 = it.clone();
        let task = running_loop().spawn(async move {
            note(&l2, "task first step");
            let seen = it2.get();
            tulipa::yield_now().await;
            assert_eq!(it2.get(), seen + 1, "a yield resumes in the next iteration");
            note(&l2, "task second step");
        });
        drop(task);
        note(&l, "spawner");
    });
    for _ in 0..3 {
        lp.run_once().unwrap();
        iterations.set(iterations.get() + 1);
    }
    assert_eq!(
        *log.borrow(),
        ["spawner", "task first step", "task second step"]
    );
}

/// A zero-delay timer armed while the ready queue is never empty (a
/// callback that keeps rescheduling itself) fires in the next iteration,
/// between the entries as asyncio orders them: the ready ones first, then
/// the due timer. Were armed timers ignored by the fast iteration, it would
/// never fire; the chain is bounded, so that shows as a failure.
#[test]
fn timer_armed_during_a_fast_iteration_fires_in_the_next() {
    let log: Log = Rc::default();
    let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
    fn chain(log: Log, left: u32) {
        note(&log, "tick");
        if left > 0 {
            let _ = running_loop().call_soon(move || chain(log, left - 1));
        }
    }
    let l = log.clone();
    let _ = lp.call_soon(move || {
        let l2 = l.clone();
        let _ = running_loop().call_later(Duration::ZERO, move || note(&l2, "timer"));
        chain(l, 3);
    });
    for _ in 0..4 {
        lp.run_once().unwrap();
    }
    assert_eq!(*log.borrow(), ["tick", "tick", "timer", "tick", "tick"]);
}

/// A task that arms a timer and then yields in a loop (so that every
/// iteration has something ready) is woken by the timer.
#[test]
fn a_task_yielding_every_iteration_is_woken_by_its_own_timer() {
    let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
    let yields = lp
        .run_until_complete(async {
            let fired = Rc::new(Cell::new(false));
            let f = fired.clone();
            let _ = running_loop().call_later(Duration::ZERO, move || f.set(true));
            let mut yields = 0u32;
            while !fired.get() {
                assert!(yields < 1_000, "the armed timer never fired");
                tulipa::yield_now().await;
                yields += 1;
            }
            yields
        })
        .unwrap();
    // Armed in the first iteration, due in the second, where the timer's
    // callback runs after the task (ready entries first): the task sees it
    // after its second yield.
    assert_eq!(yields, 2, "due in the iteration after it was armed");
}

/// A `call_soon_threadsafe` from another thread while the loop runs
/// nothing but fast iterations (a task yielding in a loop) is drained and
/// run. The watchdog turns a lost post into a failure, not a hang.
#[test]
fn post_from_another_thread_during_fast_iterations_is_not_lost() {
    let lp = tulipa::EventLoop::new().unwrap();
    let handle = lp.handle();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let poster = std::thread::spawn(move || {
        handle
            .call_soon_threadsafe(move || r.store(true, Ordering::SeqCst))
            .unwrap();
    });
    let r = ran.clone();
    lp.run_until_complete(async move {
        let watchdog = Instant::now() + Duration::from_secs(30);
        while !r.load(Ordering::SeqCst) {
            assert!(
                Instant::now() < watchdog,
                "the post from another thread was lost"
            );
            tulipa::yield_now().await;
        }
    })
    .unwrap();
    poster.join().unwrap();
    assert!(ran.load(Ordering::SeqCst));
    assert_eq!(lp.stats().cross_thread_posts, 1);
}

/// Debug mode is seen by the next iteration: the slow-callback timing
/// (`longest_callback`) is measured again once it is on, and not before.
#[test]
fn debug_mode_turned_on_between_iterations_times_the_next_one() {
    let lp = tulipa::EventLoop::new().unwrap();
    let _ = lp.call_soon(|| {});
    lp.run_once().unwrap();
    assert_eq!(
        lp.stats().longest_callback,
        None,
        "no timing outside debug mode"
    );
    lp.set_debug(true);
    let _ = lp.call_soon(|| {});
    lp.run_once().unwrap();
    assert!(
        lp.stats().longest_callback.is_some(),
        "debug mode times callbacks"
    );
    assert_eq!(lp.stats().callbacks_run, 2);
}
