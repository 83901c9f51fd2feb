//! Bookkeeping for acknowledgements a peer owes us: ids and deadlines.

use crate::proto::time::Instant;
use std::collections::{BTreeSet, HashMap};

/// Allocates ack ids and tracks which are awaited, and until when.
///
/// The callbacks themselves live with the driver, keyed by id; the tracker tells it which id an
/// answer resolves and which deadlines have passed.
#[derive(Debug, Default)]
pub struct AckTracker {
    next_id: u64,
    pending: HashMap<u64, Option<Instant>>,
    deadlines: BTreeSet<(Instant, u64)>,
}

impl AckTracker {
    /// An empty tracker; the first id is 0, as socket.io's.
    pub fn new() -> AckTracker {
        AckTracker::default()
    }

    /// Reserves the next id and awaits its answer, until `deadline` if given.
    pub fn register(&mut self, deadline: Option<Instant>) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        self.pending.insert(id, deadline);
        if let Some(at) = deadline {
            self.deadlines.insert((at, id));
        }
        id
    }

    /// Awaits the answer to an id chosen by the caller, until `deadline` if given; false
    /// (and nothing changes) when `id` is already awaited.
    pub fn register_id(&mut self, id: u64, deadline: Option<Instant>) -> bool {
        if self.pending.contains_key(&id) {
            return false;
        }
        self.pending.insert(id, deadline);
        if let Some(at) = deadline {
            self.deadlines.insert((at, id));
        }
        true
    }

    /// An answer for `id` arrived: true when it was awaited (and is no longer).
    pub fn resolve(&mut self, id: u64) -> bool {
        match self.pending.remove(&id) {
            Some(deadline) => {
                if let Some(at) = deadline {
                    self.deadlines.remove(&(at, id));
                }
                true
            }
            None => false,
        }
    }

    /// Number of awaited answers.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// True when no answer is awaited.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// The earliest deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.first().map(|(at, _)| *at)
    }

    /// Removes and returns the ids whose deadline is at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<u64> {
        let mut expired = Vec::new();
        while let Some(&(at, id)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.deadlines.pop_first();
            self.pending.remove(&id);
            expired.push(id);
        }
        expired
    }

    /// Forgets every awaited id (the connection is gone) and returns them.
    pub fn drain(&mut self) -> Vec<u64> {
        self.deadlines.clear();
        self.pending.drain().map(|(id, _)| id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn expires_in_deadline_order() {
        let t0 = Instant::now();
        let mut acks = AckTracker::new();
        let a = acks.register(Some(t0 + Duration::from_millis(20)));
        let b = acks.register(Some(t0 + Duration::from_millis(10)));
        let c = acks.register(None);
        assert_eq!((a, b, c), (0, 1, 2));
        assert_eq!(acks.poll_timeout(), Some(t0 + Duration::from_millis(10)));
        assert_eq!(acks.handle_timeout(t0 + Duration::from_millis(15)), vec![1]);
        assert!(acks.resolve(0));
        assert!(!acks.resolve(0));
        assert!(!acks.resolve(1));
        assert_eq!(acks.poll_timeout(), None);
        assert_eq!(acks.drain(), vec![2]);
        assert!(acks.is_empty());
    }
}
