//! Broadcasts: one packet, encoded once, to many sockets chosen by rooms.

use serde::Serialize;

use super::conn::Frames;
use super::namespace::{Namespace, read};
use super::socket::{EmitError, Socket, check_event_name, serialize};
use crate::proto::rooms::{Room, Sid};
use crate::proto::socketio::Packet;
use crate::proto::value::Value;

/// Selects the sockets of a namespace by rooms (`to`/`in`), exclusions (`except`) and an
/// excluded sender, then emits to all of them or acts on them.
#[derive(Debug, Clone)]
pub struct BroadcastOperator {
    namespace: Namespace,
    rooms: Vec<Room>,
    except: Vec<Room>,
    exclude: Option<Sid>,
}

impl BroadcastOperator {
    pub(crate) fn new(namespace: Namespace, exclude: Option<Sid>) -> BroadcastOperator {
        BroadcastOperator {
            namespace,
            rooms: Vec::new(),
            except: Vec::new(),
            exclude,
        }
    }

    /// Also targets the sockets in `room`.
    pub fn to(mut self, room: impl Into<Room>) -> BroadcastOperator {
        self.rooms.push(room.into());
        self
    }

    /// Same as [`BroadcastOperator::to`] (socket.io's `in`).
    pub fn within(self, room: impl Into<Room>) -> BroadcastOperator {
        self.to(room)
    }

    /// Excludes the sockets in `room`.
    pub fn except(mut self, room: impl Into<Room>) -> BroadcastOperator {
        self.except.push(room.into());
        self
    }

    fn targets(&self) -> Vec<Socket> {
        let sids = read(&self.namespace.0.rooms).targets(&self.rooms, &self.except);
        let sockets = read(&self.namespace.0.sockets);
        sids.iter()
            .filter(|sid| self.exclude.as_ref() != Some(*sid))
            .filter_map(|sid| sockets.get(sid).cloned())
            .collect()
    }

    /// The selected sockets.
    pub fn sockets(&self) -> Vec<Socket> {
        self.targets()
    }

    /// Emits to the selected sockets with one serializable argument.
    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<(), EmitError> {
        self.emit_args(event, vec![serialize(&data)?])
    }

    /// Emits to the selected sockets with any number of arguments. The packet is encoded
    /// once; every recipient gets the same bytes. A recipient that is gone or saturated is
    /// skipped.
    pub fn emit_args(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        check_event_name(event)?;
        let frames = Frames::encode(&Packet::event(self.namespace.name(), event, args, None));
        for socket in self.targets() {
            let _ = socket.0.conn.send_frames(&frames);
        }
        Ok(())
    }

    /// Makes the selected sockets join `room` (`socketsJoin`).
    pub fn sockets_join(&self, room: impl Into<Room>) {
        let room = room.into();
        for socket in self.targets() {
            socket.join(room.clone());
        }
    }

    /// Makes the selected sockets leave `room` (`socketsLeave`).
    pub fn sockets_leave(&self, room: &str) {
        for socket in self.targets() {
            socket.leave(room);
        }
    }

    /// Disconnects the selected sockets (`disconnectSockets`).
    pub fn disconnect_sockets(&self, close: bool) {
        for socket in self.targets() {
            socket.disconnect(close);
        }
    }
}
