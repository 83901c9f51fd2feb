//! Socket events handed to JavaScript in batches. Every socket of a server queues what
//! happens to it here, in one ordered stream; the first notice wakes Node, and JavaScript
//! takes the whole queue with `NativeServer.drainEvents`, so that while Node is busy the
//! notices of many sockets wait behind one wake-up instead of one each (under load Node's
//! thread and the engine's share a core, and each wake-up is a context switch). The wake-up
//! is not delayed: waiting for more notices first (a yield to the engine's other tasks)
//! gave more echo acks per second but cost latency-bound loads, such as a broadcast to a
//! thousand sockets per event, two thirds of their throughput.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use polysocket::Value;
use polysocket::proto::value::write_json_string;

use crate::{Callback, JsFunction, lock};

/// An event from the client.
pub(crate) const EVENT: u32 = 0;
/// An event sent to the client (`onAnyOutgoing`), in the same stream to keep the order.
pub(crate) const OUTGOING: u32 = 1;
/// An error of the connection, for the socket's `error` listeners (message in `event`).
pub(crate) const ERROR: u32 = 2;
/// The socket disconnected (reason in `event`, its rooms in `rooms`).
pub(crate) const DISCONNECT: u32 = 3;
/// The socket's connection upgraded (the new transport's name in `event`).
pub(crate) const UPGRADE: u32 = 4;

/// Something that happened to one socket, until it is written into a [`NoticeBatch`].
pub(crate) struct SocketNotice {
    /// The socket's key (`NativeSocket.key`).
    pub(crate) socket: u32,
    /// What happened: one of the kinds above.
    pub(crate) kind: u32,
    /// The event name, the error message, the disconnect reason, or the new transport.
    pub(crate) event: String,
    /// The event's arguments.
    pub(crate) args: Option<Vec<Value>>,
    /// Set when the client waits for an acknowledgement (never 0).
    pub(crate) ack_id: Option<u32>,
    /// The rooms a disconnected socket was in (what `disconnecting` listeners see).
    pub(crate) rooms: Option<Vec<String>>,
}

/// The notices JavaScript takes at once, written as one JSON text: building one string
/// and parsing it with `JSON.parse` costs far less than a JavaScript object per notice
/// made through N-API, property by property.
#[napi(object)]
pub struct NoticeBatch {
    /// A JSON array with one `[socket, kind, event, ackId, args, rooms, binary]` array per
    /// notice, oldest first: `ackId` 0 when no acknowledgement is wanted, `args` and
    /// `rooms` `null` when the notice has none, `binary` 1 when `args` holds placeholders.
    pub json: String,
    /// The binary values of every notice; a placeholder's `num` indexes this list.
    pub attachments: Vec<Buffer>,
}

/// The notices written so far, as the inside of [`NoticeBatch::json`].
#[derive(Default)]
struct Pending {
    json: String,
    attachments: Vec<Bytes>,
    count: usize,
}

impl Pending {
    fn write(&mut self, notice: SocketNotice) {
        use std::fmt::Write;
        let out = &mut self.json;
        out.push(if self.count == 0 { '[' } else { ',' });
        self.count += 1;
        let _ = write!(out, "[{},{},", notice.socket, notice.kind);
        // Writing to a `String` cannot fail.
        let _ = write_json_string(out, &notice.event);
        let _ = write!(out, ",{},", notice.ack_id.unwrap_or(0));
        let before = self.attachments.len();
        match notice.args {
            Some(args) => Value::Array(args).write_json(out, &mut self.attachments),
            None => out.push_str("null"),
        }
        out.push(',');
        match notice.rooms {
            Some(rooms) => {
                out.push('[');
                for (i, room) in rooms.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write_json_string(out, room);
                }
                out.push(']');
            }
            None => out.push_str("null"),
        }
        out.push_str(if self.attachments.len() > before {
            ",1]"
        } else {
            ",0]"
        });
    }

    /// The batch of what was written (the attachments are copied into Node's buffers
    /// here, outside the dispatcher's lock).
    fn into_batch(self) -> NoticeBatch {
        let Pending {
            mut json,
            attachments,
            count,
        } = self;
        json.push_str(if count == 0 { "[]" } else { "]" });
        NoticeBatch {
            json,
            attachments: attachments
                .iter()
                .map(|b| Buffer::from(b.to_vec()))
                .collect(),
        }
    }
}

/// The queue of one server's socket notices and the JavaScript function it wakes.
pub(crate) struct Dispatcher {
    queue: Mutex<Pending>,
    signal: Callback<u32>,
    signalled: AtomicBool,
    /// How many notices the last drain took.
    last_batch: AtomicUsize,
    next_key: AtomicU32,
}

impl Dispatcher {
    pub(crate) fn new() -> Arc<Dispatcher> {
        Arc::new(Dispatcher {
            queue: Mutex::new(Pending::default()),
            signal: Callback::empty(),
            signalled: AtomicBool::new(false),
            last_batch: AtomicUsize::new(0),
            next_key: AtomicU32::new(1),
        })
    }

    /// A key for a new socket.
    pub(crate) fn next_key(&self) -> u32 {
        self.next_key.fetch_add(1, Ordering::Relaxed)
    }

    /// Calls `function` whenever notices wait (replacing an earlier one); returns the
    /// callback, to hold or release.
    pub(crate) fn set_signal(&self, function: JsFunction<u32>) -> Callback<u32> {
        self.signal.replace(function);
        self.signal.clone()
    }

    /// Stops waking JavaScript (the server closed), after one last wake-up for what is
    /// still queued (the disconnections of closing) unless JavaScript took it already.
    pub(crate) fn release(&self) {
        let waiting = u32::try_from(lock(&self.queue).count).unwrap_or(u32::MAX);
        if waiting > 0 {
            self.signal.call(waiting);
        }
        self.signal.release();
    }

    /// Queues `notice`; the first notice of a batch wakes JavaScript: at once when the last
    /// batch was a single notice (a latency-bound load), after the engine's other ready
    /// tasks had a turn when it held several (a throughput-bound load, where gathering more
    /// per wake-up pays).
    pub(crate) fn push(self: &Arc<Self>, notice: SocketNotice) {
        lock(&self.queue).write(notice);
        if self.signalled.swap(true, Ordering::AcqRel) {
            return;
        }
        if self.last_batch.load(Ordering::Relaxed) < 2 {
            self.wake();
            return;
        }
        let dispatcher = self.clone();
        napi::bindgen_prelude::spawn(async move {
            tokio::task::yield_now().await;
            dispatcher.wake();
        });
    }

    fn wake(&self) {
        let waiting = lock(&self.queue).count;
        self.signal.call(u32::try_from(waiting).unwrap_or(u32::MAX));
    }

    /// Takes every queued notice, oldest first.
    pub(crate) fn drain(&self) -> NoticeBatch {
        // Cleared before taking: a notice queued from now on schedules its own wake-up.
        self.signalled.store(false, Ordering::Release);
        let pending = std::mem::take(&mut *lock(&self.queue));
        self.last_batch.store(pending.count, Ordering::Relaxed);
        pending.into_batch()
    }
}
