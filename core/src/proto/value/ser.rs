//! `serde::Serializer` that builds a [`Value`].

use bytes::Bytes;
use serde::ser::{self, Impossible, Serialize};

use super::{Map, Value, ValueError};

/// Serializes any `T` into a [`Value`], without going through JSON text.
///
/// `serialize_bytes` produces [`Value::Binary`], so `bytes::Bytes` and
/// `#[serde(with = "serde_bytes")]` fields stay binary. Structs and maps become objects (map
/// keys must be strings, or integers, chars or bools, which are rendered as strings like JSON
/// does), `()` and `None` become `Null`, tuples and sequences become arrays, newtype structs
/// are transparent and enums are externally tagged like `serde_json` encodes them.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, ValueError> {
    value.serialize(ValueSerializer)
}

/// The serializer behind [`to_value`].
struct ValueSerializer;

fn number_out_of_range() -> ValueError {
    ValueError::Custom("number out of range".into())
}

/// Wraps `value` as `{variant: value}`, the externally tagged form of an enum variant.
fn tagged(variant: &'static str, value: Value) -> Value {
    let mut map = Map::with_capacity(1);
    map.insert(variant.to_owned(), value);
    Value::Object(map)
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = ValueError;
    type SerializeSeq = SerializeVec;
    type SerializeTuple = SerializeVec;
    type SerializeTupleStruct = SerializeVec;
    type SerializeTupleVariant = SerializeVec;
    type SerializeMap = SerializeMap;
    type SerializeStruct = SerializeMap;
    type SerializeStructVariant = SerializeMap;

    fn serialize_bool(self, v: bool) -> Result<Value, ValueError> {
        Ok(Value::Bool(v))
    }

    fn serialize_i8(self, v: i8) -> Result<Value, ValueError> {
        Ok(Value::Number(v.into()))
    }

    fn serialize_i16(self, v: i16) -> Result<Value, ValueError> {
        Ok(Value::Number(v.into()))
    }

    fn serialize_i32(self, v: i32) -> Result<Value, ValueError> {
        Ok(Value::Number(v.into()))
    }

    fn serialize_i64(self, v: i64) -> Result<Value, ValueError> {
        Ok(Value::Number(v.into()))
    }

    fn serialize_i128(self, v: i128) -> Result<Value, ValueError> {
        if let Ok(i) = i64::try_from(v) {
            Ok(Value::Number(i.into()))
        } else if let Ok(u) = u64::try_from(v) {
            Ok(Value::Number(u.into()))
        } else {
            Err(number_out_of_range())
        }
    }

    fn serialize_u8(self, v: u8) -> Result<Value, ValueError> {
        Ok(Value::Number(v.into()))
    }

    fn serialize_u16(self, v: u16) -> Result<Value, ValueError> {
        Ok(Value::Number(v.into()))
    }

    fn serialize_u32(self, v: u32) -> Result<Value, ValueError> {
        Ok(Value::Number(v.into()))
    }

    fn serialize_u64(self, v: u64) -> Result<Value, ValueError> {
        Ok(Value::Number(v.into()))
    }

    fn serialize_u128(self, v: u128) -> Result<Value, ValueError> {
        u64::try_from(v)
            .map(|u| Value::Number(u.into()))
            .map_err(|_| number_out_of_range())
    }

    fn serialize_f32(self, v: f32) -> Result<Value, ValueError> {
        if !v.is_finite() {
            return Ok(Value::Null);
        }
        // Go through the shortest decimal form so that `0.1f32` becomes `0.1`, not
        // `0.10000000149011612`.
        Ok(Value::from(
            v.to_string().parse::<f64>().unwrap_or(f64::from(v)),
        ))
    }

    fn serialize_f64(self, v: f64) -> Result<Value, ValueError> {
        Ok(Value::from(v))
    }

    fn serialize_char(self, v: char) -> Result<Value, ValueError> {
        Ok(Value::String(v.to_string()))
    }

    fn serialize_str(self, v: &str) -> Result<Value, ValueError> {
        Ok(Value::String(v.to_owned()))
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<Value, ValueError> {
        Ok(Value::Binary(Bytes::copy_from_slice(v)))
    }

    fn serialize_none(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, ValueError> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, ValueError> {
        Ok(Value::String(variant.to_owned()))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, ValueError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, ValueError> {
        Ok(tagged(variant, value.serialize(self)?))
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<SerializeVec, ValueError> {
        Ok(SerializeVec {
            items: Vec::with_capacity(len.unwrap_or(0)),
            variant: None,
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<SerializeVec, ValueError> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SerializeVec, ValueError> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SerializeVec, ValueError> {
        Ok(SerializeVec {
            items: Vec::with_capacity(len),
            variant: Some(variant),
        })
    }

    fn serialize_map(self, len: Option<usize>) -> Result<SerializeMap, ValueError> {
        Ok(SerializeMap {
            map: Map::with_capacity(len.unwrap_or(0)),
            next_key: None,
            variant: None,
        })
    }

    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<SerializeMap, ValueError> {
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SerializeMap, ValueError> {
        Ok(SerializeMap {
            map: Map::with_capacity(len),
            next_key: None,
            variant: Some(variant),
        })
    }

    fn collect_str<T: std::fmt::Display + ?Sized>(self, value: &T) -> Result<Value, ValueError> {
        Ok(Value::String(value.to_string()))
    }
}

/// Builds an array; for a tuple variant, wraps it as `{variant: [...]}`.
struct SerializeVec {
    items: Vec<Value>,
    variant: Option<&'static str>,
}

impl SerializeVec {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        self.items.push(value.serialize(ValueSerializer)?);
        Ok(())
    }

    fn finish(self) -> Value {
        let array = Value::Array(self.items);
        match self.variant {
            Some(variant) => tagged(variant, array),
            None => array,
        }
    }
}

impl ser::SerializeSeq for SerializeVec {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        self.push(value)
    }

    fn end(self) -> Result<Value, ValueError> {
        Ok(self.finish())
    }
}

impl ser::SerializeTuple for SerializeVec {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        self.push(value)
    }

    fn end(self) -> Result<Value, ValueError> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleStruct for SerializeVec {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        self.push(value)
    }

    fn end(self) -> Result<Value, ValueError> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleVariant for SerializeVec {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        self.push(value)
    }

    fn end(self) -> Result<Value, ValueError> {
        Ok(self.finish())
    }
}

/// Builds an object; for a struct variant, wraps it as `{variant: {...}}`.
struct SerializeMap {
    map: Map,
    next_key: Option<String>,
    variant: Option<&'static str>,
}

impl SerializeMap {
    fn finish(self) -> Value {
        let object = Value::Object(self.map);
        match self.variant {
            Some(variant) => tagged(variant, object),
            None => object,
        }
    }
}

impl ser::SerializeMap for SerializeMap {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ValueError> {
        self.next_key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        let key = self.next_key.take().ok_or_else(|| {
            ValueError::Custom("serialize_value called before serialize_key".into())
        })?;
        self.map.insert(key, value.serialize(ValueSerializer)?);
        Ok(())
    }

    fn end(self) -> Result<Value, ValueError> {
        Ok(self.finish())
    }
}

impl ser::SerializeStruct for SerializeMap {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), ValueError> {
        self.map
            .insert(key.to_owned(), value.serialize(ValueSerializer)?);
        Ok(())
    }

    fn end(self) -> Result<Value, ValueError> {
        Ok(self.finish())
    }
}

impl ser::SerializeStructVariant for SerializeMap {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), ValueError> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }

    fn end(self) -> Result<Value, ValueError> {
        Ok(self.finish())
    }
}

/// Turns a map key into a string, like JSON object keys.
struct KeySerializer;

impl KeySerializer {
    fn display(v: impl std::fmt::Display) -> Result<String, ValueError> {
        Ok(v.to_string())
    }
}

impl ser::Serializer for KeySerializer {
    type Ok = String;
    type Error = ValueError;
    type SerializeSeq = Impossible<String, ValueError>;
    type SerializeTuple = Impossible<String, ValueError>;
    type SerializeTupleStruct = Impossible<String, ValueError>;
    type SerializeTupleVariant = Impossible<String, ValueError>;
    type SerializeMap = Impossible<String, ValueError>;
    type SerializeStruct = Impossible<String, ValueError>;
    type SerializeStructVariant = Impossible<String, ValueError>;

    fn serialize_bool(self, v: bool) -> Result<String, ValueError> {
        Self::display(v)
    }

    fn serialize_i8(self, v: i8) -> Result<String, ValueError> {
        Self::display(v)
    }

    fn serialize_i16(self, v: i16) -> Result<String, ValueError> {
        Self::display(v)
    }

    fn serialize_i32(self, v: i32) -> Result<String, ValueError> {
        Self::display(v)
    }

    fn serialize_i64(self, v: i64) -> Result<String, ValueError> {
        Self::display(v)
    }

    fn serialize_i128(self, v: i128) -> Result<String, ValueError> {
        Self::display(v)
    }

    fn serialize_u8(self, v: u8) -> Result<String, ValueError> {
        Self::display(v)
    }

    fn serialize_u16(self, v: u16) -> Result<String, ValueError> {
        Self::display(v)
    }

    fn serialize_u32(self, v: u32) -> Result<String, ValueError> {
        Self::display(v)
    }

    fn serialize_u64(self, v: u64) -> Result<String, ValueError> {
        Self::display(v)
    }

    fn serialize_u128(self, v: u128) -> Result<String, ValueError> {
        Self::display(v)
    }

    fn serialize_f32(self, _v: f32) -> Result<String, ValueError> {
        Err(ValueError::KeyMustBeString)
    }

    fn serialize_f64(self, _v: f64) -> Result<String, ValueError> {
        Err(ValueError::KeyMustBeString)
    }

    fn serialize_char(self, v: char) -> Result<String, ValueError> {
        Ok(v.to_string())
    }

    fn serialize_str(self, v: &str) -> Result<String, ValueError> {
        Ok(v.to_owned())
    }

    fn serialize_bytes(self, _v: &[u8]) -> Result<String, ValueError> {
        Err(ValueError::KeyMustBeString)
    }

    fn serialize_none(self) -> Result<String, ValueError> {
        Err(ValueError::KeyMustBeString)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<String, ValueError> {
        Err(ValueError::KeyMustBeString)
    }

    fn serialize_unit(self) -> Result<String, ValueError> {
        Err(ValueError::KeyMustBeString)
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<String, ValueError> {
        Err(ValueError::KeyMustBeString)
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String, ValueError> {
        Ok(variant.to_owned())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String, ValueError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<String, ValueError> {
        Err(ValueError::KeyMustBeString)
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, ValueError> {
        Err(ValueError::KeyMustBeString)
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, ValueError> {
        Err(ValueError::KeyMustBeString)
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, ValueError> {
        Err(ValueError::KeyMustBeString)
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, ValueError> {
        Err(ValueError::KeyMustBeString)
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, ValueError> {
        Err(ValueError::KeyMustBeString)
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, ValueError> {
        Err(ValueError::KeyMustBeString)
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, ValueError> {
        Err(ValueError::KeyMustBeString)
    }

    fn collect_str<T: std::fmt::Display + ?Sized>(self, value: &T) -> Result<String, ValueError> {
        Ok(value.to_string())
    }
}
