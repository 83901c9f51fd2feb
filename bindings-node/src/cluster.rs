//! The server's cluster side: `serverSideEmit` to the other servers, their events and
//! acknowledgements.

use std::sync::atomic::Ordering;

use napi::bindgen_prelude::Result;
use napi::{Env, Error, Status};
use napi_derive::napi;
use polysocket::Value;

use crate::payload::{Payload, args_of, payload_of};
use crate::server::NativeServer;
use crate::{JsFunction, lock};

/// An event another server sent with `serverSideEmit`.
#[napi(object)]
pub struct ServerEvent {
    /// The event name.
    pub event: String,
    /// Its arguments.
    pub args: Payload,
    /// Set when the sender waits for an answer: pass it to `serverEventAck`.
    pub ack_id: Option<u32>,
}

#[napi]
impl NativeServer {
    /// Calls `callback` with every `event` that another server sends to namespace `nsp`.
    #[napi]
    pub fn on_server_event(
        &self,
        env: Env,
        nsp: String,
        event: String,
        callback: JsFunction<ServerEvent>,
    ) {
        let callback = self.keep(&env, callback);
        let acks = self.server_acks.clone();
        let next = self.next_server_ack.clone();
        let name = event.clone();
        self.io.of(&nsp).on_server_event(&event, move |args, ack| {
            let ack_id = ack.map(|ack| {
                let id = next.fetch_add(1, Ordering::Relaxed);
                lock(&acks).insert(id, ack);
                id
            });
            callback.call(ServerEvent {
                event: name.clone(),
                args: payload_of(args),
                ack_id,
            });
        });
    }

    /// Answers the server event that carried `ack_id` (the first argument counts).
    #[napi]
    pub fn server_event_ack(&self, ack_id: u32, args: Payload) -> Result<()> {
        let ack = lock(&self.server_acks).remove(&ack_id);
        if let Some(ack) = ack {
            ack.send(args_of(args)?.into_iter().next().unwrap_or(Value::Null));
        }
        Ok(())
    }

    /// socket.io's `serverSideEmit`: sends `event` to the other servers of the cluster.
    #[napi]
    pub fn server_side_emit(&self, nsp: String, event: String, args: Payload) -> Result<()> {
        self.io
            .of(&nsp)
            .server_side_emit(&event, args_of(args)?)
            .map_err(crate::invalid)
    }

    /// `serverSideEmitWithAck`: resolves with one answer per other server; rejects when
    /// some server did not answer within the adapter's `requestsTimeout`.
    #[napi]
    pub async fn server_side_emit_with_ack(
        &self,
        nsp: String,
        event: String,
        args: Payload,
    ) -> Result<Vec<Payload>> {
        let answers = self
            .io
            .of(&nsp)
            .server_side_emit_with_ack(&event, args_of(args)?)
            .await
            .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
        Ok(answers
            .into_iter()
            .map(|answer| payload_of(vec![answer]))
            .collect())
    }

    /// The rooms of namespace `nsp` on every server of the cluster (socket.io's
    /// `adapter.allRooms()`); this server's alone without a cluster adapter.
    #[napi]
    pub async fn all_rooms(&self, nsp: String) -> Result<Vec<String>> {
        self.io
            .of(&nsp)
            .all_rooms()
            .await
            .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))
    }

    /// Resolves once the cluster adapter (if any) listens to the other servers.
    #[napi]
    pub async fn cluster_ready(&self) {
        self.io.cluster_ready().await;
    }
}
