//! The cluster adapter over an in-process bus (a [`PubSubDriver`] written here): two
//! polysocket servers, each with a client of polysocket's own, in the classic and the
//! sharded format. The Node servers of a mixed cluster are in
//! `tests/interop/node/cluster*.test.js`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use polysocket::client::{self, ClientOptions, ClientSocket};
use polysocket::{
    ClusterAdapter, ClusterOptions, DriverError, DriverFuture, DriverMessage, PubSubDriver, Server,
    ServerConfig, ShardedOptions, SubscriptionMode, Transport, Value,
};
use tokio::sync::mpsc;

/// Every subscriber of the bus: its channels, patterns, shard channels and inbox.
#[derive(Default)]
struct Bus {
    members: Mutex<Vec<Arc<Member>>>,
}

struct Member {
    channels: Mutex<Vec<String>>,
    patterns: Mutex<Vec<String>>,
    shard_channels: Mutex<Vec<String>>,
    inbox: mpsc::UnboundedSender<DriverMessage>,
}

/// Redis glob patterns as the adapter uses them: a literal prefix and a final `*`.
fn matches(pattern: &str, channel: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => channel.starts_with(prefix),
        None => pattern == channel,
    }
}

impl Bus {
    fn driver(self: &Arc<Bus>) -> BusDriver {
        let (inbox, messages) = mpsc::unbounded_channel();
        let member = Arc::new(Member {
            channels: Mutex::default(),
            patterns: Mutex::default(),
            shard_channels: Mutex::default(),
            inbox,
        });
        self.members.lock().unwrap().push(member.clone());
        BusDriver {
            bus: self.clone(),
            member,
            messages: Mutex::new(Some(messages)),
        }
    }

    fn deliver(&self, channel: &str, payload: &[u8], sharded: bool) {
        for member in self.members.lock().unwrap().iter() {
            let wanted = if sharded {
                member
                    .shard_channels
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|c| c == channel)
            } else {
                member.channels.lock().unwrap().iter().any(|c| c == channel)
                    || member
                        .patterns
                        .lock()
                        .unwrap()
                        .iter()
                        .any(|p| matches(p, channel))
            };
            if wanted {
                let _ = member.inbox.send(DriverMessage {
                    channel: channel.to_owned(),
                    payload: Bytes::copy_from_slice(payload),
                });
            }
        }
    }

    fn count(&self, channel: &str, sharded: bool) -> usize {
        self.members
            .lock()
            .unwrap()
            .iter()
            .filter(|m| {
                let list = if sharded {
                    &m.shard_channels
                } else {
                    &m.channels
                };
                list.lock().unwrap().iter().any(|c| c == channel)
            })
            .count()
    }
}

struct BusDriver {
    bus: Arc<Bus>,
    member: Arc<Member>,
    messages: Mutex<Option<mpsc::UnboundedReceiver<DriverMessage>>>,
}

impl PubSubDriver for BusDriver {
    fn publish(
        &self,
        messages: Vec<(String, Vec<u8>)>,
    ) -> DriverFuture<'_, Result<(), DriverError>> {
        for (channel, payload) in messages {
            self.bus.deliver(&channel, &payload, false);
        }
        Box::pin(async { Ok(()) })
    }

    fn subscribe(
        &self,
        channels: Vec<String>,
        patterns: Vec<String>,
    ) -> DriverFuture<'_, Result<(), DriverError>> {
        self.member.channels.lock().unwrap().extend(channels);
        self.member.patterns.lock().unwrap().extend(patterns);
        Box::pin(async { Ok(()) })
    }

    fn subscriber_count(&self, channel: String) -> DriverFuture<'_, Result<usize, DriverError>> {
        let count = self.bus.count(&channel, false);
        Box::pin(async move { Ok(count) })
    }

    fn take_messages(&self) -> Option<mpsc::UnboundedReceiver<DriverMessage>> {
        self.messages.lock().unwrap().take()
    }

    fn publish_sharded(
        &self,
        messages: Vec<(String, Vec<u8>)>,
    ) -> DriverFuture<'_, Result<(), DriverError>> {
        for (channel, payload) in messages {
            self.bus.deliver(&channel, &payload, true);
        }
        Box::pin(async { Ok(()) })
    }

    fn subscribe_sharded(
        &self,
        channels: Vec<String>,
    ) -> DriverFuture<'_, Result<(), DriverError>> {
        self.member.shard_channels.lock().unwrap().extend(channels);
        Box::pin(async { Ok(()) })
    }

    fn unsubscribe_sharded(
        &self,
        channels: Vec<String>,
    ) -> DriverFuture<'_, Result<(), DriverError>> {
        self.member
            .shard_channels
            .lock()
            .unwrap()
            .retain(|c| !channels.contains(c));
        Box::pin(async { Ok(()) })
    }

    fn shard_subscriber_count(
        &self,
        channel: String,
    ) -> DriverFuture<'_, Result<usize, DriverError>> {
        let count = self.bus.count(&channel, true);
        Box::pin(async move { Ok(count) })
    }
}

const WAIT: Duration = Duration::from_secs(3);

/// A server on the bus whose clients' `join` events join rooms and `question`s are
/// answered by the clients themselves.
async fn server(adapter: ClusterAdapter, name: &'static str) -> (Server, String) {
    let io = Server::with_config(ServerConfig {
        adapter: Some(adapter),
        ..ServerConfig::default()
    });
    io.on_connection(|socket| {
        socket.on("join", |socket, mut event| {
            if let Some(Value::String(room)) = event.args.first() {
                socket.join(room.as_str());
            }
            if let Some(ack) = event.ack() {
                let _ = ack.send_args(vec![]);
            }
        });
    });
    io.on_server_event("hello", move |args, ack| {
        if let Some(ack) = ack {
            let mut reply = polysocket::Map::new();
            reply.insert("server".into(), Value::from(name));
            reply.insert("got".into(), args.into_iter().next().unwrap_or_default());
            ack.send(Value::Object(reply));
        }
    });
    let addr = io.listen("127.0.0.1:0").await.expect("listen");
    io.cluster_ready().await;
    (io, format!("http://{addr}/"))
}

async fn client(url: &str, answer: &'static str) -> ClientSocket {
    let socket = client::connect(
        url,
        ClientOptions {
            transports: vec![Transport::WebSocket],
            auto_connect: false,
            force_new: true,
            ..ClientOptions::default()
        },
    )
    .expect("client");
    socket.on("question", move |_, mut event| {
        if let Some(ack) = event.ack() {
            ack.send_args(vec![Value::from(answer)]);
        }
    });
    socket.connect();
    socket.wait_connected(WAIT).await.expect("connected");
    socket
}

fn collect(socket: &ClientSocket, event: &str) -> Arc<Mutex<Vec<Vec<Value>>>> {
    let got: Arc<Mutex<Vec<Vec<Value>>>> = Arc::default();
    let sink = got.clone();
    socket.on(event, move |_, event| sink.lock().unwrap().push(event.args));
    got
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    tokio::time::timeout(WAIT, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what} within {WAIT:?}"));
}

/// Runs every cluster operation between two servers made by `adapter`.
async fn exercise(adapter: impl Fn(&Arc<Bus>) -> ClusterAdapter) {
    let bus = Arc::new(Bus::default());
    let (one, url_one) = server(adapter(&bus), "one").await;
    let (two, url_two) = server(adapter(&bus), "two").await;
    assert_eq!(one.server_count().await, 2);
    let alice = client(&url_one, "alice").await;
    let bob = client(&url_two, "bob").await;
    let _ = alice
        .emit_with_ack("join", vec![Value::from("room")])
        .await
        .unwrap();
    let _ = bob
        .emit_with_ack("join", vec![Value::from("room")])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;

    // Broadcasts, to everyone and to a room, binary included; `local` stays home.
    let news = collect(&bob, "news");
    one.emit("news", "to everyone").unwrap();
    one.to("room")
        .emit_args("news", vec![Value::Binary(Bytes::from_static(&[1, 2, 3]))])
        .unwrap();
    one.local().emit("news", "local only").unwrap();
    until("bob's news", || news.lock().unwrap().len() == 2).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        *news.lock().unwrap(),
        [
            vec![Value::from("to everyone")],
            vec![Value::Binary(Bytes::from_static(&[1, 2, 3]))]
        ]
    );

    // fetchSockets sees both servers' sockets.
    let mut ids: Vec<String> = one
        .within("room")
        .try_fetch_sockets()
        .await
        .unwrap()
        .iter()
        .map(|s| s.id().to_owned())
        .collect();
    ids.sort();
    let mut expected = vec![alice.id().unwrap(), bob.id().unwrap()];
    expected.sort();
    assert_eq!(ids, expected);

    // socketsJoin on the other server, then a broadcast to the new room.
    one.within("room").sockets_join("joined");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let joined = collect(&bob, "in-joined");
    one.to("joined").emit("in-joined", 1).unwrap();
    until("the socketsJoin room", || joined.lock().unwrap().len() == 1).await;

    // serverSideEmit with acknowledgements.
    let answers = one
        .server_side_emit_with_ack("hello", vec![Value::from(7)])
        .await
        .unwrap();
    assert_eq!(answers.len(), 1);
    let mut expected_answer = polysocket::Map::new();
    expected_answer.insert("server".into(), Value::from("two"));
    expected_answer.insert("got".into(), Value::from(7));
    assert_eq!(answers, [Value::Object(expected_answer)]);

    // Acknowledgements from the clients of both servers.
    let mut responses = one
        .to("room")
        .timeout(WAIT)
        .emit_with_ack("question", vec![])
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.args)
        .collect::<Vec<_>>();
    responses.sort_by_key(|a| format!("{a:?}"));
    assert_eq!(
        responses,
        [vec![Value::from("alice")], vec![Value::from("bob")]]
    );

    // disconnectSockets reaches the other server's client.
    let reasons: Arc<Mutex<Vec<client::DisconnectReason>>> = Arc::default();
    let sink = reasons.clone();
    bob.on_disconnect(move |_, reason| sink.lock().unwrap().push(reason));
    one.within("room")
        .except(alice.id().unwrap())
        .disconnect_sockets(false);
    until("bob disconnected", || !reasons.lock().unwrap().is_empty()).await;
    assert_eq!(
        reasons.lock().unwrap()[0],
        client::DisconnectReason::IoServerDisconnect
    );
    assert!(alice.connected());
    drop(two);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_classic_adapter_reaches_every_server() {
    exercise(|bus| ClusterAdapter::new(bus.driver(), ClusterOptions::default())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sharded_adapter_reaches_every_server_in_each_mode() {
    for mode in [
        SubscriptionMode::Dynamic,
        SubscriptionMode::Static,
        SubscriptionMode::DynamicPrivate,
    ] {
        exercise(|bus| {
            ClusterAdapter::sharded(
                bus.driver(),
                ShardedOptions {
                    subscription_mode: mode,
                    ..ShardedOptions::default()
                },
            )
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_does_not_answer_makes_requests_time_out() {
    let bus = Arc::new(Bus::default());
    let options = ClusterOptions {
        requests_timeout: Duration::from_millis(200),
        ..ClusterOptions::default()
    };
    let (one, _) = server(ClusterAdapter::new(bus.driver(), options), "one").await;
    // A second subscriber of the request channel that never answers (as a stray
    // subscriber makes Node's adapter time out).
    let silent = bus.driver();
    silent
        .subscribe(vec!["socket.io-request#/#".to_owned()], vec![])
        .await
        .unwrap();
    let error = one
        .server_side_emit_with_ack("hello", vec![])
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "timeout reached: only 0 responses received out of 1"
    );
    assert!(one.sockets().broadcast().try_fetch_sockets().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adapter_set_after_construction_serves_every_namespace() {
    let bus = Arc::new(Bus::default());
    let adapter = || ClusterAdapter::new(bus.driver(), ClusterOptions::default());
    let (one, _) = server(adapter(), "one").await;
    // Built without an adapter; namespaces made before and after `set_adapter`.
    let two = Server::new();
    let custom = two.of("/custom");
    let dynamic = two.of_regex(r"^/dyn-\d+$").unwrap();
    two.set_adapter(adapter()).expect("first adapter");
    assert_eq!(
        two.set_adapter(adapter()),
        Err(polysocket::SetAdapterError::AlreadySet)
    );
    let later = two.of("/later");
    for namespace in [&custom, &later] {
        namespace.on_connection(|_| {});
    }
    dynamic.on_connection(|_| {});
    two.on_connection(|_| {});
    let addr = two.listen("127.0.0.1:0").await.expect("listen");
    two.cluster_ready().await;
    assert_eq!(one.server_count().await, 2);
    for nsp in ["", "custom", "later", "dyn-1"] {
        let bob = client(&format!("http://{addr}/{nsp}"), "bob").await;
        let news = collect(&bob, "news");
        let target = format!("/{nsp}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        one.of(&target).emit("news", nsp).unwrap();
        until(&format!("the broadcast to {target}"), || {
            news.lock().unwrap().len() == 1
        })
        .await;
        let sockets = one.of(&target).broadcast().try_fetch_sockets().await;
        assert_eq!(sockets.unwrap().len(), 1, "fetchSockets in {target}");
        bob.disconnect();
    }
    // Too late once someone is connected.
    let three = Server::new();
    three.on_connection(|_| {});
    let addr = three.listen("127.0.0.1:0").await.expect("listen");
    let _carol = client(&format!("http://{addr}/"), "carol").await;
    assert_eq!(
        three.set_adapter(adapter()),
        Err(polysocket::SetAdapterError::Connected)
    );
}
