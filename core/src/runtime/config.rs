//! Server options, with socket.io's names and defaults.

use std::time::Duration;

use crate::proto::engineio::{SessionConfig, Transport};
use crate::proto::socketio::Parser;

/// Which origins may reach the server from a browser (socket.io's `cors.origin`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigin {
    /// `*`: any origin.
    Any,
    /// Reflect the request's `Origin` (socket.io's `origin: true`).
    Reflect,
    /// Only these origins.
    List(Vec<String>),
}

/// CORS settings (socket.io's `cors` option). Without it, no CORS header is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// Most packets queued for one client before emits to it fail with
    /// [`EmitError::Saturated`](crate::EmitError::Saturated) (polysocket's backpressure).
    pub max_buffered_packets: usize,
    /// socket.io-parser's `maxAttachments` (default 10).
    pub max_attachments: usize,
    /// `cleanupEmptyChildNamespaces` (default false): a dynamic namespace's child goes away
    /// once its last socket left.
    pub cleanup_empty_child_namespaces: bool,
    /// `parser` (default socket.io's own): [`Parser::Msgpack`] for clients configured with
    /// npm `socket.io-msgpack-parser`.
    pub parser: Parser,
    /// `connectionStateRecovery` (default off): sockets that lose their connection get
    /// their id, rooms, data and missed events back when they reconnect in time.
    pub connection_state_recovery: Option<ConnectionStateRecovery>,
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
            max_attachments: crate::proto::socketio::DEFAULT_MAX_ATTACHMENTS,
            cleanup_empty_child_namespaces: false,
            connection_state_recovery: None,
            parser: Parser::Default,
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
