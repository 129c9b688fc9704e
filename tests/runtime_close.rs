//! What `close` does with code that runs while the loop closes: spawns from
//! `Drop` are refused without recursion, and panics in the `Drop` of
//! discarded callbacks are contained and reported.
#![cfg(not(loom))]

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use tulipa::{EventLoop, ExceptionContext};

fn capture_reports(lp: &EventLoop) -> Rc<RefCell<Vec<ExceptionContext>>> {
    let reports = Rc::new(RefCell::new(Vec::new()));
    let r = reports.clone();
    lp.set_exception_handler(Some(move |c: &ExceptionContext| {
        r.borrow_mut().push(c.clone())
    }));
    reports
}

/// Spawns the next link of the chain from its `Drop`, `left` more times.
struct Respawn {
    left: u32,
    dropped: Rc<Cell<u32>>,
}

impl Drop for Respawn {
    fn drop(&mut self) {
        self.dropped.set(self.dropped.get() + 1);
        if self.left > 0 {
            let next = Respawn {
                left: self.left - 1,
                dropped: self.dropped.clone(),
            };
            let task = tulipa::get_running_loop()
                .expect("close keeps the loop current")
                .spawn(async move { drop(next) });
            assert!(task.is_cancelled(), "a closed loop refuses the spawn");
        }
    }
}

#[test]
fn a_long_chain_of_spawns_from_drop_during_close_does_not_recurse() {
    let dropped = Rc::new(Cell::new(0));
    let d = dropped.clone();
    let lp = EventLoop::new().unwrap();
    let waiting = lp.spawn(async move {
        let _chain = Respawn {
            left: 50_000,
            dropped: d,
        };
        std::future::pending::<()>().await
    });
    drop(waiting);
    lp.run_until_complete(tulipa::yield_now()).unwrap();
    // Before, each link recursed inside `spawn` and overflowed the stack.
    lp.close().unwrap();
    assert_eq!(dropped.get(), 50_001);
}

#[test]
fn an_endless_chain_of_spawns_from_drop_is_cut_and_reported() {
    let dropped = Rc::new(Cell::new(0));
    let d = dropped.clone();
    let lp = EventLoop::new().unwrap();
    let reports = capture_reports(&lp);
    drop(lp.spawn(async move {
        let _chain = Respawn {
            left: u32::MAX,
            dropped: d,
        };
        std::future::pending::<()>().await
    }));
    lp.run_until_complete(tulipa::yield_now()).unwrap();
    lp.close().unwrap();
    assert!(dropped.get() > 1000);
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1);
    assert!(reports[0].message.contains("keep spawning"));
}

struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("callback drop");
    }
}

#[test]
fn a_panic_in_the_drop_of_a_discarded_callback_is_reported_not_propagated() {
    let lp = EventLoop::new().unwrap();
    let reports = capture_reports(&lp);
    let guard = PanicOnDrop;
    let _ = lp.call_soon(move || drop(guard));
    let guard = PanicOnDrop;
    let _ = lp.call_later(std::time::Duration::from_secs(60), move || drop(guard));
    // Before, the panic escaped `close`.
    lp.close().unwrap();
    let reports = reports.borrow();
    assert_eq!(reports.len(), 2);
    assert!(reports
        .iter()
        .all(|r| r.panic.as_deref() == Some("callback drop")));
}
