//! `serde::Deserializer` for an owned [`Value`].

use std::vec;

use bytes::Bytes;
use serde::de::{
    self, DeserializeSeed, EnumAccess, Error as _, IntoDeserializer, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};

use super::{Map, Value, ValueError};

impl Value {
    /// Describes the value for "invalid type" errors.
    fn unexpected(&self) -> Unexpected<'_> {
        match self {
            Value::Null => Unexpected::Unit,
            Value::Bool(b) => Unexpected::Bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => Unexpected::Unsigned(u),
                (_, Some(i), _) => Unexpected::Signed(i),
                (_, _, f) => Unexpected::Float(f.unwrap_or_default()),
            },
            Value::String(s) => Unexpected::Str(s),
            Value::Binary(b) => Unexpected::Bytes(b),
            Value::Array(_) => Unexpected::Seq,
            Value::Object(_) => Unexpected::Map,
        }
    }

    fn invalid_type<E: de::Error>(&self, exp: &dyn de::Expected) -> E {
        E::invalid_type(self.unexpected(), exp)
    }
}

fn bytes_into_vec(bytes: Bytes) -> Vec<u8> {
    // Reuses the allocation when `bytes` is the unique owner of a `Vec`.
    Vec::from(bytes)
}

fn visit_array<'de, V: Visitor<'de>>(
    items: Vec<Value>,
    visitor: V,
) -> Result<V::Value, ValueError> {
    let len = items.len();
    let mut seq = SeqDeserializer {
        iter: items.into_iter(),
    };
    let out = visitor.visit_seq(&mut seq)?;
    match seq.iter.len() {
        0 => Ok(out),
        _ => Err(ValueError::invalid_length(len, &"fewer elements in array")),
    }
}

fn visit_binary_seq<'de, V: Visitor<'de>>(
    bytes: Bytes,
    visitor: V,
) -> Result<V::Value, ValueError> {
    let len = bytes.len();
    let mut seq = ByteSeqDeserializer { bytes, pos: 0 };
    let out = visitor.visit_seq(&mut seq)?;
    if seq.pos == len {
        Ok(out)
    } else {
        Err(ValueError::invalid_length(len, &"fewer bytes in buffer"))
    }
}

fn visit_object<'de, V: Visitor<'de>>(map: Map, visitor: V) -> Result<V::Value, ValueError> {
    let len = map.len();
    let mut access = MapDeserializer {
        iter: map.into_iter(),
        value: None,
    };
    let out = visitor.visit_map(&mut access)?;
    match access.iter.len() {
        0 => Ok(out),
        _ => Err(ValueError::invalid_length(len, &"fewer entries in map")),
    }
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_string(s),
            Value::Binary(b) => visitor.visit_byte_buf(bytes_into_vec(b)),
            Value::Array(items) => visit_array(items, visitor),
            Value::Object(map) => visit_object(map, visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_unit(),
            other => Err(other.invalid_type(&visitor)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_byte_buf(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Binary(b) => visitor.visit_byte_buf(bytes_into_vec(b)),
            Value::String(s) => visitor.visit_string(s),
            Value::Array(items) => visit_array(items, visitor),
            other => Err(other.invalid_type(&visitor)),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Array(items) => visit_array(items, visitor),
            Value::Binary(b) => visit_binary_seq(b, visitor),
            other => Err(other.invalid_type(&visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Object(map) => visit_object(map, visitor),
            other => Err(other.invalid_type(&visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self {
            Value::Object(map) => visit_object(map, visitor),
            Value::Array(items) => visit_array(items, visitor),
            other => Err(other.invalid_type(&visitor)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        let (variant, value) = match self {
            Value::String(variant) => (variant, None),
            Value::Object(map) if map.len() == 1 => {
                let (variant, value) = map.into_iter().next().expect("map has one entry");
                (variant, Some(value))
            }
            Value::Object(_) => {
                return Err(ValueError::invalid_value(
                    Unexpected::Map,
                    &"map with a single key",
                ));
            }
            other => return Err(other.invalid_type(&"string or map")),
        };
        visitor.visit_enum(EnumDeserializer { variant, value })
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        drop(self);
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string identifier
    }
}

impl IntoDeserializer<'_, ValueError> for Value {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

struct SeqDeserializer {
    iter: vec::IntoIter<Value>,
}

impl<'de> SeqAccess<'de> for SeqDeserializer {
    type Error = ValueError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ValueError> {
        self.iter.next().map(|v| seed.deserialize(v)).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// Offers a binary blob as a sequence of `u8`.
struct ByteSeqDeserializer {
    bytes: Bytes,
    pos: usize,
}

impl<'de> SeqAccess<'de> for ByteSeqDeserializer {
    type Error = ValueError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ValueError> {
        let Some(&byte) = self.bytes.get(self.pos) else {
            return Ok(None);
        };
        self.pos += 1;
        seed.deserialize(byte.into_deserializer()).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.bytes.len() - self.pos)
    }
}

struct MapDeserializer {
    iter: indexmap::map::IntoIter<String, Value>,
    value: Option<Value>,
}

impl<'de> MapAccess<'de> for MapDeserializer {
    type Error = ValueError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ValueError> {
        let Some((key, value)) = self.iter.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        seed.deserialize(KeyDeserializer(key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ValueError> {
        match self.value.take() {
            Some(value) => seed.deserialize(value),
            None => Err(ValueError::custom("value is missing")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// Deserializes an object key; numeric and boolean keys parse from their string form.
struct KeyDeserializer(String);

macro_rules! deserialize_parsed_key {
    ($($method:ident => $visit:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
            match self.0.parse() {
                Ok(v) => visitor.$visit(v),
                Err(_) => Err(ValueError::invalid_value(Unexpected::Str(&self.0), &visitor)),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for KeyDeserializer {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_string(self.0)
    }

    deserialize_parsed_key! {
        deserialize_bool => visit_bool,
        deserialize_i8 => visit_i8,
        deserialize_i16 => visit_i16,
        deserialize_i32 => visit_i32,
        deserialize_i64 => visit_i64,
        deserialize_i128 => visit_i128,
        deserialize_u8 => visit_u8,
        deserialize_u16 => visit_u16,
        deserialize_u32 => visit_u32,
        deserialize_u64 => visit_u64,
        deserialize_u128 => visit_u128,
        deserialize_f32 => visit_f32,
        deserialize_f64 => visit_f64,
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.0
            .into_deserializer()
            .deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

struct EnumDeserializer {
    variant: String,
    value: Option<Value>,
}

impl<'de> EnumAccess<'de> for EnumDeserializer {
    type Error = ValueError;
    type Variant = VariantDeserializer;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, VariantDeserializer), ValueError> {
        let variant = seed.deserialize(KeyDeserializer(self.variant))?;
        Ok((variant, VariantDeserializer(self.value)))
    }
}

/// The content of an enum variant: `None` when the variant was given as a bare string.
struct VariantDeserializer(Option<Value>);

impl<'de> VariantAccess<'de> for VariantDeserializer {
    type Error = ValueError;

    fn unit_variant(self) -> Result<(), ValueError> {
        match self.0 {
            None => Ok(()),
            Some(value) => de::Deserialize::deserialize(value),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, ValueError> {
        match self.0 {
            Some(value) => seed.deserialize(value),
            None => Err(ValueError::invalid_type(
                Unexpected::UnitVariant,
                &"newtype variant",
            )),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self.0 {
            Some(Value::Array(items)) => visit_array(items, visitor),
            Some(other) => Err(other.invalid_type(&"tuple variant")),
            None => Err(ValueError::invalid_type(
                Unexpected::UnitVariant,
                &"tuple variant",
            )),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self.0 {
            Some(Value::Object(map)) => visit_object(map, visitor),
            Some(Value::Array(items)) => visit_array(items, visitor),
            Some(other) => Err(other.invalid_type(&"struct variant")),
            None => Err(ValueError::invalid_type(
                Unexpected::UnitVariant,
                &"struct variant",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use bytes::Bytes;
    use serde::{Deserialize, Serialize};

    use super::super::{Map, Value, ValueError, from_value, to_value};

    /// Serializes `Bytes` through `serialize_bytes` and reads it back as a byte buffer, like
    /// `bytes`' own serde support does (without needing its `serde` feature).
    mod as_binary {
        use bytes::Bytes;
        use serde::{Deserializer, Serializer, de};

        pub(super) fn serialize<S: Serializer>(b: &Bytes, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(b)
        }

        pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
            struct V;
            impl<'de> de::Visitor<'de> for V {
                type Value = Bytes;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("bytes")
                }
                fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
                    Ok(Bytes::copy_from_slice(v))
                }
                fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Bytes, E> {
                    Ok(Bytes::from(v))
                }
                fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Bytes, A::Error> {
                    let mut out = Vec::new();
                    while let Some(b) = seq.next_element::<u8>()? {
                        out.push(b);
                    }
                    Ok(out.into())
                }
            }
            d.deserialize_byte_buf(V)
        }
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Shape {
        Empty,
        Circle(f64),
        Point(i32, i32),
        Rect { w: u32, h: u32 },
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Meters(u32);

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Upload {
        name: String,
        #[serde(with = "as_binary")]
        blob: Bytes,
        raw: Vec<u8>,
        note: Option<String>,
        missing: Option<u8>,
        shapes: Vec<Shape>,
        pair: (u8, String),
        length: Meters,
        nested: BTreeMap<String, BTreeMap<String, i64>>,
        unit: (),
    }

    fn sample() -> Upload {
        let mut inner = BTreeMap::new();
        inner.insert("x".to_owned(), -1);
        let mut nested = BTreeMap::new();
        nested.insert("outer".to_owned(), inner);
        Upload {
            name: "file.bin".into(),
            blob: Bytes::from_static(b"\x00\xffdata"),
            raw: vec![1, 2, 3],
            note: Some("hi".into()),
            missing: None,
            shapes: vec![
                Shape::Empty,
                Shape::Circle(1.5),
                Shape::Point(-1, 2),
                Shape::Rect { w: 3, h: 4 },
            ],
            pair: (7, "seven".into()),
            length: Meters(12),
            nested,
            unit: (),
        }
    }

    #[test]
    fn struct_round_trip_keeps_binary_and_shapes() {
        let value = to_value(&sample()).unwrap();
        assert_eq!(
            value.get("blob"),
            Some(&Value::Binary(Bytes::from_static(b"\x00\xffdata")))
        );
        let mut attachments = Vec::new();
        let mut text = String::new();
        value.write_json(&mut text, &mut attachments);
        assert_eq!(
            text,
            concat!(
                r#"{"name":"file.bin","blob":{"_placeholder":true,"num":0},"raw":[1,2,3],"#,
                r#""note":"hi","missing":null,"shapes":["Empty",{"Circle":1.5},{"Point":[-1,2]},"#,
                r#"{"Rect":{"w":3,"h":4}}],"pair":[7,"seven"],"length":12,"#,
                r#""nested":{"outer":{"x":-1}},"unit":null}"#
            )
        );
        assert_eq!(attachments, [Bytes::from_static(b"\x00\xffdata")]);

        let back: Upload = from_value(value.clone()).unwrap();
        assert_eq!(back, sample());
        // Also through the wire form.
        let wire = Value::from_json_str(&text)
            .unwrap()
            .reconstruct(&attachments)
            .unwrap();
        assert_eq!(from_value::<Upload>(wire).unwrap(), sample());
    }

    #[test]
    fn vec_u8_accepts_binary_and_bytes_accept_arrays() {
        let v: Vec<u8> = from_value(Value::from(vec![9u8, 8])).unwrap();
        assert_eq!(v, [9, 8]);
        let arr: [u8; 2] = from_value(Value::from(&b"ab"[..])).unwrap();
        assert_eq!(arr, *b"ab");
        #[derive(Deserialize)]
        struct B(#[serde(with = "as_binary")] Bytes);
        let b: B = from_value(Value::Array(vec![1.into(), 2.into()])).unwrap();
        assert_eq!(b.0, Bytes::from_static(b"\x01\x02"));
        let err = from_value::<[u8; 1]>(Value::from(&b"ab"[..])).unwrap_err();
        assert!(
            err.to_string().starts_with("custom: invalid length"),
            "{err}"
        );
    }

    #[test]
    fn value_round_trips_through_itself() {
        let mut map = Map::new();
        map.insert("b".into(), Value::from(&b"\x01"[..]));
        map.insert("a".into(), Value::Array(vec![Value::Null, 1.5.into()]));
        let v = Value::Object(map);
        assert_eq!(to_value(&v).unwrap(), v);
        assert_eq!(from_value::<Value>(v.clone()).unwrap(), v);
    }

    #[test]
    fn option_and_unit() {
        assert_eq!(to_value(&None::<u8>).unwrap(), Value::Null);
        assert_eq!(to_value(&Some(3u8)).unwrap(), Value::from(3));
        assert_eq!(from_value::<Option<u8>>(Value::Null).unwrap(), None);
        assert_eq!(from_value::<Option<u8>>(Value::from(4)).unwrap(), Some(4));
        assert_eq!(to_value(&()).unwrap(), Value::Null);
        from_value::<()>(Value::Null).unwrap();
        assert!(from_value::<()>(Value::from(1)).is_err());
    }

    #[test]
    fn enums_externally_tagged() {
        assert_eq!(to_value(&Shape::Empty).unwrap(), Value::from("Empty"));
        let rect = to_value(&Shape::Rect { w: 1, h: 2 }).unwrap();
        assert_eq!(rect.to_string(), r#"{"Rect":{"w":1,"h":2}}"#);
        assert_eq!(
            from_value::<Shape>(Value::from_json_str(r#"{"Point":[3,4]}"#).unwrap()).unwrap(),
            Shape::Point(3, 4)
        );
        assert_eq!(
            from_value::<Shape>(Value::from_json_str(r#"{"Empty":null}"#).unwrap()).unwrap(),
            Shape::Empty
        );
        assert_eq!(from_value::<Shape>("Empty".into()).unwrap(), Shape::Empty);
        assert!(from_value::<Shape>("Circle".into()).is_err());
        assert!(from_value::<Shape>("Nope".into()).is_err());
        assert!(from_value::<Shape>(Value::from_json_str(r#"{"a":1,"b":2}"#).unwrap()).is_err());
    }

    #[test]
    fn nested_maps_keep_insertion_order() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct Inner {
            z: Vec<u8>,
            a: BTreeMap<String, Option<bool>>,
        }
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct Outer {
            second: Inner,
            first: HashMap<String, Inner>,
        }
        let mut a = BTreeMap::new();
        a.insert("k".to_owned(), Some(true));
        let mut first = HashMap::new();
        first.insert(
            "deep".to_owned(),
            Inner {
                z: vec![],
                a: BTreeMap::new(),
            },
        );
        let outer = Outer {
            second: Inner { z: vec![1], a },
            first,
        };
        let v = to_value(&outer).unwrap();
        assert_eq!(
            v.to_string(),
            r#"{"second":{"z":[1],"a":{"k":true}},"first":{"deep":{"z":[],"a":{}}}}"#
        );
        assert_eq!(from_value::<Outer>(v.clone()).unwrap(), outer);
        // A `Value` read back keeps the object order.
        let back: Value = from_value(v).unwrap();
        let keys: Vec<_> = back.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["second", "first"]);
    }

    #[test]
    fn tuples_become_arrays() {
        let v = to_value(&(1u8, "two", 3.5f64, [true])).unwrap();
        assert_eq!(v.to_string(), r#"[1,"two",3.5,[true]]"#);
        let back: (u8, String, f64, [bool; 1]) = from_value(v).unwrap();
        assert_eq!(back, (1, "two".into(), 3.5, [true]));
        assert!(from_value::<(u8,)>(Value::from_json_str("[1,2]").unwrap()).is_err());
    }

    #[test]
    fn non_string_keys_become_strings() {
        let mut m = HashMap::new();
        m.insert(42u32, "x");
        let v = to_value(&m).unwrap();
        assert_eq!(v.to_string(), r#"{"42":"x"}"#);
        assert_eq!(from_value::<HashMap<u32, String>>(v).unwrap()[&42], "x");

        let mut m = BTreeMap::new();
        m.insert(-1i64, 1);
        m.insert(2, 2);
        assert_eq!(to_value(&m).unwrap().to_string(), r#"{"-1":1,"2":2}"#);
        let mut m = BTreeMap::new();
        m.insert(true, 'c');
        m.insert(false, 'd');
        let v = to_value(&m).unwrap();
        assert_eq!(v.to_string(), r#"{"false":"d","true":"c"}"#);
        assert_eq!(from_value::<BTreeMap<bool, char>>(v).unwrap(), m);
        let mut m = BTreeMap::new();
        m.insert('k', Shape::Empty);
        assert_eq!(to_value(&m).unwrap().to_string(), r#"{"k":"Empty"}"#);

        let mut m = BTreeMap::new();
        m.insert((1, 2), 3);
        assert!(matches!(to_value(&m), Err(ValueError::KeyMustBeString)));
        let bad = Value::from_json_str(r#"{"x":1}"#).unwrap();
        assert!(from_value::<HashMap<u32, u8>>(bad).is_err());
    }

    #[test]
    fn numbers_coerce_like_serde_json() {
        assert_eq!(from_value::<f64>(Value::from(3)).unwrap(), 3.0);
        assert_eq!(from_value::<i8>(Value::from(-3)).unwrap(), -3);
        assert_eq!(from_value::<u64>(Value::from(u64::MAX)).unwrap(), u64::MAX);
        assert!(from_value::<u8>(Value::from(300)).is_err());
        assert!(from_value::<u32>(Value::from(-1)).is_err());
        assert!(from_value::<i32>(Value::from(1.5)).is_err());
        assert_eq!(to_value(&f64::NAN).unwrap(), Value::Null);
        assert_eq!(to_value(&0.1f32).unwrap(), Value::from(0.1));
        assert_eq!(
            to_value(&u128::from(u64::MAX)).unwrap(),
            Value::from(u64::MAX)
        );
        assert!(to_value(&u128::MAX).is_err());
        assert_eq!(to_value(&'c').unwrap(), Value::from("c"));
    }

    #[test]
    fn errors_carry_serde_messages() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Needs {
            name: String,
        }
        let err = from_value::<Needs>(Value::Object(Map::new())).unwrap_err();
        assert_eq!(err.to_string(), "custom: missing field `name`");
        let err = from_value::<i32>(Value::from(&b"x"[..])).unwrap_err();
        assert!(matches!(err, ValueError::Custom(_)));
        assert!(
            err.to_string().contains("invalid type: byte array"),
            "{err}"
        );
    }
}
