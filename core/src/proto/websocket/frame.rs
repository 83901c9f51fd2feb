//! WebSocket frames (RFC 6455 §5): header encoding and decoding, masking, and the
//! assembly of fragmented messages.

use bytes::{Buf as _, Bytes, BytesMut};

/// A frame's opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// `0x0`: the next fragment of a message.
    Continuation,
    /// `0x1`: a UTF-8 message.
    Text,
    /// `0x2`: a binary message.
    Binary,
    /// `0x8`: the closing handshake.
    Close,
    /// `0x9`: a ping, answered by a pong with the same payload.
    Ping,
    /// `0xA`: a pong.
    Pong,
}

impl Opcode {
    fn from_bits(bits: u8) -> Option<Opcode> {
        Some(match bits {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xA => Opcode::Pong,
            _ => return None,
        })
    }

    fn bits(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
        }
    }

    fn is_control(self) -> bool {
        matches!(self, Opcode::Close | Opcode::Ping | Opcode::Pong)
    }
}

/// Close codes this codec sends (RFC 6455 §7.4.1).
pub mod close_code {
    /// `1000`: normal closure.
    pub const NORMAL: u16 = 1000;
    /// `1002`: the peer broke the protocol.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// `1007`: a text message was not UTF-8, or a compressed one did not inflate.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// `1009`: a message was larger than allowed.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
}

/// Why a peer's bytes were refused; the connection is closed with [`ProtocolError::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("websocket protocol error {code}: {reason}")]
pub struct ProtocolError {
    /// The close code to send.
    pub code: u16,
    /// What was wrong.
    pub reason: &'static str,
}

impl ProtocolError {
    const fn protocol(reason: &'static str) -> ProtocolError {
        ProtocolError {
            code: close_code::PROTOCOL_ERROR,
            reason,
        }
    }

    /// A message over the size limit.
    pub const TOO_BIG: ProtocolError = ProtocolError {
        code: close_code::MESSAGE_TOO_BIG,
        reason: "message too big",
    };
}

/// One complete input from the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A data message, reassembled from its fragments.
    Message {
        /// A text message (to be checked as UTF-8 once inflated).
        text: bool,
        /// Its first frame had RSV1 set: the payload is permessage-deflate compressed.
        compressed: bool,
        /// The unmasked payload.
        payload: Bytes,
    },
    /// A ping: answer with a pong carrying `0`.
    Ping(Bytes),
    /// A pong.
    Pong,
    /// A close frame, with the status code it carried, if any.
    Close(Option<u16>),
}

/// Which side of the connection this codec is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Expects masked frames, sends unmasked ones.
    Server,
    /// Expects unmasked frames, sends masked ones.
    Client,
}

/// A message whose later fragments are still to come.
#[derive(Debug)]
struct Partial {
    text: bool,
    compressed: bool,
    data: BytesMut,
}

/// Turns a peer's bytes into [`Incoming`] inputs: checks each frame, unmasks it and joins
/// fragments, enforcing the message size limit.
#[derive(Debug)]
pub struct MessageReader {
    role: Role,
    max_message: usize,
    allow_compressed: bool,
    partial: Option<Partial>,
}

/// A decoded frame header.
#[derive(Debug, Clone, Copy)]
struct Header {
    fin: bool,
    rsv1: bool,
    opcode: Opcode,
    mask: Option<[u8; 4]>,
    header_len: usize,
    payload_len: usize,
}

impl MessageReader {
    /// A reader for `role` refusing messages over `max_message` bytes; `allow_compressed`
    /// when permessage-deflate was negotiated (RSV1 is refused otherwise).
    pub fn new(role: Role, max_message: usize, allow_compressed: bool) -> MessageReader {
        MessageReader {
            role,
            max_message,
            allow_compressed,
            partial: None,
        }
    }

    /// Takes the next complete input out of `buf`, or `Ok(None)` when more bytes are
    /// needed ([`MessageReader::bytes_wanted`] says how many at least).
    pub fn read(&mut self, buf: &mut BytesMut) -> Result<Option<Incoming>, ProtocolError> {
        loop {
            let Some(header) = self.header(buf)? else {
                return Ok(None);
            };
            if buf.len() < header.header_len + header.payload_len {
                return Ok(None);
            }
            buf.advance(header.header_len);
            let mut payload = buf.split_to(header.payload_len);
            if let Some(key) = header.mask {
                apply_mask(&mut payload, key);
            }
            if let Some(input) = self.accept(header, payload)? {
                return Ok(Some(input));
            }
        }
    }

    /// How many more bytes `buf` needs before [`MessageReader::read`] can go on (at least
    /// one).
    pub fn bytes_wanted(&self, buf: &[u8]) -> usize {
        match decode_header(buf) {
            Ok(Some(header)) => (header.header_len + header.payload_len)
                .saturating_sub(buf.len())
                .max(1),
            _ => 2usize.saturating_sub(buf.len()).max(1),
        }
    }

    fn header(&self, buf: &[u8]) -> Result<Option<Header>, ProtocolError> {
        let Some(header) = decode_header(buf)? else {
            return Ok(None);
        };
        match (self.role, header.mask) {
            (Role::Server, None) => return Err(ProtocolError::protocol("unmasked client frame")),
            (Role::Client, Some(_)) => return Err(ProtocolError::protocol("masked server frame")),
            _ => {}
        }
        if header.opcode.is_control() {
            if !header.fin {
                return Err(ProtocolError::protocol("fragmented control frame"));
            }
            if header.payload_len > 125 {
                return Err(ProtocolError::protocol("control frame over 125 bytes"));
            }
            if header.rsv1 {
                return Err(ProtocolError::protocol("RSV1 on a control frame"));
            }
        }
        let so_far = self.partial.as_ref().map_or(0, |p| p.data.len());
        if !header.opcode.is_control()
            && so_far.saturating_add(header.payload_len) > self.max_message
        {
            return Err(ProtocolError::TOO_BIG);
        }
        Ok(Some(header))
    }

    fn accept(
        &mut self,
        header: Header,
        payload: BytesMut,
    ) -> Result<Option<Incoming>, ProtocolError> {
        match header.opcode {
            Opcode::Ping => Ok(Some(Incoming::Ping(payload.freeze()))),
            Opcode::Pong => Ok(Some(Incoming::Pong)),
            Opcode::Close => match payload.len() {
                0 => Ok(Some(Incoming::Close(None))),
                1 => Err(ProtocolError::protocol("close frame with a 1-byte payload")),
                _ => Ok(Some(Incoming::Close(Some(u16::from_be_bytes([
                    payload[0], payload[1],
                ]))))),
            },
            Opcode::Text | Opcode::Binary => {
                if self.partial.is_some() {
                    return Err(ProtocolError::protocol(
                        "new message inside a fragmented one",
                    ));
                }
                if header.rsv1 && !self.allow_compressed {
                    return Err(ProtocolError::protocol(
                        "RSV1 set without permessage-deflate",
                    ));
                }
                let text = header.opcode == Opcode::Text;
                if header.fin {
                    return Ok(Some(Incoming::Message {
                        text,
                        compressed: header.rsv1,
                        payload: payload.freeze(),
                    }));
                }
                self.partial = Some(Partial {
                    text,
                    compressed: header.rsv1,
                    data: payload,
                });
                Ok(None)
            }
            Opcode::Continuation => {
                if header.rsv1 {
                    return Err(ProtocolError::protocol("RSV1 on a continuation frame"));
                }
                let Some(partial) = self.partial.as_mut() else {
                    return Err(ProtocolError::protocol("continuation without a message"));
                };
                partial.data.extend_from_slice(&payload);
                if !header.fin {
                    return Ok(None);
                }
                let Some(done) = self.partial.take() else {
                    return Ok(None);
                };
                Ok(Some(Incoming::Message {
                    text: done.text,
                    compressed: done.compressed,
                    payload: done.data.freeze(),
                }))
            }
        }
    }
}

fn decode_header(buf: &[u8]) -> Result<Option<Header>, ProtocolError> {
    let [first, second, ..] = *buf else {
        return Ok(None);
    };
    if first & 0x30 != 0 {
        return Err(ProtocolError::protocol("RSV2 or RSV3 set"));
    }
    let opcode =
        Opcode::from_bits(first & 0x0F).ok_or(ProtocolError::protocol("unknown opcode"))?;
    let masked = second & 0x80 != 0;
    let (payload_len, mut at) = match second & 0x7F {
        126 => {
            let Some(bytes) = buf.get(2..4) else {
                return Ok(None);
            };
            (usize::from(u16::from_be_bytes([bytes[0], bytes[1]])), 4)
        }
        127 => {
            let Some(bytes) = buf.get(2..10) else {
                return Ok(None);
            };
            let mut raw = [0u8; 8];
            raw.copy_from_slice(bytes);
            let len = u64::from_be_bytes(raw);
            if len >> 63 != 0 {
                return Err(ProtocolError::protocol(
                    "64-bit length with the top bit set",
                ));
            }
            (usize::try_from(len).unwrap_or(usize::MAX), 10)
        }
        short => (usize::from(short), 2),
    };
    let mask = if masked {
        let Some(bytes) = buf.get(at..at + 4) else {
            return Ok(None);
        };
        at += 4;
        Some([bytes[0], bytes[1], bytes[2], bytes[3]])
    } else {
        None
    };
    Ok(Some(Header {
        fin: first & 0x80 != 0,
        rsv1: first & 0x40 != 0,
        opcode,
        mask,
        header_len: at,
        payload_len,
    }))
}

/// Appends a frame header to `out`: `rsv1` marks a compressed message, `mask` is the
/// client's masking key (the payload must then be masked with [`apply_mask`]).
pub fn encode_header(
    out: &mut Vec<u8>,
    opcode: Opcode,
    rsv1: bool,
    payload_len: usize,
    mask: Option<[u8; 4]>,
) {
    let first = 0x80 | if rsv1 { 0x40 } else { 0 } | opcode.bits();
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    out.push(first);
    match payload_len {
        0..=125 => out.push(mask_bit | payload_len as u8),
        126..=0xFFFF => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(payload_len as u16).to_be_bytes());
        }
        _ => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(payload_len as u64).to_be_bytes());
        }
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
}

/// Appends a whole unmasked frame (a server's) to `out`.
pub fn encode_frame(out: &mut Vec<u8>, opcode: Opcode, rsv1: bool, payload: &[u8]) {
    encode_header(out, opcode, rsv1, payload.len(), None);
    out.extend_from_slice(payload);
}

/// Masks (or unmasks) `data` in place with `key`.
pub fn apply_mask(data: &mut [u8], key: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(word) ^ wide).to_ne_bytes());
    }
    for (byte, k) in chunks.into_remainder().iter_mut().zip(key.iter().cycle()) {
        *byte ^= k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    fn client_frame(fin: bool, rsv1: bool, opcode: Opcode, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_header(&mut out, opcode, rsv1, payload.len(), Some(KEY));
        if !fin {
            out[0] &= 0x7F;
        }
        let mut body = payload.to_vec();
        apply_mask(&mut body, KEY);
        out.extend_from_slice(&body);
        out
    }

    fn server() -> MessageReader {
        MessageReader::new(Role::Server, 1_000, false)
    }

    fn read_all(reader: &mut MessageReader, bytes: &[u8]) -> Result<Vec<Incoming>, ProtocolError> {
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(input) = reader.read(&mut buf)? {
            out.push(input);
        }
        Ok(out)
    }

    #[test]
    fn rfc_example_masked_hello() {
        // RFC 6455 §5.7: a single-frame masked text message "Hello".
        let bytes = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let inputs = read_all(&mut server(), &bytes).unwrap();
        assert_eq!(
            inputs,
            [Incoming::Message {
                text: true,
                compressed: false,
                payload: Bytes::from_static(b"Hello")
            }]
        );
    }

    #[test]
    fn every_length_encoding_round_trips() {
        for len in [0usize, 125, 126, 65_535, 65_536] {
            let payload = vec![b'x'; len];
            let bytes = client_frame(true, false, Opcode::Binary, &payload);
            let mut reader = MessageReader::new(Role::Server, 100_000, false);
            let inputs = read_all(&mut reader, &bytes).unwrap();
            assert_eq!(
                inputs,
                [Incoming::Message {
                    text: false,
                    compressed: false,
                    payload: Bytes::from(payload)
                }],
                "length {len}"
            );
        }
    }

    #[test]
    fn bytes_arriving_one_at_a_time_give_the_same_message() {
        let bytes = client_frame(true, false, Opcode::Text, b"4hello");
        let mut reader = server();
        let mut buf = BytesMut::new();
        for (i, byte) in bytes.iter().enumerate() {
            assert!(reader.bytes_wanted(&buf) >= 1);
            buf.extend_from_slice(&[*byte]);
            let input = reader.read(&mut buf).unwrap();
            assert_eq!(input.is_some(), i == bytes.len() - 1);
        }
        assert!(buf.is_empty());
    }

    #[test]
    fn fragments_are_joined_around_a_ping() {
        let mut bytes = client_frame(false, false, Opcode::Text, b"4hel");
        bytes.extend(client_frame(true, false, Opcode::Ping, b"p"));
        bytes.extend(client_frame(false, false, Opcode::Continuation, b"lo "));
        bytes.extend(client_frame(true, false, Opcode::Continuation, b"world"));
        let inputs = read_all(&mut server(), &bytes).unwrap();
        assert_eq!(
            inputs,
            [
                Incoming::Ping(Bytes::from_static(b"p")),
                Incoming::Message {
                    text: true,
                    compressed: false,
                    payload: Bytes::from_static(b"4hello world")
                }
            ]
        );
    }

    #[test]
    fn close_frames_carry_their_code() {
        let inputs = read_all(
            &mut server(),
            &client_frame(true, false, Opcode::Close, &1001u16.to_be_bytes()),
        )
        .unwrap();
        assert_eq!(inputs, [Incoming::Close(Some(1001))]);
        let inputs = read_all(
            &mut server(),
            &client_frame(true, false, Opcode::Close, b""),
        )
        .unwrap();
        assert_eq!(inputs, [Incoming::Close(None)]);
    }

    #[test]
    fn protocol_violations_are_refused_with_their_code() {
        let unmasked = {
            let mut out = Vec::new();
            encode_frame(&mut out, Opcode::Text, false, b"4x");
            out
        };
        let cases: Vec<(Vec<u8>, u16)> = vec![
            (unmasked, 1002),
            (client_frame(true, true, Opcode::Text, b"4x"), 1002),
            (client_frame(false, false, Opcode::Ping, b""), 1002),
            (client_frame(true, false, Opcode::Ping, &[0; 126]), 1002),
            (client_frame(true, false, Opcode::Continuation, b"x"), 1002),
            (client_frame(true, false, Opcode::Close, b"x"), 1002),
            (client_frame(true, false, Opcode::Binary, &[0; 1_001]), 1009),
            (
                {
                    let mut b = client_frame(false, false, Opcode::Text, b"4");
                    b.extend(client_frame(true, false, Opcode::Text, b"4"));
                    b
                },
                1002,
            ),
            (
                {
                    let mut b = client_frame(false, false, Opcode::Binary, &[0; 600]);
                    b.extend(client_frame(true, false, Opcode::Continuation, &[0; 600]));
                    b
                },
                1009,
            ),
            (vec![0x83, 0x80, 0, 0, 0, 0], 1002),
            (vec![0xA1, 0x80, 0, 0, 0, 0], 1002),
            (vec![0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0], 1002),
        ];
        for (i, (bytes, code)) in cases.into_iter().enumerate() {
            let error = read_all(&mut server(), &bytes).unwrap_err();
            assert_eq!(error.code, code, "case {i}: {error}");
        }
    }

    #[test]
    fn a_huge_declared_length_is_refused_before_its_bytes_arrive() {
        let mut bytes = vec![0x82, 0xFF];
        bytes.extend_from_slice(&(1u64 << 40).to_be_bytes());
        bytes.extend_from_slice(&KEY);
        let error = read_all(&mut server(), &bytes).unwrap_err();
        assert_eq!(error, ProtocolError::TOO_BIG);
    }

    #[test]
    fn compressed_messages_are_flagged_when_negotiated() {
        let mut reader = MessageReader::new(Role::Server, 1_000, true);
        let mut bytes = client_frame(false, true, Opcode::Binary, b"ab");
        bytes.extend(client_frame(true, false, Opcode::Continuation, b"cd"));
        let inputs = read_all(&mut reader, &bytes).unwrap();
        assert_eq!(
            inputs,
            [Incoming::Message {
                text: false,
                compressed: true,
                payload: Bytes::from_static(b"abcd")
            }]
        );
    }

    #[test]
    fn a_client_reader_takes_unmasked_frames() {
        let mut out = Vec::new();
        encode_frame(&mut out, Opcode::Text, false, b"40");
        let mut reader = MessageReader::new(Role::Client, 100, false);
        let inputs = read_all(&mut reader, &out).unwrap();
        assert_eq!(inputs.len(), 1);
        let masked = client_frame(true, false, Opcode::Text, b"40");
        assert_eq!(read_all(&mut reader, &masked).unwrap_err().code, 1002);
    }

    #[test]
    fn masking_twice_restores_every_length() {
        for len in 0..40 {
            let original: Vec<u8> = (0..len as u8).collect();
            let mut data = original.clone();
            apply_mask(&mut data, KEY);
            if len > 0 {
                assert_ne!(data, original);
            }
            apply_mask(&mut data, KEY);
            assert_eq!(data, original);
        }
    }
}
