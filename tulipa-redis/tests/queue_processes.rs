//! RedisQueue across processes: consumer processes (the `distributed`
//! example) sharing one stream, one killed with SIGKILL mid-stream.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use support::{eventually, example_bin, Proc, RedisServer, TempDir};
use tulipa_redis::{cmd, QueueOptions, RedisQueue};

fn opts() -> QueueOptions {
    QueueOptions::default()
        .min_idle(Duration::from_millis(200))
        .block(Duration::from_millis(50))
        .poll(Duration::from_millis(5))
}

/// (consumer, verb, item, delivery) from the example's output lines.
fn events(procs: &[&Proc]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for p in procs {
        for line in p.lines() {
            let w: Vec<&str> = line.split_whitespace().collect();
            if w.len() >= 3 {
                out.push((w[0].to_string(), w[1].to_string(), w[2].to_string()));
            }
        }
    }
    out
}

#[test]
fn processes_every_item_acked_exactly_once_with_one_consumer_killed_by_sigkill() {
    let server = RedisServer::start();
    let url = server.url();
    let bin = example_bin();
    let n = 300;
    {
        let url = url.clone();
        tulipa::run(async move {
            let q = RedisQueue::<String>::connect_with(&url, "jobs", "workers", "test", opts())
                .await
                .unwrap();
            for i in 0..n {
                q.put(format!("item-{i}")).await.unwrap();
            }
        })
        .unwrap()
    };
    let common = [
        "--url",
        &url,
        "--stream",
        "jobs",
        "--min-idle-ms",
        "200",
        "--prefetch",
        "4",
    ];
    let mut victim = Proc::spawn(
        &bin,
        &[
            &[
                "--role",
                "consumer",
                "--name",
                "victim",
                "--hold-after",
                "5",
                "--work-ms",
                "2",
            ][..],
            &common[..],
        ]
        .concat(),
    );
    let mut others: Vec<Proc> = (1..=3)
        .map(|i| {
            let name = format!("c{i}");
            Proc::spawn(
                &bin,
                &[
                    &["--role", "consumer", "--name", &name, "--work-ms", "2"][..],
                    &common[..],
                ]
                .concat(),
            )
        })
        .collect();
    eventually(
        "the victim to hold an item",
        Duration::from_secs(30),
        || victim.has_line(|l| l.starts_with("victim holding")),
    );
    let held = victim
        .lines()
        .into_iter()
        .find(|l| l.starts_with("victim holding"))
        .unwrap()
        .split_whitespace()
        .nth(2)
        .unwrap()
        .to_string();
    // SIGKILL: no chance to ack, release or say goodbye.
    victim.child.kill().unwrap();
    victim.child.wait().unwrap();

    tulipa::run({
        let url = url.clone();
        async move {
            let q = RedisQueue::<String>::connect_with(&url, "jobs", "workers", "test", opts())
                .await
                .unwrap();
            tulipa::wait_for(q.join(), Duration::from_secs(60))
                .await
                .expect("join within 60 s")
                .unwrap();
            q.shutdown(false).await.unwrap();
            let xlen = q.client().query(cmd("XLEN").arg("jobs")).await.unwrap();
            assert_eq!(xlen.as_int(), Some(0), "acked entries are deleted");
        }
    })
    .unwrap();
    for p in &mut others {
        assert!(
            p.wait(Duration::from_secs(30)),
            "consumer exited with an error"
        );
    }

    let mut procs: Vec<&Proc> = others.iter().collect();
    procs.push(&victim);
    let evs = events(&procs);
    let mut acks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (who, verb, item) in &evs {
        if verb == "acked" {
            acks.entry(item.clone()).or_default().push(who.clone());
        }
    }
    for i in 0..n {
        let item = format!("item-{i}");
        let by = acks
            .get(&item)
            .unwrap_or_else(|| panic!("{item} never acked"));
        assert_eq!(by.len(), 1, "{item} acked by {by:?}");
    }
    assert_eq!(acks.len(), n);
    // The item the victim died holding was delivered again, to a survivor.
    let by = &acks[&held];
    assert_ne!(by[0], "victim");
    let redelivered = evs
        .iter()
        .any(|(who, verb, item)| who != "victim" && verb == "got" && *item == held);
    assert!(redelivered);
    for p in &others {
        assert!(p.has_line(|l| l.ends_with(" done")));
    }
}

#[test]
fn processes_join_waits_for_the_last_task_done_in_another_process() {
    let server = RedisServer::start();
    let url = server.url();
    let bin = example_bin();
    let dir = TempDir::new("ackfile");
    let ack_file = dir.0.join("go");
    let ack = ack_file.display().to_string();
    let mut consumer = Proc::spawn(
        &bin,
        &[
            "--role",
            "consumer",
            "--name",
            "w",
            "--url",
            &url,
            "--stream",
            "j",
            "--ack-file",
            &ack,
        ],
    );
    tulipa::run(async move {
        let q = RedisQueue::<String>::connect_with(&url, "j", "workers", "test", opts())
            .await
            .unwrap();
        q.put("only".to_string()).await.unwrap();
        let q = std::rc::Rc::new(q);
        let joiner = {
            let q = q.clone();
            tulipa::spawn(async move { q.join().await })
        };
        // The consumer holds the item until the file appears.
        tulipa::wait_for(
            async {
                while q.unfinished().await.unwrap() == 0 {
                    tulipa::sleep(Duration::from_millis(5)).await;
                }
            },
            Duration::from_secs(20),
        )
        .await
        .unwrap();
        tulipa::sleep(Duration::from_millis(200)).await;
        assert!(
            !joiner.is_done(),
            "join returned while an item was unfinished"
        );
        std::fs::write(&ack_file, b"").unwrap();
        tulipa::wait_for(joiner, Duration::from_secs(20))
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        q.shutdown(false).await.unwrap();
    })
    .unwrap();
    assert!(consumer.wait(Duration::from_secs(20)));
    assert!(consumer.has_line(|l| l == "w acked only"));
}

#[test]
fn processes_distributed_example_default_mode_exits_zero() {
    let bin = example_bin();
    let mut demo = Proc::spawn(&bin, &[]);
    assert!(demo.wait(Duration::from_secs(60)), "the demo failed");
    let lines = demo.lines();
    assert!(
        lines
            .iter()
            .any(|l| l == "all 30 items consumed and acked exactly once"),
        "{lines:?}"
    );
    let consumers = lines.iter().filter(|l| l.starts_with("consumer-")).count();
    assert!((1..=3).contains(&consumers), "{lines:?}");
}
