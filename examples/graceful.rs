//! An echo server that shuts down gracefully: on SIGTERM or SIGINT it stops
//! accepting, gives the open connections a deadline to finish, closes the
//! ones still open after it, and exits 0. Without a signal it serves forever.
//!
//!     cargo run --example graceful --features signal            # then Ctrl-C
//!     cargo run --example graceful --features signal -- --deadline-ms 500
use std::error::Error;
use std::future::poll_fn;
use std::task::Poll;
use std::time::Duration;

use tulipa::net::{start_server, StreamReader, StreamWriter};
use tulipa::signal::{signal, SIGINT, SIGTERM};

async fn echo(mut reader: StreamReader, writer: StreamWriter) {
    while let Ok(line) = reader.readline().await {
        if line.is_empty() {
            break; // the client closed its side
        }
        writer.write(&line);
        if writer.drain().await.is_err() {
            break;
        }
    }
}

async fn serve(deadline: Duration) -> Result<(), Box<dyn Error>> {
    // Listen before serving, so that no signal is missed.
    let mut term = signal(SIGTERM)?;
    let mut int = signal(SIGINT)?;
    let server = start_server(echo, "127.0.0.1:0").await?;
    println!("listening on {}", server.local_addr()?);
    let name = poll_fn(|cx| {
        if term.poll_recv(cx).is_ready() {
            return Poll::Ready("SIGTERM");
        }
        if int.poll_recv(cx).is_ready() {
            return Poll::Ready("SIGINT");
        }
        Poll::Pending
    })
    .await;
    server.close();
    println!(
        "{name}: no longer accepting; {} connection(s) open, {} ms to finish",
        server.connections(),
        deadline.as_millis()
    );
    match tulipa::wait_for(server.wait_closed(), deadline).await {
        Ok(()) => println!("all connections finished"),
        // Returning cancels the handlers left, which closes their sockets.
        Err(_) => println!(
            "deadline passed: closing {} connection(s)",
            server.connections()
        ),
    }
    println!("bye");
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let deadline = match args.as_slice() {
        [] => Duration::from_secs(5),
        [flag, ms] if flag == "--deadline-ms" => Duration::from_millis(ms.parse()?),
        _ => return Err("usage: graceful [--deadline-ms N]".into()),
    };
    tulipa::run(serve(deadline))?
}
