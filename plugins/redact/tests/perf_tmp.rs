//! Temporary timing harness (not to be kept).
use aegis_plugin_redact::Redact;
use aegis_plugin_sdk::{Config, Processor, Signal, run_processor};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

struct Random(u64);
impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}
fn string(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(Value::StringValue(value.into())) }),
        ..Default::default()
    }
}
fn int(key: &str, value: i64) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(Value::IntValue(value)) }), ..Default::default() }
}
fn log_record(random: &mut Random, attributes: usize) -> LogRecord {
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
fn logs_request(records: usize, attributes: usize) -> Vec<u8> {
    let mut random = Random(0x2545_f491_4f6c_dd1d);
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

fn time(name: &str, config: &str, attributes: usize) {
    if std::env::var("ONLY").is_ok_and(|o| o != name) {
        return;
    }
    let mut p = Redact::init(Config::from_json(config).unwrap()).unwrap();
    let input = logs_request(1000, attributes);
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(300);
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let t = std::time::Instant::now();
        let out = run_processor(&mut p, Signal::Logs, &input).unwrap();
        std::hint::black_box(out);
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!("{name}: {:.0} ns/record", best * 1e9 / 1000.0);
}

#[test]
#[ignore]
fn timing() {
    time(
        "five",
        r#"{"allow_all_keys": true, "detectors": ["email", "credit_card", "ipv4", "jwt", "aegis_sensitive_keys"]}"#,
        10,
    );
    time(
        "nothing",
        r#"{"allow_all_keys": true, "detectors": ["email", "credit_card", "jwt", "bearer", "aws_access_key"]}"#,
        6,
    );
    time("base", r#"{"allow_all_keys": true, "detectors": ["aws_access_key"]}"#, 6);
}
