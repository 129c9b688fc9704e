//! The loop's table of live tasks reuses the slots of finished tasks; what
//! it lists (`all_tasks`) and what `close` drops still follow spawn order.
#![cfg(not(loom))]

use std::cell::RefCell;
use std::rc::Rc;

fn names() -> Vec<String> {
    tulipa::all_tasks()
        .into_iter()
        .map(|info| info.name.expect("every task here is named"))
        .collect()
}

/// A task spawned after another finished takes its slot, ahead of older
/// live tasks in the table; `all_tasks` still lists it last.
#[test]
fn all_tasks_in_spawn_order_when_a_finished_tasks_slot_is_reused() {
    tulipa::run(async {
        let first = tulipa::spawn_named("first", async {});
        let a = tulipa::spawn_named("a", std::future::pending::<()>());
        let b = tulipa::spawn_named("b", std::future::pending::<()>());
        first.await.unwrap();
        let c = tulipa::spawn_named("c", std::future::pending::<()>());
        let d = tulipa::spawn_named("d", std::future::pending::<()>());
        assert_eq!(names(), ["a", "b", "c", "d"]);
        b.cancel();
        tulipa::yield_now().await;
        assert_eq!(names(), ["a", "c", "d"]);
        let e = tulipa::spawn_named("e", std::future::pending::<()>());
        assert_eq!(names(), ["a", "c", "d", "e"]);
        for task in [a, c, d, e] {
            task.cancel();
        }
    })
    .unwrap();
}

/// Records its name in the shared log when dropped.
struct Logged(&'static str, Rc<RefCell<Vec<&'static str>>>);

impl Drop for Logged {
    fn drop(&mut self) {
        self.1.borrow_mut().push(self.0);
    }
}

fn pending_logged(
    name: &'static str,
    log: &Rc<RefCell<Vec<&'static str>>>,
) -> impl std::future::Future<Output = ()> {
    let guard = Logged(name, log.clone());
    async move {
        let _guard = guard;
        std::future::pending::<()>().await
    }
}

/// `close` drops the futures of pending tasks in spawn order, also when
/// the later ones sit in reused slots before the earlier ones.
#[test]
fn close_drops_pending_futures_in_spawn_order_with_reused_slots() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let lp = tulipa::EventLoop::new().unwrap();
    let l = log.clone();
    lp.run_until_complete(async move {
        let quick: Vec<_> = (0..3).map(|_| tulipa::spawn(async {})).collect();
        drop(tulipa::spawn(pending_logged("a", &l)));
        for task in quick {
            task.await.unwrap();
        }
        // The three freed slots come before "a"'s.
        drop(tulipa::spawn(pending_logged("b", &l)));
        drop(tulipa::spawn(pending_logged("c", &l)));
        drop(tulipa::spawn(pending_logged("d", &l)));
        drop(tulipa::spawn(pending_logged("e", &l)));
        tulipa::yield_now().await;
        assert!(l.borrow().is_empty());
    })
    .unwrap();
    lp.close().unwrap();
    assert_eq!(*log.borrow(), ["a", "b", "c", "d", "e"]);
}

/// A future whose `Drop` (run by `close`) spawns: the spawn is refused
/// (the loop is closed) and the remaining tasks are still all closed.
#[test]
fn close_with_a_drop_that_spawns_closes_every_task() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let lp = tulipa::EventLoop::new().unwrap();
    let l = log.clone();
    lp.run_until_complete(async move {
        struct SpawnsOnDrop;
        impl Drop for SpawnsOnDrop {
            fn drop(&mut self) {
                let late = tulipa::spawn(async { 1 });
                assert!(late.is_done(), "a spawn on a closed loop ends at once");
            }
        }
        drop(tulipa::spawn(async {
            let _spawns = SpawnsOnDrop;
            std::future::pending::<()>().await
        }));
        drop(tulipa::spawn(pending_logged("after", &l)));
        tulipa::yield_now().await;
    })
    .unwrap();
    lp.close().unwrap();
    assert_eq!(*log.borrow(), ["after"]);
    assert!(lp.all_tasks().is_empty());
}
