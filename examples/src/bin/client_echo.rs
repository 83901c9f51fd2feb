//! Connects to a Socket.IO server, emits `echo` with `{"hello":"world"}` and an ack, prints
//! the ack's arguments as one line of JSON and exits 0; exits 1 with a message when it cannot
//! connect within 5 s or gets no answer.
//!
//!     cargo run --release -p polysocket-examples --bin client_echo -- http://localhost:3000

use std::process::ExitCode;
use std::time::Duration;

use polysocket::Value;
use polysocket::client::{self, ClientOptions};

#[tokio::main]
async fn main() -> ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: client_echo URL   (e.g. http://localhost:3000)");
        return ExitCode::from(2);
    };
    let options = ClientOptions {
        manager: client::ManagerConfig {
            reconnection: false,
            ..client::ManagerConfig::default()
        },
        ..ClientOptions::default()
    };
    let socket = match client::connect(&url, options) {
        Ok(socket) => socket,
        Err(error) => {
            eprintln!("client_echo: {error}");
            return ExitCode::from(1);
        }
    };
    if let Err(error) = socket.wait_connected(Duration::from_secs(5)).await {
        eprintln!("client_echo: cannot connect to {url}: {error}");
        return ExitCode::from(1);
    }
    let payload = serde_json::json!({ "hello": "world" });
    let payload = polysocket::to_value(&payload).expect("JSON is a value");
    match socket
        .emit_with_ack_timeout("echo", vec![payload], Duration::from_secs(5))
        .await
    {
        Ok(args) => {
            println!("{}", Value::Array(args));
            socket.client().close();
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("client_echo: no answer to echo: {error}");
            ExitCode::from(1)
        }
    }
}
