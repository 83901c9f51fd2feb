//! An event received from a client.

use serde::de::DeserializeOwned;

use super::ack::AckSender;
use crate::proto::value::{Value, ValueError, from_value};

/// An event a client sent: its name, arguments and, when the client waits for one, the means
/// to acknowledge it.
#[derive(Debug)]
pub struct Event {
    /// The event name.
    pub name: String,
    /// The arguments, in order.
    pub args: Vec<Value>,
    ack: Option<AckSender>,
}

impl Event {
    pub(crate) fn new(name: String, args: Vec<Value>, ack: Option<AckSender>) -> Event {
        Event { name, args, ack }
    }

    /// The first argument deserialized as `T` (`null` when there is none).
    pub fn data<T: DeserializeOwned>(&self) -> Result<T, ValueError> {
        from_value(self.args.first().cloned().unwrap_or_default())
    }

    /// All arguments deserialized as `T`, typically a tuple: `let (a, b): (String, u32)`.
    pub fn args_as<T: DeserializeOwned>(&self) -> Result<T, ValueError> {
        from_value(Value::Array(self.args.clone()))
    }

    /// True when the client waits for an acknowledgement.
    pub fn wants_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// Takes the acknowledgement handle, if the client asked for one.
    pub fn ack(&mut self) -> Option<AckSender> {
        self.ack.take()
    }
}
