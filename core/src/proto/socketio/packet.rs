//! Socket.IO v5 packets and their encoding with the default parser.
//!
//! A packet is encoded as `<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`; binary
//! values are replaced by `{"_placeholder":true,"num":N}` and sent as N separate attachments
//! after the text (socket.io-parser's rules).

use bytes::Bytes;

use crate::proto::value::Value;

/// Socket.IO packet types, as their wire digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// `0`: join a namespace (client), or the confirmation with the socket id (server).
    Connect = 0,
    /// `1`: leave a namespace.
    Disconnect = 1,
    /// `2`: an event.
    Event = 2,
    /// `3`: an acknowledgement.
    Ack = 3,
    /// `4`: the server refused a namespace connection.
    ConnectError = 4,
    /// `5`: an event with binary attachments.
    BinaryEvent = 5,
    /// `6`: an acknowledgement with binary attachments.
    BinaryAck = 6,
}

impl PacketType {
    /// Parses a wire digit.
    pub fn from_digit(digit: u8) -> Option<PacketType> {
        Some(match digit {
            b'0' => PacketType::Connect,
            b'1' => PacketType::Disconnect,
            b'2' => PacketType::Event,
            b'3' => PacketType::Ack,
            b'4' => PacketType::ConnectError,
            b'5' => PacketType::BinaryEvent,
            b'6' => PacketType::BinaryAck,
            _ => return None,
        })
    }
}

/// The content of a Socket.IO packet.
#[derive(Debug, Clone, PartialEq)]
pub enum PacketData {
    /// `CONNECT`: the client's auth payload, or the server's `{"sid": ...}` answer.
    Connect(Option<Value>),
    /// `DISCONNECT`.
    Disconnect,
    /// `EVENT` / `BINARY_EVENT`: an event name, its arguments and an optional ack id.
    Event {
        /// The event name.
        event: String,
        /// The arguments after the name.
        args: Vec<Value>,
        /// The ack id, when the sender waits for an acknowledgement.
        id: Option<u64>,
    },
    /// `ACK` / `BINARY_ACK`: the answer to the event with the same id.
    Ack {
        /// The acknowledgement's arguments.
        args: Vec<Value>,
        /// The id of the acknowledged event.
        id: u64,
    },
    /// `CONNECT_ERROR`: `{"message": ..., "data": ...}` (or a plain string from old peers).
    ConnectError(Value),
}

/// A Socket.IO packet: a namespace and its content.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// The namespace, `/` by default.
    pub nsp: String,
    /// The content.
    pub data: PacketData,
}

/// An encoded packet: the text and the binary attachments that follow it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Encoded {
    /// The text part (without the Engine.IO `4` prefix).
    pub text: String,
    /// Binary attachments, in placeholder order.
    pub attachments: Vec<Bytes>,
}

impl Packet {
    /// A `CONNECT` packet.
    pub fn connect(nsp: impl Into<String>, data: Option<Value>) -> Packet {
        Packet {
            nsp: nsp.into(),
            data: PacketData::Connect(data),
        }
    }

    /// A `DISCONNECT` packet.
    pub fn disconnect(nsp: impl Into<String>) -> Packet {
        Packet {
            nsp: nsp.into(),
            data: PacketData::Disconnect,
        }
    }

    /// An `EVENT` packet.
    pub fn event(
        nsp: impl Into<String>,
        event: impl Into<String>,
        args: Vec<Value>,
        id: Option<u64>,
    ) -> Packet {
        Packet {
            nsp: nsp.into(),
            data: PacketData::Event {
                event: event.into(),
                args,
                id,
            },
        }
    }

    /// An `ACK` packet.
    pub fn ack(nsp: impl Into<String>, id: u64, args: Vec<Value>) -> Packet {
        Packet {
            nsp: nsp.into(),
            data: PacketData::Ack { args, id },
        }
    }

    /// A `CONNECT_ERROR` packet with socket.io's `{message, data}` shape.
    pub fn connect_error(nsp: impl Into<String>, message: &str, data: Option<Value>) -> Packet {
        let mut body = crate::proto::value::Map::new();
        body.insert("message".to_owned(), Value::from(message));
        if let Some(data) = data {
            body.insert("data".to_owned(), data);
        }
        Packet {
            nsp: nsp.into(),
            data: PacketData::ConnectError(Value::Object(body)),
        }
    }

    /// Encodes with the default parser.
    pub fn encode(&self) -> Encoded {
        let mut encoded = Encoded::default();
        self.encode_into(&mut encoded.text, &mut encoded.attachments);
        encoded
    }

    /// Encodes into `text` (appended) and `attachments`.
    pub fn encode_into(&self, text: &mut String, attachments: &mut Vec<Bytes>) {
        use std::fmt::Write as _;
        let mut body = String::new();
        let first_attachment = attachments.len();
        let (binary_type, plain_type, id) = match &self.data {
            PacketData::Connect(data) => {
                if let Some(data) = data {
                    data.write_json(&mut body, attachments);
                }
                (PacketType::Connect, PacketType::Connect, None)
            }
            PacketData::Disconnect => (PacketType::Disconnect, PacketType::Disconnect, None),
            PacketData::Event { event, args, id } => {
                body.push('[');
                Value::String(event.clone()).write_json(&mut body, attachments);
                for arg in args {
                    body.push(',');
                    arg.write_json(&mut body, attachments);
                }
                body.push(']');
                (PacketType::BinaryEvent, PacketType::Event, *id)
            }
            PacketData::Ack { args, id } => {
                write_array(&mut body, args, attachments);
                (PacketType::BinaryAck, PacketType::Ack, Some(*id))
            }
            PacketData::ConnectError(data) => {
                // A CONNECT_ERROR received without payload decodes to null: keep it empty.
                if !data.is_null() {
                    data.write_json(&mut body, attachments);
                }
                (PacketType::ConnectError, PacketType::ConnectError, None)
            }
        };
        let count = attachments.len() - first_attachment;
        if count > 0 {
            let _ = write!(text, "{}{}-", binary_type as u8, count);
        } else {
            let _ = write!(text, "{}", plain_type as u8);
        }
        if self.nsp != "/" {
            text.push_str(&self.nsp);
            text.push(',');
        }
        if let Some(id) = id {
            let _ = write!(text, "{id}");
        }
        text.push_str(&body);
    }
}

fn write_array(out: &mut String, values: &[Value], attachments: &mut Vec<Bytes>) {
    out.push('[');
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        value.write_json(out, attachments);
    }
    out.push(']');
}
