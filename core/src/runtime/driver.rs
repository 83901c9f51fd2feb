//! The task that drives one Engine.IO session: its timers and, once there is one, its
//! WebSocket (plus a second WebSocket while an upgrade is being probed).
//!
//! The driver writes straight to the socket it owns: no writer task, no channel hop. Every
//! wake-up drains what was queued meanwhile and writes it as one batch.

use std::pin::pin;
use std::sync::Arc;
use std::time::Instant;

use super::conn::{Conn, DriverEvent};
use super::ws::{self, WsStream};
use crate::proto::engineio::{CloseReason, Packet, Transport};

/// Runs a session until it closes.
pub(crate) async fn run(conn: Arc<Conn>, mut ws: Option<WsStream>) {
    // Boxed: a probe is rare and short-lived, so idle sessions keep their task small.
    let mut probe: Option<Box<WsStream>> = None;
    // One timer for the session's life, moved when the next deadline changes.
    let mut timer = pin!(tokio::time::sleep_until(tokio::time::Instant::now()));
    let mut armed: Option<Instant> = None;
    loop {
        // Outputs first: packets for the main socket, then for the probe.
        if let Some(socket) = ws.as_mut() {
            loop {
                let packets = conn.lock().engine.drain_transmits();
                if packets.is_empty() {
                    break;
                }
                if ws::write_all(socket, packets).await.is_err() {
                    conn.abort(CloseReason::TransportError);
                    break;
                }
            }
        }
        if let Some(socket) = probe.as_deref_mut() {
            let packets: Vec<Packet> =
                std::iter::from_fn(|| conn.lock().engine.poll_probe_transmit()).collect();
            if !packets.is_empty() && Box::pin(ws::write_all(socket, packets)).await.is_err() {
                close_boxed(probe.take()).await;
            }
        }
        if conn.lock().engine.is_closed() {
            conn.process_events();
            break;
        }
        if probe.is_none() {
            probe = conn.lock().probe.take();
        }
        let deadline = conn.poll_timeout();
        if deadline != armed {
            if let Some(at) = deadline {
                timer.as_mut().reset(at.into());
            }
            armed = deadline;
        }
        let events = tokio::select! {
            packet = ws::next_packet(ws.as_mut()) => match packet {
                Ok(packet) => conn.handle_inbound(packet, Transport::WebSocket, Instant::now()),
                Err(reason) => conn.abort(reason),
            },
            packet = ws::next_packet(probe.as_deref_mut()) => match packet {
                Ok(packet) => conn.handle_inbound(packet, Transport::WebSocket, Instant::now()),
                Err(_) => {
                    probe = None;
                    Vec::new()
                }
            },
            () = conn.wake_driver.notified() => Vec::new(),
            () = &mut timer, if armed.is_some() => {
                armed = None;
                conn.handle_timeout(Instant::now())
            }
        };
        for event in events {
            match event {
                DriverEvent::Upgraded => {
                    if let Some(probe) = probe.take() {
                        ws = Some(*probe);
                    }
                    conn.wake_poll.notify_one();
                }
                DriverEvent::UpgradeAborted => close_boxed(probe.take()).await,
            }
        }
    }
    close_boxed(probe.take()).await;
    if let Some(socket) = ws.take() {
        Box::pin(finish(conn, socket)).await;
    }
}

/// Closes a probe. Boxed, like every rare path here, so that the state of the driver's
/// future (which every idle session keeps) stays small.
async fn close_boxed(probe: Option<Box<WsStream>>) {
    if let Some(probe) = probe {
        Box::pin(ws::close(Some(*probe))).await;
    }
}

/// Writes what is left and closes the socket once the session closed.
async fn finish(conn: Arc<Conn>, mut socket: WsStream) {
    let remaining = conn.lock().engine.drain_transmits();
    let _ = ws::write_all(&mut socket, remaining).await;
    ws::close(Some(socket)).await;
}
