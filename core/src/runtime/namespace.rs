//! Namespaces: connection handlers, middlewares, and the sockets and rooms of one namespace.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use serde::Serialize;

use super::broadcast::BroadcastOperator;
use super::cluster::{ClusterAdapter, ServerAck};
use super::config::ServerConfig;
use super::remote::RemoteSocket;
use super::socket::{EmitError, Socket};
use crate::proto::recovery::{PacketTargets, RecoveryStore};
use crate::proto::rooms::{Room, RoomIndex, Sid};
use crate::proto::socketio::Parser;
use crate::proto::value::Value;

/// A middleware's refusal: the client gets `connect_error` with this message and data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ConnectError {
    /// The error message (`err.message` on the client).
    pub message: String,
    /// Extra data (`err.data` on the client).
    pub data: Option<Value>,
}

impl ConnectError {
    /// A refusal with a message.
    pub fn new(message: impl Into<String>) -> ConnectError {
        ConnectError {
            message: message.into(),
            data: None,
        }
    }

    /// Attaches `data` (any serializable value).
    pub fn with_data(mut self, data: impl Serialize) -> ConnectError {
        self.data = crate::proto::value::to_value(&data).ok();
        self
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
pub(crate) type Middleware =
    Arc<dyn Fn(Socket) -> BoxFuture<Result<(), ConnectError>> + Send + Sync>;
type ConnectionHandler = Arc<dyn Fn(Socket) + Send + Sync>;

pub(crate) struct NamespaceInner {
    pub(crate) name: Arc<str>,
    connection_handlers: RwLock<Vec<ConnectionHandler>>,
    middlewares: RwLock<Vec<Middleware>>,
    pub(crate) sockets: RwLock<HashMap<Sid, Socket>>,
    pub(crate) rooms: RwLock<RoomIndex>,
    /// Ack ids for every emit of this namespace, to one socket or many (socket.io's `_ids`).
    ack_ids: AtomicU64,
    /// Called when the last socket left (dynamic children with
    /// `cleanupEmptyChildNamespaces`).
    on_empty: RwLock<Option<EmptyHandler>>,
    /// Sessions and offsets when connection state recovery is on.
    pub(crate) recovery: Option<Mutex<RecoveryStore>>,
    /// How packets are encoded for this namespace's clients.
    pub(crate) parser: Parser,
    /// The cluster adapter, when the server has one (set once: at creation, or by
    /// [`crate::Server::set_adapter`] before anyone connected).
    pub(crate) cluster: std::sync::OnceLock<ClusterAdapter>,
    /// Handlers of the events other servers send with `serverSideEmit`.
    server_events: RwLock<HashMap<String, Vec<ServerEventHandler>>>,
}

/// Handles an event another server of the cluster sent with `serverSideEmit`.
pub(crate) type ServerEventHandler = Arc<dyn Fn(Vec<Value>, Option<ServerAck>) + Send + Sync>;

type EmptyHandler = Arc<dyn Fn(&Namespace) + Send + Sync>;

/// A namespace (`io.of(name)`): its own handlers, middlewares, sockets and rooms.
#[derive(Clone)]
pub struct Namespace(pub(crate) Arc<NamespaceInner>);

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Namespace").field(&self.0.name).finish()
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// A random prefix for a store's offsets, so that offsets of another process never match.
fn offset_prefix() -> String {
    use rand::Rng as _;
    let mut rng = rand::rng();
    (0..6)
        .map(|_| char::from(rng.sample(rand::distr::Alphanumeric)))
        .chain(std::iter::once('-'))
        .collect()
}

pub(crate) fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

impl Namespace {
    /// A namespace with the server's parser and connection state recovery settings, and
    /// its cluster adapter if it has one.
    pub(crate) fn new(
        name: &str,
        config: &ServerConfig,
        cluster: Option<&ClusterAdapter>,
    ) -> Namespace {
        Namespace::with_settings(
            name,
            config.recovery_duration(),
            config.parser,
            cluster.cloned(),
        )
    }

    fn with_settings(
        name: &str,
        recovery: Option<std::time::Duration>,
        parser: Parser,
        cluster: Option<ClusterAdapter>,
    ) -> Namespace {
        Namespace(Arc::new(NamespaceInner {
            cluster: cluster.map_or_else(std::sync::OnceLock::new, std::sync::OnceLock::from),
            server_events: RwLock::new(HashMap::new()),
            name: Arc::from(name),
            connection_handlers: RwLock::new(Vec::new()),
            middlewares: RwLock::new(Vec::new()),
            sockets: RwLock::new(HashMap::new()),
            rooms: RwLock::new(RoomIndex::new()),
            ack_ids: AtomicU64::new(0),
            on_empty: RwLock::new(None),
            recovery: recovery.map(|max| Mutex::new(RecoveryStore::new(max, offset_prefix()))),
            parser,
        }))
    }

    /// Gives an event's `args` their recovery offset, when recovery is on: records the
    /// packet for the sockets `targets` selects and appends the offset to `args`.
    pub(crate) fn record_offset(&self, targets: PacketTargets, event: &str, args: &mut Vec<Value>) {
        let Some(store) = &self.0.recovery else {
            return;
        };
        let mut data = Vec::with_capacity(args.len() + 2);
        data.push(Value::from(event));
        data.append(args);
        lock(store).record(targets, &mut data, std::time::Instant::now());
        data.remove(0);
        *args = data;
    }

    /// A new namespace `name` with this one's connection handlers and middlewares.
    pub(crate) fn copy_as(&self, name: &str) -> Namespace {
        let max = self
            .0
            .recovery
            .as_ref()
            .map(|store| lock(store).max_disconnection());
        let copy =
            Namespace::with_settings(name, max, self.0.parser, self.0.cluster.get().cloned());
        *write(&copy.0.connection_handlers) = read(&self.0.connection_handlers).clone();
        *write(&copy.0.middlewares) = read(&self.0.middlewares).clone();
        copy
    }

    pub(crate) fn on_empty(&self, handler: impl Fn(&Namespace) + Send + Sync + 'static) {
        *write(&self.0.on_empty) = Some(Arc::new(handler));
    }

    /// Whether both handles are the same namespace.
    pub(crate) fn same(&self, other: &Namespace) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The namespace name, e.g. `/` or `/admin`.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Calls `handler` for every socket that joins this namespace (`nsp.on("connection")`).
    /// The socket's CONNECT answer is sent before the handler runs.
    pub fn on_connection(&self, handler: impl Fn(Socket) + Send + Sync + 'static) {
        write(&self.0.connection_handlers).push(Arc::new(handler));
    }

    /// Adds a connect middleware (`nsp.use`): it sees the socket (and its handshake auth)
    /// before it joins; an error refuses the connection with `connect_error`.
    pub fn use_middleware(
        &self,
        middleware: impl Fn(&Socket) -> Result<(), ConnectError> + Send + Sync + 'static,
    ) {
        self.use_async_middleware(move |socket| {
            let result = middleware(&socket);
            async move { result }
        });
    }

    /// Adds an asynchronous connect middleware.
    pub fn use_async_middleware<F, Fut>(&self, middleware: F)
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        write(&self.0.middlewares).push(Arc::new(move |socket| Box::pin(middleware(socket))));
    }

    /// The next ack id of this namespace.
    pub(crate) fn next_ack_id(&self) -> u64 {
        self.0.ack_ids.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn middlewares(&self) -> Vec<Middleware> {
        read(&self.0.middlewares).clone()
    }

    /// Adds a connected socket, in its own room and in `rooms` (a recovered socket's), and
    /// runs the connection handlers.
    pub(crate) fn add_socket(&self, socket: &Socket, rooms: &[Room]) {
        let sid: Sid = socket.sid().clone();
        write(&self.0.sockets).insert(sid.clone(), socket.clone());
        self.join_room(&sid, sid.clone());
        for room in rooms {
            self.join_room(&sid, room.clone());
        }
        let handlers = read(&self.0.connection_handlers).clone();
        for handler in handlers {
            handler(socket.clone());
        }
    }

    /// Adds socket `sid` to `room` (telling a cluster adapter about a new room).
    pub(crate) fn join_room(&self, sid: &Sid, room: Room) {
        let created = write(&self.0.rooms).join(sid, &room);
        if created && let Some(cluster) = self.0.cluster.get() {
            cluster.room_created(&self.0.name, &room, **sid == *room);
        }
    }

    /// Removes socket `sid` from `room` (telling a cluster adapter about a deleted room).
    pub(crate) fn leave_room(&self, sid: &Sid, room: &str) {
        let deleted = write(&self.0.rooms).leave(sid, room);
        if deleted && let Some(cluster) = self.0.cluster.get() {
            cluster.room_deleted(&self.0.name, room);
        }
    }

    pub(crate) fn remove_socket(&self, sid: &Sid) {
        let deleted = write(&self.0.rooms).leave_all(sid);
        if let Some(cluster) = self.0.cluster.get() {
            for room in deleted {
                cluster.room_deleted(&self.0.name, &room);
            }
        }
        write(&self.0.sockets).remove(sid);
        self.release_if_empty();
    }

    /// Runs the `on_empty` handler when no socket is left (also after a refused connection,
    /// whose socket was never added: socket.io removes it all the same).
    pub(crate) fn release_if_empty(&self) {
        if !read(&self.0.sockets).is_empty() {
            return;
        }
        let on_empty = read(&self.0.on_empty).clone();
        if let Some(on_empty) = on_empty {
            on_empty(self);
        }
    }

    /// The connected sockets of this namespace.
    pub fn sockets(&self) -> Vec<Socket> {
        read(&self.0.sockets).values().cloned().collect()
    }

    /// The socket with this id, if connected here.
    pub fn socket(&self, id: &str) -> Option<Socket> {
        read(&self.0.sockets).get(id).cloned()
    }

    /// A broadcast to every socket of the namespace.
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.clone(), None)
    }

    /// A broadcast to the sockets in `room` (`nsp.to(room)`); chain more `to`/`except`.
    pub fn to(&self, room: impl Into<Room>) -> BroadcastOperator {
        self.broadcast().to(room)
    }

    /// A broadcast to everyone except the sockets in `room`.
    pub fn except(&self, room: impl Into<Room>) -> BroadcastOperator {
        self.broadcast().except(room)
    }

    /// Emits to every socket of the namespace, with one serializable argument.
    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<(), EmitError> {
        self.broadcast().emit(event, data)
    }

    /// Emits to every socket of the namespace with any number of arguments.
    pub fn emit_args(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        self.broadcast().emit_args(event, args)
    }

    /// A broadcast to the sockets in `room` (socket.io's `nsp.in(room)`).
    pub fn within(&self, room: impl Into<Room>) -> BroadcastOperator {
        self.broadcast().to(room)
    }

    /// A volatile broadcast (see [`BroadcastOperator::volatile`]).
    pub fn volatile(&self) -> BroadcastOperator {
        self.broadcast().volatile()
    }

    /// A broadcast with socket.io's `compress` flag set.
    pub fn compress(&self, compress: bool) -> BroadcastOperator {
        self.broadcast().compress(compress)
    }

    /// A broadcast to this server's sockets only (see [`BroadcastOperator::local`]).
    pub fn local(&self) -> BroadcastOperator {
        self.broadcast().local()
    }

    /// A broadcast whose acknowledgements are awaited for `timeout`.
    pub fn timeout(&self, timeout: std::time::Duration) -> BroadcastOperator {
        self.broadcast().timeout(timeout)
    }

    /// Snapshots of every socket of the namespace (`fetchSockets`).
    pub async fn fetch_sockets(&self) -> Vec<RemoteSocket> {
        self.broadcast().fetch_sockets().await
    }

    /// Makes every socket join `room` (`socketsJoin`).
    pub fn sockets_join(&self, room: impl Into<Room>) {
        self.broadcast().sockets_join(room);
    }

    /// Makes every socket leave `room` (`socketsLeave`).
    pub fn sockets_leave(&self, room: &str) {
        self.broadcast().sockets_leave(room);
    }

    /// Disconnects every socket (`disconnectSockets`).
    pub fn disconnect_sockets(&self, close: bool) {
        self.broadcast().disconnect_sockets(close);
    }

    /// Sends an event to the other servers of a cluster (socket.io's `serverSideEmit`);
    /// they handle it with [`Namespace::on_server_event`]. The in-memory adapter has no
    /// other servers: as socket.io's, it logs a warning and sends nothing.
    pub fn server_side_emit(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        super::socket::check_event_name(event)?;
        match self.0.cluster.get() {
            Some(cluster) => cluster.server_side_emit(&self.0.name, event, args),
            None => {
                tracing::warn!("this adapter does not support the serverSideEmit() functionality")
            }
        }
        Ok(())
    }

    /// Like [`Namespace::server_side_emit`], collecting every other server's answer (the
    /// first argument of its acknowledgement). Fails with [`EmitError::Timeout`] when not
    /// every server answered within the adapter's `requests_timeout`, and with
    /// [`EmitError::Unsupported`] on the in-memory adapter (socket.io logs a warning and
    /// never calls the callback).
    pub async fn server_side_emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
    ) -> Result<Vec<Value>, EmitError> {
        super::socket::check_event_name(event)?;
        match self.0.cluster.get() {
            Some(cluster) => {
                cluster
                    .server_side_emit_with_ack(&self.0.name, event, args)
                    .await
            }
            None => {
                tracing::warn!("this adapter does not support the serverSideEmit() functionality");
                Err(EmitError::Unsupported("serverSideEmit"))
            }
        }
    }

    /// Handles `event` when another server of the cluster sends it with
    /// `serverSideEmit` (socket.io's `io.on(event, (...args, callback) => ..)`); the
    /// [`ServerAck`] is there when the sender waits for an answer.
    pub fn on_server_event(
        &self,
        event: &str,
        handler: impl Fn(Vec<Value>, Option<ServerAck>) + Send + Sync + 'static,
    ) {
        write(&self.0.server_events)
            .entry(event.to_owned())
            .or_default()
            .push(Arc::new(handler));
    }

    /// Runs the handlers of a `serverSideEmit` event from another server.
    pub(crate) fn dispatch_server_event(
        &self,
        event: &str,
        args: Vec<Value>,
        ack: Option<ServerAck>,
    ) {
        let handlers = read(&self.0.server_events)
            .get(event)
            .cloned()
            .unwrap_or_default();
        let mut ack = ack;
        for handler in handlers {
            handler(args.clone(), ack.take());
        }
    }

    /// The rooms of every server of the cluster, without duplicates (socket.io's
    /// `adapter.allRooms()`); only this server's without a cluster adapter.
    pub async fn all_rooms(&self) -> Result<Vec<String>, EmitError> {
        let mut rooms = self.rooms();
        if let Some(cluster) = self.0.cluster.get() {
            rooms.extend(cluster.all_rooms(&self.0.name).await?);
        }
        rooms.sort();
        rooms.dedup();
        Ok(rooms)
    }

    /// Whether `room` has a socket of this server.
    pub(crate) fn has_room(&self, room: &str) -> bool {
        read(&self.0.rooms).has_room(room)
    }

    /// The names of every room with at least one socket.
    pub fn rooms(&self) -> Vec<String> {
        read(&self.0.rooms)
            .all_rooms()
            .iter()
            .map(|r| r.to_string())
            .collect()
    }
}
