//! Long-polling payloads: several packets in one HTTP body, separated by the record separator
//! `\x1e`; binary packets appear as `b` + base64.

use bytes::Bytes;

use super::{Error, Packet, TextFrame};

/// The separator between packets in a polling payload.
pub const SEPARATOR: u8 = 0x1e;

/// Decodes one polling request body into packets.
///
/// The whole body is rejected when any entry is malformed, as engine.io does: the caller then
/// closes that session and answers the request with an error.
pub fn decode(body: &[u8]) -> Result<Vec<Packet>, Error> {
    if body.is_empty() {
        return Err(Error::EmptyPacket);
    }
    let mut packets = Vec::new();
    for entry in body.split(|&b| b == SEPARATOR) {
        packets.push(decode_entry(entry)?);
    }
    Ok(packets)
}

fn decode_entry(entry: &[u8]) -> Result<Packet, Error> {
    match entry.first() {
        None => Err(Error::EmptyPacket),
        Some(b'b') => Packet::decode_base64(&entry[1..]),
        Some(_) => {
            let text = std::str::from_utf8(entry).map_err(|_| Error::InvalidUtf8)?;
            match Packet::decode_text(text)? {
                // Text entries are copied out of the request body once, here.
                Packet::Text(_) => Ok(Packet::Text(TextFrame::from_frame(
                    Bytes::copy_from_slice(entry),
                )?)),
                other => Ok(other),
            }
        }
    }
}

/// Encodes packets as one polling response body.
pub fn encode<'a>(packets: impl IntoIterator<Item = &'a Packet>) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, packet) in packets.into_iter().enumerate() {
        if i > 0 {
            out.push(SEPARATOR);
        }
        packet.encode_polling(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_mixed_payloads() {
        let packets = vec![
            Packet::Text(TextFrame::from_data("hello €")),
            Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])),
            Packet::Ping(String::new()),
        ];
        let body = encode(&packets);
        assert_eq!(body, "4hello €\x1ebAQIDBA==\x1e2".as_bytes());
        assert_eq!(decode(&body).unwrap(), packets);
    }

    #[test]
    fn rejects_malformed_entries() {
        assert!(decode(b"").is_err());
        assert!(decode(b"4a\x1e\x1e4b").is_err());
        assert!(decode(b"4a\x1ex").is_err());
        assert!(decode(b"b!!").is_err());
        assert!(decode(&[b'4', 0xff, 0xfe]).is_err());
    }
}
