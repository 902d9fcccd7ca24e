//! Writing parsed records and the resources that hold them.
//!
//! A parsed record changes in up to a dozen fields. Rather than splicing each into the
//! record (a search of the record per field), the record is written once: its fields copied
//! except those the line replaces, then the new ones. A resource with such records is
//! written anew the same way, once per service its records name (see `docs/plugins/
//! parse-logs.md`), and replaces the original in the batch.

use std::borrow::Cow;
use std::ops::Range;

use aegis_plugin_sdk::wire::{EncodeValue, ResourceLogs, ScopeLogs};

use crate::line::Parsed;
use crate::value::{Fields, key_of, len_field_len, put_len_header, put_varint};

// LogRecord field numbers.
const TIME: u64 = 1;
const SEVERITY_NUMBER: u64 = 2;
const SEVERITY_TEXT: u64 = 3;
const BODY: u64 = 5;
const ATTRIBUTES: u64 = 6;
const TRACE_ID: u64 = 9;
const SPAN_ID: u64 = 10;

/// What a rebuilt record gets besides the parsed line.
#[derive(Clone, Copy, Default)]
pub(crate) struct Extra<'e> {
    /// An attribute to remove (the parsed source attribute).
    pub(crate) remove: Option<&'e str>,
    /// A string attribute to set (the raw line, or the reason a line did not parse).
    pub(crate) set: Option<(&'e str, &'e str)>,
}

/// Writes `original` (a `LogRecord` payload) with `line` applied at the end of `arena`;
/// returns where it is. Attributes the record had keep their place when the line sets
/// them again; new ones follow the record's own.
pub(crate) fn record(
    arena: &mut Vec<u8>,
    original: &[u8],
    line: &Parsed<'_>,
    extra: Extra<'_>,
    done: &mut Vec<bool>,
) -> Range<usize> {
    let start = arena.len();
    arena.reserve(original.len() + 64);
    done.clear();
    done.resize(line.attrs.len(), false);
    let mut extra_done = false;
    for field in Fields::new(original) {
        let replaced = match field.number {
            TIME => line.time.is_some(),
            SEVERITY_NUMBER => matches!(line.severity, Some((n, _)) if n != 0),
            SEVERITY_TEXT => line.severity.is_some(),
            BODY => line.body.is_some(),
            TRACE_ID => line.trace_id.is_some(),
            SPAN_ID => line.span_id.is_some(),
            ATTRIBUTES => match field.payload.map(key_of) {
                Some(key) if extra.remove.is_some_and(|k| k.as_bytes() == key) => true,
                Some(key) => {
                    if let Some(j) = line.attrs.iter().position(|(k, _)| k.as_bytes() == key) {
                        // A key the record has twice keeps the first place only.
                        if !done[j] {
                            put_attribute(arena, &line.attrs[j].0, &line.attrs[j].1);
                            done[j] = true;
                        }
                        true
                    } else if let Some((k, v)) = extra.set.filter(|(k, _)| k.as_bytes() == key) {
                        if !extra_done {
                            put_attribute(arena, k, v);
                            extra_done = true;
                        }
                        true
                    } else {
                        false
                    }
                }
                None => false,
            },
            _ => false,
        };
        if !replaced {
            arena.extend_from_slice(field.whole);
        }
    }
    if let Some(time) = line.time {
        arena.push((TIME as u8) << 3 | 1);
        arena.extend_from_slice(&time.to_le_bytes());
    }
    if let Some((number, text)) = &line.severity {
        // An unknown level keeps the record's number (its text is set below).
        if *number != 0 {
            arena.push((SEVERITY_NUMBER as u8) << 3);
            put_varint(arena, i64::from(*number) as u64);
        }
        put_len_header(arena, SEVERITY_TEXT as u8, text.len());
        arena.extend_from_slice(text.as_bytes());
    }
    if let Some(body) = &line.body {
        put_len_header(arena, BODY as u8, body.encoded_len());
        body.encode(arena);
    }
    if let Some(id) = &line.trace_id {
        put_len_header(arena, TRACE_ID as u8, id.len());
        arena.extend_from_slice(id);
    }
    if let Some(id) = &line.span_id {
        put_len_header(arena, SPAN_ID as u8, id.len());
        arena.extend_from_slice(id);
    }
    for ((key, value), done) in line.attrs.iter().zip(done.iter()) {
        if !done {
            put_attribute(arena, key, value);
        }
    }
    if let Some((key, value)) = extra.set.filter(|_| !extra_done) {
        put_attribute(arena, key, value);
    }
    start..arena.len()
}

/// Appends `KeyValue { key, value }` as an attribute, measuring the value once.
fn put_attribute<V: EncodeValue + ?Sized>(out: &mut Vec<u8>, key: &str, value: &V) {
    let value_len = value.encoded_len();
    put_len_header(out, ATTRIBUTES as u8, len_field_len(key.len()) + len_field_len(value_len));
    put_len_header(out, 1, key.len());
    out.extend_from_slice(key.as_bytes());
    put_len_header(out, 2, value_len);
    value.encode(out);
}

/// One record of a resource being rewritten: the index of its scope, its bytes (in the
/// arena when rebuilt, else as it came), and the service it names.
pub(crate) struct Out<'x> {
    pub(crate) scope: usize,
    pub(crate) original: &'x [u8],
    pub(crate) rebuilt: Option<Range<usize>>,
    pub(crate) service: Option<Cow<'x, str>>,
}

impl Out<'_> {
    fn bytes<'b>(&'b self, arena: &'b [u8]) -> &'b [u8] {
        match &self.rebuilt {
            Some(range) => arena.get(range.clone()).unwrap_or_default(),
            None => self.original,
        }
    }
}

/// The length of every field of `message` except those numbered `skip`.
fn other_fields_len(message: &[u8], skip: &[u64]) -> usize {
    Fields::new(message).filter(|f| !skip.contains(&f.number)).map(|f| f.whole.len()).sum()
}

fn put_other_fields(out: &mut Vec<u8>, message: &[u8], skip: &[u64]) {
    for field in Fields::new(message).filter(|f| !skip.contains(&f.number)) {
        out.extend_from_slice(field.whole);
    }
}

/// A `ResourceLogs` payload: `resource` (a `Resource` payload) with the records of `outs`
/// that `member` picks, in their scopes and order. Every other field of the resource's and
/// the scopes' messages (schema URLs, the scopes themselves) is copied from the input.
pub(crate) fn resource(
    original: &ResourceLogs<'_>,
    scopes: &[ScopeLogs<'_>],
    resource: &[u8],
    outs: &[Out<'_>],
    member: impl Fn(usize) -> bool,
    arena: &[u8],
) -> Vec<u8> {
    // The picked records come in scope order; each run of one scope is one ScopeLogs
    // (ResourceLogs: resource 1, scope_logs 2; ScopeLogs: log_records 2).
    let picked: Vec<&Out<'_>> = outs.iter().enumerate().filter(|(i, _)| member(*i)).map(|(_, o)| o).collect();
    let mut runs: Vec<(usize, Range<usize>, usize)> = Vec::new();
    for (i, o) in picked.iter().enumerate() {
        let len = len_field_len(o.bytes(arena).len());
        match runs.last_mut() {
            Some((scope, range, total)) if *scope == o.scope => {
                range.end = i + 1;
                *total += len;
            }
            _ => {
                let own = scopes.get(o.scope).map_or(0, |scope| other_fields_len(scope.bytes(), &[2]));
                runs.push((o.scope, i..i + 1, own + len));
            }
        }
    }
    let total = len_field_len(resource.len())
        + runs.iter().map(|(_, _, len)| len_field_len(*len)).sum::<usize>()
        + other_fields_len(original.bytes(), &[1, 2]);
    let mut out = Vec::with_capacity(total);
    put_len_header(&mut out, 1, resource.len());
    out.extend_from_slice(resource);
    for (scope, range, len) in runs {
        put_len_header(&mut out, 2, len);
        if let Some(scope) = scopes.get(scope) {
            put_other_fields(&mut out, scope.bytes(), &[2]);
        }
        for o in &picked[range] {
            let bytes = o.bytes(arena);
            put_len_header(&mut out, 2, bytes.len());
            out.extend_from_slice(bytes);
        }
    }
    put_other_fields(&mut out, original.bytes(), &[1, 2]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Val;
    use aegis_plugin_sdk::wire::{
        LogRecordData, ResourceData, ResourceLogsData, ScopeData, ScopeLogsData, attributes, validate,
    };
    use aegis_plugin_sdk::{LogRecord, Logs, Signal, Value};

    fn attrs(record: &LogRecord<'_>) -> Vec<(String, Value)> {
        record.attributes().map(|(k, v)| (k.to_owned(), v.to_value())).collect()
    }

    #[test]
    fn a_rebuilt_record_replaces_what_the_line_sets_and_keeps_the_rest() {
        let original = LogRecordData {
            time_unix_nano: 1,
            observed_time_unix_nano: 2,
            severity_number: 9,
            severity_text: "info".into(),
            body: Some(Value::from("raw line")),
            attributes: attributes(vec![
                ("source", Value::from("raw line")),
                ("b", Value::from("old")),
                ("keep", Value::Int(1)),
                ("b", Value::from("twice")),
                ("x", Value::from("old x")),
            ]),
            trace_id: vec![7; 16],
            flags: 1,
            event_name: "event".into(),
            ..Default::default()
        }
        .encode();
        let mut line = Parsed::default();
        line.time = Some(42);
        line.severity = Some((0, Cow::Borrowed("LOUD")));
        line.body = Some(Val::str("message"));
        line.span_id = Some([8; 8]);
        line.attr("b", Val::Int(2));
        line.attr("c", Val::Bool(true));
        let mut arena = b"before".to_vec();
        let extra = Extra { remove: Some("source"), set: Some(("x", "new x")) };
        let range = record(&mut arena, &original, &line, extra, &mut Vec::new());
        assert_eq!(range.start, 6);
        let view = LogRecord::new(&arena[range]);
        assert_eq!((view.time_unix_nano(), view.observed_time_unix_nano()), (42, 2));
        // An unknown level (number 0) keeps the record's number and sets the text.
        assert_eq!((view.severity_number(), view.severity_text()), (9, "LOUD"));
        assert_eq!(view.body().unwrap().as_str(), Some("message"));
        assert_eq!((view.trace_id(), view.span_id()), (&[7; 16][..], &[8; 8][..]));
        assert_eq!((view.flags(), view.event_name()), (1, "event"));
        assert_eq!(
            attrs(&view),
            vec![
                ("b".into(), Value::Int(2)),
                ("keep".into(), Value::Int(1)),
                ("x".into(), Value::from("new x")),
                ("c".into(), Value::Bool(true)),
            ]
        );
    }

    #[test]
    fn a_rewritten_resource_holds_only_the_picked_records_in_their_scopes() {
        let record = |body: &str| LogRecordData { body: Some(Value::from(body)), ..Default::default() };
        let request = aegis_plugin_sdk::wire::LogsData {
            resource_logs: vec![ResourceLogsData {
                resource: Some(ResourceData {
                    attributes: attributes(vec![("host.name", Value::from("n1"))]),
                    ..Default::default()
                }),
                scope_logs: vec![
                    ScopeLogsData {
                        scope: Some(ScopeData { name: "one".into(), ..Default::default() }),
                        log_records: vec![record("a"), record("b")],
                        schema_url: "s1".into(),
                    },
                    ScopeLogsData {
                        scope: Some(ScopeData { name: "two".into(), ..Default::default() }),
                        log_records: vec![record("c")],
                        schema_url: "s2".into(),
                    },
                    ScopeLogsData { scope: None, log_records: vec![record("d")], schema_url: String::new() },
                ],
                schema_url: "r".into(),
            }],
        }
        .encode();
        let logs = Logs::parse(&request).unwrap();
        let original = logs.resource_logs().next().unwrap();
        let scopes: Vec<_> = original.scope_logs().collect();
        let mut outs = Vec::new();
        for (s, scope) in scopes.iter().enumerate() {
            for r in scope.log_records() {
                outs.push(Out { scope: s, original: r.bytes(), rebuilt: None, service: None });
            }
        }
        // b and d: the first and third scope, without the second.
        let payload = resource(&original, &scopes, original.resource().bytes(), &outs, |i| i == 1 || i == 3, &[]);
        let mut out = Vec::new();
        crate::value::put_len_field(&mut out, 1, &payload);
        validate(Signal::Logs, &out).unwrap();
        let logs = Logs::parse(&out).unwrap();
        let resource = logs.resource_logs().next().unwrap();
        assert_eq!(resource.schema_url(), "r");
        assert_eq!(resource.resource().attribute("host.name").unwrap().as_str(), Some("n1"));
        let got: Vec<(String, String, Vec<String>)> = resource
            .scope_logs()
            .map(|s| {
                let bodies = s.log_records().map(|r| r.body().unwrap().as_str().unwrap().to_owned()).collect();
                (s.scope().name().to_owned(), s.schema_url().to_owned(), bodies)
            })
            .collect();
        assert_eq!(
            got,
            vec![("one".into(), "s1".into(), vec!["b".into()]), (String::new(), String::new(), vec!["d".into()])]
        );
    }
}
