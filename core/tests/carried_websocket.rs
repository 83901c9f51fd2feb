//! `Server::accept_websocket`: WebSockets whose handshake and framing another server does
//! (ASGI, aiohttp), exchanged with the engine as whole messages.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use polysocket::{Server, ServerConfig, WebSocketLink, WsMessage};

const WAIT: Duration = Duration::from_secs(3);

fn upgrade_request(query: &str) -> http::Request<Full<Bytes>> {
    http::Request::builder()
        .method("GET")
        .uri(format!("/socket.io/?EIO=4&transport=websocket{query}"))
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-extensions", "permessage-deflate")
        .body(Full::new(Bytes::new()))
        .expect("request")
}

fn echo_server(config: ServerConfig) -> Server {
    let io = Server::with_config(config);
    io.on_connection(|socket| {
        socket.on("echo", |_, mut event| {
            if let Some(ack) = event.ack() {
                let _ = ack.send_args(std::mem::take(&mut event.args));
            }
        });
    });
    io
}

async fn next_text(link: &mut WebSocketLink) -> String {
    match tokio::time::timeout(WAIT, link.recv()).await {
        Ok(Some(WsMessage::Text(text))) => String::from_utf8(text.to_vec()).expect("UTF-8"),
        other => panic!("expected a text message, got {other:?}"),
    }
}

async fn send_text(link: &WebSocketLink, text: &str) {
    link.send(WsMessage::Text(Bytes::from(text.to_owned())))
        .await
        .expect("link open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carried_websocket_connects_emits_and_acks() {
    let io = echo_server(ServerConfig::default());
    let (response, link) = io.accept_websocket(upgrade_request(""), None).await;
    assert_eq!(response.status(), 101);
    // The host negotiates compression itself: the engine offers none.
    assert!(response.headers().get("sec-websocket-extensions").is_none());
    assert!(response.headers().get("sec-websocket-accept").is_some());
    let mut link = link.expect("accepted");
    let open = next_text(&mut link).await;
    assert!(open.starts_with("0{\"sid\":"), "{open}");
    send_text(&link, "40").await;
    let connect = next_text(&mut link).await;
    assert!(connect.starts_with("40{\"sid\":"), "{connect}");
    send_text(&link, r#"421["echo","hi",{"n":1}]"#).await;
    assert_eq!(next_text(&mut link).await, r#"431["hi",{"n":1}]"#);
    // Binary attachments arrive as binary messages.
    send_text(&link, r#"451-2["echo",{"_placeholder":true,"num":0}]"#).await;
    link.send(WsMessage::Binary(Bytes::from_static(b"\x01\x02")))
        .await
        .expect("link open");
    assert_eq!(
        next_text(&mut link).await,
        r#"461-2[{"_placeholder":true,"num":0}]"#
    );
    match tokio::time::timeout(WAIT, link.recv()).await {
        Ok(Some(WsMessage::Binary(bytes))) => assert_eq!(&bytes[..], b"\x01\x02"),
        other => panic!("expected the attachment, got {other:?}"),
    }
    assert_eq!(io.clients_count(), 1);
    // The host's client went away: the session ends with `transport close`.
    let (reason_tx, reason_rx) = tokio::sync::oneshot::channel();
    let reason_tx = std::sync::Mutex::new(Some(reason_tx));
    let socket = io.of("/").sockets().pop().expect("one socket");
    socket.on_disconnect(move |_, reason| {
        if let Some(tx) = reason_tx.lock().expect("lock").take() {
            let _ = tx.send(reason.as_str());
        }
    });
    drop(link);
    let reason = tokio::time::timeout(WAIT, reason_rx)
        .await
        .expect("in time");
    assert_eq!(reason.expect("sent"), "transport close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carried_websocket_upgrades_a_polling_session() {
    let io = echo_server(ServerConfig::default());
    let handshake = http::Request::builder()
        .uri("/socket.io/?EIO=4&transport=polling")
        .body(Full::new(Bytes::new()))
        .expect("request");
    let body = io.handle_request(handshake, None).await.into_body();
    let body = body.collect().await.expect("body").to_bytes();
    let body = std::str::from_utf8(&body).expect("UTF-8");
    let json: serde_json::Value = serde_json::from_str(&body[1..]).expect("JSON");
    let sid = json["sid"].as_str().expect("sid").to_owned();

    let (response, link) = io
        .accept_websocket(upgrade_request(&format!("&sid={sid}")), None)
        .await;
    assert_eq!(response.status(), 101);
    let mut link = link.expect("accepted");
    send_text(&link, "2probe").await;
    assert_eq!(next_text(&mut link).await, "3probe");
    send_text(&link, "5").await;
    send_text(&link, "40").await;
    assert!(next_text(&mut link).await.starts_with("40{\"sid\":"));
    send_text(&link, r#"420["echo",1]"#).await;
    assert_eq!(next_text(&mut link).await, "430[1]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_carried_websockets_get_the_http_answer_and_no_link() {
    let io = echo_server(ServerConfig::default());
    let (response, link) = io
        .accept_websocket(upgrade_request("&sid=unknown"), None)
        .await;
    assert_eq!(response.status(), 400);
    assert!(link.is_none());
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(&body[..], br#"{"code":1,"message":"Session ID unknown"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_carried_message_closes_only_its_connection() {
    let config = ServerConfig {
        max_http_buffer_size: 100,
        ..ServerConfig::default()
    };
    let io = echo_server(config);
    let (_, first) = io.accept_websocket(upgrade_request(""), None).await;
    let (_, second) = io.accept_websocket(upgrade_request(""), None).await;
    let (mut first, mut second) = (first.expect("first"), second.expect("second"));
    next_text(&mut first).await;
    next_text(&mut second).await;
    send_text(&first, &format!("4{}", "x".repeat(200))).await;
    match tokio::time::timeout(WAIT, first.recv()).await {
        Ok(Some(WsMessage::Close(code))) => assert_eq!(code, 1009),
        other => panic!("expected a close, got {other:?}"),
    }
    send_text(&second, "40").await;
    assert!(next_text(&mut second).await.starts_with("40{"));
    let deadline = tokio::time::Instant::now() + WAIT;
    while io.clients_count() != 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(io.clients_count(), 1, "the other session stays");
}
