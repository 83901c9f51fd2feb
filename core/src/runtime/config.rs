//! Server options, with socket.io's names and defaults.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::proto::engineio::{SessionConfig, Transport};
use crate::proto::socketio::Parser;

/// Which origins may reach the server from a browser (socket.io's `cors.origin`).
#[derive(Debug, Clone)]
pub enum CorsOrigin {
    /// `*`: any origin.
    Any,
    /// Reflect the request's `Origin` (socket.io's `origin: true`).
    Reflect,
    /// Only these origins.
    List(Vec<String>),
    /// The origins this function accepts (socket.io's `origin: (origin, callback) => ..`).
    Predicate(OriginPredicate),
}

/// A function that tells whether an origin is allowed.
#[derive(Clone)]
pub struct OriginPredicate(pub Arc<dyn Fn(&str) -> bool + Send + Sync>);

impl OriginPredicate {
    /// Wraps `predicate`.
    pub fn new(predicate: impl Fn(&str) -> bool + Send + Sync + 'static) -> OriginPredicate {
        OriginPredicate(Arc::new(predicate))
    }
}

impl std::fmt::Debug for OriginPredicate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OriginPredicate(..)")
    }
}

/// CORS settings (socket.io's `cors` option). Without it, no CORS header is sent.
#[derive(Debug, Clone)]
pub struct Cors {
    /// Allowed origins.
    pub origin: CorsOrigin,
    /// Send `Access-Control-Allow-Credentials: true`.
    pub credentials: bool,
}

impl Cors {
    /// Any origin, without credentials: `cors: { origin: "*" }`.
    pub fn any() -> Cors {
        Cors {
            origin: CorsOrigin::Any,
            credentials: false,
        }
    }
}

/// Server options. Field names follow socket.io's options (in snake case); every default is
/// socket.io v4's.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Path the server answers under (`path`, default `/socket.io/`).
    pub path: String,
    /// `pingInterval` (default 25 s).
    pub ping_interval: Duration,
    /// `pingTimeout` (default 20 s).
    pub ping_timeout: Duration,
    /// `upgradeTimeout` (default 10 s).
    pub upgrade_timeout: Duration,
    /// `maxHttpBufferSize` in bytes (default 1e6): larger polling bodies get HTTP 413,
    /// larger WebSocket messages close the connection.
    pub max_http_buffer_size: u64,
    /// `connectTimeout` (default 45 s): a connection that joins no namespace in time is closed.
    pub connect_timeout: Duration,
    /// `transports` (default polling and websocket).
    pub transports: Vec<Transport>,
    /// `allowUpgrades` (default true).
    pub allow_upgrades: bool,
    /// `cors` (default none).
    pub cors: Option<Cors>,
    /// Most packets queued for one client (polysocket's backpressure, default 8192). When
    /// the queue is full, volatile packets are dropped and other emits to that client fail
    /// with [`EmitError::Saturated`](crate::EmitError::Saturated) (broadcasts skip it), and
    /// [`ServerConfig::on_saturated`] says what happens to the client.
    pub max_buffered_packets: usize,
    /// What happens to a client whose queue is full (default: its emits fail, it stays).
    pub on_saturated: SaturationPolicy,
    /// socket.io-parser's `maxAttachments` (default 10).
    pub max_attachments: usize,
    /// `cleanupEmptyChildNamespaces` (default false): a dynamic namespace's child goes away
    /// once its last socket left.
    pub cleanup_empty_child_namespaces: bool,
    /// `allowRequest` (default none): decides, from the request, whether a new connection
    /// may open; a refusal answers 403 with `{"code":4,"message":..}`.
    pub allow_request: Option<AllowRequest>,
    /// engine.io's `initial_headers` / `headers` events (default none): may change the
    /// headers of every answer the engine gives (not its errors) before it is sent.
    pub response_headers: Option<ResponseHeaders>,
    /// `cookie` (default none): a cookie holding the session id, set on the handshake.
    pub cookie: Option<CookieConfig>,
    /// `httpCompression` (default on, threshold 1024 bytes): long-polling responses at least
    /// this large are compressed (gzip or deflate) for clients that accept it.
    pub http_compression: Option<HttpCompression>,
    /// `perMessageDeflate` (default off, as in socket.io v4): WebSocket messages at least
    /// this large are compressed for clients that offer permessage-deflate.
    pub per_message_deflate: Option<PerMessageDeflate>,
    /// `parser` (default socket.io's own): [`Parser::Msgpack`] for clients configured with
    /// npm `socket.io-msgpack-parser`.
    pub parser: Parser,
    /// `adapter` (default: the in-memory adapter, one server): a [`ClusterAdapter`] makes
    /// broadcasts and server-wide operations reach every server of a cluster.
    pub adapter: Option<super::cluster::ClusterAdapter>,
    /// `connectionStateRecovery` (default off): sockets that lose their connection get
    /// their id, rooms, data and missed events back when they reconnect in time.
    pub connection_state_recovery: Option<ConnectionStateRecovery>,
}

/// A new connection's request, as `allowRequest` sees it.
pub type RequestHead = http::request::Parts;

type AllowFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// engine.io's `allowRequest`: called with every handshake request (a request that opens
/// a session); an `Err(message)` refuses it with HTTP 403 and `{"code":4,"message":..}`.
#[derive(Clone)]
pub struct AllowRequest(pub(crate) Arc<dyn Fn(&RequestHead) -> AllowFuture + Send + Sync>);

impl AllowRequest {
    /// A synchronous check.
    pub fn new(check: impl Fn(&RequestHead) -> Result<(), String> + Send + Sync + 'static) -> Self {
        AllowRequest(Arc::new(move |head| {
            let result = check(head);
            Box::pin(async move { result })
        }))
    }

    /// An asynchronous check; read what it needs from the request before the future starts.
    pub fn new_async<F, Fut>(check: F) -> Self
    where
        F: Fn(&RequestHead) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        AllowRequest(Arc::new(move |head| Box::pin(check(head))))
    }
}

impl std::fmt::Debug for AllowRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AllowRequest(..)")
    }
}

type HeadersFuture = Pin<Box<dyn Future<Output = http::HeaderMap> + Send>>;
type HeadersHook = dyn Fn(&RequestHead, bool, http::HeaderMap) -> HeadersFuture + Send + Sync;

/// engine.io's `initial_headers` and `headers` events: called with the request, whether it
/// opens a session (`initial_headers`), and the headers of the engine's answer to it (a
/// long-polling answer, or a WebSocket's `101 Switching Protocols`); the headers it returns
/// are sent instead. Not called for error answers, as in engine.io.
#[derive(Clone)]
pub struct ResponseHeaders {
    hook: Arc<HeadersHook>,
    /// The hook runs only while this is set (see [`ResponseHeaders::only_while`]).
    active: Option<Arc<std::sync::atomic::AtomicBool>>,
}

impl ResponseHeaders {
    /// A synchronous hook that changes the headers in place.
    pub fn new(
        hook: impl Fn(&RequestHead, bool, &mut http::HeaderMap) + Send + Sync + 'static,
    ) -> Self {
        ResponseHeaders {
            hook: Arc::new(move |head, initial, mut headers| {
                hook(head, initial, &mut headers);
                Box::pin(async move { headers })
            }),
            active: None,
        }
    }

    /// An asynchronous hook; read what it needs from the request before the future starts.
    pub fn new_async<F, Fut>(hook: F) -> Self
    where
        F: Fn(&RequestHead, bool, http::HeaderMap) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = http::HeaderMap> + Send + 'static,
    {
        ResponseHeaders {
            hook: Arc::new(move |head, initial, headers| Box::pin(hook(head, initial, headers))),
            active: None,
        }
    }

    /// Runs the hook only while `active` is set; otherwise answers cost nothing more (e.g. a
    /// binding whose listeners may come and go).
    pub fn only_while(mut self, active: Arc<std::sync::atomic::AtomicBool>) -> Self {
        self.active = Some(active);
        self
    }

    /// Whether the hook runs now.
    pub(crate) fn is_active(&self) -> bool {
        self.active
            .as_ref()
            .is_none_or(|active| active.load(std::sync::atomic::Ordering::Acquire))
    }

    /// The headers to send for an answer to `head`.
    pub(crate) async fn apply(
        &self,
        head: &RequestHead,
        initial: bool,
        headers: http::HeaderMap,
    ) -> http::HeaderMap {
        (self.hook)(head, initial, headers).await
    }
}

impl std::fmt::Debug for ResponseHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseHeaders(..)")
    }
}

/// The `SameSite` attribute of the session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=Lax`.
    Lax,
    /// `SameSite=None`.
    None,
}

/// engine.io's `cookie` option. [`CookieConfig::default`] is what `cookie: true` means:
/// `io`, path `/`, `HttpOnly`, `SameSite=Lax`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieConfig {
    /// The cookie name (default `io`).
    pub name: String,
    /// `Path` (default `/`); `None` leaves it out.
    pub path: Option<String>,
    /// `Domain`.
    pub domain: Option<String>,
    /// `Max-Age` in seconds.
    pub max_age: Option<u64>,
    /// `HttpOnly` (default true).
    pub http_only: bool,
    /// `Secure`.
    pub secure: bool,
    /// `SameSite` (default `Lax`).
    pub same_site: Option<SameSite>,
}

impl Default for CookieConfig {
    fn default() -> Self {
        CookieConfig {
            name: "io".to_owned(),
            path: Some("/".to_owned()),
            domain: None,
            max_age: None,
            http_only: true,
            secure: false,
            same_site: Some(SameSite::Lax),
        }
    }
}

impl CookieConfig {
    /// The `Set-Cookie` value for session `sid`, as npm `cookie`'s `serialize` writes it.
    pub(crate) fn header_value(&self, sid: &str) -> String {
        let mut out = format!("{}={sid}", self.name);
        if let Some(max_age) = self.max_age {
            out.push_str(&format!("; Max-Age={max_age}"));
        }
        if let Some(domain) = &self.domain {
            out.push_str(&format!("; Domain={domain}"));
        }
        if let Some(path) = &self.path {
            out.push_str(&format!("; Path={path}"));
        }
        if self.http_only {
            out.push_str("; HttpOnly");
        }
        if self.secure {
            out.push_str("; Secure");
        }
        match self.same_site {
            Some(SameSite::Strict) => out.push_str("; SameSite=Strict"),
            Some(SameSite::Lax) => out.push_str("; SameSite=Lax"),
            Some(SameSite::None) => out.push_str("; SameSite=None"),
            None => {}
        }
        out
    }
}

/// engine.io's `httpCompression` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpCompression {
    /// Smallest response body that is compressed, in bytes (default 1024).
    pub threshold: usize,
}

impl Default for HttpCompression {
    fn default() -> Self {
        HttpCompression { threshold: 1024 }
    }
}

/// engine.io's `perMessageDeflate` option (`true` in socket.io is the default here).
///
/// The server negotiates no context takeover in either direction: messages are compressed
/// one by one, so connections keep no zlib state and memory stays flat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerMessageDeflate {
    /// Smallest message that is compressed, in bytes (default 1024).
    pub threshold: usize,
}

impl Default for PerMessageDeflate {
    fn default() -> Self {
        PerMessageDeflate { threshold: 1024 }
    }
}

/// What happens to a client whose outbound queue is full
/// ([`ServerConfig::max_buffered_packets`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SaturationPolicy {
    /// The emit fails with `EmitError::Saturated`; the client stays connected and gets
    /// what was queued before.
    #[default]
    Error,
    /// The client is disconnected at once (`forced close`) and its queue dropped.
    Disconnect,
}

/// socket.io's `connectionStateRecovery` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionStateRecovery {
    /// `maxDisconnectionDuration` (default 2 minutes): how long sessions and the packets
    /// sent meanwhile are kept.
    pub max_disconnection_duration: Duration,
    /// `skipMiddlewares` (default true): a recovered socket skips the connect middlewares.
    pub skip_middlewares: bool,
}

impl Default for ConnectionStateRecovery {
    fn default() -> Self {
        ConnectionStateRecovery {
            max_disconnection_duration: Duration::from_secs(120),
            skip_middlewares: true,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            path: "/socket.io/".to_owned(),
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            max_http_buffer_size: 1_000_000,
            connect_timeout: Duration::from_millis(45_000),
            transports: vec![Transport::Polling, Transport::WebSocket],
            allow_upgrades: true,
            cors: None,
            max_buffered_packets: 8_192,
            on_saturated: SaturationPolicy::Error,
            max_attachments: crate::proto::socketio::DEFAULT_MAX_ATTACHMENTS,
            cleanup_empty_child_namespaces: false,
            connection_state_recovery: None,
            parser: Parser::Default,
            allow_request: None,
            response_headers: None,
            cookie: None,
            http_compression: Some(HttpCompression::default()),
            per_message_deflate: None,
            adapter: None,
        }
    }
}

impl ServerConfig {
    /// `maxDisconnectionDuration` when connection state recovery is on.
    pub(crate) fn recovery_duration(&self) -> Option<Duration> {
        self.connection_state_recovery
            .map(|r| r.max_disconnection_duration)
    }

    pub(crate) fn session_config(&self) -> SessionConfig {
        SessionConfig {
            ping_interval: self.ping_interval,
            ping_timeout: self.ping_timeout,
            upgrade_timeout: self.upgrade_timeout,
            max_payload: self.max_http_buffer_size,
            max_buffered_packets: self.max_buffered_packets,
        }
    }

    /// The transports a session that starts on `transport` may upgrade to.
    pub(crate) fn upgrades_from(&self, transport: Transport) -> Vec<Transport> {
        if transport == Transport::Polling
            && self.allow_upgrades
            && self.transports.contains(&Transport::WebSocket)
        {
            vec![Transport::WebSocket]
        } else {
            Vec::new()
        }
    }

    /// `path` normalised to start and end with `/`.
    pub(crate) fn normalized_path(&self) -> String {
        let trimmed = self.path.trim_matches('/');
        if trimmed.is_empty() {
            "/".to_owned()
        } else {
            format!("/{trimmed}/")
        }
    }
}
