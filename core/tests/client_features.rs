//! Client features against npm socket.io 4.8 (`tests/interop/reference-server.js`): volatile
//! emits, catch-all listeners, `off`, `timeout` emits, the manager's events, connection
//! sharing (`forceNew` / `multiplex`) and the cookie jar (`withCredentials`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use polysocket::client::{self, ClientError, ManagerNotice};
use polysocket::{Transport, Value};

mod foreign;

use foreign::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volatile_emits_are_dropped_offline_and_delivered_online() {
    let server = NodeServer::start(&[]).await;
    for (name, transports) in setups() {
        let socket = client::connect(&server.url("/"), options(&transports)).unwrap();
        let echoed = collect(&socket, "echo");
        // Not connected yet: a volatile emit is dropped, a plain one is buffered.
        socket
            .emit_volatile("echo", vec![Value::from("dropped")])
            .unwrap();
        socket.emit("echo", "buffered").unwrap();
        connect_now(&socket).await.unwrap();
        until("the buffered echo", || !echoed.lock().unwrap().is_empty()).await;
        socket
            .emit_volatile("echo", vec![Value::from("online")])
            .unwrap();
        until("the volatile echo", || echoed.lock().unwrap().len() == 2).await;
        assert_eq!(
            *echoed.lock().unwrap(),
            vec![vec![Value::from("buffered")], vec![Value::from("online")]],
            "{name}"
        );
        socket.client().close();
    }
}

/// An event name and its arguments, as `on_any_outgoing` sees them.
type Emitted = (String, Vec<Value>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catch_all_listeners_off_and_timeout_emits() {
    let server = NodeServer::start(&[]).await;
    let socket = client::connect(&server.url("/"), options(&[Transport::WebSocket])).unwrap();
    let incoming: Arc<Mutex<Vec<String>>> = Arc::default();
    let outgoing: Arc<Mutex<Vec<Emitted>>> = Arc::default();
    let sink = incoming.clone();
    socket.on_any(move |_, event, _| sink.lock().unwrap().push(event.to_owned()));
    let sink = outgoing.clone();
    socket.on_any_outgoing(move |_, event, args| {
        sink.lock().unwrap().push((event.to_owned(), args.to_vec()));
    });
    let echoed = collect(&socket, "echo");
    connect_now(&socket).await.unwrap();
    until("welcome", || {
        incoming.lock().unwrap().contains(&"welcome".to_owned())
    })
    .await;

    socket.emit("echo", "one").unwrap();
    until("echo back", || echoed.lock().unwrap().len() == 1).await;
    assert_eq!(
        *outgoing.lock().unwrap(),
        vec![("echo".to_owned(), vec![Value::from("one")])]
    );
    assert_eq!(*incoming.lock().unwrap(), ["welcome", "echo"]);

    // `off` removes the event's listeners; catch-all listeners still see it.
    socket.off("echo");
    socket.emit("echo", "two").unwrap();
    until("second echo seen by onAny", || {
        incoming.lock().unwrap().len() == 3
    })
    .await;
    assert_eq!(echoed.lock().unwrap().len(), 1);

    // `forbidden` is refused by the server's packet middleware: its ack never comes.
    let started = std::time::Instant::now();
    let answer = socket
        .emit_with_ack_timeout("forbidden", vec![], Duration::from_millis(300))
        .await;
    assert_eq!(answer, Err(ClientError::AckTimeout));
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(socket.connected());
    socket.client().close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_attempts_errors_and_failure_are_reported() {
    // A port where nothing listens: bind one, note it, free it.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut opts = options(&[Transport::WebSocket]);
    opts.manager.reconnection_attempts = Some(2);
    opts.manager.reconnection_delay = Duration::from_millis(50);
    opts.manager.reconnection_delay_max = Duration::from_millis(100);
    let socket = client::connect(&format!("http://127.0.0.1:{port}/"), opts).unwrap();
    let notices: Arc<Mutex<Vec<ManagerNotice>>> = Arc::default();
    let sink = notices.clone();
    socket
        .client()
        .on_manager_event(move |notice| sink.lock().unwrap().push(notice.clone()));
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = errors.clone();
    socket.on_connect_error(move |_, message, _| sink.lock().unwrap().push(message.to_owned()));
    socket.connect();
    until("reconnect_failed", || {
        notices
            .lock()
            .unwrap()
            .contains(&ManagerNotice::ReconnectFailed)
    })
    .await;
    let kinds: Vec<&str> = notices
        .lock()
        .unwrap()
        .iter()
        .map(|notice| match notice {
            ManagerNotice::Error(_) => "error",
            ManagerNotice::ReconnectAttempt(_) => "reconnect_attempt",
            ManagerNotice::ReconnectError(_) => "reconnect_error",
            ManagerNotice::ReconnectFailed => "reconnect_failed",
            _ => "other",
        })
        .collect();
    // socket.io-client 4.8's order: every failed open is `error`; a failed attempt schedules
    // the next one (or gives up: `reconnect_failed`) before it reports `reconnect_error`.
    assert_eq!(
        kinds,
        [
            "error",
            "reconnect_attempt",
            "error",
            "reconnect_error",
            "reconnect_attempt",
            "error",
            "reconnect_failed",
            "reconnect_error"
        ]
    );
    let attempts: Vec<u32> = notices
        .lock()
        .unwrap()
        .iter()
        .filter_map(|n| match n {
            ManagerNotice::ReconnectAttempt(k) => Some(*k),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, [1, 2]);
    // One connect_error per failed open, as socket.io-client's sockets hear every `error`.
    assert_eq!(errors.lock().unwrap().len(), 3);
    assert!(!socket.connected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_share_a_connection_unless_force_new() {
    let server = NodeServer::start(&[]).await;
    let opts = || options(&[Transport::WebSocket]);
    let main = client::connect(&server.url("/"), opts()).unwrap();
    let custom = client::connect(&server.url("/custom"), opts()).unwrap();
    connect_now(&main).await.unwrap();
    connect_now(&custom).await.unwrap();
    assert!(main.client().same_connection(custom.client()));
    assert_eq!(main.client().engine_id(), custom.client().engine_id());
    assert!(main.client().engine_id().is_some());

    // The same namespace again gets a connection of its own, as does `force_new`, and
    // `multiplex: false`.
    let again = client::connect(&server.url("/"), opts()).unwrap();
    let forced = client::connect(
        &server.url("/custom"),
        client::ClientOptions {
            force_new: true,
            ..opts()
        },
    )
    .unwrap();
    let unshared = client::connect(
        &server.url("/custom"),
        client::ClientOptions {
            multiplex: false,
            ..opts()
        },
    )
    .unwrap();
    for other in [&again, &forced, &unshared] {
        connect_now(other).await.unwrap();
        assert!(!other.client().same_connection(main.client()));
        assert_ne!(other.client().engine_id(), main.client().engine_id());
    }
    // Both sockets work over the shared connection.
    for socket in [&main, &custom] {
        let answer = socket
            .emit_with_ack("echo", vec![Value::from(socket.nsp())])
            .await
            .unwrap();
        assert_eq!(answer, vec![Value::from(socket.nsp())]);
    }
    // Once a namespace's socket disconnected, `connect` may reuse the connection for it.
    custom.disconnect();
    let custom_again = client::connect(&server.url("/custom"), opts()).unwrap();
    assert!(custom_again.client().same_connection(main.client()));
    for client in [&main, &again, &forced, &unshared] {
        client.client().close();
    }
}

/// Cookie headers of every request the server saw, in order, next to the request's `sid`.
type SeenCookies = Arc<Mutex<Vec<(Option<String>, Option<String>)>>>;

/// A polysocket server with `cookie: true`, mounted in axum behind a layer that records the
/// `Cookie` header of every Engine.IO request.
async fn cookie_recording_server() -> (polysocket::Server, u16, SeenCookies) {
    let io = polysocket::Server::with_config(polysocket::ServerConfig {
        cookie: Some(polysocket::CookieConfig::default()),
        ..polysocket::ServerConfig::default()
    });
    io.on_connection(|socket| {
        socket.on("echo", |_, mut event| {
            if let Some(ack) = event.ack() {
                let _ = ack.send_args(event.args);
            }
        });
    });
    let seen: SeenCookies = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new()
        .route_service("/socket.io/", io.service())
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let cookie = request
                    .headers()
                    .get("cookie")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let sid = request.uri().query().and_then(|q| {
                    q.split('&')
                        .find_map(|pair| pair.strip_prefix("sid="))
                        .map(str::to_owned)
                });
                log.lock().unwrap().push((sid, cookie));
                next.run(request)
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (io, port, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_credentials_sends_the_servers_cookies_back() {
    let (_io, port, seen) = cookie_recording_server().await;
    let url = format!("http://127.0.0.1:{port}/");
    let mut opts = options(&[Transport::Polling, Transport::WebSocket]);
    opts.with_credentials = true;
    let socket = client::connect(&url, opts).unwrap();
    connect_now(&socket).await.unwrap();
    let answer = socket
        .emit_with_ack("echo", vec![Value::from("with cookies")])
        .await
        .unwrap();
    assert_eq!(answer, vec![Value::from("with cookies")]);
    let engine_id = socket.client().engine_id().unwrap();
    until("the upgrade request", || {
        seen.lock()
            .unwrap()
            .iter()
            .filter(|(sid, _)| sid.is_some())
            .count()
            >= 3
    })
    .await;
    let seen = seen.lock().unwrap().clone();
    // The handshake carries none; every later request (polls, posts, the WebSocket
    // upgrade) carries the `io` cookie the handshake set.
    assert_eq!(seen[0], (None, None));
    let expected = format!("io={engine_id}");
    for (sid, cookie) in &seen[1..] {
        assert_eq!(sid.as_deref(), Some(engine_id.as_str()));
        assert_eq!(cookie.as_deref(), Some(expected.as_str()), "{seen:?}");
    }
    socket.client().close();

    // Without `withCredentials`, nothing is sent back.
    let (_io, port, seen) = cookie_recording_server().await;
    let socket = client::connect(
        &format!("http://127.0.0.1:{port}/"),
        options(&[Transport::Polling]),
    )
    .unwrap();
    connect_now(&socket).await.unwrap();
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .all(|(_, cookie)| cookie.is_none())
    );
    socket.client().close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_credentials_works_with_the_node_servers_cookie() {
    let server = NodeServer::start(&[("COOKIE", "1")]).await;
    for (name, transports) in setups() {
        let mut opts = options(&transports);
        opts.with_credentials = true;
        let socket = client::connect(&server.url("/"), opts).unwrap();
        connect_now(&socket).await.unwrap();
        let answer = socket
            .emit_with_ack("echo", vec![Value::from(name)])
            .await
            .unwrap();
        assert_eq!(answer, vec![Value::from(name)]);
        socket.client().close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_listeners_get_the_ack_before_named_listeners() {
    let server = NodeServer::start(&[]).await;
    let socket = client::connect(&server.url("/"), options(&[Transport::WebSocket])).unwrap();
    let every: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = every.clone();
    socket.on_every_event(move |_, mut event| {
        sink.lock().unwrap().push(event.name.clone());
        if let Some(ack) = event.ack() {
            ack.send_args(event.args.clone());
        }
    });
    // A named listener of the same event runs too, without the ack handle.
    let named_had_ack: Arc<Mutex<Option<bool>>> = Arc::default();
    let sink = named_had_ack.clone();
    socket.on("question", move |_, mut event| {
        *sink.lock().unwrap() = Some(event.ack().is_some());
    });
    connect_now(&socket).await.unwrap();
    let answer = socket
        .emit_with_ack_timeout("ask-client", vec![Value::from(7)], Duration::from_secs(3))
        .await
        .unwrap();
    // The server acks `ask-client` with what the client answered to its `question`.
    assert_eq!(answer, vec![Value::from(7)]);
    assert_eq!(*named_had_ack.lock().unwrap(), Some(false));
    assert!(every.lock().unwrap().contains(&"welcome".to_owned()));
    assert!(every.lock().unwrap().contains(&"question".to_owned()));
    socket.client().close();
}

/// On one thread the driver would drop the polling transport before its writer task could
/// POST the closing packets: the server must still hear the client's DISCONNECT.
#[tokio::test(flavor = "current_thread")]
async fn a_client_disconnect_over_polling_reaches_the_server() {
    let io = polysocket::Server::new();
    let reasons: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = reasons.clone();
    io.on_connection(move |socket| {
        let sink = sink.clone();
        socket.on_disconnect(move |_, reason| sink.lock().unwrap().push(reason.to_string()));
    });
    let addr = io.listen("127.0.0.1:0").await.unwrap();
    let socket =
        client::connect(&format!("http://{addr}/"), options(&[Transport::Polling])).unwrap();
    connect_now(&socket).await.unwrap();
    socket.disconnect();
    until("the server hears the disconnect", || {
        !reasons.lock().unwrap().is_empty()
    })
    .await;
    assert_eq!(*reasons.lock().unwrap(), ["client namespace disconnect"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_current_transport_is_reported_and_follows_the_upgrade() {
    let server = NodeServer::start(&[]).await;
    let polling = client::connect(&server.url("/"), options(&[Transport::Polling])).unwrap();
    connect_now(&polling).await.unwrap();
    assert_eq!(polling.client().transport(), Some(Transport::Polling));
    polling.client().close();

    let upgrading = client::connect(
        &server.url("/"),
        options(&[Transport::Polling, Transport::WebSocket]),
    )
    .unwrap();
    connect_now(&upgrading).await.unwrap();
    until("the upgrade to WebSocket", || {
        upgrading.client().transport() == Some(Transport::WebSocket)
    })
    .await;
    upgrading.client().close();
}

/// engine.io's `upgrade` event, through `socket.conn()`, as the socket.io docs use it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_hears_the_upgrade_of_a_sockets_connection() {
    let io = polysocket::Server::new();
    let seen: Arc<Mutex<Vec<(Transport, Transport)>>> = Arc::default();
    let sink = seen.clone();
    io.on_connection(move |socket| {
        let sink = sink.clone();
        let before = socket.transport();
        socket
            .conn()
            .on_upgrade(move |transport| sink.lock().unwrap().push((before, transport)));
    });
    let addr = io.listen("127.0.0.1:0").await.unwrap();
    let socket = client::connect(
        &format!("http://{addr}/"),
        options(&[Transport::Polling, Transport::WebSocket]),
    )
    .unwrap();
    connect_now(&socket).await.unwrap();
    until("the upgrade is heard", || !seen.lock().unwrap().is_empty()).await;
    assert_eq!(
        *seen.lock().unwrap(),
        [(Transport::Polling, Transport::WebSocket)]
    );
    socket.client().close();
}

/// socket.io-client's `auth` belongs to each socket: two namespaces on one connection send
/// their own, on the first connection and again after a reconnection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_sharing_a_connection_send_their_own_auth_and_keep_it_on_reconnect() {
    let io = polysocket::Server::new();
    let seen: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    for nsp in ["/", "/admin"] {
        let sink = seen.clone();
        io.of(nsp).on_connection(move |socket| {
            sink.lock()
                .unwrap()
                .push((socket.ns().to_owned(), socket.handshake().auth().clone()));
        });
    }
    let addr = io.listen("127.0.0.1:0").await.unwrap();
    let mut opts = options(&[Transport::WebSocket]);
    opts.manager.reconnection_delay = Duration::from_millis(50);
    opts.manager.reconnection_delay_max = Duration::from_millis(100);
    let main = client::connect(&format!("http://{addr}/"), opts.clone()).unwrap();
    let admin = client::connect(&format!("http://{addr}/admin"), opts).unwrap();
    assert!(main.client().same_connection(admin.client()));
    main.set_auth(json(r#"{"token":"main"}"#));
    admin.set_auth(json(r#"{"token":"admin"}"#));
    connect_now(&main).await.unwrap();
    connect_now(&admin).await.unwrap();
    let expected = |n: usize| {
        let mut all = Vec::new();
        for _ in 0..n {
            all.push(("/".to_owned(), json(r#"{"token":"main"}"#)));
            all.push(("/admin".to_owned(), json(r#"{"token":"admin"}"#)));
        }
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    };
    let sorted = |seen: &Arc<Mutex<Vec<(String, Value)>>>| {
        let mut all = seen.lock().unwrap().clone();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    };
    until("both namespaces connected", || {
        seen.lock().unwrap().len() == 2
    })
    .await;
    assert_eq!(sorted(&seen), expected(1));

    // The server closes the connection: both sockets reconnect, each with its own auth.
    let server_socket = io.of("/").sockets().into_iter().next().unwrap();
    server_socket.conn().close();
    until("both namespaces reconnected", || {
        seen.lock().unwrap().len() == 4
    })
    .await;
    assert_eq!(sorted(&seen), expected(2));
    main.client().close();
}
