//! Event arguments crossing the boundary: socket.io's JSON with binary placeholders plus the
//! binary attachments.

use bytes::Bytes;
use napi::bindgen_prelude::{Buffer, Result};
use napi_derive::napi;
use polysocket::Value;

use crate::invalid;

/// Event arguments as they cross the boundary: JSON with placeholders, and attachments.
#[napi(object)]
pub struct Payload {
    /// The arguments as a JSON array, binary values replaced by placeholders.
    pub json: String,
    /// The binary values, in placeholder order.
    pub attachments: Vec<Buffer>,
}

/// The arguments of a [`Payload`].
pub(crate) fn args_of(payload: Payload) -> Result<Vec<Value>> {
    let attachments: Vec<Bytes> = payload
        .attachments
        .iter()
        .map(|b| Bytes::copy_from_slice(b))
        .collect();
    let value = Value::from_json_str(&payload.json)
        .and_then(|v| v.reconstruct(&attachments))
        .map_err(invalid)?;
    match value {
        Value::Array(args) => Ok(args),
        _ => Err(invalid("arguments must be a JSON array")),
    }
}

/// A [`Payload`] for `args`.
pub(crate) fn payload_of(args: Vec<Value>) -> Payload {
    let mut json = String::new();
    let mut attachments = Vec::new();
    Value::Array(args).write_json(&mut json, &mut attachments);
    Payload {
        json,
        attachments: attachments
            .iter()
            .map(|b| Buffer::from(b.to_vec()))
            .collect(),
    }
}
