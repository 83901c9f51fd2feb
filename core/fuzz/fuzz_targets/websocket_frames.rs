//! Fuzzes the WebSocket codec: arbitrary bytes, fed in arbitrary chunk sizes, never panic
//! the reader; every message it returns respects the size limit, and a frame the encoder
//! writes reads back unchanged.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use polysocket::proto::websocket::{Incoming, MessageReader, Opcode, Role, apply_mask, encode_header};

const MAX_MESSAGE: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, bytes)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    for (role, compressed) in [(Role::Server, false), (Role::Server, true), (Role::Client, false)] {
        let mut reader = MessageReader::new(role, MAX_MESSAGE, compressed);
        let mut buf = BytesMut::new();
        'feed: for piece in bytes.chunks(chunk) {
            buf.extend_from_slice(piece);
            loop {
                match reader.read(&mut buf) {
                    Ok(Some(Incoming::Message { payload, .. })) => {
                        assert!(payload.len() <= MAX_MESSAGE);
                    }
                    Ok(Some(Incoming::Ping(payload))) => assert!(payload.len() <= 125),
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        assert!(reader.bytes_wanted(&buf) >= 1);
                        break;
                    }
                    Err(_) => break 'feed,
                }
            }
        }
    }

    // Round trip: the input as one masked binary frame.
    let payload = &bytes[..bytes.len().min(MAX_MESSAGE)];
    let key = [data[0], 0x5a, 0xa5, 0x3c];
    let mut frame = Vec::new();
    encode_header(&mut frame, Opcode::Binary, false, payload.len(), Some(key));
    let mut masked = payload.to_vec();
    apply_mask(&mut masked, key);
    frame.extend_from_slice(&masked);
    let mut buf = BytesMut::from(&frame[..]);
    let read = MessageReader::new(Role::Server, MAX_MESSAGE, false).read(&mut buf);
    match read {
        Ok(Some(Incoming::Message { text: false, compressed: false, payload: got })) => {
            assert_eq!(&got[..], payload);
        }
        other => panic!("round trip of {} bytes read back as {other:?}", payload.len()),
    }
    assert!(buf.is_empty());
});
