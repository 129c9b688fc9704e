//! A TCP echo server: every line is answered with `Got: ` + the line.
//!
//!     cargo run --example echo_server                  # built-in client, three lines, exits
//!     cargo run --example echo_server -- --port 8888   # serves forever (try `nc 127.0.0.1 8888`)
//!     cargo run --example echo_server -- --loops 4     # the server on a group of 4 loops
use std::error::Error;

use tulipa::group::ServeMode;
use tulipa::net::{open_connection, start_server, StreamReader, StreamWriter};

async fn handle(mut reader: StreamReader, writer: StreamWriter) {
    let peer = writer
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    match tulipa::group().and_then(|g| g.current_loop()) {
        Some(i) => println!("Connection from {peer} on loop {i}"),
        None => println!("Connection from {peer}"),
    }
    while let Ok(line) = reader.readline().await {
        if line.is_empty() {
            break; // the client closed its side
        }
        writer.write(b"Got: ");
        writer.write(&line);
        if writer.drain().await.is_err() {
            break;
        }
    }
    println!("Connection closed");
}

async fn client_demo() -> Result<(), Box<dyn Error>> {
    let server = start_server(handle, "127.0.0.1:0").await?;
    let addr = server.local_addr()?;
    println!("Serving on {addr}");
    let (mut reader, writer) = open_connection(addr).await?;
    for line in ["Hello, tulipa", "asyncio's model", "in Rust"] {
        writer.write(format!("{line}\n").as_bytes());
        writer.drain().await?;
        let reply = reader.readline().await?;
        print!("Reply: {}", String::from_utf8_lossy(&reply));
    }
    writer.close();
    writer.wait_closed().await?;
    server.close();
    server.wait_closed().await; // the handler has printed "Connection closed"
    Ok(())
}

async fn serve(port: u16) -> Result<(), Box<dyn Error>> {
    let server = start_server(handle, ("127.0.0.1", port)).await?;
    println!("Serving on {}", server.local_addr()?);
    server.serve_forever().await;
    Ok(())
}

/// `--loops N`: the server on a group of N loops, connections handed to the
/// least-busy loop; without a port, N clients say one line each.
async fn serve_on_group(port: Option<u16>) -> Result<(), Box<dyn Error>> {
    let group = tulipa::group().expect("runs on loop 0 of a group");
    let server = group.start_server(
        ServeMode::Acceptor,
        ("127.0.0.1", port.unwrap_or(0)),
        handle,
    )?;
    println!(
        "Serving on {} with {} loops",
        server.local_addr(),
        group.len()
    );
    if port.is_some() {
        std::future::pending::<()>().await;
    }
    for i in 0..group.len() {
        let (mut reader, writer) = open_connection(server.local_addr()).await?;
        writer.write(format!("client {i}\n").as_bytes());
        writer.drain().await?;
        print!(
            "Reply: {}",
            String::from_utf8_lossy(&reader.readline().await?)
        );
        writer.close();
        writer.wait_closed().await?;
    }
    // Let every handler print "Connection closed" before the group closes.
    while (0..group.len()).any(|i| group.connections(i) > 0) {
        tulipa::sleep(std::time::Duration::from_millis(1)).await;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut port, mut loops) = (None, None);
    for pair in args.chunks(2) {
        match pair {
            [flag, n] if flag == "--port" => port = Some(n.parse::<u16>()?),
            [flag, n] if flag == "--loops" => loops = Some(n.parse::<usize>()?),
            _ => return Err("usage: echo_server [--port N] [--loops N]".into()),
        }
    }
    if let Some(loops) = loops {
        return tulipa::run_group(loops, serve_on_group(port))?;
    }
    tulipa::run(async move {
        match port {
            Some(port) => serve(port).await,
            None => client_demo().await,
        }
    })?
}
