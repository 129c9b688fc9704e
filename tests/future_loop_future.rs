//! `LoopFuture`: asyncio's settable Future.
mod support;

use support::Log;
use tulipa::future::FutureError;
use tulipa::LoopFuture;

#[derive(Debug)]
struct Oops;
impl std::fmt::Display for Oops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("oops")
    }
}
impl std::error::Error for Oops {}

#[test]
fn set_result_wakes_every_awaiter() {
    let out = tulipa::run(async {
        let fut = LoopFuture::new();
        let a = tulipa::spawn(fut.clone());
        let b = tulipa::spawn(fut.clone());
        tulipa::yield_now().await;
        assert!(!fut.is_done());
        fut.set_result("v").unwrap();
        (a.await.unwrap().unwrap(), b.await.unwrap().unwrap())
    })
    .unwrap();
    assert_eq!(out, ("v", "v"));
}

#[test]
fn setting_twice_is_invalid_state_and_gives_the_value_back() {
    let fut = LoopFuture::new();
    fut.set_result(1).unwrap();
    assert_eq!(fut.set_result(2).unwrap_err().0, 2);
    assert_eq!(
        fut.set_error(Oops).unwrap_err().to_string(),
        "future is already done"
    );
    assert!(!fut.cancel());
    assert_eq!(fut.result().unwrap().unwrap(), 1);
}

#[test]
fn set_error_reaches_the_awaiter() {
    let out = tulipa::run(async {
        let fut = LoopFuture::<u8>::new();
        fut.set_error(Oops).unwrap();
        fut.await
    })
    .unwrap();
    match out {
        Err(FutureError::Error(e)) => assert_eq!(e.to_string(), "oops"),
        other => panic!("expected the error, got {other:?}"),
    }
}

#[test]
fn cancel_marks_it_cancelled() {
    let fut = LoopFuture::<u8>::new();
    assert!(fut.result().is_none());
    assert!(fut.cancel());
    assert!(fut.is_cancelled());
    assert!(matches!(fut.result(), Some(Err(FutureError::Cancelled))));
}

#[test]
fn done_callbacks_run_via_call_soon_in_order() {
    let log = Log::new();
    let l = log.clone();
    tulipa::run(async move {
        let fut = LoopFuture::new();
        for i in 0..3 {
            let l = l.clone();
            fut.add_done_callback(move || l.push(format!("cb{i}")));
        }
        fut.set_result(()).unwrap();
        l.push("set");
        tulipa::yield_now().await;
        let l2 = l.clone();
        fut.add_done_callback(move || l2.push("added after done"));
        tulipa::yield_now().await;
    })
    .unwrap();
    assert_eq!(log.take(), ["set", "cb0", "cb1", "cb2", "added after done"]);
}
