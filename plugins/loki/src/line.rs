//! The entry's line: a record's body as text, or the record rendered as one JSON object or
//! one logfmt line, so that LogQL's `| json` and `| logfmt` parsers find its fields
//! (`{job="aegis-backend"} | json | duration_ms > 1000`).

use std::borrow::Cow;
use std::fmt::Write as _;

use aegis_plugin_sdk::wire::{AnyValue, LogFields, LogRecord, ValueRef};
use base64::Engine as _;

use crate::config::LineFormat;

/// Renders `record`'s line in `format`; `level` is the record's level label value, if any.
pub(crate) fn render(
    record: &LogRecord<'_>,
    fields: &LogFields<'_>,
    format: LineFormat,
    attributes: bool,
    level: Option<&str>,
) -> String {
    match format {
        LineFormat::Body => fields.body.map(|body| text(body.get())).unwrap_or_default(),
        LineFormat::Json => {
            let mut out = String::with_capacity(128);
            out.push('{');
            let mut first = true;
            each_field(record, fields, attributes, level, |key, value| {
                if !std::mem::take(&mut first) {
                    out.push(',');
                }
                json_string(&mut out, key);
                out.push(':');
                json_value(&mut out, value);
            });
            out.push('}');
            out
        }
        LineFormat::Logfmt => {
            let mut out = String::with_capacity(128);
            each_field(record, fields, attributes, level, |key, value| {
                if !out.is_empty() {
                    out.push(' ');
                }
                logfmt_key(&mut out, key);
                out.push('=');
                let rendered = match value {
                    ValueRef::Str(s) => std::borrow::Cow::Borrowed(s),
                    other => std::borrow::Cow::Owned(text(other)),
                };
                logfmt_value(&mut out, &rendered);
            });
            out
        }
    }
}

/// [`text`], borrowing a string value instead of copying it.
pub(crate) fn text_cow(value: ValueRef<'_>) -> Cow<'_, str> {
    match value {
        ValueRef::Str(s) => Cow::Borrowed(s),
        other => Cow::Owned(text(other)),
    }
}

/// A value as plain text: strings as they are, maps and arrays as JSON, bytes as base64.
pub(crate) fn text(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Str(s) => s.to_owned(),
        ValueRef::Empty => String::new(),
        ValueRef::Bytes(b) => base64::engine::general_purpose::STANDARD.encode(b),
        ValueRef::Array(_) | ValueRef::KvList(_) => {
            let mut out = String::new();
            json_value(&mut out, value);
            out
        }
        ValueRef::Encoded(b) => text(AnyValue::new(b).get()),
        other => other.to_string(),
    }
}

/// Calls `emit` for every field of the structured line, each key once (the first wins):
/// the body's entries when it is a map (else the body as `message`), `level`, and the
/// record's attributes when `attributes` is set.
fn each_field<'a>(
    record: &LogRecord<'a>,
    fields: &LogFields<'a>,
    attributes: bool,
    level: Option<&'a str>,
    mut emit: impl FnMut(&str, ValueRef<'_>),
) {
    let mut written: Vec<&str> = Vec::new();
    let mut once = |key: &'a str, value: ValueRef<'_>, written: &mut Vec<&'a str>| {
        if !written.contains(&key) {
            written.push(key);
            emit(key, value);
        }
    };
    match fields.body.map(|body| body.get()) {
        Some(ValueRef::KvList(list)) => {
            for (key, value) in list.iter() {
                once(key, value.get(), &mut written);
            }
        }
        Some(ValueRef::Empty) | None => {}
        Some(body) => once("message", body, &mut written),
    }
    if let Some(level) = level {
        once("level", ValueRef::Str(level), &mut written);
    }
    if attributes {
        for (key, value) in record.attributes() {
            once(key, value.get(), &mut written);
        }
    }
}

fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_value(out: &mut String, value: ValueRef<'_>) {
    match value {
        ValueRef::Empty => out.push_str("null"),
        ValueRef::Str(s) => json_string(out, s),
        ValueRef::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        ValueRef::Int(i) => {
            let _ = write!(out, "{i}");
        }
        // JSON has no NaN or infinities; they go as strings rather than as invalid JSON.
        ValueRef::Double(d) if d.is_finite() => {
            let _ = write!(out, "{d}");
        }
        ValueRef::Double(d) => json_string(out, &d.to_string()),
        ValueRef::Bytes(b) => json_string(out, &base64::engine::general_purpose::STANDARD.encode(b)),
        ValueRef::Array(array) => {
            out.push('[');
            for (index, item) in array.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                json_value(out, item.get());
            }
            out.push(']');
        }
        ValueRef::KvList(list) => {
            out.push('{');
            for (index, (key, item)) in list.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                json_string(out, key);
                out.push(':');
                json_value(out, item.get());
            }
            out.push('}');
        }
        ValueRef::Encoded(b) => json_value(out, AnyValue::new(b).get()),
    }
}

/// logfmt keys are bare words: anything else becomes `_`.
fn logfmt_key(out: &mut String, key: &str) {
    if key.is_empty() {
        out.push('_');
    }
    out.extend(key.chars().map(|c| if c.is_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '_' }));
}

fn logfmt_value(out: &mut String, value: &str) {
    let bare = !value.is_empty() && !value.chars().any(|c| c == ' ' || c == '=' || c == '"' || c.is_control());
    if bare {
        out.push_str(value);
    } else {
        json_string(out, value);
    }
}

/// Cuts `line` to at most `max` bytes on a character boundary.
pub(crate) fn truncate(line: &mut String, max: usize) {
    if line.len() > max {
        let mut end = max;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(bytes: &[u8], format: LineFormat, attributes: bool, level: Option<&str>) -> String {
        let record = LogRecord::new(bytes);
        render(&record, &record.fields(), format, attributes, level)
    }
    use aegis_plugin_sdk::LogRecordData;
    use aegis_plugin_sdk::wire::Value;

    fn record(body: Value, attributes: Vec<(&str, Value)>) -> Vec<u8> {
        LogRecordData {
            body: Some(body),
            attributes: attributes.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            ..Default::default()
        }
        .encode()
    }

    #[test]
    fn a_string_body_is_the_line_as_it_is() {
        let bytes = record(Value::Str("User login successful".into()), vec![("user_id", Value::Str("u1".into()))]);
        let line = rendered(&bytes, LineFormat::Body, true, Some("info"));
        assert_eq!(line, "User login successful");
    }

    #[test]
    fn a_map_body_is_rendered_as_json() {
        let body = Value::KvList(vec![("message".into(), Value::Str("hi".into())), ("n".into(), Value::Int(3))]);
        let bytes = record(body, vec![]);
        assert_eq!(rendered(&bytes, LineFormat::Body, true, None), r#"{"message":"hi","n":3}"#);
    }

    #[test]
    fn json_lines_carry_the_message_the_level_and_the_attributes() {
        let bytes = record(
            Value::Str("User created \"successfully\"".into()),
            vec![
                ("user_id", Value::Str("admin-uuid".into())),
                ("duration_ms", Value::Int(45)),
                ("level", Value::Str("x".into())),
            ],
        );
        let line = rendered(&bytes, LineFormat::Json, true, Some("info"));
        assert_eq!(
            line,
            r#"{"message":"User created \"successfully\"","level":"info","user_id":"admin-uuid","duration_ms":45}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["duration_ms"], 45);
        let without = rendered(&bytes, LineFormat::Json, false, None);
        assert_eq!(without, r#"{"message":"User created \"successfully\""}"#);
    }

    #[test]
    fn logfmt_lines_quote_values_that_need_it() {
        let bytes = record(
            Value::Str("slow query".into()),
            vec![
                ("duration_ms", Value::Double(2300.5)),
                ("db name", Value::Str("users".into())),
                ("empty", Value::Str(String::new())),
            ],
        );
        let line = rendered(&bytes, LineFormat::Logfmt, true, Some("warn"));
        assert_eq!(line, r#"message="slow query" level=warn duration_ms=2300.5 db_name=users empty="""#);
    }

    #[test]
    fn non_finite_doubles_stay_valid_json() {
        let bytes = record(Value::Double(f64::NAN), vec![]);
        let line = rendered(&bytes, LineFormat::Json, true, None);
        assert_eq!(line, r#"{"message":"NaN"}"#);
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        let mut line = "héllo".to_owned();
        truncate(&mut line, 2);
        assert_eq!(line, "h");
    }
}
