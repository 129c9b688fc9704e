//! Waiter order and hand-over edge cases beyond CPython's tests, the
//! `Stream` side, and the queue's futures on other executors.
#![cfg(not(loom))]

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use futures::StreamExt;
use support::{run_virtual, spawn_get, spawn_put, yields};
use tulipa::{PriorityQueue, Queue};

#[test]
fn getters_are_served_in_arrival_order() {
    run_virtual(async {
        let q = Queue::unbounded();
        let getters: Vec<_> = (0..5)
            .map(|_| {
                let q = q.clone();
                tulipa::spawn(async move { q.get().await.unwrap() })
            })
            .collect();
        yields(1).await;
        for i in 0..5 {
            q.try_put(i).unwrap();
        }
        for (i, g) in getters.into_iter().enumerate() {
            assert_eq!(g.await.unwrap(), i);
        }
    });
}

#[test]
fn putters_are_served_in_arrival_order() {
    run_virtual(async {
        let q = Queue::new(1);
        q.try_put(0).unwrap();
        let putters: Vec<_> = (1..5)
            .map(|i| {
                let q = q.clone();
                tulipa::spawn(async move { q.put(i).await.unwrap() })
            })
            .collect();
        yields(1).await;
        let mut got = Vec::new();
        for _ in 0..5 {
            got.push(q.get().await.unwrap());
        }
        assert_eq!(got, [0, 1, 2, 3, 4]);
        for p in putters {
            p.await.unwrap();
        }
    });
}

#[test]
fn barged_getter_keeps_its_place_at_the_front() {
    // asyncio puts such a getter back in line at the back (gh-83055); tulipa keeps
    // its place: it gets the next item.
    run_virtual(async {
        let q = Queue::unbounded();
        let order = Rc::new(RefCell::new(Vec::new()));
        let spawn_getter = |name: &'static str| {
            let (q, order) = (q.clone(), order.clone());
            tulipa::spawn(async move {
                let item = q.get().await.unwrap();
                order.borrow_mut().push((name, item));
            })
        };
        let g1 = spawn_getter("g1");
        let g2 = spawn_getter("g2");
        yields(1).await;
        q.try_put('a').unwrap(); // wakes g1
        assert_eq!(q.try_get(), Ok('a')); // ... but we take the item first
        yields(1).await; // g1 runs, finds nothing, waits again
        q.try_put('b').unwrap();
        q.try_put('c').unwrap();
        g1.await.unwrap();
        g2.await.unwrap();
        assert_eq!(*order.borrow(), [("g1", 'b'), ("g2", 'c')]);
    });
}

#[test]
fn woken_getter_cancelled_passes_the_wakeup_to_the_next() {
    run_virtual(async {
        let q = Queue::unbounded();
        let g1 = spawn_get(&q);
        let g2 = spawn_get(&q);
        yields(1).await;
        q.try_put(1).unwrap(); // wakes g1 only
        g1.cancel(); // g1 is dropped before it runs
        assert!(g1.await.unwrap_err().is_cancelled());
        assert_eq!(g2.await.unwrap(), Ok(1)); // would hang if stranded
    });
}

#[test]
fn woken_putter_cancelled_passes_the_wakeup_to_the_next() {
    run_virtual(async {
        let q = Queue::new(1);
        q.try_put(0).unwrap();
        let p1 = spawn_put(&q, 1);
        let p2 = spawn_put(&q, 2);
        yields(1).await;
        assert_eq!(q.try_get(), Ok(0)); // wakes p1 only
        p1.cancel();
        assert!(p1.await.unwrap_err().is_cancelled());
        assert_eq!(p2.await.unwrap(), Ok(()));
        assert_eq!(q.try_get(), Ok(2));
    });
}

/// Ordered by priority only, so equal priorities are ties.
#[derive(Debug, PartialEq, Eq)]
struct Job(u8, &'static str);

impl Ord for Job {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

impl PartialOrd for Job {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[test]
fn priority_queue_waiters_get_smallest_first_ties_in_insertion_order() {
    run_virtual(async {
        let q = PriorityQueue::new(3);
        for job in [Job(2, "b"), Job(1, "x"), Job(2, "a")] {
            q.put(job).await.unwrap();
        }
        let late = tulipa::spawn({
            let q = q.clone();
            async move { q.put(Job(0, "late")).await }
        });
        yields(1).await;
        assert_eq!(q.get().await, Ok(Job(1, "x")));
        late.await.unwrap().unwrap();
        let rest: Vec<_> = std::iter::from_fn(|| q.try_get().ok().map(|j| j.1)).collect();
        assert_eq!(rest, ["late", "b", "a"]);
    });
}

#[test]
fn stream_yields_items_then_ends_at_shutdown() {
    run_virtual(async {
        let q = Queue::new(2);
        let producer = tulipa::spawn({
            let q = q.clone();
            async move {
                for i in 0..5 {
                    q.put(i).await.unwrap();
                }
                q.shutdown(false);
            }
        });
        let items: Vec<i32> = q.stream().collect().await;
        assert_eq!(items, [0, 1, 2, 3, 4]);
        producer.await.unwrap();
    });
}

#[test]
fn stream_dropped_after_wakeup_passes_it_on() {
    run_virtual(async {
        let q = Queue::unbounded();
        let streamer = tulipa::spawn({
            let q = q.clone();
            async move { q.stream().next().await }
        });
        let getter = spawn_get(&q);
        yields(1).await;
        q.try_put(9).unwrap();
        streamer.cancel();
        assert!(streamer.await.unwrap_err().is_cancelled());
        assert_eq!(getter.await.unwrap(), Ok(9));
    });
}

#[test]
fn stream_of_immediately_shut_down_queue_is_empty_and_fused() {
    use futures::stream::FusedStream;
    let q = Queue::unbounded();
    q.try_put(1).unwrap();
    q.shutdown(true);
    let mut s = q.stream();
    assert_eq!(futures::executor::block_on(s.next()), None);
    assert!(s.is_terminated());
}

#[test]
fn put_and_get_work_inside_tokio() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let sum = rt.block_on(async {
        let q = Queue::new(4);
        let consumer = tokio::spawn({
            let q = q.clone();
            async move {
                let mut sum = 0u64;
                while let Ok(v) = q.get().await {
                    sum += v;
                }
                sum
            }
        });
        for i in 0..1000u64 {
            q.put(i).await.unwrap();
        }
        q.shutdown(false);
        consumer.await.unwrap()
    });
    assert_eq!(sum, 999 * 1000 / 2);
}

#[test]
fn tokio_task_woken_by_a_plain_thread() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let q = Queue::new(1);
    let feeder = std::thread::spawn({
        let q = q.clone();
        move || {
            for i in 0..200 {
                q.put_blocking(i).unwrap();
            }
            q.shutdown(false);
        }
    });
    let got: Vec<i32> = rt.block_on(q.stream().collect());
    feeder.join().unwrap();
    assert_eq!(got, (0..200).collect::<Vec<_>>());
}

#[test]
fn put_and_get_work_on_a_futures_local_pool() {
    use futures::task::LocalSpawnExt;
    let mut pool = futures::executor::LocalPool::new();
    let q = Queue::new(1);
    let consumer = pool
        .spawner()
        .spawn_local_with_handle({
            let q = q.clone();
            async move { q.stream().collect::<Vec<_>>().await }
        })
        .unwrap();
    let got = pool.run_until(async move {
        for i in 0..10 {
            q.put(i).await.unwrap();
        }
        q.shutdown(false);
        consumer.await
    });
    assert_eq!(got, (0..10).collect::<Vec<_>>());
}
