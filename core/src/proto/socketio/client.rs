//! The client side of Socket.IO (socket.io-client's `Manager` and `Socket`), as a sans-IO
//! state machine over one Engine.IO connection at a time.
//!
//! The driver owns the Engine.IO connection ([`ClientSession`](crate::proto::engineio::ClientSession))
//! and the clock; it tells the manager when the connection opened, what arrived and when it
//! closed, and polls what to send ([`ClientManager::poll_transmit`]), what happened
//! ([`ClientManager::poll_event`], including [`ManagerEvent::OpenEngine`] when a new
//! connection is wanted) and the next deadline ([`ClientManager::poll_timeout`]).
//! Randomness for the reconnection jitter is passed in, never drawn here.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use crate::proto::time::Instant;

use super::packet::{Packet, PacketData};
use super::parser::{DEFAULT_MAX_ATTACHMENTS, Decoder, Parser};
use crate::proto::engineio::{CloseReason, Packet as EnginePacket, TextFrame};
use crate::proto::value::{Map, Value};

mod acks;
mod lifecycle;

use acks::PendingAcks;

/// socket.io-client's `Manager` options, with its defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagerConfig {
    /// `reconnection` (default true).
    pub reconnection: bool,
    /// `reconnectionAttempts` (default unlimited).
    pub reconnection_attempts: Option<u32>,
    /// `reconnectionDelay` (default 1 s).
    pub reconnection_delay: Duration,
    /// `reconnectionDelayMax` (default 5 s).
    pub reconnection_delay_max: Duration,
    /// `randomizationFactor` (default 0.5).
    pub randomization_factor: f64,
    /// `timeout` for opening a connection (default 20 s).
    pub timeout: Duration,
    /// The parser the server uses.
    pub parser: Parser,
    /// `retries` (default 0, off): every emit goes through a queue, one at a time, each
    /// asking for an ack, and is sent again (up to this many more times) when no ack comes
    /// within `ack_timeout`: at-least-once delivery.
    pub retries: u32,
    /// `ackTimeout`: how long each try of a queued emit waits (default none: forever).
    pub ack_timeout: Option<Duration>,
}

impl Default for ManagerConfig {
    fn default() -> Self {
        ManagerConfig {
            reconnection: true,
            reconnection_attempts: None,
            reconnection_delay: Duration::from_millis(1000),
            reconnection_delay_max: Duration::from_millis(5000),
            randomization_factor: 0.5,
            timeout: Duration::from_millis(20_000),
            parser: Parser::Default,
            retries: 0,
            ack_timeout: None,
        }
    }
}

/// socket.io-client's exponential backoff (npm `backo2`): `delay * 2^attempt`, spread by
/// the randomization factor, capped at the maximum.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    jitter: f64,
    attempts: u32,
}

impl Backoff {
    /// A backoff starting at `base`, capped at `max`, spread by `jitter` (0 to 1).
    pub fn new(base: Duration, max: Duration, jitter: f64) -> Backoff {
        Backoff {
            base,
            max,
            jitter: jitter.clamp(0.0, 1.0),
            attempts: 0,
        }
    }

    /// Attempts made since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The next delay; `random` is a uniform draw in `[0, 1)` from the driver's RNG.
    pub fn next_delay(&mut self, random: f64) -> Duration {
        let ms = self.base.as_millis() as f64 * 2f64.powi(self.attempts.min(62) as i32);
        self.attempts += 1;
        let ms = if self.jitter > 0.0 {
            let deviation = (random * self.jitter * ms).floor();
            // backo2 adds or removes the deviation depending on a digit of the same draw.
            if ((random * 10.0).floor() as u64) & 1 == 0 {
                ms - deviation
            } else {
                ms + deviation
            }
        } else {
            ms
        };
        Duration::from_millis(ms.min(self.max.as_millis() as f64).max(0.0) as u64)
    }

    /// Starts over (after a successful connection).
    pub fn reset(&mut self) {
        self.attempts = 0;
    }

    /// Changes the delays and the jitter, keeping the count of attempts.
    pub fn set_delays(&mut self, base: Duration, max: Duration, jitter: f64) {
        self.base = base;
        self.max = max;
        self.jitter = jitter.clamp(0.0, 1.0);
    }
}

/// Why a client socket disconnected, with socket.io-client's reason strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientDisconnectReason {
    /// `io server disconnect`: the server disconnected the socket (no reconnection).
    IoServerDisconnect,
    /// `io client disconnect`: the application called `disconnect()`.
    IoClientDisconnect,
    /// `ping timeout`.
    PingTimeout,
    /// `transport close`.
    TransportClose,
    /// `transport error`.
    TransportError,
    /// `parse error`.
    ParseError,
}

impl ClientDisconnectReason {
    /// socket.io-client's string.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientDisconnectReason::IoServerDisconnect => "io server disconnect",
            ClientDisconnectReason::IoClientDisconnect => "io client disconnect",
            ClientDisconnectReason::PingTimeout => "ping timeout",
            ClientDisconnectReason::TransportClose => "transport close",
            ClientDisconnectReason::TransportError => "transport error",
            ClientDisconnectReason::ParseError => "parse error",
        }
    }

    /// Whether the manager reconnects after it.
    pub fn reconnects(self) -> bool {
        !matches!(
            self,
            ClientDisconnectReason::IoServerDisconnect | ClientDisconnectReason::IoClientDisconnect
        )
    }

    fn from_close(reason: CloseReason) -> Self {
        match reason {
            CloseReason::PingTimeout => ClientDisconnectReason::PingTimeout,
            CloseReason::TransportError => ClientDisconnectReason::TransportError,
            CloseReason::ParseError => ClientDisconnectReason::ParseError,
            CloseReason::ForcedClose => ClientDisconnectReason::IoClientDisconnect,
            CloseReason::TransportClose | CloseReason::ServerShuttingDown => {
                ClientDisconnectReason::TransportClose
            }
        }
    }
}

impl std::fmt::Display for ClientDisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The answer to one of our emits that asked for an acknowledgement.
#[derive(Debug, Clone, PartialEq)]
pub enum AckOutcome {
    /// The server answered with these arguments.
    Answered(Vec<Value>),
    /// No answer within the emit's timeout (`operation has timed out`).
    TimedOut,
    /// The socket disconnected before the answer (`socket has been disconnected`).
    Disconnected,
}

/// What happened to one namespace's socket.
#[derive(Debug, Clone, PartialEq)]
pub enum SocketEvent {
    /// Connected; `recovered` when the server restored the previous session.
    Connect {
        /// The socket id.
        id: String,
        /// Whether connection state recovery restored the previous session.
        recovered: bool,
    },
    /// The server refused the namespace connection.
    ConnectError {
        /// `err.message`.
        message: String,
        /// `err.data`.
        data: Option<Value>,
    },
    /// Disconnected.
    Disconnect(ClientDisconnectReason),
    /// The server emitted an event; `ack` is set when it waits for an acknowledgement
    /// (answer with [`ClientManager::ack`]).
    Event {
        /// The event name.
        event: String,
        /// Its arguments.
        args: Vec<Value>,
        /// The ack id to answer, if any.
        ack: Option<u64>,
    },
    /// An emit's acknowledgement arrived or timed out.
    Ack {
        /// The id [`ClientManager::emit`] returned.
        id: u64,
        /// The answer.
        outcome: AckOutcome,
    },
}

/// What the manager reports to its driver.
#[derive(Debug, Clone, PartialEq)]
pub enum ManagerEvent {
    /// Open a new Engine.IO connection (then report [`ClientManager::engine_opened`], or
    /// [`ClientManager::engine_failed`]).
    OpenEngine,
    /// Close the current Engine.IO connection (no socket wants it any more).
    CloseEngine,
    /// The Engine.IO connection opened (`open`).
    Open,
    /// A connection attempt failed (`error`).
    Error(String),
    /// The Engine.IO connection closed (`close`).
    Close(ClientDisconnectReason),
    /// A reconnection attempt starts (`reconnect_attempt`, 1-based).
    ReconnectAttempt(u32),
    /// A reconnection attempt succeeded (`reconnect`).
    Reconnect(u32),
    /// A reconnection attempt failed (`reconnect_error`).
    ReconnectError(String),
    /// No attempts left (`reconnect_failed`).
    ReconnectFailed,
    /// Something happened to the socket of namespace `nsp`.
    Socket {
        /// The namespace.
        nsp: String,
        /// What happened.
        event: SocketEvent,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EngineState {
    Closed,
    Opening {
        deadline: Instant,
    },
    Open,
    /// Waiting for the next reconnection attempt.
    Waiting {
        at: Instant,
    },
}

#[derive(Debug, Default)]
struct SocketState {
    /// The application wants this socket connected (`connect()` called, no
    /// `disconnect()`, not disconnected by the server).
    active: bool,
    connecting: bool,
    connected: bool,
    id: Option<String>,
    pid: Option<String>,
    last_offset: Option<String>,
    auth: Value,
    /// Emits made while disconnected, sent once connected.
    send_buffer: VecDeque<(u64, Packet)>,
    /// Events that arrived before the CONNECT reply (a recovered session's missed events).
    receive_buffer: Vec<SocketEvent>,
    /// Our emits awaiting an ack, with their deadlines.
    acks: PendingAcks,
    /// Emits waiting for at-least-once delivery (`retries`), sent one at a time.
    queue: VecDeque<Queued>,
    /// Wire ack id of the queue head's current try, to its queue sequence number.
    retry_acks: HashMap<u64, u64>,
}

/// An emit in the `retries` queue.
#[derive(Debug)]
struct Queued {
    seq: u64,
    event: String,
    args: Vec<Value>,
    tries: u32,
    pending: bool,
    /// The id the caller got, when it wants the answer.
    user_ack: Option<u64>,
}

/// socket.io-client's `Manager` with its sockets, one per namespace.
#[derive(Debug)]
pub struct ClientManager {
    config: ManagerConfig,
    engine: EngineState,
    decoder: Decoder,
    sockets: HashMap<String, SocketState>,
    backoff: Backoff,
    reconnecting: bool,
    /// Whether the manager may reconnect (false once every socket left on purpose).
    auto_reconnect: bool,
    /// Paused by the application ([`ClientManager::pause`]): no connection opens.
    paused: bool,
    next_ack: u64,
    next_emit: u64,
    transmits: VecDeque<EnginePacket>,
    events: VecDeque<ManagerEvent>,
}

impl ClientManager {
    /// A manager with `config`; nothing happens until a socket connects.
    pub fn new(config: ManagerConfig) -> ClientManager {
        let backoff = Backoff::new(
            config.reconnection_delay,
            config.reconnection_delay_max,
            config.randomization_factor,
        );
        ClientManager {
            decoder: Decoder::with_parser(config.parser, DEFAULT_MAX_ATTACHMENTS),
            config,
            engine: EngineState::Closed,
            sockets: HashMap::new(),
            backoff,
            reconnecting: false,
            auto_reconnect: true,
            paused: false,
            next_ack: 0,
            next_emit: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The options.
    pub fn config(&self) -> &ManagerConfig {
        &self.config
    }

    /// Whether the Engine.IO connection is open.
    pub fn is_open(&self) -> bool {
        self.engine == EngineState::Open
    }

    /// Whether the socket of `nsp` is connected.
    pub fn is_connected(&self, nsp: &str) -> bool {
        self.sockets.get(nsp).is_some_and(|s| s.connected)
    }

    /// The id of the socket of `nsp`, while connected.
    pub fn socket_id(&self, nsp: &str) -> Option<&str> {
        self.sockets
            .get(nsp)
            .filter(|s| s.connected)
            .and_then(|s| s.id.as_deref())
    }

    /// Connects the socket of `nsp` with `auth` (an object; socket.io-client's `auth`,
    /// re-read on every connection through [`ClientManager::set_auth`]); opens the Engine.IO
    /// connection if needed.
    pub fn connect(&mut self, nsp: &str, auth: Value, now: Instant) {
        let socket = self.sockets.entry(nsp.to_owned()).or_default();
        socket.auth = auth;
        if socket.connected || socket.connecting {
            socket.active = true;
            return;
        }
        socket.active = true;
        self.auto_reconnect = true;
        match self.engine {
            EngineState::Open => self.send_connect(nsp),
            EngineState::Closed if !self.paused => self.open_engine(now),
            EngineState::Closed | EngineState::Opening { .. } | EngineState::Waiting { .. } => {}
        }
    }

    /// Replaces the auth payload sent with the next CONNECT of `nsp`.
    pub fn set_auth(&mut self, nsp: &str, auth: Value) {
        if let Some(socket) = self.sockets.get_mut(nsp) {
            socket.auth = auth;
        }
    }

    /// Disconnects the socket of `nsp` (`io client disconnect`); closes the Engine.IO
    /// connection when no socket is left.
    pub fn disconnect(&mut self, nsp: &str) {
        let Some(socket) = self.sockets.get_mut(nsp) else {
            return;
        };
        let was_connected = socket.connected;
        socket.active = false;
        socket.connecting = false;
        if was_connected {
            let packet = Packet::disconnect(nsp);
            self.queue(&packet);
        }
        self.socket_closed(
            nsp,
            ClientDisconnectReason::IoClientDisconnect,
            was_connected,
        );
        self.close_if_unused();
    }

    /// Emits `event` on `nsp`. With `ack`, the server's answer (or the timeout at the given
    /// deadline) comes back as [`SocketEvent::Ack`] with the returned id. While the socket
    /// is disconnected the packet waits in its send buffer (`volatile` ones are dropped:
    /// then `None` is returned). With `retries`, non-volatile emits go through the
    /// at-least-once queue instead (the deadline is then `ack_timeout` per try).
    pub fn emit(
        &mut self,
        nsp: &str,
        event: &str,
        args: Vec<Value>,
        ack: Option<Option<Instant>>,
        volatile: bool,
        now: Instant,
    ) -> Option<u64> {
        let ack_id = ack.map(|_| {
            let id = self.next_ack;
            self.next_ack += 1;
            id
        });
        if self.config.retries > 0 && !volatile {
            let seq = self.next_emit;
            self.next_emit += 1;
            let socket = self.sockets.entry(nsp.to_owned()).or_default();
            socket.queue.push_back(Queued {
                seq,
                event: event.to_owned(),
                args,
                tries: 0,
                pending: false,
                user_ack: ack_id,
            });
            self.drain_queue(nsp, now, false);
            return Some(ack_id.unwrap_or(seq));
        }
        let socket = self.sockets.entry(nsp.to_owned()).or_default();
        if let (Some(id), Some(deadline)) = (ack_id, ack) {
            socket.acks.insert(id, deadline);
        }
        let packet = Packet::event(nsp, event, args, ack_id);
        let emit_id = self.next_emit;
        self.next_emit += 1;
        if socket.connected && self.engine == EngineState::Open {
            self.queue(&packet);
        } else if volatile {
            if let Some(id) = ack_id {
                socket.acks.remove(id);
            }
            return None;
        } else {
            socket.send_buffer.push_back((emit_id, packet));
        }
        Some(ack_id.unwrap_or(emit_id))
    }

    /// Sends the head of the `retries` queue of `nsp` when connected and not already in
    /// flight (`force`: again, after a reconnection).
    fn drain_queue(&mut self, nsp: &str, now: Instant, force: bool) {
        let open = self.engine == EngineState::Open;
        let ack_timeout = self.config.ack_timeout;
        let Some(socket) = self.sockets.get_mut(nsp) else {
            return;
        };
        if !socket.connected || !open {
            return;
        }
        let Some(head) = socket.queue.front_mut() else {
            return;
        };
        if head.pending && !force {
            return;
        }
        head.pending = true;
        head.tries += 1;
        let wire = self.next_ack;
        self.next_ack += 1;
        socket.acks.insert(wire, ack_timeout.map(|t| now + t));
        socket.retry_acks.insert(wire, head.seq);
        let packet = Packet::event(nsp, head.event.as_str(), head.args.clone(), Some(wire));
        self.queue(&packet);
    }

    /// A try of the `retries` queue's head ended (`answer`, or none when it timed out or
    /// the socket disconnected): pops it when done, then sends what is next.
    fn queue_try_ended(
        &mut self,
        nsp: &str,
        seq: u64,
        answer: Option<Vec<Value>>,
        failure: AckOutcome,
        now: Instant,
    ) {
        let retries = self.config.retries;
        let Some(socket) = self.sockets.get_mut(nsp) else {
            return;
        };
        let Some(head) = socket.queue.front_mut() else {
            return;
        };
        if head.seq != seq {
            return; // an answer to an earlier try of a packet already acknowledged
        }
        head.pending = false;
        let outcome = match answer {
            Some(args) => Some(AckOutcome::Answered(args)),
            None if head.tries > retries => Some(failure),
            None => None,
        };
        if let Some(outcome) = outcome {
            let done = socket.queue.pop_front().expect("head");
            if let Some(id) = done.user_ack {
                self.socket_event(nsp, SocketEvent::Ack { id, outcome });
            }
        }
        self.drain_queue(nsp, now, false);
    }

    /// Answers the server's event that asked for an acknowledgement.
    pub fn ack(&mut self, nsp: &str, id: u64, args: Vec<Value>) {
        if self.is_connected(nsp) {
            self.queue(&Packet::ack(nsp, id, args));
        }
    }

    /// The Engine.IO connection opened: connects every socket that wants to be.
    pub fn engine_opened(&mut self, _now: Instant) {
        if self.paused {
            // Paused while it was opening.
            self.events.push_back(ManagerEvent::CloseEngine);
            return;
        }
        self.engine = EngineState::Open;
        self.decoder = Decoder::with_parser(self.config.parser, DEFAULT_MAX_ATTACHMENTS);
        self.events.push_back(ManagerEvent::Open);
        if self.reconnecting {
            self.reconnecting = false;
            let attempts = self.backoff.attempts();
            self.events.push_back(ManagerEvent::Reconnect(attempts));
        }
        self.backoff.reset();
        let names: Vec<String> = self
            .sockets
            .iter()
            .filter(|(_, s)| s.active)
            .map(|(n, _)| n.clone())
            .collect();
        for nsp in names {
            self.send_connect(&nsp);
        }
    }

    /// A connection attempt failed (or timed out): `error`, then another attempt later
    /// when reconnection allows it.
    pub fn engine_failed(&mut self, error: &str, now: Instant, random: f64) {
        if !matches!(self.engine, EngineState::Opening { .. }) {
            return;
        }
        self.engine = EngineState::Closed;
        self.events.push_back(ManagerEvent::Error(error.to_owned()));
        // socket.io-client: every socket still waiting to connect hears the manager's
        // `error` as `connect_error`, on the first open and on each failed attempt.
        let waiting: Vec<String> = self
            .sockets
            .iter()
            .filter(|(_, s)| s.active && !s.connected)
            .map(|(n, _)| n.clone())
            .collect();
        for nsp in waiting {
            self.socket_event(
                &nsp,
                SocketEvent::ConnectError {
                    message: error.to_owned(),
                    data: None,
                },
            );
        }
        // As there, a failed attempt schedules the next one (or gives up) before it is
        // reported as `reconnect_error`.
        let was_reconnecting = self.reconnecting;
        self.schedule_reconnect(now, random);
        if was_reconnecting {
            self.events
                .push_back(ManagerEvent::ReconnectError(error.to_owned()));
        }
    }

    /// The Engine.IO connection closed for `reason`: every connected socket disconnects,
    /// and the manager reconnects unless that was asked for.
    pub fn engine_closed(&mut self, reason: CloseReason, now: Instant, random: f64) {
        if matches!(
            self.engine,
            EngineState::Closed | EngineState::Waiting { .. }
        ) {
            return;
        }
        let reason = ClientDisconnectReason::from_close(reason);
        self.engine = EngineState::Closed;
        self.transmits.clear();
        self.events.push_back(ManagerEvent::Close(reason));
        self.close_sockets(reason);
        if reason.reconnects() && self.auto_reconnect {
            self.schedule_reconnect(now, random);
        }
    }

    /// A message arrived on the Engine.IO connection.
    pub fn handle_message(&mut self, message: EnginePacket, now: Instant) {
        let decoded = match message {
            EnginePacket::Text(frame) => self.decoder.decode_text(frame.data()),
            EnginePacket::Binary(data) => self.decoder.decode_binary(data),
            _ => return,
        };
        match decoded {
            Ok(Some(packet)) => self.handle_packet(packet, now),
            Ok(None) => {}
            Err(_) => {
                // socket.io-client closes the connection on a decode error.
                self.events.push_back(ManagerEvent::CloseEngine);
            }
        }
    }

    fn handle_packet(&mut self, packet: Packet, now: Instant) {
        let Packet { nsp, data } = packet;
        let Some(socket) = self.sockets.get_mut(&nsp) else {
            return;
        };
        match data {
            PacketData::Connect(Some(Value::Object(reply))) if socket.connecting => {
                let Some(id) = reply.get("sid").and_then(Value::as_str) else {
                    return;
                };
                let pid = reply.get("pid").and_then(Value::as_str).map(str::to_owned);
                let recovered = pid.is_some() && pid == socket.pid;
                socket.id = Some(id.to_owned());
                socket.pid = pid;
                socket.connecting = false;
                socket.connected = true;
                let buffered = std::mem::take(&mut socket.receive_buffer);
                let pending: Vec<Packet> = socket.send_buffer.drain(..).map(|(_, p)| p).collect();
                self.socket_event(
                    &nsp,
                    SocketEvent::Connect {
                        id: id.to_owned(),
                        recovered,
                    },
                );
                for event in buffered {
                    self.socket_event(&nsp, event);
                }
                for packet in pending {
                    self.queue(&packet);
                }
                self.drain_queue(&nsp, now, true);
            }
            PacketData::ConnectError(error) => {
                socket.connecting = false;
                socket.active = false;
                let (message, data) = match error {
                    Value::Object(mut map) => (
                        map.get("message")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        map.shift_remove("data"),
                    ),
                    Value::String(message) => (message, None),
                    other => (other.to_string(), None),
                };
                self.socket_event(&nsp, SocketEvent::ConnectError { message, data });
                self.close_if_unused();
            }
            PacketData::Disconnect if socket.connected => {
                socket.active = false;
                self.socket_closed(&nsp, ClientDisconnectReason::IoServerDisconnect, true);
                self.close_if_unused();
            }
            PacketData::Event { event, args, id } => {
                if socket.pid.is_some()
                    && let Some(Value::String(offset)) = args.last()
                {
                    socket.last_offset = Some(offset.clone());
                }
                let event = SocketEvent::Event {
                    event,
                    args,
                    ack: id,
                };
                if socket.connected {
                    self.socket_event(&nsp, event);
                } else {
                    socket.receive_buffer.push(event);
                }
            }
            PacketData::Ack { args, id } if socket.acks.remove(id) => {
                match socket.retry_acks.remove(&id) {
                    Some(seq) => {
                        self.queue_try_ended(&nsp, seq, Some(args), AckOutcome::TimedOut, now);
                    }
                    None => self.socket_event(
                        &nsp,
                        SocketEvent::Ack {
                            id,
                            outcome: AckOutcome::Answered(args),
                        },
                    ),
                }
            }
            _ => {}
        }
    }

    /// Advances timers: open timeouts, reconnection attempts, ack timeouts.
    pub fn handle_timeout(&mut self, now: Instant, random: f64) {
        match self.engine {
            EngineState::Opening { deadline } if now >= deadline => {
                self.events.push_back(ManagerEvent::CloseEngine);
                self.engine_failed("timeout", now, random);
            }
            EngineState::Waiting { at } if now >= at => {
                self.reconnecting = true;
                let attempt = self.backoff.attempts();
                self.events
                    .push_back(ManagerEvent::ReconnectAttempt(attempt));
                self.open_engine(now);
            }
            _ => {}
        }
        let mut expired = Vec::new();
        for (nsp, socket) in &mut self.sockets {
            for id in socket.acks.expired(now) {
                socket.acks.remove(id);
                // A timed-out emit still waiting to be sent is dropped too, as
                // socket.io-client removes it from the send buffer.
                socket.send_buffer.retain(
                    |(_, p)| !matches!(&p.data, PacketData::Event { id: Some(i), .. } if *i == id),
                );
                expired.push((nsp.clone(), id));
            }
        }
        for (nsp, id) in expired {
            let retry = self
                .sockets
                .get_mut(&nsp)
                .and_then(|s| s.retry_acks.remove(&id));
            match retry {
                Some(seq) => self.queue_try_ended(&nsp, seq, None, AckOutcome::TimedOut, now),
                None => self.socket_event(
                    &nsp,
                    SocketEvent::Ack {
                        id,
                        outcome: AckOutcome::TimedOut,
                    },
                ),
            }
        }
    }

    /// The next deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let engine = match self.engine {
            EngineState::Opening { deadline } => Some(deadline),
            EngineState::Waiting { at } => Some(at),
            _ => None,
        };
        let acks = self
            .sockets
            .values()
            .filter_map(|s| s.acks.earliest())
            .min();
        [engine, acks].into_iter().flatten().min()
    }

    /// The next Engine.IO message to send.
    pub fn poll_transmit(&mut self) -> Option<EnginePacket> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ManagerEvent> {
        self.events.pop_front()
    }

    fn open_engine(&mut self, now: Instant) {
        self.engine = EngineState::Opening {
            deadline: now + self.config.timeout,
        };
        self.events.push_back(ManagerEvent::OpenEngine);
    }

    fn schedule_reconnect(&mut self, now: Instant, random: f64) {
        if !self.config.reconnection || !self.auto_reconnect || self.paused {
            return;
        }
        if self
            .config
            .reconnection_attempts
            .is_some_and(|max| self.backoff.attempts() >= max)
        {
            self.backoff.reset();
            self.reconnecting = false;
            self.events.push_back(ManagerEvent::ReconnectFailed);
            return;
        }
        let delay = self.backoff.next_delay(random);
        self.engine = EngineState::Waiting { at: now + delay };
    }

    fn send_connect(&mut self, nsp: &str) {
        let Some(socket) = self.sockets.get_mut(nsp) else {
            return;
        };
        socket.connecting = true;
        // socket.io-client: `this._pid ? Object.assign({pid, offset}, auth) : auth`.
        let data = match (&socket.pid, &socket.auth) {
            (Some(pid), auth) => {
                let mut data = Map::new();
                data.insert("pid".to_owned(), Value::from(pid.as_str()));
                // An unknown offset is `undefined` there, which JSON leaves out.
                if let Some(offset) = &socket.last_offset {
                    data.insert("offset".to_owned(), Value::from(offset.as_str()));
                }
                if let Value::Object(auth) = auth {
                    data.extend(auth.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                Some(Value::Object(data))
            }
            (None, Value::Object(auth)) => Some(Value::Object(auth.clone())),
            (None, _) => None,
        };
        let packet = Packet::connect(nsp, data);
        self.queue(&packet);
    }

    /// Every socket that was connected or connecting hears `reason`.
    fn close_sockets(&mut self, reason: ClientDisconnectReason) {
        let names: Vec<String> = self.sockets.keys().cloned().collect();
        for nsp in names {
            let socket = &self.sockets[&nsp];
            let connected = socket.connected;
            if connected || socket.connecting {
                self.socket_closed(&nsp, reason, connected);
            }
        }
    }

    fn socket_closed(&mut self, nsp: &str, reason: ClientDisconnectReason, was_connected: bool) {
        let mut failed = Vec::new();
        let mut retry_tries = Vec::new();
        if let Some(socket) = self.sockets.get_mut(nsp) {
            socket.connected = false;
            socket.connecting = false;
            // As socket.io-client: acks of packets already sent fail (those still in the
            // send buffer wait for the reconnection).
            let buffered: Vec<u64> = socket
                .send_buffer
                .iter()
                .filter_map(|(_, p)| match &p.data {
                    PacketData::Event { id: Some(id), .. } => Some(*id),
                    _ => None,
                })
                .collect();
            let sent: Vec<u64> = socket
                .acks
                .ids()
                .filter(|id| !buffered.contains(id))
                .collect();
            for id in sent {
                socket.acks.remove(id);
                match socket.retry_acks.remove(&id) {
                    Some(seq) => retry_tries.push(seq),
                    None => failed.push(id),
                }
            }
        }
        if was_connected {
            self.socket_event(nsp, SocketEvent::Disconnect(reason));
        }
        for id in failed {
            self.socket_event(
                nsp,
                SocketEvent::Ack {
                    id,
                    outcome: AckOutcome::Disconnected,
                },
            );
        }
        for seq in retry_tries {
            self.queue_try_lost(nsp, seq);
        }
    }

    /// The queue head's try was lost with the connection: it is sent again once reconnected,
    /// unless it has no tries left.
    fn queue_try_lost(&mut self, nsp: &str, seq: u64) {
        let retries = self.config.retries;
        let Some(socket) = self.sockets.get_mut(nsp) else {
            return;
        };
        let Some(head) = socket.queue.front_mut().filter(|h| h.seq == seq) else {
            return;
        };
        head.pending = false;
        if head.tries > retries {
            let done = socket.queue.pop_front().expect("head");
            if let Some(id) = done.user_ack {
                self.socket_event(
                    nsp,
                    SocketEvent::Ack {
                        id,
                        outcome: AckOutcome::Disconnected,
                    },
                );
            }
        }
    }

    fn close_if_unused(&mut self) {
        if self.sockets.values().all(|s| !s.active) {
            self.auto_reconnect = false;
            match self.engine {
                EngineState::Open | EngineState::Opening { .. } => {
                    self.events.push_back(ManagerEvent::CloseEngine);
                }
                EngineState::Waiting { .. } => self.engine = EngineState::Closed,
                EngineState::Closed => {}
            }
        }
    }

    fn socket_event(&mut self, nsp: &str, event: SocketEvent) {
        self.events.push_back(ManagerEvent::Socket {
            nsp: nsp.to_owned(),
            event,
        });
    }

    fn queue(&mut self, packet: &Packet) {
        match self.config.parser {
            Parser::Default => {
                let encoded = packet.encode();
                self.transmits
                    .push_back(EnginePacket::Text(TextFrame::from_data(&encoded.text)));
                self.transmits
                    .extend(encoded.attachments.into_iter().map(EnginePacket::Binary));
            }
            #[cfg(feature = "msgpack")]
            Parser::Msgpack => {
                let bytes: bytes::Bytes = super::msgpack::encode(packet);
                self.transmits.push_back(EnginePacket::Binary(bytes));
            }
        }
    }
}

#[cfg(test)]
mod tests;
