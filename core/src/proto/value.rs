//! The data model of one Socket.IO event argument.
//!
//! A [`Value`] is a JSON value that may also hold binary blobs ([`Value::Binary`]) anywhere
//! inside it. On the wire, socket.io replaces every blob with a placeholder object
//! `{"_placeholder":true,"num":N}` and sends the bytes as separate attachments;
//! [`Value::write_json`] and [`Value::reconstruct`] implement both directions of that rule.
//!
//! Rust types convert to and from [`Value`] through serde with [`to_value`] and
//! [`from_value`], without a detour through JSON text, so `bytes::Bytes` fields and
//! `#[serde(with = "serde_bytes")]` fields stay binary.

use std::fmt;

use bytes::Bytes;

mod de;
#[cfg(feature = "msgpack")]
pub mod msgpack;
mod ser;

#[cfg(feature = "msgpack")]
pub use msgpack::{MsgpackError, read_msgpack, read_msgpack_fields, write_msgpack};
pub use ser::to_value;

/// An ordered string-keyed map, the payload of [`Value::Object`].
///
/// Keys keep their insertion order, like the properties of a JS object (except that JS lists
/// integer-like keys first).
pub type Map = indexmap::IndexMap<String, Value>;

/// A JSON-like value that may hold binary blobs anywhere inside it.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// JSON `null`; also what `undefined`, `None` and non-finite floats become.
    #[default]
    Null,
    /// JSON `true` or `false`.
    Bool(bool),
    /// A JSON number: an `u64`, an `i64` or a finite `f64`.
    Number(serde_json::Number),
    /// A JSON string.
    String(String),
    /// A binary blob, sent as a socket.io attachment (a `Buffer` in Node.js).
    Binary(Bytes),
    /// A JSON array.
    Array(Vec<Value>),
    /// A JSON object.
    Object(Map),
}

/// Errors from parsing, reconstructing or converting a [`Value`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The text is not valid JSON.
    #[error("invalid JSON: {0}")]
    InvalidJson(#[source] serde_json::Error),
    /// A binary placeholder points past the attachments that were received.
    #[error("placeholder refers to attachment {num} but only {received} were received")]
    AttachmentOutOfRange {
        /// The index the placeholder refers to.
        num: u64,
        /// How many attachments were received.
        received: usize,
    },
    /// A binary placeholder whose `num` is not a non-negative integer.
    #[error("illegal attachments: placeholder `num` must be a non-negative integer, got {0}")]
    InvalidPlaceholder(String),
    /// A map key that cannot be represented as a JSON object key.
    #[error("map key must be a string, an integer, a char or a bool")]
    KeyMustBeString,
    /// An error reported by a `Serialize` or `Deserialize` implementation.
    #[error("custom: {0}")]
    Custom(String),
}

impl serde::ser::Error for ValueError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ValueError::Custom(msg.to_string())
    }
}

impl serde::de::Error for ValueError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ValueError::Custom(msg.to_string())
    }
}

/// Deserializes `T` from an owned [`Value`].
///
/// [`Value::Binary`] is offered to `T` as a byte buffer, or as a sequence of `u8` if `T` asks
/// for a sequence (e.g. `Vec<u8>` without `serde_bytes`). Objects become structs and maps
/// (string keys parse into integer keys), `Null` becomes `None`, and enums are read like
/// `serde_json` reads them: a string for unit variants, a single-key object for the others.
pub fn from_value<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ValueError> {
    T::deserialize(value)
}

impl Value {
    /// Returns `true` if the value is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Returns the boolean, if the value is a [`Value::Bool`].
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Returns the number as `u64`, if it is a non-negative integer that fits.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    /// Returns the number as `i64`, if it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// Returns the number as `f64` (possibly rounded), if the value is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    /// Returns the string, if the value is a [`Value::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Returns the bytes, if the value is a [`Value::Binary`].
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Value::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// Returns the elements, if the value is a [`Value::Array`].
    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// Returns the map, if the value is a [`Value::Object`].
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// Returns the member `key`, if the value is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object()?.get(key)
    }

    /// Returns `true` if a [`Value::Binary`] occurs anywhere inside the value.
    ///
    /// socket.io sends such values as binary packets (`BINARY_EVENT`, `BINARY_ACK`).
    pub fn has_binary(&self) -> bool {
        match self {
            Value::Binary(_) => true,
            Value::Array(items) => items.iter().any(Value::has_binary),
            Value::Object(map) => map.values().any(Value::has_binary),
            _ => false,
        }
    }

    /// Appends the value as compact JSON text to `out`, moving binary blobs to `attachments`.
    ///
    /// Each [`Value::Binary`] is written as `{"_placeholder":true,"num":N}`, where `N` is the
    /// index its bytes get when pushed to `attachments`. Blobs are numbered depth-first in
    /// document order, like socket.io-parser's `deconstructPacket`. Strings are escaped
    /// exactly as `JSON.stringify` escapes them.
    pub fn write_json(&self, out: &mut String, attachments: &mut Vec<Bytes>) {
        let mut on_binary = |out: &mut String, bytes: &Bytes| {
            out.push_str("{\"_placeholder\":true,\"num\":");
            push_display(out, attachments.len());
            out.push('}');
            attachments.push(bytes.clone());
            Ok(())
        };
        // Writing to a `String` cannot fail.
        let _ = self.write_compact(out, &mut on_binary);
    }

    /// Parses JSON text into a value (which holds no binary yet; see [`Value::reconstruct`]).
    ///
    /// Integers that fit `u64` or `i64` are kept exactly; other numbers become `f64`.
    pub fn from_json_str(s: &str) -> Result<Value, ValueError> {
        serde_json::from_str(s).map_err(ValueError::InvalidJson)
    }

    /// Replaces every binary placeholder with its attachment.
    ///
    /// Like socket.io-parser's `reconstructPacket`, every object whose `_placeholder` member
    /// is `true` is a placeholder and its `num` must be a valid index into `attachments`;
    /// anything else is an "illegal attachments" error.
    pub fn reconstruct(mut self, attachments: &[Bytes]) -> Result<Value, ValueError> {
        self.reconstruct_in_place(attachments)?;
        Ok(self)
    }

    fn reconstruct_in_place(&mut self, attachments: &[Bytes]) -> Result<(), ValueError> {
        match self {
            Value::Array(items) => {
                for item in items {
                    item.reconstruct_in_place(attachments)?;
                }
            }
            Value::Object(map) => {
                if let Some(Value::Bool(true)) = map.get("_placeholder") {
                    let index = placeholder_index(map.get("num"), attachments.len())?;
                    *self = Value::Binary(attachments[index].clone());
                } else {
                    for item in map.values_mut() {
                        item.reconstruct_in_place(attachments)?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Converts to a [`serde_json::Value`] for display or logging.
    ///
    /// Binary blobs become `{"type":"Buffer","data":[...]}`, like Node's `Buffer.toJSON()`.
    /// Object key order follows `serde_json`'s map (sorted unless `preserve_order` is on).
    pub fn to_json_lossy(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => J::Number(n.clone()),
            Value::String(s) => J::String(s.clone()),
            Value::Binary(bytes) => {
                let mut map = serde_json::Map::new();
                map.insert("type".into(), J::String("Buffer".into()));
                map.insert(
                    "data".into(),
                    J::Array(bytes.iter().map(|&b| J::from(b)).collect()),
                );
                J::Object(map)
            }
            Value::Array(items) => J::Array(items.iter().map(Value::to_json_lossy).collect()),
            Value::Object(map) => J::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), v.to_json_lossy()))
                    .collect(),
            ),
        }
    }

    /// Writes compact JSON, handing each binary blob to `on_binary`.
    fn write_compact<W, F>(&self, out: &mut W, on_binary: &mut F) -> fmt::Result
    where
        W: fmt::Write,
        F: FnMut(&mut W, &Bytes) -> fmt::Result,
    {
        match self {
            Value::Null => out.write_str("null"),
            Value::Bool(true) => out.write_str("true"),
            Value::Bool(false) => out.write_str("false"),
            Value::Number(n) => write!(out, "{n}"),
            Value::String(s) => write_json_string(out, s),
            Value::Binary(bytes) => on_binary(out, bytes),
            Value::Array(items) => {
                out.write_char('[')?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.write_char(',')?;
                    }
                    item.write_compact(out, on_binary)?;
                }
                out.write_char(']')
            }
            Value::Object(map) => {
                out.write_char('{')?;
                for (i, (key, item)) in map.iter().enumerate() {
                    if i > 0 {
                        out.write_char(',')?;
                    }
                    write_json_string(out, key)?;
                    out.write_char(':')?;
                    item.write_compact(out, on_binary)?;
                }
                out.write_char('}')
            }
        }
    }
}

/// Validates a placeholder's `num` the way socket.io-parser does.
fn placeholder_index(num: Option<&Value>, received: usize) -> Result<usize, ValueError> {
    let Some(Value::Number(n)) = num else {
        let shown = num.map_or_else(|| "nothing".to_owned(), Value::to_string);
        return Err(ValueError::InvalidPlaceholder(shown));
    };
    let index = if let Some(i) = n.as_u64() {
        i
    } else {
        // JS accepts any number here; integral floats such as `0.0` still index the array.
        match n.as_f64() {
            Some(f) if f >= 0.0 && f.fract() == 0.0 => f as u64,
            _ => return Err(ValueError::InvalidPlaceholder(n.to_string())),
        }
    };
    match usize::try_from(index) {
        Ok(i) if i < received => Ok(i),
        _ => Err(ValueError::AttachmentOutOfRange {
            num: index,
            received,
        }),
    }
}

fn push_display(out: &mut String, value: impl fmt::Display) {
    use fmt::Write as _;
    let _ = write!(out, "{value}");
}

/// Writes `s` as a JSON string literal, escaped exactly as `JSON.stringify` does.
pub fn write_json_string<W: fmt::Write>(out: &mut W, s: &str) -> fmt::Result {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.write_char('"')?;
    let mut start = 0;
    for (i, &byte) in s.as_bytes().iter().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        // `i` is at an ASCII byte, hence on a char boundary.
        out.write_str(&s[start..i])?;
        if escape.is_empty() {
            out.write_str("\\u00")?;
            out.write_char(HEX[usize::from(byte >> 4)] as char)?;
            out.write_char(HEX[usize::from(byte & 0xf)] as char)?;
        } else {
            out.write_str(escape)?;
        }
        start = i + 1;
    }
    out.write_str(&s[start..])?;
    out.write_char('"')
}

impl fmt::Display for Value {
    /// Formats the value as compact JSON, showing binary blobs as `<Buffer N bytes>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_compact(f, &mut |f: &mut fmt::Formatter<'_>, bytes: &Bytes| {
            write!(f, "<Buffer {} bytes>", bytes.len())
        })
    }
}

impl serde::Serialize for Value {
    /// Serializes like JSON; [`Value::Binary`] goes through `serialize_bytes`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(n) => n.serialize(serializer),
            Value::String(s) => serializer.serialize_str(s),
            Value::Binary(bytes) => serializer.serialize_bytes(bytes),
            Value::Array(items) => serializer.collect_seq(items),
            Value::Object(map) => {
                let mut out = serializer.serialize_map(Some(map.len()))?;
                for (key, item) in map {
                    out.serialize_entry(key, item)?;
                }
                out.end()
            }
        }
    }
}

impl<'de> serde::Deserialize<'de> for Value {
    /// Accepts any self-describing input; byte buffers become [`Value::Binary`].
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> serde::de::Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-like value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(match (i64::try_from(v), u64::try_from(v)) {
            (Ok(i), _) => Value::from(i),
            (_, Ok(u)) => Value::from(u),
            _ => Value::from(v as f64),
        })
    }

    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(match u64::try_from(v) {
            Ok(u) => Value::from(u),
            Err(_) => Value::from(v as f64),
        })
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Binary(Bytes::copy_from_slice(v)))
    }

    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Binary(v.into()))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_newtype_struct<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        // Cap the hint so that a hostile length prefix cannot reserve huge memory.
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::with_capacity(access.size_hint().unwrap_or(0).min(4096));
        while let Some((key, item)) = access.next_entry::<String, Value>()? {
            // Like `JSON.parse`, a repeated key keeps its first position and its last value.
            map.insert(key, item);
        }
        Ok(Value::Object(map))
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        use serde_json::Value as J;
        match v {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(b),
            J::Number(n) => Value::Number(n),
            J::String(s) => Value::String(s),
            J::Array(items) => Value::Array(items.into_iter().map(Value::from).collect()),
            J::Object(map) => {
                Value::Object(map.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

macro_rules! from_integer {
    ($($ty:ty),*) => {$(
        impl From<$ty> for Value {
            fn from(v: $ty) -> Self {
                Value::Number(v.into())
            }
        }
    )*};
}

from_integer!(i32, i64, u32, u64);

impl From<f64> for Value {
    /// Non-finite numbers become [`Value::Null`], as with `JSON.stringify`.
    fn from(v: f64) -> Self {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}

impl From<Bytes> for Value {
    fn from(v: Bytes) -> Self {
        Value::Binary(v)
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Binary(v.into())
    }
}

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Binary(Bytes::copy_from_slice(v))
    }
}

impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::Array(v)
    }
}

impl From<Map> for Value {
    fn from(v: Map) -> Self {
        Value::Object(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bin(b: &'static [u8]) -> Value {
        Value::Binary(Bytes::from_static(b))
    }

    fn obj<const N: usize>(entries: [(&str, Value); N]) -> Value {
        Value::Object(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }

    fn json(v: &Value) -> (String, Vec<Bytes>) {
        let mut out = String::new();
        let mut attachments = Vec::new();
        v.write_json(&mut out, &mut attachments);
        (out, attachments)
    }

    #[test]
    fn write_json_nested_binary_uses_placeholders_in_document_order() {
        let v = Value::Array(vec![
            "ev".into(),
            obj([("a", bin(b"one")), ("b", Value::Array(vec![bin(b"two")]))]),
            bin(b"three"),
        ]);
        let (text, attachments) = json(&v);
        assert_eq!(
            text,
            r#"["ev",{"a":{"_placeholder":true,"num":0},"b":[{"_placeholder":true,"num":1}]},{"_placeholder":true,"num":2}]"#
        );
        assert_eq!(attachments, [&b"one"[..], b"two", b"three"]);
        assert!(v.has_binary());
        assert!(!Value::Array(vec![obj([("a", 1.into())])]).has_binary());
    }

    #[test]
    fn write_json_appends_and_keeps_numbering_across_calls() {
        let mut out = String::from("451-");
        let mut attachments = vec![Bytes::from_static(b"earlier")];
        bin(b"x").write_json(&mut out, &mut attachments);
        assert_eq!(out, r#"451-{"_placeholder":true,"num":1}"#);
        assert_eq!(attachments.len(), 2);
    }

    #[test]
    fn write_json_scalars_and_key_order() {
        let v = obj([
            ("z", Value::Null),
            ("a", true.into()),
            ("m", Value::from(-3)),
            ("f", Value::from(1.5)),
            ("e", Value::Array(vec![])),
            ("o", obj([])),
        ]);
        let (text, attachments) = json(&v);
        assert_eq!(text, r#"{"z":null,"a":true,"m":-3,"f":1.5,"e":[],"o":{}}"#);
        assert!(attachments.is_empty());
    }

    #[test]
    fn string_escaping_matches_json_stringify() {
        // Expected strings are what `JSON.stringify` produces in Node.js.
        let cases: &[(&str, &str)] = &[
            ("plain", r#""plain""#),
            ("q\"b\\s/", r#""q\"b\\s/""#),
            ("\n\r\t\u{8}\u{c}", r#""\n\r\t\b\f""#),
            ("\u{0}\u{1}\u{1f}", r#""\u0000\u0001\u001f""#),
            ("\u{7f}é\u{2028}\u{2029}😀", "\"\u{7f}é\u{2028}\u{2029}😀\""),
        ];
        for (input, expected) in cases {
            let (text, _) = json(&Value::from(*input));
            assert_eq!(&text, expected, "escaping {input:?}");
            // serde_json escapes identically.
            assert_eq!(&serde_json::to_string(input).unwrap(), expected);
            assert_eq!(Value::from_json_str(&text).unwrap(), Value::from(*input));
        }
        let (text, _) = json(&obj([("k\"\u{1}", Value::Null)]));
        assert_eq!(text, r#"{"k\"\u0001":null}"#);
    }

    #[test]
    fn from_json_str_numbers() {
        let v = Value::from_json_str("[18446744073709551615,-9007199254740993,1.5e300,-0.5,7]")
            .unwrap();
        let items = v.as_array().unwrap();
        assert_eq!(items[0].as_u64(), Some(u64::MAX));
        assert_eq!(items[1].as_i64(), Some(-9_007_199_254_740_993));
        assert_eq!(items[2].as_f64(), Some(1.5e300));
        assert_eq!(items[3].as_f64(), Some(-0.5));
        assert_eq!(items[4].as_u64(), Some(7));
        assert_eq!(items[4].as_i64(), Some(7));
        assert_eq!(items[3].as_i64(), None);
        let (text, _) = json(&v);
        // Same text as `JSON.stringify` (which cannot represent the two integers exactly).
        assert_eq!(
            text,
            "[18446744073709551615,-9007199254740993,1.5e+300,-0.5,7]"
        );
    }

    #[test]
    fn from_json_str_strings_objects_and_errors() {
        let v =
            Value::from_json_str(r#"{"b":"\u00e9\ud83d\ude00\n","a":[null,false],"b":2}"#).unwrap();
        let map = v.as_object().unwrap();
        // A repeated key keeps its first position and its last value, like `JSON.parse`.
        assert_eq!(map.keys().collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(v.get("b"), Some(&Value::from(2)));
        assert_eq!(
            v.get("a"),
            Some(&Value::Array(vec![Value::Null, false.into()]))
        );
        let v = Value::from_json_str(r#""\u00e9\ud83d\ude00\n""#).unwrap();
        assert_eq!(v.as_str(), Some("é😀\n"));

        for bad in ["", "{", "[1,]", "nul", "{\"a\" 1}", "1 2", "\"\\ud800\""] {
            let err = Value::from_json_str(bad).unwrap_err();
            assert!(matches!(err, ValueError::InvalidJson(_)), "{bad:?}");
            assert!(err.to_string().starts_with("invalid JSON: "), "{err}");
        }
    }

    #[test]
    fn reconstruct_round_trip() {
        let original = Value::Array(vec![
            "ev".into(),
            obj([("a", bin(b"\x00\x01")), ("b", Value::Array(vec![bin(b"")]))]),
            obj([("_placeholder", false.into()), ("num", 0.into())]),
        ]);
        let (text, attachments) = json(&original);
        let parsed = Value::from_json_str(&text).unwrap();
        assert!(!parsed.has_binary());
        assert_eq!(parsed.reconstruct(&attachments).unwrap(), original);
    }

    #[test]
    fn reconstruct_follows_socket_io_parser_rules() {
        let att = [Bytes::from_static(b"a"), Bytes::from_static(b"b")];
        // Extra members are ignored; an integral float still indexes.
        let v = Value::from_json_str(
            r#"[{"_placeholder":true,"num":1,"x":2},{"_placeholder":true,"num":0.0}]"#,
        )
        .unwrap();
        assert_eq!(
            v.reconstruct(&att).unwrap(),
            Value::Array(vec![bin(b"b"), bin(b"a")])
        );
        // Only `_placeholder === true` marks a placeholder.
        let v = Value::from_json_str(r#"{"_placeholder":1,"num":"x"}"#).unwrap();
        assert_eq!(v.clone().reconstruct(&[]).unwrap(), v);
    }

    #[test]
    fn reconstruct_errors() {
        let reconstruct = |text: &str, n: usize| {
            let att = vec![Bytes::from_static(b"x"); n];
            Value::from_json_str(text).unwrap().reconstruct(&att)
        };
        let err = reconstruct(r#"["ev",{"_placeholder":true,"num":2}]"#, 2).unwrap_err();
        assert!(matches!(
            err,
            ValueError::AttachmentOutOfRange {
                num: 2,
                received: 2
            }
        ));
        assert_eq!(
            err.to_string(),
            "placeholder refers to attachment 2 but only 2 were received"
        );
        for text in [
            r#"{"_placeholder":true,"num":-1}"#,
            r#"{"_placeholder":true,"num":0.5}"#,
            r#"{"_placeholder":true,"num":"0"}"#,
            r#"{"_placeholder":true}"#,
        ] {
            let err = reconstruct(text, 1).unwrap_err();
            assert!(matches!(err, ValueError::InvalidPlaceholder(_)), "{text}");
            assert!(err.to_string().starts_with("illegal attachments"), "{err}");
        }
        let err = reconstruct(r#"{"_placeholder":true,"num":1e300}"#, 1).unwrap_err();
        assert!(matches!(err, ValueError::AttachmentOutOfRange { .. }));
    }

    #[test]
    fn accessors() {
        let v = obj([("s", "x".into()), ("b", bin(b"12")), ("t", true.into())]);
        assert_eq!(v.get("s").and_then(Value::as_str), Some("x"));
        assert_eq!(
            v.get("b").and_then(Value::as_bytes).map(|b| b.len()),
            Some(2)
        );
        assert_eq!(v.get("t").and_then(Value::as_bool), Some(true));
        assert_eq!(v.get("missing"), None);
        assert_eq!(Value::from(1).get("s"), None);
        assert!(Value::default().is_null());
        assert!(!Value::from(false).is_null());
        assert_eq!(Value::from("x").as_array(), None);
        assert_eq!(Value::from(-1).as_u64(), None);
        assert_eq!(Value::from(u64::MAX).as_i64(), None);
    }

    #[test]
    fn from_impls() {
        assert_eq!(Value::from(f64::NAN), Value::Null);
        assert_eq!(Value::from(f64::INFINITY), Value::Null);
        assert_eq!(Value::from(2.5).as_f64(), Some(2.5));
        assert_eq!(Value::from(Some(3u32)), Value::from(3));
        assert_eq!(Value::from(None::<String>), Value::Null);
        assert_eq!(Value::from(vec![1u8, 2]), bin(b"\x01\x02"));
        assert_eq!(Value::from(&b"ab"[..]), bin(b"ab"));
        assert_eq!(Value::from(Bytes::from_static(b"c")), bin(b"c"));
        assert_eq!(Value::from(String::from("s")), Value::from("s"));
        assert_eq!(Value::from(-5i64).as_i64(), Some(-5));
        let j = serde_json::json!({"b": [1, -2, 0.5, "s", null, true], "a": {}});
        let v = Value::from(j);
        assert_eq!(v.get("b").unwrap().as_array().unwrap().len(), 6);
        assert_eq!(v.get("a"), Some(&Value::Object(Map::new())));
        assert_eq!(Value::from(Map::new()), Value::Object(Map::new()));
        assert_eq!(
            Value::from(vec![Value::Null]),
            Value::Array(vec![Value::Null])
        );
    }

    #[test]
    fn display_is_compact_json_with_buffer_markers() {
        let v = Value::Array(vec![
            "a\"b".into(),
            obj([("bin", bin(b"abc")), ("n", Value::from(1.25))]),
            Value::Null,
        ]);
        assert_eq!(
            v.to_string(),
            r#"["a\"b",{"bin":<Buffer 3 bytes>,"n":1.25},null]"#
        );
    }

    #[test]
    fn to_json_lossy_renders_buffers_like_node() {
        let v = Value::Array(vec![bin(b"\x01\xff"), obj([("k", "v".into())])]);
        assert_eq!(
            v.to_json_lossy(),
            serde_json::json!([{"type": "Buffer", "data": [1, 255]}, {"k": "v"}])
        );
    }

    #[test]
    fn serde_json_round_trip_through_serialize_and_deserialize() {
        let v = Value::from_json_str(r#"{"a":[1,-2,3.5,"x",null,{"b":true}]}"#).unwrap();
        let text = serde_json::to_string(&v).unwrap();
        assert_eq!(text, r#"{"a":[1,-2,3.5,"x",null,{"b":true}]}"#);
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
        // Binary goes through `serialize_bytes`, which serde_json writes as an array.
        assert_eq!(serde_json::to_string(&bin(b"\x01\x02")).unwrap(), "[1,2]");
    }
}
