//! The sans-IO core driven by a scripted in-memory client on a virtual clock: no sockets,
//! no sleeps, deterministic.

use std::time::{Duration, Instant};

use bytes::Bytes;
use polysocket::Value;
use polysocket::proto::engineio::{
    CloseReason, Packet, Session, SessionConfig, SessionEvent, TextFrame, Transport,
};
use polysocket::proto::socketio::{self, ConnectionEvent, ServerConnection};

/// A server session plus a virtual clock and a client that answers pings when told to.
struct Pair {
    now: Instant,
    server: Session,
    sio: ServerConnection,
    client_answers_pings: bool,
    /// Packets the client received, in order.
    received: Vec<Packet>,
    /// Socket.IO events the server saw.
    events: Vec<ConnectionEvent>,
    closed: Option<CloseReason>,
}

impl Pair {
    fn new(transport: Transport) -> Pair {
        let now = Instant::now();
        let config = SessionConfig {
            ping_interval: Duration::from_millis(300),
            ping_timeout: Duration::from_millis(200),
            ..SessionConfig::default()
        };
        let upgrades: &[Transport] = if transport == Transport::Polling {
            &[Transport::WebSocket]
        } else {
            &[]
        };
        Pair {
            now,
            server: Session::new("sid".into(), transport, upgrades, config, now),
            sio: ServerConnection::new(Duration::from_millis(1000), 10, now),
            client_answers_pings: true,
            received: Vec::new(),
            events: Vec::new(),
            closed: None,
        }
    }

    /// Delivers everything the server queued to the client, lets the client answer, and
    /// handles the server's events, until nothing moves.
    fn step(&mut self) {
        loop {
            let packets = self.server.drain_transmits();
            if packets.is_empty() {
                break;
            }
            for packet in packets {
                if packet == Packet::Ping(String::new()) && self.client_answers_pings {
                    self.server.handle_packet(
                        Packet::Pong(String::new()),
                        self.server.transport(),
                        self.now,
                    );
                }
                self.received.push(packet);
            }
        }
        while let Some(event) = self.server.poll_event() {
            match event {
                SessionEvent::Message(Packet::Text(text)) => {
                    if let Ok(Some(event)) = self.sio.handle_text(text.data()) {
                        self.events.push(event);
                    }
                }
                SessionEvent::Message(Packet::Binary(data)) => {
                    if let Ok(Some(event)) = self.sio.handle_binary(data) {
                        self.events.push(event);
                    }
                }
                SessionEvent::Closed(reason) => self.closed = Some(reason),
                _ => {}
            }
        }
    }

    /// Jumps the clock to the next deadline (if it is before `until`) and handles it.
    fn drive_until(&mut self, until: Instant) {
        loop {
            self.step();
            let next = [self.server.poll_timeout(), self.sio.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(at) if at <= until && self.closed.is_none() => {
                    self.now = at;
                    self.server.handle_timeout(at);
                    if self.sio.handle_timeout(at).is_err() {
                        self.server.close(CloseReason::ForcedClose, at);
                    }
                }
                _ => break,
            }
        }
        self.now = self.now.max(until);
    }

    fn client_sends(&mut self, text: &str) {
        let transport = self.server.transport();
        self.server.handle_packet(
            Packet::Text(TextFrame::from_data(text)),
            transport,
            self.now,
        );
        self.step();
    }

    fn pings_received(&self) -> usize {
        self.received
            .iter()
            .filter(|p| **p == Packet::Ping(String::new()))
            .count()
    }
}

#[test]
fn first_transmit_is_the_handshake() {
    let mut pair = Pair::new(Transport::Polling);
    pair.step();
    let Packet::Open(json) = &pair.received[0] else {
        panic!("expected open")
    };
    assert_eq!(
        json,
        r#"{"sid":"sid","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#
    );
}

#[test]
fn a_client_that_answers_pings_stays_connected() {
    let mut pair = Pair::new(Transport::WebSocket);
    pair.client_sends("0");
    pair.sio.accepted("/");
    let start = pair.now;
    pair.drive_until(start + Duration::from_secs(10));
    assert_eq!(pair.closed, None);
    // One ping per 300 ms interval (the pong comes back at once).
    assert_eq!(pair.pings_received(), 33);
}

#[test]
fn a_silent_client_times_out_exactly_after_interval_plus_timeout() {
    let mut pair = Pair::new(Transport::WebSocket);
    pair.client_answers_pings = false;
    let start = pair.now;
    pair.drive_until(start + Duration::from_millis(499));
    assert_eq!(pair.closed, None);
    pair.drive_until(start + Duration::from_millis(500));
    assert_eq!(pair.closed, Some(CloseReason::PingTimeout));
    assert_eq!(pair.pings_received(), 1);
}

#[test]
fn upgrade_probe_then_switch() {
    let mut pair = Pair::new(Transport::Polling);
    pair.step();
    pair.server.start_upgrade(pair.now).unwrap();
    pair.server
        .handle_packet(Packet::Ping("probe".into()), Transport::WebSocket, pair.now);
    assert_eq!(
        pair.server.poll_probe_transmit(),
        Some(Packet::Pong("probe".into()))
    );
    // The pending poll is released with a noop.
    assert_eq!(pair.server.drain_transmits(), vec![Packet::Noop]);
    pair.server
        .handle_packet(Packet::Upgrade, Transport::WebSocket, pair.now);
    assert_eq!(pair.server.poll_event(), Some(SessionEvent::Upgraded));
    assert_eq!(pair.server.transport(), Transport::WebSocket);
}

#[test]
fn an_upgrade_that_never_completes_is_aborted_and_the_session_goes_on() {
    let mut pair = Pair::new(Transport::Polling);
    pair.server.start_upgrade(pair.now).unwrap();
    let deadline = pair.now + Duration::from_secs(10);
    pair.server.handle_timeout(deadline);
    assert!(
        std::iter::from_fn(|| pair.server.poll_event()).any(|e| e == SessionEvent::UpgradeAborted)
    );
    assert_eq!(pair.server.transport(), Transport::Polling);
}

#[test]
fn socket_io_connect_event_ack_and_binary() {
    let mut pair = Pair::new(Transport::WebSocket);
    pair.client_sends(r#"0{"token":"abc"}"#);
    let ConnectionEvent::Connect { nsp, auth } = pair.events.remove(0) else {
        panic!()
    };
    assert_eq!(
        (nsp.as_str(), auth.get("token").and_then(Value::as_str)),
        ("/", Some("abc"))
    );
    pair.sio.accepted("/");

    pair.client_sends(r#"21["hello",1]"#);
    assert_eq!(
        pair.events.remove(0),
        ConnectionEvent::Event {
            nsp: "/".into(),
            event: "hello".into(),
            args: vec![Value::from(1u64)],
            id: Some(1)
        }
    );

    pair.client_sends(r#"51-["bin",{"_placeholder":true,"num":0}]"#);
    assert!(pair.events.is_empty(), "waits for the attachment");
    pair.server.handle_packet(
        Packet::Binary(Bytes::from_static(b"\x01\x02")),
        Transport::WebSocket,
        pair.now,
    );
    pair.step();
    let ConnectionEvent::Event { event, args, .. } = pair.events.remove(0) else {
        panic!()
    };
    assert_eq!(
        (event.as_str(), args),
        ("bin", vec![Value::Binary(Bytes::from_static(b"\x01\x02"))])
    );

    // The server's answer encodes back to the wire format.
    let ack = socketio::Packet::ack("/", 1, vec![Value::from("ok")]).encode();
    assert_eq!(ack.text, r#"31["ok"]"#);
}

#[test]
fn no_namespace_joined_in_time_closes_the_connection() {
    let mut pair = Pair::new(Transport::WebSocket);
    let start = pair.now;
    pair.drive_until(start + Duration::from_millis(1500));
    assert!(pair.server.is_closed() || !pair.server.is_open());
    assert_eq!(pair.closed, Some(CloseReason::ForcedClose));
}

#[test]
fn server_close_flushes_queued_packets_then_sends_close_alone() {
    let mut pair = Pair::new(Transport::Polling);
    pair.step();
    pair.server
        .send(Packet::Text(TextFrame::from_data("41")))
        .unwrap();
    pair.server.close(CloseReason::ForcedClose, pair.now);
    assert_eq!(
        pair.server.drain_transmits(),
        vec![Packet::Text(TextFrame::from_data("41"))]
    );
    assert!(!pair.server.is_closed());
    assert_eq!(pair.server.drain_transmits(), vec![Packet::Close]);
    assert_eq!(
        pair.server.poll_event(),
        Some(SessionEvent::Closed(CloseReason::ForcedClose))
    );
}
