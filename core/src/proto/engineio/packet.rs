//! Engine.IO v4 packets: the seven packet types and their text and binary encodings.
//!
//! A text packet is one ASCII digit (the type) followed by its data. A binary packet carries a
//! message's raw bytes: over WebSocket as a binary frame, over long-polling as `b` followed by
//! the base64 of the bytes (see [`payload`](super::payload)).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;

use super::Error;

/// The type of an Engine.IO packet, as its wire digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// `0`: the handshake, sent by the server with the session parameters.
    Open = b'0',
    /// `1`: either side ends the session.
    Close = b'1',
    /// `2`: heartbeat request (server to client), or an upgrade probe (`2probe`).
    Ping = b'2',
    /// `3`: heartbeat answer, or the probe answer (`3probe`).
    Pong = b'3',
    /// `4`: an application message (a Socket.IO packet).
    Message = b'4',
    /// `5`: the client switches to the probed transport.
    Upgrade = b'5',
    /// `6`: no-op, used to release a pending poll during an upgrade.
    Noop = b'6',
}

impl PacketType {
    /// Parses a wire digit.
    pub fn from_digit(digit: u8) -> Option<Self> {
        Some(match digit {
            b'0' => Self::Open,
            b'1' => Self::Close,
            b'2' => Self::Ping,
            b'3' => Self::Pong,
            b'4' => Self::Message,
            b'5' => Self::Upgrade,
            b'6' => Self::Noop,
            _ => return None,
        })
    }

    /// The wire digit.
    pub fn digit(self) -> u8 {
        self as u8
    }
}

/// A text message as it travels: the `4` type digit followed by UTF-8 data.
///
/// Keeping the digit inside one shared [`Bytes`] lets a frame built once go to many sessions
/// over either transport without a copy (a broadcast is encoded once).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TextFrame(Bytes);

impl TextFrame {
    /// Builds the frame for message `data`.
    pub fn from_data(data: &str) -> TextFrame {
        let mut out = Vec::with_capacity(data.len() + 1);
        out.push(b'4');
        out.extend_from_slice(data.as_bytes());
        TextFrame(Bytes::from(out))
    }

    /// Wraps a string that already starts with the `4` digit; fails if it does not.
    pub fn from_prefixed_string(frame: String) -> Result<TextFrame, Error> {
        if !frame.starts_with('4') {
            return Err(Error::UnknownPacketType(
                frame.as_bytes().first().copied().unwrap_or(0),
            ));
        }
        Ok(TextFrame(Bytes::from(frame.into_bytes())))
    }

    /// Wraps a received frame (`4` + data); fails if it is not a UTF-8 message frame.
    pub fn from_frame(frame: Bytes) -> Result<TextFrame, Error> {
        if frame.first() != Some(&b'4') {
            return Err(Error::UnknownPacketType(
                frame.first().copied().unwrap_or(0),
            ));
        }
        std::str::from_utf8(&frame).map_err(|_| Error::InvalidUtf8)?;
        Ok(TextFrame(frame))
    }

    /// The message data, without the type digit.
    pub fn data(&self) -> &str {
        // Checked UTF-8 at construction; the digit is one ASCII byte.
        std::str::from_utf8(&self.0[1..]).unwrap_or_default()
    }

    /// The whole frame, type digit included.
    pub fn frame(&self) -> &Bytes {
        &self.0
    }
}

/// One Engine.IO packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// Handshake data (JSON text of [`Handshake`](super::Handshake)).
    Open(String),
    /// Close the session.
    Close,
    /// Heartbeat or probe; the data is empty or `probe`.
    Ping(String),
    /// Heartbeat answer or probe answer.
    Pong(String),
    /// A text message.
    Text(TextFrame),
    /// Binary message data.
    Binary(Bytes),
    /// Switch to the probed transport.
    Upgrade,
    /// No-op.
    Noop,
}

impl Packet {
    /// The packet's type.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Open(_) => PacketType::Open,
            Packet::Close => PacketType::Close,
            Packet::Ping(_) => PacketType::Ping,
            Packet::Pong(_) => PacketType::Pong,
            Packet::Text(_) | Packet::Binary(_) => PacketType::Message,
            Packet::Upgrade => PacketType::Upgrade,
            Packet::Noop => PacketType::Noop,
        }
    }

    /// Decodes a text packet (a WebSocket text frame, or one polling payload entry that does
    /// not start with `b`).
    pub fn decode_text(text: &str) -> Result<Packet, Error> {
        let bytes = text.as_bytes();
        let Some(&first) = bytes.first() else {
            return Err(Error::EmptyPacket);
        };
        let kind = PacketType::from_digit(first).ok_or(Error::UnknownPacketType(first))?;
        let data = &text[1..];
        Ok(match kind {
            PacketType::Open => Packet::Open(data.to_owned()),
            PacketType::Close => Packet::Close,
            PacketType::Ping => Packet::Ping(data.to_owned()),
            PacketType::Pong => Packet::Pong(data.to_owned()),
            PacketType::Message => Packet::Text(TextFrame(Bytes::copy_from_slice(bytes))),
            PacketType::Upgrade => Packet::Upgrade,
            PacketType::Noop => Packet::Noop,
        })
    }

    /// Decodes a WebSocket text frame already known to be UTF-8, without copying messages.
    pub fn decode_text_frame(frame: Bytes) -> Result<Packet, Error> {
        if frame.first() == Some(&b'4') {
            return Ok(Packet::Text(TextFrame(frame)));
        }
        let text = std::str::from_utf8(&frame).map_err(|_| Error::InvalidUtf8)?;
        Packet::decode_text(text)
    }

    /// Decodes a polling payload entry that starts with `b`: base64 of a binary message.
    pub fn decode_base64(encoded: &[u8]) -> Result<Packet, Error> {
        BASE64
            .decode(encoded)
            .map(|raw| Packet::Binary(Bytes::from(raw)))
            .map_err(|_| Error::InvalidBase64)
    }

    /// Appends the text encoding to `out`. Binary packets are appended as `b` + base64, which
    /// is their encoding inside a polling payload.
    pub fn encode_polling(&self, out: &mut Vec<u8>) {
        match self {
            Packet::Binary(raw) => {
                out.push(b'b');
                let start = out.len();
                out.resize(start + base64::encoded_len(raw.len(), true).unwrap_or(0), 0);
                let written = BASE64
                    .encode_slice(raw, &mut out[start..])
                    .expect("buffer sized by encoded_len");
                out.truncate(start + written);
            }
            Packet::Text(text) => out.extend_from_slice(text.frame()),
            _ => self.encode_text_into(out),
        }
    }

    /// Appends the text encoding (`<digit><data>`) of a non-binary packet to `out`.
    fn encode_text_into(&self, out: &mut Vec<u8>) {
        out.push(self.packet_type().digit());
        match self {
            Packet::Open(data) | Packet::Ping(data) | Packet::Pong(data) => {
                out.extend_from_slice(data.as_bytes())
            }
            Packet::Text(_) => unreachable!("text frames are written whole"),
            Packet::Close | Packet::Upgrade | Packet::Noop | Packet::Binary(_) => {}
        }
    }

    /// The WebSocket frame for this packet.
    pub fn to_ws_frame(&self) -> WsFrame {
        match self {
            Packet::Binary(raw) => WsFrame::Binary(raw.clone()),
            Packet::Text(text) => WsFrame::Text(text.frame().clone()),
            other => {
                let mut out = Vec::with_capacity(16);
                other.encode_text_into(&mut out);
                WsFrame::Text(Bytes::from(out))
            }
        }
    }
}

/// A WebSocket frame ready to write: text frames hold valid UTF-8 including the packet digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsFrame {
    /// A text frame (UTF-8).
    Text(Bytes),
    /// A binary frame.
    Binary(Bytes),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_text_type() {
        assert_eq!(Packet::decode_text("1").unwrap(), Packet::Close);
        assert_eq!(
            Packet::decode_text("2probe").unwrap(),
            Packet::Ping("probe".into())
        );
        assert_eq!(
            Packet::decode_text("3").unwrap(),
            Packet::Pong(String::new())
        );
        assert_eq!(
            Packet::decode_text("4héllo").unwrap(),
            Packet::Text(TextFrame::from_data("héllo"))
        );
        assert_eq!(TextFrame::from_data("héllo").data(), "héllo");
        assert!(TextFrame::from_frame(Bytes::from_static(b"3x")).is_err());
        assert_eq!(Packet::decode_text("5").unwrap(), Packet::Upgrade);
        assert_eq!(Packet::decode_text("6").unwrap(), Packet::Noop);
        assert!(matches!(Packet::decode_text(""), Err(Error::EmptyPacket)));
        assert!(matches!(
            Packet::decode_text("9x"),
            Err(Error::UnknownPacketType(b'9'))
        ));
    }

    #[test]
    fn encodes_binary_as_base64_for_polling() {
        let mut out = Vec::new();
        Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])).encode_polling(&mut out);
        assert_eq!(out, b"bAQIDBA==");
        assert_eq!(
            Packet::decode_base64(b"AQIDBA==").unwrap(),
            Packet::Binary(Bytes::from_static(&[1, 2, 3, 4]))
        );
        assert!(Packet::decode_base64(b"!!").is_err());
    }

    #[test]
    fn ws_frames_carry_the_digit() {
        assert_eq!(
            Packet::Text(TextFrame::from_data("hi")).to_ws_frame(),
            WsFrame::Text(Bytes::from("4hi"))
        );
        assert_eq!(
            Packet::Pong("probe".into()).to_ws_frame(),
            WsFrame::Text(Bytes::from("3probe"))
        );
        assert_eq!(
            Packet::Binary(Bytes::from_static(b"\x00")).to_ws_frame(),
            WsFrame::Binary(Bytes::from_static(b"\x00"))
        );
    }
}
