//! engine.io's HTTP-level options: `allowRequest`, `cookie`, `httpCompression`, and `cors`
//! with an origin function.

mod common;

use std::io::Read as _;

use common::{SOCKET_PATH, TestServer, get, post, request_with};
use http::HeaderValue;
use polysocket::{
    AllowRequest, CookieConfig, Cors, CorsOrigin, HttpCompression, OriginPredicate,
    ResponseHeaders, Server, ServerConfig, Value,
};

async fn server_with(tweak: impl FnOnce(&mut ServerConfig)) -> TestServer {
    let mut config = common::config(SOCKET_PATH);
    tweak(&mut config);
    let io = Server::with_config(config);
    io.on_connection(|socket| {
        socket.on("big", |socket, event| {
            let size = event.args.first().and_then(Value::as_u64).unwrap_or(0) as usize;
            let _ = socket.emit("big", "x".repeat(size));
        });
        socket.on("big-uncompressed", |socket, event| {
            let size = event.args.first().and_then(Value::as_u64).unwrap_or(0) as usize;
            let _ = socket.compress(false).emit("big", "x".repeat(size));
        });
    });
    let addr = io.listen("127.0.0.1:0").await.expect("listen");
    TestServer {
        io,
        addr,
        path: SOCKET_PATH,
    }
}

/// The sid of a polling handshake body `0{"sid":"..",...}`.
fn sid_of(body: &str) -> String {
    let json: serde_json::Value = serde_json::from_str(&body[1..]).expect("handshake JSON");
    json["sid"].as_str().expect("sid").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_request_refuses_handshakes_with_403_and_engine_io_json() {
    let server = server_with(|config| {
        config.allow_request = Some(AllowRequest::new(|head| {
            match head.uri.query().unwrap_or_default().contains("let-me-in") {
                true => Ok(()),
                false => Err("not on the list".to_owned()),
            }
        }));
    })
    .await;
    let refused = get(server.addr, &server.polling("")).await;
    refused.assert(403, r#"{"code":4,"message":"not on the list"}"#);
    assert_eq!(refused.header("content-type"), Some("application/json"));
    let ws = tokio_tungstenite::connect_async(server.websocket_url("")).await;
    match ws {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403);
        }
        other => panic!("expected a 403 refusal, got {other:?}"),
    }
    // An allowed handshake opens a session; requests on it are not checked again.
    let body = get(server.addr, &server.polling("&let-me-in=1"))
        .await
        .poll_body();
    let sid = sid_of(&body);
    post(server.addr, &server.polling_sid(&sid), "40")
        .await
        .assert(200, "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_request_may_be_asynchronous() {
    let server = server_with(|config| {
        config.allow_request = Some(AllowRequest::new_async(|head| {
            let origin = head.headers.get("origin").cloned();
            async move {
                tokio::task::yield_now().await;
                match origin {
                    Some(origin) if origin == "https://good.example" => Ok(()),
                    _ => Err("bad origin".to_owned()),
                }
            }
        }));
    })
    .await;
    let good = request_with(
        server.addr,
        "GET",
        &server.polling(""),
        &[("Origin", "https://good.example")],
        b"",
    )
    .await;
    assert_eq!(good.status, 200);
    get(server.addr, &server.polling(""))
        .await
        .assert(403, r#"{"code":4,"message":"bad origin"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_reach_connection_error_listeners() {
    let server = server_with(|config| {
        config.allow_request = Some(AllowRequest::new(|head| {
            match head.uri.query().unwrap_or_default().contains("let-me-in") {
                true => Ok(()),
                false => Err("not on the list".to_owned()),
            }
        }));
    })
    .await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    server.io.on_connection_error(move |error| {
        let _ = tx.send(error.clone());
    });
    get(server.addr, &server.polling(""))
        .await
        .assert(403, r#"{"code":4,"message":"not on the list"}"#);
    let forbidden = rx.recv().await.expect("a report");
    assert_eq!(
        (forbidden.code, forbidden.message.as_str()),
        (4, "Forbidden")
    );
    assert_eq!(forbidden.context.as_deref(), Some("not on the list"));
    assert_eq!(forbidden.method, http::Method::GET);
    assert!(forbidden.url.starts_with(SOCKET_PATH), "{}", forbidden.url);

    get(server.addr, &server.polling_sid("no-such-session"))
        .await
        .assert(400, r#"{"code":1,"message":"Session ID unknown"}"#);
    let unknown = rx.recv().await.expect("a report");
    assert_eq!(
        (unknown.code, unknown.context.as_deref()),
        (1, Some("no-such-session"))
    );

    get(
        server.addr,
        &format!("{SOCKET_PATH}?EIO=3&transport=polling&let-me-in=1"),
    )
    .await
    .assert(
        400,
        r#"{"code":5,"message":"Unsupported protocol version"}"#,
    );
    assert_eq!(rx.recv().await.expect("a report").code, 5);

    // Accepted requests are not reported.
    let body = get(server.addr, &server.polling("&let-me-in=1"))
        .await
        .poll_body();
    post(server.addr, &server.polling_sid(&sid_of(&body)), "40")
        .await
        .assert(200, "ok");
    assert!(rx.try_recv().is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_carries_the_session_id_on_both_handshakes() {
    let server = server_with(|config| config.cookie = Some(CookieConfig::default())).await;
    let response = get(server.addr, &server.polling("")).await;
    let sid = sid_of(&response.poll_body());
    assert_eq!(
        response.header("set-cookie"),
        Some(format!("io={sid}; Path=/; HttpOnly; SameSite=Lax").as_str())
    );

    let (mut ws, response) = tokio_tungstenite::connect_async(server.websocket_url(""))
        .await
        .expect("websocket");
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    use futures_util::StreamExt as _;
    let open = ws.next().await.expect("open packet").expect("open packet");
    let sid = sid_of(open.to_text().unwrap());
    assert_eq!(cookie, format!("io={sid}; Path=/; HttpOnly; SameSite=Lax"));

    // A custom cookie, and none without the option.
    let custom = server_with(|config| {
        config.cookie = Some(CookieConfig {
            name: "session".to_owned(),
            path: None,
            http_only: false,
            max_age: Some(60),
            ..CookieConfig::default()
        });
    })
    .await;
    let response = get(custom.addr, &custom.polling("")).await;
    let sid = sid_of(&response.poll_body());
    assert_eq!(
        response.header("set-cookie"),
        Some(format!("session={sid}; Max-Age=60; SameSite=Lax").as_str())
    );
    let plain = server_with(|_| {}).await;
    assert_eq!(
        get(plain.addr, &plain.polling(""))
            .await
            .header("set-cookie"),
        None
    );
}

/// Opens a polling session joined to `/` and has the server emit a string of `size` bytes;
/// returns the raw response of the GET that carries it, sent with `accept_encoding`.
async fn big_poll(server: &TestServer, size: usize, accept_encoding: &str) -> common::HttpResponse {
    big_poll_of(server, "big", size, accept_encoding).await
}

async fn big_poll_of(
    server: &TestServer,
    event: &str,
    size: usize,
    accept_encoding: &str,
) -> common::HttpResponse {
    let sid = common::open_polling(server).await;
    post(server.addr, &server.polling_sid(&sid), "40").await;
    let connected = get(server.addr, &server.polling_sid(&sid))
        .await
        .poll_body();
    assert!(connected.starts_with("40"), "{connected}");
    post(
        server.addr,
        &server.polling_sid(&sid),
        &format!(r#"42["{event}",{size}]"#),
    )
    .await;
    let headers: Vec<(&str, &str)> = if accept_encoding.is_empty() {
        Vec::new()
    } else {
        vec![("Accept-Encoding", accept_encoding)]
    };
    request_with(server.addr, "GET", &server.polling_sid(&sid), &headers, b"").await
}

fn expected_big(size: usize) -> String {
    format!(r#"42["big","{}"]"#, "x".repeat(size))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_responses_over_the_threshold_are_compressed() {
    let server = server_with(|_| {}).await;

    let gzip = big_poll(&server, 2000, "gzip, deflate, br").await;
    assert_eq!(gzip.header("content-encoding"), Some("gzip"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gzip.body[..])
        .read_to_string(&mut text)
        .expect("gzip body");
    assert_eq!(text, expected_big(2000));
    assert!(gzip.body.len() < 200, "2 KB of x compress well");

    let deflate = big_poll(&server, 2000, "deflate").await;
    assert_eq!(deflate.header("content-encoding"), Some("deflate"));
    let mut text = String::new();
    flate2::read::DeflateDecoder::new(&deflate.body[..])
        .read_to_string(&mut text)
        .expect("deflate body");
    assert_eq!(text, expected_big(2000));

    let small = big_poll(&server, 100, "gzip").await;
    assert_eq!(small.header("content-encoding"), None);
    assert_eq!(small.text(), expected_big(100));

    let not_accepted = big_poll(&server, 2000, "").await;
    assert_eq!(not_accepted.header("content-encoding"), None);
    assert_eq!(not_accepted.text(), expected_big(2000));

    let refused = big_poll(&server, 2000, "gzip;q=0").await;
    assert_eq!(refused.header("content-encoding"), None);

    // socket.io's `compress(false)`: a response of such packets only is not compressed.
    let uncompressed = big_poll_of(&server, "big-uncompressed", 2000, "gzip").await;
    assert_eq!(uncompressed.header("content-encoding"), None);
    assert_eq!(uncompressed.text(), expected_big(2000));

    let off = server_with(|config| config.http_compression = None).await;
    let plain = big_poll(&off, 2000, "gzip").await;
    assert_eq!(plain.header("content-encoding"), None);

    let high = server_with(|config| {
        config.http_compression = Some(HttpCompression { threshold: 4096 });
    })
    .await;
    assert_eq!(
        big_poll(&high, 2000, "gzip")
            .await
            .header("content-encoding"),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_origin_function_decides_per_origin() {
    let server = server_with(|config| {
        config.cors = Some(Cors {
            origin: CorsOrigin::Predicate(OriginPredicate::new(|origin| {
                origin.ends_with(".good.example")
            })),
            credentials: true,
        });
    })
    .await;
    let allowed = request_with(
        server.addr,
        "GET",
        &server.polling(""),
        &[("Origin", "https://app.good.example")],
        b"",
    )
    .await;
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://app.good.example")
    );
    assert_eq!(
        allowed.header("access-control-allow-credentials"),
        Some("true")
    );
    let denied = request_with(
        server.addr,
        "GET",
        &server.polling(""),
        &[("Origin", "https://evil.example")],
        b"",
    )
    .await;
    assert_eq!(denied.header("access-control-allow-origin"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_lists_and_reflection() {
    let list = server_with(|config| {
        config.cors = Some(Cors {
            origin: CorsOrigin::List(vec!["https://a.example".to_owned()]),
            credentials: false,
        });
    })
    .await;
    let origin = |value: &'static str| [("Origin", value)];
    let listed = request_with(
        list.addr,
        "GET",
        &list.polling(""),
        &origin("https://a.example"),
        b"",
    )
    .await;
    assert_eq!(
        listed.header("access-control-allow-origin"),
        Some("https://a.example")
    );
    assert_eq!(listed.header("vary"), Some("Origin"));
    let other = request_with(
        list.addr,
        "GET",
        &list.polling(""),
        &origin("https://b.example"),
        b"",
    )
    .await;
    assert_eq!(other.header("access-control-allow-origin"), None);

    let reflect = server_with(|config| {
        config.cors = Some(Cors {
            origin: CorsOrigin::Reflect,
            credentials: false,
        });
    })
    .await;
    let reflected = request_with(
        reflect.addr,
        "GET",
        &reflect.polling(""),
        &origin("https://z.example"),
        b"",
    )
    .await;
    assert_eq!(
        reflected.header("access-control-allow-origin"),
        Some("https://z.example")
    );

    // A preflight answers 204 with the methods and the requested headers.
    let preflight = request_with(
        reflect.addr,
        "OPTIONS",
        &reflect.polling(""),
        &[
            ("Origin", "https://z.example"),
            ("Access-Control-Request-Headers", "x-token"),
        ],
        b"",
    )
    .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-headers"),
        Some("x-token")
    );
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("GET,HEAD,PUT,PATCH,POST,DELETE")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_disconnects_everyone_with_server_shutting_down_and_stops_listening() {
    let reasons: std::sync::Arc<std::sync::Mutex<Vec<polysocket::DisconnectReason>>> =
        std::sync::Arc::default();
    let log = reasons.clone();
    let sockets: std::sync::Arc<std::sync::Mutex<Vec<polysocket::Socket>>> =
        std::sync::Arc::default();
    let kept = sockets.clone();
    let io = Server::with_config(common::config(SOCKET_PATH));
    io.on_connection(move |socket| {
        assert_eq!(socket.disconnect_reason(), None);
        kept.lock().unwrap().push(socket.clone());
        let log = log.clone();
        socket.on_disconnect(move |_, reason| log.lock().unwrap().push(reason));
    });
    let addr = io.listen("127.0.0.1:0").await.expect("listen");
    let server = TestServer {
        io,
        addr,
        path: SOCKET_PATH,
    };
    let (mut ws, _) = common::Ws::open(&server).await;
    ws.send("40").await;
    let _reply = ws.next_skip_ping().await;
    let sid = common::open_polling(&server).await;
    post(server.addr, &server.polling_sid(&sid), "40").await;
    let _connect = get(server.addr, &server.polling_sid(&sid)).await;
    assert_eq!(server.io.clients_count(), 2);

    tokio::time::timeout(std::time::Duration::from_secs(5), server.io.close())
        .await
        .expect("close returns");
    assert_eq!(
        *reasons.lock().unwrap(),
        vec![polysocket::DisconnectReason::ServerShuttingDown; 2]
    );
    // The reason stays readable on the socket, for code that looks after the fact.
    for socket in sockets.lock().unwrap().iter() {
        assert_eq!(
            socket.disconnect_reason(),
            Some(polysocket::DisconnectReason::ServerShuttingDown)
        );
    }
    assert_eq!(server.io.clients_count(), 0);
    // The WebSocket client is told (Engine.IO close, then the socket closes).
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        ws.expect_closed_answering_pings(),
    )
    .await;
    // The listener is gone: no new connections.
    assert!(tokio::net::TcpStream::connect(server.addr).await.is_err());
}

/// engine.io's `initial_headers` / `headers`: every answer of the engine (polling, and a
/// WebSocket's 101) passes through the hook; error answers do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_response_headers_hook_sees_every_answer_and_changes_it() {
    let server = server_with(|config| {
        config.response_headers = Some(ResponseHeaders::new_async(|head, initial, mut headers| {
            let transport = head
                .uri
                .query()
                .unwrap_or_default()
                .split('&')
                .find_map(|pair| pair.strip_prefix("transport="))
                .unwrap_or_default()
                .to_owned();
            async move {
                if initial {
                    headers.append("set-cookie", HeaderValue::from_static("uid=1234"));
                }
                let seen = format!("{transport} initial={initial}");
                headers.insert("x-seen", HeaderValue::from_str(&seen).expect("header"));
                headers
            }
        }));
    })
    .await;
    let opened = get(server.addr, &server.polling("")).await;
    assert_eq!(opened.status, 200);
    assert_eq!(opened.header("set-cookie"), Some("uid=1234"));
    assert_eq!(opened.header("x-seen"), Some("polling initial=true"));
    let sid = sid_of(&opened.poll_body());
    let posted = post(server.addr, &server.polling_sid(&sid), "40").await;
    posted.assert(200, "ok");
    assert_eq!(posted.header("set-cookie"), None);
    assert_eq!(posted.header("x-seen"), Some("polling initial=false"));

    let (_ws, response) = tokio_tungstenite::connect_async(server.websocket_url(""))
        .await
        .expect("websocket");
    assert_eq!(response.status(), 101);
    assert_eq!(response.headers()["set-cookie"], "uid=1234");
    assert_eq!(response.headers()["x-seen"], "websocket initial=true");

    let unknown = get(server.addr, &server.polling_sid("nope")).await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.header("x-seen"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_response_headers_hook_runs_only_while_its_flag_is_set() {
    let active = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = active.clone();
    let server = server_with(move |config| {
        let hook = ResponseHeaders::new(|_, _, headers| {
            headers.insert("x-seen", HeaderValue::from_static("1"));
        });
        config.response_headers = Some(hook.only_while(flag));
    })
    .await;
    let off = get(server.addr, &server.polling("")).await;
    assert_eq!(off.header("x-seen"), None);
    active.store(true, std::sync::atomic::Ordering::Release);
    let on = get(server.addr, &server.polling("")).await;
    assert_eq!(on.header("x-seen"), Some("1"));
}
