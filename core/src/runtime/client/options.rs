//! The client's options (socket.io-client's names and defaults) and the endpoint they
//! describe.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::cookies::CookieJar;

use crate::proto::engineio::Transport;
use crate::proto::socketio::Parser;
use crate::proto::socketio::client::ManagerConfig;
use crate::proto::value::Value;

/// socket.io-client's options for `io(url, options)`.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// `path` (default `/socket.io/`).
    pub path: String,
    /// `query`: extra query parameters on every request.
    pub query: Vec<(String, String)>,
    /// `transports` (default polling, then websocket), in the order tried.
    pub transports: Vec<Transport>,
    /// `upgrade` (default true): move from polling to WebSocket when the server offers it.
    pub upgrade: bool,
    /// `extraHeaders`: sent with every HTTP request and the WebSocket handshake.
    pub extra_headers: Vec<(String, String)>,
    /// `auth`: the namespace CONNECT payload (an object; `null` sends none).
    pub auth: Value,
    /// `auth` as a function: called for every (re)connection, replacing [`ClientOptions::auth`].
    pub auth_fn: Option<AuthFn>,
    /// `ackTimeout`: the default timeout of [`ClientSocket::emit_with_ack`](super::ClientSocket::emit_with_ack)
    /// (socket.io-client has none; 20 s here keeps a lost answer from waiting forever).
    pub ack_timeout: Duration,
    /// `autoConnect` (default true).
    pub auto_connect: bool,
    /// `forceNew` (default false): a connection of its own instead of sharing one with the
    /// other sockets opened by [`connect`](super::connect) for the same server.
    pub force_new: bool,
    /// `multiplex` (default true): `false` is the same as `force_new`.
    pub multiplex: bool,
    /// `withCredentials` (default false): keep the cookies the server sets and send them
    /// back with every later request and the WebSocket handshake (socket.io-client's
    /// cookie jar in Node; needed behind sticky-session load balancers).
    pub with_credentials: bool,
    /// `reconnection`, `reconnectionAttempts`, `reconnectionDelay`,
    /// `reconnectionDelayMax`, `randomizationFactor`, `timeout`, `parser`.
    pub manager: ManagerConfig,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            path: "/socket.io/".to_owned(),
            query: Vec::new(),
            transports: vec![Transport::Polling, Transport::WebSocket],
            upgrade: true,
            extra_headers: Vec::new(),
            auth: Value::Null,
            auth_fn: None,
            ack_timeout: Duration::from_secs(20),
            auto_connect: true,
            force_new: false,
            multiplex: true,
            with_credentials: false,
            manager: ManagerConfig::default(),
        }
    }
}

impl ClientOptions {
    /// Sets the parser (`parser` option).
    pub fn with_parser(mut self, parser: Parser) -> Self {
        self.manager.parser = parser;
        self
    }
}

/// socket.io-client's `auth` callback: gives the CONNECT payload of each (re)connection.
#[derive(Clone)]
pub struct AuthFn(pub Arc<dyn Fn() -> Value + Send + Sync>);

impl AuthFn {
    /// Wraps `auth`.
    pub fn new(auth: impl Fn() -> Value + Send + Sync + 'static) -> AuthFn {
        AuthFn(Arc::new(auth))
    }
}

impl std::fmt::Debug for AuthFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthFn(..)")
    }
}

/// Where the Engine.IO endpoint is.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) extra_headers: Vec<(String, String)>,
    /// The cookie jar, with `withCredentials`.
    pub(crate) cookies: Option<Arc<Mutex<CookieJar>>>,
}

impl Endpoint {
    /// Splits `url` (`http://host:port/namespace`) into the endpoint and the namespace.
    pub(crate) fn parse(url: &str, options: &ClientOptions) -> Result<(Endpoint, String), String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("invalid URL {url:?}: {e}"))?;
        let scheme = uri.scheme_str().unwrap_or("http");
        if !matches!(scheme, "http" | "ws") {
            return Err(format!(
                "unsupported scheme {scheme:?} (TLS is not supported yet)"
            ));
        }
        let host = uri.host().ok_or_else(|| format!("no host in {url:?}"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let nsp = match uri.path() {
            "" | "/" => "/".to_owned(),
            path => path.trim_end_matches('/').to_owned(),
        };
        let mut path = options.path.clone();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        if !path.ends_with('/') {
            path.push('/');
        }
        let mut query = options.query.clone();
        if let Some(q) = uri.query() {
            query.extend(crate::proto::engineio::query_pairs(q));
        }
        let endpoint = Endpoint {
            host,
            port: uri.port_u16().unwrap_or(80),
            path,
            query,
            extra_headers: options.extra_headers.clone(),
            cookies: options.with_credentials.then(Arc::default),
        };
        Ok((endpoint, nsp))
    }

    /// `scheme://host:port`: socket.io-client shares one connection per such origin.
    pub(crate) fn origin(&self) -> String {
        format!("http://{}", self.authority())
    }

    /// The `Cookie` header for the next request (with `withCredentials`).
    pub(crate) fn cookie_header(&self) -> Option<http::HeaderValue> {
        let jar = self.cookies.as_ref()?;
        let header = jar
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .header(Instant::now())?;
        http::HeaderValue::from_str(&header).ok()
    }

    /// Keeps the cookies of a response's `Set-Cookie` headers (with `withCredentials`).
    pub(crate) fn store_cookies(&self, headers: &http::HeaderMap) {
        if let Some(jar) = &self.cookies {
            let mut jar = jar.lock().unwrap_or_else(|p| p.into_inner());
            for value in headers.get_all(http::header::SET_COOKIE) {
                if let Ok(value) = value.to_str() {
                    jar.store(value, Instant::now());
                }
            }
        }
    }

    /// `host:port`.
    pub(crate) fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `path?EIO=4&transport=..&sid=..&query`.
    pub(crate) fn target(&self, transport: &str, sid: Option<&str>) -> String {
        let mut target = format!("{}?EIO=4&transport={transport}", self.path);
        if let Some(sid) = sid {
            target.push_str("&sid=");
            target.push_str(&encode(sid));
        }
        for (key, value) in &self.query {
            target.push('&');
            target.push_str(&encode(key));
            target.push('=');
            target.push_str(&encode(value));
        }
        target
    }

    /// A full URL with `scheme`.
    pub(crate) fn url(&self, scheme: &str, transport: &str, sid: Option<&str>) -> String {
        format!(
            "{scheme}://{}{}",
            self.authority(),
            self.target(transport, sid)
        )
    }
}

/// Percent-encodes a query component.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
