//! The tokio Socket.IO client: socket.io-client's `io(url, options)`, its `Manager` and
//! `Socket`, over the sans-IO client state machines of [`crate::proto`].
//!
//! ```no_run
//! # async fn run() -> Result<(), polysocket::client::ClientError> {
//! use polysocket::client::{self, ClientOptions};
//!
//! let socket = client::connect("http://127.0.0.1:3000", ClientOptions::default())?;
//! socket.on("news", |_, event| println!("news: {:?}", event.args));
//! socket.wait_connected(std::time::Duration::from_secs(5)).await?;
//! let answer = socket
//!     .emit_with_ack("echo", vec![polysocket::Value::from("hi")])
//!     .await?;
//! # Ok(()) }
//! ```

mod cookies;
mod driver;
mod options;
mod transport;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{Notify, mpsc, oneshot};

pub use options::{AuthFn, ClientOptions};

use crate::proto::socketio::client::ClientDisconnectReason;
use crate::proto::value::{Value, to_value};

pub use crate::proto::socketio::client::{
    ClientDisconnectReason as DisconnectReason, ManagerConfig,
};

/// Why the client could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The URL or an option is invalid.
    #[error("invalid client options: {0}")]
    InvalidOptions(String),
    /// Not connected within the time given.
    #[error("not connected within {0:?}")]
    ConnectTimeout(Duration),
    /// The server refused the namespace (`connect_error`).
    #[error("connect_error: {0}")]
    ConnectError(String),
    /// No acknowledgement in time (socket.io-client's `operation has timed out`).
    #[error("operation has timed out")]
    AckTimeout,
    /// The socket disconnected before the acknowledgement (`socket has been disconnected`).
    #[error("socket has been disconnected")]
    Disconnected,
    /// The data did not serialize.
    #[error("cannot serialize the data: {0}")]
    Serialize(String),
    /// The client was closed.
    #[error("the client is closed")]
    Closed,
}

/// An event the server sent, with the means to acknowledge it when it asked for that.
#[derive(Debug)]
pub struct IncomingEvent {
    /// The event name.
    pub name: String,
    /// Its arguments.
    pub args: Vec<Value>,
    ack: Option<ClientAck>,
}

impl IncomingEvent {
    /// Takes the acknowledgement handle, if the server waits for one.
    pub fn ack(&mut self) -> Option<ClientAck> {
        self.ack.take()
    }

    /// The first argument deserialized as `T`.
    pub fn data<T: serde::de::DeserializeOwned>(&self) -> Result<T, crate::ValueError> {
        crate::from_value(self.args.first().cloned().unwrap_or_default())
    }
}

/// Answers a server's event that asked for an acknowledgement.
#[derive(Debug)]
pub struct ClientAck {
    commands: mpsc::UnboundedSender<Command>,
    nsp: String,
    id: u64,
}

impl ClientAck {
    /// Acknowledges with these arguments.
    pub fn send_args(self, args: Vec<Value>) {
        let _ = self.commands.send(Command::Ack {
            nsp: self.nsp,
            id: self.id,
            args,
        });
    }

    /// Acknowledges with one serializable argument.
    pub fn send(self, data: impl Serialize) -> Result<(), ClientError> {
        let value = to_value(&data).map_err(|e| ClientError::Serialize(e.to_string()))?;
        self.send_args(vec![value]);
        Ok(())
    }
}

type EventHandler = Arc<dyn Fn(&ClientSocket, IncomingEvent) + Send + Sync>;
type AnyHandler = Arc<dyn Fn(&ClientSocket, &str, &[Value]) + Send + Sync>;
type ConnectHandler = Arc<dyn Fn(&ClientSocket) + Send + Sync>;
type ErrorHandler = Arc<dyn Fn(&ClientSocket, &str, Option<&Value>) + Send + Sync>;
type DisconnectHandler = Arc<dyn Fn(&ClientSocket, ClientDisconnectReason) + Send + Sync>;
type ManagerHandler = Arc<dyn Fn(&ManagerNotice) + Send + Sync>;

/// What the manager reports to [`Client::on_manager_event`] (socket.io-client's manager
/// events).
#[derive(Debug, Clone, PartialEq)]
pub enum ManagerNotice {
    /// `open`.
    Open,
    /// `close` with the reason.
    Close(ClientDisconnectReason),
    /// `error`.
    Error(String),
    /// `reconnect_attempt` (1-based).
    ReconnectAttempt(u32),
    /// `reconnect` after that many attempts.
    Reconnect(u32),
    /// `reconnect_error`.
    ReconnectError(String),
    /// `reconnect_failed`.
    ReconnectFailed,
}

#[derive(Default)]
struct SocketHandlers {
    /// Listeners per event, in the order added, each with its id.
    events: HashMap<String, Vec<(u64, EventHandler)>>,
    any: Vec<AnyHandler>,
    /// Listeners of every event, with the ack handle (for bindings that dispatch by name
    /// themselves).
    every: Vec<EventHandler>,
    any_outgoing: Vec<AnyHandler>,
    connect: Vec<ConnectHandler>,
    connect_error: Vec<ErrorHandler>,
    disconnect: Vec<DisconnectHandler>,
}

#[derive(Debug, Default, Clone)]
struct SocketStatus {
    connected: bool,
    id: Option<String>,
    recovered: bool,
    last_error: Option<String>,
}

/// Where the answer to an emit with ack goes.
type AckReply = oneshot::Sender<Result<Vec<Value>, ClientError>>;

/// What the API asks the driver task to do.
#[derive(Debug)]
enum Command {
    Connect {
        nsp: String,
    },
    Disconnect {
        nsp: String,
    },
    Emit {
        nsp: String,
        event: String,
        args: Vec<Value>,
        ack: Option<(Duration, AckReply)>,
        volatile: bool,
    },
    Ack {
        nsp: String,
        id: u64,
        args: Vec<Value>,
    },
    SetAuth {
        nsp: String,
        auth: Value,
    },
    Pause,
    Resume,
    ReconnectNow,
    Close,
}

impl Shared {
    /// A copy of one list of `nsp`'s handlers, so that none is called under the lock.
    fn listeners<T: Clone>(&self, nsp: &str, pick: impl Fn(&SocketHandlers) -> &Vec<T>) -> Vec<T> {
        lock(&self.handlers)
            .get(nsp)
            .map(|h| pick(h).clone())
            .unwrap_or_default()
    }
}

struct Shared {
    commands: mpsc::UnboundedSender<Command>,
    options: ClientOptions,
    handlers: Mutex<HashMap<String, SocketHandlers>>,
    status: Mutex<HashMap<String, SocketStatus>>,
    status_changed: Notify,
    manager_handlers: Mutex<Vec<ManagerHandler>>,
    /// Namespaces with a socket on this connection (socket.io-client's `nsps`).
    namespaces: Mutex<HashSet<String>>,
    /// The Engine.IO session id of the current connection.
    engine_id: Mutex<Option<String>>,
    /// The transport of the current (or last) connection.
    transport: Mutex<Option<crate::proto::engineio::Transport>>,
    /// Per-namespace CONNECT payloads set with [`ClientSocket::set_auth`], in place of the
    /// client's `auth` option for those namespaces.
    socket_auth: Mutex<HashMap<String, Value>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// A connection to a server, shared by the sockets of several namespaces
/// (socket.io-client's `Manager`). Cheap to clone. The connection runs on a task of its
/// own; it ends when every handle is dropped or [`Client::close`] is called.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

/// socket.io-client's `io(url, options)`: the socket for the URL's namespace
/// (`http://host:port/namespace`), connecting at once unless `auto_connect` is off. Needs
/// a tokio runtime.
///
/// As in socket.io-client, sockets for the same origin share one connection (their
/// [`Client`]) while it lives, unless `force_new` is set, `multiplex` is off, or that
/// connection already has a socket for the namespace; the first call's options then apply.
pub fn connect(url: &str, options: ClientOptions) -> Result<ClientSocket, ClientError> {
    let (endpoint, nsp) =
        options::Endpoint::parse(url, &options).map_err(ClientError::InvalidOptions)?;
    let origin = endpoint.origin();
    if options.force_new || !options.multiplex {
        return Ok(Client::start(endpoint, options)?.socket(&nsp));
    }
    let mut cache = lock(&MANAGERS);
    cache.retain(|_, weak| weak.strong_count() > 0);
    let cached = cache.get(&origin).and_then(std::sync::Weak::upgrade);
    let client = match cached {
        // A second socket for a namespace: a connection of its own, not cached.
        Some(shared) if lock(&shared.namespaces).contains(&nsp) => {
            drop(cache);
            Client::start(endpoint, options)?
        }
        Some(shared) => Client { shared },
        None => {
            let client = Client::start(endpoint, options)?;
            cache.insert(origin, Arc::downgrade(&client.shared));
            client
        }
    };
    Ok(client.socket(&nsp))
}

/// Connections that [`connect`] may share, by origin (socket.io-client's `cache`).
static MANAGERS: std::sync::LazyLock<Mutex<HashMap<String, std::sync::Weak<Shared>>>> =
    std::sync::LazyLock::new(Mutex::default);

impl Client {
    /// A client for `url`; also returns the namespace named in the URL (`/` by default).
    pub fn new(url: &str, options: ClientOptions) -> Result<(Client, String), ClientError> {
        let (endpoint, nsp) =
            options::Endpoint::parse(url, &options).map_err(ClientError::InvalidOptions)?;
        Ok((Client::start(endpoint, options)?, nsp))
    }

    fn start(endpoint: options::Endpoint, options: ClientOptions) -> Result<Client, ClientError> {
        if options.transports.is_empty() {
            return Err(ClientError::InvalidOptions("no transport".to_owned()));
        }
        let (commands, receiver) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            commands,
            options,
            handlers: Mutex::new(HashMap::new()),
            status: Mutex::new(HashMap::new()),
            status_changed: Notify::new(),
            manager_handlers: Mutex::new(Vec::new()),
            namespaces: Mutex::new(HashSet::new()),
            engine_id: Mutex::new(None),
            transport: Mutex::new(None),
            socket_auth: Mutex::new(HashMap::new()),
        });
        tokio::spawn(driver::run(
            Arc::downgrade(&shared),
            Arc::new(endpoint),
            receiver,
        ));
        Ok(Client { shared })
    }

    /// The socket of namespace `nsp` over this connection (`manager.socket(nsp)`),
    /// connecting at once unless `auto_connect` is off.
    pub fn socket(&self, nsp: &str) -> ClientSocket {
        let nsp = if nsp.starts_with('/') {
            nsp.to_owned()
        } else {
            format!("/{nsp}")
        };
        lock(&self.shared.namespaces).insert(nsp.clone());
        let socket = ClientSocket {
            client: self.clone(),
            nsp,
        };
        if self.shared.options.auto_connect {
            socket.connect();
        }
        socket
    }

    /// Listens to the manager's events (`open`, `close`, `reconnect_attempt`, ...).
    pub fn on_manager_event(&self, handler: impl Fn(&ManagerNotice) + Send + Sync + 'static) {
        lock(&self.shared.manager_handlers).push(Arc::new(handler));
    }

    /// The Engine.IO session id of the current (or last) connection
    /// (`socket.io.engine.id`).
    pub fn engine_id(&self) -> Option<String> {
        lock(&self.shared.engine_id).clone()
    }

    /// The transport of the current (or last) connection, after an upgrade WebSocket
    /// (`socket.io.engine.transport.name`).
    pub fn transport(&self) -> Option<crate::proto::engineio::Transport> {
        *lock(&self.shared.transport)
    }

    /// Whether two handles share one connection.
    pub fn same_connection(&self, other: &Client) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Pauses the connection, for an app going to the background: it closes (connected
    /// sockets disconnect with `transport close`) and does not reconnect until
    /// [`Client::resume`]. Emits wait in the send buffer meanwhile, and the sockets keep what
    /// connection state recovery needs to restore their sessions.
    pub fn pause(&self) {
        let _ = self.shared.commands.send(Command::Pause);
    }

    /// Ends a pause and reconnects at once (or, outside a pause, starts the next
    /// reconnection attempt now instead of after its delay).
    pub fn resume(&self) {
        let _ = self.shared.commands.send(Command::Resume);
    }

    /// Replaces the connection at once, for a network change: the old one may be dead
    /// without either side knowing until the ping times out. No effect while paused.
    pub fn reconnect_now(&self) {
        let _ = self.shared.commands.send(Command::ReconnectNow);
    }

    /// Closes the connection and stops reconnecting; [`connect`] no longer hands it out.
    pub fn close(&self) {
        lock(&MANAGERS).retain(|_, weak| !std::ptr::eq(weak.as_ptr(), Arc::as_ptr(&self.shared)));
        let _ = self.shared.commands.send(Command::Close);
    }
}

/// One namespace's socket (socket.io-client's `Socket`). Cheap to clone.
#[derive(Clone)]
pub struct ClientSocket {
    client: Client,
    nsp: String,
}

impl std::fmt::Debug for ClientSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSocket")
            .field("nsp", &self.nsp)
            .field("id", &self.id())
            .finish()
    }
}

impl ClientSocket {
    /// The namespace.
    pub fn nsp(&self) -> &str {
        &self.nsp
    }

    /// The connection this socket uses.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn status(&self) -> SocketStatus {
        lock(&self.client.shared.status)
            .get(&self.nsp)
            .cloned()
            .unwrap_or_default()
    }

    /// The socket id while connected.
    pub fn id(&self) -> Option<String> {
        self.status().id.filter(|_| self.connected())
    }

    /// Whether the socket is connected.
    pub fn connected(&self) -> bool {
        self.status().connected
    }

    /// Whether the last connection recovered the previous session (connection state
    /// recovery).
    pub fn recovered(&self) -> bool {
        self.status().recovered
    }

    /// Connects (or reconnects after [`ClientSocket::disconnect`]).
    pub fn connect(&self) {
        let _ = self.client.shared.commands.send(Command::Connect {
            nsp: self.nsp.clone(),
        });
    }

    /// Sets the CONNECT payload of this namespace's socket for its next connections
    /// (socket.io-client's per-socket `auth`), in place of the client's `auth` option: sockets
    /// sharing a connection can each send their own.
    pub fn set_auth(&self, auth: Value) {
        lock(&self.client.shared.socket_auth).insert(self.nsp.clone(), auth.clone());
        let _ = self.client.shared.commands.send(Command::SetAuth {
            nsp: self.nsp.clone(),
            auth,
        });
    }

    /// Disconnects this socket (`io client disconnect`); the connection closes when no
    /// socket uses it any more.
    pub fn disconnect(&self) {
        lock(&self.client.shared.namespaces).remove(&self.nsp);
        let _ = self.client.shared.commands.send(Command::Disconnect {
            nsp: self.nsp.clone(),
        });
    }

    /// Waits until the socket is connected; fails on `connect_error` or after `timeout`.
    pub async fn wait_connected(&self, timeout: Duration) -> Result<(), ClientError> {
        let shared = &self.client.shared;
        let wait = async {
            loop {
                let changed = shared.status_changed.notified();
                let mut changed = std::pin::pin!(changed);
                changed.as_mut().enable();
                let status = self.status();
                if status.connected {
                    return Ok(());
                }
                if let Some(error) = status.last_error {
                    return Err(ClientError::ConnectError(error));
                }
                changed.await;
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| ClientError::ConnectTimeout(timeout))?
    }

    fn handlers(&self) -> std::sync::MutexGuard<'_, HashMap<String, SocketHandlers>> {
        lock(&self.client.shared.handlers)
    }

    /// Changes the handlers of this socket's namespace (created if needed).
    fn edit_handlers<R>(&self, edit: impl FnOnce(&mut SocketHandlers) -> R) -> R {
        edit(self.handlers().entry(self.nsp.clone()).or_default())
    }

    /// Adds a listener of event `event` from the server. Every listener is called, in
    /// the order added; when the server waits for an ack, the first one gets the handle.
    pub fn on(
        &self,
        event: impl Into<String>,
        handler: impl Fn(&ClientSocket, IncomingEvent) + Send + Sync + 'static,
    ) {
        self.add_listener(event.into(), Arc::new(handler));
    }

    fn add_listener(&self, event: String, handler: EventHandler) -> u64 {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.edit_handlers(|h| h.events.entry(event).or_default().push((id, handler)));
        id
    }

    /// Handles the next `event` only (`once`).
    pub fn once(
        &self,
        event: impl Into<String>,
        handler: impl Fn(&ClientSocket, IncomingEvent) + Send + Sync + 'static,
    ) {
        let event = event.into();
        let name = event.clone();
        let fired = std::sync::atomic::AtomicBool::new(false);
        let id = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let own_id = id.clone();
        let listener: EventHandler = Arc::new(move |socket: &ClientSocket, incoming| {
            if !fired.swap(true, std::sync::atomic::Ordering::AcqRel) {
                socket.remove_listener(&name, own_id.load(std::sync::atomic::Ordering::Acquire));
                handler(socket, incoming);
            }
        });
        id.store(
            self.add_listener(event, listener),
            std::sync::atomic::Ordering::Release,
        );
    }

    fn remove_listener(&self, event: &str, id: u64) {
        if let Some(listeners) = self
            .handlers()
            .get_mut(&self.nsp)
            .and_then(|h| h.events.get_mut(event))
        {
            listeners.retain(|(i, _)| *i != id);
        }
    }

    /// Removes every listener of `event`.
    pub fn off(&self, event: &str) {
        if let Some(handlers) = self.handlers().get_mut(&self.nsp) {
            handlers.events.remove(event);
        }
    }

    /// Listens to every event from the server (`onAny`).
    pub fn on_any(&self, handler: impl Fn(&ClientSocket, &str, &[Value]) + Send + Sync + 'static) {
        self.edit_handlers(|h| h.any.push(Arc::new(handler)));
    }

    /// Listens to every event from the server, with the means to acknowledge it: these
    /// listeners run after the [`ClientSocket::on_any`] ones and before the listeners of the
    /// event's name, and the first of them gets the ack handle. For bindings that keep
    /// their own listeners (the Node and WASM clients).
    pub fn on_every_event(
        &self,
        handler: impl Fn(&ClientSocket, IncomingEvent) + Send + Sync + 'static,
    ) {
        self.edit_handlers(|h| h.every.push(Arc::new(handler)));
    }

    /// Listens to every event this socket emits (`onAnyOutgoing`).
    pub fn on_any_outgoing(
        &self,
        handler: impl Fn(&ClientSocket, &str, &[Value]) + Send + Sync + 'static,
    ) {
        self.edit_handlers(|h| h.any_outgoing.push(Arc::new(handler)));
    }

    /// Called on every (re)connection (`connect`).
    pub fn on_connect(&self, handler: impl Fn(&ClientSocket) + Send + Sync + 'static) {
        self.edit_handlers(|h| h.connect.push(Arc::new(handler)));
    }

    /// Called when the connection is refused (`connect_error`), with the message and data.
    pub fn on_connect_error(
        &self,
        handler: impl Fn(&ClientSocket, &str, Option<&Value>) + Send + Sync + 'static,
    ) {
        self.edit_handlers(|h| h.connect_error.push(Arc::new(handler)));
    }

    /// Called on every disconnection, with socket.io-client's reason (`disconnect`).
    pub fn on_disconnect(
        &self,
        handler: impl Fn(&ClientSocket, ClientDisconnectReason) + Send + Sync + 'static,
    ) {
        self.edit_handlers(|h| h.disconnect.push(Arc::new(handler)));
    }

    /// Emits `event` with one serializable argument. While disconnected it waits in the
    /// send buffer and goes out once connected.
    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<(), ClientError> {
        let value = to_value(&data).map_err(|e| ClientError::Serialize(e.to_string()))?;
        self.emit_args(event, vec![value])
    }

    /// Emits `event` with any number of arguments.
    pub fn emit_args(&self, event: &str, args: Vec<Value>) -> Result<(), ClientError> {
        self.send_emit(event, args, None, false)
    }

    /// Emits `event`, dropped unless the socket is connected (`volatile`).
    pub fn emit_volatile(&self, event: &str, args: Vec<Value>) -> Result<(), ClientError> {
        self.send_emit(event, args, None, true)
    }

    fn send_emit(
        &self,
        event: &str,
        args: Vec<Value>,
        ack: Option<(Duration, AckReply)>,
        volatile: bool,
    ) -> Result<(), ClientError> {
        self.client
            .shared
            .commands
            .send(Command::Emit {
                nsp: self.nsp.clone(),
                event: event.to_owned(),
                args,
                ack,
                volatile,
            })
            .map_err(|_| ClientError::Closed)
    }

    /// Emits `event` and waits for the server's acknowledgement, up to the `ack_timeout`
    /// option (socket.io-client's `emitWithAck`).
    pub async fn emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
    ) -> Result<Vec<Value>, ClientError> {
        let timeout = self.client.shared.options.ack_timeout;
        self.emit_with_ack_timeout(event, args, timeout).await
    }

    /// Emits `event` and waits up to `timeout` for the acknowledgement
    /// (`socket.timeout(ms).emitWithAck(..)`).
    pub async fn emit_with_ack_timeout(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Duration,
    ) -> Result<Vec<Value>, ClientError> {
        let (tx, rx) = oneshot::channel();
        self.send_emit(event, args, Some((timeout, tx)), false)?;
        rx.await.unwrap_or(Err(ClientError::Closed))
    }
}
