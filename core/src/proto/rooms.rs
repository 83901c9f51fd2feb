//! The room index of one namespace: which sockets are in which rooms.
//!
//! This is the data structure behind the in-memory adapter: broadcast targets are computed
//! here from `rooms` and `except` sets, as socket.io's adapter does.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// A socket id (shared, cheap to clone).
pub type Sid = Arc<str>;
/// A room name.
pub type Room = Arc<str>;

/// Which sockets are in which rooms.
#[derive(Debug, Default)]
pub struct RoomIndex {
    rooms: HashMap<Room, HashSet<Sid>>,
    memberships: HashMap<Sid, HashSet<Room>>,
}

impl RoomIndex {
    /// An empty index.
    pub fn new() -> RoomIndex {
        RoomIndex::default()
    }

    /// Adds `sid` to `room`; returns whether the room was created by this.
    pub fn join(&mut self, sid: &Sid, room: &Room) -> bool {
        let members = self.rooms.entry(room.clone()).or_default();
        let created = members.is_empty();
        members.insert(sid.clone());
        self.memberships
            .entry(sid.clone())
            .or_default()
            .insert(room.clone());
        created
    }

    /// Removes `sid` from `room`; an emptied room disappears (then this returns true).
    pub fn leave(&mut self, sid: &Sid, room: &str) -> bool {
        let mut deleted = false;
        if let Some(members) = self.rooms.get_mut(room) {
            members.remove(sid);
            if members.is_empty() {
                self.rooms.remove(room);
                deleted = true;
            }
        }
        if let Some(rooms) = self.memberships.get_mut(sid) {
            rooms.remove(room);
            if rooms.is_empty() {
                self.memberships.remove(sid);
            }
        }
        deleted
    }

    /// Removes `sid` from every room; returns the rooms that disappeared.
    pub fn leave_all(&mut self, sid: &str) -> Vec<Room> {
        let mut deleted = Vec::new();
        if let Some(rooms) = self.memberships.remove(sid) {
            for room in rooms {
                if let Some(members) = self.rooms.get_mut(&room) {
                    members.remove(sid);
                    if members.is_empty() {
                        self.rooms.remove(&room);
                        deleted.push(room);
                    }
                }
            }
        }
        deleted
    }

    /// The rooms `sid` is in.
    pub fn rooms_of(&self, sid: &str) -> Vec<Room> {
        self.memberships
            .get(sid)
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The sockets in `room`.
    pub fn members(&self, room: &str) -> Vec<Sid> {
        self.rooms
            .get(room)
            .map(|m| m.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether `room` has at least one socket.
    pub fn has_room(&self, room: &str) -> bool {
        self.rooms.contains_key(room)
    }

    /// Every room name.
    pub fn all_rooms(&self) -> Vec<Room> {
        self.rooms.keys().cloned().collect()
    }

    /// The sockets a broadcast reaches: members of any of `rooms` (every socket when `rooms`
    /// is empty), minus members of any of `except`.
    pub fn targets(&self, rooms: &[Room], except: &[Room]) -> Vec<Sid> {
        let excluded: HashSet<&Sid> = except
            .iter()
            .filter_map(|r| self.rooms.get(r))
            .flatten()
            .collect();
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut add = |sid: &Sid| {
            if !excluded.contains(sid) && seen.insert(sid.clone()) {
                out.push(sid.clone());
            }
        };
        if rooms.is_empty() {
            self.memberships.keys().for_each(&mut add);
        } else {
            rooms
                .iter()
                .filter_map(|r| self.rooms.get(r))
                .flatten()
                .for_each(add);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Arc<str> {
        Arc::from(x)
    }

    #[test]
    fn computes_targets_like_socket_io() {
        let mut idx = RoomIndex::new();
        for sid in ["a", "b", "c"] {
            idx.join(&s(sid), &s(sid));
        }
        idx.join(&s("a"), &s("red"));
        idx.join(&s("b"), &s("red"));
        idx.join(&s("b"), &s("blue"));
        let mut all = idx.targets(&[], &[]);
        all.sort();
        assert_eq!(all, vec![s("a"), s("b"), s("c")]);
        let mut red = idx.targets(&[s("red"), s("blue")], &[]);
        red.sort();
        assert_eq!(red, vec![s("a"), s("b")]);
        assert_eq!(idx.targets(&[s("red")], &[s("blue")]), vec![s("a")]);
        assert_eq!(idx.targets(&[], &[s("red")]), vec![s("c")]);
        idx.leave_all("b");
        assert_eq!(idx.members("blue"), Vec::<Sid>::new());
        assert!(!idx.all_rooms().contains(&s("blue")));
        idx.leave(&s("a"), "red");
        assert!(idx.members("red").is_empty());
        assert_eq!(idx.rooms_of("a"), vec![s("a")]);
    }
}
