//! Connection state recovery (socket.io 4.6+): the sessions of sockets that lost their
//! connection, and the packets sent meanwhile, kept for `maxDisconnectionDuration`.
//!
//! This is the in-memory store behind socket.io's `SessionAwareAdapter`. Every event packet
//! broadcast without an ack id and not volatile gets an offset (a string appended to its
//! arguments, which the client remembers); a socket that disconnects for a recoverable
//! reason leaves its session here; a client that reconnects with `{pid, offset}` in its
//! CONNECT auth gets its id, rooms and data back, and the packets after its offset that
//! would have reached it.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use crate::proto::time::Instant;

use super::rooms::Room;
use super::value::Value;

/// What a disconnected socket leaves behind.
#[derive(Debug, Clone, PartialEq)]
pub struct PersistedSession {
    /// Its public id (`socket.id`), given back on recovery.
    pub sid: String,
    /// Its private id, which the client presents to recover.
    pub pid: String,
    /// Its rooms, its own id room included.
    pub rooms: Vec<Room>,
    /// Its `socket.data`.
    pub data: Value,
}

/// A recovered session: the session and the packets (event name, arguments and offset)
/// that it missed, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveredSession {
    /// The session as it was persisted.
    pub session: PersistedSession,
    /// The data arrays (`[event, ...args, offset]`) of the missed event packets.
    pub missed: Vec<Vec<Value>>,
}

/// Which sockets a stored packet was for (a broadcast's `rooms` and `except`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PacketTargets {
    /// Sockets in any of these rooms; every socket when empty.
    pub rooms: Vec<Room>,
    /// No socket in any of these rooms.
    pub except: Vec<Room>,
}

impl PacketTargets {
    /// Whether a socket in `rooms` was a target (socket.io's `shouldIncludePacket`).
    pub fn includes(&self, rooms: &[Room]) -> bool {
        let included = self.rooms.is_empty() || rooms.iter().any(|r| self.rooms.contains(r));
        let excluded = rooms.iter().any(|r| self.except.contains(r));
        included && !excluded
    }
}

#[derive(Debug)]
struct StoredPacket {
    offset: String,
    targets: PacketTargets,
    data: Vec<Value>,
    emitted_at: Instant,
}

#[derive(Debug)]
struct StoredSession {
    session: PersistedSession,
    disconnected_at: Instant,
}

/// The sessions and packets of one namespace.
#[derive(Debug)]
pub struct RecoveryStore {
    max_disconnection: Duration,
    offset_prefix: String,
    next_offset: u64,
    sessions: HashMap<String, StoredSession>,
    packets: VecDeque<StoredPacket>,
}

impl RecoveryStore {
    /// A store keeping sessions and packets for `max_disconnection`. Offsets are
    /// `offset_prefix` plus a counter; give each store a random prefix so that offsets
    /// from an earlier process never match.
    pub fn new(max_disconnection: Duration, offset_prefix: impl Into<String>) -> RecoveryStore {
        RecoveryStore {
            max_disconnection,
            offset_prefix: offset_prefix.into(),
            next_offset: 0,
            sessions: HashMap::new(),
            packets: VecDeque::new(),
        }
    }

    /// Records an event packet's data (`[event, ...args]`) sent to `targets` at `now`:
    /// appends a new offset to `data` and returns it.
    pub fn record(
        &mut self,
        targets: PacketTargets,
        data: &mut Vec<Value>,
        now: Instant,
    ) -> String {
        self.expire(now);
        let offset = format!("{}{:x}", self.offset_prefix, self.next_offset);
        self.next_offset += 1;
        data.push(Value::String(offset.clone()));
        self.packets.push_back(StoredPacket {
            offset: offset.clone(),
            targets,
            data: data.clone(),
            emitted_at: now,
        });
        offset
    }

    /// Keeps the session of a socket that disconnected at `now`.
    pub fn persist(&mut self, session: PersistedSession, now: Instant) {
        self.expire(now);
        self.sessions.insert(
            session.pid.clone(),
            StoredSession {
                session,
                disconnected_at: now,
            },
        );
    }

    /// The session with private id `pid` and what it missed after `offset`, unless the
    /// session expired or is unknown, or `offset` is no longer (or never was) stored.
    pub fn restore(&mut self, pid: &str, offset: &str, now: Instant) -> Option<RecoveredSession> {
        self.expire(now);
        let stored = self.sessions.get(pid)?;
        let index = self.packets.iter().position(|p| p.offset == offset)?;
        let missed = self
            .packets
            .iter()
            .skip(index + 1)
            .filter(|p| p.targets.includes(&stored.session.rooms))
            .map(|p| p.data.clone())
            .collect();
        Some(RecoveredSession {
            session: stored.session.clone(),
            missed,
        })
    }

    /// How long sessions and packets are kept.
    pub fn max_disconnection(&self) -> Duration {
        self.max_disconnection
    }

    /// Number of stored sessions and packets.
    pub fn len(&self) -> (usize, usize) {
        (self.sessions.len(), self.packets.len())
    }

    /// Drops sessions and packets older than the maximum disconnection duration.
    pub fn expire(&mut self, now: Instant) {
        let Some(threshold) = now.checked_sub(self.max_disconnection) else {
            return;
        };
        self.sessions.retain(|_, s| s.disconnected_at >= threshold);
        while self
            .packets
            .front()
            .is_some_and(|p| p.emitted_at < threshold)
        {
            self.packets.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(name: &str) -> Room {
        Room::from(name)
    }

    fn session(sid: &str, pid: &str, rooms: &[&str]) -> PersistedSession {
        PersistedSession {
            sid: sid.to_owned(),
            pid: pid.to_owned(),
            rooms: rooms.iter().map(|r| room(r)).collect(),
            data: Value::from("data"),
        }
    }

    fn event(name: &str) -> Vec<Value> {
        vec![Value::from(name)]
    }

    fn targets(rooms: &[&str], except: &[&str]) -> PacketTargets {
        PacketTargets {
            rooms: rooms.iter().map(|r| room(r)).collect(),
            except: except.iter().map(|r| room(r)).collect(),
        }
    }

    #[test]
    fn offsets_are_appended_and_unique() {
        let now = Instant::now();
        let mut store = RecoveryStore::new(Duration::from_secs(60), "p-");
        let mut first = event("a");
        let mut second = event("b");
        let o1 = store.record(targets(&[], &[]), &mut first, now);
        let o2 = store.record(targets(&[], &[]), &mut second, now);
        assert_ne!(o1, o2);
        assert_eq!(first, vec![Value::from("a"), Value::from(o1.as_str())]);
        assert!(o1.starts_with("p-"));
    }

    #[test]
    fn restores_what_the_session_missed_after_its_offset() {
        let t0 = Instant::now();
        let mut store = RecoveryStore::new(Duration::from_secs(60), "");
        let seen = store.record(targets(&[], &[]), &mut event("seen"), t0);
        store.persist(session("s1", "p1", &["s1", "red"]), t0);
        store.record(targets(&[], &[]), &mut event("to-all"), t0);
        store.record(targets(&["red"], &[]), &mut event("to-red"), t0);
        store.record(targets(&["blue"], &[]), &mut event("to-blue"), t0);
        store.record(targets(&[], &["red"]), &mut event("except-red"), t0);
        store.record(targets(&["s1"], &[]), &mut event("to-s1"), t0);
        let recovered = store
            .restore("p1", &seen, t0 + Duration::from_secs(1))
            .expect("recovered");
        assert_eq!(recovered.session, session("s1", "p1", &["s1", "red"]));
        let names: Vec<_> = recovered.missed.iter().map(|d| d[0].clone()).collect();
        assert_eq!(
            names,
            vec![
                Value::from("to-all"),
                Value::from("to-red"),
                Value::from("to-s1")
            ]
        );
        // Every missed packet carries its own offset last.
        assert!(recovered.missed.iter().all(|d| d.len() == 2));
    }

    #[test]
    fn unknown_pid_or_offset_recovers_nothing() {
        let t0 = Instant::now();
        let mut store = RecoveryStore::new(Duration::from_secs(60), "");
        let offset = store.record(targets(&[], &[]), &mut event("a"), t0);
        store.persist(session("s1", "p1", &["s1"]), t0);
        assert!(store.restore("nope", &offset, t0).is_none());
        assert!(store.restore("p1", "no-such-offset", t0).is_none());
        assert!(store.restore("p1", &offset, t0).is_some());
    }

    #[test]
    fn sessions_and_packets_expire_after_the_maximum_disconnection() {
        let t0 = Instant::now();
        let max = Duration::from_secs(120);
        let mut store = RecoveryStore::new(max, "");
        let offset = store.record(targets(&[], &[]), &mut event("old"), t0);
        store.persist(session("s1", "p1", &["s1"]), t0);
        assert!(store.restore("p1", &offset, t0 + max).is_some());
        assert!(
            store
                .restore("p1", &offset, t0 + max + Duration::from_millis(1))
                .is_none()
        );
        assert_eq!(store.len(), (0, 0));
    }
}
