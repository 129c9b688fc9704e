//! The ready queue keeps tasks apart from callbacks (one word per task);
//! what runs still follows the order of scheduling across both.
#![cfg(not(loom))]

use std::cell::RefCell;
use std::rc::Rc;

type Log = Rc<RefCell<Vec<String>>>;

fn task(log: &Log, name: &str) -> impl std::future::Future<Output = ()> {
    let (log, name) = (log.clone(), name.to_owned());
    async move { log.borrow_mut().push(name) }
}

fn callback(log: &Log, name: &str) -> impl FnOnce() {
    let (log, name) = (log.clone(), name.to_owned());
    move || log.borrow_mut().push(name)
}

/// Tasks and callbacks scheduled in turns (runs of several tasks, single
/// callbacks, a callback first and last) run in exactly that order.
#[test]
fn tasks_and_callbacks_interleaved_run_in_scheduling_order() {
    let log: Log = Rc::default();
    let lp = tulipa::EventLoop::new().unwrap();
    let l = log.clone();
    lp.run_until_complete(async move {
        let lp = tulipa::get_running_loop().unwrap();
        let _ = lp.call_soon(callback(&l, "c1"));
        let mut tasks = vec![tulipa::spawn(task(&l, "t1"))];
        let _ = lp.call_soon(callback(&l, "c2"));
        tasks.push(tulipa::spawn(task(&l, "t2")));
        tasks.push(tulipa::spawn(task(&l, "t3")));
        tasks.push(tulipa::spawn(task(&l, "t4")));
        let _ = lp.call_soon(callback(&l, "c3"));
        let _ = lp.call_soon(callback(&l, "c4"));
        tasks.push(tulipa::spawn(task(&l, "t5")));
        let _ = lp.call_soon(callback(&l, "c5"));
        for t in tasks {
            t.await.unwrap();
        }
    })
    .unwrap();
    let expected = ["c1", "t1", "c2", "t2", "t3", "t4", "c3", "c4", "t5", "c5"];
    assert_eq!(*log.borrow(), expected);
}

/// A queue that drained after a burst of tasks still orders the next
/// mixed round (the buffers it gave back are regrown).
#[test]
fn order_holds_after_a_drained_burst() {
    let log: Log = Rc::default();
    let lp = tulipa::EventLoop::new().unwrap();
    let l = log.clone();
    lp.run_until_complete(async move {
        let burst: Vec<_> = (0..10_000)
            .map(|i| tulipa::spawn(async move { i }))
            .collect();
        for t in burst {
            t.await.unwrap();
        }
        let lp = tulipa::get_running_loop().unwrap();
        let a = tulipa::spawn(task(&l, "a"));
        let _ = lp.call_soon(callback(&l, "b"));
        let c = tulipa::spawn(task(&l, "c"));
        a.await.unwrap();
        c.await.unwrap();
    })
    .unwrap();
    assert_eq!(*log.borrow(), ["a", "b", "c"]);
}
