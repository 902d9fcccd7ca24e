//! Rough per-record costs, natively, in release: `cargo test --release -p aegis-wire
//! -- --ignored --nocapture timing`. Not a benchmark harness; a quick, honest number.

use std::hint::black_box;
use std::time::Instant;

use aegis_wire::{Logs, Signal, validate};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};

use crate::support::*;

/// A batch of `n` records of about 330 bytes with six attributes each.
fn batch(n: usize) -> (Vec<u8>, usize) {
    let records: Vec<LogRecord> = (0..n)
        .map(|k| LogRecord {
            time_unix_nano: 1_700_000_000_000_000_000 + k as u64,
            observed_time_unix_nano: 1_700_000_000_000_000_500 + k as u64,
            severity_number: 9,
            severity_text: "INFO".into(),
            body: Some(s(&format!(
                "GET /api/v1/items/{k} completed with status 200 in 12.5ms for user \
                 7f3a9c21 via edge-proxy-3 (cache miss, upstream 10.0.3.17:8080, retries 0)"
            ))),
            attributes: six_attributes(k),
            trace_id: vec![0xab; 16],
            span_id: vec![0xcd; 8],
            flags: 1,
            ..Default::default()
        })
        .collect();
    let per_record = prost::Message::encoded_len(&records[0]);
    let req = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(resource("checkout")),
            scope_logs: vec![ScopeLogs { scope: Some(scope("app")), log_records: records, schema_url: String::new() }],
            schema_url: String::new(),
        }],
    };
    (encode(&req), per_record)
}

/// The best of `rounds` runs, per record: the minimum is what the code costs when
/// nothing else on the machine gets in the way.
fn per_record(n: usize, rounds: usize, mut f: impl FnMut()) -> f64 {
    // AEGIS_TIMING_ONLY=<n> runs only the n-th measurement, for profiling one phase.
    thread_local!(static PHASE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) });
    let phase = PHASE.replace(PHASE.get() + 1);
    if let Ok(only) = std::env::var("AEGIS_TIMING_ONLY")
        && only.parse() != Ok(phase)
    {
        return f64::NAN;
    }
    f();
    let mut best = u128::MAX;
    for _ in 0..rounds {
        let start = Instant::now();
        f();
        best = best.min(start.elapsed().as_nanos());
    }
    best as f64 / n as f64
}

#[test]
#[ignore = "timing; run in release with --ignored"]
fn timing_of_validate_parse_and_a_typical_edit_per_record() {
    let n = 10_000;
    let (bytes, record_len) = batch(n);
    let rounds = 50;
    let validate_ns = per_record(n, rounds, || {
        black_box(validate(Signal::Logs, black_box(&bytes)).unwrap());
    });
    let parse_ns = per_record(n, rounds, || {
        let logs = Logs::parse(black_box(&bytes)).unwrap();
        black_box(logs.len());
    });
    let iterate_ns = per_record(n, rounds, || {
        let mut logs = Logs::parse(black_box(&bytes)).unwrap();
        for record in logs.records_mut() {
            black_box(&record);
        }
        black_box(logs.finish());
    });
    let unchanged_ns = per_record(n, rounds, || {
        let mut logs = Logs::parse(black_box(&bytes)).unwrap();
        for record in logs.records_mut() {
            black_box(record.view().severity_number());
        }
        black_box(logs.finish());
    });
    let upsert_ns = per_record(n, rounds, || {
        let mut logs = Logs::parse(black_box(&bytes)).unwrap();
        for mut record in logs.records_mut() {
            record.set_attribute("env", "prod");
        }
        black_box(logs.finish());
    });
    let three_ns = per_record(n, rounds, || {
        let mut logs = Logs::parse(black_box(&bytes)).unwrap();
        for mut record in logs.records_mut() {
            record.set_attribute("env", "prod");
            record.set_attribute("http.status_code", 503);
            record.remove_attribute("payload");
        }
        black_box(logs.finish());
    });
    let mut scratch = aegis_wire::AttributeScratch::default();
    let one_pass_ns = per_record(n, rounds, || {
        let mut logs = Logs::parse(black_box(&bytes)).unwrap();
        for mut record in logs.records_mut() {
            record.edit_attributes(&mut scratch, |attrs| {
                attrs.set("env", "prod");
                attrs.set("http.status_code", 503);
                attrs.remove("payload");
            });
        }
        black_box(logs.finish());
    });
    let one_pass_upsert_ns = per_record(n, rounds, || {
        let mut logs = Logs::parse(black_box(&bytes)).unwrap();
        for mut record in logs.records_mut() {
            record.edit_attributes(&mut scratch, |attrs| attrs.set("env", "prod"));
        }
        black_box(logs.finish());
    });
    let split_ns = per_record(n, rounds, || {
        black_box(aegis_wire::split(Signal::Logs, black_box(&bytes), 1000));
    });
    println!("record size: {record_len} bytes, batch of {n}");
    println!("validate:                  {validate_ns:6.1} ns/record");
    println!("parse (index):             {parse_ns:6.1} ns/record");
    println!("parse + iterate + finish:  {iterate_ns:6.1} ns/record");
    println!("parse + read + unchanged:  {unchanged_ns:6.1} ns/record");
    println!("parse + upsert 1 + finish: {upsert_ns:6.1} ns/record");
    println!("parse + 3 edits + finish:  {three_ns:6.1} ns/record");
    println!("same 3 edits in one pass:  {one_pass_ns:6.1} ns/record");
    println!("upsert 1 in one pass:      {one_pass_upsert_ns:6.1} ns/record");
    println!("split into 1000s:          {split_ns:6.1} ns/record");
}
