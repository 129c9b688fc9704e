//! Barrier: CPython's `BarrierTests` (test_locks.py, 3.13) ported by name.
//! `async with barrier as i` is `let i = barrier.wait().await?`; asyncio's
//! `await barrier.reset()` / `abort()` are plain calls here. The phase that
//! asyncio shows in `repr` is read from `Debug`.

mod support;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

use support::{leak, run_virtual as run};
use tulipa::sync::{Barrier, BrokenBarrierError};
use tulipa::{spawn, yield_now, Task};

const N: usize = 5;

fn make_tasks<F, Fut>(n: usize, f: F) -> Vec<Task<Fut::Output>>
where
    F: Fn() -> Fut,
    Fut: Future + 'static,
{
    (0..n).map(|_| spawn(f())).collect()
}

async fn gather<T>(tasks: Vec<Task<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn phase(barrier: &Barrier) -> String {
    format!("{barrier:?}")
}

#[test]
fn test_barrier() {
    let barrier = Barrier::new(N);
    assert!(phase(&barrier).contains("Filling"));
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.is_broken());
    assert_eq!(barrier.parties(), N);
}

#[test]
#[should_panic(expected = "parties must be > 0")]
fn test_barrier_parties() {
    let _ = Barrier::new(0);
}

#[test]
fn test_context_manager() {
    run(async {
        let barrier = leak(Barrier::new(3));
        let results = gather(make_tasks(3, || async { barrier.wait().await.unwrap() })).await;
        let mut sorted = results.clone();
        sorted.sort();
        assert_eq!(sorted, [0, 1, 2]);
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.is_broken());
    });
}

#[test]
fn test_filling_one_task() {
    run(async {
        let barrier = Barrier::new(1);
        assert_eq!(barrier.wait().await, Ok(0));
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.is_broken());
    });
}

#[test]
fn test_filling_one_task_twice() {
    run(async {
        let barrier = leak(Barrier::new(1));
        let t1 = spawn(barrier.wait());
        yield_now().await;
        assert_eq!(barrier.n_waiting(), 0);
        let t2 = spawn(barrier.wait());
        yield_now().await;
        assert!(t1.is_done() && t2.is_done());
        assert_eq!(t1.await.unwrap(), t2.await.unwrap());
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.is_broken());
    });
}

#[test]
fn test_filling_task_by_task() {
    run(async {
        let barrier = leak(Barrier::new(3));
        let t1 = spawn(barrier.wait());
        yield_now().await;
        assert_eq!(barrier.n_waiting(), 1);
        assert!(phase(barrier).contains("Filling"));
        let t2 = spawn(barrier.wait());
        yield_now().await;
        assert_eq!(barrier.n_waiting(), 2);
        let t3 = spawn(barrier.wait());
        yield_now().await;
        let got = gather(vec![t1, t2, t3]).await;
        assert_eq!(got, [Ok(0), Ok(1), Ok(2)]);
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.is_broken());
    });
}

#[test]
fn test_filling_tasks_wait_twice() {
    run(async {
        let barrier = leak(Barrier::new(N));
        let results = Rc::new(RefCell::new(Vec::new()));
        gather(make_tasks(N, || {
            let results = results.clone();
            async move {
                barrier.wait().await.unwrap();
                results.borrow_mut().push(true);
                barrier.wait().await.unwrap();
                results.borrow_mut().push(false);
            }
        }))
        .await;
        let results = results.borrow();
        assert_eq!(results.len(), N * 2);
        assert_eq!(results.iter().filter(|r| **r).count(), N);
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.is_broken());
    });
}

#[test]
fn test_filling_tasks_check_return_value() {
    run(async {
        let barrier = leak(Barrier::new(N));
        let mut res = gather(make_tasks(N, || async {
            barrier.wait().await.unwrap();
            barrier.wait().await.unwrap()
        }))
        .await;
        res.sort();
        assert_eq!(res, (0..N).collect::<Vec<_>>());
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
fn test_draining_state() {
    run(async {
        let barrier = leak(Barrier::new(N));
        let results = Rc::new(RefCell::new(Vec::new()));
        gather(make_tasks(N, || {
            let results = results.clone();
            async move {
                barrier.wait().await.unwrap();
                // Every task but the last out sees the round still draining.
                results
                    .borrow_mut()
                    .push(phase(barrier).contains("Draining"));
            }
        }))
        .await;
        let results = results.borrow();
        assert_eq!(results.len(), N);
        assert!(!results[N - 1]);
        assert!(results[..N - 1].iter().all(|r| *r));
    });
}

#[test]
fn test_blocking_tasks_while_draining() {
    run(async {
        let rewait = 2;
        let barrier = leak(Barrier::new(N));
        let barrier_nowaiting = leak(Barrier::new(N - rewait));
        let rewait_n = Rc::new(Cell::new(rewait));
        gather(make_tasks(N, || {
            let rewait_n = rewait_n.clone();
            async move {
                barrier.wait().await.unwrap();
                if rewait_n.get() > 0 {
                    rewait_n.set(rewait_n.get() - 1);
                    // Arrives while the first round drains: blocked until it ends.
                    barrier.wait().await.unwrap();
                } else {
                    barrier_nowaiting.wait().await.unwrap();
                    barrier.wait().await.unwrap();
                }
            }
        }))
        .await;
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
fn test_filling_tasks_cancel_one() {
    run(async {
        let barrier = leak(Barrier::new(3));
        let results = Rc::new(Cell::new(0));
        let coro = || {
            let results = results.clone();
            spawn(async move {
                barrier.wait().await.unwrap();
                results.set(results.get() + 1);
            })
        };
        let t1 = coro();
        yield_now().await;
        assert_eq!(barrier.n_waiting(), 1);
        let t2 = coro();
        yield_now().await;
        assert_eq!(barrier.n_waiting(), 2);

        t1.cancel();
        yield_now().await;
        assert_eq!(
            barrier.n_waiting(),
            1,
            "the cancelled task left the barrier"
        );
        assert!(t1.await.unwrap_err().is_cancelled());

        let t3 = coro();
        yield_now().await;
        assert_eq!(barrier.n_waiting(), 2);
        let t4 = coro();
        gather(vec![t2, t3, t4]).await;
        assert_eq!(results.get(), 3);
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.is_broken());
    });
}

#[test]
fn test_reset_barrier() {
    let barrier = Barrier::new(1);
    barrier.reset();
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.is_broken());
}

#[test]
fn test_reset_barrier_while_tasks_waiting() {
    run(async {
        let barrier = leak(Barrier::new(N));
        let tasks = make_tasks(N - 1, || async { barrier.wait().await });
        yield_now().await;
        barrier.reset();
        let results = gather(tasks).await;
        assert_eq!(results.len(), N - 1);
        assert!(results.iter().all(|r| r.is_err()));
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!phase(barrier).contains("Resetting"));
        assert!(!barrier.is_broken());
    });
}

#[test]
fn test_reset_barrier_when_tasks_half_draining_half_blocking() {
    run(async {
        let barrier = leak(Barrier::new(N));
        let blocking_tasks = N / 2;
        let count = Rc::new(Cell::new(0));
        let results1 = Rc::new(Cell::new(0));
        let results2 = Rc::new(Cell::new(0));
        gather(make_tasks(N, || {
            let (count, r1, r2) = (count.clone(), results1.clone(), results2.clone());
            async move {
                if barrier.wait().await.is_err() {
                    r1.set(r1.get() + 1);
                    barrier.wait().await.unwrap();
                    return;
                }
                count.set(count.get() + 1);
                if count.get() > blocking_tasks {
                    // Resets while the first tasks wait for the next round.
                    barrier.reset();
                    barrier.wait().await.unwrap();
                } else if barrier.wait().await.is_err() {
                    r2.set(r2.get() + 1);
                }
            }
        }))
        .await;
        // The reset comes while the first round still drains: the tasks not
        // yet out of it are broken; those already queued for the next round
        // are blocked outside it and unaffected.
        assert_eq!(results1.get(), blocking_tasks);
        assert_eq!(results2.get(), 0);
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.is_broken());
    });
}

#[test]
fn test_reset_barrier_while_tasks_waiting_and_waiting_again() {
    run(async {
        let barrier = leak(Barrier::new(N));
        let results1 = Rc::new(Cell::new(0));
        let results2 = Rc::new(Cell::new(0));
        let tasks = make_tasks(N - 1, || {
            let (r1, r2) = (results1.clone(), results2.clone());
            async move {
                if barrier.wait().await.is_err() {
                    r1.set(r1.get() + 1);
                }
                barrier.wait().await.unwrap();
                r2.set(r2.get() + 1);
            }
        });
        yield_now().await;
        barrier.reset();
        yield_now().await;
        let r2 = results2.clone();
        let last = spawn(async move {
            barrier.wait().await.unwrap();
            r2.set(r2.get() + 1);
        });
        gather(tasks).await;
        last.await.unwrap();
        assert!(!barrier.is_broken());
        assert_eq!(results1.get(), N - 1);
        assert_eq!(results2.get(), N);
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
fn test_reset_barrier_while_tasks_draining() {
    run(async {
        let barrier = leak(Barrier::new(N));
        let count = Rc::new(Cell::new(0));
        let results1 = Rc::new(Cell::new(0));
        let results2 = Rc::new(Cell::new(0));
        let results3 = Rc::new(Cell::new(0));
        gather(make_tasks(N, || {
            let (count, r1, r2, r3) = (
                count.clone(),
                results1.clone(),
                results2.clone(),
                results3.clone(),
            );
            async move {
                barrier.wait().await.unwrap();
                count.set(count.get() + 1);
                if count.get() == N {
                    // The last task out resets: nobody is inside any more.
                    barrier.reset();
                    barrier.wait().await.unwrap();
                } else if barrier.wait().await.is_ok() {
                    r1.set(r1.get() + 1);
                } else {
                    r2.set(r2.get() + 1);
                }
                barrier.wait().await.unwrap();
                r3.set(r3.get() + 1);
            }
        }))
        .await;
        assert!(!barrier.is_broken());
        assert_eq!(results1.get(), N - 1);
        assert_eq!(results2.get(), 0);
        assert_eq!(results3.get(), N);
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
fn test_abort_barrier() {
    let barrier = Barrier::new(1);
    barrier.abort();
    assert_eq!(barrier.n_waiting(), 0);
    assert!(barrier.is_broken());
}

#[test]
fn test_abort_barrier_when_tasks_half_draining_half_blocking() {
    run(async {
        let barrier = leak(Barrier::new(N));
        let blocking_tasks = N / 2;
        let count = Rc::new(Cell::new(0));
        let results1 = Rc::new(Cell::new(0));
        let results2 = Rc::new(Cell::new(0));
        gather(make_tasks(N, || {
            let (count, r1, r2) = (count.clone(), results1.clone(), results2.clone());
            async move {
                if barrier.wait().await.is_err() {
                    r1.set(r1.get() + 1);
                    return;
                }
                count.set(count.get() + 1);
                if count.get() > blocking_tasks {
                    barrier.abort();
                } else if barrier.wait().await.is_err() {
                    r2.set(r2.get() + 1);
                }
            }
        }))
        .await;
        assert!(barrier.is_broken());
        // Tasks still draining the first round, and those already queued for
        // the next one, all get BrokenBarrierError.
        assert_eq!(results1.get(), blocking_tasks);
        assert_eq!(results2.get(), N - blocking_tasks - 1);
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
fn test_abort_barrier_when_exception() {
    run(async {
        let barrier = leak(Barrier::new(N));
        let results1 = Rc::new(Cell::new(0));
        let results2 = Rc::new(Cell::new(0));
        gather(make_tasks(N, || {
            let (r1, r2) = (results1.clone(), results2.clone());
            async move {
                let outcome = async {
                    let i = barrier.wait().await?;
                    if i == N / 2 {
                        return Ok(Err("RuntimeError"));
                    }
                    barrier.wait().await?;
                    r1.set(r1.get() + 1);
                    Ok::<_, BrokenBarrierError>(Ok(()))
                }
                .await;
                match outcome {
                    Err(BrokenBarrierError { .. }) => r2.set(r2.get() + 1),
                    Ok(Err(_)) => barrier.abort(),
                    Ok(Ok(())) => {}
                }
            }
        }))
        .await;
        assert!(barrier.is_broken());
        assert_eq!(results1.get(), 0);
        assert_eq!(results2.get(), N - 1);
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
fn test_abort_barrier_when_exception_then_resetting() {
    run(async {
        let barrier1 = leak(Barrier::new(N));
        let barrier2 = leak(Barrier::new(N));
        let results1 = Rc::new(Cell::new(0));
        let results2 = Rc::new(Cell::new(0));
        let results3 = Rc::new(Cell::new(0));
        gather(make_tasks(N, || {
            let (r1, r2, r3) = (results1.clone(), results2.clone(), results3.clone());
            async move {
                let outcome = async {
                    let i = barrier1.wait().await?;
                    if i == N / 2 {
                        return Ok(false);
                    }
                    barrier1.wait().await?;
                    r1.set(r1.get() + 1);
                    Ok::<_, BrokenBarrierError>(true)
                }
                .await;
                match outcome {
                    Err(_) => r2.set(r2.get() + 1),
                    Ok(false) => barrier1.abort(),
                    Ok(true) => {}
                }
                // Synchronize, reset barrier1, synchronize again, reuse it.
                let i = barrier2.wait().await.unwrap();
                if i == N / 2 {
                    barrier1.reset();
                }
                barrier2.wait().await.unwrap();
                barrier1.wait().await.unwrap();
                r3.set(r3.get() + 1);
            }
        }))
        .await;
        assert!(!barrier1.is_broken());
        assert_eq!(results1.get(), 0);
        assert_eq!(results2.get(), N - 1);
        assert_eq!(results3.get(), N);
        assert_eq!(barrier1.n_waiting(), 0);
    });
}

#[test]
fn waiting_on_a_broken_barrier_is_an_error() {
    run(async {
        let barrier = Barrier::new(2);
        barrier.abort();
        let err = barrier.wait().await.unwrap_err();
        assert_eq!(err.to_string(), "barrier is broken");
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
fn dropping_a_waiter_while_its_round_drains_lets_the_round_finish() {
    run(async {
        let barrier = leak(Barrier::new(2));
        let t1 = spawn(barrier.wait());
        yield_now().await;
        // The second arrival releases the round; t1 is woken, then cancelled
        // before it runs.
        assert_eq!(barrier.wait().await, Ok(1));
        t1.cancel();
        assert!(t1.await.unwrap_err().is_cancelled());
        // The round finished without t1: the barrier refills.
        assert!(phase(barrier).contains("Filling"));
        let t2 = spawn(barrier.wait());
        yield_now().await;
        assert_eq!(barrier.n_waiting(), 1);
        assert_eq!(barrier.wait().await, Ok(1));
        assert_eq!(t2.await.unwrap(), Ok(0));
    });
}
