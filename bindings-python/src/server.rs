//! The server: namespaces whose clients Python admits, events and acknowledgements, rooms,
//! emits, and the three ways to serve (the engine's own listener, or HTTP requests and
//! carried WebSockets handed over by an ASGI or aiohttp app).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use polysocket::{
    AllowRequest, ConnectError, CookieConfig, Cors, CorsOrigin, DisconnectReason, HttpCompression,
    Parser, SameSite, Server, ServerConfig, Socket, Transport, Value,
};
use polysocket::{ClusterAdapter, ClusterOptions, RedisDriver};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use tokio::sync::oneshot;

use crate::convert::{NO_TIMEOUT, args_from_py, from_py, transports_of};
use crate::dispatch::{Dispatcher, HttpAnswer, Notice, Outcome, engine_error};
use crate::lock;

/// What a namespace's connect handler concluded.
type Admission = Result<(), ConnectError>;

/// An operation on a socket whose connect handler is still running: the engine takes it
/// once the socket is connected (python-socketio apps join rooms and emit in `connect`).
enum Deferred {
    Join(String),
    Leave(String),
    Emit(String, Vec<Value>),
    Disconnect,
}

#[derive(Default)]
struct Admitting {
    deferred: Vec<Deferred>,
}

/// State shared with the engine's callbacks.
struct Shared {
    dispatcher: Arc<Dispatcher>,
    next_call: AtomicU64,
    admissions: Mutex<HashMap<u64, oneshot::Sender<Admission>>>,
    /// Sockets in their connect handler, by sid.
    admitting: Mutex<HashMap<String, Admitting>>,
}

/// A polysocket server (the engine under `polysocket.AsyncServer`).
#[pyclass(frozen, module = "polysocket._native")]
pub(crate) struct NativeServer {
    io: Server,
    shared: Arc<Shared>,
    namespaces: Mutex<HashSet<String>>,
}

impl NativeServer {
    /// The connect middleware of every namespace: Python's connect handler decides.
    fn admit(shared: &Arc<Shared>) -> impl Fn(Socket) -> AdmissionFuture + Send + Sync + 'static {
        let shared = shared.clone();
        move |socket: Socket| {
            let call = shared.next_call.fetch_add(1, Ordering::Relaxed);
            let (tx, rx) = oneshot::channel();
            lock(&shared.admissions).insert(call, tx);
            lock(&shared.admitting).insert(socket.id().to_owned(), Admitting::default());
            shared.dispatcher.push(Notice::Connect { call, socket });
            Box::pin(async move {
                rx.await
                    .unwrap_or_else(|_| Err(ConnectError::new("server shutting down")))
            })
        }
    }

    /// The connection handler of every namespace: events and disconnections go to Python,
    /// then what the connect handler deferred is done.
    fn connected(shared: &Arc<Shared>) -> impl Fn(Socket) + Send + Sync + 'static {
        let shared = shared.clone();
        move |socket: Socket| {
            let dispatcher = shared.dispatcher.clone();
            socket.on_unhandled(move |socket, mut event| {
                let ack = event.ack();
                dispatcher.push(Notice::Event {
                    nsp: socket.ns().to_owned(),
                    sid: socket.id().to_owned(),
                    name: std::mem::take(&mut event.name),
                    args: std::mem::take(&mut event.args),
                    ack,
                });
            });
            let dispatcher = shared.dispatcher.clone();
            socket.on_disconnect(move |socket, reason| {
                dispatcher.push(Notice::Disconnect {
                    nsp: socket.ns().to_owned(),
                    sid: socket.id().to_owned(),
                    reason: python_reason(reason),
                });
            });
            let mut admitting = lock(&shared.admitting);
            if let Some(entry) = admitting.remove(socket.id()) {
                for operation in entry.deferred {
                    match operation {
                        Deferred::Join(room) => socket.join(room),
                        Deferred::Leave(room) => socket.leave(&room),
                        Deferred::Emit(event, args) => {
                            let _ = socket.emit_args(&event, args);
                        }
                        Deferred::Disconnect => socket.disconnect(false),
                    }
                }
            }
        }
    }

    /// The connected socket `sid` of namespace `nsp`.
    fn socket(&self, nsp: &str, sid: &str) -> Option<Socket> {
        self.io.of(nsp).socket(sid)
    }

    /// Runs `operation` on a socket still in its connect handler; false when there is none.
    fn defer(&self, sid: &str, operation: Deferred) -> bool {
        match lock(&self.shared.admitting).get_mut(sid) {
            Some(entry) => {
                entry.deferred.push(operation);
                true
            }
            None => false,
        }
    }
}

type AdmissionFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Admission> + Send>>;

/// python-socketio's disconnect reasons (`AsyncServer.reason`).
fn python_reason(reason: DisconnectReason) -> &'static str {
    match reason {
        DisconnectReason::ClientNamespaceDisconnect => "client disconnect",
        DisconnectReason::ServerNamespaceDisconnect | DisconnectReason::ServerShuttingDown => {
            "server disconnect"
        }
        DisconnectReason::PingTimeout => "ping timeout",
        DisconnectReason::TransportClose => "transport close",
        DisconnectReason::TransportError
        | DisconnectReason::ParseError
        | DisconnectReason::ForcedClose => "transport error",
    }
}

#[pymethods]
impl NativeServer {
    /// A server with python-socketio's engine options (see `polysocket/server.py`).
    #[new]
    fn new(py: Python<'_>, options: &Bound<'_, PyDict>) -> PyResult<NativeServer> {
        let mut config = config_from(options)?;
        if let Some(adapter) = options.get_item("adapter")? {
            config.adapter = Some(redis_adapter(py, &adapter)?);
        }
        let dispatcher = Dispatcher::new().map_err(engine_error)?;
        let _guard = crate::runtime().enter();
        Ok(NativeServer {
            io: Server::with_config(config),
            shared: Arc::new(Shared {
                dispatcher,
                next_call: AtomicU64::new(1),
                admissions: Mutex::new(HashMap::new()),
                admitting: Mutex::new(HashMap::new()),
            }),
            namespaces: Mutex::new(HashSet::new()),
        })
    }

    /// The descriptor to watch (`loop.add_reader`): readable when `drain` has notices.
    fn wake_fd(&self) -> i32 {
        self.shared.dispatcher.wake_fd()
    }

    /// Every waiting notice, oldest first: `("connect", call, nsp, sid, environ, auth)`,
    /// `("event", nsp, sid, name, args, ack)`, `("disconnect", nsp, sid, reason)`,
    /// `("done", call, ok, value)`.
    fn drain<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        self.shared.dispatcher.drain(py)
    }

    /// Accepts clients in namespace `name` (their connect handler runs in Python); `"*"`
    /// accepts every namespace.
    fn namespace(&self, name: &str) -> PyResult<()> {
        if !lock(&self.namespaces).insert(name.to_owned()) {
            return Ok(());
        }
        let _guard = crate::runtime().enter();
        if name == "*" {
            let parent = self.io.of_dynamic(|_, _| true);
            parent.use_async_middleware(Self::admit(&self.shared));
            parent.on_connection(Self::connected(&self.shared));
        } else {
            let namespace = self.io.of(name);
            namespace.use_async_middleware(Self::admit(&self.shared));
            namespace.on_connection(Self::connected(&self.shared));
        }
        Ok(())
    }

    /// Ends the connect handler call `call`: admitted without `message`, refused with it
    /// (and `data`, the `connect_error`'s data).
    #[pyo3(signature = (call, sid, message=None, data=None))]
    fn connect_done(
        &self,
        call: u64,
        sid: &str,
        message: Option<String>,
        data: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let outcome = match message {
            None => Ok(()),
            Some(message) => {
                let data = data.map(from_py).transpose()?;
                Err(ConnectError { message, data })
            }
        };
        if outcome.is_err() {
            // Nothing deferred for a refused socket is done.
            lock(&self.shared.admitting).remove(sid);
        }
        if let Some(sender) = lock(&self.shared.admissions).remove(&call) {
            let _ = sender.send(outcome);
        }
        Ok(())
    }

    /// Emits `event` with `args` to the sockets of `nsp` in any of `rooms` (every socket
    /// when empty) and in none of `skip`.
    fn emit(
        &self,
        nsp: &str,
        rooms: Vec<String>,
        skip: Vec<String>,
        event: &str,
        args: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let args = args_from_py(args)?;
        if let [room] = rooms.as_slice()
            && skip.is_empty()
            && self.socket(nsp, room).is_none()
            && self.defer(room, Deferred::Emit(event.to_owned(), args.clone()))
        {
            return Ok(());
        }
        let _guard = crate::runtime().enter();
        self.io
            .of(nsp)
            .broadcast()
            .to_rooms(rooms)
            .except_rooms(skip)
            .emit_args(event, args)
            .map_err(engine_error)
    }

    /// Emits `event` to socket `sid` and ends call `call` with its acknowledgement's
    /// arguments (or `"timeout"` / `"disconnected"`). False when `sid` is not connected.
    #[pyo3(signature = (call, nsp, sid, event, args, timeout=None))]
    fn emit_with_ack(
        &self,
        call: u64,
        nsp: &str,
        sid: &str,
        event: &str,
        args: &Bound<'_, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<bool> {
        let args = args_from_py(args)?;
        let Some(socket) = self.socket(nsp, sid) else {
            return Ok(false);
        };
        let timeout = match timeout {
            Some(seconds) if seconds.is_finite() && seconds >= 0.0 => {
                Duration::from_secs_f64(seconds)
            }
            Some(_) => return Err(PyValueError::new_err("timeout must be a positive number")),
            None => NO_TIMEOUT,
        };
        let _guard = crate::runtime().enter();
        let answer = socket.emit_with_ack(event, args, timeout);
        let dispatcher = self.shared.dispatcher.clone();
        crate::runtime().spawn(async move {
            let outcome = match answer.await {
                Ok(args) => Outcome::Args(args),
                Err(polysocket::AckError::Timeout) => Outcome::Failed("timeout".to_owned()),
                Err(polysocket::AckError::Disconnected) => {
                    Outcome::Failed("disconnected".to_owned())
                }
                Err(error) => Outcome::Failed(error.to_string()),
            };
            dispatcher.done(call, outcome);
        });
        Ok(true)
    }

    /// Puts socket `sid` of `nsp` in `room`.
    fn enter_room(&self, nsp: &str, sid: &str, room: String) {
        match self.socket(nsp, sid) {
            Some(socket) => socket.join(room),
            None => {
                self.defer(sid, Deferred::Join(room));
            }
        }
    }

    /// Takes socket `sid` of `nsp` out of `room`.
    fn leave_room(&self, nsp: &str, sid: &str, room: String) {
        match self.socket(nsp, sid) {
            Some(socket) => socket.leave(&room),
            None => {
                self.defer(sid, Deferred::Leave(room));
            }
        }
    }

    /// Takes every socket of `nsp` out of `room`, on every server of the cluster.
    fn close_room(&self, nsp: &str, room: &str) {
        let _guard = crate::runtime().enter();
        self.io.of(nsp).broadcast().to(room).sockets_leave(room);
    }

    /// The rooms of socket `sid` of `nsp` (its own sid included).
    fn rooms(&self, nsp: &str, sid: &str) -> Vec<String> {
        if let Some(socket) = self.socket(nsp, sid) {
            return socket.rooms();
        }
        match lock(&self.shared.admitting).get(sid) {
            Some(entry) => {
                let mut rooms = vec![sid.to_owned()];
                for operation in &entry.deferred {
                    match operation {
                        Deferred::Join(room) if !rooms.contains(room) => rooms.push(room.clone()),
                        Deferred::Leave(room) => rooms.retain(|r| r != room),
                        _ => {}
                    }
                }
                rooms
            }
            None => Vec::new(),
        }
    }

    /// The ids of the sockets of `nsp` in any of `rooms` (every socket when empty).
    fn sockets(&self, nsp: &str, rooms: Vec<String>) -> Vec<String> {
        self.io
            .of(nsp)
            .broadcast()
            .to_rooms(rooms)
            .sockets()
            .iter()
            .map(|s| s.id().to_owned())
            .collect()
    }

    /// Whether socket `sid` is connected to `nsp`.
    fn is_connected(&self, nsp: &str, sid: &str) -> bool {
        self.socket(nsp, sid).is_some_and(|s| s.connected())
    }

    /// `"polling"` or `"websocket"`, or `None` when `sid` is not connected.
    fn transport(&self, nsp: &str, sid: &str) -> Option<&'static str> {
        self.socket(nsp, sid).map(|s| match s.transport() {
            Transport::Polling => "polling",
            Transport::WebSocket => "websocket",
        })
    }

    /// Disconnects socket `sid` from `nsp` (`server disconnect`), at once or, for a
    /// socket admitted a moment ago, as soon as it is connected; false when there is no
    /// such socket.
    fn disconnect(&self, nsp: &str, sid: &str) -> bool {
        let _guard = crate::runtime().enter();
        match self.socket(nsp, sid) {
            Some(socket) => {
                socket.disconnect(false);
                true
            }
            None => self.defer(sid, Deferred::Disconnect),
        }
    }

    /// The number of Engine.IO connections.
    fn clients_count(&self) -> usize {
        self.io.clients_count()
    }

    /// Listens on `host:port` (0: any free port); ends call `call` with the port.
    fn listen(&self, call: u64, host: &str, port: u16) {
        let io = self.io.clone();
        let dispatcher = self.shared.dispatcher.clone();
        let address = format!("{host}:{port}");
        crate::runtime().spawn(async move {
            let outcome = match io.listen(address).await {
                Ok(bound) => Outcome::Port(bound.port()),
                Err(error) => Outcome::Failed(error.to_string()),
            };
            dispatcher.done(call, outcome);
        });
    }

    /// Answers an HTTP request for the Socket.IO path that the Python web server received;
    /// ends call `call` with `(status, headers, body)`.
    #[pyo3(signature = (call, method, url, headers, body, peer=None))]
    fn handle_request(
        &self,
        call: u64,
        method: &str,
        url: &str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        peer: Option<String>,
    ) -> PyResult<()> {
        let request = build_request(method, url, &headers, body)?;
        let peer = peer.and_then(|p| p.parse::<SocketAddr>().ok());
        let io = self.io.clone();
        let dispatcher = self.shared.dispatcher.clone();
        crate::runtime().spawn(async move {
            let response = io.handle_request(request, peer).await;
            dispatcher.done(call, Outcome::Http(HttpAnswer::collect(response).await));
        });
        Ok(())
    }

    /// Answers a WebSocket request that the Python web server received and carries; ends
    /// call `call` with `((status, headers, body), link)`, `link` being `None` when the
    /// request was refused.
    #[pyo3(signature = (call, url, headers, peer=None))]
    fn accept_websocket(
        &self,
        call: u64,
        url: &str,
        headers: Vec<(String, String)>,
        peer: Option<String>,
    ) -> PyResult<()> {
        let request = build_request("GET", url, &headers, Vec::new())?;
        let peer = peer.and_then(|p| p.parse::<SocketAddr>().ok());
        let io = self.io.clone();
        let dispatcher = self.shared.dispatcher.clone();
        crate::runtime().spawn(async move {
            let (response, link) = io.accept_websocket(request, peer).await;
            let answer = HttpAnswer::collect(response).await;
            dispatcher.done(call, Outcome::WebSocket(answer, link));
        });
        Ok(())
    }

    /// Closes the server (every client gets `server disconnect`); ends call `call`.
    fn close(&self, call: u64) {
        let io = self.io.clone();
        let shared = self.shared.clone();
        crate::runtime().spawn(async move {
            io.close().await;
            lock(&shared.admissions).clear();
            lock(&shared.admitting).clear();
            shared.dispatcher.done(call, Outcome::Unit);
        });
    }
}

fn build_request(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> PyResult<http::Request<Full<Bytes>>> {
    let mut builder = http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| PyValueError::new_err(format!("invalid request: {e}")))
}

/// The engine's configuration from python-engineio's option names, already checked and
/// given their defaults by `polysocket/server.py`.
fn config_from(options: &Bound<'_, PyDict>) -> PyResult<ServerConfig> {
    let mut config = ServerConfig::default();
    let get = |name: &str| options.get_item(name);
    if let Some(path) = get("path")? {
        config.path = path.extract()?;
    }
    if let Some(seconds) = get("ping_interval")? {
        config.ping_interval = seconds_of(&seconds, "ping_interval")?;
    }
    if let Some(seconds) = get("ping_timeout")? {
        config.ping_timeout = seconds_of(&seconds, "ping_timeout")?;
    }
    if let Some(size) = get("max_http_buffer_size")? {
        config.max_http_buffer_size = size.extract()?;
    }
    if let Some(allow) = get("allow_upgrades")? {
        config.allow_upgrades = allow.extract()?;
    }
    if let Some(transports) = get("transports")? {
        config.transports = transports_of(&transports)?;
    }
    let compression: bool = match get("http_compression")? {
        Some(on) => on.extract()?,
        None => true,
    };
    let threshold: usize = match get("compression_threshold")? {
        Some(t) => t.extract()?,
        None => 1024,
    };
    config.http_compression = compression.then_some(HttpCompression { threshold });
    if let Some(cookie) = get("cookie")? {
        config.cookie = cookie_of(&cookie)?;
    }
    if let Some(serializer) = get("serializer")? {
        config.parser = match serializer.extract::<String>()?.as_str() {
            "default" => Parser::Default,
            "msgpack" => Parser::Msgpack,
            other => return Err(PyValueError::new_err(format!("unknown serializer {other}"))),
        };
    }
    let credentials: bool = match get("cors_credentials")? {
        Some(c) => c.extract()?,
        None => true,
    };
    let origins = get("cors_allowed_origins")?;
    match origins {
        // python-engineio's default: only the server's own origin.
        None => {
            config.cors = Some(Cors {
                origin: CorsOrigin::Reflect,
                credentials,
            });
            config.allow_request = Some(AllowRequest::new(same_origin));
        }
        Some(origins) if origins.is_none() => {
            config.cors = Some(Cors {
                origin: CorsOrigin::Reflect,
                credentials,
            });
            config.allow_request = Some(AllowRequest::new(same_origin));
        }
        Some(origins) => {
            let list: Vec<String> = if let Ok(one) = origins.cast::<PyString>() {
                vec![one.to_str()?.to_owned()]
            } else {
                origins.extract()?
            };
            if list.iter().any(|o| o == "*") {
                config.cors = Some(Cors {
                    origin: CorsOrigin::Reflect,
                    credentials,
                });
            } else if !list.is_empty() {
                let allowed = list.clone();
                config.cors = Some(Cors {
                    origin: CorsOrigin::List(list),
                    credentials,
                });
                config.allow_request = Some(AllowRequest::new(move |head| {
                    match head.headers.get(http::header::ORIGIN) {
                        Some(origin)
                            if !allowed.iter().any(|a| a.as_bytes() == origin.as_bytes()) =>
                        {
                            Err("Not an accepted origin.".to_owned())
                        }
                        _ => Ok(()),
                    }
                }));
            }
        }
    }
    Ok(config)
}

/// The Redis cluster adapter `AsyncRedisManager` describes: `{"url", "key",
/// "requests_timeout"}`. Connecting waits (without the GIL) until Redis answers, at most
/// 10 s; a server that cannot reach its cluster fails to start.
fn redis_adapter(py: Python<'_>, options: &Bound<'_, PyAny>) -> PyResult<ClusterAdapter> {
    let url: String = options.get_item("url")?.extract()?;
    let mut cluster = ClusterOptions::default();
    if let Ok(key) = options.get_item("key") {
        cluster.key = key.extract()?;
    }
    if let Ok(timeout) = options.get_item("requests_timeout") {
        cluster.requests_timeout = seconds_of(&timeout, "requests_timeout")?;
    }
    let driver = py.detach(|| {
        crate::runtime().block_on(async {
            tokio::time::timeout(Duration::from_secs(10), RedisDriver::connect(&url)).await
        })
    });
    let driver = driver
        .map_err(|_| engine_error(format!("Redis at {url}: timed out")))?
        .map_err(|e| engine_error(format!("Redis at {url}: {}", e.0)))?;
    let _guard = crate::runtime().enter();
    Ok(ClusterAdapter::new(driver, cluster))
}

/// python-engineio's default origin check: a request with an `Origin` header must come
/// from the server's own origin (`http(s)://` + the `Host` header).
fn same_origin(head: &polysocket::RequestHead) -> Result<(), String> {
    let Some(origin) = head.headers.get(http::header::ORIGIN) else {
        return Ok(());
    };
    let host = head
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let origin = origin.to_str().unwrap_or_default();
    let bare = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or_default();
    if !host.is_empty() && bare == host {
        Ok(())
    } else {
        Err("Not an accepted origin.".to_owned())
    }
}

fn seconds_of(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Duration> {
    let seconds: f64 = value.extract()?;
    if seconds.is_finite() && seconds > 0.0 {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err(PyValueError::new_err(format!(
            "{name} must be a positive number"
        )))
    }
}

/// python-engineio's `cookie`: a name, or a dict of attributes, or `None`.
fn cookie_of(cookie: &Bound<'_, PyAny>) -> PyResult<Option<CookieConfig>> {
    if cookie.is_none() {
        return Ok(None);
    }
    if let Ok(name) = cookie.cast::<PyString>() {
        return Ok(Some(CookieConfig {
            name: name.to_str()?.to_owned(),
            ..CookieConfig::default()
        }));
    }
    let Ok(attributes) = cookie.cast::<PyDict>() else {
        return Err(PyTypeError::new_err("cookie must be a str, a dict or None"));
    };
    let mut config = CookieConfig::default();
    for (key, value) in attributes.iter() {
        let key: String = key.extract()?;
        match key.as_str() {
            "name" => config.name = value.extract()?,
            "path" => config.path = value.extract()?,
            "domain" => config.domain = value.extract()?,
            "max_age" | "max-age" => config.max_age = value.extract()?,
            "httponly" | "http_only" => config.http_only = value.extract()?,
            "secure" => config.secure = value.extract()?,
            "samesite" | "same_site" => {
                config.same_site = match value.extract::<Option<String>>()?.as_deref() {
                    Some(s) if s.eq_ignore_ascii_case("strict") => Some(SameSite::Strict),
                    Some(s) if s.eq_ignore_ascii_case("lax") => Some(SameSite::Lax),
                    Some(s) if s.eq_ignore_ascii_case("none") => Some(SameSite::None),
                    _ => None,
                }
            }
            _ => {}
        }
    }
    Ok(Some(config))
}
