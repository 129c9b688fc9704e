//! Random interleavings on the virtual clock: fairness, exclusion and
//! cancellation for Lock and Semaphore, and no lost notify for Condition.
//!
//! Every delay is a few whole milliseconds, so arrivals, releases and
//! cancels often land on the same tick: that is where a waiter gets chosen
//! and then cancelled before it runs.
#![cfg(not(loom))]

mod support;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use support::leak;
use tulipa::sync::{Condition, Lock, LockGuard, Permit, Semaphore};
use tulipa::{sleep, spawn, EventLoop, Task};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `0` does not suspend at all (same step); `n` sleeps `n - 1` ms.
async fn pause(n: u64) {
    if n > 0 {
        sleep(ms(n - 1)).await;
    }
}

#[derive(Debug, Clone)]
struct TaskPlan {
    /// (gap before arriving, time held) per round, as [`pause`] takes them.
    rounds: Vec<(u64, u64)>,
    cancel_at: Option<u64>,
}

fn task_plan() -> impl Strategy<Value = TaskPlan> {
    (vec((0..4u64, 0..5u64), 1..5), option::of(0..12u64))
        .prop_map(|(rounds, cancel_at)| TaskPlan { rounds, cancel_at })
}

#[derive(Clone, Copy)]
enum Prim {
    Lock(&'static Lock),
    Semaphore(&'static Semaphore),
}

#[allow(dead_code)] // the fields are held for their drop
enum Held {
    _Lock(LockGuard<'static>),
    _Permit(Permit<'static>),
}

impl Prim {
    async fn acquire(self) -> Held {
        match self {
            Prim::Lock(lock) => Held::_Lock(lock.lock().await),
            Prim::Semaphore(sem) => Held::_Permit(sem.acquire().await),
        }
    }
}

/// Counts holders; panics if more than `cap` hold at once.
struct Inside {
    count: Rc<Cell<usize>>,
}

impl Inside {
    fn enter(count: &Rc<Cell<usize>>, cap: usize) -> Inside {
        count.set(count.get() + 1);
        assert!(
            count.get() <= cap,
            "{} holders, capacity {cap}",
            count.get()
        );
        Inside {
            count: count.clone(),
        }
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        self.count.set(self.count.get() - 1);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ev {
    Arrive(usize, usize),
    Acquire(usize, usize),
}

/// Runs the plan; checks exclusion, FIFO resumption and that nobody is
/// stranded. Returns normally iff all hold.
fn check(prim: Prim, cap: usize, plans: Vec<TaskPlan>) {
    let lp = EventLoop::builder().virtual_time().build().unwrap();
    lp.run(async move {
        let log = Rc::new(RefCell::new(Vec::new()));
        let inside = Rc::new(Cell::new(0));
        let tasks: Vec<Rc<Task<()>>> = plans
            .iter()
            .enumerate()
            .map(|(i, plan)| {
                let (log, inside, rounds) = (log.clone(), inside.clone(), plan.rounds.clone());
                Rc::new(spawn(async move {
                    for (r, (gap, hold)) in rounds.into_iter().enumerate() {
                        pause(gap).await;
                        log.borrow_mut().push(Ev::Arrive(i, r));
                        let held = prim.acquire().await;
                        log.borrow_mut().push(Ev::Acquire(i, r));
                        let mark = Inside::enter(&inside, cap);
                        pause(hold).await;
                        drop(mark);
                        drop(held);
                    }
                }))
            })
            .collect();
        for (task, plan) in tasks.iter().zip(&plans) {
            if let Some(at) = plan.cancel_at {
                let task = task.clone();
                drop(spawn(async move {
                    sleep(ms(at)).await;
                    task.cancel();
                }));
            }
        }
        // Everyone finishes within a virtual minute, or someone is stranded.
        for _ in 0..60_000 {
            if tasks.iter().all(|t| t.is_done()) {
                break;
            }
            sleep(ms(1)).await;
        }
        for (i, t) in tasks.iter().enumerate() {
            assert!(t.is_done(), "task {i} stranded; log {:?}", log.borrow());
        }

        let log = log.borrow();
        let arrivals: Vec<_> = log.iter().filter(|e| matches!(e, Ev::Arrive(..))).collect();
        let acquired: Vec<_> = log
            .iter()
            .filter_map(|e| match *e {
                Ev::Acquire(i, r) => Some(Ev::Arrive(i, r)),
                _ => None,
            })
            .collect();
        let served_arrivals: Vec<Ev> = arrivals
            .iter()
            .copied()
            .copied()
            .filter(|a| acquired.contains(a))
            .collect();
        assert_eq!(served_arrivals, acquired, "not served in arrival order");
        for a in arrivals {
            let Ev::Arrive(i, _) = *a else { unreachable!() };
            if !acquired.contains(a) {
                assert!(tasks[i].is_cancelled(), "{a:?} never served, not cancelled");
            }
        }
        for (i, t) in tasks.iter().enumerate() {
            if !t.is_cancelled() {
                let rounds = plans[i].rounds.len();
                assert_eq!(
                    acquired
                        .iter()
                        .filter(|e| matches!(e, Ev::Arrive(j, _) if *j == i))
                        .count(),
                    rounds
                );
            }
        }
        match prim {
            Prim::Lock(lock) => assert!(!lock.is_locked(), "lock left locked"),
            Prim::Semaphore(sem) => assert_eq!(sem.available(), cap, "permits lost"),
        }
    })
    .unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn lock_is_fifo_exclusive_and_strands_nobody_under_random_cancels(
        plans in vec(task_plan(), 1..8)
    ) {
        check(Prim::Lock(leak(Lock::new())), 1, plans);
    }

    #[test]
    fn semaphore_is_fifo_bounded_and_loses_no_permit_under_random_cancels(
        permits in 1..4usize,
        plans in vec(task_plan(), 1..8)
    ) {
        check(Prim::Semaphore(leak(Semaphore::new(permits))), permits, plans);
    }

    #[test]
    fn condition_loses_no_notify_when_consumers_are_cancelled(
        gaps in vec(0..3u64, 1..12),
        consumers in vec((0..3u64, option::of(0..10u64)), 1..5)
    ) {
        check_condition(gaps, consumers);
    }
}

/// A producer adds items one at a time (`notify(1)` each); consumers take
/// them with `wait_for`, and all but the first may be cancelled at any time.
/// Every item must be taken.
fn check_condition(gaps: Vec<u64>, consumers: Vec<(u64, Option<u64>)>) {
    let lp = EventLoop::builder().virtual_time().build().unwrap();
    lp.run(async move {
        let cond = leak(Condition::new());
        let items = Rc::new(Cell::new(0u32));
        let produced = gaps.len() as u32;
        for (c, (work, cancel_at)) in consumers.into_iter().enumerate() {
            let items = items.clone();
            let task = Rc::new(spawn(async move {
                let mut guard = cond.lock().await;
                loop {
                    guard = cond.wait_for(guard, || items.get() > 0).await;
                    items.set(items.get() - 1);
                    drop(guard);
                    sleep(ms(work)).await;
                    guard = cond.lock().await;
                }
            }));
            if let (Some(at), true) = (cancel_at, c > 0) {
                drop(spawn(async move {
                    sleep(ms(at)).await;
                    task.cancel();
                }));
            }
        }
        for gap in gaps {
            sleep(ms(gap)).await;
            let _guard = cond.lock().await;
            items.set(items.get() + 1);
            cond.notify(1);
        }
        sleep(Duration::from_secs(60)).await;
        assert_eq!(
            items.get(),
            0,
            "an item of {produced} was never taken: lost notify"
        );
    })
    .unwrap();
}
