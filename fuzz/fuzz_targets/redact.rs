//! redact on fuzzed text in a body, attribute keys and values, a nested value and the
//! resource, with every detector on: never a failed batch or invalid output, and a second
//! pass over what the first let through finds nothing more to mask (a secret the first
//! pass left behind, say in an overlap of two matches, would show here).
#![no_main]

use aegis_fuzz::tonic::common::v1::KeyValue;
use aegis_fuzz::{attribute, kvlist, logs, processor, record, run, split};
use aegis_plugin_redact::Redact;
use aegis_plugin_sdk::Signal;
use libfuzzer_sys::fuzz_target;

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

/// The request's records, for a failure's message.
fn show(bytes: &[u8]) -> String {
    use aegis_fuzz::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use prost::Message;
    let request = ExportLogsServiceRequest::decode(bytes).expect("valid");
    let records = request.resource_logs.iter().flat_map(|r| &r.scope_logs).flat_map(|s| &s.log_records);
    records.map(|r| format!("{:?} {:?}", r.body, r.attributes)).collect::<Vec<_>>().join("\n")
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
        // Masks are `****` and the summary is off: nothing the first pass let through
        // should be found again.
        let twice = run(&mut redact, Signal::Logs, &once);
        if twice.as_deref() != Some(&once[..]) {
            panic!(
                "a second pass masked more:\n{}\nthen\n{}",
                show(&once),
                twice.as_deref().map_or("dropped".into(), show)
            );
        }
    }
});
