//! Unix-domain streams: listener/connect, pairs, and the streams API on them.
#![cfg(unix)]
mod support;

use std::path::PathBuf;

use tulipa::net::{open_unix_connection, start_unix_server, UnixListener, UnixStream};

fn socket_path(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("tulipa-{name}-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn unix_listener_accepts_and_the_stream_echoes() {
    let path = socket_path("echo");
    let lp = support::virtual_loop();
    lp.run_until_complete(async {
        let listener = UnixListener::bind(&path).unwrap();
        let client = UnixStream::connect(&path).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        client.write_all(b"over unix").await.unwrap();
        let mut buf = [0; 9];
        server.read_exact(&mut buf).await.unwrap();
        server.write_all(&buf).await.unwrap();
        let mut back = [0; 9];
        client.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"over unix");
        assert_eq!(
            listener.local_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
    })
    .unwrap();
    assert_eq!(lp.io_sources(), 0);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn connect_to_a_missing_path_fails_and_registers_nothing() {
    let lp = support::virtual_loop();
    lp.run_until_complete(async {
        let err = UnixStream::connect(socket_path("missing"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    })
    .unwrap();
    assert_eq!(lp.io_sources(), 0);
}

#[test]
fn eof_on_a_pair_after_the_peer_drops() {
    support::virtual_loop()
        .run_until_complete(async {
            let (a, b) = UnixStream::pair().unwrap();
            a.write_all(b"bye").await.unwrap();
            drop(a);
            let mut buf = [0; 8];
            assert_eq!(b.read(&mut buf).await.unwrap(), 3);
            assert_eq!(b.read(&mut buf).await.unwrap(), 0);
        })
        .unwrap();
}

#[test]
fn test_start_unix_server() {
    let path = socket_path("server");
    support::virtual_loop()
        .run_until_complete(async {
            let server = start_unix_server(
                |mut reader, writer| async move {
                    let line = reader.readline().await.unwrap();
                    writer.write(&line);
                    writer.drain().await.unwrap();
                },
                &path,
            )
            .await
            .unwrap();
            assert!(server.local_addr().is_err());
            let (mut reader, writer) = open_unix_connection(&path).await.unwrap();
            writer.write(b"hello world!\n");
            assert_eq!(reader.readline().await.unwrap(), b"hello world!\n");
            assert!(writer.peer_addr().is_err());
            server.close();
            server.wait_closed().await;
        })
        .unwrap();
    std::fs::remove_file(&path).unwrap();
}
