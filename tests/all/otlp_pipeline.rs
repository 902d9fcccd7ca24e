//! A real OTLP client (the `opentelemetry-otlp` crate, over gRPC and over HTTP) sends logs,
//! spans and metrics through `aegis run`, where the attributes plugin changes them, to an
//! OTLP sink; the tests check the records and fields that arrived.

use std::time::{Duration, UNIX_EPOCH};

use opentelemetry::KeyValue;
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{Span as _, SpanKind, TraceContextExt, Tracer as _, TracerProvider as _};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_sdk::Resource;

use crate::support::{Collector, RuntimeHttpClient, Sink, attribute, fixture};

fn resource() -> Resource {
    Resource::builder().with_service_name("aegis-backend").build()
}

fn string(value: Option<&Value>) -> Option<&str> {
    match value {
        Some(Value::StringValue(s)) => Some(s),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_over_grpc_arrive_changed_by_the_wasm_processor() {
    let sink = Sink::start().await;
    let collector = Collector::start(&fixture("passthrough.toml"), &[("AEGIS_TEST_SINK", sink.endpoint())]);

    let exporter = opentelemetry_otlp::LogExporter::builder()
        .with_tonic()
        .with_endpoint(format!("http://{}", collector.grpc))
        .build()
        .expect("log exporter");
    let provider = opentelemetry_sdk::logs::SdkLoggerProvider::builder()
        .with_resource(resource())
        .with_batch_exporter(exporter)
        .build();
    let logger = provider.logger("aegis-test");
    let timestamp = UNIX_EPOCH + Duration::from_millis(1_706_193_045_123);
    let trace_id = opentelemetry::trace::TraceId::from_hex("a1b2c3d4e5f60718293a4b5c6d7e8f90").unwrap();
    let span_id = opentelemetry::trace::SpanId::from_hex("0102030405060708").unwrap();
    for (index, message) in
        ["User created successfully", "Database query slow: 2.3s", "Error: Connection pool exhausted"]
            .iter()
            .enumerate()
    {
        let mut record = logger.create_log_record();
        record.set_body(AnyValue::from(message.to_string()));
        record.set_timestamp(timestamp + Duration::from_secs(index as u64));
        record.set_severity_number(if index == 2 { Severity::Error } else { Severity::Info });
        record.set_severity_text(if index == 2 { "error" } else { "info" });
        record.set_trace_context(trace_id, span_id, None);
        record.add_attribute("user_id", "admin-uuid");
        record.add_attribute("http.method", "POST");
        record.add_attribute("duration_ms", 45_i64 + index as i64);
        logger.emit(record);
    }
    tokio::task::spawn_blocking(move || {
        provider.force_flush().expect("flush logs");
        provider.shutdown().expect("shut the logger down");
    })
    .await
    .unwrap();

    sink.wait_for(Duration::from_secs(20), "3 log records", |sink| sink.log_records().len() >= 3).await;
    let records = sink.log_records();
    assert_eq!(records.len(), 3);
    for (index, record) in records.iter().enumerate() {
        let body = record.body.as_ref().and_then(|b| b.value.as_ref());
        let expected =
            ["User created successfully", "Database query slow: 2.3s", "Error: Connection pool exhausted"][index];
        assert_eq!(string(body), Some(expected));
        assert_eq!(record.time_unix_nano, 1_706_193_045_123_000_000 + index as u64 * 1_000_000_000);
        assert_eq!(record.severity_number, if index == 2 { 17 } else { 9 });
        assert_eq!(record.trace_id, trace_id.to_bytes().to_vec());
        assert_eq!(record.span_id, span_id.to_bytes().to_vec());
        // The attributes plugin upserted, deleted and renamed.
        assert_eq!(string(attribute(&record.attributes, "deployment.environment")), Some("production"));
        assert_eq!(attribute(&record.attributes, "user_id"), None);
        assert_eq!(attribute(&record.attributes, "http.method"), None);
        assert_eq!(string(attribute(&record.attributes, "http.request.method")), Some("POST"));
        assert_eq!(attribute(&record.attributes, "duration_ms"), Some(&Value::IntValue(45 + index as i64)));
    }
    let service = sink.with(|received| {
        let resource = received.logs[0].resource_logs[0].resource.clone().unwrap();
        string(attribute(&resource.attributes, "service.name")).map(str::to_string)
    });
    assert_eq!(service.as_deref(), Some("aegis-backend"));
    // The exporter's configured headers reached the sink.
    let tenant =
        sink.with(|received| received.headers[0].get("x-scope-orgid").map(|v| v.to_str().unwrap().to_string()));
    assert_eq!(tenant.as_deref(), Some("aegis"));

    collector.wait_metric("aegis_receiver_accepted_items_total{receiver=\"otlp\",signal=\"logs\"}", 3.0);
    collector.wait_metric("aegis_processor_items_in_total{pipeline=\"logs\",processor=\"tag\"}", 3.0);
    collector.wait_metric("aegis_exporter_sent_items_total{exporter=\"sink\",pipeline=\"logs\"}", 3.0);
    let (status, logs) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_and_metrics_over_http_arrive_changed_by_the_wasm_processor() {
    let sink = Sink::start().await;
    let collector = Collector::start(&fixture("passthrough.toml"), &[("AEGIS_TEST_SINK", sink.endpoint())]);

    let span_exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(format!("http://{}/v1/traces", collector.http))
        .with_http_client(RuntimeHttpClient::new())
        .build()
        .expect("span exporter");
    let tracer_provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_resource(resource())
        .with_batch_exporter(span_exporter)
        .build();
    let tracer = tracer_provider.tracer("aegis-test");
    // The POST /api/v1/users trace of the design documents.
    let mut root = tracer
        .span_builder("http.request")
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("http.method", "POST"),
            KeyValue::new("http.route", "/api/v1/users"),
            KeyValue::new("user_id", "admin-uuid"),
        ])
        .start(&tracer);
    let root_context = root.span_context().clone();
    let parent = opentelemetry::Context::current().with_remote_span_context(root_context.clone());
    for child in ["auth.verify", "policy.evaluate", "db.insert"] {
        let mut span = tracer.span_builder(child).start_with_context(&tracer, &parent);
        span.set_attribute(KeyValue::new("http.method", "POST"));
        span.end();
    }
    root.end();

    let metric_exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(format!("http://{}/v1/metrics", collector.http))
        .with_http_client(RuntimeHttpClient::new())
        .build()
        .expect("metric exporter");
    let meter_provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
        .with_resource(resource())
        .with_periodic_exporter(metric_exporter)
        .build();
    let meter = meter_provider.meter("aegis-test");
    let requests = meter.u64_counter("http_requests_total").build();
    requests.add(3, &[KeyValue::new("method", "POST"), KeyValue::new("status", "201")]);
    let duration = meter.f64_histogram("http_request_duration_seconds").build();
    duration.record(0.045, &[KeyValue::new("method", "POST")]);

    tokio::task::spawn_blocking(move || {
        tracer_provider.force_flush().expect("flush spans");
        meter_provider.force_flush().expect("flush metrics");
        let _ = tracer_provider.shutdown();
        let _ = meter_provider.shutdown();
    })
    .await
    .unwrap();

    sink.wait_for(Duration::from_secs(20), "4 spans and 2 metrics", |sink| {
        sink.spans().len() >= 4 && sink.metrics().len() >= 2
    })
    .await;
    let spans = sink.spans();
    let mut names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["auth.verify", "db.insert", "http.request", "policy.evaluate"]);
    let trace_id = root_context.trace_id().to_bytes().to_vec();
    for span in &spans {
        assert_eq!(span.trace_id, trace_id, "{} keeps its trace id", span.name);
        assert!(span.end_time_unix_nano >= span.start_time_unix_nano && span.start_time_unix_nano > 0);
        assert_eq!(string(attribute(&span.attributes, "deployment.environment")), Some("production"));
        assert_eq!(string(attribute(&span.attributes, "http.request.method")), Some("POST"));
        assert_eq!(attribute(&span.attributes, "user_id"), None);
        if span.name != "http.request" {
            assert_eq!(span.parent_span_id, root_context.span_id().to_bytes().to_vec());
        }
    }
    let metrics = sink.metrics();
    let counter = metrics.iter().find(|m| m.name == "http_requests_total").expect("the counter arrived");
    let Some(Data::Sum(sum)) = &counter.data else { panic!("a sum") };
    assert!(sum.is_monotonic);
    let point = &sum.data_points[0];
    assert_eq!(point.value, Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(3)));
    assert_eq!(string(attribute(&point.attributes, "deployment.environment")), Some("production"));
    assert_eq!(string(attribute(&point.attributes, "status")), Some("201"));
    let histogram = metrics.iter().find(|m| m.name == "http_request_duration_seconds").expect("the histogram arrived");
    let Some(Data::Histogram(histogram)) = &histogram.data else { panic!("a histogram") };
    assert_eq!(histogram.data_points[0].count, 1);
    assert_eq!(histogram.data_points[0].sum, Some(0.045));
    let (status, logs) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{logs}");
}
