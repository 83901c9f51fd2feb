//! The default Socket.IO parser's decoder, with socket.io-parser's validation rules.

use bytes::Bytes;

use super::packet::{Packet, PacketData, PacketType};
use crate::proto::value::Value;

/// Event names a peer may not send: they are reserved for local events.
pub const RESERVED_EVENTS: &[&str] = &[
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// socket.io-parser's default limit on binary attachments per packet.
pub const DEFAULT_MAX_ATTACHMENTS: usize = 10;

/// Why a packet does not decode; the connection that sent it is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Empty text.
    #[error("empty packet")]
    Empty,
    /// The first character is not a packet type.
    #[error("unknown packet type {0}")]
    UnknownType(char),
    /// The attachment count is malformed.
    #[error("illegal attachments")]
    IllegalAttachments,
    /// More attachments than allowed.
    #[error("too many attachments")]
    TooManyAttachments,
    /// The JSON does not parse, or has the wrong shape for the packet type.
    #[error("invalid payload")]
    InvalidPayload,
    /// A text packet arrived while binary attachments were expected.
    #[error("got plaintext data when reconstructing a packet")]
    UnexpectedText,
    /// Binary data arrived when no attachment was expected.
    #[error("got binary data when not reconstructing a packet")]
    UnexpectedBinary,
    /// The ack id does not fit in 64 bits.
    #[error("invalid ack id")]
    InvalidId,
}

/// Which Socket.IO parser a server and its clients use (socket.io's `parser` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Parser {
    /// socket.io's default parser: JSON text plus binary attachments.
    #[default]
    Default,
    /// npm `socket.io-msgpack-parser`: one MessagePack binary message per packet (feature
    /// `msgpack`, on by default and with the tokio runtime).
    #[cfg(feature = "msgpack")]
    Msgpack,
}

/// Decodes a stream of Engine.IO messages into Socket.IO packets.
///
/// Text messages start packets; a packet announcing N attachments completes after the next N
/// binary messages.
#[derive(Debug)]
pub struct Decoder {
    #[cfg_attr(not(feature = "msgpack"), allow(dead_code))]
    parser: Parser,
    max_attachments: usize,
    /// Boxed: rare, and every connection keeps a decoder.
    pending: Option<Box<PendingBinary>>,
}

#[derive(Debug)]
struct PendingBinary {
    header: Header,
    json: Option<Value>,
    expected: usize,
    received: Vec<Bytes>,
}

#[derive(Debug)]
struct Header {
    kind: PacketType,
    nsp: String,
    id: Option<u64>,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(DEFAULT_MAX_ATTACHMENTS)
    }
}

impl Decoder {
    /// A decoder that accepts at most `max_attachments` attachments per packet.
    pub fn new(max_attachments: usize) -> Decoder {
        Decoder::with_parser(Parser::Default, max_attachments)
    }

    /// A decoder for `parser`.
    pub fn with_parser(parser: Parser, max_attachments: usize) -> Decoder {
        Decoder {
            parser,
            max_attachments,
            pending: None,
        }
    }

    /// True while attachments of a binary packet are awaited.
    pub fn is_reconstructing(&self) -> bool {
        self.pending.is_some()
    }

    /// Decodes a text message; `Ok(None)` when the packet waits for attachments.
    pub fn decode_text(&mut self, text: &str) -> Result<Option<Packet>, DecodeError> {
        #[cfg(feature = "msgpack")]
        if self.parser == Parser::Msgpack {
            return Err(DecodeError::InvalidPayload);
        }
        if self.pending.is_some() {
            return Err(DecodeError::UnexpectedText);
        }
        let (header, attachments, json) = parse_text(text, self.max_attachments)?;
        match attachments {
            Some(expected) if expected > 0 => {
                self.pending = Some(Box::new(PendingBinary {
                    header,
                    json,
                    expected,
                    received: Vec::new(),
                }));
                Ok(None)
            }
            _ => finish(header, json, &[]).map(Some),
        }
    }

    /// Decodes a binary message (an attachment); `Ok(Some)` once the packet is complete.
    pub fn decode_binary(&mut self, data: Bytes) -> Result<Option<Packet>, DecodeError> {
        #[cfg(feature = "msgpack")]
        if self.parser == Parser::Msgpack {
            return super::msgpack::decode(&data).map(Some);
        }
        let pending = self.pending.as_mut().ok_or(DecodeError::UnexpectedBinary)?;
        pending.received.push(data);
        if pending.received.len() < pending.expected {
            return Ok(None);
        }
        let PendingBinary {
            header,
            json,
            received,
            ..
        } = *self.pending.take().expect("pending");
        finish(header, json, &received).map(Some)
    }
}

fn parse_text(
    text: &str,
    max_attachments: usize,
) -> Result<(Header, Option<usize>, Option<Value>), DecodeError> {
    let bytes = text.as_bytes();
    let first = *bytes.first().ok_or(DecodeError::Empty)?;
    let kind = PacketType::from_digit(first).ok_or(DecodeError::UnknownType(first as char))?;
    let mut i = 1;
    let mut attachments = None;
    if matches!(kind, PacketType::BinaryEvent | PacketType::BinaryAck) {
        let start = i;
        while i < bytes.len() && bytes[i] != b'-' {
            i += 1;
        }
        if i >= bytes.len() || i == start || !bytes[start..i].iter().all(u8::is_ascii_digit) {
            return Err(DecodeError::IllegalAttachments);
        }
        let count: usize = text[start..i]
            .parse()
            .map_err(|_| DecodeError::TooManyAttachments)?;
        if count > max_attachments {
            return Err(DecodeError::TooManyAttachments);
        }
        attachments = Some(count);
        i += 1; // the '-'
    }
    let mut nsp = String::from("/");
    if bytes.get(i) == Some(&b'/') {
        let start = i;
        while i < bytes.len() && bytes[i] != b',' {
            i += 1;
        }
        nsp = text[start..i].to_owned();
        if i < bytes.len() {
            i += 1; // the ','
        }
    }
    let mut id = None;
    let digits_start = i;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    if i > digits_start {
        id = Some(
            text[digits_start..i]
                .parse::<u64>()
                .map_err(|_| DecodeError::InvalidId)?,
        );
    }
    let json = if i < bytes.len() {
        Some(Value::from_json_str(&text[i..]).map_err(|_| DecodeError::InvalidPayload)?)
    } else {
        None
    };
    if let Some(payload) = &json
        && !payload_shape_is_valid(kind, payload)
    {
        return Err(DecodeError::InvalidPayload);
    }
    Ok((Header { kind, nsp, id }, attachments, json))
}

/// socket.io-parser's `isPayloadValid`.
fn payload_shape_is_valid(kind: PacketType, payload: &Value) -> bool {
    match kind {
        PacketType::Connect => matches!(payload, Value::Object(_)),
        PacketType::Disconnect => false,
        PacketType::ConnectError => matches!(payload, Value::String(_) | Value::Object(_)),
        PacketType::Event | PacketType::BinaryEvent => match payload {
            Value::Array(items) => match items.first() {
                Some(Value::Number(_)) => true,
                Some(Value::String(name)) => !RESERVED_EVENTS.contains(&name.as_str()),
                _ => false,
            },
            _ => false,
        },
        PacketType::Ack | PacketType::BinaryAck => matches!(payload, Value::Array(_)),
    }
}

fn finish(
    header: Header,
    json: Option<Value>,
    attachments: &[Bytes],
) -> Result<Packet, DecodeError> {
    let json = match json {
        Some(json) if !attachments.is_empty() => Some(
            json.reconstruct(attachments)
                .map_err(|_| DecodeError::IllegalAttachments)?,
        ),
        other => other,
    };
    let Header { kind, nsp, id } = header;
    let data = match kind {
        PacketType::Connect => PacketData::Connect(json),
        PacketType::Disconnect => PacketData::Disconnect,
        PacketType::ConnectError => PacketData::ConnectError(json.unwrap_or_default()),
        PacketType::Event | PacketType::BinaryEvent => {
            let Some(Value::Array(mut items)) = json else {
                return Err(DecodeError::InvalidPayload);
            };
            let event = match items.remove(0) {
                Value::String(name) => name,
                other => other.to_string(),
            };
            PacketData::Event {
                event,
                args: items,
                id,
            }
        }
        PacketType::Ack | PacketType::BinaryAck => {
            let id = id.ok_or(DecodeError::InvalidPayload)?;
            let args = match json {
                Some(Value::Array(items)) => items,
                None => Vec::new(),
                Some(_) => return Err(DecodeError::InvalidPayload),
            };
            PacketData::Ack { args, id }
        }
    };
    Ok(Packet { nsp, data })
}
