//! Unit tests of the filter processor: batches in, the records that survive out.

use aegis_plugin_sdk::{Outcome, run_processor};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue as PbValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric,
    number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use serde_json::json;

use super::*;
use crate::config::Reason;

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(PbValue { value: Some(any_value::Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

fn filter(config: serde_json::Value) -> Filter {
    Filter::init(Config::from_value(config)).unwrap_or_else(|e| panic!("{e}"))
}

fn config_error(config: serde_json::Value) -> String {
    let err = Filter::init(Config::from_value(config)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    err.message().to_owned()
}

fn resource(service: &str) -> Option<Resource> {
    Some(Resource { attributes: vec![kv("service.name", service)], ..Default::default() })
}

fn log(severity: i32, body: &str, attributes: Vec<KeyValue>) -> LogRecord {
    LogRecord {
        severity_number: severity,
        body: Some(PbValue { value: Some(any_value::Value::StringValue(body.into())) }),
        attributes,
        ..Default::default()
    }
}

/// One resource per `(service, records)`.
fn logs_request(resources: Vec<(&str, Vec<LogRecord>)>) -> Vec<u8> {
    ExportLogsServiceRequest {
        resource_logs: resources
            .into_iter()
            .map(|(service, log_records)| ResourceLogs {
                resource: resource(service),
                scope_logs: vec![ScopeLogs { log_records, ..Default::default() }],
                ..Default::default()
            })
            .collect(),
    }
    .encode_to_vec()
}

/// The bodies of the records that come out, or `None` when the batch was dropped.
fn run_logs(p: &mut Filter, input: &[u8]) -> Option<Vec<String>> {
    let out = match run_processor(p, Signal::Logs, input).unwrap() {
        Outcome::Unchanged => input.to_vec(),
        Outcome::Replaced(bytes) => bytes,
        Outcome::Dropped => return None,
    };
    let request = ExportLogsServiceRequest::decode(out.as_slice()).unwrap();
    Some(
        request
            .resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .flat_map(|s| &s.log_records)
            .map(|r| match r.body.as_ref().and_then(|b| b.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => s.clone(),
                other => format!("{other:?}"),
            })
            .collect(),
    )
}

#[test]
fn drops_debug_records_and_health_checks_and_keeps_the_rest_untouched() {
    let mut p = filter(json!({ "logs": { "drop": [
        "severity < INFO",
        r#"attributes["http.route"] == "/healthz""#,
    ] } }));
    let input = logs_request(vec![(
        "checkout",
        vec![
            log(5, "cache miss", vec![]),
            log(9, "GET /healthz", vec![kv("http.route", "/healthz")]),
            log(9, "order placed", vec![kv("http.route", "/orders"), kv("order.id", "o-17")]),
            log(17, "payment failed", vec![]),
            log(0, "no severity", vec![]),
        ],
    )]);
    assert_eq!(
        run_logs(&mut p, &input).unwrap(),
        ["order placed", "payment failed", "no severity"],
        "a record without severity is not below INFO"
    );
    let kept = ExportLogsServiceRequest::decode(
        match run_processor(&mut p, Signal::Logs, &input).unwrap() {
            Outcome::Replaced(bytes) => bytes,
            other => panic!("{other:?}"),
        }
        .as_slice(),
    )
    .unwrap();
    let order = &kept.resource_logs[0].scope_logs[0].log_records[0];
    assert_eq!(order.attributes, vec![kv("http.route", "/orders"), kv("order.id", "o-17")]);
    assert_eq!(kept.resource_logs[0].resource, resource("checkout"));
}

#[test]
fn a_batch_nothing_matches_passes_unchanged_and_one_everything_matches_is_dropped() {
    let mut p = filter(json!({ "logs": { "drop": ["severity < INFO"] } }));
    let info = logs_request(vec![("checkout", vec![log(9, "a", vec![]), log(13, "b", vec![])])]);
    assert_eq!(run_processor(&mut p, Signal::Logs, &info).unwrap(), Outcome::Unchanged);
    let debug = logs_request(vec![("checkout", vec![log(5, "a", vec![]), log(1, "b", vec![])])]);
    assert_eq!(run_processor(&mut p, Signal::Logs, &debug).unwrap(), Outcome::Dropped);
}

#[test]
fn keep_drops_every_record_that_matches_none_of_its_conditions() {
    let mut p = filter(json!({ "logs": {
        "keep": ["severity >= WARN", r#"resource.attributes["service.name"] == "payments""#],
        "drop": [r#"body contains "retrying""#],
    } }));
    let input = logs_request(vec![
        ("checkout", vec![log(9, "checkout info", vec![]), log(13, "checkout warn", vec![])]),
        ("payments", vec![log(9, "payments info", vec![]), log(13, "payments retrying", vec![])]),
    ]);
    assert_eq!(run_logs(&mut p, &input).unwrap(), ["checkout warn", "payments info"]);
}

#[test]
fn resources_whose_records_all_go_are_dropped_with_them() {
    let mut p = filter(json!({ "logs": { "drop": [r#"resource.attributes["service.name"] starts_with "test-""#] } }));
    let input = logs_request(vec![
        ("test-runner", vec![log(9, "t1", vec![]), log(9, "t2", vec![])]),
        ("checkout", vec![log(9, "c1", vec![])]),
    ]);
    let Outcome::Replaced(out) = run_processor(&mut p, Signal::Logs, &input).unwrap() else { panic!("changed") };
    let request = ExportLogsServiceRequest::decode(out.as_slice()).unwrap();
    assert_eq!(request.resource_logs.len(), 1);
    assert_eq!(request.resource_logs[0].resource, resource("checkout"));
}

#[test]
fn signals_without_rules_pass_untouched() {
    let mut p = filter(json!({ "logs": { "drop": ["severity < INFO"] } }));
    let traces = traces_request(vec![span("GET /", 2, 5, 0)]);
    assert_eq!(run_processor(&mut p, Signal::Traces, &traces).unwrap(), Outcome::Unchanged);
    let metrics = metrics_request(vec![gauge("up", vec![vec![]])]);
    assert_eq!(run_processor(&mut p, Signal::Metrics, &metrics).unwrap(), Outcome::Unchanged);
    let mut empty = filter(json!({}));
    let logs = logs_request(vec![("checkout", vec![log(1, "a", vec![])])]);
    assert_eq!(run_processor(&mut empty, Signal::Logs, &logs).unwrap(), Outcome::Unchanged);
}

fn span(name: &str, kind: i32, millis: u64, status: i32) -> Span {
    let start = 1_706_193_045_000_000_000;
    Span {
        trace_id: vec![7; 16],
        span_id: vec![1; 8],
        name: name.into(),
        kind,
        start_time_unix_nano: start,
        end_time_unix_nano: start + millis * 1_000_000,
        status: Some(Status { code: status, message: String::new() }),
        ..Default::default()
    }
}

fn traces_request(spans: Vec<Span>) -> Vec<u8> {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource("checkout"),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

fn span_names(p: &mut Filter, input: &[u8]) -> Vec<String> {
    let out = match run_processor(p, Signal::Traces, input).unwrap() {
        Outcome::Unchanged => input.to_vec(),
        Outcome::Replaced(bytes) => bytes,
        Outcome::Dropped => return Vec::new(),
    };
    let request = ExportTraceServiceRequest::decode(out.as_slice()).unwrap();
    request.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans).map(|s| s.name.clone()).collect()
}

#[test]
fn spans_are_dropped_by_kind_status_and_duration() {
    let mut p = filter(json!({ "traces": { "drop": [
        "kind == INTERNAL and duration < 1ms",
        r#"kind == SERVER and status != ERROR and name starts_with "GET /static/""#,
    ] } }));
    let input = traces_request(vec![
        span("cache.get", 1, 0, 0),
        span("db.query", 1, 12, 0),
        span("GET /static/app.js", 2, 3, 1),
        span("GET /static/missing.js", 2, 3, 2),
        span("POST /orders", 2, 45, 0),
    ]);
    assert_eq!(span_names(&mut p, &input), ["db.query", "GET /static/missing.js", "POST /orders"]);
}

#[test]
fn keep_slow_or_failed_spans_only() {
    let mut p = filter(json!({ "traces": { "keep": ["duration > 2s", "status == ERROR"] } }));
    let input = traces_request(vec![span("fast", 2, 20, 0), span("slow", 2, 2500, 0), span("failed", 2, 20, 2)]);
    assert_eq!(span_names(&mut p, &input), ["slow", "failed"]);
}

fn number_point(attributes: Vec<KeyValue>) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        time_unix_nano: 1,
        value: Some(number_data_point::Value::AsInt(1)),
        ..Default::default()
    }
}

fn gauge(name: &str, points: Vec<Vec<KeyValue>>) -> Metric {
    Metric {
        name: name.into(),
        data: Some(metric::Data::Gauge(Gauge { data_points: points.into_iter().map(number_point).collect() })),
        ..Default::default()
    }
}

fn histogram(name: &str) -> Metric {
    Metric {
        name: name.into(),
        unit: "ms".into(),
        data: Some(metric::Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint { count: 3, time_unix_nano: 1, ..Default::default() }],
            aggregation_temporality: 2,
        })),
        ..Default::default()
    }
}

fn metrics_request(metrics: Vec<Metric>) -> Vec<u8> {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource("checkout"),
            scope_metrics: vec![ScopeMetrics { metrics, ..Default::default() }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// The metrics that come out, each with the `state` attribute of each of its points.
fn run_metrics(p: &mut Filter, input: &[u8]) -> Vec<(String, Vec<String>)> {
    let out = match run_processor(p, Signal::Metrics, input).unwrap() {
        Outcome::Unchanged => input.to_vec(),
        Outcome::Replaced(bytes) => bytes,
        Outcome::Dropped => return Vec::new(),
    };
    let request = ExportMetricsServiceRequest::decode(out.as_slice()).unwrap();
    let state = |attributes: &[KeyValue]| {
        attributes
            .iter()
            .find(|kv| kv.key == "state")
            .and_then(|kv| kv.value.as_ref()?.value.as_ref())
            .map_or("-".to_owned(), |v| format!("{v:?}"))
    };
    request
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| {
            let points = match &m.data {
                Some(metric::Data::Gauge(g)) => g.data_points.iter().map(|p| state(&p.attributes)).collect(),
                Some(metric::Data::Histogram(h)) => h.data_points.iter().map(|p| state(&p.attributes)).collect(),
                _ => Vec::new(),
            };
            (m.name.clone(), points)
        })
        .collect()
}

fn string_state(s: &str) -> String {
    format!("{:?}", any_value::Value::StringValue(s.into()))
}

#[test]
fn metrics_are_dropped_by_name_and_type_and_data_points_by_attributes() {
    let mut p = filter(json!({ "metrics": {
        "drop": [r#"name starts_with "go_""#, "type == histogram"],
        "drop_data_points": [r#"name == "db.connections" and attributes["state"] == "idle""#],
    } }));
    let input = metrics_request(vec![
        gauge("go_goroutines", vec![vec![]]),
        histogram("http.server.duration"),
        gauge("db.connections", vec![vec![kv("state", "idle")], vec![kv("state", "used")]]),
        gauge("queue.depth", vec![vec![kv("state", "idle")]]),
    ]);
    assert_eq!(
        run_metrics(&mut p, &input),
        [
            ("db.connections".to_owned(), vec![string_state("used")]),
            ("queue.depth".to_owned(), vec![string_state("idle")]),
        ]
    );
}

#[test]
fn a_metric_whose_every_data_point_is_dropped_goes_too() {
    let mut p = filter(json!({ "metrics": { "drop_data_points": [r#"attributes["state"] == "idle""#] } }));
    let input = metrics_request(vec![
        gauge("db.connections", vec![vec![kv("state", "idle")], vec![kv("state", "idle")]]),
        gauge("up", vec![vec![]]),
    ]);
    assert_eq!(run_metrics(&mut p, &input), [("up".to_owned(), vec!["-".to_owned()])]);
}

#[test]
fn keep_lists_work_for_metrics_and_data_points() {
    let mut p = filter(json!({ "metrics": {
        "keep": [r#"name starts_with "db.""#],
        "keep_data_points": [r#"attributes["state"] == "used""#],
    } }));
    let input = metrics_request(vec![
        gauge("db.connections", vec![vec![kv("state", "idle")], vec![kv("state", "used")]]),
        gauge("up", vec![vec![kv("state", "used")]]),
    ]);
    assert_eq!(run_metrics(&mut p, &input), [("db.connections".to_owned(), vec![string_state("used")])]);
}

#[test]
fn drops_are_counted_per_condition_and_reset_per_batch() {
    let mut p =
        filter(json!({ "logs": { "keep": ["severity >= DEBUG"], "drop": ["severity < INFO", "body exists"] } }));
    let rules = &mut p.settings.logs;
    rules.count(Reason::Dropped(0), 2);
    rules.count(Reason::Dropped(0), 1);
    rules.count(Reason::NotKept, 4);
    let counts: Vec<(String, u64)> = rules.take_counts().map(|(k, n)| (k.to_owned(), n)).collect();
    assert_eq!(counts, [("logs.keep".to_owned(), 4), ("logs.drop[0]".to_owned(), 3)]);
    assert_eq!(rules.take_counts().count(), 0);
    assert_eq!(rules.signal, "logs");
}

#[test]
fn every_bad_condition_is_reported_at_once_with_its_key_and_column() {
    let err = config_error(json!({
        "logs": { "drop": ["severity < INFO", "severity >= ", "kind == SERVER"] },
        "traces": { "keep": ["duration > 5"] },
        "metrics": { "drop": [r#"attributes["a"] exists"#], "drop_data_points": [""] },
    }));
    assert_eq!(
        err,
        "logs.drop[1]: at column 13: expected a value after \">=\"; \
         logs.drop[2]: at column 1: \"kind\" is not a field of log records; use severity, severity_text, body, \
         event_name, trace_id, span_id, attributes[\"k\"], resource.attributes[\"k\"], scope.name, scope.version; \
         traces.keep[0]: at column 12: \"duration\" compares with a duration such as 250ms, 2s or 1m, not \"5\"; \
         metrics.drop[0]: at column 1: \"attributes\" is not a field of metrics; use name, type, unit, description, \
         resource.attributes[\"k\"], scope.name, scope.version; \
         metrics.drop_data_points[0]: at column 1: the condition is empty"
    );
}

#[test]
fn unknown_keys_and_wrong_types_are_config_errors() {
    assert_eq!(
        config_error(json!({ "log": { "drop": [] } })),
        "log: unknown field `log`, expected one of `logs`, `traces`, `metrics`"
    );
    assert!(config_error(json!({ "logs": { "exclude": [] } })).starts_with("logs.exclude: unknown field `exclude`"));
    assert!(config_error(json!({ "logs": { "drop": "severity < INFO" } })).starts_with("logs.drop: invalid type"));
    assert!(config_error(json!({ "traces": { "drop_data_points": [] } })).starts_with("traces.drop_data_points"));
}
