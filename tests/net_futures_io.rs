//! With the `futures-io` feature, the stream sockets work with the
//! `futures::io` extension traits.
#![cfg(all(feature = "futures-io", not(loom)))]
mod support;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use tulipa::net::{TcpListener, TcpStream, UnixStream};

#[test]
fn tcp_stream_is_async_read_and_async_write() {
    support::virtual_loop()
        .run_until_complete(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut client = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (mut server, _) = listener.accept().await.unwrap();
            AsyncWriteExt::write_all(&mut client, b"through futures-io")
                .await
                .unwrap();
            // poll_close shuts the write half: the server reads to the end.
            client.close().await.unwrap();
            let mut got = Vec::new();
            AsyncReadExt::read_to_end(&mut server, &mut got)
                .await
                .unwrap();
            assert_eq!(got, b"through futures-io");
        })
        .unwrap();
}

#[test]
fn shared_references_read_and_write_too() {
    support::virtual_loop()
        .run_until_complete(async {
            let (a, b) = UnixStream::pair().unwrap();
            AsyncWriteExt::write_all(&mut &a, b"by ref").await.unwrap();
            let mut buf = [0; 6];
            AsyncReadExt::read_exact(&mut &b, &mut buf).await.unwrap();
            assert_eq!(&buf, b"by ref");
        })
        .unwrap();
}
