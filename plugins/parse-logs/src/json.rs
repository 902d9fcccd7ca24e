//! `format = "json"`: one JSON object a line, read straight into the line's fields:
//! strings without escapes stay borrowed from the line, and no `serde_json::Value` tree
//! is built.
//!
//! Most log lines are a flat object of plain strings and integers. A small scanner reads
//! that shape without serde's machinery (the line's time goes mostly to this), handing
//! every other value (nested objects, arrays, escapes, fractions) to serde_json where it
//! starts. Whatever the scanner does not expect sends the whole line to serde_json, so
//! that what is accepted, and every error message, is serde_json's.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::line::{Mapping, Parsed};
use crate::value::{Val, piece};

/// Parses one line into `line`; the error says what serde_json found wrong, and where.
pub(crate) fn parse<'a>(text: &'a str, mapping: &Mapping, line: &mut Parsed<'a>) -> Result<(), String> {
    if scan(text, mapping, line).is_some() {
        return Ok(());
    }
    line.clear();
    parse_with_serde(text, mapping, line)
}

/// Parses one line with serde_json alone.
fn parse_with_serde<'a>(text: &'a str, mapping: &Mapping, line: &mut Parsed<'a>) -> Result<(), String> {
    let mut de = serde_json::Deserializer::from_str(text);
    let result = (&mut de).deserialize_map(Object { mapping, line }).and_then(|()| de.end());
    result.map_err(|e| format!("json: {e}"))
}

/// The fast path: `None` when the line is not of the shape it reads (or not JSON).
fn scan<'a>(text: &'a str, mapping: &Mapping, line: &mut Parsed<'a>) -> Option<()> {
    let bytes = text.as_bytes();
    let mut pos = skip_space(bytes, 0);
    if bytes.get(pos) != Some(&b'{') {
        return None;
    }
    pos = skip_space(bytes, pos + 1);
    if bytes.get(pos) == Some(&b'}') {
        return (skip_space(bytes, pos + 1) == bytes.len()).then_some(());
    }
    loop {
        // A key without escapes, then `:`.
        if bytes.get(pos) != Some(&b'"') {
            return None;
        }
        let start = pos + 1;
        let end = start + special(&bytes[start..])?;
        if bytes[end] != b'"' {
            return None;
        }
        // Every offset here is at an ASCII byte, so the slices are whole UTF-8.
        let key = piece(text, start, end)?;
        pos = skip_space(bytes, end + 1);
        if bytes.get(pos) != Some(&b':') {
            return None;
        }
        pos = skip_space(bytes, pos + 1);
        let (value, next) = value(text, pos)?;
        mapping.push(line, Cow::Borrowed(key), value);
        pos = skip_space(bytes, next);
        match bytes.get(pos) {
            Some(b',') => pos = skip_space(bytes, pos + 1),
            Some(b'}') => return (skip_space(bytes, pos + 1) == bytes.len()).then_some(()),
            _ => return None,
        }
    }
}

/// One value at `text[pos]` and the offset after it.
fn value(text: &str, pos: usize) -> Option<(Val<'_>, usize)> {
    let bytes = text.as_bytes();
    match *bytes.get(pos)? {
        b'"' => {
            let start = pos + 1;
            let end = start + special(&bytes[start..])?;
            match bytes[end] {
                b'"' => Some((Val::str(piece(text, start, end)?), end + 1)),
                b'\\' => by_serde(text, pos),
                _ => None, // a control character: an error, told by serde_json
            }
        }
        b'0'..=b'9' => {
            let end = pos + bytes[pos..].iter().take_while(|b| b.is_ascii_digit()).count();
            let digits = &bytes[pos..end];
            if digits.len() > 1 && digits[0] == b'0' {
                return None;
            }
            if matches!(bytes.get(end), Some(b'.' | b'e' | b'E')) || digits.len() > 18 {
                return by_serde(text, pos);
            }
            let n = digits.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
            Some((Val::Int(n), end))
        }
        b't' if bytes[pos..].starts_with(b"true") => Some((Val::Bool(true), pos + 4)),
        b'f' if bytes[pos..].starts_with(b"false") => Some((Val::Bool(false), pos + 5)),
        b'n' if bytes[pos..].starts_with(b"null") => Some((Val::Null, pos + 4)),
        b'{' | b'[' | b'-' => by_serde(text, pos),
        _ => None,
    }
}

/// One value read by serde_json from `text[pos]`, and the offset after it.
fn by_serde(text: &str, pos: usize) -> Option<(Val<'_>, usize)> {
    let mut values = serde_json::Deserializer::from_str(&text[pos..]).into_iter::<Val<'_>>();
    let value = values.next()?.ok()?;
    Some((value, pos + values.byte_offset()))
}

/// The offset after JSON whitespace from `pos`.
fn skip_space(bytes: &[u8], mut pos: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(pos) {
        pos += 1;
    }
    pos
}

/// The offset of the first `"`, `\` or control character, eight bytes at a time (the
/// lowest flagged byte of each word is exact: a false flag can only follow a true one).
fn special(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        let found = ((quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (word.wrapping_sub(ONES * 0x20) & !word))
            & HIGH;
        if found != 0 {
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks.remainder().iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).map(|i| offset + i)
}

/// The top-level object: each field goes to the mapping as it is read.
struct Object<'m, 'l, 'a> {
    mapping: &'m Mapping,
    line: &'l mut Parsed<'a>,
}

impl<'a> Visitor<'a> for Object<'_, '_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<M: MapAccess<'a>>(self, mut map: M) -> Result<(), M::Error> {
        while let Some(Key(key)) = map.next_key()? {
            let value: Val<'a> = map.next_value()?;
            self.mapping.push(self.line, key, value);
        }
        Ok(())
    }
}

/// An object key, borrowed from the line unless it has escapes.
struct Key<'a>(Cow<'a, str>);

impl<'a> Deserialize<'a> for Key<'a> {
    fn deserialize<D: Deserializer<'a>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(StrVisitor).map(Key)
    }
}

struct StrVisitor;

impl<'a> Visitor<'a> for StrVisitor {
    type Value = Cow<'a, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'a str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

impl<'a> Deserialize<'a> for Val<'a> {
    fn deserialize<D: Deserializer<'a>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValVisitor)
    }
}

struct ValVisitor;

impl<'a> Visitor<'a> for ValVisitor {
    type Value = Val<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Val::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Val::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        // OTLP integers are signed 64-bit; larger ones keep their magnitude as a double.
        Ok(i64::try_from(v).map_or(Val::Double(v as f64), Val::Int))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Val::Double(v))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'a str) -> Result<Self::Value, E> {
        Ok(Val::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Val::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Val::Str(Cow::Owned(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Val::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Val::Null)
    }

    fn visit_some<D: Deserializer<'a>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        Val::deserialize(deserializer)
    }

    fn visit_seq<S: SeqAccess<'a>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Val::Array(items))
    }

    fn visit_map<M: MapAccess<'a>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut entries: Vec<(Cow<'a, str>, Val<'a>)> = Vec::new();
        while let Some(Key(key)) = map.next_key()? {
            let value = map.next_value()?;
            // Duplicate keys: the later value wins, as for the top level.
            match entries.iter_mut().find(|(k, _)| *k == key) {
                Some(entry) => entry.1 = value,
                None => entries.push((key, value)),
            }
        }
        Ok(Val::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line::{Nested, ROLES};
    use crate::severity::SeverityMap;
    use crate::time::{Clock, TimeFormat};

    fn mapping(nested: Nested) -> Mapping {
        Mapping {
            names: ["timestamp", "level", "message", "service", "trace_id", "span_id"].map(String::from),
            nested,
            time_format: TimeFormat::Auto,
            severities: SeverityMap::new(&Default::default()).unwrap(),
            pad_ids: true,
        }
    }

    fn parse_resolved<'a>(text: &'a str, mapping: &'a Mapping) -> Result<Parsed<'a>, String> {
        let mut line = Parsed::default();
        parse(text, mapping, &mut line)?;
        mapping.resolve(&mut line, &mut Clock::new(|| 0));
        Ok(line)
    }

    #[test]
    fn an_aegis_line_fills_the_record_fields_and_keeps_the_rest_typed() {
        let m0 = mapping(Nested::KvList);
        let text = r#"{"timestamp": "2024-01-25T14:30:45.123Z", "level": "info", "service": "aegis-backend",
            "message": "User created successfully", "trace_id": "a1b2c3d4e5f6", "method": "POST",
            "path": "/api/v1/users", "status_code": 201, "duration_ms": 45.5, "cached": false, "extra": null}"#;
        let line = parse_resolved(text, &m0).unwrap();
        assert_eq!(line.time, Some(1_706_193_045_123_000_000));
        assert_eq!(line.severity, Some((9, Cow::Borrowed("info"))));
        assert_eq!(line.service.as_deref(), Some("aegis-backend"));
        assert_eq!(line.body, Some(Val::str("User created successfully")));
        assert_eq!(line.trace_id, Some([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6]));
        assert_eq!(line.span_id, None);
        assert_eq!(
            line.attrs,
            vec![
                (Cow::Borrowed("method"), Val::str("POST")),
                (Cow::Borrowed("path"), Val::str("/api/v1/users")),
                (Cow::Borrowed("status_code"), Val::Int(201)),
                (Cow::Borrowed("duration_ms"), Val::Double(45.5)),
                (Cow::Borrowed("cached"), Val::Bool(false)),
                (Cow::Borrowed("extra"), Val::Null),
            ]
        );
        assert_eq!(line.invalid, [false; ROLES]);
    }

    #[test]
    fn strings_without_escapes_are_borrowed_and_escapes_are_decoded() {
        let m0 = mapping(Nested::KvList);
        let line = parse_resolved(r#"{"a": "plain", "b": "tab\there \u00e9 \ud83d\ude00"}"#, &m0).unwrap();
        assert!(matches!(&line.attrs[0].1, Val::Str(Cow::Borrowed("plain"))));
        assert_eq!(line.attrs[1].1, Val::Str(Cow::Owned("tab\there é 😀".into())));
    }

    #[test]
    fn nested_objects_become_kvlists_or_flat_keys() {
        let m0 = mapping(Nested::KvList);
        let m1 = mapping(Nested::Flatten("_".into()));
        let text = r#"{"http": {"method": "GET", "response": {"status": 200}}, "tags": ["a", {"k": 1}], "empty": {}}"#;
        let kv = parse_resolved(text, &m0).unwrap();
        assert_eq!(
            kv.attrs[0].1,
            Val::Map(vec![
                (Cow::Borrowed("method"), Val::str("GET")),
                (Cow::Borrowed("response"), Val::Map(vec![(Cow::Borrowed("status"), Val::Int(200))])),
            ])
        );
        let flat = parse_resolved(text, &m1).unwrap();
        let keys: Vec<&str> = flat.attrs.iter().map(|(k, _)| &**k).collect();
        assert_eq!(keys, ["http_method", "http_response_status", "tags", "empty"]);
        assert_eq!(flat.attrs[1].1, Val::Int(200));
        // Arrays stay arrays; objects inside them stay lists.
        assert_eq!(flat.attrs[2].1, Val::Array(vec![Val::str("a"), Val::Map(vec![(Cow::Borrowed("k"), Val::Int(1))])]));
        assert_eq!(flat.attrs[3].1, Val::Map(vec![]));
    }

    #[test]
    fn fields_that_do_not_convert_stay_attributes_and_are_marked() {
        let m0 = mapping(Nested::KvList);
        let text = r#"{"timestamp": "yesterday", "level": "loud", "trace_id": "not-hex", "span_id": 7, "service": 3}"#;
        let line = parse_resolved(text, &m0).unwrap();
        assert_eq!((line.time, line.trace_id, line.span_id, line.service), (None, None, None, None));
        assert_eq!(line.severity, Some((0, Cow::Borrowed("loud"))));
        let keys: Vec<&str> = line.attrs.iter().map(|(k, _)| &**k).collect();
        assert_eq!(keys, ["timestamp", "service", "trace_id", "span_id"]);
        assert_eq!(line.invalid, [true, true, false, true, true, true]);
    }

    #[test]
    fn numeric_levels_and_epoch_timestamps_are_understood() {
        let m0 = mapping(Nested::KvList);
        let line = parse_resolved(r#"{"timestamp": 1706193045123, "level": 17}"#, &m0).unwrap();
        assert_eq!(line.time, Some(1_706_193_045_123_000_000));
        assert_eq!(line.severity, Some((17, Cow::Owned("17".into()))));
    }

    #[test]
    fn duplicate_keys_keep_the_last_value_once() {
        let m0 = mapping(Nested::KvList);
        let line = parse_resolved(r#"{"a": 1, "b": 2, "a": 3, "level": "info", "level": "error"}"#, &m0).unwrap();
        assert_eq!(line.attrs, vec![(Cow::Borrowed("a"), Val::Int(3)), (Cow::Borrowed("b"), Val::Int(2))]);
        assert_eq!(line.severity.unwrap().0, 17);
    }

    #[test]
    fn malformed_and_truncated_lines_are_errors_that_say_where() {
        let m = mapping(Nested::KvList);
        let cases = [
            ("", "json: EOF while parsing a value at line 1 column 0"),
            ("plain text", "json: expected value at line 1 column 1"),
            (r#"{"level": "info", "message": "cut"#, "json: EOF while parsing a string at line 1 column 33"),
            (r#"["an", "array"]"#, "json: invalid type: sequence, expected a JSON object at line 1 column 0"),
            (r#"{"a": 1} trailing"#, "json: trailing characters at line 1 column 10"),
            (r#"{"a": 1,}"#, "json: trailing comma at line 1 column 9"),
        ];
        for (text, want) in cases {
            let mut line = Parsed::default();
            assert_eq!(parse(text, &m, &mut line).unwrap_err(), want, "{text}");
        }
    }

    #[test]
    fn the_scanner_reads_exactly_what_serde_json_reads() {
        let m = mapping(Nested::KvList);
        let lines = [
            r#"{"timestamp":"2024-01-25T14:30:45.123Z","level":"info","message":"ok","status":201,"ok":true,"none":null}"#,
            " \t{ \"a\" :\r\n \"b\" , \"c\":0 }  ",
            r#"{}"#,
            r#"{"escaped": "a\"b", "float": 1.5, "exp": 1e3, "neg": -4, "negzero": -0, "big": 123456789012345678901}"#,
            r#"{"max": 999999999999999999, "i64max": 9223372036854775807, "nested": {"a": [1, {"b": null}]}, "list": []}"#,
            r#"{"dup": 1, "dup": "two", "level": "warn", "level": "error"}"#,
            r#"{"emoji": "🚀 日本語 é", "key with spaces": "v"}"#,
            r#"{"a": "\u00e9"}"#,
            // Not JSON, or not an object: serde_json's errors.
            r#"{"a": 01}"#,
            r#"{"a": 1,}"#,
            r#"{"a": 1 "b": 2}"#,
            r#"{"a": tru}"#,
            r#"{"a": truex}"#,
            r#"{"a": 12x}"#,
            r#"{"a\"b": 1}"#,
            "{\"a\": \"tab\there\"}",
            r#"{"a": 1}}"#,
            r#"{"a"}"#,
            r#"{"a": }"#,
            r#"{"a": "unterminated}"#,
            r#"{"a": [1, 2}"#,
            r#"[1]"#,
            r#""text""#,
            "",
            "   ",
        ];
        for text in lines {
            let mut fast = Parsed::default();
            let mut slow = Parsed::default();
            let fast_result = parse(text, &m, &mut fast);
            let slow_result = parse_with_serde(text, &m, &mut slow);
            assert_eq!(fast_result, slow_result, "{text}");
            assert_eq!(fast.attrs, slow.attrs, "{text}");
            assert_eq!(fast.roles, slow.roles, "{text}");
        }
        // The scanner does take the usual line itself.
        let mut line = Parsed::default();
        assert!(scan(lines[0], &m, &mut line).is_some());
        assert!(matches!(line.roles[2], Some(Val::Str(Cow::Borrowed("ok")))));
    }

    #[test]
    fn the_special_byte_search_finds_the_first_quote_backslash_or_control_byte() {
        for (text, want) in [
            ("", None),
            ("abc", None),
            ("abcdefghij\"", Some(10)),
            ("abcdefgh\\ij\"", Some(8)),
            ("ab\u{1}cdefghij", Some(2)),
            ("é日本語🚀xxxx\"", Some(19)),
            ("\"\"", Some(0)),
            ("0123456\u{7f}\"", Some(8)),
        ] {
            assert_eq!(special(text.as_bytes()), want, "{text:?}");
        }
    }

    #[test]
    fn very_large_integers_and_deep_nesting_do_not_panic() {
        let m = mapping(Nested::Flatten(".".into()));
        let line = parse_resolved(r#"{"big": 18446744073709551615, "neg": -9223372036854775808}"#, &m).unwrap();
        assert_eq!(line.attrs[0].1, Val::Double(18_446_744_073_709_551_615.0));
        assert_eq!(line.attrs[1].1, Val::Int(i64::MIN));
        let deep = format!("{{\"a\": {}1{}}}", "{\"b\": ".repeat(100), "}".repeat(100));
        let line = parse_resolved(&deep, &m).unwrap();
        assert_eq!(line.attrs.len(), 1);
        let deeper = format!("{{\"a\": {}1{}}}", "[".repeat(200), "]".repeat(200));
        let mut line = Parsed::default();
        assert!(parse(&deeper, &m, &mut line).unwrap_err().contains("recursion limit exceeded"));
    }
}
