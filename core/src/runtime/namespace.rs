//! Namespaces: connection handlers, middlewares, and the sockets and rooms of one namespace.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use serde::Serialize;

use super::broadcast::BroadcastOperator;
use super::socket::{EmitError, Socket};
use crate::proto::rooms::{Room, RoomIndex, Sid};
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
}

/// A namespace (`io.of(name)`): its own handlers, middlewares, sockets and rooms.
#[derive(Clone)]
pub struct Namespace(pub(crate) Arc<NamespaceInner>);

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Namespace").field(&self.0.name).finish()
    }
}

pub(crate) fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

impl Namespace {
    pub(crate) fn new(name: &str) -> Namespace {
        Namespace(Arc::new(NamespaceInner {
            name: Arc::from(name),
            connection_handlers: RwLock::new(Vec::new()),
            middlewares: RwLock::new(Vec::new()),
            sockets: RwLock::new(HashMap::new()),
            rooms: RwLock::new(RoomIndex::new()),
        }))
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

    pub(crate) fn middlewares(&self) -> Vec<Middleware> {
        read(&self.0.middlewares).clone()
    }

    pub(crate) fn add_socket(&self, socket: &Socket) {
        let sid: Sid = socket.sid().clone();
        write(&self.0.sockets).insert(sid.clone(), socket.clone());
        write(&self.0.rooms).join(&sid, &sid);
        let handlers = read(&self.0.connection_handlers).clone();
        for handler in handlers {
            handler(socket.clone());
        }
    }

    pub(crate) fn remove_socket(&self, sid: &Sid) {
        write(&self.0.rooms).leave_all(sid);
        write(&self.0.sockets).remove(sid);
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

    /// The names of every room with at least one socket.
    pub fn rooms(&self) -> Vec<String> {
        read(&self.0.rooms)
            .all_rooms()
            .iter()
            .map(|r| r.to_string())
            .collect()
    }
}
