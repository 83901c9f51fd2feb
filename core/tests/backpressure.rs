//! Backpressure: each client's outbound queue is bounded; a client that stops reading cannot
//! grow the server's memory, and the others are not held up.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{SOCKET_PATH, TestServer, Ws};
use polysocket::{DisconnectReason, EmitError, SaturationPolicy, Server, ServerConfig, Socket};

const QUEUE: usize = 16;

/// A server whose clients may queue `QUEUE` packets; it records its sockets and the reasons
/// they disconnected.
async fn server(policy: SaturationPolicy) -> (TestServer, Arc<Mutex<Vec<Socket>>>, Reasons) {
    let mut config: ServerConfig = common::config(SOCKET_PATH);
    config.max_buffered_packets = QUEUE;
    config.on_saturated = policy;
    // Long heartbeats: the test, not a ping timeout, decides when the stuck client goes.
    config.ping_interval = Duration::from_secs(20);
    config.ping_timeout = Duration::from_secs(20);
    let io = Server::with_config(config);
    let sockets: Arc<Mutex<Vec<Socket>>> = Arc::default();
    let reasons: Reasons = Arc::default();
    let (list, log) = (sockets.clone(), reasons.clone());
    io.on_connection(move |socket| {
        let log = log.clone();
        socket.on_disconnect(move |_, reason| log.lock().unwrap().push(reason));
        list.lock().unwrap().push(socket);
    });
    let addr = io.listen("127.0.0.1:0").await.expect("listen");
    let server = TestServer {
        io,
        addr,
        path: SOCKET_PATH,
    };
    (server, sockets, reasons)
}

type Reasons = Arc<Mutex<Vec<DisconnectReason>>>;

/// A WebSocket client joined to `/`.
async fn join(server: &TestServer) -> Ws {
    let mut ws = Ws::connect(&server.websocket_url("")).await;
    let _open = ws.next().await;
    ws.send("40").await;
    let _connect_reply = ws.next_skip_ping().await;
    ws
}

/// Emits 64 KiB events to `socket` until one fails; returns how many went out and the error.
fn flood(socket: &Socket) -> (usize, Option<EmitError>) {
    let payload = "x".repeat(64 * 1024);
    for sent in 0..100_000 {
        if let Err(error) = socket.emit("flood", &payload) {
            return (sent, Some(error));
        }
        assert!(socket.buffered() <= QUEUE, "the queue stays bounded");
    }
    (100_000, None)
}

async fn wait_for(mut done: impl FnMut() -> bool) {
    tokio::time::timeout(Duration::from_secs(5), async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("condition within 5 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_saturates_only_its_own_queue() {
    let (server, sockets, reasons) = server(SaturationPolicy::Error).await;
    let _stuck = join(&server).await; // never read again
    let mut reader = join(&server).await;
    wait_for(|| sockets.lock().unwrap().len() == 2).await;
    let (stuck, healthy) = {
        let list = sockets.lock().unwrap();
        (list[0].clone(), list[1].clone())
    };
    // Emitting from a task: flooding runs until the kernel buffers and then the queue fill.
    let flooded = tokio::task::spawn_blocking(move || flood(&stuck))
        .await
        .unwrap();
    assert!(
        matches!(flooded, (_, Some(EmitError::Saturated))),
        "{flooded:?}"
    );
    let sent = flooded.0;
    assert!(
        sent > QUEUE,
        "the kernel took some before the queue filled: {sent}"
    );

    // The other client is not held up.
    healthy.emit("hello", "still here").unwrap();
    assert_eq!(
        reader.next_skip_ping().await,
        common::Frame::text(r#"42["hello","still here"]"#)
    );
    // Volatile packets to the saturated client are dropped without an error.
    let stuck = sockets.lock().unwrap()[0].clone();
    assert_eq!(stuck.volatile().emit("v", 1), Ok(()));
    assert_eq!(stuck.emit("again", 1), Err(EmitError::Saturated));
    // With the default policy the client stays connected.
    assert!(stuck.connected());
    assert!(reasons.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_disconnect_policy_drops_a_saturated_client() {
    let (server, sockets, reasons) = server(SaturationPolicy::Disconnect).await;
    let _stuck = join(&server).await;
    wait_for(|| sockets.lock().unwrap().len() == 1).await;
    let stuck = sockets.lock().unwrap()[0].clone();
    let probe = stuck.clone();
    let flooded = tokio::task::spawn_blocking(move || flood(&probe))
        .await
        .unwrap();
    assert!(
        matches!(flooded.1, Some(EmitError::Saturated)),
        "{flooded:?}"
    );
    wait_for(|| !reasons.lock().unwrap().is_empty()).await;
    assert_eq!(
        *reasons.lock().unwrap(),
        vec![DisconnectReason::ForcedClose]
    );
    assert!(!stuck.connected());
    assert_eq!(stuck.buffered(), 0, "the queue was dropped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drained_resolves_once_a_reading_client_took_everything() {
    let (server, sockets, _) = server(SaturationPolicy::Error).await;
    let mut reader = join(&server).await;
    wait_for(|| sockets.lock().unwrap().len() == 1).await;
    let socket = sockets.lock().unwrap()[0].clone();
    let reading = tokio::spawn(async move {
        for _ in 0..200 {
            reader.next_skip_ping().await;
        }
        reader
    });
    // A producer that waits for the queue to drain never hits the bound.
    for i in 0..200 {
        if socket.buffered() >= QUEUE / 2 {
            tokio::time::timeout(Duration::from_secs(5), socket.drained())
                .await
                .expect("drained");
        }
        socket.emit("n", i).unwrap();
    }
    tokio::time::timeout(Duration::from_secs(5), socket.drained())
        .await
        .expect("drained");
    assert_eq!(socket.buffered(), 0);
    tokio::time::timeout(Duration::from_secs(5), reading)
        .await
        .expect("the client got all 200")
        .unwrap();
}
