//! The classic (pub/sub) adapter's channels and messages, as npm
//! `@socket.io/redis-adapter` 8 `createAdapter` writes and reads them.
//!
//! Requests and responses are JSON, except the broadcast with acknowledgements (request
//! type 7) and its acknowledgements (type 9), which are MessagePack as broadcasts are. A
//! reader tells the two apart by the first byte: `{` is JSON.

use bytes::Bytes;

use crate::proto::value::msgpack::{read_msgpack, write_msgpack};
use crate::proto::value::{Map, Value};

/// Why a cluster message was ignored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not valid MessagePack.
    #[error("invalid MessagePack: {0}")]
    Msgpack(String),
    /// Not valid JSON.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// Valid encoding, unexpected shape.
    #[error("unexpected cluster message: {0}")]
    Shape(&'static str),
}

/// The channel names of one adapter `key` (default `socket.io`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channels {
    key: String,
}

impl Channels {
    /// The channels under `key`.
    pub fn new(key: impl Into<String>) -> Channels {
        Channels { key: key.into() }
    }

    /// `key#nsp#`: broadcasts to zero or several rooms.
    pub fn broadcast(&self, nsp: &str) -> String {
        format!("{}#{nsp}#", self.key)
    }

    /// `key#nsp#room#`: broadcasts to exactly one room.
    pub fn room(&self, nsp: &str, room: &str) -> String {
        format!("{}#{nsp}#{room}#", self.key)
    }

    /// `key#nsp#*`: the pattern every server subscribes to for broadcasts.
    pub fn broadcast_pattern(&self, nsp: &str) -> String {
        format!("{}#{nsp}#*", self.key)
    }

    /// `key-request#nsp#`: server-wide requests (and what `PUBSUB NUMSUB` counts).
    pub fn request(&self, nsp: &str) -> String {
        format!("{}-request#{nsp}#", self.key)
    }

    /// `key-response#nsp#`: answers, unless the responder uses the specific channel.
    pub fn response(&self, nsp: &str) -> String {
        format!("{}-response#{nsp}#", self.key)
    }

    /// `key-response#nsp#uid#`: answers for the server `uid`.
    pub fn specific_response(&self, nsp: &str, uid: &str) -> String {
        format!("{}-response#{nsp}#{uid}#", self.key)
    }

    /// For a channel under [`Channels::broadcast_pattern`]: `Some("")` for the plain
    /// broadcast channel, `Some(room)` for a room channel, `None` for anything else.
    pub fn broadcast_room<'a>(&self, nsp: &str, channel: &'a str) -> Option<&'a str> {
        let rest = channel
            .strip_prefix(self.key.as_str())?
            .strip_prefix('#')?
            .strip_prefix(nsp)?
            .strip_prefix('#')?;
        if rest.is_empty() {
            return Some("");
        }
        rest.strip_suffix('#')
    }
}

/// How a broadcast is delivered, as socket.io's `flags` object travels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WireFlags {
    /// `volatile`.
    pub volatile: bool,
    /// `compress`, when set.
    pub compress: Option<bool>,
    /// `timeout` in milliseconds, when set.
    pub timeout_ms: Option<u64>,
    /// `expectSingleResponse` (an emit with ack to one remote socket).
    pub expect_single_response: bool,
}

impl WireFlags {
    fn to_value(self) -> Value {
        let mut map = Map::new();
        if self.volatile {
            map.insert("volatile".into(), Value::Bool(true));
        }
        if let Some(compress) = self.compress {
            map.insert("compress".into(), Value::Bool(compress));
        }
        if self.expect_single_response {
            map.insert("expectSingleResponse".into(), Value::Bool(true));
        }
        if let Some(timeout) = self.timeout_ms {
            map.insert("timeout".into(), Value::from(timeout));
        }
        Value::Object(map)
    }

    fn from_value(value: Option<&Value>) -> WireFlags {
        let Some(Value::Object(map)) = value else {
            return WireFlags::default();
        };
        let flag = |name: &str| matches!(map.get(name), Some(Value::Bool(true)));
        WireFlags {
            volatile: flag("volatile"),
            compress: match map.get("compress") {
                Some(Value::Bool(b)) => Some(*b),
                _ => None,
            },
            timeout_ms: map.get("timeout").and_then(|t| match t {
                Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)),
                _ => None,
            }),
            expect_single_response: flag("expectSingleResponse"),
        }
    }
}

/// Which sockets a cluster operation reaches: socket.io's `BroadcastOptions` on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterOpts {
    /// Sockets in at least one of these rooms; every socket when empty.
    pub rooms: Vec<String>,
    /// No socket in any of these rooms.
    pub except: Vec<String>,
    /// Delivery flags.
    pub flags: WireFlags,
}

impl ClusterOpts {
    pub(super) fn to_value(&self, with_flags: bool) -> Value {
        let strings =
            |list: &[String]| Value::Array(list.iter().map(|r| Value::from(r.as_str())).collect());
        let mut map = Map::new();
        map.insert("rooms".into(), strings(&self.rooms));
        map.insert("except".into(), strings(&self.except));
        if with_flags {
            map.insert("flags".into(), self.flags.to_value());
        }
        Value::Object(map)
    }

    pub(super) fn from_value(value: Option<&Value>) -> Result<ClusterOpts, DecodeError> {
        let Some(Value::Object(map)) = value else {
            return Err(DecodeError::Shape("opts is not an object"));
        };
        Ok(ClusterOpts {
            rooms: room_list(map.get("rooms")),
            except: room_list(map.get("except")),
            flags: WireFlags::from_value(map.get("flags")),
        })
    }
}

/// A list of room names; numbers (Node allows `io.to(7)`) become their decimal text, as
/// in the room channel's name.
fn room_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(room_name).collect(),
        _ => Vec::new(),
    }
}

fn room_name(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(super) fn strings(value: Option<&Value>) -> Vec<String> {
    room_list(value)
}

/// A broadcast: MessagePack `[uid, {type: 2, data, nsp}, {rooms, except, flags}]`.
#[derive(Debug, Clone, PartialEq)]
pub struct BroadcastMessage {
    /// The sending server (`"emitter"` for `@socket.io/redis-emitter`).
    pub uid: String,
    /// The namespace.
    pub nsp: String,
    /// The event name followed by its arguments.
    pub data: Vec<Value>,
    /// Rooms, exclusions and flags.
    pub opts: ClusterOpts,
}

impl BroadcastMessage {
    /// The channel it is published on: the room's own channel for exactly one room.
    pub fn channel(&self, channels: &Channels) -> String {
        match self.opts.rooms.as_slice() {
            [room] => channels.room(&self.nsp, room),
            _ => channels.broadcast(&self.nsp),
        }
    }

    /// The MessagePack bytes.
    pub fn encode(&self) -> Vec<u8> {
        let message = Value::Array(vec![
            Value::from(self.uid.as_str()),
            event_packet(&self.data, &self.nsp),
            self.opts.to_value(true),
        ]);
        let mut out = Vec::with_capacity(64);
        write_msgpack(&message, &mut out);
        out
    }

    /// Reads a broadcast (a packet without `nsp` belongs to `/`, as older emitters send).
    pub fn decode(bytes: &Bytes) -> Result<BroadcastMessage, DecodeError> {
        let value = read_msgpack(bytes).map_err(|e| DecodeError::Msgpack(e.to_string()))?;
        let Value::Array(mut parts) = value else {
            return Err(DecodeError::Shape("broadcast is not an array"));
        };
        if parts.len() != 3 {
            return Err(DecodeError::Shape("broadcast is not [uid, packet, opts]"));
        }
        let opts = ClusterOpts::from_value(parts.get(2))?;
        let (data, nsp) = packet_parts(parts.swap_remove(1))?;
        let Value::String(uid) = parts.swap_remove(0) else {
            return Err(DecodeError::Shape("broadcast uid is not a string"));
        };
        Ok(BroadcastMessage {
            uid,
            nsp: nsp.unwrap_or_else(|| "/".to_owned()),
            data,
            opts,
        })
    }
}

/// `{type: 2, data}`: the sharded adapter's packet (the envelope names the namespace).
pub(super) fn event_packet_without_nsp(data: &[Value]) -> Value {
    let mut packet = Map::new();
    packet.insert("type".into(), Value::from(2));
    packet.insert("data".into(), Value::Array(data.to_vec()));
    Value::Object(packet)
}

/// `{type: 2, data, nsp}`.
fn event_packet(data: &[Value], nsp: &str) -> Value {
    let mut packet = Map::new();
    packet.insert("type".into(), Value::from(2));
    packet.insert("data".into(), Value::Array(data.to_vec()));
    packet.insert("nsp".into(), Value::from(nsp));
    Value::Object(packet)
}

/// The event (name first) and namespace of a packet.
pub(super) fn packet_parts(packet: Value) -> Result<(Vec<Value>, Option<String>), DecodeError> {
    let Value::Object(mut packet) = packet else {
        return Err(DecodeError::Shape("packet is not an object"));
    };
    let Some(Value::Array(data)) = packet.shift_remove("data") else {
        return Err(DecodeError::Shape("packet data is not an array"));
    };
    if !matches!(data.first(), Some(Value::String(_))) {
        return Err(DecodeError::Shape(
            "packet data does not start with an event name",
        ));
    }
    let nsp = match packet.shift_remove("nsp") {
        Some(Value::String(nsp)) => Some(nsp),
        _ => None,
    };
    Ok((data, nsp))
}

/// The request types (the adapter's `RequestType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// `0` SOCKETS.
    Sockets,
    /// `1` ALL_ROOMS.
    AllRooms,
    /// `2` REMOTE_JOIN.
    Join,
    /// `3` REMOTE_LEAVE.
    Leave,
    /// `4` REMOTE_DISCONNECT.
    Disconnect,
    /// `5` REMOTE_FETCH.
    Fetch,
    /// `6` SERVER_SIDE_EMIT.
    ServerSideEmit,
    /// `7` BROADCAST (with acknowledgements).
    Broadcast,
}

impl RequestKind {
    fn code(self) -> u64 {
        match self {
            RequestKind::Sockets => 0,
            RequestKind::AllRooms => 1,
            RequestKind::Join => 2,
            RequestKind::Leave => 3,
            RequestKind::Disconnect => 4,
            RequestKind::Fetch => 5,
            RequestKind::ServerSideEmit => 6,
            RequestKind::Broadcast => 7,
        }
    }

    fn from_code(code: u64) -> Option<RequestKind> {
        Some(match code {
            0 => RequestKind::Sockets,
            1 => RequestKind::AllRooms,
            2 => RequestKind::Join,
            3 => RequestKind::Leave,
            4 => RequestKind::Disconnect,
            5 => RequestKind::Fetch,
            6 => RequestKind::ServerSideEmit,
            7 => RequestKind::Broadcast,
            _ => return None,
        })
    }
}

/// A server-wide request, published on [`Channels::request`].
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// The ids of the sockets in `rooms` (answered for old servers; v8 never asks).
    Sockets {
        /// The asking server.
        uid: String,
        /// Matches the answers.
        request_id: String,
        /// Rooms (every socket when empty).
        rooms: Vec<String>,
    },
    /// Every room of every server.
    AllRooms {
        /// The asking server.
        uid: String,
        /// Matches the answers.
        request_id: String,
    },
    /// `socketsJoin`: the selected sockets join `rooms`.
    Join {
        /// The asking server (the emitter sends none).
        uid: Option<String>,
        /// Which sockets.
        opts: ClusterOpts,
        /// Rooms to join.
        rooms: Vec<String>,
    },
    /// `socketsLeave`: the selected sockets leave `rooms`.
    Leave {
        /// The asking server (the emitter sends none).
        uid: Option<String>,
        /// Which sockets.
        opts: ClusterOpts,
        /// Rooms to leave.
        rooms: Vec<String>,
    },
    /// `disconnectSockets`.
    Disconnect {
        /// The asking server (the emitter sends none).
        uid: Option<String>,
        /// Which sockets.
        opts: ClusterOpts,
        /// Also close their connections.
        close: bool,
    },
    /// `fetchSockets`.
    Fetch {
        /// The asking server.
        uid: String,
        /// Matches the answers.
        request_id: String,
        /// Which sockets.
        opts: ClusterOpts,
    },
    /// `serverSideEmit`: an event for the other servers, acknowledged when `request_id`
    /// is set.
    ServerSideEmit {
        /// The sending server.
        uid: String,
        /// Set when the sender waits for answers.
        request_id: Option<String>,
        /// The event name followed by its arguments.
        data: Vec<Value>,
    },
    /// A broadcast whose clients' acknowledgements go back to the sender.
    Broadcast {
        /// The sending server.
        uid: String,
        /// Matches the answers.
        request_id: String,
        /// The namespace.
        nsp: String,
        /// The event name followed by its arguments.
        data: Vec<Value>,
        /// Rooms, exclusions and flags.
        opts: ClusterOpts,
    },
}

impl Request {
    /// Its type.
    pub fn kind(&self) -> RequestKind {
        match self {
            Request::Sockets { .. } => RequestKind::Sockets,
            Request::AllRooms { .. } => RequestKind::AllRooms,
            Request::Join { .. } => RequestKind::Join,
            Request::Leave { .. } => RequestKind::Leave,
            Request::Disconnect { .. } => RequestKind::Disconnect,
            Request::Fetch { .. } => RequestKind::Fetch,
            Request::ServerSideEmit { .. } => RequestKind::ServerSideEmit,
            Request::Broadcast { .. } => RequestKind::Broadcast,
        }
    }

    /// The sending server, when the request names it.
    pub fn uid(&self) -> Option<&str> {
        match self {
            Request::Sockets { uid, .. }
            | Request::AllRooms { uid, .. }
            | Request::Fetch { uid, .. }
            | Request::ServerSideEmit { uid, .. }
            | Request::Broadcast { uid, .. } => Some(uid),
            Request::Join { uid, .. }
            | Request::Leave { uid, .. }
            | Request::Disconnect { uid, .. } => uid.as_deref(),
        }
    }

    /// The bytes: JSON, or MessagePack for [`Request::Broadcast`].
    pub fn encode(&self) -> Vec<u8> {
        let mut map = Map::new();
        if let Some(uid) = self.uid() {
            map.insert("uid".into(), Value::from(uid));
        }
        let request_id = match self {
            Request::Sockets { request_id, .. }
            | Request::AllRooms { request_id, .. }
            | Request::Fetch { request_id, .. }
            | Request::Broadcast { request_id, .. } => Some(request_id.as_str()),
            Request::ServerSideEmit { request_id, .. } => request_id.as_deref(),
            _ => None,
        };
        if let Some(id) = request_id {
            map.insert("requestId".into(), Value::from(id));
        }
        map.insert("type".into(), Value::from(self.kind().code()));
        match self {
            Request::Sockets { rooms, .. } => {
                map.insert("rooms".into(), string_array(rooms));
            }
            Request::AllRooms { .. } => {}
            Request::Join { opts, rooms, .. } | Request::Leave { opts, rooms, .. } => {
                map.insert("opts".into(), opts.to_value(false));
                map.insert("rooms".into(), string_array(rooms));
            }
            Request::Disconnect { opts, close, .. } => {
                map.insert("opts".into(), opts.to_value(false));
                map.insert("close".into(), Value::Bool(*close));
            }
            Request::Fetch { opts, .. } => {
                map.insert("opts".into(), opts.to_value(false));
            }
            Request::ServerSideEmit { data, .. } => {
                map.insert("data".into(), Value::Array(data.clone()));
            }
            Request::Broadcast {
                nsp, data, opts, ..
            } => {
                map.insert("packet".into(), event_packet(data, nsp));
                map.insert("opts".into(), opts.to_value(true));
                let mut out = Vec::with_capacity(64);
                write_msgpack(&Value::Object(map), &mut out);
                return out;
            }
        }
        json_bytes(&Value::Object(map))
    }

    /// Reads a request in either encoding. Legacy single-socket forms (`sid`) are refused.
    pub fn decode(bytes: &Bytes) -> Result<Request, DecodeError> {
        let Value::Object(mut map) = decode_either(bytes)? else {
            return Err(DecodeError::Shape("request is not an object"));
        };
        let kind = match map.get("type") {
            Some(Value::Number(n)) => n.as_u64().and_then(RequestKind::from_code),
            _ => None,
        }
        .ok_or(DecodeError::Shape("unknown request type"))?;
        let uid = match map.shift_remove("uid") {
            Some(Value::String(uid)) => Some(uid),
            _ => None,
        };
        let request_id = match map.shift_remove("requestId") {
            Some(Value::String(id)) => Some(id),
            _ => None,
        };
        let required =
            |value: Option<String>, what: &'static str| value.ok_or(DecodeError::Shape(what));
        Ok(match kind {
            RequestKind::Sockets => Request::Sockets {
                uid: required(uid, "request without uid")?,
                request_id: required(request_id, "request without requestId")?,
                rooms: strings(map.get("rooms")),
            },
            RequestKind::AllRooms => Request::AllRooms {
                uid: required(uid, "request without uid")?,
                request_id: required(request_id, "request without requestId")?,
            },
            RequestKind::Join | RequestKind::Leave => {
                let opts = ClusterOpts::from_value(map.get("opts"))?;
                let rooms = strings(map.get("rooms"));
                if kind == RequestKind::Join {
                    Request::Join { uid, opts, rooms }
                } else {
                    Request::Leave { uid, opts, rooms }
                }
            }
            RequestKind::Disconnect => Request::Disconnect {
                uid,
                opts: ClusterOpts::from_value(map.get("opts"))?,
                close: matches!(map.get("close"), Some(Value::Bool(true))),
            },
            RequestKind::Fetch => Request::Fetch {
                uid: required(uid, "request without uid")?,
                request_id: required(request_id, "request without requestId")?,
                opts: ClusterOpts::from_value(map.get("opts"))?,
            },
            RequestKind::ServerSideEmit => {
                let Some(Value::Array(data)) = map.shift_remove("data") else {
                    return Err(DecodeError::Shape("serverSideEmit without data"));
                };
                if !matches!(data.first(), Some(Value::String(_))) {
                    return Err(DecodeError::Shape("serverSideEmit without an event name"));
                }
                Request::ServerSideEmit {
                    uid: required(uid, "request without uid")?,
                    request_id,
                    data,
                }
            }
            RequestKind::Broadcast => {
                let opts = ClusterOpts::from_value(map.get("opts"))?;
                let packet = map
                    .shift_remove("packet")
                    .ok_or(DecodeError::Shape("broadcast request without packet"))?;
                let (data, nsp) = packet_parts(packet)?;
                Request::Broadcast {
                    uid: required(uid, "request without uid")?,
                    request_id: required(request_id, "request without requestId")?,
                    nsp: nsp.unwrap_or_else(|| "/".to_owned()),
                    data,
                    opts,
                }
            }
        })
    }
}

/// One socket in a `fetchSockets` answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSocket {
    /// The socket id.
    pub id: String,
    /// socket.io's `handshake` object (headers, time, address, xdomain, secure, issued,
    /// url, query, auth).
    pub handshake: Value,
    /// Its rooms, its own id included.
    pub rooms: Vec<String>,
    /// `socket.data`.
    pub data: Value,
}

impl ClusterSocket {
    pub(super) fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("id".into(), Value::from(self.id.as_str()));
        map.insert("handshake".into(), self.handshake.clone());
        map.insert("rooms".into(), string_array(&self.rooms));
        map.insert("data".into(), self.data.clone());
        Value::Object(map)
    }

    pub(super) fn from_value(value: Value) -> Option<ClusterSocket> {
        let Value::Object(mut map) = value else {
            return None;
        };
        let Some(Value::String(id)) = map.shift_remove("id") else {
            return None;
        };
        Some(ClusterSocket {
            id,
            rooms: strings(map.get("rooms")),
            handshake: map.shift_remove("handshake").unwrap_or_default(),
            data: map.shift_remove("data").unwrap_or_default(),
        })
    }
}

/// An answer to a [`Request`], published on [`Channels::response`] (or the asking
/// server's [`Channels::specific_response`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// To [`Request::Sockets`].
    Sockets {
        /// The request answered.
        request_id: String,
        /// Socket ids.
        sockets: Vec<String>,
    },
    /// To [`Request::AllRooms`].
    AllRooms {
        /// The request answered.
        request_id: String,
        /// Room names.
        rooms: Vec<String>,
    },
    /// To [`Request::Fetch`].
    Fetch {
        /// The request answered.
        request_id: String,
        /// The matching sockets of the answering server.
        sockets: Vec<ClusterSocket>,
    },
    /// One server's acknowledgement of a [`Request::ServerSideEmit`] (type 6).
    ServerSideEmit {
        /// The request answered.
        request_id: String,
        /// The first argument of its acknowledgement, if any.
        data: Option<Value>,
    },
    /// How many clients a server sent a [`Request::Broadcast`] to (type 8).
    BroadcastClientCount {
        /// The request answered.
        request_id: String,
        /// Clients that will acknowledge.
        client_count: u64,
    },
    /// One client's acknowledgement of a [`Request::Broadcast`] (type 9).
    BroadcastAck {
        /// The request answered.
        request_id: String,
        /// The first argument of the client's acknowledgement.
        packet: Value,
    },
}

impl Response {
    /// The request it answers.
    pub fn request_id(&self) -> &str {
        match self {
            Response::Sockets { request_id, .. }
            | Response::AllRooms { request_id, .. }
            | Response::Fetch { request_id, .. }
            | Response::ServerSideEmit { request_id, .. }
            | Response::BroadcastClientCount { request_id, .. }
            | Response::BroadcastAck { request_id, .. } => request_id,
        }
    }

    /// The bytes: JSON, or MessagePack for [`Response::BroadcastAck`].
    pub fn encode(&self) -> Vec<u8> {
        let mut map = Map::new();
        match self {
            Response::ServerSideEmit { .. } => {
                map.insert("type".into(), Value::from(6));
            }
            Response::BroadcastClientCount { .. } => {
                map.insert("type".into(), Value::from(8));
            }
            Response::BroadcastAck { .. } => {
                map.insert("type".into(), Value::from(9));
            }
            _ => {}
        }
        map.insert("requestId".into(), Value::from(self.request_id()));
        match self {
            Response::Sockets { sockets, .. } => {
                map.insert("sockets".into(), string_array(sockets));
            }
            Response::AllRooms { rooms, .. } => {
                map.insert("rooms".into(), string_array(rooms));
            }
            Response::Fetch { sockets, .. } => {
                let list = sockets.iter().map(ClusterSocket::to_value).collect();
                map.insert("sockets".into(), Value::Array(list));
            }
            Response::ServerSideEmit { data, .. } => {
                if let Some(data) = data {
                    map.insert("data".into(), data.clone());
                }
            }
            Response::BroadcastClientCount { client_count, .. } => {
                map.insert("clientCount".into(), Value::from(*client_count));
            }
            Response::BroadcastAck { packet, .. } => {
                map.insert("packet".into(), packet.clone());
                let mut out = Vec::with_capacity(32);
                write_msgpack(&Value::Object(map), &mut out);
                return out;
            }
        }
        json_bytes(&Value::Object(map))
    }

    /// Reads an answer in either encoding. Answers without a `type` are told apart by
    /// their fields: `rooms`, or `sockets` holding ids (strings) or sockets (objects; an
    /// empty list reads as [`Response::Fetch`]).
    pub fn decode(bytes: &Bytes) -> Result<Response, DecodeError> {
        let Value::Object(mut map) = decode_either(bytes)? else {
            return Err(DecodeError::Shape("response is not an object"));
        };
        let Some(Value::String(request_id)) = map.shift_remove("requestId") else {
            return Err(DecodeError::Shape("response without requestId"));
        };
        let kind = match map.get("type") {
            Some(Value::Number(n)) => n.as_u64(),
            _ => None,
        };
        Ok(match kind {
            Some(6) => Response::ServerSideEmit {
                request_id,
                data: map.shift_remove("data"),
            },
            Some(8) => Response::BroadcastClientCount {
                request_id,
                client_count: match map.get("clientCount") {
                    Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
                    _ => 0,
                },
            },
            Some(9) => Response::BroadcastAck {
                request_id,
                packet: map.shift_remove("packet").unwrap_or_default(),
            },
            _ => match (map.shift_remove("sockets"), map.shift_remove("rooms")) {
                (Some(Value::Array(sockets)), _)
                    if sockets.iter().all(|s| matches!(s, Value::String(_)))
                        && !sockets.is_empty() =>
                {
                    Response::Sockets {
                        request_id,
                        sockets: sockets.iter().filter_map(room_name).collect(),
                    }
                }
                (Some(Value::Array(sockets)), _) => Response::Fetch {
                    request_id,
                    sockets: sockets
                        .into_iter()
                        .filter_map(ClusterSocket::from_value)
                        .collect(),
                },
                (_, Some(rooms)) => Response::AllRooms {
                    request_id,
                    rooms: strings(Some(&rooms)),
                },
                _ => return Err(DecodeError::Shape("response of an unknown kind")),
            },
        })
    }
}

pub(super) fn string_array(list: &[String]) -> Value {
    Value::Array(list.iter().map(|s| Value::from(s.as_str())).collect())
}

/// JSON as Node's `JSON.stringify` writes it (binary as `{"type":"Buffer","data":[..]}`).
/// Keys keep their order, as JavaScript objects do (clients compare payloads as text).
pub(super) fn json_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(&buffers_as_json(value)).unwrap_or_default()
}

/// `value` with each binary blob as Node's `Buffer.toJSON()`.
fn buffers_as_json(value: &Value) -> Value {
    match value {
        Value::Binary(bytes) => {
            let mut map = Map::new();
            map.insert("type".into(), Value::from("Buffer"));
            let data = bytes.iter().map(|b| Value::from(u64::from(*b))).collect();
            map.insert("data".into(), Value::Array(data));
            Value::Object(map)
        }
        Value::Array(items) => Value::Array(items.iter().map(buffers_as_json).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), buffers_as_json(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// JSON when the first byte is `{`, MessagePack otherwise.
pub(super) fn decode_either(bytes: &Bytes) -> Result<Value, DecodeError> {
    if bytes.first() == Some(&b'{') {
        let text = std::str::from_utf8(bytes).map_err(|e| DecodeError::Json(e.to_string()))?;
        Value::from_json_str(text).map_err(|e| DecodeError::Json(e.to_string()))
    } else {
        read_msgpack(bytes).map_err(|e| DecodeError::Msgpack(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Bytes {
        let digits: Vec<u8> = text
            .split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).expect("hex"))
            .collect();
        Bytes::from(digits)
    }

    fn json(text: &str) -> Value {
        Value::from_json_str(text).expect("JSON")
    }

    #[test]
    fn channel_names_match_the_node_adapter() {
        let channels = Channels::new("socket.io");
        assert_eq!(channels.broadcast("/"), "socket.io#/#");
        assert_eq!(channels.room("/admin", "room1"), "socket.io#/admin#room1#");
        assert_eq!(channels.broadcast_pattern("/"), "socket.io#/#*");
        assert_eq!(channels.request("/"), "socket.io-request#/#");
        assert_eq!(channels.response("/"), "socket.io-response#/#");
        assert_eq!(
            channels.specific_response("/", "DjtTWk"),
            "socket.io-response#/#DjtTWk#"
        );
        assert_eq!(channels.broadcast_room("/", "socket.io#/#"), Some(""));
        assert_eq!(
            channels.broadcast_room("/", "socket.io#/#room1#"),
            Some("room1")
        );
        assert_eq!(channels.broadcast_room("/", "socket.io#/admin#"), None);
        assert_eq!(channels.broadcast_room("/", "other#/#"), None);
    }

    /// Captured from npm @socket.io/redis-adapter 8.3.0: `io.to("room1").emit("r1", "x")`
    /// on `research#/#room1#`.
    const TO_ROOM1: &str = "93 a6 44 6a 74 54 57 6b 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a2 72 31 a1 78 \
        a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 91 a5 72 6f 6f 6d 31 a6 65 78 63 65 70 74 90 a5 66 6c 61 67 73 80";

    #[test]
    fn a_broadcast_encodes_byte_for_byte_as_node_does() {
        let message = BroadcastMessage {
            uid: "DjtTWk".into(),
            nsp: "/".into(),
            data: vec![Value::from("r1"), Value::from("x")],
            opts: ClusterOpts {
                rooms: vec!["room1".into()],
                ..ClusterOpts::default()
            },
        };
        assert_eq!(Bytes::from(message.encode()), hex(TO_ROOM1));
        assert_eq!(
            message.channel(&Channels::new("research")),
            "research#/#room1#"
        );
        assert_eq!(BroadcastMessage::decode(&hex(TO_ROOM1)).unwrap(), message);
    }

    #[test]
    fn broadcasts_from_node_and_the_emitter_decode() {
        // Binary arguments: io.emit("bin", Buffer[1,2,3], {nested: Buffer("hi")}).
        let binary = hex(
            "93 a6 44 6a 74 54 57 6b 83 a4 74 79 70 65 02 a4 64 61 74 61 93 a3 62 69 6e c4 03 01 02 03 81 a6 6e \
             65 73 74 65 64 c4 02 68 69 a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 90 a6 65 78 63 65 70 74 90 a5 66 \
             6c 61 67 73 80",
        );
        let message = BroadcastMessage::decode(&binary).unwrap();
        assert_eq!(
            message.data[1],
            Value::Binary(Bytes::from_static(&[1, 2, 3]))
        );
        let mut nested = Map::new();
        nested.insert("nested".into(), Value::Binary(Bytes::from_static(b"hi")));
        assert_eq!(message.data[2], Value::Object(nested));
        // The emitter: uid "emitter", opts in the order rooms, flags, except.
        let emitter = hex(
            "93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 93 a3 65 6d 31 a1 78 cb 3f f8 00 00 00 \
             00 00 00 a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 90 a5 66 6c 61 67 73 80 a6 65 78 63 65 70 74 90",
        );
        let message = BroadcastMessage::decode(&emitter).unwrap();
        assert_eq!(message.uid, "emitter");
        assert_eq!(
            message.data,
            [Value::from("em1"), Value::from("x"), Value::from(1.5)]
        );
        assert_eq!(message.opts, ClusterOpts::default());
    }

    #[test]
    fn flags_and_numeric_rooms_travel() {
        let opts = ClusterOpts::from_value(Some(&json(
            r#"{"rooms":[7,"a"],"except":["b"],"flags":{"volatile":true,"compress":false,"timeout":2000}}"#,
        )))
        .unwrap();
        assert_eq!(opts.rooms, ["7", "a"]);
        assert_eq!(opts.except, ["b"]);
        assert_eq!(
            opts.flags,
            WireFlags {
                volatile: true,
                compress: Some(false),
                timeout_ms: Some(2000),
                expect_single_response: false
            }
        );
    }

    #[test]
    fn requests_round_trip_and_read_node_captures() {
        let captured = [
            r#"{"uid":"DjtTWk","requestId":"xdalF4","type":1}"#,
            r#"{"uid":"DjtTWk","requestId":"fNbB92","type":5,"opts":{"rooms":["room1"],"except":["room2"]}}"#,
            r#"{"uid":"DjtTWk","type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room9","room10"]}"#,
            r#"{"uid":"DjtTWk","type":4,"opts":{"rooms":[],"except":[]},"close":false}"#,
            r#"{"uid":"DjtTWk","requestId":"pbuDIS","type":6,"data":["ssea",9]}"#,
            r#"{"type":3,"opts":{"rooms":[],"except":[]},"rooms":["roomE"]}"#,
        ];
        for text in captured {
            let request = Request::decode(&Bytes::from(text)).unwrap();
            let again = Request::decode(&Bytes::from(request.encode())).unwrap();
            assert_eq!(again, request, "{text}");
        }
        let join = Request::decode(&Bytes::from(captured[2])).unwrap();
        assert_eq!(
            join,
            Request::Join {
                uid: Some("DjtTWk".into()),
                opts: ClusterOpts {
                    rooms: vec!["room1".into()],
                    ..ClusterOpts::default()
                },
                rooms: vec!["room9".into(), "room10".into()],
            }
        );
        assert_eq!(
            Request::decode(&Bytes::from(captured[5])).unwrap().uid(),
            None
        );
    }

    #[test]
    fn a_broadcast_with_ack_request_is_msgpack_as_node_sends_it() {
        // io.timeout(2000).emitWithAck("ackme", 5), captured on research-request#/#.
        let captured = hex(
            "85 a3 75 69 64 a6 44 6a 74 54 57 6b a9 72 65 71 75 65 73 74 49 64 a6 51 72 65 32 62 6b a4 74 79 70 \
             65 07 a6 70 61 63 6b 65 74 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a5 61 63 6b 6d 65 05 a3 6e 73 70 \
             a1 2f a4 6f 70 74 73 83 a5 72 6f 6f 6d 73 90 a6 65 78 63 65 70 74 90 a5 66 6c 61 67 73 81 a7 74 69 \
             6d 65 6f 75 74 cd 07 d0",
        );
        let request = Request::decode(&captured).unwrap();
        let Request::Broadcast {
            ref data, ref opts, ..
        } = request
        else {
            panic!("a broadcast request: {request:?}");
        };
        assert_eq!(data, &[Value::from("ackme"), Value::from(5)]);
        assert_eq!(opts.flags.timeout_ms, Some(2000));
        assert_eq!(Bytes::from(request.encode()), captured);
    }

    #[test]
    fn responses_of_every_kind_decode() {
        let fetch = r#"{"requestId":"ALxx_X","sockets":[{"id":"tcGb6zE8KLnAJmNyAAAA","handshake":{"headers":{},"time":"x","address":"::ffff:127.0.0.1","xdomain":false,"secure":false,"issued":1795461641952,"url":"/socket.io/?EIO=4&transport=websocket","query":{"EIO":"4"},"auth":{}},"rooms":["tcGb6zE8KLnAJmNyAAAA","room1"],"data":{"user":"bob"}}]}"#;
        let Response::Fetch { sockets, .. } = Response::decode(&Bytes::from(fetch)).unwrap() else {
            panic!("a fetch response");
        };
        assert_eq!(sockets[0].rooms, ["tcGb6zE8KLnAJmNyAAAA", "room1"]);
        assert_eq!(sockets[0].data, json(r#"{"user":"bob"}"#));
        let rooms = r#"{"requestId":"xdalF4","rooms":["a","room1"]}"#;
        assert_eq!(
            Response::decode(&Bytes::from(rooms)).unwrap(),
            Response::AllRooms {
                request_id: "xdalF4".into(),
                rooms: vec!["a".into(), "room1".into()]
            }
        );
        let count = r#"{"type":8,"requestId":"Qre2bk","clientCount":1}"#;
        assert_eq!(
            Response::decode(&Bytes::from(count)).unwrap(),
            Response::BroadcastClientCount {
                request_id: "Qre2bk".into(),
                client_count: 1
            }
        );
        // {type: 9, requestId: "Qre2bk", packet: {got: 5, from: "B"}} in MessagePack.
        let ack = hex(
            "83 a4 74 79 70 65 09 a9 72 65 71 75 65 73 74 49 64 a6 51 72 65 32 62 6b a6 70 61 63 6b 65 74 82 a3 \
             67 6f 74 05 a4 66 72 6f 6d a1 42",
        );
        let decoded = Response::decode(&ack).unwrap();
        assert_eq!(
            decoded,
            Response::BroadcastAck {
                request_id: "Qre2bk".into(),
                packet: json(r#"{"got":5,"from":"B"}"#)
            }
        );
        assert_eq!(Bytes::from(decoded.encode()), ack);
        let emit = r#"{"type":6,"requestId":"pbuDIS","data":{"pong":9}}"#;
        let decoded = Response::decode(&Bytes::from(emit)).unwrap();
        assert_eq!(
            Response::decode(&Bytes::from(decoded.encode())).unwrap(),
            decoded
        );
    }

    #[test]
    fn json_keeps_key_order_and_writes_buffers_as_node() {
        let mut map = Map::new();
        map.insert("z".into(), Value::from(1));
        map.insert("a".into(), Value::Binary(Bytes::from_static(&[1, 2])));
        assert_eq!(
            json_bytes(&Value::Object(map)),
            br#"{"z":1,"a":{"type":"Buffer","data":[1,2]}}"#
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [
            &b""[..],
            b"{",
            b"\x93\xa1",
            b"{\"type\":99}",
            b"[1,2]",
            b"\xc1",
        ] {
            let bytes = Bytes::copy_from_slice(bytes);
            assert!(Request::decode(&bytes).is_err());
            assert!(Response::decode(&bytes).is_err());
            assert!(BroadcastMessage::decode(&bytes).is_err());
        }
    }
}
