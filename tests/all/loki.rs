//! The Loki exporter plugin through a real `aegis run`: OTLP logs in, pushes out to an
//! in-test HTTP server standing in for Loki (no registry ships Loki). The test reads each
//! push the way Loki does (snappy block, then `logproto.PushRequest` as defined in Loki's
//! `pkg/push/push.proto`, with its own structs) and checks streams, labels, order, structured
//! metadata and headers, and that a 429 with `Retry-After` is retried and a 400 is not.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

use crate::support::{Collector, fixture, kv};

/// Loki's `logproto.PushRequest`, written from `push.proto` for the test alone.
#[derive(Clone, PartialEq, Message)]
struct PushRequest {
    #[prost(message, repeated, tag = "1")]
    streams: Vec<StreamAdapter>,
}

#[derive(Clone, PartialEq, Message)]
struct StreamAdapter {
    #[prost(string, tag = "1")]
    labels: String,
    #[prost(message, repeated, tag = "2")]
    entries: Vec<EntryAdapter>,
    #[prost(uint64, tag = "3")]
    hash: u64,
}

#[derive(Clone, PartialEq, Message)]
struct EntryAdapter {
    #[prost(message, optional, tag = "1")]
    timestamp: Option<Timestamp>,
    #[prost(string, tag = "2")]
    line: String,
    #[prost(message, repeated, tag = "3")]
    structured_metadata: Vec<LabelPairAdapter>,
}

#[derive(Clone, PartialEq, Message)]
struct LabelPairAdapter {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    value: String,
}

#[derive(Clone, PartialEq, Message)]
struct Timestamp {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

impl EntryAdapter {
    fn nanos(&self) -> u64 {
        let t = self.timestamp.clone().unwrap_or_default();
        t.seconds as u64 * 1_000_000_000 + t.nanos as u64
    }

    fn metadata(&self, name: &str) -> Option<&str> {
        self.structured_metadata.iter().find(|p| p.name == name).map(|p| p.value.as_str())
    }
}

/// One request the stand-in Loki received.
#[derive(Clone, Debug)]
struct Push {
    path: String,
    headers: http::HeaderMap,
    body: Vec<u8>,
    at: Instant,
}

impl Push {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body read as Loki reads a protobuf push.
    fn decode(&self) -> PushRequest {
        let raw = snap::raw::Decoder::new().decompress_vec(&self.body).expect("the body is a snappy block");
        PushRequest::decode(raw.as_slice()).expect("the body is a logproto.PushRequest")
    }
}

/// An answer the stand-in gives instead of 204.
struct Reply {
    status: u16,
    retry_after: Option<&'static str>,
    body: &'static str,
}

/// An HTTP server on loopback that records every push and answers 204, or the scripted
/// replies first.
#[derive(Clone, Default)]
struct FakeLoki {
    pushes: Arc<Mutex<Vec<Push>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
}

impl FakeLoki {
    async fn start() -> (FakeLoki, SocketAddr) {
        let loki = FakeLoki::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the stand-in Loki");
        let address = listener.local_addr().unwrap();
        let state = loki.clone();
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let state = state.clone();
            async move {
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, 64 << 20).await.unwrap_or_default();
                state.pushes.lock().unwrap().push(Push {
                    path: parts.uri.path().to_string(),
                    headers: parts.headers,
                    body: body.to_vec(),
                    at: Instant::now(),
                });
                let reply = state.script.lock().unwrap().pop_front();
                let mut response = http::Response::builder();
                let body = match reply {
                    Some(reply) => {
                        response = response.status(reply.status);
                        if let Some(after) = reply.retry_after {
                            response = response.header("retry-after", after);
                        }
                        reply.body
                    }
                    None => {
                        response = response.status(204);
                        ""
                    }
                };
                response.body(axum::body::Body::from(body)).unwrap()
            }
        });
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("the stand-in Loki serves");
        });
        (loki, address)
    }

    fn reply(&self, status: u16, retry_after: Option<&'static str>, body: &'static str) {
        self.script.lock().unwrap().push_back(Reply { status, retry_after, body });
    }

    fn pushes(&self, path: &str) -> Vec<Push> {
        self.pushes.lock().unwrap().iter().filter(|p| p.path == path).cloned().collect()
    }

    async fn wait_for(&self, what: &str, done: impl Fn(&FakeLoki) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if done(self) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("timed out waiting for {what}");
    }
}

const PUSH: &str = "/loki/api/v1/push";
const JSON_PUSH: &str = "/json/loki/api/v1/push";
const TRACE_ID: [u8; 16] =
    [0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18, 0x29, 0x3a, 0x4b, 0x5c, 0x6d, 0x7e, 0x8f, 0x90];
const SPAN_ID: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];
const T0: u64 = 1_706_193_045_123_000_000;

fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(any_value::Value::IntValue(value)) }),
        ..Default::default()
    }
}

fn record(offset_secs: u64, severity: i32, body: &str, attributes: Vec<KeyValue>) -> LogRecord {
    LogRecord {
        time_unix_nano: T0 + offset_secs * 1_000_000_000,
        severity_number: severity,
        body: Some(AnyValue { value: Some(any_value::Value::StringValue(body.into())) }),
        attributes,
        trace_id: TRACE_ID.to_vec(),
        span_id: SPAN_ID.to_vec(),
        ..Default::default()
    }
}

fn resource_logs(service: &str, records: Vec<LogRecord>) -> ResourceLogs {
    ResourceLogs {
        resource: Some(Resource { attributes: vec![kv("service.name", service)], ..Default::default() }),
        scope_logs: vec![ScopeLogs { log_records: records, ..Default::default() }],
        ..Default::default()
    }
}

async fn send(collector: &Collector, request: ExportLogsServiceRequest) {
    let response = crate::support::http_client()
        .post(format!("http://{}/v1/logs", collector.http))
        .header("content-type", "application/x-protobuf")
        .body(request.encode_to_vec())
        .send()
        .await
        .expect("the collector answers");
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_reach_loki_as_ordered_streams_with_labels_metadata_tenant_and_auth() {
    let (loki, address) = FakeLoki::start().await;
    let collector = Collector::start(
        &fixture("loki/push.toml"),
        &[
            ("AEGIS_TEST_LOKI", format!("http://{address}")),
            ("AEGIS_TEST_LOKI_PASSWORD", "s3cret-password".into()),
            ("AEGIS_TEST_LOKI_TOKEN", "t0ken".into()),
        ],
    );

    // Out of order on purpose: Loki wants each stream's entries in time order.
    let request = ExportLogsServiceRequest {
        resource_logs: vec![
            resource_logs(
                "aegis-backend",
                vec![
                    record(
                        2,
                        17,
                        "Error: Connection pool exhausted",
                        vec![kv("user_id", "admin-uuid"), int("duration_ms", 2300)],
                    ),
                    record(
                        1,
                        9,
                        "Database query slow: 2.3s",
                        vec![kv("user_id", "admin-uuid"), int("duration_ms", 2300)],
                    ),
                    record(
                        0,
                        9,
                        "User created successfully",
                        vec![kv("user_id", "admin-uuid"), int("duration_ms", 45)],
                    ),
                ],
            ),
            resource_logs("aegis-executor", vec![record(3, 13, "Scaling deployment backend to 8 replicas", vec![])]),
        ],
    };
    send(&collector, request).await;
    let entries = |loki: &FakeLoki, path: &str| -> usize {
        loki.pushes(path)
            .iter()
            .map(|p| if path == PUSH { p.decode().streams.iter().map(|s| s.entries.len()).sum() } else { 1 })
            .sum()
    };
    loki.wait_for("4 entries over protobuf", |loki| entries(loki, PUSH) >= 4).await;
    loki.wait_for("a JSON push", |loki| !loki.pushes(JSON_PUSH).is_empty()).await;

    // Headers: protobuf, snappy without Content-Encoding, the tenant, basic auth.
    let pushes = loki.pushes(PUSH);
    for push in &pushes {
        assert_eq!(push.header("content-type"), Some("application/x-protobuf"));
        assert_eq!(push.header("content-encoding"), None);
        assert_eq!(push.header("x-scope-orgid"), Some("aegis"));
        // base64("aegis:s3cret-password")
        assert_eq!(push.header("authorization"), Some("Basic YWVnaXM6czNjcmV0LXBhc3N3b3Jk"));
    }

    // Streams by service, job and level, each in time order.
    let mut streams: Vec<StreamAdapter> = pushes.iter().flat_map(|p| p.decode().streams).collect();
    for stream in &streams {
        let times: Vec<u64> = stream.entries.iter().map(EntryAdapter::nanos).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{}: {times:?}", stream.labels);
    }
    streams.sort_by(|a, b| a.labels.cmp(&b.labels));
    let summary: Vec<(&str, Vec<u64>)> =
        streams.iter().map(|s| (s.labels.as_str(), s.entries.iter().map(EntryAdapter::nanos).collect())).collect();
    let at = |secs: u64| T0 + secs * 1_000_000_000;
    assert_eq!(
        summary,
        [
            (r#"{job="aegis-backend", level="error", service_name="aegis-backend"}"#, vec![at(2)]),
            (r#"{job="aegis-backend", level="info", service_name="aegis-backend"}"#, vec![at(0), at(1)]),
            (r#"{job="aegis-executor", level="warn", service_name="aegis-executor"}"#, vec![at(3)]),
        ]
    );

    // JSON lines that LogQL's `| json` reads, and ids plus user_id as structured metadata.
    let created = &streams[1].entries[0];
    let line: serde_json::Value = serde_json::from_str(&created.line).expect("a JSON line");
    assert_eq!(
        line,
        serde_json::json!({ "message": "User created successfully", "level": "info", "user_id": "admin-uuid", "duration_ms": 45 })
    );
    assert_eq!(created.metadata("trace_id"), Some("a1b2c3d4e5f60718293a4b5c6d7e8f90"));
    assert_eq!(created.metadata("span_id"), Some("0102030405060708"));
    assert_eq!(created.metadata("user_id"), Some("admin-uuid"));
    assert_eq!(streams[2].entries[0].metadata("user_id"), None, "absent attributes are left out");

    // The JSON exporter: Loki's JSON push body, the body as the line, a bearer token.
    let json_pushes = loki.pushes(JSON_PUSH);
    assert_eq!(json_pushes[0].header("content-type"), Some("application/json"));
    assert_eq!(json_pushes[0].header("authorization"), Some("Bearer t0ken"));
    assert_eq!(json_pushes[0].header("x-scope-orgid"), None);
    let mut values = Vec::new();
    for push in &json_pushes {
        let body: serde_json::Value = serde_json::from_slice(&push.body).expect("a JSON body");
        for stream in body["streams"].as_array().unwrap() {
            for value in stream["values"].as_array().unwrap() {
                values.push((stream["stream"].clone(), value.clone()));
            }
        }
    }
    assert_eq!(values.len(), 4);
    let created = values.iter().find(|(_, v)| v[1] == "User created successfully").expect("the record");
    assert_eq!(created.0, serde_json::json!({ "job": "aegis-backend" }));
    assert_eq!(created.1[0], T0.to_string());
    assert_eq!(
        created.1[2],
        serde_json::json!({ "trace_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90", "span_id": "0102030405060708" })
    );

    collector.wait_metric("aegis_plugin_loki_entries_sent_total{plugin=\"loki\"}", 4.0);
    collector.wait_metric("aegis_plugin_loki_entries_sent_total{plugin=\"loki_json\"}", 4.0);
    let (status, logs) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{logs}");
    assert!(!logs.contains("s3cret-password") && !logs.contains("t0ken"), "a secret was logged:\n{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_retried_after_its_retry_after_and_a_400_is_not() {
    let (loki, address) = FakeLoki::start().await;
    let collector = Collector::start(&fixture("loki/retry.toml"), &[("AEGIS_TEST_LOKI", format!("http://{address}"))]);
    let one = |body: &str| ExportLogsServiceRequest {
        resource_logs: vec![resource_logs("aegis-backend", vec![record(0, 9, body, vec![])])],
    };

    loki.reply(429, Some("1"), "Ingestion rate limit exceeded");
    send(&collector, one("User created successfully")).await;
    loki.wait_for("the push and its retry", |loki| loki.pushes(PUSH).len() >= 2).await;
    let pushes = loki.pushes(PUSH);
    assert_eq!(pushes[0].body, pushes[1].body, "the retry sends the same push");
    let waited = pushes[1].at - pushes[0].at;
    assert!(waited >= Duration::from_millis(900), "Retry-After: 1 was not honoured: retried after {waited:?}");
    collector.wait_metric("aegis_exporter_sent_items_total{exporter=\"loki\",pipeline=\"logs\"}", 1.0);

    loki.reply(400, None, "entry for stream '{job=\"aegis-backend\"}' has timestamp too old");
    send(&collector, one("Database query slow: 2.3s")).await;
    loki.wait_for("the refused push", |loki| loki.pushes(PUSH).len() >= 3).await;
    collector
        .wait_metric("aegis_exporter_failed_items_total{exporter=\"loki\",pipeline=\"logs\",reason=\"rejected\"}", 1.0);
    // Well past the first retry's backoff (100ms): still no second attempt.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(loki.pushes(PUSH).len(), 3, "a 400 was retried");
    let refused = loki.pushes(PUSH)[2].decode();
    assert_eq!(refused.streams[0].entries[0].line, "Database query slow: 2.3s");

    let (status, logs) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{logs}");
    assert!(logs.contains("has timestamp too old"), "Loki's answer is logged:\n{logs}");
}
