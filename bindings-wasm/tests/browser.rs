//! The browser client in headless Chromium against a real server: the harness
//! (scripts/wasm-browser-tests.sh) starts one that implements tests/interop/CONTRACT.md (the
//! Rust interop server, or npm socket.io's reference server) and passes its URL at build time.

#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Promise, Reflect};
use polysocket_wasm::WasmManager;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn server_url() -> &'static str {
    option_env!("POLYSOCKET_TEST_URL").unwrap_or("http://127.0.0.1:3000")
}

/// Every notice the manager's listener got, as arrays.
type Notices = Rc<RefCell<Vec<Array>>>;

/// The listener handed to the manager (kept alive by the test).
type Listener = Closure<dyn FnMut(JsValue, JsValue, JsValue, JsValue, JsValue)>;

fn manager() -> (WasmManager, Notices, Listener) {
    manager_with(&["websocket"])
}

/// A manager over `transports` (in order; more than one upgrades).
fn manager_with(transports: &[&str]) -> (WasmManager, Notices, Listener) {
    let notices: Notices = Rc::default();
    let sink = notices.clone();
    let listener: Listener = Closure::new(
        move |a: JsValue, b: JsValue, c: JsValue, d: JsValue, e: JsValue| {
            sink.borrow_mut().push(Array::of5(&a, &b, &c, &d, &e));
        },
    );
    let function: &Function = listener.as_ref().unchecked_ref();
    let list: Array = transports.iter().map(|t| JsValue::from_str(t)).collect();
    let options = object(&[
        ("transports", list.into()),
        ("reconnectionDelay", 200.into()),
    ]);
    let manager = WasmManager::new(server_url(), options, function.clone()).expect("manager");
    (manager, notices, listener)
}

async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        web_sys::window()
            .expect("window")
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .expect("timer");
    });
    JsFuture::from(promise).await.expect("sleep");
}

/// Waits (3 s at most) for a notice of `kind` whose second field is `name` (any when
/// empty), and takes it.
async fn next(notices: &Notices, kind: &str, name: &str) -> Array {
    for _ in 0..300 {
        let found = notices.borrow().iter().position(|n| {
            n.get(0).as_string().as_deref() == Some(kind)
                && (name.is_empty() || n.get(2).as_string().as_deref() == Some(name))
        });
        if let Some(index) = found {
            return notices.borrow_mut().remove(index);
        }
        sleep(10).await;
    }
    panic!("no {kind} {name} notice; got {:?}", notices.borrow());
}

/// `emit` without the volatile flag.
trait EmitEvent {
    fn emit_event(&self, nsp: &str, event: &str, args: &Array) -> Result<(), JsValue>;
}

impl EmitEvent for WasmManager {
    fn emit_event(&self, nsp: &str, event: &str, args: &Array) -> Result<(), JsValue> {
        self.emit(nsp, event, args, None)
    }
}

fn args(values: &[JsValue]) -> Array {
    values.iter().collect()
}

fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let object = js_sys::Object::new();
    for (key, value) in pairs {
        Reflect::set(&object, &JsValue::from_str(key), value).expect("set");
    }
    object.into()
}

#[wasm_bindgen_test]
async fn connects_emits_and_gets_acks_over_websocket() {
    full_session(&["websocket"]).await;
}

#[wasm_bindgen_test]
async fn connects_emits_and_gets_acks_over_long_polling() {
    full_session(&["polling"]).await;
}

#[wasm_bindgen_test]
async fn upgrades_from_polling_to_websocket() {
    full_session(&["polling", "websocket"]).await;
}

/// What the client emits while polling pauses for the upgrade waits for the WebSocket and
/// goes out on it. The pause lasts from the probe's answer until the last poll returns
/// (npm socket.io ends that poll with a `noop` up to 100 ms later); an emit made right
/// after the `welcome` lands in it in about one connection in five, so this makes 25.
/// (The driver once moved such emits to the polling link's queue just before dropping it.)
#[wasm_bindgen_test]
async fn emits_during_the_upgrade_reach_the_server() {
    let mut lost = Vec::new();
    for round in 0..25 {
        let (manager, notices, _listener) = manager_with(&["polling", "websocket"]);
        manager
            .connect("/", object(&[("token", "good".into())]))
            .expect("connect");
        next(&notices, "event", "welcome").await;
        let answer = JsFuture::from(
            manager
                .emit_with_ack("/", "echo", &args(&[round.into()]), 3000.0)
                .expect("emit"),
        )
        .await;
        match answer {
            Ok(answer) => assert_eq!(Array::from(&answer).get(0).as_f64(), Some(f64::from(round))),
            Err(_) => lost.push(round),
        }
        manager.close();
    }
    assert!(lost.is_empty(), "no ack in rounds {lost:?}");
}

/// Connects over `transports`, then events, acks both ways, binary, rooms and a server
/// disconnect.
async fn full_session(transports: &[&str]) {
    let (manager, notices, _listener) = manager_with(transports);
    manager
        .connect("/", object(&[("token", "good".into())]))
        .expect("connect");
    let connect = next(&notices, "connect", "").await;
    let id = connect.get(2).as_string().expect("id");
    assert_eq!(manager.socket_id("/"), Some(id.clone()));
    // The server's `welcome`, with our id and auth.
    let welcome = next(&notices, "event", "welcome").await;
    let payload = Array::from(&welcome.get(3)).get(0);
    assert_eq!(
        Reflect::get(&payload, &"id".into()).unwrap().as_string(),
        Some(id)
    );
    let auth = Reflect::get(&payload, &"auth".into()).unwrap();
    assert_eq!(
        Reflect::get(&auth, &"token".into())
            .unwrap()
            .as_string()
            .as_deref(),
        Some("good")
    );

    // An ack with several arguments, binary included.
    let bytes = js_sys::Uint8Array::from(&[1u8, 2, 3][..]);
    let answer = JsFuture::from(
        manager
            .emit_with_ack(
                "/",
                "echo",
                &args(&["a".into(), 42.into(), bytes.into()]),
                3000.0,
            )
            .expect("emit"),
    )
    .await
    .expect("ack");
    let answer = Array::from(&answer);
    assert_eq!(answer.get(0).as_string().as_deref(), Some("a"));
    assert_eq!(answer.get(1).as_f64(), Some(42.0));
    let buffer = js_sys::Uint8Array::new(&answer.get(2)).to_vec();
    assert_eq!(buffer, vec![1, 2, 3]);

    // Without an ack the server emits `echo` back.
    manager
        .emit_event("/", "echo", &args(&[object(&[("n", 1.into())])]))
        .expect("emit");
    let echoed = next(&notices, "event", "echo").await;
    let first = Array::from(&echoed.get(3)).get(0);
    assert_eq!(
        Reflect::get(&first, &"n".into()).unwrap().as_f64(),
        Some(1.0)
    );

    // The server asks; our answer is its ack.
    let asking = manager
        .emit_with_ack("/", "ask-client", &args(&["why".into()]), 3000.0)
        .expect("emit");
    let question = next(&notices, "event", "question").await;
    let ack_id = question.get(4).as_f64().expect("the server wants an ack");
    manager
        .ack("/", ack_id, &args(&[object(&[("answer", 42.into())])]))
        .expect("ack");
    let answered = Array::from(&JsFuture::from(asking).await.expect("answer")).get(0);
    assert_eq!(
        Reflect::get(&answered, &"answer".into()).unwrap().as_f64(),
        Some(42.0)
    );

    // Rooms: join, then an emit to the room reaches us.
    let rooms = JsFuture::from(
        manager
            .emit_with_ack("/", "join", &args(&["r1".into()]), 3000.0)
            .unwrap(),
    )
    .await
    .unwrap();
    let rooms = Array::from(&Array::from(&rooms).get(0));
    assert!(rooms.includes(&"r1".into(), 0));
    manager
        .emit_event(
            "/",
            "to-room",
            &args(&["r1".into(), "news".into(), "hi".into()]),
        )
        .unwrap();
    let news = next(&notices, "event", "news").await;
    assert_eq!(
        Array::from(&news.get(3)).get(0).as_string().as_deref(),
        Some("hi")
    );

    // The server disconnects the socket.
    manager
        .emit_event("/", "server-disconnect", &Array::new())
        .unwrap();
    let disconnect = next(&notices, "disconnect", "").await;
    assert_eq!(
        disconnect.get(2).as_string().as_deref(),
        Some("io server disconnect")
    );
    manager.close();
}

#[wasm_bindgen_test]
async fn refused_namespaces_and_middlewares_report_connect_error() {
    let (manager, notices, _listener) = manager();
    manager
        .connect("/", object(&[("token", "bad".into())]))
        .expect("connect");
    let error = next(&notices, "connect_error", "").await;
    assert_eq!(error.get(2).as_string().as_deref(), Some("unauthorized"));
    assert_eq!(
        Reflect::get(&error.get(3), &"code".into())
            .unwrap()
            .as_f64(),
        Some(401.0)
    );
    manager.connect("/nowhere", JsValue::NULL).expect("connect");
    let error = next(&notices, "connect_error", "").await;
    assert_eq!(error.get(1).as_string().as_deref(), Some("/nowhere"));
    assert_eq!(
        error.get(2).as_string().as_deref(),
        Some("Invalid namespace")
    );
    manager.close();
}

#[wasm_bindgen_test]
async fn acks_time_out() {
    let (manager, notices, _listener) = manager();
    manager.connect("/", JsValue::NULL).unwrap();
    next(&notices, "connect", "").await;
    // `get-disconnect-reasons` answers; an unknown event never does.
    let outcome = JsFuture::from(
        manager
            .emit_with_ack("/", "nobody-answers", &Array::new(), 200.0)
            .unwrap(),
    )
    .await;
    assert_eq!(
        outcome.unwrap_err().as_string().as_deref(),
        Some("operation has timed out")
    );
    manager.close();
}

#[wasm_bindgen_test]
async fn reconnects_after_the_transport_is_killed() {
    let (manager, notices, _listener) = manager();
    manager.connect("/", JsValue::NULL).unwrap();
    let first = next(&notices, "connect", "").await.get(2).as_string();
    // The server closes the Engine.IO connection without a namespace DISCONNECT: the
    // client reports `transport close` and reconnects by itself (backoff from 1 s).
    manager
        .emit_event("/", "kill-transport", &Array::new())
        .unwrap();
    let disconnect = next(&notices, "disconnect", "").await;
    assert_eq!(
        disconnect.get(2).as_string().as_deref(),
        Some("transport close")
    );
    let mut second = None;
    for _ in 0..40 {
        if notices
            .borrow()
            .iter()
            .any(|n| n.get(0).as_string().as_deref() == Some("connect"))
        {
            second = next(&notices, "connect", "").await.get(2).as_string();
            break;
        }
        sleep(100).await;
    }
    assert!(
        second.is_some(),
        "no reconnection; got {:?}",
        notices.borrow()
    );
    assert_ne!(second, first);
    let attempts: Vec<String> = notices
        .borrow()
        .iter()
        .filter(|n| n.get(0).as_string().as_deref() == Some("manager"))
        .filter_map(|n| n.get(1).as_string())
        .collect();
    assert!(
        attempts.contains(&"reconnect_attempt".to_owned()),
        "{attempts:?}"
    );
    assert!(attempts.contains(&"reconnect".to_owned()), "{attempts:?}");
    // Emits work on the new connection.
    let answer = JsFuture::from(
        manager
            .emit_with_ack("/", "echo", &args(&["again".into()]), 3000.0)
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        Array::from(&answer).get(0).as_string().as_deref(),
        Some("again")
    );
    manager.close();
}
