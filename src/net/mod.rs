//! Network I/O on the loop's selector: readiness callbacks on raw fds,
//! TCP, UDP and Unix-domain sockets, and asyncio-style buffered streams.
//!
//! | asyncio | tulipa |
//! |---|---|
//! | `loop.add_reader / add_writer / remove_reader / remove_writer` | [`EventLoop::add_reader`](crate::EventLoop::add_reader) and friends |
//! | `loop.sock_accept / sock_connect / sock_recv / sock_sendall` | [`TcpListener::accept`], [`TcpStream::connect`], [`TcpStream::read`], [`TcpStream::write_all`] |
//! | `loop.sock_sendto / sock_recvfrom` | [`UdpSocket::send_to`], [`UdpSocket::recv_from`] |
//! | `asyncio.open_connection / start_server` | [`open_connection`], [`start_server`] → [`Server`] |
//! | `start_server(..., backlog=, reuse_address=, reuse_port=)` / `sock=` | [`ListenOptions`] / [`start_server_on`] |
//! | `open_connection(..., happy_eyeballs_delay=, interleave=)` | [`ConnectOptions`] |
//! | `Server.close_clients / abort_clients` | [`Server::close_clients`], [`Server::abort_clients`] |
//! | `loop.getaddrinfo` (in the executor) | what [`ToSocketAddrs`] does with a name |
//! | `open_unix_connection / start_unix_server` | [`open_unix_connection`], [`start_unix_server`] |
//! | `StreamReader.read / readline / readexactly / readuntil / at_eof` | [`StreamReader`], same names |
//! | `StreamWriter.write / drain / close / wait_closed` | [`StreamWriter`], same names |
//! | `IncompleteReadError / LimitOverrunError` | [`ReadError::IncompleteRead`], [`ReadError::LimitOverrun`] |
//!
//! Every socket registers with the loop running when it is made and stays
//! on that thread (`!Send`). A socket operation that would block parks its
//! task on the socket's readiness; the loop's selector wakes it (see
//! [`runtime`](crate::runtime), step 3). A socket awaited on another loop
//! of its thread (one runs at a time), or after its own loop closed, moves
//! its registration to the loop that polls it when it would park; polled
//! with no tulipa loop running, it fails with an `io::Error` of kind
//! `Other` rather than park forever. `add_reader` registrations belong to
//! the loop they were added on, as in asyncio, and a closed loop refuses
//! them.
//!
//! Names (`"localhost:8080"`) are resolved in the executor
//! ([`ToSocketAddrs`]); listeners queue 1024 connections
//! ([`ListenOptions`]); connections may race their addresses
//! ([`ConnectOptions`], RFC 8305). With the `futures-io` feature the
//! stream sockets implement `futures_io::AsyncRead` / `AsyncWrite`.
//!
//! ```
//! use tulipa::net::{open_connection, start_server};
//!
//! tulipa::run(async {
//!     let server = start_server(
//!         |mut reader, writer| async move {
//!             while let Ok(line) = reader.readline().await {
//!                 if line.is_empty() {
//!                     break;
//!                 }
//!                 writer.write(b"Got: ");
//!                 writer.write(&line);
//!                 if writer.drain().await.is_err() {
//!                     break;
//!                 }
//!             }
//!         },
//!         "127.0.0.1:0",
//!     )
//!     .await?;
//!     let (mut reader, writer) = open_connection(server.local_addr()?).await?;
//!     writer.write(b"hello\n");
//!     assert_eq!(reader.readline().await.unwrap(), b"Got: hello\n");
//!     Ok::<_, std::io::Error>(())
//! })
//! .unwrap()
//! .unwrap();
//! ```

mod addr;
mod conn;
mod connect;
mod error;
#[cfg(unix)]
mod fd;
#[cfg(feature = "futures-io")]
mod futures_io;
mod io_source;
mod listen;
#[cfg(all(unix, feature = "process"))]
pub(crate) mod pipe;
mod server;
mod stream_reader;
mod stream_writer;
#[cfg(unix)]
pub(crate) mod sys;
mod tcp_listener;
mod tcp_stream;
mod udp;
#[cfg(unix)]
mod unix_listener;
#[cfg(unix)]
mod unix_stream;

pub use addr::ToSocketAddrs;
#[cfg(feature = "tls")]
pub(crate) use conn::{Conn, CustomConn};
#[cfg(unix)]
pub use connect::open_unix_connection;
pub use connect::{open_connection, ConnectOptions};
pub use error::ReadError;
pub use listen::{ListenOptions, DEFAULT_BACKLOG};
pub use server::{start_server, start_server_on, Server};
#[cfg(unix)]
pub use server::{start_unix_server, start_unix_server_on};
#[cfg(feature = "tls")]
pub(crate) use stream_reader::split;
pub use stream_reader::{StreamReader, DEFAULT_LIMIT};
pub use stream_writer::{StreamWriter, DEFAULT_HIGH_WATER};
pub use tcp_listener::TcpListener;
pub use tcp_stream::TcpStream;
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix_listener::UnixListener;
#[cfg(unix)]
pub use unix_stream::UnixStream;
