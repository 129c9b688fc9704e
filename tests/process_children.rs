//! `tulipa::process`: children, their pipes and their exits (asyncio's
//! test_subprocess cases: `test_stdin_stdout`, `test_communicate`,
//! `test_shell`, `test_kill`, `test_terminate`, `test_send_signal`,
//! `test_stdin_broken_pipe`, `test_communicate_ignore_broken_pipe`,
//! `test_pause_reading`, ...).
//!
//! The whole file runs twice: once as it is (pidfds on Linux), and once in a
//! child process with `TULIPA_PROCESS_REAPER=sigchld` (the SIGCHLD path).
#![cfg(all(unix, feature = "process"))]

mod support;

use std::io::ErrorKind;
use std::os::unix::process::ExitStatusExt;
use std::sync::{RwLock, RwLockReadGuard};
use std::time::Duration;

use tulipa::process::{create_subprocess_exec, create_subprocess_shell, Command, Stdio};
use tulipa::EventLoop;

use support::run_within;

/// Generous: only a hang gets near it.
const WATCHDOG: Duration = Duration::from_secs(60);

/// The fd-count test takes it for writing: no other test may open fds then.
static FDS: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    FDS.read().unwrap_or_else(|e| e.into_inner())
}

/// Whether `pid` is a zombie (exited, not reaped) right now.
fn is_zombie(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // "pid (comm) S ...": the state follows the last ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn gone(pid: u32) -> bool {
    !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 4096) as u8).collect()
}

#[test]
fn every_test_again_with_the_sigchld_reaper() {
    if std::env::var_os("TULIPA_PROCESS_REAPER").is_some() {
        return;
    }
    // Its pipes to the child run are fds of this process.
    let _fds = shared();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--skip", "every_test_again_with_the_sigchld_reaper"])
        .env("TULIPA_PROCESS_REAPER", "sigchld")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "SIGCHLD run failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("test result: ok"), "{stdout}");
}

#[test]
fn two_hundred_concurrent_children_are_all_reaped() {
    let _fds = shared();
    let pids = run_within(WATCHDOG, async {
        let mut children = Vec::new();
        for i in 0..200 {
            let child = Command::new("sh")
                .args(["-c", &format!("exit {}", i % 100)])
                .spawn()
                .unwrap();
            children.push((i, child));
        }
        let pids: Vec<u32> = children.iter().map(|(_, c)| c.pid()).collect();
        let waits = children.into_iter().map(|(i, mut child)| async move {
            let status = child.wait().await.unwrap();
            assert_eq!(status.code(), Some(i % 100));
            assert_eq!(child.returncode(), Some(i % 100));
        });
        for task in waits.map(tulipa::spawn).collect::<Vec<_>>() {
            task.await.unwrap();
        }
        pids
    });
    assert_eq!(pids.len(), 200);
    assert!(pids.iter().all(|&pid| !is_zombie(pid)), "no zombie left");
}

#[test]
fn sixty_four_mib_each_way_through_cat_with_communicate() {
    let _fds = shared();
    let input = pattern(64 << 20);
    let out = run_within(WATCHDOG, async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.communicate(Some(&input)).await.unwrap()
    });
    assert!(out.status.success());
    assert_eq!(out.stdout.len(), input.len());
    assert!(out.stdout == input, "the bytes came back in order");
    assert!(out.stderr.is_empty());
}

#[test]
fn communicate_reads_stderr_while_feeding_stdin_without_deadlock() {
    let _fds = shared();
    // The child fills stderr (far past a pipe's 64 KiB) before reading stdin.
    let input = pattern(4 << 20);
    let out = run_within(WATCHDOG, async {
        let mut child = Command::new("sh")
            .args(["-c", "head -c 3000000 /dev/zero >&2; wc -c"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.communicate(Some(&input)).await.unwrap()
    });
    assert!(out.status.success());
    assert_eq!(out.stderr.len(), 3_000_000);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "4194304");
}

#[test]
fn communicate_ignores_a_child_that_stops_reading_stdin() {
    let _fds = shared();
    let input = pattern(1 << 20);
    let out = run_within(WATCHDOG, async {
        let mut child = Command::new("sh")
            .args(["-c", "exec 0<&-; echo closed"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.communicate(Some(&input)).await.unwrap()
    });
    assert!(out.status.success());
    assert_eq!(out.stdout, b"closed\n");
}

#[test]
fn a_child_killed_by_a_signal_reports_it() {
    let _fds = shared();
    run_within(WATCHDOG, async {
        for (how, sig) in [("kill", 9), ("terminate", 15), ("send_signal", 10)] {
            let mut child = Command::new("sleep").arg("100").spawn().unwrap();
            assert_eq!(child.returncode(), None);
            assert!(child.try_wait().unwrap().is_none(), "still running");
            match how {
                "kill" => child.kill().unwrap(),
                "terminate" => child.terminate().unwrap(),
                _ => child.send_signal(tulipa::signal::SIGUSR1).unwrap(),
            }
            let status = child.wait().await.unwrap();
            assert_eq!(status.signal(), Some(sig), "{how}");
            assert_eq!(status.code(), None);
            assert_eq!(child.returncode(), Some(-sig));
            // Reaped: signalling again sends nothing and is not an error.
            child.kill().unwrap();
            assert_eq!(child.try_wait().unwrap(), Some(status));
        }
    });
}

#[test]
fn an_invalid_signal_number_is_invalid_input() {
    let _fds = shared();
    run_within(WATCHDOG, async {
        let mut child = Command::new("sleep").arg("100").spawn().unwrap();
        let err = child.send_signal(1000).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        child.kill().unwrap();
        child.wait().await.unwrap();
    });
}

#[test]
fn closing_stdin_gives_the_child_eof() {
    let _fds = shared();
    run_within(WATCHDOG, async {
        let mut child = Command::new("wc")
            .arg("-c")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        stdin.write(b"twelve bytes");
        stdin.drain().await.unwrap();
        stdin.close();
        stdin.wait_closed().await.unwrap();
        let out = child.stdout.as_mut().unwrap().read_to_end().await.unwrap();
        assert_eq!(String::from_utf8_lossy(&out).trim(), "12");
        assert!(child.wait().await.unwrap().success());
        // The writer kept after close refuses more.
        assert!(stdin.drain().await.is_err());
    });
}

#[test]
fn wait_closes_stdin_first() {
    let _fds = shared();
    run_within(WATCHDOG, async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        // cat only exits at EOF: wait would hang if it left stdin open.
        assert!(child.wait().await.unwrap().success());
        assert!(child.stdin.is_none());
    });
}

#[test]
fn a_dropped_child_is_reaped_in_the_background() {
    let _fds = shared();
    let (quick, slow) = run_within(WATCHDOG, async {
        let quick = Command::new("true").spawn().unwrap().pid();
        let slow = Command::new("sleep").arg("0.2").spawn().unwrap().pid();
        // Keep the loop turning until both are gone from /proc (reaped).
        while !(gone(quick) && gone(slow)) {
            tulipa::sleep(Duration::from_millis(5)).await;
        }
        (quick, slow)
    });
    assert!(!is_zombie(quick) && !is_zombie(slow));
}

#[test]
fn a_child_outliving_its_loop_is_reaped_at_a_later_spawn() {
    let _fds = shared();
    let pid = run_within(WATCHDOG, async {
        Command::new("true").spawn().unwrap().pid()
    });
    // Its loop is closed; a later spawn on another loop reaps it.
    run_within(WATCHDOG, async {
        while !gone(pid) {
            Command::new("true").spawn().unwrap().wait().await.unwrap();
        }
    });
    assert!(!is_zombie(pid));
}

#[cfg(target_os = "linux")]
#[test]
fn the_fd_count_is_back_to_its_start_afterwards() {
    use support::fds::open_fds;
    let _exclusive = FDS.write().unwrap_or_else(|e| e.into_inner());
    let before = open_fds();
    run_within(WATCHDOG, async {
        let on_loop = open_fds();
        for _ in 0..20 {
            let mut child = Command::new("sh")
                .args(["-c", "cat; echo err >&2"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let out = child.communicate(Some(b"data")).await.unwrap();
            assert_eq!(out.stdout, b"data");
            let dropped = Command::new("true")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            drop(dropped);
        }
        let mut merged = Command::new("sh")
            .args(["-c", "echo a; echo b >&2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::stdout())
            .spawn()
            .unwrap();
        let out = merged.communicate(None).await.unwrap();
        assert_eq!(out.stdout, b"a\nb\n");
        // The dropped children are reaped (their pidfds closed) as they
        // exit; a leaked fd ends in the watchdog.
        while open_fds() > on_loop {
            tulipa::sleep(Duration::from_millis(5)).await;
        }
    });
    assert_eq!(open_fds(), before, "fds open after the loop closed");
}

#[test]
fn a_missing_program_is_a_not_found_error() {
    let _fds = shared();
    run_within(WATCHDOG, async {
        let err = create_subprocess_exec("/definitely/not/here", ["x"])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let err = Command::new("no-such-program-in-path").spawn().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let err = Command::new("/etc/passwd").spawn().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        let err = Command::new("true")
            .stdout(Stdio::stdout())
            .spawn()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let mut child = Command::new("true").spawn().unwrap();
        let err = child.communicate(Some(b"x")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "stdin not piped");
        child.wait().await.unwrap();
    });
}

#[test]
fn env_cwd_null_and_shell() {
    let _fds = shared();
    run_within(WATCHDOG, async {
        let out = Command::new("sh")
            .args(["-c", "echo \"$A-$B-${HOME:-nohome}\"; pwd; cat"])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .envs([("A", "1"), ("B", "2")])
            .current_dir("/tmp")
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap();
        assert_eq!(out.stdout, b"1-2-nohome\n/tmp\n");
        let out = Command::new("sh")
            .args(["-c", "echo \"${KEEP:-gone}\""])
            .env("KEEP", "x")
            .env_remove("KEEP")
            .output()
            .await
            .unwrap();
        assert_eq!(out.stdout, b"gone\n");
        let mut child = create_subprocess_shell("exit 42").await.unwrap();
        assert_eq!(child.wait().await.unwrap().code(), Some(42));
        let out = Command::new("sh")
            .args(["-c", "echo to-null; echo err >&2"])
            .stdout(Stdio::null())
            .output()
            .await
            .unwrap();
        assert!(out.stdout.is_empty());
        assert_eq!(out.stderr, b"err\n");
    });
}

#[test]
fn a_wait_for_timeout_then_kill() {
    let _fds = shared();
    run_within(WATCHDOG, async {
        let mut child = Command::new("sleep").arg("100").spawn().unwrap();
        let waited = tulipa::wait_for(child.wait(), Duration::from_millis(50)).await;
        assert!(waited.is_err(), "timed out");
        child.kill().unwrap();
        assert_eq!(child.wait().await.unwrap().signal(), Some(9));
    });
}

#[test]
fn the_virtual_clock_treats_a_running_child_as_an_outside_source() {
    let _fds = shared();
    let lp = EventLoop::builder().virtual_time().build().unwrap();
    let status = lp
        .run_until_complete(async {
            let mut child = Command::new("sleep").arg("0.1").spawn().unwrap();
            // Were the child ignored, virtual time would jump to the
            // timeout at once and the wait would fail.
            tulipa::wait_for(child.wait(), Duration::from_secs(30)).await
        })
        .unwrap();
    assert!(status.unwrap().unwrap().success());
    // With no child left, time jumps again.
    let start = lp.time();
    lp.run_until_complete(async {
        // Let the reaper's bookkeeping finish.
        tulipa::yield_now().await;
        tulipa::sleep(Duration::from_secs(3600)).await
    })
    .unwrap();
    assert!(lp.time() - start >= Duration::from_secs(3600));
    assert_eq!(lp.io_sources(), 0);
}

#[test]
fn a_pipeline_wired_through_the_loop() {
    let _fds = shared();
    let count = run_within(WATCHDOG, async {
        let mut producer = Command::new("seq")
            .arg("1000")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut consumer = Command::new("wc")
            .arg("-l")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut from = producer.stdout.take().unwrap();
        let to = consumer.stdin.take().unwrap();
        let pump = tulipa::spawn(async move {
            loop {
                let chunk = from.read(64 * 1024).await.unwrap();
                if chunk.is_empty() {
                    break;
                }
                to.write(&chunk);
                to.drain().await.unwrap();
            }
        });
        let out = consumer.communicate(None).await.unwrap();
        pump.await.unwrap();
        assert!(producer.wait().await.unwrap().success());
        String::from_utf8(out.stdout).unwrap()
    });
    assert_eq!(count.trim(), "1000");
}
