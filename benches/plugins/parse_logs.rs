//! The parse-logs processor: Aegis JSON lines as a file receiver ships them (one line a
//! body, a resource without `service.name`), then logfmt and nginx access lines.

use aegis::batch::Signal;
use aegis_plugin_sdk::{Config, Processor};
use criterion::Criterion;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

use crate::data::{Random, string};

/// An `ExportLogsServiceRequest` with one record per line, as the file receiver sends it.
fn request(lines: impl Iterator<Item = String>) -> (Vec<u8>, usize, usize) {
    let mut bytes = 0;
    let log_records: Vec<LogRecord> = lines
        .map(|line| {
            bytes += line.len();
            LogRecord {
                observed_time_unix_nano: 1_706_193_045_124_000_000,
                body: Some(AnyValue { value: Some(Value::StringValue(line)) }),
                attributes: vec![string("log.file.path", "/var/log/aegis/backend.log")],
                ..Default::default()
            }
        })
        .collect();
    let records = log_records.len();
    let request = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource { attributes: vec![string("host.name", "node-1")], ..Default::default() }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope { name: "file-logs".into(), ..Default::default() }),
                log_records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    (request.encode_to_vec(), records, bytes / records.max(1))
}

/// An aegis-backend JSON line of about 250 bytes.
fn json_line(random: &mut Random) -> String {
    let level = ["info", "info", "info", "warn", "error", "debug"][(random.next() % 6) as usize];
    format!(
        r#"{{"timestamp":"2024-01-25T14:30:{:02}.{:03}Z","level":"{level}","service":"aegis-backend","message":"User created successfully for tenant acme-{:04}","trace_id":"{:016x}","user_id":"{:08x}-{:04x}","method":"POST","path":"/api/v1/users","status_code":201,"duration_ms":{}}}"#,
        random.next() % 60,
        random.next() % 1000,
        random.next() % 10_000,
        random.next(),
        random.next() as u32,
        random.next() as u16,
        random.next() % 2000,
    )
}

fn logfmt_line(random: &mut Random) -> String {
    format!(
        r#"time=2024-01-25T14:30:{:02}.{:03}Z level=info msg="User created successfully" tenant=acme-{:04} trace_id={:016x} method=POST path=/api/v1/users status_code=201 duration_ms={}"#,
        random.next() % 60,
        random.next() % 1000,
        random.next() % 10_000,
        random.next(),
        random.next() % 2000,
    )
}

fn nginx_line(random: &mut Random) -> String {
    format!(
        r#"10.{}.{}.{} - - [25/Jan/2024:14:30:{:02} +0000] "POST /api/v1/users?tenant=acme-{:04} HTTP/1.1" 201 {} "https://app.aegis.example/" "Mozilla/5.0 (X11; Linux x86_64)""#,
        random.next() % 256,
        random.next() % 256,
        random.next() % 256,
        random.next() % 60,
        random.next() % 10_000,
        random.next() % 5000,
    )
}

fn run(c: &mut Criterion, group: &str, config: &str, line: fn(&mut Random) -> String) {
    let mut random = Random::new();
    let (payload, records, bytes) = request((0..1000).map(|_| line(&mut random)));
    let native = aegis_plugin_parse_logs::ParseLogs::init(Config::from_json(config).unwrap()).unwrap();
    let payloads = vec![(format!("{records} lines of {bytes} B"), payload, records)];
    crate::support::compare(c, group, "parse-logs", config, native, Signal::Logs, &payloads);
}

pub(crate) fn bench(c: &mut Criterion) {
    run(c, "parse-logs-json", r#"{"format": "json"}"#, json_line);
    run(c, "parse-logs-logfmt", r#"{"format": "logfmt"}"#, logfmt_line);
    run(c, "parse-logs-nginx", r#"{"format": "nginx"}"#, nginx_line);
}
