//! Property tests: random interleavings of producers, consumers, barging
//! `try_put`/`try_get`, cancellations of waiting getters and putters,
//! joiners and shutdowns, on a virtual-clock loop.
//!
//! Properties checked for Queue, LifoQueue and PriorityQueue:
//! - every item whose `put` returned `Ok` is delivered exactly once, or was
//!   discarded by an immediate shutdown; nothing else is ever delivered;
//! - a `join` never resolves while items are unfinished since it started,
//!   and resolves within a few loop hops of the last `task_done`;
//! - at the end, after `shutdown`, every task finishes (no stranded waiter).
#![cfg(not(loom))]

mod support;

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;

use proptest::prelude::*;
use support::{run_virtual, yields};

#[derive(Debug, Clone)]
enum Action {
    Producer(u8),
    Consumer,
    CancelProducer(usize),
    CancelConsumer(usize),
    TryPut,
    TryGet,
    Joiner,
    Shutdown(bool),
    Yield(u8),
    /// Let every task run until blocked, then check the invariants.
    Settle,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => (1u8..6).prop_map(Action::Producer),
        3 => Just(Action::Consumer),
        2 => any::<usize>().prop_map(Action::CancelProducer),
        2 => any::<usize>().prop_map(Action::CancelConsumer),
        1 => Just(Action::TryPut),
        1 => Just(Action::TryGet),
        1 => Just(Action::Joiner),
        1 => any::<bool>().prop_map(Action::Shutdown),
        2 => (1u8..3).prop_map(Action::Yield),
        2 => Just(Action::Settle),
    ]
}

/// The bookkeeping of one run.
#[derive(Default)]
struct Log {
    /// Ids whose put returned Ok.
    put: RefCell<Vec<u32>>,
    /// Ids handed to a consumer (or drained at the end).
    got: RefCell<Vec<u32>>,
    /// Ids of items dropped without being delivered or refused: cancelled
    /// in-flight puts and immediate-shutdown discards.
    dropped: RefCell<Vec<u32>>,
    /// Bumped each time the unfinished count is seen reaching zero.
    zero_epoch: Cell<u64>,
    next_id: Cell<u32>,
    /// Bumped on every put, get and refusal: `settle` waits until it stops.
    progress: Cell<u64>,
    /// Whether any `shutdown(true)` ran: only it may discard items.
    immediate: Cell<bool>,
}

/// An item that reports being dropped undelivered.
struct Item {
    id: u32,
    log: Rc<Log>,
    settled: bool,
}

impl Item {
    fn settle(mut self) -> u32 {
        self.settled = true;
        self.id
    }
}

impl Drop for Item {
    fn drop(&mut self) {
        if !self.settled {
            self.log.dropped.borrow_mut().push(self.id);
        }
    }
}

impl PartialEq for Item {
    fn eq(&self, o: &Self) -> bool {
        self.id == o.id
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Item {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.id.cmp(&o.id)
    }
}

fn new_item(log: &Rc<Log>) -> Item {
    let id = log.next_id.get();
    log.next_id.set(id + 1);
    Item {
        id,
        log: log.clone(),
        settled: false,
    }
}

/// What `settle` needs to know about a queue of any kind.
trait Probe {
    fn len(&self) -> usize;
    fn is_full(&self) -> bool;
}

macro_rules! probe {
    ($queue:ident) => {
        impl Probe for tulipa::$queue<Item> {
            fn len(&self) -> usize {
                tulipa::$queue::len(self)
            }
            fn is_full(&self) -> bool {
                tulipa::$queue::is_full(self)
            }
        }
    };
}
probe!(Queue);
probe!(LifoQueue);
probe!(PriorityQueue);

/// Each joiner and, once it started, the zero epoch and whether it was idle then.
type Joiners = Vec<(tulipa::Task<()>, Rc<Cell<Option<(u64, bool)>>>)>;

/// Lets every task run until it blocks, then checks that no waiter is
/// stranded and that every joiner whose zero came is done.
async fn settle(
    q: &impl Probe,
    log: &Log,
    producers: &[tulipa::Task<()>],
    consumers: &[tulipa::Task<()>],
    joiners: &Joiners,
) {
    // Quiescent once three hops in a row made no progress: a woken waiter
    // acts (or waits again) one hop after its wake-up, a cancel lands one
    // hop after it was asked for.
    let mut quiet = 0;
    while quiet < 3 {
        let before = log.progress.get();
        yields(1).await;
        quiet = if log.progress.get() == before {
            quiet + 1
        } else {
            0
        };
    }
    let zero_epoch = log.zero_epoch.get();
    // Promptness: every zero came at least two hops ago, so its joiners ran.
    for (task, start) in joiners {
        let (epoch, idle) = start.get().expect("a settled joiner has started");
        if idle || zero_epoch > epoch {
            assert!(task.is_done(), "join missed the last task_done");
        }
    }
    // A consumer still waiting while items sit in the queue, or a producer
    // still waiting while there is room, is stranded.
    if consumers.iter().any(|c| !c.is_done()) {
        assert_eq!(q.len(), 0, "a getter is stranded next to an item");
    }
    if producers.iter().any(|p| !p.is_done()) {
        assert!(q.is_full(), "a putter is stranded next to a free place");
    }
}

macro_rules! interleaving_test {
    ($name:ident, $queue:ident) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(300))]
            #[test]
            fn $name(maxsize in 0usize..4, script in proptest::collection::vec(action(), 1..40)) {
                run_virtual(async move {
                    let q = tulipa::$queue::<Item>::new(maxsize);
                    let log = Rc::new(Log::default());
                    let note_done = {
                        let (q, log) = (q.clone(), log.clone());
                        move || {
                            q.task_done().expect("one task_done per delivered item");
                            if q.unfinished_tasks() == 0 {
                                log.zero_epoch.set(log.zero_epoch.get() + 1);
                            }
                        }
                    };
                    let mut producers = Vec::new();
                    let mut consumers = Vec::new();
                    let mut joiners: Joiners = Vec::new();
                    for step in script {
                        match step {
                            Action::Producer(n) => {
                                let (q, log) = (q.clone(), log.clone());
                                producers.push(tulipa::spawn(async move {
                                    for _ in 0..n {
                                        let item = new_item(&log);
                                        let id = item.id;
                                        match q.put(item).await {
                                            Ok(()) => {
                                                log.put.borrow_mut().push(id);
                                                log.progress.set(log.progress.get() + 1);
                                            }
                                            Err(refused) => {
                                                log.progress.set(log.progress.get() + 1);
                                                refused.into_inner().settle();
                                                return;
                                            }
                                        }
                                    }
                                }));
                            }
                            Action::Consumer => {
                                let (q, log, done) = (q.clone(), log.clone(), note_done.clone());
                                consumers.push(tulipa::spawn(async move {
                                    while let Ok(item) = q.get().await {
                                        log.progress.set(log.progress.get() + 1);
                                        log.got.borrow_mut().push(item.settle());
                                        done();
                                    }
                                }));
                            }
                            Action::CancelProducer(i) if !producers.is_empty() => {
                                let n = producers.len();
                                producers[i % n].cancel();
                            }
                            Action::CancelConsumer(i) if !consumers.is_empty() => {
                                let n = consumers.len();
                                consumers[i % n].cancel();
                            }
                            Action::CancelProducer(_) | Action::CancelConsumer(_) => {}
                            Action::TryPut => {
                                let item = new_item(&log);
                                let id = item.id;
                                match q.try_put(item) {
                                    Ok(()) => log.put.borrow_mut().push(id),
                                    Err(e) => {
                                        e.into_inner().settle();
                                    }
                                }
                            }
                            Action::TryGet => {
                                if let Ok(item) = q.try_get() {
                                    log.got.borrow_mut().push(item.settle());
                                    note_done();
                                }
                            }
                            Action::Joiner => {
                                let (q, log) = (q.clone(), log.clone());
                                let start = Rc::new(Cell::new(None));
                                let started = start.clone();
                                let task = tulipa::spawn(async move {
                                    // Sampled in the same turn as join's first poll.
                                    let epoch = log.zero_epoch.get();
                                    let idle = q.unfinished_tasks() == 0;
                                    started.set(Some((epoch, idle)));
                                    q.join().await;
                                    // Never early: zero was reached since we started.
                                    assert!(idle || log.zero_epoch.get() > epoch, "join resolved early");
                                });
                                joiners.push((task, start));
                            }
                            Action::Shutdown(immediate) => {
                                let before = q.unfinished_tasks();
                                q.shutdown(immediate);
                                log.immediate.set(log.immediate.get() || immediate);
                                if immediate && before > 0 && q.unfinished_tasks() == 0 {
                                    log.zero_epoch.set(log.zero_epoch.get() + 1);
                                }
                            }
                            Action::Yield(n) => yields(n as usize).await,
                            Action::Settle => {}
                        }
                        if let Action::Settle = step {
                            settle(&q, &log, &producers, &consumers, &joiners).await;
                        }
                    }
                    settle(&q, &log, &producers, &consumers, &joiners).await;
                    // Wind down: shut down, let everyone finish, drain the rest.
                    q.shutdown(false);
                    yields(5).await;
                    for p in producers {
                        let _ = p.await;
                    }
                    for c in consumers {
                        let _ = c.await;
                    }
                    while let Ok(item) = q.try_get() {
                        log.got.borrow_mut().push(item.settle());
                        note_done();
                    }
                    assert_eq!(q.unfinished_tasks(), 0);
                    for (task, _) in joiners {
                        task.await.expect("every joiner resolves once all is done");
                    }
                    check(&log);
                });
            }
        }
    };
}

fn check(log: &Log) {
    let put: HashSet<u32> = log.put.borrow().iter().copied().collect();
    let got = log.got.borrow();
    let got_set: HashSet<u32> = got.iter().copied().collect();
    assert_eq!(got_set.len(), got.len(), "an item was delivered twice");
    assert!(
        got_set.is_subset(&put),
        "an item was delivered that was never put"
    );
    let dropped: HashSet<u32> = log.dropped.borrow().iter().copied().collect();
    for id in &put {
        let delivered = got_set.contains(id);
        let discarded = dropped.contains(id);
        assert!(
            !discarded || log.immediate.get(),
            "item {id} was lost without an immediate shutdown"
        );
        assert!(
            delivered != discarded,
            "item {id}: delivered={delivered} discarded={discarded}"
        );
    }
}

interleaving_test!(fifo_random_interleavings_deliver_each_item_once, Queue);
interleaving_test!(lifo_random_interleavings_deliver_each_item_once, LifoQueue);
interleaving_test!(
    priority_random_interleavings_deliver_each_item_once,
    PriorityQueue
);
