//! The task that drives one Engine.IO session: its timers and, once there is one, its
//! WebSocket (plus a second WebSocket while an upgrade is being probed).
//!
//! The driver writes straight to the socket it owns: no writer task, no channel hop. Every
//! wake-up drains what was queued meanwhile and writes it as one batch.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Instant;

use super::conn::{Conn, DriverEvent};
use super::ws::{self, WsStream};
use crate::proto::engineio::{CloseReason, Packet, Transport};

/// Runs a session until it closes.
///
/// Not an `async fn`: its arguments would be kept in the future twice (as the call's
/// arguments and as the body's locals), and every idle session keeps this future. The
/// `async move` block uses the captured variables in place.
#[allow(clippy::manual_async_fn)]
pub(crate) fn run(conn: Arc<Conn>, mut ws: Option<WsStream>) -> impl Future<Output = ()> {
    async move {
        // Boxed: a probe is rare and short-lived, so idle sessions keep their task small.
        let mut probe: Option<Box<WsStream>> = None;
        // One timer for the session's life, moved when the next deadline changes.
        let mut timer = pin!(tokio::time::sleep_until(tokio::time::Instant::now()));
        let mut armed: Option<Instant> = None;
        loop {
            // Outputs first: packets for the main socket, then for the probe.
            if let Some(socket) = ws.as_mut() {
                loop {
                    let mut packets = conn.lock().engine.drain_transmits_flagged();
                    if packets.is_empty() {
                        break;
                    }
                    let after_connect = split_after_connect_reply(&mut packets);
                    let limit = write_timeout(&conn);
                    let mut written =
                        guarded_write(socket, packets, timer.as_mut(), limit, &mut armed).await;
                    if let (Written::Yes, Some(rest)) = (written, after_connect) {
                        Box::pin(tokio::time::sleep(CONNECT_REPLY_GAP)).await;
                        written =
                            guarded_write(socket, rest, timer.as_mut(), limit, &mut armed).await;
                    }
                    match written {
                        Written::Yes => conn.progress.notify_waiters(),
                        Written::Failed => {
                            conn.abort(CloseReason::TransportError);
                            break;
                        }
                        Written::Stalled => {
                            // The client took nothing for a whole heartbeat: it is gone or has
                            // stopped reading, as a ping timeout would tell.
                            conn.abort(CloseReason::PingTimeout);
                            break;
                        }
                    }
                }
            }
            if let Some(socket) = probe.as_deref_mut() {
                let packets: Vec<(Packet, bool)> =
                    std::iter::from_fn(|| conn.lock().engine.poll_probe_transmit())
                        .map(|packet| (packet, false))
                        .collect();
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
                packet = next_probe_packet(probe.as_deref_mut()) => match packet {
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
                        conn.progress.notify_waiters();
                    }
                    DriverEvent::UpgradeAborted => {
                        conn.progress.notify_waiters();
                        close_boxed(probe.take()).await;
                    }
                }
            }
        }
        close_boxed(probe.take()).await;
        if let Some(socket) = ws.take() {
            Box::pin(finish(conn, socket)).await;
        }
    }
}

/// Reads the probe's next message, or waits forever when there is no probe. The read is
/// boxed only while a probe exists, so that idle sessions do not keep room for it.
fn next_probe_packet(
    probe: Option<&mut WsStream>,
) -> impl std::future::Future<Output = Result<Packet, CloseReason>> + '_ {
    let mut read = probe.map(|probe| Box::pin(ws::next_packet(Some(probe))));
    std::future::poll_fn(move |cx| match read.as_mut() {
        Some(read) => read.as_mut().poll(cx),
        None => std::task::Poll::Pending,
    })
}

/// How a write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Written {
    Yes,
    Failed,
    Stalled,
}

/// Writes `packets`, giving up after `limit` if the client takes nothing. The usual write
/// completes at its first poll and touches no timer; one that waits borrows the session's
/// timer (`armed` is cleared so that the session's next deadline is set again after).
#[allow(clippy::manual_async_fn)]
fn guarded_write<'a>(
    socket: &'a mut WsStream,
    packets: Vec<(Packet, bool)>,
    mut timer: std::pin::Pin<&'a mut tokio::time::Sleep>,
    limit: std::time::Duration,
    armed: &'a mut Option<Instant>,
) -> impl Future<Output = Written> + 'a {
    // Not an `async fn`, for the reason given at `run`: this future is part of the driver's.
    async move {
        use std::task::Poll;
        let outcome = |result: Result<(), _>| match result {
            Ok(()) => Written::Yes,
            Err(_) => Written::Failed,
        };
        let mut write = pin!(ws::write_all(socket, packets));
        let first = std::future::poll_fn(|cx| Poll::Ready(write.as_mut().poll(cx))).await;
        if let Poll::Ready(result) = first {
            return outcome(result);
        }
        timer.as_mut().reset(tokio::time::Instant::now() + limit);
        *armed = None;
        tokio::select! {
            result = &mut write => outcome(result),
            () = &mut timer => Written::Stalled,
        }
    }
}

/// How long one write may wait for a client that does not read: a heartbeat
/// (`pingInterval + pingTimeout`), after which a reading client would have timed out.
fn write_timeout(conn: &Conn) -> std::time::Duration {
    let config = &conn.server.config;
    config.ping_interval + config.ping_timeout
}

/// How long frames queued together with a Socket.IO CONNECT reply wait after it.
///
/// A namespace's `connection` handlers typically emit right away, so their first events are
/// queued in the same batch as the CONNECT reply. Node's socket.io writes the reply as soon
/// as it is queued and the next packets one event-loop turn later, so they reach the client
/// in separate reads. Clients that read one message per `await` (the official
/// socket.io-protocol conformance suite does) miss a frame that shares a read with the one
/// they awaited. Pausing once per namespace connection costs nothing measurable.
const CONNECT_REPLY_GAP: std::time::Duration = std::time::Duration::from_millis(1);

/// When `packets` holds a Socket.IO CONNECT reply (`40...`) followed by more frames, splits
/// them off after the reply and returns them.
fn split_after_connect_reply(packets: &mut Vec<(Packet, bool)>) -> Option<Vec<(Packet, bool)>> {
    // The frame is `4` (Engine.IO message) + `0` (Socket.IO CONNECT) + ...
    let at = packets
        .iter()
        .position(|(p, _)| matches!(p, Packet::Text(frame) if frame.frame().starts_with(b"40")))?;
    (at + 1 < packets.len()).then(|| packets.split_off(at + 1))
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
    let remaining = conn.lock().engine.drain_transmits_flagged();
    let _ = ws::write_all(&mut socket, remaining).await;
    ws::close(Some(socket)).await;
}

#[cfg(test)]
mod tests {
    /// The size of what `f` returns: the state of an `async fn` before its first poll.
    fn future_size<F, A, B, R>(_: &F) -> usize
    where
        F: Fn(A, B) -> R,
    {
        std::mem::size_of::<R>()
    }

    /// Every session keeps its driver's future for its whole life, so its size is memory per
    /// idle connection: rare paths (probes, carried sockets, protocol errors) are boxed, and
    /// `run` is no `async fn`. 1,712 bytes before; 888 after (both in a test build).
    #[test]
    fn the_driver_future_stays_small() {
        let size = future_size(&super::run);
        assert!(size <= 896, "driver future: {size} bytes");
    }
}
