//! asyncio-style streams: StreamReader edge cases ported from CPython's
//! Lib/test/test_asyncio/test_streams.py (same names), StreamWriter drain
//! back-pressure, close/wait_closed, and start_server/open_connection.
#![cfg(unix)]
mod support;

use std::cell::Cell;
use std::future::Future;
use std::io::ErrorKind;
use std::rc::Rc;
use std::time::Duration;

use support::run_virtual as run;
use tulipa::net::{
    open_connection, start_server, ReadError, StreamReader, StreamWriter, UnixStream,
};

const DATA: &[u8] = b"line1\nline2\nline3\n";

/// A reader with `limit`, and the raw socket that feeds it (`feed_data`;
/// dropping the feeder is `feed_eof`).
fn reader(limit: usize) -> (StreamReader, UnixStream) {
    let (feeder, other) = UnixStream::pair().unwrap();
    let (mut reader, writer) = other.into_split();
    // Keep the read side open: the writer half is never used here.
    std::mem::forget(writer);
    reader.set_limit(limit);
    (reader, feeder)
}

/// Writes `data` and waits until the reader's socket has it all.
async fn feed(feeder: &UnixStream, data: &[u8]) {
    feeder.write_all(data).await.unwrap();
    tulipa::sleep(Duration::from_millis(2)).await;
}

fn overrun(result: Result<Vec<u8>, ReadError>) -> usize {
    match result {
        Err(ReadError::LimitOverrun { consumed }) => consumed,
        other => panic!("expected LimitOverrun, got {other:?}"),
    }
}

#[test]
fn test_read_zero() {
    run(async {
        let (mut r, f) = reader(1 << 16);
        feed(&f, DATA).await;
        assert_eq!(r.read(0).await.unwrap(), b"");
        assert_eq!(r.read(100).await.unwrap(), DATA);
    });
}

#[test]
fn test_read_line_breaks_partial_read_returns_what_is_buffered() {
    run(async {
        let (mut r, f) = reader(1 << 16);
        feed(&f, b"line1").await;
        feed(&f, b"line2").await;
        assert_eq!(r.read(5).await.unwrap(), b"line1");
        assert_eq!(r.read(100).await.unwrap(), b"line2");
    });
}

#[test]
fn test_read_eof_gives_empty_and_at_eof() {
    run(async {
        let (mut r, f) = reader(1 << 16);
        drop(f);
        assert_eq!(r.read(1024).await.unwrap(), b"");
        assert!(r.at_eof());
    });
}

#[test]
fn test_read_until_eof() {
    run(async {
        let (mut r, f) = reader(1 << 16);
        let feeding = tulipa::spawn(async move {
            f.write_all(b"chunk1\n").await.unwrap();
            f.write_all(b"chunk2").await.unwrap();
        });
        assert_eq!(r.read_to_end().await.unwrap(), b"chunk1\nchunk2");
        assert!(r.at_eof());
        feeding.await.unwrap();
    });
}

#[test]
fn test_readline_limit_with_existing_data() {
    run(async {
        let (mut r, f) = reader(3);
        feed(&f, b"li").await;
        feed(&f, b"ne1\nline2\n").await;
        overrun(r.readline().await);
        // The rest stays after the error.
        assert_eq!(r.read(100).await.unwrap(), b"line2\n");

        let (mut r, f) = reader(3);
        feed(&f, b"line1li").await;
        overrun(r.readline().await);
        // No separator: the whole buffer was consumed.
        assert_eq!(r.buffered(), 0);
    });
}

#[test]
fn test_at_eof() {
    run(async {
        let (mut r, f) = reader(1 << 16);
        assert!(!r.at_eof());
        feed(&f, b"some data\n").await;
        assert!(!r.at_eof());
        r.readline().await.unwrap();
        assert!(!r.at_eof());
        feed(&f, b"some data\n").await;
        drop(f);
        r.readline().await.unwrap();
        assert_eq!(r.readline().await.unwrap(), b"");
        assert!(r.at_eof());
    });
}

#[test]
fn test_readline_limit() {
    run(async {
        let (mut r, f) = reader(7);
        feed(&f, b"chunk1chunk2chunk3\n").await;
        drop(f);
        overrun(r.readline().await);
        assert_eq!(r.buffered(), 0);

        let (mut r, f) = reader(7);
        feed(&f, b"chunk1chunk2\nchunk3\n").await;
        overrun(r.readline().await);
        assert_eq!(r.readline().await.unwrap(), b"chunk3\n");
        drop(f);

        // The limit is strict: exactly `limit` bytes before the separator pass.
        let (mut r, f) = reader(7);
        feed(&f, b"1234567\n").await;
        assert_eq!(r.readline().await.unwrap(), b"1234567\n");
        feed(&f, b"12345678\n").await;
        overrun(r.readline().await);
        assert_eq!(r.buffered(), 0);
    });
}

#[test]
fn test_readline_nolimit_nowait() {
    run(async {
        let (mut r, f) = reader(1 << 16);
        feed(&f, &DATA[..6]).await;
        feed(&f, &DATA[6..]).await;
        assert_eq!(r.readline().await.unwrap(), b"line1\n");
        assert_eq!(r.buffered(), 12);
    });
}

#[test]
fn test_readline_eof() {
    run(async {
        let (mut r, f) = reader(1 << 16);
        feed(&f, b"some data").await;
        drop(f);
        assert_eq!(r.readline().await.unwrap(), b"some data");
    });
}

#[test]
fn test_readline_empty_eof() {
    run(async {
        let (mut r, f) = reader(1 << 16);
        drop(f);
        assert_eq!(r.readline().await.unwrap(), b"");
    });
}

#[test]
fn test_readline_read_byte_count() {
    run(async {
        let (mut r, f) = reader(1 << 16);
        feed(&f, DATA).await;
        r.readline().await.unwrap();
        assert_eq!(r.read(7).await.unwrap(), b"line2\nl");
        assert_eq!(r.buffered(), 5);
    });
}

#[test]
fn test_readuntil_separator_empty_is_rejected() {
    run(async {
        let (mut r, _f) = reader(1 << 16);
        match r.readuntil(b"").await {
            Err(ReadError::Io(e)) => assert_eq!(e.kind(), ErrorKind::InvalidInput),
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn test_readuntil_multi_chunks() {
    run(async {
        let (mut r, f) = reader(1 << 16);
        feed(&f, b"lineAAA").await;
        assert_eq!(r.readuntil(b"AAA").await.unwrap(), b"lineAAA");
        feed(&f, b"lineAAAxxx").await;
        assert_eq!(r.readuntil(b"AAA").await.unwrap(), b"lineAAA");
        assert_eq!(r.buffered(), 3);
    });
}

#[test]
fn test_readuntil_multi_chunks_1_separator_split_across_arrivals() {
    run(async {
        let (mut r, f) = reader(1 << 16);
        let feeding = tulipa::spawn(async move {
            for part in [&b"QWEaa"[..], b"XYaa", b"a", b"XXX", b"a", b"a", b"a"] {
                f.write_all(part).await.unwrap();
                tulipa::sleep(Duration::from_millis(2)).await;
            }
            f
        });
        assert_eq!(r.readuntil(b"aaa").await.unwrap(), b"QWEaaXYaaa");
        assert_eq!(r.readuntil(b"aaa").await.unwrap(), b"XXXaaa");
        assert_eq!(r.buffered(), 0);
        drop(feeding.await.unwrap());
    });
}

#[test]
fn test_readuntil_eof() {
    run(async {
        let (mut r, f) = reader(1 << 16);
        feed(&f, b"some dataAA").await;
        drop(f);
        match r.readuntil(b"AAA").await {
            Err(ReadError::IncompleteRead { partial, expected }) => {
                assert_eq!(partial, b"some dataAA");
                assert_eq!(expected, None);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(r.buffered(), 0);
    });
}

#[test]
fn test_readuntil_limit_found_sep() {
    run(async {
        let (mut r, f) = reader(3);
        feed(&f, b"some dataAA").await;
        // Not found and past the limit: the data stays buffered.
        assert_eq!(overrun(r.readuntil(b"AAA").await), 9);
        assert_eq!(r.buffered(), 11);
        feed(&f, b"A").await;
        // Found, but beyond the limit.
        assert_eq!(overrun(r.readuntil(b"AAA").await), 9);
        assert_eq!(r.buffered(), 12);
    });
}

#[test]
fn test_readexactly_zero() {
    run(async {
        let (mut r, f) = reader(1 << 16);
        feed(&f, DATA).await;
        assert_eq!(r.readexactly(0).await.unwrap(), b"");
        assert_eq!(r.read(100).await.unwrap(), DATA);
    });
}

#[test]
fn test_readexactly_waits_across_arrivals_and_leaves_the_rest() {
    run(async {
        let (mut r, f) = reader(1 << 16);
        let n = 2 * DATA.len();
        let feeding = tulipa::spawn(async move {
            for _ in 0..3 {
                f.write_all(DATA).await.unwrap();
                tulipa::sleep(Duration::from_millis(2)).await;
            }
            f
        });
        assert_eq!(r.readexactly(n).await.unwrap(), [DATA, DATA].concat());
        let _f = feeding.await.unwrap();
        assert_eq!(r.readexactly(DATA.len()).await.unwrap(), DATA);
    });
}

#[test]
fn test_readexactly_limit_does_not_apply() {
    run(async {
        let (mut r, f) = reader(3);
        feed(&f, b"chunk").await;
        assert_eq!(r.readexactly(5).await.unwrap(), b"chunk");
    });
}

#[test]
fn test_readexactly_eof_gives_incomplete_read_with_the_partial_bytes() {
    run(async {
        let (mut r, f) = reader(1 << 16);
        let n = 2 * DATA.len();
        feed(&f, DATA).await;
        drop(f);
        let err = r.readexactly(n).await.unwrap_err();
        assert_eq!(err.to_string(), "stream ended after 18 of 36 bytes");
        match err {
            ReadError::IncompleteRead { partial, expected } => {
                assert_eq!(partial, DATA);
                assert_eq!(expected, Some(n));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(r.buffered(), 0);
        let as_io: std::io::Error = r.readexactly(1).await.unwrap_err().into();
        assert_eq!(as_io.kind(), ErrorKind::UnexpectedEof);
    });
}

#[test]
fn readline_cancelled_midway_keeps_the_bytes_for_the_next_call() {
    run(async {
        let (mut r, f) = reader(1 << 16);
        feed(&f, b"half a ").await;
        {
            // Poll once (it reads "half a " and waits for the rest), then
            // drop the future: that is how a cancel reaches it.
            let mut pending = Box::pin(r.readline());
            std::future::poll_fn(|cx| {
                assert!(pending.as_mut().poll(cx).is_pending());
                std::task::Poll::Ready(())
            })
            .await;
        }
        assert_eq!(r.buffered(), 7);
        feed(&f, b"line\n").await;
        assert_eq!(r.readline().await.unwrap(), b"half a line\n");
    });
}

/// A slow reader makes `drain` wait; the writer's buffer never holds more
/// than the high-water mark plus one write, and every byte arrives in order.
#[test]
fn backpressure_slow_reader_makes_drain_wait_and_memory_stays_bounded() {
    const CHUNK: usize = 32 * 1024;
    const CHUNKS: usize = 96;
    run(async {
        let (a, b) = UnixStream::pair().unwrap();
        let (_ra, writer) = a.into_split();
        let (mut reader, _wb) = b.into_split();
        writer.set_write_buffer_limits(64 * 1024, None);
        let slow = tulipa::spawn(async move {
            let mut expected = 0u8;
            let mut total = 0;
            while total < CHUNK * CHUNKS {
                let got = reader.read(8 * 1024).await.unwrap();
                assert!(!got.is_empty(), "stream ended early at {total}");
                for byte in got {
                    assert_eq!(byte, expected);
                    expected = expected.wrapping_add(1);
                    total += 1;
                }
                tulipa::sleep(Duration::from_micros(200)).await;
            }
            total
        });
        let (mut waited, mut peak) = (0, 0);
        let mut next = 0u8;
        for _ in 0..CHUNKS {
            let chunk: Vec<u8> = (0..CHUNK)
                .map(|_| {
                    let b = next;
                    next = next.wrapping_add(1);
                    b
                })
                .collect();
            writer.write(&chunk);
            peak = peak.max(writer.write_buffer_size());
            if writer.write_buffer_size() > 64 * 1024 {
                waited += 1;
            }
            writer.drain().await.unwrap();
            assert!(writer.write_buffer_size() <= 64 * 1024);
        }
        assert!(waited > 0, "the reader never fell behind");
        assert!(peak <= 64 * 1024 + CHUNK, "peak buffer {peak}");
        assert_eq!(slow.await.unwrap(), CHUNK * CHUNKS);
    });
}

#[test]
fn close_flushes_buffered_data_before_shutting_down() {
    run(async {
        let (a, b) = UnixStream::pair().unwrap();
        let (_ra, writer) = a.into_split();
        let (mut reader, _wb) = b.into_split();
        let big = vec![42u8; 2 << 20];
        writer.write(&big);
        assert!(writer.write_buffer_size() > 0);
        writer.close();
        assert!(writer.is_closing());
        let got = reader.read_to_end().await.unwrap();
        writer.wait_closed().await.unwrap();
        assert_eq!(got.len(), big.len());
        // After close, drain reports the lost connection; writes are dropped.
        assert!(writer.drain().await.is_err());
        writer.write(b"ignored");
        assert_eq!(writer.write_buffer_size(), 0);
    });
}

#[test]
fn drain_reports_the_error_when_the_peer_goes_away() {
    run(async {
        let (a, b) = UnixStream::pair().unwrap();
        let (_ra, writer) = a.into_split();
        drop(b);
        let err = loop {
            writer.write(&[0; 64 * 1024]);
            if let Err(e) = writer.drain().await {
                break e;
            }
        };
        assert!(
            matches!(
                err.kind(),
                ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
            ),
            "{err:?}"
        );
    });
}

async fn echo_line(mut reader: StreamReader, writer: StreamWriter) {
    let line = reader.readline().await.unwrap();
    writer.write(&line);
    writer.drain().await.unwrap();
    writer.close();
    writer.wait_closed().await.unwrap();
}

#[test]
fn test_start_server() {
    let lp = support::virtual_loop();
    lp.run_until_complete(async {
        let server = start_server(echo_line, "127.0.0.1:0").await.unwrap();
        assert!(server.is_serving());
        let (mut reader, writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
        writer.write(b"hello world!\n");
        assert_eq!(reader.readline().await.unwrap(), b"hello world!\n");
        assert_eq!(writer.peer_addr().unwrap(), server.local_addr().unwrap());
        writer.close();
        writer.wait_closed().await.unwrap();
        server.close();
        assert!(!server.is_serving());
        server.wait_closed().await;
        assert_eq!(server.connections(), 0);
    })
    .unwrap();
    assert_eq!(lp.io_sources(), 0);
}

#[test]
fn server_wait_closed_waits_for_running_handlers() {
    run(async {
        let finished = Rc::new(Cell::new(false));
        let f = finished.clone();
        let server = start_server(
            move |mut reader: StreamReader, writer: StreamWriter| {
                let f = f.clone();
                async move {
                    // Runs until the client closes.
                    let _ = reader.read_to_end().await;
                    drop(writer);
                    f.set(true);
                }
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let (_reader, writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
        tulipa::sleep(Duration::from_millis(5)).await;
        assert_eq!(server.connections(), 1);
        server.close();
        let closer = tulipa::spawn(async move {
            tulipa::sleep(Duration::from_millis(5)).await;
            drop(writer);
        });
        server.wait_closed().await;
        assert!(finished.get());
        closer.await.unwrap();
    });
}

#[test]
fn peer_reset_mid_stream_reaches_the_reader_as_an_error_and_drain_fails() {
    run(async {
        let listener = tulipa::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (mut reader, writer) = open_connection(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        server
            .write_all(b"partial line without newline")
            .await
            .unwrap();
        writer.write(b"data the server never reads");
        tulipa::sleep(Duration::from_millis(5)).await;
        // Closing with unread data makes the kernel send a reset.
        drop(server);
        let err = match reader.readline().await {
            Err(ReadError::Io(e)) => e,
            Ok(line) if line.is_empty() => panic!("EOF instead of a reset"),
            other => panic!("{other:?}"),
        };
        assert_eq!(err.kind(), ErrorKind::ConnectionReset);
        let err = loop {
            writer.write(&[0; 64 * 1024]);
            if let Err(e) = writer.drain().await {
                break e;
            }
        };
        assert!(
            matches!(
                err.kind(),
                ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
            ),
            "{err:?}"
        );
    });
}

/// The writer half of a socket pair made on `lp`, and the peer socket.
fn writer_on(lp: &tulipa::EventLoop) -> (StreamWriter, UnixStream) {
    lp.run_until_complete(async {
        let (a, b) = UnixStream::pair().unwrap();
        let (reader, writer) = a.into_split();
        std::mem::forget(reader);
        (writer, b)
    })
    .unwrap()
}

#[test]
fn drain_after_a_write_outside_any_loop_flushes_instead_of_hanging() {
    let lp = tulipa::EventLoop::new().unwrap();
    let (writer, peer) = writer_on(&lp);
    writer.write(&vec![1; 4 << 20]); // no loop runs: no flusher can start
    assert!(writer.write_buffer_size() > 0);
    let (drained, len) = lp
        .run_until_complete(async move {
            let (mut reader, _w) = peer.into_split();
            let reading = tulipa::spawn(async move { reader.read_to_end().await });
            // Watchdog: a lost flush fails the test instead of hanging it.
            let drained = tulipa::wait_for(writer.drain(), Duration::from_secs(30)).await;
            drop(writer);
            (drained, reading.await.unwrap().unwrap().len())
        })
        .unwrap();
    assert!(matches!(drained, Ok(Ok(()))), "{drained:?}");
    assert_eq!(len, 4 << 20);
}

#[test]
fn close_on_a_loop_flushes_what_was_written_outside_any_loop() {
    let lp = tulipa::EventLoop::new().unwrap();
    let (writer, peer) = writer_on(&lp);
    writer.write(&vec![2; 4 << 20]);
    let len = lp
        .run_until_complete(async move {
            let (mut reader, _w) = peer.into_split();
            let reading = tulipa::spawn(async move { reader.read_to_end().await });
            writer.close();
            let closed = tulipa::wait_for(writer.wait_closed(), Duration::from_secs(30)).await;
            assert!(matches!(closed, Ok(Ok(()))), "{closed:?}");
            reading.await.unwrap().unwrap().len()
        })
        .unwrap();
    assert_eq!(len, 4 << 20);
}
