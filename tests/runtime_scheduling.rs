//! The order in which the loop runs things: the documented `run_once`.
mod support;

use std::time::Duration;
use support::{virtual_loop, Log};
use tulipa::EventLoop;

#[test]
fn call_soon_runs_in_fifo_order() {
    let lp = EventLoop::new().unwrap();
    let log = Log::new();
    for i in 0..5 {
        let log = log.clone();
        let _ = lp.call_soon(move || log.push(format!("cb{i}")));
    }
    lp.run_once().unwrap();
    assert_eq!(log.take(), ["cb0", "cb1", "cb2", "cb3", "cb4"]);
}

#[test]
fn callback_scheduled_during_an_iteration_runs_in_the_next() {
    let lp = EventLoop::new().unwrap();
    let log = Log::new();
    let l = log.clone();
    let _ = lp.call_soon(move || {
        l.push("first");
        let l2 = l.clone();
        let _ = tulipa::get_running_loop()
            .unwrap()
            .call_soon(move || l2.push("scheduled by first"));
    });
    let l = log.clone();
    let _ = lp.call_soon(move || l.push("second"));
    lp.run_once().unwrap();
    assert_eq!(log.take(), ["first", "second"]);
    lp.run_once().unwrap();
    assert_eq!(log.take(), ["scheduled by first"]);
}

/// asyncio (3.11 and 3.13) gives exactly this interleaving for
/// `call_soon(cb1)` (cb1 schedules cb2), then `sleep(0)` twice.
#[test]
fn call_soon_and_sleep_zero_interleave_as_in_asyncio() {
    let log = Log::new();
    let l = log.clone();
    tulipa::run(async move {
        let lp = tulipa::get_running_loop().unwrap();
        let l1 = l.clone();
        let _ = lp.call_soon(move || {
            l1.push("cb1");
            let l2 = l1.clone();
            let _ = tulipa::get_running_loop()
                .unwrap()
                .call_soon(move || l2.push("cb2"));
        });
        tulipa::sleep(Duration::ZERO).await;
        l.push("after sleep0");
        tulipa::sleep(Duration::ZERO).await;
        l.push("after 2nd");
    })
    .unwrap();
    assert_eq!(log.take(), ["cb1", "after sleep0", "cb2", "after 2nd"]);
}

#[test]
fn yield_now_gives_up_exactly_one_iteration() {
    let log = Log::new();
    let l = log.clone();
    tulipa::run(async move {
        let (la, lb) = (l.clone(), l.clone());
        let a = tulipa::spawn(async move {
            for i in 0..3 {
                la.push(format!("a{i}"));
                tulipa::yield_now().await;
            }
        });
        let b = tulipa::spawn(async move {
            for i in 0..3 {
                lb.push(format!("b{i}"));
                tulipa::yield_now().await;
            }
        });
        a.await.unwrap();
        b.await.unwrap();
    })
    .unwrap();
    assert_eq!(log.take(), ["a0", "b0", "a1", "b1", "a2", "b2"]);
}

#[test]
fn spawned_task_first_runs_in_the_next_iteration() {
    let lp = EventLoop::new().unwrap();
    let log = Log::new();
    let l = log.clone();
    let _task = lp.spawn(async move { l.push("task") });
    let l = log.clone();
    let _ = lp.call_soon(move || l.push("callback"));
    lp.run_once().unwrap();
    // Both were ready at the start of the iteration: FIFO.
    assert_eq!(log.take(), ["task", "callback"]);
}

#[test]
fn cancelled_handle_never_runs_and_drops_its_closure() {
    let lp = EventLoop::new().unwrap();
    let log = Log::new();
    let l = log.clone();
    let handle = lp.call_soon(move || l.push("ran"));
    handle.cancel();
    assert!(handle.is_cancelled());
    // The closure (and its clone of the log) is gone already.
    assert_eq!(log.handles(), 1);
    lp.run_once().unwrap();
    assert!(log.take().is_empty());
}

#[test]
fn timers_fire_in_deadline_then_sequence_order() {
    let lp = virtual_loop();
    let log = Log::new();
    let start = lp.time();
    for (i, secs) in [3u64, 1, 2, 1, 3, 1].into_iter().enumerate() {
        let l = log.clone();
        let _ = lp.call_at(start + Duration::from_secs(secs), move || {
            l.push(format!("{secs}s#{i}"))
        });
    }
    let stop = lp.handle();
    let _ = lp.call_at(start + Duration::from_secs(3), move || stop.stop().unwrap());
    lp.run_forever().unwrap();
    assert_eq!(log.take(), ["1s#1", "1s#3", "1s#5", "2s#2", "3s#0", "3s#4"]);
    assert_eq!(lp.time() - start, Duration::from_secs(3));
}

#[test]
fn equal_deadline_timers_run_in_the_order_scheduled() {
    let lp = virtual_loop();
    let log = Log::new();
    let when = lp.time() + Duration::from_millis(10);
    for i in 0..100 {
        let l = log.clone();
        let _ = lp.call_at(when, move || l.push(i.to_string()));
    }
    lp.run_until_complete(tulipa::sleep_until(when + Duration::from_millis(1)))
        .unwrap();
    let expected: Vec<String> = (0..100).map(|i| i.to_string()).collect();
    assert_eq!(log.take(), expected);
}

#[test]
fn call_at_in_the_past_runs_next_iteration() {
    let lp = virtual_loop();
    let log = Log::new();
    let l = log.clone();
    let past = lp.time();
    let _ = lp.call_at(past, move || l.push("late"));
    lp.run_once().unwrap();
    assert_eq!(log.take(), ["late"]);
}
