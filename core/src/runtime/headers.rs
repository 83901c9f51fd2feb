//! The handshake request's headers, kept for a session's whole life in one small allocation.
//!
//! A `HeaderMap` sized for `n` headers reserves buckets for the next power of two above
//! `4n/3` (about 100 bytes each), and every session keeps its handshake. Most applications
//! never read those headers, so they are packed as `[name length][name][value length][value]`
//! records, and the `HeaderMap` is built the first time someone asks for it.

use std::sync::OnceLock;

use http::{HeaderMap, HeaderName, HeaderValue};

/// Handshake headers: packed, and unpacked into a [`HeaderMap`] on first use.
#[derive(Debug, Default)]
pub(crate) struct HandshakeHeaders {
    packed: Box<[u8]>,
    /// Boxed: an unused `OnceLock<HeaderMap>` would take 96 bytes in every session.
    map: OnceLock<Box<HeaderMap>>,
}

impl HandshakeHeaders {
    /// Packs a copy of `headers` (a name or value longer than 65,535 bytes is left out: no
    /// HTTP server takes such lines anyway).
    pub(crate) fn pack(headers: &HeaderMap) -> HandshakeHeaders {
        let fits = |(name, value): &(&HeaderName, &HeaderValue)| {
            u16::try_from(name.as_str().len()).is_ok() && u16::try_from(value.len()).is_ok()
        };
        let size = headers
            .iter()
            .filter(fits)
            .map(|(name, value)| 4 + name.as_str().len() + value.len())
            .sum();
        let mut packed = Vec::with_capacity(size);
        for (name, value) in headers.iter().filter(fits) {
            for part in [name.as_str().as_bytes(), value.as_bytes()] {
                let len = u16::try_from(part.len()).unwrap_or_default();
                packed.extend_from_slice(&len.to_le_bytes());
                packed.extend_from_slice(part);
            }
        }
        HandshakeHeaders {
            packed: packed.into_boxed_slice(),
            map: OnceLock::new(),
        }
    }

    /// Headers already in a map (e.g. a handshake another server described).
    pub(crate) fn from_map(map: HeaderMap) -> HandshakeHeaders {
        HandshakeHeaders {
            packed: Box::default(),
            map: OnceLock::from(Box::new(map)),
        }
    }

    /// The headers as a map, built on first use.
    pub(crate) fn map(&self) -> &HeaderMap {
        self.map.get_or_init(|| {
            let mut map = Box::new(HeaderMap::new());
            let mut rest = &self.packed[..];
            while let (Some(name), Some(value)) = (take(&mut rest), take(&mut rest)) {
                if let (Ok(name), Ok(value)) =
                    (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
                {
                    map.append(name, value);
                }
            }
            map
        })
    }
}

impl Clone for HandshakeHeaders {
    fn clone(&self) -> HandshakeHeaders {
        HandshakeHeaders {
            packed: self.packed.clone(),
            map: self.map.clone(),
        }
    }
}

/// Takes one length-prefixed part off the front of `rest`.
fn take<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (len, tail) = rest.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_le_bytes(*len));
    let part = tail.get(..len)?;
    *rest = &tail[len..];
    Some(part)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_headers_unpack_to_the_same_map_in_order() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("localhost:3000"));
        headers.append("cookie", HeaderValue::from_static("a=1"));
        headers.append("cookie", HeaderValue::from_static("b=2"));
        headers.insert("x-empty", HeaderValue::from_static(""));
        headers.insert("x-binary", HeaderValue::from_bytes(b"caf\xe9").unwrap());
        let packed = HandshakeHeaders::pack(&headers);
        assert_eq!(packed.map(), &headers);
        let cookies: Vec<_> = packed.map().get_all("cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert_eq!(packed.clone().map(), &headers);
    }

    #[test]
    fn no_headers_and_a_given_map() {
        assert!(HandshakeHeaders::pack(&HeaderMap::new()).map().is_empty());
        let mut headers = HeaderMap::new();
        headers.insert("origin", HeaderValue::from_static("http://example.com"));
        assert_eq!(HandshakeHeaders::from_map(headers.clone()).map(), &headers);
    }
}
