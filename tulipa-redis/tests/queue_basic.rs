//! RedisQueue in one process (several handles = several consumers) against
//! a real redis-server.

mod support;

use std::time::Duration;

use support::RedisServer;
use tulipa_redis::{cmd, PriorityQueue, QueueError, QueueOptions, RedisQueue, ShutdownMode};

const BOUND: Duration = Duration::from_secs(10);

fn fast() -> QueueOptions {
    QueueOptions::default()
        .min_idle(Duration::from_millis(200))
        .block(Duration::from_millis(50))
        .poll(Duration::from_millis(5))
}

async fn queue(url: &str, stream: &str, consumer: &str, opts: QueueOptions) -> RedisQueue<String> {
    RedisQueue::connect_with(url, stream, "g", consumer, opts)
        .await
        .unwrap()
}

#[test]
fn queue_put_get_task_done_join_resp2_and_resp3() {
    let server = RedisServer::start();
    for proto in ["2", "3"] {
        let url = format!("{}?protocol={proto}", server.url());
        tulipa::run(async move {
            let stream = format!("jobs{proto}");
            let q = queue(&url, &stream, "c1", fast()).await;
            for i in 0..5 {
                q.put(format!("item{i}")).await.unwrap();
            }
            assert_eq!(q.len().await.unwrap(), 5);
            for i in 0..5 {
                let d = q.get().await.unwrap();
                assert_eq!(d.item(), &format!("item{i}"));
                assert_eq!(d.deliveries(), 1);
                assert_eq!(q.unfinished().await.unwrap(), 1);
                assert!(d.task_done().await.unwrap());
            }
            assert_eq!(q.len().await.unwrap(), 0);
            q.join().await.unwrap();
            // Acked entries are deleted: the stream does not grow.
            let xlen = q.client().query(cmd("XLEN").arg(&stream)).await.unwrap();
            assert_eq!(xlen.as_int(), Some(0));
        })
        .unwrap();
    }
}

#[test]
fn queue_try_put_full_with_maxsize_and_try_get_empty() {
    let server = RedisServer::start();
    let url = server.url();
    tulipa::run(async move {
        let q = queue(&url, "bounded", "c1", fast().maxsize(2)).await;
        assert_eq!(q.try_get().await.unwrap_err(), QueueError::Empty);
        q.try_put("a".to_string()).await.unwrap();
        q.try_put("b".to_string()).await.unwrap();
        assert_eq!(q.try_put("c".to_string()).await, Err(QueueError::Full));
        // A delivered item no longer counts against maxsize (asyncio's qsize).
        let d = q.try_get().await.unwrap();
        assert_eq!(d.item(), "a");
        q.try_put("c".to_string()).await.unwrap();
        // A blocked put proceeds once a get makes room.
        let q = std::rc::Rc::new(q);
        let q2 = q.clone();
        let putter = tulipa::spawn(async move { q2.put("d".to_string()).await });
        tulipa::sleep(Duration::from_millis(30)).await;
        assert!(!putter.is_done());
        let b = q.get().await.unwrap();
        tulipa::wait_for(putter, BOUND)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        for d in [d, b] {
            d.task_done().await.unwrap();
        }
        for want in ["c", "d"] {
            let d = q.get().await.unwrap();
            assert_eq!(d.item(), want);
            d.task_done().await.unwrap();
        }
        q.join().await.unwrap();
    })
    .unwrap();
}

#[test]
fn queue_dropped_delivery_redelivered_after_min_idle() {
    let server = RedisServer::start();
    let url = server.url();
    tulipa::run(async move {
        let a = queue(&url, "redeliver", "a", fast()).await;
        let b = queue(&url, "redeliver", "b", fast()).await;
        a.put("x".to_string()).await.unwrap();
        let first = a.get().await.unwrap();
        let id = first.id().to_string();
        drop(first); // no task_done: stays pending with `a`
        assert_eq!(b.try_get().await.unwrap_err(), QueueError::Empty);
        let started = std::time::Instant::now();
        let again = tulipa::wait_for(b.get(), BOUND).await.unwrap().unwrap();
        assert!(started.elapsed() >= Duration::from_millis(150));
        assert_eq!(again.id(), id);
        assert_eq!(again.item(), "x");
        assert_eq!(again.deliveries(), 2);
        assert!(again.task_done().await.unwrap());
        b.join().await.unwrap();
    })
    .unwrap();
}

#[test]
fn queue_late_task_done_after_redelivery_reports_already_acked() {
    let server = RedisServer::start();
    let url = server.url();
    tulipa::run(async move {
        let a = queue(&url, "late", "a", fast()).await;
        let b = queue(&url, "late", "b", fast()).await;
        a.put("x".to_string()).await.unwrap();
        let slow = a.get().await.unwrap();
        let again = tulipa::wait_for(b.get(), BOUND).await.unwrap().unwrap();
        assert!(again.task_done().await.unwrap());
        assert!(!slow.task_done().await.unwrap());
    })
    .unwrap();
}

#[test]
fn queue_dead_letter_after_max_deliveries_with_history() {
    let server = RedisServer::start();
    let url = server.url();
    tulipa::run(async move {
        let opts = fast().max_deliveries(2);
        let a = queue(&url, "dlq", "a", opts.clone()).await;
        let b = queue(&url, "dlq", "b", opts).await;
        a.put("poison".to_string()).await.unwrap();
        a.put("fine".to_string()).await.unwrap();
        let d1 = a.get().await.unwrap();
        assert_eq!(d1.item(), "poison");
        let id = d1.id().to_string();
        drop(d1);
        let fine = a.get().await.unwrap();
        fine.task_done().await.unwrap();
        let d2 = tulipa::wait_for(b.get(), BOUND).await.unwrap().unwrap();
        assert_eq!((d2.id(), d2.deliveries()), (id.as_str(), 2));
        drop(d2);
        // Delivered twice and idle again: it goes to the dead-letter stream.
        let dead = tulipa::wait_for(
            async {
                loop {
                    assert_eq!(a.try_get().await.unwrap_err(), QueueError::Empty);
                    let dead = a.dead_letters(10).await.unwrap();
                    if !dead.is_empty() {
                        return dead;
                    }
                    tulipa::sleep(Duration::from_millis(20)).await;
                }
            },
            BOUND,
        )
        .await
        .unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].id, id);
        assert_eq!(dead[0].deliveries, 2);
        assert_eq!(dead[0].payload, b"poison");
        assert!(dead[0].history.starts_with("a "), "{}", dead[0].history);
        assert!(dead[0].history.contains(", b "), "{}", dead[0].history);
        a.join().await.unwrap();
    })
    .unwrap();
}

#[test]
fn queue_prefetch_fills_buffer_in_one_round_trip() {
    let server = RedisServer::start();
    let url = server.url();
    tulipa::run(async move {
        let q = queue(&url, "prefetch", "c", fast().prefetch(10)).await;
        let other = queue(&url, "prefetch", "o", fast()).await;
        for i in 0..25 {
            q.put(i.to_string()).await.unwrap();
        }
        let d = q.get().await.unwrap();
        assert_eq!(d.item(), "0");
        // Ten were read at once: pending on the server, nine left locally.
        let pending = q
            .client()
            .query(cmd("XPENDING").arg("prefetch").arg("g"))
            .await
            .unwrap();
        assert_eq!(pending.into_array().unwrap()[0].as_int(), Some(10));
        assert_eq!(q.len().await.unwrap(), 24);
        let o = other.get().await.unwrap();
        assert_eq!(o.item(), "10");
        o.task_done().await.unwrap();
        d.task_done().await.unwrap();
        for want in (1..10).chain(11..25) {
            let d = q.get().await.unwrap();
            assert_eq!(d.item(), &want.to_string());
            d.task_done().await.unwrap();
        }
        q.join().await.unwrap();
    })
    .unwrap();
}

#[test]
fn queue_join_waits_for_last_task_done() {
    let server = RedisServer::start();
    let url = server.url();
    tulipa::run(async move {
        let q = queue(&url, "join", "c", fast()).await;
        let worker = queue(&url, "join", "w", fast()).await;
        for i in 0..3 {
            q.put(i.to_string()).await.unwrap();
        }
        let joined = std::rc::Rc::new(std::cell::Cell::new(false));
        let flag = joined.clone();
        let joiner = tulipa::spawn(async move {
            q.join().await.unwrap();
            flag.set(true);
        });
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(worker.get().await.unwrap());
        }
        for d in held {
            tulipa::sleep(Duration::from_millis(30)).await;
            assert!(!joined.get(), "join returned before the last task_done");
            d.task_done().await.unwrap();
        }
        tulipa::wait_for(joiner, BOUND).await.unwrap().unwrap();
        assert!(joined.get());
    })
    .unwrap();
}

#[test]
fn queue_shutdown_graceful_drains_then_fails_everywhere() {
    let server = RedisServer::start();
    let url = server.url();
    tulipa::run(async move {
        let a = queue(&url, "sd", "a", fast()).await;
        let b = queue(&url, "sd", "b", fast()).await;
        for i in 0..3 {
            a.put(i.to_string()).await.unwrap();
        }
        // A get blocked in another handle sees the shutdown within `block`.
        let idle = queue(&url, "sd-idle", "i", fast()).await;
        let idle2 = queue(&url, "sd-idle", "j", fast()).await;
        let blocked = tulipa::spawn(async move { idle.get().await.map(|_| ()) });
        tulipa::sleep(Duration::from_millis(20)).await;
        idle2.shutdown(false).await.unwrap();
        assert_eq!(
            tulipa::wait_for(blocked, BOUND).await.unwrap().unwrap(),
            Err(QueueError::ShutDown)
        );

        assert_eq!(b.shutdown(false).await.unwrap(), 0);
        assert_eq!(b.shutdown_mode(), Some(ShutdownMode::Graceful));
        assert_eq!(a.put("late".to_string()).await, Err(QueueError::ShutDown));
        for i in 0..3 {
            let d = a.get().await.unwrap();
            assert_eq!(d.item(), &i.to_string());
            d.task_done().await.unwrap();
        }
        assert_eq!(a.get().await.unwrap_err(), QueueError::ShutDown);
        assert_eq!(b.get().await.unwrap_err(), QueueError::ShutDown);
        a.join().await.unwrap();
    })
    .unwrap();
}

#[test]
fn queue_shutdown_immediate_drops_undelivered_and_join_returns() {
    let server = RedisServer::start();
    let url = server.url();
    tulipa::run(async move {
        let a = queue(&url, "sdi", "a", fast().prefetch(2)).await;
        let b = queue(&url, "sdi", "b", fast()).await;
        for i in 0..6 {
            a.put(i.to_string()).await.unwrap();
        }
        let held = a.get().await.unwrap(); // "0" handed out, "1" buffered in a
        let held_b = b.get().await.unwrap(); // "2"
        assert_eq!(b.shutdown(true).await.unwrap(), 3); // 3, 4, 5 dropped
        assert_eq!(b.get().await.unwrap_err(), QueueError::ShutDown);
        // `a` learns of it at its next round trip (this ack)...
        held.task_done().await.unwrap();
        assert_eq!(a.shutdown_mode(), Some(ShutdownMode::Immediate));
        // ...and drops its buffered "1" instead of handing it out.
        assert_eq!(a.get().await.unwrap_err(), QueueError::ShutDown);
        held_b.task_done().await.unwrap();
        tulipa::wait_for(a.join(), BOUND).await.unwrap().unwrap();
        assert_eq!(a.len().await.unwrap(), 0);
        // Shutting down again, either way, changes nothing.
        assert_eq!(b.shutdown(true).await.unwrap(), 0);
        assert_eq!(b.shutdown(false).await.unwrap(), 0);
        assert_eq!(b.shutdown_mode(), Some(ShutdownMode::Immediate));
        a.join().await.unwrap();
    })
    .unwrap();
}

#[test]
fn queue_destroy_resets_a_shut_down_queue() {
    let server = RedisServer::start();
    let url = server.url();
    tulipa::run(async move {
        let a = queue(&url, "reset", "a", fast()).await;
        a.shutdown(false).await.unwrap();
        a.destroy().await.unwrap();
        let a = queue(&url, "reset", "a", fast()).await;
        a.put("again".to_string()).await.unwrap();
        assert_eq!(a.get().await.unwrap().item(), "again");
    })
    .unwrap();
}

#[test]
fn queue_priority_levels_lowest_first() {
    let server = RedisServer::start();
    let url = server.url();
    tulipa::run(async move {
        let q = PriorityQueue::<String>::connect_with(&url, "prio", 3, "g", "c", fast())
            .await
            .unwrap();
        q.put(2, "low".to_string()).await.unwrap();
        q.put(1, "mid".to_string()).await.unwrap();
        q.put(9, "beyond-last-level".to_string()).await.unwrap();
        q.put(0, "urgent".to_string()).await.unwrap();
        let mut got = Vec::new();
        for _ in 0..4 {
            let d = q.get().await.unwrap();
            got.push((d.priority(), d.item().clone()));
            d.task_done().await.unwrap();
        }
        assert_eq!(
            got,
            [
                (0, "urgent".to_string()),
                (1, "mid".to_string()),
                (2, "low".to_string()),
                (2, "beyond-last-level".to_string())
            ]
        );
        q.queue().join().await.unwrap();
    })
    .unwrap();
}

#[test]
fn queue_bytes_items_and_undecodable_entry_is_codec_error() {
    let server = RedisServer::start();
    let url = server.url();
    tulipa::run(async move {
        let raw = RedisQueue::<Vec<u8>>::connect_with(&url, "bytes", "g", "c", fast())
            .await
            .unwrap();
        raw.put(vec![0xff, 0x00]).await.unwrap();
        let d = raw.get().await.unwrap();
        assert_eq!(d.item(), &vec![0xff, 0x00]);
        d.task_done().await.unwrap();
        raw.put(vec![0xff]).await.unwrap();
        let text = queue(&url, "bytes", "t", fast()).await;
        let err = text.get().await.unwrap_err();
        assert!(matches!(err, QueueError::Codec { .. }), "{err:?}");
    })
    .unwrap();
}

#[cfg(feature = "serde")]
#[test]
fn queue_serde_json_items() {
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Job {
        id: u32,
        name: String,
    }
    let server = RedisServer::start();
    let url = server.url();
    tulipa::run(async move {
        use tulipa_redis::Json;
        let q = RedisQueue::<Json<Job>>::connect_with(&url, "json", "g", "c", fast())
            .await
            .unwrap();
        q.put(Json(Job {
            id: 7,
            name: "seven".into(),
        }))
        .await
        .unwrap();
        let d = q.get().await.unwrap();
        assert_eq!(
            d.item().0,
            Job {
                id: 7,
                name: "seven".into()
            }
        );
        d.task_done().await.unwrap();
    })
    .unwrap();
}

#[test]
fn queue_handle_dropped_with_prefetched_items_all_reclaimed_by_another() {
    let server = RedisServer::start();
    let url = server.url();
    tulipa::run(async move {
        let a = queue(&url, "abandon", "a", fast().prefetch(20)).await;
        for i in 0..20 {
            a.put(i.to_string()).await.unwrap();
        }
        let first = a.get().await.unwrap();
        assert_eq!(a.buffered(), 19);
        drop(first);
        drop(a); // like a crash: 20 entries pending with `a`, none acked
        let b = queue(&url, "abandon", "b", fast()).await; // prefetch 1
        let mut got = Vec::new();
        tulipa::wait_for(
            async {
                while got.len() < 20 {
                    let d = b.get().await.unwrap();
                    assert_eq!(d.deliveries(), 2);
                    got.push(d.item().parse::<u32>().unwrap());
                    d.task_done().await.unwrap();
                }
            },
            Duration::from_secs(20),
        )
        .await
        .unwrap();
        got.sort();
        assert_eq!(got, (0..20).collect::<Vec<_>>());
        b.join().await.unwrap();
    })
    .unwrap();
}

#[test]
fn queue_cancelled_get_keeps_what_its_read_brings() {
    let server = RedisServer::start();
    let url = server.url();
    tulipa::run(async move {
        // min_idle MAX: an entry stranded in the pending list would never
        // come back, so the last get below would time out.
        let opts = fast()
            .min_idle(Duration::MAX)
            .block(Duration::from_millis(300));
        let q = queue(&url, "cancel", "c", opts.clone()).await;
        let p = queue(&url, "cancel", "p", opts).await;
        // The get is cancelled while its XREADGROUP BLOCK is on the server...
        assert!(tulipa::wait_for(q.get(), Duration::from_millis(30))
            .await
            .is_err());
        // ...and the item put now is delivered to that read.
        p.put("x".to_string()).await.unwrap();
        let d = tulipa::wait_for(q.get(), BOUND).await.unwrap().unwrap();
        assert_eq!(d.item(), "x");
        assert_eq!(d.deliveries(), 1);
        d.task_done().await.unwrap();
        q.join().await.unwrap();
    })
    .unwrap();
}

#[test]
fn queue_duration_max_everywhere_is_valid() {
    let server = RedisServer::start();
    let url = server.url();
    tulipa::run(async move {
        let client = tulipa_redis::ClientOptions::default()
            .connect_timeout(Duration::MAX)
            .command_timeout(Duration::MAX)
            .reconnect_for(Duration::MAX);
        let opts = QueueOptions::default()
            .block(Duration::MAX)
            .min_idle(Duration::MAX)
            .retry_for(Duration::MAX)
            .client(client);
        let q = queue(&url, "forever", "c", opts.clone()).await;
        let p = queue(&url, "forever", "p", opts).await;
        let q = std::rc::Rc::new(q);
        let getter = {
            let q = q.clone();
            tulipa::spawn(async move { q.get().await.map(|d| d.item().clone()) })
        };
        tulipa::sleep(Duration::from_millis(30)).await;
        p.put("x".to_string()).await.unwrap();
        let got = tulipa::wait_for(getter, BOUND).await.unwrap().unwrap();
        assert_eq!(got.unwrap(), "x");
    })
    .unwrap();
}

#[test]
fn queue_shutdown_graceful_still_reclaims_items_of_a_dead_consumer() {
    let server = RedisServer::start();
    let url = server.url();
    tulipa::run(async move {
        let a = queue(&url, "sd-dead", "a", fast()).await;
        let b = queue(&url, "sd-dead", "b", fast()).await;
        a.put("held".to_string()).await.unwrap();
        let d = a.get().await.unwrap();
        drop(d);
        drop(a); // died holding "held"
        b.shutdown(false).await.unwrap();
        // Not ShutDown yet: "held" is pending with a dead consumer.
        assert_eq!(b.try_get().await.unwrap_err(), QueueError::Empty);
        let again = tulipa::wait_for(b.get(), BOUND).await.unwrap().unwrap();
        assert_eq!((again.item().as_str(), again.deliveries()), ("held", 2));
        // Its own unacked delivery does not keep this handle's get waiting.
        assert_eq!(
            tulipa::wait_for(b.get(), BOUND).await.unwrap().unwrap_err(),
            QueueError::ShutDown
        );
        again.task_done().await.unwrap();
        assert_eq!(b.get().await.unwrap_err(), QueueError::ShutDown);
        b.join().await.unwrap();
    })
    .unwrap();
}
