//! The endpoint mounted in an axum app with `io.service()`: the app's own routes and both
//! Socket.IO transports (and the upgrade between them) share one listener.

mod common;

use common::{Frame, SOCKET_PATH, TestServer, Ws, get, open_polling, post};
use polysocket::Server;

/// An axum app with a `/hello` route and the Socket.IO endpoint at `/socket.io/`.
async fn axum_app_server() -> TestServer {
    let io = Server::with_config(common::config(SOCKET_PATH));
    io.on_connection(|socket| {
        socket.on("message", |socket, event| {
            let _ = socket.emit_args("message-back", event.args);
        });
    });
    let app = axum::Router::new()
        .route("/hello", axum::routing::get(|| async { "hello from axum" }))
        .route_service(SOCKET_PATH, io.service());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    TestServer {
        io,
        addr,
        path: SOCKET_PATH,
    }
}

/// Reads one Socket.IO packet from the WebSocket, skipping pings.
async fn next_text(ws: &mut Ws) -> String {
    match ws.next_skip_ping().await {
        Frame::Text(text) => text,
        other => panic!("expected a text frame, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_routes_keep_working_next_to_the_endpoint() {
    let server = axum_app_server().await;
    get(server.addr, "/hello")
        .await
        .assert(200, "hello from axum");
    assert_eq!(get(server.addr, "/nothing-here").await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_session_connects_and_exchanges_events() {
    let server = axum_app_server().await;
    let sid = open_polling(&server).await;
    post(server.addr, &server.polling_sid(&sid), "40")
        .await
        .assert(200, "ok");
    let body = get(server.addr, &server.polling_sid(&sid))
        .await
        .poll_body();
    assert!(body.starts_with("40{\"sid\":"), "CONNECT reply: {body}");
    post(
        server.addr,
        &server.polling_sid(&sid),
        r#"42["message","over polling"]"#,
    )
    .await
    .assert(200, "ok");
    let body = get(server.addr, &server.polling_sid(&sid))
        .await
        .poll_body();
    assert_eq!(body, r#"42["message-back","over polling"]"#);
    assert_eq!(server.io.clients_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_session_connects_and_exchanges_events() {
    let server = axum_app_server().await;
    let (mut ws, _sid) = Ws::open(&server).await;
    ws.send("40").await;
    assert!(next_text(&mut ws).await.starts_with("40{\"sid\":"));
    ws.send(r#"42["message",{"over":"websocket"}]"#).await;
    assert_eq!(
        next_text(&mut ws).await,
        r#"42["message-back",{"over":"websocket"}]"#
    );
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_session_upgrades_to_websocket() {
    let server = axum_app_server().await;
    let sid = open_polling(&server).await;
    let mut ws = Ws::connect(&server.websocket_url(&format!("&sid={sid}"))).await;
    ws.send("2probe").await;
    assert_eq!(ws.next().await, Frame::text("3probe"));
    ws.send("5").await;
    ws.send("40").await;
    assert!(next_text(&mut ws).await.starts_with("40{\"sid\":"));
    ws.send(r#"42["message","after the upgrade"]"#).await;
    assert_eq!(
        next_text(&mut ws).await,
        r#"42["message-back","after the upgrade"]"#
    );
    ws.close().await;
}
