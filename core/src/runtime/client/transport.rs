//! The client's transports: a WebSocket, or long-polling with one task that keeps a GET in
//! flight and one that POSTs, each over its own keep-alive HTTP/1.1 connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use http::{Request, header};
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::options::Endpoint;
use crate::proto::engineio::{Packet, WsFrame, payload};

/// A client WebSocket.
pub(crate) type ClientWs = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What a transport tells the driver.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// Packets that arrived.
    Packets(Vec<Packet>),
    /// The polling reader stopped because polling is paused (upgrade).
    PollingPaused,
    /// The transport failed or closed (`error`: failed).
    Closed { error: bool },
}

/// Opens a WebSocket to the endpoint (`sid` for an upgrade probe).
pub(crate) async fn connect_websocket(
    endpoint: &Endpoint,
    sid: Option<&str>,
) -> Result<ClientWs, String> {
    let url = endpoint.url("ws", "websocket", sid);
    let mut request = tungstenite::client::IntoClientRequest::into_client_request(url.as_str())
        .map_err(|e| e.to_string())?;
    for (name, value) in &endpoint.extra_headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            request.headers_mut().insert(name, value);
        }
    }
    if let Some(cookie) = endpoint.cookie_header() {
        request.headers_mut().insert(header::COOKIE, cookie);
    }
    // tungstenite's defaults (128 KiB read buffer, allocated up front) would cost every
    // client connection more than its data; frames are flushed per batch anyway.
    let config = tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(16 * 1024);
    let (ws, response) = tokio_tungstenite::connect_async_with_config(request, Some(config), true)
        .await
        .map_err(|e| e.to_string())?;
    endpoint.store_cookies(response.headers());
    Ok(ws)
}

/// Reads the next Engine.IO packet from a WebSocket.
pub(crate) async fn next_ws_packet(ws: &mut ClientWs) -> Inbound {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                return match Packet::decode_text_frame(Bytes::from(text)) {
                    Ok(packet) => Inbound::Packets(vec![packet]),
                    Err(_) => Inbound::Closed { error: true },
                };
            }
            Some(Ok(Message::Binary(data))) => return Inbound::Packets(vec![Packet::Binary(data)]),
            Some(Ok(Message::Close(_))) | None => return Inbound::Closed { error: false },
            Some(Ok(_)) => continue,
            Some(Err(_)) => return Inbound::Closed { error: true },
        }
    }
}

/// Writes packets to a WebSocket and flushes.
pub(crate) async fn write_ws(ws: &mut ClientWs, packets: Vec<Packet>) -> Result<(), String> {
    for packet in packets {
        let message = match packet.to_ws_frame() {
            WsFrame::Text(bytes) => {
                Message::Text(Utf8Bytes::try_from(bytes).map_err(|e| e.to_string())?)
            }
            WsFrame::Binary(bytes) => Message::Binary(bytes),
        };
        ws.feed(message).await.map_err(|e| e.to_string())?;
    }
    ws.flush().await.map_err(|e| e.to_string())
}

/// One keep-alive HTTP/1.1 connection, reopened when it breaks.
struct HttpConnection {
    endpoint: Arc<Endpoint>,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl HttpConnection {
    fn new(endpoint: Arc<Endpoint>) -> Self {
        HttpConnection {
            endpoint,
            sender: None,
        }
    }

    async fn sender(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, String> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let stream = TcpStream::connect((self.endpoint.host.as_str(), self.endpoint.port))
                .await
                .map_err(|e| e.to_string())?;
            let _ = stream.set_nodelay(true);
            let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            self.sender = Some(sender);
        }
        let sender = self.sender.as_mut().expect("just set");
        sender.ready().await.map_err(|e| e.to_string())?;
        Ok(sender)
    }

    /// Sends a request to the Engine.IO endpoint; returns the status and body.
    async fn request(
        &mut self,
        method: http::Method,
        sid: Option<&str>,
        body: Vec<u8>,
    ) -> Result<(http::StatusCode, Bytes), String> {
        let target = self.endpoint.target("polling", sid);
        let mut builder = Request::builder()
            .method(method)
            .uri(target)
            .header(header::HOST, self.endpoint.authority());
        for (name, value) in &self.endpoint.extra_headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if !body.is_empty() {
            builder = builder.header(header::CONTENT_TYPE, "text/plain;charset=UTF-8");
        }
        if let Some(cookie) = self.endpoint.cookie_header() {
            builder = builder.header(header::COOKIE, cookie);
        }
        let request = builder
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let response = self
            .sender()
            .await?
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        self.endpoint.store_cookies(response.headers());
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, body))
    }
}

/// The handshake GET of a polling connection: returns the packets of the answer.
pub(crate) async fn polling_handshake(endpoint: &Arc<Endpoint>) -> Result<Vec<Packet>, String> {
    let mut http = HttpConnection::new(endpoint.clone());
    let (status, body) = http.request(http::Method::GET, None, Vec::new()).await?;
    if !status.is_success() {
        return Err(format!(
            "handshake answered {status}: {}",
            String::from_utf8_lossy(&body)
        ));
    }
    payload::decode(&body).map_err(|e| e.to_string())
}

/// A long-polling transport: a reader task (GET after GET) and a writer task (one POST at
/// a time). Dropping it stops both.
pub(crate) struct Polling {
    writer: mpsc::UnboundedSender<Vec<Packet>>,
    /// Batches handed to the writer and not yet POSTed (an upgrade waits for zero).
    unposted: Arc<AtomicUsize>,
    paused: Arc<AtomicBool>,
    resume: Arc<Notify>,
    tasks: [tokio::task::JoinHandle<()>; 2],
}

impl Drop for Polling {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Polling {
    /// Starts polling session `sid`; what arrives goes to `inbound`.
    pub(crate) fn start(
        endpoint: Arc<Endpoint>,
        sid: String,
        inbound: mpsc::UnboundedSender<Inbound>,
    ) -> Polling {
        let paused = Arc::new(AtomicBool::new(false));
        let resume = Arc::new(Notify::new());
        let unposted = Arc::new(AtomicUsize::new(0));
        let posted = Arc::new(Notify::new());
        let reader = {
            let (endpoint, sid, inbound) = (endpoint.clone(), sid.clone(), inbound.clone());
            let (paused, resume) = (paused.clone(), resume.clone());
            let (unposted, posted) = (unposted.clone(), posted.clone());
            tokio::spawn(async move {
                let mut http = HttpConnection::new(endpoint);
                loop {
                    if paused.load(Ordering::Acquire) {
                        // As engine.io-client's pause: no poll in flight, and every queued
                        // POST done, before the upgrade's `5` may go out.
                        loop {
                            let done = posted.notified();
                            let mut done = std::pin::pin!(done);
                            done.as_mut().enable();
                            if unposted.load(Ordering::Acquire) == 0 {
                                break;
                            }
                            done.await;
                        }
                        let _ = inbound.send(Inbound::PollingPaused);
                        resume.notified().await;
                        continue;
                    }
                    let answer = http
                        .request(http::Method::GET, Some(&sid), Vec::new())
                        .await;
                    let message = match answer {
                        Ok((status, body)) if status.is_success() => match payload::decode(&body) {
                            Ok(packets) => Inbound::Packets(packets),
                            Err(_) => Inbound::Closed { error: true },
                        },
                        _ => Inbound::Closed { error: true },
                    };
                    let closed = matches!(message, Inbound::Closed { .. });
                    if inbound.send(message).is_err() || closed {
                        return;
                    }
                }
            })
        };
        let (writer, mut batches) = mpsc::unbounded_channel::<Vec<Packet>>();
        let poster = {
            let unposted = unposted.clone();
            tokio::spawn(async move {
                let mut http = HttpConnection::new(endpoint);
                while let Some(mut packets) = batches.recv().await {
                    // Everything queued meanwhile goes in the same POST.
                    let mut taken = 1;
                    while let Ok(more) = batches.try_recv() {
                        packets.extend(more);
                        taken += 1;
                    }
                    let body = payload::encode(&packets);
                    let sent = http.request(http::Method::POST, Some(&sid), body).await;
                    unposted.fetch_sub(taken, Ordering::AcqRel);
                    posted.notify_waiters();
                    match sent {
                        Ok((status, _)) if status.is_success() => {}
                        _ => {
                            let _ = inbound.send(Inbound::Closed { error: true });
                            return;
                        }
                    }
                }
            })
        };
        Polling {
            writer,
            unposted,
            paused,
            resume,
            tasks: [reader, poster],
        }
    }

    /// Stops the transport once what is queued has been POSTed (a client's closing packets
    /// must reach the server), waiting at most `limit` for that; stops the reader at once.
    pub(crate) async fn close_after_flush(mut self, limit: std::time::Duration) {
        self.tasks[0].abort();
        // Dropping the last sender ends the writer's loop once the queue is empty.
        let (closed, _) = mpsc::unbounded_channel();
        drop(std::mem::replace(&mut self.writer, closed));
        let _ = tokio::time::timeout(limit, &mut self.tasks[1]).await;
    }

    /// Queues packets for the next POST.
    pub(crate) fn send(&self, packets: Vec<Packet>) {
        if !packets.is_empty() {
            self.unposted.fetch_add(1, Ordering::AcqRel);
            if self.writer.send(packets).is_err() {
                self.unposted.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    /// Stops issuing GETs; the reader reports [`Inbound::PollingPaused`] once none is in
    /// flight.
    pub(crate) fn pause(&self) {
        self.paused.store(true, Ordering::Release);
    }

    /// Issues GETs again (the upgrade failed).
    pub(crate) fn resume(&self) {
        self.paused.store(false, Ordering::Release);
        self.resume.notify_one();
    }
}
