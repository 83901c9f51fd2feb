//! WebSockets that another server owns: an ASGI server (uvicorn), aiohttp, or any host that
//! does the WebSocket handshake and framing itself and hands over whole messages.
//!
//! [`crate::Server::accept_websocket`] answers the upgrade request and, when it is accepted,
//! returns a [`WebSocketLink`]: the host forwards the messages it reads to the link and
//! writes what the link gives back, until either side closes.

use std::io;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::proto::engineio::{CloseReason, Packet, WsFrame};
use crate::proto::websocket::close_code;

/// How many messages may wait in each direction before the sender waits.
const LINK_CAPACITY: usize = 64;

/// One WebSocket message between the engine and the server that owns the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsMessage {
    /// A text message (UTF-8).
    Text(Bytes),
    /// A binary message.
    Binary(Bytes),
    /// The socket closes, with this close code (1000 normal, 1009 message too big, …).
    Close(u16),
}

/// The host's end of a WebSocket carried by another server (see
/// [`crate::Server::accept_websocket`]).
///
/// Forward every message read from the client with [`WebSocketLink::send`], and write
/// every message [`WebSocketLink::recv`] returns to the client. When `recv` returns
/// [`WsMessage::Close`] or `None`, close the socket; when the client goes away, drop the
/// link (or send [`WsMessage::Close`]).
#[derive(Debug)]
pub struct WebSocketLink {
    to_engine: mpsc::Sender<WsMessage>,
    from_engine: mpsc::Receiver<WsMessage>,
}

/// The link was closed by the engine: the session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the websocket session is closed")]
pub struct LinkClosed;

impl WebSocketLink {
    /// Hands a message from the client to the engine; waits while the engine is behind.
    pub async fn send(&self, message: WsMessage) -> Result<(), LinkClosed> {
        self.to_engine.send(message).await.map_err(|_| LinkClosed)
    }

    /// The sending half alone, for a host that reads on one task and writes on another.
    pub fn sender(&self) -> WebSocketSender {
        WebSocketSender(self.to_engine.clone())
    }

    /// The next message for the client; `None` once the engine let go of the socket.
    pub async fn recv(&mut self) -> Option<WsMessage> {
        self.from_engine.recv().await
    }

    /// Every message for the client that is ready now, without waiting (appended to `out`).
    pub fn recv_ready(&mut self, out: &mut Vec<WsMessage>) -> bool {
        let mut open = true;
        loop {
            match self.from_engine.try_recv() {
                Ok(message) => out.push(message),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        open
    }
}

/// The sending half of a [`WebSocketLink`].
#[derive(Debug, Clone)]
pub struct WebSocketSender(mpsc::Sender<WsMessage>);

impl WebSocketSender {
    /// Hands a message from the client to the engine; waits while the engine is behind.
    pub async fn send(&self, message: WsMessage) -> Result<(), LinkClosed> {
        self.0.send(message).await.map_err(|_| LinkClosed)
    }
}

/// The engine's end of a carried WebSocket.
#[derive(Debug)]
pub(crate) struct ChannelWs {
    incoming: mpsc::Receiver<WsMessage>,
    outgoing: mpsc::Sender<WsMessage>,
    max_payload: usize,
}

/// Where an accepted carried WebSocket waits for the HTTP layer to take it (a request
/// extension set by [`crate::Server::accept_websocket`]).
#[derive(Clone)]
pub(crate) struct LinkSlot(pub(crate) Arc<Mutex<Option<ChannelWs>>>);

impl LinkSlot {
    /// Takes the engine's end (once).
    pub(crate) fn take(&self, max_payload: usize) -> Option<super::WsStream> {
        let mut channel = self.0.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        channel.max_payload = max_payload;
        Some(super::WsStream::Channel(channel))
    }
}

/// A new link: the host's end and the slot holding the engine's end.
pub(crate) fn pair() -> (WebSocketLink, LinkSlot) {
    let (to_engine, incoming) = mpsc::channel(LINK_CAPACITY);
    let (outgoing, from_engine) = mpsc::channel(LINK_CAPACITY);
    let engine = ChannelWs {
        incoming,
        outgoing,
        max_payload: usize::MAX,
    };
    (
        WebSocketLink {
            to_engine,
            from_engine,
        },
        LinkSlot(Arc::new(Mutex::new(Some(engine)))),
    )
}

impl ChannelWs {
    /// The next message from the client as an Engine.IO packet. Cancel-safe.
    pub(crate) async fn next_message(&mut self) -> Result<Packet, CloseReason> {
        let message = self.incoming.recv().await;
        let (text, payload) = match message {
            Some(WsMessage::Text(payload)) => (true, payload),
            Some(WsMessage::Binary(payload)) => (false, payload),
            Some(WsMessage::Close(_)) | None => return Err(CloseReason::TransportClose),
        };
        if payload.len() > self.max_payload {
            Box::pin(self.close(close_code::MESSAGE_TOO_BIG)).await;
            return Err(CloseReason::TransportError);
        }
        if !text {
            return Ok(Packet::Binary(payload));
        }
        if std::str::from_utf8(&payload).is_err() {
            Box::pin(self.close(close_code::INVALID_PAYLOAD)).await;
            return Err(CloseReason::TransportError);
        }
        Packet::decode_text_frame(payload).map_err(|_| CloseReason::ParseError)
    }

    /// Hands `packets` to the host, in order.
    pub(crate) async fn write_all(&mut self, packets: Vec<(Packet, bool)>) -> io::Result<()> {
        for (packet, _compress) in packets {
            // As over our own sockets, a server-side close is the close message alone.
            if packet == Packet::Close {
                continue;
            }
            let message = match packet.to_ws_frame() {
                WsFrame::Text(text) => WsMessage::Text(text),
                WsFrame::Binary(bytes) => WsMessage::Binary(bytes),
            };
            self.outgoing
                .send(message)
                .await
                .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        }
        Ok(())
    }

    /// Tells the host to close the socket with `code` (waiting at most a second for room).
    pub(crate) async fn close(&mut self, code: u16) {
        let _ = tokio::time::timeout(
            super::CLOSE_WAIT,
            self.outgoing.send(WsMessage::Close(code)),
        )
        .await;
    }
}
