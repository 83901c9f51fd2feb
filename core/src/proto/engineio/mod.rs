//! Engine.IO protocol v4: packets, polling payloads, the handshake, request classification
//! and the per-session state machine.

pub mod client;
mod handshake;
mod packet;
pub mod payload;
mod request;
mod session;

pub use client::{ClientEvent, ClientSession};
pub use handshake::Handshake;
pub use packet::{Packet, PacketType, TextFrame, WsFrame};
pub use request::{EngineQuery, RequestError, RequestKind, Transport, classify, query_pairs};
pub use session::{SendError, Session, SessionConfig, SessionEvent};

/// A malformed Engine.IO packet or payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An empty packet (or an empty entry in a polling payload).
    #[error("empty packet")]
    EmptyPacket,
    /// The first byte is not a packet type digit.
    #[error("unknown packet type {0:#04x}")]
    UnknownPacketType(u8),
    /// A `b` entry whose base64 does not decode.
    #[error("invalid base64 in binary packet")]
    InvalidBase64,
    /// A text entry that is not UTF-8.
    #[error("text packet is not valid UTF-8")]
    InvalidUtf8,
}

/// Why an Engine.IO session ended, with engine.io's reason strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The client closed the transport or sent `close`.
    TransportClose,
    /// The transport failed, or the client broke the protocol.
    TransportError,
    /// The client did not answer a ping in time.
    PingTimeout,
    /// The client sent a packet that does not decode.
    ParseError,
    /// The server closed the session.
    ForcedClose,
    /// The server is shutting down.
    ServerShuttingDown,
}

impl CloseReason {
    /// engine.io's string for this reason (also Socket.IO's disconnect reason).
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError => "transport error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ParseError => "parse error",
            CloseReason::ForcedClose => "forced close",
            CloseReason::ServerShuttingDown => "server shutting down",
        }
    }
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
