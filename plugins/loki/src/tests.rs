//! The exporter end to end, natively: OTLP requests in, push payloads out, read back the
//! way Loki reads them.

use aegis_plugin_sdk::prelude::*;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue as PbValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;
use serde_json::json;

use crate::Loki;
use crate::push::{Stream, decode};

fn string(value: &str) -> Option<PbValue> {
    Some(PbValue { value: Some(any_value::Value::StringValue(value.into())) })
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue { key: key.into(), value: string(value), ..Default::default() }
}

fn record(time: u64, severity: i32, body: &str, attributes: Vec<KeyValue>) -> LogRecord {
    LogRecord {
        time_unix_nano: time,
        severity_number: severity,
        body: string(body),
        attributes,
        trace_id: vec![0xa1; 16],
        span_id: vec![0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08],
        ..Default::default()
    }
}

fn request(service: &str, records: Vec<LogRecord>) -> Batch {
    let request = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource { attributes: vec![kv("service.name", service)], ..Default::default() }),
            scope_logs: vec![ScopeLogs { log_records: records, ..Default::default() }],
            ..Default::default()
        }],
    };
    Batch::new(Signal::Logs, request.encode_to_vec())
}

fn loki(config: serde_json::Value) -> Loki {
    Loki::init(Config::from_value(config)).unwrap()
}

fn streams(payloads: &[Payload]) -> Vec<Stream> {
    payloads.iter().flat_map(|p| decode(&p.body)).collect()
}

#[test]
fn records_become_entries_of_streams_labelled_by_service_job_and_level() {
    let mut loki = loki(json!({}));
    let batch = request(
        "aegis-backend",
        vec![
            record(3_000, 9, "third", vec![]),
            record(1_000, 17, "Error: Connection pool exhausted", vec![]),
            record(2_000, 9, "first", vec![]),
        ],
    );
    assert!(loki.export(batch).unwrap().is_empty(), "entries wait for the flush");
    let payloads = loki.flush(0).unwrap();
    assert_eq!(payloads.len(), 1);
    assert_eq!(payloads[0].path, "/loki/api/v1/push");
    let streams = streams(&payloads);
    let summary: Vec<(&str, Vec<(u64, &str)>)> = streams
        .iter()
        .map(|s| (s.labels.as_str(), s.entries.iter().map(|e| (e.timestamp, e.line.as_str())).collect()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                r#"{job="aegis-backend", level="error", service_name="aegis-backend"}"#,
                vec![(1_000, "Error: Connection pool exhausted")]
            ),
            (
                r#"{job="aegis-backend", level="info", service_name="aegis-backend"}"#,
                vec![(2_000, "first"), (3_000, "third")]
            ),
        ]
    );
    let metadata = &streams[0].entries[0].metadata;
    assert_eq!(metadata, &[("span_id".into(), "0102030405060708".to_owned()), ("trace_id".into(), "a1".repeat(16))]);
    assert!(loki.flush(0).unwrap().is_empty(), "nothing is sent twice");
}

#[test]
fn a_full_buffer_is_pushed_from_export_in_pushes_of_max_entries() {
    let mut loki = loki(json!({ "max_entries_per_push": 2 }));
    let records = (0..5).map(|i| record(10 - i, 9, &format!("line {i}"), vec![])).collect();
    let payloads = loki.export(request("aegis-backend", records)).unwrap();
    assert_eq!(payloads.len(), 3);
    let lines: Vec<Vec<String>> = payloads
        .iter()
        .map(|p| decode(&p.body).into_iter().flat_map(|s| s.entries).map(|e| e.line).collect())
        .collect();
    assert_eq!(lines, [vec!["line 4", "line 3"], vec!["line 2", "line 1"], vec!["line 0"]]);
}

#[test]
fn attributes_become_labels_and_metadata_and_json_lines_carry_them() {
    let mut loki = loki(json!({
        "labels": { "job": "resource.service.name", "route": "attributes.http.route" },
        "static_labels": { "env": "production" },
        "structured_metadata": { "trace_id": "trace_id", "user_id": "attributes.user_id" },
        "line_format": "json",
    }));
    let attributes = vec![kv("http.route", "/api/v1/users"), kv("user_id", "admin-uuid")];
    loki.export(request("aegis-backend", vec![record(1, 9, "User created successfully", attributes)])).unwrap();
    let streams = streams(&loki.flush(0).unwrap());
    assert_eq!(streams[0].labels, r#"{env="production", job="aegis-backend", route="/api/v1/users"}"#);
    let entry = &streams[0].entries[0];
    assert_eq!(entry.metadata, [("trace_id".into(), "a1".repeat(16)), ("user_id".into(), "admin-uuid".to_owned())]);
    let line: serde_json::Value = serde_json::from_str(&entry.line).unwrap();
    assert_eq!(
        line,
        json!({ "message": "User created successfully", "level": "info", "http.route": "/api/v1/users", "user_id": "admin-uuid" })
    );
}

#[test]
fn a_label_past_its_value_budget_takes_the_overflow_value() {
    let mut loki = loki(json!({ "labels": { "user": "attributes.user_id" }, "max_values_per_label": 2 }));
    let records = ["a", "b", "c", "d", "a"].iter().map(|u| record(1, 9, u, vec![kv("user_id", u)])).collect();
    loki.export(request("x", records)).unwrap();
    let streams = streams(&loki.flush(0).unwrap());
    let summary: Vec<(&str, usize)> = streams.iter().map(|s| (s.labels.as_str(), s.entries.len())).collect();
    assert_eq!(summary, [(r#"{user="__overflow__"}"#, 2), (r#"{user="a"}"#, 2), (r#"{user="b"}"#, 1)]);
}

#[test]
fn runs_of_records_with_the_same_labels_are_labelled_and_counted_like_single_ones() {
    // Consecutive records with equal label values reuse the first one's labels: the
    // overflow of every one of them is still counted, and a change of value is seen.
    let mut loki = loki(json!({ "labels": { "user": "attributes.user_id" }, "max_values_per_label": 1 }));
    let users = ["a", "a", "b", "b", "b", "a", "c"];
    let records = users.iter().map(|u| record(1, 9, u, vec![kv("user_id", u)])).collect();
    loki.export(request("x", records)).unwrap();
    assert_eq!(loki.counts.overflows.get("user"), None, "reported to the host after the call");
    let first = streams(&loki.flush(0).unwrap());
    let summary: Vec<(&str, Vec<&str>)> =
        first.iter().map(|s| (s.labels.as_str(), s.entries.iter().map(|e| e.line.as_str()).collect())).collect();
    assert_eq!(
        summary,
        [(r#"{user="__overflow__"}"#, vec!["b", "b", "b", "c"]), (r#"{user="a"}"#, vec!["a", "a", "a"])]
    );
    // A second call starts afresh: the guard, not the memo, decides.
    let records = ["b", "a"].iter().map(|u| record(2, 9, u, vec![kv("user_id", u)])).collect();
    loki.export(request("x", records)).unwrap();
    let second = streams(&loki.flush(0).unwrap());
    let summary: Vec<(&str, usize)> = second.iter().map(|s| (s.labels.as_str(), s.entries.len())).collect();
    assert_eq!(summary, [(r#"{user="__overflow__"}"#, 1), (r#"{user="a"}"#, 1)]);
}

#[test]
fn records_without_any_label_go_to_the_unknown_service_stream() {
    let mut loki = loki(json!({}));
    let batch = {
        let request = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs { log_records: vec![record(5, 0, "bare", vec![])], ..Default::default() }],
                ..Default::default()
            }],
        };
        Batch::new(Signal::Logs, request.encode_to_vec())
    };
    loki.export(batch).unwrap();
    let streams = streams(&loki.flush(0).unwrap());
    assert_eq!(streams[0].labels, r#"{service_name="unknown_service"}"#);
}

#[test]
fn records_without_a_time_use_the_observed_time() {
    let mut loki = loki(json!({}));
    let mut observed = record(0, 9, "late", vec![]);
    observed.observed_time_unix_nano = 42;
    loki.export(request("x", vec![observed])).unwrap();
    assert_eq!(streams(&loki.flush(0).unwrap())[0].entries[0].timestamp, 42);
}

#[test]
fn long_lines_are_truncated_or_dropped_as_configured() {
    let long = "x".repeat(100);
    let mut truncating = loki(json!({ "max_line_size": 10 }));
    truncating.export(request("x", vec![record(1, 9, &long, vec![])])).unwrap();
    assert_eq!(streams(&truncating.flush(0).unwrap())[0].entries[0].line, "x".repeat(10));
    let mut dropping = loki(json!({ "max_line_size": 10, "on_long_line": "drop" }));
    dropping.export(request("x", vec![record(1, 9, &long, vec![]), record(2, 9, "short", vec![])])).unwrap();
    let lines: Vec<String> =
        streams(&dropping.flush(0).unwrap()).into_iter().flat_map(|s| s.entries).map(|e| e.line).collect();
    assert_eq!(lines, ["short"]);
}

#[test]
fn json_pushes_carry_the_json_content_type_and_body() {
    let mut loki = loki(json!({ "format": "json", "tenant": "aegis" }));
    loki.export(request("aegis-backend", vec![record(1_706_193_045_123_000_000, 9, "hi", vec![])])).unwrap();
    let payloads = loki.flush(0).unwrap();
    assert!(payloads[0].headers.contains(&("Content-Type".to_owned(), "application/json".to_owned())));
    assert!(payloads[0].headers.contains(&("X-Scope-OrgID".to_owned(), "aegis".to_owned())));
    let body: serde_json::Value = serde_json::from_slice(&payloads[0].body).unwrap();
    assert_eq!(
        body["streams"][0]["stream"],
        json!({ "job": "aegis-backend", "level": "info", "service_name": "aegis-backend" })
    );
    assert_eq!(body["streams"][0]["values"][0][0], "1706193045123000000");
    assert_eq!(body["streams"][0]["values"][0][1], "hi");
    assert_eq!(body["streams"][0]["values"][0][2]["span_id"], "0102030405060708");
}

#[test]
fn a_batch_that_is_not_otlp_logs_is_invalid_input_not_a_panic() {
    let mut loki = loki(json!({}));
    let err = loki.export(Batch::new(Signal::Logs, vec![0x0a, 0xff, 0xff])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = loki.export(Batch::new(Signal::Metrics, Vec::new())).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}
