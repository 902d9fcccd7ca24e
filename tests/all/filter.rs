//! The filter plugin in a real `aegis run`: logs, spans and metrics go in over OTLP/gRPC,
//! the tests check exactly which ones reach the sink, with their fields, and that every
//! dropped one is counted under the condition that dropped it.

use std::process::Command;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric,
    number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span::SpanKind};

use crate::support::{Collector, Sink, aegis_bin, attribute, fixture, kv};

fn resource(service: &str) -> Option<Resource> {
    Some(Resource { attributes: vec![kv("service.name", service)], ..Default::default() })
}

fn log(severity: i32, body: &str, attributes: Vec<KeyValue>) -> LogRecord {
    LogRecord {
        time_unix_nano: 1_706_193_045_123_000_000,
        severity_number: severity,
        body: Some(AnyValue { value: Some(Value::StringValue(body.into())) }),
        attributes,
        ..Default::default()
    }
}

fn logs(resources: Vec<(&str, Vec<LogRecord>)>) -> ExportLogsServiceRequest {
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
}

fn body(record: &LogRecord) -> String {
    match record.body.as_ref().and_then(|b| b.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        other => format!("{other:?}"),
    }
}

fn dropped(signal: &str, condition: &str) -> String {
    format!("aegis_plugin_filter_dropped_total{{condition=\"{condition}\",plugin=\"noise\",signal=\"{signal}\"}}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_records_that_match_a_drop_condition_never_arrive_and_are_counted() {
    let sink = Sink::start().await;
    let collector = Collector::start(&fixture("filter/pipeline.toml"), &[("AEGIS_TEST_SINK", sink.endpoint())]);
    let mut client = LogsServiceClient::connect(format!("http://{}", collector.grpc)).await.expect("connect");
    client
        .export(logs(vec![
            (
                "checkout",
                vec![
                    log(5, "cache miss", vec![kv("cache.key", "user:17")]),
                    log(9, "GET /healthz", vec![kv("http.route", "/healthz")]),
                    log(9, "order placed", vec![kv("http.route", "/orders"), kv("order.id", "o-17")]),
                    log(9, "GET /readyz", vec![kv("http.route", "/readyz")]),
                    log(17, "payment failed", vec![kv("http.route", "/orders")]),
                ],
            ),
            ("test-runner", vec![log(9, "test started", vec![]), log(17, "test failed", vec![])]),
        ]))
        .await
        .expect("the batch is accepted");
    sink.wait_for(Duration::from_secs(20), "3 log records", |sink| sink.log_records().len() >= 3).await;
    // A later batch that passes: once it is in, nothing of the first can still be on the way.
    client.export(logs(vec![("checkout", vec![log(13, "marker", vec![])])])).await.expect("accepted");
    sink.wait_for(Duration::from_secs(20), "the marker", |sink| sink.log_records().iter().any(|r| body(r) == "marker"))
        .await;

    let records = sink.log_records();
    let bodies: Vec<String> = records.iter().map(body).collect();
    assert_eq!(bodies, ["order placed", "payment failed", "test failed", "marker"]);
    let order = &records[0];
    assert_eq!(order.severity_number, 9);
    assert_eq!(order.time_unix_nano, 1_706_193_045_123_000_000);
    assert_eq!(order.attributes, vec![kv("http.route", "/orders"), kv("order.id", "o-17")]);
    let services: Vec<Option<Value>> = sink.with(|received| {
        received.logs[0]
            .resource_logs
            .iter()
            .map(|r| attribute(&r.resource.as_ref().unwrap().attributes, "service.name").cloned())
            .collect()
    });
    assert_eq!(services, [Some(Value::StringValue("checkout".into())), Some(Value::StringValue("test-runner".into()))]);

    collector.wait_metric(&dropped("logs", "logs.drop[0]"), 1.0);
    collector.wait_metric(&dropped("logs", "logs.drop[1]"), 2.0);
    collector.wait_metric(&dropped("logs", "logs.drop[2]"), 1.0);
    collector.wait_metric("aegis_exporter_sent_items_total{exporter=\"sink\",pipeline=\"logs\"}", 4.0);
    let (status, text) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{text}");
}

fn span(name: &str, kind: SpanKind, micros: u64, status: i32) -> Span {
    let start = 1_706_193_045_000_000_000;
    Span {
        trace_id: vec![0xa1; 16],
        span_id: name.bytes().chain(std::iter::repeat(0)).take(8).collect(),
        name: name.into(),
        kind: kind as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: start + micros * 1000,
        attributes: vec![kv("http.request.method", "GET")],
        status: Some(Status { code: status, message: String::new() }),
        ..Default::default()
    }
}

fn gauge(name: &str, states: &[&str]) -> Metric {
    let points = states
        .iter()
        .map(|state| NumberDataPoint {
            attributes: vec![kv("state", state)],
            time_unix_nano: 1_706_193_045_000_000_000,
            value: Some(number_data_point::Value::AsInt(3)),
            ..Default::default()
        })
        .collect();
    Metric { name: name.into(), data: Some(metric::Data::Gauge(Gauge { data_points: points })), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_metrics_and_data_points_that_match_are_dropped_and_counted() {
    let sink = Sink::start().await;
    let collector = Collector::start(&fixture("filter/pipeline.toml"), &[("AEGIS_TEST_SINK", sink.endpoint())]);
    let endpoint = format!("http://{}", collector.grpc);

    let spans = vec![
        span("cache.get", SpanKind::Internal, 200, 0),
        span("db.query", SpanKind::Internal, 12_000, 0),
        span("GET /static/app.js", SpanKind::Server, 3_000, 1),
        span("GET /static/missing.js", SpanKind::Server, 3_000, 2),
        span("POST /orders", SpanKind::Server, 45_000, 0),
    ];
    let mut traces = TraceServiceClient::connect(endpoint.clone()).await.expect("connect");
    traces
        .export(ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: resource("checkout"),
                scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
                ..Default::default()
            }],
        })
        .await
        .expect("the spans are accepted");

    let histogram = Metric {
        name: "http.server.duration".into(),
        unit: "ms".into(),
        data: Some(metric::Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint { count: 3, time_unix_nano: 1, ..Default::default() }],
            aggregation_temporality: 2,
        })),
        ..Default::default()
    };
    let metrics = vec![
        gauge("go_goroutines", &["running"]),
        histogram,
        gauge("db.connections", &["idle", "used"]),
        gauge("queue.depth", &["idle"]),
    ];
    let mut client = MetricsServiceClient::connect(endpoint).await.expect("connect");
    client
        .export(ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: resource("checkout"),
                scope_metrics: vec![ScopeMetrics { metrics, ..Default::default() }],
                ..Default::default()
            }],
        })
        .await
        .expect("the metrics are accepted");

    sink.wait_for(Duration::from_secs(20), "spans and metrics", |sink| {
        !sink.spans().is_empty() && !sink.metrics().is_empty()
    })
    .await;
    // Each request went through as one batch; what arrived is all that will.
    let names: Vec<String> = sink.spans().iter().map(|s| s.name.clone()).collect();
    assert_eq!(names, ["db.query", "GET /static/missing.js", "POST /orders"]);
    let kept = &sink.spans()[1];
    assert_eq!(kept.status.as_ref().map(|s| s.code), Some(2));
    assert_eq!(kept.kind, SpanKind::Server as i32);
    assert_eq!(kept.attributes, vec![kv("http.request.method", "GET")]);

    let metrics: Vec<(String, Vec<Vec<KeyValue>>)> = sink
        .metrics()
        .iter()
        .map(|m| {
            let points = match &m.data {
                Some(metric::Data::Gauge(g)) => g.data_points.iter().map(|p| p.attributes.clone()).collect(),
                other => panic!("only gauges should pass, got {other:?}"),
            };
            (m.name.clone(), points)
        })
        .collect();
    assert_eq!(
        metrics,
        [
            ("db.connections".to_owned(), vec![vec![kv("state", "used")]]),
            ("queue.depth".to_owned(), vec![vec![kv("state", "idle")]]),
        ]
    );

    collector.wait_metric(&dropped("traces", "traces.drop[0]"), 1.0);
    collector.wait_metric(&dropped("traces", "traces.drop[1]"), 1.0);
    collector.wait_metric(&dropped("metrics", "metrics.drop[0]"), 1.0);
    collector.wait_metric(&dropped("metrics", "metrics.drop[1]"), 1.0);
    collector.wait_metric(&dropped("metrics", "metrics.drop_data_points[0]"), 1.0);
    let (status, text) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{text}");
}

#[test]
fn a_filter_with_bad_conditions_is_refused_with_each_key_and_column() {
    let output = Command::new(aegis_bin())
        .args(["validate", "--config"])
        .arg(fixture("filter/broken.toml"))
        .output()
        .expect("run aegis validate");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{text}");
    for expected in [
        "processors.noise.config:",
        "logs.drop[1]: at column 13: expected a value after \">=\"",
        "logs.drop[2]: at column 1: \"kind\" is not a field of log records",
        "traces.keep[0]: at column 12: \"duration\" compares with a duration such as 250ms, 2s or 1m, not \"5\"",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains("logs.drop[0]"), "the good condition is not reported: {text}");
}
