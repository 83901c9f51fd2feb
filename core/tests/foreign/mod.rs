//! Foreign servers for the client tests (npm socket.io's `tests/interop/reference-server.js`
//! and python-socketio's `tests/interop/servers/python_server.py`) and shared client helpers.

#![allow(dead_code, unreachable_pub)]

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use polysocket::client::{ClientError, ClientOptions, ClientSocket, DisconnectReason};
use polysocket::{Transport, Value};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

pub const WAIT: Duration = Duration::from_secs(5);

/// A `connect_error`'s message and data.
pub type ConnectErrorSeen = (String, Option<Value>);

/// A running foreign server (npm socket.io or python-socketio); killed on drop.
pub struct NodeServer {
    child: Child,
    pub port: u16,
}

impl NodeServer {
    /// `tests/interop/reference-server.js` with `env`.
    pub async fn start(env: &[(&str, &str)]) -> NodeServer {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/interop/reference-server.js"
        );
        NodeServer::spawn("node", script, env).await
    }

    /// python-socketio's AsyncServer, run by the repository's `.venv`.
    pub async fn start_python() -> NodeServer {
        let python = concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/python");
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/interop/servers/python_server.py"
        );
        NodeServer::spawn(python, script, &[]).await
    }

    pub async fn spawn(program: &str, script: &str, env: &[(&str, &str)]) -> NodeServer {
        let mut command = Command::new(program);
        command
            .arg(script)
            .env("PORT", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{program} runs (scripts/setup.sh installs it): {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let port = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                if let Some(port) = line.strip_prefix("LISTENING ") {
                    return port.trim().parse::<u16>().expect("port");
                }
            }
            panic!("{script} exited before listening");
        })
        .await
        .unwrap_or_else(|_| panic!("{script} listens within 10 s"));
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        NodeServer { child, port }
    }

    pub fn url(&self, nsp: &str) -> String {
        format!("http://127.0.0.1:{}{nsp}", self.port)
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

pub fn setups() -> [(&'static str, Vec<Transport>); 3] {
    [
        ("websocket", vec![Transport::WebSocket]),
        ("polling", vec![Transport::Polling]),
        (
            "polling+upgrade",
            vec![Transport::Polling, Transport::WebSocket],
        ),
    ]
}

/// Options for a test client. `auto_connect` is off: a test registers its handlers, then
/// connects (`connect_now`), so that no early event can slip past them.
pub fn options(transports: &[Transport]) -> ClientOptions {
    ClientOptions {
        transports: transports.to_vec(),
        ack_timeout: WAIT,
        auto_connect: false,
        ..ClientOptions::default()
    }
}

/// Connects `socket` and waits until it is connected.
pub async fn connect_now(socket: &ClientSocket) -> Result<(), ClientError> {
    socket.connect();
    socket.wait_connected(WAIT).await
}

pub fn json(text: &str) -> Value {
    let value: serde_json::Value = serde_json::from_str(text).expect("JSON");
    polysocket::to_value(&value).expect("value")
}

/// Collects the arguments of every `event` the socket receives.
pub fn collect(socket: &ClientSocket, event: &str) -> Arc<Mutex<Vec<Vec<Value>>>> {
    let got: Arc<Mutex<Vec<Vec<Value>>>> = Arc::default();
    let sink = got.clone();
    socket.on(event, move |_, event| sink.lock().unwrap().push(event.args));
    got
}

/// Records every disconnect reason of `socket`.
pub fn disconnect_reasons(socket: &ClientSocket) -> Arc<Mutex<Vec<DisconnectReason>>> {
    let reasons: Arc<Mutex<Vec<DisconnectReason>>> = Arc::default();
    let sink = reasons.clone();
    socket.on_disconnect(move |_, reason| sink.lock().unwrap().push(reason));
    reasons
}

pub async fn until(what: &str, mut done: impl FnMut() -> bool) {
    tokio::time::timeout(WAIT, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what} within {WAIT:?}"));
}
