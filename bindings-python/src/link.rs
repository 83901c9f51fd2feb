//! A WebSocket that the Python web server (an ASGI server, aiohttp) owns, carried to the
//! engine as whole messages (`polysocket::WebSocketLink`).

use std::sync::Arc;

use bytes::Bytes;
use polysocket::{WebSocketLink, WsMessage};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use tokio::sync::mpsc;

use crate::dispatch::{Dispatcher, Outcome};

/// The Python side of a carried WebSocket: `push_*` forwards what the client sent, in
/// order; `recv(call)` ends call `call` with the next messages for the client.
#[pyclass(frozen, module = "polysocket._native")]
pub(crate) struct NativeLink {
    inbound: mpsc::UnboundedSender<WsMessage>,
    outbound: Arc<tokio::sync::Mutex<WebSocketLink>>,
    dispatcher: Arc<Dispatcher>,
}

impl NativeLink {
    pub(crate) fn new(link: WebSocketLink, dispatcher: Arc<Dispatcher>) -> NativeLink {
        let (inbound, mut queued) = mpsc::unbounded_channel::<WsMessage>();
        let sender = link.sender();
        // One task forwards in order; it waits while the engine is behind.
        crate::runtime().spawn(async move {
            while let Some(message) = queued.recv().await {
                if sender.send(message).await.is_err() {
                    break;
                }
            }
        });
        NativeLink {
            inbound,
            outbound: Arc::new(tokio::sync::Mutex::new(link)),
            dispatcher,
        }
    }
}

#[pymethods]
impl NativeLink {
    /// Forwards a message from the client: `str` is a text message, `bytes` a binary one.
    fn push(&self, message: &Bound<'_, PyAny>) -> PyResult<()> {
        let message = if let Ok(text) = message.cast::<PyString>() {
            WsMessage::Text(Bytes::copy_from_slice(text.to_str()?.as_bytes()))
        } else if let Ok(bytes) = message.cast::<PyBytes>() {
            WsMessage::Binary(Bytes::copy_from_slice(bytes.as_bytes()))
        } else {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "a websocket message is str or bytes",
            ));
        };
        let _ = self.inbound.send(message);
        Ok(())
    }

    /// The client went away (or sent a close frame).
    fn close(&self) {
        let _ = self.inbound.send(WsMessage::Close(1000));
    }

    /// Ends call `call` with `(messages, open)`: the messages for the client (`str`,
    /// `bytes`, or an `int` close code) and whether more may follow.
    fn recv(&self, call: u64) {
        let dispatcher = self.dispatcher.clone();
        let outbound = self.outbound.clone();
        crate::runtime().spawn(async move {
            let mut link = outbound.lock().await;
            let mut messages = Vec::new();
            let open = match link.recv().await {
                Some(first) => {
                    messages.push(first);
                    link.recv_ready(&mut messages)
                }
                None => false,
            };
            dispatcher.done(call, Outcome::Messages(messages, open));
        });
    }
}
