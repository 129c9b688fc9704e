//! Timer cancellation: a cancelled timer never runs and leaves the heap.
mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;
use support::{virtual_loop, Log};

#[test]
fn cancelled_timer_never_runs() {
    let lp = virtual_loop();
    let log = Log::new();
    let l = log.clone();
    let timer = lp.call_later(Duration::from_secs(1), move || l.push("fired"));
    timer.cancel();
    assert!(timer.is_cancelled());
    lp.run_until_complete(tulipa::sleep(Duration::from_secs(2)))
        .unwrap();
    assert!(log.take().is_empty());
}

#[test]
fn timer_cancelled_by_an_earlier_callback_in_the_same_iteration_is_skipped() {
    let lp = virtual_loop();
    let log = Log::new();
    let when = lp.time() + Duration::from_secs(1);
    let second: Rc<Cell<Option<tulipa::TimerHandle>>> = Rc::new(Cell::new(None));
    let s = second.clone();
    let l = log.clone();
    let _ = lp.call_at(when, move || {
        l.push("first");
        if let Some(h) = s.take() {
            h.cancel();
        }
    });
    let l = log.clone();
    second.set(Some(lp.call_at(when, move || l.push("second"))));
    lp.run_until_complete(tulipa::sleep(Duration::from_secs(2)))
        .unwrap();
    assert_eq!(log.take(), ["first"]);
}

#[test]
fn timer_handle_reports_its_deadline() {
    let lp = virtual_loop();
    let start = lp.time();
    let timer = lp.call_later(Duration::from_secs(7), || {});
    assert_eq!(timer.when() - start, Duration::from_secs(7));
}

/// A million cancelled timers around one live one: the loop still reaches
/// the live timer, and the cancelled ones never run. (That each leaves the
/// heap when cancelled is checked by a unit test on the heap itself.)
#[test]
fn million_cancelled_timers_do_not_run_or_delay_the_live_one() {
    let lp = virtual_loop();
    let ran = Rc::new(Cell::new(0u32));
    let start = lp.time();
    for i in 0..1_000_000u64 {
        let ran = ran.clone();
        let t = lp.call_later(Duration::from_millis(1 + i % 1000), move || {
            ran.set(ran.get() + 1)
        });
        t.cancel();
    }
    let r = ran.clone();
    let stop = lp.handle();
    let _ = lp.call_later(Duration::from_secs(2), move || {
        r.set(r.get() + 1000);
        stop.stop().unwrap();
    });
    lp.run_forever().unwrap();
    assert_eq!(ran.get(), 1000);
    assert_eq!(lp.time() - start, Duration::from_secs(2));
}

#[test]
fn dropping_a_sleep_cancels_its_timer_so_virtual_time_does_not_jump() {
    let lp = virtual_loop();
    let start = lp.time();
    lp.run_until_complete(async {
        let long = tulipa::spawn(tulipa::sleep(Duration::from_secs(3600)));
        tulipa::sleep(Duration::from_secs(1)).await;
        long.cancel();
        assert!(long.await.unwrap_err().is_cancelled());
    })
    .unwrap();
    lp.run_until_complete(tulipa::yield_now()).unwrap();
    // Nothing is left that could move the clock: still one second in.
    assert_eq!(lp.time() - start, Duration::from_secs(1));
}
