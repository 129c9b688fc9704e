//! The batching and timeline examples do what they print.
mod support;

#[test]
fn batching_never_exceeds_ten_and_reaches_ten_in_all_three_ways() {
    let out = support::run_example("batching", &[]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    for (line, name) in lines
        .iter()
        .zip(["semaphore", "queue + 10 workers", "10-thread pool"])
    {
        assert!(line.starts_with(name), "{line}");
        assert!(line.contains("1000 calls, peak concurrency 10,"), "{line}");
    }
    // 1000 calls of 10 ms, 10 at a time, on the virtual clock: exactly 1 s.
    assert!(lines[0].contains(" 1.00 s (virtual time"), "{}", lines[0]);
    assert!(lines[1].contains(" 1.00 s (virtual time"), "{}", lines[1]);
}

#[test]
fn timeline_writes_a_trace_and_a_picture_with_every_task() {
    let dir = std::env::temp_dir().join(format!("tulipa-timeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = support::run_example("timeline", &["--svg", dir.to_str().unwrap()]);
    assert!(
        out.contains("timeline.json") && out.contains("timeline.svg"),
        "{out}"
    );
    let json = std::fs::read_to_string(dir.join("timeline.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let names: Vec<&str> = doc["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    for task in [
        "producer",
        "consumer",
        "countdown",
        "countup",
        "executor job",
    ] {
        assert!(names.contains(&task), "{task} missing");
    }
    let svg = std::fs::read_to_string(dir.join("timeline.svg")).unwrap();
    assert!(svg.contains(">loop: countdown<") && svg.contains(">loop: producer<"));
    std::fs::remove_dir_all(dir).unwrap();
}
