//! [`SocketOptions`]: socket.io-client's options, with its defaults, as a record with
//! default values (named arguments in Kotlin and Swift).

use std::collections::HashMap;
use std::time::Duration;

use polysocket::client::ClientOptions;
use polysocket::proto::engineio::Transport as EngineTransport;

use crate::value::JsonValue;

/// A transport of socket.io-client's `transports` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Transport {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    Websocket,
}

/// socket.io-client's options (`io(url, options)`); every field has that library's
/// default.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SocketOptions {
    /// `transports`, in the order tried; empty means socket.io-client's default
    /// (long-polling, then the upgrade to WebSocket).
    #[uniffi(default)]
    pub transports: Vec<Transport>,
    /// `upgrade`: move from long-polling to WebSocket when the server offers it.
    #[uniffi(default = true)]
    pub upgrade: bool,
    /// `path` of the Engine.IO endpoint.
    #[uniffi(default = "/socket.io/")]
    pub path: String,
    /// `query`: extra query parameters on every request.
    #[uniffi(default)]
    pub query: HashMap<String, String>,
    /// `extraHeaders`: sent with every HTTP request and the WebSocket handshake.
    #[uniffi(default)]
    pub extra_headers: HashMap<String, String>,
    /// `auth`: the namespace CONNECT payload (an object). Change it for the next
    /// connections with `SocketClient.setAuth`.
    #[uniffi(default = None)]
    pub auth: Option<JsonValue>,
    /// `reconnection`.
    #[uniffi(default = true)]
    pub reconnection: bool,
    /// `reconnectionAttempts`; none: unlimited.
    #[uniffi(default = None)]
    pub reconnection_attempts: Option<u32>,
    /// `reconnectionDelay`, milliseconds.
    #[uniffi(default = 1000)]
    pub reconnection_delay_ms: u64,
    /// `reconnectionDelayMax`, milliseconds.
    #[uniffi(default = 5000)]
    pub reconnection_delay_max_ms: u64,
    /// `randomizationFactor` (0 to 1).
    #[uniffi(default = 0.5)]
    pub randomization_factor: f64,
    /// `timeout`: how long opening a connection may take, milliseconds.
    #[uniffi(default = 20000)]
    pub timeout_ms: u64,
    /// `ackTimeout`: the default wait of `emitWithAck`, and of each try with `retries`,
    /// milliseconds (socket.io-client has none: 20 s here keeps a lost answer from waiting
    /// forever).
    #[uniffi(default = 20000)]
    pub ack_timeout_ms: u64,
    /// `retries`: with more than 0, emits are delivered at least once: sent one at a time,
    /// and again (up to this many times) when no ack comes within `ack_timeout_ms`.
    #[uniffi(default = 0)]
    pub retries: u32,
    /// `withCredentials`: keep the cookies the server sets (sticky sessions behind a load
    /// balancer).
    #[uniffi(default = false)]
    pub with_credentials: bool,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            transports: Vec::new(),
            upgrade: true,
            path: "/socket.io/".to_owned(),
            query: HashMap::new(),
            extra_headers: HashMap::new(),
            auth: None,
            reconnection: true,
            reconnection_attempts: None,
            reconnection_delay_ms: 1000,
            reconnection_delay_max_ms: 5000,
            randomization_factor: 0.5,
            timeout_ms: 20_000,
            ack_timeout_ms: 20_000,
            retries: 0,
            with_credentials: false,
        }
    }
}

impl SocketOptions {
    /// The Rust client's options. Sockets are never shared implicitly here: an app gets
    /// another namespace on the same connection with `SocketClient.socket`.
    pub(crate) fn to_client_options(&self) -> ClientOptions {
        let mut options = ClientOptions {
            path: self.path.clone(),
            query: sorted(&self.query),
            upgrade: self.upgrade,
            extra_headers: sorted(&self.extra_headers),
            auth: self
                .auth
                .clone()
                .map_or(polysocket::Value::Null, polysocket::Value::from),
            ack_timeout: Duration::from_millis(self.ack_timeout_ms),
            auto_connect: false,
            force_new: true,
            with_credentials: self.with_credentials,
            ..ClientOptions::default()
        };
        if !self.transports.is_empty() {
            options.transports = self
                .transports
                .iter()
                .map(|t| match t {
                    Transport::Polling => EngineTransport::Polling,
                    Transport::Websocket => EngineTransport::WebSocket,
                })
                .collect();
        }
        let manager = &mut options.manager;
        manager.reconnection = self.reconnection;
        manager.reconnection_attempts = self.reconnection_attempts;
        manager.reconnection_delay = Duration::from_millis(self.reconnection_delay_ms);
        manager.reconnection_delay_max = Duration::from_millis(self.reconnection_delay_max_ms);
        manager.randomization_factor = self.randomization_factor.clamp(0.0, 1.0);
        manager.timeout = Duration::from_millis(self.timeout_ms);
        // Each try of a `retries` emit waits `ack_timeout` too: the client takes it from there.
        manager.retries = self.retries;
        options
    }
}

/// A map's pairs in key order (the same requests every time).
fn sorted(map: &HashMap<String, String>) -> Vec<(String, String)> {
    let mut pairs: Vec<_> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    pairs.sort();
    pairs
}
