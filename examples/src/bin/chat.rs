//! The chat server: rooms, presence, typing indicators and messages, plus the static page that
//! runs the official `socket.io-client` in the browser.
//!
//! It implements `examples/chat/PROTOCOL.md` exactly. Run it and open <http://localhost:3000>:
//!
//! ```sh
//! cargo run --release -p polysocket-examples --bin chat     # PORT=3000 HOST=0.0.0.0
//! ```
//!
//! Env: `PORT` (default 3000, 0 for any free port), `HOST` (default 0.0.0.0), `RUST_LOG`
//! (tracing filter, default `warn`, logs on stderr). Once bound it prints `LISTENING <port>` on
//! stdout; it exits on SIGINT / SIGTERM.

#[path = "chat/routes.rs"]
mod routes;
#[path = "chat/state.rs"]
mod state;

use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use polysocket::{AckSender, Event, Server, Socket, Value};
use serde_json::json;
use state::{Member, Members, now_ms, text_field};

/// The chat state shared by every socket's handlers.
type State = Arc<Mutex<Members>>;

/// Longest nickname and room name, in code points.
const MAX_NAME: usize = 32;
/// Longest message, in code points.
const MAX_TEXT: usize = 1000;

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    let host = std::env::var("HOST").unwrap_or_else(|_| "0.0.0.0".to_owned());
    let port = match std::env::var("PORT")
        .as_deref()
        .unwrap_or("3000")
        .parse::<u16>()
    {
        Ok(port) => port,
        Err(error) => {
            eprintln!("chat: invalid PORT: {error}");
            return ExitCode::FAILURE;
        }
    };

    let shutdown = shutdown_signal();
    let io = Server::new();
    let members = State::default();
    let io2 = io.clone();
    io.on_connection(move |socket| on_connection(&io2, &members, &socket));

    let addr = match io
        .listen_with_fallback((host.as_str(), port), routes::static_files())
        .await
    {
        Ok(addr) => addr,
        Err(error) => {
            eprintln!("chat: cannot listen on {host}:{port}: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("LISTENING {}", addr.port());
    let _ = std::io::stdout().flush();

    shutdown.await;
    // Say goodbye to the clients, but never hang on a stuck one.
    let _ = tokio::time::timeout(Duration::from_secs(1), io.close()).await;
    ExitCode::SUCCESS
}

/// Installs the SIGINT / SIGTERM handlers now (a signal that arrives before the returned
/// future is awaited is not lost) and resolves on the first of them.
fn shutdown_signal() -> impl Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt()).expect("install SIGINT handler");
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    }
}

/// Registers the chat's event handlers on a new socket.
fn on_connection(io: &Server, members: &State, socket: &Socket) {
    let (io2, members2) = (io.clone(), members.clone());
    socket.on("join", move |socket, event| {
        on_join(&io2, &members2, socket, event);
    });
    let (io2, members2) = (io.clone(), members.clone());
    socket.on("message", move |socket, event| {
        on_message(&io2, &members2, socket, event);
    });
    let members2 = members.clone();
    socket.on("typing", move |socket, event| {
        on_typing(&members2, socket, &event);
    });
    let (io2, members2) = (io.clone(), members.clone());
    socket.on_disconnect(move |socket, _reason| {
        let mut members = lock(&members2);
        if let Some(old) = members.remove(socket.id()) {
            announce_left(&io2, &members, &old);
            let _ = io2.emit("rooms", members.room_list());
        }
    });
}

/// `join {nickname, room}`: enters `room`, leaving the previous room if any.
///
/// The state lock is held through the emits so that concurrent joins broadcast their `users`
/// and `rooms` views in the order the state changed (emits only queue, they never block).
fn on_join(io: &Server, members: &State, socket: &Socket, mut event: Event) {
    let ack = event.ack();
    let payload = event.args.first().cloned().unwrap_or_default();
    let Some(nickname) = text_field(&payload, "nickname", MAX_NAME) else {
        return reply(ack, json!({ "ok": false, "error": "invalid nickname" }));
    };
    let Some(room) = text_field(&payload, "room", MAX_NAME) else {
        return reply(ack, json!({ "ok": false, "error": "invalid room" }));
    };

    let mut members = lock(members);
    if !socket.connected() {
        return; // Disconnected meanwhile: its disconnect handler has run or will find nothing.
    }
    if let Some(old) = members.remove(socket.id()) {
        socket.leave(&old.room);
        announce_left(io, &members, &old);
    }
    let member = Member {
        nickname: nickname.to_owned(),
        room: room.to_owned(),
    };
    members.insert(socket.id(), member);
    socket.join(room);

    let users = members.users_of(room);
    reply(
        ack,
        json!({ "ok": true, "nickname": nickname, "room": room,
                "users": users, "rooms": members.room_list() }),
    );
    let _ = io
        .to(room)
        .emit("users", json!({ "room": room, "users": users }));
    system(io, room, &format!("{nickname} joined"));
    let _ = io.emit("rooms", members.room_list());
}

/// `message {text}`: sends the text to the sender's room, the sender included.
fn on_message(io: &Server, members: &State, socket: &Socket, mut event: Event) {
    let ack = event.ack();
    let payload = event.args.first().cloned().unwrap_or_default();
    let Some(text) = text_field(&payload, "text", MAX_TEXT) else {
        return reply(ack, json!({ "ok": false, "error": "invalid text" }));
    };
    let Some(me) = lock(members).get(socket.id()).cloned() else {
        return reply(ack, json!({ "ok": false, "error": "not joined" }));
    };
    let message =
        json!({ "room": me.room, "nickname": me.nickname, "text": text, "time": now_ms() });
    let _ = io.to(me.room.as_str()).emit("message", message);
    reply(ack, json!({ "ok": true }));
}

/// `typing true|false`: tells the rest of the sender's room. Ignored when the socket has not
/// joined or the payload is not a boolean.
fn on_typing(members: &State, socket: &Socket, event: &Event) {
    let Some(typing) = event.args.first().and_then(Value::as_bool) else {
        return;
    };
    let Some(me) = lock(members).get(socket.id()).cloned() else {
        return;
    };
    let payload = json!({ "room": me.room, "nickname": me.nickname, "typing": typing });
    let _ = socket.to(me.room.as_str()).emit("typing", payload);
}

/// Tells `old.room` (which the socket has already left) its new user list and who left.
fn announce_left(io: &Server, members: &Members, old: &Member) {
    let users = members.users_of(&old.room);
    let _ = io
        .to(old.room.as_str())
        .emit("users", json!({ "room": old.room, "users": users }));
    system(io, &old.room, &format!("{} left", old.nickname));
}

/// Emits a `system` line to `room`.
fn system(io: &Server, room: &str, text: &str) {
    let _ = io.to(room).emit(
        "system",
        json!({ "room": room, "text": text, "time": now_ms() }),
    );
}

/// Acknowledges with `value` if the client asked for an ack; otherwise does nothing.
fn reply(ack: Option<AckSender>, value: serde_json::Value) {
    if let Some(ack) = ack {
        let _ = ack.send(value);
    }
}

/// Locks the state; a handler that panicked while holding it leaves it usable.
fn lock(members: &State) -> MutexGuard<'_, Members> {
    members.lock().unwrap_or_else(PoisonError::into_inner)
}
