//! Counting the process's open fds and making room for many sockets.
#![allow(dead_code, unreachable_pub)]

/// Open fds of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// The soft and hard `RLIMIT_NOFILE` of this process.
pub fn fd_limits() -> (u64, u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let mut fields = line.split_whitespace().skip(3).map(|f| {
        f.parse::<u64>().unwrap_or(u64::MAX) // "unlimited"
    });
    (fields.next().unwrap(), fields.next().unwrap())
}

/// Raises the soft fd limit to `needed` with prlimit(1) if it is lower (no
/// setrlimit call: the tests use no `unsafe`). Returns how many
/// connections (two fds each) fit, at most `wanted`.
pub fn make_room(needed: u64, wanted: usize) -> usize {
    let (soft, hard) = fd_limits();
    if soft < needed && hard >= needed {
        let _ = std::process::Command::new("prlimit")
            .arg(format!("--pid={}", std::process::id()))
            .arg(format!("--nofile={needed}:{hard}"))
            .status();
    }
    let (soft, _) = fd_limits();
    let fit = ((soft.saturating_sub(64)) / 2) as usize;
    if fit < wanted {
        eprintln!("RLIMIT_NOFILE is {soft}: testing {fit} connections instead of {wanted}");
    }
    fit.min(wanted)
}
