//! The processor on whole batches: what arrives in the records and resources, what is
//! counted, and what happens to lines that do not parse.

use aegis_plugin_sdk::{Outcome, run_processor};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, KeyValueList, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord as PbRecord, ResourceLogs as PbResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource as PbResource;
use prost::Message;
use serde_json::json;

use super::*;

/// 2024-03-01T00:00:00Z, for formats without a year.
fn fixed_wall() -> u64 {
    1_709_251_200_000_000_000
}

static MONOTONIC: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn fixed_monotonic() -> u64 {
    MONOTONIC.load(std::sync::atomic::Ordering::Relaxed)
}

fn processor(config: serde_json::Value) -> ParseLogs {
    let mut p = ParseLogs::init(Config::from_value(config)).unwrap();
    p.wall_clock = fixed_wall;
    p.monotonic_clock = fixed_monotonic;
    p
}

fn string(s: &str) -> Option<AnyValue> {
    Some(AnyValue { value: Some(any_value::Value::StringValue(s.into())) })
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue { key: key.into(), value: string(value), ..Default::default() }
}

fn record(body: &str) -> PbRecord {
    PbRecord { body: string(body), observed_time_unix_nano: 5, ..Default::default() }
}

/// One resource (with these attributes) and scope holding `records`.
fn resource(attributes: Vec<KeyValue>, records: Vec<PbRecord>) -> PbResourceLogs {
    PbResourceLogs {
        resource: Some(PbResource { attributes, ..Default::default() }),
        scope_logs: vec![ScopeLogs {
            scope: Some(InstrumentationScope { name: "filelog".into(), ..Default::default() }),
            log_records: records,
            schema_url: "https://opentelemetry.io/schemas/1.24.0".into(),
        }],
        schema_url: "https://opentelemetry.io/schemas/1.24.0".into(),
    }
}

fn request(resources: Vec<PbResourceLogs>) -> Vec<u8> {
    ExportLogsServiceRequest { resource_logs: resources }.encode_to_vec()
}

fn lines(lines: &[&str]) -> Vec<u8> {
    request(vec![resource(vec![], lines.iter().map(|l| record(l)).collect())])
}

/// Runs the processor; the batch as it comes out, checked the way the host checks it.
fn run(p: &mut ParseLogs, input: &[u8]) -> ExportLogsServiceRequest {
    let out = match run_processor(p, Signal::Logs, input).unwrap() {
        Outcome::Replaced(bytes) => bytes,
        Outcome::Unchanged => input.to_vec(),
        Outcome::Dropped => Vec::new(),
    };
    aegis_plugin_sdk::wire::validate(Signal::Logs, &out).expect("the output is valid OTLP");
    ExportLogsServiceRequest::decode(&out[..]).unwrap()
}

fn records(out: &ExportLogsServiceRequest) -> Vec<PbRecord> {
    out.resource_logs.iter().flat_map(|r| &r.scope_logs).flat_map(|s| s.log_records.clone()).collect()
}

fn service_of(resource: &PbResourceLogs) -> Option<String> {
    let attrs = &resource.resource.as_ref()?.attributes;
    attrs.iter().find(|kv| kv.key == "service.name").and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        _ => None,
    })
}

fn value(record: &PbRecord, key: &str) -> Option<any_value::Value> {
    record.attributes.iter().find(|kv| kv.key == key).and_then(|kv| kv.value.clone()?.value)
}

fn body(record: &PbRecord) -> Option<any_value::Value> {
    record.body.clone()?.value
}

fn text(s: &str) -> Option<any_value::Value> {
    Some(any_value::Value::StringValue(s.into()))
}

fn keys(record: &PbRecord) -> Vec<&str> {
    record.attributes.iter().map(|kv| kv.key.as_str()).collect()
}

const BACKEND: &str = r#"{"timestamp": "2024-01-25T14:30:45.123Z", "level": "info", "service": "aegis-backend", "message": "User created successfully", "trace_id": "a1b2c3d4e5f6", "span_id": "0102030405060708", "method": "POST", "path": "/api/v1/users", "status_code": 201, "duration_ms": 45, "user_id": "admin-uuid"}"#;
const AI: &str = r#"{"timestamp": "2024-01-25T14:31:00.000Z", "level": "warning", "service": "aegis-ai-engine", "message": "Anomaly detected", "trace_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90", "z_score": 3.7, "metrics": {"cpu": 0.93, "window": "5m"}}"#;
const EXECUTOR: &str = r#"{"timestamp": 1706193075000, "level": "error", "service": "aegis-executor", "message": "Remediation failed", "action": "restart_pod", "dry_run": false}"#;

#[test]
fn an_aegis_json_line_becomes_a_record_with_time_severity_ids_body_and_typed_attributes() {
    let mut p = processor(json!({"format": "json"}));
    let out = run(&mut p, &lines(&[BACKEND]));
    let got = records(&out);
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.time_unix_nano, 1_706_193_045_123_000_000);
    assert_eq!(r.observed_time_unix_nano, 5);
    assert_eq!((r.severity_number, r.severity_text.as_str()), (9, "info"));
    assert_eq!(r.trace_id, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6]);
    assert_eq!(r.span_id, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(body(r), text("User created successfully"));
    assert_eq!(keys(r), ["method", "path", "status_code", "duration_ms", "user_id"]);
    assert_eq!(value(r, "status_code"), Some(any_value::Value::IntValue(201)));
    assert_eq!(value(r, "duration_ms"), Some(any_value::Value::IntValue(45)));
    assert_eq!(value(r, "user_id"), text("admin-uuid"));
    // The only resource had no service.name; it takes the line's.
    assert_eq!(out.resource_logs.len(), 1);
    assert_eq!(service_of(&out.resource_logs[0]).as_deref(), Some("aegis-backend"));
}

#[test]
fn records_of_other_services_move_to_a_copy_of_their_resource() {
    let mut p = processor(json!({"format": "json"}));
    let input = request(vec![resource(
        vec![kv("host.name", "node-1")],
        vec![record(BACKEND), record(AI), record(BACKEND), record(EXECUTOR)],
    )]);
    let out = run(&mut p, &input);
    let services: Vec<Option<String>> = out.resource_logs.iter().map(service_of).collect();
    assert_eq!(services, [Some("aegis-backend".into()), Some("aegis-ai-engine".into()), Some("aegis-executor".into())]);
    let per_resource: Vec<Vec<Option<any_value::Value>>> = out
        .resource_logs
        .iter()
        .map(|r| r.scope_logs.iter().flat_map(|s| &s.log_records).map(body).collect())
        .collect();
    assert_eq!(
        per_resource,
        [
            vec![text("User created successfully"), text("User created successfully")],
            vec![text("Anomaly detected")],
            vec![text("Remediation failed")],
        ]
    );
    for moved in &out.resource_logs[1..] {
        // The copies keep the resource's other attributes, the scope and the schema URLs.
        let attrs = &moved.resource.as_ref().unwrap().attributes;
        assert_eq!(attrs[0], kv("host.name", "node-1"));
        assert_eq!(moved.schema_url, "https://opentelemetry.io/schemas/1.24.0");
        assert_eq!(moved.scope_logs[0].scope.as_ref().unwrap().name, "filelog");
        assert_eq!(moved.scope_logs[0].schema_url, "https://opentelemetry.io/schemas/1.24.0");
    }
    let ai = &out.resource_logs[1].scope_logs[0].log_records[0];
    assert_eq!((ai.severity_number, ai.severity_text.as_str()), (13, "warning"));
    assert_eq!(
        ai.trace_id,
        [0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18, 0x29, 0x3a, 0x4b, 0x5c, 0x6d, 0x7e, 0x8f, 0x90]
    );
    assert_eq!(value(ai, "z_score"), Some(any_value::Value::DoubleValue(3.7)));
    assert_eq!(
        value(ai, "metrics"),
        Some(any_value::Value::KvlistValue(KeyValueList {
            values: vec![
                KeyValue {
                    key: "cpu".into(),
                    value: Some(AnyValue { value: Some(any_value::Value::DoubleValue(0.93)) }),
                    ..Default::default()
                },
                kv("window", "5m"),
            ]
        }))
    );
    let executor = &out.resource_logs[2].scope_logs[0].log_records[0];
    assert_eq!(executor.time_unix_nano, 1_706_193_075_000_000_000);
    assert_eq!((executor.severity_number, executor.severity_text.as_str()), (17, "error"));
    assert_eq!(value(executor, "dry_run"), Some(any_value::Value::BoolValue(false)));
}

#[test]
fn a_resource_that_names_its_service_keeps_it_and_only_other_services_move() {
    let mut p = processor(json!({"format": "json"}));
    let input = request(vec![resource(vec![kv("service.name", "aegis-ai-engine")], vec![record(BACKEND), record(AI)])]);
    let out = run(&mut p, &input);
    assert_eq!(out.resource_logs.len(), 2);
    assert_eq!(service_of(&out.resource_logs[0]).as_deref(), Some("aegis-ai-engine"));
    assert_eq!(body(&out.resource_logs[0].scope_logs[0].log_records[0]), text("Anomaly detected"));
    assert_eq!(service_of(&out.resource_logs[1]).as_deref(), Some("aegis-backend"));
    assert_eq!(body(&out.resource_logs[1].scope_logs[0].log_records[0]), text("User created successfully"));
}

#[test]
fn records_without_a_service_keep_the_resource_as_it_came() {
    let mut p = processor(json!({"format": "json"}));
    let input = request(vec![resource(vec![], vec![record(r#"{"message": "no service"}"#), record(BACKEND)])]);
    let out = run(&mut p, &input);
    assert_eq!(out.resource_logs.len(), 2);
    assert_eq!(service_of(&out.resource_logs[0]), None);
    assert_eq!(body(&out.resource_logs[0].scope_logs[0].log_records[0]), text("no service"));
    assert_eq!(service_of(&out.resource_logs[1]).as_deref(), Some("aegis-backend"));
}

#[test]
fn an_empty_service_field_name_leaves_resources_alone() {
    let mut p = processor(json!({"format": "json", "service_field": ""}));
    let out = run(&mut p, &lines(&[BACKEND, AI]));
    assert_eq!(out.resource_logs.len(), 1);
    assert_eq!(service_of(&out.resource_logs[0]), None);
    assert_eq!(value(&records(&out)[1], "service"), text("aegis-ai-engine"));
}

#[test]
fn lines_that_do_not_parse_pass_unchanged_tagged_with_the_reason() {
    let mut p = processor(json!({"format": "json", "error_attribute": "parse.error"}));
    let input = lines(&[r#"{"level": "info", "message": "truncated"#, "plain text", BACKEND]);
    let out = run(&mut p, &input);
    let got = records(&out);
    assert_eq!(got.len(), 3);
    assert_eq!(body(&got[0]), text(r#"{"level": "info", "message": "truncated"#));
    assert_eq!(value(&got[0], "parse.error"), text("json: EOF while parsing a string at line 1 column 39"));
    assert_eq!((got[0].time_unix_nano, got[0].severity_number), (0, 0));
    assert_eq!(value(&got[1], "parse.error"), text("json: expected value at line 1 column 1"));
    assert_eq!(body(&got[2]), text("User created successfully"));
    // The failures stay in the resource; only the parsed line named a service, so the
    // resource keeps no name and that record moves.
    assert_eq!(out.resource_logs.len(), 2);
    assert_eq!(p.run(&mut Logs::parse(&input).unwrap()), Counts { parsed: 1, failed: 2, ..Default::default() });
}

#[test]
fn lines_that_do_not_parse_are_dropped_when_asked() {
    let mut p = processor(json!({"format": "json", "on_failure": "drop"}));
    let out = run(&mut p, &lines(&["not json", BACKEND, "{"]));
    let got = records(&out);
    assert_eq!(got.len(), 1);
    assert_eq!(body(&got[0]), text("User created successfully"));
    assert_eq!(service_of(&out.resource_logs[0]).as_deref(), Some("aegis-backend"));
    let mut p = processor(json!({"format": "json", "on_failure": "drop"}));
    assert_eq!(run_processor(&mut p, Signal::Logs, &lines(&["x", "y"])).unwrap(), Outcome::Dropped);
}

#[test]
fn records_without_text_are_skipped_and_an_untouched_batch_is_unchanged() {
    let mut p = processor(json!({"format": "json"}));
    let int_body =
        PbRecord { body: Some(AnyValue { value: Some(any_value::Value::IntValue(3)) }), ..Default::default() };
    let input = request(vec![resource(vec![], vec![int_body, PbRecord::default()])]);
    assert_eq!(run_processor(&mut p, Signal::Logs, &input).unwrap(), Outcome::Unchanged);
    assert_eq!(p.run(&mut Logs::parse(&input).unwrap()), Counts { skipped: 2, ..Default::default() });
    assert_eq!(run_processor(&mut p, Signal::Logs, &[]).unwrap(), Outcome::Unchanged);
}

#[test]
fn an_attribute_can_be_the_source_and_the_raw_line_can_be_kept() {
    let mut p = processor(json!({
        "format": "logfmt", "source": "attributes.log", "keep_original": true, "service_field": ""
    }));
    let line = r#"time=2024-01-25T10:30:45.123Z level=warn msg="disk almost full" mount=/data"#;
    let mut input = record("the body stays");
    input.attributes = vec![kv("log", line), kv("mount", "old"), kv("k8s.pod.name", "api-0")];
    let out = run(&mut p, &request(vec![resource(vec![], vec![input])]));
    let r = &records(&out)[0];
    assert_eq!(body(r), text("disk almost full"));
    assert_eq!(r.time_unix_nano, 1_706_178_645_123_000_000);
    assert_eq!((r.severity_number, r.severity_text.as_str()), (13, "warn"));
    // The source attribute was consumed; a parsed key the record had replaced it in place.
    assert_eq!(keys(r), ["mount", "k8s.pod.name", "log.record.original"]);
    assert_eq!(value(r, "mount"), text("/data"));
    assert_eq!(value(r, "log.record.original"), text(line));
}

#[test]
fn huge_fields_and_unicode_survive_intact() {
    let mut p = processor(json!({"format": "json", "keep_original": true}));
    let message = "x".repeat(100 * 1024);
    let unicode = "Ünïcödé 日本語のログ 🚀🔥 e\u{301}\u{302} \u{200d}";
    let huge = json!({"level": "debug", "message": message, "note": unicode}).to_string();
    let escaped = r#"{"message": "line\nbreak \"quoted\" \ud83d\ude80", "emoji_key_🔑": "v"}"#;
    let out = run(&mut p, &lines(&[&huge, escaped]));
    let got = records(&out);
    assert_eq!(body(&got[0]), text(&message));
    assert_eq!(value(&got[0], "note"), text(unicode));
    assert_eq!(value(&got[0], "log.record.original"), text(&huge));
    assert_eq!(body(&got[1]), text("line\nbreak \"quoted\" 🚀"));
    assert_eq!(value(&got[1], "emoji_key_🔑"), text("v"));
}

#[test]
fn unconvertible_fields_stay_attributes_and_are_counted() {
    let mut p = processor(json!({"format": "json", "pad_ids": false}));
    let input = lines(&[r#"{"timestamp": "soon", "level": "chatty", "trace_id": "a1b2c3d4e5f6", "message": "m"}"#]);
    let r = &records(&run(&mut p, &input))[0];
    assert_eq!((r.time_unix_nano, r.severity_number, r.severity_text.as_str()), (0, 0, "chatty"));
    assert!(r.trace_id.is_empty());
    assert_eq!(keys(r), ["timestamp", "trace_id"]);
    let counts = p.run(&mut Logs::parse(&input).unwrap());
    assert_eq!(counts.invalid, [1, 1, 0, 0, 1, 0]);
}

#[test]
fn flattened_objects_use_the_separator() {
    let mut p = processor(json!({"format": "json", "nested": "flatten", "separator": "_"}));
    let r = &records(&run(&mut p, &lines(&[AI])))[0];
    assert_eq!(keys(r), ["z_score", "metrics_cpu", "metrics_window"]);
}

#[test]
fn parsed_keys_replace_attributes_the_record_already_had() {
    let mut p = processor(json!({"format": "json"}));
    let mut input = record(r#"{"message": "m", "env": "prod", "new": 1}"#);
    input.attributes = vec![kv("env", "dev"), kv("log.file.path", "/var/log/app.log")];
    let r = &records(&run(&mut p, &request(vec![resource(vec![], vec![input])])))[0];
    assert_eq!(keys(r), ["env", "log.file.path", "new"]);
    assert_eq!(value(r, "env"), text("prod"));
}

#[test]
fn regex_captures_map_to_the_record_fields() {
    let mut p = processor(json!({
        "format": "regex",
        "pattern": r"^(?P<timestamp>\S+) \[(?P<level>\w+)\] (?P<component>[\w.]+): (?P<message>.*)$",
        "time_format": "%Y-%m-%dT%H:%M:%S%.f%z"
    }));
    let out = run(&mut p, &lines(&["2024-01-25T10:30:45.5+00:00 [ERROR] db.pool: Connection pool exhausted", "nope"]));
    let got = records(&out);
    assert_eq!(got[0].time_unix_nano, 1_706_178_645_500_000_000);
    assert_eq!((got[0].severity_number, got[0].severity_text.as_str()), (17, "ERROR"));
    assert_eq!(body(&got[0]), text("Connection pool exhausted"));
    assert_eq!(value(&got[0], "component"), text("db.pool"));
    assert_eq!(body(&got[1]), text("nope"));
}

#[test]
fn access_syslog_and_klog_lines_become_records() {
    let mut nginx = processor(json!({"format": "nginx"}));
    let line = r#"203.0.113.7 - - [25/Jan/2024:14:30:45 +0000] "POST /api/v1/users HTTP/1.1" 201 512 "-" "curl/8.5.0""#;
    let r = &records(&run(&mut nginx, &lines(&[line])))[0];
    assert_eq!(r.time_unix_nano, 1_706_193_045_000_000_000);
    assert_eq!(value(r, "http.response.status_code"), Some(any_value::Value::IntValue(201)));
    assert_eq!(body(r), text(line));

    let mut syslog = processor(json!({"format": "syslog_rfc3164"}));
    let r =
        &records(&run(&mut syslog, &lines(&["<11>Jan 25 10:30:45 node-1 aegis-executor[4242]: restart failed"])))[0];
    assert_eq!((r.severity_number, r.severity_text.as_str()), (17, "err"));
    assert_eq!(r.time_unix_nano, 1_706_178_645_000_000_000);
    assert_eq!(body(r), text("restart failed"));
    assert_eq!(value(r, "syslog.procid"), text("4242"));

    let mut klog = processor(json!({"format": "klog"}));
    let r = &records(&run(&mut klog, &lines(&["E0125 10:30:45.000100    1 pod.go:7] \"Failed\" pod=\"a/b\"\n"])))[0];
    assert_eq!((r.severity_number, r.severity_text.as_str()), (17, "ERROR"));
    assert_eq!(body(r), text("Failed"));
    assert_eq!(value(r, "pod"), text("a/b"));
}

fn cri(p: &mut ParseLogs, lines_in: &[&str]) -> Vec<PbRecord> {
    let mut rs: Vec<PbRecord> = lines_in.iter().map(|l| record(l)).collect();
    for r in &mut rs {
        r.attributes = vec![kv("log.file.path", "/var/log/pods/api/0.log")];
    }
    records(&run(p, &request(vec![resource(vec![kv("k8s.pod.name", "api-0")], rs)])))
}

#[test]
fn cri_partial_lines_are_joined_within_a_batch_and_across_batches() {
    let mut p = processor(json!({"format": "cri"}));
    let got = cri(
        &mut p,
        &[
            "2024-01-25T10:30:45.000000001Z stdout P first ",
            "2024-01-25T10:30:45.000000002Z stderr F an error",
            "2024-01-25T10:30:45.000000003Z stdout P second ",
            "2024-01-25T10:30:45.000000004Z stdout F third",
            "2024-01-25T10:30:46Z stdout P held over ",
        ],
    );
    assert_eq!(got.len(), 2);
    assert_eq!(body(&got[0]), text("an error"));
    assert_eq!(value(&got[0], "log.iostream"), text("stderr"));
    assert_eq!(body(&got[1]), text("first second third"));
    assert_eq!(got[1].time_unix_nano, 1_706_178_645_000_000_001);
    assert_eq!(value(&got[1], "logtag"), text("F"));
    assert_eq!(value(&got[1], "log.file.path"), text("/var/log/pods/api/0.log"));
    // The held piece waits for the next batch.
    let got = cri(&mut p, &["2024-01-25T10:30:47Z stdout F the batch after"]);
    assert_eq!(body(&got[0]), text("held over the batch after"));
    assert_eq!(got[0].time_unix_nano, 1_706_178_646_000_000_000);
    assert!(p.partials.is_empty());
}

#[test]
fn cri_pieces_that_wait_too_long_or_grow_too_large_are_emitted_as_they_are() {
    let mut p = processor(json!({"format": "cri", "partial_timeout": "1s", "max_partial_size": 10}));
    let got = cri(
        &mut p,
        &[
            "2024-01-25T10:30:45Z stdout P 12345",
            "2024-01-25T10:30:46Z stdout P 67890ab",
            "2024-01-25T10:30:47Z stdout P tail",
        ],
    );
    // The first two pieces reached 10 bytes: the second record carries them.
    assert_eq!(got.len(), 1);
    assert_eq!(body(&got[0]), text("1234567890ab"));
    assert_eq!(value(&got[0], "logtag"), text("P"));
    // A second later the held "tail" is emitted, in a resource of its own, by the next batch.
    MONOTONIC.store(2_000_000_000, std::sync::atomic::Ordering::Relaxed);
    let out = run(&mut p, &lines(&[]));
    MONOTONIC.store(0, std::sync::atomic::Ordering::Relaxed);
    let got = records(&out);
    assert_eq!(got.len(), 1);
    assert_eq!(body(&got[0]), text("tail"));
    assert_eq!(got[0].time_unix_nano, 1_706_178_647_000_000_000);
    assert_eq!(value(&got[0], "logtag"), text("P"));
    assert_eq!(value(&got[0], "log.iostream"), text("stdout"));
    assert_eq!(value(&got[0], "log.file.path"), text("/var/log/pods/api/0.log"));
    let resource = out.resource_logs.last().unwrap().resource.clone().unwrap();
    assert_eq!(resource.attributes, vec![kv("k8s.pod.name", "api-0")]);
}

#[test]
fn cri_joining_can_be_turned_off() {
    let mut p = processor(json!({"format": "cri", "join_partial": false}));
    let got = cri(&mut p, &["2024-01-25T10:30:45Z stdout P a", "2024-01-25T10:30:45Z stdout F b"]);
    let tags: Vec<_> = got.iter().map(|r| value(r, "logtag")).collect();
    assert_eq!(tags, [text("P"), text("F")]);
}

/// Timing, natively: `cargo test --release -p aegis-plugin-parse-logs -- --ignored --nocapture timing`
/// (the benchmarks in `benches/plugins/parse_logs.rs` compare with the Wasm build).
#[test]
#[ignore]
fn timing() {
    let lines: Vec<String> = (0..1000u64)
        .map(|i| {
            format!(
                r#"{{"timestamp":"2024-01-25T14:30:{:02}.{:03}Z","level":"info","service":"aegis-backend","message":"User created successfully for tenant acme-{:04}","trace_id":"{:016x}","user_id":"{:08x}-{:04x}","method":"POST","path":"/api/v1/users","status_code":201,"duration_ms":{}}}"#,
                i % 60,
                i % 1000,
                i * 7 % 10_000,
                i.wrapping_mul(0x9e37_79b9_7f4a_7c15),
                i * 31,
                i % 65_536,
                i * 13 % 2000
            )
        })
        .collect();
    let nginx: Vec<String> = (0..1000u64)
        .map(|i| {
            format!(
                r#"10.{}.{}.{} - - [25/Jan/2024:14:30:{:02} +0000] "POST /api/v1/users?tenant=acme-{:04} HTTP/1.1" 201 {} "https://app.aegis.example/" "Mozilla/5.0 (X11; Linux x86_64)""#,
                i % 256,
                i * 7 % 256,
                i * 13 % 256,
                i % 60,
                i * 7 % 10_000,
                i * 31 % 5000
            )
        })
        .collect();
    let logfmt: Vec<String> = (0..1000u64)
        .map(|i| {
            format!(
                r#"time=2024-01-25T14:30:{:02}.{:03}Z level=info msg="User created successfully" tenant=acme-{:04} trace_id={:016x} method=POST path=/api/v1/users status_code=201 duration_ms={}"#,
                i % 60,
                i % 1000,
                i * 7 % 10_000,
                i.wrapping_mul(0x9e37_79b9_7f4a_7c15),
                i * 13 % 2000
            )
        })
        .collect();
    let batch = |lines: &[String]| {
        let mut records: Vec<PbRecord> = lines.iter().map(|l| record(l)).collect();
        for r in &mut records {
            r.attributes = vec![kv("log.file.path", "/var/log/aegis/backend.log")];
        }
        request(vec![resource(vec![kv("host.name", "node-1")], records)])
    };
    let only = std::env::var("AEGIS_TIMING_ONLY").ok();
    for (config, input) in [
        (json!({"format": "json"}), batch(&lines)),
        (json!({"format": "logfmt"}), batch(&logfmt)),
        (json!({"format": "nginx"}), batch(&nginx)),
    ] {
        if only.as_ref().is_some_and(|only| config["format"] != **only) {
            continue;
        }
        let mut p = processor(config.clone());
        let mut best = f64::MAX;
        // AEGIS_TIMING_ROUNDS=<n> runs longer, for a profiler.
        let rounds = std::env::var("AEGIS_TIMING_ROUNDS").ok().and_then(|n| n.parse().ok()).unwrap_or(50);
        for _ in 0..rounds {
            let start = std::time::Instant::now();
            let outcome = run_processor(&mut p, Signal::Logs, &input).unwrap();
            best = best.min(start.elapsed().as_nanos() as f64 / 1000.0);
            assert!(matches!(outcome, Outcome::Replaced(_)));
        }
        println!("{config}: {best:.0} ns/record");
    }
}
