//! What a parser makes of one line, and how the named fields of the field formats
//! (json, logfmt, regex) become the record's time, severity, body, service and ids.

use std::borrow::Cow;

use crate::severity::SeverityMap;
use crate::time::{Clock, TimeFormat};
use crate::value::Val;

/// The fields with a place in the record, in the order of [`ROLE_KEYS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Timestamp = 0,
    Level = 1,
    Message = 2,
    Service = 3,
    TraceId = 4,
    SpanId = 5,
}

/// How many roles there are.
pub(crate) const ROLES: usize = 6;

/// Every role, in index order.
const ALL_ROLES: [Role; ROLES] =
    [Role::Timestamp, Role::Level, Role::Message, Role::Service, Role::TraceId, Role::SpanId];

/// The config key naming each role's field, and the label its conversion failures are
/// counted under.
pub(crate) const ROLE_KEYS: [(&str, &str); ROLES] = [
    ("timestamp_field", "timestamp"),
    ("level_field", "level"),
    ("message_field", "message"),
    ("service_field", "service"),
    ("trace_id_field", "trace_id"),
    ("span_id_field", "span_id"),
];

/// One parsed line.
#[derive(Debug, Default)]
pub(crate) struct Parsed<'a> {
    /// The record's time.
    pub(crate) time: Option<u64>,
    /// The severity number and text.
    pub(crate) severity: Option<(i32, Cow<'a, str>)>,
    /// The new body; `None` leaves the body as it is.
    pub(crate) body: Option<Val<'a>>,
    /// The service, for the resource's `service.name`.
    pub(crate) service: Option<Cow<'a, str>>,
    pub(crate) trace_id: Option<[u8; 16]>,
    pub(crate) span_id: Option<[u8; 8]>,
    /// Everything else, in the order of the line, each key once.
    pub(crate) attrs: Vec<(Cow<'a, str>, Val<'a>)>,
    /// The role fields of the field formats, before conversion.
    pub(crate) roles: [Option<Val<'a>>; ROLES],
    /// Role fields whose value could not be converted (kept as attributes instead).
    pub(crate) invalid: [bool; ROLES],
    /// A one-word Bloom filter of the attribute keys so far: a key whose bit is clear is
    /// new, and needs no search for a duplicate.
    seen: u64,
}

impl<'a> Parsed<'a> {
    /// Empties the line for reuse, keeping the attribute vector's memory.
    pub(crate) fn clear(&mut self) {
        self.time = None;
        self.severity = None;
        self.body = None;
        self.service = None;
        self.trace_id = None;
        self.span_id = None;
        self.attrs.clear();
        self.roles = Default::default();
        self.invalid = [false; ROLES];
        self.seen = 0;
    }

    /// Adds an attribute; a key seen before takes the later value (as JSON parsers do
    /// with duplicate keys), so every key appears once.
    #[inline]
    pub(crate) fn attr(&mut self, key: impl Into<Cow<'a, str>>, value: Val<'a>) {
        let key = key.into();
        let bytes = key.as_bytes();
        let bit = 1u64
            << ((bytes.len()
                + 3 * usize::from(*bytes.first().unwrap_or(&0))
                + 7 * usize::from(*bytes.last().unwrap_or(&0)))
                % 64);
        if self.seen & bit != 0
            && let Some(slot) = self.attrs.iter_mut().find(|(k, _)| *k == key)
        {
            slot.1 = value;
            return;
        }
        self.seen |= bit;
        self.attrs.push((key, value));
    }
}

/// What to do with nested objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Nested {
    /// Keep them as key-value lists.
    KvList,
    /// Flatten them into attributes named `parent<separator>child`.
    Flatten(String),
}

/// How named fields are routed and converted.
#[derive(Clone, Debug)]
pub(crate) struct Mapping {
    /// The field name of each role; empty for a role that is turned off.
    pub(crate) names: [String; ROLES],
    pub(crate) nested: Nested,
    pub(crate) time_format: TimeFormat,
    pub(crate) severities: SeverityMap,
    /// Whether hex ids shorter than 16 / 8 bytes are left-padded with zeros.
    pub(crate) pad_ids: bool,
}

impl Mapping {
    /// Routes one top-level field of a line: to its role, or to the attributes.
    #[inline]
    pub(crate) fn push<'a>(&self, line: &mut Parsed<'a>, key: Cow<'a, str>, value: Val<'a>) {
        let first = key.as_bytes().first();
        if let Some(role) =
            self.names.iter().position(|n| n.len() == key.len() && n.as_bytes().first() == first && **n == *key)
        {
            line.roles[role] = Some(value);
            return;
        }
        self.push_attr(line, key, value);
    }

    fn push_attr<'a>(&self, line: &mut Parsed<'a>, key: Cow<'a, str>, value: Val<'a>) {
        match (value, &self.nested) {
            (Val::Map(entries), Nested::Flatten(separator)) if !entries.is_empty() => {
                for (child, value) in entries {
                    self.push_attr(line, Cow::Owned(format!("{key}{separator}{child}")), value);
                }
            }
            (value, _) => line.attr(key, value),
        }
    }

    /// Converts the role fields into the record's fields. A value that does not convert
    /// stays an attribute under its field name, and is marked invalid.
    pub(crate) fn resolve<'a>(&'a self, line: &mut Parsed<'a>, clock: &mut Clock) {
        let roles = std::mem::take(&mut line.roles);
        for (role, value) in ALL_ROLES.into_iter().zip(roles) {
            let Some(value) = value else { continue };
            let kept = match role {
                Role::Timestamp => self.timestamp(line, value, clock),
                Role::Level => self.level(line, value),
                Role::Message => {
                    line.body = Some(value);
                    None
                }
                Role::Service => match value {
                    Val::Str(s) => {
                        line.service = Some(s);
                        None
                    }
                    other => Some(other),
                },
                Role::TraceId => match as_str(&value).and_then(|s| hex_id::<16>(s, self.pad_ids)) {
                    Some(id) => {
                        line.trace_id = Some(id);
                        None
                    }
                    None => Some(value),
                },
                Role::SpanId => match as_str(&value).and_then(|s| hex_id::<8>(s, self.pad_ids)) {
                    Some(id) => {
                        line.span_id = Some(id);
                        None
                    }
                    None => Some(value),
                },
            };
            if let Some(value) = kept {
                line.invalid[role as usize] = true;
                line.attr(Cow::Borrowed(self.names[role as usize].as_str()), value);
            }
        }
    }

    fn timestamp<'a>(&self, line: &mut Parsed<'a>, value: Val<'a>, clock: &mut Clock) -> Option<Val<'a>> {
        let time = match &value {
            Val::Str(s) => self.time_format.read_str(s, clock),
            Val::Int(v) => self.time_format.read_int(*v),
            Val::Double(v) => self.time_format.read_double(*v),
            _ => None,
        };
        match time {
            Some(time) => {
                line.time = Some(time);
                None
            }
            None => Some(value),
        }
    }

    fn level<'a>(&self, line: &mut Parsed<'a>, value: Val<'a>) -> Option<Val<'a>> {
        let (number, text) = match value {
            Val::Str(text) => (self.severities.lookup(&text), text),
            Val::Int(n) => {
                let text = n.to_string();
                (self.severities.lookup_number(n, &text), Cow::Owned(text))
            }
            other => return Some(other),
        };
        // An unknown level keeps its text, with the number unspecified (0), and counts.
        line.invalid[Role::Level as usize] = number.is_none();
        line.severity = Some((number.unwrap_or(0), text));
        None
    }
}

fn as_str<'v>(value: &'v Val<'_>) -> Option<&'v str> {
    match value {
        Val::Str(s) => Some(s),
        _ => None,
    }
}

/// The value of a hex digit, from a table: ids are decoded for most lines.
fn hex_digit(digit: u8) -> Option<u8> {
    const TABLE: [u8; 256] = {
        let mut table = [0xff; 256];
        let mut i = 0;
        while i < 10 {
            table[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            table[b'a' as usize + i] = 10 + i as u8;
            table[b'A' as usize + i] = 10 + i as u8;
            i += 1;
        }
        table
    };
    let value = TABLE[usize::from(digit)];
    (value != 0xff).then_some(value)
}

/// A trace id (N = 16) or span id (N = 8) written in hex. Ids shorter than N bytes
/// (like the design documents' `a1b2c3d4e5f6`) are left-padded with zeros when `pad` is
/// set; longer ones, text that is not hex, and the all-zero id (invalid in OpenTelemetry)
/// are refused.
pub(crate) fn hex_id<const N: usize>(text: &str, pad: bool) -> Option<[u8; N]> {
    let hex = text.as_bytes();
    if hex.is_empty() || hex.len() > 2 * N || (!pad && hex.len() != 2 * N) {
        return None;
    }
    let mut id = [0u8; N];
    // An odd digit count has a lone high digit; the digits end at the last byte, so that
    // shorter ids are padded on the left.
    let (lone, pairs) = hex.split_at(hex.len() % 2);
    let mut at = N - hex.len().div_ceil(2);
    if let [digit] = lone {
        id[at] = hex_digit(*digit)?;
        at += 1;
    }
    for pair in pairs.chunks_exact(2) {
        id[at] = hex_digit(pair[0])? << 4 | hex_digit(pair[1])?;
        at += 1;
    }
    (id != [0u8; N]).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_ids_of_the_full_size_are_taken_as_they_are() {
        assert_eq!(
            hex_id::<16>("a1b2c3d4e5f60718293a4b5c6d7e8f90", false),
            Some([0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18, 0x29, 0x3a, 0x4b, 0x5c, 0x6d, 0x7e, 0x8f, 0x90])
        );
        assert_eq!(hex_id::<8>("0102030405060708", false), Some([1, 2, 3, 4, 5, 6, 7, 8]));
        assert_eq!(hex_id::<8>("0A0B0C0D0E0F1011", false), Some([10, 11, 12, 13, 14, 15, 16, 17]));
    }

    #[test]
    fn short_hex_ids_are_left_padded_only_when_padding_is_on() {
        assert_eq!(
            hex_id::<16>("a1b2c3d4e5f6", true),
            Some([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6])
        );
        assert_eq!(hex_id::<8>("abc", true), Some([0, 0, 0, 0, 0, 0, 0x0a, 0xbc]));
        assert_eq!(hex_id::<16>("a1b2c3d4e5f6", false), None);
    }

    #[test]
    fn ids_that_are_not_hex_too_long_or_zero_are_refused() {
        assert_eq!(hex_id::<8>("01020304050607080", true), None);
        assert_eq!(hex_id::<8>("xyz", true), None);
        assert_eq!(hex_id::<8>("", true), None);
        assert_eq!(hex_id::<8>("0000", true), None);
        assert_eq!(hex_id::<8>("é", true), None);
    }
}
