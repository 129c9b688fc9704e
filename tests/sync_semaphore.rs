//! Semaphore and BoundedSemaphore: CPython's `SemaphoreTests`
//! (test_locks.py, 3.13) ported by name, plus the permit-guard edge cases.
//!
//! asyncio's bare `await sem.acquire()` (no `async with`) is
//! `sem.acquire().await.forget()`, and `sem.release()` is `release()`.

mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures::future::{select, Either};
use support::{leak, run_virtual as run};
use tulipa::sync::{BoundedSemaphore, Semaphore};
use tulipa::{sleep, spawn, yield_now};

/// asyncio's `sem.acquire()` without a guard.
async fn acquire(sem: &Semaphore) {
    sem.acquire().await.forget();
}

#[test]
fn test_initial_value_zero() {
    let sem = Semaphore::new(0);
    assert!(sem.is_locked());
}

#[test]
fn test_semaphore() {
    let sem = Semaphore::new(1);
    assert_eq!(sem.available(), 1);
    assert!(!sem.is_locked());
}

#[test]
fn test_acquire() {
    run(async {
        let sem = leak(Semaphore::new(3));
        let result = Rc::new(RefCell::new(Vec::new()));
        acquire(sem).await;
        acquire(sem).await;
        assert!(!sem.is_locked());

        let c = |n: i32| {
            let result = result.clone();
            spawn(async move {
                acquire(sem).await;
                result.borrow_mut().push(n);
                true
            })
        };
        let t1 = c(1);
        let t2 = c(2);
        let t3 = c(3);
        yield_now().await;
        assert_eq!(*result.borrow(), [1]);
        assert!(sem.is_locked());
        assert_eq!(sem.available(), 0);

        let t4 = c(4);
        sem.release();
        sem.release();
        assert_eq!(sem.available(), 0, "both permits were handed to waiters");

        yield_now().await;
        assert_eq!(sem.available(), 0);
        assert_eq!(result.borrow().len(), 3);
        assert!(sem.is_locked());
        assert!(t1.is_done());
        let done = [&t2, &t3, &t4].iter().filter(|t| t.is_done()).count();
        assert_eq!(done, 2);

        sem.release();
        for t in [t1, t2, t3, t4] {
            assert!(t.await.unwrap());
        }
    });
}

#[test]
fn test_acquire_cancel() {
    run(async {
        let sem = leak(Semaphore::new(1));
        acquire(sem).await;
        let task = spawn(acquire(sem));
        yield_now().await;
        task.cancel();
        assert!(task.await.unwrap_err().is_cancelled());
        // No waiter left behind to swallow the unit.
        sem.release();
        assert_eq!(sem.available(), 1);
    });
}

#[test]
fn test_acquire_cancel_before_awoken() {
    run(async {
        let sem = leak(Semaphore::new(0));
        let t1 = spawn(acquire(sem));
        let t2 = spawn(acquire(sem));
        let t3 = spawn(acquire(sem));
        let t4 = spawn(acquire(sem));
        yield_now().await;

        t1.cancel();
        t2.cancel();
        sem.release();

        yield_now().await;
        yield_now().await;
        assert!(t3.is_done());
        assert!(!t4.is_done());

        t3.cancel();
        t4.cancel();
        yield_now().await;
        assert!(t4.is_cancelled());
    });
}

#[test]
fn test_acquire_hang() {
    run(async {
        let sem = leak(Semaphore::new(0));
        let t1 = spawn(acquire(sem));
        let t2 = spawn(acquire(sem));
        yield_now().await;

        t1.cancel();
        sem.release();
        yield_now().await;
        yield_now().await;
        assert!(sem.is_locked());
        assert!(t2.is_done());
    });
}

#[test]
fn test_acquire_no_hang() {
    run(async {
        let sem = leak(Semaphore::new(1));
        let t2_slot: Rc<RefCell<Option<tulipa::Task<()>>>> = Rc::default();
        let slot = t2_slot.clone();
        let t1 = spawn(async move {
            {
                let _permit = sem.acquire().await;
                yield_now().await;
            } // the permit is handed to t2 here...
            slot.borrow().as_ref().unwrap().cancel(); // ...which is cancelled
        });
        let t2 = spawn(async move {
            let _permit = sem.acquire().await;
            unreachable!("t2 is cancelled before it runs");
        });
        *t2_slot.borrow_mut() = Some(t2);
        t1.await.unwrap();
        let t2 = t2_slot.borrow_mut().take().unwrap();
        assert!(t2.await.unwrap_err().is_cancelled());

        // The unit came back: acquire does not hang.
        let acquired = select(
            Box::pin(sem.acquire()),
            Box::pin(sleep(Duration::from_secs(1))),
        )
        .await;
        assert!(matches!(acquired, Either::Left(_)));
    });
}

#[test]
fn test_release_not_acquired() {
    let sem = BoundedSemaphore::new(1);
    let err = sem.release().unwrap_err();
    assert_eq!(err.to_string(), "semaphore released too many times");
}

#[test]
fn test_release_no_waiters() {
    run(async {
        let sem = Semaphore::new(1);
        acquire(&sem).await;
        assert!(sem.is_locked());
        sem.release();
        assert!(!sem.is_locked());
    });
}

#[test]
fn test_acquire_fifo_order() {
    run(async {
        let sem = leak(Semaphore::new(1));
        let result = Rc::new(RefCell::new(Vec::new()));
        let coro = |tag: &'static str| {
            let result = result.clone();
            spawn(async move {
                for round in 1..=2 {
                    let _permit = sem.acquire().await;
                    result.borrow_mut().push(format!("{tag}_{round}"));
                    sleep(Duration::from_millis(10)).await;
                }
            })
        };
        let tasks = [coro("c1"), coro("c2"), coro("c3")];
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            *result.borrow(),
            ["c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"]
        );
    });
}

#[test]
fn test_acquire_fifo_order_2() {
    run(async {
        let sem = leak(Semaphore::new(1));
        let result = Rc::new(RefCell::new(Vec::new()));
        let r = result.clone();
        let t1 = spawn(async move {
            acquire(sem).await;
            r.borrow_mut().push(1);
        });
        let r = result.clone();
        let t2 = spawn(async move {
            acquire(sem).await;
            r.borrow_mut().push(2);
            sem.release();
            acquire(sem).await;
            r.borrow_mut().push(4);
        });
        let r = result.clone();
        let t3 = spawn(async move {
            acquire(sem).await;
            r.borrow_mut().push(3);
        });
        yield_now().await;
        sem.release();
        sem.release();
        for t in [t1, t2, t3] {
            t.await.unwrap();
        }
        assert_eq!(*result.borrow(), [1, 2, 3, 4]);
    });
}

#[test]
fn test_acquire_fifo_order_3() {
    run(async {
        let sem = leak(Semaphore::new(0));
        let result = Rc::new(RefCell::new(Vec::new()));
        let c = |n: i32| {
            let r = result.clone();
            spawn(async move {
                acquire(sem).await;
                r.borrow_mut().push(n);
            })
        };
        let t1 = c(1);
        let t2 = c(2);
        let t3 = c(3);
        yield_now().await;
        t1.cancel();
        yield_now().await;
        sem.release();
        sem.release();
        assert!(t1.await.unwrap_err().is_cancelled());
        t2.await.unwrap();
        t3.await.unwrap();
        assert_eq!(*result.borrow(), [2, 3]);
    });
}

#[test]
fn test_acquire_fifo_order_4() {
    // A task woken but not yet resumed keeps newcomers queued behind it even
    // though spare permits exist; when it resumes it wakes them in order.
    run(async {
        let sem = leak(Semaphore::new(0));
        let result = Rc::new(RefCell::new(Vec::new()));
        let t4: Rc<RefCell<Option<tulipa::Task<()>>>> = Rc::default();
        let (r, t4s) = (result.clone(), t4.clone());
        let t1 = spawn(async move {
            assert_eq!(sem.available(), 0);
            acquire(sem).await;
            assert_eq!(sem.available(), 0, "t1 woke t2 and t3");
            let r4 = r.clone();
            *t4s.borrow_mut() = Some(spawn(async move { r4.borrow_mut().push(4) }));
            r.borrow_mut().push(1);
        });
        let r = result.clone();
        let t2 = spawn(async move {
            sem.release();
            sem.release();
            sem.release();
            assert_eq!(sem.available(), 2);
            assert!(sem.is_locked(), "t1 has not resumed yet");
            acquire(sem).await;
            r.borrow_mut().push(2);
        });
        let r = result.clone();
        let t3 = spawn(async move {
            acquire(sem).await;
            assert!(sem.is_locked());
            r.borrow_mut().push(3);
        });
        yield_now().await;
        assert_eq!(sem.available(), 2);
        yield_now().await;
        for t in [t1, t2, t3] {
            t.await.unwrap();
        }
        let t4 = t4.borrow_mut().take().unwrap();
        t4.await.unwrap();
        assert_eq!(*result.borrow(), [1, 2, 3, 4]);
    });
}

#[test]
fn bounded_release_counts_permits_still_out() {
    run(async {
        let sem = BoundedSemaphore::new(2);
        let permit = sem.acquire().await;
        assert!(
            sem.release().is_err(),
            "the live permit will give its unit back"
        );
        permit.forget();
        assert!(sem.release().is_ok());
        assert!(sem.release().is_err());
        assert_eq!(sem.available(), 2);
    });
}

#[test]
fn bounded_permit_handed_to_a_cancelled_waiter_does_not_inflate_the_bound() {
    run(async {
        let sem = leak(BoundedSemaphore::new(1));
        let permit = sem.acquire().await;
        let waiter = spawn(async move { drop(sem.acquire().await) });
        yield_now().await;
        waiter.cancel();
        drop(permit); // handed to the waiter, which is then dropped
        assert!(waiter.await.unwrap_err().is_cancelled());
        assert_eq!(sem.available(), 1);
        assert!(sem.release().is_err());
    });
}

#[test]
fn try_acquire_respects_queued_waiters() {
    run(async {
        let sem = leak(Semaphore::new(0));
        let waiter = spawn(async move { sem.acquire().await.forget() });
        yield_now().await;
        sem.release(); // handed to the waiter
        assert!(sem.try_acquire().is_err());
        assert_eq!(
            sem.try_acquire().unwrap_err().to_string(),
            "no permits available"
        );
        waiter.await.unwrap();
        sem.release();
        let permit = sem.try_acquire().unwrap();
        drop(permit);
        assert_eq!(sem.available(), 1);
    });
}

#[test]
fn dropping_a_permit_wakes_the_first_waiter() {
    run(async {
        let sem = leak(Semaphore::new(1));
        let permit = sem.acquire().await;
        let order = Rc::new(RefCell::new(Vec::new()));
        let tasks: Vec<_> = (0..5)
            .map(|i| {
                let order = order.clone();
                spawn(async move {
                    let _p = sem.acquire().await;
                    order.borrow_mut().push(i);
                })
            })
            .collect();
        yield_now().await;
        drop(permit);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.borrow(), [0, 1, 2, 3, 4]);
        assert_eq!(sem.available(), 1);
    });
}

#[test]
fn handing_on_and_topping_up_in_one_step_wakes_in_arrival_order() {
    // Found by the proptest. `a` is woken with a permit while a second,
    // spare permit is free; `b` and `c` queue behind `a` (it has not resumed).
    // Then `a` is cancelled: its permit goes to `b`, the spare one to `c`,
    // in one step, and `b` must be woken first.
    run(async {
        let sem = leak(Semaphore::new(0));
        let order = Rc::new(RefCell::new(Vec::new()));
        let waiter = |name: &'static str| {
            let order = order.clone();
            spawn(async move {
                sem.acquire().await.forget();
                order.borrow_mut().push(name);
            })
        };
        let a = waiter("a");
        yield_now().await;
        let b = waiter("b"); // first polled after the releases below
        let c = waiter("c");
        sem.release(); // handed to a
        sem.release(); // spare, but a is in transit: b and c will queue
        a.cancel();
        for t in [b, c] {
            t.await.unwrap();
        }
        assert!(a.await.unwrap_err().is_cancelled());
        assert_eq!(*order.borrow(), ["b", "c"]);
    });
}
