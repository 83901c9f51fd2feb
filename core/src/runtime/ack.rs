//! Acknowledgements in both directions.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::oneshot;

use super::conn::Conn;
use super::socket::EmitError;
use crate::proto::socketio::{AckTracker, Packet};
use crate::proto::value::{Value, to_value};

/// Why an acknowledgement did not arrive.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AckError {
    /// No answer within the timeout (socket.io's `operation has timed out`).
    #[error("operation has timed out")]
    Timeout,
    /// The socket disconnected before answering.
    #[error("socket has been disconnected")]
    Disconnected,
    /// The event could not be sent.
    #[error("emit failed: {0}")]
    Emit(#[from] EmitError),
}

/// Answers a client's event that asked for an acknowledgement. Dropping it sends nothing,
/// as with an ack callback never called in socket.io.
#[derive(Debug)]
pub struct AckSender {
    conn: Arc<Conn>,
    nsp: Arc<str>,
    id: u64,
}

impl AckSender {
    pub(crate) fn new(conn: Arc<Conn>, nsp: Arc<str>, id: u64) -> AckSender {
        AckSender { conn, nsp, id }
    }

    /// Acknowledges with one argument.
    pub fn send(self, data: impl Serialize) -> Result<(), EmitError> {
        let value = to_value(&data).map_err(|e| EmitError::Serialize(e.to_string()))?;
        self.send_args(vec![value])
    }

    /// Acknowledges with any number of arguments (binary values go as attachments).
    pub fn send_args(self, args: Vec<Value>) -> Result<(), EmitError> {
        self.conn
            .send_packet(&Packet::ack(&*self.nsp, self.id, args))
    }
}

/// One client's answer to a broadcast that asked for acknowledgements.
#[derive(Debug, Clone, PartialEq)]
pub struct AckResponse {
    /// The answering socket's id.
    pub socket_id: String,
    /// The arguments it acknowledged with.
    pub args: Vec<Value>,
}

/// Why a broadcast's acknowledgements did not all arrive.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BroadcastAckError {
    /// Some clients did not answer in time, or disconnected first (socket.io's
    /// `operation has timed out`, with the answers that did arrive).
    #[error("operation has timed out")]
    Timeout {
        /// The answers that arrived, in arrival order.
        responses: Vec<AckResponse>,
        /// The ids of the sockets that did not answer.
        missing: Vec<String>,
    },
    /// The event could not be sent.
    #[error("emit failed: {0}")]
    Emit(#[from] EmitError),
}

type AckResult = Result<Vec<Value>, AckError>;

/// The acks a socket waits for, allocated on the first emit that asks for one (most
/// sockets never do, and every connection keeps one).
#[derive(Debug, Default)]
pub(crate) struct PendingAcks(Option<Box<AckState>>);

#[derive(Debug, Default)]
struct AckState {
    tracker: AckTracker,
    waiting: HashMap<u64, oneshot::Sender<AckResult>>,
}

impl PendingAcks {
    pub(crate) fn register(&mut self, id: u64) -> Option<oneshot::Receiver<AckResult>> {
        self.0.get_or_insert_with(Box::default).register(id)
    }

    pub(crate) fn resolve(&mut self, id: u64, result: AckResult) {
        if let Some(state) = self.0.as_mut() {
            state.resolve(id, result);
        }
    }

    pub(crate) fn forget(&mut self, id: u64) {
        if let Some(state) = self.0.as_mut() {
            state.forget(id);
        }
    }

    pub(crate) fn fail_all(&mut self) {
        if let Some(state) = self.0.as_mut() {
            state.fail_all();
        }
    }
}

impl AckState {
    /// Awaits the answer to ack id `id` (ids come from the namespace, as in socket.io, so
    /// that one broadcast uses the same id for every recipient); `None` when `id` is
    /// already awaited.
    pub(crate) fn register(&mut self, id: u64) -> Option<oneshot::Receiver<AckResult>> {
        if !self.tracker.register_id(id, None) {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        self.waiting.insert(id, tx);
        Some(rx)
    }

    pub(crate) fn resolve(&mut self, id: u64, result: AckResult) {
        if self.tracker.resolve(id)
            && let Some(tx) = self.waiting.remove(&id)
        {
            let _ = tx.send(result);
        }
    }

    pub(crate) fn forget(&mut self, id: u64) {
        self.tracker.resolve(id);
        self.waiting.remove(&id);
    }

    pub(crate) fn fail_all(&mut self) {
        for id in self.tracker.drain() {
            if let Some(tx) = self.waiting.remove(&id) {
                let _ = tx.send(Err(AckError::Disconnected));
            }
        }
    }
}
