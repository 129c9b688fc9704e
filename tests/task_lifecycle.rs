//! Tasks: results, cancellation, panics, detaching, introspection.
mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;
use support::{virtual_loop, Log};
use tulipa::{EventLoop, ExceptionContext, TaskError};

#[test]
fn task_output_is_returned_by_await() {
    let out = tulipa::run(async { tulipa::spawn(async { 5 }).await }).unwrap();
    assert_eq!(out.unwrap(), 5);
}

#[test]
fn not_send_futures_are_allowed() {
    let shared = Rc::new(Cell::new(0));
    let s = shared.clone();
    tulipa::run(async move {
        let s2 = s.clone();
        tulipa::spawn(async move {
            tulipa::yield_now().await;
            s2.set(s2.get() + 1);
        })
        .await
        .unwrap();
    })
    .unwrap();
    assert_eq!(shared.get(), 1);
}

#[test]
fn cancelling_a_sleeping_task_drops_its_future() {
    struct Guard(Log);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.push("dropped");
        }
    }
    let log = Log::new();
    let l = log.clone();
    virtual_loop()
        .run(async move {
            let l2 = l.clone();
            let task = tulipa::spawn(async move {
                let _guard = Guard(l2.clone());
                l2.push("sleeping");
                tulipa::sleep(Duration::from_secs(10)).await;
                l2.push("woke up");
            });
            tulipa::sleep(Duration::from_secs(1)).await;
            assert!(task.cancel());
            assert!(
                !task.is_done(),
                "dropped at the task's next turn, not inside cancel()"
            );
            let err = task.await.unwrap_err();
            assert!(err.is_cancelled());
            l.push("awaited");
        })
        .unwrap();
    assert_eq!(log.take(), ["sleeping", "dropped", "awaited"]);
}

#[test]
fn a_task_cancelled_before_it_started_never_runs() {
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    tulipa::run(async move {
        let task = tulipa::spawn(async move { r.set(true) });
        assert!(task.cancel());
        assert!(task.await.unwrap_err().is_cancelled());
    })
    .unwrap();
    assert!(!ran.get());
}

#[test]
fn cancel_after_done_returns_false() {
    tulipa::run(async {
        let task = tulipa::spawn(async { 1 });
        tulipa::yield_now().await;
        assert!(task.is_done());
        assert!(!task.cancel());
        assert!(!task.is_cancelled());
        assert_eq!(task.await.unwrap(), 1);
    })
    .unwrap();
}

#[test]
fn a_task_may_cancel_itself_and_finishes_at_its_next_turn() {
    let log = Log::new();
    let l = log.clone();
    tulipa::run(async move {
        let me: Rc<Cell<Option<tulipa::Task<()>>>> = Rc::new(Cell::new(None));
        let m = me.clone();
        let l2 = l.clone();
        let task = tulipa::spawn(async move {
            let own = m.take().unwrap();
            own.cancel();
            l2.push("still running this poll");
            tulipa::yield_now().await;
            l2.push("never");
        });
        let watcher = tulipa::spawn(async {});
        me.set(Some(task));
        watcher.await.unwrap();
        tulipa::sleep(Duration::from_millis(1)).await;
    })
    .unwrap();
    assert_eq!(log.take(), ["still running this poll"]);
}

#[test]
fn a_panicking_task_becomes_an_error_and_the_loop_goes_on() {
    let out = tulipa::run(async {
        let bad = tulipa::spawn(async {
            panic!("boom");
        });
        let good = tulipa::spawn(async { "fine" });
        let err = bad.await.unwrap_err();
        (err, good.await.unwrap())
    })
    .unwrap();
    match out.0 {
        TaskError::Panicked(p) => assert_eq!(p.message(), "boom"),
        other => panic!("expected a panic, got {other:?}"),
    }
    assert_eq!(out.1, "fine");
}

fn capture_reports(lp: &EventLoop) -> Rc<std::cell::RefCell<Vec<ExceptionContext>>> {
    let reports = Rc::new(std::cell::RefCell::new(Vec::new()));
    let r = reports.clone();
    lp.set_exception_handler(Some(move |ctx: &ExceptionContext| {
        r.borrow_mut().push(ctx.clone())
    }));
    reports
}

#[test]
fn a_panicking_callback_goes_to_the_exception_handler() {
    let lp = EventLoop::new().unwrap();
    let reports = capture_reports(&lp);
    let log = Log::new();
    let _ = lp.call_soon(|| panic!("callback boom"));
    let l = log.clone();
    let _ = lp.call_soon(move || l.push("next callback ran"));
    lp.run_once().unwrap();
    assert_eq!(log.take(), ["next callback ran"]);
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].message, "callback panicked");
    assert_eq!(reports[0].panic.as_deref(), Some("callback boom"));
}

#[test]
fn a_detached_task_that_panics_is_reported_with_its_name() {
    let lp = EventLoop::new().unwrap();
    let reports = capture_reports(&lp);
    lp.run_until_complete(async {
        drop(tulipa::spawn_named("doomed", async { panic!("lost") }));
        tulipa::yield_now().await;
        tulipa::yield_now().await;
    })
    .unwrap();
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].panic.as_deref(), Some("lost"));
    assert_eq!(
        reports[0].task.as_ref().unwrap().name.as_deref(),
        Some("doomed")
    );
}

#[test]
fn an_awaited_panic_is_not_reported() {
    let lp = EventLoop::new().unwrap();
    let reports = capture_reports(&lp);
    lp.run_until_complete(async {
        assert!(tulipa::spawn(async { panic!("seen") }).await.is_err());
    })
    .unwrap();
    assert!(reports.borrow().is_empty());
}

#[test]
fn a_panicking_exception_handler_does_not_stop_the_loop() {
    let lp = EventLoop::new().unwrap();
    lp.set_exception_handler(Some(|_: &ExceptionContext| panic!("handler boom")));
    let _ = lp.call_soon(|| panic!("callback boom"));
    lp.run_once().unwrap();
    assert_eq!(lp.run_until_complete(async { 3 }).unwrap(), 3);
}

#[test]
fn dropping_a_task_detaches_it_and_it_still_finishes() {
    let log = Log::new();
    let l = log.clone();
    virtual_loop()
        .run(async move {
            let l2 = l.clone();
            drop(tulipa::spawn(async move {
                tulipa::sleep(Duration::from_secs(1)).await;
                l2.push("detached task finished");
            }));
            tulipa::sleep(Duration::from_secs(2)).await;
        })
        .unwrap();
    assert_eq!(log.take(), ["detached task finished"]);
}

#[test]
fn done_callbacks_run_through_call_soon_after_completion() {
    let log = Log::new();
    let l = log.clone();
    tulipa::run(async move {
        let task = tulipa::spawn(async { 1 });
        let l2 = l.clone();
        task.add_done_callback(move || l2.push("done callback"));
        l.push("before");
        let out = task.await.unwrap();
        l.push(format!("awaited {out}"));
        tulipa::yield_now().await;
    })
    .unwrap();
    // The awaiter is woken first (it was waiting); the callback is scheduled with call_soon.
    assert_eq!(log.take(), ["before", "awaited 1", "done callback"]);
}

#[test]
fn add_done_callback_on_a_finished_task_is_scheduled_at_once() {
    let log = Log::new();
    let l = log.clone();
    tulipa::run(async move {
        let task = tulipa::spawn(async {});
        tulipa::yield_now().await;
        assert!(task.is_done());
        let l2 = l.clone();
        task.add_done_callback(move || l2.push("late callback"));
        tulipa::yield_now().await;
    })
    .unwrap();
    assert_eq!(log.take(), ["late callback"]);
}

#[test]
fn current_task_and_all_tasks_report_ids_and_names() {
    tulipa::run(async {
        let main = tulipa::current_task().expect("the main future runs as a task");
        assert_eq!(main.name.as_deref(), Some("main"));
        let named = tulipa::spawn_named("worker", async {
            let me = tulipa::current_task().unwrap();
            (me.id, me.name)
        });
        let other = tulipa::spawn(tulipa::sleep(Duration::from_millis(5)));
        let all = tulipa::all_tasks();
        assert_eq!(all.len(), 2, "the main task is not listed");
        assert!(all.iter().all(|t| t.id != main.id));
        assert!(all.iter().any(|t| t.name.as_deref() == Some("worker")));
        assert!(all[0].location.file().ends_with("task_lifecycle.rs"));
        let id = named.id();
        let (seen_id, seen_name) = named.await.unwrap();
        assert_eq!(seen_id, id);
        assert_eq!(seen_name.as_deref(), Some("worker"));
        other.await.unwrap();
        assert!(tulipa::all_tasks().is_empty());
    })
    .unwrap();
}

#[test]
fn run_cancels_leftover_tasks_and_lets_them_unwind() {
    struct Guard(Log);
    impl Drop for Guard {
        fn drop(&mut self) {
            // Drop code still sees the loop it ran on.
            let running = tulipa::get_running_loop().is_some();
            self.0.push(format!("unwound, loop visible: {running}"));
        }
    }
    let log = Log::new();
    let l = log.clone();
    tulipa::run(async move {
        let l2 = l.clone();
        drop(tulipa::spawn(async move {
            let _g = Guard(l2);
            std::future::pending::<()>().await;
        }));
        tulipa::yield_now().await;
    })
    .unwrap();
    assert_eq!(log.take(), ["unwound, loop visible: true"]);
}

#[test]
fn spawning_on_a_closed_loop_gives_a_cancelled_task() {
    let lp = EventLoop::new().unwrap();
    lp.close().unwrap();
    let task = lp.spawn(async { 1 });
    assert!(task.is_done());
    assert!(task.is_cancelled());
}

#[test]
fn spawn_outside_a_running_loop_panics_with_a_clear_message() {
    let err = std::panic::catch_unwind(|| {
        drop(tulipa::spawn(async {}));
    })
    .unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("running tulipa event loop"), "{msg}");
}

#[test]
fn cancel_on_drop_cancels_a_task_gathered_then_dropped() {
    let log = Log::new();
    let l = log.clone();
    virtual_loop()
        .run(async move {
            let l2 = l.clone();
            let child = tulipa::spawn(async move {
                tulipa::sleep(Duration::from_secs(10)).await;
                l2.push("child finished");
            });
            let gathered = tulipa::gather([child.cancel_on_drop()]);
            assert!(tulipa::wait_for(gathered, Duration::from_secs(1))
                .await
                .is_err());
            tulipa::sleep(Duration::from_secs(20)).await;
        })
        .unwrap();
    assert!(
        log.take().is_empty(),
        "the child was cancelled with the gather"
    );
}

#[test]
fn cancel_on_drop_into_inner_gives_back_a_detaching_handle() {
    let log = Log::new();
    let l = log.clone();
    virtual_loop()
        .run(async move {
            let l2 = l.clone();
            let guarded = tulipa::spawn(async move {
                tulipa::sleep(Duration::from_secs(1)).await;
                l2.push("finished");
            })
            .cancel_on_drop();
            drop(guarded.into_inner());
            tulipa::sleep(Duration::from_secs(2)).await;
        })
        .unwrap();
    assert_eq!(log.take(), ["finished"]);
}
