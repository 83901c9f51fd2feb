//! The handshake: the parameters a server announces in its `open` packet.

use serde::{Deserialize, Serialize};

/// The JSON body of the `open` packet (`0{...}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Handshake {
    /// The session id.
    pub sid: String,
    /// Transports the client may upgrade to (`["websocket"]` from polling, `[]` otherwise).
    pub upgrades: Vec<String>,
    /// Milliseconds between two server pings.
    pub ping_interval: u64,
    /// Milliseconds the server waits for a pong.
    pub ping_timeout: u64,
    /// The largest payload, in bytes, the server accepts.
    pub max_payload: u64,
}

impl Handshake {
    /// The JSON text of this handshake.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("handshake serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_with_engine_io_names() {
        let hs = Handshake {
            sid: "abc".into(),
            upgrades: vec!["websocket".into()],
            ping_interval: 25000,
            ping_timeout: 20000,
            max_payload: 1_000_000,
        };
        assert_eq!(
            hs.to_json(),
            r#"{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
        );
        assert_eq!(
            serde_json::from_str::<Handshake>(&hs.to_json()).unwrap(),
            hs
        );
    }
}
