//! Cluster messages: what servers of one Socket.IO cluster tell each other, in the exact
//! formats of npm `@socket.io/redis-adapter` 8 (and `@socket.io/redis-emitter` 5), so that
//! polysocket and Node socket.io servers can share one Redis.
//!
//! * [`Channels`]: the Redis channel names of the classic (pub/sub) adapter.
//! * [`BroadcastMessage`]: a broadcast, MessagePack `[uid, packet, opts]`.
//! * [`Request`] and [`Response`]: server-wide operations on the request channel and their
//!   answers (JSON, or MessagePack for broadcasts with acknowledgements).
//!
//! * [`sharded`]: the same operations in `createShardedAdapter`'s envelopes.
//!
//! The transport (publish, subscribe, count subscribers) lives with the runtime.

mod classic;
pub mod sharded;

pub use classic::{
    BroadcastMessage, Channels, ClusterOpts, ClusterSocket, DecodeError, Request, RequestKind,
    Response, WireFlags,
};
