//! UDP sockets: send_to / recv_from on 127.0.0.1.
mod support;

use std::time::Duration;

use tulipa::net::UdpSocket;

#[test]
fn send_to_and_recv_from_round_trip_with_sender_address() {
    let lp = support::virtual_loop();
    lp.run_until_complete(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        for i in 0..10u8 {
            a.send_to(&[i; 3], b.local_addr().unwrap()).await.unwrap();
        }
        let mut buf = [0; 16];
        for i in 0..10u8 {
            let (n, from) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &[i; 3]);
            assert_eq!(from, a.local_addr().unwrap());
        }
    })
    .unwrap();
    assert_eq!(lp.io_sources(), 0);
}

#[test]
fn recv_from_waits_for_a_datagram_sent_later() {
    support::virtual_loop()
        .run_until_complete(async {
            let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let to = b.local_addr().unwrap();
            let sender = tulipa::spawn(async move {
                tulipa::sleep(Duration::from_millis(5)).await;
                a.send_to(b"late", to).await.unwrap();
            });
            let mut buf = [0; 8];
            let (n, _) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"late");
            sender.await.unwrap();
        })
        .unwrap();
}

#[test]
fn a_datagram_longer_than_the_buffer_is_truncated() {
    support::virtual_loop()
        .run_until_complete(async {
            let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            a.send_to(b"0123456789", b.local_addr().unwrap())
                .await
                .unwrap();
            let mut buf = [0; 4];
            let (n, _) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"0123");
        })
        .unwrap();
}

#[test]
fn recv_from_cancelled_midway_loses_no_datagram() {
    support::virtual_loop()
        .run_until_complete(async {
            let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let b = std::rc::Rc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
            let b2 = b.clone();
            let waiting = tulipa::spawn(async move {
                let mut buf = [0; 8];
                b2.recv_from(&mut buf).await.map(|(n, _)| n)
            });
            tulipa::yield_now().await;
            waiting.cancel();
            assert!(waiting.await.unwrap_err().is_cancelled());
            a.send_to(b"kept", b.local_addr().unwrap()).await.unwrap();
            let mut buf = [0; 8];
            let (n, _) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"kept");
        })
        .unwrap();
}
