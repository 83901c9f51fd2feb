//! [`JsonValue`]: event arguments as Swift and Kotlin see them, and its conversions to and
//! from the engine's [`Value`].

use std::collections::HashMap;

use polysocket::{Map, Value};

/// A JSON value, or binary data (sent as a Socket.IO attachment: `Data` in Swift,
/// `ByteArray` in Kotlin, a `Buffer` for a Node server). Object key order is not kept.
/// (`Integer`, `Number` and `Text` rather than `Int`, `Double` and `String`: Kotlin's
/// nested classes of those names would hide the built-in types.)
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum JsonValue {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool {
        /// The value.
        value: bool,
    },
    /// An integer (a JSON number without a fraction that fits 64 bits).
    Integer {
        /// The value.
        value: i64,
    },
    /// Any other number.
    Number {
        /// The value.
        value: f64,
    },
    /// A string.
    Text {
        /// The value.
        value: String,
    },
    /// Binary data.
    Binary {
        /// The bytes.
        value: Vec<u8>,
    },
    /// An array.
    Array {
        /// The items.
        items: Vec<JsonValue>,
    },
    /// An object.
    Object {
        /// The members.
        entries: HashMap<String, JsonValue>,
    },
}

impl From<&Value> for JsonValue {
    fn from(value: &Value) -> JsonValue {
        match value {
            Value::Null => JsonValue::Null,
            Value::Bool(value) => JsonValue::Bool { value: *value },
            Value::Number(n) => match n.as_i64() {
                Some(value) => JsonValue::Integer { value },
                None => JsonValue::Number {
                    value: n.as_f64().unwrap_or(f64::NAN),
                },
            },
            Value::String(value) => JsonValue::Text {
                value: value.clone(),
            },
            Value::Binary(bytes) => JsonValue::Binary {
                value: bytes.to_vec(),
            },
            Value::Array(items) => JsonValue::Array {
                items: items.iter().map(JsonValue::from).collect(),
            },
            Value::Object(map) => JsonValue::Object {
                entries: map
                    .iter()
                    .map(|(k, v)| (k.clone(), JsonValue::from(v)))
                    .collect(),
            },
        }
    }
}

impl From<JsonValue> for Value {
    fn from(value: JsonValue) -> Value {
        match value {
            JsonValue::Null => Value::Null,
            JsonValue::Bool { value } => Value::Bool(value),
            JsonValue::Integer { value } => Value::Number(value.into()),
            // Not finite: `null`, as JSON.stringify does.
            JsonValue::Number { value } => {
                serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
            }
            JsonValue::Text { value } => Value::String(value),
            JsonValue::Binary { value } => Value::Binary(value.into()),
            JsonValue::Array { items } => {
                Value::Array(items.into_iter().map(Value::from).collect())
            }
            JsonValue::Object { entries } => Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, Value::from(v)))
                    .collect::<Map>(),
            ),
        }
    }
}

/// Arguments as [`JsonValue`]s.
pub(crate) fn args_out(args: &[Value]) -> Vec<JsonValue> {
    args.iter().map(JsonValue::from).collect()
}

/// Arguments from [`JsonValue`]s.
pub(crate) fn args_in(args: Vec<JsonValue>) -> Vec<Value> {
    args.into_iter().map(Value::from).collect()
}

/// Arguments from the text of a JSON array.
pub(crate) fn args_from_json(json: &str) -> Result<Vec<Value>, crate::SocketError> {
    match Value::from_json_str(json) {
        Ok(Value::Array(args)) => Ok(args),
        Ok(_) => Err(crate::SocketError::InvalidJson {
            message: "the arguments must be a JSON array".to_owned(),
        }),
        Err(error) => Err(crate::SocketError::InvalidJson {
            message: error.to_string(),
        }),
    }
}

/// Arguments as the text of a JSON array; binary becomes Node's `Buffer.toJSON()` form.
pub(crate) fn args_to_json(args: &[Value]) -> String {
    serde_json::Value::Array(args.iter().map(Value::to_json_lossy).collect()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_numbers_keep_their_kind() {
        let json = r#"[null,true,7,-3,1.5,"s",[1],{"a":{"b":[]}}]"#;
        let args = args_from_json(json).unwrap();
        let out = args_out(&args);
        assert_eq!(out[2], JsonValue::Integer { value: 7 });
        assert_eq!(out[3], JsonValue::Integer { value: -3 });
        assert_eq!(out[4], JsonValue::Number { value: 1.5 });
        assert_eq!(args_in(out), args);
        assert_eq!(args_to_json(&args), json);
        let binary = Value::from(JsonValue::Binary { value: vec![1, 2] });
        assert!(binary.has_binary());
        assert_eq!(
            Value::from(JsonValue::Number { value: f64::NAN }),
            Value::Null
        );
        assert!(args_from_json("{}").is_err());
        assert!(args_from_json("[").is_err());
    }
}
