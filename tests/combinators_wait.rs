//! `wait`, ported from the wait cases of CPython's
//! `Lib/test/test_asyncio/test_tasks.py` where they mean something in Rust.
//! (`test_wait_duplicate_coroutines` has no port: a `Task` is not `Clone`,
//! so the same task cannot be passed twice.)
#![cfg(not(loom))]

#[path = "support/combinators.rs"]
mod support;

use support::{ms, secs, since, vloop, Counter};
use tulipa::{ReturnWhen, Task, WaitError};

fn sleeper(d: std::time::Duration, value: &'static str) -> Task<&'static str> {
    tulipa::spawn(async move {
        tulipa::sleep(d).await;
        value
    })
}

async fn outputs(tasks: Vec<Task<&'static str>>) -> Vec<&'static str> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// test_wait: ALL_COMPLETED takes as long as the slowest; waiting again on
/// done tasks takes no time.
#[test]
fn test_wait_all_completed() {
    vloop()
        .run(async {
            let start = tulipa::now();
            let a = sleeper(ms(100), "a");
            let b = sleeper(ms(150), "b");
            let (done, pending) = tulipa::wait([b, a], ReturnWhen::AllCompleted, None)
                .await
                .unwrap();
            assert_eq!(since(start), ms(150));
            assert!(pending.is_empty());
            // Done tasks come back in input order.
            let again = tulipa::wait(done, ReturnWhen::AllCompleted, None)
                .await
                .unwrap();
            assert_eq!(since(start), ms(150));
            assert_eq!(outputs(again.0).await, ["b", "a"]);
        })
        .unwrap();
}

/// test_wait_errors / test_wait_invalid_args: empty input is a typed error.
#[test]
fn test_wait_errors_empty_input_is_typed_error() {
    let err = tulipa::run(async {
        tulipa::wait(Vec::<Task<()>>::new(), ReturnWhen::FirstCompleted, None)
            .await
            .unwrap_err()
    })
    .unwrap();
    assert_eq!(err, WaitError::Empty);
    assert!(err.is_empty());
    assert_eq!(err.to_string(), "no tasks to wait for");
}

/// test_wait_first_completed: done == {b}, pending == {a}, a still running.
#[test]
fn test_wait_first_completed() {
    vloop()
        .run(async {
            let start = tulipa::now();
            let a = sleeper(secs(10), "a");
            let b = sleeper(ms(100), "b");
            let (done, pending) = tulipa::wait([a, b], ReturnWhen::FirstCompleted, None)
                .await
                .unwrap();
            assert_eq!(since(start), ms(100));
            assert_eq!(pending.len(), 1);
            assert!(!pending[0].is_done());
            assert_eq!(outputs(done).await, ["b"]);
            // The pending task can be waited on again.
            let (done, pending) = tulipa::wait(pending, ReturnWhen::FirstCompleted, None)
                .await
                .unwrap();
            assert!(pending.is_empty());
            assert_eq!(outputs(done).await, ["a"]);
            assert_eq!(since(start), secs(10));
        })
        .unwrap();
}

/// test_wait_really_done: FIRST_COMPLETED, but both finish before the
/// waiter resumes: both are in `done`.
#[test]
fn test_wait_really_done() {
    vloop()
        .run(async {
            let a = tulipa::spawn(async {
                tulipa::yield_now().await;
                "a"
            });
            let b = tulipa::spawn(async {
                tulipa::yield_now().await;
                "b"
            });
            let (done, pending) = tulipa::wait([a, b], ReturnWhen::FirstCompleted, None)
                .await
                .unwrap();
            assert!(pending.is_empty());
            assert_eq!(outputs(done).await, ["a", "b"]);
        })
        .unwrap();
}

/// test_wait_first_exception: a task that already failed releases the wait
/// at once (time 0); the long sleeper stays pending.
#[test]
fn test_wait_first_exception() {
    vloop()
        .run(async {
            let start = tulipa::now();
            let a = sleeper(secs(10), "a");
            let b = tulipa::spawn(async {
                if true {
                    panic!("exc");
                }
                "b"
            });
            let (done, pending) = tulipa::wait([a, b], ReturnWhen::FirstException, None)
                .await
                .unwrap();
            assert_eq!(since(start), ms(0));
            assert_eq!(pending.len(), 1);
            assert_eq!(done.len(), 1);
            assert!(done
                .into_iter()
                .next()
                .unwrap()
                .await
                .unwrap_err()
                .is_panic());
        })
        .unwrap();
}

/// test_wait_first_exception_in_wait: the failure happens at 10 ms.
#[test]
fn test_wait_first_exception_in_wait() {
    vloop()
        .run(async {
            let start = tulipa::now();
            let a = sleeper(secs(10), "a");
            let b = tulipa::spawn(async {
                tulipa::sleep(ms(10)).await;
                if true {
                    panic!("exc");
                }
                "b"
            });
            let (done, pending) = tulipa::wait([a, b], ReturnWhen::FirstException, None)
                .await
                .unwrap();
            assert_eq!(since(start), ms(10));
            assert_eq!((done.len(), pending.len()), (1, 1));
        })
        .unwrap();
}

/// asyncio `_wait`: a cancelled task does not count as an exception, and
/// with no failure FIRST_EXCEPTION waits for all.
#[test]
fn first_exception_ignores_cancelled_tasks_and_waits_for_all() {
    vloop()
        .run(async {
            let start = tulipa::now();
            let a = sleeper(secs(10), "a");
            let b = sleeper(secs(20), "b");
            let c = sleeper(secs(30), "c");
            b.cancel();
            let (done, pending) = tulipa::wait([a, b, c], ReturnWhen::FirstException, None)
                .await
                .unwrap();
            assert_eq!(since(start), secs(30));
            assert_eq!((done.len(), pending.len()), (3, 0));
            assert!(done[1].is_cancelled());
        })
        .unwrap();
}

/// test_wait_with_exception: ALL_COMPLETED with one failure does not fail.
#[test]
fn test_wait_with_exception() {
    vloop()
        .run(async {
            let a = sleeper(ms(150), "a");
            let b = tulipa::spawn(async {
                tulipa::sleep(ms(100)).await;
                if true {
                    panic!("exc");
                }
                "b"
            });
            let (done, pending) = tulipa::wait([a, b], ReturnWhen::AllCompleted, None)
                .await
                .unwrap();
            assert!(pending.is_empty());
            let mut done = done.into_iter();
            assert_eq!(done.next().unwrap().await.unwrap(), "a");
            assert!(done.next().unwrap().await.unwrap_err().is_panic());
        })
        .unwrap();
}

/// test_wait_with_timeout: the timeout returns early and cancels nothing.
#[test]
fn test_wait_with_timeout_cancels_nothing() {
    vloop()
        .run(async {
            let start = tulipa::now();
            let a = sleeper(ms(100), "a");
            let b = sleeper(ms(150), "b");
            let (done, pending) = tulipa::wait([a, b], ReturnWhen::AllCompleted, Some(ms(110)))
                .await
                .unwrap();
            assert_eq!(since(start), ms(110));
            assert_eq!(outputs(done).await, ["a"]);
            assert_eq!(pending.len(), 1);
            assert!(!pending[0].is_cancelled());
            assert_eq!(outputs(pending).await, ["b"]);
            assert_eq!(since(start), ms(150));
        })
        .unwrap();
}

/// test_wait_concurrent_complete: a timeout equal to a's deadline counts a
/// as done when a's timer was armed first (the tasks ran before `wait`).
#[test]
fn test_wait_concurrent_complete() {
    vloop()
        .run(async {
            let a = sleeper(ms(100), "a");
            let b = sleeper(ms(150), "b");
            tulipa::yield_now().await; // let a and b arm their timers first
            let (done, pending) = tulipa::wait([a, b], ReturnWhen::AllCompleted, Some(ms(100)))
                .await
                .unwrap();
            assert_eq!(outputs(done).await, ["a"]);
            assert_eq!(pending.len(), 1);
        })
        .unwrap();
}

/// test_wait_with_iterator_of_tasks / test_wait_generator: any iterator of
/// tasks is accepted.
#[test]
fn test_wait_with_iterator_of_tasks() {
    vloop()
        .run(async {
            let tasks = (1..=3u64).map(|i| {
                tulipa::spawn(async move {
                    tulipa::sleep(ms(i)).await;
                    i
                })
            });
            let (done, pending) = tulipa::wait(tasks, ReturnWhen::AllCompleted, None)
                .await
                .unwrap();
            assert_eq!((done.len(), pending.len()), (3, 0));
        })
        .unwrap();
}

/// test_yield_wait_does_not_shield_cancel: cancelling the task blocked in
/// `wait` ends it, while the waited task keeps running to its end.
#[test]
fn test_yield_wait_does_not_shield_cancel() {
    let proof = Counter::new();
    let p = proof.clone();
    vloop()
        .run(async move {
            let p2 = p.clone();
            let outer = tulipa::spawn(async move {
                let inner = tulipa::spawn(async move {
                    tulipa::sleep(ms(100)).await;
                    p2.bump();
                });
                let _ = tulipa::wait([inner], ReturnWhen::AllCompleted, None).await;
                unreachable!("the wait is cancelled first");
            });
            tulipa::sleep(ms(10)).await;
            outer.cancel();
            assert!(outer.await.unwrap_err().is_cancelled());
            assert_eq!(p.get(), 0);
            tulipa::sleep(ms(200)).await;
        })
        .unwrap();
    assert_eq!(proof.get(), 1);
}

/// Already-satisfied waits return at once in loop time (after asyncio's
/// two iterations, which take no time).
#[test]
fn wait_on_done_tasks_returns_without_waiting_for_time() {
    vloop()
        .run(async {
            let a = tulipa::spawn(async { "a" });
            tulipa::yield_now().await;
            let start = tulipa::now();
            let (done, _) = tulipa::wait([a], ReturnWhen::FirstCompleted, Some(secs(5)))
                .await
                .unwrap();
            assert_eq!(since(start), ms(0));
            assert_eq!(outputs(done).await, ["a"]);
        })
        .unwrap();
}

/// Many tasks (the per-child waker path): FIRST_COMPLETED then the rest;
/// every task ends up exactly once in a `done` list.
#[test]
fn wait_many_tasks_each_done_exactly_once() {
    vloop()
        .run(async {
            let tasks: Vec<_> = (0..100u64)
                .map(|i| {
                    tulipa::spawn(async move {
                        tulipa::sleep(ms(1 + (i * 37) % 100)).await;
                        i
                    })
                })
                .collect();
            let mut seen = Vec::new();
            let mut pending = tasks;
            while !pending.is_empty() {
                let (done, rest) = tulipa::wait(pending, ReturnWhen::FirstCompleted, Some(ms(7)))
                    .await
                    .unwrap();
                for t in done {
                    seen.push(t.await.unwrap());
                }
                pending = rest;
            }
            seen.sort_unstable();
            assert_eq!(seen, (0..100).collect::<Vec<_>>());
        })
        .unwrap();
}

/// Without a timeout, `wait` needs only a waker: tasks on a tulipa loop
/// can be waited on from the future given to `run_until_complete` and
/// from a task alike (here: from a task, releasing on the panic).
#[test]
fn wait_from_a_task_first_exception_among_many() {
    vloop()
        .run(async {
            let outer = tulipa::spawn(async {
                let tasks: Vec<Task<u64>> = (0..20u64)
                    .map(|i| {
                        tulipa::spawn(async move {
                            tulipa::sleep(ms(10 * (i + 1))).await;
                            assert!(i != 4, "task 4 fails");
                            i
                        })
                    })
                    .collect();
                let (done, pending) = tulipa::wait(tasks, ReturnWhen::FirstException, None)
                    .await
                    .unwrap();
                (done.len(), pending.len())
            });
            assert_eq!(outer.await.unwrap(), (5, 15));
        })
        .unwrap();
}

/// asyncio's `wait` returns two iterations after the task that released it
/// finished (its done callback, then the waiter future, each take a
/// `call_soon`): a task that finishes one iteration later is in `done`.
#[test]
fn wait_first_completed_resumes_in_asyncio_iteration_and_sees_one_later_finisher() {
    vloop()
        .run(async {
            let a = tulipa::spawn(async { "a" });
            let b = tulipa::spawn(async {
                tulipa::yield_now().await;
                "b"
            });
            let c = tulipa::spawn(async {
                tulipa::yield_now().await;
                tulipa::yield_now().await;
                tulipa::yield_now().await;
                "c"
            });
            let (done, pending) = tulipa::wait([a, b, c], ReturnWhen::FirstCompleted, None)
                .await
                .unwrap();
            assert_eq!(outputs(done).await, ["a", "b"]);
            assert_eq!(pending.len(), 1);
        })
        .unwrap();
}

/// Even on tasks that are already done, `wait` takes asyncio's two
/// iterations: a callback queued before it, and one queued by that
/// callback, run before it returns; one queued two levels deep does not.
#[test]
fn wait_on_done_tasks_yields_two_iterations_as_asyncio() {
    let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    vloop()
        .run({
            let seen = seen.clone();
            async move {
                let a = tulipa::spawn(async { "a" });
                tulipa::yield_now().await;
                let soon = |f: Box<dyn FnOnce()>| {
                    let _ = tulipa::get_running_loop()
                        .expect("inside the loop")
                        .call_soon(f);
                };
                let s = seen.clone();
                soon(Box::new(move || {
                    s.borrow_mut().push(1);
                    let s2 = s.clone();
                    soon(Box::new(move || {
                        s2.borrow_mut().push(2);
                        let s3 = s2.clone();
                        soon(Box::new(move || s3.borrow_mut().push(3)));
                    }));
                }));
                let (done, _) = tulipa::wait([a], ReturnWhen::AllCompleted, None)
                    .await
                    .unwrap();
                assert_eq!(*seen.borrow(), [1, 2]);
                assert_eq!(done.len(), 1);
            }
        })
        .unwrap();
}

/// `done` and `pending` each keep the input order, whether the split is
/// made in place (up to 64 tasks) or not, and whichever task comes first.
#[test]
fn wait_done_and_pending_keep_input_order_up_to_and_beyond_64_tasks() {
    for n in [1usize, 2, 7, 64, 65, 130] {
        for phase in 0..3 {
            let quick = move |i: usize| (i + phase) % 3 == 0;
            vloop()
                .run(async move {
                    let tasks: Vec<Task<usize>> = (0..n)
                        .map(|i| {
                            tulipa::spawn(async move {
                                tulipa::sleep(if quick(i) { ms(1) } else { secs(60) }).await;
                                i
                            })
                        })
                        .collect();
                    let ids: Vec<_> = tasks.iter().map(Task::id).collect();
                    let (done, pending) =
                        tulipa::wait(tasks, ReturnWhen::AllCompleted, Some(ms(500)))
                            .await
                            .unwrap();
                    let pending_ids: Vec<_> = pending.iter().map(Task::id).collect();
                    let want_pending: Vec<_> =
                        (0..n).filter(|&i| !quick(i)).map(|i| ids[i]).collect();
                    assert_eq!(pending_ids, want_pending, "n = {n}, phase = {phase}");
                    assert!(pending.iter().all(|t| !t.is_done()));
                    let mut outputs = Vec::new();
                    for t in done {
                        outputs.push(t.await.unwrap());
                    }
                    let want_done: Vec<_> = (0..n).filter(|&i| quick(i)).collect();
                    assert_eq!(outputs, want_done, "n = {n}, phase = {phase}");
                    for t in pending {
                        t.cancel();
                    }
                })
                .unwrap();
        }
    }
}

/// asyncio's `_wait` removes its done callback from every task when it
/// returns: a task given back pending no longer wakes the caller of `wait`
/// when it ends later. (Counted through a waker that wraps the caller's.)
#[test]
fn pending_task_given_back_no_longer_wakes_the_waiter_when_it_ends() {
    use std::future::Future;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Wake, Waker};

    struct Counting {
        wakes: AtomicUsize,
        inner: Waker,
    }
    impl Wake for Counting {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            // ORDERING: a plain counter, read on the same thread.
            self.wakes.fetch_add(1, Ordering::Relaxed);
            self.inner.wake_by_ref();
        }
    }

    vloop()
        .run(async {
            let fast = sleeper(ms(10), "fast");
            let slow = sleeper(secs(10), "slow");
            let mut waiting =
                Box::pin(tulipa::wait([fast, slow], ReturnWhen::FirstCompleted, None));
            let mut counting: Option<Arc<Counting>> = None;
            let (done, pending) = std::future::poll_fn(|cx| {
                let counter = counting.get_or_insert_with(|| {
                    Arc::new(Counting {
                        wakes: AtomicUsize::new(0),
                        inner: cx.waker().clone(),
                    })
                });
                let waker = Waker::from(counter.clone());
                waiting.as_mut().poll(&mut Context::from_waker(&waker))
            })
            .await
            .unwrap();
            assert_eq!((done.len(), pending.len()), (1, 1));
            let counter = counting.unwrap();
            // ORDERING: same thread.
            let before = counter.wakes.load(Ordering::Relaxed);
            // The slow task ends while nobody watches it.
            tulipa::sleep(secs(11)).await;
            assert!(pending[0].is_done());
            assert_eq!(
                counter.wakes.load(Ordering::Relaxed),
                before,
                "the pending task's end woke the finished wait"
            );
        })
        .unwrap();
}
