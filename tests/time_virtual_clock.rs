//! The virtual clock: instant, exact and deterministic.
mod support;

use std::time::Duration;
use support::{virtual_loop, Log};

fn scripted_program() -> Vec<String> {
    let log = Log::new();
    let l = log.clone();
    let lp = virtual_loop();
    let start = lp.time();
    lp.run(async move {
        let mut tasks = Vec::new();
        for (name, step, n) in [("a", 3u64, 4), ("b", 2, 5), ("c", 5, 2)] {
            let l = l.clone();
            tasks.push(tulipa::spawn(async move {
                for i in 0..n {
                    tulipa::sleep(Duration::from_millis(step * 100)).await;
                    let t = (tulipa::now() - start).as_millis();
                    l.push(format!("{t:>5}ms {name}{i}"));
                    tulipa::yield_now().await;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    })
    .unwrap();
    log.take()
}

#[test]
fn same_program_gives_the_same_trace_twice() {
    let first = scripted_program();
    let second = scripted_program();
    assert_eq!(first.len(), 11);
    assert_eq!(first, second);
    // Equal deadlines (600 ms) keep the order the timers were armed in:
    // a armed its second sleep at 300 ms, b its third at 400 ms.
    let at_600: Vec<_> = first.iter().filter(|l| l.starts_with("  600ms")).collect();
    assert_eq!(at_600, ["  600ms a1", "  600ms b2"]);
}

#[test]
fn virtual_time_is_exact_and_does_not_follow_the_wall_clock() {
    let lp = virtual_loop();
    let start = lp.time();
    let wall = std::time::Instant::now();
    lp.run_until_complete(async {
        tulipa::sleep(Duration::from_secs(86_400 * 365)).await;
    })
    .unwrap();
    assert_eq!(lp.time() - start, Duration::from_secs(86_400 * 365));
    assert!(wall.elapsed() < Duration::from_secs(60));
}

#[test]
fn virtual_time_does_not_move_while_work_is_ready() {
    let lp = virtual_loop();
    let start = lp.time();
    lp.run_until_complete(async {
        for _ in 0..1000 {
            tulipa::yield_now().await;
        }
    })
    .unwrap();
    assert_eq!(lp.time(), start);
}

#[test]
fn sleep_until_a_past_deadline_completes_on_the_next_iteration() {
    let lp = virtual_loop();
    let start = lp.time();
    lp.run_until_complete(async move {
        tulipa::sleep(Duration::from_secs(2)).await;
        tulipa::sleep_until(start).await;
    })
    .unwrap();
    assert_eq!(lp.time() - start, Duration::from_secs(2));
}

#[test]
fn real_clock_sleep_waits_at_least_the_duration() {
    let lp = tulipa::EventLoop::new().unwrap();
    let start = lp.time();
    lp.run_until_complete(tulipa::sleep(Duration::from_millis(20)))
        .unwrap();
    assert!(lp.time() - start >= Duration::from_millis(20));
}

/// A `Sleep` armed on one loop and then awaited on another works on the
/// loop that polls it: it waits for its deadline there instead of waiting
/// forever or finishing early.
#[test]
fn sleep_moved_to_another_loop_waits_there_for_its_deadline() {
    use std::future::Future;
    use std::task::Poll;
    let first = virtual_loop();
    let mut nap = Box::pin(tulipa::sleep(Duration::from_secs(10)));
    let armed = first
        .run_until_complete(std::future::poll_fn(|cx| {
            Poll::Ready(nap.as_mut().poll(cx).is_pending())
        }))
        .unwrap();
    assert!(armed);
    let deadline = nap.deadline().expect("armed on the first loop");
    drop(first);
    let second = virtual_loop();
    second.run_until_complete(nap).unwrap();
    assert!(second.time() >= deadline);
}
