//! The chat's in-memory state (socket id → member) and the payload validation rules of
//! `examples/chat/PROTOCOL.md`.

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use polysocket::Value;
use serde::Serialize;

/// A socket that has joined a room.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// The trimmed nickname.
    pub(crate) nickname: String,
    /// The one chat room the socket is in.
    pub(crate) room: String,
}

/// One entry of the `rooms` list.
#[derive(Debug, Serialize)]
pub(crate) struct RoomInfo {
    name: String,
    count: usize,
}

/// Every joined socket, by socket id.
#[derive(Debug, Default)]
pub(crate) struct Members(HashMap<String, Member>);

impl Members {
    /// The member for socket `sid`, if it has joined.
    pub(crate) fn get(&self, sid: &str) -> Option<&Member> {
        self.0.get(sid)
    }

    /// Records (or replaces) socket `sid`'s membership.
    pub(crate) fn insert(&mut self, sid: &str, member: Member) {
        self.0.insert(sid.to_owned(), member);
    }

    /// Forgets socket `sid`, returning what it was.
    pub(crate) fn remove(&mut self, sid: &str) -> Option<Member> {
        self.0.remove(sid)
    }

    /// The nicknames in `room`, duplicates kept, sorted.
    pub(crate) fn users_of(&self, room: &str) -> Vec<String> {
        let mut users: Vec<String> = (self.0.values())
            .filter(|m| m.room == room)
            .map(|m| m.nickname.clone())
            .collect();
        users.sort();
        users
    }

    /// Every non-empty room with its member count, sorted by name.
    pub(crate) fn room_list(&self) -> Vec<RoomInfo> {
        let mut counts = BTreeMap::<&str, usize>::new();
        for member in self.0.values() {
            *counts.entry(&member.room).or_default() += 1;
        }
        counts
            .into_iter()
            .map(|(name, count)| RoomInfo {
                name: name.to_owned(),
                count,
            })
            .collect()
    }
}

/// Field `key` of `payload`, trimmed, if it is a string of 1 to `max` code points.
pub(crate) fn text_field<'a>(payload: &'a Value, key: &str, max: usize) -> Option<&'a str> {
    let text = payload.get(key)?.as_str()?.trim();
    (1..=max).contains(&text.chars().count()).then_some(text)
}

/// Milliseconds since the Unix epoch, for `time` fields.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
