//! Emits from one socket with socket.io's flags (`socket.volatile`, `socket.timeout(ms)`).

use std::future::Future;
use std::time::Duration;

use serde::Serialize;

use super::ack::AckError;
use super::conn::SendFlags;
use super::socket::{EmitError, Socket, serialize};
use crate::proto::value::Value;

/// An emit to one client with flags set first, built by [`Socket::volatile`],
/// [`Socket::compress`] or [`Socket::timeout`]; the flags chain.
#[derive(Debug, Clone)]
pub struct SocketOperator {
    socket: Socket,
    volatile: bool,
    compress: Option<bool>,
    timeout: Option<Duration>,
}

impl SocketOperator {
    pub(crate) fn new(socket: Socket) -> SocketOperator {
        SocketOperator {
            socket,
            volatile: false,
            compress: None,
            timeout: None,
        }
    }

    /// Drops the packet if the transport cannot take it right away (socket.io's `volatile`).
    pub fn volatile(mut self) -> SocketOperator {
        self.volatile = true;
        self
    }

    /// Sets socket.io's `compress` flag: with `false`, a long-polling response that holds
    /// only such packets is sent uncompressed (`httpCompression`).
    pub fn compress(mut self, compress: bool) -> SocketOperator {
        self.compress = Some(compress);
        self
    }

    /// How long [`SocketOperator::emit_with_ack`] waits for the answer.
    pub fn timeout(mut self, timeout: Duration) -> SocketOperator {
        self.timeout = Some(timeout);
        self
    }

    fn flags(&self) -> SendFlags {
        SendFlags {
            volatile: self.volatile,
            compress: self.compress.unwrap_or(true),
        }
    }

    /// Emits `event` with one serializable argument.
    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<(), EmitError> {
        self.emit_args(event, vec![serialize(&data)?])
    }

    /// Emits `event` with any number of arguments.
    pub fn emit_args(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        self.socket.emit_with_flags(event, args, self.flags())
    }

    /// Emits `event` and waits for the client's acknowledgement: up to the
    /// [`SocketOperator::timeout`] if one was set, otherwise until it answers or
    /// disconnects.
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
    ) -> impl Future<Output = Result<Vec<Value>, AckError>> + Send + 'static {
        self.socket
            .emit_with_ack_flags(event, args, self.timeout, self.flags())
    }
}
