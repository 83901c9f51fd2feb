//! MessagePack for [`Value`], with the rules of npm `notepack.io` (what
//! `socket.io-msgpack-parser` uses): integers in their smallest form, other numbers as
//! float 64, binary as `bin`, `undefined` as fixext 1 of type 0.

use bytes::Bytes;

use super::{Map, Value};

/// Why MessagePack bytes did not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MsgpackError {
    /// The input ended inside a value.
    #[error("unexpected end of MessagePack data")]
    UnexpectedEnd,
    /// A type byte this decoder does not know (0xc1 is never used).
    #[error("invalid MessagePack type byte 0x{0:02x}")]
    InvalidType(u8),
    /// A string that is not UTF-8.
    #[error("invalid UTF-8 in a MessagePack string")]
    InvalidUtf8,
    /// A map key that is not a string.
    #[error("MessagePack map key is not a string")]
    NonStringKey,
    /// Arrays and maps nested deeper than the limit.
    #[error("MessagePack data nested too deeply")]
    TooDeep,
    /// Bytes left after the value.
    #[error("trailing bytes after the MessagePack value")]
    TrailingBytes,
}

/// Deepest nesting accepted when decoding (keeps hostile input from exhausting the stack).
const MAX_DEPTH: usize = 128;

/// Appends `value` as MessagePack.
pub fn write_msgpack(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.push(0xc0),
        Value::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                write_uint(u, out);
            } else if let Some(i) = n.as_i64() {
                write_int(i, out);
            } else {
                let f = n.as_f64().unwrap_or(0.0);
                // JavaScript has one number type: an integral float is an integer there.
                if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
                    if f >= 0.0 {
                        write_uint(f as u64, out);
                    } else {
                        write_int(f as i64, out);
                    }
                } else {
                    out.push(0xcb);
                    out.extend_from_slice(&f.to_be_bytes());
                }
            }
        }
        Value::String(s) => {
            let len = s.len();
            if len < 0x20 {
                out.push(0xa0 | len as u8);
            } else if len < 0x100 {
                out.extend_from_slice(&[0xd9, len as u8]);
            } else if len < 0x1_0000 {
                out.push(0xda);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            } else {
                out.push(0xdb);
                out.extend_from_slice(&(len as u32).to_be_bytes());
            }
            out.extend_from_slice(s.as_bytes());
        }
        Value::Binary(b) => {
            let len = b.len();
            if len < 0x100 {
                out.extend_from_slice(&[0xc4, len as u8]);
            } else if len < 0x1_0000 {
                out.push(0xc5);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            } else {
                out.push(0xc6);
                out.extend_from_slice(&(len as u32).to_be_bytes());
            }
            out.extend_from_slice(b);
        }
        Value::Array(items) => {
            write_len(items.len(), 0x90, 0xdc, 0xdd, out);
            for item in items {
                write_msgpack(item, out);
            }
        }
        Value::Object(map) => {
            write_len(map.len(), 0x80, 0xde, 0xdf, out);
            for (key, item) in map {
                write_msgpack(&Value::String(key.clone()), out);
                write_msgpack(item, out);
            }
        }
    }
}

fn write_len(len: usize, fix: u8, sixteen: u8, thirty_two: u8, out: &mut Vec<u8>) {
    if len < 0x10 {
        out.push(fix | len as u8);
    } else if len < 0x1_0000 {
        out.push(sixteen);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(thirty_two);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

fn write_uint(u: u64, out: &mut Vec<u8>) {
    if u < 0x80 {
        out.push(u as u8);
    } else if u < 0x100 {
        out.extend_from_slice(&[0xcc, u as u8]);
    } else if u < 0x1_0000 {
        out.push(0xcd);
        out.extend_from_slice(&(u as u16).to_be_bytes());
    } else if u < 0x1_0000_0000 {
        out.push(0xce);
        out.extend_from_slice(&(u as u32).to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&u.to_be_bytes());
    }
}

fn write_int(i: i64, out: &mut Vec<u8>) {
    if i >= 0 {
        write_uint(i as u64, out);
    } else if i >= -0x20 {
        out.push(i as u8);
    } else if i >= -0x80 {
        out.extend_from_slice(&[0xd0, i as u8]);
    } else if i >= -0x8000 {
        out.push(0xd1);
        out.extend_from_slice(&(i as i16).to_be_bytes());
    } else if i >= -0x8000_0000 {
        out.push(0xd2);
        out.extend_from_slice(&(i as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&i.to_be_bytes());
    }
}

/// Decodes one MessagePack value that spans all of `input`. Binary (`bin`, and `ext` of
/// type 0, notepack's `ArrayBuffer`) becomes [`Value::Binary`] sharing `input`'s memory;
/// `undefined` becomes `null`; other extensions become `[type, binary]` as in notepack.
pub fn read_msgpack(input: &Bytes) -> Result<Value, MsgpackError> {
    let mut reader = Reader { input, pos: 0 };
    let value = reader.value(0)?;
    if reader.pos != input.len() {
        return Err(MsgpackError::TrailingBytes);
    }
    Ok(value)
}

/// Decodes a MessagePack map that spans all of `input` into its fields, in order; a field
/// whose value is notepack's `undefined` comes back as `None` (unlike `null`), which the
/// Socket.IO packet checks tell apart.
pub fn read_msgpack_fields(input: &Bytes) -> Result<Vec<(String, Option<Value>)>, MsgpackError> {
    let mut reader = Reader { input, pos: 0 };
    let tag = reader.byte()?;
    let n = match tag {
        0x80..=0x8f => usize::from(tag & 0x0f),
        0xde => reader.uint(2)? as usize,
        0xdf => reader.uint(4)? as usize,
        other => return Err(MsgpackError::InvalidType(other)),
    };
    if n > input.len() / 2 {
        return Err(MsgpackError::UnexpectedEnd);
    }
    let mut fields = Vec::with_capacity(n);
    for _ in 0..n {
        let Value::String(key) = reader.value(1)? else {
            return Err(MsgpackError::NonStringKey);
        };
        let undefined = input.get(reader.pos..reader.pos + 3) == Some(&[0xd4, 0x00, 0x00][..]);
        let value = reader.value(1)?;
        fields.push((key, (!undefined).then_some(value)));
    }
    if reader.pos != input.len() {
        return Err(MsgpackError::TrailingBytes);
    }
    Ok(fields)
}

/// Milliseconds since the epoch of a MessagePack timestamp (32, 64 or 96 bits).
fn timestamp_millis(data: &[u8]) -> Option<i64> {
    let (seconds, nanos) = match data.len() {
        4 => (i64::from(u32::from_be_bytes(data.try_into().ok()?)), 0),
        8 => {
            let raw = u64::from_be_bytes(data.try_into().ok()?);
            ((raw & 0x3_ffff_ffff) as i64, (raw >> 34) as i64)
        }
        12 => (
            i64::from_be_bytes(data[4..12].try_into().ok()?),
            i64::from(u32::from_be_bytes(data[0..4].try_into().ok()?)),
        ),
        _ => return None,
    };
    seconds.checked_mul(1000)?.checked_add(nanos / 1_000_000)
}

struct Reader<'a> {
    input: &'a Bytes,
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], MsgpackError> {
        let end = self.pos.checked_add(n).ok_or(MsgpackError::UnexpectedEnd)?;
        let bytes = self
            .input
            .get(self.pos..end)
            .ok_or(MsgpackError::UnexpectedEnd)?;
        self.pos = end;
        Ok(bytes)
    }

    fn byte(&mut self) -> Result<u8, MsgpackError> {
        Ok(self.take(1)?[0])
    }

    fn uint(&mut self, n: usize) -> Result<u64, MsgpackError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn slice(&mut self, n: usize) -> Result<Bytes, MsgpackError> {
        let start = self.pos;
        self.take(n)?;
        Ok(self.input.slice(start..start + n))
    }

    fn string(&mut self, n: usize) -> Result<Value, MsgpackError> {
        let bytes = self.take(n)?;
        let s = std::str::from_utf8(bytes).map_err(|_| MsgpackError::InvalidUtf8)?;
        Ok(Value::String(s.to_owned()))
    }

    fn array(&mut self, n: usize, depth: usize) -> Result<Value, MsgpackError> {
        // Every element takes at least one byte: a length beyond the input is a lie.
        if n > self.input.len() - self.pos {
            return Err(MsgpackError::UnexpectedEnd);
        }
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(self.value(depth + 1)?);
        }
        Ok(Value::Array(items))
    }

    fn map(&mut self, n: usize, depth: usize) -> Result<Value, MsgpackError> {
        if n > (self.input.len() - self.pos) / 2 {
            return Err(MsgpackError::UnexpectedEnd);
        }
        let mut map = Map::with_capacity(n);
        for _ in 0..n {
            let Value::String(key) = self.value(depth + 1)? else {
                return Err(MsgpackError::NonStringKey);
            };
            let item = self.value(depth + 1)?;
            map.insert(key, item);
        }
        Ok(Value::Object(map))
    }

    fn ext(&mut self, n: usize) -> Result<Value, MsgpackError> {
        let kind = self.byte()? as i8;
        let data = self.slice(n)?;
        Ok(match (kind, n) {
            (0, 1) => Value::Null, // notepack's `undefined`
            (0, 8) if n == 8 => {
                // notepack's Date: milliseconds since the epoch.
                let hi = i32::from_be_bytes([data[0], data[1], data[2], data[3]]);
                let lo = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
                Value::from(i64::from(hi) * (1 << 32) + i64::from(lo))
            }
            (0, _) => Value::Binary(data), // notepack's ArrayBuffer
            // The MessagePack timestamp, which notepack writes for a `Date`: the receiving
            // socket.io sends it on as `toISOString()` (JSON has no dates).
            (-1, 4 | 8 | 12) => match timestamp_millis(&data) {
                Some(ms) => Value::String(crate::proto::date::iso_date(ms)),
                None => Value::Null,
            },
            (kind, _) => Value::Array(vec![Value::from(i64::from(kind)), Value::Binary(data)]),
        })
    }

    fn value(&mut self, depth: usize) -> Result<Value, MsgpackError> {
        if depth > MAX_DEPTH {
            return Err(MsgpackError::TooDeep);
        }
        let tag = self.byte()?;
        Ok(match tag {
            0x00..=0x7f => Value::from(u64::from(tag)),
            0x80..=0x8f => return self.map(usize::from(tag & 0x0f), depth),
            0x90..=0x9f => return self.array(usize::from(tag & 0x0f), depth),
            0xa0..=0xbf => return self.string(usize::from(tag & 0x1f)),
            0xc0 => Value::Null,
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4 => {
                let n = self.uint(1)? as usize;
                Value::Binary(self.slice(n)?)
            }
            0xc5 => {
                let n = self.uint(2)? as usize;
                Value::Binary(self.slice(n)?)
            }
            0xc6 => {
                let n = self.uint(4)? as usize;
                Value::Binary(self.slice(n)?)
            }
            0xc7 => {
                let n = self.uint(1)? as usize;
                return self.ext(n);
            }
            0xc8 => {
                let n = self.uint(2)? as usize;
                return self.ext(n);
            }
            0xc9 => {
                let n = self.uint(4)? as usize;
                return self.ext(n);
            }
            0xca => {
                let bits = self.uint(4)? as u32;
                float(f64::from(f32::from_bits(bits)))
            }
            0xcb => float(f64::from_bits(self.uint(8)?)),
            0xcc => Value::from(self.uint(1)?),
            0xcd => Value::from(self.uint(2)?),
            0xce => Value::from(self.uint(4)?),
            0xcf => Value::from(self.uint(8)?),
            0xd0 => Value::from(i64::from(self.uint(1)? as u8 as i8)),
            0xd1 => Value::from(i64::from(self.uint(2)? as u16 as i16)),
            0xd2 => Value::from(i64::from(self.uint(4)? as u32 as i32)),
            0xd3 => Value::from(self.uint(8)? as i64),
            0xd4 => return self.ext(1),
            0xd5 => return self.ext(2),
            0xd6 => return self.ext(4),
            0xd7 => return self.ext(8),
            0xd8 => return self.ext(16),
            0xd9 => {
                let n = self.uint(1)? as usize;
                return self.string(n);
            }
            0xda => {
                let n = self.uint(2)? as usize;
                return self.string(n);
            }
            0xdb => {
                let n = self.uint(4)? as usize;
                return self.string(n);
            }
            0xdc => {
                let n = self.uint(2)? as usize;
                return self.array(n, depth);
            }
            0xdd => {
                let n = self.uint(4)? as usize;
                return self.array(n, depth);
            }
            0xde => {
                let n = self.uint(2)? as usize;
                return self.map(n, depth);
            }
            0xdf => {
                let n = self.uint(4)? as usize;
                return self.map(n, depth);
            }
            0xe0..=0xff => Value::from(i64::from(tag as i8)),
            0xc1 => return Err(MsgpackError::InvalidType(tag)),
        })
    }
}

/// A float as a [`Value`]: non-finite values become `null`, as in JSON.
fn float(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(value: Value) -> Value {
        let mut out = Vec::new();
        write_msgpack(&value, &mut out);
        read_msgpack(&Bytes::from(out)).expect("decodes")
    }

    #[test]
    fn timestamps_become_iso_strings_as_socket_io_sends_dates() {
        // notepack.encode(new Date(1700000000000)) and new Date(1700000000123).
        let whole = Bytes::from_static(&[0xd6, 0xff, 0x65, 0x53, 0xf1, 0x00]);
        assert_eq!(
            read_msgpack(&whole).unwrap(),
            Value::from("2023-11-14T22:13:20.000Z")
        );
        let millis =
            Bytes::from_static(&[0xd7, 0xff, 0x1d, 0x53, 0x53, 0x00, 0x65, 0x53, 0xf1, 0x00]);
        assert_eq!(
            read_msgpack(&millis).unwrap(),
            Value::from("2023-11-14T22:13:20.123Z")
        );
    }

    #[test]
    fn encodes_as_notepack_does() {
        // notepack.encode({type: 2, data: ["hi", 1, -1, 1.5, true, null], nsp: "/"})
        let mut map = Map::new();
        map.insert("type".to_owned(), Value::from(2));
        let data = vec![
            Value::from("hi"),
            Value::from(1),
            Value::from(-1),
            Value::from(1.5),
            Value::Bool(true),
            Value::Null,
        ];
        map.insert("data".to_owned(), Value::Array(data));
        map.insert("nsp".to_owned(), Value::from("/"));
        let value = Value::Object(map);
        let mut out = Vec::new();
        write_msgpack(&value, &mut out);
        let expected: &[u8] = &[
            0x83, 0xa4, b't', b'y', b'p', b'e', 0x02, 0xa4, b'd', b'a', b't', b'a', 0x96, 0xa2,
            b'h', b'i', 0x01, 0xff, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xc3, 0xc0, 0xa3, b'n',
            b's', b'p', 0xa1, b'/',
        ];
        assert_eq!(out, expected);
    }

    #[test]
    fn round_trips_every_kind_of_value() {
        let mut map = Map::new();
        map.insert(
            "bin".to_owned(),
            Value::Binary(Bytes::from_static(&[1, 2, 3])),
        );
        map.insert("big".to_owned(), Value::from(u64::MAX));
        map.insert("neg".to_owned(), Value::from(-200_000i64));
        map.insert("s".to_owned(), Value::from("x".repeat(300).as_str()));
        map.insert(
            "list".to_owned(),
            Value::Array((0..20).map(Value::from).collect()),
        );
        let value = Value::Object(map);
        assert_eq!(roundtrip(value.clone()), value);
    }

    #[test]
    fn reads_notepack_extensions() {
        // undefined, and an ArrayBuffer (ext 8, type 0)
        let input = Bytes::from_static(&[0x92, 0xd4, 0x00, 0x00, 0xc7, 0x02, 0x00, 9, 8]);
        assert_eq!(
            read_msgpack(&input).unwrap(),
            Value::Array(vec![
                Value::Null,
                Value::Binary(Bytes::from_static(&[9, 8]))
            ])
        );
    }

    #[test]
    fn rejects_hostile_input_without_panicking() {
        for input in [
            &[0xdd, 0xff, 0xff, 0xff, 0xff][..], // a 4-billion-element array, no elements
            &[0xc1],                             // never used
            &[0xa5, b'a'],                       // short string
            &[0x81, 0x01, 0x02],                 // non-string key
            &[0xc0, 0xc0],                       // trailing bytes
        ] {
            assert!(
                read_msgpack(&Bytes::copy_from_slice(input)).is_err(),
                "{input:?}"
            );
        }
        let deep = Bytes::from(vec![0x91; 10_000]);
        assert_eq!(read_msgpack(&deep), Err(MsgpackError::TooDeep));
    }
}
