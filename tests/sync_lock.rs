//! Lock: CPython's `LockTests` (Lib/test/test_asyncio/test_locks.py, 3.13)
//! ported by name, plus the edge cases of tulipa's guard API.
//!
//! asyncio's `lock.release()` from outside the holder is modelled by keeping
//! guards of a leaked (`'static`) lock in a shared `held` list and dropping
//! them from the test body. `await asyncio.sleep(0)` is `yield_now()`.

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use support::{leak, release, run_virtual as run, Held};
use tulipa::sync::Lock;
use tulipa::{spawn, yield_now};

/// Awaits `fut` for at most an hour of virtual time, so a stranded waiter
/// fails the test instead of hanging it.
async fn within_an_hour<F: std::future::Future>(fut: F) -> F::Output {
    use futures::future::{select, Either};
    let hour = tulipa::sleep(std::time::Duration::from_secs(3600));
    match select(Box::pin(fut), Box::pin(hour)).await {
        Either::Left((out, _)) => out,
        Either::Right(_) => panic!("stranded: still waiting after an hour"),
    }
}

#[test]
fn test_lock() {
    run(async {
        let lock = Lock::new();
        let guard = lock.lock().await;
        assert!(lock.is_locked());
        drop(guard);
        assert!(!lock.is_locked());
    });
}

#[test]
fn test_acquire() {
    run(async {
        let lock = leak(Lock::new());
        let result = Rc::new(RefCell::new(Vec::new()));
        let held: Held = Rc::default();
        let first = lock.lock().await;
        held.borrow_mut().push(first);

        let c = |n: i32| {
            let (result, held) = (result.clone(), held.clone());
            spawn(async move {
                let guard = lock.lock().await;
                result.borrow_mut().push(n);
                held.borrow_mut().push(guard);
                true
            })
        };
        let t1 = c(1);
        let t2 = c(2);

        yield_now().await;
        assert_eq!(*result.borrow(), []);

        release(&held);
        yield_now().await;
        assert_eq!(*result.borrow(), [1]);

        yield_now().await;
        assert_eq!(*result.borrow(), [1]);

        let t3 = c(3);

        release(&held);
        yield_now().await;
        assert_eq!(*result.borrow(), [1, 2]);

        release(&held);
        yield_now().await;
        assert_eq!(*result.borrow(), [1, 2, 3]);

        for t in [t1, t2, t3] {
            assert!(t.is_done());
            assert!(t.await.unwrap());
        }
    });
}

#[test]
fn test_acquire_cancel() {
    run(async {
        let lock = leak(Lock::new());
        let guard = lock.lock().await;
        let task = spawn(async move {
            let _g = lock.lock().await;
        });
        let t = Rc::new(task);
        let canceller = t.clone();
        let _ = tulipa::get_running_loop().unwrap().call_soon(move || {
            canceller.cancel();
        });
        yield_now().await;
        yield_now().await;
        assert!(t.is_cancelled());
        // No stale waiter: releasing frees the lock instead of handing it on.
        drop(guard);
        assert!(!lock.is_locked());
    });
}

#[test]
fn test_cancel_race() {
    // A holds the lock, B and C wait. Concurrently B is cancelled and A
    // releases: the lock must reach C, not die with B.
    run(async {
        let lock = leak(Lock::new());
        let fa = Rc::new(tulipa::sync::Event::new());
        let lockit = |blocker: Option<Rc<tulipa::sync::Event>>| {
            spawn(async move {
                let _guard = lock.lock().await;
                if let Some(blocker) = blocker {
                    blocker.wait().await;
                }
            })
        };
        let ta = lockit(Some(fa.clone()));
        yield_now().await;
        assert!(lock.is_locked());
        let tb = lockit(None);
        yield_now().await;
        let tc = lockit(None);
        yield_now().await;

        fa.set();
        tb.cancel();
        yield_now().await;
        assert!(ta.is_done());
        assert!(tb.is_cancelled());
        within_an_hour(tc).await.unwrap();
        assert!(!lock.is_locked());
    });
}

#[test]
fn test_cancel_release_race() {
    // bpo-32734: four lockers, cancel the second, release the first: exactly
    // one more lock is taken.
    run(async {
        let lock = leak(Lock::new());
        let lock_count = Rc::new(RefCell::new(0));
        let call_count = Rc::new(RefCell::new(0));
        let held: Held = Rc::default();
        let lockit = || {
            let (lock_count, call_count, held) =
                (lock_count.clone(), call_count.clone(), held.clone());
            spawn(async move {
                *call_count.borrow_mut() += 1;
                let guard = lock.lock().await;
                *lock_count.borrow_mut() += 1;
                held.borrow_mut().push(guard);
            })
        };
        let first = lock.lock().await;
        held.borrow_mut().push(first);
        let t1 = Rc::new(lockit());
        let t2 = lockit();
        let t3 = lockit();
        yield_now().await;

        let (t1c, heldc) = (t1.clone(), held.clone());
        let _ = tulipa::get_running_loop().unwrap().call_soon(move || {
            t1c.cancel();
            release(&heldc);
        });
        for _ in 0..3 {
            yield_now().await;
        }
        assert!(t1.is_cancelled());
        assert_eq!(*lock_count.borrow(), 1);
        assert_eq!(*call_count.borrow(), 3);
        assert!(t2.is_done());

        t3.cancel();
        yield_now().await;
        assert!(t3.is_cancelled());
    });
}

#[test]
fn test_finished_waiter_cancelled() {
    // The first waiter is handed the lock and cancelled before it runs: the
    // second must still get it.
    run(async {
        let lock = leak(Lock::new());
        let guard = lock.lock().await;
        let tb = spawn(async move { drop(lock.lock().await) });
        yield_now().await;
        let tc = spawn(async move { drop(lock.lock().await) });
        tb.cancel();
        drop(guard);
        yield_now().await;
        assert!(tb.is_cancelled());
        within_an_hour(tc).await.unwrap();
        assert!(!lock.is_locked());
    });
}

#[test]
fn test_release_no_waiters() {
    run(async {
        let lock = Lock::new();
        let guard = lock.lock().await;
        assert!(lock.is_locked());
        drop(guard);
        assert!(!lock.is_locked());
    });
}

#[test]
fn test_context_manager() {
    run(async {
        let lock = Lock::new();
        assert!(!lock.is_locked());
        {
            let _guard = lock.lock().await;
            assert!(lock.is_locked());
        }
        assert!(!lock.is_locked());
    });
}

#[test]
fn newcomer_does_not_barge_ahead_of_a_woken_waiter() {
    run(async {
        let lock = leak(Lock::new());
        let order = Rc::new(RefCell::new(Vec::new()));
        let guard = lock.lock().await;
        let o = order.clone();
        let waiter = spawn(async move {
            let _g = lock.lock().await;
            o.borrow_mut().push("waiter");
        });
        yield_now().await;
        drop(guard); // handed to the waiter, which has not run yet
        assert!(lock.is_locked(), "a lock being handed over stays locked");
        assert!(lock.try_lock().is_err());
        let _g = lock.lock().await; // queues behind the waiter
        order.borrow_mut().push("newcomer");
        assert_eq!(*order.borrow(), ["waiter", "newcomer"]);
        assert!(waiter.is_done());
    });
}

#[test]
fn try_lock_fails_while_locked_and_succeeds_after() {
    let lock = Lock::new();
    let guard = lock.try_lock().unwrap();
    let err = lock.try_lock().unwrap_err();
    assert_eq!(err.to_string(), "lock is already locked");
    drop(guard);
    assert!(lock.try_lock().is_ok());
}

#[test]
fn dropping_an_unpolled_lock_future_changes_nothing() {
    let lock = Lock::new();
    drop(lock.lock());
    assert!(!lock.is_locked());
    assert!(lock.try_lock().is_ok());
}

#[test]
fn many_waiters_acquire_in_arrival_order() {
    run(async {
        let lock = leak(Lock::new());
        let order = Rc::new(RefCell::new(Vec::new()));
        let guard = lock.lock().await;
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let order = order.clone();
                spawn(async move {
                    let _g = lock.lock().await;
                    order.borrow_mut().push(i);
                    yield_now().await;
                })
            })
            .collect();
        yield_now().await;
        drop(guard);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.borrow(), (0..50).collect::<Vec<_>>());
    });
}
