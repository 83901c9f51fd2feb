//! Broadcasts: one packet, encoded once, to many sockets chosen by rooms.

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use serde::Serialize;

use super::ack::{AckResponse, BroadcastAckError};
use super::cluster::{ClusterAdapter, RemoteAcks};
use super::conn::{Frames, SendFlags};
use super::namespace::{Namespace, read};
use super::remote::RemoteSocket;
use super::socket::{EmitError, Socket, check_event_name, serialize};
use crate::proto::cluster::Response;
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

    /// An operator with these options.
    pub(crate) fn with_options(namespace: Namespace, opts: BroadcastOptions) -> BroadcastOperator {
        BroadcastOperator { namespace, opts }
    }

    /// The cluster adapter that also reaches the other servers, unless `local`.
    fn cluster(&self) -> Option<&ClusterAdapter> {
        if self.opts.flags.local {
            return None;
        }
        self.namespace.0.cluster.get()
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

    /// The selected sockets of this server (never those of other servers).
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
        if let Some(cluster) = self.cluster() {
            cluster.broadcast(self.namespace.name(), event, &args, &self.opts);
        }
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

    /// Sends an event that asks for acknowledgements to the selected sockets of this
    /// server; returns the ack id and, per socket reached, where its answer arrives.
    pub(crate) fn send_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
    ) -> Result<(u64, AckWaits), EmitError> {
        check_event_name(event)?;
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
        Ok((id, waiting))
    }

    /// Emits to the selected sockets and collects every client's acknowledgement (socket.io's
    /// `io.timeout(ms).emitWithAck(..)`). Resolves with one [`AckResponse`] per client once
    /// all answered, or with [`BroadcastAckError::Timeout`] naming the clients that did not
    /// answer within [`BroadcastOperator::timeout`] (or disconnected first). Without a
    /// timeout it waits until every client answered or disconnected.
    ///
    /// With a cluster adapter the clients of the other servers answer too; their
    /// responses carry an empty `socket_id` (the bus does not say who answered), and
    /// `missing` only names this server's sockets.
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
    ) -> impl Future<Output = Result<Vec<AckResponse>, BroadcastAckError>> + Send + 'static {
        let timeout = self.opts.flags.timeout;
        let remote = self.cluster().cloned().map(|cluster| {
            (
                cluster,
                self.namespace.name().to_owned(),
                event.to_owned(),
                args.clone(),
                self.opts.clone(),
            )
        });
        let sent = self.send_with_ack(event, args);
        async move {
            let (id, waiting) = sent.map_err(BroadcastAckError::Emit)?;
            let mut remote = match remote {
                Some((cluster, nsp, event, args, opts)) => {
                    Some(cluster.broadcast_with_ack(&nsp, &event, &args, &opts).await)
                }
                None => None,
            };
            let mut pending: Vec<Socket> = waiting.iter().map(|(s, _)| s.clone()).collect();
            let mut answers: FuturesUnordered<_> = waiting
                .into_iter()
                .map(|(socket, answer)| async move { (socket, answer.await) })
                .collect();
            let mut responses = Vec::with_capacity(pending.len());
            // Other servers: how many answered with a client count, and how many acks
            // those counts promise.
            let (mut servers, mut promised, mut remote_acks) = (0usize, 0u64, 0u64);
            let collect = async {
                loop {
                    let remote_done = remote
                        .as_ref()
                        .is_none_or(|r| servers >= r.servers && remote_acks >= promised);
                    if answers.is_empty() && remote_done {
                        break;
                    }
                    tokio::select! {
                        Some((socket, answer)) = answers.next(), if !answers.is_empty() => {
                            if let Ok(Ok(args)) = answer {
                                pending.retain(|s| s.id() != socket.id());
                                responses.push(AckResponse {
                                    socket_id: socket.id().to_owned(),
                                    args,
                                });
                            }
                        }
                        Some(answer) = recv_remote(&mut remote), if !remote_done => match answer {
                            Response::BroadcastClientCount { client_count, .. } => {
                                servers += 1;
                                promised += client_count;
                            }
                            Response::BroadcastAck { packet, .. } => {
                                remote_acks += 1;
                                responses.push(AckResponse {
                                    socket_id: String::new(),
                                    args: vec![packet],
                                });
                            }
                            _ => {}
                        },
                        else => break,
                    }
                }
            };
            let finished = match timeout {
                Some(timeout) => tokio::time::timeout(timeout, collect).await.is_ok(),
                None => {
                    collect.await;
                    true
                }
            };
            let remote_complete = remote
                .as_ref()
                .is_none_or(|r| servers >= r.servers && remote_acks >= promised);
            if pending.is_empty() && finished && remote_complete {
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

    /// Snapshots of the selected sockets, with handles that reach them (`fetchSockets`);
    /// with a cluster adapter, those of the other servers too (only this server's when
    /// some server does not answer in time: see [`BroadcastOperator::try_fetch_sockets`]).
    pub async fn fetch_sockets(&self) -> Vec<RemoteSocket> {
        match self.try_fetch_sockets().await {
            Ok(sockets) => sockets,
            Err(error) => {
                tracing::warn!(%error, "fetchSockets");
                self.targets()
                    .iter()
                    .map(RemoteSocket::from_local)
                    .collect()
            }
        }
    }

    /// [`BroadcastOperator::fetch_sockets`], failing with [`EmitError::Timeout`] as
    /// socket.io does (`timeout reached while waiting for fetchSockets response`) when a
    /// server of the cluster does not answer within `requests_timeout`.
    pub async fn try_fetch_sockets(&self) -> Result<Vec<RemoteSocket>, EmitError> {
        let mut sockets: Vec<RemoteSocket> = self
            .targets()
            .iter()
            .map(RemoteSocket::from_local)
            .collect();
        if let Some(cluster) = self.cluster() {
            let remote = cluster
                .fetch_sockets(self.namespace.name(), &self.opts)
                .await?;
            sockets.extend(
                remote
                    .into_iter()
                    .map(|found| RemoteSocket::from_cluster(found, &self.namespace)),
            );
        }
        Ok(sockets)
    }

    /// Makes the selected sockets join `room` (`socketsJoin`), on every server.
    pub fn sockets_join(&self, room: impl Into<Room>) {
        let room = room.into();
        if let Some(cluster) = self.cluster() {
            cluster.sockets_join(self.namespace.name(), &self.opts, vec![room.to_string()]);
        }
        for socket in self.targets() {
            socket.join(room.clone());
        }
    }

    /// Makes the selected sockets leave `room` (`socketsLeave`), on every server.
    pub fn sockets_leave(&self, room: &str) {
        if let Some(cluster) = self.cluster() {
            cluster.sockets_leave(self.namespace.name(), &self.opts, vec![room.to_owned()]);
        }
        for socket in self.targets() {
            socket.leave(room);
        }
    }

    /// Disconnects the selected sockets (`disconnectSockets`), on every server; with
    /// `close`, closes their underlying connections.
    pub fn disconnect_sockets(&self, close: bool) {
        if let Some(cluster) = self.cluster() {
            cluster.disconnect_sockets(self.namespace.name(), &self.opts, close);
        }
        for socket in self.targets() {
            socket.disconnect(close);
        }
    }
}

/// Where each reached socket's acknowledgement arrives.
pub(crate) type AckWaits = Vec<(
    Socket,
    tokio::sync::oneshot::Receiver<Result<Vec<Value>, super::ack::AckError>>,
)>;

async fn recv_remote(remote: &mut Option<RemoteAcks>) -> Option<Response> {
    match remote {
        Some(remote) => remote.answers.recv().await,
        None => std::future::pending().await,
    }
}
