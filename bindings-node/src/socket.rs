//! One client in one namespace: its events, acknowledgements, rooms and disconnection.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::bindgen_prelude::Result;
use napi::{Error, Status};
use napi_derive::napi;
use polysocket::{AckSender, Event, Socket, Value};

use crate::dispatch::{self, Dispatcher, SocketNotice};
use crate::payload::{Payload, args_of, payload_of};
use crate::{invalid, lock};

/// One client in one namespace (the engine under JavaScript's `Socket`).
#[napi]
pub struct NativeSocket {
    socket: Socket,
    /// What the socket's handlers on the engine's thread share with it: one allocation per
    /// socket, as every idle connection keeps it.
    shared: Arc<Shared>,
    dispatcher: Option<Arc<Dispatcher>>,
    pub(crate) pending_call: u32,
}

/// The state of a socket that its engine-side handlers reach.
#[derive(Default)]
struct Shared {
    /// The socket's key in its server's dispatcher (0 for a socket still in middlewares).
    key: u32,
    /// The acknowledgements JavaScript still owes, by the id its event carried.
    acks: Mutex<HashMap<u32, AckSender>>,
    next_ack: AtomicU32,
    inbox: Mutex<Inbox>,
    /// Whether the disconnection was queued already.
    disconnected: AtomicBool,
    /// The rooms the socket was in as it began to disconnect.
    rooms_before: Mutex<Vec<String>>,
}

impl Shared {
    /// Hands `notice` to the dispatcher, or queues it until JavaScript listens.
    fn deliver(&self, notice: SocketNotice) {
        let mut inbox = lock(&self.inbox);
        match &inbox.route {
            Route::To(dispatcher) => dispatcher.push(notice),
            Route::Queue => inbox.queued.push(notice),
            Route::Closed => {}
        }
    }

    /// Queues the disconnection (once) as the socket's last notice.
    fn disconnected(&self, reason: &str) {
        if self.disconnected.swap(true, Ordering::SeqCst) {
            return;
        }
        lock(&self.acks).clear();
        let mut last = notice(self.key, dispatch::DISCONNECT, reason.to_owned());
        last.rooms = Some(std::mem::take(&mut *lock(&self.rooms_before)));
        let mut inbox = lock(&self.inbox);
        match std::mem::replace(&mut inbox.route, Route::Closed) {
            Route::To(dispatcher) => dispatcher.push(last),
            // `listen` hands it over after what came before it.
            Route::Queue => inbox.queued.push(last),
            Route::Closed => {}
        }
    }
}

/// Where a connected socket's notices go: queued from the moment it connects (its
/// JavaScript handlers are registered a moment later, on Node's thread, as socket.io's are
/// in the `connection` handler), then to the server's dispatcher, and nowhere once it
/// disconnected.
#[derive(Default)]
struct Inbox {
    route: Route,
    queued: Vec<SocketNotice>,
}

#[derive(Default)]
enum Route {
    #[default]
    Queue,
    To(Arc<Dispatcher>),
    Closed,
}

impl NativeSocket {
    pub(crate) fn wrap(socket: Socket) -> NativeSocket {
        NativeSocket::with_key(socket, 0, None)
    }

    fn with_key(socket: Socket, key: u32, dispatcher: Option<Arc<Dispatcher>>) -> NativeSocket {
        // socket.io's `socket.data` starts as `{}` (also for `fetchSockets` across servers).
        if socket.data() == Value::Null {
            socket.set_data(Value::Object(Default::default()));
        }
        let shared = Shared {
            key,
            next_ack: AtomicU32::new(1),
            ..Shared::default()
        };
        NativeSocket {
            socket,
            shared: Arc::new(shared),
            dispatcher,
            pending_call: 0,
        }
    }

    /// A connected socket whose events are taken (and queued) at once, for `dispatcher`.
    pub(crate) fn for_connection(socket: Socket, dispatcher: &Arc<Dispatcher>) -> NativeSocket {
        let native =
            NativeSocket::with_key(socket, dispatcher.next_key(), Some(dispatcher.clone()));
        let shared = native.shared.clone();
        native.socket.on_unhandled(move |_, mut event: Event| {
            let ack_id = event.ack().map(|sender| {
                let id = shared.next_ack.fetch_add(1, Ordering::Relaxed);
                lock(&shared.acks).insert(id, sender);
                id
            });
            shared.deliver(SocketNotice {
                socket: shared.key,
                kind: dispatch::EVENT,
                args: Some(std::mem::take(&mut event.args)),
                event: std::mem::take(&mut event.name),
                ack_id,
                rooms: None,
            });
        });
        let shared = native.shared.clone();
        native.socket.on_error(move |_, error| {
            shared.deliver(notice(shared.key, dispatch::ERROR, error.message.clone()));
        });
        native.watch_disconnection();
        native
    }

    /// Queues the socket's disconnection, with its reason and the rooms it was in, as its
    /// last notice. Registered as the socket connects, on the engine's thread: another
    /// socket's `disconnect(true)` can close this one before JavaScript has seen it, and
    /// the reason must still be socket.io's.
    fn watch_disconnection(&self) {
        let shared = self.shared.clone();
        self.socket.on_disconnecting(move |socket, _| {
            *lock(&shared.rooms_before) = socket.rooms();
        });
        let shared = self.shared.clone();
        self.socket
            .on_disconnect(move |_, reason| shared.disconnected(reason.as_str()));
        // Closed before the handlers above were registered: core kept the reason.
        if let Some(reason) = self.socket.disconnect_reason() {
            self.shared.disconnected(reason.as_str());
        }
    }
}

/// A notice with no arguments.
fn notice(socket: u32, kind: u32, event: String) -> SocketNotice {
    SocketNotice {
        socket,
        kind,
        event,
        args: None,
        ack_id: None,
        rooms: None,
    }
}

#[napi]
impl NativeSocket {
    /// The socket id.
    #[napi(getter)]
    pub fn id(&self) -> String {
        self.socket.id().to_owned()
    }

    /// Whether the socket is connected.
    #[napi(getter)]
    pub fn connected(&self) -> bool {
        self.socket.connected()
    }

    /// Whether the connection recovered an earlier session.
    #[napi(getter)]
    pub fn recovered(&self) -> bool {
        self.socket.recovered()
    }

    /// The middleware call this socket is in (`NativeServer.middlewareDone`), 0 when none.
    #[napi(getter)]
    pub fn pending_call(&self) -> u32 {
        self.pending_call
    }

    /// Sets `socket.data` (JSON), as `fetchSockets` reports it.
    #[napi]
    pub fn set_data(&self, data_json: String) -> Result<()> {
        self.socket
            .set_data(Value::from_json_str(&data_json).map_err(invalid)?);
        Ok(())
    }

    /// socket.io's `handshake` object, as JSON.
    #[napi]
    pub fn handshake_json(&self) -> String {
        handshake_json(self.socket.handshake())
    }

    /// Acknowledges the event that carried `ack_id`.
    #[napi]
    pub fn ack(&self, ack_id: u32, args: Payload) -> Result<()> {
        let sender = lock(&self.shared.acks).remove(&ack_id);
        match sender {
            Some(sender) => dropped_when_gone(sender.send_args(args_of(args)?)),
            None => Ok(()),
        }
    }

    /// Acknowledges the event that carried `ack_id` with arguments without binary (their
    /// JSON array): one string crosses instead of a [`Payload`] object.
    #[napi]
    pub fn ack_json(&self, ack_id: u32, json: String) -> Result<()> {
        let attachments = Vec::new();
        self.ack(ack_id, Payload { json, attachments })
    }

    /// The socket's key in the notices of `NativeServer.drainEvents`.
    #[napi(getter)]
    pub fn key(&self) -> u32 {
        self.shared.key
    }

    /// Starts handing this socket's notices to the server's dispatcher, those that arrived
    /// before first; its disconnection comes last, with the rooms it was in. Then nothing
    /// of this socket is held any more.
    #[napi]
    pub fn listen(&self) -> Result<()> {
        let dispatcher = self
            .dispatcher
            .clone()
            .ok_or_else(|| invalid("only a connected socket has events"))?;
        let mut inbox = lock(&self.shared.inbox);
        for queued in std::mem::take(&mut inbox.queued) {
            dispatcher.push(queued);
        }
        if matches!(inbox.route, Route::Queue) {
            inbox.route = Route::To(dispatcher);
        }
        Ok(())
    }

    /// The namespace the socket is in.
    #[napi(getter)]
    pub fn nsp(&self) -> String {
        self.socket.ns().to_owned()
    }

    /// Emits `event` to the client, with socket.io's `volatile` and `compress` flags. As in
    /// socket.io, a packet for a socket that is gone is dropped without an error.
    #[napi]
    pub fn emit(
        &self,
        event: String,
        args: Payload,
        volatile: Option<bool>,
        compress: Option<bool>,
    ) -> Result<()> {
        let args = args_of(args)?;
        let sent = match (volatile, compress) {
            (None | Some(false), None) => self.socket.emit_args(&event, args),
            _ => {
                let mut operator = self.socket.compress(compress.unwrap_or(true));
                if volatile == Some(true) {
                    operator = operator.volatile();
                }
                operator.emit_args(&event, args)
            }
        };
        dropped_when_gone(sent)
    }

    /// From now on, every event sent to the client (emits, broadcasts, volatile ones
    /// included) also reaches the `onEvent` callback, marked `outgoing`.
    #[napi]
    pub fn watch_outgoing(&self) {
        let shared = self.shared.clone();
        self.socket.on_any_outgoing(move |_, event, args| {
            let mut outgoing = notice(shared.key, dispatch::OUTGOING, event.to_owned());
            outgoing.args = Some(args.to_vec());
            shared.deliver(outgoing);
        });
    }

    /// From now on, the connection's upgrade to WebSocket reaches the socket's notices
    /// (socket.io's `socket.conn.on("upgrade")`).
    #[napi]
    pub fn watch_upgrade(&self) {
        let shared = self.shared.clone();
        self.socket.conn().on_upgrade(move |transport| {
            shared.deliver(notice(
                shared.key,
                dispatch::UPGRADE,
                transport.as_str().to_owned(),
            ));
        });
    }

    /// `socket.data`, as JSON (what a recovered socket brings back).
    #[napi]
    pub fn data_json(&self) -> String {
        self.socket.data().to_json_lossy().to_string()
    }

    /// Closes the socket's whole Engine.IO connection (socket.io's `socket.conn.close()`).
    #[napi]
    pub fn close_connection(&self) {
        self.socket.conn().close();
    }

    /// The connection's current transport: `polling` or `websocket`.
    #[napi(getter)]
    pub fn transport(&self) -> String {
        match self.socket.transport() {
            polysocket::Transport::Polling => "polling",
            polysocket::Transport::WebSocket => "websocket",
        }
        .to_owned()
    }

    /// Emits `event` and resolves with the client's acknowledgement; rejects with
    /// `operation has timed out` after `timeout_ms`.
    #[napi]
    pub async fn emit_with_ack(
        &self,
        event: String,
        args: Payload,
        timeout_ms: u32,
    ) -> Result<Payload> {
        let answer = self
            .socket
            .emit_with_ack(
                &event,
                args_of(args)?,
                Duration::from_millis(u64::from(timeout_ms)),
            )
            .await
            .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
        Ok(payload_of(answer))
    }

    /// Joins `room`.
    #[napi]
    pub fn join(&self, room: String) {
        self.socket.join(room);
    }

    /// Leaves `room`.
    #[napi]
    pub fn leave(&self, room: String) {
        self.socket.leave(&room);
    }

    /// The rooms the socket is in.
    #[napi]
    pub fn rooms(&self) -> Vec<String> {
        self.socket.rooms()
    }

    /// Disconnects the socket; with `close`, closes its connection.
    #[napi]
    pub fn disconnect(&self, close: bool) {
        self.socket.disconnect(close);
    }
}

/// An emit's outcome as socket.io reports it: nothing when the socket is gone (socket.io
/// drops such packets), an error otherwise.
fn dropped_when_gone(sent: std::result::Result<(), polysocket::EmitError>) -> Result<()> {
    match sent {
        Ok(()) | Err(polysocket::EmitError::Closed) => Ok(()),
        Err(error) => Err(invalid(error)),
    }
}

/// socket.io's `handshake` object as JSON.
pub(crate) fn handshake_json(h: &polysocket::Handshake) -> String {
    let headers: serde_json::Map<String, serde_json::Value> = h
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.into())))
        .collect();
    let query: serde_json::Map<String, serde_json::Value> = h
        .query()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    serde_json::json!({
        "headers": headers,
        "time": h.time(),
        "address": h.address().map(|a| a.ip().to_string()),
        "xdomain": h.xdomain(),
        "secure": h.secure(),
        "issued": h.issued(),
        "url": h.url(),
        "query": query,
        "auth": h.auth().to_json_lossy(),
    })
    .to_string()
}
