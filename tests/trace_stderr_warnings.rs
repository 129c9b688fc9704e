//! With no logger installed, debug mode's warnings reach stderr (asyncio's
//! last-resort handler). The check runs this test binary again as a child
//! process, since a logger, once set, stays for the whole process.
use std::process::Command;
use std::time::Duration;

const CHILD: &str = "TULIPA_STDERR_WARNINGS_CHILD";

/// The child's half: a slow callback in debug mode, no logger. In the
/// parent's run it only checks that no logger is set.
#[test]
fn child_slow_callback_in_debug_mode_without_a_logger() {
    assert_eq!(log::max_level(), log::LevelFilter::Off);
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let lp = tulipa::EventLoop::builder()
        .debug(true)
        .slow_callback_duration(Duration::from_millis(1))
        .build()
        .unwrap();
    lp.run_until_complete(async {
        tulipa::spawn_named("sluggish", async {
            std::thread::sleep(Duration::from_millis(20)); // blocks the loop on purpose
        })
        .await
        .unwrap();
    })
    .unwrap();
}

#[test]
fn debug_warnings_reach_stderr_when_no_logger_is_set() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_slow_callback_in_debug_mode_without_a_logger",
        ])
        .args(["--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(out.status.success(), "child failed: {out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warning = stderr
        .lines()
        .find(|l| l.starts_with("tulipa: executing"))
        .unwrap_or_else(|| panic!("no warning on stderr:\n{stderr}"));
    assert!(
        warning.contains("'sluggish'") && warning.contains("seconds"),
        "{warning}"
    );
}
