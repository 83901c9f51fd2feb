//! The WebSocket transport: the stream type, its settings, and frame-level reads and writes.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};

use crate::proto::engineio::{CloseReason, Packet, WsFrame};

/// A server-side WebSocket.
pub(crate) type WsStream = WebSocketStream<WsIo>;

/// The byte stream under a WebSocket: the TCP stream itself when hyper served it from our
/// own listener (no boxing, and hyper's 8 KiB read buffer is released), otherwise hyper's
/// type-erased upgraded connection (e.g. when mounted in an axum app with another I/O type).
#[derive(Debug)]
pub(crate) enum WsIo {
    Tcp(TcpStream),
    Upgraded(TokioIo<Upgraded>),
}

impl AsyncRead for WsIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WsIo::Tcp(io) => Pin::new(io).poll_read(cx, buf),
            WsIo::Upgraded(io) => Pin::new(io).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for WsIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WsIo::Tcp(io) => Pin::new(io).poll_write(cx, buf),
            WsIo::Upgraded(io) => Pin::new(io).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WsIo::Tcp(io) => Pin::new(io).poll_flush(cx),
            WsIo::Upgraded(io) => Pin::new(io).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WsIo::Tcp(io) => Pin::new(io).poll_shutdown(cx),
            WsIo::Upgraded(io) => Pin::new(io).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WsIo::Tcp(io) => Pin::new(io).poll_write_vectored(cx, bufs),
            WsIo::Upgraded(io) => Pin::new(io).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            WsIo::Tcp(io) => io.is_write_vectored(),
            WsIo::Upgraded(io) => io.is_write_vectored(),
        }
    }
}

/// Bytes of outgoing frames gathered before they are written in one call; [`write_all`]
/// flushes at the end of every batch anyway.
const WRITE_BATCH: usize = 16 * 1024;

/// WebSocket settings sized for many idle connections: a small read buffer, outgoing
/// frames gathered into one write per batch, and messages capped at `maxHttpBufferSize`.
pub(crate) fn ws_config(max_payload: u64) -> WebSocketConfig {
    let max = usize::try_from(max_payload).unwrap_or(usize::MAX);
    WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(WRITE_BATCH)
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
}

/// Wraps the connection hyper upgraded into a server WebSocket (the handshake answer has
/// been sent already).
pub(crate) async fn from_upgraded(upgraded: Upgraded, max_payload: u64) -> WsStream {
    let config = Some(ws_config(max_payload));
    match upgraded.downcast::<TokioIo<TcpStream>>() {
        Ok(parts) if parts.read_buf.is_empty() => {
            WebSocketStream::from_raw_socket(WsIo::Tcp(parts.io.into_inner()), Role::Server, config)
                .await
        }
        Ok(parts) => {
            WebSocketStream::from_partially_read(
                WsIo::Tcp(parts.io.into_inner()),
                parts.read_buf.to_vec(),
                Role::Server,
                config,
            )
            .await
        }
        Err(upgraded) => {
            WebSocketStream::from_raw_socket(
                WsIo::Upgraded(TokioIo::new(upgraded)),
                Role::Server,
                config,
            )
            .await
        }
    }
}

fn to_message(frame: WsFrame) -> Option<Message> {
    match frame {
        WsFrame::Text(bytes) => Utf8Bytes::try_from(bytes).ok().map(Message::Text),
        WsFrame::Binary(bytes) => Some(Message::Binary(bytes)),
    }
}

/// Reads the next data message, or why the socket can no longer be read. Never completes
/// when there is no socket.
pub(crate) async fn next_packet<S>(ws: Option<&mut S>) -> Result<Packet, CloseReason>
where
    S: futures_util::Stream<Item = Result<Message, tungstenite::Error>> + Unpin,
{
    let Some(ws) = ws else {
        return std::future::pending().await;
    };
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                return Packet::decode_text_frame(Bytes::from(text))
                    .map_err(|_| CloseReason::ParseError);
            }
            Some(Ok(Message::Binary(data))) => return Ok(Packet::Binary(data)),
            Some(Ok(Message::Close(_))) | None => return Err(CloseReason::TransportClose),
            Some(Ok(_)) => continue, // ping/pong frames are answered by tungstenite
            Some(Err(tungstenite::Error::ConnectionClosed)) => {
                return Err(CloseReason::TransportClose);
            }
            Some(Err(_)) => return Err(CloseReason::TransportError),
        }
    }
}

/// Writes `packets` as one batch: frames are gathered into writes of up to 16 KiB and
/// flushed together (the driver splits a batch after a CONNECT reply; see
/// `driver::CONNECT_REPLY_GAP`).
pub(crate) async fn write_all(
    ws: &mut WsStream,
    packets: Vec<Packet>,
) -> Result<(), tungstenite::Error> {
    // As engine.io, a server-side close over WebSocket is the close frame alone (the `1`
    // packet is for long-polling): python-socketio reports the two differently.
    for packet in packets {
        if packet == Packet::Close {
            continue;
        }
        if let Some(message) = to_message(packet.to_ws_frame()) {
            ws.feed(message).await?;
        }
    }
    ws.flush().await
}

/// Sends a close frame, giving the peer one second, then drops the socket.
pub(crate) async fn close(ws: Option<WsStream>) {
    if let Some(mut ws) = ws {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), ws.close(None)).await;
    }
}
