//! The task that drives one Engine.IO session: its timers and, once there is one, its
//! WebSocket (plus a second WebSocket while an upgrade is being probed).
//!
//! The driver writes straight to the socket it owns: no writer task, no channel hop.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};

use super::conn::{Conn, DriverEvent};
use crate::proto::engineio::{CloseReason, Packet, Transport, WsFrame};

/// A server-side WebSocket over an upgraded hyper connection.
pub(crate) type WsStream = WebSocketStream<TokioIo<Upgraded>>;

/// WebSocket settings sized for many idle connections: a small read buffer, writes flushed
/// as they are made, and messages capped at `maxHttpBufferSize`.
pub(crate) fn ws_config(max_payload: u64) -> WebSocketConfig {
    let max = usize::try_from(max_payload).unwrap_or(usize::MAX);
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
}

fn to_message(frame: WsFrame) -> Option<Message> {
    match frame {
        WsFrame::Text(bytes) => Utf8Bytes::try_from(bytes).ok().map(Message::Text),
        WsFrame::Binary(bytes) => Some(Message::Binary(bytes)),
    }
}

/// Reads the next data message, or why the socket can no longer be read.
async fn next_packet(ws: &mut Option<WsStream>) -> Result<Packet, CloseReason> {
    let Some(ws) = ws.as_mut() else {
        return std::future::pending().await;
    };
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                return Packet::decode_text_frame(Bytes::from(text))
                    .map_err(|_| CloseReason::ParseError);
            }
            Some(Ok(Message::Binary(data))) => return Ok(Packet::Binary(data)),
            Some(Ok(Message::Close(_))) | None => return Err(CloseReason::TransportClose),
            Some(Ok(_)) => continue, // ping/pong frames are answered by tungstenite
            Some(Err(tungstenite::Error::ConnectionClosed)) => {
                return Err(CloseReason::TransportClose);
            }
            Some(Err(_)) => return Err(CloseReason::TransportError),
        }
    }
}

async fn write_all(ws: &mut WsStream, packets: Vec<Packet>) -> Result<(), tungstenite::Error> {
    for packet in packets {
        if let Some(message) = to_message(packet.to_ws_frame()) {
            ws.feed(message).await?;
        }
    }
    ws.flush().await
}

async fn close_ws(ws: Option<WsStream>) {
    if let Some(mut ws) = ws {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), ws.close(None)).await;
    }
}

/// Runs a session until it closes.
pub(crate) async fn run(
    conn: Arc<Conn>,
    mut ws: Option<WsStream>,
    mut probe_rx: mpsc::UnboundedReceiver<WsStream>,
) {
    let mut probe: Option<WsStream> = None;
    loop {
        // Outputs first: packets for the main socket, then for the probe.
        if let Some(socket) = ws.as_mut() {
            loop {
                let packets = conn.lock().engine.drain_transmits();
                if packets.is_empty() {
                    break;
                }
                if write_all(socket, packets).await.is_err() {
                    conn.abort(CloseReason::TransportError);
                    break;
                }
            }
        }
        if let Some(socket) = probe.as_mut() {
            let packets: Vec<Packet> =
                std::iter::from_fn(|| conn.lock().engine.poll_probe_transmit()).collect();
            if !packets.is_empty() && write_all(socket, packets).await.is_err() {
                close_ws(probe.take()).await;
            }
        }
        if conn.lock().engine.is_closed() {
            conn.process_events();
            break;
        }
        let deadline = conn.poll_timeout();
        let events = tokio::select! {
            packet = next_packet(&mut ws) => match packet {
                Ok(packet) => conn.handle_inbound(packet, Transport::WebSocket, Instant::now()),
                Err(reason) => {
                    conn.abort(reason)
                }
            },
            packet = next_packet(&mut probe) => match packet {
                Ok(packet) => conn.handle_inbound(packet, Transport::WebSocket, Instant::now()),
                Err(_) => {
                    probe = None;
                    Vec::new()
                }
            },
            new_probe = probe_rx.recv(), if probe.is_none() => {
                probe = new_probe;
                Vec::new()
            }
            () = conn.wake_driver.notified() => Vec::new(),
            () = sleep_until(deadline) => conn.handle_timeout(Instant::now()),
        };
        for event in events {
            match event {
                DriverEvent::Upgraded => {
                    if let Some(probe) = probe.take() {
                        ws = Some(probe);
                    }
                    conn.wake_poll.notify_one();
                }
                DriverEvent::UpgradeAborted => close_ws(probe.take()).await,
            }
        }
    }
    close_ws(probe.take()).await;
    if let Some(mut socket) = ws.take() {
        let remaining = conn.lock().engine.drain_transmits();
        let _ = write_all(&mut socket, remaining).await;
        close_ws(Some(socket)).await;
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
