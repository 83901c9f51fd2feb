//! The browser driver: pumps the manager and the session, owns the `WebSocket` and the
//! timer, and calls JavaScript back once it no longer holds the driver (a listener may call
//! into the manager again, e.g. to emit from an event handler).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use bytes::Bytes;
use js_sys::{Array, Function, Uint8Array};
use polysocket::proto::engineio::{ClientEvent, ClientSession, Packet, Transport, WsFrame};
use polysocket::proto::socketio::client::{
    AckOutcome, ClientManager, ManagerConfig, ManagerEvent, SocketEvent,
};
use polysocket::proto::time::Instant;
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, MessageEvent, WebSocket};

use crate::value::{args_to_js, to_js};

/// What the socket reported.
enum Input {
    Packet(Packet),
    Closed { error: bool },
}

/// A JavaScript call to make once the driver is released.
enum Call {
    Listener(Array),
    Settle(Function, JsValue),
}

/// The socket and the closures it calls (kept alive as long as the socket is).
struct Link {
    ws: WebSocket,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(web_sys::CloseEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

pub(crate) struct Driver {
    pub(crate) manager: ClientManager,
    engine: Option<ClientSession>,
    link: Option<Link>,
    /// Numbers the sockets, so that a late callback of an old one is ignored.
    generation: u32,
    websocket_url: String,
    listener: Function,
    /// Our emits waiting for an ack: their promise's resolve and reject.
    pub(crate) acks: HashMap<u64, (Function, Function)>,
    calls: Vec<Call>,
    timer: Option<i32>,
    on_timer: Option<Closure<dyn FnMut()>>,
    closing: bool,
    this: Weak<RefCell<Driver>>,
}

/// The WebSocket URL of the Engine.IO endpoint of `url` under `path`.
fn websocket_url(url: &str, path: &str) -> Result<String, JsValue> {
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = url.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if url.starts_with("ws://") || url.starts_with("wss://") {
        url.to_owned()
    } else {
        return Err(JsValue::from_str(
            "the URL must start with http://, https://, ws:// or wss://",
        ));
    };
    let base = rest.trim_end_matches('/');
    let path = format!("/{}/", path.trim_matches('/'));
    Ok(format!("{base}{path}?EIO=4&transport=websocket"))
}

impl Driver {
    pub(crate) fn new(
        url: &str,
        path: &str,
        listener: Function,
    ) -> Result<Rc<RefCell<Driver>>, JsValue> {
        let websocket_url = websocket_url(url, path)?;
        let driver = Rc::new(RefCell::new(Driver {
            manager: ClientManager::new(ManagerConfig::default()),
            engine: None,
            link: None,
            generation: 0,
            websocket_url,
            listener,
            acks: HashMap::new(),
            calls: Vec::new(),
            timer: None,
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
            d.arm_timer();
            std::mem::take(&mut d.calls)
        };
        for call in calls {
            let result = match call {
                Call::Listener(args) => driver.borrow().listener.apply(&JsValue::NULL, &args),
                Call::Settle(function, value) => function.call1(&JsValue::NULL, &value),
            };
            if let Err(error) = result {
                // As an exception in an event listener: reported, and the client goes on.
                web_sys_console_error(&error);
            }
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

    fn input(weak: &Weak<RefCell<Driver>>, generation: u32, input: Input) {
        let Some(driver) = weak.upgrade() else { return };
        Driver::run(&driver, |d, now| {
            if d.generation != generation {
                return;
            }
            let Some(engine) = d.engine.as_mut() else {
                return;
            };
            match input {
                Input::Packet(packet) => engine.handle_packet(packet, Transport::WebSocket, now),
                Input::Closed { error } => {
                    if engine.is_open() {
                        engine.transport_closed(error);
                    } else {
                        // The connection never opened.
                        d.drop_link();
                        d.engine = None;
                        d.manager
                            .engine_failed("websocket error", now, js_sys::Math::random());
                    }
                }
            }
        });
    }

    fn listener(&mut self, args: &[JsValue]) {
        self.calls.push(Call::Listener(args.iter().collect()));
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

    fn flush(&mut self) -> bool {
        let Some(engine) = self.engine.as_mut() else {
            return false;
        };
        let packets = engine.drain_transmits();
        if packets.is_empty() {
            return false;
        }
        let Some(link) = self.link.as_ref() else {
            return true;
        };
        for packet in packets {
            let sent = match packet.to_ws_frame() {
                WsFrame::Text(text) => link
                    .ws
                    .send_with_str(std::str::from_utf8(&text).unwrap_or_default()),
                WsFrame::Binary(bytes) => link.ws.send_with_u8_array(&bytes),
            };
            if sent.is_err() {
                engine.transport_closed(true);
                break;
            }
        }
        true
    }

    fn engine_event(&mut self, event: ClientEvent) {
        let now = Instant::now();
        match event {
            ClientEvent::Open(_) => self.manager.engine_opened(now),
            ClientEvent::Message(packet) => self.manager.handle_message(packet, now),
            ClientEvent::Closed(reason) => {
                self.flush();
                self.drop_link();
                self.engine = None;
                self.manager
                    .engine_closed(reason, now, js_sys::Math::random());
            }
            // WebSocket from the start: no upgrade, no polling to pause.
            ClientEvent::StartProbe
            | ClientEvent::PausePolling
            | ClientEvent::Upgraded
            | ClientEvent::UpgradeFailed => {}
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
            ManagerEvent::Open => self.listener(&notice("open", String::new())),
            ManagerEvent::Close(reason) => {
                self.listener(&notice("close", reason.as_str().to_owned()))
            }
            ManagerEvent::Error(error) => self.listener(&notice("error", error)),
            ManagerEvent::ReconnectAttempt(n) => {
                self.listener(&notice("reconnect_attempt", n.to_string()))
            }
            ManagerEvent::Reconnect(n) => self.listener(&notice("reconnect", n.to_string())),
            ManagerEvent::ReconnectError(error) => self.listener(&notice("reconnect_error", error)),
            ManagerEvent::ReconnectFailed => {
                self.listener(&notice("reconnect_failed", String::new()))
            }
            ManagerEvent::Socket { nsp, event } => self.socket_event(&nsp, event),
        }
    }

    fn socket_event(&mut self, nsp: &str, event: SocketEvent) {
        let nsp_js = JsValue::from_str(nsp);
        match event {
            SocketEvent::Connect { id, recovered } => self.listener(&[
                "connect".into(),
                nsp_js,
                JsValue::from_str(&id),
                JsValue::from_bool(recovered),
            ]),
            SocketEvent::ConnectError { message, data } => self.listener(&[
                "connect_error".into(),
                nsp_js,
                JsValue::from_str(&message),
                data.as_ref().map_or(JsValue::UNDEFINED, to_js),
            ]),
            SocketEvent::Disconnect(reason) => {
                self.listener(&[
                    "disconnect".into(),
                    nsp_js,
                    JsValue::from_str(reason.as_str()),
                ]);
            }
            SocketEvent::Event { event, args, ack } => self.listener(&[
                "event".into(),
                nsp_js,
                JsValue::from_str(&event),
                args_to_js(&args).into(),
                ack.map_or(JsValue::UNDEFINED, |id| JsValue::from_f64(id as f64)),
            ]),
            SocketEvent::Ack { id, outcome } => {
                let Some((resolve, reject)) = self.acks.remove(&id) else {
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
        self.drop_link();
        self.generation = self.generation.wrapping_add(1);
        let generation = self.generation;
        let now = Instant::now();
        let ws = match WebSocket::new(&self.websocket_url) {
            Ok(ws) => ws,
            Err(_) => {
                self.manager
                    .engine_failed("websocket error", now, js_sys::Math::random());
                return;
            }
        };
        ws.set_binary_type(BinaryType::Arraybuffer);
        let weak = self.this.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            let packet = match data.as_string() {
                Some(text) => Packet::decode_text_frame(Bytes::from(text)).ok(),
                None => data
                    .dyn_ref::<js_sys::ArrayBuffer>()
                    .map(|buffer| Packet::Binary(Bytes::from(Uint8Array::new(buffer).to_vec()))),
            };
            let input = packet.map_or(Input::Closed { error: true }, Input::Packet);
            Driver::input(&weak, generation, input);
        });
        let weak = self.this.clone();
        let on_close = Closure::<dyn FnMut(web_sys::CloseEvent)>::new(move |_| {
            Driver::input(&weak, generation, Input::Closed { error: false });
        });
        let weak = self.this.clone();
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            Driver::input(&weak, generation, Input::Closed { error: true });
        });
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        ws.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        self.engine = Some(ClientSession::new(Transport::WebSocket, false));
        self.link = Some(Link {
            ws,
            _on_message: on_message,
            _on_close: on_close,
            _on_error: on_error,
        });
    }

    fn drop_link(&mut self) {
        if let Some(link) = self.link.take() {
            link.ws.set_onmessage(None);
            link.ws.set_onclose(None);
            link.ws.set_onerror(None);
            let _ = link.ws.close();
        }
    }

    fn arm_timer(&mut self) {
        let window = web_sys::window();
        if let (Some(window), Some(handle)) = (window.as_ref(), self.timer.take()) {
            window.clear_timeout_with_handle(handle);
        }
        let engine = self.engine.as_ref().and_then(ClientSession::poll_timeout);
        let Some(deadline) = [engine, self.manager.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
        else {
            return;
        };
        let (Some(window), Some(on_timer)) = (window, self.on_timer.as_ref()) else {
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
