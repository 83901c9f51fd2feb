//! Per-packet middlewares (socket.io's `socket.use`) and their errors.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;

use super::event::Event;
use super::socket::Socket;
use crate::proto::value::Value;

/// A packet middleware's refusal. The event is not dispatched; the socket's error handlers
/// ([`Socket::on_error`]) get this error, as socket.io emits `error` on the server socket.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct PacketError {
    /// The error message.
    pub message: String,
    /// Extra data.
    pub data: Option<Value>,
}

impl PacketError {
    /// A refusal with a message.
    pub fn new(message: impl Into<String>) -> PacketError {
        PacketError {
            message: message.into(),
            data: None,
        }
    }

    /// Attaches `data` (any serializable value).
    pub fn with_data(mut self, data: impl Serialize) -> PacketError {
        self.data = crate::proto::value::to_value(&data).ok();
        self
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
type SyncMiddleware = Arc<dyn Fn(&Socket, &mut Event) -> Result<(), PacketError> + Send + Sync>;
type AsyncMiddleware =
    Arc<dyn Fn(Socket, Event) -> BoxFuture<Result<Event, PacketError>> + Send + Sync>;

/// One middleware of a socket's chain.
#[derive(Clone)]
pub(crate) enum PacketMiddleware {
    /// Runs inline, on the task that read the packet.
    Sync(SyncMiddleware),
    /// Runs on a task of its own; the rest of the chain and the handler follow it there.
    Async(AsyncMiddleware),
}

/// What running the inline part of a chain left to do.
pub(crate) enum ChainOutcome {
    /// Every middleware passed: dispatch the event.
    Passed(Event),
    /// A middleware refused the event.
    Refused(PacketError),
    /// An async middleware was reached: the rest runs on its own task.
    Spawned,
}

/// Runs `chain` over `event`; once an async middleware is reached, the rest of the chain and
/// `then` run on a spawned task. `then` gets the event (or the refusal) at the end.
pub(crate) fn run_chain(
    socket: &Socket,
    chain: &[PacketMiddleware],
    mut event: Event,
    then: impl FnOnce(&Socket, Result<Event, PacketError>) + Send + 'static,
) -> ChainOutcome {
    for (index, middleware) in chain.iter().enumerate() {
        match middleware {
            PacketMiddleware::Sync(middleware) => {
                if let Err(error) = middleware(socket, &mut event) {
                    return ChainOutcome::Refused(error);
                }
            }
            PacketMiddleware::Async(_) => {
                let rest = chain[index..].to_vec();
                let socket = socket.clone();
                tokio::spawn(async move {
                    let result = run_rest(&socket, &rest, event).await;
                    then(&socket, result);
                });
                return ChainOutcome::Spawned;
            }
        }
    }
    ChainOutcome::Passed(event)
}

async fn run_rest(
    socket: &Socket,
    chain: &[PacketMiddleware],
    mut event: Event,
) -> Result<Event, PacketError> {
    for middleware in chain {
        event = match middleware {
            PacketMiddleware::Sync(middleware) => {
                middleware(socket, &mut event)?;
                event
            }
            PacketMiddleware::Async(middleware) => middleware(socket.clone(), event).await?,
        };
    }
    Ok(event)
}
