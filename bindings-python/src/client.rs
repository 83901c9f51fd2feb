//! The client: polysocket's Rust client under python-socketio's `AsyncClient`
//! (`polysocket/client.py`). One [`NativeClient`] is one connection; each namespace is a
//! socket over it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use polysocket::client::{
    Client, ClientAck, ClientError, ClientOptions, ClientSocket, ManagerNotice,
};
use polysocket::{Parser, Transport, Value};
use pyo3::exceptions::{PyConnectionError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{NO_TIMEOUT, args_from_py, from_py, transports_of};
use crate::dispatch::{Dispatcher, Notice, Outcome, engine_error};
use crate::lock;

/// A connection to a Socket.IO server (the engine under `polysocket.AsyncClient`).
#[pyclass(frozen, module = "polysocket._native")]
pub(crate) struct NativeClient {
    client: Client,
    sockets: Mutex<HashMap<String, ClientSocket>>,
    dispatcher: Arc<Dispatcher>,
}

/// python-socketio's client disconnect reasons (`AsyncClient.reason`).
fn python_reason(
    reason: polysocket::proto::socketio::client::ClientDisconnectReason,
) -> &'static str {
    use polysocket::proto::socketio::client::ClientDisconnectReason as R;
    match reason {
        R::IoServerDisconnect => "server disconnect",
        R::IoClientDisconnect => "client disconnect",
        R::PingTimeout | R::TransportClose | R::TransportError | R::ParseError => "transport error",
    }
}

impl NativeClient {
    fn socket(&self, nsp: &str) -> PyResult<ClientSocket> {
        lock(&self.sockets)
            .get(nsp)
            .cloned()
            .ok_or_else(|| PyValueError::new_err(format!("{nsp} is not a connected namespace.")))
    }
}

#[pymethods]
impl NativeClient {
    /// A client for `url` with python-socketio's options (see `polysocket/client.py`);
    /// nothing connects before `socket(..)`.
    #[new]
    fn new(url: &str, options: &Bound<'_, PyDict>) -> PyResult<NativeClient> {
        let mut config = ClientOptions {
            auto_connect: false,
            force_new: true,
            ..ClientOptions::default()
        };
        let get = |name: &str| options.get_item(name);
        if let Some(path) = get("path")? {
            config.path = path.extract()?;
        }
        if let Some(transports) = get("transports")? {
            config.transports = transports_of(&transports)?;
        }
        if let Some(headers) = get("headers")? {
            config.extra_headers = headers.extract()?;
        }
        if let Some(auth) = get("auth")? {
            config.auth = from_py(&auth)?;
        }
        if let Some(on) = get("reconnection")? {
            config.manager.reconnection = on.extract()?;
        }
        if let Some(attempts) = get("reconnection_attempts")? {
            let attempts: u32 = attempts.extract()?;
            config.manager.reconnection_attempts = (attempts > 0).then_some(attempts);
        }
        if let Some(delay) = get("reconnection_delay")? {
            config.manager.reconnection_delay = Duration::from_secs_f64(delay.extract()?);
        }
        if let Some(delay) = get("reconnection_delay_max")? {
            config.manager.reconnection_delay_max = Duration::from_secs_f64(delay.extract()?);
        }
        if let Some(factor) = get("randomization_factor")? {
            config.manager.randomization_factor = factor.extract()?;
        }
        if let Some(timeout) = get("request_timeout")? {
            config.manager.timeout = Duration::from_secs_f64(timeout.extract()?);
        }
        if let Some(serializer) = get("serializer")? {
            config.manager.parser = match serializer.extract::<String>()?.as_str() {
                "msgpack" => Parser::Msgpack,
                _ => Parser::Default,
            };
        }
        let dispatcher = Dispatcher::new().map_err(engine_error)?;
        let _guard = crate::runtime().enter();
        let (client, _nsp) = Client::new(url, config).map_err(|e| match e {
            ClientError::InvalidOptions(message) => PyValueError::new_err(message),
            other => PyConnectionError::new_err(other.to_string()),
        })?;
        let manager_dispatcher = dispatcher.clone();
        client.on_manager_event(move |notice| {
            let (kind, detail) = match notice {
                ManagerNotice::Open => ("open", String::new()),
                ManagerNotice::Error(message) => ("error", message.clone()),
                ManagerNotice::ReconnectAttempt(n) => ("reconnect_attempt", n.to_string()),
                ManagerNotice::Reconnect(n) => ("reconnect", n.to_string()),
                ManagerNotice::ReconnectError(message) => ("reconnect_error", message.clone()),
                ManagerNotice::ReconnectFailed => ("reconnect_failed", String::new()),
                ManagerNotice::Close(reason) => ("close", reason.as_str().to_owned()),
            };
            manager_dispatcher.push(Notice::ClientManager { kind, detail });
        });
        Ok(NativeClient {
            client,
            sockets: Mutex::new(HashMap::new()),
            dispatcher,
        })
    }

    /// The descriptor to watch (`loop.add_reader`): readable when `drain` has notices.
    fn wake_fd(&self) -> i32 {
        self.dispatcher.wake_fd()
    }

    /// Every waiting notice, oldest first: `("c_connect", nsp, sid)`,
    /// `("c_error", nsp, message, data)`, `("c_disconnect", nsp, reason)`,
    /// `("c_event", nsp, name, args, ack)`, `("c_manager", kind, detail)`,
    /// `("done", call, ok, value)`.
    fn drain<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyList>> {
        self.dispatcher.drain(py)
    }

    /// Connects namespace `nsp` (with `auth`, when given, as its CONNECT payload).
    #[pyo3(signature = (nsp, auth=None))]
    fn connect(&self, nsp: &str, auth: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let auth = auth.map(from_py).transpose()?;
        let _guard = crate::runtime().enter();
        let socket = self.client.socket(nsp);
        if let Some(auth) = auth {
            socket.set_auth(auth);
        }
        let dispatcher = self.dispatcher.clone();
        socket.on_connect(move |socket| {
            dispatcher.push(Notice::ClientConnect {
                nsp: socket.nsp().to_owned(),
                sid: socket.id().unwrap_or_default(),
            });
        });
        let dispatcher = self.dispatcher.clone();
        socket.on_connect_error(move |socket, message, data| {
            dispatcher.push(Notice::ClientConnectError {
                nsp: socket.nsp().to_owned(),
                message: message.to_owned(),
                data: data.cloned(),
            });
        });
        let dispatcher = self.dispatcher.clone();
        socket.on_disconnect(move |socket, reason| {
            dispatcher.push(Notice::ClientDisconnect {
                nsp: socket.nsp().to_owned(),
                reason: python_reason(reason),
            });
        });
        let dispatcher = self.dispatcher.clone();
        socket.on_every_event(move |socket, mut event| {
            let ack = event.ack();
            dispatcher.push(Notice::ClientEvent {
                nsp: socket.nsp().to_owned(),
                name: std::mem::take(&mut event.name),
                args: std::mem::take(&mut event.args),
                ack,
            });
        });
        socket.connect();
        lock(&self.sockets).insert(socket.nsp().to_owned(), socket);
        Ok(())
    }

    /// Emits `event` with `args` in namespace `nsp` (buffered while disconnected).
    fn emit(&self, nsp: &str, event: &str, args: &Bound<'_, PyAny>) -> PyResult<()> {
        let args = args_from_py(args)?;
        self.socket(nsp)?
            .emit_args(event, args)
            .map_err(engine_error)
    }

    /// Emits `event` and ends call `call` with the acknowledgement's arguments (or
    /// `"timeout"`, `"disconnected"`).
    #[pyo3(signature = (call, nsp, event, args, timeout=None))]
    fn emit_with_ack(
        &self,
        call: u64,
        nsp: &str,
        event: &str,
        args: &Bound<'_, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<()> {
        let args = args_from_py(args)?;
        let socket = self.socket(nsp)?;
        let timeout = timeout
            .filter(|t| t.is_finite() && *t >= 0.0)
            .map_or(NO_TIMEOUT, Duration::from_secs_f64);
        let dispatcher = self.dispatcher.clone();
        let event = event.to_owned();
        crate::runtime().spawn(async move {
            let outcome = match socket.emit_with_ack_timeout(&event, args, timeout).await {
                Ok(args) => Outcome::Args(args),
                Err(ClientError::AckTimeout) => Outcome::Failed("timeout".to_owned()),
                Err(ClientError::Disconnected) => Outcome::Failed("disconnected".to_owned()),
                Err(error) => Outcome::Failed(error.to_string()),
            };
            dispatcher.done(call, outcome);
        });
        Ok(())
    }

    /// Leaves namespace `nsp`.
    fn disconnect(&self, nsp: &str) {
        if let Some(socket) = lock(&self.sockets).remove(nsp) {
            let _guard = crate::runtime().enter();
            socket.disconnect();
        }
    }

    /// Closes the connection (every namespace).
    fn close(&self) {
        let _guard = crate::runtime().enter();
        for (_, socket) in lock(&self.sockets).drain() {
            socket.disconnect();
        }
        self.client.close();
    }

    /// The Engine.IO session id.
    fn engine_id(&self) -> Option<String> {
        self.client.engine_id()
    }

    /// `"polling"` or `"websocket"`.
    fn transport(&self) -> Option<&'static str> {
        self.client.transport().map(|t| match t {
            Transport::Polling => "polling",
            Transport::WebSocket => "websocket",
        })
    }
}

/// A server's request for an acknowledgement: `send(args)` answers it (once).
#[pyclass(frozen, module = "polysocket._native")]
pub(crate) struct NativeClientAck(pub(crate) Mutex<Option<ClientAck>>);

#[pymethods]
impl NativeClientAck {
    /// Sends the acknowledgement with `args` (a list); later calls do nothing.
    fn send(&self, args: &Bound<'_, PyAny>) -> PyResult<()> {
        if let Some(ack) = lock(&self.0).take() {
            ack.send_args(args_from_py(args)?);
        }
        Ok(())
    }
}

/// The value of a `connect_error`, as python-socketio hands it to `connect_error`
/// handlers: the server's `{"message", "data"}` object.
pub(crate) fn connect_error_value(message: &str, data: Option<&Value>) -> Value {
    let mut map = polysocket::Map::new();
    map.insert("message".to_owned(), Value::String(message.to_owned()));
    if let Some(data) = data {
        map.insert("data".to_owned(), data.clone());
    }
    Value::Object(map)
}
