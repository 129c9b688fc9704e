//! The one queue type behind `Queue`, `LifoQueue` and `PriorityQueue`: type
//! inference through the aliases, generic code over the order, the named
//! futures, and errors that hold only what their call can return.
#![cfg(not(loom))]

mod support;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Waker};
use std::time::Duration;

use support::run_virtual;
use tulipa::queue::{Fifo, GenericQueue, Get, Join, Order, Put, QueueStream};
use tulipa::{
    BlockingGetError, BlockingPutError, GetError, GetTimeoutError, LifoQueue, PriorityQueue,
    PutError, PutTimeoutError, Queue, TryGetError, TryPutError,
};

fn drain<T, O: Order<T>>(q: &GenericQueue<T, O>) -> Vec<T> {
    std::iter::from_fn(|| q.try_get().ok()).collect()
}

#[test]
fn new_unbounded_and_default_infer_the_item_type_through_the_aliases() {
    let q = Queue::new(0);
    q.try_put(1u8).unwrap();
    let l = LifoQueue::unbounded();
    l.try_put("x").unwrap();
    let p: PriorityQueue<_> = Default::default();
    p.try_put('c').unwrap();
    let d = Queue::default();
    d.try_put(2.5).unwrap();
    assert_eq!((q.len(), l.len(), p.len(), d.len()), (1, 1, 1, 1));
}

#[test]
fn generic_code_serves_all_three_orders() {
    let (fifo, lifo, prio) = (Queue::new(3), LifoQueue::new(3), PriorityQueue::new(3));
    for i in [2, 3, 1] {
        fifo.try_put(i).unwrap();
        lifo.try_put(i).unwrap();
        prio.try_put(i).unwrap();
    }
    assert!(fifo.is_full() && lifo.is_full() && prio.is_full());
    assert_eq!(drain(&fifo), [2, 3, 1]);
    assert_eq!(drain(&lifo), [1, 3, 2]);
    assert_eq!(drain(&prio), [1, 2, 3]);
}

#[test]
fn debug_names_each_kind_and_never_the_items() {
    let fifo: GenericQueue<u8, Fifo> = Queue::unbounded();
    fifo.try_put(7).unwrap();
    assert_eq!(
        format!("{fifo:?}"),
        "Queue { maxsize: 0, len: 1, getters: 0, putters: 0, unfinished: 1, shutdown: false }"
    );
    assert!(format!("{:?}", LifoQueue::<u8>::new(2)).starts_with("LifoQueue { maxsize: 2,"));
    assert!(format!("{:?}", PriorityQueue::<u8>::new(3)).starts_with("PriorityQueue { maxsize: 3,"));
}

#[test]
fn the_named_futures_show_whether_they_wait_in_line() {
    let q = Queue::new(1);
    let mut cx = Context::from_waker(Waker::noop());

    let mut get: Get<'_, u8, Fifo> = q.get();
    assert_eq!(format!("{get:?}"), "Get { queued: false }");
    assert!(pin!(&mut get).poll(&mut cx).is_pending());
    assert_eq!(format!("{get:?}"), "Get { queued: true }");
    drop(get);
    assert!(format!("{q:?}").contains("getters: 0"));

    q.try_put(1).unwrap();
    let mut put: Put<'_, u8, Fifo> = q.put(2);
    assert!(pin!(&mut put).poll(&mut cx).is_pending());
    assert_eq!(format!("{put:?}"), "Put { queued: true }");
    drop(put); // cancelled: the item 2 was never put
    assert_eq!(q.len(), 1);

    let mut join: Join<'_, u8, Fifo> = q.join();
    assert!(pin!(&mut join).poll(&mut cx).is_pending());
    assert_eq!(format!("{join:?}"), "Join { queued: true }");

    let stream: QueueStream<u8, Fifo> = q.stream();
    assert_eq!(
        format!("{stream:?}"),
        "QueueStream { queued: false, done: false }"
    );
}

#[test]
fn async_put_and_get_fail_only_with_shut_down() {
    run_virtual(async {
        let q = PriorityQueue::<u8>::new(1);
        q.shutdown(false);
        // Exhaustive matches without a wildcard: these are all the variants.
        match q.put(1).await {
            Err(PutError::ShutDown(item)) => assert_eq!(item, 1),
            Ok(()) => panic!("put on a shut-down queue"),
        }
        match q.get().await {
            Err(GetError::ShutDown) => {}
            Ok(item) => panic!("got {item} from an empty shut-down queue"),
        }
    });
}

#[test]
fn try_calls_fail_only_with_full_empty_or_shut_down() {
    let q = LifoQueue::new(1);
    q.try_put(1).unwrap();
    match q.try_put(2) {
        Err(TryPutError::Full(item)) => assert_eq!(item, 2),
        Err(TryPutError::ShutDown(_)) | Ok(()) => panic!("expected Full"),
    }
    q.try_get().unwrap();
    match q.try_get() {
        Err(TryGetError::Empty) => {}
        Err(TryGetError::ShutDown) | Ok(_) => panic!("expected Empty"),
    }
}

#[test]
fn timed_out_blocking_calls_report_timed_out_not_full_or_empty() {
    let q = Queue::new(1);
    q.try_put(1u8).unwrap();
    let short = Duration::from_millis(1);
    let err = q.put_blocking_timeout(2, short).unwrap_err();
    assert!(err.is_timed_out() && !err.is_shutdown() && !err.is_on_loop_thread());
    assert_eq!(err.to_string(), "timed out waiting for room in the queue");
    assert_eq!(format!("{err:?}"), "TimedOut(..)");
    assert_eq!(err.into_inner(), 2);
    q.try_get().unwrap();
    let err = q.get_blocking_timeout(short).unwrap_err();
    assert_eq!(err, GetTimeoutError::TimedOut);
    assert_eq!(
        err.to_string(),
        "timed out waiting for an item in the queue"
    );
    // Neither waiter is left in a line.
    let dbg = format!("{q:?}");
    assert!(
        dbg.contains("getters: 0") && dbg.contains("putters: 0"),
        "{dbg}"
    );
}

#[test]
fn blocking_errors_widen_into_the_timeout_errors() {
    assert_eq!(
        BlockingPutError::from(PutError::ShutDown(1)),
        BlockingPutError::ShutDown(1)
    );
    assert_eq!(
        PutTimeoutError::from(BlockingPutError::ShutDown(2)),
        PutTimeoutError::ShutDown(2)
    );
    assert_eq!(
        TryPutError::from(PutError::ShutDown(3)),
        TryPutError::ShutDown(3)
    );
    assert_eq!(
        BlockingGetError::from(GetError::ShutDown),
        BlockingGetError::ShutDown
    );
    assert_eq!(
        GetTimeoutError::from(BlockingGetError::OnLoopThread),
        GetTimeoutError::OnLoopThread
    );
    assert_eq!(TryGetError::from(GetError::ShutDown), TryGetError::ShutDown);
}
