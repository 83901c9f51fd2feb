//! permessage-deflate compression with no context takeover: every message is compressed
//! and inflated on its own, by one zlib stream per thread that is reset between messages,
//! so connections hold no compression state.

use std::cell::RefCell;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The empty stored block that ends a sync flush; RFC 7692 strips it from each message.
const SYNC_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

thread_local! {
    static COMPRESSOR: RefCell<Compress> = RefCell::new(Compress::new(Compression::default(), false));
    static INFLATER: RefCell<Decompress> = RefCell::new(Decompress::new(false));
}

/// Why a compressed message could not be inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// Inflated, it would be larger than the limit.
    TooBig,
    /// Not a valid DEFLATE stream.
    Corrupt,
}

/// Compresses one message's payload.
pub(crate) fn compress(payload: &[u8]) -> Vec<u8> {
    COMPRESSOR.with_borrow_mut(|zlib| {
        zlib.reset();
        let mut out = Vec::with_capacity(payload.len() / 2 + 64);
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(64));
            }
            let consumed = offset(zlib.total_in());
            // Compressing into a Vec with spare room cannot fail.
            let _ = zlib.compress_vec(&payload[consumed..], &mut out, FlushCompress::Sync);
            // The flush is complete once all input is in and the output did not fill up.
            if offset(zlib.total_in()) == payload.len() && out.len() < out.capacity() {
                break;
            }
        }
        if out.ends_with(&SYNC_TAIL) {
            out.truncate(out.len() - SYNC_TAIL.len());
        }
        out
    })
}

/// Inflates one compressed message, refusing to produce more than `max` bytes.
pub(crate) fn inflate(compressed: &[u8], max: usize) -> Result<Vec<u8>, InflateError> {
    let mut input = Vec::with_capacity(compressed.len() + SYNC_TAIL.len());
    input.extend_from_slice(compressed);
    input.extend_from_slice(&SYNC_TAIL);
    let limit = max.saturating_add(1);
    INFLATER.with_borrow_mut(|zlib| {
        zlib.reset(false);
        let mut out = Vec::with_capacity((compressed.len() * 4).clamp(64, limit));
        loop {
            if out.len() == out.capacity() {
                if out.len() >= limit {
                    return Err(InflateError::TooBig);
                }
                out.reserve(out.capacity().min(limit - out.len()));
            }
            let before = (zlib.total_in(), out.len());
            let status = zlib
                .decompress_vec(
                    &input[offset(zlib.total_in())..],
                    &mut out,
                    FlushDecompress::Sync,
                )
                .map_err(|_| InflateError::Corrupt)?;
            if out.len() > max {
                return Err(InflateError::TooBig);
            }
            let all_in = offset(zlib.total_in()) == input.len();
            if status == Status::StreamEnd || (all_in && out.len() < out.capacity()) {
                return Ok(out);
            }
            if before == (zlib.total_in(), out.len()) && out.len() < out.capacity() {
                return Err(InflateError::Corrupt);
            }
        }
    })
}

fn offset(total: u64) -> usize {
    usize::try_from(total).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_at_every_size() {
        for len in [0usize, 1, 100, 1_024, 70_000, 1_000_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8 ^ (i / 7) as u8).collect();
            let compressed = compress(&payload);
            assert!(!compressed.ends_with(&SYNC_TAIL) || len == 0);
            assert_eq!(
                inflate(&compressed, 2_000_000).unwrap(),
                payload,
                "len {len}"
            );
        }
    }

    #[test]
    fn repetitive_text_shrinks() {
        let payload = "42[\"chat\",\"hello hello hello\"]".repeat(100);
        assert!(compress(payload.as_bytes()).len() < payload.len() / 10);
    }

    #[test]
    fn rfc_7692_example_inflates() {
        // RFC 7692 §7.2.3.1: "Hello" compressed without context takeover.
        let compressed = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        assert_eq!(inflate(&compressed, 100).unwrap(), b"Hello");
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        let compressed = compress(&vec![0u8; 5_000_000]);
        assert_eq!(inflate(&compressed, 1_000_000), Err(InflateError::TooBig));
    }

    #[test]
    fn garbage_is_refused() {
        assert_eq!(inflate(&[0xff; 32], 1_000), Err(InflateError::Corrupt));
    }
}
