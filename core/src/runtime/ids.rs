//! Random ids for sessions and sockets, shaped like engine.io's (20 URL-safe characters).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;

/// A fresh random id: 15 random bytes in URL-safe base64.
pub(crate) fn generate() -> String {
    let mut raw = [0u8; 15];
    rand::rng().fill_bytes(&mut raw);
    URL_SAFE_NO_PAD.encode(raw)
}
