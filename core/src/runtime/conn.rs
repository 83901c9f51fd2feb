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
use tokio::sync::{Notify, mpsc};

use super::driver::WsStream;
use super::namespace::ConnectError;
use super::server::ServerInner;
use super::socket::{DisconnectReason, EmitError, Socket};
use crate::proto::engineio::{
    CloseReason, Packet as EnginePacket, SendError, Session, SessionEvent, TextFrame, Transport,
};
use crate::proto::socketio::{ConnectionEvent, Packet, ServerConnection};
use crate::proto::value::{Map, Value};

/// What the HTTP request that opened the session looked like (socket.io's `handshake`).
#[derive(Debug, Clone)]
pub(crate) struct RequestInfo {
    pub(crate) headers: http::HeaderMap,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) address: Option<SocketAddr>,
    pub(crate) url: String,
    pub(crate) secure: bool,
    pub(crate) issued: u64,
}

/// An encoded Socket.IO packet, ready for any number of sessions.
#[derive(Debug, Clone)]
pub(crate) struct Frames {
    pub(crate) text: TextFrame,
    pub(crate) attachments: Vec<Bytes>,
}

impl Frames {
    pub(crate) fn encode(packet: &Packet) -> Frames {
        let mut text = String::with_capacity(64);
        text.push('4');
        let mut attachments = Vec::new();
        packet.encode_into(&mut text, &mut attachments);
        let text = TextFrame::from_prefixed_string(text).expect("starts with the message digit");
        Frames { text, attachments }
    }

    fn packets(&self) -> impl ExactSizeIterator<Item = EnginePacket> + '_ {
        std::iter::once(EnginePacket::Text(self.text.clone()))
            .chain(self.attachments.iter().cloned().map(EnginePacket::Binary))
            .collect::<Vec<_>>()
            .into_iter()
    }
}

pub(crate) struct ConnState {
    pub(crate) engine: Session,
    sio: ServerConnection,
    sockets: HashMap<String, Socket>,
    pub(crate) poll_active: bool,
    pub(crate) post_active: bool,
    torn_down: bool,
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
    /// Hands a WebSocket probing an upgrade to the driver task.
    pub(crate) probe_tx: mpsc::UnboundedSender<WsStream>,
}

impl Conn {
    pub(crate) fn new(
        server: Arc<ServerInner>,
        transport: Transport,
        request: RequestInfo,
        now: Instant,
    ) -> (Arc<Conn>, mpsc::UnboundedReceiver<WsStream>) {
        let sid: Arc<str> = Arc::from(super::ids::generate());
        let config = &server.config;
        let engine = Session::new(
            sid.to_string(),
            transport,
            &config.upgrades_from(transport),
            config.session_config(),
            now,
        );
        let sio = ServerConnection::new(config.connect_timeout, config.max_attachments, now);
        let (probe_tx, probe_rx) = mpsc::unbounded_channel();
        let conn = Arc::new(Conn {
            sid,
            request: Arc::new(request),
            state: Mutex::new(ConnState {
                engine,
                sio,
                sockets: HashMap::new(),
                poll_active: false,
                post_active: false,
                torn_down: false,
            }),
            wake_driver: Notify::new(),
            wake_poll: Notify::new(),
            probe_tx,
            server,
        });
        (conn, probe_rx)
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
    pub(crate) fn send_frames(&self, frames: &Frames) -> Result<(), EmitError> {
        let result = if frames.attachments.is_empty() {
            self.lock()
                .engine
                .send(EnginePacket::Text(frames.text.clone()))
        } else {
            self.lock().engine.send_all(frames.packets())
        };
        match result {
            Ok(()) => {
                self.wake();
                Ok(())
            }
            Err(SendError::Closed) => Err(EmitError::Closed),
            Err(SendError::Saturated) => Err(EmitError::Saturated),
        }
    }

    pub(crate) fn send_engine_packets(&self, packets: Vec<EnginePacket>) -> Result<(), EmitError> {
        match self.lock().engine.send_all(packets.into_iter()) {
            Ok(()) => {
                self.wake();
                Ok(())
            }
            Err(SendError::Closed) => Err(EmitError::Closed),
            Err(SendError::Saturated) => Err(EmitError::Saturated),
        }
    }

    pub(crate) fn send_packet(&self, packet: &Packet) -> Result<(), EmitError> {
        self.send_frames(&Frames::encode(packet))
    }

    /// Closes the whole connection from the server side.
    pub(crate) fn close(self: &Arc<Self>, reason: CloseReason) {
        self.lock().engine.close(reason, Instant::now());
        self.wake();
        self.process_events();
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
                SessionEvent::Upgraded => for_driver.push(DriverEvent::Upgraded),
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
                self.close(CloseReason::ForcedClose);
            }
        }
    }

    fn socket(&self, nsp: &str) -> Option<Socket> {
        self.lock().sockets.get(nsp).cloned()
    }

    fn dispatch(self: &Arc<Self>, event: ConnectionEvent) {
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
        let Some(namespace) = self.server.namespace(&nsp) else {
            self.lock().sio.rejected(&nsp);
            let _ = self.send_packet(&Packet::connect_error(nsp, "Invalid namespace", None));
            return;
        };
        let socket = Socket::new(namespace.clone(), self.clone(), auth);
        let middlewares = namespace.middlewares();
        if middlewares.is_empty() {
            self.finish_connect(socket, Ok(()));
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
            conn.finish_connect(socket, result);
        });
    }

    fn finish_connect(self: &Arc<Self>, socket: Socket, result: Result<(), ConnectError>) {
        let nsp = socket.ns().to_owned();
        if let Err(error) = result {
            self.lock().sio.rejected(&nsp);
            let _ = self.send_packet(&Packet::connect_error(nsp, &error.message, error.data));
            return;
        }
        {
            let mut state = self.lock();
            if state.torn_down || !state.engine.is_open() {
                return;
            }
            state.sio.accepted(&nsp);
            state.sockets.insert(nsp.clone(), socket.clone());
        }
        let mut reply = Map::new();
        reply.insert("sid".to_owned(), Value::from(socket.id()));
        let _ = self.send_packet(&Packet::connect(nsp, Some(Value::Object(reply))));
        socket.namespace().add_socket(&socket);
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
            state.sockets.drain().map(|(_, s)| s).collect::<Vec<_>>()
        };
        self.server.remove_session(&self.sid);
        for socket in sockets {
            socket.on_close(DisconnectReason::from(reason));
        }
        self.wake();
    }
}
