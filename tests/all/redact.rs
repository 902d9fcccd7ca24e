//! The redact plugin in a real `aegis run`: log records, spans and data points carrying
//! personal data and secrets go in over OTLP/gRPC through two redact processors (keyed
//! hashes of email addresses, then masks and an allow-list), and the tests check exactly
//! what reaches the sink: which values were masked, which hashed, which keys removed, and
//! the summary attributes; and that the plugin counts what it did. A wrong config and a
//! key variable without its grant keep the pipeline from starting, saying why.

use std::process::Command;
use std::time::Duration;

use aegis_plugin_sdk::hash::hmac_sha256_hex;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, KeyValueList, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, span::Event};

use crate::support::{Collector, Sink, aegis_bin, fixture, kv};

/// The HMAC key the collector is started with.
const KEY: &str = "aegis-test-redact-key";

/// What the first processor turns an email address into.
fn hashed(email: &str) -> String {
    hmac_sha256_hex(KEY.as_bytes(), email.as_bytes())
}

fn string(value: &str) -> AnyValue {
    AnyValue { value: Some(Value::StringValue(value.into())) }
}

fn int(value: i64) -> AnyValue {
    AnyValue { value: Some(Value::IntValue(value)) }
}

fn map(entries: Vec<KeyValue>) -> AnyValue {
    AnyValue { value: Some(Value::KvlistValue(KeyValueList { values: entries })) }
}

fn entry(key: &str, value: AnyValue) -> KeyValue {
    KeyValue { key: key.into(), value: Some(value), ..Default::default() }
}

fn resource(attributes: Vec<KeyValue>) -> Option<Resource> {
    Some(Resource { attributes, ..Default::default() })
}

async fn start() -> (Sink, Collector) {
    let sink = Sink::start().await;
    let collector = Collector::start(
        &fixture("redact/pipeline.toml"),
        &[("AEGIS_TEST_SINK", sink.endpoint()), ("REDACT_KEY", KEY.to_string())],
    );
    (sink, collector)
}

fn masked(plugin: &str, signal: &str, reason: &str) -> String {
    format!("aegis_plugin_redact_masked_total{{plugin=\"{plugin}\",reason=\"{reason}\",signal=\"{signal}\"}}")
}

const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm4ifQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_records_arrive_with_secrets_masked_emails_hashed_and_unlisted_keys_removed() {
    let (sink, collector) = start().await;
    let mut client = LogsServiceClient::connect(format!("http://{}", collector.grpc)).await.expect("connect");
    let login = LogRecord {
        time_unix_nano: 1_706_193_045_123_000_000,
        severity_number: 9,
        body: Some(string(&format!("login ann@example.com from 10.0.0.7 card 4111 1111 1111 1111 token {TOKEN}"))),
        attributes: vec![
            kv("method", "POST"),
            kv("user.email", "ann@example.com"),
            kv("client.address", "10.0.0.7"),
            kv("authorization", "Bearer abcdefghijklmnop"),
            kv("x-session-id", "s-123"),
            kv("customer.note", "moved acct-1234567"),
            kv("support", "help@aegis.example"),
            kv("debug.raw", "ann@example.com"),
            entry("shoe_size", int(44)),
        ],
        ..Default::default()
    };
    let structured = LogRecord {
        time_unix_nano: 1_706_193_046_000_000_000,
        severity_number: 13,
        body: Some(map(vec![
            entry("user", map(vec![kv("email", "bob@example.com"), kv("password", "hunter2")])),
            kv("ip", "2001:db8::1"),
            kv("extra", "x"),
        ])),
        attributes: vec![kv("method", "GET")],
        ..Default::default()
    };
    let request = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(vec![
                kv("service.name", "aegis-backend"),
                kv("host.ip", "10.1.2.3"),
                kv("owner", "ops@example.com"),
                kv("k8s.pod.uid", "3f1c"),
            ]),
            scope_logs: vec![ScopeLogs { log_records: vec![login, structured], ..Default::default() }],
            ..Default::default()
        }],
    };
    client.export(request).await.expect("the batch is accepted");
    sink.wait_for(Duration::from_secs(20), "2 log records", |sink| sink.log_records().len() >= 2).await;

    let records = sink.log_records();
    assert_eq!(records.len(), 2);
    assert_eq!(
        records[0].body,
        Some(string(&format!("login {} from **** card **** token ****", hashed("ann@example.com"))))
    );
    assert_eq!(
        records[0].attributes,
        vec![
            kv("method", "POST"),
            kv("user.email", &hashed("ann@example.com")),
            kv("client.address", "****"),
            kv("authorization", "****"),
            kv("x-session-id", "****"),
            kv("customer.note", "moved ****"),
            kv("support", "help@aegis.example"),
            kv("debug.raw", "ann@example.com"),
            entry("redaction.masked.count", int(5)),
            kv("redaction.masked.keys", "authorization,body,client.address,customer.note,x-session-id"),
            entry("redaction.redacted.count", int(1)),
            kv("redaction.redacted.keys", "shoe_size"),
        ]
    );
    assert_eq!((records[0].severity_number, records[0].time_unix_nano), (9, 1_706_193_045_123_000_000));
    assert_eq!(
        records[1].body,
        Some(map(vec![
            entry("user", map(vec![kv("email", &hashed("bob@example.com")), kv("password", "****")])),
            kv("ip", "****"),
        ]))
    );
    assert_eq!(
        records[1].attributes,
        vec![
            kv("method", "GET"),
            entry("redaction.masked.count", int(2)),
            kv("redaction.masked.keys", "body.ip,body.user.password"),
            entry("redaction.redacted.count", int(1)),
            kv("redaction.redacted.keys", "body.extra"),
        ]
    );
    let resource = sink.with(|received| received.logs[0].resource_logs[0].resource.clone().unwrap());
    assert_eq!(
        resource.attributes,
        vec![
            kv("service.name", "aegis-backend"),
            kv("host.ip", "****"),
            kv("owner", &hashed("ops@example.com")),
            entry("redaction.masked.count", int(1)),
            kv("redaction.masked.keys", "host.ip"),
            entry("redaction.redacted.count", int(1)),
            kv("redaction.redacted.keys", "k8s.pod.uid"),
        ]
    );

    // Each processor counts what it did, by what found it.
    collector.wait_metric(&masked("pseudonymise", "logs", "email"), 4.0);
    collector.wait_metric(&masked("scrub", "logs", "ipv4"), 3.0);
    collector.wait_metric(&masked("scrub", "logs", "ipv6"), 1.0);
    collector.wait_metric(&masked("scrub", "logs", "credit_card"), 1.0);
    collector.wait_metric(&masked("scrub", "logs", "jwt"), 1.0);
    collector.wait_metric(&masked("scrub", "logs", "aegis_sensitive_keys"), 2.0);
    collector.wait_metric(&masked("scrub", "logs", "blocked_key_patterns"), 1.0);
    collector.wait_metric(&masked("scrub", "logs", "blocked_values"), 1.0);
    collector.wait_metric("aegis_plugin_redact_removed_total{plugin=\"scrub\",signal=\"logs\"}", 3.0);
    collector.wait_metric("aegis_plugin_redact_items_total{plugin=\"scrub\",signal=\"logs\"}", 2.0);
    collector.wait_metric("aegis_plugin_redact_items_total{plugin=\"pseudonymise\",signal=\"logs\"}", 2.0);
    let (status, logs) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_events_and_data_points_arrive_redacted() {
    let (sink, collector) = start().await;
    let span = Span {
        trace_id: vec![0xa1; 16],
        span_id: vec![0x01; 8],
        name: "POST /api/v1/users".into(),
        kind: 2,
        start_time_unix_nano: 1_706_193_045_000_000_000,
        end_time_unix_nano: 1_706_193_045_045_000_000,
        attributes: vec![
            kv("method", "POST"),
            kv("user.email", "carol@example.com"),
            kv("authorization", "Basic dXNlcjpwYXNz"),
        ],
        events: vec![Event {
            time_unix_nano: 1_706_193_045_010_000_000,
            name: "invite.sent".into(),
            attributes: vec![kv("to", "dave@example.com"), kv("client.address", "10.9.9.9")],
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut traces = TraceServiceClient::connect(format!("http://{}", collector.grpc)).await.expect("connect");
    traces
        .export(ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: resource(vec![kv("service.name", "aegis-backend")]),
                scope_spans: vec![ScopeSpans { spans: vec![span.clone()], ..Default::default() }],
                ..Default::default()
            }],
        })
        .await
        .expect("the spans are accepted");
    let point = |attributes| NumberDataPoint {
        attributes,
        time_unix_nano: 1_706_193_045_000_000_000,
        value: Some(number_data_point::Value::AsInt(7)),
        ..Default::default()
    };
    let mut metrics = MetricsServiceClient::connect(format!("http://{}", collector.grpc)).await.expect("connect");
    metrics
        .export(ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: resource(vec![kv("service.name", "aegis-backend")]),
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![Metric {
                        name: "http.server.active_requests".into(),
                        data: Some(metric::Data::Gauge(Gauge {
                            data_points: vec![point(vec![
                                kv("client.address", "10.0.0.1"),
                                kv("method", "GET"),
                                entry("shoe_size", int(44)),
                            ])],
                        })),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        })
        .await
        .expect("the metrics are accepted");
    sink.wait_for(Duration::from_secs(20), "the span and the metric", |sink| {
        !sink.spans().is_empty() && !sink.metrics().is_empty()
    })
    .await;

    let got = sink.spans().remove(0);
    let expected = Span {
        attributes: vec![
            kv("method", "POST"),
            kv("user.email", &hashed("carol@example.com")),
            kv("authorization", "****"),
            entry("redaction.masked.count", int(1)),
            kv("redaction.masked.keys", "authorization"),
        ],
        events: vec![Event {
            attributes: vec![
                kv("to", &hashed("dave@example.com")),
                kv("client.address", "****"),
                entry("redaction.masked.count", int(1)),
                kv("redaction.masked.keys", "client.address"),
            ],
            ..span.events[0].clone()
        }],
        ..span
    };
    assert_eq!(got, expected);

    let metric = sink.metrics().remove(0);
    assert_eq!(metric.name, "http.server.active_requests");
    let Some(metric::Data::Gauge(gauge)) = metric.data else { panic!("a gauge arrived: {metric:?}") };
    assert_eq!(
        gauge.data_points,
        vec![point(vec![
            kv("client.address", "****"),
            kv("method", "GET"),
            entry("redaction.masked.count", int(1)),
            kv("redaction.masked.keys", "client.address"),
            entry("redaction.redacted.count", int(1)),
            kv("redaction.redacted.keys", "shoe_size"),
        ])]
    );

    collector.wait_metric(&masked("pseudonymise", "traces", "email"), 2.0);
    collector.wait_metric(&masked("scrub", "traces", "aegis_sensitive_keys"), 1.0);
    collector.wait_metric(&masked("scrub", "traces", "ipv4"), 1.0);
    collector.wait_metric(&masked("scrub", "metrics", "ipv4"), 1.0);
    collector.wait_metric("aegis_plugin_redact_removed_total{plugin=\"scrub\",signal=\"metrics\"}", 1.0);
    let (status, logs) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{logs}");
}

#[test]
fn a_wrong_config_is_refused_with_every_mistake_under_its_key() {
    let output = Command::new(aegis_bin())
        .args(["validate", "--config"])
        .arg(fixture("redact/broken.toml"))
        .output()
        .expect("run");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{text}");
    for expected in [
        "processors.scrub.config:",
        "allowed_keys: missing: list the attribute keys to keep",
        "blocked_values[1]: regex parse error:",
        "detectors[1]: unknown detector \"emial\", expected one of email, credit_card, ipv4, ipv6, jwt, bearer, \
         aws_access_key, aegis_sensitive_keys",
        "mask: has no effect with `hash`",
        "where: at column 13: expected a value after \">=\"",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains("blocked_values[0]"), "the good pattern is not reported: {text}");
}

#[test]
fn a_hash_key_that_is_not_granted_keeps_the_pipeline_from_starting() {
    let output = Command::new(aegis_bin())
        .args(["validate", "--config"])
        .arg(fixture("redact/ungranted.toml"))
        .env("REDACT_KEY", KEY)
        .output()
        .expect("run");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{text}");
    let expected = "hash_key_env: the environment variable \"REDACT_KEY\" is not set, or not granted to the plugin \
                    (grant it with `grants = { env = [\"REDACT_KEY\"] }`)";
    assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
}
