//! `tulipa::run` and Ctrl-C (asyncio's test_runners: `test_signal_install_not_supported_ok`,
//! `test_interrupt_*`), and `tulipa::signal::ctrl_c`.
//!
//! Every `tulipa::run` of this binary listens to SIGINT, so its tests take one
//! lock; the ones that must die by SIGINT run in a child process.
#![cfg(all(unix, feature = "signal"))]

use std::cell::Cell;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::rc::Rc;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use signal_hook::low_level::raise;
use tulipa::signal::{SIGINT, SIGUSR1};
use tulipa::RunError;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn sigint_from_a_thread() {
    std::thread::spawn(|| raise(SIGINT).unwrap());
}

/// Sets its flag when dropped: shows that a future or a task unwound.
struct Unwound(Rc<Cell<bool>>);

impl Drop for Unwound {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// Runs this same test in a child process, where it may die by a signal.
fn in_child(test: &str) -> std::process::Output {
    Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--test-threads=1", "--nocapture"])
        .env("TULIPA_SIGNAL_CHILD", test)
        .output()
        .unwrap()
}

fn is_child(test: &str) -> bool {
    std::env::var("TULIPA_SIGNAL_CHILD").as_deref() == Ok(test)
}

#[test]
fn the_first_ctrl_c_cancels_the_main_future_and_returns_interrupted() {
    let _serial = serial();
    let main_unwound = Rc::new(Cell::new(false));
    let task_unwound = Rc::new(Cell::new(false));
    let (m, t) = (main_unwound.clone(), task_unwound.clone());
    let out = tulipa::run(async move {
        let _guard = Unwound(m);
        let _task = tulipa::spawn(async move {
            let _guard = Unwound(t);
            std::future::pending::<()>().await;
        });
        sigint_from_a_thread();
        // Without the interrupt, the watchdog ends the test.
        tulipa::sleep(Duration::from_secs(10)).await;
        "finished"
    });
    assert!(matches!(out, Err(RunError::Interrupted)), "{out:?}");
    assert!(main_unwound.get(), "the main future was dropped");
    assert!(task_unwound.get(), "the leftover task was cancelled");
    assert_eq!(
        RunError::Interrupted.to_string(),
        "interrupted by Ctrl-C (SIGINT)"
    );
}

#[test]
fn ctrl_c_inside_run_takes_the_signal_instead() {
    let _serial = serial();
    let out = tulipa::run(async {
        sigint_from_a_thread();
        tulipa::wait_for(tulipa::signal::ctrl_c(), Duration::from_secs(10))
            .await
            .expect("watchdog")
            .unwrap();
        "shut down cleanly"
    });
    assert_eq!(out.unwrap(), "shut down cleanly");
}

#[test]
fn a_sigint_handler_of_the_loop_overrides_the_rule() {
    let _serial = serial();
    let out = tulipa::run(async {
        let hits = Rc::new(Cell::new(0));
        let h = hits.clone();
        let lp = tulipa::get_running_loop().unwrap();
        lp.add_signal_handler(SIGINT, move || h.set(h.get() + 1))
            .unwrap();
        sigint_from_a_thread();
        let waited = tulipa::wait_for(
            async {
                while hits.get() == 0 {
                    tulipa::sleep(Duration::from_millis(1)).await;
                }
            },
            Duration::from_secs(10),
        )
        .await;
        assert!(lp.remove_signal_handler(SIGINT).unwrap());
        waited.map(|()| hits.get())
    });
    assert_eq!(out.unwrap().unwrap(), 1);
}

#[test]
fn a_run_that_finishes_leaves_sigint_to_the_next_one() {
    let _serial = serial();
    assert_eq!(tulipa::run(async { 1 }).unwrap(), 1);
    // A second run still turns Ctrl-C into Interrupted.
    let out = tulipa::run(async {
        sigint_from_a_thread();
        tulipa::sleep(Duration::from_secs(10)).await;
    });
    assert!(matches!(out, Err(RunError::Interrupted)));
}

/// A second Ctrl-C while the tasks unwind takes SIGINT's default action:
/// the process dies by SIGINT (asyncio: the second one raises `KeyboardInterrupt`).
#[test]
fn a_second_ctrl_c_falls_back_to_the_default_action() {
    const NAME: &str = "a_second_ctrl_c_falls_back_to_the_default_action";
    if is_child(NAME) {
        struct SecondCtrlC;
        impl Drop for SecondCtrlC {
            fn drop(&mut self) {
                // On the loop thread, while the leftover tasks are cancelled:
                // the first Ctrl-C was handled.
                use std::io::Write;
                let mut out = std::io::stdout();
                out.write_all(b"first ctrl-c handled\n").unwrap();
                out.flush().unwrap();
                raise(SIGINT).unwrap();
                std::thread::sleep(Duration::from_secs(5));
                std::process::exit(3);
            }
        }
        let _ = tulipa::run(async {
            let _task = tulipa::spawn(async {
                let _guard = SecondCtrlC;
                std::future::pending::<()>().await;
            });
            sigint_from_a_thread();
            tulipa::sleep(Duration::from_secs(10)).await;
        });
        std::process::exit(4);
    }
    let _serial = serial();
    let out = in_child(NAME);
    assert_eq!(out.status.signal(), Some(SIGINT), "{:?}", out.status);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("first ctrl-c handled"), "{stdout}");
}

/// The rule holds for `tulipa::run` only: after it returns, SIGINT is back to
/// its default action (here: the child dies by it).
#[test]
fn after_run_sigint_has_its_default_action_again() {
    const NAME: &str = "after_run_sigint_has_its_default_action_again";
    if is_child(NAME) {
        tulipa::run(async {}).unwrap();
        raise(SIGINT).unwrap();
        std::thread::sleep(Duration::from_secs(5));
        std::process::exit(3);
    }
    let _serial = serial();
    let status = in_child(NAME).status;
    assert_eq!(status.signal(), Some(SIGINT), "{status:?}");
}

#[test]
fn other_signals_do_not_interrupt_run() {
    let _serial = serial();
    let out = tulipa::run(async {
        let mut usr1 = tulipa::signal::signal(SIGUSR1).unwrap();
        std::thread::spawn(|| raise(SIGUSR1).unwrap());
        tulipa::wait_for(usr1.recv(), Duration::from_secs(10))
            .await
            .expect("watchdog");
        "done"
    });
    assert_eq!(out.unwrap(), "done");
}
