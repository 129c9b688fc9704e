//! Network I/O: an asyncio-style stream server and client, a UDP datagram,
//! and a readiness callback on a raw fd (`add_reader`).
use std::io::{Read, Write};
use std::os::fd::AsRawFd;

use tulipa::net::{open_connection, start_server, UdpSocket};

pub fn step() -> Result<(), Box<dyn std::error::Error>> {
    println!("== network I/O ==");
    tulipa::run(async {
        let server = start_server(
            |mut reader, writer| async move {
                while let Ok(line) = reader.readline().await {
                    if line.is_empty() {
                        break;
                    }
                    writer.write(b"Got: ");
                    writer.write(&line);
                }
            },
            "127.0.0.1:0",
        )
        .await?;
        let (mut reader, writer) = open_connection(server.local_addr()?).await?;
        writer.write(b"hello over TCP\n");
        let reply = reader.readline().await?;
        print!(
            "start_server + open_connection: {}",
            String::from_utf8_lossy(&reply)
        );

        let a = UdpSocket::bind("127.0.0.1:0").await?;
        let b = UdpSocket::bind("127.0.0.1:0").await?;
        a.send_to(b"a datagram", b.local_addr()?).await?;
        let mut buf = [0; 32];
        let (n, from) = b.recv_from(&mut buf).await?;
        println!(
            "UDP: {:?} from {}",
            String::from_utf8_lossy(&buf[..n]),
            from.ip()
        );
        Ok::<_, Box<dyn std::error::Error>>(())
    })??;

    let lp = tulipa::EventLoop::new()?;
    let (mut tx, rx) = std::os::unix::net::UnixStream::pair()?;
    rx.set_nonblocking(true)?;
    let fd = rx.as_raw_fd();
    lp.add_reader(fd, move || {
        let mut buf = [0; 32];
        let n = (&rx).read(&mut buf).unwrap_or(0);
        println!(
            "add_reader: fd readable, read {:?}",
            String::from_utf8_lossy(&buf[..n])
        );
        tulipa::get_running_loop().unwrap().stop();
    })?;
    tx.write_all(b"ping")?;
    lp.run_forever()?;
    lp.remove_reader(fd);
    Ok(())
}
