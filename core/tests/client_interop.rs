//! The native client against npm `socket.io` 4.8 (`tests/interop/reference-server.js`, the
//! server of `tests/interop/CONTRACT.md`) and PyPI python-socketio's AsyncServer
//! (`tests/interop/servers/python_server.py`) over real sockets, with each transport setup.
//! Needs `node`, `tests/interop/node_modules` and `.venv` (`scripts/setup.sh` installs them).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use polysocket::client::{self, ClientError, DisconnectReason};
use polysocket::{Transport, Value};

mod foreign;

use foreign::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_acks_binary_and_namespaces_over_each_transport() {
    let server = NodeServer::start(&[]).await;
    for (name, transports) in setups() {
        let mut opts = options(&transports);
        opts.auth = json(r#"{"token":"t-1"}"#);
        let socket = client::connect(&server.url("/"), opts).unwrap();
        let welcome = collect(&socket, "welcome");
        connect_now(&socket).await.unwrap();
        until("welcome", || !welcome.lock().unwrap().is_empty()).await;
        let id = socket.id().expect("id");
        assert_eq!(
            welcome.lock().unwrap()[0],
            vec![json(&format!(
                r#"{{"id":"{id}","auth":{{"token":"t-1"}}}}"#
            ))],
            "{name}"
        );

        // An ack with binary nested in the arguments.
        let bytes = Value::Binary(bytes::Bytes::from_static(&[0, 1, 2, 255]));
        let mut nested = polysocket::Map::new();
        nested.insert("file".into(), bytes.clone());
        let args = vec![Value::from("text"), Value::Object(nested), bytes];
        let answer = socket.emit_with_ack("echo", args.clone()).await.unwrap();
        assert_eq!(answer, args, "{name}");

        // Without ack the server emits the event back.
        let echoed = collect(&socket, "echo");
        socket.emit("echo", "plain").unwrap();
        until("echo back", || !echoed.lock().unwrap().is_empty()).await;
        assert_eq!(echoed.lock().unwrap()[0], vec![Value::from("plain")]);

        // The server's own emitWithAck, answered by a client handler.
        socket.on("question", |_, mut event| {
            let answer = json(r#"{"answered":true}"#);
            if let Some(ack) = event.ack() {
                ack.send_args(vec![answer]);
            }
        });
        let answer = socket
            .emit_with_ack("ask-client", vec![Value::from(1)])
            .await;
        assert_eq!(
            answer.unwrap(),
            vec![json(r#"{"answered":true}"#)],
            "{name}"
        );

        // A second namespace multiplexed on the same connection.
        let custom = socket.client().socket("/custom");
        let welcome = collect(&custom, "welcome");
        connect_now(&custom).await.unwrap();
        until("custom welcome", || !welcome.lock().unwrap().is_empty()).await;
        let custom_id = custom.id().unwrap();
        assert_ne!(custom_id, id);
        assert_eq!(
            welcome.lock().unwrap()[0],
            vec![json(&format!(r#"{{"id":"{custom_id}","nsp":"/custom"}}"#))]
        );

        // Rooms through the server.
        let rooms = socket
            .emit_with_ack("join", vec![Value::from("r1")])
            .await
            .unwrap();
        let mut expected = vec![id.clone(), "r1".to_owned()];
        expected.sort();
        assert_eq!(
            rooms,
            vec![Value::Array(
                expected.into_iter().map(Value::from).collect()
            )]
        );
        socket.client().close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_and_disconnect_reasons() {
    let server = NodeServer::start(&[]).await;
    for (name, transports) in setups() {
        let mut opts = options(&transports);
        opts.auth = json(r#"{"token":"bad"}"#);
        let refused = client::connect(&server.url("/"), opts).unwrap();
        let errors: Arc<Mutex<Vec<ConnectErrorSeen>>> = Arc::default();
        let sink = errors.clone();
        refused.on_connect_error(move |_, message, data| {
            sink.lock()
                .unwrap()
                .push((message.to_owned(), data.cloned()));
        });
        assert_eq!(
            connect_now(&refused).await,
            Err(ClientError::ConnectError("unauthorized".into())),
            "{name}"
        );
        assert_eq!(
            errors.lock().unwrap()[0],
            ("unauthorized".to_owned(), Some(json(r#"{"code":401}"#)))
        );
        refused.client().close();

        let nowhere = client::connect(&server.url("/nowhere"), options(&transports)).unwrap();
        assert_eq!(
            connect_now(&nowhere).await,
            Err(ClientError::ConnectError("Invalid namespace".into()))
        );
        nowhere.client().close();

        // `socket.disconnect()` on the server: no reconnection.
        let socket = client::connect(&server.url("/"), options(&transports)).unwrap();
        let reasons = disconnect_reasons(&socket);
        connect_now(&socket).await.unwrap();
        socket.emit_args("server-disconnect", vec![]).unwrap();
        until("io server disconnect", || {
            !reasons.lock().unwrap().is_empty()
        })
        .await;
        assert_eq!(
            *reasons.lock().unwrap(),
            [DisconnectReason::IoServerDisconnect],
            "{name}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!socket.connected());
        socket.client().close();

        // `socket.disconnect(true)`: DISCONNECT first, so `io server disconnect` too.
        let socket = client::connect(&server.url("/"), options(&transports)).unwrap();
        let reasons = disconnect_reasons(&socket);
        connect_now(&socket).await.unwrap();
        socket.emit_args("server-close", vec![]).unwrap();
        until("io server disconnect", || {
            !reasons.lock().unwrap().is_empty()
        })
        .await;
        assert_eq!(
            *reasons.lock().unwrap(),
            [DisconnectReason::IoServerDisconnect]
        );
        socket.client().close();

        // `socket.conn.close()`: the connection drops, the client reconnects.
        let mut opts = options(&transports);
        opts.manager.reconnection_delay = Duration::from_millis(100);
        opts.manager.randomization_factor = 0.0;
        let socket = client::connect(&server.url("/"), opts).unwrap();
        let reasons = disconnect_reasons(&socket);
        let connects = Arc::new(Mutex::new(0));
        let counter = connects.clone();
        socket.on_connect(move |_| *counter.lock().unwrap() += 1);
        connect_now(&socket).await.unwrap();
        socket.emit_args("kill-transport", vec![]).unwrap();
        until(&format!("transport close ({name})"), || {
            !reasons.lock().unwrap().is_empty()
        })
        .await;
        assert_eq!(*reasons.lock().unwrap(), [DisconnectReason::TransportClose]);
        until("reconnected", || *connects.lock().unwrap() == 2).await;
        assert!(socket.connected());
        socket.client().close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_state_recovery_with_the_node_server() {
    let server = NodeServer::start(&[("RECOVERY", "1")]).await;
    for (name, transports) in setups() {
        let mut opts = options(&transports);
        opts.manager.reconnection_delay = Duration::from_millis(300);
        opts.manager.randomization_factor = 0.0;
        let socket = client::connect(&server.url("/"), opts).unwrap();
        connect_now(&socket).await.unwrap();
        assert!(!socket.recovered());
        let first_id = socket.id().unwrap();
        let room = format!("rec-{name}");
        socket
            .emit_with_ack("join", vec![Value::from(room.as_str())])
            .await
            .unwrap();
        let observer = client::connect(&server.url("/"), options(&transports)).unwrap();
        connect_now(&observer).await.unwrap();

        let missed = collect(&socket, "missed");
        let down = Arc::new(Mutex::new(false));
        let flag = down.clone();
        socket.on_disconnect(move |_, _| *flag.lock().unwrap() = true);
        socket.emit_args("kill-transport", vec![]).unwrap();
        until("disconnected", || *down.lock().unwrap()).await;
        observer
            .emit_with_ack(
                "to-room",
                vec![
                    Value::from(room.as_str()),
                    Value::from("missed"),
                    Value::from(7),
                ],
            )
            .await
            .unwrap();
        until("recovered", || socket.connected()).await;
        assert!(socket.recovered(), "{name}");
        assert_eq!(socket.id().unwrap(), first_id);
        until("missed event", || !missed.lock().unwrap().is_empty()).await;
        let got = missed.lock().unwrap()[0].clone();
        assert_eq!(got[0], Value::from(7), "{name}: {got:?}");
        assert!(
            matches!(got.get(1), Some(Value::String(_))),
            "the offset follows"
        );
        socket.client().close();
        observer.client().close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_the_server_restarts_on_the_same_port() {
    let first = NodeServer::start(&[]).await;
    let port = first.port.to_string();
    let mut opts = options(&[Transport::WebSocket]);
    opts.manager.reconnection_delay = Duration::from_millis(200);
    opts.manager.reconnection_delay_max = Duration::from_millis(400);
    let socket = client::connect(&first.url("/"), opts).unwrap();
    let notices: Arc<Mutex<Vec<client::ManagerNotice>>> = Arc::default();
    let sink = notices.clone();
    socket
        .client()
        .on_manager_event(move |notice| sink.lock().unwrap().push(notice.clone()));
    connect_now(&socket).await.unwrap();
    let first_id = socket.id().unwrap();
    drop(first);
    until("disconnected", || !socket.connected()).await;
    // Let an attempt fail while nothing listens, then come back on the same port.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _second = NodeServer::start(&[("PORT", port.as_str())]).await;
    until("reconnected", || socket.connected()).await;
    assert_ne!(socket.id().unwrap(), first_id);
    let notices = notices.lock().unwrap().clone();
    assert!(
        notices
            .iter()
            .any(|n| matches!(n, client::ManagerNotice::ReconnectAttempt(_))),
        "{notices:?}"
    );
    assert!(
        notices
            .iter()
            .any(|n| matches!(n, client::ManagerNotice::Reconnect(_))),
        "{notices:?}"
    );
    // Emits made while away were buffered and go out now.
    let answer = socket
        .emit_with_ack("echo", vec![Value::from("after restart")])
        .await
        .unwrap();
    assert_eq!(answer, vec![Value::from("after restart")]);
}

/// The client against polysocket's own server: many short connections over each setup, so
/// that connects land at every point of the polling→websocket upgrade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_short_connections_to_a_polysocket_server_across_the_upgrade() {
    let io = polysocket::Server::new();
    io.on_connection(|socket| {
        let _ = socket.emit("welcome", socket.id());
        socket.on("echo", |_, mut event| {
            if let Some(ack) = event.ack() {
                let _ = ack.send_args(event.args);
            }
        });
    });
    let addr = io.listen("127.0.0.1:0").await.unwrap();
    let url = format!("http://{addr}");
    for (name, transports) in setups() {
        for round in 0..20 {
            let socket = client::connect(&url, options(&transports)).unwrap();
            connect_now(&socket).await.unwrap();
            let answer = socket
                .emit_with_ack("echo", vec![Value::from(round)])
                .await
                .unwrap_or_else(|e| panic!("{name} round {round}: {e}"));
            assert_eq!(answer, vec![Value::from(round)]);
            socket.client().close();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_a_python_socketio_server() {
    let server = NodeServer::start_python().await;
    for (name, transports) in setups() {
        let mut opts = options(&transports);
        opts.auth = json(r#"{"token":"py"}"#);
        let socket = client::connect(&server.url("/"), opts).unwrap();
        // python-socketio emits `welcome` from its connect handler, before the CONNECT
        // reply: the client holds it until it is connected.
        let welcome = collect(&socket, "welcome");
        connect_now(&socket).await.unwrap();
        until("welcome", || !welcome.lock().unwrap().is_empty()).await;
        let id = socket.id().unwrap();
        assert_eq!(
            welcome.lock().unwrap()[0],
            vec![json(&format!(r#"{{"id":"{id}","auth":{{"token":"py"}}}}"#))],
            "{name}"
        );

        let bytes = Value::Binary(bytes::Bytes::from_static(b"\x00py\xff"));
        let mut nested = polysocket::Map::new();
        nested.insert("blob".into(), bytes.clone());
        let args = vec![Value::from(1.5), Value::Object(nested), bytes];
        assert_eq!(
            socket.emit_with_ack("echo", args.clone()).await.unwrap(),
            args,
            "{name}"
        );

        let echoed = collect(&socket, "echo");
        socket
            .emit_args("echo", vec![Value::from("back"), Value::from("no-ack")])
            .unwrap();
        until("echo back", || !echoed.lock().unwrap().is_empty()).await;
        assert_eq!(
            echoed.lock().unwrap()[0],
            vec![Value::Array(vec![Value::from("back")])]
        );

        socket.on("question", |_, mut event| {
            let n = event.args.first().and_then(Value::as_u64).unwrap_or(0);
            if let Some(ack) = event.ack() {
                ack.send_args(vec![Value::from(n * 2)]);
            }
        });
        assert_eq!(
            socket
                .emit_with_ack("ask-client", vec![Value::from(21)])
                .await
                .unwrap(),
            vec![Value::from(42)],
            "{name}"
        );

        let custom = socket.client().socket("/custom");
        let custom_welcome = collect(&custom, "welcome");
        connect_now(&custom).await.unwrap();
        until("custom welcome", || {
            !custom_welcome.lock().unwrap().is_empty()
        })
        .await;

        let rooms = socket
            .emit_with_ack("join", vec![Value::from("py-room")])
            .await
            .unwrap();
        let mut expected = vec![id.clone(), "py-room".to_owned()];
        expected.sort();
        assert_eq!(
            rooms,
            vec![Value::Array(
                expected.into_iter().map(Value::from).collect()
            )]
        );

        let reasons = disconnect_reasons(&socket);
        socket.emit_args("server-disconnect", vec![]).unwrap();
        until("io server disconnect", || {
            !reasons.lock().unwrap().is_empty()
        })
        .await;
        assert_eq!(
            *reasons.lock().unwrap(),
            [DisconnectReason::IoServerDisconnect]
        );
        socket.client().close();

        let mut opts = options(&transports);
        opts.auth = json(r#"{"token":"bad"}"#);
        let refused = client::connect(&server.url("/"), opts).unwrap();
        assert_eq!(
            connect_now(&refused).await,
            Err(ClientError::ConnectError("unauthorized".into())),
            "{name}"
        );
        refused.client().close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_function_once_and_retries_with_the_node_server() {
    let server = NodeServer::start(&[]).await;
    let calls = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counter = calls.clone();
    let mut opts = options(&[Transport::WebSocket]);
    opts.auth_fn = Some(client::AuthFn::new(move || {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        json(&format!(r#"{{"token":"n-{n}"}}"#))
    }));
    opts.manager.reconnection_delay = Duration::from_millis(100);
    opts.manager.randomization_factor = 0.0;
    opts.manager.retries = 3;
    opts.ack_timeout = Duration::from_secs(2);
    let socket = client::connect(&server.url("/"), opts).unwrap();
    let welcomes = collect(&socket, "welcome");
    let first_only: Arc<Mutex<Vec<Vec<Value>>>> = Arc::default();
    let sink = first_only.clone();
    socket.once("welcome", move |_, event| {
        sink.lock().unwrap().push(event.args)
    });
    connect_now(&socket).await.unwrap();

    // With retries, emits go one at a time and each is acknowledged, in order.
    let mut answers = Vec::new();
    for i in 0..5 {
        let socket = socket.clone();
        answers.push(tokio::spawn(async move {
            socket.emit_with_ack("echo", vec![Value::from(i)]).await
        }));
    }
    for (i, answer) in answers.into_iter().enumerate() {
        assert_eq!(answer.await.unwrap().unwrap(), vec![Value::from(i as u64)]);
    }

    // A reconnection asks the auth function again.
    socket.emit_args("kill-transport", vec![]).unwrap();
    until("second welcome", || welcomes.lock().unwrap().len() == 2).await;
    let tokens: Vec<Value> = welcomes
        .lock()
        .unwrap()
        .iter()
        .map(|args| args[0].get("auth").cloned().unwrap_or_default())
        .collect();
    assert_eq!(
        tokens,
        [json(r#"{"token":"n-1"}"#), json(r#"{"token":"n-2"}"#)]
    );
    assert_eq!(first_only.lock().unwrap().len(), 1, "once");
    socket.client().close();
}
