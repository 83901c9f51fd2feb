//! The server: namespaces, middlewares, server-wide operations and the HTTP entry points.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use napi::bindgen_prelude::{Buffer, Result};
use napi::{Env, Error, Status};
use napi_derive::napi;
use polysocket::{AllowRequest, ResponseHeaders, Server, Socket, Value};

use crate::calls::PendingCalls;
use crate::config::config_from;
use crate::dispatch::{Dispatcher, NoticeBatch};
use crate::payload::{Payload, args_of, payload_of};
use crate::socket::{NativeSocket, handshake_json};
use crate::{Callback, JsFunction, invalid, lock};

/// A boxed future, as the core's asynchronous hooks take them.
pub(crate) type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

/// `headers` as a list, values that are not text left out.
pub(crate) fn http_headers(headers: &http::HeaderMap) -> Vec<HttpHeader> {
    headers
        .iter()
        .filter_map(|(k, v)| {
            Some(HttpHeader {
                name: k.as_str().to_owned(),
                value: v.to_str().ok()?.to_owned(),
            })
        })
        .collect()
}

/// `headers` as a map; an error names the first name or value that is not valid in HTTP.
fn header_map(headers: &[HttpHeader]) -> Result<http::HeaderMap> {
    let mut map = http::HeaderMap::new();
    for header in headers {
        let name = http::HeaderName::from_bytes(header.name.as_bytes()).map_err(invalid)?;
        map.append(
            name,
            http::HeaderValue::from_str(&header.value).map_err(invalid)?,
        );
    }
    Ok(map)
}

/// One HTTP header.
#[napi(object)]
pub struct HttpHeader {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// An HTTP answer for Node's `http.ServerResponse`.
#[napi(object)]
pub struct HttpAnswer {
    /// The status code.
    pub status: u32,
    /// The headers.
    pub headers: Vec<HttpHeader>,
    /// The body.
    pub body: Buffer,
}

/// A socket as `fetchSockets` describes it.
#[napi(object)]
pub struct FetchedSocket {
    /// The socket id.
    pub id: String,
    /// socket.io's `handshake`, as JSON.
    pub handshake_json: String,
    /// Its rooms.
    pub rooms: Vec<String>,
    /// `socket.data`, as JSON.
    pub data_json: String,
}

/// One client's answer to a broadcast with acknowledgements.
#[napi(object)]
pub struct ClientAnswer {
    /// The answering socket (empty when it is connected to another server).
    pub socket_id: String,
    /// Its acknowledgement's arguments.
    pub args: Payload,
}

/// The answers to a broadcast with acknowledgements, and whether some were missing.
#[napi(object)]
pub struct BroadcastAnswers {
    /// The answers that arrived.
    pub responses: Vec<ClientAnswer>,
    /// `true` when some client did not answer in time.
    pub timed_out: bool,
}

/// Which sockets a server-wide operation selects.
#[napi(object)]
pub struct Selection {
    /// The namespace.
    pub nsp: String,
    /// Rooms (every socket when empty).
    pub rooms: Vec<String>,
    /// Rooms whose sockets are left out.
    pub except: Vec<String>,
    /// Only this server's sockets.
    pub local: bool,
    /// Timeout in milliseconds (acknowledgements).
    pub timeout_ms: Option<u32>,
}

/// What a connect middleware concludes.
type Admission = std::result::Result<(), polysocket::ConnectError>;

/// A request `allowRequest` is asked about.
#[napi(object)]
pub struct RequestCheck {
    /// The call to end with `allowRequestDone`.
    pub call: u32,
    /// The request's method.
    pub method: String,
    /// The request's URL (path and query).
    pub url: String,
    /// Its headers.
    pub headers: Vec<HttpHeader>,
}

/// An answer of the engine whose headers engine.io's `initial_headers` / `headers`
/// listeners may change (standalone; attached, the answers pass through Node's server).
#[napi(object)]
pub struct HeadersCall {
    /// The call to end with `responseHeadersDone`.
    pub call: u32,
    /// Whether the request opens a connection (`initial_headers`).
    pub initial: bool,
    /// The request's method.
    pub method: String,
    /// The request's URL (path and query).
    pub url: String,
    /// The request's headers.
    pub headers: Vec<HttpHeader>,
    /// The headers of the engine's answer.
    pub response_headers: Vec<HttpHeader>,
}

/// A request the Engine.IO layer refused (engine.io's `connection_error` event).
#[napi(object)]
pub struct EngineError {
    /// engine.io's error code.
    pub code: u32,
    /// engine.io's message for it.
    pub message: String,
    /// More about the cause, e.g. `allowRequest`'s message or the unknown sid.
    pub context: Option<String>,
    /// The request's method.
    pub method: String,
    /// The request's URL.
    pub url: String,
    /// Its headers.
    pub headers: Vec<HttpHeader>,
}

/// A polysocket server (the engine under JavaScript's `Server`).
#[napi]
pub struct NativeServer {
    pub(crate) io: Server,
    /// Releases the server-level JavaScript callbacks when the server closes.
    releasers: Mutex<Vec<Box<dyn FnOnce() + Send>>>,
    pub(crate) middlewares: Arc<PendingCalls<Admission>>,
    allow_requests: Arc<PendingCalls<std::result::Result<(), String>>>,
    response_headers: Arc<PendingCalls<Vec<HttpHeader>>>,
    /// Whether answers go through `response_headers` (listeners are there).
    headers_wanted: Arc<AtomicBool>,
    pub(crate) namespace_checks: Arc<PendingCalls<bool>>,
    pub(crate) server_acks: Arc<Mutex<HashMap<u32, polysocket::ServerAck>>>,
    pub(crate) next_server_ack: Arc<AtomicU32>,
    pub(crate) parents: Mutex<Vec<polysocket::ParentNamespace>>,
    pub(crate) dispatcher: Arc<Dispatcher>,
    /// Whether the server's callbacks keep Node alive: from `listen` or `attach` on, as a
    /// socket.io server holds the process only through the port it serves.
    held: AtomicBool,
    holders: Mutex<Vec<Holder>>,
}

/// Makes one kept callback hold Node's event loop, or not.
type Holder = Box<dyn Fn(&Env, bool) + Send>;

#[napi]
impl NativeServer {
    /// A server with socket.io's options, as JSON; `allow_request` is socket.io's
    /// `allowRequest`, answered with `allowRequestDone`; `response_headers` is called,
    /// while `watchResponseHeaders(true)`, with each answer of the engine, and answered
    /// with `responseHeadersDone`.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        options_json: String,
        allow_request: Option<JsFunction<RequestCheck>>,
        response_headers: Option<JsFunction<HeadersCall>>,
    ) -> Result<NativeServer> {
        let options: serde_json::Value = serde_json::from_str(&options_json).map_err(invalid)?;
        let mut config = config_from(&options)?;
        let allow_requests = Arc::new(PendingCalls::default());
        let allow_request = allow_request.map(Callback::new);
        if let Some(callback) = allow_request.clone() {
            let pending = allow_requests.clone();
            config.allow_request = Some(AllowRequest::new_async(move |head| {
                let (call, answer) = pending.open();
                callback.call(RequestCheck {
                    call,
                    method: head.method.to_string(),
                    url: head.uri.to_string(),
                    headers: http_headers(&head.headers),
                });
                async move { answer.await.unwrap_or_else(|_| Err("Forbidden".to_owned())) }
            }));
        }
        let headers_calls = Arc::new(PendingCalls::<Vec<HttpHeader>>::default());
        let headers_wanted = Arc::new(AtomicBool::new(false));
        let response_headers = response_headers.map(Callback::new);
        if let Some(callback) = response_headers.clone() {
            let pending = headers_calls.clone();
            let hook = ResponseHeaders::new_async(move |head, initial, headers| {
                let (call, answer) = pending.open();
                callback.call(HeadersCall {
                    call,
                    initial,
                    method: head.method.to_string(),
                    url: head.uri.to_string(),
                    headers: http_headers(&head.headers),
                    response_headers: http_headers(&headers),
                });
                async move {
                    match answer.await {
                        Ok(changed) => header_map(&changed).unwrap_or(headers),
                        Err(_) => headers,
                    }
                }
            });
            config.response_headers = Some(hook.only_while(headers_wanted.clone()));
        }
        // The server spawns its tasks lazily; make sure they land on napi's runtime.
        let io = napi::bindgen_prelude::within_runtime_if_available(|| Server::with_config(config));
        let server = NativeServer {
            io,
            releasers: Mutex::new(Vec::new()),
            middlewares: Arc::default(),
            allow_requests,
            response_headers: headers_calls,
            headers_wanted,
            namespace_checks: Arc::default(),
            server_acks: Arc::default(),
            next_server_ack: Arc::new(AtomicU32::new(1)),
            parents: Mutex::new(Vec::new()),
            dispatcher: Dispatcher::new(),
            held: AtomicBool::new(false),
            holders: Mutex::new(Vec::new()),
        };
        if let Some(callback) = allow_request {
            server.hold_with_server(&env, &callback);
            lock(&server.releasers).push(Box::new(move || callback.release()));
        }
        if let Some(callback) = response_headers {
            server.hold_with_server(&env, &callback);
            lock(&server.releasers).push(Box::new(move || callback.release()));
        }
        Ok(server)
    }

    /// From now on the server's callbacks keep Node alive (JavaScript calls this from
    /// `listen` and `attach`), until `close` releases them.
    #[napi]
    pub fn hold(&self, env: Env) {
        if !self.held.swap(true, Ordering::AcqRel) {
            for holder in lock(&self.holders).iter() {
                holder(&env, true);
            }
        }
    }

    /// Lets `callback` keep Node alive only while the server is held.
    fn hold_with_server<T: 'static + napi::bindgen_prelude::ToNapiValue + Send>(
        &self,
        env: &Env,
        callback: &Callback<T>,
    ) {
        if !self.held.load(Ordering::Acquire) {
            callback.set_held(env, false);
        }
        let callback = callback.clone();
        lock(&self.holders).push(Box::new(move |env, held| callback.set_held(env, held)));
    }

    /// Wraps a server-level callback, to be released when the server closes.
    pub(crate) fn keep<T: 'static + napi::bindgen_prelude::ToNapiValue + Send>(
        &self,
        env: &Env,
        callback: JsFunction<T>,
    ) -> Callback<T> {
        let callback = Callback::new(callback);
        self.hold_with_server(env, &callback);
        let release = callback.clone();
        lock(&self.releasers).push(Box::new(move || release.release()));
        callback
    }

    /// Calls `callback` with every request the Engine.IO layer refuses.
    #[napi]
    pub fn on_connection_error(&self, env: Env, callback: JsFunction<EngineError>) {
        let callback = self.keep(&env, callback);
        self.io.on_connection_error(move |error| {
            callback.call(EngineError {
                code: u32::from(error.code),
                message: error.message.clone(),
                context: error.context.clone(),
                method: error.method.to_string(),
                url: error.url.clone(),
                headers: http_headers(&error.headers),
            });
        });
    }

    /// Ends `allowRequest` call `call`: allowed without `error`, refused with it.
    #[napi]
    pub fn allow_request_done(&self, call: u32, error: Option<String>) {
        self.allow_requests.finish(call, error.map_or(Ok(()), Err));
    }

    /// Whether the engine's answers go through the `response_headers` callback (JavaScript
    /// turns it on while `initial_headers` / `headers` listeners exist).
    #[napi]
    pub fn watch_response_headers(&self, on: bool) {
        self.headers_wanted.store(on, Ordering::Release);
    }

    /// Ends `response_headers` call `call`: the answer is sent with `headers`.
    #[napi]
    pub fn response_headers_done(&self, call: u32, headers: Vec<HttpHeader>) {
        self.response_headers.finish(call, headers);
    }

    /// Calls `callback` with each socket that connects to namespace `nsp`.
    #[napi]
    pub fn on_connection(&self, env: Env, nsp: String, callback: JsFunction<NativeSocket>) {
        let callback = self.keep(&env, callback);
        let dispatcher = self.dispatcher.clone();
        self.io.of(&nsp).on_connection(move |socket| {
            callback.call(NativeSocket::for_connection(socket, &dispatcher));
        });
    }

    /// Runs `callback` for each socket that tries to connect to `nsp` (its `pendingCall`
    /// set); the JavaScript middlewares answer with `middlewareDone`.
    #[napi]
    pub fn use_middleware(&self, env: Env, nsp: String, callback: JsFunction<NativeSocket>) {
        self.io
            .of(&nsp)
            .use_async_middleware(self.middleware_caller(&env, callback));
    }

    /// A connect middleware that hands each socket to `callback` and waits for
    /// `middlewareDone`.
    pub(crate) fn middleware_caller(
        &self,
        env: &Env,
        callback: JsFunction<NativeSocket>,
    ) -> impl Fn(Socket) -> BoxFuture<Admission> + Send + Sync + 'static {
        let callback = self.keep(env, callback);
        let pending = self.middlewares.clone();
        move |socket| {
            let (call, answer) = pending.open();
            let mut native = NativeSocket::wrap(socket);
            native.pending_call = call;
            callback.call(native);
            Box::pin(async move {
                answer.await.unwrap_or_else(|_| {
                    Err(polysocket::ConnectError::new("middleware was dropped"))
                })
            })
        }
    }

    /// Ends middleware call `call`: admitted without `message`, refused with it (and
    /// `data_json`, the error's `data`).
    #[napi]
    pub fn middleware_done(
        &self,
        call: u32,
        message: Option<String>,
        data_json: Option<String>,
    ) -> Result<()> {
        let outcome = match message {
            None => Ok(()),
            Some(message) => {
                let data = match data_json {
                    Some(json) => Some(Value::from_json_str(&json).map_err(invalid)?),
                    None => None,
                };
                Err(polysocket::ConnectError { message, data })
            }
        };
        self.middlewares.finish(call, outcome);
        Ok(())
    }

    fn operator(&self, selection: &Selection) -> polysocket::BroadcastOperator {
        let mut operator = self
            .io
            .of(&selection.nsp)
            .broadcast()
            .to_rooms(selection.rooms.iter().map(String::as_str))
            .except_rooms(selection.except.iter().map(String::as_str));
        if selection.local {
            operator = operator.local();
        }
        if let Some(ms) = selection.timeout_ms {
            operator = operator.timeout(Duration::from_millis(u64::from(ms)));
        }
        operator
    }

    /// The selected sockets of every server (`fetchSockets`).
    #[napi]
    pub async fn fetch_sockets(&self, selection: Selection) -> Result<Vec<FetchedSocket>> {
        let sockets = self
            .operator(&selection)
            .try_fetch_sockets()
            .await
            .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
        Ok(sockets
            .iter()
            .map(|s| FetchedSocket {
                id: s.id().to_owned(),
                handshake_json: handshake_json(s.handshake()),
                rooms: s.rooms().to_vec(),
                data_json: s.data().to_json_lossy().to_string(),
            })
            .collect())
    }

    /// `socketsJoin`.
    #[napi]
    pub fn sockets_join(&self, selection: Selection, rooms: Vec<String>) {
        let operator = self.operator(&selection);
        for room in rooms {
            operator.sockets_join(room);
        }
    }

    /// `socketsLeave`.
    #[napi]
    pub fn sockets_leave(&self, selection: Selection, rooms: Vec<String>) {
        let operator = self.operator(&selection);
        for room in rooms {
            operator.sockets_leave(&room);
        }
    }

    /// `disconnectSockets(close)`.
    #[napi]
    pub fn disconnect_sockets(&self, selection: Selection, close: bool) {
        self.operator(&selection).disconnect_sockets(close);
    }

    /// Emits to the selected sockets and collects their acknowledgements.
    #[napi]
    pub async fn emit_with_ack(
        &self,
        selection: Selection,
        event: String,
        args: Payload,
    ) -> Result<BroadcastAnswers> {
        let answers = self
            .operator(&selection)
            .emit_with_ack(&event, args_of(args)?)
            .await;
        let (responses, timed_out) = match answers {
            Ok(responses) => (responses, false),
            Err(polysocket::BroadcastAckError::Timeout { responses, .. }) => (responses, true),
            Err(error) => return Err(Error::new(Status::GenericFailure, error.to_string())),
        };
        Ok(BroadcastAnswers {
            responses: responses
                .into_iter()
                .map(|r| ClientAnswer {
                    socket_id: r.socket_id,
                    args: payload_of(r.args),
                })
                .collect(),
            timed_out,
        })
    }

    /// Answers a request that the app's `http.Server` received for the Socket.IO path
    /// (long-polling and handshakes).
    #[napi]
    pub async fn handle_request(
        &self,
        method: String,
        url: String,
        headers: Vec<HttpHeader>,
        body: Buffer,
        peer: Option<String>,
    ) -> Result<HttpAnswer> {
        let mut builder = http::Request::builder()
            .method(method.as_str())
            .uri(url.as_str());
        for header in &headers {
            builder = builder.header(header.name.as_str(), header.value.as_str());
        }
        let request = builder
            .body(http_body_util::Full::new(Bytes::copy_from_slice(&body)))
            .map_err(invalid)?;
        let peer = peer.and_then(|p| p.parse().ok());
        let response = self.io.handle_request(request, peer).await;
        let (parts, body) = response.into_parts();
        let body = http_body_util::BodyExt::collect(body)
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        Ok(HttpAnswer {
            status: u32::from(parts.status.as_u16()),
            headers: http_headers(&parts.headers),
            body: Buffer::from(body.to_vec()),
        })
    }

    /// Takes over the TCP connection `fd` of an upgrade request that the app's
    /// `http.Server` received (`request_head`: the request as it came, rebuilt, plus the
    /// bytes read after it). The descriptor is duplicated, so Node may destroy its socket
    /// right after. `response_headers` are added to the engine's answer to that request
    /// (engine.io's `headers` event and the middlewares' `res.setHeader` on an upgrade).
    #[napi]
    pub fn adopt_connection(
        &self,
        fd: i32,
        request_head: Buffer,
        peer: String,
        response_headers: Option<Vec<HttpHeader>>,
    ) -> Result<()> {
        let extra = header_map(&response_headers.unwrap_or_default())?;
        use std::os::fd::FromRawFd as _;
        // SAFETY: `fd` is a connected TCP socket that Node owns and keeps open for the
        // duration of this call; `dup` gives us a descriptor of our own for it.
        let own = unsafe { libc::dup(fd) };
        if own < 0 {
            return Err(Error::new(
                Status::GenericFailure,
                std::io::Error::last_os_error().to_string(),
            ));
        }
        // SAFETY: `own` was just created by `dup` and nothing else owns it.
        let stream = unsafe { std::net::TcpStream::from_raw_fd(own) };
        stream
            .set_nonblocking(true)
            .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
        let peer = peer
            .parse()
            .unwrap_or_else(|_| std::net::SocketAddr::from(([0, 0, 0, 0], 0)));
        let head = Bytes::copy_from_slice(&request_head);
        let io = self.io.clone();
        napi::bindgen_prelude::spawn(async move {
            match tokio::net::TcpStream::from_std(stream) {
                Ok(stream) => {
                    io.serve_connection_with_headers(stream, peer, head, extra)
                        .await;
                }
                Err(error) => eprintln!("polysocket: cannot adopt a connection: {error}"),
            }
        });
        Ok(())
    }

    /// Listens on `host:port` (`port` 0 picks one); resolves with the port.
    #[napi]
    pub async fn listen(&self, port: u32, host: Option<String>) -> Result<u32> {
        let host = host.unwrap_or_else(|| "0.0.0.0".to_owned());
        let addr = self
            .io
            .listen(format!("{host}:{port}"))
            .await
            .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
        Ok(u32::from(addr.port()))
    }

    /// Closes the server: every client gets `server shutting down`.
    #[napi]
    pub async fn close(&self) {
        self.io.close().await;
        let releasers = std::mem::take(&mut *lock(&self.releasers));
        for release in releasers {
            release();
        }
        self.middlewares.abandon_all();
        self.allow_requests.abandon_all();
        self.response_headers.abandon_all();
        self.namespace_checks.abandon_all();
        lock(&self.server_acks).clear();
        self.dispatcher.release();
    }

    /// Calls `callback` whenever socket notices wait for `drainEvents` (with how many).
    #[napi]
    pub fn on_dispatch(&self, env: Env, callback: JsFunction<u32>) {
        let signal = self.dispatcher.set_signal(callback);
        self.hold_with_server(&env, &signal);
    }

    /// Takes every waiting socket notice (events, outgoing events, errors, disconnections
    /// of every socket), oldest first.
    #[napi]
    pub fn drain_events(&self) -> NoticeBatch {
        self.dispatcher.drain()
    }

    /// Emits to the sockets of namespace `nsp` in any of `rooms` (all when empty) and in
    /// none of `except`; `local`, `volatile` and `compress` as socket.io's flags.
    #[napi]
    #[allow(clippy::too_many_arguments)]
    pub fn broadcast(
        &self,
        nsp: String,
        rooms: Vec<String>,
        except: Vec<String>,
        event: String,
        args: Payload,
        volatile: bool,
        local: bool,
        compress: Option<bool>,
    ) -> Result<()> {
        let mut operator = self
            .io
            .of(&nsp)
            .broadcast()
            .to_rooms(rooms)
            .except_rooms(except);
        if volatile {
            operator = operator.volatile();
        }
        if local {
            operator = operator.local();
        }
        if let Some(compress) = compress {
            operator = operator.compress(compress);
        }
        operator.emit_args(&event, args_of(args)?).map_err(invalid)
    }

    /// The ids of the sockets of `nsp` in any of `rooms` (all when empty).
    #[napi]
    pub fn socket_ids(&self, nsp: String, rooms: Vec<String>) -> Vec<String> {
        self.io
            .of(&nsp)
            .broadcast()
            .to_rooms(rooms)
            .sockets()
            .iter()
            .map(|s| s.id().to_owned())
            .collect()
    }

    /// The number of Engine.IO connections (`io.engine.clientsCount`).
    #[napi]
    pub fn clients_count(&self) -> u32 {
        u32::try_from(self.io.clients_count()).unwrap_or(u32::MAX)
    }

    /// socket.io's `io.adapter(..)` after construction: joins the cluster that
    /// `polysocket/redis-adapter` described (JSON), for every namespace. Connecting blocks
    /// until Redis answers. Refused once the server has an adapter or a connection.
    #[napi]
    pub fn set_adapter(&self, adapter_json: String) -> Result<()> {
        let options: serde_json::Value = serde_json::from_str(&adapter_json).map_err(invalid)?;
        let adapter = crate::config::cluster_adapter(&options)?;
        napi::bindgen_prelude::within_runtime_if_available(|| self.io.set_adapter(adapter))
            .map_err(|e| invalid(format!("io.adapter(..): {e}")))
    }
}
