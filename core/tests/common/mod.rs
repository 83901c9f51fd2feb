//! Shared helpers for the conformance integration tests: the two conformance servers (built
//! like `examples/conformance.rs`), a tiny raw HTTP/1.1 client and a WebSocket client.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use polysocket::{Cors, Server, ServerConfig, Socket};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

/// Longest wait for any single answer; every case is far quicker.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(2);

/// The Engine.IO record separator joining packets in a polling payload.
pub const SEP: char = '\x1e';

/// Engine.IO path of the engine.io conformance server.
pub const ENGINE_PATH: &str = "/engine.io/";
/// Engine.IO path of the socket.io conformance server.
pub const SOCKET_PATH: &str = "/socket.io/";

// ---------------------------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------------------------

/// The conformance options (pingInterval 300 ms, pingTimeout 200 ms, connectTimeout 1 s,
/// maxPayload 1e6, CORS `*`).
pub fn config(path: &str) -> ServerConfig {
    ServerConfig {
        path: path.to_owned(),
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(200),
        connect_timeout: Duration::from_millis(1000),
        max_http_buffer_size: 1_000_000,
        cors: Some(Cors::any()),
        ..ServerConfig::default()
    }
}

/// A running server and its address. The server lives as long as the test's runtime.
pub struct TestServer {
    pub io: Server,
    pub addr: SocketAddr,
    pub path: &'static str,
}

impl TestServer {
    /// `path?query` for a polling request, e.g. `poll("&sid=x")`.
    pub fn polling(&self, extra: &str) -> String {
        format!("{}?EIO=4&transport=polling{extra}", self.path)
    }

    /// `path?query` for a polling request on session `sid`.
    pub fn polling_sid(&self, sid: &str) -> String {
        self.polling(&format!("&sid={sid}"))
    }

    /// `ws://addr/path?query`.
    pub fn ws_url(&self, query: &str) -> String {
        format!("ws://{}{}?{query}", self.addr, self.path)
    }

    /// `ws://addr/path?EIO=4&transport=websocket` plus `extra`.
    pub fn websocket_url(&self, extra: &str) -> String {
        self.ws_url(&format!("EIO=4&transport=websocket{extra}"))
    }
}

/// The engine.io echo server of the conformance example, with `tweak` applied to its options.
pub async fn engineio_server_with(tweak: impl FnOnce(&mut ServerConfig)) -> TestServer {
    let mut cfg = config(ENGINE_PATH);
    tweak(&mut cfg);
    let io = Server::with_config(cfg);
    io.on_engine_message(|socket, message| {
        let _ = socket.send(message);
    });
    let addr = io.listen("127.0.0.1:0").await.expect("listen");
    TestServer {
        io,
        addr,
        path: ENGINE_PATH,
    }
}

/// The engine.io echo server of the conformance example.
pub async fn engineio_server() -> TestServer {
    engineio_server_with(|_| {}).await
}

fn emit_auth(socket: &Socket) {
    let _ = socket.emit("auth", socket.handshake().auth().clone());
}

/// The socket.io server of the conformance example (`/` and `/custom`).
pub async fn socketio_server() -> TestServer {
    let io = Server::with_config(config(SOCKET_PATH));
    io.on_connection(|socket| {
        emit_auth(&socket);
        socket.on("message", |socket, event| {
            let _ = socket.emit_args("message-back", event.args);
        });
        socket.on("message-with-ack", |_, mut event| {
            if let Some(ack) = event.ack() {
                let _ = ack.send_args(event.args);
            }
        });
    });
    io.of("/custom").on_connection(|socket| emit_auth(&socket));
    let addr = io.listen("127.0.0.1:0").await.expect("listen");
    TestServer {
        io,
        addr,
        path: SOCKET_PATH,
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1
// ---------------------------------------------------------------------------------------------

/// A parsed HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }

    /// Asserts status and exact body.
    #[track_caller]
    pub fn assert(&self, status: u16, body: &str) {
        assert_eq!(
            (self.status, self.text().as_str()),
            (status, body),
            "unexpected response {self:?}"
        );
    }

    /// Asserts an engine.io JSON error: status 400, `application/json`, exact body, CORS.
    #[track_caller]
    pub fn assert_error(&self, code: u8, message: &str) {
        self.assert(400, &format!(r#"{{"code":{code},"message":"{message}"}}"#));
        assert_eq!(self.header("content-type"), Some("application/json"));
        assert_eq!(self.header("access-control-allow-origin"), Some("*"));
    }

    /// Asserts a successful polling GET (status, headers) and returns its body.
    #[track_caller]
    pub fn poll_body(&self) -> String {
        assert_eq!(self.status, 200, "unexpected response {self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("text/plain; charset=UTF-8")
        );
        assert_eq!(self.header("cache-control"), Some("no-store"));
        assert_eq!(self.header("access-control-allow-origin"), Some("*"));
        self.text()
    }
}

/// A request already written to its own connection, whose response has not been read yet.
pub struct PendingRequest {
    stream: TcpStream,
}

impl PendingRequest {
    /// Connects and writes the whole request (`Connection: close`, `Origin` set).
    pub async fn send(
        addr: SocketAddr,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> PendingRequest {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let mut head =
            format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
        let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
        if !has("origin") {
            head.push_str("Origin: http://example.com\r\n");
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !has("content-length") && (!body.is_empty() || method != "GET") {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        if !body.is_empty() && !has("content-type") {
            head.push_str("Content-Type: text/plain;charset=UTF-8\r\n");
        }
        head.push_str("\r\n");
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        stream.write_all(&request).await.expect("write request");
        stream.flush().await.expect("flush");
        PendingRequest { stream }
    }

    /// Reads the response (within [`STEP_TIMEOUT`]).
    pub async fn response(self) -> HttpResponse {
        tokio::time::timeout(STEP_TIMEOUT, read_response(self.stream))
            .await
            .expect("HTTP response timed out")
    }
}

async fn read_response(mut stream: TcpStream) -> HttpResponse {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let n = stream.read(&mut chunk).await.expect("read response");
        assert!(n > 0, "connection closed before the response head: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).expect("UTF-8 head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').expect("header line");
            (name.trim().to_owned(), value.trim().to_owned())
        })
        .collect();
    let mut response = HttpResponse {
        status,
        headers,
        body: buf[head_end + 4..].to_vec(),
    };
    let length = response
        .header("content-length")
        .map(|v| v.parse::<usize>().expect("content-length"));
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    match length {
        Some(length) => {
            while response.body.len() < length {
                let n = stream.read(&mut chunk).await.expect("read body");
                assert!(n > 0, "connection closed mid-body");
                response.body.extend_from_slice(&chunk[..n]);
            }
            response.body.truncate(length);
        }
        None => {
            stream
                .read_to_end(&mut response.body)
                .await
                .expect("read body");
            if chunked {
                response.body = dechunk(&response.body);
            }
        }
    }
    response
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size_text = std::str::from_utf8(&raw[..line_end]).expect("chunk size");
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .expect("chunk size");
        raw = &raw[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

/// One request on a fresh connection, with extra headers.
pub async fn request_with(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    PendingRequest::send(addr, method, target, headers, body)
        .await
        .response()
        .await
}

/// One request on a fresh connection.
pub async fn request(addr: SocketAddr, method: &str, target: &str, body: &[u8]) -> HttpResponse {
    request_with(addr, method, target, &[], body).await
}

/// `GET target`.
pub async fn get(addr: SocketAddr, target: &str) -> HttpResponse {
    request(addr, "GET", target, b"").await
}

/// `POST target` with `body`.
pub async fn post(addr: SocketAddr, target: &str, body: &str) -> HttpResponse {
    request(addr, "POST", target, body.as_bytes()).await
}

/// Checks an Engine.IO handshake (`0{...}`) against the conformance values: exactly the five
/// keys, `upgrades` as given, maxPayload 1e6. Returns the sid.
#[track_caller]
pub fn check_handshake(text: &str, upgrades: &[&str]) -> String {
    check_handshake_max(text, upgrades, 1_000_000)
}

/// [`check_handshake`] with another `maxPayload`.
#[track_caller]
pub fn check_handshake_max(text: &str, upgrades: &[&str], max_payload: u64) -> String {
    let json = text
        .strip_prefix('0')
        .unwrap_or_else(|| panic!("not an open packet: {text:?}"));
    let value: serde_json::Value = serde_json::from_str(json).expect("handshake JSON");
    let object = value.as_object().expect("handshake object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "maxPayload",
            "pingInterval",
            "pingTimeout",
            "sid",
            "upgrades"
        ],
        "handshake keys of {text}"
    );
    let sid = object["sid"].as_str().expect("sid is a string");
    assert!(!sid.is_empty());
    assert_eq!(object["upgrades"], serde_json::json!(upgrades));
    assert_eq!(object["pingInterval"], serde_json::json!(300));
    assert_eq!(object["pingTimeout"], serde_json::json!(200));
    assert_eq!(object["maxPayload"], serde_json::json!(max_payload));
    sid.to_owned()
}

/// Opens a polling session; returns its sid.
pub async fn open_polling(server: &TestServer) -> String {
    let response = get(server.addr, &server.polling("")).await;
    let body = response.poll_body();
    check_handshake_max(
        &body,
        &["websocket"],
        server.io.config().max_http_buffer_size,
    )
}

// ---------------------------------------------------------------------------------------------
// WebSocket
// ---------------------------------------------------------------------------------------------

/// One thing read from a WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Text(String),
    Binary(Vec<u8>),
    /// Close frame, end of stream or transport error.
    Closed,
}

impl Frame {
    /// Shorthand for a text frame.
    pub fn text(text: &str) -> Frame {
        Frame::Text(text.to_owned())
    }
}

/// A WebSocket client.
pub struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Ws {
    /// Connects (panics on a rejected upgrade).
    pub async fn connect(url: &str) -> Ws {
        Ws::try_connect(url).await.expect("WebSocket connect")
    }

    /// Connects; the error when the upgrade is rejected.
    pub async fn try_connect(url: &str) -> Result<Ws, tungstenite::Error> {
        let (stream, _) = tokio::time::timeout(STEP_TIMEOUT, connect_async(url))
            .await
            .expect("WebSocket connect timed out")?;
        Ok(Ws { stream })
    }

    /// Connects and checks the Engine.IO handshake (`upgrades: []`); returns the sid.
    pub async fn open(server: &TestServer) -> (Ws, String) {
        let mut ws = Ws::connect(&server.websocket_url("")).await;
        let Frame::Text(text) = ws.next().await else {
            panic!("no handshake");
        };
        let sid = check_handshake(&text, &[]);
        (ws, sid)
    }

    /// The next text/binary frame or [`Frame::Closed`], within [`STEP_TIMEOUT`].
    pub async fn next(&mut self) -> Frame {
        tokio::time::timeout(STEP_TIMEOUT, self.read())
            .await
            .expect("WebSocket read timed out")
    }

    async fn read(&mut self) -> Frame {
        loop {
            match self.stream.next().await {
                Some(Ok(Message::Text(text))) => return Frame::Text(text.as_str().to_owned()),
                Some(Ok(Message::Binary(bytes))) => return Frame::Binary(bytes.to_vec()),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Close(_)) | Err(_)) | None => return Frame::Closed,
            }
        }
    }

    /// The next frame that is not an Engine.IO ping; pings are answered with `3`.
    pub async fn next_skip_ping(&mut self) -> Frame {
        loop {
            match self.next().await {
                Frame::Text(text) if text == "2" => self.send("3").await,
                other => return other,
            }
        }
    }

    /// Asserts that the next frame (pings answered) is exactly the text `expected`.
    pub async fn expect(&mut self, expected: &str) {
        assert_eq!(self.next_skip_ping().await, Frame::text(expected));
    }

    /// Sends a text frame.
    pub async fn send(&mut self, text: &str) {
        self.stream
            .send(Message::text(text.to_owned()))
            .await
            .expect("send text");
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, bytes: &[u8]) {
        self.stream
            .send(Message::binary(bytes.to_vec()))
            .await
            .expect("send binary");
    }

    /// Waits until the server closes the connection, answering Engine.IO pings (so the ping
    /// timeout cannot be the cause); an Engine.IO close packet `1` may come first, any other
    /// message fails. Returns how long it took.
    pub async fn expect_closed_answering_pings(&mut self) -> Duration {
        let start = Instant::now();
        loop {
            match self.next().await {
                Frame::Closed => return start.elapsed(),
                Frame::Text(text) if text == "1" => {}
                Frame::Text(text) if text == "2" => {
                    // The server may already be closing: a failed pong is fine.
                    let _ = self.stream.send(Message::text("3")).await;
                }
                other => panic!("expected the connection to close, got {other:?}"),
            }
        }
    }

    /// Closes the connection from the client side.
    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Engine.IO cases both conformance servers must pass (each test file runs them on its server)
// ---------------------------------------------------------------------------------------------

/// Three ping/pong cycles over polling: each poll holds exactly the ping.
pub async fn polling_ping_pong_cycles(server: &TestServer) {
    let sid = open_polling(server).await;
    let target = server.polling_sid(&sid);
    for _ in 0..3 {
        assert_eq!(get(server.addr, &target).await.poll_body(), "2");
        post(server.addr, &target, "3").await.assert(200, "ok");
    }
}

/// A polling session whose ping is never fetched is gone after pingInterval + pingTimeout.
pub async fn polling_ping_timeout(server: &TestServer) {
    let sid = open_polling(server).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    get(server.addr, &server.polling_sid(&sid))
        .await
        .assert_error(1, "Session ID unknown");
}

/// A WebSocket that never pongs is closed after pingInterval + pingTimeout.
pub async fn websocket_ping_timeout(server: &TestServer) {
    let start = Instant::now();
    let (mut ws, _) = Ws::open(server).await;
    assert_eq!(ws.next().await, Frame::text("2"));
    assert_eq!(ws.next().await, Frame::Closed);
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(400) && elapsed < Duration::from_millis(1500),
        "closed after {elapsed:?}"
    );
}

/// A client `close` over polling releases the parked poll with a noop and ends the session.
pub async fn polling_forceful_close(server: &TestServer) {
    let sid = open_polling(server).await;
    let target = server.polling_sid(&sid);
    let pending = PendingRequest::send(server.addr, "GET", &target, &[], b"").await;
    // The case is a close arriving while a long poll is parked: give the GET a head start (the
    // first ping is only due 300 ms after the handshake).
    tokio::time::sleep(Duration::from_millis(100)).await;
    post(server.addr, &target, "1").await;
    assert_eq!(pending.response().await.poll_body(), "6");
    get(server.addr, &target)
        .await
        .assert_error(1, "Session ID unknown");
}

/// A client `close` over WebSocket closes the socket at once.
pub async fn websocket_forceful_close(server: &TestServer) {
    let (mut ws, _) = Ws::open(server).await;
    ws.send("1").await;
    let elapsed = ws.expect_closed_answering_pings().await;
    assert!(
        elapsed < Duration::from_millis(250),
        "closed after {elapsed:?}"
    );
}
