//! The cluster adapter: broadcasts and server-wide operations that reach the sockets of
//! every server sharing a pub/sub bus, in npm `@socket.io/redis-adapter`'s classic format
//! ([`crate::proto::cluster`]), so that polysocket and Node socket.io servers form one
//! cluster.
//!
//! The bus is a [`PubSubDriver`]: [`RedisDriver`] (feature `redis`) or your own. Set the
//! adapter as [`ServerConfig::adapter`](crate::ServerConfig::adapter):
//!
//! ```no_run
//! # #[cfg(feature = "redis")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use polysocket::{ClusterAdapter, ClusterOptions, RedisDriver, Server, ServerConfig};
//!
//! let driver = RedisDriver::connect("redis://127.0.0.1:6379").await?;
//! let io = Server::with_config(ServerConfig {
//!     adapter: Some(ClusterAdapter::new(driver, ClusterOptions::default())),
//!     ..ServerConfig::default()
//! });
//! io.cluster_ready().await;
//! # Ok(()) }
//! ```

mod incoming;
#[cfg(feature = "redis")]
mod redis;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

#[cfg(feature = "redis")]
pub use self::redis::RedisDriver;
use super::broadcast::BroadcastOptions;
use super::server::ServerInner;
use super::socket::EmitError;
use crate::proto::cluster::sharded::{self, ShardedChannels, SubscriptionMode};
use crate::proto::cluster::{
    BroadcastMessage, Channels, ClusterOpts, Request, Response, WireFlags,
};
use crate::proto::value::Value;

/// A future a [`PubSubDriver`] returns.
pub type DriverFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why the bus failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cluster bus: {0}")]
pub struct DriverError(pub String);

/// A message that arrived on a subscribed channel (or one matching a pattern).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverMessage {
    /// The channel it was published on.
    pub channel: String,
    /// Its bytes.
    pub payload: Bytes,
}

/// The pub/sub bus under a [`ClusterAdapter`]: Redis with [`RedisDriver`], or anything
/// with the same three operations.
pub trait PubSubDriver: Send + Sync + 'static {
    /// Publishes each `(channel, payload)`, in order.
    fn publish(
        &self,
        messages: Vec<(String, Vec<u8>)>,
    ) -> DriverFuture<'_, Result<(), DriverError>>;
    /// Subscribes to `channels` and to the channels matching `patterns` (Redis glob
    /// patterns); their messages come out of [`PubSubDriver::take_messages`].
    fn subscribe(
        &self,
        channels: Vec<String>,
        patterns: Vec<String>,
    ) -> DriverFuture<'_, Result<(), DriverError>>;
    /// How many subscribers `channel` has on the whole bus (Redis `PUBSUB NUMSUB`).
    fn subscriber_count(&self, channel: String) -> DriverFuture<'_, Result<usize, DriverError>>;
    /// The stream of received messages; taken once, by the adapter.
    fn take_messages(&self) -> Option<mpsc::UnboundedReceiver<DriverMessage>>;

    /// Publishes on shard channels, in order (Redis 7 `SPUBLISH`), for the sharded adapter.
    fn publish_sharded(
        &self,
        messages: Vec<(String, Vec<u8>)>,
    ) -> DriverFuture<'_, Result<(), DriverError>> {
        drop(messages);
        Box::pin(async { Err(DriverError("this bus has no sharded pub/sub".to_owned())) })
    }

    /// Subscribes to shard channels (`SSUBSCRIBE`); their messages come out of
    /// [`PubSubDriver::take_messages`] too.
    fn subscribe_sharded(
        &self,
        channels: Vec<String>,
    ) -> DriverFuture<'_, Result<(), DriverError>> {
        drop(channels);
        Box::pin(async { Err(DriverError("this bus has no sharded pub/sub".to_owned())) })
    }

    /// Unsubscribes from shard channels (`SUNSUBSCRIBE`).
    fn unsubscribe_sharded(
        &self,
        channels: Vec<String>,
    ) -> DriverFuture<'_, Result<(), DriverError>> {
        drop(channels);
        Box::pin(async { Err(DriverError("this bus has no sharded pub/sub".to_owned())) })
    }

    /// How many subscribers shard channel `channel` has (`PUBSUB SHARDNUMSUB`).
    fn shard_subscriber_count(
        &self,
        channel: String,
    ) -> DriverFuture<'_, Result<usize, DriverError>> {
        drop(channel);
        Box::pin(async { Err(DriverError("this bus has no sharded pub/sub".to_owned())) })
    }
}

/// Options of the cluster adapter, with `@socket.io/redis-adapter`'s names and defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterOptions {
    /// `key`: the channel prefix (default `socket.io`); servers of one cluster share it.
    pub key: String,
    /// `requestsTimeout` (default 5 s): how long `fetch_sockets` and
    /// `server_side_emit_with_ack` wait for the other servers.
    pub requests_timeout: Duration,
    /// `publishOnSpecificResponseChannel` (default false): answer on the asking server's
    /// own response channel instead of the shared one.
    pub publish_on_specific_response_channel: bool,
}

/// Options of the sharded adapter (npm `createShardedAdapter`): Redis 7 sharded pub/sub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardedOptions {
    /// `channelPrefix` (default `socket.io`).
    pub channel_prefix: String,
    /// `subscriptionMode` (default dynamic).
    pub subscription_mode: SubscriptionMode,
    /// How long `fetch_sockets` and `server_side_emit_with_ack` wait (5 s, as there).
    pub requests_timeout: Duration,
}

impl Default for ShardedOptions {
    fn default() -> Self {
        ShardedOptions {
            channel_prefix: "socket.io".to_owned(),
            subscription_mode: SubscriptionMode::Dynamic,
            requests_timeout: Duration::from_secs(5),
        }
    }
}

/// Which of the Node adapter's formats the cluster speaks.
#[derive(Debug, Clone)]
enum Protocol {
    /// `createAdapter`: pub/sub, request and response channels.
    Classic(Channels),
    /// `createShardedAdapter`: sharded pub/sub, one envelope format.
    Sharded(ShardedChannels),
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            key: "socket.io".to_owned(),
            requests_timeout: Duration::from_secs(5),
            publish_on_specific_response_channel: false,
        }
    }
}

/// socket.io's cluster adapter over a [`PubSubDriver`]: broadcasts, `fetch_sockets`,
/// `sockets_join`/`sockets_leave`/`disconnect_sockets`, `server_side_emit` (with acks) and
/// broadcasts with acknowledgements reach every server of the cluster, Node ones
/// included. Cheap to clone; one adapter serves one [`Server`](crate::Server).
#[derive(Clone)]
pub struct ClusterAdapter(pub(crate) Arc<ClusterShared>);

impl std::fmt::Debug for ClusterAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterAdapter")
            .field("uid", &self.0.uid)
            .field("options", &self.0.options)
            .finish_non_exhaustive()
    }
}

pub(crate) struct ClusterShared {
    driver: Arc<dyn PubSubDriver>,
    options: ClusterOptions,
    protocol: Protocol,
    /// This server's id on the bus.
    uid: String,
    server: OnceLock<Weak<ServerInner>>,
    /// Messages to publish, in order, for the publisher task.
    outgoing: mpsc::UnboundedSender<Outgoing>,
    outgoing_rx: Mutex<Option<mpsc::UnboundedReceiver<Outgoing>>>,
    /// Namespaces to subscribe, and barriers, for the subscriber task.
    commands: mpsc::UnboundedSender<Command>,
    commands_rx: Mutex<Option<mpsc::UnboundedReceiver<Command>>>,
    /// Requests of this server waiting for answers, by request id.
    pending: Mutex<HashMap<String, mpsc::UnboundedSender<Response>>>,
}

/// A payload and the channel it is published on.
type Outgoing = (String, Vec<u8>);

enum Command {
    Subscribe(String),
    SubscribeRoom(String),
    UnsubscribeRoom(String),
    Barrier(oneshot::Sender<()>),
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// `len` random lowercase hex digits.
fn random_hex(len: usize) -> String {
    use rand::Rng as _;
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
        .collect()
}

/// A random id of `len` characters from socket.io's `uid2` alphabet.
fn random_id(len: usize) -> String {
    use rand::Rng as _;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

impl ClusterAdapter {
    /// A classic adapter over `driver` (npm `createAdapter`).
    pub fn new(driver: impl PubSubDriver, options: ClusterOptions) -> ClusterAdapter {
        let protocol = Protocol::Classic(Channels::new(options.key.clone()));
        ClusterAdapter::with_protocol(Arc::new(driver), options, protocol, random_id(6))
    }

    /// A sharded adapter over `driver` (npm `createShardedAdapter`; needs Redis 7).
    pub fn sharded(driver: impl PubSubDriver, options: ShardedOptions) -> ClusterAdapter {
        let protocol = Protocol::Sharded(ShardedChannels::new(
            options.channel_prefix.clone(),
            options.subscription_mode,
        ));
        let cluster_options = ClusterOptions {
            key: options.channel_prefix,
            requests_timeout: options.requests_timeout,
            publish_on_specific_response_channel: true,
        };
        // As Node's: 16 hex digits.
        let uid = random_hex(16);
        ClusterAdapter::with_protocol(Arc::new(driver), cluster_options, protocol, uid)
    }

    fn with_protocol(
        driver: Arc<dyn PubSubDriver>,
        options: ClusterOptions,
        protocol: Protocol,
        uid: String,
    ) -> ClusterAdapter {
        let (outgoing, outgoing_rx) = mpsc::unbounded_channel();
        let (commands, commands_rx) = mpsc::unbounded_channel();
        ClusterAdapter(Arc::new(ClusterShared {
            driver,
            protocol,
            options,
            uid,
            server: OnceLock::new(),
            outgoing,
            outgoing_rx: Mutex::new(Some(outgoing_rx)),
            commands,
            commands_rx: Mutex::new(Some(commands_rx)),
            pending: Mutex::new(HashMap::new()),
        }))
    }

    /// This server's id on the bus.
    pub fn uid(&self) -> &str {
        &self.0.uid
    }

    /// Starts the publisher and subscriber tasks for `server` (once).
    pub(crate) fn start(&self, server: &Arc<ServerInner>) {
        if self.0.server.set(Arc::downgrade(server)).is_err() {
            tracing::warn!("a ClusterAdapter serves one server; this one is already started");
            return;
        }
        let (Some(outgoing), Some(commands)) = (
            lock(&self.0.outgoing_rx).take(),
            lock(&self.0.commands_rx).take(),
        ) else {
            return;
        };
        let sharded = matches!(self.0.protocol, Protocol::Sharded(_));
        tokio::spawn(publisher(self.0.driver.clone(), outgoing, sharded));
        let messages = self.0.driver.take_messages();
        tokio::spawn(incoming::run(Arc::downgrade(&self.0), commands, messages));
    }

    /// Subscribes to the channels of namespace `nsp`.
    pub(crate) fn watch_namespace(&self, nsp: &str) {
        let _ = self.0.commands.send(Command::Subscribe(nsp.to_owned()));
    }

    /// A room appeared on this server: in the sharded dynamic modes it gets a channel.
    pub(crate) fn room_created(&self, nsp: &str, room: &str, is_socket: bool) {
        if let Protocol::Sharded(channels) = &self.0.protocol
            && channels.has_room_channel(is_socket)
        {
            let _ = self
                .0
                .commands
                .send(Command::SubscribeRoom(channels.room(nsp, room)));
        }
    }

    /// A room disappeared from this server.
    pub(crate) fn room_deleted(&self, nsp: &str, room: &str) {
        if let Protocol::Sharded(channels) = &self.0.protocol {
            let _ = self
                .0
                .commands
                .send(Command::UnsubscribeRoom(channels.room(nsp, room)));
        }
    }

    /// Resolves once every namespace created so far is subscribed.
    pub(crate) async fn ready(&self) {
        let (tx, rx) = oneshot::channel();
        if self.0.commands.send(Command::Barrier(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    fn publish(&self, channel: String, payload: Vec<u8>) {
        let _ = self.0.outgoing.send((channel, payload));
    }

    /// How many servers listen on namespace `nsp` (this one included).
    pub(crate) async fn server_count(&self, nsp: &str) -> usize {
        let count = match &self.0.protocol {
            Protocol::Classic(channels) => {
                self.0.driver.subscriber_count(channels.request(nsp)).await
            }
            Protocol::Sharded(channels) => {
                self.0
                    .driver
                    .shard_subscriber_count(channels.main(nsp))
                    .await
            }
        };
        match count {
            Ok(count) => count,
            Err(error) => {
                tracing::warn!(%error, "cannot count the servers of the cluster");
                1
            }
        }
    }

    /// Publishes a broadcast for the other servers (the local delivery is the caller's).
    pub(crate) fn broadcast(
        &self,
        nsp: &str,
        event: &str,
        args: &[Value],
        opts: &BroadcastOptions,
    ) {
        let message = BroadcastMessage {
            uid: self.0.uid.clone(),
            nsp: nsp.to_owned(),
            data: event_data(event, args),
            opts: wire_opts(opts),
        };
        match &self.0.protocol {
            Protocol::Classic(channels) => {
                self.publish(message.channel(channels), message.encode())
            }
            Protocol::Sharded(channels) => self.publish(
                channels.broadcast_channel(nsp, &message.opts.rooms, false),
                sharded::encode_broadcast(&message),
            ),
        }
    }

    fn request(&self, nsp: &str, request: &Request) {
        match &self.0.protocol {
            Protocol::Classic(channels) => self.publish(channels.request(nsp), request.encode()),
            Protocol::Sharded(channels) => self.publish(
                channels.main(nsp),
                sharded::encode_request(request, &self.0.uid, nsp),
            ),
        }
    }

    /// Answers a request of server `uid`.
    pub(crate) fn respond(&self, nsp: &str, uid: &str, response: &Response) {
        match &self.0.protocol {
            Protocol::Classic(channels) => {
                let channel = match response {
                    // As socket.io's adapter: these answers always take the shared channel.
                    Response::ServerSideEmit { .. } => channels.response(nsp),
                    _ if self.0.options.publish_on_specific_response_channel => {
                        channels.specific_response(nsp, uid)
                    }
                    _ => channels.response(nsp),
                };
                self.publish(channel, response.encode());
            }
            Protocol::Sharded(channels) => self.publish(
                channels.response(nsp, uid),
                sharded::encode_response(response, &self.0.uid, nsp),
            ),
        }
    }

    /// `socketsJoin` on the other servers.
    pub(crate) fn sockets_join(&self, nsp: &str, opts: &BroadcastOptions, rooms: Vec<String>) {
        let request = Request::Join {
            uid: Some(self.0.uid.clone()),
            opts: wire_opts(opts),
            rooms,
        };
        self.request(nsp, &request);
    }

    /// `socketsLeave` on the other servers.
    pub(crate) fn sockets_leave(&self, nsp: &str, opts: &BroadcastOptions, rooms: Vec<String>) {
        let request = Request::Leave {
            uid: Some(self.0.uid.clone()),
            opts: wire_opts(opts),
            rooms,
        };
        self.request(nsp, &request);
    }

    /// `disconnectSockets` on the other servers.
    pub(crate) fn disconnect_sockets(&self, nsp: &str, opts: &BroadcastOptions, close: bool) {
        let request = Request::Disconnect {
            uid: Some(self.0.uid.clone()),
            opts: wire_opts(opts),
            close,
        };
        self.request(nsp, &request);
    }

    /// `serverSideEmit` without acknowledgement.
    pub(crate) fn server_side_emit(&self, nsp: &str, event: &str, args: Vec<Value>) {
        let request = Request::ServerSideEmit {
            uid: self.0.uid.clone(),
            request_id: None,
            data: event_data(event, &args),
        };
        self.request(nsp, &request);
    }

    /// Registers a request id whose answers go to the returned receiver until the guard
    /// is dropped.
    fn expect_responses(&self) -> (String, mpsc::UnboundedReceiver<Response>, PendingGuard) {
        let request_id = random_id(6);
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&self.0.pending).insert(request_id.clone(), tx);
        let guard = PendingGuard {
            shared: self.0.clone(),
            request_id: request_id.clone(),
        };
        (request_id, rx, guard)
    }

    /// Sends the request `make(request_id)` to the other servers of `nsp` and collects
    /// one answer from each (what `pick` takes from it), until all came or
    /// `requests_timeout` passed. Sends nothing when this server is alone.
    async fn ask_others<T>(
        &self,
        nsp: &str,
        make: impl FnOnce(String) -> Request,
        mut pick: impl FnMut(Response) -> Option<T>,
    ) -> Gathered<T> {
        let expected = self.server_count(nsp).await.saturating_sub(1);
        let mut answers = Vec::with_capacity(expected);
        if expected == 0 {
            return Gathered { answers, expected };
        }
        let (request_id, mut responses, _guard) = self.expect_responses();
        self.request(nsp, &make(request_id));
        let collect = async {
            while let Some(response) = responses.recv().await {
                if let Some(answer) = pick(response) {
                    answers.push(answer);
                    if answers.len() >= expected {
                        break;
                    }
                }
            }
        };
        let _ = tokio::time::timeout(self.0.options.requests_timeout, collect).await;
        Gathered { answers, expected }
    }

    /// `serverSideEmit` waiting for the other servers' acknowledgements.
    pub(crate) async fn server_side_emit_with_ack(
        &self,
        nsp: &str,
        event: &str,
        args: Vec<Value>,
    ) -> Result<Vec<Value>, EmitError> {
        let gathered = self
            .ask_others(
                nsp,
                |request_id| Request::ServerSideEmit {
                    uid: self.0.uid.clone(),
                    request_id: Some(request_id),
                    data: event_data(event, &args),
                },
                |response| match response {
                    Response::ServerSideEmit { data, .. } => Some(data.unwrap_or_default()),
                    _ => None,
                },
            )
            .await;
        if gathered.complete() {
            return Ok(gathered.answers);
        }
        Err(EmitError::Timeout {
            received: gathered.answers.len(),
            expected: gathered.expected,
            responses: gathered.answers,
        })
    }

    /// The matching sockets of the other servers (`fetchSockets`).
    pub(crate) async fn fetch_sockets(
        &self,
        nsp: &str,
        opts: &BroadcastOptions,
    ) -> Result<Vec<crate::proto::cluster::ClusterSocket>, EmitError> {
        self.ask_others(
            nsp,
            |request_id| Request::Fetch {
                uid: self.0.uid.clone(),
                request_id,
                opts: wire_opts(opts),
            },
            |response| match response {
                Response::Fetch { sockets, .. } => Some(sockets),
                _ => None,
            },
        )
        .await
        .flattened()
    }

    /// The rooms of the other servers (`allRooms`); classic adapter only, as in Node.
    pub(crate) async fn all_rooms(&self, nsp: &str) -> Result<Vec<String>, EmitError> {
        if matches!(self.0.protocol, Protocol::Sharded(_)) {
            return Err(EmitError::Unsupported("allRooms"));
        }
        self.ask_others(
            nsp,
            |request_id| Request::AllRooms {
                uid: self.0.uid.clone(),
                request_id,
            },
            |response| match response {
                Response::AllRooms { rooms, .. } => Some(rooms),
                _ => None,
            },
        )
        .await
        .flattened()
    }

    /// Sends a broadcast with acknowledgements to the other servers; the answers (client
    /// counts, then acknowledgements) come out of the returned [`RemoteAcks`].
    pub(crate) async fn broadcast_with_ack(
        &self,
        nsp: &str,
        event: &str,
        args: &[Value],
        opts: &BroadcastOptions,
    ) -> RemoteAcks {
        let (request_id, answers, guard) = self.expect_responses();
        self.request(
            nsp,
            &Request::Broadcast {
                uid: self.0.uid.clone(),
                request_id,
                nsp: nsp.to_owned(),
                data: event_data(event, args),
                opts: wire_opts(opts),
            },
        );
        let servers = self.server_count(nsp).await.saturating_sub(1);
        RemoteAcks {
            servers,
            answers,
            _guard: guard,
        }
    }
}

/// One answer per other server, as [`ClusterAdapter::ask_others`] collected them.
struct Gathered<T> {
    answers: Vec<T>,
    /// How many servers should have answered.
    expected: usize,
}

impl<T> Gathered<T> {
    fn complete(&self) -> bool {
        self.answers.len() >= self.expected
    }
}

impl<T> Gathered<Vec<T>> {
    /// The answers joined, or socket.io's timeout error when some server did not answer.
    fn flattened(self) -> Result<Vec<T>, EmitError> {
        if !self.complete() {
            return Err(EmitError::Timeout {
                responses: Vec::new(),
                received: self.answers.len(),
                expected: self.expected,
            });
        }
        Ok(self.answers.into_iter().flatten().collect())
    }
}

/// Answers from the other servers to a broadcast with acknowledgements.
pub(crate) struct RemoteAcks {
    /// How many other servers answer (each with a client count).
    pub(crate) servers: usize,
    pub(crate) answers: mpsc::UnboundedReceiver<Response>,
    _guard: PendingGuard,
}

/// Forgets a request id once its caller stops waiting.
struct PendingGuard {
    shared: Arc<ClusterShared>,
    request_id: String,
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        lock(&self.shared.pending).remove(&self.request_id);
    }
}

/// Answers another server's `serverSideEmit` that waits for acknowledgements (socket.io's
/// callback); only the first answer counts, as there.
#[derive(Debug)]
pub struct ServerAck {
    adapter: ClusterAdapter,
    nsp: String,
    /// The asking server.
    requester: String,
    request_id: String,
}

impl ServerAck {
    /// Answers with `value`.
    pub fn send(self, value: Value) {
        let response = Response::ServerSideEmit {
            request_id: self.request_id,
            data: Some(value),
        };
        self.adapter.respond(&self.nsp, &self.requester, &response);
    }
}

/// `[event, ...args]`.
fn event_data(event: &str, args: &[Value]) -> Vec<Value> {
    let mut data = Vec::with_capacity(args.len() + 1);
    data.push(Value::from(event));
    data.extend_from_slice(args);
    data
}

fn wire_opts(opts: &BroadcastOptions) -> ClusterOpts {
    ClusterOpts {
        rooms: opts.rooms.iter().map(|r| r.to_string()).collect(),
        except: opts.except.iter().map(|r| r.to_string()).collect(),
        flags: WireFlags {
            volatile: opts.flags.volatile,
            compress: opts.flags.compress,
            timeout_ms: opts
                .flags
                .timeout
                .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
            expect_single_response: false,
        },
    }
}

/// Publishes what is queued, in order, gathering whatever is waiting into one batch.
async fn publisher(
    driver: Arc<dyn PubSubDriver>,
    mut outgoing: mpsc::UnboundedReceiver<Outgoing>,
    shard_channels: bool,
) {
    while let Some(first) = outgoing.recv().await {
        let mut batch = vec![first];
        while batch.len() < 256 {
            match outgoing.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let published = if shard_channels {
            driver.publish_sharded(batch).await
        } else {
            driver.publish(batch).await
        };
        if let Err(error) = published {
            tracing::warn!(%error, "cluster publish failed");
        }
    }
}
