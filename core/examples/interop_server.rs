//! The server the cross-language interop suites drive (`tests/interop/CONTRACT.md`).
//!
//! Reads `PORT` (0 for any), `PING_INTERVAL` and `PING_TIMEOUT` (ms), binds 127.0.0.1 and
//! prints `LISTENING <port>` once ready.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use polysocket::{ConnectError, Event, Map, Server, ServerConfig, Socket, Value};

type ReasonLog = Arc<Mutex<Vec<Value>>>;

fn env_ms(name: &str) -> Option<Duration> {
    std::env::var(name)
        .ok()?
        .parse()
        .ok()
        .map(Duration::from_millis)
}

fn object(entries: &[(&str, Value)]) -> Value {
    let mut map = Map::new();
    for (key, value) in entries {
        map.insert((*key).to_owned(), value.clone());
    }
    Value::Object(map)
}

fn echo(socket: &Socket, mut event: Event) {
    match event.ack() {
        Some(ack) => {
            let _ = ack.send_args(event.args);
        }
        None => {
            let _ = socket.emit_args("echo", event.args);
        }
    }
}

fn sorted_rooms(socket: &Socket) -> Value {
    let mut rooms = socket.rooms();
    rooms.sort();
    Value::Array(rooms.into_iter().map(Value::from).collect())
}

fn record_disconnects(socket: &Socket, log: &ReasonLog) {
    let log2 = log.clone();
    socket.on_disconnect(move |socket, reason| {
        let entry = object(&[
            ("id", socket.id().into()),
            ("nsp", socket.ns().into()),
            ("reason", reason.as_str().into()),
        ]);
        log2.lock().unwrap().push(entry);
    });
    let log = log.clone();
    socket.on("get-disconnect-reasons", move |_, mut event| {
        if let Some(ack) = event.ack() {
            let _ = ack.send_args(vec![Value::Array(log.lock().unwrap().clone())]);
        }
    });
}

/// Sends the optional trailing ack with no arguments.
fn done(mut event: Event) {
    if let Some(ack) = event.ack() {
        let _ = ack.send_args(Vec::new());
    }
}

fn arg(event: &Event, index: usize) -> Value {
    event.args.get(index).cloned().unwrap_or_default()
}

fn main_namespace(io: &Server, log: &ReasonLog) {
    io.use_middleware(|socket| {
        if socket
            .handshake()
            .auth()
            .get("token")
            .and_then(Value::as_str)
            == Some("bad")
        {
            return Err(
                ConnectError::new("unauthorized").with_data(serde_json::json!({"code": 401}))
            );
        }
        Ok(())
    });
    let io2 = io.clone();
    let log = log.clone();
    io.on_connection(move |socket| {
        let welcome = object(&[
            ("id", socket.id().into()),
            ("auth", socket.handshake().auth().clone()),
        ]);
        let _ = socket.emit("welcome", welcome);
        record_disconnects(&socket, &log);
        socket.on("echo", echo);
        socket.on_async("ask-client", |socket, mut event| async move {
            let payload = event.args.first().cloned().unwrap_or_default();
            let answer = socket
                .emit_with_ack("question", vec![payload], Duration::from_secs(2))
                .await;
            let reply = match answer {
                Ok(args) => args.into_iter().next().unwrap_or_default(),
                Err(_) => object(&[("error", "timeout".into())]),
            };
            if let Some(ack) = event.ack() {
                let _ = ack.send_args(vec![reply]);
            }
        });
        socket.on("join", |socket, mut event| {
            if let Some(room) = arg(&event, 0).as_str() {
                socket.join(room);
            }
            if let Some(ack) = event.ack() {
                let _ = ack.send_args(vec![sorted_rooms(socket)]);
            }
        });
        socket.on("leave", |socket, mut event| {
            if let Some(room) = arg(&event, 0).as_str() {
                socket.leave(room);
            }
            if let Some(ack) = event.ack() {
                let _ = ack.send_args(vec![sorted_rooms(socket)]);
            }
        });
        let io = io2.clone();
        socket.on("to-room", move |_, event| {
            let (room, name) = (arg(&event, 0), arg(&event, 1));
            if let (Some(room), Some(name)) = (room.as_str(), name.as_str()) {
                let _ = io.to(room).emit_args(name, vec![arg(&event, 2)]);
            }
            done(event);
        });
        socket.on("broadcast", |socket, event| {
            if let Some(name) = arg(&event, 0).as_str() {
                let _ = socket.broadcast().emit_args(name, vec![arg(&event, 1)]);
            }
            done(event);
        });
        let io = io2.clone();
        socket.on("to-room-except", move |_, event| {
            let (room, except, name) = (arg(&event, 0), arg(&event, 1), arg(&event, 2));
            if let (Some(room), Some(except), Some(name)) =
                (room.as_str(), except.as_str(), name.as_str())
            {
                let _ = io
                    .to(room)
                    .except(except)
                    .emit_args(name, vec![arg(&event, 3)]);
            }
            done(event);
        });
        socket.on("server-disconnect", |socket, _| socket.disconnect(false));
        socket.on("server-close", |socket, _| socket.disconnect(true));
    });
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut config = ServerConfig::default();
    if let Some(interval) = env_ms("PING_INTERVAL") {
        config.ping_interval = interval;
    }
    if let Some(timeout) = env_ms("PING_TIMEOUT") {
        config.ping_timeout = timeout;
    }
    let io = Server::with_config(config);
    let log: ReasonLog = Arc::default();
    main_namespace(&io, &log);
    let log2 = log.clone();
    io.of("/custom").on_connection(move |socket| {
        let welcome = object(&[("id", socket.id().into()), ("nsp", "/custom".into())]);
        let _ = socket.emit("welcome", welcome);
        record_disconnects(&socket, &log2);
        socket.on("echo", echo);
    });
    let port = std::env::var("PORT").unwrap_or_else(|_| "0".into());
    let addr = io.listen(format!("127.0.0.1:{port}")).await?;
    println!("LISTENING {}", addr.port());
    std::future::pending::<()>().await;
    Ok(())
}
