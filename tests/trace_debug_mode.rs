//! Debug mode: each warning fires when it should, and not otherwise.
mod support;

use std::time::Duration;
use support::logs;
use tulipa::EventLoop;

fn debug_loop(threshold: Duration) -> EventLoop {
    EventLoop::builder()
        .virtual_time()
        .debug(true)
        .slow_callback_duration(threshold)
        .build()
        .unwrap()
}

#[test]
fn slow_task_poll_is_reported_with_name_and_spawn_location() {
    logs::init();
    logs::take();
    let lp = debug_loop(Duration::from_millis(5));
    lp.run_until_complete(async {
        tulipa::spawn_named("sluggish", async {
            std::thread::sleep(Duration::from_millis(20)); // blocks the loop on purpose
        })
        .await
        .unwrap();
    })
    .unwrap();
    let warnings: Vec<_> = logs::take()
        .into_iter()
        .filter(|(l, _)| *l == log::Level::Warn)
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let msg = &warnings[0].1;
    assert!(msg.contains("'sluggish'"), "{msg}");
    assert!(msg.contains("trace_debug_mode.rs"), "{msg}");
    assert!(msg.contains("seconds"), "{msg}");
    assert!(lp.stats().longest_callback.unwrap() >= Duration::from_millis(20));
}

#[test]
fn slow_plain_callback_is_reported() {
    logs::init();
    logs::take();
    let lp = debug_loop(Duration::from_millis(5));
    let _ = lp.call_soon(|| std::thread::sleep(Duration::from_millis(20)));
    lp.run_once().unwrap();
    let logged = logs::take();
    assert!(
        logged
            .iter()
            .any(|(l, m)| *l == log::Level::Warn && m.starts_with("executing callback took")),
        "{logged:?}"
    );
}

#[test]
fn fast_callbacks_are_not_reported() {
    logs::init();
    logs::take();
    let lp = debug_loop(Duration::from_secs(10));
    lp.run_until_complete(async {
        for _ in 0..100 {
            tulipa::spawn(async {}).await.unwrap();
        }
    })
    .unwrap();
    assert!(logs::take().is_empty());
}

#[test]
fn without_debug_mode_slow_callbacks_are_not_reported_or_timed() {
    logs::init();
    logs::take();
    let lp = EventLoop::builder().debug(false).build().unwrap();
    let _ = lp.call_soon(|| std::thread::sleep(Duration::from_millis(20)));
    lp.run_once().unwrap();
    assert!(logs::take().is_empty());
    assert_eq!(lp.stats().longest_callback, None);
    assert!(!lp.is_debug());
}

#[test]
fn set_debug_turns_reports_on_at_runtime() {
    logs::init();
    logs::take();
    let lp = EventLoop::builder().debug(false).build().unwrap();
    lp.set_debug(true);
    lp.set_slow_callback_duration(Duration::from_millis(5));
    assert!(lp.is_debug());
    let _ = lp.call_soon(|| std::thread::sleep(Duration::from_millis(20)));
    lp.run_once().unwrap();
    assert_eq!(logs::take().len(), 1);
}

#[test]
fn pending_tasks_at_close_are_reported_in_debug_mode() {
    logs::init();
    logs::take();
    let lp = debug_loop(Duration::from_secs(10));
    let _leftover = lp.spawn_named("forever", std::future::pending::<()>());
    lp.run_until_complete(tulipa::yield_now()).unwrap();
    lp.close().unwrap();
    let errors: Vec<_> = logs::take()
        .into_iter()
        .filter(|(l, _)| *l == log::Level::Error)
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].1.contains("'forever'"), "{}", errors[0].1);
    assert!(errors[0].1.contains("was destroyed but it is pending"));
}

#[test]
fn pending_tasks_are_not_reported_without_debug_or_after_run() {
    logs::init();
    logs::take();
    let lp = EventLoop::builder().debug(false).build().unwrap();
    let _leftover = lp.spawn(std::future::pending::<()>());
    lp.close().unwrap();
    // `run` cancels leftovers before closing: nothing is destroyed pending.
    debug_loop(Duration::from_secs(10))
        .run(async {
            drop(tulipa::spawn(std::future::pending::<()>()));
        })
        .unwrap();
    assert!(logs::take().is_empty());
}

#[test]
fn unretrieved_panic_goes_to_the_log_when_a_logger_is_set() {
    logs::init();
    logs::take();
    let lp = EventLoop::new().unwrap();
    lp.run_until_complete(async {
        drop(tulipa::spawn_named("lost", async {
            panic!("nobody looks")
        }));
        tulipa::yield_now().await;
        tulipa::yield_now().await;
    })
    .unwrap();
    let logged = logs::take();
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(logged[0].0, log::Level::Error);
    assert!(logged[0].1.contains("nobody looks"));
    assert!(logged[0].1.contains("'lost'"));
}
