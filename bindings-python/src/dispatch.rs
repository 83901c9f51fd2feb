//! What happens in the engine, queued for the asyncio loop. Every server has one ordered
//! queue; the first notice of a batch writes a byte to a socket pair whose reading end the
//! loop watches (`loop.add_reader`), and the loop then takes the whole queue with
//! `drain()`. The engine's threads never wait for the GIL.

use std::io::Write as _;
use std::os::fd::AsRawFd as _;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use polysocket::{AckSender, Socket, Value, WebSocketLink, WsMessage};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::convert::{args_from_py, list_of, to_py};
use crate::link::NativeLink;
use crate::lock;

/// Something the Python side must handle.
pub(crate) enum Notice {
    /// A client asks to join a namespace; answer with `connect_done(call, ..)`.
    Connect { call: u64, socket: Socket },
    /// An event from a client, with its acknowledgement when the client wants one.
    Event {
        nsp: String,
        sid: String,
        name: String,
        args: Vec<Value>,
        ack: Option<AckSender>,
    },
    /// A socket left its namespace.
    Disconnect {
        nsp: String,
        sid: String,
        reason: &'static str,
    },
    /// Call `call` (numbered by Python) ended.
    Done { call: u64, outcome: Outcome },
    /// A client's namespace connected, with its sid.
    ClientConnect { nsp: String, sid: String },
    /// A client's namespace was refused.
    ClientConnectError {
        nsp: String,
        message: String,
        data: Option<Value>,
    },
    /// A client's namespace disconnected.
    ClientDisconnect { nsp: String, reason: &'static str },
    /// An event from the server.
    ClientEvent {
        nsp: String,
        name: String,
        args: Vec<Value>,
        ack: Option<polysocket::client::ClientAck>,
    },
    /// A client's connection changed (socket.io-client's manager events).
    ClientManager { kind: &'static str, detail: String },
}

/// How a call ended.
pub(crate) enum Outcome {
    /// Done, nothing to return.
    Unit,
    /// Failed, with this message.
    Failed(String),
    /// An acknowledgement's arguments.
    Args(Vec<Value>),
    /// The port a server listens on.
    Port(u16),
    /// An HTTP answer.
    Http(HttpAnswer),
    /// The answer to a WebSocket request, with the link when it was accepted.
    WebSocket(HttpAnswer, Option<WebSocketLink>),
    /// Messages for a carried WebSocket's client, and whether the link is still open.
    Messages(Vec<WsMessage>, bool),
}

/// An HTTP answer for the Python web server.
pub(crate) struct HttpAnswer {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: bytes::Bytes,
}

impl HttpAnswer {
    /// Collects a core response.
    pub(crate) async fn collect(
        response: http::Response<http_body_util::Full<bytes::Bytes>>,
    ) -> HttpAnswer {
        let (parts, body) = response.into_parts();
        let body = http_body_util::BodyExt::collect(body)
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        HttpAnswer {
            status: parts.status.as_u16(),
            headers: parts
                .headers
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect(),
            body,
        }
    }

    fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let headers = PyList::empty(py);
        for (name, value) in &self.headers {
            headers.append((name, value))?;
        }
        PyTuple::new(
            py,
            [
                self.status.into_pyobject(py)?.into_any(),
                headers.into_any(),
                PyBytes::new(py, &self.body).into_any(),
            ],
        )
    }
}

/// One server's (or client's) queue of notices and its wake-up socket pair.
pub(crate) struct Dispatcher {
    queue: Mutex<Vec<Notice>>,
    signalled: AtomicBool,
    /// How many notices the last drain took.
    last_batch: AtomicUsize,
    wake_write: UnixStream,
    wake_read: UnixStream,
}

impl Dispatcher {
    pub(crate) fn new() -> std::io::Result<Arc<Dispatcher>> {
        let (wake_write, wake_read) = UnixStream::pair()?;
        wake_write.set_nonblocking(true)?;
        wake_read.set_nonblocking(true)?;
        Ok(Arc::new(Dispatcher {
            queue: Mutex::new(Vec::new()),
            signalled: AtomicBool::new(false),
            last_batch: AtomicUsize::new(0),
            wake_write,
            wake_read,
        }))
    }

    /// The descriptor the asyncio loop watches; readable when notices wait.
    pub(crate) fn wake_fd(&self) -> i32 {
        self.wake_read.as_raw_fd()
    }

    /// Queues `notice`; the first of a batch wakes the loop: at once when the last batch
    /// was a single notice (a latency-bound load), after the engine's other ready tasks had
    /// a turn when it held several (a throughput-bound load, where each wake-up of the
    /// loop, a context switch when they share a core, should carry more).
    pub(crate) fn push(self: &Arc<Self>, notice: Notice) {
        lock(&self.queue).push(notice);
        if self.signalled.swap(true, Ordering::AcqRel) {
            return;
        }
        if self.last_batch.load(Ordering::Relaxed) < 2
            || tokio::runtime::Handle::try_current().is_err()
        {
            self.wake();
            return;
        }
        let dispatcher = self.clone();
        tokio::spawn(async move {
            tokio::task::yield_now().await;
            dispatcher.wake();
        });
    }

    fn wake(&self) {
        // A full socket buffer means the loop has a wake-up waiting already.
        let _ = (&self.wake_write).write(&[1]);
    }

    /// Ends call `call` with `outcome`.
    pub(crate) fn done(self: &Arc<Self>, call: u64, outcome: Outcome) {
        self.push(Notice::Done { call, outcome });
    }

    /// Takes every queued notice, oldest first, as Python tuples.
    pub(crate) fn drain<'py>(self: &Arc<Self>, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        // Cleared before taking: a notice queued from now on writes its own wake-up byte.
        self.signalled.store(false, Ordering::Release);
        let batch = std::mem::take(&mut *lock(&self.queue));
        self.last_batch.store(batch.len(), Ordering::Relaxed);
        let out = PyList::empty(py);
        for notice in batch {
            out.append(notice_to_py(py, notice, self)?)?;
        }
        Ok(out)
    }
}

fn notice_to_py<'py>(
    py: Python<'py>,
    notice: Notice,
    dispatcher: &Arc<Dispatcher>,
) -> PyResult<Bound<'py, PyTuple>> {
    let none = || py.None().into_bound(py);
    match notice {
        Notice::Connect { call, socket } => PyTuple::new(
            py,
            [
                PyString::new(py, "connect").into_any(),
                call.into_pyobject(py)?.into_any(),
                PyString::new(py, socket.ns()).into_any(),
                PyString::new(py, socket.id()).into_any(),
                environ(py, &socket)?.into_any(),
                to_py(py, socket.handshake().auth())?,
            ],
        ),
        Notice::Event {
            nsp,
            sid,
            name,
            args,
            ack,
        } => PyTuple::new(
            py,
            [
                PyString::new(py, "event").into_any(),
                PyString::new(py, &nsp).into_any(),
                PyString::new(py, &sid).into_any(),
                PyString::new(py, &name).into_any(),
                list_of(py, &args)?.into_any(),
                match ack {
                    Some(ack) => Bound::new(py, NativeAck(Mutex::new(Some(ack))))?.into_any(),
                    None => none(),
                },
            ],
        ),
        Notice::Disconnect { nsp, sid, reason } => PyTuple::new(
            py,
            [
                PyString::new(py, "disconnect").into_any(),
                PyString::new(py, &nsp).into_any(),
                PyString::new(py, &sid).into_any(),
                PyString::new(py, reason).into_any(),
            ],
        ),
        Notice::ClientConnect { nsp, sid } => PyTuple::new(
            py,
            [
                PyString::new(py, "c_connect").into_any(),
                PyString::new(py, &nsp).into_any(),
                PyString::new(py, &sid).into_any(),
            ],
        ),
        Notice::ClientConnectError { nsp, message, data } => PyTuple::new(
            py,
            [
                PyString::new(py, "c_error").into_any(),
                PyString::new(py, &nsp).into_any(),
                to_py(
                    py,
                    &crate::client::connect_error_value(&message, data.as_ref()),
                )?,
            ],
        ),
        Notice::ClientDisconnect { nsp, reason } => PyTuple::new(
            py,
            [
                PyString::new(py, "c_disconnect").into_any(),
                PyString::new(py, &nsp).into_any(),
                PyString::new(py, reason).into_any(),
            ],
        ),
        Notice::ClientEvent {
            nsp,
            name,
            args,
            ack,
        } => PyTuple::new(
            py,
            [
                PyString::new(py, "c_event").into_any(),
                PyString::new(py, &nsp).into_any(),
                PyString::new(py, &name).into_any(),
                list_of(py, &args)?.into_any(),
                match ack {
                    Some(ack) => {
                        Bound::new(py, crate::client::NativeClientAck(Mutex::new(Some(ack))))?
                            .into_any()
                    }
                    None => none(),
                },
            ],
        ),
        Notice::ClientManager { kind, detail } => PyTuple::new(
            py,
            [
                PyString::new(py, "c_manager").into_any(),
                PyString::new(py, kind).into_any(),
                PyString::new(py, &detail).into_any(),
            ],
        ),
        Notice::Done { call, outcome } => {
            let (ok, value) = outcome_to_py(py, outcome, dispatcher)?;
            PyTuple::new(
                py,
                [
                    PyString::new(py, "done").into_any(),
                    call.into_pyobject(py)?.into_any(),
                    pyo3::types::PyBool::new(py, ok).to_owned().into_any(),
                    value,
                ],
            )
        }
    }
}

fn outcome_to_py<'py>(
    py: Python<'py>,
    outcome: Outcome,
    dispatcher: &Arc<Dispatcher>,
) -> PyResult<(bool, Bound<'py, PyAny>)> {
    Ok(match outcome {
        Outcome::Unit => (true, py.None().into_bound(py)),
        Outcome::Failed(message) => (false, PyString::new(py, &message).into_any()),
        Outcome::Args(args) => (true, list_of(py, &args)?.into_any()),
        Outcome::Port(port) => (true, port.into_pyobject(py)?.into_any()),
        Outcome::Http(answer) => (true, answer.to_py(py)?.into_any()),
        Outcome::WebSocket(answer, link) => {
            let link = match link {
                Some(link) => Bound::new(py, NativeLink::new(link, dispatcher.clone()))?.into_any(),
                None => py.None().into_bound(py),
            };
            (
                true,
                (answer.to_py(py)?, link).into_pyobject(py)?.into_any(),
            )
        }
        Outcome::Messages(messages, open) => {
            let list = PyList::empty(py);
            for message in messages {
                match message {
                    WsMessage::Text(text) => {
                        let text = std::str::from_utf8(&text).unwrap_or_default();
                        list.append(PyString::new(py, text))?;
                    }
                    WsMessage::Binary(bytes) => list.append(PyBytes::new(py, &bytes))?,
                    WsMessage::Close(code) => list.append(code)?,
                }
            }
            (true, (list, open).into_pyobject(py)?.into_any())
        }
    })
}

/// python-socketio's WSGI-style `environ` for a connecting socket, from its handshake.
fn environ<'py>(py: Python<'py>, socket: &Socket) -> PyResult<Bound<'py, PyDict>> {
    let handshake = socket.handshake();
    let dict = PyDict::new(py);
    let url = handshake.url();
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    dict.set_item("REQUEST_METHOD", "GET")?;
    dict.set_item("PATH_INFO", path)?;
    dict.set_item("QUERY_STRING", query)?;
    dict.set_item("RAW_URI", url)?;
    dict.set_item("SERVER_PROTOCOL", "HTTP/1.1")?;
    let scheme = if handshake.secure() { "https" } else { "http" };
    dict.set_item("wsgi.url_scheme", scheme)?;
    if let Some(address) = handshake.address() {
        dict.set_item("REMOTE_ADDR", address.ip().to_string())?;
        dict.set_item("REMOTE_PORT", address.port().to_string())?;
    }
    for (name, value) in handshake.headers() {
        let Ok(value) = value.to_str() else { continue };
        let key = name.as_str().to_ascii_uppercase().replace('-', "_");
        let key = match key.as_str() {
            "CONTENT_TYPE" | "CONTENT_LENGTH" => key,
            _ => format!("HTTP_{key}"),
        };
        // Repeated headers are joined with commas, as WSGI servers do.
        let joined = match dict.get_item(&key)? {
            Some(earlier) => format!("{},{value}", earlier.extract::<String>()?),
            None => value.to_owned(),
        };
        dict.set_item(key, joined)?;
    }
    Ok(dict)
}

/// A client's request for an acknowledgement: `send(args)` answers it (once).
#[pyclass(frozen, module = "polysocket._native")]
pub(crate) struct NativeAck(Mutex<Option<AckSender>>);

#[pymethods]
impl NativeAck {
    /// Sends the acknowledgement with `args` (a list); later calls do nothing. Returns
    /// whether it was sent (false when the client is gone).
    fn send(&self, args: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Some(ack) = lock(&self.0).take() else {
            return Ok(false);
        };
        let args = args_from_py(args)?;
        let _guard = crate::runtime().enter();
        Ok(ack.send_args(args).is_ok())
    }
}

/// The error Python sees when the engine refuses an operation.
pub(crate) fn engine_error(error: impl std::fmt::Display) -> PyErr {
    PyRuntimeError::new_err(error.to_string())
}
