//! Socket.IO protocol v5: packets, the default parser, and the server connection state.

mod ack;
pub mod client;
mod connection;
#[cfg(feature = "msgpack")]
pub mod msgpack;
mod packet;
mod parser;

pub use ack::AckTracker;
pub use connection::{ConnectionEvent, ProtocolError, ServerConnection};
pub use packet::{Encoded, Packet, PacketData, PacketType};
pub use parser::{DEFAULT_MAX_ATTACHMENTS, DecodeError, Decoder, Parser, RESERVED_EVENTS};
