//! The pool used from plain threads: results, panics, cancellation,
//! shutdown in every mode, idle exit, back-pressure, many submitters.
//! (CPython's `test_concurrent_futures/test_thread_pool.py` and
//! `executor.py` / `test_shutdown.py` cases are named where ported.)
#![cfg(not(loom))]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

mod support;
use support::pool::{busy_pool, eventually, Gate};
use tulipa::{ExecError, ThreadPoolExecutor};

/// A job that records whether it ran.
fn flag_job(flag: &Arc<AtomicBool>) -> impl FnOnce() -> u32 + Send + 'static {
    let flag = flag.clone();
    move || {
        flag.store(true, Ordering::SeqCst);
        7
    }
}

#[test]
fn submit_returns_result_test_submit() {
    let pool = ThreadPoolExecutor::new(2);
    let job = pool.submit(|| 2u64.pow(5)).unwrap();
    assert_eq!(job.wait().unwrap(), 32);
}

#[test]
fn exec_future_is_awaitable_on_another_executor() {
    let pool = ThreadPoolExecutor::new(2);
    let job = pool.submit(|| "from a worker").unwrap();
    assert_eq!(futures::executor::block_on(job).unwrap(), "from a worker");
}

#[test]
fn panic_is_a_typed_error_and_the_worker_survives() {
    let pool = ThreadPoolExecutor::new(1);
    let first = pool
        .submit(|| thread::current().id())
        .unwrap()
        .wait()
        .unwrap();
    let err = pool
        .submit(|| -> u8 { panic!("boom") })
        .unwrap()
        .wait()
        .unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.to_string(), "job panicked: boom");
    assert_eq!(err.into_panic().unwrap().message(), "boom");
    // The same (only) worker runs the next job.
    let after = pool
        .submit(|| thread::current().id())
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(first, after);
    assert_eq!(pool.num_threads(), 1);
}

#[test]
fn wait_timeout_gives_the_future_back_while_the_job_runs() {
    let (pool, gate, blocker) = busy_pool(ThreadPoolExecutor::builder());
    let blocker = blocker.wait_timeout(Duration::from_millis(5)).unwrap_err();
    assert!(!blocker.is_done());
    gate.open();
    blocker
        .wait_timeout(Duration::from_secs(10))
        .unwrap()
        .unwrap();
    drop(pool);
}

#[test]
fn cancel_queued_job_never_runs_test_cancel() {
    let (pool, gate, blocker) = busy_pool(ThreadPoolExecutor::builder());
    let ran = Arc::new(AtomicBool::new(false));
    let queued = pool.submit(flag_job(&ran)).unwrap();
    assert_eq!(pool.queued(), 1);
    assert!(queued.cancel());
    assert!(queued.cancel(), "cancelling twice still reports cancelled");
    assert_eq!(pool.queued(), 0);
    assert!(queued.is_done());
    assert!(queued.wait().unwrap_err().is_cancelled());
    gate.open();
    blocker.wait().unwrap();
    pool.shutdown(true, false);
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn dropping_a_queued_future_cancels_the_job_and_drops_its_closure_at_once() {
    let (pool, gate, blocker) = busy_pool(ThreadPoolExecutor::builder());
    let ran = Arc::new(AtomicBool::new(false));
    let captured = Arc::new(());
    let held = captured.clone();
    let job = flag_job(&ran);
    let queued = pool
        .submit(move || {
            let _keep = &held;
            job()
        })
        .unwrap();
    assert_eq!(Arc::strong_count(&captured), 2);
    drop(queued);
    assert_eq!(
        Arc::strong_count(&captured),
        1,
        "closure dropped with the future"
    );
    gate.open();
    blocker.wait().unwrap();
    pool.shutdown(true, false);
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn cancel_running_job_returns_false_and_it_finishes_test_cancel_running() {
    let (pool, gate, blocker) = busy_pool(ThreadPoolExecutor::builder());
    assert!(!blocker.cancel());
    gate.open();
    assert!(blocker.wait().is_ok());
    drop(pool);
}

#[test]
fn dropping_a_running_future_drops_the_result_when_it_comes() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let pool = ThreadPoolExecutor::new(1);
    let drops = Arc::new(AtomicUsize::new(0));
    let gate = Gate::default();
    let (started_tx, started) = mpsc::channel();
    let (g, d) = (gate.clone(), drops.clone());
    let running = pool
        .submit(move || {
            started_tx.send(()).unwrap();
            g.wait();
            Counted(d)
        })
        .unwrap();
    started.recv().unwrap();
    drop(running);
    gate.open();
    pool.shutdown(true, false);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn workers_start_lazily_only_when_none_is_idle() {
    let pool = ThreadPoolExecutor::new(4);
    assert_eq!(pool.num_threads(), 0);
    pool.submit(|| ()).unwrap().wait().unwrap();
    eventually("the worker goes idle", || pool.idle_threads() == 1);
    for _ in 0..10 {
        pool.submit(|| ()).unwrap().wait().unwrap();
        eventually("the worker goes idle", || pool.idle_threads() == 1);
    }
    assert_eq!(pool.num_threads(), 1, "an idle worker was reused each time");
}

#[test]
fn max_workers_caps_threads_and_concurrency() {
    let pool = ThreadPoolExecutor::new(3);
    let gate = Gate::default();
    let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let jobs: Vec<_> = (0..12)
        .map(|_| {
            let (gate, now, peak) = (gate.clone(), now.clone(), peak.clone());
            pool.submit(move || {
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(n, Ordering::SeqCst);
                gate.wait();
                now.fetch_sub(1, Ordering::SeqCst);
            })
            .unwrap()
        })
        .collect();
    eventually("three jobs running", || now.load(Ordering::SeqCst) == 3);
    assert_eq!(pool.num_threads(), 3);
    assert_eq!(pool.queued(), 9);
    gate.open();
    jobs.into_iter().for_each(|j| j.wait().unwrap());
    assert_eq!(peak.load(Ordering::SeqCst), 3);
    assert_eq!(pool.num_threads(), 3);
}

#[test]
fn thread_name_prefix_and_stack_size_test_thread_names_assigned() {
    let pool = ThreadPoolExecutor::builder()
        .max_workers(1)
        .thread_name_prefix("SpecialPool")
        .stack_size(512 * 1024)
        .build();
    let name = pool
        .submit(|| thread::current().name().map(str::to_owned))
        .unwrap();
    assert_eq!(name.wait().unwrap().as_deref(), Some("SpecialPool-0"));
}

#[test]
#[should_panic(expected = "at least one worker")]
fn zero_workers_is_refused() {
    let _ = ThreadPoolExecutor::new(0);
}

#[test]
fn idle_workers_exit_after_the_idle_timeout() {
    let pool = ThreadPoolExecutor::builder()
        .max_workers(3)
        .idle_timeout(Duration::from_millis(20))
        .build();
    let gate = Gate::default();
    let jobs: Vec<_> = (0..3)
        .map(|_| {
            let gate = gate.clone();
            pool.submit(move || gate.wait()).unwrap()
        })
        .collect();
    assert_eq!(pool.num_threads(), 3);
    gate.open();
    jobs.into_iter().for_each(|j| j.wait().unwrap());
    eventually("every idle worker exits", || pool.num_threads() == 0);
    assert_eq!(pool.idle_threads(), 0);
    // A later job starts a fresh worker.
    assert_eq!(pool.submit(|| 5).unwrap().wait().unwrap(), 5);
    eventually("the fresh worker exits too", || pool.num_threads() == 0);
}

#[test]
fn shutdown_nowait_keeps_pending_jobs_test_shutdown_no_wait() {
    let (pool, gate, blocker) = busy_pool(ThreadPoolExecutor::builder());
    let flags: Vec<_> = (0..3).map(|_| Arc::new(AtomicBool::new(false))).collect();
    let jobs: Vec<_> = flags
        .iter()
        .map(|f| pool.submit(flag_job(f)).unwrap())
        .collect();
    pool.shutdown(false, false); // returns while the worker is stuck
    assert!(pool.is_shutdown());
    assert!(pool.submit(|| 0).unwrap_err().is_shutdown());
    gate.open();
    blocker.wait().unwrap();
    for job in jobs {
        assert_eq!(job.wait().unwrap(), 7);
    }
    assert!(flags.iter().all(|f| f.load(Ordering::SeqCst)));
    eventually("the worker exits after draining", || {
        pool.num_threads() == 0
    });
}

#[test]
fn shutdown_nowait_cancel_pending_test_cancel_futures_wait_false() {
    let (pool, gate, blocker) = busy_pool(ThreadPoolExecutor::builder());
    let flags: Vec<_> = (0..3).map(|_| Arc::new(AtomicBool::new(false))).collect();
    let jobs: Vec<_> = flags
        .iter()
        .map(|f| pool.submit(flag_job(f)).unwrap())
        .collect();
    pool.shutdown(false, true);
    // Cancelled at once, while the worker is still stuck.
    for job in jobs {
        assert!(job.wait().unwrap_err().is_cancelled());
    }
    assert_eq!(pool.queued(), 0);
    gate.open();
    blocker.wait().unwrap();
    pool.shutdown(true, false);
    assert!(
        flags.iter().all(|f| !f.load(Ordering::SeqCst)),
        "nothing runs after cancel"
    );
}

#[test]
fn shutdown_wait_runs_pending_jobs_then_joins_test_shutdown() {
    let (pool, gate, blocker) = busy_pool(ThreadPoolExecutor::builder());
    let flags: Vec<_> = (0..3).map(|_| Arc::new(AtomicBool::new(false))).collect();
    let jobs: Vec<_> = flags
        .iter()
        .map(|f| pool.submit(flag_job(f)).unwrap())
        .collect();
    let opener = release_once_shut_down(&pool, &gate);
    pool.shutdown(true, false);
    assert_eq!(pool.num_threads(), 0);
    assert!(flags.iter().all(|f| f.load(Ordering::SeqCst)));
    blocker.wait().unwrap();
    jobs.into_iter()
        .for_each(|j| assert_eq!(j.wait().unwrap(), 7));
    opener.join().unwrap();
}

#[test]
fn shutdown_wait_cancel_pending_test_cancel_futures() {
    let (pool, gate, blocker) = busy_pool(ThreadPoolExecutor::builder());
    let flags: Vec<_> = (0..3).map(|_| Arc::new(AtomicBool::new(false))).collect();
    let jobs: Vec<_> = flags
        .iter()
        .map(|f| pool.submit(flag_job(f)).unwrap())
        .collect();
    let opener = release_once_shut_down(&pool, &gate);
    pool.shutdown(true, true);
    assert_eq!(pool.num_threads(), 0);
    blocker.wait().unwrap();
    for job in jobs {
        assert!(job.wait().unwrap_err().is_cancelled());
    }
    assert!(
        flags.iter().all(|f| !f.load(Ordering::SeqCst)),
        "nothing runs after cancel"
    );
    opener.join().unwrap();
}

/// Opens `gate` only once `pool` is shut down, so the shutdown surely sees
/// the worker busy and the jobs still queued.
fn release_once_shut_down(pool: &ThreadPoolExecutor, gate: &Gate) -> thread::JoinHandle<()> {
    let (pool, gate) = (pool.clone(), gate.clone());
    thread::spawn(move || {
        eventually("shutdown", || pool.is_shutdown());
        gate.open();
    })
}

#[test]
fn shutdown_twice_and_from_a_job_does_not_deadlock() {
    let pool = ThreadPoolExecutor::new(2);
    let inner = pool.clone();
    let job = pool.submit(move || inner.shutdown(true, false)).unwrap();
    job.wait().unwrap();
    pool.shutdown(true, false);
    pool.shutdown(false, true);
    assert_eq!(pool.num_threads(), 0);
}

#[test]
fn shutdown_nowait_and_drop_do_not_hang_on_a_job_blocked_forever() {
    let (pool, gate, blocker) = busy_pool(ThreadPoolExecutor::builder());
    let other = pool.clone();
    other.shutdown(false, false);
    drop(other);
    drop(pool); // last handle: shuts down without waiting
    assert!(!blocker.is_done());
    gate.open(); // let the thread go once the test has shown it did not wait
    blocker.wait().unwrap();
}

#[test]
fn dropping_the_last_handle_still_runs_queued_jobs() {
    let (pool, gate, blocker) = busy_pool(ThreadPoolExecutor::builder());
    let queued = pool.submit(|| 11).unwrap();
    drop(pool);
    gate.open();
    blocker.wait().unwrap();
    assert_eq!(queued.wait().unwrap(), 11);
}

#[test]
fn bounded_queue_blocks_submit_until_a_worker_takes_a_job() {
    let (pool, gate, blocker) = busy_pool(ThreadPoolExecutor::builder().max_queued(1));
    let first = pool.try_submit(|| 1).unwrap();
    assert!(pool.try_submit(|| 2).unwrap_err().is_full());
    let submitted = Arc::new(AtomicBool::new(false));
    let (p, s) = (pool.clone(), submitted.clone());
    let submitter = thread::spawn(move || {
        let job = p.submit(|| 3).unwrap();
        s.store(true, Ordering::SeqCst);
        job.wait().unwrap()
    });
    thread::sleep(Duration::from_millis(30));
    assert!(!submitted.load(Ordering::SeqCst), "submit waited for room");
    assert_eq!(pool.queued(), 1, "the queue never grew past its bound");
    gate.open();
    blocker.wait().unwrap();
    assert_eq!(first.wait().unwrap(), 1);
    assert_eq!(submitter.join().unwrap(), 3);
}

#[test]
fn cancelling_a_queued_job_makes_room_in_a_bounded_queue() {
    let (pool, gate, blocker) = busy_pool(ThreadPoolExecutor::builder().max_queued(1));
    let queued = pool.try_submit(|| 1).unwrap();
    assert!(pool.try_submit(|| 2).unwrap_err().is_full());
    drop(queued);
    let next = pool.try_submit(|| 3).unwrap();
    gate.open();
    blocker.wait().unwrap();
    assert_eq!(next.wait().unwrap(), 3);
}

/// Polls a `submit_async` future once, by hand.
fn poll_once<F: FnOnce() -> u32 + Send + 'static>(
    submit: &mut tulipa::executor::Submit<F>,
) -> Poll<Result<tulipa::ExecFuture<u32>, tulipa::SubmitError<F>>> {
    Pin::new(submit).poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn submitter_cancelled_in_the_middle_of_the_line_leaves_it_and_the_line_stays_fifo() {
    let (pool, gate, blocker) =
        busy_pool(ThreadPoolExecutor::builder().max_workers(1).max_queued(1));
    let filler = pool.try_submit(|| 0).unwrap();
    let (mut a, mut b, mut c) = (
        pool.submit_async(|| 1),
        pool.submit_async(|| 2),
        pool.submit_async(|| 3),
    );
    assert!(poll_once(&mut a).is_pending());
    assert!(poll_once(&mut b).is_pending());
    assert!(poll_once(&mut c).is_pending());
    drop(b); // leaves from the middle of the line
    assert!(filler.cancel()); // one place: the first in line is woken
    assert!(poll_once(&mut c).is_pending(), "c waits behind a");
    let Poll::Ready(Ok(job_a)) = poll_once(&mut a) else {
        panic!("a, first in line, takes the place")
    };
    assert!(job_a.cancel()); // the place again: c is next (b has left)
    let Poll::Ready(Ok(job_c)) = poll_once(&mut c) else {
        panic!("c takes the place b left")
    };
    gate.open();
    blocker.wait().unwrap();
    assert_eq!(job_c.wait().unwrap(), 3);
}

#[test]
fn shutdown_wakes_a_submitter_blocked_on_a_full_queue_and_gives_f_back() {
    let (pool, gate, blocker) = busy_pool(ThreadPoolExecutor::builder().max_queued(1));
    let _queued = pool.try_submit(|| 1).unwrap();
    let p = pool.clone();
    let submitter = thread::spawn(move || match p.submit(|| 42) {
        Err(e) if e.is_shutdown() => (e.into_inner())(),
        _ => panic!("expected ShutDown"),
    });
    thread::sleep(Duration::from_millis(10));
    pool.shutdown(false, true);
    assert_eq!(submitter.join().unwrap(), 42, "the closure came back");
    gate.open();
    blocker.wait().unwrap();
}

#[test]
fn jobs_submitted_from_many_threads_at_once() {
    let pool = ThreadPoolExecutor::new(4);
    let start = Arc::new(std::sync::Barrier::new(8));
    let submitters: Vec<_> = (0..8u64)
        .map(|t| {
            let (pool, start) = (pool.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                let jobs: Vec<_> = (0..2_000u64)
                    .map(|i| pool.submit(move || t * 1_000_000 + i).unwrap())
                    .collect();
                jobs.into_iter()
                    .enumerate()
                    .all(|(i, j)| j.wait().unwrap() == t * 1_000_000 + i as u64)
            })
        })
        .collect();
    for s in submitters {
        assert!(s.join().unwrap());
    }
    assert!(pool.num_threads() <= 4);
}

#[test]
fn hundred_thousand_jobs() {
    let pool = ThreadPoolExecutor::new(4);
    let jobs: Vec<_> = (0..100_000u64)
        .map(|i| pool.submit(move || i + 1).unwrap())
        .collect();
    let sum: u64 = jobs.into_iter().map(|j| j.wait().unwrap()).sum();
    assert_eq!(sum, 100_000 * 100_001 / 2);
}

#[test]
fn error_display_and_debug() {
    assert_eq!(ExecError::Cancelled.to_string(), "job was cancelled");
    assert_eq!(ExecError::ShutDown.to_string(), "executor is shut down");
    let pool = ThreadPoolExecutor::new(1);
    pool.shutdown(false, false);
    struct NotDebug;
    let err = pool.submit(|| NotDebug).unwrap_err();
    assert_eq!(format!("{err:?}"), "ShutDown(..)");
    assert_eq!(err.to_string(), "executor is shut down");
}

/// A lost wake-up would hang a `wait`; every race window is hit many times:
/// the worker finishing while the waiter arrives, a submit while the worker
/// spins or is going idle, and (with a 1 ms idle timeout) a submit while the
/// worker is exiting. The watchdog turns a hang into a failure.
fn stress_no_lost_wakeup(spin: Duration, idle_timeout: Duration) {
    let (done_tx, done) = mpsc::channel();
    thread::spawn(move || {
        let pool = ThreadPoolExecutor::builder()
            .max_workers(2)
            .idle_timeout(idle_timeout)
            .spin_time(spin)
            .build();
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let pool = pool.clone();
                thread::spawn(move || {
                    for i in 0..3_000u32 {
                        assert_eq!(pool.submit(move || i).unwrap().wait().unwrap(), i);
                        if i % 512 == 0 {
                            thread::sleep(Duration::from_millis(2)); // let workers time out
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        done_tx.send(()).unwrap();
    });
    done.recv_timeout(Duration::from_secs(120))
        .expect("a wake-up was lost (or the machine is extremely slow)");
}

#[test]
fn stress_no_lost_wakeup_with_spinning_workers() {
    stress_no_lost_wakeup(Duration::from_micros(50), Duration::from_millis(1));
}

#[test]
fn stress_no_lost_wakeup_with_sleeping_workers_only() {
    stress_no_lost_wakeup(Duration::ZERO, Duration::from_millis(1));
}

/// Without idle exits no timeout can paper over a lost notification of an
/// idle worker: it would leave a job queued with every submitter waiting.
#[test]
fn stress_no_lost_wakeup_with_sleeping_workers_that_never_time_out() {
    stress_no_lost_wakeup(Duration::ZERO, Duration::MAX);
}
