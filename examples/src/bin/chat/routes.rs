//! The HTTP routes next to Socket.IO: the page, its assets and the `socket.io-client` bundle,
//! all embedded in the binary.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Response, StatusCode, header};
use http_body_util::Full;
use polysocket::Fallback;

/// `path → (content type, body)` for the static files.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "/",
        HTML,
        include_str!("../../../chat/static/index.html").as_bytes(),
    ),
    (
        "/index.html",
        HTML,
        include_str!("../../../chat/static/index.html").as_bytes(),
    ),
    (
        "/app.js",
        JS,
        include_str!("../../../chat/static/app.js").as_bytes(),
    ),
    (
        "/style.css",
        CSS,
        include_str!("../../../chat/static/style.css").as_bytes(),
    ),
    // Fetched from npm by build.rs (a stub that shows an error when npm was unavailable).
    (
        "/socket.io.min.js",
        JS,
        include_bytes!(concat!(env!("OUT_DIR"), "/socket.io.min.js")),
    ),
    // Loads the client (polysocket's WASM client, or the bundle above) and then app.js.
    (
        "/client.js",
        JS,
        include_bytes!(concat!(env!("OUT_DIR"), "/client.js")),
    ),
    // polysocket's browser client, built by build.rs from bindings-wasm (empty when not built).
    (
        "/polysocket-client/index.js",
        JS,
        include_bytes!(concat!(env!("OUT_DIR"), "/index.js")),
    ),
    (
        "/polysocket-client/polysocket_wasm.js",
        JS,
        include_bytes!(concat!(env!("OUT_DIR"), "/polysocket_wasm.js")),
    ),
    (
        "/polysocket-client/polysocket_wasm_bg.wasm",
        WASM,
        include_bytes!(concat!(env!("OUT_DIR"), "/polysocket_wasm_bg.wasm")),
    ),
];

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const WASM: &str = "application/wasm";

/// Serves [`FILES`] to `GET`/`HEAD` (hyper drops the body of a `HEAD` answer) and `404 Not
/// found` to anything else.
pub(crate) fn static_files() -> Fallback {
    Arc::new(|parts| {
        let file = FILES.iter().find(|(path, ..)| *path == parts.uri.path());
        match file {
            Some((_, content_type, body))
                if parts.method == Method::GET || parts.method == Method::HEAD =>
            {
                Response::builder()
                    .header(header::CONTENT_TYPE, *content_type)
                    .header(header::CACHE_CONTROL, "no-cache")
                    .body(Full::new(Bytes::from_static(body)))
                    .expect("valid static response")
            }
            _ => Response::builder()
                .status(StatusCode::NOT_FOUND)
                .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(Full::new(Bytes::from_static(b"Not found")))
                .expect("valid 404 response"),
        }
    })
}
