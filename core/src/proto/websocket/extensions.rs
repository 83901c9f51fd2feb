//! `permessage-deflate` negotiation (RFC 7692 §7.1) on the server side.
//!
//! The server accepts an offer only in the form it can keep per connection without state:
//! no context takeover in either direction, so each message is compressed and inflated on
//! its own and an idle connection holds no zlib window.

/// The `Sec-WebSocket-Extensions` answer when an offer is accepted.
pub const PERMESSAGE_DEFLATE_RESPONSE: &str =
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

/// Looks through a client's `Sec-WebSocket-Extensions` offers (the header values, in
/// order) for a `permessage-deflate` offer this server can accept.
///
/// An offer is refused when it asks for a server window under 15 bits (our compressor
/// always uses 32 KiB) or carries a parameter that is unknown, repeated or malformed;
/// the next offer is tried then. Answer [`PERMESSAGE_DEFLATE_RESPONSE`] on success.
pub fn accepts_permessage_deflate<'a>(headers: impl IntoIterator<Item = &'a str>) -> bool {
    headers
        .into_iter()
        .flat_map(|value| value.split(','))
        .any(acceptable_offer)
}

fn acceptable_offer(offer: &str) -> bool {
    let mut parts = offer.split(';').map(str::trim);
    if parts.next() != Some("permessage-deflate") {
        return false;
    }
    let mut seen: Vec<&str> = Vec::new();
    for param in parts {
        let (name, value) = match param.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (param, None),
        };
        if seen.contains(&name) {
            return false;
        }
        seen.push(name);
        let ok = match name {
            "server_no_context_takeover" | "client_no_context_takeover" => value.is_none(),
            "server_max_window_bits" => value == Some("15"),
            "client_max_window_bits" => value.is_none_or(valid_window_bits),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

fn valid_window_bits(value: &str) -> bool {
    value.len() <= 2
        && value.bytes().all(|b| b.is_ascii_digit())
        && value
            .parse::<u8>()
            .is_ok_and(|bits| (8..=15).contains(&bits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_offers_are_accepted() {
        for offer in [
            "permessage-deflate",
            // Node's ws and Chromium.
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; client_max_window_bits=15; server_no_context_takeover",
            "permessage-deflate; server_max_window_bits=15; client_no_context_takeover",
        ] {
            assert!(accepts_permessage_deflate([offer]), "{offer}");
        }
    }

    #[test]
    fn offers_we_cannot_honour_are_refused() {
        for offer in [
            "x-webkit-deflate-frame",
            "permessage-deflate; server_max_window_bits=10",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; client_max_window_bits=7",
            "permessage-deflate; client_max_window_bits=abc",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            "permessage-deflate; mystery",
        ] {
            assert!(!accepts_permessage_deflate([offer]), "{offer}");
        }
        assert!(!accepts_permessage_deflate([]));
    }

    #[test]
    fn a_later_offer_is_taken_when_the_first_is_refused() {
        assert!(accepts_permessage_deflate([
            "permessage-deflate; server_max_window_bits=10, permessage-deflate"
        ]));
        assert!(accepts_permessage_deflate([
            "foo",
            "permessage-deflate; client_max_window_bits"
        ]));
    }
}
