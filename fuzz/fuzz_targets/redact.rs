//! redact on fuzzed text in a body, attribute keys and values, a nested value and the
//! resource, with every detector on: never a failed batch or invalid output, and a second
//! pass over what the first let through finds nothing more to mask but right next to a
//! mask (a secret the first pass left behind, say in an overlap of two matches, would
//! show here).
#![no_main]

use aegis_fuzz::tonic::collector::logs::v1::ExportLogsServiceRequest;
use aegis_fuzz::tonic::common::v1::any_value::Value;
use aegis_fuzz::tonic::common::v1::{AnyValue, KeyValue};
use aegis_fuzz::tonic::logs::v1::LogRecord;
use aegis_fuzz::{attribute, kvlist, logs, processor, record, run, split};
use aegis_plugin_redact::Redact;
use aegis_plugin_sdk::Signal;
use libfuzzer_sys::fuzz_target;
use prost::Message;

const DETECTORS: &str =
    r#"["email", "credit_card", "ipv4", "ipv6", "jwt", "bearer", "aws_access_key", "aegis_sensitive_keys"]"#;

fn config(choice: u8) -> String {
    match choice % 5 {
        0 => format!(r#"{{"allow_all_keys": true, "detectors": {DETECTORS}, "summary": "silent"}}"#),
        1 => format!(r#"{{"allow_all_keys": true, "detectors": {DETECTORS}, "summary": "debug", "mask": "[gone]"}}"#),
        2 => format!(
            r#"{{"allow_all_keys": true, "detectors": {DETECTORS}, "summary": "silent", "hash": "sha256", "blocked_values": ["[0-9]{{3}}-[0-9]{{4}}"], "allowed_values": ["@example\\.com$"]}}"#
        ),
        3 => format!(
            r#"{{"allowed_keys": ["message", "user.email", "k"], "ignored_keys": ["trace"], "blocked_key_patterns": ["(?i)secret"], "detectors": {DETECTORS}, "summary": "info"}}"#
        ),
        _ => r#"{"allow_all_keys": true, "blocked_values": ["\\d+", "[a-z]+@"], "summary": "debug"}"#.to_owned(),
    }
}

/// The records of a logs request.
fn records(bytes: &[u8]) -> Vec<LogRecord> {
    let request = ExportLogsServiceRequest::decode(bytes).expect("valid");
    request.resource_logs.into_iter().flat_map(|r| r.scope_logs).flat_map(|s| s.log_records).collect()
}

/// The request's records, for a failure's message.
fn show(bytes: &[u8]) -> String {
    records(bytes).iter().map(|r| format!("{:?} {:?}", r.body, r.attributes)).collect::<Vec<_>>().join("\n")
}

/// Every string in the records (bodies, attribute values, nested lists), in order.
fn strings(bytes: &[u8]) -> Vec<String> {
    fn walk(value: &AnyValue, out: &mut Vec<String>) {
        match &value.value {
            Some(Value::StringValue(text)) => out.push(text.clone()),
            Some(Value::KvlistValue(list)) => {
                list.values.iter().filter_map(|kv| kv.value.as_ref()).for_each(|v| walk(v, out));
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for record in records(bytes) {
        let attributes = record.attributes.iter().filter_map(|kv| kv.value.as_ref());
        record.body.iter().chain(attributes).for_each(|v| walk(v, &mut out));
    }
    out
}

/// Whether `after` differs from `before` only right next to a mask in it: a mask changes
/// what its neighbours read as (`AKIA...EXAMPLE::1` is a word, `****::1` an address).
fn changed_next_to_a_mask(before: &str, after: &str) -> bool {
    let (a, b) = (before.as_bytes(), after.as_bytes());
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    a[..prefix].ends_with(b"****") || a[a.len() - suffix..].starts_with(b"****")
}

fuzz_target!(|data: &[u8]| {
    let Some((choice, text)) = split(data) else { return };
    let mut parts = text.splitn(3, '\u{1}');
    let (value, key, other) = (parts.next().unwrap_or(""), parts.next().unwrap_or("k"), parts.next().unwrap_or(""));
    let attributes = |v: &str| {
        vec![
            attribute("user.email", v),
            attribute(key, v),
            attribute("password", other),
            attribute("trace", v),
            KeyValue {
                key: "nested".into(),
                value: Some(kvlist(vec![attribute(key, v), attribute("x", other)])),
                ..Default::default()
            },
        ]
    };
    let payload = logs(
        vec![attribute("service.name", "aegis-backend"), attribute(key, other)],
        vec![record(value, attributes(value)), record(other, attributes(other))],
    );
    let config = config(choice);
    let mut redact: Redact = processor(&config);
    let Some(once) = run(&mut redact, Signal::Logs, &payload) else { return };
    if choice % 5 == 0 {
        // Masks are `****` and the summary is off.
        let twice = run(&mut redact, Signal::Logs, &once).expect("nothing is dropped");
        let (before, after) = (strings(&once), strings(&twice));
        assert_eq!(before.len(), after.len());
        for (before, after) in before.iter().zip(&after) {
            if before != after && !changed_next_to_a_mask(before, after) {
                panic!("a second pass masked more:\n{}\nthen\n{}", show(&once), show(&twice));
            }
        }
    }
});
