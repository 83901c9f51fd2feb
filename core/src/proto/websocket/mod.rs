//! A sans-IO WebSocket codec (RFC 6455) with `permessage-deflate` negotiation (RFC 7692).
//!
//! [`MessageReader`] turns bytes into whole messages and control inputs, checking every
//! frame; [`encode_frame`] and [`encode_header`] write frames. Compression itself lives
//! with the runtime (it needs zlib); this module only says which frames are compressed.

mod extensions;
mod frame;

pub use extensions::{PERMESSAGE_DEFLATE_RESPONSE, accepts_permessage_deflate};
pub use frame::{
    Incoming, MessageReader, Opcode, ProtocolError, Role, apply_mask, close_code, encode_frame,
    encode_header,
};
