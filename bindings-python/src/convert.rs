//! Event arguments between Python objects and the engine's [`Value`]s, as python-socketio's
//! JSON serializer maps them: `dict`, `list`/`tuple`, `str`, `int`, `float`, `bool`,
//! `None`, and `bytes`/`bytearray`/`memoryview` as binary attachments.

use bytes::Bytes;
use polysocket::{Map, Value};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMemoryView, PyString, PyTuple,
};

/// How deep nested containers may go (deeper is refused, as `json.dumps` would recurse).
const MAX_DEPTH: usize = 512;

/// `value` as a Python object.
pub(crate) fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Binary(b) => PyBytes::new(py, b).into_any(),
        Value::Array(items) => list_of(py, items)?.into_any(),
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(key, to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// `values` as a Python list.
pub(crate) fn list_of<'py>(py: Python<'py>, values: &[Value]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for value in values {
        list.append(to_py(py, value)?)?;
    }
    Ok(list)
}

/// A Python object as a [`Value`]; `TypeError` for what JSON cannot carry.
pub(crate) fn from_py(object: &Bound<'_, PyAny>) -> PyResult<Value> {
    from_py_at(object, 0)
}

/// The arguments of an emit: a list or tuple of values.
pub(crate) fn args_from_py(object: &Bound<'_, PyAny>) -> PyResult<Vec<Value>> {
    match from_py(object)? {
        Value::Array(args) => Ok(args),
        _ => Err(PyTypeError::new_err("emit arguments must be a list")),
    }
}

fn from_py_at(object: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyTypeError::new_err("value nested too deeply"));
    }
    if object.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(s) = object.cast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    if let Ok(b) = object.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if object.is_instance_of::<PyInt>() {
        if let Ok(i) = object.extract::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = object.extract::<u64>() {
            return Ok(Value::Number(u.into()));
        }
        let f: f64 = object.extract()?;
        return Ok(number(f));
    }
    if let Ok(f) = object.cast::<PyFloat>() {
        return Ok(number(f.value()));
    }
    if let Ok(d) = object.cast::<PyDict>() {
        let mut map = Map::with_capacity(d.len());
        for (key, item) in d.iter() {
            map.insert(key_of(&key)?, from_py_at(&item, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(l) = object.cast::<PyList>() {
        let mut items = Vec::with_capacity(l.len());
        for item in l.iter() {
            items.push(from_py_at(&item, depth + 1)?);
        }
        return Ok(Value::Array(items));
    }
    if let Ok(t) = object.cast::<PyTuple>() {
        let mut items = Vec::with_capacity(t.len());
        for item in t.iter() {
            items.push(from_py_at(&item, depth + 1)?);
        }
        return Ok(Value::Array(items));
    }
    if let Ok(b) = object.cast::<PyBytes>() {
        return Ok(Value::Binary(Bytes::copy_from_slice(b.as_bytes())));
    }
    if object.is_instance_of::<PyByteArray>() || object.is_instance_of::<PyMemoryView>() {
        let bytes: Vec<u8> = object
            .call_method0("__bytes__")
            .or_else(|_| {
                object
                    .py()
                    .import("builtins")?
                    .getattr("bytes")?
                    .call1((object,))
            })?
            .extract()?;
        return Ok(Value::Binary(Bytes::from(bytes)));
    }
    Err(PyTypeError::new_err(format!(
        "Object of type {} is not JSON serializable",
        object.get_type().name()?
    )))
}

/// A float as JSON carries it: non-finite values become `null`.
fn number(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// A dict key as `json.dumps` writes it: strings as they are; ints, floats, bools and
/// `None` as their JSON text.
fn key_of(key: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = key.cast::<PyString>() {
        return Ok(s.to_str()?.to_owned());
    }
    if key.is_none() {
        return Ok("null".to_owned());
    }
    if let Ok(b) = key.cast::<PyBool>() {
        return Ok(if b.is_true() { "true" } else { "false" }.to_owned());
    }
    if key.is_instance_of::<PyInt>() || key.is_instance_of::<PyFloat>() {
        return Ok(key.str()?.to_str()?.to_owned());
    }
    Err(PyTypeError::new_err(format!(
        "keys must be str, int, float, bool or None, not {}",
        key.get_type().name()?
    )))
}

/// An acknowledgement's lifetime when python-socketio gives no timeout: it lasts until the
/// peer answers or disconnects.
pub(crate) const NO_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(365 * 24 * 3600);

/// python-engineio's `transports` option: a list of `"polling"` and `"websocket"`.
pub(crate) fn transports_of(transports: &Bound<'_, PyAny>) -> PyResult<Vec<polysocket::Transport>> {
    let names: Vec<String> = transports.extract()?;
    names
        .iter()
        .map(|name| match name.as_str() {
            "polling" => Ok(polysocket::Transport::Polling),
            "websocket" => Ok(polysocket::Transport::WebSocket),
            other => Err(pyo3::exceptions::PyValueError::new_err(format!(
                "Invalid transport: {other}"
            ))),
        })
        .collect()
}
