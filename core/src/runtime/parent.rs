//! Dynamic namespaces: a parent matches namespace names by regex or by predicate and creates
//! a child namespace for each name a client connects to (socket.io's `ParentNamespace`).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock, Weak};

use serde::Serialize;

use super::namespace::{ConnectError, Namespace, read, write};
use super::server::ServerInner;
use super::socket::{EmitError, Socket};
use crate::proto::value::Value;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
type Predicate = Arc<dyn Fn(String, Value) -> BoxFuture<bool> + Send + Sync>;

/// How a parent decides which names are its children.
#[derive(Clone)]
pub(crate) enum Matcher {
    Regex(regex_lite::Regex),
    Predicate(Predicate),
}

pub(crate) struct ParentInner {
    matcher: Matcher,
    /// Holds the handlers and middlewares every child starts with.
    template: Namespace,
    children: RwLock<Vec<Namespace>>,
}

/// A parent of dynamic namespaces (`io.of(/regex/)` or `io.of(fn)`). Connection handlers
/// and middlewares added here are copied into every child created after they were added;
/// [`ParentNamespace::emit`] reaches the sockets of every child.
#[derive(Clone)]
pub struct ParentNamespace(pub(crate) Arc<ParentInner>);

impl std::fmt::Debug for ParentNamespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ParentNamespace")
            .field(&self.0.template.name())
            .finish()
    }
}

impl ParentNamespace {
    pub(crate) fn new(
        matcher: Matcher,
        label: &str,
        config: &super::config::ServerConfig,
        cluster: Option<&super::cluster::ClusterAdapter>,
    ) -> ParentNamespace {
        ParentNamespace(Arc::new(ParentInner {
            matcher,
            template: Namespace::new(label, config, cluster),
            children: RwLock::new(Vec::new()),
        }))
    }

    /// The namespace every child is copied from.
    pub(crate) fn template(&self) -> Namespace {
        self.0.template.clone()
    }

    /// Whether a client may create or join child `name` with `auth`.
    pub(crate) async fn matches(&self, name: &str, auth: &Value) -> bool {
        match &self.0.matcher {
            Matcher::Regex(regex) => regex.is_match(name),
            Matcher::Predicate(predicate) => predicate(name.to_owned(), auth.clone()).await,
        }
    }

    /// Calls `handler` for every socket that joins any child.
    pub fn on_connection(&self, handler: impl Fn(Socket) + Send + Sync + 'static) {
        self.0.template.on_connection(handler);
    }

    /// Adds a connect middleware for every child.
    pub fn use_middleware(
        &self,
        middleware: impl Fn(&Socket) -> Result<(), ConnectError> + Send + Sync + 'static,
    ) {
        self.0.template.use_middleware(middleware);
    }

    /// Adds an asynchronous connect middleware for every child.
    pub fn use_async_middleware<F, Fut>(&self, middleware: F)
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.0.template.use_async_middleware(middleware);
    }

    /// The child namespaces that exist now.
    pub fn children(&self) -> Vec<Namespace> {
        read(&self.0.children).clone()
    }

    /// Emits to every socket of every child, with one serializable argument.
    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<(), EmitError> {
        self.emit_args(event, vec![super::socket::serialize(&data)?])
    }

    /// Emits to every socket of every child, with any number of arguments.
    pub fn emit_args(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        for child in self.children() {
            child.emit_args(event, args.clone())?;
        }
        Ok(())
    }

    /// Creates child `name` from the template and registers it with the server; with
    /// `cleanup`, the child goes away again once its last socket left.
    pub(crate) fn create_child(
        &self,
        name: &str,
        server: &Arc<ServerInner>,
        cleanup: bool,
    ) -> Namespace {
        let child = self.0.template.copy_as(name);
        write(&self.0.children).push(child.clone());
        if cleanup {
            let parent: Weak<ParentInner> = Arc::downgrade(&self.0);
            let server: Weak<ServerInner> = Arc::downgrade(server);
            let name = name.to_owned();
            child.on_empty(move |child| {
                if let Some(parent) = parent.upgrade() {
                    write(&parent.children).retain(|c| !c.same(child));
                }
                if let Some(server) = server.upgrade() {
                    server.remove_namespace(&name, child);
                }
            });
        }
        child
    }
}
