//! A Socket.IO socket: one client in one namespace.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Serialize;

use super::ack::{AckError, AckSender, PendingAcks};
use super::broadcast::BroadcastOperator;
use super::conn::{Conn, RequestInfo};
use super::event::Event;
use super::namespace::{Namespace, read, write};
use crate::proto::engineio::CloseReason;
use crate::proto::rooms::{Room, Sid};
use crate::proto::socketio::Packet;
use crate::proto::value::{Value, to_value};

/// Why a socket disconnected, with socket.io's reason strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// `transport close`: the client closed the connection.
    TransportClose,
    /// `transport error`: the connection failed.
    TransportError,
    /// `ping timeout`: the client stopped answering pings.
    PingTimeout,
    /// `parse error`: the client sent an undecodable Engine.IO packet.
    ParseError,
    /// `forced close`: the server closed the connection (e.g. an invalid packet).
    ForcedClose,
    /// `server shutting down`.
    ServerShuttingDown,
    /// `server namespace disconnect`: `socket.disconnect()` on the server.
    ServerNamespaceDisconnect,
    /// `client namespace disconnect`: `socket.disconnect()` on the client.
    ClientNamespaceDisconnect,
}

impl DisconnectReason {
    /// socket.io's string for the reason.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::ForcedClose => "forced close",
            DisconnectReason::ServerShuttingDown => "server shutting down",
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
        }
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<CloseReason> for DisconnectReason {
    fn from(reason: CloseReason) -> Self {
        match reason {
            CloseReason::TransportClose => DisconnectReason::TransportClose,
            CloseReason::TransportError => DisconnectReason::TransportError,
            CloseReason::PingTimeout => DisconnectReason::PingTimeout,
            CloseReason::ParseError => DisconnectReason::ParseError,
            CloseReason::ForcedClose => DisconnectReason::ForcedClose,
            CloseReason::ServerShuttingDown => DisconnectReason::ServerShuttingDown,
        }
    }
}

/// Why an emit failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    /// The socket is disconnected.
    #[error("socket is disconnected")]
    Closed,
    /// The client's outbound queue is full (it reads too slowly).
    #[error("the client's outbound queue is full")]
    Saturated,
    /// The data did not serialize.
    #[error("cannot serialize the data: {0}")]
    Serialize(String),
    /// The event name is reserved (`connect`, `disconnect`, ...).
    #[error("\"{0}\" is a reserved event name")]
    ReservedEvent(String),
}

impl From<crate::proto::engineio::SendError> for EmitError {
    fn from(error: crate::proto::engineio::SendError) -> Self {
        match error {
            crate::proto::engineio::SendError::Closed => EmitError::Closed,
            crate::proto::engineio::SendError::Saturated => EmitError::Saturated,
        }
    }
}

/// The handshake of a socket (socket.io's `socket.handshake`): the namespace CONNECT's auth
/// payload, and the first HTTP request of the connection (shared by every socket on it).
#[derive(Debug, Clone)]
pub struct Handshake {
    auth: Value,
    request: Arc<RequestInfo>,
}

impl Handshake {
    /// The auth payload of the namespace CONNECT (`{}` when none was sent).
    pub fn auth(&self) -> &Value {
        &self.auth
    }

    /// The HTTP headers of the first request.
    pub fn headers(&self) -> &http::HeaderMap {
        &self.request.headers
    }

    /// The query parameters of the first request, in order.
    pub fn query(&self) -> &[(String, String)] {
        &self.request.query
    }

    /// The first value of query parameter `name`.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.request
            .query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The client's address, when the transport knows it.
    pub fn address(&self) -> Option<SocketAddr> {
        self.request.address
    }

    /// The URL (path and query) of the first request.
    pub fn url(&self) -> &str {
        &self.request.url
    }

    /// Whether the connection is TLS.
    pub fn secure(&self) -> bool {
        self.request.secure
    }

    /// When the connection was made, in milliseconds since the Unix epoch.
    pub fn issued(&self) -> u64 {
        self.request.issued
    }
}

type EventHandler = Arc<dyn Fn(&Socket, Event) + Send + Sync>;
type DisconnectHandler = Arc<dyn Fn(&Socket, DisconnectReason) + Send + Sync>;

pub(crate) struct SocketInner {
    id: Sid,
    namespace: Namespace,
    pub(crate) conn: Arc<Conn>,
    handshake: Handshake,
    handlers: RwLock<HashMap<String, EventHandler>>,
    any_handlers: RwLock<Vec<EventHandler>>,
    disconnecting_handlers: RwLock<Vec<DisconnectHandler>>,
    disconnect_handlers: RwLock<Vec<DisconnectHandler>>,
    connected: AtomicBool,
    acks: Mutex<PendingAcks>,
    data: Mutex<Value>,
}

/// One client in one namespace. Cheap to clone; every clone is the same socket.
#[derive(Clone)]
pub struct Socket(pub(crate) Arc<SocketInner>);

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.0.id)
            .field("nsp", &self.0.namespace.name())
            .finish()
    }
}

impl Socket {
    pub(crate) fn new(namespace: Namespace, conn: Arc<Conn>, auth: Value) -> Socket {
        let handshake = Handshake {
            auth,
            request: conn.request.clone(),
        };
        Socket(Arc::new(SocketInner {
            id: Arc::from(super::ids::generate()),
            namespace,
            conn,
            handshake,
            handlers: RwLock::new(HashMap::new()),
            any_handlers: RwLock::new(Vec::new()),
            disconnecting_handlers: RwLock::new(Vec::new()),
            disconnect_handlers: RwLock::new(Vec::new()),
            connected: AtomicBool::new(true),
            acks: Mutex::new(PendingAcks::default()),
            data: Mutex::new(Value::Null),
        }))
    }

    /// The socket id (sent to the client in the CONNECT answer).
    pub fn id(&self) -> &str {
        &self.0.id
    }

    pub(crate) fn sid(&self) -> &Sid {
        &self.0.id
    }

    /// The namespace name.
    pub fn ns(&self) -> &str {
        self.0.namespace.name()
    }

    /// The namespace.
    pub fn namespace(&self) -> &Namespace {
        &self.0.namespace
    }

    /// The handshake (auth, headers, query, address, ...).
    pub fn handshake(&self) -> &Handshake {
        &self.0.handshake
    }

    /// The transport the underlying connection currently uses.
    pub fn transport(&self) -> crate::Transport {
        self.0.conn.lock().engine.transport()
    }

    /// True until the socket disconnects.
    pub fn connected(&self) -> bool {
        self.0.connected.load(Ordering::Acquire)
    }

    /// Arbitrary data attached to the socket (socket.io's `socket.data`).
    pub fn data(&self) -> Value {
        self.0
            .data
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces [`Socket::data`].
    pub fn set_data(&self, data: Value) {
        *self.0.data.lock().unwrap_or_else(|p| p.into_inner()) = data;
    }

    /// Handles event `event` from the client (replacing a previous handler for that name).
    ///
    /// The handler runs on the task that reads the connection, so it should not block; for
    /// async work use [`Socket::on_async`].
    pub fn on(
        &self,
        event: impl Into<String>,
        handler: impl Fn(&Socket, Event) + Send + Sync + 'static,
    ) {
        write(&self.0.handlers).insert(event.into(), Arc::new(handler));
    }

    /// Handles event `event` with an async handler, spawned on the runtime per event.
    pub fn on_async<F, Fut>(&self, event: impl Into<String>, handler: F)
    where
        F: Fn(Socket, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler = Arc::new(handler);
        self.on(event, move |socket, event| {
            tokio::spawn(handler(socket.clone(), event));
        });
    }

    /// Handles every event, before the named handlers (socket.io's `onAny`).
    pub fn on_any(&self, handler: impl Fn(&Socket, &Event) + Send + Sync + 'static) {
        write(&self.0.any_handlers).push(Arc::new(move |s: &Socket, e: Event| handler(s, &e)));
    }

    /// Called when the socket is about to disconnect, while it is still in its rooms.
    pub fn on_disconnecting(
        &self,
        handler: impl Fn(&Socket, DisconnectReason) + Send + Sync + 'static,
    ) {
        write(&self.0.disconnecting_handlers).push(Arc::new(handler));
    }

    /// Called once the socket has disconnected, with socket.io's reason.
    pub fn on_disconnect(
        &self,
        handler: impl Fn(&Socket, DisconnectReason) + Send + Sync + 'static,
    ) {
        write(&self.0.disconnect_handlers).push(Arc::new(handler));
    }

    pub(crate) fn dispatch(&self, name: String, args: Vec<Value>, id: Option<u64>) {
        let ack =
            id.map(|id| AckSender::new(self.0.conn.clone(), self.0.namespace.0.name.clone(), id));
        let event = Event::new(name, args, ack);
        let any = read(&self.0.any_handlers).clone();
        for handler in &any {
            handler(
                self,
                Event::new(event.name.clone(), event.args.clone(), None),
            );
        }
        let handler = read(&self.0.handlers).get(&event.name).cloned();
        if let Some(handler) = handler {
            handler(self, event);
        }
    }

    /// Emits `event` to this client with one serializable argument.
    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<(), EmitError> {
        self.emit_args(event, vec![serialize(&data)?])
    }

    /// Emits `event` with any number of arguments (binary values go as attachments).
    pub fn emit_args(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        check_event_name(event)?;
        if !self.connected() {
            return Err(EmitError::Closed);
        }
        self.0
            .conn
            .send_packet(&Packet::event(self.ns(), event, args, None))
    }

    /// Emits `event` and waits up to `timeout` for the client's acknowledgement.
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Duration,
    ) -> impl Future<Output = Result<Vec<Value>, AckError>> + Send + 'static {
        let socket = self.clone();
        let sent = check_event_name(event).and_then(|()| {
            if !self.connected() {
                return Err(EmitError::Closed);
            }
            let (id, rx) = self
                .0
                .acks
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .register();
            match self
                .0
                .conn
                .send_packet(&Packet::event(self.ns(), event, args, Some(id)))
            {
                Ok(()) => Ok((id, rx)),
                Err(error) => {
                    self.0
                        .acks
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .forget(id);
                    Err(error)
                }
            }
        });
        async move {
            let (id, rx) = sent?;
            match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(result)) => result,
                Ok(Err(_)) => Err(AckError::Disconnected),
                Err(_) => {
                    socket
                        .0
                        .acks
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .forget(id);
                    Err(AckError::Timeout)
                }
            }
        }
    }

    pub(crate) fn resolve_ack(&self, id: u64, args: Vec<Value>) {
        self.0
            .acks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .resolve(id, Ok(args));
    }

    /// Joins `room`.
    pub fn join(&self, room: impl Into<Room>) {
        if self.connected() {
            write(&self.0.namespace.0.rooms).join(&self.0.id, &room.into());
        }
    }

    /// Leaves `room`.
    pub fn leave(&self, room: &str) {
        write(&self.0.namespace.0.rooms).leave(&self.0.id, room);
    }

    /// The rooms the socket is in (its own id included, as in socket.io).
    pub fn rooms(&self) -> Vec<String> {
        read(&self.0.namespace.0.rooms)
            .rooms_of(&self.0.id)
            .iter()
            .map(|r| r.to_string())
            .collect()
    }

    /// A broadcast to `room` that excludes this socket (`socket.to(room)`).
    pub fn to(&self, room: impl Into<Room>) -> BroadcastOperator {
        self.broadcast().to(room)
    }

    /// A broadcast to everyone but this socket and the sockets in `room`.
    pub fn except(&self, room: impl Into<Room>) -> BroadcastOperator {
        self.broadcast().except(room)
    }

    /// A broadcast to every socket of the namespace except this one (`socket.broadcast`).
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.0.namespace.clone(), Some(self.0.id.clone()))
    }

    /// Disconnects the socket from its namespace (`server namespace disconnect`); with
    /// `close`, closes the whole underlying connection and every socket on it.
    pub fn disconnect(&self, close: bool) {
        let sockets = if close {
            self.0.conn.sockets()
        } else {
            vec![self.clone()]
        };
        for socket in sockets {
            // Claim the close before queueing DISCONNECT: a pending long-poll on another
            // thread can deliver it at once, and the client's answering CLOSE would otherwise
            // tear the connection down first and record "transport close" instead.
            if socket.0.connected.swap(false, Ordering::AcqRel) {
                let _ = socket.0.conn.send_packet(&Packet::disconnect(socket.ns()));
                socket.finish_close(DisconnectReason::ServerNamespaceDisconnect);
            }
        }
        if close {
            self.0.conn.close(CloseReason::ForcedClose);
        }
    }

    pub(crate) fn on_close(&self, reason: DisconnectReason) {
        if self.0.connected.swap(false, Ordering::AcqRel) {
            self.finish_close(reason);
        }
    }

    /// The rest of [`Socket::on_close`], once `connected` was cleared by the caller.
    fn finish_close(&self, reason: DisconnectReason) {
        let disconnecting = read(&self.0.disconnecting_handlers).clone();
        for handler in disconnecting {
            handler(self, reason);
        }
        self.0.namespace.remove_socket(&self.0.id);
        self.0.conn.forget_socket(self.ns());
        self.0
            .acks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .fail_all();
        let handlers = read(&self.0.disconnect_handlers).clone();
        for handler in handlers {
            handler(self, reason);
        }
        // Drop handlers: they often capture clones of this socket.
        write(&self.0.handlers).clear();
        write(&self.0.any_handlers).clear();
        write(&self.0.disconnecting_handlers).clear();
        write(&self.0.disconnect_handlers).clear();
    }
}

pub(crate) fn serialize(data: &impl Serialize) -> Result<Value, EmitError> {
    to_value(data).map_err(|e| EmitError::Serialize(e.to_string()))
}

pub(crate) fn check_event_name(event: &str) -> Result<(), EmitError> {
    if crate::proto::socketio::RESERVED_EVENTS.contains(&event) {
        return Err(EmitError::ReservedEvent(event.to_owned()));
    }
    Ok(())
}
