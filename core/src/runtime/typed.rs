//! Typed events: declare each event's name and payload type once, then handle and emit it
//! with that type checked by the compiler.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, Clone, Serialize, Deserialize)]
//! pub struct ChatMessage {
//!     pub room: String,
//!     pub text: String,
//! }
//!
//! polysocket::events! {
//!     /// A chat line, client to server and server to clients.
//!     pub Chat = "chat message" => ChatMessage;
//!     /// Whether a user is typing.
//!     pub Typing = "typing" => bool;
//! }
//!
//! # fn setup(io: polysocket::Server) {
//! io.on_connection(|socket| {
//!     socket.on_event::<Chat>(|socket, message, _ack| {
//!         let _ = socket.to(message.room.clone()).emit_event::<Chat>(&message);
//!     });
//!     let _ = socket.emit_event::<Typing>(&false);
//! });
//! # }
//! ```

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ack::AckSender;
use super::broadcast::BroadcastOperator;
use super::namespace::Namespace;
use super::packet_middleware::PacketError;
use super::server::Server;
use super::socket::{EmitError, Socket};

/// One event of an application's protocol: its name on the wire and the type of its one
/// argument. Declare them with [`events!`](crate::events).
pub trait EventSpec {
    /// The event name.
    const NAME: &'static str;
    /// The type of the event's argument.
    type Data: Serialize + DeserializeOwned;
}

/// Declares events: `pub Name = "wire name" => DataType;` makes a unit struct `Name` that
/// implements [`EventSpec`]. See the [module docs](crate::EventSpec) for an example.
#[macro_export]
macro_rules! events {
    ($($(#[$meta:meta])* $vis:vis $ident:ident = $name:literal => $data:ty;)*) => {
        $(
            $(#[$meta])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq)]
            $vis struct $ident;

            impl $crate::EventSpec for $ident {
                const NAME: &'static str = $name;
                type Data = $data;
            }
        )*
    };
}

impl Socket {
    /// Handles event `E` with its argument deserialized as `E::Data`, and the ack handle
    /// when the client asked for one. An argument that does not deserialize goes to the
    /// [`Socket::on_error`] handlers instead, as a [`PacketError`].
    pub fn on_event<E: EventSpec>(
        &self,
        handler: impl Fn(&Socket, E::Data, Option<AckSender>) + Send + Sync + 'static,
    ) {
        self.on(E::NAME, move |socket, mut event| {
            match event.data::<E::Data>() {
                Ok(data) => handler(socket, data, event.ack()),
                Err(error) => socket.report_error(&PacketError::new(format!(
                    "invalid argument for \"{}\": {error}",
                    E::NAME
                ))),
            }
        });
    }

    /// Emits event `E` to this client.
    pub fn emit_event<E: EventSpec>(&self, data: &E::Data) -> Result<(), EmitError> {
        self.emit(E::NAME, data)
    }
}

impl BroadcastOperator {
    /// Emits event `E` to the selected sockets.
    pub fn emit_event<E: EventSpec>(&self, data: &E::Data) -> Result<(), EmitError> {
        self.emit(E::NAME, data)
    }
}

impl Namespace {
    /// Emits event `E` to every socket of the namespace.
    pub fn emit_event<E: EventSpec>(&self, data: &E::Data) -> Result<(), EmitError> {
        self.emit(E::NAME, data)
    }
}

impl Server {
    /// Emits event `E` to every socket of `/`.
    pub fn emit_event<E: EventSpec>(&self, data: &E::Data) -> Result<(), EmitError> {
        self.emit(E::NAME, data)
    }
}
