//! The client side of one Engine.IO connection, as a sans-IO state machine.
//!
//! Driven like the server's [`Session`](super::Session): the driver owns the transports and
//! the clock, feeds what arrives ([`ClientSession::handle_packet`],
//! [`ClientSession::handle_timeout`], [`ClientSession::transport_closed`]), then polls the
//! outputs: [`ClientSession::poll_transmit`] (packets for the current transport),
//! [`ClientSession::poll_probe_transmit`] (packets for a WebSocket being probed),
//! [`ClientSession::poll_event`] and [`ClientSession::poll_timeout`].
//!
//! Over long-polling the driver keeps one GET in flight and POSTs what
//! [`ClientSession::drain_transmits`] returns, one POST at a time; the session does not know
//! about requests, except that an upgrade waits until the driver reports, with
//! [`ClientSession::polling_paused`], that no poll is in flight any more.

use std::collections::VecDeque;
use std::time::Duration;

use crate::proto::time::Instant;

use super::{CloseReason, Handshake, Packet, Transport};

/// What the session reports to its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The server's handshake arrived: the connection is open.
    Open(Handshake),
    /// The server sent a message ([`Packet::Text`] or [`Packet::Binary`]).
    Message(Packet),
    /// The connection may move to WebSocket: open one with the session id, then call
    /// [`ClientSession::probe_opened`] (or [`ClientSession::probe_failed`]).
    StartProbe,
    /// The probe answered: stop issuing polls and call [`ClientSession::polling_paused`]
    /// once none is in flight.
    PausePolling,
    /// The probed WebSocket is now the transport; close the polling side.
    Upgraded,
    /// The probe failed: close the probed WebSocket; polling goes on.
    UpgradeFailed,
    /// The connection ended. No further event follows.
    Closed(CloseReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Opening,
    Open,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upgrade {
    None,
    /// A WebSocket is being opened or probed, until `deadline`.
    Probing {
        deadline: Instant,
    },
    /// `3probe` arrived; waiting for the driver to pause polling.
    Pausing,
}

/// The client side of one Engine.IO connection.
#[derive(Debug)]
pub struct ClientSession {
    state: State,
    transport: Transport,
    allow_upgrade: bool,
    handshake: Option<Handshake>,
    outbox: VecDeque<Packet>,
    probe_outbox: VecDeque<Packet>,
    ping_deadline: Option<Instant>,
    upgrade: Upgrade,
    events: VecDeque<ClientEvent>,
    close_reason: Option<CloseReason>,
}

impl ClientSession {
    /// A connection that opens over `transport`; with `allow_upgrade`, a polling connection
    /// moves to WebSocket when the server offers it (socket.io-client's `upgrade` option).
    pub fn new(transport: Transport, allow_upgrade: bool) -> ClientSession {
        ClientSession {
            state: State::Opening,
            transport,
            allow_upgrade,
            handshake: None,
            outbox: VecDeque::new(),
            probe_outbox: VecDeque::new(),
            ping_deadline: None,
            upgrade: Upgrade::None,
            events: VecDeque::new(),
            close_reason: None,
        }
    }

    /// The session id, once open.
    pub fn sid(&self) -> Option<&str> {
        self.handshake.as_ref().map(|h| h.sid.as_str())
    }

    /// The server's handshake, once open.
    pub fn handshake(&self) -> Option<&Handshake> {
        self.handshake.as_ref()
    }

    /// The transport in use.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// True once the handshake arrived and until the connection closes.
    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }

    /// True once the connection ended.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Why the connection ended.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.close_reason
    }

    /// True while a WebSocket is being probed or polling is being paused for it.
    pub fn is_upgrading(&self) -> bool {
        self.upgrade != Upgrade::None
    }

    /// True while the driver must not start a new poll (an upgrade is about to complete).
    pub fn is_polling_paused(&self) -> bool {
        self.upgrade == Upgrade::Pausing
    }

    /// Queues a message ([`Packet::Text`] or [`Packet::Binary`]) for the server. Packets
    /// queued before the handshake or during an upgrade wait for the transport.
    pub fn send(&mut self, packet: Packet) -> bool {
        if self.state == State::Closed {
            return false;
        }
        self.outbox.push_back(packet);
        true
    }

    /// Closes the connection from the client side (`forced close`): over polling a
    /// `close` packet is queued for the driver to POST before it stops.
    pub fn close(&mut self) {
        if self.state == State::Closed {
            return;
        }
        self.outbox.clear();
        if self.state == State::Open && self.transport == Transport::Polling {
            self.outbox.push_back(Packet::Close);
        }
        self.finish(CloseReason::ForcedClose);
    }

    /// Handles a packet that arrived over `via` (the transport, or the probed WebSocket).
    pub fn handle_packet(&mut self, packet: Packet, via: Transport, now: Instant) {
        if self.state == State::Closed {
            return;
        }
        if via != self.transport {
            self.handle_probe_packet(packet);
            return;
        }
        match packet {
            Packet::Open(json) if self.state == State::Opening => {
                let Ok(handshake) = serde_json::from_str::<Handshake>(&json) else {
                    self.finish(CloseReason::ParseError);
                    return;
                };
                self.state = State::Open;
                self.reset_ping_deadline(&handshake, now);
                let can_upgrade = self.allow_upgrade
                    && self.transport == Transport::Polling
                    && handshake.upgrades.iter().any(|u| u == "websocket");
                self.handshake = Some(handshake.clone());
                self.events.push_back(ClientEvent::Open(handshake));
                if can_upgrade {
                    self.upgrade = Upgrade::Probing {
                        deadline: now + self.ping_window(),
                    };
                    self.events.push_back(ClientEvent::StartProbe);
                }
            }
            Packet::Ping(data) if self.state == State::Open => {
                if let Some(handshake) = self.handshake.clone() {
                    self.reset_ping_deadline(&handshake, now);
                }
                self.outbox.push_back(Packet::Pong(data));
            }
            Packet::Close => self.finish(CloseReason::TransportClose),
            packet @ (Packet::Text(_) | Packet::Binary(_)) if self.state == State::Open => {
                self.events.push_back(ClientEvent::Message(packet));
            }
            Packet::Noop | Packet::Pong(_) | Packet::Upgrade => {}
            _ => self.finish(CloseReason::ParseError),
        }
    }

    fn handle_probe_packet(&mut self, packet: Packet) {
        match (packet, self.upgrade) {
            (Packet::Pong(data), Upgrade::Probing { .. }) if data == "probe" => {
                self.upgrade = Upgrade::Pausing;
                self.events.push_back(ClientEvent::PausePolling);
            }
            _ => self.probe_failed(),
        }
    }

    /// The probed WebSocket is open: sends `2probe` on it.
    pub fn probe_opened(&mut self) {
        if matches!(self.upgrade, Upgrade::Probing { .. }) {
            self.probe_outbox
                .push_back(Packet::Ping("probe".to_owned()));
        }
    }

    /// The probe could not open or failed: polling goes on.
    pub fn probe_failed(&mut self) {
        if self.upgrade != Upgrade::None {
            self.upgrade = Upgrade::None;
            self.probe_outbox.clear();
            self.events.push_back(ClientEvent::UpgradeFailed);
        }
    }

    /// No poll is in flight any more: completes the upgrade (`5` on the WebSocket, which
    /// becomes the transport; what was queued meanwhile goes over it).
    pub fn polling_paused(&mut self) {
        if self.upgrade == Upgrade::Pausing && self.state == State::Open {
            self.upgrade = Upgrade::None;
            self.transport = Transport::WebSocket;
            self.probe_outbox.push_back(Packet::Upgrade);
            self.events.push_back(ClientEvent::Upgraded);
        }
    }

    /// The transport closed (`error`: it failed). The probed WebSocket closing is reported
    /// with [`ClientSession::probe_failed`] instead.
    pub fn transport_closed(&mut self, error: bool) {
        self.finish(if error {
            CloseReason::TransportError
        } else {
            CloseReason::TransportClose
        });
    }

    /// The server sent something that does not decode.
    pub fn parse_error(&mut self) {
        self.finish(CloseReason::ParseError);
    }

    /// Advances timers: a server that stopped pinging closes the connection (`ping
    /// timeout`); a probe that did not answer in time fails.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Upgrade::Probing { deadline } = self.upgrade
            && now >= deadline
        {
            self.probe_failed();
        }
        if self.ping_deadline.is_some_and(|deadline| now >= deadline) {
            self.finish(CloseReason::PingTimeout);
        }
    }

    /// The next deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let probe = match self.upgrade {
            Upgrade::Probing { deadline } => Some(deadline),
            _ => None,
        };
        [self.ping_deadline, probe].into_iter().flatten().min()
    }

    /// The next packet for the current transport. Nothing before the handshake, nor while
    /// polling is being paused for an upgrade.
    pub fn poll_transmit(&mut self) -> Option<Packet> {
        if self.is_polling_paused() {
            return None;
        }
        match self.state {
            State::Open => self.outbox.pop_front(),
            // A client's `close` over polling still goes out.
            State::Closed => self.outbox.pop_front().filter(|p| *p == Packet::Close),
            State::Opening => None,
        }
    }

    /// Every packet [`ClientSession::poll_transmit`] would return now (one polling POST).
    pub fn drain_transmits(&mut self) -> Vec<Packet> {
        std::iter::from_fn(|| self.poll_transmit()).collect()
    }

    /// The next packet for the WebSocket being probed.
    pub fn poll_probe_transmit(&mut self) -> Option<Packet> {
        self.probe_outbox.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    fn ping_window(&self) -> Duration {
        self.handshake
            .as_ref()
            .map_or(Duration::from_secs(45), |h| {
                Duration::from_millis(h.ping_interval + h.ping_timeout)
            })
    }

    fn reset_ping_deadline(&mut self, handshake: &Handshake, now: Instant) {
        self.ping_deadline =
            Some(now + Duration::from_millis(handshake.ping_interval + handshake.ping_timeout));
    }

    fn finish(&mut self, reason: CloseReason) {
        if self.state == State::Closed {
            return;
        }
        self.state = State::Closed;
        self.close_reason = Some(reason);
        self.ping_deadline = None;
        if self.upgrade != Upgrade::None {
            self.upgrade = Upgrade::None;
            self.probe_outbox.clear();
            self.events.push_back(ClientEvent::UpgradeFailed);
        }
        self.events.push_back(ClientEvent::Closed(reason));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_json(upgrades: &[&str]) -> String {
        Handshake {
            sid: "s1".into(),
            upgrades: upgrades.iter().map(|u| (*u).to_owned()).collect(),
            ping_interval: 300,
            ping_timeout: 200,
            max_payload: 1_000_000,
        }
        .to_json()
    }

    fn events(session: &mut ClientSession) -> Vec<ClientEvent> {
        std::iter::from_fn(|| session.poll_event()).collect()
    }

    #[test]
    fn opens_answers_pings_and_times_out_without_them() {
        let t0 = Instant::now();
        let mut session = ClientSession::new(Transport::WebSocket, true);
        assert!(session.send(Packet::Text(super::super::TextFrame::from_data("0"))));
        assert_eq!(
            session.poll_transmit(),
            None,
            "nothing before the handshake"
        );
        session.handle_packet(Packet::Open(open_json(&[])), Transport::WebSocket, t0);
        assert!(matches!(events(&mut session)[..], [ClientEvent::Open(_)]));
        assert_eq!(session.sid(), Some("s1"));
        assert_eq!(
            session.drain_transmits().len(),
            1,
            "the queued CONNECT goes out"
        );
        assert_eq!(
            session.poll_timeout(),
            Some(t0 + Duration::from_millis(500))
        );

        let t1 = t0 + Duration::from_millis(300);
        session.handle_packet(Packet::Ping(String::new()), Transport::WebSocket, t1);
        assert_eq!(session.poll_transmit(), Some(Packet::Pong(String::new())));
        assert_eq!(
            session.poll_timeout(),
            Some(t1 + Duration::from_millis(500))
        );
        session.handle_timeout(t1 + Duration::from_millis(499));
        assert!(session.is_open());
        session.handle_timeout(t1 + Duration::from_millis(500));
        assert_eq!(
            events(&mut session),
            [ClientEvent::Closed(CloseReason::PingTimeout)]
        );
    }

    #[test]
    fn upgrades_from_polling_after_the_probe_and_the_pause() {
        let t0 = Instant::now();
        let mut session = ClientSession::new(Transport::Polling, true);
        session.handle_packet(
            Packet::Open(open_json(&["websocket"])),
            Transport::Polling,
            t0,
        );
        assert!(matches!(
            events(&mut session)[..],
            [ClientEvent::Open(_), ClientEvent::StartProbe]
        ));
        session.probe_opened();
        assert_eq!(
            session.poll_probe_transmit(),
            Some(Packet::Ping("probe".into()))
        );
        session.handle_packet(Packet::Pong("probe".into()), Transport::WebSocket, t0);
        assert_eq!(events(&mut session), [ClientEvent::PausePolling]);
        // Packets queued while pausing wait for the new transport.
        session.send(Packet::Text(super::super::TextFrame::from_data("2[\"x\"]")));
        assert_eq!(session.poll_transmit(), None);
        session.polling_paused();
        assert_eq!(events(&mut session), [ClientEvent::Upgraded]);
        assert_eq!(session.poll_probe_transmit(), Some(Packet::Upgrade));
        assert_eq!(session.transport(), Transport::WebSocket);
        assert_eq!(session.drain_transmits().len(), 1);
    }

    #[test]
    fn a_probe_that_does_not_answer_fails_and_polling_goes_on() {
        let t0 = Instant::now();
        let mut session = ClientSession::new(Transport::Polling, true);
        session.handle_packet(
            Packet::Open(open_json(&["websocket"])),
            Transport::Polling,
            t0,
        );
        events(&mut session);
        session.probe_opened();
        session.handle_timeout(t0 + Duration::from_millis(500));
        let got = events(&mut session);
        assert_eq!(got[0], ClientEvent::UpgradeFailed);
        // The same deadline is also the ping window: with no ping, the connection ends.
        assert_eq!(session.transport(), Transport::Polling);
        let mut other = ClientSession::new(Transport::Polling, false);
        other.handle_packet(
            Packet::Open(open_json(&["websocket"])),
            Transport::Polling,
            t0,
        );
        assert!(
            matches!(events(&mut other)[..], [ClientEvent::Open(_)]),
            "upgrade off"
        );
    }

    #[test]
    fn close_queues_a_close_packet_over_polling_only() {
        let t0 = Instant::now();
        let mut polling = ClientSession::new(Transport::Polling, false);
        polling.handle_packet(Packet::Open(open_json(&[])), Transport::Polling, t0);
        polling.close();
        assert_eq!(polling.drain_transmits(), [Packet::Close]);
        assert_eq!(polling.close_reason(), Some(CloseReason::ForcedClose));
        let mut ws = ClientSession::new(Transport::WebSocket, false);
        ws.handle_packet(Packet::Open(open_json(&[])), Transport::WebSocket, t0);
        ws.close();
        assert!(ws.drain_transmits().is_empty());
    }

    #[test]
    fn server_close_and_bad_handshakes_end_the_connection() {
        let t0 = Instant::now();
        let mut session = ClientSession::new(Transport::WebSocket, false);
        session.handle_packet(Packet::Open("{".into()), Transport::WebSocket, t0);
        assert_eq!(session.close_reason(), Some(CloseReason::ParseError));
        let mut session = ClientSession::new(Transport::WebSocket, false);
        session.handle_packet(Packet::Open(open_json(&[])), Transport::WebSocket, t0);
        session.handle_packet(Packet::Close, Transport::WebSocket, t0);
        assert_eq!(session.close_reason(), Some(CloseReason::TransportClose));
    }
}
