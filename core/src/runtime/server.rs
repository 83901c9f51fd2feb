//! The server: options, namespaces, sessions, and the listener.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::Notify;

use super::broadcast::BroadcastOperator;
use super::cluster::ClusterAdapter;
use super::config::ServerConfig;
use super::conn::{Conn, RequestInfo};
use super::driver;
use super::http::{ConnectionError, SocketIoService, handle, is_engine_path};
use super::namespace::{ConnectError, Namespace, read, write};
use super::parent::{Matcher, ParentNamespace};
use super::remote::RemoteSocket;
use super::socket::{EmitError, Socket};
use super::ws::{WebSocketLink, WsStream};
use crate::proto::engineio::{CloseReason, Packet, Transport};
use crate::proto::rooms::Room;
use crate::proto::value::Value;

pub(crate) struct ServerInner {
    pub(crate) config: ServerConfig,
    /// The cluster adapter: `config.adapter`, or the one [`Server::set_adapter`] set.
    adapter: std::sync::OnceLock<ClusterAdapter>,
    pub(crate) path: String,
    sessions: Mutex<HashMap<Arc<str>, Arc<Conn>>>,
    namespaces: RwLock<HashMap<String, Namespace>>,
    parents: RwLock<Vec<ParentNamespace>>,
    closing: AtomicBool,
    shutdown: Notify,
    pub(crate) engine_handler: RwLock<Option<EngineHandler>>,
    connection_error_handlers: RwLock<Vec<ConnectionErrorHandler>>,
}

/// Why [`Server::set_adapter`] refused an adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SetAdapterError {
    /// The server already has a cluster adapter.
    #[error("the server already has an adapter")]
    AlreadySet,
    /// Clients are connected: their sockets and rooms are not in the cluster.
    #[error("clients are already connected; set the adapter before the server accepts any")]
    Connected,
}

/// A listener of [`Server::on_connection_error`].
type ConnectionErrorHandler = Arc<dyn Fn(&ConnectionError) + Send + Sync>;

impl ServerInner {
    /// Whether some listener waits for refused requests.
    pub(crate) fn has_connection_error_handlers(&self) -> bool {
        !read(&self.connection_error_handlers).is_empty()
    }

    /// Tells the `connection_error` listeners about a refused request.
    pub(crate) fn report_connection_error(&self, error: &ConnectionError) {
        let handlers = read(&self.connection_error_handlers).clone();
        for handler in handlers {
            handler(error);
        }
    }
}

/// Handles raw Engine.IO messages when the server runs without the Socket.IO layer.
pub type EngineHandler = Arc<dyn Fn(&EngineSocket, Packet) + Send + Sync>;

/// One Engine.IO connection: the raw session of a server that bypasses Socket.IO
/// ([`Server::on_engine_message`]), or the connection under a Socket.IO socket
/// ([`Socket::conn`], socket.io's `socket.conn`).
#[derive(Clone)]
pub struct EngineSocket(pub(crate) Arc<Conn>);

impl std::fmt::Debug for EngineSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("EngineSocket").field(&self.0.sid).finish()
    }
}

impl EngineSocket {
    /// The session id.
    pub fn id(&self) -> &str {
        &self.0.sid
    }

    /// Sends a message ([`Packet::Text`] or [`Packet::Binary`]) to the client.
    pub fn send(&self, packet: Packet) -> Result<(), EmitError> {
        self.0.send_engine_packets(vec![packet])
    }

    /// The transport in use.
    pub fn transport(&self) -> Transport {
        self.0.lock().engine.transport()
    }

    /// Calls `handler` with the new transport once the connection upgraded from
    /// long-polling to WebSocket (engine.io's `upgrade` event).
    pub fn on_upgrade(&self, handler: impl Fn(Transport) + Send + Sync + 'static) {
        self.0.lock().upgrade_handlers.push(Arc::new(handler));
    }

    /// Closes the connection (engine.io's `socket.close()`): every Socket.IO socket on it
    /// disconnects with `forced close`, which connection state recovery can recover.
    pub fn close(&self) {
        self.0.close(CloseReason::ForcedClose);
    }
}

impl ServerInner {
    pub(crate) fn engine_handler(&self) -> Option<EngineHandler> {
        read(&self.engine_handler).clone()
    }

    pub(crate) fn namespace(&self, name: &str) -> Option<Namespace> {
        read(&self.namespaces).get(name).cloned()
    }

    /// The namespace `name`: an existing one, or a new child of the first parent that
    /// accepts `name` with `auth` (socket.io's `_checkNamespace`).
    pub(crate) async fn resolve_namespace(
        self: &Arc<Self>,
        name: &str,
        auth: &Value,
    ) -> Option<Namespace> {
        let parents = read(&self.parents).clone();
        for parent in parents {
            if parent.matches(name, auth).await {
                if let Some(existing) = self.namespace(name) {
                    return Some(existing);
                }
                let mut namespaces = write(&self.namespaces);
                let child = namespaces.entry(name.to_owned()).or_insert_with(|| {
                    if let Some(cluster) = self.adapter.get() {
                        cluster.watch_namespace(name);
                    }
                    parent.create_child(name, self, self.config.cleanup_empty_child_namespaces)
                });
                return Some(child.clone());
            }
        }
        None
    }

    pub(crate) fn has_parents(&self) -> bool {
        !read(&self.parents).is_empty()
    }

    /// Forgets namespace `name` if it is still `namespace`.
    pub(crate) fn remove_namespace(&self, name: &str, namespace: &Namespace) {
        let mut namespaces = write(&self.namespaces);
        if namespaces.get(name).is_some_and(|n| n.same(namespace)) {
            namespaces.remove(name);
        }
    }

    pub(crate) fn session(&self, sid: &str) -> Option<Arc<Conn>> {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(sid)
            .cloned()
    }

    pub(crate) fn remove_session(&self, sid: &str) {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(sid);
    }

    /// Creates a session and spawns its driver task.
    pub(crate) fn open_session(
        self: &Arc<Self>,
        sid: Arc<str>,
        transport: Transport,
        request: RequestInfo,
        ws: Option<WsStream>,
    ) -> Arc<Conn> {
        let conn = Conn::new(self.clone(), sid, transport, request, Instant::now());
        if self.closing.load(Ordering::Acquire) {
            conn.close(CloseReason::ServerShuttingDown);
        } else {
            self.sessions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(conn.sid.clone(), conn.clone());
        }
        tokio::spawn(driver::run(conn.clone(), ws));
        conn
    }

    fn all_sessions(&self) -> Vec<Arc<Conn>> {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }
}

/// A Socket.IO server (socket.io's `Server`). Cheap to clone; every clone is the same server.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let io = polysocket::Server::new();
/// io.on_connection(|socket| {
///     socket.on("echo", |socket, mut event| {
///         if let Some(ack) = event.ack() {
///             let _ = ack.send_args(event.args.clone());
///         }
///     });
/// });
/// let addr = io.listen("127.0.0.1:3000").await?;
/// # let _ = addr; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Server {
    inner: Arc<ServerInner>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl Default for Server {
    fn default() -> Self {
        Server::new()
    }
}

/// Extra HTTP routes served next to Socket.IO by [`Server::listen_with_fallback`].
pub type Fallback = Arc<dyn Fn(&http::request::Parts) -> Response<Full<Bytes>> + Send + Sync>;

impl Server {
    /// A server with socket.io's default options.
    pub fn new() -> Server {
        Server::with_config(ServerConfig::default())
    }

    /// A server with these options.
    pub fn with_config(mut config: ServerConfig) -> Server {
        let path = config.normalized_path();
        let adapter = config
            .adapter
            .take()
            .map_or_else(std::sync::OnceLock::new, std::sync::OnceLock::from);
        let inner = Arc::new({
            let mut namespaces = HashMap::new();
            namespaces.insert("/".to_owned(), Namespace::new("/", &config, adapter.get()));
            ServerInner {
                config,
                adapter,
                path,
                sessions: Mutex::new(HashMap::new()),
                namespaces: RwLock::new(namespaces),
                parents: RwLock::new(Vec::new()),
                closing: AtomicBool::new(false),
                shutdown: Notify::new(),
                engine_handler: RwLock::new(None),
                connection_error_handlers: RwLock::new(Vec::new()),
            }
        });
        if let Some(cluster) = inner.adapter.get() {
            cluster.start(&inner);
            cluster.watch_namespace("/");
        }
        Server { inner }
    }

    /// Joins the cluster of `adapter` after the server was built (socket.io's
    /// `io.adapter(..)`), for every namespace there is and every later one. Only before
    /// anyone connected, and only once: a server that has an adapter keeps it.
    ///
    /// Must be called within a tokio runtime (the adapter starts its tasks).
    pub fn set_adapter(&self, adapter: ClusterAdapter) -> Result<(), SetAdapterError> {
        if self.inner.adapter.get().is_some() {
            return Err(SetAdapterError::AlreadySet);
        }
        if self.clients_count() > 0 {
            return Err(SetAdapterError::Connected);
        }
        // Set while no namespace or parent can be created: one made meanwhile would neither be
        // in the lists below nor see the adapter (both read it under these locks).
        let (namespaces, templates) = {
            let namespaces = write(&self.inner.namespaces);
            let parents = write(&self.inner.parents);
            if self.inner.adapter.set(adapter.clone()).is_err() {
                return Err(SetAdapterError::AlreadySet);
            }
            let templates: Vec<Namespace> = parents.iter().map(ParentNamespace::template).collect();
            (namespaces.values().cloned().collect::<Vec<_>>(), templates)
        };
        for namespace in namespaces.iter().chain(&templates) {
            let _ = namespace.0.cluster.set(adapter.clone());
        }
        adapter.start(&self.inner);
        for namespace in &namespaces {
            adapter.watch_namespace(namespace.name());
        }
        Ok(())
    }

    /// Resolves once the cluster adapter (if any) listens on the bus for every namespace
    /// created so far: from then on, what other servers publish reaches this one.
    pub async fn cluster_ready(&self) {
        if let Some(cluster) = self.inner.adapter.get() {
            cluster.ready().await;
        }
    }

    /// How many servers share this server's cluster (1 without a cluster adapter).
    pub async fn server_count(&self) -> usize {
        match self.inner.adapter.get() {
            Some(cluster) => cluster.server_count("/").await,
            None => 1,
        }
    }

    /// Handles `event` sent by another server with `serverSideEmit` on `/`
    /// ([`Namespace::on_server_event`]).
    pub fn on_server_event(
        &self,
        event: &str,
        handler: impl Fn(Vec<Value>, Option<super::cluster::ServerAck>) + Send + Sync + 'static,
    ) {
        self.sockets().on_server_event(event, handler);
    }

    /// The options.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// The namespace `name`, created if needed (`io.of(name)`).
    pub fn of(&self, name: &str) -> Namespace {
        let name = if name.starts_with('/') {
            name.to_owned()
        } else {
            format!("/{name}")
        };
        if let Some(ns) = self.inner.namespace(&name) {
            return ns;
        }
        write(&self.inner.namespaces)
            .entry(name.clone())
            .or_insert_with(|| {
                if let Some(cluster) = self.inner.adapter.get() {
                    cluster.watch_namespace(&name);
                }
                Namespace::new(&name, &self.inner.config, self.inner.adapter.get())
            })
            .clone()
    }

    /// A parent of dynamic namespaces whose names match `pattern` (socket.io's
    /// `io.of(/regex/)`), e.g. `^/dynamic-\d+$`. The pattern uses `regex-lite` syntax, which
    /// covers the usual JavaScript patterns (classes, groups, anchors, repetition).
    pub fn of_regex(&self, pattern: &str) -> Result<ParentNamespace, regex_lite::Error> {
        let regex = regex_lite::Regex::new(pattern)?;
        Ok(self.add_parent(ParentNamespace::new(
            Matcher::Regex(regex),
            pattern,
            &self.inner.config,
            self.inner.adapter.get(),
        )))
    }

    /// A parent of dynamic namespaces whose names `predicate` accepts, given the name and
    /// the client's auth payload (socket.io's `io.of((name, auth, next) => ..)`).
    pub fn of_dynamic(
        &self,
        predicate: impl Fn(&str, &Value) -> bool + Send + Sync + 'static,
    ) -> ParentNamespace {
        self.of_dynamic_async(move |name, auth| {
            let accepted = predicate(&name, &auth);
            async move { accepted }
        })
    }

    /// Like [`Server::of_dynamic`], with an asynchronous predicate.
    pub fn of_dynamic_async<F, Fut>(&self, predicate: F) -> ParentNamespace
    where
        F: Fn(String, Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        let predicate = Arc::new(move |name, auth| {
            Box::pin(predicate(name, auth)) as Pin<Box<dyn Future<Output = bool> + Send>>
        });
        self.add_parent(ParentNamespace::new(
            Matcher::Predicate(predicate),
            "<dynamic>",
            &self.inner.config,
            self.inner.adapter.get(),
        ))
    }

    fn add_parent(&self, parent: ParentNamespace) -> ParentNamespace {
        let mut parents = write(&self.inner.parents);
        // An adapter set since `parent` was made (`set_adapter` holds this lock).
        if let Some(cluster) = self.inner.adapter.get() {
            let _ = parent.template().0.cluster.set(cluster.clone());
        }
        parents.push(parent.clone());
        parent
    }

    /// The main namespace `/` (socket.io's `io.sockets`).
    pub fn sockets(&self) -> Namespace {
        self.of("/")
    }

    /// Handles connections to `/` (`io.on("connection")`).
    pub fn on_connection(&self, handler: impl Fn(Socket) + Send + Sync + 'static) {
        self.sockets().on_connection(handler);
    }

    /// Adds a connect middleware to `/` (`io.use`).
    pub fn use_middleware(
        &self,
        middleware: impl Fn(&Socket) -> Result<(), ConnectError> + Send + Sync + 'static,
    ) {
        self.sockets().use_middleware(middleware);
    }

    /// Emits to every socket of `/`.
    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<(), EmitError> {
        self.sockets().emit(event, data)
    }

    /// Emits to every socket of `/` with any number of arguments.
    pub fn emit_args(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        self.sockets().emit_args(event, args)
    }

    /// A broadcast to `room` in `/`.
    pub fn to(&self, room: impl Into<Room>) -> BroadcastOperator {
        self.sockets().to(room)
    }

    /// A broadcast to every socket of `/` not in `room`.
    pub fn except(&self, room: impl Into<Room>) -> BroadcastOperator {
        self.sockets().except(room)
    }

    /// A broadcast to `room` in `/` (socket.io's `io.in(room)`).
    pub fn within(&self, room: impl Into<Room>) -> BroadcastOperator {
        self.sockets().within(room)
    }

    /// A volatile broadcast to `/` (see [`BroadcastOperator::volatile`]).
    pub fn volatile(&self) -> BroadcastOperator {
        self.sockets().volatile()
    }

    /// A broadcast to `/` with socket.io's `compress` flag set.
    pub fn compress(&self, compress: bool) -> BroadcastOperator {
        self.sockets().compress(compress)
    }

    /// A broadcast to this server's sockets of `/` only.
    pub fn local(&self) -> BroadcastOperator {
        self.sockets().local()
    }

    /// A broadcast to `/` whose acknowledgements are awaited for `timeout`.
    pub fn timeout(&self, timeout: std::time::Duration) -> BroadcastOperator {
        self.sockets().timeout(timeout)
    }

    /// Snapshots of every socket of `/` (`io.fetchSockets()`).
    pub async fn fetch_sockets(&self) -> Vec<RemoteSocket> {
        self.sockets().fetch_sockets().await
    }

    /// Makes every socket of `/` join `room` (`io.socketsJoin`).
    pub fn sockets_join(&self, room: impl Into<Room>) {
        self.sockets().sockets_join(room);
    }

    /// Makes every socket of `/` leave `room` (`io.socketsLeave`).
    pub fn sockets_leave(&self, room: &str) {
        self.sockets().sockets_leave(room);
    }

    /// Disconnects every socket of `/` (`io.disconnectSockets`).
    pub fn disconnect_sockets(&self, close: bool) {
        self.sockets().disconnect_sockets(close);
    }

    /// Sends an event to the other servers of a cluster (`io.serverSideEmit`); a no-op
    /// with the in-memory adapter.
    pub fn server_side_emit(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        self.sockets().server_side_emit(event, args)
    }

    /// [`Server::server_side_emit`] collecting the other servers' answers (none with the
    /// in-memory adapter).
    pub async fn server_side_emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
    ) -> Result<Vec<Value>, EmitError> {
        self.sockets().server_side_emit_with_ack(event, args).await
    }

    /// The names of the namespaces that exist now, dynamic children included.
    pub fn namespace_names(&self) -> Vec<String> {
        read(&self.inner.namespaces).keys().cloned().collect()
    }

    /// Runs the server as a plain Engine.IO server: every message a client sends goes to
    /// `handler` instead of the Socket.IO layer (as `engine.io`'s `socket.on("message")`).
    pub fn on_engine_message(
        &self,
        handler: impl Fn(&EngineSocket, Packet) + Send + Sync + 'static,
    ) {
        *write(&self.inner.engine_handler) = Some(Arc::new(handler));
    }

    /// Calls `handler` with every request the Engine.IO layer refuses (engine.io's
    /// `io.engine.on("connection_error")`): unknown transport or session, bad handshake,
    /// bad request, `allowRequest` refusal, unsupported protocol version.
    pub fn on_connection_error(&self, handler: impl Fn(&ConnectionError) + Send + Sync + 'static) {
        write(&self.inner.connection_error_handlers).push(Arc::new(handler));
    }

    /// Number of open Engine.IO connections (`io.engine.clientsCount`).
    pub fn clients_count(&self) -> usize {
        self.inner
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// The endpoint as a tower service, to mount in an axum/tower app.
    pub fn service(&self) -> SocketIoService {
        SocketIoService {
            server: self.inner.clone(),
        }
    }

    /// Answers one HTTP request for the Engine.IO endpoint (a long-polling GET or POST, or
    /// a handshake) that another HTTP server received, e.g. Node's `http.Server` in the
    /// Node binding; anything else gets 404.
    pub async fn handle_request<B>(
        &self,
        req: Request<B>,
        peer: Option<SocketAddr>,
    ) -> Response<Full<Bytes>>
    where
        B: hyper::body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        super::http::handle(self.inner.clone(), req, peer).await
    }

    /// Answers a WebSocket request that another server received and carries itself, as
    /// whole messages (an ASGI server such as uvicorn, aiohttp, …). `req` is the upgrade
    /// request as it came (method, path and query, headers).
    ///
    /// A `101 Switching Protocols` answer comes with the [`WebSocketLink`] to pump: the host
    /// completes the handshake its own way (e.g. ASGI's `websocket.accept`), then forwards
    /// messages both ways. Any other answer (unknown session, refused by `allowRequest`, …)
    /// comes alone, to be sent instead of accepting the socket.
    pub async fn accept_websocket(
        &self,
        mut req: Request<Full<Bytes>>,
        peer: Option<SocketAddr>,
    ) -> (Response<Full<Bytes>>, Option<WebSocketLink>) {
        let (link, slot) = super::ws::link_pair();
        req.extensions_mut().insert(slot.clone());
        let response = super::http::handle(self.inner.clone(), req, peer).await;
        let taken = slot.0.lock().unwrap_or_else(|p| p.into_inner()).is_none();
        let accepted = response.status() == http::StatusCode::SWITCHING_PROTOCOLS && taken;
        (response, accepted.then_some(link))
    }

    /// Serves one TCP connection taken over from another HTTP server, whose first bytes
    /// that server has already read (`already_read`, e.g. a WebSocket upgrade request
    /// rebuilt from what Node's `http.Server` parsed). Runs until the connection ends.
    pub async fn serve_connection(
        &self,
        stream: tokio::net::TcpStream,
        peer: SocketAddr,
        already_read: Bytes,
    ) {
        self.serve_connection_with_headers(stream, peer, already_read, http::HeaderMap::new())
            .await;
    }

    /// Like [`Server::serve_connection`], and adds `response_headers` to the answer to the
    /// connection's first request (e.g. the `101 Switching Protocols` of an upgrade whose
    /// headers the other server's middlewares set, as engine.io's `headers` event does).
    pub async fn serve_connection_with_headers(
        &self,
        stream: tokio::net::TcpStream,
        peer: SocketAddr,
        already_read: Bytes,
        response_headers: http::HeaderMap,
    ) {
        let _ = stream.set_nodelay(true);
        let server = self.inner.clone();
        let not_found: Fallback = Arc::new(|_| {
            let mut response = Response::new(Full::new(Bytes::from_static(b"Not found")));
            *response.status_mut() = http::StatusCode::NOT_FOUND;
            response
        });
        let first_response_headers =
            Arc::new(Mutex::new(Some(response_headers).filter(|h| !h.is_empty())));
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let server = server.clone();
            let fallback = not_found.clone();
            let extra = first_response_headers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            async move {
                let mut response = serve(server, fallback, req, peer).await;
                if let Some(extra) = extra {
                    for (name, value) in &extra {
                        response.headers_mut().append(name, value.clone());
                    }
                }
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        let io = super::prefixed::Prefixed::new(already_read, stream);
        let _ = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades()
            .await;
    }

    /// Listens on `addr` (e.g. `"127.0.0.1:3000"`, port 0 for any) and serves in the
    /// background; returns the bound address.
    pub async fn listen(&self, addr: impl ToSocketAddrs) -> io::Result<SocketAddr> {
        let not_found: Fallback = Arc::new(|_| {
            let mut response = Response::new(Full::new(Bytes::from_static(b"Not found")));
            *response.status_mut() = http::StatusCode::NOT_FOUND;
            response
        });
        self.listen_with_fallback(addr, not_found).await
    }

    /// Like [`Server::listen`], and answers requests outside the Socket.IO path with
    /// `fallback` (e.g. the static files of an app).
    pub async fn listen_with_fallback(
        &self,
        addr: impl ToSocketAddrs,
        fallback: Fallback,
    ) -> io::Result<SocketAddr> {
        let listener = bind(addr).await?;
        let local = listener.local_addr()?;
        let server = self.inner.clone();
        tokio::spawn(accept_loop(server, listener, fallback));
        Ok(local)
    }

    /// Closes the server: stops accepting, disconnects every client with
    /// `server shutting down`, and waits briefly for their transports to flush.
    pub async fn close(&self) {
        self.inner.closing.store(true, Ordering::Release);
        self.inner.shutdown.notify_waiters();
        let sessions = self.inner.all_sessions();
        for conn in &sessions {
            conn.close(CloseReason::ServerShuttingDown);
        }
        let deadline = Instant::now() + std::time::Duration::from_secs(2);
        while self.clients_count() > 0 && Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        for conn in self.inner.all_sessions() {
            conn.abort(CloseReason::ServerShuttingDown);
        }
    }
}

/// Binds with a large accept backlog: a connect storm must not overflow the queue.
async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
    let mut last_error = None;
    for addr in tokio::net::lookup_host(addr).await? {
        let socket = match addr {
            SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
            SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
        };
        socket.set_reuseaddr(true)?;
        match socket.bind(addr).and_then(|()| socket.listen(4096)) {
            Ok(listener) => return Ok(listener),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address")))
}

async fn accept_loop(server: Arc<ServerInner>, listener: TcpListener, fallback: Fallback) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = server.shutdown.notified() => return,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let server = server.clone();
        let fallback = fallback.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let server = server.clone();
                let fallback = fallback.clone();
                async move {
                    Ok::<_, std::convert::Infallible>(serve(server, fallback, req, peer).await)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

async fn serve(
    server: Arc<ServerInner>,
    fallback: Fallback,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    if is_engine_path(&server, req.uri().path()) {
        handle(server, req, Some(peer)).await
    } else {
        let (parts, _body) = req.into_parts();
        fallback(&parts)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use tokio::sync::mpsc;

    use super::*;
    use crate::runtime::cluster::{
        ClusterAdapter, ClusterOptions, DriverError, DriverFuture, DriverMessage, PubSubDriver,
    };

    /// A bus that takes everything and delivers nothing.
    struct SilentBus(Mutex<Option<mpsc::UnboundedReceiver<DriverMessage>>>);

    impl PubSubDriver for SilentBus {
        fn publish(&self, _: Vec<(String, Vec<u8>)>) -> DriverFuture<'_, Result<(), DriverError>> {
            Box::pin(async { Ok(()) })
        }
        fn subscribe(
            &self,
            _: Vec<String>,
            _: Vec<String>,
        ) -> DriverFuture<'_, Result<(), DriverError>> {
            Box::pin(async { Ok(()) })
        }
        fn subscriber_count(&self, _: String) -> DriverFuture<'_, Result<usize, DriverError>> {
            Box::pin(async { Ok(0) })
        }
        fn take_messages(&self) -> Option<mpsc::UnboundedReceiver<DriverMessage>> {
            self.0.lock().unwrap().take()
        }
    }

    /// Namespaces and parents made on other threads while the adapter is being set all end
    /// up with it, whichever side wins each race.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn namespaces_made_while_the_adapter_is_set_get_it() {
        for round in 0..200 {
            let io = Server::new();
            let makers: Vec<_> = (0..3)
                .map(|thread| {
                    let io = io.clone();
                    std::thread::spawn(move || {
                        let mut made = Vec::new();
                        for i in 0..30 {
                            made.push(io.of(&format!("/r{round}-t{thread}-{i}")));
                            if i % 10 == 0 {
                                let pattern = format!(r"^/p{round}-{thread}-{i}-\d+$");
                                made.push(io.of_regex(&pattern).unwrap().template());
                            }
                        }
                        made
                    })
                })
                .collect();
            let (_tx, rx) = mpsc::unbounded_channel();
            let bus = SilentBus(Mutex::new(Some(rx)));
            io.set_adapter(ClusterAdapter::new(bus, ClusterOptions::default()))
                .expect("no connection yet");
            for maker in makers {
                for namespace in maker.join().unwrap() {
                    assert!(
                        namespace.0.cluster.get().is_some(),
                        "round {round}: {} has no adapter",
                        namespace.name()
                    );
                }
            }
        }
    }
}
