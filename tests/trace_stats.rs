//! `EventLoop::stats`: the counters add up on scripted scenarios.
mod support;

use std::time::Duration;
use support::virtual_loop;
use tulipa::EventLoop;

#[test]
fn callbacks_counted_equal_callbacks_run() {
    let lp = EventLoop::new().unwrap();
    for _ in 0..10 {
        let _ = lp.call_soon(|| {});
    }
    let cancelled = lp.call_soon(|| {});
    cancelled.cancel();
    lp.run_once().unwrap();
    let stats = lp.stats();
    assert_eq!(stats.callbacks_run, 10, "a cancelled handle does not count");
    assert_eq!(stats.iterations, 1);
    assert_eq!(stats.task_polls, 0);
}

#[test]
fn scripted_tasks_and_timers_add_up_exactly() {
    let lp = virtual_loop();
    lp.run_until_complete(async {
        // 3 tasks x (1 first poll + 2 yields) = 9 polls.
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                tulipa::spawn(async {
                    tulipa::yield_now().await;
                    tulipa::yield_now().await;
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        // Two sleeps fire; one timer is cancelled.
        tulipa::sleep(Duration::from_secs(1)).await;
        tulipa::sleep(Duration::from_secs(1)).await;
        let lp = tulipa::get_running_loop().unwrap();
        lp.call_later(Duration::from_secs(5), || {}).cancel();
        let _ = lp.call_later(Duration::from_secs(1), || {});
        tulipa::sleep(Duration::from_secs(2)).await;
    })
    .unwrap();
    let stats = lp.stats();
    assert_eq!(stats.timers_fired, 4, "3 sleeps and 1 call_later");
    assert_eq!(stats.timers_cancelled, 1);
    assert_eq!(stats.callbacks_run, 1, "the call_later callback");
    // The main future is polled 5 times: at the start; when the first task
    // it awaits finishes (the other two are done by then); after each of the
    // two 1 s sleeps; after the 2 s sleep.
    assert_eq!(stats.task_polls, 9 + 5, "{stats:?}");
    // Iterations: 4 for the tasks (first polls, two yields, finish), then one
    // per wake-up: main, sleep, sleep, the call_later callback, the 2 s sleep.
    assert_eq!(stats.iterations, 9, "{stats:?}");
    assert_eq!(stats.cross_thread_posts, 0);
    assert_eq!(stats.io_events, 0);
    // Nothing blocked: the virtual clock jumped instead of polling.
    assert_eq!(stats.time_polling, Duration::ZERO);
}

#[test]
fn cross_thread_posts_are_counted() {
    let lp = EventLoop::new().unwrap();
    let handle = lp.handle();
    std::thread::spawn(move || {
        for _ in 0..99 {
            handle.call_soon_threadsafe(|| {}).unwrap();
        }
        handle.stop().unwrap();
    })
    .join()
    .unwrap();
    lp.run_forever().unwrap();
    let stats = lp.stats();
    assert_eq!(stats.cross_thread_posts, 100, "99 callbacks and the stop");
    assert_eq!(stats.callbacks_run, 99);
}

#[test]
fn time_blocked_in_poll_is_measured_on_the_real_clock() {
    let lp = EventLoop::new().unwrap();
    lp.run_until_complete(tulipa::sleep(Duration::from_millis(30)))
        .unwrap();
    let stats = lp.stats();
    assert!(stats.time_polling >= Duration::from_millis(25), "{stats:?}");
    assert!(stats.time_running < stats.time_polling, "{stats:?}");
}
