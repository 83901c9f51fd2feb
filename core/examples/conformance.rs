//! The server the official protocol test suites expect on port 3000.
//!
//! `conformance engineio` serves socketio/engine.io-protocol's `test-suite/` (path
//! `/engine.io/`, every message echoed); `conformance socketio` serves
//! socketio/socket.io-protocol's (path `/socket.io/`, namespaces `/` and `/custom`). Both use
//! pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1e6 and CORS origin `*`.

use std::time::Duration;

use polysocket::{Cors, Server, ServerConfig, Socket};

fn config(path: &str) -> ServerConfig {
    ServerConfig {
        path: path.to_owned(),
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(200),
        connect_timeout: Duration::from_millis(1000),
        max_http_buffer_size: 1_000_000,
        cors: Some(Cors::any()),
        ..ServerConfig::default()
    }
}

fn emit_auth(socket: &Socket) {
    let _ = socket.emit("auth", socket.handshake().auth().clone());
}

fn socketio_server() -> Server {
    let io = Server::with_config(config("/socket.io/"));
    io.on_connection(|socket| {
        emit_auth(&socket);
        socket.on("message", |socket, event| {
            let _ = socket.emit_args("message-back", event.args);
        });
        socket.on("message-with-ack", |_, mut event| {
            if let Some(ack) = event.ack() {
                let _ = ack.send_args(event.args);
            }
        });
    });
    io.of("/custom").on_connection(|socket| emit_auth(&socket));
    io
}

fn engineio_server() -> Server {
    let io = Server::with_config(config("/engine.io/"));
    io.on_engine_message(|socket, message| {
        let _ = socket.send(message);
    });
    io
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let suite = std::env::args().nth(1).unwrap_or_default();
    let io = match suite.as_str() {
        "engineio" => engineio_server(),
        "socketio" => socketio_server(),
        _ => {
            eprintln!("usage: conformance engineio|socketio");
            std::process::exit(2);
        }
    };
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    // `localhost` may resolve to ::1 or 127.0.0.1: listen on both when IPv6 is available.
    let addr = match io.listen(format!("[::]:{port}")).await {
        Ok(addr) => addr,
        Err(_) => io.listen(format!("0.0.0.0:{port}")).await?,
    };
    println!("LISTENING {}", addr.port());
    tokio::signal::ctrl_c().await?;
    io.close().await;
    Ok(())
}
