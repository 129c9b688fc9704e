//! The group's timeline: one file, one lane per loop, an arrow from the
//! lane that placed work to the loop that ran it and one back for the
//! result; valid Chrome trace JSON whose arrows all pair up.
#![cfg(not(loom))]

#[path = "support/group.rs"]
mod support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use support::{within, PATIENCE};
use tulipa::LoopGroup;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tulipa-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn events(trace: &Value) -> &Vec<Value> {
    trace["traceEvents"].as_array().unwrap()
}

/// tid → lane name.
fn lanes(trace: &Value) -> HashMap<u64, String> {
    events(trace)
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .map(|e| {
            (
                e["tid"].as_u64().unwrap(),
                e["args"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// (flow name, id) → (start lane, end lane).
fn arrows(trace: &Value) -> HashMap<(String, u64), (Option<String>, Option<String>)> {
    let lanes = lanes(trace);
    let mut out: HashMap<(String, u64), (Option<String>, Option<String>)> = HashMap::new();
    for e in events(trace) {
        let ph = e["ph"].as_str().unwrap();
        if ph != "s" && ph != "f" {
            continue;
        }
        let key = (
            e["name"].as_str().unwrap().to_owned(),
            e["id"].as_u64().unwrap(),
        );
        let lane = lanes[&e["tid"].as_u64().unwrap()].clone();
        let entry = out.entry(key).or_default();
        if ph == "s" {
            entry.0 = Some(lane);
        } else {
            entry.1 = Some(lane);
        }
    }
    out
}

#[test]
fn one_file_with_a_lane_per_loop_and_arrows_for_cross_loop_spawns_and_results() {
    within(PATIENCE, || {
        let dir = temp_dir("group-trace");
        let path = dir.join("group.json");
        let total = LoopGroup::builder()
            .loops(3)
            .virtual_time()
            .trace(&path)
            .run(async {
                let group = tulipa::group().unwrap();
                let mut total = 0;
                for i in 1..3 {
                    let task = group
                        .spawn_on(i, move || {
                            tulipa::spawn_named(format!("work on {i}"), async move {
                                tulipa::sleep(Duration::from_secs(i as u64)).await;
                                i
                            })
                        })
                        .unwrap();
                    total += task.await.unwrap().unwrap();
                }
                total
            })
            .unwrap();
        assert_eq!(total, 3);
        // Exactly one file: no per-loop files next to it.
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(files.len(), 1, "{files:?}");
        let trace: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let names: Vec<String> = lanes(&trace).into_values().collect();
        for lane in ["loop 0", "loop 1", "loop 2"] {
            assert!(names.iter().any(|n| n == lane), "no lane {lane}: {names:?}");
        }
        // Every loop's own slices are on its own lane.
        let lanes = lanes(&trace);
        let lane_of = |slice: &str| -> Vec<String> {
            events(&trace)
                .iter()
                .filter(|e| e["ph"] == "X" && e["name"] == slice)
                .map(|e| lanes[&e["tid"].as_u64().unwrap()].clone())
                .collect()
        };
        assert!(lane_of("work on 1").iter().all(|l| l == "loop 1"));
        assert!(lane_of("work on 2").iter().all(|l| l == "loop 2"));
        assert!(!lane_of("work on 2").is_empty());
        for lane in ["loop 0", "loop 1", "loop 2"] {
            assert!(lane_of("run_once").iter().any(|l| l == lane), "{lane} ran");
        }
        // Two spawns from loop 0, each with its result coming back; every
        // arrow has both ends.
        let arrows = arrows(&trace);
        let mut spawns: Vec<_> = arrows
            .iter()
            .filter(|((name, _), _)| name == "spawn")
            .map(|(_, ends)| ends.clone())
            .collect();
        spawns.sort();
        let ends = |from: &str, to: &str| (Some(from.to_owned()), Some(to.to_owned()));
        assert_eq!(spawns, [ends("loop 0", "loop 1"), ends("loop 0", "loop 2")]);
        let mut results: Vec<_> = arrows
            .iter()
            .filter(|((name, _), _)| name == "result")
            .map(|(_, ends)| ends.clone())
            .collect();
        results.sort();
        assert_eq!(
            results,
            [ends("loop 1", "loop 0"), ends("loop 2", "loop 0")]
        );
        // The virtual clock's two seconds show on the shared time axis.
        let max_ts = events(&trace)
            .iter()
            .filter_map(|e| e["ts"].as_f64())
            .fold(0.0, f64::max);
        assert!(max_ts >= 2e6, "last event at {max_ts} µs");
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

#[test]
fn work_placed_from_a_plain_thread_starts_its_arrow_on_that_threads_lane() {
    within(PATIENCE, || {
        let dir = temp_dir("group-trace-thread");
        let path = dir.join("group.json");
        let group = LoopGroup::builder()
            .loops(2)
            .thread_name("traced")
            .trace(&path)
            .build()
            .unwrap();
        let placer = std::thread::Builder::new()
            .name("placer".to_owned())
            .spawn({
                let group = (*group).clone();
                move || group.spawn_on(1, || async { 5 }).unwrap().wait().unwrap()
            })
            .unwrap();
        assert_eq!(placer.join().unwrap(), 5);
        assert!(group.close().is_clean());
        let trace: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let arrows = arrows(&trace);
        let spawn = arrows.iter().find(|((n, _), _)| n == "spawn").unwrap().1;
        assert_eq!(
            spawn,
            &(Some("placer".to_owned()), Some("loop 1".to_owned()))
        );
        let result = arrows.iter().find(|((n, _), _)| n == "result").unwrap().1;
        assert_eq!(
            result,
            &(Some("loop 1".to_owned()), Some("placer".to_owned()))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    });
}
