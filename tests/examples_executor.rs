//! `examples/executor.rs` shows the loop ticking while jobs block.
#![cfg(not(loom))]
mod support;

#[test]
fn executor_example_counts_primes_while_the_heartbeat_ticks() {
    let out = support::run_example("executor", &[]);
    assert!(out.contains("primes below 5 000 000: 348513"), "{out}");
    for ms in [300, 600, 900] {
        assert!(
            out.contains(&format!("blocking sleep({ms} ms) done")),
            "{out}"
        );
    }
    // About 9 ticks happen during the 0.9 s of blocking sleeps; a loop
    // blocked by them would show none.
    let ticks: u32 = out
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("heartbeat: "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a heartbeat line");
    assert!(ticks >= 4, "only {ticks} heartbeats: {out}");
}
