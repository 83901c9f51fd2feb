//! A Socket.IO socket: one client in one namespace.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Serialize;

use super::ack::{AckError, AckSender, PendingAcks};
use super::broadcast::BroadcastOperator;
use super::conn::{Conn, Frames, RequestInfo, SendFlags};
use super::event::Event;
use super::headers::HandshakeHeaders;
use super::namespace::{Namespace, lock, read, write};
use super::operator::SocketOperator;
use super::packet_middleware::{ChainOutcome, PacketError, PacketMiddleware, run_chain};
use crate::proto::engineio::CloseReason;
use crate::proto::recovery::{PacketTargets, PersistedSession};
use crate::proto::rooms::{Room, Sid};
use crate::proto::socketio::Packet;
use crate::proto::value::{Map, Value, to_value};

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

impl DisconnectReason {
    /// Whether connection state recovery keeps the session of a socket that disconnected
    /// for this reason (socket.io's `RECOVERABLE_DISCONNECT_REASONS`).
    pub fn is_recoverable(self) -> bool {
        matches!(
            self,
            DisconnectReason::TransportError
                | DisconnectReason::TransportClose
                | DisconnectReason::ForcedClose
                | DisconnectReason::PingTimeout
                | DisconnectReason::ServerShuttingDown
        )
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
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
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
    /// The adapter cannot do this (e.g. `serverSideEmit` on the in-memory adapter, which
    /// has no other servers to reach).
    #[error("this adapter does not support the {0}() functionality")]
    Unsupported(&'static str),
    /// Not every server of the cluster answered in time (socket.io's
    /// `timeout reached: only N responses received out of M`).
    #[error("timeout reached: only {received} responses received out of {expected}")]
    Timeout {
        /// The answers that arrived.
        responses: Vec<Value>,
        /// How many arrived.
        received: usize,
        /// How many were expected.
        expected: usize,
    },
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
    issued: u64,
}

impl Handshake {
    /// A handshake another server described (`fetchSockets` across a cluster).
    pub(crate) fn from_value(value: &Value) -> Handshake {
        let field = |name: &str| match value {
            Value::Object(map) => map.get(name).cloned().unwrap_or_default(),
            _ => Value::Null,
        };
        let text = |name: &str| match field(name) {
            Value::String(s) => s,
            _ => String::new(),
        };
        let mut headers = http::HeaderMap::new();
        if let Value::Object(map) = field("headers") {
            for (name, value) in map {
                if let (Ok(name), Value::String(value)) =
                    (http::HeaderName::from_bytes(name.as_bytes()), value)
                    && let Ok(value) = http::HeaderValue::from_str(&value)
                {
                    headers.append(name, value);
                }
            }
        }
        let query = match field("query") {
            Value::Object(map) => map
                .into_iter()
                .filter_map(|(k, v)| match v {
                    Value::String(v) => Some((k, v)),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        // Node writes IPv4 clients as `::ffff:a.b.c.d`.
        let address = text("address")
            .parse::<std::net::IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, 0));
        let issued = match field("issued") {
            Value::Number(n) => n
                .as_u64()
                .or_else(|| n.as_f64().map(|f| f as u64))
                .unwrap_or(0),
            _ => 0,
        };
        Handshake {
            auth: match field("auth") {
                Value::Null => Value::Object(Map::new()),
                auth => auth,
            },
            request: Arc::new(RequestInfo {
                headers: HandshakeHeaders::from_map(headers),
                query,
                address,
                url: text("url"),
                secure: matches!(field("secure"), Value::Bool(true)),
            }),
            issued,
        }
    }

    /// The auth payload of the namespace CONNECT (`{}` when none was sent).
    pub fn auth(&self) -> &Value {
        &self.auth
    }

    /// The HTTP headers of the first request.
    pub fn headers(&self) -> &http::HeaderMap {
        self.request.headers.map()
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

    /// Whether the first request was cross-origin (it had an `Origin` header).
    pub fn xdomain(&self) -> bool {
        self.request
            .headers
            .map()
            .contains_key(http::header::ORIGIN)
    }

    /// When the socket joined its namespace, in milliseconds since the Unix epoch.
    pub fn issued(&self) -> u64 {
        self.issued
    }

    /// [`Handshake::issued`] as JavaScript's `Date.toString()` prints it in UTC
    /// (socket.io's `handshake.time`), e.g.
    /// `Mon Nov 23 2026 16:30:00 GMT+0000 (Coordinated Universal Time)`.
    pub fn time(&self) -> String {
        js_date_string(self.issued)
    }
}

type EventHandler = Arc<dyn Fn(&Socket, Event) + Send + Sync>;
type AnyHandler = Arc<dyn Fn(&Socket, &Event) + Send + Sync>;
type OutgoingHandler = Arc<dyn Fn(&Socket, &str, &[Value]) + Send + Sync>;
type DisconnectHandler = Arc<dyn Fn(&Socket, DisconnectReason) + Send + Sync>;
type ErrorHandler = Arc<dyn Fn(&Socket, &PacketError) + Send + Sync>;

/// Identifies a catch-all listener, to remove it with [`Socket::off_any`] or
/// [`Socket::off_any_outgoing`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

impl ListenerId {
    fn next() -> ListenerId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        ListenerId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// Catch-all listeners, in call order.
struct Listeners<H> {
    list: RwLock<Vec<(ListenerId, H)>>,
}

impl<H: Clone> Listeners<H> {
    fn new() -> Self {
        Listeners {
            list: RwLock::new(Vec::new()),
        }
    }

    fn add(&self, handler: H, first: bool) -> ListenerId {
        let id = ListenerId::next();
        let mut list = write(&self.list);
        if first {
            list.insert(0, (id, handler));
        } else {
            list.push((id, handler));
        }
        id
    }

    fn remove(&self, id: Option<ListenerId>) {
        match id {
            Some(id) => write(&self.list).retain(|(i, _)| *i != id),
            None => write(&self.list).clear(),
        }
    }

    fn snapshot(&self) -> Vec<H> {
        read(&self.list).iter().map(|(_, h)| h.clone()).collect()
    }

    fn is_empty(&self) -> bool {
        read(&self.list).is_empty()
    }
}

pub(crate) struct SocketInner {
    id: Sid,
    /// The private id a client presents to recover this socket (with recovery on).
    pid: Option<Arc<str>>,
    recovered: bool,
    namespace: Namespace,
    pub(crate) conn: Arc<Conn>,
    handshake: Handshake,
    handlers: RwLock<HashMap<String, EventHandler>>,
    /// Handlers most sockets never get, allocated on first use (each connection pays only
    /// for what it uses).
    extras: std::sync::OnceLock<Box<Extras>>,
    /// Whether there is any outgoing listener, read on every emit without a lock.
    has_outgoing: AtomicBool,
    disconnect_handlers: RwLock<Vec<DisconnectHandler>>,
    connected: AtomicBool,
    /// Why the socket disconnected, set once before its disconnect handlers run.
    disconnect_reason: std::sync::OnceLock<DisconnectReason>,
    acks: Mutex<PendingAcks>,
    data: Mutex<Value>,
}

/// The handlers of a socket that are rarely used.
struct Extras {
    any_handlers: Listeners<AnyHandler>,
    outgoing_handlers: Listeners<OutgoingHandler>,
    middlewares: RwLock<Vec<PacketMiddleware>>,
    error_handlers: RwLock<Vec<ErrorHandler>>,
    disconnecting_handlers: RwLock<Vec<DisconnectHandler>>,
    /// Takes every event that has no handler of its own.
    unhandled: RwLock<Option<EventHandler>>,
}

impl Extras {
    fn new() -> Box<Extras> {
        Box::new(Extras {
            any_handlers: Listeners::new(),
            outgoing_handlers: Listeners::new(),
            middlewares: RwLock::new(Vec::new()),
            error_handlers: RwLock::new(Vec::new()),
            disconnecting_handlers: RwLock::new(Vec::new()),
            unhandled: RwLock::new(None),
        })
    }
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
    /// A new socket; `restored` is the session it recovers (connection state recovery).
    pub(crate) fn new(
        namespace: Namespace,
        conn: Arc<Conn>,
        auth: Value,
        restored: Option<&PersistedSession>,
    ) -> Socket {
        let handshake = Handshake {
            auth,
            request: conn.request.clone(),
            issued: unix_millis(),
        };
        let (id, pid) = match restored {
            Some(session) => (
                Arc::from(session.sid.as_str()),
                Some(Arc::from(session.pid.as_str())),
            ),
            None => (
                Arc::from(super::ids::generate()),
                namespace
                    .0
                    .recovery
                    .is_some()
                    .then(|| Arc::from(super::ids::generate())),
            ),
        };
        Socket(Arc::new(SocketInner {
            id,
            pid,
            recovered: restored.is_some(),
            namespace,
            conn,
            handshake,
            handlers: RwLock::new(HashMap::new()),
            extras: std::sync::OnceLock::new(),
            has_outgoing: AtomicBool::new(false),
            disconnect_handlers: RwLock::new(Vec::new()),
            connected: AtomicBool::new(true),
            disconnect_reason: std::sync::OnceLock::new(),
            acks: Mutex::new(PendingAcks::default()),
            data: Mutex::new(restored.map_or(Value::Null, |s| s.data.clone())),
        }))
    }

    /// Whether this socket recovered the state of an earlier connection (connection state
    /// recovery): its id, rooms and data are the old ones, and the events it missed were
    /// sent before its CONNECT reply (socket.io's `socket.recovered`).
    pub fn recovered(&self) -> bool {
        self.0.recovered
    }

    pub(crate) fn pid(&self) -> Option<&str> {
        self.0.pid.as_deref()
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

    /// Packets queued for this client's connection and not yet handed to its transport
    /// (bounded by [`ServerConfig::max_buffered_packets`](crate::ServerConfig)).
    pub fn buffered(&self) -> usize {
        self.0.conn.buffered()
    }

    /// Waits until the connection's queue is empty (or it closed): a producer that awaits
    /// this between emits never outruns a slow client.
    pub async fn drained(&self) {
        self.0.conn.drained().await;
    }

    /// The underlying Engine.IO connection (socket.io's `socket.conn`).
    pub fn conn(&self) -> super::server::EngineSocket {
        super::server::EngineSocket(self.0.conn.clone())
    }

    /// The transport the underlying connection currently uses.
    pub fn transport(&self) -> crate::Transport {
        self.0.conn.lock().engine.transport()
    }

    /// True until the socket disconnects.
    pub fn connected(&self) -> bool {
        self.0.connected.load(Ordering::Acquire)
    }

    /// Why the socket disconnected; `None` while it is connected. Set before the
    /// `disconnecting` handlers run, so code that registers a handler too late to hear the
    /// disconnection still learns its reason here.
    pub fn disconnect_reason(&self) -> Option<DisconnectReason> {
        self.0.disconnect_reason.get().copied()
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

    fn extras(&self) -> &Extras {
        self.0.extras.get_or_init(Extras::new)
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

    /// Listens to every event from the client, before packet middlewares and named
    /// handlers run (socket.io's `onAny`).
    pub fn on_any(&self, handler: impl Fn(&Socket, &Event) + Send + Sync + 'static) -> ListenerId {
        self.extras().any_handlers.add(Arc::new(handler), false)
    }

    /// Like [`Socket::on_any`], called before the catch-all listeners added so far
    /// (socket.io's `prependAny`).
    pub fn prepend_any(
        &self,
        handler: impl Fn(&Socket, &Event) + Send + Sync + 'static,
    ) -> ListenerId {
        self.extras().any_handlers.add(Arc::new(handler), true)
    }

    /// Removes the catch-all listener `id`, or all of them with `None` (socket.io's
    /// `offAny`).
    pub fn off_any(&self, id: Option<ListenerId>) {
        if let Some(extras) = self.0.extras.get() {
            extras.any_handlers.remove(id);
        }
    }

    /// Listens to every event sent to the client, by this socket or by a broadcast that
    /// reaches it, with the event name and arguments (socket.io's `onAnyOutgoing`).
    pub fn on_any_outgoing(
        &self,
        handler: impl Fn(&Socket, &str, &[Value]) + Send + Sync + 'static,
    ) -> ListenerId {
        let id = self
            .extras()
            .outgoing_handlers
            .add(Arc::new(handler), false);
        self.0.has_outgoing.store(true, Ordering::Release);
        id
    }

    /// Like [`Socket::on_any_outgoing`], called first (socket.io's `prependAnyOutgoing`).
    pub fn prepend_any_outgoing(
        &self,
        handler: impl Fn(&Socket, &str, &[Value]) + Send + Sync + 'static,
    ) -> ListenerId {
        let id = self.extras().outgoing_handlers.add(Arc::new(handler), true);
        self.0.has_outgoing.store(true, Ordering::Release);
        id
    }

    /// Removes the outgoing listener `id`, or all of them with `None` (socket.io's
    /// `offAnyOutgoing`).
    pub fn off_any_outgoing(&self, id: Option<ListenerId>) {
        if let Some(extras) = self.0.extras.get() {
            extras.outgoing_handlers.remove(id);
            self.0
                .has_outgoing
                .store(!extras.outgoing_handlers.is_empty(), Ordering::Release);
        }
    }

    pub(crate) fn notify_outgoing(&self, event: &str, args: &[Value]) {
        if self.0.has_outgoing.load(Ordering::Acquire)
            && let Some(extras) = self.0.extras.get()
        {
            for handler in extras.outgoing_handlers.snapshot() {
                handler(self, event, args);
            }
        }
    }

    /// Adds a packet middleware (socket.io's `socket.use`): it sees every incoming event
    /// (and may change it) before the named handler; an error stops the event and goes to
    /// the [`Socket::on_error`] handlers. Catch-all listeners run before middlewares.
    pub fn use_packet(
        &self,
        middleware: impl Fn(&Socket, &mut Event) -> Result<(), PacketError> + Send + Sync + 'static,
    ) {
        write(&self.extras().middlewares).push(PacketMiddleware::Sync(Arc::new(middleware)));
    }

    /// Adds an asynchronous packet middleware: it gets the event and gives it back (maybe
    /// changed) to let it through. The rest of the chain and the handler then run on a
    /// task of their own, so events that pass such a middleware may be handled out of order.
    pub fn use_packet_async<F, Fut>(&self, middleware: F)
    where
        F: Fn(Socket, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Event, PacketError>> + Send + 'static,
    {
        write(&self.extras().middlewares).push(PacketMiddleware::Async(Arc::new(
            move |socket, event| Box::pin(middleware(socket, event)),
        )));
    }

    /// Handles the errors of packet middlewares (socket.io's `socket.on("error")`). Without
    /// any handler, errors are logged with `tracing`.
    pub fn on_error(&self, handler: impl Fn(&Socket, &PacketError) + Send + Sync + 'static) {
        write(&self.extras().error_handlers).push(Arc::new(handler));
    }

    pub(crate) fn report_error(&self, error: &PacketError) {
        let handlers = self
            .0
            .extras
            .get()
            .map(|e| read(&e.error_handlers).clone())
            .unwrap_or_default();
        if handlers.is_empty() {
            tracing::warn!(socket = %self.id(), %error, "packet middleware error");
        }
        for handler in handlers {
            handler(self, error);
        }
    }

    /// Called when the socket is about to disconnect, while it is still in its rooms.
    pub fn on_disconnecting(
        &self,
        handler: impl Fn(&Socket, DisconnectReason) + Send + Sync + 'static,
    ) {
        write(&self.extras().disconnecting_handlers).push(Arc::new(handler));
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
        let extras = self.0.extras.get();
        if let Some(extras) = extras {
            for handler in extras.any_handlers.snapshot() {
                handler(self, &event);
            }
        }
        let chain = extras
            .map(|e| read(&e.middlewares).clone())
            .unwrap_or_default();
        let outcome = if chain.is_empty() {
            ChainOutcome::Passed(event)
        } else {
            run_chain(self, &chain, event, |socket, result| match result {
                Ok(event) => socket.handle(event),
                Err(error) => socket.report_error(&error),
            })
        };
        match outcome {
            ChainOutcome::Passed(event) => self.handle(event),
            ChainOutcome::Refused(error) => self.report_error(&error),
            ChainOutcome::Spawned => {}
        }
    }

    /// Calls the named handler of `event`, unless the socket disconnected meanwhile.
    fn handle(&self, event: Event) {
        if !self.connected() {
            return;
        }
        let handler = read(&self.0.handlers)
            .get(&event.name)
            .cloned()
            .or_else(|| {
                self.0
                    .extras
                    .get()
                    .and_then(|extras| read(&extras.unhandled).clone())
            });
        if let Some(handler) = handler {
            handler(self, event);
        }
    }

    /// Handles every event that has no handler of its own ([`Socket::on`]), with its ack:
    /// for code that keeps its handlers elsewhere, as a language binding does.
    pub fn on_unhandled(&self, handler: impl Fn(&Socket, Event) + Send + Sync + 'static) {
        *write(&self.extras().unhandled) = Some(Arc::new(handler));
    }

    /// Emits `event` to this client with one serializable argument.
    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<(), EmitError> {
        self.emit_args(event, vec![serialize(&data)?])
    }

    /// Emits `event` with any number of arguments (binary values go as attachments).
    pub fn emit_args(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        self.emit_with_flags(event, args, SendFlags::default())
    }

    /// Emits with socket.io's flags set first: `socket.volatile()`.
    pub fn volatile(&self) -> SocketOperator {
        SocketOperator::new(self.clone()).volatile()
    }

    /// Emits with socket.io's `compress` flag set first.
    pub fn compress(&self, compress: bool) -> SocketOperator {
        SocketOperator::new(self.clone()).compress(compress)
    }

    /// Emits whose acknowledgement is awaited for `timeout` (socket.io's
    /// `socket.timeout(ms).emitWithAck(..)`).
    pub fn timeout(&self, timeout: Duration) -> SocketOperator {
        SocketOperator::new(self.clone()).timeout(timeout)
    }

    pub(crate) fn emit_with_flags(
        &self,
        event: &str,
        args: Vec<Value>,
        flags: SendFlags,
    ) -> Result<(), EmitError> {
        check_event_name(event)?;
        if !self.connected() {
            return Err(EmitError::Closed);
        }
        self.notify_outgoing(event, &args);
        let mut args = args;
        if !flags.volatile {
            let targets = PacketTargets {
                rooms: vec![self.0.id.clone()],
                except: Vec::new(),
            };
            self.0.namespace.record_offset(targets, event, &mut args);
        }
        let frames = Frames::encode(
            &Packet::event(self.ns(), event, args, None),
            self.0.namespace.0.parser,
        );
        self.send_frames(&frames, flags)
    }

    /// Queues encoded frames for this client; a volatile packet the transport cannot take
    /// right away is dropped (and counts as sent).
    pub(crate) fn send_frames(&self, frames: &Frames, flags: SendFlags) -> Result<(), EmitError> {
        if flags.volatile {
            self.0
                .conn
                .send_frames_volatile(frames, flags.compress)
                .map(drop)
        } else {
            self.0.conn.send_frames_with(frames, flags.compress)
        }
    }

    /// Emits `event` and waits up to `timeout` for the client's acknowledgement.
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Duration,
    ) -> impl Future<Output = Result<Vec<Value>, AckError>> + Send + 'static {
        self.emit_with_ack_flags(event, args, Some(timeout), SendFlags::default())
    }

    pub(crate) fn emit_with_ack_flags(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Option<Duration>,
        flags: SendFlags,
    ) -> impl Future<Output = Result<Vec<Value>, AckError>> + Send + 'static {
        let socket = self.clone();
        let sent = check_event_name(event).and_then(|()| {
            if !self.connected() {
                return Err(EmitError::Closed);
            }
            self.notify_outgoing(event, &args);
            let id = self.0.namespace.next_ack_id();
            let Some(answer) = self.expect_ack(id) else {
                return Err(EmitError::Closed);
            };
            let frames = Frames::encode(
                &Packet::event(self.ns(), event, args, Some(id)),
                self.0.namespace.0.parser,
            );
            match self.send_frames(&frames, flags) {
                Ok(()) => Ok((id, answer)),
                Err(error) => {
                    self.forget_ack(id);
                    Err(error)
                }
            }
        });
        async move {
            let (id, answer) = sent?;
            let answer = match timeout {
                Some(timeout) => match tokio::time::timeout(timeout, answer).await {
                    Ok(answer) => answer,
                    Err(_) => {
                        socket.forget_ack(id);
                        return Err(AckError::Timeout);
                    }
                },
                None => answer.await,
            };
            answer.unwrap_or(Err(AckError::Disconnected))
        }
    }

    /// Awaits the client's answer to ack id `id`.
    pub(crate) fn expect_ack(
        &self,
        id: u64,
    ) -> Option<tokio::sync::oneshot::Receiver<Result<Vec<Value>, AckError>>> {
        self.0
            .acks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .register(id)
    }

    /// Stops awaiting ack id `id`.
    pub(crate) fn forget_ack(&self, id: u64) {
        self.0
            .acks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .forget(id);
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
            self.0.namespace.join_room(&self.0.id, room.into());
        }
    }

    /// Leaves `room`.
    pub fn leave(&self, room: &str) {
        self.0.namespace.leave_room(&self.0.id, room);
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
        let _ = self.0.disconnect_reason.set(reason);
        let disconnecting = self
            .0
            .extras
            .get()
            .map(|e| read(&e.disconnecting_handlers).clone())
            .unwrap_or_default();
        for handler in disconnecting {
            handler(self, reason);
        }
        if let (Some(store), Some(pid)) = (&self.0.namespace.0.recovery, &self.0.pid)
            && reason.is_recoverable()
        {
            let session = PersistedSession {
                sid: self.0.id.to_string(),
                pid: pid.to_string(),
                rooms: read(&self.0.namespace.0.rooms).rooms_of(&self.0.id),
                data: self.data(),
            };
            lock(store).persist(session, std::time::Instant::now());
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
        self.0.has_outgoing.store(false, Ordering::Release);
        if let Some(extras) = self.0.extras.get() {
            extras.any_handlers.remove(None);
            extras.outgoing_handlers.remove(None);
            write(&extras.middlewares).clear();
            write(&extras.error_handlers).clear();
            write(&extras.disconnecting_handlers).clear();
        }
        write(&self.0.disconnect_handlers).clear();
    }
}

fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Formats milliseconds since the Unix epoch as JavaScript's `Date.toString()` in UTC.
fn js_date_string(millis: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = millis / 1000;
    let days = secs / 86_400;
    let (hour, minute, second) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    let (year, month, day) = crate::proto::date::civil_from_days(days as i64);
    format!(
        "{} {} {day:02} {year} {hour:02}:{minute:02}:{second:02} GMT+0000 (Coordinated Universal Time)",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
    )
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

#[cfg(test)]
mod tests {
    use super::js_date_string;

    #[test]
    fn formats_dates_as_javascript_does_in_utc() {
        assert_eq!(
            js_date_string(0),
            "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
        // new Date(Date.UTC(2026, 10, 23, 16, 30, 5)).toString() with TZ=UTC
        assert_eq!(
            js_date_string(1_795_451_405_000),
            "Mon Nov 23 2026 16:30:05 GMT+0000 (Coordinated Universal Time)"
        );
        // A leap day.
        assert_eq!(
            js_date_string(951_782_400_000),
            "Tue Feb 29 2000 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
    }
}
