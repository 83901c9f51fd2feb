//! polysocket's browser client: the sans-IO Engine.IO session and Socket.IO manager of the
//! `polysocket` crate (`proto`), driven over the browser's own `WebSocket` and timers.
//!
//! This is the first slice of the WASM binding: one [`WasmManager`] is one socket.io-client
//! `Manager` (one connection, multiplexed namespaces, acks, reconnection with backoff, the
//! send buffer), over WebSocket only. Long-polling over `fetch` and socket.io-client's
//! JavaScript API on top are still to come.
//!
//! The page is single-threaded: the driver lives in an `Rc<RefCell<..>>` and every input
//! (a WebSocket message, open or close, a timer, a call from JavaScript) runs one `pump`
//! that moves packets between the manager, the session and the socket, and calls back.

mod driver;
mod value;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use js_sys::{Array, Function, Promise};
use polysocket::proto::socketio::client::ManagerConfig;
use wasm_bindgen::prelude::*;

use crate::driver::{Driver, Options};
use crate::value::{args_from_js, from_js};

/// One connection to a Socket.IO server (socket.io-client's `Manager`), with its sockets.
#[wasm_bindgen]
pub struct WasmManager {
    driver: Rc<RefCell<Driver>>,
}

#[wasm_bindgen]
impl WasmManager {
    /// A manager for the server at `url` (`http(s)://host:port`) with socket.io-client's
    /// options (`path`, `transports`, `upgrade`, `reconnection`, `reconnectionAttempts`,
    /// `reconnectionDelay`, `reconnectionDelayMax`, `randomizationFactor`, `timeout`,
    /// `retries`, `ackTimeout`, `extraHeaders` and `withCredentials`: for long-polling only,
    /// as in the browser build of socket.io-client), and `query` as an encoded query string.
    /// `listener(kind, a, b, c, d)` is called with every notice:
    /// `("connect", nsp, id, recovered)`, `("connect_error", nsp, message, data)`,
    /// `("disconnect", nsp, reason)`, `("event", nsp, name, args, ackId)` and
    /// `("manager", kind, detail)` (`open`, `close`, `error`, `reconnect_attempt`,
    /// `reconnect`, `reconnect_error`, `reconnect_failed`).
    #[wasm_bindgen(constructor)]
    pub fn new(url: &str, options: JsValue, listener: Function) -> Result<WasmManager, JsValue> {
        let driver = Driver::new(url, options_from(&options)?, listener)?;
        Ok(WasmManager { driver })
    }

    /// Connects namespace `nsp` with `auth` as its CONNECT payload.
    pub fn connect(&self, nsp: &str, auth: JsValue) -> Result<(), JsValue> {
        let auth = from_js(&auth)?;
        Driver::run(&self.driver, |d, now| d.manager.connect(nsp, auth, now));
        Ok(())
    }

    /// Emits `event` with `args` on `nsp` (buffered while disconnected, unless `volatile`:
    /// then dropped when not connected).
    pub fn emit(
        &self,
        nsp: &str,
        event: &str,
        args: &Array,
        volatile: Option<bool>,
    ) -> Result<(), JsValue> {
        self.emit_values(nsp, event, args_from_js(args)?, volatile.unwrap_or(false));
        Ok(())
    }

    /// `emit` with the arguments as JSON text (the caller checked they hold no binary):
    /// `JSON.stringify` in the page is faster than walking the values from Rust.
    #[wasm_bindgen(js_name = emitJson)]
    pub fn emit_json(
        &self,
        nsp: &str,
        event: &str,
        args_json: &str,
        volatile: Option<bool>,
    ) -> Result<(), JsValue> {
        self.emit_values(
            nsp,
            event,
            args_from_json(args_json)?,
            volatile.unwrap_or(false),
        );
        Ok(())
    }

    /// Emits with the arguments as JSON text (no binary in them) and returns the ack id; the
    /// answer comes to the listener as `("ack", nsp, id, args)` or `("ack_error", nsp, id,
    /// message)`. Cheaper than a Promise per emit. A negative `timeout_ms` waits without a
    /// deadline. `-1` when the emit was dropped.
    #[wasm_bindgen(js_name = emitJsonAck)]
    pub fn emit_json_ack(
        &self,
        nsp: &str,
        event: &str,
        args_json: &str,
        timeout_ms: f64,
    ) -> Result<f64, JsValue> {
        let args = args_from_json(args_json)?;
        let mut id = None;
        self.emit_acked(nsp, event, args, timeout_ms, |_, emitted| id = emitted);
        Ok(id.map_or(-1.0, |id| id as f64))
    }

    /// Emits `event` and resolves with the acknowledgement's arguments (an array), or
    /// rejects with `operation has timed out` / `socket has been disconnected`. A negative
    /// `timeout_ms` waits without a deadline.
    #[wasm_bindgen(js_name = emitWithAck)]
    pub fn emit_with_ack(
        &self,
        nsp: &str,
        event: &str,
        args: &Array,
        timeout_ms: f64,
    ) -> Result<Promise, JsValue> {
        Ok(self.emit_args_with_ack(nsp, event, args_from_js(args)?, timeout_ms))
    }

    /// Acknowledges the server's event `id` on `nsp` with `args`.
    pub fn ack(&self, nsp: &str, id: f64, args: &Array) -> Result<(), JsValue> {
        let args = args_from_js(args)?;
        Driver::run(&self.driver, |d, _| d.manager.ack(nsp, id as u64, args));
        Ok(())
    }

    /// Sets the CONNECT payload of `nsp`'s next connections (an `auth` function's answer).
    #[wasm_bindgen(js_name = setAuth)]
    pub fn set_auth(&self, nsp: &str, auth: JsValue) -> Result<(), JsValue> {
        let auth = from_js(&auth)?;
        self.driver.borrow_mut().manager.set_auth(nsp, auth);
        Ok(())
    }

    /// Changes a Manager option (socket.io-client's `manager.reconnectionDelay(ms)` and the
    /// other setters): `reconnection`, `reconnectionAttempts`, `reconnectionDelay`,
    /// `reconnectionDelayMax`, `randomizationFactor`, `timeout`, `retries`, `ackTimeout`.
    #[wasm_bindgen(js_name = setOption)]
    pub fn set_option(&self, name: &str, value: JsValue) -> Result<(), JsValue> {
        if !MANAGER_OPTIONS.contains(&name) {
            return Err(JsValue::from_str(&format!("no Manager option {name}")));
        }
        Driver::run(&self.driver, |d, _| {
            let mut config = d.manager.config().clone();
            apply_manager_option(&mut config, name, &value);
            d.manager.set_config(config);
        });
        Ok(())
    }

    /// Leaves namespace `nsp` (`io client disconnect`).
    pub fn disconnect(&self, nsp: &str) {
        Driver::run(&self.driver, |d, _| d.manager.disconnect(nsp));
    }

    /// Closes the connection and stops reconnecting.
    pub fn close(&self) {
        Driver::close(&self.driver);
    }

    /// The socket id in `nsp`, once connected.
    #[wasm_bindgen(js_name = socketId)]
    pub fn socket_id(&self, nsp: &str) -> Option<String> {
        self.driver
            .borrow()
            .manager
            .socket_id(nsp)
            .map(str::to_owned)
    }

    /// The current transport: `"polling"` or `"websocket"` (after an upgrade), or
    /// `undefined` while not connected (`socket.io.engine.transport.name`).
    pub fn transport(&self) -> Option<String> {
        self.driver.borrow().transport().map(str::to_owned)
    }

    /// Whether `nsp` is connected.
    pub fn connected(&self, nsp: &str) -> bool {
        self.driver.borrow().manager.is_connected(nsp)
    }
}

/// socket.io-client's options from a JavaScript object (absent ones keep their defaults).
fn options_from(options: &JsValue) -> Result<Options, JsValue> {
    use polysocket::proto::engineio::Transport;
    let get = |name: &str| -> JsValue {
        if options.is_object() {
            js_sys::Reflect::get(options, &name.into()).unwrap_or(JsValue::UNDEFINED)
        } else {
            JsValue::UNDEFINED
        }
    };
    let mut manager = ManagerConfig::default();
    for name in MANAGER_OPTIONS {
        apply_manager_option(&mut manager, name, &get(name));
    }
    let transports = match get("transports") {
        names if Array::is_array(&names) => Array::from(&names)
            .iter()
            .map(|name| match name.as_string().as_deref() {
                Some("polling") => Ok(Transport::Polling),
                Some("websocket") => Ok(Transport::WebSocket),
                _ => Err(JsValue::from_str(
                    "transports are \"polling\" and \"websocket\"",
                )),
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => vec![Transport::Polling, Transport::WebSocket],
    };
    Ok(Options {
        path: get("path")
            .as_string()
            .unwrap_or_else(|| "/socket.io/".to_owned()),
        transports,
        upgrade: get("upgrade").as_bool().unwrap_or(true),
        query: get("query").as_string().unwrap_or_default(),
        headers: get("extraHeaders"),
        with_credentials: get("withCredentials").as_bool().unwrap_or(false),
        manager,
    })
}

/// The Manager options that can also change later (socket.io-client's Manager setters).
const MANAGER_OPTIONS: [&str; 8] = [
    "reconnection",
    "reconnectionAttempts",
    "reconnectionDelay",
    "reconnectionDelayMax",
    "randomizationFactor",
    "timeout",
    "retries",
    "ackTimeout",
];

/// Sets option `name` of `config` to `value` (`undefined` keeps it; an infinite
/// `reconnectionAttempts` is unlimited; `ackTimeout` is none unless a number).
fn apply_manager_option(config: &mut ManagerConfig, name: &str, value: &JsValue) {
    let number = value.as_f64();
    let ms = number.map(|v| Duration::from_millis(v.max(0.0) as u64));
    match name {
        "reconnection" => config.reconnection = value.as_bool().unwrap_or(config.reconnection),
        "reconnectionAttempts" => {
            if let Some(attempts) = number {
                config.reconnection_attempts =
                    attempts.is_finite().then(|| attempts.max(0.0) as u32);
            }
        }
        "reconnectionDelay" => config.reconnection_delay = ms.unwrap_or(config.reconnection_delay),
        "reconnectionDelayMax" => {
            config.reconnection_delay_max = ms.unwrap_or(config.reconnection_delay_max);
        }
        "randomizationFactor" => {
            config.randomization_factor = number.unwrap_or(config.randomization_factor);
        }
        "timeout" => config.timeout = ms.unwrap_or(config.timeout),
        "retries" => {
            if let Some(retries) = number {
                config.retries = retries.clamp(0.0, f64::from(u32::MAX)) as u32;
            }
        }
        "ackTimeout" => config.ack_timeout = ms,
        _ => {}
    }
}

impl WasmManager {
    fn emit_values(&self, nsp: &str, event: &str, args: Vec<polysocket::Value>, volatile: bool) {
        Driver::run(&self.driver, |d, now| {
            d.manager.emit(nsp, event, args, None, volatile, now);
        });
    }

    /// Emits `event` asking for an ack, and hands `on_id` the ack id (`None`: dropped) within
    /// the same run, before anything that run sets off can answer it.
    fn emit_acked(
        &self,
        nsp: &str,
        event: &str,
        args: Vec<polysocket::Value>,
        timeout_ms: f64,
        on_id: impl FnOnce(&mut Driver, Option<u64>),
    ) {
        Driver::run(&self.driver, |d, now| {
            let deadline = ack_deadline(now, timeout_ms);
            let id = d.manager.emit(nsp, event, args, Some(deadline), false, now);
            on_id(d, id);
        });
    }

    fn emit_args_with_ack(
        &self,
        nsp: &str,
        event: &str,
        args: Vec<polysocket::Value>,
        timeout_ms: f64,
    ) -> Promise {
        let mut args = Some(args);
        let mut failure = None;
        let promise = Promise::new(&mut |resolve, reject| {
            let args = args.take().unwrap_or_default();
            self.emit_acked(nsp, event, args, timeout_ms, |d, emitted| match emitted {
                Some(id) => {
                    d.acks.insert(id, (resolve, reject));
                }
                None => failure = Some(reject),
            });
        });
        if let Some(reject) = failure {
            let _ = reject.call1(
                &JsValue::NULL,
                &JsValue::from_str("operation has timed out"),
            );
        }
        promise
    }
}

/// The deadline of an ack waited for `timeout_ms` from `now`; none when it is negative (the
/// emit has no timeout: nothing to arm a timer for).
fn ack_deadline(
    now: polysocket::proto::time::Instant,
    timeout_ms: f64,
) -> Option<polysocket::proto::time::Instant> {
    (timeout_ms >= 0.0).then(|| now + std::time::Duration::from_millis(timeout_ms as u64))
}

/// Event arguments from a JSON array text.
fn args_from_json(json: &str) -> Result<Vec<polysocket::Value>, JsValue> {
    match polysocket::Value::from_json_str(json) {
        Ok(polysocket::Value::Array(args)) => Ok(args),
        Ok(_) => Err(JsValue::from_str("the arguments must be an array")),
        Err(error) => Err(JsValue::from_str(&error.to_string())),
    }
}
