//! The server side of one Engine.IO session, as a sans-IO state machine.
//!
//! # Driving a session
//!
//! The driver (the runtime, a binding, or a test on a virtual clock) owns the transports and
//! the clock; the session owns the protocol. Methods come in four kinds, as in quinn-proto:
//!
//! * getters: [`Session::sid`], [`Session::transport`], [`Session::is_closed`], ...
//! * inputs: [`Session::handle_packet`], [`Session::handle_timeout`],
//!   [`Session::transport_closed`]
//! * commands: [`Session::send`], [`Session::close`], [`Session::start_upgrade`]
//! * outputs, polled in this order after every input or command: [`Session::poll_transmit`]
//!   (packets for the current transport), [`Session::poll_probe_transmit`] (packets for a
//!   WebSocket being probed for an upgrade), [`Session::poll_event`], then
//!   [`Session::poll_timeout`] for the next deadline.
//!
//! Every input takes `now`; the session never reads a clock.

use std::collections::VecDeque;
use std::time::Duration;

use crate::proto::time::Instant;

use super::{CloseReason, Handshake, Packet, Transport};

/// Session parameters, with engine.io's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Time between a pong and the next ping (default 25 s).
    pub ping_interval: Duration,
    /// Time the client has to answer a ping (default 20 s).
    pub ping_timeout: Duration,
    /// Time a WebSocket probe has to complete the upgrade (default 10 s).
    pub upgrade_timeout: Duration,
    /// Largest payload accepted from the client, in bytes (default 1 MB).
    pub max_payload: u64,
    /// Most packets queued for a client before the session counts as saturated.
    pub max_buffered_packets: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            max_payload: 1_000_000,
            max_buffered_packets: 8_192,
        }
    }
}

/// What a session reports to its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// The client sent a message (a [`Packet::Text`] or [`Packet::Binary`]).
    Message(Packet),
    /// The probed WebSocket is now the session's transport.
    Upgraded,
    /// The upgrade failed or timed out: close the probed WebSocket; the session goes on.
    UpgradeAborted,
    /// The session ended. No further event follows.
    Closed(CloseReason),
}

/// Why [`Session::send`] refused a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The session is closed or closing.
    #[error("the session is closed")]
    Closed,
    /// The client is not reading fast enough: its queue is full.
    #[error("the client's outbound queue is full")]
    Saturated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upgrade {
    None,
    /// A WebSocket is connected with this sid; `probed` once `2probe` was answered.
    Probing {
        deadline: Instant,
        probed: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// Closed by the server; the queued packets and a final `close` are still to be sent.
    Closing {
        deadline: Instant,
        reason: CloseReason,
    },
    Closed,
}

/// The server side of one Engine.IO session.
#[derive(Debug)]
pub struct Session {
    sid: String,
    config: SessionConfig,
    transport: Transport,
    state: State,
    upgrade: Upgrade,
    /// Packets for the current transport, each with whether it may be compressed.
    outbox: VecDeque<(Packet, bool)>,
    probe_outbox: VecDeque<Packet>,
    events: VecDeque<SessionEvent>,
    next_ping: Option<Instant>,
    pong_deadline: Option<Instant>,
    close_reason: Option<CloseReason>,
}

impl Session {
    /// Opens a session; its first transmit is the `open` packet.
    ///
    /// `upgrades` lists the transports announced in the handshake (`["websocket"]` for a
    /// polling session that may upgrade, nothing otherwise).
    pub fn new(
        sid: String,
        transport: Transport,
        upgrades: &[Transport],
        config: SessionConfig,
        now: Instant,
    ) -> Session {
        let handshake = Handshake {
            sid: sid.clone(),
            upgrades: upgrades.iter().map(|t| t.as_str().to_owned()).collect(),
            ping_interval: config.ping_interval.as_millis() as u64,
            ping_timeout: config.ping_timeout.as_millis() as u64,
            max_payload: config.max_payload,
        };
        let mut outbox = VecDeque::new();
        outbox.push_back((Packet::Open(handshake.to_json()), true));
        Session {
            sid,
            next_ping: Some(now + config.ping_interval),
            config,
            transport,
            state: State::Open,
            upgrade: Upgrade::None,
            outbox,
            probe_outbox: VecDeque::new(),
            events: VecDeque::new(),
            pong_deadline: None,
            close_reason: None,
        }
    }

    /// The session id.
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// The session parameters.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The transport packets currently go through.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// True once the session has ended (after [`SessionEvent::Closed`]).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Why the session ended, once it has.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.close_reason
    }

    /// True while the session accepts packets to send.
    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }

    /// True while a WebSocket probe is under way.
    pub fn is_upgrading(&self) -> bool {
        self.upgrade != Upgrade::None
    }

    /// True once the client's probe was answered and its `upgrade` packet is awaited. A poll
    /// with nothing to send is then answered with a noop at once, so that the client can
    /// pause polling (engine.io sends one every 100 ms for that while a poll waits).
    pub fn awaits_upgrade(&self) -> bool {
        matches!(self.upgrade, Upgrade::Probing { probed: true, .. })
    }

    /// Packets waiting for the current transport.
    pub fn queued(&self) -> usize {
        self.outbox.len()
    }

    /// Queues a message (a [`Packet::Text`] or [`Packet::Binary`]) for the client.
    pub fn send(&mut self, packet: Packet) -> Result<(), SendError> {
        self.send_all_with(std::iter::once(packet), true)
    }

    /// Queues several messages at once (a message and its binary attachments): all or none.
    pub fn send_all(
        &mut self,
        packets: impl ExactSizeIterator<Item = Packet>,
    ) -> Result<(), SendError> {
        self.send_all_with(packets, true)
    }

    /// Like [`Session::send_all`]; `compress: false` asks that the packets not be
    /// compressed (engine.io's `compress` option: a polling response is compressed when
    /// any of its packets may be).
    pub fn send_all_with(
        &mut self,
        packets: impl ExactSizeIterator<Item = Packet>,
        compress: bool,
    ) -> Result<(), SendError> {
        if self.state != State::Open {
            return Err(SendError::Closed);
        }
        if self.outbox.len() + packets.len() > self.config.max_buffered_packets {
            return Err(SendError::Saturated);
        }
        self.outbox.extend(packets.map(|p| (p, compress)));
        Ok(())
    }

    /// Closes the session from the server side: queued packets are flushed, then `close`.
    ///
    /// Over polling the driver keeps the session until the client's next poll collects them
    /// (or `ping_timeout` passes); over WebSocket it writes them and closes the socket.
    pub fn close(&mut self, reason: CloseReason, now: Instant) {
        if self.state != State::Open {
            return;
        }
        if self.upgrade != Upgrade::None {
            self.upgrade = Upgrade::None;
            self.events.push_back(SessionEvent::UpgradeAborted);
        }
        self.outbox.push_back((Packet::Close, true));
        self.state = State::Closing {
            deadline: now + self.config.ping_timeout,
            reason,
        };
    }

    /// The transport went away (socket closed, or an I/O error if `error`).
    pub fn transport_closed(&mut self, error: bool) {
        let reason = if error {
            CloseReason::TransportError
        } else {
            CloseReason::TransportClose
        };
        self.finish(reason);
    }

    /// Ends the session at once with `reason` (e.g. a parse error reported by the driver).
    pub fn abort(&mut self, reason: CloseReason) {
        self.finish(reason);
    }

    fn finish(&mut self, reason: CloseReason) {
        let reason = match self.state {
            State::Closed => return,
            State::Closing { reason, .. } => reason,
            State::Open => reason,
        };
        self.state = State::Closed;
        self.close_reason = Some(reason);
        self.upgrade = Upgrade::None;
        self.outbox.clear();
        self.probe_outbox.clear();
        self.next_ping = None;
        self.pong_deadline = None;
        self.events.push_back(SessionEvent::Closed(reason));
    }

    /// A WebSocket arrived for this polling session: starts the probe.
    ///
    /// Fails when the session is not on polling, is closing, or already probing.
    pub fn start_upgrade(&mut self, now: Instant) -> Result<(), SendError> {
        if self.state != State::Open
            || self.transport != Transport::Polling
            || self.upgrade != Upgrade::None
        {
            return Err(SendError::Closed);
        }
        self.upgrade = Upgrade::Probing {
            deadline: now + self.config.upgrade_timeout,
            probed: false,
        };
        Ok(())
    }

    /// Handles a packet the client sent over `via`.
    pub fn handle_packet(&mut self, packet: Packet, via: Transport, now: Instant) {
        if self.state == State::Closed {
            return;
        }
        if via != self.transport {
            self.handle_probe_packet(packet);
            return;
        }
        match packet {
            Packet::Text(_) | Packet::Binary(_) => {
                self.events.push_back(SessionEvent::Message(packet))
            }
            Packet::Pong(_) => {
                if self.pong_deadline.take().is_some() && self.state == State::Open {
                    self.next_ping = Some(now + self.config.ping_interval);
                }
            }
            Packet::Close => self.finish(CloseReason::TransportClose),
            // engine.io v4: heartbeats go from server to client only; `open` never comes in.
            Packet::Ping(_) | Packet::Open(_) => self.finish(CloseReason::TransportError),
            Packet::Upgrade | Packet::Noop => {}
        }
    }

    fn handle_probe_packet(&mut self, packet: Packet) {
        let Upgrade::Probing { deadline, probed } = self.upgrade else {
            return;
        };
        match packet {
            Packet::Ping(data) if data == "probe" && !probed => {
                self.probe_outbox.push_back(Packet::Pong(data));
                // Release the pending poll so the client can pause polling.
                self.outbox.push_back((Packet::Noop, true));
                self.upgrade = Upgrade::Probing {
                    deadline,
                    probed: true,
                };
            }
            Packet::Upgrade if probed => {
                self.upgrade = Upgrade::None;
                self.transport = Transport::WebSocket;
                self.outbox.retain(|(p, _)| *p != Packet::Noop);
                self.events.push_back(SessionEvent::Upgraded);
            }
            _ => {
                self.upgrade = Upgrade::None;
                self.probe_outbox.clear();
                self.events.push_back(SessionEvent::UpgradeAborted);
            }
        }
    }

    /// Advances timers: sends pings, detects ping timeouts, expires upgrades and closings.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Upgrade::Probing { deadline, .. } = self.upgrade
            && now >= deadline
        {
            self.upgrade = Upgrade::None;
            self.probe_outbox.clear();
            self.events.push_back(SessionEvent::UpgradeAborted);
        }
        match self.state {
            State::Closed => return,
            State::Closing { deadline, reason } => {
                if now >= deadline {
                    self.finish(reason);
                }
                return;
            }
            State::Open => {}
        }
        if let Some(deadline) = self.pong_deadline
            && now >= deadline
        {
            self.finish(CloseReason::PingTimeout);
            return;
        }
        if let Some(at) = self.next_ping
            && now >= at
        {
            // Deadlines count from when the ping was due, not from when the driver woke up.
            self.next_ping = None;
            self.pong_deadline = Some(at + self.config.ping_timeout);
            self.outbox.push_back((Packet::Ping(String::new()), true));
        }
    }

    /// The next deadline at which [`Session::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let upgrade = match self.upgrade {
            Upgrade::Probing { deadline, .. } => Some(deadline),
            Upgrade::None => None,
        };
        let state = match self.state {
            State::Closing { deadline, .. } => Some(deadline),
            _ => None,
        };
        [self.next_ping, self.pong_deadline, upgrade, state]
            .into_iter()
            .flatten()
            .min()
    }

    /// The next packet for the current transport.
    ///
    /// Taking the final `close` of a closing session ends it ([`SessionEvent::Closed`]).
    pub fn poll_transmit(&mut self) -> Option<Packet> {
        let (packet, _) = self.outbox.pop_front()?;
        if packet == Packet::Close
            && let State::Closing { reason, .. } = self.state
        {
            self.finish(reason);
            return Some(Packet::Close);
        }
        Some(packet)
    }

    /// Takes the packets queued for the current transport (one polling response).
    ///
    /// A closing session's final `close` travels alone, after everything queued before it
    /// was taken, as engine.io drains its buffer before closing: clients act on `close` at
    /// once but dispatch messages a tick later.
    pub fn drain_transmits(&mut self) -> Vec<Packet> {
        self.drain_transmits_compressible().0
    }

    /// [`Session::drain_transmits`], and whether any of the packets may be compressed.
    pub fn drain_transmits_compressible(&mut self) -> (Vec<Packet>, bool) {
        let flagged = self.drain_transmits_flagged();
        let compress = flagged.iter().any(|(_, may_compress)| *may_compress);
        (
            flagged.into_iter().map(|(packet, _)| packet).collect(),
            compress,
        )
    }

    /// [`Session::drain_transmits`], each packet with whether it may be compressed (over
    /// WebSocket, permessage-deflate honours this per message).
    pub fn drain_transmits_flagged(&mut self) -> Vec<(Packet, bool)> {
        let mut out = Vec::with_capacity(self.outbox.len());
        while let Some((next, may_compress)) = self.outbox.front() {
            if *next == Packet::Close && !out.is_empty() {
                break;
            }
            let may_compress = *may_compress;
            match self.poll_transmit() {
                Some(packet) => out.push((packet, may_compress)),
                None => break,
            }
        }
        out
    }

    /// The next packet for the WebSocket being probed (the `3probe` answer).
    pub fn poll_probe_transmit(&mut self) -> Option<Packet> {
        self.probe_outbox.pop_front()
    }

    /// The next event for the driver.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }
}
