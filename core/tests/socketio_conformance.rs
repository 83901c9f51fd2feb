//! Socket.IO v5 conformance: the behaviour the official socket.io-protocol test suite checks,
//! written from the protocol (see /work/conformance/NOTES.md), against the socket.io server of
//! `examples/conformance.rs` (path `/socket.io/`, namespaces `/` and `/custom`, pingInterval
//! 300 ms, pingTimeout 200 ms, connectTimeout 1 s).

mod common;

use std::time::{Duration, Instant};

use common::{Frame, SEP, TestServer, Ws, get, open_polling, post, request, socketio_server};
use tokio_tungstenite::tungstenite;

/// Checks a CONNECT reply `40{nsp,}{"sid":"..."}`: exactly the key `sid`, a string.
#[track_caller]
fn check_connect_reply(frame: Frame, prefix: &str) -> String {
    let Frame::Text(text) = frame else {
        panic!("expected a CONNECT reply, got {frame:?}");
    };
    let json = text
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{text:?} does not start with {prefix:?}"));
    let value: serde_json::Value = serde_json::from_str(json).expect("CONNECT reply JSON");
    let object = value.as_object().expect("CONNECT reply object");
    assert_eq!(
        object.keys().collect::<Vec<_>>(),
        ["sid"],
        "CONNECT reply {text}"
    );
    let sid = object["sid"].as_str().expect("sid is a string");
    assert!(!sid.is_empty());
    sid.to_owned()
}

/// Opens a WebSocket and joins `/` (initSocketIOConnection): `40`, `40{"sid"}`, `42["auth",{}]`.
async fn init_socketio_connection(server: &TestServer) -> Ws {
    let (mut ws, _) = Ws::open(server).await;
    ws.send("40").await;
    check_connect_reply(ws.next_skip_ping().await, "40");
    ws.expect(r#"42["auth",{}]"#).await;
    ws
}

// ---------------------------------------------------------------------------------------------
// Engine.IO layer of the socket.io server
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_open_a_polling_session() {
    let server = socketio_server().await;
    let response = get(server.addr, &server.polling("")).await;
    let body = response.poll_body();
    common::check_handshake(&body, &["websocket"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_fail_with_invalid_handshake_requests() {
    let server = socketio_server().await;
    for target in [
        "/socket.io/?transport=polling",
        "/socket.io/?EIO=abc&transport=polling",
    ] {
        get(server.addr, target)
            .await
            .assert_error(5, "Unsupported protocol version");
    }
    for target in ["/socket.io/?EIO=4", "/socket.io/?EIO=4&transport=abc"] {
        get(server.addr, target)
            .await
            .assert_error(0, "Transport unknown");
    }
    for method in ["POST", "PUT"] {
        request(server.addr, method, &server.polling(""), b"")
            .await
            .assert_error(2, "Bad handshake method");
    }
    get(server.addr, &server.polling_sid("nope"))
        .await
        .assert_error(1, "Session ID unknown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_open_a_websocket_session() {
    let server = socketio_server().await;
    let (ws, _) = Ws::open(&server).await;
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_reject_invalid_websocket_handshakes() {
    let server = socketio_server().await;
    for query in [
        "transport=websocket",
        "EIO=abc&transport=websocket",
        "EIO=4",
        "EIO=4&transport=abc",
    ] {
        match Ws::try_connect(&server.ws_url(query)).await {
            Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 400),
            Err(other) => panic!("{query}: expected HTTP 400, got {other:?}"),
            Ok(_) => panic!("{query}: the upgrade succeeded"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_send_ping_pong_packets_over_polling() {
    let server = socketio_server().await;
    common::polling_ping_pong_cycles(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_close_the_polling_session_upon_ping_timeout() {
    let server = socketio_server().await;
    common::polling_ping_timeout(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_send_ping_pong_packets_over_websocket() {
    let server = socketio_server().await;
    let (mut ws, _) = Ws::open(&server).await;
    for _ in 0..3 {
        assert_eq!(ws.next().await, Frame::text("2"));
        ws.send("3").await;
    }
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_close_the_websocket_session_upon_ping_timeout() {
    let server = socketio_server().await;
    common::websocket_ping_timeout(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_forcefully_close_the_polling_session() {
    let server = socketio_server().await;
    common::polling_forceful_close(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_forcefully_close_the_websocket_session() {
    let server = socketio_server().await;
    common::websocket_forceful_close(&server).await;
}

/// Upgrades the polling session `sid`: `2probe` -> `3probe`, then `5`.
async fn upgrade(server: &TestServer, sid: &str) -> Ws {
    let mut ws = Ws::connect(&server.websocket_url(&format!("&sid={sid}"))).await;
    ws.send("2probe").await;
    assert_eq!(ws.next().await, Frame::text("3probe"));
    ws.send("5").await;
    ws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_successfully_upgrade_and_then_connect_over_websocket() {
    let server = socketio_server().await;
    let sid = open_polling(&server).await;
    let mut ws = upgrade(&server, &sid).await;
    // The Socket.IO layer works over the upgraded transport.
    ws.send("40").await;
    check_connect_reply(ws.next_skip_ping().await, "40");
    ws.expect(r#"42["auth",{}]"#).await;
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_ignore_http_requests_with_same_sid_after_upgrade() {
    let server = socketio_server().await;
    let sid = open_polling(&server).await;
    let mut ws = upgrade(&server, &sid).await;
    // The upgrade is complete once a packet sent after `5` is answered over the WebSocket.
    ws.send("40").await;
    check_connect_reply(ws.next_skip_ping().await, "40");
    get(server.addr, &server.polling_sid(&sid))
        .await
        .assert_error(3, "Bad request");
    ws.expect(r#"42["auth",{}]"#).await;
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_ignore_websocket_connection_with_same_sid_after_upgrade() {
    let server = socketio_server().await;
    let sid = open_polling(&server).await;
    let mut ws = upgrade(&server, &sid).await;
    ws.send("40").await;
    check_connect_reply(ws.next_skip_ping().await, "40");
    ws.expect(r#"42["auth",{}]"#).await;
    let mut second = Ws::connect(&server.websocket_url(&format!("&sid={sid}"))).await;
    assert_eq!(second.next().await, Frame::Closed);
    ws.send(r#"42["message","still here"]"#).await;
    ws.expect(r#"42["message-back","still here"]"#).await;
    ws.close().await;
}

// ---------------------------------------------------------------------------------------------
// connect
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_allow_connection_to_the_main_namespace() {
    let server = socketio_server().await;
    let (mut ws, _) = Ws::open(&server).await;
    ws.send("40").await;
    check_connect_reply(ws.next().await, "40");
    assert_eq!(ws.next().await, Frame::text(r#"42["auth",{}]"#));
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_allow_connection_to_the_main_namespace_with_a_payload() {
    let server = socketio_server().await;
    let (mut ws, _) = Ws::open(&server).await;
    ws.send(r#"40{"token":"123"}"#).await;
    check_connect_reply(ws.next().await, "40");
    assert_eq!(
        ws.next().await,
        Frame::text(r#"42["auth",{"token":"123"}]"#)
    );
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_allow_connection_to_a_custom_namespace() {
    let server = socketio_server().await;
    let (mut ws, _) = Ws::open(&server).await;
    ws.send("40/custom,").await;
    check_connect_reply(ws.next().await, "40/custom,");
    assert_eq!(ws.next().await, Frame::text(r#"42/custom,["auth",{}]"#));
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_allow_connection_to_a_custom_namespace_with_a_payload() {
    let server = socketio_server().await;
    let (mut ws, _) = Ws::open(&server).await;
    ws.send(r#"40/custom,{"token":"abc"}"#).await;
    check_connect_reply(ws.next().await, "40/custom,");
    assert_eq!(
        ws.next().await,
        Frame::text(r#"42/custom,["auth",{"token":"abc"}]"#)
    );
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_give_distinct_sids_per_namespace_and_connection() {
    let server = socketio_server().await;
    let (mut ws, engine_sid) = Ws::open(&server).await;
    ws.send("40").await;
    let main = check_connect_reply(ws.next().await, "40");
    ws.expect(r#"42["auth",{}]"#).await;
    ws.send("40/custom,").await;
    let custom = check_connect_reply(ws.next_skip_ping().await, "40/custom,");
    ws.expect(r#"42/custom,["auth",{}]"#).await;
    assert_ne!(main, custom);
    assert_ne!(main, engine_sid);
    assert_ne!(custom, engine_sid);
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_disallow_connection_to_an_unknown_namespace() {
    let server = socketio_server().await;
    let (mut ws, _) = Ws::open(&server).await;
    ws.send("40/random").await;
    assert_eq!(
        ws.next().await,
        Frame::text(r#"44/random,{"message":"Invalid namespace"}"#)
    );
    // The Engine.IO connection stays usable.
    ws.send("40").await;
    check_connect_reply(ws.next_skip_ping().await, "40");
    ws.expect(r#"42["auth",{}]"#).await;
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_disallow_connection_with_an_invalid_handshake() {
    let server = socketio_server().await;
    let (mut ws, _) = Ws::open(&server).await;
    ws.send("4abc").await;
    // Well before the connect timeout (1 s), which would close it as well.
    let elapsed = ws.expect_closed_answering_pings().await;
    assert!(
        elapsed < Duration::from_millis(250),
        "closed after {elapsed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_close_the_connection_if_no_handshake_is_received() {
    let server = socketio_server().await;
    let start = Instant::now();
    let (mut ws, _) = Ws::open(&server).await;
    // Pings are answered, so only the connect timeout (1 s) can close it.
    ws.expect_closed_answering_pings().await;
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(800) && elapsed < Duration::from_millis(1800),
        "closed after {elapsed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_connect_over_polling() {
    let server = socketio_server().await;
    let sid = open_polling(&server).await;
    let target = server.polling_sid(&sid);
    post(server.addr, &target, r#"40{"token":"p"}"#)
        .await
        .assert(200, "ok");
    let mut packets = Vec::new();
    while packets.len() < 2 {
        let body = get(server.addr, &target).await.poll_body();
        for packet in body.split(SEP) {
            if packet == "2" {
                post(server.addr, &target, "3").await.assert(200, "ok");
            } else {
                packets.push(packet.to_owned());
            }
        }
    }
    assert_eq!(packets.len(), 2, "{packets:?}");
    check_connect_reply(Frame::Text(packets[0].clone()), "40");
    assert_eq!(packets[1], r#"42["auth",{"token":"p"}]"#);
}

// ---------------------------------------------------------------------------------------------
// disconnect
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_disconnect_from_the_main_namespace() {
    let server = socketio_server().await;
    let mut ws = init_socketio_connection(&server).await;
    ws.send("41").await;
    // No reply to DISCONNECT and the transport stays open: the next message is the ping.
    assert_eq!(ws.next().await, Frame::text("2"));
    ws.send("3").await;
    // Joining again works over the same transport.
    ws.send("40").await;
    check_connect_reply(ws.next_skip_ping().await, "40");
    ws.expect(r#"42["auth",{}]"#).await;
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_connect_then_disconnect_from_a_custom_namespace() {
    let server = socketio_server().await;
    let mut ws = init_socketio_connection(&server).await;
    ws.send("40/custom").await;
    check_connect_reply(ws.next_skip_ping().await, "40/custom,");
    ws.expect(r#"42/custom,["auth",{}]"#).await;
    ws.send("41/custom").await;
    ws.send(r#"42["message","message to main namespace"]"#)
        .await;
    ws.expect(r#"42["message-back","message to main namespace"]"#)
        .await;
    ws.close().await;
}

// ---------------------------------------------------------------------------------------------
// message
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_send_a_plain_text_packet() {
    let server = socketio_server().await;
    let mut ws = init_socketio_connection(&server).await;
    ws.send(r#"42["message",1,"2",{"3":[true]}]"#).await;
    ws.expect(r#"42["message-back",1,"2",{"3":[true]}]"#).await;
    // Key order of user objects and number forms are preserved.
    ws.send(r#"42["message",{"b":1,"a":[1.5,-2,null]},"é"]"#)
        .await;
    ws.expect(r#"42["message-back",{"b":1,"a":[1.5,-2,null]},"é"]"#)
        .await;
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_send_a_packet_with_one_binary_attachment() {
    let server = socketio_server().await;
    let mut ws = init_socketio_connection(&server).await;
    ws.send(r#"451-["message",{"_placeholder":true,"num":0}]"#)
        .await;
    ws.send_binary(&[7, 8, 9]).await;
    ws.expect(r#"451-["message-back",{"_placeholder":true,"num":0}]"#)
        .await;
    assert_eq!(ws.next_skip_ping().await, Frame::Binary(vec![7, 8, 9]));
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_send_a_packet_with_binary_attachments() {
    let server = socketio_server().await;
    let mut ws = init_socketio_connection(&server).await;
    ws.send(r#"452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        .await;
    ws.send_binary(&[1, 2, 3]).await;
    ws.send_binary(&[4, 5, 6]).await;
    ws.expect(
        r#"452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
    )
    .await;
    assert_eq!(ws.next_skip_ping().await, Frame::Binary(vec![1, 2, 3]));
    assert_eq!(ws.next_skip_ping().await, Frame::Binary(vec![4, 5, 6]));
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_send_a_plain_text_packet_with_an_ack() {
    let server = socketio_server().await;
    let mut ws = init_socketio_connection(&server).await;
    ws.send(r#"42456["message-with-ack",1,"2",{"3":[false]}]"#)
        .await;
    ws.expect(r#"43456[1,"2",{"3":[false]}]"#).await;
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_send_a_packet_with_binary_attachments_and_an_ack() {
    let server = socketio_server().await;
    let mut ws = init_socketio_connection(&server).await;
    ws.send(
        r#"452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
    )
    .await;
    ws.send_binary(&[1, 2, 3]).await;
    ws.send_binary(&[4, 5, 6]).await;
    ws.expect(r#"462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        .await;
    assert_eq!(ws.next_skip_ping().await, Frame::Binary(vec![1, 2, 3]));
    assert_eq!(ws.next_skip_ping().await, Frame::Binary(vec![4, 5, 6]));
    ws.close().await;
}

async fn closes_upon(packet: &str) {
    let server = socketio_server().await;
    let mut ws = init_socketio_connection(&server).await;
    ws.send(packet).await;
    let elapsed = ws.expect_closed_answering_pings().await;
    assert!(
        elapsed < Duration::from_millis(250),
        "{packet}: closed after {elapsed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_close_the_connection_upon_invalid_format_unknown_packet_type() {
    closes_upon("4abc").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_close_the_connection_upon_invalid_format_invalid_payload_format() {
    closes_upon("42{}").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_close_the_connection_upon_invalid_format_invalid_ack_id() {
    closes_upon(r#"42abc["message-with-ack",1,"2",{"3":[false]}]"#).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_packet_does_not_affect_another_connection() {
    let server = socketio_server().await;
    let mut healthy = init_socketio_connection(&server).await;
    let mut broken = init_socketio_connection(&server).await;
    healthy.send(r#"42["message","before"]"#).await;
    healthy.expect(r#"42["message-back","before"]"#).await;
    broken.send("42{}").await;
    broken.expect_closed_answering_pings().await;
    for i in 0..3 {
        let text = format!(r#"42["message","after {i}"]"#);
        healthy.send(&text).await;
        healthy
            .expect(&format!(r#"42["message-back","after {i}"]"#))
            .await;
    }
    healthy.close().await;
}
