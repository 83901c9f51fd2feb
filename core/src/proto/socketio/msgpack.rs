//! The MessagePack parser, compatible with npm `socket.io-msgpack-parser`: every packet is
//! one binary Engine.IO message holding the map `{type, data, nsp, id}` (binary values
//! inline, no attachments).

use bytes::Bytes;

use super::packet::{Packet, PacketData, PacketType};
use super::parser::{DecodeError, RESERVED_EVENTS};
use crate::proto::value::{Map, Value, read_msgpack_fields, write_msgpack};

/// Encodes `packet` as `socket.io-msgpack-parser` does.
pub fn encode(packet: &Packet) -> Bytes {
    let mut map = Map::with_capacity(4);
    let (kind, data, id) = match &packet.data {
        PacketData::Connect(data) => (PacketType::Connect, data.clone(), None),
        PacketData::Disconnect => (PacketType::Disconnect, None, None),
        PacketData::Event { event, args, id } => {
            let mut items = Vec::with_capacity(args.len() + 1);
            items.push(Value::from(event.as_str()));
            items.extend(args.iter().cloned());
            (PacketType::Event, Some(Value::Array(items)), *id)
        }
        PacketData::Ack { args, id } => {
            (PacketType::Ack, Some(Value::Array(args.clone())), Some(*id))
        }
        PacketData::ConnectError(data) => (PacketType::ConnectError, Some(data.clone()), None),
    };
    map.insert("type".to_owned(), Value::from(u64::from(kind as u8)));
    if let Some(data) = data {
        map.insert("data".to_owned(), data);
    }
    map.insert("nsp".to_owned(), Value::from(packet.nsp.as_str()));
    if let Some(id) = id {
        map.insert("id".to_owned(), Value::from(id));
    }
    let mut out = Vec::with_capacity(64);
    write_msgpack(&Value::Object(map), &mut out);
    Bytes::from(out)
}

/// Decodes one binary message with `socket.io-msgpack-parser`'s checks (packet type 0–4, a
/// string namespace, the payload shape of the type, an integer id), plus the default
/// parser's rule that an event is named by a string that is not reserved.
pub fn decode(data: &Bytes) -> Result<Packet, DecodeError> {
    let fields = read_msgpack_fields(data).map_err(|_| DecodeError::InvalidPayload)?;
    // `undefined` fields are as good as absent; `null` ones are not.
    let mut map: Map = fields
        .into_iter()
        .filter_map(|(key, value)| value.map(|v| (key, v)))
        .collect();
    let kind = map
        .get("type")
        .and_then(Value::as_u64)
        .and_then(|t| u8::try_from(t).ok())
        .filter(|t| *t <= 9)
        .and_then(|t| PacketType::from_digit(b'0' + t))
        .filter(|t| !matches!(t, PacketType::BinaryEvent | PacketType::BinaryAck))
        .ok_or(DecodeError::UnknownType('?'))?;
    let Some(Value::String(nsp)) = map.shift_remove("nsp") else {
        return Err(DecodeError::InvalidPayload);
    };
    let id = match map.get("id") {
        None | Some(Value::Null) => None,
        Some(id) => Some(id.as_u64().ok_or(DecodeError::InvalidId)?),
    };
    // `data: nil` is not `undefined`: the parser refuses it where no data is allowed (a
    // CONNECT without auth, a DISCONNECT), as npm socket.io-msgpack-parser does.
    let payload = map.shift_remove("data");
    let data = match (kind, payload) {
        (PacketType::Connect, None) => PacketData::Connect(None),
        (PacketType::Connect, Some(auth @ Value::Object(_))) => PacketData::Connect(Some(auth)),
        (PacketType::Disconnect, None) => PacketData::Disconnect,
        (PacketType::ConnectError, Some(error @ (Value::String(_) | Value::Object(_)))) => {
            PacketData::ConnectError(error)
        }
        (PacketType::Event, Some(Value::Array(mut items))) => {
            let Some(Value::String(event)) = (!items.is_empty()).then(|| items.remove(0)) else {
                return Err(DecodeError::InvalidPayload);
            };
            if RESERVED_EVENTS.contains(&event.as_str()) {
                return Err(DecodeError::InvalidPayload);
            }
            PacketData::Event {
                event,
                args: items,
                id,
            }
        }
        (PacketType::Ack, Some(Value::Array(args))) => PacketData::Ack {
            args,
            id: id.ok_or(DecodeError::InvalidId)?,
        },
        _ => return Err(DecodeError::InvalidPayload),
    };
    Ok(Packet { nsp, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_each_packet_kind() {
        let mut auth = Map::new();
        auth.insert("token".to_owned(), Value::from("abc"));
        let packets = [
            Packet::connect("/", Some(Value::Object(auth))),
            Packet::connect("/admin", None),
            Packet::disconnect("/"),
            Packet::event(
                "/",
                "hello",
                vec![
                    Value::Binary(Bytes::from_static(b"\x00\x01")),
                    Value::from(1),
                ],
                Some(7),
            ),
            Packet::ack("/", 7, vec![Value::from("ok")]),
            Packet::connect_error("/", "unauthorized", Some(Value::from(401))),
        ];
        for packet in packets {
            assert_eq!(decode(&encode(&packet)).unwrap(), packet);
        }
    }

    #[test]
    fn applies_the_parser_checks() {
        let bad = |value: &str| {
            let json: serde_json::Value = serde_json::from_str(value).unwrap();
            let mut out = Vec::new();
            write_msgpack(&crate::proto::value::to_value(&json).unwrap(), &mut out);
            decode(&Bytes::from(out))
        };
        assert!(bad(r#"{"type":7,"nsp":"/"}"#).is_err());
        assert!(bad(r#"{"type":2,"nsp":1,"data":["a"]}"#).is_err());
        assert!(bad(r#"{"type":2,"nsp":"/","data":"a"}"#).is_err());
        assert!(bad(r#"{"type":2,"nsp":"/","data":["connect"]}"#).is_err());
        assert!(bad(r#"{"type":1,"nsp":"/","data":[1]}"#).is_err());
        assert!(
            bad(r#"{"type":1,"nsp":"/","data":null}"#).is_err(),
            "nil is not undefined"
        );
        assert!(bad(r#"{"type":3,"nsp":"/","data":[]}"#).is_err());
        assert!(bad(r#"{"type":2,"nsp":"/","data":["a"],"id":-1}"#).is_err());
        assert!(bad(r#"{"type":2,"nsp":"/","data":["a"],"id":1}"#).is_ok());
        assert!(decode(&Bytes::from_static(b"\xc1")).is_err());
        // Found by fuzzing: a packet type of 252 overflowed `b'0' + type`.
        assert!(
            decode(&Bytes::from_static(
                b"\x82\xa4type\xce\x00\x00\x00\xfc\xa1\x0e/"
            ))
            .is_err()
        );
        // notepack's `undefined` (fixext 1, type 0) counts as absent: a CONNECT without auth.
        let undefined_data =
            Bytes::from_static(b"\x83\xa4type\x00\xa4data\xd4\x00\x00\xa3nsp\xa1/");
        assert_eq!(decode(&undefined_data).unwrap(), Packet::connect("/", None));
    }
}
