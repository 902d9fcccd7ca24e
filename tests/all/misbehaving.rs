//! Misbehaving plugins (an infinite loop, a memory bomb, a trap, garbage output, an error)
//! are contained: the batch gets the `on_error` policy, the failure is counted by kind, the
//! instance is replaced, and the pipeline keeps serving other batches.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;

use crate::support::{Collector, Sink, fixture, kv, plugin_artifact};

/// A request of one log record with `body`.
pub(crate) fn request(body: &str) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource { attributes: vec![kv("service.name", "aegis-backend")], ..Default::default() }),
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: 1_706_193_045_123_000_000,
                    severity_number: 9,
                    body: Some(AnyValue { value: Some(Value::StringValue(body.into())) }),
                    attributes: vec![kv("path", "/api/v1/users")],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn bodies(sink: &Sink) -> Vec<String> {
    sink.log_records()
        .iter()
        .filter_map(|r| match r.body.as_ref().and_then(|b| b.value.as_ref()) {
            Some(Value::StringValue(s)) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// Sends `before`, the poison record, and `after`; returns the collector for inspection.
async fn run(mode: &str, on_error: &str, expected_kind: &str) {
    let sink = Sink::start().await;
    let plugin = plugin_artifact("aegis-plugin-misbehave");
    let collector = Collector::start(
        &fixture("misbehave.toml"),
        &[
            ("AEGIS_TEST_SINK", sink.endpoint()),
            ("AEGIS_TEST_PLUGIN", plugin.display().to_string()),
            ("AEGIS_TEST_MODE", mode.to_string()),
            ("AEGIS_TEST_ON_ERROR", on_error.to_string()),
        ],
    );
    let mut client = LogsServiceClient::connect(format!("http://{}", collector.grpc)).await.expect("connect");
    client.export(request("before")).await.expect("the first batch is accepted");
    sink.wait_for(Duration::from_secs(10), "the first record", |sink| bodies(sink).len() == 1).await;
    client.export(request("boom")).await.expect("the poison batch is accepted (it fails later, in the pipeline)");
    for index in 0..3 {
        client.export(request(&format!("after {index}"))).await.expect("later batches are accepted");
    }
    let expected: Vec<String> = if on_error == "pass" {
        ["before", "boom", "after 0", "after 1", "after 2"].map(String::from).to_vec()
    } else {
        ["before", "after 0", "after 1", "after 2"].map(String::from).to_vec()
    };
    sink.wait_for(Duration::from_secs(20), "the later records", |sink| bodies(sink).len() >= expected.len()).await;
    let mut got = bodies(&sink);
    got.sort();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(got, want, "mode {mode}");

    collector.wait_metric(&format!("aegis_plugin_failures_total{{kind=\"{expected_kind}\",plugin=\"bad\"}}"), 1.0);
    if on_error == "drop" {
        collector.wait_metric(
            "aegis_processor_dropped_items_total{pipeline=\"logs\",processor=\"bad\",reason=\"on_error\"}",
            1.0,
        );
    }
    let logs = collector.logs();
    assert!(
        logs.contains("A plugin call failed.") && logs.contains("bad"),
        "the failure is logged with the plugin's name:\n{logs}"
    );
    let (status, logs) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_infinite_loop_is_interrupted_at_its_deadline() {
    run("loop", "drop", "timeout").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_bomb_hits_its_cap() {
    run("memory-bomb", "drop", "memory").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trap_is_contained_and_the_batch_passes_unchanged() {
    run("trap", "pass", "trap").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_output_is_refused_and_the_batch_passes_unchanged() {
    run("garbage", "pass", "invalid_output").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returned_error_drops_the_batch() {
    run("error", "drop", "error").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_processor_component_runs_and_is_never_ticked() {
    let sink = Sink::start().await;
    let plugin = plugin_artifact("aegis-plugin-plain-processor");
    let collector = Collector::start(
        &fixture("plain-processor.toml"),
        &[("AEGIS_TEST_SINK", sink.endpoint()), ("AEGIS_TEST_PLUGIN", plugin.display().to_string())],
    );
    let mut client = LogsServiceClient::connect(format!("http://{}", collector.grpc)).await.expect("connect");
    for body in ["one", "two"] {
        client.export(request(body)).await.expect("accepted");
    }
    sink.wait_for(Duration::from_secs(10), "both records", |sink| bodies(sink).len() == 2).await;
    assert!(collector.metric("aegis_plugin_plain_batches_total{plugin=\"plain\"}") >= 1.0);
    // The SDK processor beside it is ticked every 50ms; the plain one never.
    let ticks = "aegis_plugin_call_duration_seconds_count{function=\"tick\",plugin=\"timed\"}";
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while collector.metric(ticks) < 3.0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(collector.metric(ticks) >= 3.0, "{}", collector.metrics());
    let metrics = collector.metrics();
    assert!(!metrics.contains("function=\"tick\",plugin=\"plain\""), "the plain processor was ticked");
    assert!(!metrics.contains("aegis_plugin_failures_total"), "a plugin failed:\n{metrics}");
    let (status, logs) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{logs}");
}
