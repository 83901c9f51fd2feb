//! Sockets as `fetchSockets` returns them: a snapshot, plus operations that reach the socket.

use serde::Serialize;

use super::broadcast::BroadcastOperator;
use super::namespace::Namespace;
use super::socket::{EmitError, Handshake, Socket};
use crate::proto::cluster::ClusterSocket;
use crate::proto::rooms::Room;
use crate::proto::value::Map;
use crate::proto::value::Value;

/// A socket found by `fetch_sockets` (socket.io's `RemoteSocket`): its id, handshake,
/// rooms and data as they were when fetched, and operations that reach it by its id (its
/// own room), wherever it is connected.
#[derive(Debug, Clone)]
pub struct RemoteSocket {
    id: String,
    handshake: Handshake,
    rooms: Vec<String>,
    data: Value,
    operator: BroadcastOperator,
}

impl RemoteSocket {
    /// A socket of another server, as its `fetchSockets` answer described it.
    pub(crate) fn from_cluster(found: ClusterSocket, namespace: &Namespace) -> RemoteSocket {
        RemoteSocket {
            operator: namespace.to(found.id.as_str()),
            id: found.id,
            handshake: Handshake::from_value(&found.handshake),
            rooms: found.rooms,
            data: found.data,
        }
    }

    pub(crate) fn from_local(socket: &Socket) -> RemoteSocket {
        RemoteSocket {
            id: socket.id().to_owned(),
            handshake: socket.handshake().clone(),
            rooms: socket.rooms(),
            data: socket.data(),
            operator: socket.namespace().to(socket.id()),
        }
    }

    /// The socket id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The handshake.
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// The rooms it was in (its own id included).
    pub fn rooms(&self) -> &[String] {
        &self.rooms
    }

    /// Its `data`.
    pub fn data(&self) -> &Value {
        &self.data
    }

    /// Emits `event` to it with one serializable argument.
    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<(), EmitError> {
        self.operator.emit(event, data)
    }

    /// Emits `event` to it with any number of arguments.
    pub fn emit_args(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        self.operator.emit_args(event, args)
    }

    /// Makes it join `room`.
    pub fn join(&self, room: impl Into<Room>) {
        self.operator.sockets_join(room);
    }

    /// Makes it leave `room`.
    pub fn leave(&self, room: &str) {
        self.operator.sockets_leave(room);
    }

    /// Disconnects it; with `close`, closes its underlying connection.
    pub fn disconnect(&self, close: bool) {
        self.operator.disconnect_sockets(close);
    }
}

/// socket.io's `handshake` object, as a `fetchSockets` answer carries it: `headers`,
/// `time`, `address`, `xdomain`, `secure`, `issued`, `url`, `query`, `auth`.
pub(crate) fn handshake_value(handshake: &Handshake) -> Value {
    let mut headers = Map::new();
    for (name, value) in handshake.headers() {
        if let Ok(value) = value.to_str() {
            headers.insert(name.as_str().to_owned(), Value::from(value));
        }
    }
    let mut query = Map::new();
    for (key, value) in handshake.query() {
        query
            .entry(key.clone())
            .or_insert_with(|| Value::from(value.as_str()));
    }
    let address = handshake
        .address()
        .map(|a| Value::from(a.ip().to_string()))
        .unwrap_or_default();
    let mut map = Map::new();
    map.insert("headers".into(), Value::Object(headers));
    map.insert("time".into(), Value::from(handshake.time()));
    map.insert("address".into(), address);
    map.insert("xdomain".into(), Value::Bool(handshake.xdomain()));
    map.insert("secure".into(), Value::Bool(handshake.secure()));
    map.insert("issued".into(), Value::from(handshake.issued()));
    map.insert("url".into(), Value::from(handshake.url()));
    map.insert("query".into(), Value::Object(query));
    map.insert("auth".into(), handshake.auth().clone());
    Value::Object(map)
}
