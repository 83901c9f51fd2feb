//! Event arguments between JavaScript values and the engine's [`Value`]s: plain JSON-like
//! values, and `ArrayBuffer`s / typed arrays as binary attachments (received binaries
//! become `ArrayBuffer`s, as in socket.io-client in the browser).

use bytes::Bytes;
use js_sys::{Array, ArrayBuffer, Object, Reflect, Uint8Array};
use polysocket::{Map, Value};
use wasm_bindgen::{JsCast as _, JsValue};

/// How deep nested containers may go.
const MAX_DEPTH: usize = 512;

/// A JavaScript value as a [`Value`] (`undefined` and functions become `null`).
pub(crate) fn from_js(value: &JsValue) -> Result<Value, JsValue> {
    from_js_at(value, 0)
}

fn from_js_at(value: &JsValue, depth: usize) -> Result<Value, JsValue> {
    if depth > MAX_DEPTH {
        return Err(JsValue::from_str("value nested too deeply"));
    }
    if value.is_null() || value.is_undefined() || value.is_function() {
        return Ok(Value::Null);
    }
    if let Some(b) = value.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Some(n) = value.as_f64() {
        return Ok(number(n));
    }
    if let Some(s) = value.as_string() {
        return Ok(Value::String(s));
    }
    if let Some(buffer) = value.dyn_ref::<ArrayBuffer>() {
        return Ok(Value::Binary(Bytes::from(Uint8Array::new(buffer).to_vec())));
    }
    if ArrayBuffer::is_view(value) {
        let view: &js_sys::Object = value.unchecked_ref();
        let buffer: ArrayBuffer = Reflect::get(view, &"buffer".into())?.unchecked_into();
        let offset = Reflect::get(view, &"byteOffset".into())?
            .as_f64()
            .unwrap_or(0.0) as u32;
        let length = Reflect::get(view, &"byteLength".into())?
            .as_f64()
            .unwrap_or(0.0) as u32;
        let bytes = Uint8Array::new_with_byte_offset_and_length(&buffer, offset, length);
        return Ok(Value::Binary(Bytes::from(bytes.to_vec())));
    }
    if Array::is_array(value) {
        let array: &Array = value.unchecked_ref();
        let mut items = Vec::with_capacity(array.length() as usize);
        for item in array.iter() {
            items.push(from_js_at(&item, depth + 1)?);
        }
        return Ok(Value::Array(items));
    }
    if value.is_object() {
        // `toJSON` (Date, …) first, as JSON.stringify does.
        let to_json = Reflect::get(value, &"toJSON".into())?;
        if let Some(function) = to_json.dyn_ref::<js_sys::Function>() {
            return from_js_at(&function.call0(value)?, depth + 1);
        }
        let object: &Object = value.unchecked_ref();
        let mut map = Map::new();
        for key in Object::keys(object).iter() {
            let name = key.as_string().unwrap_or_default();
            let item = Reflect::get(object, &key)?;
            if item.is_undefined() || item.is_function() {
                continue;
            }
            map.insert(name, from_js_at(&item, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    Ok(Value::Null)
}

fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        return Value::Number((n as i64).into());
    }
    serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
}

/// A [`Value`] as a JavaScript value.
pub(crate) fn to_js(value: &Value) -> JsValue {
    match value {
        Value::Null => JsValue::NULL,
        Value::Bool(b) => JsValue::from_bool(*b),
        Value::Number(n) => JsValue::from_f64(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => JsValue::from_str(s),
        Value::Binary(bytes) => Uint8Array::from(&bytes[..]).buffer().into(),
        Value::Array(items) => items.iter().map(to_js).collect::<Array>().into(),
        Value::Object(map) => {
            let object = Object::new();
            for (key, item) in map {
                let _ = Reflect::set(&object, &JsValue::from_str(key), &to_js(item));
            }
            object.into()
        }
    }
}

/// Arguments as a JavaScript array: through `JSON.parse` when they hold no binary (much
/// faster than building the objects one property at a time), else value by value.
pub(crate) fn args_to_js(values: &[Value]) -> Array {
    if !values.iter().any(Value::has_binary)
        && let Ok(text) = serde_json::to_string(values)
        && let Ok(parsed) = js_sys::JSON::parse(&text)
    {
        return parsed.unchecked_into();
    }
    values.iter().map(to_js).collect()
}

/// A JavaScript array of arguments as values.
pub(crate) fn args_from_js(args: &Array) -> Result<Vec<Value>, JsValue> {
    args.iter().map(|a| from_js(&a)).collect()
}
