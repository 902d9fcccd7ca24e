//! The values a parsed line yields, borrowed from the line where possible, and the few
//! protobuf encoders the plugin needs beyond the SDK's setters (attribute payloads for
//! appending, and the resources that records are moved into).

use std::borrow::Cow;

use aegis_plugin_sdk::wire::EncodeValue;

/// One field value of a parsed line, with JSON's types.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Val<'a> {
    /// JSON `null`: an empty `AnyValue`.
    Null,
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(Cow<'a, str>),
    Array(Vec<Val<'a>>),
    /// A nested object: a key-value list, in the order of the line.
    Map(Vec<(Cow<'a, str>, Val<'a>)>),
}

impl<'a> Val<'a> {
    /// A string borrowed from the line.
    pub(crate) fn str(s: &'a str) -> Self {
        Val::Str(Cow::Borrowed(s))
    }
}

// AnyValue field numbers: string 1, bool 2, int 3, double 4, array 5, kvlist 6.
impl EncodeValue for Val<'_> {
    fn encoded_len(&self) -> usize {
        match self {
            Val::Null => 0,
            Val::Bool(_) => 2,
            Val::Int(v) => 1 + varint_len(*v as u64),
            Val::Double(_) => 9,
            Val::Str(s) => len_field_len(s.len()),
            Val::Array(items) => len_field_len(array_len(items)),
            Val::Map(entries) => len_field_len(map_len(entries)),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Val::Null => {}
            Val::Bool(v) => out.extend_from_slice(&[0x10, u8::from(*v)]),
            Val::Int(v) => {
                out.push(0x18);
                put_varint(out, *v as u64);
            }
            Val::Double(v) => {
                out.push(0x21);
                out.extend_from_slice(&v.to_bits().to_le_bytes());
            }
            Val::Str(s) => put_len_field(out, 1, s.as_bytes()),
            Val::Array(items) => {
                put_len_header(out, 5, array_len(items));
                for item in items {
                    put_len_header(out, 1, item.encoded_len());
                    item.encode(out);
                }
            }
            Val::Map(entries) => {
                put_len_header(out, 6, map_len(entries));
                for (key, value) in entries {
                    put_len_header(out, 1, key_value_len(key, value));
                    put_key_value_payload(out, key, value);
                }
            }
        }
    }
}

fn array_len(items: &[Val<'_>]) -> usize {
    items.iter().map(|v| len_field_len(v.encoded_len())).sum()
}

fn map_len(entries: &[(Cow<'_, str>, Val<'_>)]) -> usize {
    entries.iter().map(|(k, v)| len_field_len(key_value_len(k, v))).sum()
}

/// The bytes of a varint.
pub(crate) fn varint_len(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The bytes of a length-delimited field with a one-byte tag (field numbers below 16).
pub(crate) fn len_field_len(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

/// The tag and length of length-delimited field `number` (below 16).
pub(crate) fn put_len_header(out: &mut Vec<u8>, number: u8, len: usize) {
    out.push(number << 3 | 2);
    put_varint(out, len as u64);
}

pub(crate) fn put_len_field(out: &mut Vec<u8>, number: u8, payload: &[u8]) {
    put_len_header(out, number, payload.len());
    out.extend_from_slice(payload);
}

/// The payload length of `KeyValue { key, value }`.
pub(crate) fn key_value_len<V: EncodeValue + ?Sized>(key: &str, value: &V) -> usize {
    len_field_len(key.len()) + len_field_len(value.encoded_len())
}

/// Appends the payload (no tag, no length) of `KeyValue { key, value }`.
pub(crate) fn put_key_value_payload<V: EncodeValue + ?Sized>(out: &mut Vec<u8>, key: &str, value: &V) {
    put_len_field(out, 1, key.as_bytes());
    put_len_header(out, 2, value.encoded_len());
    value.encode(out);
}

/// The fields of an encoded message, leniently: stops at the first byte that does not
/// frame a field (the host validated the batch, so that is the end).
pub(crate) struct Fields<'a> {
    bytes: &'a [u8],
    pos: usize,
}

/// One field: its number, wire type, the whole field's bytes and its payload (for
/// length-delimited fields).
pub(crate) struct Field<'a> {
    pub(crate) number: u64,
    pub(crate) whole: &'a [u8],
    pub(crate) payload: Option<&'a [u8]>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Fields { bytes, pos: 0 }
    }

    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.bytes.get(self.pos)?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Some(value);
            }
        }
        None
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    fn next(&mut self) -> Option<Field<'a>> {
        let start = self.pos;
        let tag = self.varint()?;
        let mut payload = None;
        match tag & 7 {
            0 => {
                self.varint()?;
            }
            1 => self.pos = self.pos.checked_add(8)?,
            2 => {
                let len = usize::try_from(self.varint()?).ok()?;
                let body = self.pos;
                self.pos = body.checked_add(len)?;
                payload = Some(self.bytes.get(body..self.pos)?);
            }
            5 => self.pos = self.pos.checked_add(4)?,
            _ => return None,
        }
        let whole = self.bytes.get(start..self.pos)?;
        Some(Field { number: tag >> 3, whole, payload })
    }
}

/// The key of an encoded `KeyValue`.
pub(crate) fn key_of(kv: &[u8]) -> &[u8] {
    let mut key: &[u8] = &[];
    for field in Fields::new(kv) {
        if let (1, Some(payload)) = (field.number, field.payload) {
            key = payload;
        }
    }
    key
}

/// `text[start..end]`, `None` if either end is not at a character boundary (the JSON
/// scanner cuts at ASCII bytes, so it never is). Compiled to Wasm, `&text[start..end]` was
/// an out-of-line call for every key and string value of every line; this is inlined.
#[inline(always)]
pub(crate) fn piece(text: &str, start: usize, end: usize) -> Option<&str> {
    let (head, _) = text.split_at_checked(end)?;
    head.split_at_checked(start).map(|(_, piece)| piece)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_plugin_sdk::wire::AnyValue;
    use aegis_plugin_sdk::{Value, ValueRef};

    #[test]
    fn values_encode_as_the_any_values_the_sdk_reads_back() {
        let val = Val::Map(vec![
            (Cow::Borrowed("n"), Val::Int(-3)),
            (Cow::Borrowed("d"), Val::Double(2.5)),
            (Cow::Borrowed("b"), Val::Bool(true)),
            (Cow::Borrowed("s"), Val::str("héllo")),
            (Cow::Borrowed("a"), Val::Array(vec![Val::Int(1), Val::Null, Val::str("x")])),
            (Cow::Borrowed("e"), Val::Map(vec![])),
        ]);
        let mut bytes = Vec::new();
        val.encode(&mut bytes);
        assert_eq!(bytes.len(), val.encoded_len());
        let got = AnyValue::new(&bytes).to_value();
        let want = Value::KvList(vec![
            ("n".into(), Value::Int(-3)),
            ("d".into(), Value::Double(2.5)),
            ("b".into(), Value::Bool(true)),
            ("s".into(), Value::from("héllo")),
            ("a".into(), Value::Array(vec![Value::Int(1), Value::Empty, Value::from("x")])),
            ("e".into(), Value::KvList(vec![])),
        ]);
        assert_eq!(got, want);
        assert_eq!(AnyValue::new(&[]).get(), ValueRef::Empty);
    }

    #[test]
    fn pieces_are_the_slices_between_character_boundaries() {
        let text = r#"{"k":"é"}"#;
        assert_eq!(piece(text, 2, 3), Some("k"));
        assert_eq!(piece(text, 6, 8), Some("é"));
        assert_eq!(piece(text, 0, text.len()), Some(text));
        assert_eq!(piece(text, 4, 4), Some(""));
        // Inside the two bytes of `é`, past the end, or backwards: no piece, and no panic.
        assert_eq!(piece(text, 7, 8), None);
        assert_eq!(piece(text, 6, 7), None);
        assert_eq!(piece(text, 0, text.len() + 1), None);
        assert_eq!(piece(text, 3, 2), None);
    }

    #[test]
    fn varints_are_as_long_as_protobuf_says() {
        for (value, len) in [(0, 1), (127, 1), (128, 2), (16_383, 2), (16_384, 3), (u64::MAX, 10)] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!((out.len(), varint_len(value)), (len, len), "{value}");
        }
    }

    #[test]
    fn the_field_reader_stops_at_broken_framing() {
        let mut bytes = Vec::new();
        put_len_field(&mut bytes, 1, b"key");
        bytes.extend_from_slice(&[0x10, 0x01]);
        bytes.extend_from_slice(&[0x1a, 0x05, b'a']);
        let fields: Vec<_> = Fields::new(&bytes).map(|f| (f.number, f.payload.map(<[u8]>::to_vec))).collect();
        assert_eq!(fields, vec![(1, Some(b"key".to_vec())), (2, None)]);
        assert_eq!(key_of(&bytes), b"key");
    }
}
