//! Classifying Engine.IO HTTP requests, and the error answers engine.io gives.

use std::fmt;

/// The two Engine.IO transports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// HTTP long-polling (`transport=polling`).
    Polling,
    /// WebSocket (`transport=websocket`).
    WebSocket,
}

impl Transport {
    /// The name used in the `transport` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Polling => "polling",
            Transport::WebSocket => "websocket",
        }
    }

    /// Parses a `transport` query value.
    pub fn parse(name: &str) -> Option<Transport> {
        match name {
            "polling" => Some(Transport::Polling),
            "websocket" => Some(Transport::WebSocket),
            _ => None,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error engine.io answers an HTTP request with: a status and a JSON body
/// `{"code":N,"message":"..."}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Code 0: the `transport` parameter is missing, unknown or not enabled.
    #[error("Transport unknown")]
    UnknownTransport,
    /// Code 1: no session has that `sid`.
    #[error("Session ID unknown")]
    UnknownSid,
    /// Code 2: a handshake (no `sid`) that is not a GET.
    #[error("Bad handshake method")]
    BadHandshakeMethod,
    /// Code 3: the request does not fit the session (wrong transport, overlapping polls, ...).
    #[error("Bad request")]
    BadRequest,
    /// Code 4: refused by `allowRequest`.
    #[error("Forbidden")]
    Forbidden,
    /// Code 5: `EIO` is missing or not `4`.
    #[error("Unsupported protocol version")]
    UnsupportedProtocolVersion,
}

impl RequestError {
    /// engine.io's numeric error code.
    pub fn code(self) -> u8 {
        match self {
            RequestError::UnknownTransport => 0,
            RequestError::UnknownSid => 1,
            RequestError::BadHandshakeMethod => 2,
            RequestError::BadRequest => 3,
            RequestError::Forbidden => 4,
            RequestError::UnsupportedProtocolVersion => 5,
        }
    }

    /// The HTTP status: 403 for [`RequestError::Forbidden`], 400 otherwise.
    pub fn status(self) -> u16 {
        match self {
            RequestError::Forbidden => 403,
            _ => 400,
        }
    }

    /// The JSON body, e.g. `{"code":1,"message":"Session ID unknown"}`.
    pub fn json_body(self) -> String {
        format!(r#"{{"code":{},"message":"{}"}}"#, self.code(), self)
    }
}

/// What an Engine.IO HTTP request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestKind {
    /// A new session over the given transport (GET without `sid`).
    Handshake(Transport),
    /// A long-poll for packets of session `sid`.
    Poll(String),
    /// Packets sent by the client of session `sid`.
    Post(String),
    /// A WebSocket that upgrades session `sid` from polling.
    Upgrade(String),
    /// A WebSocket for session `sid`, which already uses one: accept it, then close it.
    Reject(String),
}

/// The parts of a request's query that Engine.IO reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineQuery {
    /// `EIO`: the protocol version.
    pub eio: Option<String>,
    /// `transport`.
    pub transport: Option<String>,
    /// `sid`.
    pub sid: Option<String>,
}

impl EngineQuery {
    /// Reads `EIO`, `transport` and `sid` from a raw query string (`a=1&b=2`).
    pub fn parse(query: &str) -> EngineQuery {
        let mut out = EngineQuery::default();
        for (key, value) in query_pairs(query) {
            match key.as_str() {
                "EIO" => out.eio = Some(value),
                "transport" => out.transport = Some(value),
                "sid" => out.sid = Some(value),
                _ => {}
            }
        }
        out
    }
}

/// Splits a query string into decoded `(key, value)` pairs (`+` is a space, `%XX` escapes).
pub fn query_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            (percent_decode(key), percent_decode(value))
        })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decides what a request asks for, with the checks engine.io makes before any session work.
///
/// `session_transport` returns the current transport of a live session, or `None` when the
/// `sid` is unknown; `allowed` lists the enabled transports.
pub fn classify(
    method: &str,
    query: &EngineQuery,
    is_websocket_upgrade: bool,
    allowed: &[Transport],
    session_transport: impl FnOnce(&str) -> Option<Transport>,
) -> Result<RequestKind, RequestError> {
    if query.sid.is_none() && query.eio.as_deref() != Some("4") {
        return Err(RequestError::UnsupportedProtocolVersion);
    }
    let transport = query
        .transport
        .as_deref()
        .and_then(Transport::parse)
        .filter(|t| allowed.contains(t))
        .ok_or(RequestError::UnknownTransport)?;
    if (transport == Transport::WebSocket) != is_websocket_upgrade {
        return Err(RequestError::BadRequest);
    }
    match &query.sid {
        Some(sid) => {
            let current = session_transport(sid).ok_or(RequestError::UnknownSid)?;
            match (transport, is_websocket_upgrade) {
                (Transport::WebSocket, true) if current == Transport::Polling => {
                    Ok(RequestKind::Upgrade(sid.clone()))
                }
                // engine.io completes the handshake of a second WebSocket for an upgraded
                // session and closes it at once, leaving the session intact.
                (Transport::WebSocket, true) => Ok(RequestKind::Reject(sid.clone())),
                (Transport::WebSocket, false) => Err(RequestError::BadRequest),
                (Transport::Polling, _) if current != Transport::Polling => {
                    Err(RequestError::BadRequest)
                }
                (Transport::Polling, _) => match method {
                    "GET" => Ok(RequestKind::Poll(sid.clone())),
                    "POST" => Ok(RequestKind::Post(sid.clone())),
                    _ => Err(RequestError::BadRequest),
                },
            }
        }
        None => {
            if method != "GET" {
                return Err(RequestError::BadHandshakeMethod);
            }
            Ok(RequestKind::Handshake(transport))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: &[Transport] = &[Transport::Polling, Transport::WebSocket];

    fn run(method: &str, query: &str, ws: bool) -> Result<RequestKind, RequestError> {
        let known = |sid: &str| match sid {
            "poll" => Some(Transport::Polling),
            "ws" => Some(Transport::WebSocket),
            _ => None,
        };
        classify(method, &EngineQuery::parse(query), ws, BOTH, known)
    }

    #[test]
    fn classifies_like_engine_io() {
        use RequestKind::*;
        assert_eq!(
            run("GET", "EIO=4&transport=polling", false),
            Ok(Handshake(Transport::Polling))
        );
        assert_eq!(
            run("GET", "EIO=4&transport=websocket", true),
            Ok(Handshake(Transport::WebSocket))
        );
        assert_eq!(
            run("GET", "EIO=4&transport=polling&sid=poll", false),
            Ok(Poll("poll".into()))
        );
        assert_eq!(
            run("POST", "EIO=4&transport=polling&sid=poll", false),
            Ok(Post("poll".into()))
        );
        assert_eq!(
            run("GET", "EIO=4&transport=websocket&sid=poll", true),
            Ok(Upgrade("poll".into()))
        );
    }

    #[test]
    fn rejects_like_engine_io() {
        use RequestError::*;
        assert_eq!(run("GET", "EIO=4", false), Err(UnknownTransport));
        assert_eq!(
            run("GET", "EIO=abc", false),
            Err(UnsupportedProtocolVersion)
        );
        assert_eq!(
            run("GET", "EIO=4&transport=udp", false),
            Err(UnknownTransport)
        );
        assert_eq!(
            run("GET", "EIO=3&transport=polling", false),
            Err(UnsupportedProtocolVersion)
        );
        assert_eq!(
            run("GET", "transport=polling", false),
            Err(UnsupportedProtocolVersion)
        );
        assert_eq!(
            run("POST", "EIO=4&transport=polling", false),
            Err(BadHandshakeMethod)
        );
        assert_eq!(
            run("GET", "EIO=4&transport=polling&sid=nope", false),
            Err(UnknownSid)
        );
        assert_eq!(
            run("GET", "EIO=4&transport=polling&sid=ws", false),
            Err(BadRequest)
        );
        assert_eq!(
            run("GET", "EIO=4&transport=websocket&sid=ws", true),
            Ok(RequestKind::Reject("ws".into()))
        );
        assert_eq!(
            run("GET", "EIO=4&transport=websocket&sid=ws", false),
            Err(BadRequest)
        );
        assert_eq!(
            UnknownSid.json_body(),
            r#"{"code":1,"message":"Session ID unknown"}"#
        );
        assert_eq!(Forbidden.status(), 403);
    }

    #[test]
    fn decodes_query_values() {
        let pairs: Vec<_> = query_pairs("a=b%20c&d=e+f&g=%zz&h").collect();
        assert_eq!(
            pairs,
            vec![
                ("a".into(), "b c".into()),
                ("d".into(), "e f".into()),
                ("g".into(), "%zz".into()),
                ("h".into(), String::new())
            ]
        );
    }
}
