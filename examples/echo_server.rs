//! A TCP echo server: every line is answered with `Got: ` + the line.
//!
//!     cargo run --example echo_server                  # built-in client, three lines, exits
//!     cargo run --example echo_server -- --port 8888   # serves forever (try `nc 127.0.0.1 8888`)
use std::error::Error;

use tulipa::net::{open_connection, start_server, StreamReader, StreamWriter};

async fn handle(mut reader: StreamReader, writer: StreamWriter) {
    let peer = writer
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    println!("Connection from {peer}");
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

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port = match args.as_slice() {
        [] => None,
        [flag, n] if flag == "--port" => Some(n.parse::<u16>()?),
        _ => return Err("usage: echo_server [--port N]".into()),
    };
    tulipa::run(async move {
        match port {
            Some(port) => serve(port).await,
            None => client_demo().await,
        }
    })?
}
