//! CPU pinning of a group's loops: each pinned loop thread reports exactly
//! its core (read back with `sched_getaffinity` and, independently, from
//! `/proc/thread-self/status`); a core that does not exist, an empty list,
//! and `run` pinning the calling thread as loop 0.
#![cfg(all(target_os = "linux", not(loom)))]

#[path = "support/group.rs"]
mod support;

use support::{within, PATIENCE};
use tulipa::group::{thread_cores, LoopGroupError, PinError};
use tulipa::LoopGroup;

/// The kernel's own account of the calling thread's mask, parsed from
/// `Cpus_allowed_list` ("0-3,5").
fn proc_cores() -> Vec<usize> {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim();
    let mut cores = Vec::new();
    for part in list.split(',') {
        match part.split_once('-') {
            Some((a, b)) => cores.extend(a.parse::<usize>().unwrap()..=b.parse().unwrap()),
            None => cores.push(part.parse().unwrap()),
        }
    }
    cores
}

#[test]
fn thread_cores_matches_the_kernels_mask() {
    assert_eq!(thread_cores().unwrap(), proc_cores());
}

#[test]
fn each_pinned_loop_thread_reports_exactly_its_core() {
    let available = thread_cores().unwrap();
    if available.len() < 2 {
        eprintln!("skipped: pinning needs at least 2 CPUs to be observable");
        return;
    }
    within(PATIENCE, move || {
        let loops = available.len().min(4);
        let group = LoopGroup::builder()
            .loops(loops)
            .pin_to_cores()
            .build()
            .unwrap();
        for (i, &core) in available.iter().enumerate().take(loops) {
            let seen = group
                .spawn_on(i, || async { (thread_cores().unwrap(), proc_cores()) })
                .unwrap()
                .wait()
                .unwrap();
            assert_eq!(seen.0, [core], "loop {i}");
            assert_eq!(seen.1, [core], "loop {i}, /proc");
        }
        assert!(group.close().is_clean());
    });
}

#[test]
fn explicit_cores_wrap_around_the_loops() {
    let available = thread_cores().unwrap();
    if available.len() < 2 {
        eprintln!("skipped: pinning needs at least 2 CPUs to be observable");
        return;
    }
    within(PATIENCE, move || {
        let last = *available.last().unwrap();
        let group = LoopGroup::builder()
            .loops(3)
            .pin_loops_to([last, available[0]])
            .build()
            .unwrap();
        let on = |i| {
            group
                .spawn_on(i, || async { thread_cores() })
                .map(|t| t.wait().unwrap().unwrap())
                .unwrap()
        };
        assert_eq!(on(0), [last]);
        assert_eq!(on(1), [available[0]]);
        assert_eq!(on(2), [last]);
        assert!(group.close().is_clean());
    });
}

#[test]
fn run_pins_the_calling_thread_as_loop_0() {
    let available = thread_cores().unwrap();
    if available.len() < 2 {
        eprintln!("skipped: pinning needs at least 2 CPUs to be observable");
        return;
    }
    // On a thread of its own: the test harness's thread keeps its mask.
    within(PATIENCE, move || {
        let core = *available.last().unwrap();
        let seen = LoopGroup::builder()
            .loops(2)
            .pin_loops_to([core, available[0]])
            .run(async { thread_cores().unwrap() })
            .unwrap();
        assert_eq!(seen, [core]);
    });
}

#[test]
fn pinning_to_a_core_that_does_not_exist_is_a_typed_error() {
    let err = LoopGroup::builder()
        .loops(2)
        .pin_loops_to([0, 100_000])
        .build()
        .unwrap_err();
    match err {
        LoopGroupError::Pin(PinError::NoSuchCore {
            index,
            core,
            available,
        }) => {
            assert_eq!((index, core), (1, 100_000));
            assert_eq!(available, thread_cores().unwrap());
        }
        other => panic!("expected NoSuchCore, got {other:?}"),
    }
    let message = LoopGroup::builder()
        .loops(1)
        .pin_loops_to([100_000])
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("cannot pin loop 0 to CPU 100000"),
        "{message}"
    );
}

#[test]
fn pinning_to_an_empty_list_of_cores_is_a_typed_error() {
    let err = LoopGroup::builder()
        .loops(1)
        .pin_loops_to([])
        .build()
        .unwrap_err();
    assert!(
        matches!(err, LoopGroupError::Pin(PinError::NoCores)),
        "{err:?}"
    );
}
