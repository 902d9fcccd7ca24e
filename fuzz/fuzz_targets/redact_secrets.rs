//! redact on a known secret planted in fuzzed text, set apart by spaces: whatever the text
//! around it, the secret must not come out, in a body or an attribute value.
#![no_main]

use aegis_fuzz::tonic::collector::logs::v1::ExportLogsServiceRequest;
use aegis_fuzz::tonic::common::v1::any_value::Value;
use aegis_fuzz::{attribute, logs, processor, record, run, split};
use aegis_plugin_redact::Redact;
use aegis_plugin_sdk::Signal;
use libfuzzer_sys::fuzz_target;
use prost::Message;

/// One secret of each kind a detector is for.
const SECRETS: &[&str] = &[
    "alice.smith+tag@mail.example.com",
    "4111111111111111",
    "5500-0000-0000-0004",
    "4111 1111 1111 1111",
    "10.20.30.40",
    "2001:db8:85a3::8a2e:370:7334",
    "fe80::1%eth0",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.Kp7Y2k4WmVrkQfYq0Zt0u8bC3s3v1j7mP6XHn4lH1wE",
    "AKIAIOSFODNN7EXAMPLE",
    "ASIAY34FZKBOKMUTVV7A",
    "Bearer 8f14e45fceea167a5a36dedd4bea2543",
];

const CONFIG: &str = r#"{"allow_all_keys": true, "summary": "silent",
    "detectors": ["email", "credit_card", "ipv4", "ipv6", "jwt", "bearer", "aws_access_key"]}"#;

fuzz_target!(|data: &[u8]| {
    let Some((choice, text)) = split(data) else { return };
    let secret = SECRETS[usize::from(choice) % SECRETS.len()];
    let (before, after) = text.split_once('\u{1}').unwrap_or((&text, ""));
    let planted = format!("{before} {secret} {after}");
    let mut redact: Redact = processor(CONFIG);
    let payload = logs(vec![], vec![record(&planted, vec![attribute("message", &planted)])]);
    let Some(out) = run(&mut redact, Signal::Logs, &payload) else { return };
    let request = ExportLogsServiceRequest::decode(&out[..]).expect("valid");
    for record in request.resource_logs.iter().flat_map(|r| &r.scope_logs).flat_map(|s| &s.log_records) {
        let values = record.body.iter().chain(record.attributes.iter().filter_map(|kv| kv.value.as_ref()));
        for value in values {
            if let Some(Value::StringValue(text)) = &value.value {
                // The text around may hold the secret too, glued to a word (and so not
                // one); the planted one, set apart, must be gone.
                assert!(!text.contains(&format!(" {secret} ")), "{secret} came out of {planted:?} as {text:?}");
            }
        }
    }
});
