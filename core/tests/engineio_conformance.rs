//! Engine.IO v4 conformance: the behaviour the official engine.io-protocol test suite checks,
//! written from the protocol (see /work/conformance/NOTES.md), against the engine.io echo server
//! of `examples/conformance.rs` (path `/engine.io/`, pingInterval 300 ms, pingTimeout 200 ms).

mod common;

use std::time::Duration;

use common::{
    Frame, PendingRequest, SEP, Ws, engineio_server, engineio_server_with, get, open_polling, post,
    request, request_with,
};
use tokio_tungstenite::tungstenite;

// ---------------------------------------------------------------------------------------------
// handshake / HTTP long-polling
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_handshake_opens_a_session() {
    let server = engineio_server().await;
    let response = get(server.addr, &server.polling("")).await;
    let body = response.poll_body();
    let sid = common::check_handshake(&body, &["websocket"]);
    // Nothing but the open packet in the first poll.
    assert!(!body.contains(SEP), "{body:?}");
    // The session exists: a POST on it is accepted.
    post(server.addr, &server.polling_sid(&sid), "3")
        .await
        .assert(200, "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_handshake_sids_are_unique() {
    let server = engineio_server().await;
    let a = open_polling(&server).await;
    let b = open_polling(&server).await;
    assert_ne!(a, b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_with_an_invalid_eio_query_parameter() {
    let server = engineio_server().await;
    for target in [
        "/engine.io/?transport=polling",
        "/engine.io/?EIO=abc&transport=polling",
        "/engine.io/?EIO=3&transport=polling",
    ] {
        get(server.addr, target)
            .await
            .assert_error(5, "Unsupported protocol version");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_with_an_invalid_transport_query_parameter() {
    let server = engineio_server().await;
    for target in ["/engine.io/?EIO=4", "/engine.io/?EIO=4&transport=abc"] {
        get(server.addr, target)
            .await
            .assert_error(0, "Transport unknown");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_with_an_invalid_request_method() {
    let server = engineio_server().await;
    for method in ["POST", "PUT"] {
        request(server.addr, method, &server.polling(""), b"")
            .await
            .assert_error(2, "Bad handshake method");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_with_an_unknown_sid() {
    let server = engineio_server().await;
    let target = server.polling_sid("unknown-sid");
    get(server.addr, &target)
        .await
        .assert_error(1, "Session ID unknown");
    post(server.addr, &target, "4hello")
        .await
        .assert_error(1, "Session ID unknown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_transport_over_plain_http_is_a_bad_request() {
    let server = engineio_server().await;
    get(server.addr, "/engine.io/?EIO=4&transport=websocket")
        .await
        .assert_error(3, "Bad request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflight_and_headers() {
    let server = engineio_server().await;
    let response = request_with(
        server.addr,
        "OPTIONS",
        &server.polling(""),
        &[
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type"),
        ],
        b"",
    )
    .await;
    assert_eq!(response.status, 204, "{response:?}");
    assert!(response.body.is_empty());
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        response.header("access-control-allow-methods"),
        Some("GET,HEAD,PUT,PATCH,POST,DELETE")
    );
    assert_eq!(
        response.header("access-control-allow-headers"),
        Some("content-type")
    );

    // Successful POST: `ok`, `text/html`, CORS.
    let sid = open_polling(&server).await;
    let response = post(server.addr, &server.polling_sid(&sid), "4hi").await;
    response.assert(200, "ok");
    assert_eq!(response.header("content-type"), Some("text/html"));
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
}

// ---------------------------------------------------------------------------------------------
// handshake / WebSocket
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_handshake_opens_a_session() {
    let server = engineio_server().await;
    let (ws, _sid) = Ws::open(&server).await;
    ws.close().await;
}

#[track_caller]
fn assert_rejected_400(result: Result<Ws, tungstenite::Error>) {
    match result {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 400),
        Err(other) => panic!("expected an HTTP 400 rejection, got {other:?}"),
        Ok(_) => panic!("expected an HTTP 400 rejection, the upgrade succeeded"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_fails_with_an_invalid_eio_query_parameter() {
    let server = engineio_server().await;
    for query in ["transport=websocket", "EIO=abc&transport=websocket"] {
        assert_rejected_400(Ws::try_connect(&server.ws_url(query)).await);
    }
    // The server keeps working.
    let (ws, _) = Ws::open(&server).await;
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_fails_with_an_invalid_transport_query_parameter() {
    let server = engineio_server().await;
    for query in ["EIO=4", "EIO=4&transport=abc"] {
        assert_rejected_400(Ws::try_connect(&server.ws_url(query)).await);
    }
    let (ws, _) = Ws::open(&server).await;
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_fails_with_an_unknown_sid() {
    let server = engineio_server().await;
    assert_rejected_400(Ws::try_connect(&server.websocket_url("&sid=unknown-sid")).await);
}

// ---------------------------------------------------------------------------------------------
// message / HTTP long-polling
// ---------------------------------------------------------------------------------------------

async fn polling_echo(body: &str) {
    let server = engineio_server().await;
    let sid = open_polling(&server).await;
    let target = server.polling_sid(&sid);
    post(server.addr, &target, body).await.assert(200, "ok");
    let echo = get(server.addr, &target).await.poll_body();
    assert_eq!(echo, body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_sends_and_receives_a_plain_text_packet() {
    polling_echo("4hello").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_sends_and_receives_several_plain_text_packets() {
    polling_echo("4test1\x1e4test2\x1e4test3").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_sends_and_receives_plain_text_and_binary_packets() {
    // [1, 2, 3, 4] as `b` + base64, re-encoded the same way in the echo.
    polling_echo("4hello\x1ebAQIDBA==").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_pending_get_receives_the_echo() {
    let server = engineio_server().await;
    let sid = open_polling(&server).await;
    let target = server.polling_sid(&sid);
    // Whether the GET is parked before or after the POST, it answers with the echo only.
    let pending = PendingRequest::send(server.addr, "GET", &target, &[], b"").await;
    post(server.addr, &target, "4later").await.assert(200, "ok");
    assert_eq!(pending.response().await.poll_body(), "4later");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_closes_the_session_upon_invalid_packet_format() {
    let server = engineio_server().await;
    let sid = open_polling(&server).await;
    let target = server.polling_sid(&sid);
    let response = post(server.addr, &target, "abc").await;
    assert_eq!(response.status, 400, "{response:?}");
    get(server.addr, &target)
        .await
        .assert_error(1, "Session ID unknown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_closes_the_session_upon_duplicate_poll_requests() {
    let server = engineio_server().await;
    let sid = open_polling(&server).await;
    let target = server.polling_sid(&sid);
    let first = PendingRequest::send(server.addr, "GET", &target, &[], b"").await;
    let second =
        PendingRequest::send(server.addr, "GET", &format!("{target}&t=burst"), &[], b"").await;
    let (first, second) = tokio::join!(first.response(), second.response());
    // Whichever GET the server parked first is answered with the close packet; the overlapping
    // one is rejected.
    let (parked, overlapping) = if first.status == 200 {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(parked.poll_body(), "1");
    assert_eq!(overlapping.status, 400, "{overlapping:?}");
    get(server.addr, &target)
        .await
        .assert_error(1, "Session ID unknown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_post_larger_than_max_http_buffer_size_is_413() {
    let server = engineio_server_with(|config| config.max_http_buffer_size = 1000).await;
    let sid = open_polling(&server).await;
    let target = server.polling_sid(&sid);
    // At the limit: accepted and echoed.
    let fits = format!("4{}", "a".repeat(999));
    post(server.addr, &target, &fits).await.assert(200, "ok");
    assert_eq!(get(server.addr, &target).await.poll_body(), fits);
    // One byte over: 413.
    let too_large = format!("4{}", "a".repeat(1000));
    let response = post(server.addr, &target, &too_large).await;
    assert_eq!(response.status, 413, "{response:?}");
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
}

// ---------------------------------------------------------------------------------------------
// message / WebSocket
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_sends_and_receives_a_plain_text_packet() {
    let server = engineio_server().await;
    let (mut ws, _) = Ws::open(&server).await;
    ws.send("4hello").await;
    assert_eq!(ws.next().await, Frame::text("4hello"));
    ws.send("4\u{e9}t\u{e9} \u{1f600}").await;
    assert_eq!(ws.next().await, Frame::text("4\u{e9}t\u{e9} \u{1f600}"));
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_sends_and_receives_a_binary_packet() {
    let server = engineio_server().await;
    let (mut ws, _) = Ws::open(&server).await;
    ws.send_binary(&[1, 2, 3, 4]).await;
    assert_eq!(ws.next().await, Frame::Binary(vec![1, 2, 3, 4]));
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_closes_the_session_upon_invalid_packet_format() {
    let server = engineio_server().await;
    let (mut ws, _) = Ws::open(&server).await;
    ws.send("abc").await;
    let elapsed = ws.expect_closed_answering_pings().await;
    assert!(
        elapsed < Duration::from_millis(250),
        "closed after {elapsed:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// heartbeat
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_sends_ping_pong_packets() {
    let server = engineio_server().await;
    common::polling_ping_pong_cycles(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_closes_the_session_upon_ping_timeout() {
    let server = engineio_server().await;
    common::polling_ping_timeout(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_sends_ping_pong_packets() {
    let server = engineio_server().await;
    let (mut ws, _) = Ws::open(&server).await;
    for _ in 0..3 {
        assert_eq!(ws.next().await, Frame::text("2"));
        ws.send("3").await;
    }
    // Still alive after three cycles.
    ws.send("4alive").await;
    ws.expect("4alive").await;
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_closes_the_session_upon_ping_timeout() {
    let server = engineio_server().await;
    common::websocket_ping_timeout(&server).await;
}

// ---------------------------------------------------------------------------------------------
// close
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_forcefully_closes_the_session() {
    let server = engineio_server().await;
    common::polling_forceful_close(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_forcefully_closes_the_session() {
    let server = engineio_server().await;
    common::websocket_forceful_close(&server).await;
}

// ---------------------------------------------------------------------------------------------
// upgrade
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn successfully_upgrades_from_polling_to_websocket() {
    let server = engineio_server().await;
    let sid = open_polling(&server).await;
    let target = server.polling_sid(&sid);
    let mut ws = Ws::connect(&server.websocket_url(&format!("&sid={sid}"))).await;
    ws.send("2probe").await;
    assert_eq!(ws.next().await, Frame::text("3probe"));
    // A poll during the upgrade is answered promptly with a noop.
    assert_eq!(get(server.addr, &target).await.poll_body(), "6");
    ws.send("5").await;
    ws.send("4hello").await;
    ws.expect("4hello").await;
    ws.send_binary(&[9, 8, 7]).await;
    assert_eq!(ws.next_skip_ping().await, Frame::Binary(vec![9, 8, 7]));
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_answers_a_parked_poll_with_noop() {
    let server = engineio_server().await;
    let sid = open_polling(&server).await;
    let target = server.polling_sid(&sid);
    // Parked before the probe, or arriving during the upgrade: a noop either way.
    let pending = PendingRequest::send(server.addr, "GET", &target, &[], b"").await;
    let mut ws = Ws::connect(&server.websocket_url(&format!("&sid={sid}"))).await;
    ws.send("2probe").await;
    assert_eq!(ws.next().await, Frame::text("3probe"));
    assert_eq!(pending.response().await.poll_body(), "6");
    ws.send("5").await;
    ws.send("4hello").await;
    ws.expect("4hello").await;
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_poll_during_an_upgrade_gets_a_noop() {
    // A client whose poll took the first noop may send another one before it pauses; that
    // one must not wait for the next ping (25 s), or the upgrade stalls.
    let server = engineio_server().await;
    let sid = open_polling(&server).await;
    let target = server.polling_sid(&sid);
    let mut ws = Ws::connect(&server.websocket_url(&format!("&sid={sid}"))).await;
    ws.send("2probe").await;
    assert_eq!(ws.next().await, Frame::text("3probe"));
    for _ in 0..3 {
        let answer = tokio::time::timeout(Duration::from_secs(2), get(server.addr, &target))
            .await
            .expect("a poll during the upgrade is answered at once");
        assert_eq!(answer.poll_body(), "6");
    }
    ws.send("5").await;
    ws.send("4hello").await;
    ws.expect("4hello").await;
    ws.close().await;
}

/// Upgrades the polling session `sid` and waits until the server has switched transports
/// (an echo over the WebSocket).
async fn upgraded(server: &common::TestServer, sid: &str) -> Ws {
    let mut ws = Ws::connect(&server.websocket_url(&format!("&sid={sid}"))).await;
    // Back to back, without waiting for `3probe`.
    ws.send("2probe").await;
    ws.send("5").await;
    ws.send("4upgraded").await;
    // `3probe` comes first, then the echo: nothing in between.
    assert_eq!(ws.next().await, Frame::text("3probe"));
    ws.expect("4upgraded").await;
    ws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignores_http_requests_with_same_sid_after_upgrade() {
    let server = engineio_server().await;
    let sid = open_polling(&server).await;
    let target = server.polling_sid(&sid);
    let mut ws = upgraded(&server, &sid).await;
    get(server.addr, &target)
        .await
        .assert_error(3, "Bad request");
    post(server.addr, &target, "4hello")
        .await
        .assert_error(3, "Bad request");
    ws.send("4hello").await;
    ws.expect("4hello").await;
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignores_websocket_connection_with_same_sid_after_upgrade() {
    let server = engineio_server().await;
    let sid = open_polling(&server).await;
    let mut ws = upgraded(&server, &sid).await;
    // The second WebSocket is accepted (no HTTP error), then closed at once.
    let mut second = Ws::connect(&server.websocket_url(&format!("&sid={sid}"))).await;
    assert_eq!(second.next().await, Frame::Closed);
    // The first one is intact.
    ws.send("4hello").await;
    ws.expect("4hello").await;
    ws.close().await;
}
