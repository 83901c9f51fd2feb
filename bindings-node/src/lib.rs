//! The native half of the `polysocket` npm package: polysocket's server, driven from
//! JavaScript. `index.js` builds socket.io's API on top; this crate only translates values
//! and callbacks, all protocol work stays in the `polysocket` crate.
//!
//! Event arguments cross the boundary as socket.io does on the wire: a JSON text in which
//! each binary value is a `{"_placeholder":true,"num":n}` object, plus the list of binary
//! attachments (Node `Buffer`s).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use napi::bindgen_prelude::{Buffer, Result};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Error, Status};
use napi_derive::napi;
use polysocket::{
    AckSender, ConnectionStateRecovery, CookieConfig, Cors, CorsOrigin, Event, HttpCompression,
    PerMessageDeflate, SameSite, Server, ServerConfig, Socket, Transport, Value,
};

/// Event arguments as they cross the boundary: JSON with placeholders, and attachments.
#[napi(object)]
pub struct Payload {
    /// The arguments as a JSON array, binary values replaced by placeholders.
    pub json: String,
    /// The binary values, in placeholder order.
    pub attachments: Vec<Buffer>,
}

/// An event from a client.
#[napi(object)]
pub struct IncomingEvent {
    /// The event name.
    pub event: String,
    /// Its arguments.
    pub args: Payload,
    /// Set when the client waits for an acknowledgement: pass it to `NativeSocket.ack`.
    pub ack_id: Option<u32>,
}

/// Locks `mutex`, even if a panicking thread poisoned it.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn invalid(message: impl std::fmt::Display) -> Error {
    Error::new(Status::InvalidArg, message.to_string())
}

/// The arguments of a [`Payload`].
fn args_of(payload: Payload) -> Result<Vec<Value>> {
    let attachments: Vec<Bytes> = payload
        .attachments
        .iter()
        .map(|b| Bytes::copy_from_slice(b))
        .collect();
    let value = Value::from_json_str(&payload.json)
        .and_then(|v| v.reconstruct(&attachments))
        .map_err(invalid)?;
    match value {
        Value::Array(args) => Ok(args),
        _ => Err(invalid("arguments must be a JSON array")),
    }
}

/// A [`Payload`] for `args`.
fn payload_of(args: Vec<Value>) -> Payload {
    let mut json = String::new();
    let mut attachments = Vec::new();
    Value::Array(args).write_json(&mut json, &mut attachments);
    Payload {
        json,
        attachments: attachments
            .iter()
            .map(|b| Buffer::from(b.to_vec()))
            .collect(),
    }
}

/// socket.io's server options that this binding understands, from the JSON the JavaScript
/// side sends (socket.io's option names).
fn config_from(options: &serde_json::Value) -> Result<ServerConfig> {
    let mut config = ServerConfig::default();
    let ms = |name: &str| {
        options
            .get(name)
            .and_then(serde_json::Value::as_u64)
            .map(Duration::from_millis)
    };
    if let Some(path) = options.get("path").and_then(|v| v.as_str()) {
        config.path = path.to_owned();
    }
    if let Some(v) = ms("pingInterval") {
        config.ping_interval = v;
    }
    if let Some(v) = ms("pingTimeout") {
        config.ping_timeout = v;
    }
    if let Some(v) = ms("connectTimeout") {
        config.connect_timeout = v;
    }
    if let Some(v) = ms("upgradeTimeout") {
        config.upgrade_timeout = v;
    }
    if let Some(v) = options
        .get("maxHttpBufferSize")
        .and_then(serde_json::Value::as_u64)
    {
        config.max_http_buffer_size = v;
    }
    if let Some(v) = options
        .get("allowUpgrades")
        .and_then(serde_json::Value::as_bool)
    {
        config.allow_upgrades = v;
    }
    if let Some(list) = options.get("transports").and_then(|v| v.as_array()) {
        config.transports = list
            .iter()
            .filter_map(|t| match t.as_str() {
                Some("polling") => Some(Transport::Polling),
                Some("websocket") => Some(Transport::WebSocket),
                _ => None,
            })
            .collect();
    }
    if let Some(v) = options
        .get("cleanupEmptyChildNamespaces")
        .and_then(serde_json::Value::as_bool)
    {
        config.cleanup_empty_child_namespaces = v;
    }
    // socket.io's `perMessageDeflate` (default false) and `httpCompression` (default true):
    // `true`, `false` or `{ threshold }`.
    let threshold = |v: &serde_json::Value| {
        v.get("threshold")
            .and_then(serde_json::Value::as_u64)
            .and_then(|t| usize::try_from(t).ok())
            .unwrap_or(1024)
    };
    match options.get("perMessageDeflate") {
        Some(serde_json::Value::Bool(false)) | None => {}
        Some(v) => {
            config.per_message_deflate = Some(PerMessageDeflate {
                threshold: threshold(v),
            })
        }
    }
    match options.get("httpCompression") {
        Some(serde_json::Value::Bool(false)) => config.http_compression = None,
        Some(v) => {
            config.http_compression = Some(HttpCompression {
                threshold: threshold(v),
            })
        }
        None => {}
    }
    match options.get("cookie") {
        Some(serde_json::Value::Bool(false)) | None => {}
        Some(v) => {
            let mut cookie = CookieConfig::default();
            if let Some(name) = v.get("name").and_then(|n| n.as_str()) {
                cookie.name = name.to_owned();
            }
            if let Some(path) = v.get("path") {
                cookie.path = path.as_str().map(str::to_owned);
            }
            if let Some(http_only) = v.get("httpOnly").and_then(serde_json::Value::as_bool) {
                cookie.http_only = http_only;
            }
            if let Some(secure) = v.get("secure").and_then(serde_json::Value::as_bool) {
                cookie.secure = secure;
            }
            if let Some(max_age) = v.get("maxAge").and_then(serde_json::Value::as_u64) {
                cookie.max_age = Some(max_age);
            }
            cookie.same_site = match v.get("sameSite").and_then(|s| s.as_str()) {
                Some("strict") => Some(SameSite::Strict),
                Some("none") => Some(SameSite::None),
                Some("lax") => Some(SameSite::Lax),
                _ => cookie.same_site,
            };
            config.cookie = Some(cookie);
        }
    }
    if let Some(recovery) = options.get("connectionStateRecovery") {
        let defaults = ConnectionStateRecovery::default();
        config.connection_state_recovery = Some(ConnectionStateRecovery {
            max_disconnection_duration: recovery
                .get("maxDisconnectionDuration")
                .and_then(serde_json::Value::as_u64)
                .map_or(defaults.max_disconnection_duration, Duration::from_millis),
            skip_middlewares: recovery
                .get("skipMiddlewares")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(defaults.skip_middlewares),
        });
    }
    if let Some(cors) = options.get("cors") {
        let origin = match cors.get("origin") {
            Some(serde_json::Value::String(o)) if o == "*" => CorsOrigin::Any,
            Some(serde_json::Value::String(o)) => CorsOrigin::List(vec![o.clone()]),
            Some(serde_json::Value::Bool(true)) => CorsOrigin::Reflect,
            Some(serde_json::Value::Array(list)) => CorsOrigin::List(
                list.iter()
                    .filter_map(|o| o.as_str().map(str::to_owned))
                    .collect(),
            ),
            _ => CorsOrigin::Any,
        };
        config.cors = Some(Cors {
            origin,
            credentials: cors
                .get("credentials")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
        });
    }
    Ok(config)
}

/// A JavaScript callback that can be let go: a stored threadsafe function keeps Node's
/// event loop alive, so it is released when its source ends (server closed, socket gone).
struct Callback<T: 'static + napi::bindgen_prelude::ToNapiValue>(Arc<Mutex<Option<JsFunction<T>>>>);

/// A JavaScript function called with one `T` (no error-first argument).
type JsFunction<T> = ThreadsafeFunction<T, (), T, Status, false>;

impl<T: 'static + napi::bindgen_prelude::ToNapiValue> Clone for Callback<T> {
    fn clone(&self) -> Self {
        Callback(self.0.clone())
    }
}

impl<T: 'static + napi::bindgen_prelude::ToNapiValue> Callback<T> {
    fn new(function: JsFunction<T>) -> Callback<T> {
        Callback(Arc::new(Mutex::new(Some(function))))
    }

    fn call(&self, value: T) {
        if let Some(function) = lock(&self.0).as_ref() {
            function.call(value, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    fn release(&self) {
        lock(&self.0).take();
    }
}

/// One HTTP header.
#[napi(object)]
pub struct HttpHeader {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// An HTTP answer for Node's `http.ServerResponse`.
#[napi(object)]
pub struct HttpAnswer {
    /// The status code.
    pub status: u32,
    /// The headers.
    pub headers: Vec<HttpHeader>,
    /// The body.
    pub body: Buffer,
}

/// A socket as `fetchSockets` describes it.
#[napi(object)]
pub struct FetchedSocket {
    /// The socket id.
    pub id: String,
    /// socket.io's `handshake`, as JSON.
    pub handshake_json: String,
    /// Its rooms.
    pub rooms: Vec<String>,
    /// `socket.data`, as JSON.
    pub data_json: String,
}

/// One client's answer to a broadcast with acknowledgements.
#[napi(object)]
pub struct ClientAnswer {
    /// The answering socket (empty when it is connected to another server).
    pub socket_id: String,
    /// Its acknowledgement's arguments.
    pub args: Payload,
}

/// The answers to a broadcast with acknowledgements, and whether some were missing.
#[napi(object)]
pub struct BroadcastAnswers {
    /// The answers that arrived.
    pub responses: Vec<ClientAnswer>,
    /// `true` when some client did not answer in time.
    pub timed_out: bool,
}

/// Which sockets a server-wide operation selects.
#[napi(object)]
pub struct Selection {
    /// The namespace.
    pub nsp: String,
    /// Rooms (every socket when empty).
    pub rooms: Vec<String>,
    /// Rooms whose sockets are left out.
    pub except: Vec<String>,
    /// Only this server's sockets.
    pub local: bool,
    /// Timeout in milliseconds (acknowledgements).
    pub timeout_ms: Option<u32>,
}

type MiddlewareAnswer =
    tokio::sync::oneshot::Sender<std::result::Result<(), polysocket::ConnectError>>;

/// A polysocket server (the engine under JavaScript's `Server`).
#[napi]
pub struct NativeServer {
    io: Server,
    connection_callbacks: Mutex<Vec<Callback<NativeSocket>>>,
    pending_middlewares: Arc<Mutex<HashMap<u32, MiddlewareAnswer>>>,
    next_call: Arc<AtomicU32>,
}

#[napi]
impl NativeServer {
    /// A server with socket.io's options, as JSON.
    #[napi(constructor)]
    pub fn new(options_json: String) -> Result<NativeServer> {
        let options: serde_json::Value = serde_json::from_str(&options_json).map_err(invalid)?;
        let config = config_from(&options)?;
        // The server spawns its tasks lazily; make sure they land on napi's runtime.
        let io = napi::bindgen_prelude::within_runtime_if_available(|| Server::with_config(config));
        Ok(NativeServer {
            io,
            connection_callbacks: Mutex::new(Vec::new()),
            pending_middlewares: Arc::default(),
            next_call: Arc::new(AtomicU32::new(1)),
        })
    }

    /// Wraps a namespace-level callback, to be released when the server closes.
    fn keep(&self, callback: JsFunction<NativeSocket>) -> Callback<NativeSocket> {
        let callback = Callback::new(callback);
        lock(&self.connection_callbacks).push(callback.clone());
        callback
    }

    /// Calls `callback` with each socket that connects to namespace `nsp`.
    #[napi]
    pub fn on_connection(
        &self,
        nsp: String,
        callback: ThreadsafeFunction<NativeSocket, (), NativeSocket, Status, false>,
    ) {
        let callback = self.keep(callback);
        self.io
            .of(&nsp)
            .on_connection(move |socket| callback.call(NativeSocket::for_connection(socket)));
    }

    /// Runs `callback` for each socket that tries to connect to `nsp` (its `pendingCall`
    /// set); the JavaScript middlewares answer with `middlewareDone`.
    #[napi]
    pub fn use_middleware(
        &self,
        nsp: String,
        callback: ThreadsafeFunction<NativeSocket, (), NativeSocket, Status, false>,
    ) {
        let callback = self.keep(callback);
        let pending = self.pending_middlewares.clone();
        let next = self.next_call.clone();
        self.io.of(&nsp).use_async_middleware(move |socket| {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let call = next.fetch_add(1, Ordering::Relaxed);
            lock(&pending).insert(call, tx);
            let mut native = NativeSocket::wrap(socket);
            native.pending_call = call;
            callback.call(native);
            async move {
                rx.await.unwrap_or_else(|_| {
                    Err(polysocket::ConnectError::new("middleware was dropped"))
                })
            }
        });
    }

    /// Ends middleware call `call`: admitted without `message`, refused with it (and
    /// `data_json`, the error's `data`).
    #[napi]
    pub fn middleware_done(
        &self,
        call: u32,
        message: Option<String>,
        data_json: Option<String>,
    ) -> Result<()> {
        let sender = lock(&self.pending_middlewares).remove(&call);
        let outcome = match message {
            None => Ok(()),
            Some(message) => {
                let data = match data_json {
                    Some(json) => Some(Value::from_json_str(&json).map_err(invalid)?),
                    None => None,
                };
                Err(polysocket::ConnectError { message, data })
            }
        };
        if let Some(sender) = sender {
            let _ = sender.send(outcome);
        }
        Ok(())
    }

    fn operator(&self, selection: &Selection) -> polysocket::BroadcastOperator {
        let mut operator = self
            .io
            .of(&selection.nsp)
            .broadcast()
            .to_rooms(selection.rooms.iter().map(String::as_str))
            .except_rooms(selection.except.iter().map(String::as_str));
        if selection.local {
            operator = operator.local();
        }
        if let Some(ms) = selection.timeout_ms {
            operator = operator.timeout(Duration::from_millis(u64::from(ms)));
        }
        operator
    }

    /// The selected sockets of every server (`fetchSockets`).
    #[napi]
    pub async fn fetch_sockets(&self, selection: Selection) -> Result<Vec<FetchedSocket>> {
        let sockets = self
            .operator(&selection)
            .try_fetch_sockets()
            .await
            .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
        Ok(sockets
            .iter()
            .map(|s| FetchedSocket {
                id: s.id().to_owned(),
                handshake_json: handshake_json(s.handshake()),
                rooms: s.rooms().to_vec(),
                data_json: s.data().to_json_lossy().to_string(),
            })
            .collect())
    }

    /// `socketsJoin`.
    #[napi]
    pub fn sockets_join(&self, selection: Selection, rooms: Vec<String>) {
        let operator = self.operator(&selection);
        for room in rooms {
            operator.sockets_join(room);
        }
    }

    /// `socketsLeave`.
    #[napi]
    pub fn sockets_leave(&self, selection: Selection, rooms: Vec<String>) {
        let operator = self.operator(&selection);
        for room in rooms {
            operator.sockets_leave(&room);
        }
    }

    /// `disconnectSockets(close)`.
    #[napi]
    pub fn disconnect_sockets(&self, selection: Selection, close: bool) {
        self.operator(&selection).disconnect_sockets(close);
    }

    /// Emits to the selected sockets and collects their acknowledgements.
    #[napi]
    pub async fn emit_with_ack(
        &self,
        selection: Selection,
        event: String,
        args: Payload,
    ) -> Result<BroadcastAnswers> {
        let answers = self
            .operator(&selection)
            .emit_with_ack(&event, args_of(args)?)
            .await;
        let (responses, timed_out) = match answers {
            Ok(responses) => (responses, false),
            Err(polysocket::BroadcastAckError::Timeout { responses, .. }) => (responses, true),
            Err(error) => return Err(Error::new(Status::GenericFailure, error.to_string())),
        };
        Ok(BroadcastAnswers {
            responses: responses
                .into_iter()
                .map(|r| ClientAnswer {
                    socket_id: r.socket_id,
                    args: payload_of(r.args),
                })
                .collect(),
            timed_out,
        })
    }

    /// Answers a request that the app's `http.Server` received for the Socket.IO path
    /// (long-polling and handshakes).
    #[napi]
    pub async fn handle_request(
        &self,
        method: String,
        url: String,
        headers: Vec<HttpHeader>,
        body: Buffer,
        peer: Option<String>,
    ) -> Result<HttpAnswer> {
        let mut builder = http::Request::builder()
            .method(method.as_str())
            .uri(url.as_str());
        for header in &headers {
            builder = builder.header(header.name.as_str(), header.value.as_str());
        }
        let request = builder
            .body(http_body_util::Full::new(Bytes::copy_from_slice(&body)))
            .map_err(invalid)?;
        let peer = peer.and_then(|p| p.parse().ok());
        let response = self.io.handle_request(request, peer).await;
        let (parts, body) = response.into_parts();
        let body = http_body_util::BodyExt::collect(body)
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        Ok(HttpAnswer {
            status: u32::from(parts.status.as_u16()),
            headers: parts
                .headers
                .iter()
                .filter_map(|(k, v)| {
                    Some(HttpHeader {
                        name: k.as_str().to_owned(),
                        value: v.to_str().ok()?.to_owned(),
                    })
                })
                .collect(),
            body: Buffer::from(body.to_vec()),
        })
    }

    /// Takes over the TCP connection `fd` of an upgrade request that the app's
    /// `http.Server` received (`request_head`: the request as it came, rebuilt, plus the
    /// bytes read after it). The descriptor is duplicated, so Node may destroy its socket
    /// right after.
    #[napi]
    pub fn adopt_connection(&self, fd: i32, request_head: Buffer, peer: String) -> Result<()> {
        use std::os::fd::FromRawFd as _;
        // SAFETY: `fd` is a connected TCP socket that Node owns and keeps open for the
        // duration of this call; `dup` gives us a descriptor of our own for it.
        let own = unsafe { libc::dup(fd) };
        if own < 0 {
            return Err(Error::new(
                Status::GenericFailure,
                std::io::Error::last_os_error().to_string(),
            ));
        }
        // SAFETY: `own` was just created by `dup` and nothing else owns it.
        let stream = unsafe { std::net::TcpStream::from_raw_fd(own) };
        stream
            .set_nonblocking(true)
            .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
        let peer = peer
            .parse()
            .unwrap_or_else(|_| std::net::SocketAddr::from(([0, 0, 0, 0], 0)));
        let head = Bytes::copy_from_slice(&request_head);
        let io = self.io.clone();
        napi::bindgen_prelude::spawn(async move {
            match tokio::net::TcpStream::from_std(stream) {
                Ok(stream) => io.serve_connection(stream, peer, head).await,
                Err(error) => eprintln!("polysocket: cannot adopt a connection: {error}"),
            }
        });
        Ok(())
    }

    /// Listens on `host:port` (`port` 0 picks one); resolves with the port.
    #[napi]
    pub async fn listen(&self, port: u32, host: Option<String>) -> Result<u32> {
        let host = host.unwrap_or_else(|| "0.0.0.0".to_owned());
        let addr = self
            .io
            .listen(format!("{host}:{port}"))
            .await
            .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
        Ok(u32::from(addr.port()))
    }

    /// Closes the server: every client gets `server shutting down`.
    #[napi]
    pub async fn close(&self) {
        self.io.close().await;
        let callbacks = std::mem::take(&mut *lock(&self.connection_callbacks));
        for callback in callbacks {
            callback.release();
        }
    }

    /// Emits to the sockets of namespace `nsp` in any of `rooms` (all when empty) and in
    /// none of `except`; `local`, `volatile` and `compress` as socket.io's flags.
    #[napi]
    #[allow(clippy::too_many_arguments)]
    pub fn broadcast(
        &self,
        nsp: String,
        rooms: Vec<String>,
        except: Vec<String>,
        event: String,
        args: Payload,
        volatile: bool,
        local: bool,
        compress: Option<bool>,
    ) -> Result<()> {
        let mut operator = self
            .io
            .of(&nsp)
            .broadcast()
            .to_rooms(rooms)
            .except_rooms(except);
        if volatile {
            operator = operator.volatile();
        }
        if local {
            operator = operator.local();
        }
        if let Some(compress) = compress {
            operator = operator.compress(compress);
        }
        operator.emit_args(&event, args_of(args)?).map_err(invalid)
    }

    /// The ids of the sockets of `nsp` in any of `rooms` (all when empty).
    #[napi]
    pub fn socket_ids(&self, nsp: String, rooms: Vec<String>) -> Vec<String> {
        self.io
            .of(&nsp)
            .broadcast()
            .to_rooms(rooms)
            .sockets()
            .iter()
            .map(|s| s.id().to_owned())
            .collect()
    }

    /// The number of Engine.IO connections (`io.engine.clientsCount`).
    #[napi]
    pub fn clients_count(&self) -> u32 {
        u32::try_from(self.io.clients_count()).unwrap_or(u32::MAX)
    }
}

/// One client in one namespace (the engine under JavaScript's `Socket`).
#[napi]
pub struct NativeSocket {
    socket: Socket,
    acks: Arc<Mutex<HashMap<u32, AckSender>>>,
    next_ack: Arc<AtomicU32>,
    inbox: Arc<Mutex<Inbox>>,
    pending_call: u32,
}

/// Where a connected socket's events go: queued from the moment it connects (its
/// JavaScript handlers are registered a moment later, on Node's thread, as socket.io's are
/// in the `connection` handler), then to the JavaScript callback.
#[derive(Default)]
struct Inbox {
    callback: Option<Callback<IncomingEvent>>,
    queued: Vec<IncomingEvent>,
}

impl NativeSocket {
    fn wrap(socket: Socket) -> NativeSocket {
        NativeSocket {
            socket,
            acks: Arc::default(),
            next_ack: Arc::new(AtomicU32::new(1)),
            inbox: Arc::default(),
            pending_call: 0,
        }
    }

    /// A connected socket whose events are taken (and queued) at once.
    fn for_connection(socket: Socket) -> NativeSocket {
        let native = NativeSocket::wrap(socket);
        let acks = native.acks.clone();
        let next = native.next_ack.clone();
        let inbox = native.inbox.clone();
        native.socket.on_unhandled(move |_, mut event: Event| {
            let ack_id = event.ack().map(|sender| {
                let id = next.fetch_add(1, Ordering::Relaxed);
                lock(&acks).insert(id, sender);
                id
            });
            let incoming = IncomingEvent {
                args: payload_of(std::mem::take(&mut event.args)),
                event: event.name.clone(),
                ack_id,
            };
            let mut inbox = lock(&inbox);
            match &inbox.callback {
                Some(callback) => callback.call(incoming),
                None => inbox.queued.push(incoming),
            }
        });
        native
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

    /// Calls `callback` with every event from the client, first those that arrived before.
    #[napi]
    pub fn on_event(
        &self,
        callback: ThreadsafeFunction<IncomingEvent, (), IncomingEvent, Status, false>,
    ) {
        let callback = Callback::new(callback);
        let mut inbox = lock(&self.inbox);
        for incoming in std::mem::take(&mut inbox.queued) {
            callback.call(incoming);
        }
        inbox.callback = Some(callback);
    }

    /// Acknowledges the event that carried `ack_id`.
    #[napi]
    pub fn ack(&self, ack_id: u32, args: Payload) -> Result<()> {
        let sender = lock(&self.acks).remove(&ack_id);
        match sender {
            Some(sender) => sender.send_args(args_of(args)?).map_err(invalid),
            None => Ok(()),
        }
    }

    /// Calls `callback` with socket.io's reason once the socket disconnected (at once if it
    /// already has); then every callback of this socket is released, so that a gone
    /// socket never keeps Node's event loop alive.
    #[napi]
    pub fn on_disconnect(&self, callback: ThreadsafeFunction<String, (), String, Status, false>) {
        let callback = Callback::new(callback);
        let acks = self.acks.clone();
        let inbox = self.inbox.clone();
        let fired = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let finish = move |reason: &str| {
            if fired.swap(true, Ordering::SeqCst) {
                return;
            }
            lock(&acks).clear();
            callback.call(reason.to_owned());
            callback.release();
            let mut inbox = lock(&inbox);
            inbox.queued.clear();
            if let Some(events) = inbox.callback.take() {
                events.release();
            }
        };
        let on_event = finish.clone();
        self.socket
            .on_disconnect(move |_, reason| on_event(reason.as_str()));
        // The client may have left before JavaScript got to this socket.
        if !self.socket.connected() {
            finish("transport close");
        }
    }

    /// Emits `event` to the client.
    #[napi]
    pub fn emit(&self, event: String, args: Payload) -> Result<()> {
        self.socket
            .emit_args(&event, args_of(args)?)
            .map_err(invalid)
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

/// socket.io's `handshake` object as JSON.
fn handshake_json(h: &polysocket::Handshake) -> String {
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
