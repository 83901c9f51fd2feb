//! The server the cross-language interop suites drive (`tests/interop/CONTRACT.md`).
//!
//! Reads `PORT` (0 for any), `PING_INTERVAL` and `PING_TIMEOUT` (ms), binds 127.0.0.1 and
//! prints `LISTENING <port>` once ready.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use polysocket::{
    AllowRequest, BroadcastAckError, BroadcastOperator, ClusterAdapter, ClusterOptions,
    ConnectError, ConnectionStateRecovery, CookieConfig, EmitError, Event, Map, PacketError,
    Parser, PerMessageDeflate, RedisDriver, SaturationPolicy, Server, ServerConfig, ShardedOptions,
    Socket, SubscriptionMode, Value,
};
use serde::{Deserialize, Serialize};

/// `typed-sum`'s argument.
#[derive(Debug, Serialize, Deserialize)]
struct Operands {
    a: i64,
    b: i64,
}

/// `typed-sum`'s answer.
#[derive(Debug, Serialize)]
struct Sum {
    sum: i64,
}

polysocket::events! {
    /// Adds two integers (the contract's typed event).
    TypedSum = "typed-sum" => Operands;
}

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

/// The contract's connect middleware: `auth.token === "bad"` is refused.
fn refuse_bad_token(socket: &Socket) -> Result<(), ConnectError> {
    if socket
        .handshake()
        .auth()
        .get("token")
        .and_then(Value::as_str)
        == Some("bad")
    {
        return Err(ConnectError::new("unauthorized").with_data(serde_json::json!({"code": 401})));
    }
    Ok(())
}

fn main_namespace(io: &Server, log: &ReasonLog) {
    io.use_middleware(refuse_bad_token);
    let io2 = io.clone();
    let log = log.clone();
    io.on_connection(move |socket| {
        let welcome = object(&[
            ("id", socket.id().into()),
            ("auth", socket.handshake().auth().clone()),
        ]);
        parity_handlers(&io2, &socket);
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
        socket.on("kill-transport", |socket, _| socket.conn().close());
        options_handlers(&socket);
        socket.on("get-recovered", |socket, event| {
            ack_with(event, socket.recovered().into())
        });
    });
}

/// The contract's typed event and the backpressure `flood` (polysocket only).
fn options_handlers(socket: &Socket) {
    socket.on_event::<TypedSum>(|_, operands, ack| {
        if let Some(ack) = ack {
            let _ = ack.send(&Sum {
                sum: operands.a + operands.b,
            });
        }
    });
    socket.on_async("flood", |socket, mut event| async move {
        let count = arg(&event, 0).as_u64().unwrap_or(0);
        let size = usize::try_from(arg(&event, 1).as_u64().unwrap_or(0)).unwrap_or(0);
        let wait_drain = arg(&event, 2).as_bool().unwrap_or(false);
        let filler = "x".repeat(size);
        let (mut sent, mut refused) = (0u64, 0u64);
        for i in 0..count {
            if wait_drain && socket.buffered() >= 16 {
                socket.drained().await;
            }
            match socket.emit_args("flood-item", vec![i.into(), filler.as_str().into()]) {
                Ok(()) => sent += 1,
                Err(EmitError::Saturated) => refused += 1,
                Err(_) => return,
            }
        }
        socket.drained().await;
        if let Some(ack) = event.ack() {
            let _ = ack.send_args(vec![object(&[
                ("sent", sent.into()),
                ("refused", refused.into()),
            ])]);
        }
    });
}

fn strings(list: &Mutex<Vec<String>>) -> Value {
    Value::Array(
        list.lock()
            .unwrap()
            .iter()
            .map(|s| Value::from(s.as_str()))
            .collect(),
    )
}

fn ack_with(mut event: Event, value: Value) {
    if let Some(ack) = event.ack() {
        let _ = ack.send_args(vec![value]);
    }
}

/// Sorts by their JSON text, as the reference sorts plain values.
fn sorted_values(mut values: Vec<Value>) -> Value {
    values.sort_by_key(|v| serde_json::to_string(v).unwrap_or_default());
    Value::Array(values)
}

/// Runs `emitWithAck` on `operator` and acks the event with the contract's result object.
fn ack_from_many(operator: BroadcastOperator, mut event: Event) {
    let payload = arg(&event, 0);
    let reply = event.ack();
    tokio::spawn(async move {
        let result = operator.emit_with_ack("question", vec![payload]).await;
        let first = |args: Vec<Value>| args.into_iter().next().unwrap_or_default();
        let value = match result {
            Ok(responses) => object(&[(
                "responses",
                sorted_values(responses.into_iter().map(|r| first(r.args)).collect()),
            )]),
            Err(BroadcastAckError::Timeout { responses, .. }) => object(&[
                ("error", "operation has timed out".into()),
                (
                    "responses",
                    sorted_values(responses.into_iter().map(|r| first(r.args)).collect()),
                ),
            ]),
            Err(error) => object(&[("error", error.to_string().into())]),
        };
        if let Some(ack) = reply {
            let _ = ack.send_args(vec![value]);
        }
    });
}

/// The handlers of the "Server parity" part of the contract.
fn parity_handlers(io: &Server, socket: &Socket) {
    if !socket.recovered() {
        socket.set_data(object(&[("nsp", socket.ns().into())]));
    }
    let any_log: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = any_log.clone();
    socket.prepend_any(move |_, event| log.lock().unwrap().push(format!("prepend:{}", event.name)));
    let log = any_log.clone();
    socket.on_any(move |_, event| log.lock().unwrap().push(format!("any:{}", event.name)));
    let outgoing_log: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = outgoing_log.clone();
    socket.on_any_outgoing(move |_, event, _| log.lock().unwrap().push(event.to_owned()));
    socket.use_packet(|_, event| {
        if event.name == "forbidden" {
            return Err(PacketError::new("forbidden event"));
        }
        Ok(())
    });
    socket.on_error(|socket, error| {
        let _ = socket.emit("middleware-error", &error.message);
    });
    socket.on("get-any-log", move |_, event| {
        ack_with(event, strings(&any_log))
    });
    socket.on("off-any", |socket, event| {
        socket.off_any(None);
        done(event);
    });
    socket.on("get-outgoing-log", move |_, event| {
        ack_with(event, strings(&outgoing_log));
    });
    socket.on("volatile-burst", |socket, event| {
        let n = arg(&event, 0).as_u64().unwrap_or(0);
        for i in 0..n {
            let _ = socket.volatile().emit("burst", i);
        }
        done(event);
    });
    let server = io.clone();
    socket.on("ack-from-room", move |_, event| {
        let room = arg(&event, 0).as_str().unwrap_or_default().to_owned();
        let mut event = event;
        event.args.remove(0);
        ack_from_many(server.to(room).timeout(Duration::from_secs(1)), event);
    });
    socket.on("broadcast-ack", |socket, event| {
        ack_from_many(socket.broadcast().timeout(Duration::from_secs(1)), event);
    });
    let server = io.clone();
    socket.on("volatile-to-room", move |_, event| {
        room_emit(server.to(room_of(&event)).volatile(), event);
    });
    let server = io.clone();
    socket.on("local-to-room", move |_, event| {
        room_emit(server.local().to(room_of(&event)), event);
    });
    let server = io.clone();
    socket.on("compress-to-room", move |_, event| {
        room_emit(server.to(room_of(&event)).compress(false), event);
    });
    let server = io.clone();
    socket.on("in-rooms", move |_, event| {
        let rooms: Vec<String> = arg(&event, 0)
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        room_emit(server.sockets().broadcast().to_rooms(rooms), event);
    });
    socket.on("set-data", |socket, event| {
        socket.set_data(arg(&event, 0));
        done(event);
    });
    let server = io.clone();
    socket.on_async("fetch-sockets", move |_, mut event| {
        let server = server.clone();
        async move {
            let sockets = server.within(room_of(&event)).fetch_sockets().await;
            let mut list: Vec<(String, Value)> = sockets
                .iter()
                .map(|s| {
                    let mut rooms = s.rooms().to_vec();
                    rooms.sort();
                    let rooms = Value::Array(rooms.into_iter().map(Value::from).collect());
                    let entry = object(&[
                        ("id", s.id().into()),
                        ("rooms", rooms),
                        ("data", s.data().clone()),
                    ]);
                    (s.id().to_owned(), entry)
                })
                .collect();
            list.sort_by(|a, b| a.0.cmp(&b.0));
            if let Some(ack) = event.ack() {
                let _ = ack.send_args(vec![Value::Array(list.into_iter().map(|e| e.1).collect())]);
            }
        }
    });
    let server = io.clone();
    socket.on_async("remote-emit", move |_, event| {
        let server = server.clone();
        async move {
            let name = arg(&event, 1).as_str().unwrap_or_default().to_owned();
            for remote in server.within(room_of(&event)).fetch_sockets().await {
                let _ = remote.emit_args(&name, vec![arg(&event, 2)]);
            }
            done(event);
        }
    });
    let server = io.clone();
    socket.on("sockets-join", move |_, event| {
        if let Some(new_room) = arg(&event, 1).as_str() {
            server.within(room_of(&event)).sockets_join(new_room);
        }
        done(event);
    });
    let server = io.clone();
    socket.on("sockets-leave", move |_, event| {
        if let Some(old_room) = arg(&event, 1).as_str() {
            server.within(room_of(&event)).sockets_leave(old_room);
        }
        done(event);
    });
    let server = io.clone();
    socket.on("disconnect-sockets", move |_, event| {
        let room = room_of(&event);
        let close = arg(&event, 1).as_bool().unwrap_or(false);
        done(event);
        server.within(room).disconnect_sockets(close);
    });
    let server = io.clone();
    socket.on_async("server-side-emit", move |_, mut event| {
        let server = server.clone();
        async move {
            let result = server
                .server_side_emit_with_ack("hello", vec![Value::from(1)])
                .await;
            // socket.io never calls the callback with the in-memory adapter; polysocket
            // reports that as `Unsupported`, and the contract's server does not ack then.
            let value = match result {
                Ok(responses) => object(&[
                    ("error", Value::Null),
                    ("responses", Value::Array(responses)),
                ]),
                Err(error @ EmitError::Timeout { .. }) => {
                    let EmitError::Timeout { ref responses, .. } = error else {
                        return;
                    };
                    object(&[
                        ("error", error.to_string().into()),
                        ("responses", Value::Array(responses.clone())),
                    ])
                }
                Err(_) => return,
            };
            if let Some(ack) = event.ack() {
                let _ = ack.send_args(vec![value]);
            }
        }
    });
    socket.on("get-handshake", |socket, event| {
        let handshake = socket.handshake();
        let mut query = Map::new();
        for (key, value) in handshake.query() {
            query.insert(key.clone(), value.as_str().into());
        }
        let type_of = |present: bool| Value::from(if present { "string" } else { "undefined" });
        let value = object(&[
            ("query", Value::Object(query)),
            (
                "userAgentHeader",
                type_of(handshake.headers().contains_key("user-agent")),
            ),
            ("address", type_of(handshake.address().is_some())),
            ("xdomain", handshake.xdomain().into()),
            ("secure", handshake.secure().into()),
            (
                "url",
                handshake.url().split('?').next().unwrap_or_default().into(),
            ),
            ("issued", "number".into()),
            ("time", "string".into()),
        ]);
        ack_with(event, value);
    });
    socket.on("get-header", |socket, event| {
        let name = event
            .args
            .first()
            .and_then(Value::as_str)
            .unwrap_or_default();
        let value = socket
            .handshake()
            .headers()
            .get(name.to_ascii_lowercase().as_str())
            .and_then(|v| v.to_str().ok())
            .map_or(Value::Null, Value::from);
        ack_with(event, value);
    });
    let server = io.clone();
    let root = server.sockets();
    socket.on_async("all-rooms", move |_, event| {
        let root = root.clone();
        async move {
            if let Ok(rooms) = root.all_rooms().await {
                ack_with(
                    event,
                    Value::Array(rooms.into_iter().map(Value::from).collect()),
                );
            }
        }
    });
    socket.on("list-namespaces", move |_, event| {
        let mut names = server.namespace_names();
        names.sort();
        ack_with(
            event,
            Value::Array(names.into_iter().map(Value::from).collect()),
        );
    });
}

fn room_of(event: &Event) -> String {
    arg(event, 0).as_str().unwrap_or_default().to_owned()
}

/// `(room, event, payload, ack?)`: emits `event` with `payload` through `operator`.
fn room_emit(operator: BroadcastOperator, event: Event) {
    if let Some(name) = arg(&event, 1).as_str() {
        let _ = operator.emit_args(name, vec![arg(&event, 2)]);
    }
    done(event);
}

/// The dynamic namespaces of the contract.
fn dynamic_namespaces(io: &Server) {
    let parent = io.of_regex(r"^/dyn-\d+$").expect("valid pattern");
    parent.use_middleware(refuse_bad_token);
    parent.on_connection(|socket| {
        let _ = socket.emit("welcome", object(&[("nsp", socket.ns().into())]));
        socket.on("echo", echo);
    });
    let parent = io.of_dynamic(|name, auth| {
        name.starts_with("/pred-") && auth.get("allow").and_then(Value::as_bool) == Some(true)
    });
    parent.on_connection(|socket| {
        let _ = socket.emit("welcome", object(&[("nsp", socket.ns().into())]));
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
    config.cleanup_empty_child_namespaces = true;
    if std::env::var("ALLOW_REQUEST").is_ok_and(|v| v == "1") {
        config.allow_request = Some(AllowRequest::new(|head| {
            match head.uri.query().unwrap_or_default().contains("denied=1") {
                true => Err("denied".to_owned()),
                false => Ok(()),
            }
        }));
    }
    match std::env::var("CORS").as_deref() {
        Ok("1") => config.cors = Some(polysocket::Cors::any()),
        Ok("credentials") => {
            config.cors = Some(polysocket::Cors {
                origin: polysocket::CorsOrigin::Reflect,
                credentials: true,
            });
        }
        _ => {}
    }
    if std::env::var("COOKIE").is_ok_and(|v| v == "1") {
        config.cookie = Some(CookieConfig::default());
    }
    if std::env::var("PER_MESSAGE_DEFLATE").is_ok_and(|v| v == "1") {
        config.per_message_deflate = Some(PerMessageDeflate::default());
    }
    if let Some(max) = std::env::var("MAX_BUFFERED")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.max_buffered_packets = max;
    }
    if std::env::var("ON_SATURATED").is_ok_and(|v| v == "disconnect") {
        config.on_saturated = SaturationPolicy::Disconnect;
    }
    if std::env::var("PARSER").is_ok_and(|v| v == "msgpack") {
        config.parser = Parser::Msgpack;
    }
    if std::env::var("RECOVERY").is_ok_and(|v| v == "1") {
        config.connection_state_recovery = Some(ConnectionStateRecovery {
            max_disconnection_duration: Duration::from_secs(3),
            ..ConnectionStateRecovery::default()
        });
    }
    if let Ok(url) = std::env::var("REDIS_URL") {
        let driver = RedisDriver::connect(&url)
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let key = std::env::var("REDIS_KEY").unwrap_or_else(|_| "socket.io".to_owned());
        config.adapter = Some(match std::env::var("REDIS_SHARDED").as_deref() {
            Ok(mode) => {
                let subscription_mode = match mode {
                    "static" => SubscriptionMode::Static,
                    "dynamic-private" => SubscriptionMode::DynamicPrivate,
                    _ => SubscriptionMode::Dynamic,
                };
                let options = ShardedOptions {
                    channel_prefix: key,
                    subscription_mode,
                    ..ShardedOptions::default()
                };
                ClusterAdapter::sharded(driver, options)
            }
            Err(_) => {
                let options = ClusterOptions {
                    key,
                    ..ClusterOptions::default()
                };
                ClusterAdapter::new(driver, options)
            }
        });
    }
    let io = Server::with_config(config);
    let name = std::env::var("SERVER_NAME").unwrap_or_default();
    io.on_server_event("hello", move |_, ack| {
        if let Some(ack) = ack {
            ack.send(object(&[("server", name.as_str().into())]));
        }
    });
    let log: ReasonLog = Arc::default();
    main_namespace(&io, &log);
    dynamic_namespaces(&io);
    let log2 = log.clone();
    io.of("/custom").on_connection(move |socket| {
        let welcome = object(&[("id", socket.id().into()), ("nsp", "/custom".into())]);
        let _ = socket.emit("welcome", welcome);
        record_disconnects(&socket, &log2);
        socket.on("echo", echo);
    });
    let port = std::env::var("PORT").unwrap_or_else(|_| "0".into());
    let addr = io.listen(format!("127.0.0.1:{port}")).await?;
    io.cluster_ready().await;
    println!("LISTENING {}", addr.port());
    std::future::pending::<()>().await;
    Ok(())
}
