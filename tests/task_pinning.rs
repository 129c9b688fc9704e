//! A task's future is pinned in its heap block: cancelling it drops it in
//! place. An async block that holds a reference to one of its own locals
//! across an `.await` (a self-referential future) must see that local where
//! it was, so a guard's `Drop` runs at the address the guard had while the
//! task was suspended.
#![cfg(not(loom))]

use std::cell::Cell;
use std::rc::Rc;

/// Records its own address when armed, and whether `Drop` ran there.
struct AddressGuard {
    armed_at: Cell<usize>,
    report: Rc<Cell<Option<bool>>>,
}

impl AddressGuard {
    fn arm(&self) {
        self.armed_at.set(self as *const _ as usize);
    }
}

impl Drop for AddressGuard {
    fn drop(&mut self) {
        let here = self as *const _ as usize;
        self.report.set(Some(here == self.armed_at.get()));
    }
}

async fn self_referential_task(report: Rc<Cell<Option<bool>>>) {
    let guard = AddressGuard {
        armed_at: Cell::new(0),
        report,
    };
    let borrowed = &guard; // a reference into the future's own state
    borrowed.arm();
    std::future::pending::<()>().await;
    borrowed.arm();
}

#[test]
fn cancelled_task_future_is_dropped_in_place() {
    let report = Rc::new(Cell::new(None));
    let lp = tulipa::EventLoop::new().unwrap();
    let task = lp.spawn(self_referential_task(report.clone()));
    lp.run_until_complete(tulipa::yield_now()).unwrap();
    task.cancel();
    lp.run_until_complete(tulipa::yield_now()).unwrap();
    assert_eq!(report.get(), Some(true), "the future moved before its drop");
}

#[test]
fn task_left_at_close_is_dropped_in_place() {
    let report = Rc::new(Cell::new(None));
    let lp = tulipa::EventLoop::new().unwrap();
    let report2 = report.clone();
    lp.run(async move {
        let _detached = tulipa::spawn(self_referential_task(report2));
        tulipa::yield_now().await;
    })
    .unwrap();
    assert_eq!(report.get(), Some(true), "the future moved before its drop");
}

#[test]
fn awaited_task_dropped_by_a_timeout_is_dropped_in_place() {
    let report = Rc::new(Cell::new(None));
    let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
    let report2 = report.clone();
    lp.run(async move {
        let task = tulipa::spawn(self_referential_task(report2));
        let out = tulipa::wait_for(task, std::time::Duration::from_secs(1)).await;
        assert!(out.is_err());
    })
    .unwrap();
    assert_eq!(report.get(), Some(true), "the future moved before its drop");
}
