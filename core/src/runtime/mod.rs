//! The tokio runtime: a hyper service for long-polling and WebSocket, and the public server
//! API (namespaces, sockets, rooms, broadcasts, acks, middlewares).
//!
//! It is a thin pump around [`crate::proto`]: each Engine.IO session is driven by one task
//! that owns its WebSocket (when there is one) and its timers.

mod ack;
mod broadcast;
pub mod client;
mod cluster;
mod config;
mod conn;
mod driver;
mod event;
mod headers;
mod http;
mod ids;
mod namespace;
mod operator;
mod packet_middleware;
mod parent;
mod prefixed;
mod remote;
mod server;
mod socket;
mod typed;
mod ws;

pub use crate::proto::cluster::sharded::SubscriptionMode;
pub use ack::{AckError, AckResponse, AckSender, BroadcastAckError};
pub use broadcast::{BroadcastFlags, BroadcastOperator, BroadcastOptions};
#[cfg(feature = "redis")]
pub use cluster::RedisDriver;
pub use cluster::{
    ClusterAdapter, ClusterOptions, DriverError, DriverFuture, DriverMessage, PubSubDriver,
    ServerAck, ShardedOptions,
};
pub use config::{
    AllowRequest, ConnectionStateRecovery, CookieConfig, Cors, CorsOrigin, HttpCompression,
    OriginPredicate, PerMessageDeflate, RequestHead, ResponseHeaders, SameSite, SaturationPolicy,
    ServerConfig,
};
pub use event::Event;
pub use http::{ConnectionError, SocketIoService};
pub use namespace::{ConnectError, Namespace};
pub use operator::SocketOperator;
pub use packet_middleware::PacketError;
pub use parent::ParentNamespace;
pub use remote::RemoteSocket;
pub use server::{EngineHandler, EngineSocket, Fallback, Server, SetAdapterError};
pub use socket::{DisconnectReason, EmitError, Handshake, ListenerId, Socket};
pub use typed::EventSpec;
pub use ws::{LinkClosed, WebSocketLink, WebSocketSender, WsMessage};

pub use crate::proto::engineio::Transport;
pub use crate::proto::socketio::Parser;
