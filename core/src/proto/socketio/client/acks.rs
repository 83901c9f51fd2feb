//! The emits of one socket that wait for an acknowledgement, and their deadlines.

use std::collections::HashMap;

use crate::proto::time::Instant;

/// Pending acks by id, with a count of those that have a deadline: the manager asks for
/// the next deadline after every input, and a client with many emits in flight without a
/// timeout (socket.io-client's default) should not walk them all each time. (A `BTreeSet`
/// of deadlines would also make timed acks cheap, but adds 6 KB gzipped to the browser
/// client.)
#[derive(Debug, Default)]
pub(super) struct PendingAcks {
    by_id: HashMap<u64, Option<Instant>>,
    timed: usize,
}

impl PendingAcks {
    /// Registers ack `id`, with its deadline if it has one.
    pub(super) fn insert(&mut self, id: u64, deadline: Option<Instant>) {
        if let Some(Some(_)) = self.by_id.insert(id, deadline) {
            self.timed -= 1;
        }
        if deadline.is_some() {
            self.timed += 1;
        }
    }

    /// Forgets ack `id`; whether it was pending.
    pub(super) fn remove(&mut self, id: u64) -> bool {
        match self.by_id.remove(&id) {
            Some(deadline) => {
                if deadline.is_some() {
                    self.timed -= 1;
                }
                true
            }
            None => false,
        }
    }

    /// The earliest deadline.
    pub(super) fn earliest(&self) -> Option<Instant> {
        if self.timed == 0 {
            return None;
        }
        self.by_id.values().flatten().copied().min()
    }

    /// The acks whose deadline is `now` or earlier.
    pub(super) fn expired(&self, now: Instant) -> Vec<u64> {
        if self.timed == 0 {
            return Vec::new();
        }
        self.by_id
            .iter()
            .filter(|(_, deadline)| deadline.is_some_and(|d| d <= now))
            .map(|(id, _)| *id)
            .collect()
    }

    /// Every pending ack id.
    pub(super) fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.by_id.keys().copied()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn deadlines_follow_inserts_and_removals() {
        let start = Instant::now();
        let mut acks = PendingAcks::default();
        acks.insert(1, None);
        assert_eq!(acks.earliest(), None);
        acks.insert(2, Some(start + Duration::from_secs(2)));
        acks.insert(3, Some(start + Duration::from_secs(1)));
        assert_eq!(acks.earliest(), Some(start + Duration::from_secs(1)));
        assert_eq!(acks.expired(start + Duration::from_secs(1)), vec![3]);
        assert!(acks.remove(3));
        assert!(!acks.remove(3));
        assert_eq!(acks.earliest(), Some(start + Duration::from_secs(2)));
        // A new deadline for the same id replaces the old one.
        acks.insert(2, None);
        assert_eq!(acks.earliest(), None);
        assert!(acks.expired(start + Duration::from_secs(9)).is_empty());
        let mut ids: Vec<u64> = acks.ids().collect();
        ids.sort_unstable();
        assert_eq!(ids, vec![1, 2]);
    }
}
