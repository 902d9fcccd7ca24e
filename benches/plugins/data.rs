//! Realistic batches for the plugin benchmarks: the Aegis services' log records and the
//! spans of a `POST /api/v1/users` trace.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

/// A deterministic xorshift generator, so every run sees the same data.
pub(crate) struct Random(u64);

impl Random {
    pub(crate) fn new() -> Self {
        Random(0x2545_f491_4f6c_dd1d)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

pub(crate) fn string(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

pub(crate) fn int(key: &str, value: i64) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(Value::IntValue(value)) }), ..Default::default() }
}

/// One Aegis backend log record of about 330 bytes with `attributes` attributes (6 or 10).
pub(crate) fn log_record(random: &mut Random, attributes: usize) -> LogRecord {
    let mut all = vec![
        string("method", "POST"),
        string("path", "/api/v1/users"),
        int("status_code", 201),
        int("duration_ms", (random.next() % 2000) as i64),
        string(
            "user_id",
            format!("{:08x}-{:04x}-4{:03x}", random.next() as u32, random.next() as u16, random.next() % 4096),
        ),
        string("client.address", format!("10.{}.{}.{}", random.next() % 256, random.next() % 256, random.next() % 256)),
        string("user.email", format!("user{}@example.com", random.next() % 10_000)),
        string("http.user_agent", "Mozilla/5.0 (X11; Linux x86_64)"),
        string("authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"),
        string("region", "eu-west-1"),
    ];
    all.truncate(attributes);
    LogRecord {
        time_unix_nano: 1_706_193_045_123_000_000 + random.next() % 1_000_000_000,
        observed_time_unix_nano: 1_706_193_045_124_000_000,
        severity_number: 9,
        severity_text: "info".into(),
        body: Some(AnyValue {
            value: Some(Value::StringValue(format!(
                "User created successfully for tenant acme-{:04}",
                random.next() % 10_000
            ))),
        }),
        attributes: all,
        trace_id: random.bytes(16),
        span_id: random.bytes(8),
        flags: 1,
        ..Default::default()
    }
}

/// An `ExportLogsServiceRequest` of `records` records under one resource and scope.
pub(crate) fn logs_request(records: usize, attributes: usize) -> Vec<u8> {
    let mut random = Random::new();
    let log_records = (0..records).map(|_| log_record(&mut random, attributes)).collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![string("service.name", "aegis-backend")],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope { name: "aegis-backend".into(), ..Default::default() }),
                log_records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// An `ExportTraceServiceRequest` of `traces` traces of four spans each (`http.request` with
/// children `auth.verify`, `policy.evaluate`, `db.insert`).
pub(crate) fn traces_request(traces: usize) -> Vec<u8> {
    let mut random = Random::new();
    let mut spans = Vec::with_capacity(traces * 4);
    for _ in 0..traces {
        let trace_id = random.bytes(16);
        let root = random.bytes(8);
        let start = 1_706_193_045_000_000_000 + random.next() % 1_000_000_000;
        for (index, (name, millis)) in
            [("http.request", 45), ("auth.verify", 5), ("policy.evaluate", 12), ("db.insert", 23)]
                .into_iter()
                .enumerate()
        {
            spans.push(Span {
                trace_id: trace_id.clone(),
                span_id: if index == 0 { root.clone() } else { random.bytes(8) },
                parent_span_id: if index == 0 { Vec::new() } else { root.clone() },
                name: name.into(),
                kind: if index == 0 { 2 } else { 1 },
                start_time_unix_nano: start,
                end_time_unix_nano: start + millis * 1_000_000,
                attributes: vec![
                    string("http.method", "POST"),
                    string("http.route", "/api/v1/users"),
                    int("http.status_code", 201),
                ],
                ..Default::default()
            });
        }
    }
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![string("service.name", "aegis-backend")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}
