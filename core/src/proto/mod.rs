//! The sans-IO protocol layer: Engine.IO and Socket.IO state machines and codecs.
//!
//! Nothing here opens a socket, spawns a task or reads a clock: inputs are bytes and `now`,
//! outputs are bytes to send, events and the next deadline. This is what the tokio runtime,
//! the browser and mobile bindings, and the virtual-clock tests all drive.

#[cfg(feature = "msgpack")]
pub mod cluster;
pub mod date;
pub mod engineio;
pub mod recovery;
pub mod rooms;
pub mod socketio;
pub mod time;
pub mod value;
pub mod websocket;
