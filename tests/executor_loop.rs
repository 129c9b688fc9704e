//! The loop side: `run_in_executor` / `run_in_executor_on`, the default
//! executor, the virtual clock, back-pressure seen from tasks, loop close.
//! (CPython's `test_base_events.py` `test_run_in_executor*`,
//! `test_set_default_executor*` and `test_close` cases are named where ported.)
#![cfg(not(loom))]

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

mod support;
use support::pool::{busy_pool, eventually, Gate};
use tulipa::{run_in_executor, run_in_executor_on, EventLoop, ThreadPoolExecutor};

#[test]
fn run_in_executor_returns_the_result_test_run_in_executor() {
    let out = tulipa::run(async {
        let here = thread::current().id();
        let there = run_in_executor(|| thread::current().id()).await.unwrap();
        here != there
    });
    assert!(out.unwrap());
}

#[test]
fn run_in_executor_panic_is_a_typed_error_and_the_loop_goes_on() {
    let out = tulipa::run(async {
        let err = run_in_executor(|| -> u8 { panic!("in a worker") })
            .await
            .unwrap_err();
        assert!(err.is_panic());
        run_in_executor(|| 1).await.unwrap()
    });
    assert_eq!(out.unwrap(), 1);
}

#[test]
fn event_loop_method_works_before_the_loop_runs() {
    let lp = EventLoop::new().unwrap();
    let job = lp.run_in_executor(|| "queued before run");
    assert_eq!(
        lp.run_until_complete(job).unwrap().unwrap(),
        "queued before run"
    );
}

#[test]
fn run_in_executor_on_a_given_pool_and_pool_run() {
    let pool = ThreadPoolExecutor::builder()
        .max_workers(1)
        .thread_name_prefix("given")
        .build();
    let out = tulipa::run(async {
        let a = run_in_executor_on(&pool, || thread::current().name().unwrap().to_owned());
        let b = pool.run(|| 2);
        (a.await.unwrap(), b.await.unwrap())
    });
    assert_eq!(out.unwrap(), ("given-0".to_owned(), 2));
}

#[test]
#[should_panic(expected = "running tulipa event loop")]
fn run_in_executor_without_a_running_loop_panics() {
    drop(run_in_executor(|| ()));
}

#[test]
fn default_executor_has_min_32_cpus_plus_4_workers_test_default_executor() {
    let lp = EventLoop::new().unwrap();
    let cpus = thread::available_parallelism().unwrap().get();
    assert_eq!(lp.default_executor().max_workers(), (cpus + 4).min(32));
    assert_eq!(
        lp.default_executor().num_threads(),
        0,
        "made lazily, no thread yet"
    );
}

#[test]
fn set_default_executor_replaces_the_pool_test_set_default_executor() {
    let lp = EventLoop::new().unwrap();
    let mine = ThreadPoolExecutor::builder()
        .max_workers(1)
        .thread_name_prefix("mine")
        .build();
    lp.set_default_executor(mine.clone());
    let name = lp.run_in_executor(|| thread::current().name().unwrap().to_owned());
    assert_eq!(lp.run_until_complete(name).unwrap().unwrap(), "mine-0");
    lp.close().unwrap();
    assert!(
        mine.is_shutdown(),
        "closing the loop shut the default executor down"
    );
}

#[test]
fn close_shuts_the_default_executor_down_test_close() {
    let lp = EventLoop::new().unwrap();
    let pool = lp.default_executor();
    lp.run_until_complete(lp.run_in_executor(|| ()))
        .unwrap()
        .unwrap();
    lp.close().unwrap();
    assert!(pool.is_shutdown());
    eventually("the default executor's worker exits", || {
        pool.num_threads() == 0
    });
    // A closed loop refuses new jobs instead of starting a new pool.
    let late = lp.run_in_executor(|| ());
    assert!(futures::executor::block_on(late).unwrap_err().is_shutdown());
    assert!(lp.default_executor().is_shutdown());
}

#[test]
fn loop_close_does_not_hang_on_a_job_blocked_forever() {
    let gate = Gate::default();
    let (started_tx, started) = mpsc::channel();
    let lp = EventLoop::new().unwrap();
    let pool = lp.default_executor();
    let g = gate.clone();
    let stuck = lp.spawn(lp.run_in_executor(move || {
        started_tx.send(()).unwrap();
        g.wait();
    }));
    let started = lp.run_until_complete(lp.run_in_executor(move || started.recv().unwrap()));
    started.unwrap().unwrap();
    assert!(!stuck.is_done());
    lp.close().unwrap(); // returns although a job is stuck
    assert!(pool.is_shutdown());
    gate.open();
    eventually("the workers leave once released", || {
        pool.num_threads() == 0
    });
}

#[test]
fn asyncio_run_style_does_not_hang_on_a_job_blocked_forever() {
    let gate = Gate::default();
    let g = gate.clone();
    let out = tulipa::run(async move {
        let _detached = tulipa::spawn(run_in_executor(move || g.wait()));
        tulipa::yield_now().await;
        "main done"
    });
    assert_eq!(out.unwrap(), "main done");
    gate.open();
}

#[test]
fn dropping_the_loop_side_future_cancels_a_queued_job() {
    let (pool, gate, blocker) = busy_pool(ThreadPoolExecutor::builder());
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let lp = EventLoop::new().unwrap();
    let job = run_in_executor_on(&pool, move || r.store(true, Ordering::SeqCst));
    assert_eq!(pool.queued(), 1, "queued as soon as it is made");
    drop(job);
    assert_eq!(pool.queued(), 0);
    gate.open();
    blocker.wait().unwrap();
    pool.shutdown(true, false);
    assert!(!ran.load(Ordering::SeqCst));
    drop(lp);
}

#[test]
fn cancelling_the_awaiting_task_cancels_a_queued_job() {
    let (pool, gate, blocker) = busy_pool(ThreadPoolExecutor::builder());
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let p = pool.clone();
    tulipa::run(async move {
        let task =
            tulipa::spawn(async move { p.run(move || r.store(true, Ordering::SeqCst)).await });
        tulipa::yield_now().await;
        assert!(task.cancel());
        assert!(task.await.unwrap_err().is_cancelled());
    })
    .unwrap();
    gate.open();
    blocker.wait().unwrap();
    pool.shutdown(true, false);
    assert!(!ran.load(Ordering::SeqCst), "nothing runs after cancel");
}

#[test]
fn shutdown_cancel_pending_resolves_loop_side_futures_as_cancelled() {
    let (pool, gate, blocker) = busy_pool(ThreadPoolExecutor::builder());
    let lp = EventLoop::new().unwrap();
    let queued = pool.run(|| 1);
    pool.shutdown(false, true);
    assert!(lp
        .run_until_complete(queued)
        .unwrap()
        .unwrap_err()
        .is_cancelled());
    let late = pool.run(|| 2);
    assert!(lp
        .run_until_complete(late)
        .unwrap()
        .unwrap_err()
        .is_shutdown());
    gate.open();
    blocker.wait().unwrap();
}

#[test]
fn the_loop_keeps_running_while_a_job_blocks() {
    let ticks = Rc::new(Cell::new(0u32));
    let t = ticks.clone();
    tulipa::run(async move {
        let heartbeat = tulipa::spawn(async move {
            loop {
                tulipa::sleep(Duration::from_millis(5)).await;
                t.set(t.get() + 1);
            }
        });
        run_in_executor(|| thread::sleep(Duration::from_millis(200)))
            .await
            .unwrap();
        heartbeat.cancel();
    })
    .unwrap();
    assert!(
        ticks.get() >= 5,
        "the heartbeat ticked {} times",
        ticks.get()
    );
}

#[test]
fn virtual_clock_waits_for_an_outstanding_job_instead_of_jumping() {
    let lp = EventLoop::builder().virtual_time().build().unwrap();
    let start = lp.time();
    let (finished_at, hour_done) = lp
        .run(async {
            let late = tulipa::spawn(async {
                tulipa::sleep(Duration::from_secs(3600)).await;
                tulipa::now()
            });
            run_in_executor(|| thread::sleep(Duration::from_millis(30)))
                .await
                .unwrap();
            let finished_at = tulipa::now();
            (finished_at, late.await.unwrap())
        })
        .unwrap();
    // The job took ~30 ms of real time; virtual time followed it instead of
    // jumping to the one-hour timer first.
    assert!(
        finished_at - start < Duration::from_secs(60),
        "{:?}",
        finished_at - start
    );
    assert_eq!(hour_done - start, Duration::from_secs(3600));
}

#[test]
fn hundred_thousand_jobs_awaited_on_the_loop() {
    let pool = ThreadPoolExecutor::new(4);
    let sum = tulipa::run(async {
        let jobs: Vec<_> = (0..100_000u64).map(|i| pool.run(move || i + 1)).collect();
        let mut sum = 0;
        for job in jobs {
            sum += job.await.unwrap();
        }
        sum
    });
    assert_eq!(sum.unwrap(), 100_000 * 100_001 / 2);
}

#[test]
fn bounded_pool_makes_tasks_wait_for_room_without_blocking_the_loop() {
    let pool = ThreadPoolExecutor::builder()
        .max_workers(2)
        .max_queued(3)
        .build();
    let peak_queued = Arc::new(AtomicUsize::new(0));
    let ticks = Rc::new(Cell::new(0u32));
    let t = ticks.clone();
    let out = tulipa::run(async {
        let heartbeat = tulipa::spawn(async move {
            loop {
                tulipa::yield_now().await;
                t.set(t.get() + 1);
            }
        });
        let jobs: Vec<_> = (0..50u64)
            .map(|i| {
                let (p, peak) = (pool.clone(), peak_queued.clone());
                pool.run(move || {
                    peak.fetch_max(p.queued(), Ordering::SeqCst);
                    thread::sleep(Duration::from_micros(200));
                    i
                })
            })
            .collect();
        let mut sum = 0;
        for job in jobs {
            sum += job.await.unwrap();
        }
        heartbeat.cancel();
        sum
    });
    assert_eq!(out.unwrap(), (0..50).sum());
    assert!(peak_queued.load(Ordering::SeqCst) <= 3);
    assert!(ticks.get() > 0, "the loop ran other tasks meanwhile");
}

/// Counts its wake-ups.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn dropped_woken_submitter_passes_the_room_to_the_next() {
    let (pool, gate, blocker) = busy_pool(ThreadPoolExecutor::builder().max_queued(1));
    let queued = pool.try_submit(|| 0).unwrap();
    let (wa, wb) = (
        Arc::new(CountingWaker::default()),
        Arc::new(CountingWaker::default()),
    );
    let (waker_a, waker_b) = (Waker::from(wa.clone()), Waker::from(wb.clone()));
    let mut a = Box::pin(pool.submit_async(|| 1));
    let mut b = Box::pin(pool.submit_async(|| 2));
    assert!(a
        .as_mut()
        .poll(&mut Context::from_waker(&waker_a))
        .is_pending());
    assert!(b
        .as_mut()
        .poll(&mut Context::from_waker(&waker_b))
        .is_pending());
    gate.open(); // the worker finishes, takes `queued`: room for one
    eventually("the first waiter is woken", || {
        wa.0.load(Ordering::SeqCst) == 1
    });
    assert_eq!(wb.0.load(Ordering::SeqCst), 0, "one room, one wake-up");
    drop(a); // woken but gone: its turn passes on
    assert_eq!(wb.0.load(Ordering::SeqCst), 1);
    let Poll::Ready(Ok(job)) = b.as_mut().poll(&mut Context::from_waker(&waker_b)) else {
        panic!("b should have been queued")
    };
    assert_eq!(job.wait().unwrap(), 2);
    blocker.wait().unwrap();
    queued.wait().unwrap();
}

#[test]
fn run_in_executor_future_works_inside_tokio() {
    let pool = ThreadPoolExecutor::new(2);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(pool.run(|| 9)).unwrap(), 9);
}

/// 20 000 sequential round trips through the inbox on a real-time loop; a
/// lost wake-up would park the loop in the selector forever (the watchdog
/// turns that into a failure). Worker idle exits race with submissions too.
fn stress_no_lost_wakeup_on_the_loop(spin: Duration) {
    let (done_tx, done) = mpsc::channel();
    thread::spawn(move || {
        let pool = ThreadPoolExecutor::builder()
            .max_workers(2)
            .idle_timeout(Duration::from_millis(1))
            .spin_time(spin)
            .build();
        let lp = EventLoop::new().unwrap();
        let sum = lp.run_until_complete(async {
            let mut sum = 0u64;
            for i in 0..20_000u64 {
                sum += pool.run(move || i).await.unwrap();
                if i % 1000 == 0 {
                    tulipa::sleep(Duration::from_millis(2)).await; // let workers time out
                }
            }
            sum
        });
        done_tx.send(sum.unwrap()).unwrap();
    });
    let sum = done
        .recv_timeout(Duration::from_secs(120))
        .expect("a wake-up was lost (or the machine is extremely slow)");
    assert_eq!(sum, (0..20_000u64).sum());
}

#[test]
fn stress_no_lost_wakeup_on_the_loop_with_spinning_workers() {
    stress_no_lost_wakeup_on_the_loop(Duration::from_micros(50));
}

#[test]
fn stress_no_lost_wakeup_on_the_loop_with_sleeping_workers_only() {
    stress_no_lost_wakeup_on_the_loop(Duration::ZERO);
}

/// On a virtual clock, a job that has finished ends its hold at once, even
/// if nobody has polled its future yet: a long virtual sleep afterwards
/// jumps instead of following real time (which would be a one-hour hang).
#[test]
fn finished_unpolled_job_releases_the_virtual_clock() {
    let (done_tx, done_rx) = mpsc::channel();
    let (out_tx, out_rx) = mpsc::channel();
    let runner = thread::spawn(move || {
        let lp = EventLoop::builder().virtual_time().build().unwrap();
        let out = lp.run(async move {
            let job = run_in_executor(move || {
                done_tx.send(()).unwrap();
                21 * 2
            });
            // The job has started (and finishes right after the send).
            while done_rx.try_recv().is_err() {
                tulipa::yield_now().await;
            }
            let start = tulipa::now();
            tulipa::sleep(Duration::from_secs(3600)).await;
            (tulipa::now() - start, job.await.unwrap())
        });
        out_tx.send(out.unwrap()).unwrap();
    });
    // A watchdog, not a timing assertion: the failure mode is a 1 h stall.
    let (elapsed, value) = out_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("virtual time stalled behind a finished job's hold");
    assert_eq!(elapsed, Duration::from_secs(3600));
    assert_eq!(value, 42);
    runner.join().unwrap();
}
