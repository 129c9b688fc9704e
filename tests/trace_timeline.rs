//! The timeline trace: valid Chrome trace JSON whose slices nest, named
//! after the tasks, even when a task panics; bounded by its ring buffer.
mod support;

use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("tulipa-{}-{name}", std::process::id()))
}

fn scenario(json: &PathBuf, svg: Option<&PathBuf>, capacity: usize) {
    let mut builder = tulipa::EventLoop::builder()
        .virtual_time()
        .trace(json)
        .trace_capacity(capacity);
    if let Some(svg) = svg {
        builder = builder.trace_svg(svg);
    }
    let lp = builder.build().unwrap();
    lp.set_exception_handler(Some(|_: &tulipa::ExceptionContext| {}));
    let handle = lp.handle();
    lp.run(async move {
        let ticker = tulipa::spawn_named("ticker", async {
            for _ in 0..3 {
                tulipa::sleep(Duration::from_secs(1)).await;
            }
        });
        let doomed = tulipa::spawn_named("doomed", async {
            tulipa::sleep(Duration::from_millis(1500)).await;
            panic!("in the middle of a trace");
        });
        std::thread::spawn(move || handle.call_soon_threadsafe(|| {}).unwrap())
            .join()
            .unwrap();
        ticker.await.unwrap();
        assert!(doomed.await.unwrap_err().is_panic());
    })
    .unwrap();
}

fn events(json: &PathBuf) -> (Value, Vec<Value>) {
    let text = std::fs::read_to_string(json).unwrap();
    let doc: Value = serde_json::from_str(&text).expect("the trace is valid JSON");
    let events = doc["traceEvents"].as_array().unwrap().clone();
    (doc, events)
}

#[test]
fn trace_is_valid_json_with_nested_named_slices_despite_a_panic() {
    let json = temp_path("trace.json");
    let svg = temp_path("trace.svg");
    let wall = std::time::Instant::now();
    scenario(&json, Some(&svg), 100_000);
    let wall = wall.elapsed().as_secs_f64() * 1e6;
    let (doc, events) = events(&json);
    assert_eq!(doc["otherData"]["dropped_events"], 0);
    for e in &events {
        let ph = e["ph"].as_str().unwrap();
        assert!(
            ["X", "i", "M"].contains(&ph),
            "only complete, instant and metadata events: {e}"
        );
        if ph == "X" {
            assert!(e["dur"].as_f64().unwrap() >= 0.0);
        }
    }
    let slices = |cat: &str| -> Vec<(f64, f64, String)> {
        events
            .iter()
            .filter(|e| e["ph"] == "X" && e["cat"] == cat)
            .map(|e| {
                let ts = e["ts"].as_f64().unwrap();
                (
                    ts,
                    ts + e["dur"].as_f64().unwrap(),
                    e["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let iterations = slices("iteration");
    let runs = slices("run");
    assert!(!iterations.is_empty() && !runs.is_empty());
    // Every callback / poll slice lies inside one iteration slice (1 µs slack
    // for the timestamps' rounding).
    for (start, end, name) in &runs {
        assert!(
            iterations
                .iter()
                .any(|(s, e, _)| *s <= start + 1.0 && *end <= e + 1.0),
            "{name} [{start}, {end}] is outside every iteration"
        );
    }
    let names: Vec<&str> = runs.iter().map(|(_, _, n)| n.as_str()).collect();
    assert!(names.contains(&"ticker"));
    assert!(
        names.contains(&"doomed"),
        "the panicking poll is recorded too"
    );
    assert!(names.contains(&"main"));
    assert!(names.contains(&"threadsafe callback"));
    let instants: Vec<&str> = events
        .iter()
        .filter(|e| e["ph"] == "i")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(instants.contains(&"timer fired"));
    assert!(instants.iter().any(|n| n.starts_with("wake-up: 1 posts")));
    // The virtual clock's 3 s show on the timeline, plus the real time the
    // loop spent working (never more than the scenario's wall time).
    let span = iterations.last().unwrap().1 - iterations[0].0;
    assert!(
        span >= 3.0e6 && span <= 3.0e6 + wall,
        "{span} vs wall {wall}"
    );
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.starts_with("<svg"));
    assert!(picture.contains(">loop: ticker<") && picture.contains(">loop: doomed<"));
    let _ = std::fs::remove_file(json);
    let _ = std::fs::remove_file(svg);
}

#[test]
fn a_small_ring_buffer_drops_the_oldest_events_and_stays_valid() {
    let json = temp_path("small.json");
    scenario(&json, None, 10);
    let (doc, events) = events(&json);
    let recorded = events.iter().filter(|e| e["ph"] != "M").count();
    assert_eq!(recorded, 10);
    assert!(doc["otherData"]["dropped_events"].as_u64().unwrap() > 0);
    let _ = std::fs::remove_file(json);
}

#[test]
fn executor_jobs_get_a_lane_per_worker_thread() {
    let json = temp_path("executor.json");
    let lp = tulipa::EventLoop::builder().trace(&json).build().unwrap();
    let pool = tulipa::ThreadPoolExecutor::builder()
        .max_workers(2)
        .thread_name_prefix("traced-worker")
        .build();
    lp.set_default_executor(pool);
    lp.run(async {
        let a = tulipa::run_in_executor(|| std::thread::sleep(Duration::from_millis(20)));
        let b = tulipa::run_in_executor(|| std::thread::sleep(Duration::from_millis(20)));
        a.await.unwrap();
        b.await.unwrap();
    })
    .unwrap();
    let (_, events) = events(&json);
    let lanes: Vec<(u64, String)> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .map(|e| {
            (
                e["tid"].as_u64().unwrap(),
                e["args"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(lanes[0].1, "loop");
    let worker_lanes: Vec<u64> = lanes
        .iter()
        .filter(|(_, n)| n.starts_with("traced-worker"))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(worker_lanes.len(), 2, "{lanes:?}");
    let jobs: Vec<&Value> = events
        .iter()
        .filter(|e| e["name"] == "executor job")
        .collect();
    assert_eq!(jobs.len(), 2);
    for job in jobs {
        assert!(worker_lanes.contains(&job["tid"].as_u64().unwrap()));
        assert!(job["dur"].as_f64().unwrap() >= 20_000.0);
    }
    let _ = std::fs::remove_file(json);
}
