//! The WebSocket transport: our own codec ([`crate::proto::websocket`]) over the upgraded
//! TCP stream, with optional permessage-deflate; or whole messages exchanged with another
//! server that owns the socket (an ASGI or aiohttp app), see [`WebSocketLink`].
//!
//! An idle connection holds no buffer: reads wait for readiness before taking one, and a
//! drained read buffer is given back.

mod deflate;
mod link;

pub(crate) use link::pair as link_pair;
pub(crate) use link::{ChannelWs, LinkSlot};
pub use link::{LinkClosed, WebSocketLink, WebSocketSender, WsMessage};

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, Interest, ReadBuf};
use tokio::net::TcpStream;

use super::prefixed::Prefixed;
use crate::proto::engineio::{CloseReason, Packet, WsFrame};
use crate::proto::websocket::{
    Incoming, MessageReader, Opcode, ProtocolError, Role, close_code, encode_frame, encode_header,
};

/// Bytes of outgoing frames gathered before they are written in one call.
const WRITE_BATCH: usize = 16 * 1024;

/// The smallest read: most Engine.IO messages fit, and large frames read what they need.
const READ_CHUNK: usize = 2 * 1024;

/// How one WebSocket is set up: the message size limit and, when the client's
/// permessage-deflate offer was accepted, the size from which messages are compressed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WsSettings {
    /// `maxHttpBufferSize`: the largest message accepted, inflated.
    pub(crate) max_payload: usize,
    /// `Some(threshold)` when permessage-deflate is on for this connection.
    pub(crate) deflate_threshold: Option<usize>,
}

/// A server-side WebSocket: framed by us over a byte stream, or carried as whole messages
/// by another server.
#[derive(Debug)]
pub(crate) enum WsStream {
    /// Our codec over the connection's bytes.
    Framed(FramedWs),
    /// Messages exchanged with the server that owns the socket.
    Channel(ChannelWs),
}

/// A WebSocket framed by our codec.
#[derive(Debug)]
pub(crate) struct FramedWs {
    io: WsIo,
    read: BytesMut,
    reader: MessageReader,
    settings: WsSettings,
    /// Pong and close frames waiting to be written.
    control: Vec<u8>,
    close_sent: bool,
}

/// The byte stream under a WebSocket: the TCP stream itself when hyper served it from our
/// own listener or from a connection handed over with `Server::serve_connection` (no
/// boxing, and hyper's 8 KiB read buffer is released), otherwise hyper's
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

/// Wraps the connection hyper upgraded into a server WebSocket (the handshake answer has
/// been sent already).
pub(crate) fn from_upgraded(upgraded: Upgraded, settings: WsSettings) -> WsStream {
    let (io, read) = match upgraded.downcast::<TokioIo<TcpStream>>() {
        Ok(parts) => (
            WsIo::Tcp(parts.io.into_inner()),
            BytesMut::from(&parts.read_buf[..]),
        ),
        // A connection handed over with its first bytes (`Server::serve_connection`): what
        // hyper read but did not parse comes first, then what it had not read of the prefix.
        Err(upgraded) => match upgraded.downcast::<TokioIo<Prefixed<TcpStream>>>() {
            Ok(parts) => {
                let (unread, tcp) = parts.io.into_inner().into_parts();
                let mut read = BytesMut::from(&parts.read_buf[..]);
                read.extend_from_slice(&unread);
                (WsIo::Tcp(tcp), read)
            }
            Err(upgraded) => (WsIo::Upgraded(TokioIo::new(upgraded)), BytesMut::new()),
        },
    };
    WsStream::Framed(FramedWs {
        io,
        read,
        reader: MessageReader::new(
            Role::Server,
            settings.max_payload,
            settings.deflate_threshold.is_some(),
        ),
        settings,
        control: Vec::new(),
        close_sent: false,
    })
}

impl FramedWs {
    /// Reads more bytes into the read buffer; `Ok(0)` at end of stream. Cancel-safe.
    async fn fill(&mut self) -> io::Result<usize> {
        let wanted = self.reader.bytes_wanted(&self.read).max(READ_CHUNK);
        match &mut self.io {
            WsIo::Tcp(tcp) => loop {
                // Wait without a buffer: idle connections keep none.
                tcp.readable().await?;
                self.read.reserve(wanted);
                let room = self.read.capacity() - self.read.len();
                let read = &mut self.read;
                let mut drained = None;
                let result = tcp.try_io(Interest::READABLE, || {
                    let n = tcp.try_read_buf(read)?;
                    if n > 0 && n < room {
                        // A read that did not fill the buffer emptied the socket: report
                        // `WouldBlock` so that tokio clears the readiness now, rather than
                        // after one more `recv` that would say so. Data arriving later is
                        // a new edge, and a peer's close stays ready.
                        drained = Some(n);
                        return Err(io::ErrorKind::WouldBlock.into());
                    }
                    Ok(n)
                });
                match (result, drained) {
                    (_, Some(n)) => return Ok(n),
                    (Err(e), None) if e.kind() == io::ErrorKind::WouldBlock => {
                        // Readiness was stale: wait again without the buffer.
                        if self.read.is_empty() {
                            self.read = BytesMut::new();
                        }
                    }
                    (result, None) => return result,
                }
            },
            WsIo::Upgraded(io) => {
                self.read.reserve(wanted);
                io.read_buf(&mut self.read).await
            }
        }
    }

    /// Writes the pending control frames. Cancel-safe: what was written is removed.
    async fn flush_control(&mut self) -> io::Result<()> {
        while !self.control.is_empty() {
            let n = self.io.write(&self.control).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            self.control.drain(..n);
        }
        self.control = Vec::new();
        Ok(())
    }

    fn queue_close(&mut self, code: Option<u16>) {
        if !self.close_sent {
            self.close_sent = true;
            let payload = code.map(u16::to_be_bytes);
            encode_frame(
                &mut self.control,
                Opcode::Close,
                false,
                payload.as_ref().map_or(&[][..], |p| &p[..]),
            );
        }
    }

    /// Refuses the peer's bytes: a close frame with the error's code, then the end.
    async fn fail(&mut self, error: ProtocolError) -> CloseReason {
        tracing::debug!(%error, "closing websocket");
        self.queue_close(Some(error.code));
        let _ = tokio::time::timeout(CLOSE_WAIT, self.flush_control()).await;
        CloseReason::TransportError
    }

    /// The payload of a message, inflated if it was compressed.
    fn inflated(&self, compressed: bool, payload: Bytes) -> Result<Bytes, ProtocolError> {
        if !compressed {
            return Ok(payload);
        }
        deflate::inflate(&payload, self.settings.max_payload)
            .map(Bytes::from)
            .map_err(|error| match error {
                deflate::InflateError::TooBig => ProtocolError::TOO_BIG,
                deflate::InflateError::Corrupt => ProtocolError {
                    code: close_code::INVALID_PAYLOAD,
                    reason: "invalid compressed data",
                },
            })
    }

    /// Reads the next data message (answering pings on the way).
    async fn next_message(&mut self) -> Result<Packet, CloseReason> {
        loop {
            if !self.control.is_empty() {
                self.flush_control()
                    .await
                    .map_err(|_| CloseReason::TransportError)?;
            }
            let input = match self.reader.read(&mut self.read) {
                Ok(input) => input,
                Err(error) => return Err(Box::pin(self.fail(error)).await),
            };
            if self.read.is_empty() && self.read.capacity() > 0 {
                self.read = BytesMut::new();
            }
            match input {
                Some(Incoming::Message {
                    text,
                    compressed,
                    payload,
                }) => {
                    let payload = match self.inflated(compressed, payload) {
                        Ok(payload) => payload,
                        Err(error) => return Err(Box::pin(self.fail(error)).await),
                    };
                    if !text {
                        return Ok(Packet::Binary(payload));
                    }
                    if std::str::from_utf8(&payload).is_err() {
                        let error = ProtocolError {
                            code: close_code::INVALID_PAYLOAD,
                            reason: "text message is not UTF-8",
                        };
                        return Err(Box::pin(self.fail(error)).await);
                    }
                    return Packet::decode_text_frame(payload).map_err(|_| CloseReason::ParseError);
                }
                Some(Incoming::Ping(payload)) => {
                    encode_frame(&mut self.control, Opcode::Pong, false, &payload);
                }
                Some(Incoming::Pong) => {}
                Some(Incoming::Close(code)) => {
                    self.queue_close(Some(code.unwrap_or(close_code::NORMAL)));
                    let _ = Box::pin(tokio::time::timeout(CLOSE_WAIT, self.flush_control())).await;
                    return Err(CloseReason::TransportClose);
                }
                None => match self.fill().await {
                    Ok(0) => return Err(CloseReason::TransportClose),
                    Ok(_) => {}
                    Err(_) => return Err(CloseReason::TransportError),
                },
            }
        }
    }

    /// Appends one data frame to `out`, compressed when permessage-deflate is on, the
    /// packet may be compressed and the payload reaches the threshold.
    fn encode_message(&self, out: &mut Vec<u8>, frame: WsFrame, compress: bool) {
        let (opcode, payload) = match frame {
            WsFrame::Text(bytes) => (Opcode::Text, bytes),
            WsFrame::Binary(bytes) => (Opcode::Binary, bytes),
        };
        match self.settings.deflate_threshold {
            Some(threshold) if compress && payload.len() >= threshold => {
                encode_frame(out, opcode, true, &deflate::compress(&payload));
            }
            _ => {
                encode_header(out, opcode, false, payload.len(), None);
                out.extend_from_slice(&payload);
            }
        }
    }
}

/// How long a closing handshake may take before the socket is dropped anyway.
pub(crate) const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Reads the next data message, or why the socket can no longer be read. Never completes
/// when there is no socket.
pub(crate) async fn next_packet(ws: Option<&mut WsStream>) -> Result<Packet, CloseReason> {
    match ws {
        Some(WsStream::Framed(ws)) => ws.next_message().await,
        Some(WsStream::Channel(ws)) => ws.next_message().await,
        None => std::future::pending().await,
    }
}

/// Writes `packets` (each with whether it may be compressed) as one batch: frames are
/// gathered into writes of up to 16 KiB (the driver splits a batch after a CONNECT reply;
/// see `driver::CONNECT_REPLY_GAP`).
pub(crate) async fn write_all(ws: &mut WsStream, packets: Vec<(Packet, bool)>) -> io::Result<()> {
    match ws {
        WsStream::Framed(ws) => write_framed(ws, packets).await,
        // Boxed: carried sockets are the rare case, and the driver's future keeps the space
        // of the largest write future for every idle session.
        WsStream::Channel(ws) => Box::pin(ws.write_all(packets)).await,
    }
}

async fn write_framed(ws: &mut FramedWs, packets: Vec<(Packet, bool)>) -> io::Result<()> {
    let mut out = std::mem::take(&mut ws.control);
    // As engine.io, a server-side close over WebSocket is the close frame alone (the `1`
    // packet is for long-polling): python-socketio reports the two differently.
    for (packet, compress) in packets {
        if packet == Packet::Close {
            continue;
        }
        ws.encode_message(&mut out, packet.to_ws_frame(), compress);
        if out.len() >= WRITE_BATCH {
            ws.io.write_all(&out).await?;
            out.clear();
        }
    }
    if !out.is_empty() {
        ws.io.write_all(&out).await?;
    }
    ws.io.flush().await
}

/// Sends a close frame, giving the peer one second to take it, then drops the socket.
pub(crate) async fn close(ws: Option<WsStream>) {
    match ws {
        Some(WsStream::Framed(ws)) => close_framed(ws).await,
        Some(WsStream::Channel(mut ws)) => ws.close(close_code::NORMAL).await,
        None => {}
    }
}

async fn close_framed(mut ws: FramedWs) {
    ws.queue_close(None);
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        ws.flush_control().await?;
        ws.io.shutdown().await
    })
    .await;
}
