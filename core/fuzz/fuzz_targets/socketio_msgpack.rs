//! Fuzzes the MessagePack parser (`socket.io-msgpack-parser`) and its value codec.
//!
//! Any input must decode or fail without panicking. A decoded packet must encode to bytes
//! that decode to a packet encoding to the same bytes (numbers are normalised by the first
//! encode, as in JavaScript: `2.0` goes out as the integer `2`).
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use polysocket::proto::socketio::msgpack;
use polysocket::proto::value::read_msgpack;

fuzz_target!(|data: &[u8]| {
    let input = Bytes::copy_from_slice(data);
    let _ = read_msgpack(&input);
    if let Ok(packet) = msgpack::decode(&input) {
        let once = msgpack::encode(&packet);
        let again = msgpack::decode(&once)
            .unwrap_or_else(|e| panic!("{packet:?} encoded as {once:?} does not decode: {e}"));
        assert_eq!(msgpack::encode(&again), once, "{packet:?} / {again:?}");
    }
});
