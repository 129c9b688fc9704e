//! `as_completed`, ported from the as_completed cases of CPython's
//! `Lib/test/test_asyncio/test_tasks.py` where they mean something in Rust.
#![cfg(not(loom))]

#[path = "support/combinators.rs"]
mod support;

use futures::StreamExt;
use support::{ms, since, sleep_then, vloop, Counter};

/// test_as_completed: results come in completion order.
#[test]
fn test_as_completed_completion_order() {
    vloop()
        .run(async {
            let start = tulipa::now();
            let d = Counter::new();
            let mut stream = tulipa::as_completed([
                sleep_then(ms(150), 'c', d.clone()),
                sleep_then(ms(10), 'a', d.clone()),
                sleep_then(ms(10), 'b', d.clone()),
            ]);
            let mut got = Vec::new();
            while let Some((_, v)) = stream.next().await {
                got.push((v, since(start)));
            }
            assert_eq!(got, [('a', ms(10)), ('b', ms(10)), ('c', ms(150))]);
        })
        .unwrap();
}

/// test_as_completed_same_tasks_in_as_out: each item names its input by
/// index, here over tasks.
#[test]
fn test_as_completed_index_names_the_input_task() {
    vloop()
        .run(async {
            let tasks: Vec<_> = [30u64, 10, 20]
                .into_iter()
                .map(|d| {
                    tulipa::spawn(async move {
                        tulipa::sleep(ms(d)).await;
                        d
                    })
                })
                .collect();
            let ids: Vec<_> = tasks.iter().map(|t| t.id()).collect();
            let mut stream = tulipa::as_completed(tasks);
            let mut order = Vec::new();
            while let Some((i, out)) = stream.next().await {
                order.push((ids[i], out.unwrap()));
            }
            assert_eq!(order, [(ids[1], 10), (ids[2], 20), (ids[0], 30)]);
        })
        .unwrap();
}

/// test_as_completed_with_timeout: a time limit around `next` gives the
/// first result, then `TimeoutError` at 0.12.
#[test]
fn test_as_completed_with_timeout() {
    vloop()
        .run(async {
            let start = tulipa::now();
            let d = Counter::new();
            let mut stream = tulipa::as_completed([
                sleep_then(ms(100), 'a', d.clone()),
                sleep_then(ms(150), 'b', d.clone()),
            ]);
            let deadline = tulipa::timeout(ms(120));
            assert_eq!(deadline.run(stream.next()).await, Ok(Some((0, 'a'))));
            assert!(deadline.run(stream.next()).await.is_err());
            assert_eq!(since(start), ms(120));
            // Dropping a `next` lost nothing: the stream resumes.
            assert_eq!(stream.next().await, Some((1, 'b')));
            assert_eq!(d.get(), 2);
        })
        .unwrap();
}

/// test_as_completed_with_unused_timeout: a limit that never fires is harmless.
#[test]
fn test_as_completed_with_unused_timeout() {
    vloop()
        .run(async {
            let d = Counter::new();
            let mut stream = tulipa::as_completed([sleep_then(ms(10), 'a', d)]);
            let got = tulipa::wait_for(stream.next(), ms(100)).await;
            assert_eq!(got, Ok(Some((0, 'a'))));
            assert_eq!(stream.next().await, None);
        })
        .unwrap();
}

/// test_as_completed_resume_iterator: stop after two, resume, get all four.
#[test]
fn test_as_completed_resume_iterator() {
    vloop()
        .run(async {
            let d = Counter::new();
            let mut stream =
                tulipa::as_completed((1..=4u64).map(|i| sleep_then(ms(i * 10), i, d.clone())));
            let mut got = Vec::new();
            while let Some((_, v)) = stream.next().await {
                got.push(v);
                if got.len() == 2 {
                    break;
                }
            }
            assert_eq!(stream.len(), 2);
            while let Some((_, v)) = stream.next().await {
                got.push(v);
            }
            assert_eq!(got, [1, 2, 3, 4]);
            assert!(stream.is_empty());
        })
        .unwrap();
}

/// It is a `futures_core::Stream`: `StreamExt` combinators work on it.
#[test]
fn as_completed_is_a_stream() {
    let out = vloop().run(async {
        let d = Counter::new();
        tulipa::as_completed([
            sleep_then(ms(20), 2, d.clone()),
            sleep_then(ms(10), 1, d.clone()),
        ])
        .map(|(_, v)| v)
        .collect::<Vec<_>>()
        .await
    });
    assert_eq!(out.unwrap(), [1, 2]);
}

/// Many futures (the per-child waker path): completion order is by deadline.
#[test]
fn as_completed_many_in_deadline_order() {
    vloop()
        .run(async {
            let d = Counter::new();
            let deadlines: Vec<u64> = (0..64).map(|i| 1 + (i * 29) % 64).collect();
            let mut stream =
                tulipa::as_completed(deadlines.iter().map(|&t| sleep_then(ms(t), t, d.clone())));
            let mut got = Vec::new();
            while let Some((_, v)) = stream.next().await {
                got.push(v);
            }
            let mut sorted = deadlines.clone();
            sorted.sort_unstable();
            assert_eq!(got, sorted);
        })
        .unwrap();
}

/// An empty input ends at once; dropping the stream drops unfinished futures.
#[test]
fn as_completed_empty_ends_and_drop_cancels() {
    vloop()
        .run(async {
            let mut empty = tulipa::as_completed(Vec::<std::future::Ready<()>>::new());
            assert_eq!(empty.next().await, None);
            let d = Counter::new();
            let mut stream = tulipa::as_completed([
                sleep_then(ms(1), 1, d.clone()),
                sleep_then(ms(500), 2, d.clone()),
            ]);
            assert_eq!(stream.next().await, Some((0, 1)));
            drop(stream);
            assert_eq!(d.get(), 2);
        })
        .unwrap();
}
