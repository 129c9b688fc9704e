//! `examples/graceful.rs`: started, sent SIGTERM (or SIGINT), it stops
//! accepting, lets an open connection finish, and exits 0.
#![cfg(all(unix, feature = "signal"))]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use tulipa::signal::{Signal, SIGINT, SIGTERM};

const WAIT: Duration = Duration::from_secs(20);

/// Starts the example; its stdout lines arrive on the channel.
fn start(args: &[&str]) -> (Child, Receiver<String>, String) {
    let mut child = Command::new(support::example_path("graceful"))
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let first = rx.recv_timeout(WAIT).expect("the server never started");
    let addr = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    (child, rx, addr)
}

fn send(child: &Child, sig: Signal) {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    let sig = rustix::process::Signal::from_named_raw(sig).unwrap();
    rustix::process::kill_process(pid, sig).unwrap();
}

fn echo(conn: &mut TcpStream, line: &str) {
    conn.write_all(line.as_bytes()).unwrap();
    let mut back = vec![0; line.len()];
    conn.read_exact(&mut back).unwrap();
    assert_eq!(String::from_utf8(back).unwrap(), line);
}

/// Waits for the exit, killing the child if it takes too long.
fn exit_code(child: &mut Child) -> Option<i32> {
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if started.elapsed() > WAIT {
            child.kill().unwrap();
            panic!("the server did not exit after the signal");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn on_sigterm_an_open_connection_finishes_and_the_server_exits_0() {
    let (mut child, lines, addr) = start(&[]);
    let mut conn = TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(WAIT)).unwrap();
    echo(&mut conn, "before the signal\n");
    send(&child, SIGTERM);
    let line = lines.recv_timeout(WAIT).unwrap();
    assert_eq!(
        line,
        "SIGTERM: no longer accepting; 1 connection(s) open, 5000 ms to finish"
    );
    assert!(
        TcpStream::connect(&addr).is_err(),
        "a new connection is refused"
    );
    // The open one is still served, to its end.
    echo(&mut conn, "after the signal\n");
    conn.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    conn.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    assert_eq!(
        lines.recv_timeout(WAIT).unwrap(),
        "all connections finished"
    );
    assert_eq!(lines.recv_timeout(WAIT).unwrap(), "bye");
    assert_eq!(exit_code(&mut child), Some(0));
}

#[test]
fn on_sigint_a_connection_past_the_deadline_is_closed_and_the_server_exits_0() {
    let (mut child, lines, addr) = start(&["--deadline-ms", "200"]);
    let mut conn = TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(WAIT)).unwrap();
    echo(&mut conn, "idle after this\n");
    send(&child, SIGINT);
    assert_eq!(
        lines.recv_timeout(WAIT).unwrap(),
        "SIGINT: no longer accepting; 1 connection(s) open, 200 ms to finish"
    );
    assert_eq!(
        lines.recv_timeout(WAIT).unwrap(),
        "deadline passed: closing 1 connection(s)"
    );
    assert_eq!(lines.recv_timeout(WAIT).unwrap(), "bye");
    // The server closed our connection: end of stream.
    let mut rest = Vec::new();
    conn.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    assert_eq!(exit_code(&mut child), Some(0));
}

#[test]
fn without_a_signal_it_keeps_serving() {
    let (mut child, _lines, addr) = start(&[]);
    for i in 0..3 {
        let mut conn = TcpStream::connect(&addr).unwrap();
        conn.set_read_timeout(Some(WAIT)).unwrap();
        echo(&mut conn, &format!("connection {i}\n"));
    }
    assert!(child.try_wait().unwrap().is_none(), "still serving");
    send(&child, SIGTERM);
    assert_eq!(exit_code(&mut child), Some(0));
}
