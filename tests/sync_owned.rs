//! Owned guards (`Lock::lock_owned`, `Semaphore::acquire_owned`) that move
//! into tasks spawned later and across threads, and blocking acquire from
//! plain threads (`lock_blocking`, `acquire_blocking`) with the queues'
//! on-loop-thread refusal.
mod support;

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use tulipa::sync::{BoundedSemaphore, Lock, OnLoopThread, OwnedPermit, Semaphore};

#[test]
fn an_owned_lock_guard_moves_into_a_task_spawned_later_and_unlocks_when_it_ends() {
    tulipa::run(async {
        let lock = Arc::new(Lock::new());
        let guard = lock.clone().lock_owned().await;
        let waiter = {
            let lock = lock.clone();
            tulipa::spawn(async move { drop(lock.lock().await) })
        };
        tulipa::yield_now().await;
        assert!(!waiter.is_done(), "the guard still holds the lock");
        let holder = tulipa::spawn(async move {
            tulipa::sleep(Duration::from_millis(1)).await;
            drop(guard);
        });
        holder.await.unwrap();
        waiter.await.unwrap();
        assert!(!lock.is_locked());
    })
    .unwrap();
}

#[test]
fn a_dropped_lock_owned_waiter_passes_the_lock_on() {
    tulipa::run(async {
        let lock = Arc::new(Lock::new());
        let held = lock.clone().lock_owned().await;
        let cancelled = tulipa::spawn(lock.clone().lock_owned());
        let next = tulipa::spawn(lock.clone().lock_owned());
        tulipa::yield_now().await;
        drop(held); // handed to `cancelled`...
        cancelled.cancel(); // ...which never takes it
        assert!(cancelled.await.unwrap_err().is_cancelled());
        let guard = next.await.unwrap();
        assert!(Arc::ptr_eq(guard.lock(), &lock));
    })
    .unwrap();
}

#[test]
fn an_owned_permit_crosses_to_a_plain_thread_and_its_drop_there_wakes_the_loop() {
    tulipa::run(async {
        let sem = Arc::new(Semaphore::new(1));
        let permit: OwnedPermit = sem.clone().acquire_owned().await;
        let (tx, rx) = mpsc::channel::<OwnedPermit>();
        let thread = std::thread::spawn(move || drop(rx.recv().unwrap()));
        let waiting = tulipa::spawn({
            let sem = sem.clone();
            async move { sem.acquire_owned().await }
        });
        tulipa::yield_now().await;
        tx.send(permit).unwrap();
        let wait = tulipa::wait_for(waiting, Duration::from_secs(20));
        let second = wait.await.expect("lost wake-up").unwrap();
        thread.join().unwrap();
        second.forget();
        assert_eq!(sem.available(), 0);
        sem.release();
        assert_eq!(sem.available(), 1);
    })
    .unwrap();
}

#[test]
fn blocking_acquires_on_the_loop_thread_are_refused_touching_nothing() {
    tulipa::run(async {
        let lock = Lock::new();
        let sem = Semaphore::new(1);
        let bounded = BoundedSemaphore::new(1);
        let refused: OnLoopThread = lock.lock_blocking().unwrap_err();
        assert!(refused.to_string().contains("event loop thread"));
        assert!(sem.acquire_blocking().is_err());
        assert!(bounded.acquire_blocking().is_err());
        assert!(!lock.is_locked());
        assert_eq!(sem.available(), 1);
    })
    .unwrap();
}

#[test]
fn an_executor_job_waits_with_lock_blocking_until_a_task_unlocks() {
    tulipa::run(async {
        let lock = Arc::new(Lock::new());
        let guard = lock.clone().lock_owned().await;
        let l = lock.clone();
        let job = tulipa::run_in_executor(move || {
            let _g = l.lock_blocking().unwrap();
            "job held it"
        });
        tulipa::sleep(Duration::from_millis(5)).await;
        assert!(lock.is_locked());
        drop(guard);
        let out = tulipa::wait_for(job, Duration::from_secs(20)).await;
        assert_eq!(out.expect("lost wake-up").unwrap(), "job held it");
        assert!(!lock.is_locked());
    })
    .unwrap();
}

#[test]
fn acquire_blocking_on_plain_threads_never_exceeds_the_permits() {
    let sem = Arc::new(Semaphore::new(2));
    let inside = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (sem, inside) = (sem.clone(), inside.clone());
            std::thread::spawn(move || {
                use std::sync::atomic::Ordering::SeqCst;
                for _ in 0..200 {
                    let _p = sem.acquire_blocking().unwrap();
                    assert!(inside.fetch_add(1, SeqCst) < 2);
                    inside.fetch_sub(1, SeqCst);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(sem.available(), 2);
}

#[test]
fn an_owned_bounded_permit_counts_against_the_bound_until_dropped() {
    tulipa::run(async {
        let sem = Arc::new(BoundedSemaphore::new(1));
        let permit = sem.clone().acquire_owned().await;
        assert!(sem.release().is_err(), "the owned permit is out");
        let task = tulipa::spawn(async move { drop(permit) });
        task.await.unwrap();
        assert_eq!(sem.available(), 1);
        assert!(sem.release().is_err(), "back at the bound");
        sem.clone().acquire_owned().await.forget();
        assert_eq!(sem.available(), 0);
        assert!(sem.release().is_ok(), "a forgotten permit may be released");
    })
    .unwrap();
}
