//! Child processes on the loop: feed `sort` from a task, wire a two-process
//! pipeline (`seq 1000 | wc -l`) through tulipa, and kill a `sleep 100`
//! when a `wait_for` timeout expires.
//!
//!     cargo run --example subprocess --features process
use std::error::Error;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use tulipa::process::{Command, Stdio};

/// A task writes lines into `sort`'s stdin while we read its stdout.
async fn feed_sort() -> Result<(), Box<dyn Error>> {
    let mut sort = Command::new("sort")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdin = sort.stdin.take().ok_or("no stdin")?;
    let feeder = tulipa::spawn(async move {
        for fruit in ["cherry", "apple", "fig", "banana"] {
            stdin.write(format!("{fruit}\n").as_bytes());
            stdin.drain().await?;
        }
        stdin.close(); // EOF: sort can now sort
        stdin.wait_closed().await
    });
    let sorted = sort
        .stdout
        .as_mut()
        .ok_or("no stdout")?
        .read_to_end()
        .await?;
    feeder.await??;
    let status = sort.wait().await?;
    let lines: Vec<&str> = std::str::from_utf8(&sorted)?.lines().collect();
    println!("sorted: {} ({status})", lines.join(", "));
    Ok(())
}

/// `seq 1000 | wc -l`, with the bytes passing through this process.
async fn pipeline() -> Result<(), Box<dyn Error>> {
    let mut seq = Command::new("seq")
        .arg("1000")
        .stdout(Stdio::piped())
        .spawn()?;
    let mut wc = Command::new("wc")
        .arg("-l")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut from = seq.stdout.take().ok_or("no stdout")?;
    let to = wc.stdin.take().ok_or("no stdin")?;
    let pump = tulipa::spawn(async move {
        let mut moved = 0;
        loop {
            let chunk = from.read(64 * 1024).await?;
            if chunk.is_empty() {
                return Ok::<_, std::io::Error>(moved); // dropping `to` closes wc's stdin
            }
            moved += chunk.len();
            to.write(&chunk);
            to.drain().await?;
        }
    });
    let out = wc.communicate(None).await?;
    let moved = pump.await??;
    seq.wait().await?;
    let count = String::from_utf8(out.stdout)?;
    println!(
        "pipeline seq 1000 | wc -l: {} ({moved} bytes through tulipa)",
        count.trim()
    );
    Ok(())
}

/// A child that would run for 100 s is killed when the timeout expires.
async fn timeout_kill() -> Result<(), Box<dyn Error>> {
    let mut child = Command::new("sleep").arg("100").spawn()?;
    if tulipa::wait_for(child.wait(), Duration::from_millis(100))
        .await
        .is_err()
    {
        child.kill()?;
    }
    let status = child.wait().await?;
    println!(
        "sleep 100: timed out after 100 ms, killed by signal {} (returncode {:?})",
        status.signal().unwrap_or(0),
        child.returncode()
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    tulipa::run(async {
        feed_sort().await?;
        pipeline().await?;
        timeout_kill().await
    })?
}
