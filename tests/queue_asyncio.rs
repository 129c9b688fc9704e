//! CPython's Lib/test/test_asyncio/test_queues.py (3.13): QueueBasicTests,
//! QueueGetTests, QueuePutTests, LifoQueueTests and PriorityQueueTests,
//! ported by name. Every test runs on the virtual clock; "after one
//! `sleep(0)`" assertions check asyncio's exact number of loop hops.
//!
//! Not ported: `test_generic_alias` (Python typing) and `test_float_maxsize`
//! (`maxsize` is a `usize` in Rust). `test_repr`/`test_str` become a test of
//! `Debug`, which shows the counts but never the items.

mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use support::{run_virtual, spawn_get, spawn_put, yields};
use tulipa::{LifoQueue, PriorityQueue, Queue, TryGetError};

// ------------------------------------------------------------ QueueBasicTests

#[test]
fn test_repr_debug_shows_waiter_counts_not_items() {
    run_virtual(async {
        let q = Queue::new(1);
        let getter_q = Queue::<u8>::unbounded();
        let g = tulipa::spawn({
            let q = getter_q.clone();
            async move { q.get().await }
        });
        q.put(1).await.unwrap();
        let p = spawn_put(&q, 2);
        yields(1).await;
        assert_eq!(
            format!("{getter_q:?}"),
            "Queue { maxsize: 0, len: 0, getters: 1, putters: 0, unfinished: 0, shutdown: false }"
        );
        assert_eq!(
            format!("{q:?}"),
            "Queue { maxsize: 1, len: 1, getters: 0, putters: 1, unfinished: 1, shutdown: false }"
        );
        g.cancel();
        p.cancel();
    });
}

#[test]
fn test_empty() {
    run_virtual(async {
        let q = Queue::unbounded();
        assert!(q.is_empty());
        q.put(1).await.unwrap();
        assert!(!q.is_empty());
        assert_eq!(q.get().await, Ok(1));
        assert!(q.is_empty());
    });
}

#[test]
fn test_full() {
    let q = Queue::unbounded();
    q.try_put(1).unwrap();
    assert!(!q.is_full());
    let q = Queue::new(1);
    q.try_put(1).unwrap();
    assert!(q.is_full());
}

#[test]
fn test_order() {
    let q = Queue::unbounded();
    for i in [1, 3, 2] {
        q.try_put(i).unwrap();
    }
    let items: Vec<_> = (0..3).map(|_| q.try_get().unwrap()).collect();
    assert_eq!(items, [1, 3, 2]);
}

#[test]
fn test_maxsize() {
    run_virtual(async {
        let q = Queue::new(2);
        assert_eq!(q.maxsize(), 2);
        let have_been_put = Rc::new(RefCell::new(Vec::new()));
        let putter = tulipa::spawn({
            let (q, log) = (q.clone(), have_been_put.clone());
            async move {
                for i in 0..3 {
                    q.put(i).await.unwrap();
                    log.borrow_mut().push(i);
                }
                true
            }
        });
        yields(2).await;
        assert_eq!(*have_been_put.borrow(), [0, 1]);
        assert_eq!(q.get().await, Ok(0));
        // The putter was woken by the get and runs before us: one hop.
        yields(1).await;
        assert_eq!(*have_been_put.borrow(), [0, 1, 2]);
        assert_eq!(q.get().await, Ok(1));
        assert_eq!(q.get().await, Ok(2));
        assert!(putter.await.unwrap());
    });
}

// ------------------------------------------------------------- QueueGetTests

#[test]
fn test_blocking_get() {
    run_virtual(async {
        let q = Queue::unbounded();
        q.try_put(1).unwrap();
        assert_eq!(q.get().await, Ok(1));
    });
}

#[test]
fn test_get_with_putters() {
    run_virtual(async {
        let q = Queue::new(1);
        q.try_put(1).unwrap();
        let putter = spawn_put(&q, 2);
        yields(1).await;
        assert!(!putter.is_done());
        assert_eq!(q.get().await, Ok(1));
        // The get woke the waiting putter, which now completes.
        yields(1).await;
        assert!(putter.is_done());
        assert_eq!(putter.await.unwrap(), Ok(()));
    });
}

#[test]
fn test_blocking_get_wait() {
    run_virtual(async {
        let q = Queue::unbounded();
        let started = tulipa::now();
        let feeder = q.clone();
        let lp = tulipa::get_running_loop().unwrap();
        let _ = lp.call_later(Duration::from_millis(10), move || {
            feeder.try_put(1).unwrap()
        });
        assert_eq!(q.get().await, Ok(1));
        assert_eq!(tulipa::now() - started, Duration::from_millis(10));
    });
}

#[test]
fn test_nonblocking_get() {
    // No loop needed.
    let q = Queue::unbounded();
    q.try_put(1).unwrap();
    assert_eq!(q.try_get(), Ok(1));
}

#[test]
fn test_nonblocking_get_exception() {
    let q = Queue::<u8>::unbounded();
    assert_eq!(q.try_get(), Err(TryGetError::Empty));
}

#[test]
fn test_get_cancelled_race() {
    run_virtual(async {
        let q = Queue::unbounded();
        let t1 = spawn_get(&q);
        let t2 = spawn_get(&q);
        yields(1).await;
        t1.cancel();
        yields(1).await;
        assert!(t1.is_done());
        q.put('a').await.unwrap();
        yields(1).await;
        assert!(t2.is_done());
        assert_eq!(t2.await.unwrap(), Ok('a'));
        assert!(t1.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn test_get_with_waiting_putters() {
    run_virtual(async {
        let q = Queue::new(1);
        let _a = spawn_put(&q, 'a');
        let _b = spawn_put(&q, 'b');
        yields(1).await;
        assert_eq!(q.get().await, Ok('a'));
        assert_eq!(q.get().await, Ok('b'));
    });
}

#[test]
fn test_why_are_getters_waiting() {
    run_virtual(async {
        let q = Queue::new(1);
        let producer = tulipa::spawn({
            let q = q.clone();
            async move {
                for i in 0..5 {
                    q.put(i).await.unwrap();
                }
            }
        });
        let consumer = tulipa::spawn({
            let q = q.clone();
            async move {
                for _ in 0..5 {
                    q.get().await.unwrap();
                }
            }
        });
        producer.await.unwrap();
        consumer.await.unwrap();
        assert!(q.is_empty());
    });
}

#[test]
fn test_cancelled_getters_not_being_held_in_self_getters() {
    run_virtual(async {
        let q = Queue::<u8>::unbounded();
        // wait_for(q.get(), 0.1): a getter given up after a timeout.
        let getter = spawn_get(&q);
        tulipa::sleep(Duration::from_millis(100)).await;
        getter.cancel();
        assert!(getter.await.unwrap_err().is_cancelled());
        assert!(format!("{q:?}").contains("getters: 0"));
    });
}

// ------------------------------------------------------------- QueuePutTests

#[test]
fn test_blocking_put() {
    run_virtual(async {
        let q = Queue::unbounded();
        // No maxsize: put never waits.
        q.put(1).await.unwrap();
        assert_eq!(q.get().await, Ok(1));
    });
}

#[test]
fn test_blocking_put_wait() {
    run_virtual(async {
        let q = Queue::new(1);
        let started = tulipa::now();
        let taker = q.clone();
        let lp = tulipa::get_running_loop().unwrap();
        let _ = lp.call_later(Duration::from_millis(10), move || {
            taker.try_get().unwrap();
        });
        q.put(0).await.unwrap();
        q.put(1).await.unwrap();
        assert_eq!(tulipa::now() - started, Duration::from_millis(10));
        assert_eq!(q.try_get(), Ok(1));
    });
}

#[test]
fn test_nonblocking_put() {
    let q = Queue::unbounded();
    q.try_put(1).unwrap();
    assert_eq!(q.try_get(), Ok(1));
}

#[test]
fn test_get_cancel_drop_one_pending_reader() {
    run_virtual(async {
        let q = Queue::unbounded();
        let reader = spawn_get(&q);
        yields(1).await;
        q.try_put(1).unwrap();
        q.try_put(2).unwrap();
        reader.cancel();
        // The reader was woken, then cancelled before it ran: its wake-up
        // and the item stay in the queue.
        assert!(reader.await.unwrap_err().is_cancelled());
        assert_eq!(q.get().await, Ok(1));
        assert_eq!(q.get().await, Ok(2));
    });
}

#[test]
fn test_get_cancel_drop_many_pending_readers() {
    run_virtual(async {
        let q = Queue::unbounded();
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let q = q.clone();
                tulipa::spawn(async move { q.get().await })
            })
            .collect();
        yields(1).await;
        q.try_put(1).unwrap();
        q.try_put(2).unwrap();
        let mut readers = readers.into_iter();
        let reader1 = readers.next().unwrap();
        reader1.cancel();
        assert!(reader1.await.unwrap_err().is_cancelled());
        let mut got = Vec::new();
        for r in readers {
            got.push(r.await.unwrap().unwrap());
        }
        got.sort();
        assert_eq!(got, [1, 2]);
        assert!(q.is_empty());
    });
}

#[test]
fn test_put_cancel_drop() {
    run_virtual(async {
        let q = Queue::new(1);
        q.try_put(1).unwrap();
        let writer = spawn_put(&q, 2);
        yields(1).await;
        assert_eq!(q.try_get(), Ok(1));
        writer.cancel();
        if writer.await.is_err() {
            // The writer was cancelled after being woken: retry.
            q.put(2).await.unwrap();
        }
        assert_eq!(q.try_get(), Ok(2));
        assert_eq!(q.len(), 0);
    });
}

#[test]
fn test_nonblocking_put_exception() {
    let q = Queue::new(1);
    q.try_put(1).unwrap();
    let err = q.try_put(2).unwrap_err();
    assert!(err.is_full());
    assert_eq!(err.into_inner(), 2);
}

#[test]
fn test_put_cancelled() {
    run_virtual(async {
        let q = Queue::unbounded();
        let t = tulipa::spawn({
            let q = q.clone();
            async move {
                q.put(1).await.unwrap();
                true
            }
        });
        assert_eq!(q.get().await, Ok(1));
        assert!(t.await.unwrap());
    });
}

#[test]
fn test_put_cancelled_race() {
    run_virtual(async {
        let q = Queue::new(1);
        let put_a = spawn_put(&q, 'a');
        let put_b = spawn_put(&q, 'b');
        let put_c = spawn_put(&q, 'X');
        yields(1).await;
        assert!(put_a.is_done());
        assert!(!put_b.is_done());
        put_c.cancel();
        yields(1).await;
        assert!(put_c.is_done());
        assert_eq!(q.try_get(), Ok('a'));
        yields(1).await;
        assert_eq!(q.try_get(), Ok('b'));
        assert_eq!(put_b.await.unwrap(), Ok(()));
        assert!(put_c.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn test_put_with_waiting_getters() {
    run_virtual(async {
        let q = Queue::unbounded();
        let t = spawn_get(&q);
        yields(1).await;
        q.put('a').await.unwrap();
        assert_eq!(t.await.unwrap(), Ok('a'));
    });
}

#[test]
fn test_why_are_putters_waiting() {
    run_virtual(async {
        let q = Queue::new(2);
        let getter = tulipa::spawn({
            let q = q.clone();
            async move {
                yields(1).await;
                for _ in 0..q.len() {
                    q.try_get().unwrap();
                }
            }
        });
        let putters: Vec<_> = (0..4)
            .map(|i| {
                let q = q.clone();
                tulipa::spawn(async move { q.put(i).await })
            })
            .collect();
        getter.await.unwrap();
        for p in putters {
            p.await.unwrap().unwrap();
        }
        assert_eq!(q.len(), 2);
    });
}

#[test]
fn test_cancelled_puts_not_being_held_in_self_putters() {
    run_virtual(async {
        let q = Queue::new(1);
        q.try_put(1).unwrap();
        let putter = spawn_put(&q, 2);
        yields(1).await;
        assert!(format!("{q:?}").contains("putters: 1"));
        putter.cancel();
        assert!(putter.await.unwrap_err().is_cancelled());
        assert!(format!("{q:?}").contains("putters: 0"));
    });
}

#[test]
fn test_cancelled_put_silence_value_error_exception() {
    run_virtual(async {
        let q = Queue::new(1);
        q.try_put(1).unwrap();
        let putter = spawn_put(&q, 2);
        yields(1).await;
        // Woken (unlinked from the line) by the get, then cancelled: leaving
        // must neither panic nor lose the free place.
        q.try_get().unwrap();
        putter.cancel();
        assert!(putter.await.unwrap_err().is_cancelled());
        assert!(q.is_empty());
        assert!(format!("{q:?}").contains("putters: 0"));
    });
}

// ---------------------------------------------- LifoQueue / PriorityQueue

#[test]
fn lifo_test_order() {
    let q = LifoQueue::unbounded();
    for i in [1, 3, 2] {
        q.try_put(i).unwrap();
    }
    let items: Vec<_> = (0..3).map(|_| q.try_get().unwrap()).collect();
    assert_eq!(items, [2, 3, 1]);
}

#[test]
fn priority_test_order() {
    let q = PriorityQueue::unbounded();
    for i in [1, 3, 2] {
        q.try_put(i).unwrap();
    }
    let items: Vec<_> = (0..3).map(|_| q.try_get().unwrap()).collect();
    assert_eq!(items, [1, 2, 3]);
}
