//! The client half (`polysocket/client`): polysocket's Rust client under socket.io-client's
//! JavaScript API (`client.js`). One [`NativeClient`] is one Manager (one connection), one
//! [`NativeClientSocket`] one namespace socket over it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::bindgen_prelude::Result;
use napi::{Error, Status};
use napi_derive::napi;
use polysocket::client::{
    Client, ClientAck, ClientError, ClientOptions, ClientSocket, ManagerNotice,
};
use polysocket::{Parser, Value};

use crate::payload::{Payload, args_of, payload_of};
use crate::{Callback, JsFunction, invalid, lock};

/// Something that happened to a client socket, in the order it happened.
#[napi(object)]
pub struct ClientNotice {
    /// `connect`, `connect_error`, `disconnect` or `event`.
    pub kind: String,
    /// `event`: the event name.
    pub event: Option<String>,
    /// `event`: its arguments.
    pub args: Option<Payload>,
    /// `event`: set when the server waits for an acknowledgement (`NativeClientSocket.ack`).
    pub ack_id: Option<u32>,
    /// `connect_error`: the message; `disconnect`: the reason.
    pub message: Option<String>,
    /// `connect_error`: the error's `data`, as JSON.
    pub data_json: Option<String>,
}

/// socket.io-client's manager events.
#[napi(object)]
pub struct ManagerEvent {
    /// `open`, `close`, `error`, `reconnect_attempt`, `reconnect`, `reconnect_error` or
    /// `reconnect_failed`.
    pub kind: String,
    /// `reconnect_attempt`, `reconnect`: the attempt number.
    pub attempt: Option<u32>,
    /// `close`: the reason; `error`, `reconnect_error`: the message.
    pub message: Option<String>,
}

/// One connection to a server (socket.io-client's `Manager`).
#[napi]
pub struct NativeClient {
    client: Client,
    manager_events: Callback<ManagerEvent>,
}

#[napi]
impl NativeClient {
    /// A connection to `url` with socket.io-client's options (JSON); it opens when the first
    /// socket connects.
    #[napi(constructor)]
    pub fn new(url: String, options_json: String) -> Result<NativeClient> {
        let options: serde_json::Value = serde_json::from_str(&options_json).map_err(invalid)?;
        let config = client_options(&options)?;
        let (client, _) =
            napi::bindgen_prelude::within_runtime_if_available(|| Client::new(&url, config))
                .map_err(|e| invalid(e.to_string()))?;
        let manager_events = Callback::empty();
        let sink = manager_events.clone();
        client.on_manager_event(move |notice| sink.call(manager_event(notice)));
        Ok(NativeClient {
            client,
            manager_events,
        })
    }

    /// The socket of namespace `nsp` over this connection (not connected yet).
    #[napi]
    pub fn socket(&self, nsp: String) -> NativeClientSocket {
        NativeClientSocket::new(self.client.socket(&nsp))
    }

    /// Calls `callback` with the manager's events (replacing an earlier callback).
    #[napi]
    pub fn on_manager_event(&self, callback: JsFunction<ManagerEvent>) {
        self.manager_events.replace(callback);
    }

    /// Stops calling the manager callback (so that it no longer keeps Node alive).
    #[napi]
    pub fn release(&self) {
        self.manager_events.release();
    }

    /// The Engine.IO session id of the current connection.
    #[napi(getter)]
    pub fn engine_id(&self) -> Option<String> {
        self.client.engine_id()
    }

    /// The transport of the current (or last) connection: `polling` or `websocket`.
    #[napi(getter)]
    pub fn transport(&self) -> Option<String> {
        self.client.transport().map(|t| {
            match t {
                polysocket::Transport::Polling => "polling",
                polysocket::Transport::WebSocket => "websocket",
            }
            .to_owned()
        })
    }

    /// Closes the connection for good and releases the manager callback.
    #[napi]
    pub fn close(&self) {
        self.client.close();
        self.manager_events.release();
    }
}

/// One namespace's socket over a [`NativeClient`].
#[napi]
pub struct NativeClientSocket {
    socket: ClientSocket,
    notices: Callback<ClientNotice>,
    acks: Arc<Mutex<HashMap<u32, ClientAck>>>,
}

impl NativeClientSocket {
    fn new(socket: ClientSocket) -> NativeClientSocket {
        let notices = Callback::empty();
        let acks: Arc<Mutex<HashMap<u32, ClientAck>>> = Arc::default();
        let next_ack = Arc::new(AtomicU32::new(1));
        let sink = notices.clone();
        let pending = acks.clone();
        socket.on_every_event(move |_, mut event| {
            let ack_id = event.ack().map(|ack| {
                let id = next_ack.fetch_add(1, Ordering::Relaxed);
                lock(&pending).insert(id, ack);
                id
            });
            sink.call(ClientNotice {
                kind: "event".to_owned(),
                event: Some(std::mem::take(&mut event.name)),
                args: Some(payload_of(std::mem::take(&mut event.args))),
                ack_id,
                message: None,
                data_json: None,
            });
        });
        let sink = notices.clone();
        socket.on_connect(move |_| sink.call(notice("connect", None, None)));
        let sink = notices.clone();
        socket.on_connect_error(move |_, message, data| {
            sink.call(notice(
                "connect_error",
                Some(message.to_owned()),
                data.map(|d| d.to_json_lossy().to_string()),
            ))
        });
        let sink = notices.clone();
        let pending = acks.clone();
        socket.on_disconnect(move |_, reason| {
            lock(&pending).clear();
            sink.call(notice("disconnect", Some(reason.as_str().to_owned()), None))
        });
        NativeClientSocket {
            socket,
            notices,
            acks,
        }
    }
}

fn notice(kind: &str, message: Option<String>, data_json: Option<String>) -> ClientNotice {
    ClientNotice {
        kind: kind.to_owned(),
        event: None,
        args: None,
        ack_id: None,
        message,
        data_json,
    }
}

#[napi]
impl NativeClientSocket {
    /// The socket id while connected.
    #[napi(getter)]
    pub fn id(&self) -> Option<String> {
        self.socket.id()
    }

    /// Whether the socket is connected.
    #[napi(getter)]
    pub fn connected(&self) -> bool {
        self.socket.connected()
    }

    /// Whether the last connection recovered the previous session.
    #[napi(getter)]
    pub fn recovered(&self) -> bool {
        self.socket.recovered()
    }

    /// Calls `callback` with everything that happens to this socket (replacing an earlier
    /// callback).
    #[napi]
    pub fn listen(&self, callback: JsFunction<ClientNotice>) {
        self.notices.replace(callback);
    }

    /// Stops calling the callback (so that a disconnected socket does not keep Node alive).
    #[napi]
    pub fn release(&self) {
        self.notices.release();
    }

    /// Sets this socket's CONNECT payload (`auth`, as JSON) for its next connections.
    #[napi]
    pub fn set_auth(&self, auth_json: String) -> Result<()> {
        self.socket
            .set_auth(Value::from_json_str(&auth_json).map_err(invalid)?);
        Ok(())
    }

    /// Connects (again).
    #[napi]
    pub fn connect(&self) {
        self.socket.connect();
    }

    /// Disconnects (`io client disconnect`).
    #[napi]
    pub fn disconnect(&self) {
        self.socket.disconnect();
    }

    /// Emits `event`; buffered while disconnected unless `volatile`.
    #[napi]
    pub fn emit(&self, event: String, args: Payload, volatile: bool) -> Result<()> {
        let args = args_of(args)?;
        let sent = if volatile {
            self.socket.emit_volatile(&event, args)
        } else {
            self.socket.emit_args(&event, args)
        };
        sent.map_err(client_error)
    }

    /// Emits `event` and resolves with the server's acknowledgement; rejects with
    /// socket.io-client's messages (`operation has timed out`, ...). Without `timeout_ms`
    /// it waits as long as the connection lives.
    #[napi]
    pub async fn emit_with_ack(
        &self,
        event: String,
        args: Payload,
        timeout_ms: Option<f64>,
    ) -> Result<Payload> {
        let args = args_of(args)?;
        // socket.io-client waits forever without a timeout; a day stands in for that.
        let timeout = timeout_ms
            .filter(|ms| ms.is_finite() && *ms >= 0.0)
            .map_or(Duration::from_secs(86_400), |ms| {
                Duration::from_millis(ms as u64)
            });
        let answer = self
            .socket
            .emit_with_ack_timeout(&event, args, timeout)
            .await
            .map_err(client_error)?;
        Ok(payload_of(answer))
    }

    /// Acknowledges the server's event that carried `ack_id`.
    #[napi]
    pub fn ack(&self, ack_id: u32, args: Payload) -> Result<()> {
        if let Some(ack) = lock(&self.acks).remove(&ack_id) {
            ack.send_args(args_of(args)?);
        }
        Ok(())
    }
}

fn client_error(error: ClientError) -> Error {
    Error::new(Status::GenericFailure, error.to_string())
}

fn manager_event(notice: &ManagerNotice) -> ManagerEvent {
    let (kind, attempt, message) = match notice {
        ManagerNotice::Open => ("open", None, None),
        ManagerNotice::Close(reason) => ("close", None, Some(reason.as_str().to_owned())),
        ManagerNotice::Error(message) => ("error", None, Some(message.clone())),
        ManagerNotice::ReconnectAttempt(n) => ("reconnect_attempt", Some(*n), None),
        ManagerNotice::Reconnect(n) => ("reconnect", Some(*n), None),
        ManagerNotice::ReconnectError(message) => ("reconnect_error", None, Some(message.clone())),
        ManagerNotice::ReconnectFailed => ("reconnect_failed", None, None),
    };
    ManagerEvent {
        kind: kind.to_owned(),
        attempt,
        message,
    }
}

/// socket.io-client's options (its names and defaults) as [`ClientOptions`].
fn client_options(options: &serde_json::Value) -> Result<ClientOptions> {
    let mut config = ClientOptions {
        auto_connect: false,
        force_new: true,
        ..ClientOptions::default()
    };
    let ms = |name: &str| {
        options
            .get(name)
            .and_then(serde_json::Value::as_f64)
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map(|v| Duration::from_millis(v as u64))
    };
    let flag = |name: &str| options.get(name).and_then(serde_json::Value::as_bool);
    if let Some(path) = options.get("path").and_then(|v| v.as_str()) {
        config.path = if path.ends_with('/') {
            path.to_owned()
        } else {
            format!("{path}/")
        };
    }
    if let Some(query) = options.get("query").and_then(|v| v.as_object()) {
        config.query = query
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect();
    }
    if let Some(list) = crate::config::transports_option(options) {
        if list.is_empty() {
            return Err(invalid("transports: none of \"polling\" and \"websocket\""));
        }
        config.transports = list;
    }
    if let Some(headers) = options.get("extraHeaders").and_then(|v| v.as_object()) {
        config.extra_headers = headers
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect();
    }
    if let Some(v) = flag("upgrade") {
        config.upgrade = v;
    }
    if let Some(v) = flag("withCredentials") {
        config.with_credentials = v;
    }
    if let Some(v) = flag("reconnection") {
        config.manager.reconnection = v;
    }
    if let Some(v) = options
        .get("reconnectionAttempts")
        .and_then(serde_json::Value::as_f64)
    {
        config.manager.reconnection_attempts =
            (v.is_finite() && v >= 0.0).then(|| v.min(f64::from(u32::MAX)) as u32);
    }
    if let Some(v) = ms("reconnectionDelay") {
        config.manager.reconnection_delay = v;
    }
    if let Some(v) = ms("reconnectionDelayMax") {
        config.manager.reconnection_delay_max = v;
    }
    if let Some(v) = options
        .get("randomizationFactor")
        .and_then(serde_json::Value::as_f64)
    {
        config.manager.randomization_factor = v.clamp(0.0, 1.0);
    }
    if let Some(v) = ms("timeout") {
        config.manager.timeout = v;
    }
    if let Some(v) = ms("ackTimeout") {
        config.ack_timeout = v;
        config.manager.ack_timeout = Some(v);
    }
    if let Some(v) = options.get("retries").and_then(serde_json::Value::as_u64) {
        config.manager.retries = u32::try_from(v).unwrap_or(u32::MAX);
    }
    if options.get("parser").and_then(|v| v.as_str()) == Some("msgpack") {
        config.manager.parser = Parser::Msgpack;
    }
    Ok(config)
}
