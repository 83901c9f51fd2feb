//! One Engine.IO connection and the Socket.IO sockets multiplexed over it.
//!
//! A [`Conn`] wraps the sans-IO [`Session`] and [`ServerConnection`] behind one mutex. Inputs
//! come from the HTTP handlers (polling) or the session's driver task (WebSocket, timers);
//! outputs are picked up by whichever transport is attached.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::Notify;

use super::config::SaturationPolicy;
use super::namespace::{ConnectError, Namespace, lock};
use super::server::ServerInner;
use super::socket::{DisconnectReason, EmitError, Socket};
use super::ws::WsStream;
use crate::proto::engineio::{
    CloseReason, Packet as EnginePacket, SendError, Session, SessionEvent, TextFrame, Transport,
};
use crate::proto::recovery::RecoveredSession;
use crate::proto::socketio::{
    ConnectionEvent, Packet, Parser, ProtocolError, ServerConnection, msgpack,
};
use crate::proto::value::{Map, Value};

/// What the HTTP request that opened the session looked like (socket.io's `handshake`).
#[derive(Debug, Clone)]
pub(crate) struct RequestInfo {
    pub(crate) headers: super::headers::HandshakeHeaders,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) address: Option<SocketAddr>,
    pub(crate) url: String,
    pub(crate) secure: bool,
}

/// How many packets may wait for the connection's task while a volatile packet still
/// counts as deliverable right away (see [`Conn::send_frames_volatile`]).
const VOLATILE_SLACK: usize = 4;

/// How an emit is delivered: socket.io's `volatile` and `compress` flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SendFlags {
    /// Dropped when the transport cannot take it right away.
    pub(crate) volatile: bool,
    /// May be compressed (`httpCompression` for polling).
    pub(crate) compress: bool,
}

impl Default for SendFlags {
    fn default() -> Self {
        SendFlags {
            volatile: false,
            compress: true,
        }
    }
}

/// An encoded Socket.IO packet, ready for any number of sessions: its first Engine.IO
/// message (text with the default parser, binary with msgpack) and the binary attachments
/// that follow it (default parser only).
#[derive(Debug, Clone)]
pub(crate) struct Frames {
    first: EnginePacket,
    attachments: Vec<Bytes>,
}

impl Frames {
    pub(crate) fn encode(packet: &Packet, parser: Parser) -> Frames {
        match parser {
            Parser::Default => {
                let mut text = String::with_capacity(64);
                text.push('4');
                let mut attachments = Vec::new();
                packet.encode_into(&mut text, &mut attachments);
                let text =
                    TextFrame::from_prefixed_string(text).expect("starts with the message digit");
                Frames {
                    first: EnginePacket::Text(text),
                    attachments,
                }
            }
            Parser::Msgpack => Frames {
                first: EnginePacket::Binary(msgpack::encode(packet)),
                attachments: Vec::new(),
            },
        }
    }

    fn packets(&self) -> impl ExactSizeIterator<Item = EnginePacket> + '_ {
        std::iter::once(self.first.clone())
            .chain(self.attachments.iter().cloned().map(EnginePacket::Binary))
            .collect::<Vec<_>>()
            .into_iter()
    }
}

pub(crate) struct ConnState {
    pub(crate) engine: Session,
    sio: ServerConnection,
    sockets: HashMap<String, Socket>,
    /// Packets for namespaces whose connection handlers are still running, in arrival order.
    ///
    /// The CONNECT reply is queued before the handlers run (so that their emits follow it),
    /// and on a multi-threaded runtime a pending long-poll (or the WebSocket driver, when a
    /// middleware moved the connect to its own task) can deliver it at once. The client may
    /// then answer before the handlers have registered their `socket.on(..)` handlers;
    /// dispatching its events right away would drop them, or end the socket before its
    /// `on_disconnect` exists. socket.io never sees this (Node runs the `connection`
    /// handlers before any further I/O), so those packets wait here and are dispatched,
    /// in order, once the handlers returned. The same goes for the connection closing
    /// meanwhile, so that the handlers' `on_disconnect` sees it.
    held: HashMap<String, Vec<Held>>,
    /// A WebSocket that is probing an upgrade, waiting for the driver task to take it.
    pub(crate) probe: Option<Box<WsStream>>,
    pub(crate) poll_active: bool,
    pub(crate) post_active: bool,
    torn_down: bool,
    /// Called once the connection upgraded (engine.io's `upgrade` event).
    pub(crate) upgrade_handlers: Vec<UpgradeHandler>,
}

/// A listener of [`crate::EngineSocket::on_upgrade`], given the new transport.
pub(crate) type UpgradeHandler = Arc<dyn Fn(crate::Transport) + Send + Sync>;

/// The session and missed packets a CONNECT with `{pid, offset}` in its auth recovers.
fn restore_session(namespace: &Namespace, auth: &Value) -> Option<RecoveredSession> {
    let store = namespace.0.recovery.as_ref()?;
    let pid = auth.get("pid")?.as_str()?;
    let offset = auth.get("offset")?.as_str()?;
    lock(store).restore(pid, offset, Instant::now())
}

/// What happened to a socket while its connection handlers ran (see `ConnState::held`).
enum Held {
    Packet(ConnectionEvent),
    Closed(DisconnectReason),
}

/// Events only the driver task can act on.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DriverEvent {
    Upgraded,
    UpgradeAborted,
}

pub(crate) struct Conn {
    pub(crate) sid: Arc<str>,
    pub(crate) server: Arc<ServerInner>,
    pub(crate) request: Arc<RequestInfo>,
    state: Mutex<ConnState>,
    /// Wakes the driver task (new packets, timers to recompute, close).
    pub(crate) wake_driver: Notify,
    /// Wakes a pending long-poll.
    pub(crate) wake_poll: Notify,
    /// Wakes the waiters of [`Conn::settle_upgrade`] and [`Conn::drained`] (an upgrade
    /// completed or failed, or queued packets were handed to the transport); they check
    /// their own condition again.
    pub(crate) progress: Notify,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("sid", &self.sid)
            .finish_non_exhaustive()
    }
}

impl Conn {
    pub(crate) fn new(
        server: Arc<ServerInner>,
        sid: Arc<str>,
        transport: Transport,
        request: RequestInfo,
        now: Instant,
    ) -> Arc<Conn> {
        let config = &server.config;
        let engine = Session::new(
            sid.to_string(),
            transport,
            &config.upgrades_from(transport),
            config.session_config(),
            now,
        );
        let sio = ServerConnection::with_parser(
            config.parser,
            config.connect_timeout,
            config.max_attachments,
            now,
        );
        Arc::new(Conn {
            sid,
            request: Arc::new(request),
            state: Mutex::new(ConnState {
                engine,
                sio,
                sockets: HashMap::new(),
                held: HashMap::new(),
                probe: None,
                poll_active: false,
                post_active: false,
                torn_down: false,
                upgrade_handlers: Vec::new(),
            }),
            wake_driver: Notify::new(),
            wake_poll: Notify::new(),
            progress: Notify::new(),
            server,
        })
    }

    /// Waits briefly (at most 50 ms) while an upgrade is under way.
    ///
    /// A client sends `2probe` and then `5` on the new WebSocket, and stops polling and
    /// opens no other WebSocket meanwhile. A request that arrives during an upgrade was
    /// most likely sent after the `5` on another connection, and on a multi-threaded runtime
    /// it may be handled before the `5` is: it is answered as the session stands once the
    /// upgrade settled, as a single-threaded server would. The bound keeps a poll that a
    /// client sent just before it paused from waiting for the upgrade's timeout.
    pub(crate) async fn settle_upgrade(&self) {
        let timeout = std::time::Duration::from_millis(50).min(self.server.config.upgrade_timeout);
        let wait = async {
            loop {
                let settled = self.progress.notified();
                let mut settled = std::pin::pin!(settled);
                settled.as_mut().enable();
                if !self.lock().engine.is_upgrading() {
                    return;
                }
                settled.await;
            }
        };
        let _ = tokio::time::timeout(timeout, wait).await;
    }

    /// Hands a WebSocket that probes an upgrade to the driver task.
    pub(crate) fn offer_probe(&self, ws: WsStream) {
        self.lock().probe = Some(Box::new(ws));
        self.wake_driver.notify_one();
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, ConnState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn wake(&self) {
        self.wake_driver.notify_one();
        self.wake_poll.notify_one();
    }

    /// Queues encoded frames for the client.
    pub(crate) fn send_frames(self: &Arc<Self>, frames: &Frames) -> Result<(), EmitError> {
        self.send_frames_with(frames, true)
    }

    /// Queues encoded frames, marked compressible or not.
    pub(crate) fn send_frames_with(
        self: &Arc<Self>,
        frames: &Frames,
        compress: bool,
    ) -> Result<(), EmitError> {
        let queued = if frames.attachments.is_empty() && compress {
            self.lock().engine.send(frames.first.clone())
        } else {
            self.lock().engine.send_all_with(frames.packets(), compress)
        };
        self.woken_after(queued)
    }

    /// Queues encoded frames only when the transport can take them right away (socket.io's
    /// volatile packets): at most [`VOLATILE_SLACK`] packets are waiting to be written and
    /// no upgrade is under way. Returns whether they were queued.
    ///
    /// socket.io drops a volatile packet only while its transport is in the middle of a
    /// write; its writes are synchronous, so a packet emitted just before is already out.
    /// Here the connection's task writes, maybe a moment later on another thread: a few
    /// packets still waiting for it (such as the one emitted just before) do not make the
    /// transport busy. A client that does not read keeps far more than that queued.
    ///
    /// For long-polling, socket.io also requires a GET to be pending. A client re-polls as
    /// soon as a response arrives, but its next GET and a POST sent meanwhile travel on two
    /// connections, which a multi-threaded server may handle in either order; a short
    /// queue is what the client can count on instead (what it has not received yet is a
    /// handful of packets at most).
    pub(crate) fn send_frames_volatile(
        self: &Arc<Self>,
        frames: &Frames,
        compress: bool,
    ) -> Result<bool, EmitError> {
        let queued = {
            let mut state = self.lock();
            let writable = state.engine.queued() <= VOLATILE_SLACK && !state.engine.is_upgrading();
            if state.engine.is_closed() {
                return Err(EmitError::Closed);
            }
            if !writable {
                return Ok(false);
            }
            state.engine.send_all_with(frames.packets(), compress)
        };
        self.woken_after(queued).map(|()| true)
    }

    pub(crate) fn send_engine_packets(
        self: &Arc<Self>,
        packets: Vec<EnginePacket>,
    ) -> Result<(), EmitError> {
        let queued = self.lock().engine.send_all(packets.into_iter());
        self.woken_after(queued)
    }

    /// Wakes the transports once packets were queued. A full queue fails the emit with
    /// [`EmitError::Saturated`]; with [`SaturationPolicy::Disconnect`] it also closes the
    /// connection.
    fn woken_after(self: &Arc<Self>, queued: Result<(), SendError>) -> Result<(), EmitError> {
        if queued == Err(SendError::Saturated)
            && self.server.config.on_saturated == SaturationPolicy::Disconnect
        {
            self.lock().engine.abort(CloseReason::ForcedClose);
            self.wake();
            // The driver may be stuck writing to this very client: handle the close (and
            // the disconnect handlers) on a task of its own, outside the emitter's call.
            let conn = self.clone();
            tokio::spawn(async move {
                conn.process_events();
            });
        }
        queued?;
        self.wake();
        Ok(())
    }

    /// Packets queued for the client and not yet handed to its transport.
    pub(crate) fn buffered(&self) -> usize {
        self.lock().engine.queued()
    }

    /// Waits until nothing is queued for the client (or the connection closed).
    pub(crate) async fn drained(&self) {
        loop {
            let notified = self.progress.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            {
                let state = self.lock();
                if state.engine.queued() == 0 || state.engine.is_closed() {
                    return;
                }
            }
            notified.await;
        }
    }

    pub(crate) fn send_packet(self: &Arc<Self>, packet: &Packet) -> Result<(), EmitError> {
        self.send_frames(&Frames::encode(packet, self.server.config.parser))
    }

    /// Closes the whole connection from the server side.
    pub(crate) fn close(self: &Arc<Self>, reason: CloseReason) {
        self.lock().engine.close(reason, Instant::now());
        self.wake();
        self.process_events();
    }

    /// Ends the session at once (a broken transport or protocol) and handles what follows.
    pub(crate) fn abort(self: &Arc<Self>, reason: CloseReason) -> Vec<DriverEvent> {
        self.lock().engine.abort(reason);
        self.process_events()
    }

    /// Feeds a packet from the client into the session and handles what follows.
    pub(crate) fn handle_inbound(
        self: &Arc<Self>,
        packet: EnginePacket,
        via: Transport,
        now: Instant,
    ) -> Vec<DriverEvent> {
        let queued = {
            let mut state = self.lock();
            state.engine.handle_packet(packet, via, now);
            state.engine.queued() > 0
        };
        if queued {
            // E.g. the noop that releases a pending poll during an upgrade.
            self.wake_poll.notify_one();
        }
        self.process_events()
    }

    /// Advances the session's and the Socket.IO connection's timers.
    pub(crate) fn handle_timeout(self: &Arc<Self>, now: Instant) -> Vec<DriverEvent> {
        let connect_expired = {
            let mut state = self.lock();
            state.engine.handle_timeout(now);
            state.sio.handle_timeout(now).is_err() && self.server.engine_handler().is_none()
        };
        if connect_expired {
            self.close(CloseReason::ForcedClose);
        }
        // A ping may have been queued: release the pending poll.
        self.wake_poll.notify_one();
        self.process_events()
    }

    /// The next deadline of the session or of the connect timeout.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let state = self.lock();
        [state.engine.poll_timeout(), state.sio.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Handles the session's pending events; returns those the driver must act on.
    pub(crate) fn process_events(self: &Arc<Self>) -> Vec<DriverEvent> {
        let mut for_driver = Vec::new();
        loop {
            let event = self.lock().engine.poll_event();
            let Some(event) = event else { break };
            match event {
                SessionEvent::Message(packet) => self.on_message(packet),
                SessionEvent::Upgraded => {
                    for_driver.push(DriverEvent::Upgraded);
                    let (handlers, transport) = {
                        let state = self.lock();
                        (state.upgrade_handlers.clone(), state.engine.transport())
                    };
                    for handler in handlers {
                        handler(transport);
                    }
                }
                SessionEvent::UpgradeAborted => for_driver.push(DriverEvent::UpgradeAborted),
                SessionEvent::Closed(reason) => self.teardown(reason),
            }
        }
        if !for_driver.is_empty() {
            self.wake_driver.notify_one();
        }
        for_driver
    }

    fn on_message(self: &Arc<Self>, packet: EnginePacket) {
        if let Some(handler) = self.server.engine_handler() {
            handler(&super::server::EngineSocket(self.clone()), packet);
            return;
        }
        let decoded = {
            let mut state = self.lock();
            match packet {
                EnginePacket::Text(text) => state.sio.handle_text(text.data()),
                EnginePacket::Binary(data) => state.sio.handle_binary(data),
                _ => Ok(None),
            }
        };
        match decoded {
            Ok(Some(event)) => self.dispatch(event),
            Ok(None) => {}
            Err(error) => {
                tracing::debug!(sid = %self.sid, %error, "closing connection");
                // As socket.io: a packet that does not decode is reported to every socket's
                // `error` handlers (with the parser's message) before the connection closes.
                if let ProtocolError::Decode(decode) = &error {
                    let failure = super::packet_middleware::PacketError::new(decode.to_string());
                    for socket in self.sockets() {
                        socket.report_error(&failure);
                    }
                }
                self.close(CloseReason::ForcedClose);
            }
        }
    }

    fn socket(&self, nsp: &str) -> Option<Socket> {
        self.lock().sockets.get(nsp).cloned()
    }

    fn dispatch(self: &Arc<Self>, event: ConnectionEvent) {
        let nsp = match &event {
            ConnectionEvent::Connect { .. } => None,
            ConnectionEvent::Event { nsp, .. }
            | ConnectionEvent::Ack { nsp, .. }
            | ConnectionEvent::Disconnect { nsp } => Some(nsp),
        };
        if let Some(nsp) = nsp {
            let mut state = self.lock();
            if let Some(held) = state.held.get_mut(nsp.as_str()) {
                // The namespace's connection handlers are still running: see `held`.
                held.push(Held::Packet(event));
                return;
            }
        }
        self.dispatch_now(event);
    }

    fn dispatch_now(self: &Arc<Self>, event: ConnectionEvent) {
        match event {
            ConnectionEvent::Connect { nsp, auth } => self.connect(nsp, auth),
            ConnectionEvent::Event {
                nsp,
                event,
                args,
                id,
            } => {
                if let Some(socket) = self.socket(&nsp) {
                    socket.dispatch(event, args, id);
                }
            }
            ConnectionEvent::Ack { nsp, id, args } => {
                if let Some(socket) = self.socket(&nsp) {
                    socket.resolve_ack(id, args);
                }
            }
            ConnectionEvent::Disconnect { nsp } => {
                if let Some(socket) = self.socket(&nsp) {
                    socket.on_close(DisconnectReason::ClientNamespaceDisconnect);
                }
            }
        }
    }

    fn connect(self: &Arc<Self>, nsp: String, auth: Value) {
        match self.server.namespace(&nsp) {
            Some(namespace) => self.connect_to(namespace, auth),
            None if self.server.has_parents() => {
                let conn = self.clone();
                tokio::spawn(async move {
                    match conn.server.resolve_namespace(&nsp, &auth).await {
                        Some(namespace) => conn.connect_to(namespace, auth),
                        None => conn.reject_namespace(nsp),
                    }
                });
            }
            None => self.reject_namespace(nsp),
        }
    }

    fn reject_namespace(self: &Arc<Self>, nsp: String) {
        self.lock().sio.rejected(&nsp);
        let _ = self.send_packet(&Packet::connect_error(nsp, "Invalid namespace", None));
    }

    fn connect_to(self: &Arc<Self>, namespace: Namespace, auth: Value) {
        let restored = restore_session(&namespace, &auth);
        let session = restored.as_ref().map(|r| &r.session);
        let socket = Socket::new(namespace.clone(), self.clone(), auth, session);
        let skip_middlewares = restored.is_some()
            && self
                .server
                .config
                .connection_state_recovery
                .is_some_and(|r| r.skip_middlewares);
        let middlewares = if skip_middlewares {
            Vec::new()
        } else {
            namespace.middlewares()
        };
        if middlewares.is_empty() {
            self.finish_connect(socket, restored, Ok(()));
            return;
        }
        let conn = self.clone();
        tokio::spawn(async move {
            let mut result = Ok(());
            for middleware in middlewares {
                result = middleware(socket.clone()).await;
                if result.is_err() {
                    break;
                }
            }
            conn.finish_connect(socket, restored, result);
        });
    }

    fn finish_connect(
        self: &Arc<Self>,
        socket: Socket,
        restored: Option<RecoveredSession>,
        result: Result<(), ConnectError>,
    ) {
        let nsp = socket.ns().to_owned();
        if let Err(error) = result {
            self.lock().sio.rejected(&nsp);
            socket.namespace().release_if_empty();
            let _ = self.send_packet(&Packet::connect_error(nsp, &error.message, error.data));
            return;
        }
        {
            let mut state = self.lock();
            if state.torn_down || !state.engine.is_open() {
                drop(state);
                socket.namespace().release_if_empty();
                return;
            }
            state.sio.accepted(&nsp);
            state.sockets.insert(nsp.clone(), socket.clone());
            // Before the CONNECT reply can reach the client: hold its packets until the
            // connection handlers below have run.
            state.held.insert(nsp.clone(), Vec::new());
        }
        // As socket.io, a recovered socket gets the events it missed before its CONNECT
        // reply; the client buffers them until it is connected.
        let rooms = match restored {
            Some(recovered) => {
                for mut data in recovered.missed {
                    if data.is_empty() {
                        continue;
                    }
                    let name = match data.remove(0) {
                        Value::String(name) => name,
                        _ => continue,
                    };
                    let _ = self.send_packet(&Packet::event(nsp.clone(), name, data, None));
                }
                recovered.session.rooms
            }
            None => Vec::new(),
        };
        let mut reply = Map::new();
        reply.insert("sid".to_owned(), Value::from(socket.id()));
        if let Some(pid) = socket.pid() {
            reply.insert("pid".to_owned(), Value::from(pid));
        }
        let _ = self.send_packet(&Packet::connect(nsp.clone(), Some(Value::Object(reply))));
        socket.namespace().add_socket(&socket, &rooms);
        // Dispatch what arrived meanwhile; whatever arrives during that is appended and
        // taken by the next round, so the order is kept until the hold is lifted.
        loop {
            let batch = {
                let mut state = self.lock();
                match state.held.get_mut(&nsp) {
                    Some(held) if !held.is_empty() => std::mem::take(held),
                    _ => {
                        state.held.remove(&nsp);
                        if state.held.is_empty() {
                            // Its table would stay for the connection's life.
                            state.held = HashMap::new();
                        }
                        break;
                    }
                }
            };
            for held in batch {
                match held {
                    Held::Packet(event) => self.dispatch_now(event),
                    Held::Closed(reason) => socket.on_close(reason),
                }
            }
        }
    }

    /// Removes a socket that left its namespace (either side).
    pub(crate) fn forget_socket(&self, nsp: &str) {
        let mut state = self.lock();
        state.sockets.remove(nsp);
        state.sio.left(nsp);
    }

    /// Every socket on this connection.
    pub(crate) fn sockets(&self) -> Vec<Socket> {
        self.lock().sockets.values().cloned().collect()
    }

    fn teardown(self: &Arc<Self>, reason: CloseReason) {
        let sockets = {
            let mut state = self.lock();
            if state.torn_down {
                return;
            }
            state.torn_down = true;
            // They may hold the connection's sockets (a cycle through this state).
            state.upgrade_handlers.clear();
            let ConnState { sockets, held, .. } = &mut *state;
            // A socket whose connection handlers still run closes once they returned (and
            // after the packets held before the close): it stays in `sockets` till then.
            for (nsp, held) in held.iter_mut() {
                if sockets.contains_key(nsp) {
                    held.push(Held::Closed(DisconnectReason::from(reason)));
                }
            }
            let closing: Vec<String> = sockets
                .keys()
                .filter(|nsp| !held.contains_key(*nsp))
                .cloned()
                .collect();
            closing
                .iter()
                .filter_map(|nsp| sockets.remove(nsp))
                .collect::<Vec<_>>()
        };
        self.server.remove_session(&self.sid);
        for socket in sockets {
            socket.on_close(DisconnectReason::from(reason));
        }
        self.wake();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Mutex, mpsc};
    use std::time::Duration;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpStream;

    use crate::{Server, Value};

    /// One HTTP/1.1 request on its own connection; returns the body.
    async fn request(addr: std::net::SocketAddr, method: &str, path: &str, body: &str) -> String {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\
             Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        let response = String::from_utf8(response).unwrap();
        let (status, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(status.starts_with("HTTP/1.1 200"), "{response}");
        body.to_owned()
    }

    async fn within<F: std::future::Future>(
        f: F,
    ) -> Result<F::Output, tokio::time::error::Elapsed> {
        tokio::time::timeout(Duration::from_secs(5), f).await
    }

    /// Regression: over long-polling the CONNECT reply reaches the client while the
    /// `connection` handler is still running; an event the client sends at once must wait
    /// for the handlers it registers instead of being dropped (python-socketio flake).
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn events_sent_during_connection_handler_are_not_lost() {
        let io = Server::new();
        let (entered_tx, entered_rx) = mpsc::channel::<()>();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let entered_tx = Mutex::new(entered_tx);
        let release_rx = Mutex::new(release_rx);
        io.on_connection(move |socket| {
            entered_tx.lock().unwrap().send(()).unwrap();
            // A slow handler: the client gets the CONNECT reply (and sends its event)
            // before the handler below is registered. `block_in_place` hands this worker's
            // other tasks (its LIFO slot too, where the woken long-poll may sit) to another
            // thread, as a handler that blocks must.
            tokio::task::block_in_place(|| release_rx.lock().unwrap().recv().unwrap());
            socket.on("ping", |_, mut event| {
                if let Some(ack) = event.ack() {
                    let _ = ack.send_args(vec![Value::from("pong")]);
                }
            });
        });
        let addr = io.listen("127.0.0.1:0").await.unwrap();

        let open = request(addr, "GET", "/socket.io/?EIO=4&transport=polling", "").await;
        let sid = open
            .split("\"sid\":\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let url = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");

        // The CONNECT's POST runs the (blocked) connection handler.
        let connect = tokio::spawn({
            let url = url.clone();
            async move { request(addr, "POST", &url, "40").await }
        });
        let reply = within(request(addr, "GET", &url, ""))
            .await
            .expect("CONNECT reply");
        assert!(reply.starts_with("40{\"sid\":"), "{reply}");
        tokio::task::spawn_blocking(move || entered_rx.recv().unwrap())
            .await
            .unwrap();

        let sent = within(request(addr, "POST", &url, "421[\"ping\"]")).await;
        assert_eq!(sent.expect("event POST"), "ok");
        release_tx.send(()).unwrap();
        assert_eq!(within(connect).await.unwrap().unwrap(), "ok");

        let ack = within(request(addr, "GET", &url, "")).await;
        assert_eq!(ack.expect("the event was dropped: no ack"), "431[\"pong\"]");
    }
}
