//! The browser driver: pumps the manager and the session, owns the `WebSocket` and the
//! timer, and calls JavaScript back once it no longer holds the driver (a listener may call
//! into the manager again, e.g. to emit from an event handler).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use bytes::Bytes;
use js_sys::{Function, Uint8Array};
use polysocket::proto::engineio::{
    ClientEvent, ClientSession, Packet, Transport, WsFrame, payload,
};
use polysocket::proto::socketio::client::{
    AckOutcome, ClientManager, ManagerConfig, ManagerEvent, SocketEvent,
};
use polysocket::proto::time::Instant;
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, MessageEvent, WebSocket};

use crate::value::{args_to_js, to_js};

/// What a transport reported.
enum Input {
    Packets(Vec<Packet>),
    Closed {
        error: bool,
    },
    /// The probe WebSocket opened.
    ProbeOpen,
    /// A long-polling POST was answered.
    Posted,
}

/// Which socket an input comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Link,
    Probe,
}

/// The client's options (socket.io-client's names).
pub(crate) struct Options {
    pub(crate) path: String,
    pub(crate) transports: Vec<Transport>,
    pub(crate) upgrade: bool,
    /// The `query` option, encoded (`a=1&b=2`), added to every request.
    pub(crate) query: String,
    /// `extraHeaders`: an object of headers for the long-polling requests (a browser's
    /// WebSocket cannot send any), or `undefined`.
    pub(crate) headers: JsValue,
    /// `withCredentials`: long-polling requests send and keep cookies across origins.
    pub(crate) with_credentials: bool,
    pub(crate) manager: ManagerConfig,
}

/// What every long-polling request carries.
#[derive(Clone)]
struct RequestOptions {
    /// `extraHeaders` (an object), or `undefined`.
    headers: JsValue,
    /// `withCredentials`: `credentials: "include"`.
    with_credentials: bool,
}

/// A JavaScript call to make once the driver is released.
enum Call {
    /// `listener(kind, nsp, a, b, c)`; the missing ones `undefined`.
    Listener([JsValue; 5]),
    Settle(Function, JsValue),
}

/// A WebSocket and the closures it calls (kept alive as long as the socket is).
struct WsLink {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut(web_sys::Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(web_sys::CloseEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl Drop for WsLink {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onerror(None);
        let _ = self.ws.close();
    }
}

/// Long-polling over `fetch`: one GET waiting for packets, one POST at a time.
struct PollLink {
    url: String,
    get_in_flight: bool,
    post_in_flight: bool,
    outbox: Vec<Packet>,
    /// The session asked to pause (an upgrade); reported once nothing is in flight.
    pausing: bool,
    paused: bool,
}

enum Link {
    WebSocket(WsLink),
    Polling(PollLink),
}

pub(crate) struct Driver {
    pub(crate) manager: ClientManager,
    engine: Option<ClientSession>,
    link: Option<Link>,
    probe: Option<WsLink>,
    /// Numbers the connections, so that a late callback of an old one is ignored.
    generation: u32,
    /// `http(s)://host:port/path/`, without the query.
    endpoint: String,
    transports: Vec<Transport>,
    upgrade: bool,
    query: String,
    requests: RequestOptions,
    listener: Function,
    /// Our emits waiting for an ack: their promise's resolve and reject.
    pub(crate) acks: HashMap<u64, (Function, Function)>,
    calls: Vec<Call>,
    timer: Option<i32>,
    /// The deadline the timer is armed for (re-armed only when the next one differs).
    armed: Option<Instant>,
    on_timer: Option<Closure<dyn FnMut()>>,
    closing: bool,
    this: Weak<RefCell<Driver>>,
}

/// The Engine.IO endpoint (`http(s)://host:port/path/`) of `url` under `path`.
fn endpoint(url: &str, path: &str) -> Result<String, JsValue> {
    let base = if let Some(rest) = url.strip_prefix("wss://") {
        format!("https://{rest}")
    } else if let Some(rest) = url.strip_prefix("ws://") {
        format!("http://{rest}")
    } else if url.starts_with("http://") || url.starts_with("https://") {
        url.to_owned()
    } else {
        return Err(JsValue::from_str(
            "the URL must start with http://, https://, ws:// or wss://",
        ));
    };
    // Only the origin counts (socket.io-client takes the namespace from the rest).
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let origin_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let path = format!("/{}/", path.trim_matches('/'));
    Ok(format!("{}{path}", &base[..origin_end]))
}

impl Driver {
    /// The URL of a request (or WebSocket) of `transport`, in session `sid` when given.
    fn url(&self, transport: Transport, sid: Option<&str>) -> String {
        let (endpoint, name) = match transport {
            Transport::WebSocket => (
                self.endpoint
                    .replacen("https://", "wss://", 1)
                    .replacen("http://", "ws://", 1),
                "websocket",
            ),
            Transport::Polling => (self.endpoint.clone(), "polling"),
        };
        let mut url = format!("{endpoint}?EIO=4&transport={name}");
        if let Some(sid) = sid {
            url = format!("{url}&sid={sid}");
        }
        if !self.query.is_empty() {
            url = format!("{url}&{}", self.query);
        }
        url
    }
}

impl Driver {
    pub(crate) fn new(
        url: &str,
        options: Options,
        listener: Function,
    ) -> Result<Rc<RefCell<Driver>>, JsValue> {
        if options.transports.is_empty() {
            return Err(JsValue::from_str("no transport"));
        }
        let driver = Rc::new(RefCell::new(Driver {
            manager: ClientManager::new(options.manager),
            engine: None,
            link: None,
            probe: None,
            generation: 0,
            endpoint: endpoint(url, &options.path)?,
            transports: options.transports,
            upgrade: options.upgrade,
            query: options.query,
            requests: RequestOptions {
                headers: options.headers,
                with_credentials: options.with_credentials,
            },
            listener,
            acks: HashMap::new(),
            calls: Vec::new(),
            timer: None,
            armed: None,
            on_timer: None,
            closing: false,
            this: Weak::new(),
        }));
        let weak = Rc::downgrade(&driver);
        let on_timer = {
            let weak = weak.clone();
            Closure::<dyn FnMut()>::new(move || {
                if let Some(driver) = weak.upgrade() {
                    Driver::run(&driver, |d, now| {
                        d.timer = None;
                        d.armed = None;
                        if let Some(engine) = d.engine.as_mut() {
                            engine.handle_timeout(now);
                        }
                        d.manager.handle_timeout(now, js_sys::Math::random());
                    });
                }
            })
        };
        {
            let mut d = driver.borrow_mut();
            d.this = weak;
            d.on_timer = Some(on_timer);
        }
        Ok(driver)
    }

    /// Runs `f` on the driver, moves everything along, re-arms the timer, then makes the
    /// JavaScript calls that came out of it.
    pub(crate) fn run(driver: &Rc<RefCell<Driver>>, f: impl FnOnce(&mut Driver, Instant)) {
        let calls = {
            let mut d = driver.borrow_mut();
            f(&mut d, Instant::now());
            d.pump();
            d.drive_polling();
            d.arm_timer();
            std::mem::take(&mut d.calls)
        };
        // The listener is called without the driver borrowed: it may call back in.
        let listener = driver.borrow().listener.clone();
        for call in calls {
            let result = match call {
                Call::Listener([kind, nsp, a, b, c]) => {
                    listener.call5(&JsValue::NULL, &kind, &nsp, &a, &b, &c)
                }
                Call::Settle(function, value) => function.call1(&JsValue::NULL, &value),
            };
            if let Err(error) = result {
                // As an exception in an event listener: reported, and the client goes on.
                web_sys_console_error(&error);
            }
        }
    }

    /// The transport of the open connection.
    pub(crate) fn transport(&self) -> Option<&'static str> {
        match self.link.as_ref()? {
            Link::WebSocket(_) => Some("websocket"),
            Link::Polling(_) => Some("polling"),
        }
    }

    pub(crate) fn close(driver: &Rc<RefCell<Driver>>) {
        Driver::run(driver, |d, _| {
            d.closing = true;
            if let Some(engine) = d.engine.as_mut() {
                engine.close();
            }
        });
    }

    fn input(weak: &Weak<RefCell<Driver>>, generation: u32, source: Source, input: Input) {
        let Some(driver) = weak.upgrade() else { return };
        Driver::run(&driver, |d, now| {
            if d.generation != generation {
                return;
            }
            // A probe that became the link (an upgrade) still reports as the probe.
            let source = if source == Source::Probe
                && d.probe.is_none()
                && matches!(d.link, Some(Link::WebSocket(_)))
            {
                Source::Link
            } else {
                source
            };
            let Some(engine) = d.engine.as_mut() else {
                return;
            };
            match (source, input) {
                (Source::Probe, Input::ProbeOpen) => engine.probe_opened(),
                (Source::Probe, Input::Packets(packets)) => {
                    for packet in packets {
                        engine.handle_packet(packet, Transport::WebSocket, now);
                    }
                }
                (Source::Probe, Input::Closed { .. }) => {
                    d.probe = None;
                    engine.probe_failed();
                }
                (Source::Link, Input::Packets(packets)) => {
                    let via = engine.transport();
                    if let Some(Link::Polling(polling)) = d.link.as_mut() {
                        polling.get_in_flight = false;
                    }
                    for packet in packets {
                        engine.handle_packet(packet, via, now);
                    }
                }
                (Source::Link, Input::Posted) => {
                    if let Some(Link::Polling(polling)) = d.link.as_mut() {
                        polling.post_in_flight = false;
                    }
                }
                (Source::Link, Input::Closed { error }) => {
                    if engine.is_open() {
                        engine.transport_closed(error);
                    } else {
                        // The connection never opened.
                        d.link = None;
                        d.probe = None;
                        d.engine = None;
                        d.manager
                            .engine_failed("websocket error", now, js_sys::Math::random());
                    }
                }
                (Source::Link, Input::ProbeOpen) | (Source::Probe, Input::Posted) => {}
            }
        });
    }

    /// Queues `listener(kind, nsp, ...)`. The values move in: cloning a `JsValue` costs a
    /// call into JavaScript.
    fn listener<const N: usize>(&mut self, args: [JsValue; N]) {
        let mut args = args.into_iter();
        let mut next = || args.next().unwrap_or(JsValue::UNDEFINED);
        let call = [next(), next(), next(), next(), next()];
        self.calls.push(Call::Listener(call));
    }

    fn pump(&mut self) {
        for _ in 0..64 {
            let mut progressed = false;
            if let Some(engine) = self.engine.as_mut() {
                while let Some(packet) = self.manager.poll_transmit() {
                    engine.send(packet);
                    progressed = true;
                }
            } else {
                while self.manager.poll_transmit().is_some() {}
            }
            progressed |= self.flush();
            self.drive_polling();
            while let Some(event) = self.engine.as_mut().and_then(ClientSession::poll_event) {
                progressed = true;
                self.engine_event(event);
            }
            while let Some(event) = self.manager.poll_event() {
                progressed = true;
                self.manager_event(event);
            }
            if !progressed {
                return;
            }
        }
    }

    /// Sends what the session has for the probe, then for the link.
    fn flush(&mut self) -> bool {
        let mut wrote = self.flush_probe();
        let Some(engine) = self.engine.as_mut() else {
            return wrote;
        };
        let packets = engine.drain_transmits();
        if !packets.is_empty() {
            wrote = true;
            match self.link.as_mut() {
                Some(Link::WebSocket(link)) if !send_all(&link.ws, &packets) => {
                    engine.transport_closed(true);
                }
                Some(Link::Polling(polling)) => polling.outbox.extend(packets),
                Some(Link::WebSocket(_)) | None => {}
            }
        }
        wrote
    }

    /// Sends what the session has for the probed WebSocket (`2probe`, then `5`).
    fn flush_probe(&mut self) -> bool {
        let Some(engine) = self.engine.as_mut() else {
            return false;
        };
        let packets: Vec<Packet> = std::iter::from_fn(|| engine.poll_probe_transmit()).collect();
        let Some(probe) = self.probe.as_ref().filter(|_| !packets.is_empty()) else {
            return false;
        };
        if !send_all(&probe.ws, &packets) {
            self.probe = None;
            engine.probe_failed();
        }
        true
    }

    /// Starts the GET and the POST that long-polling needs now, and reports a requested
    /// pause once nothing is in flight.
    fn drive_polling(&mut self) {
        let generation = self.generation;
        let weak = self.this.clone();
        let requests = &self.requests;
        let Some(Link::Polling(polling)) = self.link.as_mut() else {
            return;
        };
        if !polling.outbox.is_empty() && !polling.post_in_flight {
            polling.post_in_flight = true;
            let body = String::from_utf8(payload::encode(&std::mem::take(&mut polling.outbox)))
                .unwrap_or_default();
            let (url, weak, requests) = (polling.url.clone(), weak.clone(), requests.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let input = match fetch("POST", &url, &requests, Some(body)).await {
                    Ok(_) => Input::Posted,
                    Err(_) => Input::Closed { error: true },
                };
                Driver::input(&weak, generation, Source::Link, input);
            });
        }
        if polling.pausing {
            if !polling.paused
                && !polling.get_in_flight
                && !polling.post_in_flight
                && polling.outbox.is_empty()
            {
                polling.paused = true;
                if let Some(engine) = self.engine.as_mut() {
                    engine.polling_paused();
                }
            }
            return;
        }
        if !polling.get_in_flight {
            polling.get_in_flight = true;
            let (url, requests) = (polling.url.clone(), requests.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let input = match fetch("GET", &url, &requests, None).await {
                    Ok(body) => match payload::decode(body.as_bytes()) {
                        Ok(packets) => Input::Packets(packets),
                        Err(_) => Input::Closed { error: true },
                    },
                    Err(_) => Input::Closed { error: true },
                };
                Driver::input(&weak, generation, Source::Link, input);
            });
        }
    }

    fn engine_event(&mut self, event: ClientEvent) {
        let now = Instant::now();
        match event {
            ClientEvent::Open(_) => self.manager.engine_opened(now),
            ClientEvent::Message(packet) => self.manager.handle_message(packet, now),
            ClientEvent::Closed(reason) => {
                self.flush();
                self.drive_polling();
                self.link = None;
                self.probe = None;
                self.engine = None;
                self.manager
                    .engine_closed(reason, now, js_sys::Math::random());
            }
            ClientEvent::StartProbe => {
                let sid = self
                    .engine
                    .as_ref()
                    .and_then(|e| e.sid().map(str::to_owned));
                let url = self.url(Transport::WebSocket, sid.as_deref());
                match self.websocket(&url, Source::Probe) {
                    Some(probe) => self.probe = Some(probe),
                    None => {
                        if let Some(engine) = self.engine.as_mut() {
                            engine.probe_failed();
                        }
                    }
                }
            }
            ClientEvent::PausePolling => {
                if let Some(Link::Polling(polling)) = self.link.as_mut() {
                    polling.pausing = true;
                }
            }
            ClientEvent::Upgraded => {
                // The `5` goes out on the probe, which then becomes the link; only then
                // what was queued during the pause (the session counts it as the
                // WebSocket's already) follows, on the new link. Flushing it before the
                // swap would put it in the polling link's outbox, dropped with it.
                self.flush_probe();
                if let Some(probe) = self.probe.take() {
                    // Its events still say "probe"; `input` counts them as the link's.
                    self.link = Some(Link::WebSocket(probe));
                }
                self.flush();
            }
            ClientEvent::UpgradeFailed => {
                self.probe = None;
                if let Some(Link::Polling(polling)) = self.link.as_mut() {
                    polling.pausing = false;
                    polling.paused = false;
                }
            }
        }
    }

    fn manager_event(&mut self, event: ManagerEvent) {
        let notice = |kind: &str, detail: String| {
            [
                JsValue::from_str("manager"),
                JsValue::from_str(kind),
                JsValue::from_str(&detail),
            ]
        };
        match event {
            ManagerEvent::OpenEngine => {
                if !self.closing {
                    self.open_engine();
                }
            }
            ManagerEvent::CloseEngine => {
                if let Some(engine) = self.engine.as_mut() {
                    engine.close();
                }
            }
            ManagerEvent::Open => self.listener(notice("open", String::new())),
            ManagerEvent::Close(reason) => {
                self.listener(notice("close", reason.as_str().to_owned()))
            }
            ManagerEvent::Error(error) => self.listener(notice("error", error)),
            ManagerEvent::ReconnectAttempt(n) => {
                self.listener(notice("reconnect_attempt", n.to_string()))
            }
            ManagerEvent::Reconnect(n) => self.listener(notice("reconnect", n.to_string())),
            ManagerEvent::ReconnectError(error) => self.listener(notice("reconnect_error", error)),
            ManagerEvent::ReconnectFailed => {
                self.listener(notice("reconnect_failed", String::new()))
            }
            ManagerEvent::Socket { nsp, event } => self.socket_event(&nsp, event),
        }
    }

    fn socket_event(&mut self, nsp: &str, event: SocketEvent) {
        let nsp_js = JsValue::from_str(nsp);
        match event {
            SocketEvent::Connect { id, recovered } => self.listener([
                "connect".into(),
                nsp_js,
                JsValue::from_str(&id),
                JsValue::from_bool(recovered),
            ]),
            SocketEvent::ConnectError { message, data } => self.listener([
                "connect_error".into(),
                nsp_js,
                JsValue::from_str(&message),
                data.as_ref().map_or(JsValue::UNDEFINED, to_js),
            ]),
            SocketEvent::Disconnect(reason) => {
                self.listener([
                    "disconnect".into(),
                    nsp_js,
                    JsValue::from_str(reason.as_str()),
                ]);
            }
            SocketEvent::Event { event, args, ack } => self.listener([
                "event".into(),
                nsp_js,
                JsValue::from_str(&event),
                args_to_js(&args).into(),
                ack.map_or(JsValue::UNDEFINED, |id| JsValue::from_f64(id as f64)),
            ]),
            SocketEvent::Ack { id, outcome } => {
                let Some((resolve, reject)) = self.acks.remove(&id) else {
                    // An emit made with `emitJsonAck`: its answer goes to the listener.
                    let (kind, value) = match outcome {
                        AckOutcome::Answered(args) => ("ack", args_to_js(&args).into()),
                        AckOutcome::TimedOut => {
                            ("ack_error", JsValue::from_str("operation has timed out"))
                        }
                        AckOutcome::Disconnected => (
                            "ack_error",
                            JsValue::from_str("socket has been disconnected"),
                        ),
                    };
                    self.listener([kind.into(), nsp_js, JsValue::from_f64(id as f64), value]);
                    return;
                };
                let call = match outcome {
                    AckOutcome::Answered(args) => Call::Settle(resolve, args_to_js(&args).into()),
                    AckOutcome::TimedOut => {
                        Call::Settle(reject, JsValue::from_str("operation has timed out"))
                    }
                    AckOutcome::Disconnected => {
                        Call::Settle(reject, JsValue::from_str("socket has been disconnected"))
                    }
                };
                self.calls.push(call);
            }
        }
    }

    fn open_engine(&mut self) {
        self.link = None;
        self.probe = None;
        self.generation = self.generation.wrapping_add(1);
        let first = self.transports[0];
        let allow_upgrade = self.upgrade && self.transports.contains(&Transport::WebSocket);
        self.engine = Some(ClientSession::new(first, allow_upgrade));
        match first {
            Transport::WebSocket => {
                let url = self.url(Transport::WebSocket, None);
                match self.websocket(&url, Source::Link) {
                    Some(link) => self.link = Some(Link::WebSocket(link)),
                    None => {
                        self.engine = None;
                        let now = Instant::now();
                        self.manager
                            .engine_failed("websocket error", now, js_sys::Math::random());
                    }
                }
            }
            Transport::Polling => {
                let (generation, weak) = (self.generation, self.this.clone());
                let url = self.url(Transport::Polling, None);
                let requests = self.requests.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let answer = fetch("GET", &url, &requests, None).await;
                    let Some(driver) = weak.upgrade() else { return };
                    Driver::run(&driver, |d, now| {
                        if d.generation != generation {
                            return;
                        }
                        let packets = answer.and_then(|body| {
                            payload::decode(body.as_bytes()).map_err(|e| e.to_string())
                        });
                        let opened = packets.ok().and_then(|packets| {
                            let engine = d.engine.as_mut()?;
                            for packet in packets {
                                engine.handle_packet(packet, Transport::Polling, now);
                            }
                            engine.sid().map(str::to_owned)
                        });
                        match opened {
                            Some(sid) => {
                                d.link = Some(Link::Polling(PollLink {
                                    url: d.url(Transport::Polling, Some(&sid)),
                                    get_in_flight: false,
                                    post_in_flight: false,
                                    outbox: Vec::new(),
                                    pausing: false,
                                    paused: false,
                                }));
                            }
                            None => {
                                d.engine = None;
                                d.manager.engine_failed(
                                    "xhr poll error",
                                    now,
                                    js_sys::Math::random(),
                                );
                            }
                        }
                    });
                });
            }
        }
    }

    /// Opens a WebSocket whose events come back as inputs from `source`.
    fn websocket(&self, url: &str, source: Source) -> Option<WsLink> {
        let ws = WebSocket::new(url).ok()?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        Some(bind(ws, self.this.clone(), self.generation, source))
    }

    fn arm_timer(&mut self) {
        let engine = self.engine.as_ref().and_then(ClientSession::poll_timeout);
        let deadline = [engine, self.manager.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        if deadline == self.armed && (deadline.is_none() || self.timer.is_some()) {
            return;
        }
        let Some(window) = web_sys::window() else {
            return;
        };
        if let Some(handle) = self.timer.take() {
            window.clear_timeout_with_handle(handle);
        }
        self.armed = deadline;
        let (Some(deadline), Some(on_timer)) = (deadline, self.on_timer.as_ref()) else {
            return;
        };
        let wait = deadline.saturating_duration_since(Instant::now());
        let ms = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
        self.timer = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(
                on_timer.as_ref().unchecked_ref(),
                ms,
            )
            .ok();
    }
}

fn web_sys_console_error(error: &JsValue) {
    let console = js_sys::Reflect::get(&js_sys::global(), &"console".into()).ok();
    if let Some(console) = console
        && let Ok(error_fn) = js_sys::Reflect::get(&console, &"error".into())
        && let Some(error_fn) = error_fn.dyn_ref::<Function>()
    {
        let _ = error_fn.call1(&console, error);
    }
}

/// Sends `packets` on `ws`; false when the socket refused.
fn send_all(ws: &WebSocket, packets: &[Packet]) -> bool {
    packets.iter().all(|packet| match packet.to_ws_frame() {
        WsFrame::Text(text) => ws
            .send_with_str(std::str::from_utf8(&text).unwrap_or_default())
            .is_ok(),
        WsFrame::Binary(bytes) => ws.send_with_u8_array(&bytes).is_ok(),
    })
}

/// Wires `ws`'s events to the driver as inputs from `source` of connection `generation`.
fn bind(ws: WebSocket, weak: Weak<RefCell<Driver>>, generation: u32, source: Source) -> WsLink {
    let on_open = {
        let weak = weak.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            if source == Source::Probe {
                Driver::input(&weak, generation, source, Input::ProbeOpen);
            }
        })
    };
    let on_message = {
        let weak = weak.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            let packet = match data.as_string() {
                Some(text) => Packet::decode_text_frame(Bytes::from(text)).ok(),
                None => data
                    .dyn_ref::<js_sys::ArrayBuffer>()
                    .map(|buffer| Packet::Binary(Bytes::from(Uint8Array::new(buffer).to_vec()))),
            };
            let input = packet.map_or(Input::Closed { error: true }, |p| Input::Packets(vec![p]));
            Driver::input(&weak, generation, source, input);
        })
    };
    let on_close = {
        let weak = weak.clone();
        Closure::<dyn FnMut(web_sys::CloseEvent)>::new(move |_| {
            Driver::input(&weak, generation, source, Input::Closed { error: false });
        })
    };
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        Driver::input(&weak, generation, source, Input::Closed { error: true });
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    ws.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    WsLink {
        ws,
        _on_open: on_open,
        _on_message: on_message,
        _on_close: on_close,
        _on_error: on_error,
    }
}

/// A `fetch` of `url`; the body as text, or why it failed (a status other than 2xx too).
async fn fetch(
    method: &str,
    url: &str,
    requests: &RequestOptions,
    body: Option<String>,
) -> Result<String, String> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if requests.headers.is_object() {
        init.set_headers(&requests.headers);
    }
    if requests.with_credentials {
        init.set_credentials(web_sys::RequestCredentials::Include);
    }
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(&body));
    }
    let window = web_sys::window().ok_or("no window")?;
    let response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|e| format!("{e:?}"))?;
    let response: web_sys::Response = response.dyn_into().map_err(|e| format!("{e:?}"))?;
    if !response.ok() {
        return Err(format!("status {}", response.status()));
    }
    let text = response.text().map_err(|e| format!("{e:?}"))?;
    let text = wasm_bindgen_futures::JsFuture::from(text)
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(text.as_string().unwrap_or_default())
}
