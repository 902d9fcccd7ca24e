//! The processor on whole batches: what goes in, and exactly what comes out, decoded with
//! the OpenTelemetry protobuf types (independently of the bytes-level editor).

use aegis_plugin_sdk::hash::{hmac_sha256_hex, sha256_hex};
use aegis_plugin_sdk::{Outcome, run_processor};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue as Pv, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value::Value as V,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord as PLog, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric as PMetric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as PSpan, span::Event};
use prost::Message;
use serde_json::json;

use super::*;

fn s(text: &str) -> Pv {
    Pv { value: Some(V::StringValue(text.into())) }
}

fn int(n: i64) -> Pv {
    Pv { value: Some(V::IntValue(n)) }
}

fn map(entries: Vec<KeyValue>) -> Pv {
    Pv { value: Some(V::KvlistValue(KeyValueList { values: entries })) }
}

fn list(items: Vec<Pv>) -> Pv {
    Pv { value: Some(V::ArrayValue(ArrayValue { values: items })) }
}

fn kv(key: &str, value: Pv) -> KeyValue {
    KeyValue { key: key.into(), value: Some(value), ..Default::default() }
}

fn resource(attributes: Vec<KeyValue>) -> Option<Resource> {
    Some(Resource { attributes, ..Default::default() })
}

fn record(body: Option<Pv>, attributes: Vec<KeyValue>) -> PLog {
    PLog { body, attributes, severity_number: 9, time_unix_nano: 1_706_193_045_123_000_000, ..Default::default() }
}

fn logs(resources: Vec<(Vec<KeyValue>, Vec<PLog>)>) -> Vec<u8> {
    ExportLogsServiceRequest {
        resource_logs: resources
            .into_iter()
            .map(|(attributes, log_records)| ResourceLogs {
                resource: resource(attributes),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope { name: "aegis-backend".into(), ..Default::default() }),
                    log_records,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    }
    .encode_to_vec()
}

fn processor(config: serde_json::Value) -> Redact {
    Redact::init(Config::from_value(config)).unwrap_or_else(|e| panic!("{e}"))
}

/// The bytes that come out of `p` for `input` (the input itself when unchanged).
fn run(p: &mut Redact, signal: Signal, input: &[u8]) -> Vec<u8> {
    match run_processor(p, signal, input).unwrap() {
        Outcome::Replaced(bytes) => {
            aegis_plugin_sdk::wire::validate(signal, &bytes).expect("the output is valid OTLP");
            bytes
        }
        Outcome::Unchanged => input.to_vec(),
        Outcome::Dropped => panic!("redaction drops nothing"),
    }
}

fn run_logs(p: &mut Redact, input: &[u8]) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest::decode(&run(p, Signal::Logs, input)[..]).unwrap()
}

/// The first record that comes out for one record going in.
fn one_record(p: &mut Redact, body: Option<Pv>, attributes: Vec<KeyValue>) -> PLog {
    let out = run_logs(p, &logs(vec![(vec![], vec![record(body, attributes)])]));
    out.resource_logs[0].scope_logs[0].log_records[0].clone()
}

#[test]
fn detected_values_are_masked_and_clean_ones_kept_in_place() {
    let mut p = processor(json!({
        "allow_all_keys": true,
        "detectors": ["email", "credit_card", "ipv4", "aegis_sensitive_keys"],
    }));
    let out = one_record(
        &mut p,
        Some(s("User created successfully")),
        vec![
            kv("method", s("POST")),
            kv("user.email", s("ann@example.com")),
            kv("client.address", s("10.1.2.3")),
            kv("note", s("card 4111 1111 1111 1111 ok")),
            kv("order", s("order 4111111111111112")),
            kv("password", s("hunter2")),
            kv("status_code", int(201)),
        ],
    );
    assert_eq!(
        out.attributes,
        vec![
            kv("method", s("POST")),
            kv("user.email", s("****")),
            kv("client.address", s("****")),
            kv("note", s("card **** ok")),
            kv("order", s("order 4111111111111112")),
            kv("password", s("****")),
            kv("status_code", int(201)),
        ]
    );
    assert_eq!(out.body, Some(s("User created successfully")));
    // Everything else about the record stays.
    assert_eq!((out.severity_number, out.time_unix_nano), (9, 1_706_193_045_123_000_000));
}

#[test]
fn a_batch_with_nothing_to_redact_passes_unchanged_without_a_copy() {
    let mut p = processor(json!({
        "allow_all_keys": true,
        "detectors": ["email", "credit_card", "ipv4", "ipv6", "jwt", "bearer", "aws_access_key", "aegis_sensitive_keys"],
        "summary": "debug",
    }));
    let input = logs(vec![(
        vec![kv("service.name", s("aegis-backend"))],
        vec![record(
            Some(s("GET /healthz 200 in 3ms")),
            vec![kv("http.route", s("/healthz")), kv("duration_ms", int(3))],
        )],
    )]);
    assert_eq!(run_processor(&mut p, Signal::Logs, &input).unwrap(), Outcome::Unchanged);
}

#[test]
fn keys_not_allowed_are_removed_everywhere_and_ignored_keys_pass_untouched() {
    let mut p = processor(json!({
        "allowed_keys": ["service.name", "method", "user.email"],
        "ignored_keys": ["debug.note"],
        "detectors": ["email"],
        "summary": "debug",
    }));
    let input = logs(vec![(
        vec![kv("service.name", s("aegis-backend")), kv("host.name", s("db-7"))],
        vec![record(
            None,
            vec![
                kv("method", s("POST")),
                kv("user.email", s("x@example.com")),
                kv("debug.note", s("mail x@example.com")),
                kv("shoe_size", int(44)),
            ],
        )],
    )]);
    let out = run_logs(&mut p, &input);
    let resource = out.resource_logs[0].resource.clone().unwrap();
    assert_eq!(
        resource.attributes,
        vec![
            kv("service.name", s("aegis-backend")),
            kv("redaction.redacted.count", int(1)),
            kv("redaction.redacted.keys", s("host.name")),
        ]
    );
    assert_eq!(
        out.resource_logs[0].scope_logs[0].log_records[0].attributes,
        vec![
            kv("method", s("POST")),
            kv("user.email", s("****")),
            kv("debug.note", s("mail x@example.com")),
            kv("redaction.masked.count", int(1)),
            kv("redaction.masked.keys", s("user.email")),
            kv("redaction.redacted.count", int(1)),
            kv("redaction.redacted.keys", s("shoe_size")),
        ]
    );
}

/// A request whose one record has an attribute with two `key` fields, `x` then `password`,
/// and the value `hunter2`. Protobuf's last-one-wins makes its key `password` for every
/// decoder downstream, so redaction must read it so too.
fn two_keyed_attribute() -> Vec<u8> {
    let input = logs(vec![(vec![], vec![record(None, vec![kv("PLACEHOLDER", s("hunter2"))])])]);
    let placeholder = b"\x0a\x0bPLACEHOLDER";
    let at = input.windows(placeholder.len()).position(|w| w == placeholder).unwrap();
    let mut crafted = input.clone();
    crafted[at..at + placeholder.len()].copy_from_slice(b"\x0a\x01x\x0a\x08password");
    let decoded = ExportLogsServiceRequest::decode(&crafted[..]).unwrap();
    assert_eq!(decoded.resource_logs[0].scope_logs[0].log_records[0].attributes, vec![kv("password", s("hunter2"))]);
    crafted
}

#[test]
fn an_attribute_key_written_twice_is_read_as_every_decoder_reads_it() {
    let attributes = |p: &mut Redact| {
        run_logs(p, &two_keyed_attribute()).resource_logs[0].scope_logs[0].log_records[0].attributes.clone()
    };
    let mut blocked =
        processor(json!({ "allow_all_keys": true, "blocked_key_patterns": ["password"], "summary": "silent" }));
    assert_eq!(attributes(&mut blocked), vec![kv("password", s("****"))]);
    let mut allow = processor(json!({ "allowed_keys": ["x"], "summary": "silent" }));
    assert_eq!(attributes(&mut allow), vec![]);
}

#[test]
fn an_empty_allow_list_removes_every_attribute() {
    let mut p = processor(json!({ "allowed_keys": [] }));
    let out = one_record(&mut p, Some(s("hi")), vec![kv("a", s("1")), kv("b", int(2))]);
    assert_eq!(out.attributes, vec![]);
    assert_eq!(out.body, Some(s("hi")));
}

#[test]
fn blocked_key_patterns_mask_whole_values_of_every_type() {
    let mut p = processor(json!({ "allow_all_keys": true, "blocked_key_patterns": ["(?i)session", "^pin$"] }));
    let out = one_record(
        &mut p,
        None,
        vec![
            kv("X-Session-Id", s("abc123")),
            kv("pin", int(1234)),
            kv("pinned", s("yes")),
            kv("session.tags", list(vec![s("a"), s("b")])),
            kv("session.empty", s("")),
        ],
    );
    assert_eq!(
        out.attributes,
        vec![
            kv("X-Session-Id", s("****")),
            kv("pin", s("****")),
            kv("pinned", s("yes")),
            kv("session.tags", s("****")),
            kv("session.empty", s("")),
        ]
    );
}

#[test]
fn blocked_values_mask_the_matching_part_and_allowed_values_win() {
    let mut p = processor(json!({
        "allow_all_keys": true,
        "blocked_values": ["acct-[0-9]+", "[a-z]+\\.example\\.com"],
        "allowed_values": ["support\\.example\\.com"],
        "detectors": ["email"],
        "mask": "[redacted]",
    }));
    let out = one_record(
        &mut p,
        None,
        vec![
            kv("a", s("moved acct-1234 to acct-99")),
            kv("b", s("ask support.example.com, not sales.example.com")),
            kv("c", s("ops@support.example.com")),
        ],
    );
    assert_eq!(
        out.attributes,
        vec![
            kv("a", s("moved [redacted] to [redacted]")),
            kv("b", s("ask support.example.com, not [redacted]")),
            // The address is only partly allowed: it is masked, whole.
            kv("c", s("[redacted]")),
        ]
    );
}

#[test]
fn string_bodies_are_scanned_like_values() {
    let mut p = processor(json!({
        "allow_all_keys": true,
        "detectors": ["email", "ipv4", "ipv6", "jwt", "bearer", "aws_access_key"],
        "summary": "info",
    }));
    let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.Kp7Y2k4WmVrkQfYq0Zt0u8bC3s3v1j7mP6XHn4lH1wE";
    let body = format!(
        "login by ann@example.com from 10.0.0.7 / 2001:db8::7 with Authorization: Bearer {token} key AKIAIOSFODNN7EXAMPLE"
    );
    let out = one_record(&mut p, Some(s(&body)), vec![kv("method", s("POST"))]);
    assert_eq!(out.body, Some(s("login by **** from **** / **** with Authorization: Bearer **** key ****")));
    // The bearer token is also a JWT: it counts once.
    assert_eq!(out.attributes, vec![kv("method", s("POST")), kv("redaction.masked.count", int(1))]);
}

#[test]
fn map_and_array_bodies_are_redacted_recursively() {
    let mut p = processor(json!({
        "allowed_keys": ["user", "email", "password", "tags", "level"],
        "detectors": ["email", "ipv4", "aegis_sensitive_keys"],
        "summary": "debug",
    }));
    let body = map(vec![
        kv("level", s("info")),
        kv("user", map(vec![kv("email", s("a@b.example")), kv("password", s("pw")), kv("phone", s("+1 555"))])),
        kv("tags", list(vec![s("ok"), s("from 10.0.0.1"), list(vec![s("c@d.example")])])),
    ]);
    let out = one_record(&mut p, Some(body), vec![]);
    assert_eq!(
        out.body,
        Some(map(vec![
            kv("level", s("info")),
            kv("user", map(vec![kv("email", s("****")), kv("password", s("****"))])),
            kv("tags", list(vec![s("ok"), s("from ****"), list(vec![s("****")])])),
        ]))
    );
    assert_eq!(
        out.attributes,
        vec![
            kv("redaction.masked.count", int(4)),
            kv("redaction.masked.keys", s("body.tags[1],body.tags[2][0],body.user.email,body.user.password")),
            kv("redaction.redacted.count", int(1)),
            kv("redaction.redacted.keys", s("body.user.phone")),
        ]
    );
}

#[test]
fn nested_attribute_values_follow_the_same_rules() {
    let mut p = processor(json!({ "allow_all_keys": true, "detectors": ["email", "aegis_sensitive_keys"] }));
    let out = one_record(
        &mut p,
        None,
        vec![kv(
            "http.request.headers",
            map(vec![kv("cookie", s("sid=1")), kv("from", s("me@example.com")), kv("accept", s("*/*"))]),
        )],
    );
    assert_eq!(
        out.attributes,
        vec![kv(
            "http.request.headers",
            map(vec![kv("cookie", s("****")), kv("from", s("****")), kv("accept", s("*/*"))])
        )]
    );
}

#[test]
fn integers_that_are_card_numbers_are_masked() {
    let mut p = processor(json!({ "allow_all_keys": true, "detectors": ["credit_card"] }));
    let out = one_record(&mut p, None, vec![kv("card", int(4111111111111111)), kv("order", int(4111111111111112))]);
    assert_eq!(out.attributes, vec![kv("card", s("****")), kv("order", int(4111111111111112))]);
}

#[test]
fn sha256_hashes_replace_masks_and_keep_values_joinable() {
    let mut p = processor(json!({ "allow_all_keys": true, "detectors": ["email"], "hash": "sha256" }));
    let out = one_record(
        &mut p,
        None,
        vec![kv("user.email", s("ann@example.com")), kv("note", s("mail ann@example.com now"))],
    );
    let digest = sha256_hex(b"ann@example.com");
    assert_eq!(out.attributes, vec![kv("user.email", s(&digest)), kv("note", s(&format!("mail {digest} now")))]);
}

#[test]
fn hmac_sha256_hashes_under_the_key_from_the_environment() {
    let config = Config::from_value(json!({
        "allow_all_keys": true,
        "detectors": ["aegis_sensitive_keys"],
        "hash": "hmac-sha256",
        "hash_key_env": "REDACT_KEY",
    }));
    let mut p = Redact::with_env(config, |name| (name == "REDACT_KEY").then(|| "s3cr3t".to_owned())).unwrap();
    let out = one_record(&mut p, None, vec![kv("api_key", s("abc")), kv("token", int(7))]);
    assert_eq!(
        out.attributes,
        vec![kv("api_key", s(&hmac_sha256_hex(b"s3cr3t", b"abc"))), kv("token", s(&hmac_sha256_hex(b"s3cr3t", b"7")))]
    );
    assert_ne!(hmac_sha256_hex(b"s3cr3t", b"abc"), sha256_hex(b"abc"));
}

#[test]
fn summary_info_adds_counts_and_silent_adds_nothing() {
    let attributes = || vec![kv("user.email", s("a@b.example")), kv("password", s("x")), kv("gone", s("y"))];
    let config = |summary: &str| {
        json!({
            "allowed_keys": ["user.email", "password"],
            "detectors": ["email", "aegis_sensitive_keys"],
            "summary": summary,
        })
    };
    let out = one_record(&mut processor(config("info")), None, attributes());
    assert_eq!(
        out.attributes,
        vec![
            kv("user.email", s("****")),
            kv("password", s("****")),
            kv("redaction.masked.count", int(2)),
            kv("redaction.redacted.count", int(1)),
        ]
    );
    let out = one_record(&mut processor(config("silent")), None, attributes());
    assert_eq!(out.attributes, vec![kv("user.email", s("****")), kv("password", s("****"))]);
}

#[test]
fn a_second_redaction_adds_to_the_summary_of_the_first() {
    let mut p = processor(json!({ "allow_all_keys": true, "detectors": ["email"], "summary": "debug" }));
    let out = one_record(
        &mut p,
        None,
        vec![
            kv("redaction.masked.count", int(2)),
            kv("redaction.masked.keys", s("a,z")),
            kv("user.email", s("a@b.example")),
        ],
    );
    assert_eq!(
        out.attributes,
        // The earlier summary is updated where it was.
        vec![
            kv("redaction.masked.count", int(3)),
            kv("redaction.masked.keys", s("a,user.email,z")),
            kv("user.email", s("****")),
        ]
    );
}

#[test]
fn resource_and_scope_attributes_are_redacted_with_their_own_summary() {
    let mut p = processor(json!({ "allow_all_keys": true, "detectors": ["email", "ipv4"], "summary": "info" }));
    let mut request = ExportLogsServiceRequest::decode(
        &logs(vec![(
            vec![
                kv("service.name", s("aegis-backend")),
                kv("owner", s("team@example.com")),
                kv("host.ip", s("10.2.3.4")),
            ],
            vec![record(Some(s("clean")), vec![])],
        )])[..],
    )
    .unwrap();
    request.resource_logs[0].scope_logs[0].scope.as_mut().unwrap().attributes =
        vec![kv("maintainer", s("me@example.com"))];
    let out = run_logs(&mut p, &request.encode_to_vec());
    assert_eq!(
        out.resource_logs[0].resource.clone().unwrap().attributes,
        vec![
            kv("service.name", s("aegis-backend")),
            kv("owner", s("****")),
            kv("host.ip", s("****")),
            kv("redaction.masked.count", int(2)),
        ]
    );
    let scope = out.resource_logs[0].scope_logs[0].scope.clone().unwrap();
    assert_eq!(scope.name, "aegis-backend");
    assert_eq!(scope.attributes, vec![kv("maintainer", s("****")), kv("redaction.masked.count", int(1))]);
    // The record had nothing to hide.
    assert_eq!(out.resource_logs[0].scope_logs[0].log_records[0].attributes, vec![]);
}

#[test]
fn where_limits_redaction_to_matching_records_and_their_resources() {
    let mut p = processor(json!({
        "allow_all_keys": true,
        "detectors": ["email"],
        "where": "attributes[\"tenant\"] == \"acme\"",
    }));
    let input = logs(vec![
        (
            vec![kv("owner", s("a@acme.example"))],
            vec![
                record(Some(s("from b@acme.example")), vec![kv("tenant", s("acme"))]),
                record(Some(s("from c@other.example")), vec![kv("tenant", s("other"))]),
            ],
        ),
        (
            vec![kv("owner", s("d@other.example"))],
            vec![record(Some(s("from e@other.example")), vec![kv("tenant", s("other"))])],
        ),
    ]);
    let out = run_logs(&mut p, &input);
    let bodies: Vec<_> = out
        .resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| &s.log_records)
        .map(|r| r.body.clone().unwrap())
        .collect();
    assert_eq!(bodies, vec![s("from ****"), s("from c@other.example"), s("from e@other.example")]);
    let owners: Vec<_> = out.resource_logs.iter().map(|r| r.resource.clone().unwrap().attributes).collect();
    assert_eq!(owners, vec![vec![kv("owner", s("****"))], vec![kv("owner", s("d@other.example"))]]);
}

#[test]
fn span_and_span_event_attributes_are_redacted() {
    let mut p =
        processor(json!({ "allow_all_keys": true, "detectors": ["email", "aegis_sensitive_keys"], "summary": "info" }));
    let span = PSpan {
        name: "POST /api/v1/users".into(),
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        attributes: vec![kv("http.method", s("POST")), kv("http.request.header.authorization", s("Basic dTpw"))],
        events: vec![
            Event { name: "clean".into(), time_unix_nano: 5, attributes: vec![kv("n", int(1))], ..Default::default() },
            Event {
                name: "invite".into(),
                time_unix_nano: 6,
                attributes: vec![kv("to", s("x@example.com"))],
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let input = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans { spans: vec![span.clone()], ..Default::default() }],
            ..Default::default()
        }],
    }
    .encode_to_vec();
    let out = ExportTraceServiceRequest::decode(&run(&mut p, Signal::Traces, &input)[..]).unwrap();
    let got = out.resource_spans[0].scope_spans[0].spans[0].clone();
    let expected = PSpan {
        attributes: vec![
            kv("http.method", s("POST")),
            kv("http.request.header.authorization", s("****")),
            kv("redaction.masked.count", int(1)),
        ],
        events: vec![
            span.events[0].clone(),
            Event {
                name: "invite".into(),
                time_unix_nano: 6,
                attributes: vec![kv("to", s("****")), kv("redaction.masked.count", int(1))],
                ..Default::default()
            },
        ],
        ..span
    };
    assert_eq!(got, expected);
}

#[test]
fn data_point_attributes_are_redacted() {
    let mut p = processor(json!({ "allow_all_keys": true, "detectors": ["ipv4"] }));
    let point = |address: &str| NumberDataPoint {
        attributes: vec![kv("client.address", s(address)), kv("method", s("GET"))],
        time_unix_nano: 9,
        value: Some(number_data_point::Value::AsInt(3)),
        ..Default::default()
    };
    let input = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![PMetric {
                    name: "http_requests".into(),
                    data: Some(metric::Data::Gauge(Gauge { data_points: vec![point("10.9.8.7"), point("localhost")] })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec();
    let out = ExportMetricsServiceRequest::decode(&run(&mut p, Signal::Metrics, &input)[..]).unwrap();
    let metric = &out.resource_metrics[0].scope_metrics[0].metrics[0];
    let Some(metric::Data::Gauge(gauge)) = &metric.data else { panic!("a gauge") };
    assert_eq!(gauge.data_points, vec![point("****"), point("localhost")]);
}

#[test]
fn values_nested_deeper_than_followed_are_masked_whole_without_a_stack_overflow() {
    let mut p = processor(json!({ "allow_all_keys": true, "detectors": ["email"] }));
    let mut value = s("deep@example.com");
    for _ in 0..40 {
        value = list(vec![value]);
    }
    // Deeper than the host lets through: only a plugin's own tests can send this.
    let input = logs(vec![(vec![], vec![record(Some(value), vec![])])]);
    let Outcome::Replaced(out) = run_processor(&mut p, Signal::Logs, &input).unwrap() else { panic!("masked") };
    let out = ExportLogsServiceRequest::decode(&out[..]).unwrap();
    let mut body = out.resource_logs[0].scope_logs[0].log_records[0].body.clone().unwrap();
    let mut depth = 0;
    while let Some(V::ArrayValue(array)) = body.value {
        body = array.values[0].clone();
        depth += 1;
    }
    assert_eq!((depth, body), (33, s("****")));
}

#[test]
fn a_string_that_is_not_utf8_is_masked_whole_when_it_holds_something() {
    // The host refuses such strings; a plugin's own caller might not. Encode bytes, then
    // turn the bytes field (7) into a string field (1).
    let content = b"\xffmail ann@example.com";
    let mut input =
        logs(vec![(vec![], vec![record(None, vec![kv("note", Pv { value: Some(V::BytesValue(content.to_vec())) })])])]);
    let mut marker = vec![0x3a, content.len() as u8];
    marker.extend_from_slice(content);
    let at = input.windows(marker.len()).position(|w| w == marker).expect("the encoded bytes value");
    input[at] = 0x0a;
    let mut p = processor(json!({ "allow_all_keys": true, "detectors": ["email"] }));
    let out = run_logs(&mut p, &input);
    assert_eq!(out.resource_logs[0].scope_logs[0].log_records[0].attributes, vec![kv("note", s("****"))]);
}

#[test]
fn a_single_change_keeps_the_other_attributes_in_place() {
    let mut p = processor(json!({ "allowed_keys": ["a", "b", "c"] }));
    let out = one_record(&mut p, None, vec![kv("a", s("1")), kv("gone", s("2")), kv("c", s("3"))]);
    assert_eq!(out.attributes, vec![kv("a", s("1")), kv("c", s("3"))]);
    let mut p = processor(json!({ "allow_all_keys": true, "detectors": ["ipv4"] }));
    let out = one_record(&mut p, None, vec![kv("a", s("1")), kv("ip", s("10.0.0.1")), kv("c", s("3"))]);
    assert_eq!(out.attributes, vec![kv("a", s("1")), kv("ip", s("****")), kv("c", s("3"))]);
}

#[test]
fn an_attribute_that_appears_twice_is_redacted_in_both_places() {
    let mut p = processor(json!({ "allow_all_keys": true, "detectors": ["email"], "summary": "info" }));
    let out = one_record(
        &mut p,
        None,
        vec![kv("user.email", s("a@b.example")), kv("method", s("GET")), kv("user.email", s("c@d.example"))],
    );
    assert_eq!(
        out.attributes,
        vec![
            kv("user.email", s("****")),
            kv("method", s("GET")),
            kv("user.email", s("****")),
            kv("redaction.masked.count", int(2)),
        ]
    );
}

#[test]
fn a_summary_attribute_that_appears_twice_is_updated_in_its_first_place() {
    let mut p = processor(json!({ "allow_all_keys": true, "detectors": ["email"], "summary": "info" }));
    let out = one_record(
        &mut p,
        None,
        vec![
            kv("redaction.masked.count", int(1)),
            kv("user.email", s("a@b.example")),
            kv("redaction.masked.count", int(5)),
        ],
    );
    // The last occurrence is the value (protobuf's last-one-wins); it is written where
    // the first one was.
    assert_eq!(out.attributes, vec![kv("redaction.masked.count", int(6)), kv("user.email", s("****"))]);
}

#[test]
fn a_record_whose_body_and_attributes_both_change_gets_both_changes_and_one_summary() {
    let config = json!({
        "allowed_keys": ["user.email", "note"],
        "detectors": ["email", "ipv4"],
        "summary": "debug",
    });
    let attributes =
        || vec![kv("user.email", s("ann@example.com")), kv("gone", s("x")), kv("note", s("from 10.0.0.7"))];
    let expected_attributes = vec![
        kv("user.email", s("****")),
        kv("note", s("from ****")),
        kv("redaction.masked.count", int(3)),
        kv("redaction.masked.keys", s("body,note,user.email")),
        kv("redaction.redacted.count", int(1)),
        kv("redaction.redacted.keys", s("gone")),
    ];
    let out = one_record(&mut processor(config.clone()), Some(s("mail bob@example.org now")), attributes());
    assert_eq!(out.body, Some(s("mail **** now")));
    assert_eq!(out.attributes, expected_attributes);

    // The body encoded after the attributes, and twice: the last one is the body, as
    // protobuf reads it, and it is the one redacted.
    let mut bytes = record(None, attributes()).encode_to_vec();
    bytes.extend(record(Some(s("first bob@example.org")), vec![]).encode_to_vec());
    bytes.extend(PLog { body: Some(s("last eve@example.org")), ..Default::default() }.encode_to_vec());
    assert_eq!(PLog::decode(&bytes[..]).expect("a valid record").body, Some(s("last eve@example.org")));
    // Wrapped by hand, since prost would write the fields in order again.
    let len_field = |number: u32, payload: &[u8]| {
        let mut out = Vec::new();
        prost::encoding::encode_key(number, prost::encoding::WireType::LengthDelimited, &mut out);
        prost::encoding::encode_varint(payload.len() as u64, &mut out);
        out.extend_from_slice(payload);
        out
    };
    let request = len_field(1, &len_field(2, &len_field(2, &bytes)));
    let out = run_logs(&mut processor(config), &request);
    let out = &out.resource_logs[0].scope_logs[0].log_records[0];
    assert_eq!(out.body, Some(s("last ****")));
    assert_eq!(out.attributes, expected_attributes);
}
