//! The attributes plugin's resource copies, resource actions, `extract` and `if` in a real
//! `aegis run`: logs and spans go in over OTLP/gRPC, the tests check the attributes of the
//! records and resources that reach the sink.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

use crate::support::{Collector, Sink, fixture, kv};

/// SHA-256 of `b@example.com`, in lowercase hex.
const HASHED_B: &str = "e8f39b3e1382367d6d41ab34dc270d4e7533f978c9e9a775dfe2185b2f96b96c";

fn resource() -> Option<Resource> {
    Some(Resource { attributes: vec![kv("service.name", "checkout")], ..Default::default() })
}

fn flag(key: &str, value: bool) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(Value::BoolValue(value)) }), ..Default::default() }
}

fn log(severity: i32, url: &str, email: &str) -> LogRecord {
    LogRecord {
        severity_number: severity,
        body: Some(AnyValue { value: Some(Value::StringValue(format!("GET {url}"))) }),
        attributes: vec![kv("http.url", url), kv("user.email", email)],
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_get_resource_copies_extracted_fields_and_conditional_actions() {
    let sink = Sink::start().await;
    let collector = Collector::start(&fixture("attributes/pipeline.toml"), &[("AEGIS_TEST_SINK", sink.endpoint())]);
    let endpoint = format!("http://{}", collector.grpc);

    let mut logs = LogsServiceClient::connect(endpoint.clone()).await.expect("connect");
    logs.export(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs {
                log_records: vec![
                    log(9, "/api/v1/users", "a@example.com"),
                    log(13, "/api/v2/orders/17", "b@example.com"),
                    log(9, "/healthz", "c@example.com"),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
    .await
    .expect("the logs are accepted");

    let mut traces = TraceServiceClient::connect(endpoint).await.expect("connect");
    traces
        .export(ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: resource(),
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        trace_id: vec![0xa1; 16],
                        span_id: vec![1; 8],
                        name: "GET /api/v1/users".into(),
                        kind: 2,
                        start_time_unix_nano: 1,
                        end_time_unix_nano: 2,
                        attributes: vec![kv("http.url", "/api/v1/users"), kv("user.email", "b@example.com")],
                        status: Some(Status { code: 2, message: String::new() }),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        })
        .await
        .expect("the spans are accepted");

    sink.wait_for(Duration::from_secs(20), "3 records and a span", |sink| {
        sink.log_records().len() >= 3 && !sink.spans().is_empty()
    })
    .await;

    let records = sink.log_records();
    assert_eq!(records.len(), 3);
    assert_eq!(
        records[0].attributes,
        vec![
            kv("http.url", "/api/v1/users"),
            kv("user.email", "a@example.com"),
            kv("service.name", "checkout"),
            kv("api_version", "1"),
            kv("api_resource", "users"),
            flag("deprecated", true),
        ]
    );
    assert_eq!(
        records[1].attributes,
        vec![
            kv("http.url", "/api/v2/orders/17"),
            kv("user.email", HASHED_B),
            kv("service.name", "checkout"),
            kv("api_version", "2"),
            kv("api_resource", "orders"),
        ],
        "a warning: the e-mail is hashed; version 2 is not deprecated"
    );
    assert_eq!(
        records[2].attributes,
        vec![kv("http.url", "/healthz"), kv("user.email", "c@example.com"), kv("service.name", "checkout")],
        "the pattern does not match: nothing is extracted"
    );
    let resource = sink.with(|received| received.logs[0].resource_logs[0].resource.clone().unwrap());
    assert_eq!(resource.attributes, vec![kv("service.name", "checkout"), kv("deployment.environment", "prod")]);

    let span = &sink.spans()[0];
    assert_eq!(
        span.attributes,
        vec![
            kv("http.url", "/api/v1/users"),
            kv("user.email", HASHED_B),
            kv("service.name", "checkout"),
            kv("api_version", "1"),
            kv("api_resource", "users"),
            flag("deprecated", true),
        ],
        "the same actions on a span: `status == ERROR` holds, `severity` is missing"
    );
    let (status, text) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{text}");
}
