//! `examples/subprocess.rs` runs and prints what it promises.
#![cfg(all(unix, feature = "process"))]

mod support;

#[test]
fn subprocess_example_sorts_pipes_and_kills_on_timeout() {
    let out = support::run_example("subprocess", &[]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "sorted: apple, banana, cherry, fig (exit status: 0)",
            "pipeline seq 1000 | wc -l: 1000 (3893 bytes through tulipa)",
            "sleep 100: timed out after 100 ms, killed by signal 9 (returncode Some(-9))",
        ]
    );
}
