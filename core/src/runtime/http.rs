//! The HTTP side: long-polling requests, WebSocket upgrades, CORS and error answers.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Body;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use super::config::CorsOrigin;
use super::conn::{Conn, RequestInfo};
use super::server::ServerInner;
use super::ws;
use crate::proto::engineio::{
    CloseReason, EngineQuery, Packet, RequestError, RequestKind, Transport, classify, payload,
    query_pairs,
};
use crate::proto::websocket;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The Socket.IO endpoint as a tower/hyper service, to mount in an axum or tower app at the
/// server's path (`/socket.io/` by default). Requests outside that path get 404.
#[derive(Clone)]
pub struct SocketIoService {
    pub(crate) server: Arc<ServerInner>,
}

impl std::fmt::Debug for SocketIoService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIoService").finish_non_exhaustive()
    }
}

impl<B> tower_service::Service<Request<B>> for SocketIoService
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let server = self.server.clone();
        let address = req.extensions().get::<SocketAddr>().copied();
        Box::pin(async move { Ok(handle(server, req, address).await) })
    }
}

/// True when `path` is under the server's path.
pub(crate) fn is_engine_path(server: &ServerInner, path: &str) -> bool {
    path.starts_with(&server.path) || path == server.path.trim_end_matches('/')
}

/// Answers one request for the Socket.IO endpoint.
pub(crate) async fn handle<B>(
    server: Arc<ServerInner>,
    req: Request<B>,
    address: Option<SocketAddr>,
) -> Response<Full<Bytes>>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    if !is_engine_path(&server, req.uri().path()) {
        return plain(StatusCode::NOT_FOUND, "Not found");
    }
    let origin = req.headers().get(header::ORIGIN).cloned();
    // What `connection_error` listeners and the `headers` hook get to see of the request,
    // kept only when one of them waits for it.
    let reports_errors = server.has_connection_error_handlers();
    let hook = (server.config.response_headers.as_ref()).filter(|hook| hook.is_active());
    let head = (reports_errors || hook.is_some()).then(|| {
        let mut head = Request::new(());
        *head.method_mut() = req.method().clone();
        *head.uri_mut() = req.uri().clone();
        *head.version_mut() = req.version();
        *head.headers_mut() = req.headers().clone();
        head.into_parts().0
    });
    let mut response = match route(&server, req, address).await {
        Ok(mut response) => {
            let answered = matches!(
                response.status(),
                StatusCode::OK | StatusCode::SWITCHING_PROTOCOLS
            );
            if let (Some(hook), Some(head), true) = (hook, &head, answered) {
                let initial = EngineQuery::parse(head.uri.query().unwrap_or(""))
                    .sid
                    .is_none();
                let headers = std::mem::take(response.headers_mut());
                *response.headers_mut() = hook.apply(head, initial, headers).await;
            }
            response
        }
        Err(rejection) => {
            if let (Some(head), true) = (head, reports_errors) {
                server.report_connection_error(&ConnectionError {
                    code: rejection.error.code(),
                    message: rejection.error.to_string(),
                    context: rejection.context,
                    method: head.method,
                    url: head.uri.to_string(),
                    headers: head.headers,
                });
            }
            rejection.response
        }
    };
    add_cors(&server, origin.as_ref(), &mut response);
    response
}

/// engine.io's `connection_error` event: a request that the server refused.
#[derive(Debug, Clone)]
pub struct ConnectionError {
    /// engine.io's error code (0 unknown transport, 1 unknown session, 2 bad handshake
    /// method, 3 bad request, 4 forbidden, 5 unsupported protocol version).
    pub code: u8,
    /// engine.io's message for the code, e.g. `Session ID unknown`.
    pub message: String,
    /// More about the cause: `allowRequest`'s message, or the unknown `sid`.
    pub context: Option<String>,
    /// The request's method.
    pub method: http::Method,
    /// The request's URL (path and query).
    pub url: String,
    /// The request's headers.
    pub headers: http::HeaderMap,
}

/// A refused request: the answer, and what `connection_error` listeners learn about it.
struct Rejection {
    error: RequestError,
    context: Option<String>,
    response: Response<Full<Bytes>>,
}

impl From<RequestError> for Rejection {
    fn from(error: RequestError) -> Self {
        Rejection {
            error,
            context: None,
            response: error_response(error),
        }
    }
}

impl Rejection {
    fn unknown_sid(sid: &str) -> Rejection {
        Rejection {
            context: Some(sid.to_owned()),
            ..RequestError::UnknownSid.into()
        }
    }
}

async fn route<B>(
    server: &Arc<ServerInner>,
    mut req: Request<B>,
    address: Option<SocketAddr>,
) -> Result<Response<Full<Bytes>>, Rejection>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    if req.method() == Method::OPTIONS && server.config.cors.is_some() {
        return Ok(preflight(&req));
    }
    let query = EngineQuery::parse(req.uri().query().unwrap_or(""));
    let websocket = is_websocket_upgrade(&req);
    if (websocket || req.method() == Method::GET)
        && let Some(conn) = query.sid.as_deref().and_then(|sid| server.session(sid))
    {
        conn.settle_upgrade().await;
    }
    let kind = classify(
        req.method().as_str(),
        &query,
        websocket,
        &server.config.transports,
        |sid| {
            // Deadlines that passed while no timer fired yet count before the request does.
            let conn = server.session(sid)?;
            conn.handle_timeout(Instant::now());
            let state = conn.lock();
            (!state.engine.is_closed()).then(|| state.engine.transport())
        },
    );
    let kind = match kind {
        Ok(RequestKind::Upgrade(_)) if !server.config.allow_upgrades => {
            Err(RequestError::BadRequest)
        }
        other => other,
    };
    if let (Ok(RequestKind::Handshake(_)), Some(allow)) = (&kind, &server.config.allow_request) {
        let (head, body) = req.into_parts();
        if let Err(message) = (allow.0)(&head).await {
            return Err(Rejection {
                error: RequestError::Forbidden,
                response: forbidden(&message),
                context: Some(message),
            });
        }
        req = Request::from_parts(head, body);
    }
    let kind = kind.map_err(|error| match (error, query.sid.as_deref()) {
        (RequestError::UnknownSid, Some(sid)) => Rejection::unknown_sid(sid),
        _ => error.into(),
    })?;
    Ok(match kind {
        RequestKind::Handshake(Transport::Polling) => {
            let info = request_info(&req, address);
            let sid: Arc<str> = Arc::from(super::ids::generate());
            let conn = server.open_session(sid.clone(), Transport::Polling, info, None);
            let packets = conn.lock().engine.drain_transmits();
            let mut response = polling_body(payload::encode(&packets));
            set_cookie(server, &sid, &mut response);
            response
        }
        RequestKind::Handshake(Transport::WebSocket) => {
            let info = request_info(&req, address);
            let sid: Arc<str> = Arc::from(super::ids::generate());
            let server2 = server.clone();
            let opened = sid.clone();
            let mut response = accept_websocket(&mut req, server, move |ws| async move {
                server2.open_session(opened, Transport::WebSocket, info, Some(ws));
            });
            set_cookie(server, &sid, &mut response);
            response
        }
        RequestKind::Upgrade(sid) => {
            let Some(conn) = server.session(&sid) else {
                return Err(Rejection::unknown_sid(&sid));
            };
            if conn.lock().engine.start_upgrade(Instant::now()).is_err() {
                return Err(RequestError::BadRequest.into());
            }
            conn.wake_driver.notify_one();
            accept_websocket(&mut req, server, move |ws| async move {
                conn.offer_probe(ws);
            })
        }
        RequestKind::Reject(_) => accept_websocket(&mut req, server, |ws| ws::close(Some(ws))),
        RequestKind::Poll(sid) => match server.session(&sid) {
            Some(conn) => long_poll(conn, accepted_encoding(&req)).await,
            None => return Err(Rejection::unknown_sid(&sid)),
        },
        RequestKind::Post(sid) => match server.session(&sid) {
            Some(conn) => post(conn, req).await,
            None => return Err(Rejection::unknown_sid(&sid)),
        },
    })
}

fn is_websocket_upgrade<B>(req: &Request<B>) -> bool {
    let has_token = |name: header::HeaderName, token: &str| {
        req.headers().get_all(name).iter().any(|value| {
            value
                .to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    req.method() == Method::GET
        && has_token(header::UPGRADE, "websocket")
        && has_token(header::CONNECTION, "upgrade")
}

fn request_info<B>(req: &Request<B>, address: Option<SocketAddr>) -> RequestInfo {
    RequestInfo {
        headers: super::headers::HandshakeHeaders::pack(req.headers()),
        query: query_pairs(req.uri().query().unwrap_or("")).collect(),
        address,
        url: req.uri().to_string(),
        secure: req.uri().scheme_str() == Some("https"),
    }
}

/// Answers `101 Switching Protocols` (accepting permessage-deflate when the server has it
/// on and the client offers it) and hands the WebSocket to `then` once hyper upgrades.
fn accept_websocket<B, F, Fut>(
    req: &mut Request<B>,
    server: &ServerInner,
    then: F,
) -> Response<Full<Bytes>>
where
    F: FnOnce(ws::WsStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(key) = req.headers().get(header::SEC_WEBSOCKET_KEY) else {
        return error_response(RequestError::BadRequest);
    };
    let accept = derive_accept_key(key.as_bytes());
    let deflate_threshold = server.config.per_message_deflate.and_then(|deflate| {
        let offers = req.headers().get_all(header::SEC_WEBSOCKET_EXTENSIONS);
        websocket::accepts_permessage_deflate(offers.iter().filter_map(|v| v.to_str().ok()))
            .then_some(deflate.threshold)
    });
    let max_payload = usize::try_from(server.config.max_http_buffer_size).unwrap_or(usize::MAX);
    // A WebSocket carried by another server (`Server::accept_websocket`): that server does
    // the handshake and the framing (and any compression), and passes whole messages.
    let carried = req.extensions_mut().remove::<ws::LinkSlot>();
    let deflate_threshold = deflate_threshold.filter(|_| carried.is_none());
    if let Some(slot) = carried {
        if let Some(socket) = slot.take(max_payload) {
            tokio::spawn(then(socket));
        }
    } else {
        let settings = ws::WsSettings {
            max_payload,
            deflate_threshold,
        };
        let upgrade = hyper::upgrade::on(req);
        tokio::spawn(async move {
            if let Ok(upgraded) = upgrade.await {
                then(ws::from_upgraded(upgraded, settings)).await;
            }
        });
    }
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    if deflate_threshold.is_some() {
        headers.insert(
            header::SEC_WEBSOCKET_EXTENSIONS,
            HeaderValue::from_static(websocket::PERMESSAGE_DEFLATE_RESPONSE),
        );
    }
    response
}

/// Answers a polling GET once packets are queued, compressed with `encoding` when some
/// packet in it may be.
async fn long_poll(conn: Arc<Conn>, encoding: Option<Encoding>) -> Response<Full<Bytes>> {
    {
        let mut state = conn.lock();
        if state.poll_active {
            drop(state);
            conn.abort(CloseReason::TransportError);
            return error_response(RequestError::BadRequest);
        }
        state.poll_active = true;
    }
    struct Release(Arc<Conn>);
    impl Drop for Release {
        fn drop(&mut self) {
            self.0.lock().poll_active = false;
        }
    }
    let _release = Release(conn.clone());
    loop {
        let notified = conn.wake_poll.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let packets = {
            let mut state = conn.lock();
            if state.engine.is_closed() {
                // A client's own `close` releases its pending poll with a noop, as engine.io.
                let client_closed =
                    state.engine.close_reason() == Some(CloseReason::TransportClose);
                let body = if client_closed { b"6" } else { b"1" };
                return polling_body(body.to_vec());
            }
            if state.engine.transport() != Transport::Polling {
                return polling_body(b"6".to_vec());
            }
            let drained = state.engine.drain_transmits_compressible();
            // Every poll during an upgrade ends at once: a client whose GET took the first
            // noop may already have sent the next one before it paused.
            if drained.0.is_empty() && state.engine.awaits_upgrade() {
                return polling_body(b"6".to_vec());
            }
            drained
        };
        let (packets, compressible) = packets;
        if !packets.is_empty() {
            conn.progress.notify_waiters();
            // Taking a closing session's final `close` ends it.
            conn.process_events();
            let encoding = encoding.filter(|_| compressible);
            return compressed_polling_body(&conn.server, encoding, payload::encode(&packets));
        }
        notified.await;
    }
}

/// How long a client's close over polling waits for a GET sent at the same time.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_millis(2);

async fn post<B>(conn: Arc<Conn>, req: Request<B>) -> Response<Full<Bytes>>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let max = conn.server.config.max_http_buffer_size;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max) {
        return plain(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large");
    }
    {
        let mut state = conn.lock();
        if state.post_active {
            drop(state);
            conn.abort(CloseReason::TransportError);
            return error_response(RequestError::BadRequest);
        }
        state.post_active = true;
    }
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    let body = Limited::new(req.into_body(), limit).collect().await;
    conn.lock().post_active = false;
    let body = match body {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            if error
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return plain(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large");
            }
            return error_response(RequestError::BadRequest);
        }
    };
    match payload::decode(&body) {
        Ok(packets) => {
            if packets.contains(&Packet::Close) && !conn.lock().poll_active {
                // A client that closes while polling may send its last GET and this POST
                // at once, on two connections. On a multi-threaded runtime this POST can be
                // handled first, and the GET would then find no session (400) instead of
                // being released (`6`), as a single-threaded server answers it.
                tokio::time::sleep(CLOSE_GRACE).await;
            }
            let now = Instant::now();
            for packet in packets {
                conn.handle_inbound(packet, Transport::Polling, now);
            }
            let mut response = plain(StatusCode::OK, "ok");
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
            response
        }
        Err(_) => {
            conn.abort(CloseReason::ParseError);
            error_response(RequestError::BadRequest)
        }
    }
}

/// engine.io's answer to a handshake that `allowRequest` refused.
fn forbidden(message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "code": RequestError::Forbidden.code(), "message": message });
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = StatusCode::FORBIDDEN;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Adds the session cookie (engine.io's `cookie` option) to a handshake response.
fn set_cookie(server: &ServerInner, sid: &str, response: &mut Response<Full<Bytes>>) {
    if let Some(cookie) = &server.config.cookie
        && let Ok(value) = HeaderValue::from_str(&cookie.header_value(sid))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// A compression the client accepts, in engine.io's order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Gzip,
    Deflate,
}

fn accepted_encoding<B>(req: &Request<B>) -> Option<Encoding> {
    let accepted = req.headers().get(header::ACCEPT_ENCODING)?.to_str().ok()?;
    let accepts = |name: &str| {
        accepted.split(',').any(|item| {
            let mut parts = item.trim().split(';');
            let coding = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            coding.eq_ignore_ascii_case(name) && !refused
        })
    };
    if accepts("gzip") {
        Some(Encoding::Gzip)
    } else if accepts("deflate") {
        Some(Encoding::Deflate)
    } else {
        None
    }
}

/// A long-polling response with `body`, compressed (engine.io's `httpCompression`) when
/// the client accepts `encoding` and the body reaches the threshold.
fn compressed_polling_body(
    server: &ServerInner,
    encoding: Option<Encoding>,
    body: Vec<u8>,
) -> Response<Full<Bytes>> {
    use std::io::Write as _;
    let (Some(settings), Some(encoding)) = (server.config.http_compression, encoding) else {
        return polling_body(body);
    };
    if body.len() < settings.threshold {
        return polling_body(body);
    }
    let (compressed, name) = match encoding {
        Encoding::Gzip => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            (
                encoder.write_all(&body).and_then(|()| encoder.finish()),
                "gzip",
            )
        }
        Encoding::Deflate => {
            let mut encoder =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            (
                encoder.write_all(&body).and_then(|()| encoder.finish()),
                "deflate",
            )
        }
    };
    let Ok(compressed) = compressed else {
        return polling_body(body);
    };
    let mut response = polling_body(compressed);
    response
        .headers_mut()
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
    response
}

fn polling_body(body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// engine.io's error answer: status 400 (403 for Forbidden) and `{"code":N,"message":"..."}`.
pub(crate) fn error_response(error: RequestError) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(error.json_body())));
    *response.status_mut() =
        StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn preflight<B>(req: &Request<B>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET,HEAD,PUT,PATCH,POST,DELETE"),
    );
    if let Some(requested) = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Access-Control-Request-Headers"),
        );
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    response
}

fn add_cors(
    server: &ServerInner,
    origin: Option<&HeaderValue>,
    response: &mut Response<Full<Bytes>>,
) {
    let Some(cors) = &server.config.cors else {
        return;
    };
    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        return;
    }
    let allowed = match (&cors.origin, origin) {
        (CorsOrigin::Any, _) => Some(HeaderValue::from_static("*")),
        (CorsOrigin::Reflect, Some(origin)) => Some(origin.clone()),
        (CorsOrigin::List(list), Some(origin)) => origin
            .to_str()
            .ok()
            .filter(|o| list.iter().any(|allowed| allowed == o))
            .map(|_| origin.clone()),
        (CorsOrigin::Predicate(accepts), Some(origin)) => origin
            .to_str()
            .ok()
            .filter(|o| (accepts.0)(o))
            .map(|_| origin.clone()),
        _ => None,
    };
    let headers = response.headers_mut();
    if let Some(allowed) = allowed {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
    }
    if !matches!(cors.origin, CorsOrigin::Any) {
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    if cors.credentials {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}
