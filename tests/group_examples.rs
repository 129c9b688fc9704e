//! The loop-group examples print what they promise.
#![cfg(not(loom))]
mod support;

#[test]
fn loop_group_example_spreads_consumers_and_loses_nothing() {
    let out = support::run_example("loop_group", &["3"]);
    assert!(
        out.lines().any(|l| l == "total: 20 items, sum 190"),
        "{out}"
    );
    let shares: Vec<&str> = out.lines().filter(|l| l.contains(" served ")).collect();
    assert_eq!(shares.len(), 3, "{out}");
    // Consumers were placed on every loop, and each loop printed its own.
    for i in 0..3 {
        assert!(
            out.contains(&format!("loop {i}: consumer")),
            "loop {i} served nothing: {out}"
        );
    }
}

#[test]
fn echo_server_with_loops_serves_each_client_on_a_loop_of_the_group() {
    let out = support::run_example("echo_server", &["--loops", "2"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].ends_with("with 2 loops"), "{out}");
    for i in 0..2 {
        assert!(
            lines.contains(&format!("Reply: Got: client {i}").as_str()),
            "{out}"
        );
    }
    let on_loop = lines
        .iter()
        .filter(|l| l.starts_with("Connection from") && l.contains(" on loop "))
        .count();
    assert_eq!(on_loop, 2, "{out}");
    assert_eq!(
        lines.iter().filter(|l| **l == "Connection closed").count(),
        2,
        "{out}"
    );
}

#[test]
fn echo_server_rejects_a_bad_flag() {
    let out = std::process::Command::new(support::example_path("echo_server"))
        .args(["--loops"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}
