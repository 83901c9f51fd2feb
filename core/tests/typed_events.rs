//! Typed events: `events!`, `on_event` and `emit_event` over a real connection.

mod common;

use std::sync::{Arc, Mutex};

use common::{Frame, SOCKET_PATH, TestServer, Ws};
use polysocket::Server;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Move {
    x: i32,
    y: i32,
}

polysocket::events! {
    /// A player moved.
    Moved = "moved" => Move;
    /// The server's answer.
    Echoed = "echoed" => Move;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_handlers_and_emits_round_trip_and_reject_bad_payloads() {
    let io = Server::with_config(common::config(SOCKET_PATH));
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = errors.clone();
    io.on_connection(move |socket| {
        let log = log.clone();
        socket.on_error(move |_, error| log.lock().unwrap().push(error.message.clone()));
        socket.on_event::<Moved>(|socket, moved, ack| {
            let echoed = Move {
                x: moved.x + 1,
                y: moved.y + 1,
            };
            let _ = socket.emit_event::<Echoed>(&echoed);
            if let Some(ack) = ack {
                let _ = ack.send(&moved);
            }
        });
    });
    let addr = io.listen("127.0.0.1:0").await.expect("listen");
    let server = TestServer {
        io,
        addr,
        path: SOCKET_PATH,
    };
    let (mut ws, _) = Ws::open(&server).await;
    ws.send("40").await;
    let _reply = ws.next_skip_ping().await;
    ws.send(r#"421["moved",{"x":1,"y":2}]"#).await;
    assert_eq!(
        ws.next_skip_ping().await,
        Frame::text(r#"42["echoed",{"x":2,"y":3}]"#)
    );
    assert_eq!(
        ws.next_skip_ping().await,
        Frame::text(r#"431[{"x":1,"y":2}]"#)
    );

    ws.send(r#"42["moved","not a move"]"#).await;
    ws.send(r#"42["moved",{"x":5,"y":5}]"#).await;
    assert_eq!(
        ws.next_skip_ping().await,
        Frame::text(r#"42["echoed",{"x":6,"y":6}]"#)
    );
    let errors = errors.lock().unwrap().clone();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("invalid argument for \"moved\""),
        "{errors:?}"
    );
}
