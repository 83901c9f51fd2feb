//! Sockets as `fetchSockets` returns them: a snapshot, plus operations that reach the socket.

use serde::Serialize;

use super::broadcast::BroadcastOperator;
use super::socket::{EmitError, Handshake, Socket};
use crate::proto::rooms::Room;
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
