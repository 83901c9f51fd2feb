//! Tests of the client manager: the state machines driven with packets and a virtual clock.
//! The helpers are shared with `lifecycle`'s tests.

use super::*;

pub(super) fn text(manager: &mut ClientManager) -> Vec<String> {
    std::iter::from_fn(|| manager.poll_transmit())
        .map(|p| match p {
            EnginePacket::Text(frame) => frame.data().to_owned(),
            other => format!("{other:?}"),
        })
        .collect()
}

pub(super) fn events(manager: &mut ClientManager) -> Vec<ManagerEvent> {
    std::iter::from_fn(|| manager.poll_event()).collect()
}

pub(super) fn server(manager: &mut ClientManager, data: &str, now: Instant) {
    manager.handle_message(EnginePacket::Text(TextFrame::from_data(data)), now);
}

pub(super) fn socket(nsp: &str, event: SocketEvent) -> ManagerEvent {
    ManagerEvent::Socket {
        nsp: nsp.to_owned(),
        event,
    }
}

/// A manager whose socket of `/` is connected (id `A`), events and packets drained.
fn connected(config: ManagerConfig, t0: Instant) -> ClientManager {
    let mut manager = ClientManager::new(config);
    manager.connect("/", empty(), t0);
    manager.engine_opened(t0);
    server(&mut manager, r#"0{"sid":"A"}"#, t0);
    events(&mut manager);
    text(&mut manager);
    manager
}

pub(super) fn empty() -> Value {
    Value::Object(Map::new())
}

#[test]
fn backoff_follows_backo2() {
    let mut backoff = Backoff::new(
        Duration::from_millis(1000),
        Duration::from_millis(5000),
        0.5,
    );
    // random 0.0: no deviation; the delays double up to the cap.
    let delays: Vec<u128> = (0..5)
        .map(|_| backoff.next_delay(0.0).as_millis())
        .collect();
    assert_eq!(delays, [1000, 2000, 4000, 5000, 5000]);
    backoff.reset();
    // random 0.42: deviation floor(0.42*0.5*1000)=210; floor(4.2)=4 is even: minus.
    assert_eq!(backoff.next_delay(0.42).as_millis(), 790);
    // random 0.3 on 2000: deviation 300; floor(3.0)=3 is odd: plus.
    assert_eq!(backoff.next_delay(0.3).as_millis(), 2300);
}

#[test]
fn connects_namespaces_with_auth_and_buffers_emits_until_connected() {
    let t0 = Instant::now();
    let mut manager = ClientManager::new(ManagerConfig::default());
    let mut auth = Map::new();
    auth.insert("token".into(), Value::from("abc"));
    manager.connect("/", Value::Object(auth), t0);
    assert_eq!(events(&mut manager), [ManagerEvent::OpenEngine]);
    let id = manager.emit("/", "early", vec![Value::from(1)], None, false, t0);
    assert!(id.is_some());
    assert_eq!(
        manager.emit("/", "gone", vec![], None, true, t0),
        None,
        "volatile dropped"
    );
    manager.engine_opened(t0);
    assert_eq!(events(&mut manager), [ManagerEvent::Open]);
    assert_eq!(text(&mut manager), [r#"0{"token":"abc"}"#]);
    server(&mut manager, r#"0{"sid":"A"}"#, t0);
    assert_eq!(
        events(&mut manager),
        [socket(
            "/",
            SocketEvent::Connect {
                id: "A".into(),
                recovered: false
            }
        )]
    );
    assert_eq!(text(&mut manager), [r#"2["early",1]"#]);
    // A second namespace over the same connection.
    manager.connect("/admin", Value::Null, t0);
    assert_eq!(text(&mut manager), ["0/admin,"]);
}

#[test]
fn acks_resolve_or_time_out_and_server_acks_go_back() {
    let t0 = Instant::now();
    let mut manager = connected(ManagerConfig::default(), t0);
    let answered = manager
        .emit(
            "/",
            "q",
            vec![],
            Some(Some(t0 + Duration::from_secs(1))),
            false,
            t0,
        )
        .unwrap();
    let forgotten = manager
        .emit(
            "/",
            "q",
            vec![],
            Some(Some(t0 + Duration::from_secs(2))),
            false,
            t0,
        )
        .unwrap();
    assert_eq!(text(&mut manager), [r#"20["q"]"#, r#"21["q"]"#]);
    assert_eq!(manager.poll_timeout(), Some(t0 + Duration::from_secs(1)));
    server(&mut manager, r#"30["yes"]"#, t0);
    assert_eq!(
        events(&mut manager),
        [socket(
            "/",
            SocketEvent::Ack {
                id: answered,
                outcome: AckOutcome::Answered(vec![Value::from("yes")])
            }
        )]
    );
    manager.handle_timeout(t0 + Duration::from_secs(2), 0.0);
    assert_eq!(
        events(&mut manager),
        [socket(
            "/",
            SocketEvent::Ack {
                id: forgotten,
                outcome: AckOutcome::TimedOut
            }
        )]
    );
    // The server's own ack request.
    server(&mut manager, r#"27["ask"]"#, t0);
    assert!(matches!(
        &events(&mut manager)[..],
        [ManagerEvent::Socket {
            event: SocketEvent::Event { ack: Some(7), .. },
            ..
        }]
    ));
    manager.ack("/", 7, vec![Value::from("answer")]);
    assert_eq!(text(&mut manager), [r#"37["answer"]"#]);
}

#[test]
fn reconnects_on_the_backoff_schedule_and_gives_up_after_the_attempts() {
    let t0 = Instant::now();
    let config = ManagerConfig {
        reconnection_attempts: Some(2),
        ..ManagerConfig::default()
    };
    let mut manager = connected(config, t0);
    manager.engine_closed(CloseReason::TransportClose, t0, 0.0);
    assert_eq!(
        events(&mut manager),
        [
            ManagerEvent::Close(ClientDisconnectReason::TransportClose),
            socket(
                "/",
                SocketEvent::Disconnect(ClientDisconnectReason::TransportClose)
            ),
        ]
    );
    assert_eq!(
        manager.poll_timeout(),
        Some(t0 + Duration::from_millis(1000))
    );
    // Emits while away wait for the reconnection.
    manager.emit("/", "later", vec![], None, false, t0);
    let t1 = t0 + Duration::from_millis(1000);
    manager.handle_timeout(t1, 0.0);
    assert_eq!(
        events(&mut manager),
        [ManagerEvent::ReconnectAttempt(1), ManagerEvent::OpenEngine]
    );
    manager.engine_failed("connection refused", t1, 0.0);
    // As socket.io-client: the socket still waiting hears the manager's `error`.
    assert_eq!(
        events(&mut manager),
        [
            ManagerEvent::Error("connection refused".into()),
            ManagerEvent::Socket {
                nsp: "/".into(),
                event: SocketEvent::ConnectError {
                    message: "connection refused".into(),
                    data: None
                }
            },
            ManagerEvent::ReconnectError("connection refused".into())
        ]
    );
    let t2 = t1 + Duration::from_millis(2000);
    assert_eq!(manager.poll_timeout(), Some(t2));
    manager.handle_timeout(t2, 0.0);
    assert_eq!(
        events(&mut manager),
        [ManagerEvent::ReconnectAttempt(2), ManagerEvent::OpenEngine]
    );
    manager.engine_opened(t2);
    assert_eq!(
        events(&mut manager),
        [ManagerEvent::Open, ManagerEvent::Reconnect(2)]
    );
    text(&mut manager);
    server(&mut manager, r#"0{"sid":"B"}"#, t2);
    events(&mut manager);
    assert_eq!(text(&mut manager), [r#"2["later"]"#]);

    // Two failures in a row with 2 attempts allowed: reconnect_failed.
    manager.engine_closed(CloseReason::PingTimeout, t2, 0.0);
    for _ in 0..2 {
        let now = manager.poll_timeout().unwrap();
        manager.handle_timeout(now, 0.0);
        manager.engine_failed("refused", now, 0.0);
    }
    assert!(events(&mut manager).contains(&ManagerEvent::ReconnectFailed));
    assert_eq!(manager.poll_timeout(), None);
}

#[test]
fn server_disconnect_and_refusal_do_not_reconnect() {
    let t0 = Instant::now();
    let mut manager = ClientManager::new(ManagerConfig::default());
    manager.connect("/", empty(), t0);
    manager.connect("/admin", empty(), t0);
    manager.engine_opened(t0);
    server(&mut manager, r#"0{"sid":"A"}"#, t0);
    server(
        &mut manager,
        r#"4/admin,{"message":"no","data":{"code":1}}"#,
        t0,
    );
    let got = events(&mut manager);
    assert!(
        got.contains(&socket(
            "/admin",
            SocketEvent::ConnectError {
                message: "no".into(),
                data: Some(
                    serde_json::from_str::<serde_json::Value>(r#"{"code":1}"#)
                        .map(|v| crate::proto::value::to_value(&v).unwrap())
                        .unwrap()
                )
            }
        ))
    );
    server(&mut manager, "1", t0);
    assert_eq!(
        events(&mut manager),
        [
            socket(
                "/",
                SocketEvent::Disconnect(ClientDisconnectReason::IoServerDisconnect)
            ),
            ManagerEvent::CloseEngine
        ]
    );
    manager.engine_closed(CloseReason::ForcedClose, t0, 0.0);
    events(&mut manager);
    assert_eq!(manager.poll_timeout(), None, "no reconnection");
}

#[test]
fn recovery_sends_pid_and_last_offset_and_reports_recovered() {
    let t0 = Instant::now();
    let mut manager = ClientManager::new(ManagerConfig::default());
    manager.connect("/", empty(), t0);
    manager.engine_opened(t0);
    text(&mut manager);
    server(&mut manager, r#"0{"sid":"A","pid":"P"}"#, t0);
    server(&mut manager, r#"2["news",1,"off-1"]"#, t0);
    events(&mut manager);
    manager.engine_closed(CloseReason::TransportClose, t0, 0.0);
    let t1 = manager.poll_timeout().unwrap();
    manager.handle_timeout(t1, 0.0);
    manager.engine_opened(t1);
    assert_eq!(text(&mut manager), [r#"0{"pid":"P","offset":"off-1"}"#]);
    events(&mut manager);
    // Missed events arrive before the CONNECT reply and are delivered after it.
    server(&mut manager, r#"2["news",2,"off-2"]"#, t1);
    server(&mut manager, r#"0{"sid":"A","pid":"P"}"#, t1);
    let got = events(&mut manager);
    assert_eq!(
        got[0],
        socket(
            "/",
            SocketEvent::Connect {
                id: "A".into(),
                recovered: true
            }
        )
    );
    assert!(
        matches!(&got[1], ManagerEvent::Socket { event: SocketEvent::Event { event, .. }, .. } if event == "news")
    );
}

#[test]
fn retries_send_one_at_a_time_until_acknowledged_and_resend_after_reconnection() {
    let t0 = Instant::now();
    let config = ManagerConfig {
        retries: 2,
        ack_timeout: Some(Duration::from_secs(1)),
        ..ManagerConfig::default()
    };
    let mut manager = connected(config, t0);
    let first = manager
        .emit("/", "a", vec![], Some(None), false, t0)
        .unwrap();
    manager.emit("/", "b", vec![], None, false, t0);
    // Only the head goes out; every try asks for an ack (its own id), "b" too.
    assert_eq!(text(&mut manager), [r#"21["a"]"#]);
    // No ack within ackTimeout: the same event again, with a new id.
    let t1 = t0 + Duration::from_secs(1);
    manager.handle_timeout(t1, 0.0);
    assert_eq!(text(&mut manager), [r#"22["a"]"#]);
    assert!(events(&mut manager).is_empty());
    // The late answer to the first try is ignored; the second try's answer pops "a".
    server(&mut manager, r#"31["late"]"#, t1);
    assert!(events(&mut manager).is_empty());
    server(&mut manager, r#"32["ok"]"#, t1);
    assert_eq!(
        events(&mut manager),
        [socket(
            "/",
            SocketEvent::Ack {
                id: first,
                outcome: AckOutcome::Answered(vec![Value::from("ok")])
            }
        )]
    );
    assert_eq!(text(&mut manager), [r#"23["b"]"#]);
    // The connection drops with "b" in flight: it goes out again after reconnecting.
    manager.engine_closed(CloseReason::TransportClose, t1, 0.0);
    events(&mut manager);
    let t2 = manager.poll_timeout().unwrap();
    manager.handle_timeout(t2, 0.0);
    manager.engine_opened(t2);
    server(&mut manager, r#"0{"sid":"B"}"#, t2);
    let sent = text(&mut manager);
    assert_eq!(sent, ["0{}", r#"24["b"]"#]);
}

#[test]
fn retries_give_up_after_the_last_try() {
    let t0 = Instant::now();
    let config = ManagerConfig {
        retries: 1,
        ack_timeout: Some(Duration::from_millis(100)),
        ..ManagerConfig::default()
    };
    let mut manager = connected(config, t0);
    let id = manager
        .emit("/", "x", vec![], Some(None), false, t0)
        .unwrap();
    let mut now = t0;
    let mut sent = text(&mut manager);
    for _ in 0..2 {
        now += Duration::from_millis(100);
        manager.handle_timeout(now, 0.0);
        sent.extend(text(&mut manager));
    }
    assert_eq!(
        sent,
        [r#"21["x"]"#, r#"22["x"]"#],
        "one try, then one retry"
    );
    assert_eq!(
        events(&mut manager),
        [socket(
            "/",
            SocketEvent::Ack {
                id,
                outcome: AckOutcome::TimedOut
            }
        )]
    );
}

#[test]
fn a_disconnection_fails_the_acks_of_sent_packets() {
    let t0 = Instant::now();
    let mut manager = connected(ManagerConfig::default(), t0);
    let id = manager
        .emit("/", "q", vec![], Some(None), false, t0)
        .unwrap();
    manager.engine_closed(CloseReason::TransportClose, t0, 0.0);
    assert!(events(&mut manager).contains(&socket(
        "/",
        SocketEvent::Ack {
            id,
            outcome: AckOutcome::Disconnected
        }
    )));
}
