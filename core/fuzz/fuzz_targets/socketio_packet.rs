//! Fuzzes the Socket.IO decoder and the server connection state machine.
//!
//! Input format: a sequence of chunks separated by `0xFF`. The first byte of a chunk is its
//! tag: `b` makes the rest of the chunk a binary message (an attachment), any other tag a text
//! message (skipped unless it is UTF-8). Empty chunks are skipped.
//!
//! Every complete packet must survive `decode(encode(p)) == p` through a fresh decoder.
#![no_main]

use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use polysocket::proto::socketio::{ConnectionEvent, Decoder, Packet, ServerConnection};

const SEPARATOR: u8 = 0xff;
const BINARY_TAG: u8 = b'b';

enum Message<'a> {
    Text(&'a str),
    Binary(Bytes),
}

fn messages(data: &[u8]) -> impl Iterator<Item = Message<'_>> {
    data.split(|&b| b == SEPARATOR).filter_map(|chunk| {
        let (&tag, rest) = chunk.split_first()?;
        if tag == BINARY_TAG {
            Some(Message::Binary(Bytes::copy_from_slice(rest)))
        } else {
            std::str::from_utf8(rest).ok().map(Message::Text)
        }
    })
}

fn check_round_trip(packet: &Packet) {
    let encoded = packet.encode();
    let mut decoder = Decoder::default();
    let mut result = decoder.decode_text(&encoded.text).unwrap_or_else(|e| {
        panic!("re-encoded {packet:?} as {encoded:?}: text does not decode: {e}")
    });
    for (i, attachment) in encoded.attachments.iter().enumerate() {
        assert!(
            result.is_none(),
            "re-encoded {packet:?} as {encoded:?}: packet complete before attachment {i}"
        );
        result = decoder.decode_binary(attachment.clone()).unwrap_or_else(|e| {
            panic!("re-encoded {packet:?} as {encoded:?}: attachment {i} does not decode: {e}")
        });
    }
    let again = result.unwrap_or_else(|| {
        panic!("re-encoded {packet:?} as {encoded:?}: packet incomplete after its attachments")
    });
    assert_eq!(&again, packet, "encoded as {encoded:?}");
    assert!(!decoder.is_reconstructing());
}

fuzz_target!(|data: &[u8]| {
    // The plain decoder: a decode error closes the connection, so start over with a fresh one.
    let mut decoder = Decoder::default();
    for message in messages(data) {
        let result = match message {
            Message::Text(text) => decoder.decode_text(text),
            Message::Binary(bytes) => decoder.decode_binary(bytes),
        };
        match result {
            Ok(Some(packet)) => check_round_trip(&packet),
            Ok(None) => {}
            Err(_) => decoder = Decoder::default(),
        }
    }

    // The server state machine: keep feeding it after errors too; it must never panic.
    let start = Instant::now();
    let mut conn = ServerConnection::new(Duration::from_secs(1), 10, start);
    for message in messages(data) {
        let result = match message {
            Message::Text(text) => conn.handle_text(text),
            Message::Binary(bytes) => conn.handle_binary(bytes),
        };
        if let Ok(Some(ConnectionEvent::Connect { nsp, .. })) = result {
            conn.accepted(&nsp);
            assert!(conn.is_joined(&nsp));
            assert_eq!(conn.poll_timeout(), None);
        }
    }
    let _ = conn.handle_timeout(start + Duration::from_secs(2));
});
