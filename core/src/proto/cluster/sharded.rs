//! The sharded adapter's channels and messages, as npm `@socket.io/redis-adapter` 8
//! `createShardedAdapter` (Redis 7 `SSUBSCRIBE`/`SPUBLISH`) writes and reads them.
//!
//! Every message is an envelope `{type, data, uid, nsp}`: JSON, or MessagePack when the
//! type may carry binary (broadcasts, fetch answers, server-side emits and their answers,
//! acknowledgements) and does. The semantics are those of the classic adapter, so this
//! module converts to and from [`BroadcastMessage`], [`Request`] and [`Response`].

use bytes::Bytes;

use super::classic::{
    BroadcastMessage, ClusterOpts, ClusterSocket, DecodeError, Request, Response, decode_either,
    event_packet_without_nsp, json_bytes, packet_parts, string_array, strings,
};
use crate::proto::value::msgpack::write_msgpack;
use crate::proto::value::{Map, Value};

/// Which rooms get a channel of their own (`subscriptionMode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SubscriptionMode {
    /// Only the namespace's channel and each server's response channel.
    Static,
    /// Also one channel per public room (not a socket's own room). The default.
    #[default]
    Dynamic,
    /// Also one channel per room, socket rooms included.
    DynamicPrivate,
}

/// The channel names of one `channelPrefix` (default `socket.io`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardedChannels {
    prefix: String,
    mode: SubscriptionMode,
}

impl ShardedChannels {
    /// The channels under `prefix` in `mode`.
    pub fn new(prefix: impl Into<String>, mode: SubscriptionMode) -> ShardedChannels {
        ShardedChannels {
            prefix: prefix.into(),
            mode,
        }
    }

    /// `prefix#nsp#`: every message without a more specific channel (and what
    /// `PUBSUB SHARDNUMSUB` counts).
    pub fn main(&self, nsp: &str) -> String {
        format!("{}#{nsp}#", self.prefix)
    }

    /// `prefix#nsp#uid#`: answers for server `uid`.
    pub fn response(&self, nsp: &str, uid: &str) -> String {
        format!("{}#{nsp}#{uid}#", self.prefix)
    }

    /// `prefix#nsp#room#`: broadcasts to exactly `room`, in the dynamic modes.
    pub fn room(&self, nsp: &str, room: &str) -> String {
        format!("{}#{nsp}#{room}#", self.prefix)
    }

    /// Whether a server subscribes to `room`'s own channel; `is_socket` says whether it is
    /// a socket's own room.
    pub fn has_room_channel(&self, is_socket: bool) -> bool {
        match self.mode {
            SubscriptionMode::Static => false,
            SubscriptionMode::Dynamic => !is_socket,
            SubscriptionMode::DynamicPrivate => true,
        }
    }

    /// The channel a broadcast goes to: its room's own channel for exactly one room
    /// without acknowledgements, when the mode gives that room one (Node guesses "socket
    /// room" from a 20-character name, and so does this).
    pub fn broadcast_channel(&self, nsp: &str, rooms: &[String], with_ack: bool) -> String {
        match (rooms, with_ack) {
            ([room], false) if self.has_room_channel(room.chars().count() == 20) => {
                self.room(nsp, room)
            }
            _ => self.main(nsp),
        }
    }
}

/// What a sharded message says.
#[derive(Debug, Clone, PartialEq)]
pub enum ShardedMessage {
    /// A broadcast (type 3 without a request id).
    Broadcast(BroadcastMessage),
    /// A request (types 3 with a request id, 4, 5, 6, 7, 9).
    Request(Request),
    /// An answer (types 8, 10, 11, 12).
    Response(Response),
}

const BROADCAST: u64 = 3;
const SOCKETS_JOIN: u64 = 4;
const SOCKETS_LEAVE: u64 = 5;
const DISCONNECT_SOCKETS: u64 = 6;
const FETCH_SOCKETS: u64 = 7;
const FETCH_SOCKETS_RESPONSE: u64 = 8;
const SERVER_SIDE_EMIT: u64 = 9;
const SERVER_SIDE_EMIT_RESPONSE: u64 = 10;
const BROADCAST_CLIENT_COUNT: u64 = 11;
const BROADCAST_ACK: u64 = 12;

/// The bytes of an envelope: MessagePack when `kind` may carry binary and `data` has some.
fn envelope(kind: u64, data: Map, uid: &str, nsp: &str) -> Vec<u8> {
    let binary_kind = matches!(
        kind,
        BROADCAST
            | FETCH_SOCKETS_RESPONSE
            | SERVER_SIDE_EMIT
            | SERVER_SIDE_EMIT_RESPONSE
            | BROADCAST_ACK
    );
    let data = Value::Object(data);
    let msgpack = binary_kind && data.has_binary();
    let mut map = Map::new();
    map.insert("type".into(), Value::from(kind));
    map.insert("data".into(), data);
    map.insert("uid".into(), Value::from(uid));
    map.insert("nsp".into(), Value::from(nsp));
    if msgpack {
        let mut out = Vec::with_capacity(64);
        write_msgpack(&Value::Object(map), &mut out);
        out
    } else {
        json_bytes(&Value::Object(map))
    }
}

fn opts_value(opts: &ClusterOpts) -> Value {
    opts.to_value(true)
}

/// Encodes a broadcast.
pub fn encode_broadcast(message: &BroadcastMessage) -> Vec<u8> {
    let mut data = Map::new();
    data.insert("packet".into(), event_packet_without_nsp(&message.data));
    data.insert("opts".into(), opts_value(&message.opts));
    envelope(BROADCAST, data, &message.uid, &message.nsp)
}

/// Encodes a request of server `uid` (its `uid` field is not used: the envelope has it).
pub fn encode_request(request: &Request, uid: &str, nsp: &str) -> Vec<u8> {
    let mut data = Map::new();
    let kind = match request {
        Request::Broadcast {
            request_id,
            data: event,
            opts,
            ..
        } => {
            data.insert("packet".into(), event_packet_without_nsp(event));
            data.insert("requestId".into(), Value::from(request_id.as_str()));
            data.insert("opts".into(), opts_value(opts));
            BROADCAST
        }
        Request::Join { opts, rooms, .. } | Request::Leave { opts, rooms, .. } => {
            data.insert("opts".into(), opts_value(opts));
            data.insert("rooms".into(), string_array(rooms));
            if matches!(request, Request::Join { .. }) {
                SOCKETS_JOIN
            } else {
                SOCKETS_LEAVE
            }
        }
        Request::Disconnect { opts, close, .. } => {
            data.insert("opts".into(), opts_value(opts));
            data.insert("close".into(), Value::Bool(*close));
            DISCONNECT_SOCKETS
        }
        Request::Fetch {
            request_id, opts, ..
        } => {
            data.insert("opts".into(), opts_value(opts));
            data.insert("requestId".into(), Value::from(request_id.as_str()));
            FETCH_SOCKETS
        }
        Request::ServerSideEmit {
            request_id,
            data: event,
            ..
        } => {
            if let Some(id) = request_id {
                data.insert("requestId".into(), Value::from(id.as_str()));
            }
            data.insert("packet".into(), Value::Array(event.clone()));
            SERVER_SIDE_EMIT
        }
        // The sharded adapter has no SOCKETS or ALL_ROOMS requests.
        Request::Sockets { .. } | Request::AllRooms { .. } => return Vec::new(),
    };
    envelope(kind, data, uid, nsp)
}

/// Encodes an answer of server `uid`.
pub fn encode_response(response: &Response, uid: &str, nsp: &str) -> Vec<u8> {
    let mut data = Map::new();
    data.insert("requestId".into(), Value::from(response.request_id()));
    let kind = match response {
        Response::Fetch { sockets, .. } => {
            let list = sockets.iter().map(ClusterSocket::to_value).collect();
            data.insert("sockets".into(), Value::Array(list));
            FETCH_SOCKETS_RESPONSE
        }
        Response::ServerSideEmit { data: value, .. } => {
            if let Some(value) = value {
                data.insert("packet".into(), value.clone());
            }
            SERVER_SIDE_EMIT_RESPONSE
        }
        Response::BroadcastClientCount { client_count, .. } => {
            data.insert("clientCount".into(), Value::from(*client_count));
            BROADCAST_CLIENT_COUNT
        }
        Response::BroadcastAck { packet, .. } => {
            data.insert("packet".into(), packet.clone());
            BROADCAST_ACK
        }
        Response::Sockets { .. } | Response::AllRooms { .. } => return Vec::new(),
    };
    envelope(kind, data, uid, nsp)
}

/// Reads an envelope; returns the sender's uid, the namespace and what it says. Types the
/// Node adapter ignores (heartbeats, adapter close) are errors here too.
pub fn decode(bytes: &Bytes) -> Result<(String, String, ShardedMessage), DecodeError> {
    let Value::Object(mut map) = decode_either(bytes)? else {
        return Err(DecodeError::Shape("message is not an object"));
    };
    let kind = match map.get("type") {
        Some(Value::Number(n)) => n.as_u64(),
        _ => None,
    }
    .ok_or(DecodeError::Shape("message without type"))?;
    let Some(Value::String(uid)) = map.shift_remove("uid") else {
        return Err(DecodeError::Shape("message without uid"));
    };
    let Some(Value::String(nsp)) = map.shift_remove("nsp") else {
        return Err(DecodeError::Shape("message without nsp"));
    };
    let mut data = match map.shift_remove("data") {
        Some(Value::Object(data)) => data,
        _ => Map::new(),
    };
    let request_id = match data.shift_remove("requestId") {
        Some(Value::String(id)) => Some(id),
        _ => None,
    };
    let needs_id = |id: Option<String>| id.ok_or(DecodeError::Shape("message without requestId"));
    let opts = || ClusterOpts::from_value(data.get("opts"));
    let message = match kind {
        BROADCAST => {
            let opts = opts()?;
            let packet = data
                .shift_remove("packet")
                .ok_or(DecodeError::Shape("broadcast without packet"))?;
            let (event, _) = packet_parts(packet)?;
            match request_id {
                None => ShardedMessage::Broadcast(BroadcastMessage {
                    uid: uid.clone(),
                    nsp: nsp.clone(),
                    data: event,
                    opts,
                }),
                Some(request_id) => ShardedMessage::Request(Request::Broadcast {
                    uid: uid.clone(),
                    request_id,
                    nsp: nsp.clone(),
                    data: event,
                    opts,
                }),
            }
        }
        SOCKETS_JOIN | SOCKETS_LEAVE => {
            let opts = opts()?;
            let rooms = strings(data.get("rooms"));
            let uid = Some(uid.clone());
            ShardedMessage::Request(if kind == SOCKETS_JOIN {
                Request::Join { uid, opts, rooms }
            } else {
                Request::Leave { uid, opts, rooms }
            })
        }
        DISCONNECT_SOCKETS => ShardedMessage::Request(Request::Disconnect {
            uid: Some(uid.clone()),
            opts: opts()?,
            close: matches!(data.get("close"), Some(Value::Bool(true))),
        }),
        FETCH_SOCKETS => ShardedMessage::Request(Request::Fetch {
            uid: uid.clone(),
            request_id: needs_id(request_id)?,
            opts: opts()?,
        }),
        SERVER_SIDE_EMIT => {
            let Some(Value::Array(event)) = data.shift_remove("packet") else {
                return Err(DecodeError::Shape("serverSideEmit without packet"));
            };
            if !matches!(event.first(), Some(Value::String(_))) {
                return Err(DecodeError::Shape("serverSideEmit without an event name"));
            }
            ShardedMessage::Request(Request::ServerSideEmit {
                uid: uid.clone(),
                request_id,
                data: event,
            })
        }
        FETCH_SOCKETS_RESPONSE => {
            let sockets = match data.shift_remove("sockets") {
                Some(Value::Array(list)) => list
                    .into_iter()
                    .filter_map(ClusterSocket::from_value)
                    .collect(),
                _ => Vec::new(),
            };
            ShardedMessage::Response(Response::Fetch {
                request_id: needs_id(request_id)?,
                sockets,
            })
        }
        SERVER_SIDE_EMIT_RESPONSE => ShardedMessage::Response(Response::ServerSideEmit {
            request_id: needs_id(request_id)?,
            data: data.shift_remove("packet"),
        }),
        BROADCAST_CLIENT_COUNT => ShardedMessage::Response(Response::BroadcastClientCount {
            request_id: needs_id(request_id)?,
            client_count: match data.get("clientCount") {
                Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
                _ => 0,
            },
        }),
        BROADCAST_ACK => ShardedMessage::Response(Response::BroadcastAck {
            request_id: needs_id(request_id)?,
            packet: data.shift_remove("packet").unwrap_or_default(),
        }),
        _ => return Err(DecodeError::Shape("message type this adapter ignores")),
    };
    Ok((uid, nsp, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Value {
        Value::from_json_str(text).expect("JSON")
    }

    const UID: &str = "a7b4959d1b7b0811";

    #[test]
    fn channels_follow_the_subscription_mode() {
        let dynamic = ShardedChannels::new("P", SubscriptionMode::Dynamic);
        let sid = "kiu8nrOPYTLkssaKAAAA".to_owned();
        assert_eq!(dynamic.main("/"), "P#/#");
        assert_eq!(dynamic.response("/", UID), "P#/#a7b4959d1b7b0811#");
        assert_eq!(
            dynamic.broadcast_channel("/", &["room1".into()], false),
            "P#/#room1#"
        );
        assert_eq!(
            dynamic.broadcast_channel("/", std::slice::from_ref(&sid), false),
            "P#/#"
        );
        assert_eq!(
            dynamic.broadcast_channel("/", &["room1".into()], true),
            "P#/#"
        );
        assert_eq!(
            dynamic.broadcast_channel("/", &["a".into(), "b".into()], false),
            "P#/#"
        );
        let private = ShardedChannels::new("P", SubscriptionMode::DynamicPrivate);
        assert_eq!(
            private.broadcast_channel("/", std::slice::from_ref(&sid), false),
            format!("P#/#{sid}#")
        );
        let fixed = ShardedChannels::new("P", SubscriptionMode::Static);
        assert_eq!(
            fixed.broadcast_channel("/", &["room1".into()], false),
            "P#/#"
        );
    }

    #[test]
    fn node_captures_decode() {
        let broadcast = r#"{"type":3,"data":{"packet":{"type":2,"data":["r1","x"]},"opts":{"rooms":["room1"],"except":[],"flags":{}}},"uid":"a7b4959d1b7b0811","nsp":"/"}"#;
        let (uid, nsp, message) = decode(&Bytes::from(broadcast)).unwrap();
        assert_eq!((uid.as_str(), nsp.as_str()), (UID, "/"));
        let ShardedMessage::Broadcast(broadcast) = message else {
            panic!("a broadcast");
        };
        assert_eq!(broadcast.data, [Value::from("r1"), Value::from("x")]);
        assert_eq!(broadcast.opts.rooms, ["room1"]);

        let with_ack = r#"{"type":3,"data":{"packet":{"type":2,"data":["ackme",5]},"requestId":"de2d9eef7b59a576","opts":{"rooms":["room1"],"except":[],"flags":{"timeout":1000}}},"uid":"a7b4959d1b7b0811","nsp":"/"}"#;
        let (_, _, message) = decode(&Bytes::from(with_ack)).unwrap();
        assert!(matches!(
            message,
            ShardedMessage::Request(Request::Broadcast { .. })
        ));

        let count = r#"{"type":11,"data":{"requestId":"de2d9eef7b59a576","clientCount":1},"uid":"a56fc6d9724b0ec1","nsp":"/"}"#;
        let (_, _, message) = decode(&Bytes::from(count)).unwrap();
        assert_eq!(
            message,
            ShardedMessage::Response(Response::BroadcastClientCount {
                request_id: "de2d9eef7b59a576".into(),
                client_count: 1
            })
        );
        let emit = r#"{"type":9,"data":{"requestId":"e6e0225599363a1f","packet":["ssea",9]},"uid":"a7b4959d1b7b0811","nsp":"/"}"#;
        let (_, _, message) = decode(&Bytes::from(emit)).unwrap();
        assert_eq!(
            message,
            ShardedMessage::Request(Request::ServerSideEmit {
                uid: UID.into(),
                request_id: Some("e6e0225599363a1f".into()),
                data: vec![Value::from("ssea"), Value::from(9)]
            })
        );
    }

    #[test]
    fn encodings_match_node_json_and_switch_to_msgpack_for_binary() {
        let broadcast = BroadcastMessage {
            uid: UID.into(),
            nsp: "/".into(),
            data: vec![Value::from("hello"), Value::from("world")],
            opts: ClusterOpts::default(),
        };
        assert_eq!(
            json(std::str::from_utf8(&encode_broadcast(&broadcast)).unwrap()),
            json(
                r#"{"type":3,"data":{"packet":{"type":2,"data":["hello","world"]},"opts":{"rooms":[],"except":[],"flags":{}}},"uid":"a7b4959d1b7b0811","nsp":"/"}"#
            )
        );
        // io.emit("bin", Buffer[1,2,3]), captured: MessagePack.
        let binary = BroadcastMessage {
            data: vec![
                Value::from("bin"),
                Value::Binary(Bytes::from_static(&[1, 2, 3])),
            ],
            ..broadcast
        };
        let captured: Vec<u8> = "84 a4 74 79 70 65 03 a4 64 61 74 61 82 a6 70 61 63 6b 65 74 82 a4 74 79 70 65 02 a4 64 61 74 61 92 \
            a3 62 69 6e c4 03 01 02 03 a4 6f 70 74 73 83 a5 72 6f 6f 6d 73 90 a6 65 78 63 65 70 74 90 a5 66 6c \
            61 67 73 80 a3 75 69 64 b0 61 37 62 34 39 35 39 64 31 62 37 62 30 38 31 31 a3 6e 73 70 a1 2f"
            .split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect();
        assert_eq!(encode_broadcast(&binary), captured);
        let (_, _, again) = decode(&Bytes::from(captured)).unwrap();
        assert_eq!(again, ShardedMessage::Broadcast(binary));
    }

    #[test]
    fn requests_and_responses_round_trip() {
        let requests = [
            Request::Join {
                uid: Some(UID.into()),
                opts: ClusterOpts::default(),
                rooms: vec!["r".into()],
            },
            Request::Disconnect {
                uid: Some(UID.into()),
                opts: ClusterOpts::default(),
                close: true,
            },
            Request::Fetch {
                uid: UID.into(),
                request_id: "1".into(),
                opts: ClusterOpts::default(),
            },
        ];
        for request in requests {
            let (_, _, message) = decode(&Bytes::from(encode_request(&request, UID, "/"))).unwrap();
            assert_eq!(message, ShardedMessage::Request(request));
        }
        let responses = [
            Response::ServerSideEmit {
                request_id: "2".into(),
                data: Some(Value::from(1)),
            },
            Response::BroadcastAck {
                request_id: "3".into(),
                packet: Value::Binary(Bytes::from_static(&[9])),
            },
        ];
        for response in responses {
            let (_, _, message) =
                decode(&Bytes::from(encode_response(&response, UID, "/"))).unwrap();
            assert_eq!(message, ShardedMessage::Response(response));
        }
    }
}
