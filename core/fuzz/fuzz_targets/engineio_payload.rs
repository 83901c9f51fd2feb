//! Fuzzes the Engine.IO polling payload decoder and the WebSocket text frame decoder.
//!
//! Every packet that decodes must survive `decode(encode(p)) == p`, alone and as part of the
//! whole payload.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use polysocket::proto::engineio::Packet;
use polysocket::proto::engineio::payload;

fuzz_target!(|data: &[u8]| {
    if let Ok(packets) = payload::decode(data) {
        for packet in &packets {
            let body = payload::encode(std::slice::from_ref(packet));
            let again = payload::decode(&body).unwrap_or_else(|e| {
                panic!("re-encoded packet {packet:?} as {body:?} does not decode: {e}")
            });
            assert_eq!(again, std::slice::from_ref(packet), "body {body:?}");
        }
        let body = payload::encode(&packets);
        let again = payload::decode(&body)
            .unwrap_or_else(|e| panic!("re-encoded payload {body:?} does not decode: {e}"));
        assert_eq!(again, packets, "body {body:?}");
    }

    if let Ok(packet) = Packet::decode_text_frame(Bytes::copy_from_slice(data)) {
        // Exercise the outgoing paths too; none of them may panic.
        let _ = packet.to_ws_frame();
        let mut out = Vec::new();
        packet.encode_polling(&mut out);
    }
});
