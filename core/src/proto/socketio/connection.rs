//! The server side of one Socket.IO connection (one Engine.IO session): which namespaces are
//! joined, the connect timeout, and packet validation.

use std::collections::HashSet;
use std::time::Duration;

use crate::proto::time::Instant;

use bytes::Bytes;

use super::packet::{Packet, PacketData};
use super::parser::{DecodeError, Decoder, Parser};
use crate::proto::value::Value;

/// What the client asked for, after validation.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionEvent {
    /// Join a namespace: run its middlewares, then call [`ServerConnection::accepted`] or
    /// [`ServerConnection::rejected`].
    Connect {
        /// The namespace.
        nsp: String,
        /// The auth payload (`{}` when the client sent none).
        auth: Value,
    },
    /// An event for a joined namespace.
    Event {
        /// The namespace.
        nsp: String,
        /// The event name.
        event: String,
        /// The arguments.
        args: Vec<Value>,
        /// The ack id, if the client waits for an answer.
        id: Option<u64>,
    },
    /// The answer to one of our events.
    Ack {
        /// The namespace.
        nsp: String,
        /// The id of our event.
        id: u64,
        /// The answer's arguments.
        args: Vec<Value>,
    },
    /// The client left a namespace (`client namespace disconnect`).
    Disconnect {
        /// The namespace.
        nsp: String,
    },
}

/// A client broke the protocol; its connection must be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// A packet did not decode.
    #[error("invalid packet: {0}")]
    Decode(#[from] DecodeError),
    /// A packet that makes no sense in this state (e.g. an event for a namespace the client
    /// has not joined, or a second CONNECT).
    #[error("invalid packet for the connection state")]
    InvalidState,
    /// No namespace was joined within `connectTimeout`.
    #[error("no namespace joined in time")]
    ConnectTimeout,
}

/// The server side of one Socket.IO connection.
#[derive(Debug)]
pub struct ServerConnection {
    decoder: Decoder,
    joined: HashSet<String>,
    joining: HashSet<String>,
    connect_deadline: Option<Instant>,
}

impl ServerConnection {
    /// A new connection that must join a namespace within `connect_timeout`.
    pub fn new(connect_timeout: Duration, max_attachments: usize, now: Instant) -> Self {
        ServerConnection::with_parser(Parser::Default, connect_timeout, max_attachments, now)
    }

    /// Like [`ServerConnection::new`], for clients that use `parser`.
    pub fn with_parser(
        parser: Parser,
        connect_timeout: Duration,
        max_attachments: usize,
        now: Instant,
    ) -> Self {
        ServerConnection {
            decoder: Decoder::with_parser(parser, max_attachments),
            joined: HashSet::new(),
            joining: HashSet::new(),
            connect_deadline: Some(now + connect_timeout),
        }
    }

    /// Handles one text message from the client.
    pub fn handle_text(&mut self, text: &str) -> Result<Option<ConnectionEvent>, ProtocolError> {
        match self.decoder.decode_text(text)? {
            Some(packet) => self.handle_packet(packet).map(Some),
            None => Ok(None),
        }
    }

    /// Handles one binary message (an attachment) from the client.
    pub fn handle_binary(&mut self, data: Bytes) -> Result<Option<ConnectionEvent>, ProtocolError> {
        match self.decoder.decode_binary(data)? {
            Some(packet) => self.handle_packet(packet).map(Some),
            None => Ok(None),
        }
    }

    fn handle_packet(&mut self, packet: Packet) -> Result<ConnectionEvent, ProtocolError> {
        let Packet { nsp, data } = packet;
        let joined = self.joined.contains(&nsp);
        match data {
            PacketData::Connect(auth) if !joined && !self.joining.contains(&nsp) => {
                self.joining.insert(nsp.clone());
                let auth = auth.unwrap_or_else(|| Value::Object(Default::default()));
                Ok(ConnectionEvent::Connect { nsp, auth })
            }
            PacketData::Event { event, args, id } if joined => Ok(ConnectionEvent::Event {
                nsp,
                event,
                args,
                id,
            }),
            PacketData::Ack { args, id } if joined => Ok(ConnectionEvent::Ack { nsp, id, args }),
            PacketData::Disconnect if joined => {
                self.joined.remove(&nsp);
                Ok(ConnectionEvent::Disconnect { nsp })
            }
            _ => Err(ProtocolError::InvalidState),
        }
    }

    /// The middlewares accepted a `Connect`: the namespace is joined.
    pub fn accepted(&mut self, nsp: &str) {
        self.stop_joining(nsp);
        self.joined.insert(nsp.to_owned());
        self.connect_deadline = None;
    }

    /// The middlewares refused a `Connect` (or the namespace does not exist).
    pub fn rejected(&mut self, nsp: &str) {
        self.stop_joining(nsp);
    }

    /// Forgets a namespace being joined; the set's table goes once it is empty, as every
    /// idle connection would keep it.
    fn stop_joining(&mut self, nsp: &str) {
        self.joining.remove(nsp);
        if self.joining.is_empty() {
            self.joining = HashSet::new();
        }
    }

    /// The server removed the socket of `nsp` (server-side disconnect).
    pub fn left(&mut self, nsp: &str) {
        self.joined.remove(nsp);
    }

    /// True when `nsp` is joined.
    pub fn is_joined(&self, nsp: &str) -> bool {
        self.joined.contains(nsp)
    }

    /// The connect deadline, while no namespace has been joined.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.connect_deadline
    }

    /// Fails with [`ProtocolError::ConnectTimeout`] once the connect deadline has passed.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), ProtocolError> {
        match self.connect_deadline {
            Some(deadline) if now >= deadline => {
                self.connect_deadline = None;
                Err(ProtocolError::ConnectTimeout)
            }
            _ => Ok(()),
        }
    }
}
