//! Timer firing order across the two places a timer can live: the sorted
//! run (timers armed in deadline order) and the heap (timers armed earlier
//! than the run's last). Timers fire in deadline order, equal deadlines in
//! arming order, wherever they live; cancelling one in either place (the
//! run's front, middle or back, or the heap) leaves the others' order.
mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use support::{virtual_loop, Log};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Arms `call_later(delay)` for each `(name, delay)` in order, then runs
/// the loop until every timer had its chance; returns the firing order and
/// the handles by name.
fn fire(
    plan: &[(&'static str, Duration)],
    between: impl FnOnce(&[tulipa::TimerHandle]),
) -> Vec<String> {
    let lp = virtual_loop();
    let log = Log::new();
    let handles: Vec<tulipa::TimerHandle> = plan
        .iter()
        .map(|&(name, delay)| {
            let l = log.clone();
            lp.call_later(delay, move || l.push(name))
        })
        .collect();
    between(&handles);
    lp.run_until_complete(tulipa::sleep(Duration::from_secs(10)))
        .unwrap();
    log.take()
}

#[test]
fn in_order_and_out_of_order_timers_fire_in_deadline_order() {
    // 30 then 10 (earlier than the last: the heap), 20 (heap), 40 (run).
    let order = fire(
        &[
            ("30", ms(30)),
            ("10", ms(10)),
            ("20", ms(20)),
            ("40", ms(40)),
        ],
        |_| {},
    );
    assert_eq!(order, ["10", "20", "30", "40"]);
}

#[test]
fn equal_deadlines_in_the_run_and_the_heap_fire_in_arming_order() {
    let lp = virtual_loop();
    let log = Log::new();
    let at = lp.time() + ms(20);
    let arm = |name: &'static str, when| {
        let l = log.clone();
        lp.call_at(when, move || l.push(name))
    };
    // "a" and "c" go to the run; "b" and "d" (earlier than the run's last
    // at the time) to the heap; "e" to the run again.
    let _ = arm("a", at);
    let later = lp.time() + ms(30);
    let _ = arm("late", later);
    let _ = arm("b", at);
    let _ = arm("c", later);
    let _ = arm("d", at);
    let _ = arm("e", later);
    lp.run_until_complete(tulipa::sleep(ms(100))).unwrap();
    assert_eq!(log.take(), ["a", "b", "d", "late", "c", "e"]);
}

#[test]
fn cancel_at_the_run_front_middle_and_back_and_in_the_heap() {
    let plan = [
        ("run front", ms(10)),
        ("run 2", ms(20)),
        ("run middle", ms(30)),
        ("run 4", ms(40)),
        ("run back", ms(50)),
        ("heap 15", ms(15)),
        ("heap 25", ms(25)),
    ];
    let order = fire(&plan, |h| {
        for i in [0, 2, 4, 5] {
            h[i].cancel();
        }
    });
    assert_eq!(order, ["run 2", "heap 25", "run 4"]);
}

#[test]
fn many_cancels_in_the_run_middle_keep_the_survivors_in_order() {
    // Enough holes in the run's middle for them to be squeezed out, more
    // than once; the survivors keep their order, and their handles still
    // cancel the right timer.
    let plan: Vec<(&'static str, Duration)> = (0..300u64)
        .map(|n| (&*Box::leak(n.to_string().into_boxed_str()), ms(1 + n)))
        .collect();
    let order = fire(&plan, |h| {
        for (n, handle) in h.iter().enumerate() {
            if n % 3 != 0 && n != 299 {
                handle.cancel();
            }
        }
        // A survivor after the squeezed-out holes, cancelled by its handle.
        h[297].cancel();
        assert!(h[297].is_cancelled());
    });
    let expected: Vec<String> = (0..300u64)
        .filter(|n| (n % 3 == 0 || *n == 299) && *n != 297)
        .map(|n| n.to_string())
        .collect();
    assert_eq!(order, expected);
}

#[test]
fn duration_max_sleep_is_cancelled_from_the_run_and_earlier_timers_still_fire() {
    let lp = virtual_loop();
    let log = Log::new();
    let start = lp.time();
    let result = lp.run_until_complete(async {
        let forever = tulipa::spawn(async {
            tulipa::sleep(Duration::MAX).await;
            "woke"
        });
        tulipa::yield_now().await; // arms the Duration::MAX timer (the run)
        let l = log.clone();
        // Earlier than the run's last: these go to the heap.
        let _ = tulipa::get_running_loop()
            .expect("on the loop")
            .call_later(ms(20), move || l.push("20"));
        let l = log.clone();
        let _ = tulipa::get_running_loop()
            .expect("on the loop")
            .call_later(ms(10), move || l.push("10"));
        tulipa::sleep(ms(30)).await;
        forever.cancel();
        forever.await
    });
    assert!(
        result.unwrap().is_err(),
        "the Duration::MAX sleep was cancelled"
    );
    assert_eq!(log.take(), ["10", "20"]);
    assert_eq!(
        lp.time() - start,
        ms(30),
        "virtual time did not jump to the far deadline"
    );
}

#[test]
fn two_duration_max_sleeps_never_fire_and_a_later_short_one_does() {
    // Two sleeps whose deadlines both saturate to the far future: neither
    // fires; a sleep armed after them with a shorter delay fires first.
    let lp = virtual_loop();
    let order = Rc::new(RefCell::new(Vec::new()));
    lp.run_until_complete(async {
        let mut tasks = Vec::new();
        for (name, d) in [
            ("max", Duration::MAX),
            ("max too", Duration::MAX),
            ("5", ms(5)),
        ] {
            let order = order.clone();
            tasks.push(tulipa::spawn(async move {
                tulipa::sleep(d).await;
                order.borrow_mut().push(name);
            }));
        }
        tulipa::sleep(ms(50)).await;
        for t in &tasks {
            t.cancel();
        }
        tulipa::yield_now().await;
    })
    .unwrap();
    assert_eq!(*order.borrow(), ["5"]);
}

#[test]
fn a_timer_re_armed_in_the_same_iteration_fires_after_those_armed_before() {
    // At 10 ms, "re-arm" cancels its old 20 ms timer and arms a new one for
    // the same deadline: it now fires after "other", armed earlier for it.
    let lp = virtual_loop();
    let log = Log::new();
    let at = lp.time() + ms(20);
    let l = log.clone();
    let old = lp.call_at(at, move || l.push("old"));
    let l = log.clone();
    let _ = lp.call_at(at, move || l.push("other"));
    let l = log.clone();
    let _ = lp.call_later(ms(10), move || {
        old.cancel();
        let l2 = l.clone();
        let _ = tulipa::get_running_loop()
            .expect("on the loop")
            .call_at(at, move || l2.push("re-armed"));
        l.push("re-arm");
    });
    lp.run_until_complete(tulipa::sleep(ms(50))).unwrap();
    assert_eq!(log.take(), ["re-arm", "other", "re-armed"]);
}

#[test]
fn sleeps_of_one_length_wake_in_arming_order() {
    // The sleep storm's shape: many tasks, one delay, armed in order.
    let lp = virtual_loop();
    let order = Rc::new(RefCell::new(Vec::new()));
    lp.run_until_complete(async {
        let tasks: Vec<_> = (0..1000u32)
            .map(|n| {
                let order = order.clone();
                tulipa::spawn(async move {
                    tulipa::sleep(ms(10)).await;
                    order.borrow_mut().push(n);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    })
    .unwrap();
    assert_eq!(*order.borrow(), (0..1000).collect::<Vec<_>>());
    assert_eq!(lp.stats().timers_fired, 1000);
}

/// On the real clock the firing step may reuse the loop's last clock
/// reading when the earliest timer is well past it; a timer still never
/// fires before its deadline, even after iterations slower than that
/// margin, and timers keep their order.
#[test]
fn real_clock_timers_never_fire_early_after_slow_iterations() {
    let lp = tulipa::EventLoop::new().unwrap();
    let fired: Rc<RefCell<Vec<(Duration, std::time::Instant)>>> = Rc::default();
    let armed = std::time::Instant::now();
    for d in [ms(5), ms(1), ms(3), ms(2)] {
        let fired = fired.clone();
        let _ = lp.call_later(d, move || {
            fired.borrow_mut().push((d, std::time::Instant::now()))
        });
    }
    // Slow iterations: each spins for 1.5 ms, six times over.
    fn spin(left: u32) {
        let until = std::time::Instant::now() + Duration::from_micros(1500);
        while std::time::Instant::now() < until {
            std::hint::spin_loop();
        }
        if left > 0 {
            let lp = tulipa::get_running_loop().expect("on the loop");
            let _ = lp.call_soon(move || spin(left - 1));
        }
    }
    let _ = lp.call_soon(|| spin(5));
    lp.run_until_complete(tulipa::sleep(ms(12))).unwrap();
    let fired = fired.borrow();
    let order: Vec<Duration> = fired.iter().map(|f| f.0).collect();
    assert_eq!(order, [ms(1), ms(2), ms(3), ms(5)]);
    for &(d, at) in fired.iter() {
        assert!(
            at - armed >= d,
            "the {d:?} timer fired after {:?}",
            at - armed
        );
    }
}

// The firing step may take the loop's last clock reading for "now" (on the
// real clock, when it shows the earliest timer at least 1 ms away). Time
// that passes outside the loop or while it waits in the selector must never
// make a due timer late: the reading is dropped then. The `thread::sleep`s
// below only make sure the timers are overdue (a lower bound on the time
// passed); the outcome does not depend on how long they really took.

/// A timer that fell due while the loop was not running fires in the first
/// iteration of the next `run_once`, even with something else ready.
#[test]
fn a_timer_due_while_the_loop_was_not_running_fires_in_the_next_run_once() {
    let lp = tulipa::EventLoop::new().unwrap();
    let fired = Rc::new(std::cell::Cell::new(false));
    let f = fired.clone();
    let _ = lp.call_later(ms(5), move || f.set(true));
    std::thread::sleep(ms(20));
    let _ = lp.call_soon(|| {});
    lp.run_once().unwrap();
    assert!(
        fired.get(),
        "the overdue timer waited for a later iteration"
    );
}

/// As asyncio: an overdue timer fires in `run_until_complete`'s first
/// iteration, so the main task sees it after one yield.
#[test]
fn a_timer_due_before_run_until_complete_fires_in_its_first_iteration() {
    let lp = tulipa::EventLoop::new().unwrap();
    let fired = Rc::new(std::cell::Cell::new(false));
    let f = fired.clone();
    let _ = lp.call_later(ms(5), move || f.set(true));
    std::thread::sleep(ms(20));
    let seen = lp
        .run_until_complete(async move {
            tulipa::yield_now().await;
            fired.get()
        })
        .unwrap();
    assert!(
        seen,
        "the overdue timer fired after the main task's second step"
    );
}

/// A loop that read the clock, then waited in the selector with no timer
/// armed until another thread posted, reads the clock again before firing:
/// a timer armed by the post for a deadline already passed fires in the
/// next iteration (before the callback that iteration schedules).
#[test]
fn a_timer_armed_after_a_wait_without_timeout_fires_in_the_next_iteration() {
    use std::sync::{mpsc, Arc, Mutex};
    let lp = tulipa::EventLoop::new().unwrap();
    let handle = lp.handle();
    let order: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    let (t0_tx, t0_rx) = mpsc::channel();
    // A callback reads the clock, then nothing is ready and no timer is
    // armed: the loop waits in the selector until the post.
    let _ = lp.call_soon(move || {
        let t0 = tulipa::get_running_loop().expect("on the loop").time();
        t0_tx.send(t0).unwrap();
    });
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let poster = {
        let handle = handle.clone();
        let order = order.clone();
        std::thread::spawn(move || {
            let t0 = t0_rx.recv().unwrap();
            std::thread::sleep(ms(20));
            handle
                .call_soon_threadsafe(move || {
                    let lp = tulipa::get_running_loop().expect("on the loop");
                    let o = order.clone();
                    let _ = lp.call_at(t0 + ms(5), move || o.lock().unwrap().push("timer"));
                    let o = order.clone();
                    let _ = lp.call_soon(move || {
                        o.lock().unwrap().push("soon");
                        let o = o.clone();
                        let lp = tulipa::get_running_loop().expect("on the loop");
                        let _ = lp.call_soon(move || {
                            o.lock().unwrap().push("after");
                            tulipa::get_running_loop().expect("on the loop").stop();
                        });
                    });
                })
                .unwrap();
            // Watchdog: a lost post fails the test instead of hanging it.
            if done_rx.recv_timeout(Duration::from_secs(30)).is_err() {
                let _ = handle.stop();
            }
        })
    };
    lp.run_forever().unwrap();
    done_tx.send(()).unwrap();
    poster.join().unwrap();
    assert_eq!(*order.lock().unwrap(), ["soon", "timer", "after"]);
}
