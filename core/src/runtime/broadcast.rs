//! Broadcasts: one packet, encoded once, to many sockets chosen by rooms.

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use serde::Serialize;

use super::ack::{AckResponse, BroadcastAckError};
use super::conn::{Frames, SendFlags};
use super::namespace::{Namespace, read};
use super::remote::RemoteSocket;
use super::socket::{EmitError, Socket, check_event_name, serialize};
use crate::proto::recovery::PacketTargets;
use crate::proto::rooms::Room;
use crate::proto::socketio::Packet;
use crate::proto::value::Value;

/// Which sockets a broadcast reaches, and how (socket.io's adapter `BroadcastOptions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastOptions {
    /// Only sockets in at least one of these rooms; every socket when empty.
    pub rooms: Vec<Room>,
    /// No socket in any of these rooms (`socket.broadcast` puts the sender's own room here).
    pub except: Vec<Room>,
    /// Delivery flags.
    pub flags: BroadcastFlags,
}

/// How a broadcast is delivered (socket.io's `BroadcastFlags`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BroadcastFlags {
    /// Dropped for a client whose transport cannot take it right away.
    pub volatile: bool,
    /// Whether the packet may be compressed (socket.io's `compress`, default true).
    pub compress: Option<bool>,
    /// Only this server's sockets, even with a cluster adapter.
    pub local: bool,
    /// How long acknowledgements are awaited.
    pub timeout: Option<Duration>,
}

/// Selects the sockets of a namespace by rooms (`to`/`in`) and exclusions (`except`), sets
/// delivery flags (`volatile`, `compress`, `local`, `timeout`), then emits to all of them
/// or acts on them. Built by `io.to(..)`, `nsp.to(..)`, `socket.broadcast()`, and friends.
#[derive(Debug, Clone)]
pub struct BroadcastOperator {
    namespace: Namespace,
    opts: BroadcastOptions,
}

impl BroadcastOperator {
    pub(crate) fn new(namespace: Namespace, except: Option<Room>) -> BroadcastOperator {
        BroadcastOperator {
            namespace,
            opts: BroadcastOptions {
                except: except.into_iter().collect(),
                ..BroadcastOptions::default()
            },
        }
    }

    /// Also targets the sockets in `room`.
    pub fn to(mut self, room: impl Into<Room>) -> BroadcastOperator {
        let room = room.into();
        if !self.opts.rooms.contains(&room) {
            self.opts.rooms.push(room);
        }
        self
    }

    /// Also targets the sockets in each of `rooms`.
    pub fn to_rooms<R: Into<Room>>(self, rooms: impl IntoIterator<Item = R>) -> BroadcastOperator {
        rooms.into_iter().fold(self, BroadcastOperator::to)
    }

    /// Same as [`BroadcastOperator::to`] (socket.io's `in`).
    pub fn within(self, room: impl Into<Room>) -> BroadcastOperator {
        self.to(room)
    }

    /// Excludes the sockets in `room`.
    pub fn except(mut self, room: impl Into<Room>) -> BroadcastOperator {
        let room = room.into();
        if !self.opts.except.contains(&room) {
            self.opts.except.push(room);
        }
        self
    }

    /// Excludes the sockets in each of `rooms`.
    pub fn except_rooms<R: Into<Room>>(
        self,
        rooms: impl IntoIterator<Item = R>,
    ) -> BroadcastOperator {
        rooms.into_iter().fold(self, BroadcastOperator::except)
    }

    /// Drops the packet for clients whose transport cannot take it right away: frames are
    /// still waiting to be written to it, or an upgrade is under way (socket.io's
    /// `volatile`).
    pub fn volatile(mut self) -> BroadcastOperator {
        self.opts.flags.volatile = true;
        self
    }

    /// Sets socket.io's `compress` flag: with `false`, a long-polling response that holds
    /// only such packets is sent uncompressed (`httpCompression`).
    pub fn compress(mut self, compress: bool) -> BroadcastOperator {
        self.opts.flags.compress = Some(compress);
        self
    }

    /// Only reaches this server's sockets, even with a cluster adapter (socket.io's
    /// `local`). With the in-memory adapter every socket is local.
    pub fn local(mut self) -> BroadcastOperator {
        self.opts.flags.local = true;
        self
    }

    /// How long [`BroadcastOperator::emit_with_ack`] waits for the clients' answers.
    pub fn timeout(mut self, timeout: Duration) -> BroadcastOperator {
        self.opts.flags.timeout = Some(timeout);
        self
    }

    /// The rooms, exclusions and flags chosen so far.
    pub fn options(&self) -> &BroadcastOptions {
        &self.opts
    }

    fn send_flags(&self) -> SendFlags {
        SendFlags {
            volatile: self.opts.flags.volatile,
            compress: self.opts.flags.compress.unwrap_or(true),
        }
    }

    fn targets(&self) -> Vec<Socket> {
        let sids = read(&self.namespace.0.rooms).targets(&self.opts.rooms, &self.opts.except);
        let sockets = read(&self.namespace.0.sockets);
        sids.iter()
            .filter_map(|sid| sockets.get(sid).cloned())
            .collect()
    }

    /// The selected sockets of this server.
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
        let targets = self.targets();
        for socket in &targets {
            socket.notify_outgoing(event, &args);
        }
        let mut args = args;
        if !self.opts.flags.volatile {
            let targets = PacketTargets {
                rooms: self.opts.rooms.clone(),
                except: self.opts.except.clone(),
            };
            self.namespace.record_offset(targets, event, &mut args);
        }
        let frames = Frames::encode(
            &Packet::event(self.namespace.name(), event, args, None),
            self.namespace.0.parser,
        );
        for socket in targets {
            let _ = socket.send_frames(&frames, self.send_flags());
        }
        Ok(())
    }

    /// Emits to the selected sockets and collects every client's acknowledgement (socket.io's
    /// `io.timeout(ms).emitWithAck(..)`). Resolves with one [`AckResponse`] per client once
    /// all answered, or with [`BroadcastAckError::Timeout`] naming the clients that did not
    /// answer within [`BroadcastOperator::timeout`] (or disconnected first). Without a
    /// timeout it waits until every client answered or disconnected.
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
    ) -> impl Future<Output = Result<Vec<AckResponse>, BroadcastAckError>> + Send + 'static {
        let timeout = self.opts.flags.timeout;
        let sent = check_event_name(event).map(|()| {
            let targets = self.targets();
            for socket in &targets {
                socket.notify_outgoing(event, &args);
            }
            let id = self.namespace.next_ack_id();
            let frames = Frames::encode(
                &Packet::event(self.namespace.name(), event, args, Some(id)),
                self.namespace.0.parser,
            );
            let mut waiting = Vec::with_capacity(targets.len());
            for socket in targets {
                if let Some(answer) = socket.expect_ack(id)
                    && socket.send_frames(&frames, self.send_flags()).is_ok()
                {
                    waiting.push((socket, answer));
                } else {
                    socket.forget_ack(id);
                }
            }
            (id, waiting)
        });
        async move {
            let (id, waiting) = sent.map_err(BroadcastAckError::Emit)?;
            let mut pending: Vec<Socket> = waiting.iter().map(|(s, _)| s.clone()).collect();
            let mut answers: FuturesUnordered<_> = waiting
                .into_iter()
                .map(|(socket, answer)| async move { (socket, answer.await) })
                .collect();
            let mut responses = Vec::with_capacity(pending.len());
            let collect = async {
                while let Some((socket, answer)) = answers.next().await {
                    if let Ok(Ok(args)) = answer {
                        pending.retain(|s| s.id() != socket.id());
                        responses.push(AckResponse {
                            socket_id: socket.id().to_owned(),
                            args,
                        });
                    }
                }
            };
            match timeout {
                Some(timeout) => {
                    let _ = tokio::time::timeout(timeout, collect).await;
                }
                None => collect.await,
            }
            if pending.is_empty() {
                return Ok(responses);
            }
            for socket in &pending {
                socket.forget_ack(id);
            }
            Err(BroadcastAckError::Timeout {
                responses,
                missing: pending.iter().map(|s| s.id().to_owned()).collect(),
            })
        }
    }

    /// Snapshots of the selected sockets, with handles that reach them (`fetchSockets`).
    pub async fn fetch_sockets(&self) -> Vec<RemoteSocket> {
        self.targets()
            .iter()
            .map(RemoteSocket::from_local)
            .collect()
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

    /// Disconnects the selected sockets (`disconnectSockets`); with `close`, closes their
    /// underlying connections.
    pub fn disconnect_sockets(&self, close: bool) {
        for socket in self.targets() {
            socket.disconnect(close);
        }
    }
}
