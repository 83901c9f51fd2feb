//! The task that runs one client connection: it pumps the sans-IO Engine.IO session and
//! Socket.IO manager, owns the transports and the timers, and calls the handlers.

use std::collections::HashMap;
use std::pin::pin;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use rand::Rng as _;
use tokio::sync::mpsc;

use super::options::Endpoint;
use super::transport::{self, ClientWs, Inbound, Polling};
use super::{
    AckReply, ClientAck, ClientError, ClientSocket, Command, IncomingEvent, ManagerNotice, Shared,
};
use super::{Client, lock};
use crate::proto::engineio::{ClientEvent, ClientSession, Packet, Transport};
use crate::proto::socketio::client::{AckOutcome, ClientManager, ManagerEvent, SocketEvent};

use crate::proto::value::Value;

enum Link {
    None,
    WebSocket(Box<ClientWs>),
    Polling(Polling),
}

struct Driver {
    shared: Weak<Shared>,
    endpoint: Arc<Endpoint>,
    manager: ClientManager,
    engine: Option<ClientSession>,
    link: Link,
    probe: Option<ClientWs>,
    inbound_tx: mpsc::UnboundedSender<Inbound>,
    acks: HashMap<u64, AckReply>,
    closing: bool,
}

/// How long a closing polling transport may wait for its last POST to be answered.
const CLOSING_POST_LIMIT: Duration = Duration::from_secs(1);

/// Runs the client until every handle is dropped or it is closed.
pub(super) async fn run(
    shared: Weak<Shared>,
    endpoint: Arc<Endpoint>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let Some(config) = shared.upgrade().map(|s| {
        let mut config = s.options.manager.clone();
        // `ackTimeout` is also what each try of a `retries` emit waits.
        config.ack_timeout.get_or_insert(s.options.ack_timeout);
        config
    }) else {
        return;
    };
    let (inbound_tx, mut inbound_rx) = mpsc::unbounded_channel();
    let mut driver = Driver {
        shared,
        endpoint,
        manager: ClientManager::new(config),
        engine: None,
        link: Link::None,
        probe: None,
        inbound_tx,
        acks: HashMap::new(),
        closing: false,
    };
    let mut timer = pin!(tokio::time::sleep(Duration::from_secs(3600)));
    loop {
        driver.pump().await;
        if driver.closing && driver.engine.as_ref().is_none_or(|e| e.is_closed()) {
            break;
        }
        let deadline = driver.next_deadline();
        if let Some(at) = deadline {
            timer.as_mut().reset(at.into());
        }
        tokio::select! {
            command = commands.recv() => match command {
                Some(command) => driver.command(command),
                None => {
                    driver.close();
                    driver.pump().await;
                    break;
                }
            },
            inbound = next_inbound(&mut driver.link, &mut inbound_rx) => driver.inbound(inbound, false),
            inbound = next_probe(&mut driver.probe) => driver.inbound(inbound, true),
            () = &mut timer, if deadline.is_some() => {
                let now = Instant::now();
                if let Some(engine) = driver.engine.as_mut() {
                    engine.handle_timeout(now);
                }
                driver.manager.handle_timeout(now, random());
            }
        }
    }
    for (_, reply) in driver.acks.drain() {
        let _ = reply.send(Err(ClientError::Closed));
    }
}

/// The CONNECT payload: the `auth` function's answer, or the static `auth`.
/// The CONNECT payload of `nsp`: its socket's own (`set_auth`), else the client's `auth`
/// function or object.
fn current_auth(shared: &Shared, nsp: &str) -> Value {
    if let Some(auth) = lock(&shared.socket_auth).get(nsp) {
        return auth.clone();
    }
    match &shared.options.auth_fn {
        Some(auth) => (auth.0)(),
        None => shared.options.auth.clone(),
    }
}

fn random() -> f64 {
    rand::rng().random::<f64>()
}

async fn next_inbound(link: &mut Link, polling: &mut mpsc::UnboundedReceiver<Inbound>) -> Inbound {
    match link {
        Link::WebSocket(ws) => transport::next_ws_packet(ws).await,
        Link::Polling(_) => polling
            .recv()
            .await
            .unwrap_or(Inbound::Closed { error: true }),
        Link::None => std::future::pending().await,
    }
}

async fn next_probe(probe: &mut Option<ClientWs>) -> Inbound {
    match probe {
        Some(ws) => transport::next_ws_packet(ws).await,
        None => std::future::pending().await,
    }
}

impl Driver {
    fn next_deadline(&self) -> Option<Instant> {
        let engine = self.engine.as_ref().and_then(ClientSession::poll_timeout);
        [engine, self.manager.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    fn close(&mut self) {
        self.closing = true;
        if let Some(engine) = self.engine.as_mut() {
            engine.close();
        }
    }

    fn command(&mut self, command: Command) {
        let now = Instant::now();
        match command {
            Command::Connect { nsp } => {
                // An `auth` function is asked when the CONNECT goes out: now if the
                // connection is open, otherwise once it opens.
                let auth = match self.shared.upgrade() {
                    Some(shared) if shared.options.auth_fn.is_none() || self.manager.is_open() => {
                        current_auth(&shared, &nsp)
                    }
                    _ => Value::Null,
                };
                self.set_status(&nsp, |s| s.last_error = None);
                self.manager.connect(&nsp, auth, now);
            }
            Command::Disconnect { nsp } => self.manager.disconnect(&nsp),
            Command::SetAuth { nsp, auth } => self.manager.set_auth(&nsp, auth),
            Command::Emit {
                nsp,
                event,
                args,
                ack,
                volatile,
            } => {
                self.notify_outgoing(&nsp, &event, &args);
                match ack {
                    Some((timeout, reply)) => {
                        let id = self.manager.emit(
                            &nsp,
                            &event,
                            args,
                            Some(Some(now + timeout)),
                            volatile,
                            now,
                        );
                        match id {
                            Some(id) => {
                                self.acks.insert(id, reply);
                            }
                            None => {
                                let _ = reply.send(Err(ClientError::AckTimeout));
                            }
                        }
                    }
                    None => {
                        self.manager.emit(&nsp, &event, args, None, volatile, now);
                    }
                }
            }
            Command::Ack { nsp, id, args } => self.manager.ack(&nsp, id, args),
            Command::Pause => self.manager.pause(),
            Command::Resume => self.manager.resume(now),
            Command::ReconnectNow => self.manager.reconnect_now(now),
            Command::Close => self.close(),
        }
    }

    fn inbound(&mut self, inbound: Inbound, from_probe: bool) {
        let now = Instant::now();
        let Some(engine) = self.engine.as_mut() else {
            return;
        };
        match inbound {
            Inbound::Packets(packets) => {
                let via = if from_probe {
                    Transport::WebSocket
                } else {
                    engine.transport()
                };
                for packet in packets {
                    engine.handle_packet(packet, via, now);
                }
            }
            Inbound::PollingPaused => engine.polling_paused(),
            Inbound::Closed { error } => {
                if from_probe {
                    self.probe = None;
                    engine.probe_failed();
                } else {
                    engine.transport_closed(error);
                }
            }
        }
    }

    /// Moves everything along until nothing is left to do right now.
    async fn pump(&mut self) {
        for _ in 0..64 {
            let mut progressed = false;
            // Socket.IO packets into the Engine.IO session.
            if let Some(engine) = self.engine.as_mut() {
                while let Some(packet) = self.manager.poll_transmit() {
                    engine.send(packet);
                    progressed = true;
                }
            } else {
                // Not connected: the manager holds them in its buffers, except the CONNECT
                // packets of a connection that is gone; drop those.
                while self.manager.poll_transmit().is_some() {}
            }
            progressed |= self.flush().await;
            while let Some(event) = self.engine.as_mut().and_then(ClientSession::poll_event) {
                progressed = true;
                self.engine_event(event).await;
            }
            while let Some(event) = self.manager.poll_event() {
                progressed = true;
                self.manager_event(event).await;
            }
            if !progressed {
                return;
            }
        }
    }

    /// Writes what the Engine.IO session queued; true if anything went out.
    async fn flush(&mut self) -> bool {
        let Some(engine) = self.engine.as_mut() else {
            return false;
        };
        let packets = engine.drain_transmits();
        let probe_packets: Vec<Packet> =
            std::iter::from_fn(|| engine.poll_probe_transmit()).collect();
        let mut wrote = false;
        if !probe_packets.is_empty()
            && let Some(probe) = self.probe.as_mut()
        {
            wrote = true;
            if transport::write_ws(probe, probe_packets).await.is_err() {
                self.probe = None;
                engine.probe_failed();
            }
        }
        // The upgrade completed (its `5` just went out on the probe): the probe is the link
        // from now on, before anything else is written.
        if engine.transport() == Transport::WebSocket
            && matches!(self.link, Link::Polling(_))
            && let Some(ws) = self.probe.take()
        {
            self.link = Link::WebSocket(Box::new(ws));
        }
        if packets.is_empty() {
            return wrote;
        }
        match &mut self.link {
            Link::WebSocket(ws) => {
                if transport::write_ws(ws, packets).await.is_err() {
                    engine.transport_closed(true);
                }
            }
            Link::Polling(polling) => polling.send(packets),
            Link::None => {}
        }
        true
    }

    async fn engine_event(&mut self, event: ClientEvent) {
        let now = Instant::now();
        match event {
            ClientEvent::Open(_) => {
                let sid = self
                    .engine
                    .as_ref()
                    .and_then(|e| e.sid().map(str::to_owned));
                if let Some(shared) = self.shared.upgrade() {
                    *lock(&shared.engine_id) = sid;
                    *lock(&shared.transport) = self.engine.as_ref().map(|e| e.transport());
                }
                // An `auth` function is asked again for every (re)connection.
                if let Some(shared) = self.shared.upgrade()
                    && shared.options.auth_fn.is_some()
                {
                    let names: Vec<String> = lock(&shared.status).keys().cloned().collect();
                    for nsp in names {
                        let auth = current_auth(&shared, &nsp);
                        self.manager.set_auth(&nsp, auth);
                    }
                }
                self.manager.engine_opened(now);
            }
            ClientEvent::Message(packet) => self.manager.handle_message(packet, now),
            ClientEvent::StartProbe => {
                let sid = self
                    .engine
                    .as_ref()
                    .and_then(|e| e.sid().map(str::to_owned));
                let probe = match sid {
                    Some(sid) => tokio::time::timeout(
                        Duration::from_secs(10),
                        transport::connect_websocket(&self.endpoint, Some(&sid)),
                    )
                    .await
                    .ok()
                    .and_then(Result::ok),
                    None => None,
                };
                let Some(engine) = self.engine.as_mut() else {
                    return;
                };
                match probe {
                    Some(ws) => {
                        self.probe = Some(ws);
                        engine.probe_opened();
                    }
                    None => engine.probe_failed(),
                }
            }
            ClientEvent::PausePolling => {
                if let Link::Polling(polling) = &self.link {
                    polling.pause();
                }
            }
            ClientEvent::Upgraded => {
                // The `5` goes out on the probe first; then the probe becomes the link, so
                // that what was queued during the pause follows it there (the old polling
                // session is discarded by the server).
                if let (Some(engine), Some(probe)) = (self.engine.as_mut(), self.probe.as_mut()) {
                    let upgrade: Vec<Packet> =
                        std::iter::from_fn(|| engine.poll_probe_transmit()).collect();
                    if transport::write_ws(probe, upgrade).await.is_err() {
                        engine.transport_closed(true);
                    }
                }
                if let Some(ws) = self.probe.take() {
                    self.link = Link::WebSocket(Box::new(ws));
                }
                if let Some(shared) = self.shared.upgrade() {
                    *lock(&shared.transport) = Some(Transport::WebSocket);
                }
                self.flush().await;
            }
            ClientEvent::UpgradeFailed => {
                self.probe = None;
                if let Link::Polling(polling) = &self.link {
                    polling.resume();
                }
            }
            ClientEvent::Closed(reason) => {
                // A client's close over polling still POSTs its `close` (and what was
                // queued before it, such as a namespace's DISCONNECT).
                self.flush().await;
                if let Link::Polling(polling) = std::mem::replace(&mut self.link, Link::None) {
                    polling.close_after_flush(CLOSING_POST_LIMIT).await;
                }
                self.probe = None;
                self.engine = None;
                self.manager.engine_closed(reason, now, random());
            }
        }
    }

    async fn manager_event(&mut self, event: ManagerEvent) {
        match event {
            ManagerEvent::OpenEngine => {
                if self.closing {
                    return;
                }
                self.open_engine().await;
            }
            ManagerEvent::CloseEngine => {
                if let Some(engine) = self.engine.as_mut() {
                    engine.close();
                }
            }
            ManagerEvent::Open => self.notify_manager(ManagerNotice::Open),
            ManagerEvent::Close(reason) => self.notify_manager(ManagerNotice::Close(reason)),
            ManagerEvent::Error(error) => self.notify_manager(ManagerNotice::Error(error)),
            ManagerEvent::ReconnectAttempt(n) => {
                self.notify_manager(ManagerNotice::ReconnectAttempt(n));
            }
            ManagerEvent::Reconnect(n) => self.notify_manager(ManagerNotice::Reconnect(n)),
            ManagerEvent::ReconnectError(error) => {
                self.notify_manager(ManagerNotice::ReconnectError(error));
            }
            ManagerEvent::ReconnectFailed => self.notify_manager(ManagerNotice::ReconnectFailed),
            ManagerEvent::Socket { nsp, event } => self.socket_event(nsp, event),
        }
    }

    /// Opens a new Engine.IO connection over the first transport of the options.
    async fn open_engine(&mut self) {
        let Some(options) = self.shared.upgrade().map(|s| s.options.clone()) else {
            return;
        };
        let first = options.transports[0];
        let allow_upgrade = options.upgrade && options.transports.contains(&Transport::WebSocket);
        let mut engine = ClientSession::new(first, allow_upgrade);
        let timeout = options.manager.timeout;
        let opened = tokio::time::timeout(timeout, async {
            match first {
                Transport::Polling => {
                    let packets = transport::polling_handshake(&self.endpoint).await?;
                    let now = Instant::now();
                    for packet in packets {
                        engine.handle_packet(packet, Transport::Polling, now);
                    }
                    let sid = engine
                        .sid()
                        .ok_or_else(|| "no handshake".to_owned())?
                        .to_owned();
                    Ok(Link::Polling(Polling::start(
                        self.endpoint.clone(),
                        sid,
                        self.inbound_tx.clone(),
                    )))
                }
                Transport::WebSocket => {
                    let mut ws = transport::connect_websocket(&self.endpoint, None).await?;
                    match transport::next_ws_packet(&mut ws).await {
                        Inbound::Packets(packets) => {
                            let now = Instant::now();
                            for packet in packets {
                                engine.handle_packet(packet, Transport::WebSocket, now);
                            }
                        }
                        _ => return Err("closed before the handshake".to_owned()),
                    }
                    Ok(Link::WebSocket(Box::new(ws)))
                }
            }
        })
        .await
        .map_err(|_| "timeout".to_owned())
        .and_then(|r| r);
        match opened {
            Ok(link) if engine.is_open() => {
                self.link = link;
                self.engine = Some(engine);
            }
            Ok(_) => {
                self.manager
                    .engine_failed("invalid handshake", Instant::now(), random());
            }
            Err(error) => {
                self.manager.engine_failed(&error, Instant::now(), random());
            }
        }
    }

    fn socket_handle(&self, nsp: &str) -> Option<ClientSocket> {
        let shared = self.shared.upgrade()?;
        Some(ClientSocket {
            client: Client { shared },
            nsp: nsp.to_owned(),
        })
    }

    fn set_status(&self, nsp: &str, change: impl FnOnce(&mut super::SocketStatus)) {
        if let Some(shared) = self.shared.upgrade() {
            change(lock(&shared.status).entry(nsp.to_owned()).or_default());
            shared.status_changed.notify_waiters();
        }
    }

    fn notify_manager(&self, notice: ManagerNotice) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let handlers = lock(&shared.manager_handlers).clone();
        for handler in handlers {
            handler(&notice);
        }
    }

    fn notify_outgoing(&self, nsp: &str, event: &str, args: &[Value]) {
        let Some(socket) = self.socket_handle(nsp) else {
            return;
        };
        let handlers = socket.client.shared.listeners(nsp, |h| &h.any_outgoing);
        for handler in handlers {
            handler(&socket, event, args);
        }
    }

    fn socket_event(&mut self, nsp: String, event: SocketEvent) {
        if let SocketEvent::Ack { id, outcome } = event {
            if let Some(reply) = self.acks.remove(&id) {
                let _ = reply.send(match outcome {
                    AckOutcome::Answered(args) => Ok(args),
                    AckOutcome::TimedOut => Err(ClientError::AckTimeout),
                    AckOutcome::Disconnected => Err(ClientError::Disconnected),
                });
            }
            return;
        }
        let Some(socket) = self.socket_handle(&nsp) else {
            return;
        };
        let shared = socket.client.shared.clone();
        match event {
            SocketEvent::Connect { id, recovered } => {
                self.set_status(&nsp, |s| {
                    s.connected = true;
                    s.id = Some(id);
                    s.recovered = recovered;
                    s.last_error = None;
                });
                let handlers = shared.listeners(&nsp, |h| &h.connect);
                for handler in handlers {
                    handler(&socket);
                }
            }
            SocketEvent::ConnectError { message, data } => {
                let handlers = shared.listeners(&nsp, |h| &h.connect_error);
                for handler in handlers {
                    handler(&socket, &message, data.as_ref());
                }
                // After the handlers, so that `wait_connected` returns once they ran.
                self.set_status(&nsp, |s| s.last_error = Some(message));
            }
            SocketEvent::Disconnect(reason) => {
                self.set_status(&nsp, |s| {
                    s.connected = false;
                    s.recovered = false;
                });
                let handlers = shared.listeners(&nsp, |h| &h.disconnect);
                for handler in handlers {
                    handler(&socket, reason);
                }
            }
            SocketEvent::Event { event, args, ack } => {
                let (any, listeners) = {
                    let handlers = lock(&shared.handlers);
                    let entry = handlers.get(&nsp);
                    (
                        entry.map(|h| h.any.clone()).unwrap_or_default(),
                        // The every-event listeners first: the first of them gets the ack.
                        entry
                            .map(|h| h.every.clone())
                            .unwrap_or_default()
                            .into_iter()
                            .chain(
                                entry
                                    .and_then(|h| h.events.get(&event))
                                    .into_iter()
                                    .flatten()
                                    .map(|(_, h)| h.clone()),
                            )
                            .collect::<Vec<_>>(),
                    )
                };
                for handler in any {
                    handler(&socket, &event, &args);
                }
                let mut ack = ack.map(|id| ClientAck {
                    commands: shared.commands.clone(),
                    nsp: nsp.clone(),
                    id,
                });
                for handler in listeners {
                    handler(
                        &socket,
                        IncomingEvent {
                            name: event.clone(),
                            args: args.clone(),
                            ack: ack.take(),
                        },
                    );
                }
            }
            SocketEvent::Ack { .. } => {}
        }
    }
}
