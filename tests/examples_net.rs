//! The network example prints what the issue specifies.
mod support;

use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

#[test]
fn echo_server_without_arguments_runs_its_client_and_exits() {
    let out = support::run_example("echo_server", &[]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    assert!(lines[0].starts_with("Serving on 127.0.0.1:"), "{out}");
    assert!(lines[1].starts_with("Connection from 127.0.0.1:"), "{out}");
    assert_eq!(
        &lines[2..],
        [
            "Reply: Got: Hello, tulipa",
            "Reply: Got: asyncio's model",
            "Reply: Got: in Rust",
            "Connection closed"
        ]
    );
}

/// A child process killed when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn echo_server_with_port_serves_until_killed() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let exe = support::example_path("echo_server");
    let child = std::process::Command::new(exe)
        .args(["--port", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _child = Child(child);
    let started = Instant::now();
    let stream = loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(_) if started.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("the server did not come up: {e}"),
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    for msg in ["one", "two"] {
        (&stream).write_all(format!("{msg}\n").as_bytes()).unwrap();
        let mut reply = String::new();
        reader.read_line(&mut reply).unwrap();
        assert_eq!(reply, format!("Got: {msg}\n"));
    }
}
