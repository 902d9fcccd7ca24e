//! Attribute values: lazy views over encoded `AnyValue`s, a borrowed enum to match on,
//! an owned enum to keep, and the encoders that turn either into OTLP bytes.

use std::fmt;

use crate::pb::{self, Fields, I64, VARINT, len_field_len, put_len_field, put_tag};

/// A view over an encoded `AnyValue` message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct AnyValue<'a> {
    bytes: &'a [u8],
}

impl<'a> AnyValue<'a> {
    /// Views `bytes` (an `AnyValue` message's payload) as a value.
    pub fn new(bytes: &'a [u8]) -> Self {
        AnyValue { bytes }
    }

    /// The encoded payload.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Decodes which value this is. Strings that are not UTF-8 read as empty.
    #[inline]
    pub fn get(&self) -> ValueRef<'a> {
        // What encoders write for a short string or a small integer: one field, a one-byte
        // length or value. Anything else (longer, repeated fields, other types) takes the
        // general walk, where the last field wins.
        match self.bytes {
            [0x0a, len, text @ ..] if *len < 0x80 && usize::from(*len) == text.len() => {
                return std::str::from_utf8(text).map(ValueRef::Str).unwrap_or(ValueRef::Empty);
            }
            [0x18, n] if *n < 0x80 => return ValueRef::Int(i64::from(*n)),
            _ => {}
        }
        self.decode()
    }

    fn decode(&self) -> ValueRef<'a> {
        let mut value = ValueRef::Empty;
        for field in Fields::new(self.bytes) {
            value = match (field.number, field.value) {
                (1, pb::Value::Len(b)) => std::str::from_utf8(b).map(ValueRef::Str).unwrap_or(ValueRef::Empty),
                (2, pb::Value::Varint(v)) => ValueRef::Bool(v != 0),
                (3, pb::Value::Varint(v)) => ValueRef::Int(v as i64),
                (4, pb::Value::I64(v)) => ValueRef::Double(f64::from_bits(v)),
                (5, pb::Value::Len(b)) => ValueRef::Array(ArrayValue { bytes: b }),
                (6, pb::Value::Len(b)) => ValueRef::KvList(KvList { bytes: b }),
                (7, pb::Value::Len(b)) => ValueRef::Bytes(b),
                // `string_value_strindex`, a member of the same `oneof`: an index into a
                // profiles dictionary, which OTLP asks other signals to read as no value.
                (8, pb::Value::Varint(_)) => ValueRef::Empty,
                _ => continue,
            };
        }
        value
    }

    /// The string, if this is a string value.
    pub fn as_str(&self) -> Option<&'a str> {
        match self.get() {
            ValueRef::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an integer value.
    pub fn as_int(&self) -> Option<i64> {
        match self.get() {
            ValueRef::Int(v) => Some(v),
            _ => None,
        }
    }

    /// The double, if this is a double value.
    pub fn as_double(&self) -> Option<f64> {
        match self.get() {
            ValueRef::Double(v) => Some(v),
            _ => None,
        }
    }

    /// The boolean, if this is a boolean value.
    pub fn as_bool(&self) -> Option<bool> {
        match self.get() {
            ValueRef::Bool(v) => Some(v),
            _ => None,
        }
    }

    /// The bytes, if this is a bytes value.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self.get() {
            ValueRef::Bytes(v) => Some(v),
            _ => None,
        }
    }

    /// The elements, if this is an array value.
    pub fn as_array(&self) -> Option<ArrayValue<'a>> {
        match self.get() {
            ValueRef::Array(v) => Some(v),
            _ => None,
        }
    }

    /// The entries, if this is a key-value list.
    pub fn as_kvlist(&self) -> Option<KvList<'a>> {
        match self.get() {
            ValueRef::KvList(v) => Some(v),
            _ => None,
        }
    }

    /// Copies the value into an owned [`Value`].
    pub fn to_value(&self) -> Value {
        self.get().to_value()
    }
}

/// Renders the value as text: strings as they are, numbers and booleans in Rust's
/// notation, bytes as lowercase hex, arrays and lists JSON-like.
impl fmt::Display for AnyValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

/// A view over an encoded `ArrayValue`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ArrayValue<'a> {
    bytes: &'a [u8],
}

impl<'a> ArrayValue<'a> {
    /// Views `bytes` (an `ArrayValue` message's payload).
    pub fn new(bytes: &'a [u8]) -> Self {
        ArrayValue { bytes }
    }

    /// The encoded payload.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The elements, in order.
    pub fn iter(&self) -> impl Iterator<Item = AnyValue<'a>> + 'a {
        Fields::new(self.bytes).filter_map(|f| match (f.number, f.value) {
            (1, pb::Value::Len(b)) => Some(AnyValue::new(b)),
            _ => None,
        })
    }
}

/// A view over an encoded `KeyValueList`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct KvList<'a> {
    bytes: &'a [u8],
}

impl<'a> KvList<'a> {
    /// Views `bytes` (a `KeyValueList` message's payload).
    pub fn new(bytes: &'a [u8]) -> Self {
        KvList { bytes }
    }

    /// The encoded payload.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The entries, in order.
    pub fn iter(&self) -> Attributes<'a> {
        Attributes::new(self.bytes, 1)
    }

    /// The value of the last entry named `key`.
    pub fn get(&self, key: &str) -> Option<AnyValue<'a>> {
        self.iter().get(key)
    }
}

/// The `(key, value)` pairs of a repeated `KeyValue` field, in order.
#[derive(Clone, Debug)]
pub struct Attributes<'a> {
    bytes: &'a [u8],
    /// Where the field last returned starts, and where reading goes on.
    start: usize,
    pos: usize,
    number: u32,
    /// A length-delimited field also looked out for ([`Attributes::also`]; 0 for none), and
    /// the payload of its last occurrence passed so far.
    also: u32,
    also_found: Option<(usize, usize)>,
}

impl<'a> Attributes<'a> {
    /// The `KeyValue`s in field `number` of the message `bytes`.
    pub fn new(bytes: &'a [u8], number: u32) -> Self {
        Attributes { bytes, start: 0, pos: 0, number, also: 0, also_found: None }
    }

    /// Also notes the length-delimited field `number` as the walk passes it, so that a
    /// caller that reads every attribute gets, say, a log record's body without a second
    /// walk over the record: see [`Attributes::also_found`].
    pub fn also(mut self, number: u32) -> Self {
        self.also = number;
        self
    }

    /// The payload of the last occurrence of the field named by [`Attributes::also`] that
    /// the walk has passed (protobuf's last-one-wins once the walk has reached the end).
    pub fn also_found(&self) -> Option<&'a [u8]> {
        self.also_found.map(|(body, end)| &self.bytes[body..end])
    }

    /// The next attribute with its key as bytes, not checked to be UTF-8 (`next` skips
    /// keys that are not): for a caller that compares keys with ones it already knows
    /// before it checks the rest.
    #[inline]
    pub fn next_raw(&mut self) -> Option<(&'a [u8], AnyValue<'a>)> {
        let bytes = self.bytes;
        while let Some((n, wt, body, end)) = pb::step(bytes, self.pos) {
            self.start = self.pos;
            self.pos = end;
            if wt == pb::LEN {
                if n == self.number {
                    let (key, value) = split_key_value(&bytes[body..end]);
                    return Some((key, AnyValue::new(value)));
                }
                if n == self.also {
                    self.also_found = Some((body, end));
                }
            }
        }
        self.start = bytes.len();
        self.pos = bytes.len();
        None
    }

    /// Where the attribute that `next` (or `next_raw`) returned last sits in the message: its whole
    /// field (tag, length and `KeyValue`), for [`MessageMut::splice_attributes`](crate::MessageMut::splice_attributes).
    pub fn field_range(&self) -> std::ops::Range<usize> {
        self.start..self.pos
    }

    /// The value of the last attribute named `key` (protobuf's last-one-wins).
    pub fn get(self, key: &str) -> Option<AnyValue<'a>> {
        let mut found = None;
        for (k, v) in self {
            if k == key {
                found = Some(v);
            }
        }
        found
    }
}

impl<'a> Iterator for Attributes<'a> {
    type Item = (&'a str, AnyValue<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        while let Some((key, value)) = self.next_raw() {
            if let Ok(key) = std::str::from_utf8(key) {
                return Some((key, value));
            }
        }
        None
    }
}

/// The key and value payloads of an encoded `KeyValue` (empty when absent).
#[inline(always)]
pub(crate) fn split_key_value(kv: &[u8]) -> (&[u8], &[u8]) {
    // The usual layout: a short key, then the value, and nothing else.
    if let [0x0a, len, rest @ ..] = kv
        && *len < 0x80
        && let Some((key, after)) = rest.split_at_checked(*len as usize)
    {
        // A short value, by comparisons alone: a lookup runs this on every attribute it passes.
        if let [0x12, value_len, value @ ..] = after
            && *value_len < 0x80
            && value.len() == usize::from(*value_len)
        {
            return (key, value);
        }
        if let Some((2, pb::LEN, body, end)) = pb::step(after, 0)
            && end == after.len()
        {
            return (key, &after[body..end]);
        }
    }
    split_key_value_slow(kv)
}

#[inline(never)]
fn split_key_value_slow(kv: &[u8]) -> (&[u8], &[u8]) {
    let mut key: &[u8] = &[];
    let mut value: &[u8] = &[];
    for field in Fields::new(kv) {
        match (field.number, field.value) {
            (1, pb::Value::Len(b)) => key = b,
            (2, pb::Value::Len(b)) => value = b,
            _ => {}
        }
    }
    (key, value)
}

/// The key of an encoded `KeyValue`, as every protobuf decoder reads it: the last `key`
/// field. Every encoder writes the key once, first, then the value, and that layout is read
/// without a loop; anything else (a second key, which a hostile sender could use to show one
/// key to a lookup and another to the backends) takes the careful path.
#[inline(always)]
pub(crate) fn key_of(kv: &[u8]) -> &[u8] {
    split_key_value(kv).0
}

/// A borrowed attribute value: what a view decodes to, and what setters accept.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum ValueRef<'a> {
    /// No value.
    #[default]
    Empty,
    /// A UTF-8 string.
    Str(&'a str),
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// A double.
    Double(f64),
    /// Raw bytes.
    Bytes(&'a [u8]),
    /// An array, still encoded.
    Array(ArrayValue<'a>),
    /// A key-value list, still encoded.
    KvList(KvList<'a>),
    /// Any `AnyValue` payload, copied as it is.
    Encoded(&'a [u8]),
}

impl ValueRef<'_> {
    /// Copies the value into an owned [`Value`].
    pub fn to_value(&self) -> Value {
        match *self {
            ValueRef::Empty => Value::Empty,
            ValueRef::Str(s) => Value::Str(s.to_owned()),
            ValueRef::Bool(v) => Value::Bool(v),
            ValueRef::Int(v) => Value::Int(v),
            ValueRef::Double(v) => Value::Double(v),
            ValueRef::Bytes(v) => Value::Bytes(v.to_vec()),
            ValueRef::Array(a) => Value::Array(a.iter().map(|v| v.to_value()).collect()),
            ValueRef::KvList(l) => Value::KvList(l.iter().map(|(k, v)| (k.to_owned(), v.to_value())).collect()),
            ValueRef::Encoded(b) => AnyValue::new(b).to_value(),
        }
    }
}

impl fmt::Display for ValueRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ValueRef::Empty => Ok(()),
            ValueRef::Str(s) => f.write_str(s),
            ValueRef::Bool(v) => write!(f, "{v}"),
            ValueRef::Int(v) => write!(f, "{v}"),
            ValueRef::Double(v) => write!(f, "{v}"),
            ValueRef::Bytes(b) => b.iter().try_for_each(|b| write!(f, "{b:02x}")),
            ValueRef::Array(a) => {
                f.write_str("[")?;
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            ValueRef::KvList(l) => {
                f.write_str("{")?;
                for (i, (k, v)) in l.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{k}:{v}")?;
                }
                f.write_str("}")
            }
            ValueRef::Encoded(b) => AnyValue::new(b).fmt(f),
        }
    }
}

/// An owned attribute value, for keeping values past the batch they came in.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    /// No value.
    #[default]
    Empty,
    /// A UTF-8 string.
    Str(String),
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// A double.
    Double(f64),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// An array of values.
    Array(Vec<Value>),
    /// A list of key-value pairs.
    KvList(Vec<(String, Value)>),
}

/// Something that encodes as the payload of an OTLP `AnyValue`: what every attribute
/// and body setter takes. Implemented for the Rust scalars, strings, [`Value`],
/// [`ValueRef`] and [`AnyValue`] views (which copy their bytes).
pub trait EncodeValue {
    /// The length of the encoded `AnyValue` payload.
    fn encoded_len(&self) -> usize;
    /// Appends the encoded `AnyValue` payload.
    fn encode(&self, out: &mut Vec<u8>);
}

fn str_len(s: &[u8]) -> usize {
    len_field_len(1, s.len())
}

impl EncodeValue for ValueRef<'_> {
    fn encoded_len(&self) -> usize {
        match *self {
            ValueRef::Empty => 0,
            ValueRef::Str(s) => str_len(s.as_bytes()),
            ValueRef::Bool(_) => 2,
            ValueRef::Int(v) => 1 + pb::varint_len(v as u64),
            ValueRef::Double(_) => 9,
            ValueRef::Bytes(b) => len_field_len(7, b.len()),
            ValueRef::Array(a) => len_field_len(5, a.bytes.len()),
            ValueRef::KvList(l) => len_field_len(6, l.bytes.len()),
            ValueRef::Encoded(b) => b.len(),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match *self {
            ValueRef::Empty => {}
            ValueRef::Str(s) => put_len_field(out, 1, s.as_bytes()),
            ValueRef::Bool(v) => {
                put_tag(out, 2, VARINT);
                out.push(u8::from(v));
            }
            ValueRef::Int(v) => {
                put_tag(out, 3, VARINT);
                pb::put_varint(out, v as u64);
            }
            ValueRef::Double(v) => {
                put_tag(out, 4, I64);
                out.extend_from_slice(&v.to_bits().to_le_bytes());
            }
            ValueRef::Bytes(b) => put_len_field(out, 7, b),
            ValueRef::Array(a) => put_len_field(out, 5, a.bytes),
            ValueRef::KvList(l) => put_len_field(out, 6, l.bytes),
            ValueRef::Encoded(b) => out.extend_from_slice(b),
        }
    }
}

impl EncodeValue for Value {
    fn encoded_len(&self) -> usize {
        match self {
            Value::Empty => 0,
            Value::Str(s) => str_len(s.as_bytes()),
            Value::Bool(_) => 2,
            Value::Int(v) => 1 + pb::varint_len(*v as u64),
            Value::Double(_) => 9,
            Value::Bytes(b) => len_field_len(7, b.len()),
            Value::Array(items) => len_field_len(5, array_len(items)),
            Value::KvList(entries) => len_field_len(6, kvlist_len(entries)),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Value::Empty => {}
            Value::Str(s) => put_len_field(out, 1, s.as_bytes()),
            Value::Bool(v) => ValueRef::Bool(*v).encode(out),
            Value::Int(v) => ValueRef::Int(*v).encode(out),
            Value::Double(v) => ValueRef::Double(*v).encode(out),
            Value::Bytes(b) => put_len_field(out, 7, b),
            Value::Array(items) => {
                pb::put_len_header(out, 5, array_len(items));
                for item in items {
                    pb::put_len_header(out, 1, item.encoded_len());
                    item.encode(out);
                }
            }
            Value::KvList(entries) => {
                pb::put_len_header(out, 6, kvlist_len(entries));
                for (k, v) in entries {
                    put_key_value(out, 1, k, v);
                }
            }
        }
    }
}

fn array_len(items: &[Value]) -> usize {
    items.iter().map(|v| len_field_len(1, v.encoded_len())).sum()
}

fn kvlist_len(entries: &[(String, Value)]) -> usize {
    entries.iter().map(|(k, v)| len_field_len(1, key_value_len(k, v))).sum()
}

impl EncodeValue for AnyValue<'_> {
    fn encoded_len(&self) -> usize {
        self.bytes.len()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.bytes);
    }
}

impl EncodeValue for str {
    fn encoded_len(&self) -> usize {
        str_len(self.as_bytes())
    }

    fn encode(&self, out: &mut Vec<u8>) {
        put_len_field(out, 1, self.as_bytes());
    }
}

impl EncodeValue for String {
    fn encoded_len(&self) -> usize {
        self.as_str().encoded_len()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        self.as_str().encode(out);
    }
}

macro_rules! encode_as {
    ($($ty:ty => $variant:ident as $conv:ty),* $(,)?) => {$(
        impl EncodeValue for $ty {
            fn encoded_len(&self) -> usize {
                ValueRef::$variant(<$conv>::from(*self)).encoded_len()
            }

            fn encode(&self, out: &mut Vec<u8>) {
                ValueRef::$variant(<$conv>::from(*self)).encode(out)
            }
        }
    )*};
}

encode_as!(
    i64 => Int as i64,
    i32 => Int as i64,
    u32 => Int as i64,
    i16 => Int as i64,
    u16 => Int as i64,
    i8 => Int as i64,
    u8 => Int as i64,
    f64 => Double as f64,
    f32 => Double as f64,
    bool => Bool as bool,
);

impl<T: EncodeValue + ?Sized> EncodeValue for &T {
    fn encoded_len(&self) -> usize {
        (**self).encoded_len()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        (**self).encode(out);
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Double(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

/// The payload length of a `KeyValue { key, value }`.
pub(crate) fn key_value_len<V: EncodeValue + ?Sized>(key: &str, value: &V) -> usize {
    len_field_len(1, key.len()) + len_field_len(2, value.encoded_len())
}

/// Appends a `KeyValue { key, value }` as field `number` of the enclosing message.
pub(crate) fn put_key_value<V: EncodeValue + ?Sized>(out: &mut Vec<u8>, number: u32, key: &str, value: &V) {
    let value_len = value.encoded_len();
    let len = len_field_len(1, key.len()) + len_field_len(2, value_len);
    pb::put_len_header(out, number, len);
    put_len_field(out, 1, key.as_bytes());
    pb::put_len_header(out, 2, value_len);
    value.encode(out);
}

/// Encodes a value as a standalone `AnyValue` payload.
pub fn encode_any_value<V: EncodeValue + ?Sized>(value: &V) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.encoded_len());
    value.encode(&mut out);
    out
}

/// Appends `KeyValue { key, value }` as field `number` of the message being built in
/// `out` (tag and length included): `number` is 6 for log record attributes, 9 for
/// span attributes, and so on.
pub fn encode_key_value<V: EncodeValue + ?Sized>(out: &mut Vec<u8>, number: u32, key: &str, value: &V) {
    put_key_value(out, number, key, value);
}
