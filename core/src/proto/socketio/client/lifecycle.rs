//! An application's control of a running manager: pausing the connection (a mobile app
//! going to the background), resuming it, reconnecting at once when the network changes,
//! and changing the options (socket.io-client's `manager.reconnectionDelay(ms)` and friends).

use super::{ClientDisconnectReason, ClientManager, EngineState, ManagerConfig, ManagerEvent};
use crate::proto::time::Instant;

impl ClientManager {
    /// Whether the connection is paused ([`ClientManager::pause`]).
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Pauses the connection: it closes (sockets that were connected disconnect with
    /// `transport close`) and nothing reconnects until [`ClientManager::resume`]. The sockets
    /// stay active: emits made meanwhile wait in their send buffers, and each socket keeps its
    /// recovery id, so that the next connection may restore the session.
    pub fn pause(&mut self) {
        if self.paused {
            return;
        }
        self.paused = true;
        self.reconnecting = false;
        match self.engine {
            EngineState::Open => self.drop_connection(),
            EngineState::Opening { .. } => {
                self.engine = EngineState::Closed;
                self.transmits.clear();
                self.events.push_back(ManagerEvent::CloseEngine);
            }
            EngineState::Waiting { .. } => self.engine = EngineState::Closed,
            EngineState::Closed => {}
        }
    }

    /// Ends a pause: a new connection opens at once (the reconnection delay starts over)
    /// when a socket wants one. Outside a pause this only cuts short the wait for the next
    /// reconnection attempt.
    pub fn resume(&mut self, now: Instant) {
        self.paused = false;
        self.backoff.reset();
        self.reconnecting = false;
        match self.engine {
            EngineState::Closed | EngineState::Waiting { .. } if self.wants_connection() => {
                self.open_engine(now);
            }
            _ => {}
        }
    }

    /// The network changed (another Wi-Fi, cellular): the current connection may be dead
    /// without either side knowing until the ping times out, so it closes (`transport close`)
    /// and a new one opens at once. Does nothing while paused or when no socket wants a
    /// connection.
    pub fn reconnect_now(&mut self, now: Instant) {
        if self.paused || !self.wants_connection() {
            return;
        }
        if self.engine == EngineState::Open {
            self.drop_connection();
        }
        self.resume(now);
    }

    /// Replaces the options (socket.io-client's Manager setters). The backoff keeps its
    /// count of attempts; the new delays, timeout and `reconnection` apply from the next
    /// scheduling on.
    pub fn set_config(&mut self, config: ManagerConfig) {
        self.backoff.set_delays(
            config.reconnection_delay,
            config.reconnection_delay_max,
            config.randomization_factor,
        );
        if !config.reconnection
            && let EngineState::Waiting { .. } = self.engine
        {
            self.engine = EngineState::Closed;
            self.reconnecting = false;
        }
        self.config = config;
    }

    /// Whether some socket wants to be connected.
    fn wants_connection(&self) -> bool {
        self.auto_reconnect && self.sockets.values().any(|s| s.active)
    }

    /// Closes the open connection on the application's behalf: its sockets hear
    /// `transport close`, and nothing is scheduled.
    fn drop_connection(&mut self) {
        let reason = ClientDisconnectReason::TransportClose;
        self.engine = EngineState::Closed;
        self.transmits.clear();
        self.events.push_back(ManagerEvent::CloseEngine);
        self.events.push_back(ManagerEvent::Close(reason));
        self.close_sockets(reason);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::tests::{empty, events, server, socket, text};
    use super::super::{AckOutcome, ManagerConfig, SocketEvent};
    use super::*;
    use crate::proto::value::Value;

    /// A manager whose socket of `/` is connected with a recovery id, events drained.
    fn connected(t0: Instant) -> ClientManager {
        let mut manager = ClientManager::new(ManagerConfig::default());
        manager.connect("/", empty(), t0);
        manager.engine_opened(t0);
        server(&mut manager, r#"0{"sid":"A","pid":"P"}"#, t0);
        server(&mut manager, r#"2["news",1,"off-1"]"#, t0);
        events(&mut manager);
        text(&mut manager);
        manager
    }

    #[test]
    fn pause_closes_buffers_emits_and_resume_reconnects_with_the_recovery_id() {
        let t0 = Instant::now();
        let mut manager = connected(t0);
        let sent = manager.emit("/", "sent", vec![], Some(None), false, t0);
        text(&mut manager);
        manager.pause();
        assert!(manager.is_paused());
        assert_eq!(
            events(&mut manager),
            [
                ManagerEvent::CloseEngine,
                ManagerEvent::Close(ClientDisconnectReason::TransportClose),
                socket(
                    "/",
                    SocketEvent::Disconnect(ClientDisconnectReason::TransportClose)
                ),
                socket(
                    "/",
                    SocketEvent::Ack {
                        id: sent.unwrap(),
                        outcome: AckOutcome::Disconnected
                    }
                ),
            ]
        );
        // The engine reporting its close afterwards changes nothing.
        manager.engine_closed(crate::proto::engineio::CloseReason::ForcedClose, t0, 0.0);
        assert_eq!(events(&mut manager), []);
        // Paused: no reconnection, however long it waits; emits are buffered.
        manager.emit("/", "later", vec![Value::from(2)], None, false, t0);
        let much_later = t0 + Duration::from_secs(3600);
        assert_eq!(manager.poll_timeout(), None);
        manager.handle_timeout(much_later, 0.0);
        assert_eq!(events(&mut manager), []);
        assert!(text(&mut manager).is_empty());

        manager.resume(much_later);
        assert!(!manager.is_paused());
        assert_eq!(events(&mut manager), [ManagerEvent::OpenEngine]);
        manager.engine_opened(much_later);
        assert_eq!(events(&mut manager), [ManagerEvent::Open]);
        assert_eq!(text(&mut manager), [r#"0{"pid":"P","offset":"off-1"}"#]);
        server(&mut manager, r#"0{"sid":"A","pid":"P"}"#, much_later);
        assert_eq!(text(&mut manager), [r#"2["later",2]"#]);
    }

    #[test]
    fn a_connection_that_opens_during_a_pause_is_closed_again() {
        let t0 = Instant::now();
        let mut manager = ClientManager::new(ManagerConfig::default());
        manager.connect("/", Value::Null, t0);
        assert_eq!(events(&mut manager), [ManagerEvent::OpenEngine]);
        manager.pause();
        assert_eq!(events(&mut manager), [ManagerEvent::CloseEngine]);
        manager.engine_opened(t0);
        assert_eq!(events(&mut manager), [ManagerEvent::CloseEngine]);
        assert!(text(&mut manager).is_empty(), "no CONNECT while paused");
        manager.engine_failed("timeout", t0, 0.0);
        assert_eq!(events(&mut manager), []);
    }

    #[test]
    fn options_change_at_runtime() {
        let t0 = Instant::now();
        let mut manager = connected(t0);
        let config = ManagerConfig {
            reconnection_delay: Duration::from_millis(50),
            reconnection_delay_max: Duration::from_millis(50),
            randomization_factor: 0.0,
            ..ManagerConfig::default()
        };
        manager.set_config(config.clone());
        assert_eq!(manager.config(), &config);
        manager.engine_closed(crate::proto::engineio::CloseReason::TransportClose, t0, 0.0);
        assert_eq!(manager.poll_timeout(), Some(t0 + Duration::from_millis(50)));
        // Turning reconnection off stops the wait for the next attempt.
        manager.set_config(ManagerConfig {
            reconnection: false,
            ..config
        });
        assert_eq!(manager.poll_timeout(), None);
        manager.handle_timeout(t0 + Duration::from_secs(1), 0.0);
        assert!(!events(&mut manager).contains(&ManagerEvent::OpenEngine));
    }

    #[test]
    fn reconnect_now_replaces_an_open_connection_and_skips_the_backoff() {
        let t0 = Instant::now();
        let mut manager = connected(t0);
        manager.reconnect_now(t0);
        assert_eq!(
            events(&mut manager),
            [
                ManagerEvent::CloseEngine,
                ManagerEvent::Close(ClientDisconnectReason::TransportClose),
                socket(
                    "/",
                    SocketEvent::Disconnect(ClientDisconnectReason::TransportClose)
                ),
                ManagerEvent::OpenEngine,
            ]
        );
        // Waiting for an attempt after a failure: the attempt starts now.
        manager.engine_failed("refused", t0, 0.0);
        events(&mut manager);
        assert!(manager.poll_timeout().is_some_and(|at| at > t0));
        manager.reconnect_now(t0);
        assert_eq!(events(&mut manager), [ManagerEvent::OpenEngine]);
        // Nothing to do for a manager nobody uses.
        let mut idle = ClientManager::new(ManagerConfig::default());
        idle.reconnect_now(t0);
        idle.resume(t0);
        assert_eq!(events(&mut idle), []);
    }
}
