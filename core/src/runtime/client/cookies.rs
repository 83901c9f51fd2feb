//! The cookie jar of a client with `withCredentials`: cookies the server sets (e.g. a
//! load balancer's sticky-session cookie, or engine.io's `cookie` option) go back with
//! every later request of the connection, as socket.io-client does in Node.

use std::time::{Duration, Instant};

/// One stored cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cookie {
    name: String,
    value: String,
    /// From `Max-Age`; `None` lives as long as the client.
    expires: Option<Instant>,
}

/// Cookies set by the server, keyed by name (socket.io-client's jar ignores `Path` and
/// `Domain`: every request goes to the same server).
#[derive(Debug, Default)]
pub(crate) struct CookieJar {
    cookies: Vec<Cookie>,
}

impl CookieJar {
    /// Stores the cookie of one `Set-Cookie` header value (a `Max-Age` of zero or less
    /// removes it).
    pub(crate) fn store(&mut self, set_cookie: &str, now: Instant) {
        let mut parts = set_cookie.split(';');
        let Some((name, value)) = parts.next().and_then(|pair| pair.split_once('=')) else {
            return;
        };
        let name = name.trim();
        if name.is_empty() {
            return;
        }
        let mut expires = None;
        for attribute in parts {
            let Some((key, value)) = attribute.split_once('=') else {
                continue;
            };
            if key.trim().eq_ignore_ascii_case("max-age") {
                match value.trim().parse::<i64>() {
                    Ok(seconds) if seconds <= 0 => expires = Some(now),
                    Ok(seconds) => {
                        expires = Some(now + Duration::from_secs(seconds.unsigned_abs()));
                    }
                    Err(_) => {}
                }
            }
        }
        self.cookies.retain(|c| c.name != name);
        self.cookies.push(Cookie {
            name: name.to_owned(),
            value: value.trim().trim_matches('"').to_owned(),
            expires,
        });
    }

    /// The `Cookie` header for the next request, if any cookie is alive.
    pub(crate) fn header(&mut self, now: Instant) -> Option<String> {
        self.cookies.retain(|c| c.expires.is_none_or(|at| at > now));
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_stored_replaced_and_sent_together() {
        let now = Instant::now();
        let mut jar = CookieJar::default();
        assert_eq!(jar.header(now), None);
        jar.store("io=abc; Path=/; HttpOnly; SameSite=Lax", now);
        jar.store("lb=node-1", now);
        assert_eq!(jar.header(now).as_deref(), Some("io=abc; lb=node-1"));
        jar.store("io=def; Path=/", now);
        assert_eq!(jar.header(now).as_deref(), Some("lb=node-1; io=def"));
    }

    #[test]
    fn max_age_expires_and_deletes() {
        let now = Instant::now();
        let mut jar = CookieJar::default();
        jar.store("short=1; Max-Age=10", now);
        jar.store("gone=1; Max-Age=0", now);
        assert_eq!(jar.header(now).as_deref(), Some("short=1"));
        assert_eq!(jar.header(now + Duration::from_secs(11)), None);
    }

    #[test]
    fn malformed_values_are_ignored() {
        let now = Instant::now();
        let mut jar = CookieJar::default();
        jar.store("no-equals-sign", now);
        jar.store("=nameless", now);
        assert_eq!(jar.header(now), None);
    }
}
