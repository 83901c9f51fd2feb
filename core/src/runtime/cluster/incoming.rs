//! The subscriber task: subscribes each namespace's channels, and applies what the other
//! servers publish (broadcasts, requests) or answer (responses).

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use tokio::sync::mpsc;

use super::{ClusterAdapter, ClusterShared, Command, DriverMessage, Protocol, ServerAck, lock};
use crate::proto::cluster::sharded::{self, ShardedMessage};
use crate::proto::cluster::{BroadcastMessage, ClusterOpts, ClusterSocket, Request, Response};
use crate::proto::rooms::Room;
use crate::runtime::broadcast::{BroadcastFlags, BroadcastOperator, BroadcastOptions};
use crate::runtime::namespace::Namespace;
use crate::runtime::remote::handshake_value;
use crate::runtime::server::ServerInner;

pub(super) async fn run(
    shared: Weak<ClusterShared>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    mut messages: Option<mpsc::UnboundedReceiver<DriverMessage>>,
) {
    // Room channels subscribed (sharded dynamic modes).
    let mut room_channels = std::collections::HashSet::new();
    loop {
        tokio::select! {
            command = commands.recv() => {
                let Some(command) = command else { return };
                let Some(shared) = shared.upgrade() else { return };
                match command {
                    Command::Subscribe(nsp) => subscribe(&shared, &nsp).await,
                    Command::SubscribeRoom(channel) => {
                        if room_channels.insert(channel.clone())
                            && let Err(error) = shared.driver.subscribe_sharded(vec![channel]).await
                        {
                            tracing::warn!(%error, "cannot subscribe to a room channel");
                        }
                    }
                    Command::UnsubscribeRoom(channel) => {
                        if room_channels.remove(&channel)
                            && let Err(error) = shared.driver.unsubscribe_sharded(vec![channel]).await
                        {
                            tracing::warn!(%error, "cannot unsubscribe from a room channel");
                        }
                    }
                    Command::Barrier(done) => {
                        let _ = done.send(());
                    }
                }
            }
            message = next(&mut messages) => match message {
                Some(message) => {
                    let Some(shared) = shared.upgrade() else { return };
                    handle(&shared, message);
                }
                None => messages = None,
            }
        }
    }
}

async fn next(
    messages: &mut Option<mpsc::UnboundedReceiver<DriverMessage>>,
) -> Option<DriverMessage> {
    match messages {
        Some(messages) => messages.recv().await,
        None => std::future::pending().await,
    }
}

/// The namespace's channels, as the Node adapter subscribes them: classic, its broadcast
/// pattern and its request and response channels; sharded, its main channel and this
/// server's response channel.
async fn subscribe(shared: &ClusterShared, nsp: &str) {
    let result = match &shared.protocol {
        Protocol::Classic(channels) => {
            shared
                .driver
                .subscribe(
                    vec![
                        channels.request(nsp),
                        channels.response(nsp),
                        channels.specific_response(nsp, &shared.uid),
                    ],
                    vec![channels.broadcast_pattern(nsp)],
                )
                .await
        }
        Protocol::Sharded(channels) => {
            shared
                .driver
                .subscribe_sharded(vec![
                    channels.main(nsp),
                    channels.response(nsp, &shared.uid),
                ])
                .await
        }
    };
    if let Err(error) = result {
        tracing::warn!(%error, nsp, "cannot subscribe to the cluster channels");
    }
}

/// What a channel name says.
enum Route<'a> {
    Broadcast { nsp: &'a str },
    Request { nsp: &'a str },
    Response,
}

fn route<'a>(key: &str, channel: &'a str) -> Option<Route<'a>> {
    let rest = channel.strip_prefix(key)?;
    let nsp_of = |rest: &'a str| rest.split('#').next().filter(|nsp| nsp.starts_with('/'));
    if let Some(rest) = rest.strip_prefix("-request#") {
        return Some(Route::Request { nsp: nsp_of(rest)? });
    }
    if rest.starts_with("-response#") {
        return Some(Route::Response);
    }
    Some(Route::Broadcast {
        nsp: nsp_of(rest.strip_prefix('#')?)?,
    })
}

fn handle(shared: &Arc<ClusterShared>, message: DriverMessage) {
    let Some(server) = shared.server.get().and_then(Weak::upgrade) else {
        return;
    };
    let channels = match &shared.protocol {
        Protocol::Classic(channels) => channels,
        Protocol::Sharded(_) => return handle_sharded(shared, &server, &message),
    };
    match route(&shared.options.key, &message.channel) {
        Some(Route::Broadcast { nsp }) => {
            let Some(namespace) = server.namespace(nsp) else {
                return;
            };
            let Some(room) = channels.broadcast_room(nsp, &message.channel) else {
                return;
            };
            // A room channel for a room this server does not have: not for us (and not
            // worth decoding).
            if !room.is_empty() && !namespace.has_room(room) {
                return;
            }
            match BroadcastMessage::decode(&message.payload) {
                Ok(broadcast) if broadcast.uid != shared.uid && broadcast.nsp == nsp => {
                    deliver(&namespace, broadcast.opts, broadcast.data);
                }
                Ok(_) => {}
                Err(error) => tracing::debug!(%error, "ignoring a cluster broadcast"),
            }
        }
        Some(Route::Request { nsp }) => {
            let Some(namespace) = server.namespace(nsp) else {
                return;
            };
            match Request::decode(&message.payload) {
                Ok(request) => answer(shared, &namespace, request),
                Err(error) => tracing::debug!(%error, "ignoring a cluster request"),
            }
        }
        Some(Route::Response) => match Response::decode(&message.payload) {
            Ok(response) => route_response(shared, response),
            Err(error) => tracing::debug!(%error, "ignoring a cluster response"),
        },
        None => {}
    }
}

fn route_response(shared: &ClusterShared, response: Response) {
    if let Some(waiting) = lock(&shared.pending).get(response.request_id()) {
        let _ = waiting.send(response);
    }
}

/// A sharded envelope: answers to this server, or a broadcast or request of another one.
fn handle_sharded(shared: &Arc<ClusterShared>, server: &ServerInner, message: &DriverMessage) {
    let (uid, nsp, body) = match sharded::decode(&message.payload) {
        Ok(decoded) => decoded,
        Err(error) => {
            tracing::debug!(%error, "ignoring a cluster message");
            return;
        }
    };
    if uid == shared.uid {
        return;
    }
    match body {
        ShardedMessage::Response(response) => route_response(shared, response),
        ShardedMessage::Broadcast(broadcast) => {
            if let Some(namespace) = server.namespace(&nsp) {
                deliver(&namespace, broadcast.opts, broadcast.data);
            }
        }
        ShardedMessage::Request(request) => {
            if let Some(namespace) = server.namespace(&nsp) {
                answer(shared, &namespace, request);
            }
        }
    }
}

/// The local operator for options that came over the bus.
fn local_operator(namespace: &Namespace, opts: &ClusterOpts) -> BroadcastOperator {
    let rooms: Vec<Room> = opts.rooms.iter().map(|r| Room::from(r.as_str())).collect();
    let except: Vec<Room> = opts.except.iter().map(|r| Room::from(r.as_str())).collect();
    BroadcastOperator::with_options(
        namespace.clone(),
        BroadcastOptions {
            rooms,
            except,
            flags: BroadcastFlags {
                volatile: opts.flags.volatile,
                compress: opts.flags.compress,
                local: true,
                timeout: opts.flags.timeout_ms.map(Duration::from_millis),
            },
        },
    )
}

fn deliver(namespace: &Namespace, opts: ClusterOpts, mut data: Vec<crate::Value>) {
    let crate::Value::String(event) = data.remove(0) else {
        return;
    };
    let _ = local_operator(namespace, &opts).emit_args(&event, data);
}

fn answer(shared: &Arc<ClusterShared>, namespace: &Namespace, request: Request) {
    let own = request.uid() == Some(shared.uid.as_str());
    let adapter = ClusterAdapter(shared.clone());
    let nsp = namespace.name().to_owned();
    let reply = |uid: &str, response: Response| adapter.respond(&nsp, uid, &response);
    match request {
        // This server applied its own requests when it made them.
        _ if own => {}
        Request::Sockets {
            uid,
            request_id,
            rooms,
        } => {
            let opts = ClusterOpts {
                rooms,
                ..ClusterOpts::default()
            };
            let sockets = local_operator(namespace, &opts)
                .sockets()
                .iter()
                .map(|s| s.id().to_owned())
                .collect();
            reply(
                &uid,
                Response::Sockets {
                    request_id,
                    sockets,
                },
            );
        }
        Request::AllRooms { uid, request_id } => {
            reply(
                &uid,
                Response::AllRooms {
                    request_id,
                    rooms: namespace.rooms(),
                },
            );
        }
        Request::Join { opts, rooms, .. } => {
            let operator = local_operator(namespace, &opts);
            for room in rooms {
                operator.sockets_join(room.as_str());
            }
        }
        Request::Leave { opts, rooms, .. } => {
            let operator = local_operator(namespace, &opts);
            for room in rooms {
                operator.sockets_leave(&room);
            }
        }
        Request::Disconnect { opts, close, .. } => {
            local_operator(namespace, &opts).disconnect_sockets(close);
        }
        Request::Fetch {
            uid,
            request_id,
            opts,
        } => {
            let sockets = local_operator(namespace, &opts)
                .sockets()
                .iter()
                .map(|socket| ClusterSocket {
                    id: socket.id().to_owned(),
                    handshake: handshake_value(socket.handshake()),
                    rooms: socket.rooms(),
                    data: socket.data(),
                })
                .collect();
            reply(
                &uid,
                Response::Fetch {
                    request_id,
                    sockets,
                },
            );
        }
        Request::ServerSideEmit {
            uid,
            request_id,
            data,
        } => {
            let mut data = data;
            let crate::Value::String(event) = data.remove(0) else {
                return;
            };
            let ack = request_id.map(|request_id| ServerAck {
                adapter: adapter.clone(),
                nsp: nsp.clone(),
                requester: uid,
                request_id,
            });
            namespace.dispatch_server_event(&event, data, ack);
        }
        Request::Broadcast {
            uid,
            request_id,
            data,
            opts,
            ..
        } => {
            let mut data = data;
            let crate::Value::String(event) = data.remove(0) else {
                return;
            };
            let operator = local_operator(namespace, &opts);
            let waiting = operator
                .send_with_ack(&event, data)
                .map(|(_, w)| w)
                .unwrap_or_default();
            reply(
                &uid,
                Response::BroadcastClientCount {
                    request_id: request_id.clone(),
                    client_count: waiting.len() as u64,
                },
            );
            if waiting.is_empty() {
                return;
            }
            let limit = opts
                .flags
                .timeout_ms
                .map_or(shared.options.requests_timeout, Duration::from_millis);
            tokio::spawn(async move {
                let mut answers: FuturesUnordered<_> =
                    waiting.into_iter().map(|(_, answer)| answer).collect();
                let forward = async {
                    while let Some(answer) = answers.next().await {
                        if let Ok(Ok(args)) = answer {
                            let response = Response::BroadcastAck {
                                request_id: request_id.clone(),
                                packet: args.into_iter().next().unwrap_or_default(),
                            };
                            adapter.respond(&nsp, &uid, &response);
                        }
                    }
                };
                let _ = tokio::time::timeout(limit, forward).await;
            });
        }
    }
}
