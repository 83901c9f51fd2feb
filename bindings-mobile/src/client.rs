//! [`SocketClient`]: one namespace's socket over a connection to a Socket.IO server, its
//! listener interface, and the thread that calls the listener.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use polysocket::client::{Client, ClientError, ClientSocket, ManagerNotice};
use polysocket::proto::socketio::client::ClientDisconnectReason;

use crate::options::SocketOptions;
use crate::value::{JsonValue, args_from_json, args_in, args_out, args_to_json};
use crate::{DisconnectReason, SocketError};

/// What the socket reports, implemented by the app (a Kotlin class, a Swift class).
///
/// Every call of one connection's listeners comes on one background thread of that
/// connection, named `polysocket-callbacks`, in the order things happened; the library
/// never waits for it. Hop to the main thread (`Dispatchers.Main`, `DispatchQueue.main`)
/// before touching the UI.
///
/// An exception thrown by a listener is reported on stderr and does not stop the calls
/// that follow.
#[uniffi::export(with_foreign)]
pub trait SocketListener: Send + Sync {
    /// Connected (or reconnected): the socket id, and whether connection state recovery
    /// restored the previous session (missed events then follow).
    fn on_connect(&self, id: String, recovered: bool) -> Result<(), ListenerError>;
    /// The connection or the namespace was refused: socket.io-client's `err.message`
    /// (`"unauthorized"` from a middleware, `"xhr poll error"`, `"timeout"`, ...) and
    /// `err.data`.
    fn on_connect_error(
        &self,
        message: String,
        data: Option<JsonValue>,
    ) -> Result<(), ListenerError>;
    /// Disconnected, with socket.io-client's reason. The client reconnects by itself unless
    /// the reason is `IoServerDisconnect` or `IoClientDisconnect`.
    fn on_disconnect(&self, reason: DisconnectReason) -> Result<(), ListenerError>;
    /// The server emitted `event`; `ack` is set when it waits for an acknowledgement.
    fn on_event(
        &self,
        event: String,
        args: Vec<JsonValue>,
        ack: Option<Arc<Ack>>,
    ) -> Result<(), ListenerError>;
    /// A reconnection attempt starts (1-based).
    fn on_reconnect_attempt(&self, attempt: u32) -> Result<(), ListenerError>;
}

/// An exception thrown by a [`SocketListener`] (any exception: the library reports it and
/// goes on).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum ListenerError {
    /// The listener threw.
    #[error("a listener threw: {reason}")]
    Failed {
        /// The exception, as the platform describes it (`reason`: Kotlin's exceptions
        /// already have a `message`).
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for ListenerError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> ListenerError {
        // The first line: the exception without its stack trace.
        let reason = error.reason.lines().next().unwrap_or_default().to_owned();
        ListenerError::Failed { reason }
    }
}

/// Answers a server's event that asked for an acknowledgement; only the first answer
/// counts.
#[derive(uniffi::Object)]
pub struct Ack {
    inner: Mutex<Option<polysocket::client::ClientAck>>,
}

#[uniffi::export]
impl Ack {
    /// Acknowledges with these arguments.
    pub fn send(&self, args: Vec<JsonValue>) {
        if let Some(ack) = lock(&self.inner).take() {
            ack.send_args(args_in(args));
        }
    }

    /// Acknowledges with the arguments as the text of a JSON array.
    pub fn send_json(&self, args_json: String) -> Result<(), SocketError> {
        let args = args_from_json(&args_json)?;
        if let Some(ack) = lock(&self.inner).take() {
            ack.send_args(args);
        }
        Ok(())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// A call of the app's listener, run on the callback thread.
type Job = Box<dyn FnOnce() + Send>;

/// The callback thread of one connection: runs the listener calls in order, and ends
/// once every socket of the connection is gone. Also knows which namespaces have a
/// `SocketClient` on the connection.
#[derive(Clone)]
struct Callbacks {
    jobs: mpsc::Sender<Job>,
    namespaces: Arc<Mutex<HashSet<String>>>,
}

impl Callbacks {
    fn start() -> Result<Callbacks, SocketError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("polysocket-callbacks".to_owned())
            .spawn(move || {
                for job in queue {
                    // A listener that throws must not take the other callbacks down.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            })
            .map_err(|e| SocketError::InvalidOptions {
                message: format!("cannot start the callback thread: {e}"),
            })?;
        Ok(Callbacks {
            jobs,
            namespaces: Arc::default(),
        })
    }

    /// Queues a listener call; what it throws is reported on stderr.
    fn call(&self, job: impl FnOnce() -> Result<(), ListenerError> + Send + 'static) {
        let _ = self.jobs.send(Box::new(move || {
            if let Err(error) = job() {
                eprintln!("polysocket: {error}");
            }
        }));
    }
}

/// The runtime that runs every connection's I/O (two worker threads named `polysocket-io`).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("polysocket-io")
            .enable_all()
            .build()
            .expect("the I/O runtime of the polysocket client starts")
    })
}

/// A Socket.IO client socket (socket.io-client's `io(url, options)`): one namespace on a
/// connection to a server, with reconnection, the offline send buffer, `retries` and
/// connection state recovery.
///
/// Dropping it (Kotlin `close()`, a Swift `deinit`) disconnects this namespace; the
/// connection closes with its last socket.
#[derive(uniffi::Object)]
pub struct SocketClient {
    socket: ClientSocket,
    callbacks: Callbacks,
}

impl Drop for SocketClient {
    fn drop(&mut self) {
        self.socket.disconnect();
        lock(&self.callbacks.namespaces).remove(self.socket.nsp());
    }
}

#[uniffi::export]
impl SocketClient {
    /// A socket for `url` (`http(s)://host:port/namespace`; the namespace defaults to `/`).
    /// It connects when [`SocketClient::connect`] is called.
    #[uniffi::constructor(default(options))]
    pub fn new(
        url: String,
        options: SocketOptions,
        listener: Arc<dyn SocketListener>,
    ) -> Result<Arc<SocketClient>, SocketError> {
        let (client, nsp) = {
            let _runtime = runtime().enter();
            Client::new(&url, options.to_client_options()).map_err(SocketError::from)?
        };
        let callbacks = Callbacks::start()?;
        SocketClient::attach(&client, &nsp, callbacks, listener)
    }

    /// Another namespace's socket on this socket's connection (multiplexing: one
    /// connection, each namespace with its own listener). A namespace has one socket per
    /// connection: asking for one that is in use is an `InvalidOptions` error.
    pub fn socket(
        &self,
        namespace: String,
        listener: Arc<dyn SocketListener>,
    ) -> Result<Arc<SocketClient>, SocketError> {
        SocketClient::attach(
            self.socket.client(),
            &namespace,
            self.callbacks.clone(),
            listener,
        )
    }

    /// Connects (again after [`SocketClient::disconnect`]).
    pub fn connect(&self) {
        self.socket.connect();
    }

    /// Disconnects this namespace (`IoClientDisconnect`, no reconnection); the connection
    /// closes when no socket uses it.
    pub fn disconnect(&self) {
        self.socket.disconnect();
    }

    /// Emits `event`. While disconnected it waits in the send buffer and goes out once
    /// connected.
    #[uniffi::method(default(args = []))]
    pub fn emit(&self, event: String, args: Vec<JsonValue>) -> Result<(), SocketError> {
        Ok(self.socket.emit_args(&event, args_in(args))?)
    }

    /// [`SocketClient::emit`] with the arguments as the text of a JSON array.
    pub fn emit_json(&self, event: String, args_json: String) -> Result<(), SocketError> {
        Ok(self.socket.emit_args(&event, args_from_json(&args_json)?)?)
    }

    /// Emits `event` unless the socket is disconnected (then it is dropped).
    #[uniffi::method(default(args = []))]
    pub fn emit_volatile(&self, event: String, args: Vec<JsonValue>) -> Result<(), SocketError> {
        Ok(self.socket.emit_volatile(&event, args_in(args))?)
    }

    /// Emits `event` and waits for the server's acknowledgement, up to `timeout_ms` (the
    /// `ack_timeout_ms` option when none). Fails with `Timeout` or `Disconnected`.
    #[uniffi::method(default(args = [], timeout_ms = None))]
    pub async fn emit_with_ack(
        &self,
        event: String,
        args: Vec<JsonValue>,
        timeout_ms: Option<u64>,
    ) -> Result<Vec<JsonValue>, SocketError> {
        let answer = self.ack(&event, args_in(args), timeout_ms).await?;
        Ok(args_out(&answer))
    }

    /// [`SocketClient::emit_with_ack`] with the arguments and the answer as the text of
    /// JSON arrays (binary in the answer becomes `{"type":"Buffer","data":[...]}`).
    #[uniffi::method(default(timeout_ms = None))]
    pub async fn emit_json_with_ack(
        &self,
        event: String,
        args_json: String,
        timeout_ms: Option<u64>,
    ) -> Result<String, SocketError> {
        let answer = self
            .ack(&event, args_from_json(&args_json)?, timeout_ms)
            .await?;
        Ok(args_to_json(&answer))
    }

    /// Sets the CONNECT payload (`auth`) of this socket's next connections.
    pub fn set_auth(&self, auth: JsonValue) {
        self.socket.set_auth(auth.into());
    }

    /// The socket id while connected.
    pub fn id(&self) -> Option<String> {
        self.socket.id()
    }

    /// Whether the socket is connected.
    pub fn connected(&self) -> bool {
        self.socket.connected()
    }

    /// Whether the last connection restored the previous session.
    pub fn recovered(&self) -> bool {
        self.socket.recovered()
    }

    /// For an app going to the background: closes the connection (its sockets disconnect
    /// with `TransportClose`) and stops reconnecting until [`SocketClient::resume`]. Emits
    /// wait in the send buffer meanwhile, and recovery can restore the session afterwards.
    pub fn pause(&self) {
        self.socket.client().pause();
    }

    /// For an app back in the foreground: reconnects at once.
    pub fn resume(&self) {
        self.socket.client().resume();
    }

    /// The network changed (Wi-Fi to cellular, a new network): replaces the connection at
    /// once instead of waiting for the ping timeout to notice that the old one is dead.
    pub fn network_changed(&self) {
        self.socket.client().reconnect_now();
    }
}

impl SocketClient {
    /// A socket of namespace `nsp` on `client`, reporting to `listener` through
    /// `callbacks`.
    fn attach(
        client: &Client,
        nsp: &str,
        callbacks: Callbacks,
        listener: Arc<dyn SocketListener>,
    ) -> Result<Arc<SocketClient>, SocketError> {
        let nsp = if nsp.starts_with('/') {
            nsp.to_owned()
        } else {
            format!("/{nsp}")
        };
        if !lock(&callbacks.namespaces).insert(nsp.clone()) {
            return Err(SocketError::InvalidOptions {
                message: format!("namespace {nsp} already has a socket on this connection"),
            });
        }
        let socket = client.socket(&nsp);
        listen(&socket, &callbacks, listener);
        Ok(Arc::new(SocketClient { socket, callbacks }))
    }

    async fn ack(
        &self,
        event: &str,
        args: Vec<polysocket::Value>,
        timeout_ms: Option<u64>,
    ) -> Result<Vec<polysocket::Value>, SocketError> {
        let answer = match timeout_ms {
            Some(ms) => {
                self.socket
                    .emit_with_ack_timeout(event, args, Duration::from_millis(ms))
                    .await
            }
            None => self.socket.emit_with_ack(event, args).await,
        };
        Ok(answer?)
    }
}

/// Routes `socket`'s events (and its connection's reconnection attempts) to `listener` on
/// the callback thread. The handlers hold the listener, never the socket: dropping the last
/// `SocketClient` ends the connection and then the thread.
fn listen(socket: &ClientSocket, callbacks: &Callbacks, listener: Arc<dyn SocketListener>) {
    let (to, l) = (callbacks.clone(), listener.clone());
    socket.on_connect(move |socket| {
        let (l, id, recovered) = (
            l.clone(),
            socket.id().unwrap_or_default(),
            socket.recovered(),
        );
        to.call(move || l.on_connect(id, recovered));
    });
    let (to, l) = (callbacks.clone(), listener.clone());
    socket.on_connect_error(move |_, message, data| {
        let (l, message, data) = (l.clone(), message.to_owned(), data.map(JsonValue::from));
        to.call(move || l.on_connect_error(message, data));
    });
    let (to, l) = (callbacks.clone(), listener.clone());
    socket.on_disconnect(move |_, reason| {
        let l = l.clone();
        to.call(move || l.on_disconnect(reason.into()));
    });
    let (to, l) = (callbacks.clone(), listener.clone());
    socket.on_every_event(move |_, mut incoming| {
        let l = l.clone();
        let ack = incoming.ack().map(|ack| {
            Arc::new(Ack {
                inner: Mutex::new(Some(ack)),
            })
        });
        let (name, args) = (incoming.name, args_out(&incoming.args));
        to.call(move || l.on_event(name, args, ack));
    });
    let to = callbacks.clone();
    socket.client().on_manager_event(move |notice| {
        if let ManagerNotice::ReconnectAttempt(attempt) = notice {
            let (l, attempt) = (listener.clone(), *attempt);
            to.call(move || l.on_reconnect_attempt(attempt));
        }
    });
}

impl From<ClientDisconnectReason> for DisconnectReason {
    fn from(reason: ClientDisconnectReason) -> DisconnectReason {
        match reason {
            ClientDisconnectReason::IoServerDisconnect => DisconnectReason::IoServerDisconnect,
            ClientDisconnectReason::IoClientDisconnect => DisconnectReason::IoClientDisconnect,
            ClientDisconnectReason::PingTimeout => DisconnectReason::PingTimeout,
            ClientDisconnectReason::TransportClose => DisconnectReason::TransportClose,
            ClientDisconnectReason::TransportError => DisconnectReason::TransportError,
            ClientDisconnectReason::ParseError => DisconnectReason::ParseError,
        }
    }
}

impl From<DisconnectReason> for ClientDisconnectReason {
    fn from(reason: DisconnectReason) -> ClientDisconnectReason {
        match reason {
            DisconnectReason::IoServerDisconnect => ClientDisconnectReason::IoServerDisconnect,
            DisconnectReason::IoClientDisconnect => ClientDisconnectReason::IoClientDisconnect,
            DisconnectReason::PingTimeout => ClientDisconnectReason::PingTimeout,
            DisconnectReason::TransportClose => ClientDisconnectReason::TransportClose,
            DisconnectReason::TransportError => ClientDisconnectReason::TransportError,
            DisconnectReason::ParseError => ClientDisconnectReason::ParseError,
        }
    }
}

impl From<ClientError> for SocketError {
    fn from(error: ClientError) -> SocketError {
        match error {
            ClientError::InvalidOptions(message) => SocketError::InvalidOptions { message },
            ClientError::ConnectTimeout(_) | ClientError::AckTimeout => SocketError::Timeout,
            ClientError::ConnectError(message) => SocketError::ConnectError { message },
            ClientError::Disconnected => SocketError::Disconnected,
            ClientError::Serialize(message) => SocketError::InvalidJson { message },
            ClientError::Closed => SocketError::Closed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Quiet;
    impl SocketListener for Quiet {
        fn on_connect(&self, _: String, _: bool) -> Result<(), ListenerError> {
            Ok(())
        }
        fn on_connect_error(&self, _: String, _: Option<JsonValue>) -> Result<(), ListenerError> {
            Ok(())
        }
        fn on_disconnect(&self, _: DisconnectReason) -> Result<(), ListenerError> {
            Ok(())
        }
        fn on_event(
            &self,
            _: String,
            _: Vec<JsonValue>,
            _: Option<Arc<Ack>>,
        ) -> Result<(), ListenerError> {
            Ok(())
        }
        fn on_reconnect_attempt(&self, _: u32) -> Result<(), ListenerError> {
            Ok(())
        }
    }

    #[test]
    fn a_namespace_has_one_socket_per_connection() {
        let options = SocketOptions::default();
        let root =
            SocketClient::new("http://127.0.0.1:9".into(), options, Arc::new(Quiet)).unwrap();
        assert!(root.socket("/".into(), Arc::new(Quiet)).is_err());
        let custom = root.socket("custom".into(), Arc::new(Quiet)).unwrap();
        assert!(root.socket("/custom".into(), Arc::new(Quiet)).is_err());
        drop(custom);
        assert!(root.socket("/custom".into(), Arc::new(Quiet)).is_ok());
    }
}
