//! Calls into JavaScript that answer later: Rust waits on a numbered call, JavaScript ends
//! it by number (middlewares, `allowRequest`, dynamic namespace checks).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::sync::oneshot;

use crate::lock;

/// The calls waiting for a JavaScript answer of type `T`.
pub(crate) struct PendingCalls<T> {
    next: AtomicU32,
    waiting: Mutex<HashMap<u32, oneshot::Sender<T>>>,
}

impl<T> Default for PendingCalls<T> {
    fn default() -> Self {
        PendingCalls {
            next: AtomicU32::new(1),
            waiting: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> PendingCalls<T> {
    /// Opens a call: its number, for JavaScript, and where its answer arrives.
    pub(crate) fn open(&self) -> (u32, oneshot::Receiver<T>) {
        let (tx, rx) = oneshot::channel();
        let call = self.next.fetch_add(1, Ordering::Relaxed);
        lock(&self.waiting).insert(call, tx);
        (call, rx)
    }

    /// Ends call `call` with `answer`; unknown or already ended calls are ignored.
    pub(crate) fn finish(&self, call: u32, answer: T) {
        if let Some(sender) = lock(&self.waiting).remove(&call) {
            let _ = sender.send(answer);
        }
    }

    /// Drops every waiting call (their receivers see the sender gone).
    pub(crate) fn abandon_all(&self) {
        lock(&self.waiting).clear();
    }
}
