//! The fuzz crate's differential checks (`fuzz/src/differential.rs`, included by path) on
//! valid requests and on seeded damage to them: validation, split, views and edits agree with
//! prost's reading of the same bytes. The `wire` fuzz target runs the same checks on bytes
//! libFuzzer chooses; this test keeps what it found from coming back, on stable, in CI.

// The file is the fuzz crate's public module; here nothing outside this test sees it.
#[allow(unreachable_pub)]
#[path = "../../../../fuzz/src/differential.rs"]
mod check;

use aegis_wire::Signal;

use crate::fuzz::damage;
use crate::support::*;

fn requests() -> Vec<(Signal, Vec<u8>)> {
    vec![
        (Signal::Logs, encode(&logs_request(1))),
        (Signal::Logs, encode(&logs_request(3))),
        (Signal::Traces, encode(&traces_request(1))),
        (Signal::Traces, encode(&traces_request(2))),
        (Signal::Metrics, encode(&metrics_request(1))),
        (Signal::Metrics, encode(&metrics_request(3))),
    ]
}

#[test]
fn valid_requests_read_split_and_edit_as_prost_reads_them() {
    for (signal, bytes) in requests() {
        for op in 0..8u8 {
            for max_items in 0..4u8 {
                let ops: Vec<u8> = std::iter::once(max_items).chain((0..16).map(|k| op.wrapping_add(k))).collect();
                check::check(signal, &bytes, &ops);
            }
        }
    }
}

#[test]
fn damaged_requests_read_split_and_edit_as_prost_reads_them() {
    let mut rng = Rng(0x5eed_d1ff);
    let mut accepted = 0;
    for (signal, bytes) in requests() {
        for _ in 0..1000 {
            let mut broken = damage(&mut rng, &bytes);
            // Damage twice, some of the time: one change is often refused at once.
            if rng.below(2) == 0 && !broken.is_empty() {
                broken = damage(&mut rng, &broken);
            }
            let ops: Vec<u8> = (0..16).map(|_| rng.next() as u8).collect();
            accepted += usize::from(aegis_wire::validate(signal, &broken).is_ok());
            check::check(signal, &broken, &ops);
        }
    }
    // The checks past validation must have run on damaged requests too.
    assert!(accepted > 500, "only {accepted} damaged requests validated");
}

/// The requests above as inputs of the `wire` fuzz target, which reads them back as they
/// were; written out as its seeds when asked, from the repository's root:
/// `AEGIS_WIRE_SEEDS=$PWD/fuzz/corpus/wire cargo test -p aegis-wire --test all seeds`.
#[test]
fn seeds_for_the_fuzz_target() {
    let ops = [2, 1, 2, 3, 4, 5, 6, 7];
    let dir = std::env::var_os("AEGIS_WIRE_SEEDS");
    for (n, (signal, bytes)) in requests().into_iter().enumerate() {
        let input = check::make_input(signal, &ops, &bytes);
        assert_eq!(check::parse_input(&input), Some((signal, &ops[..], &bytes[..])));
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(std::path::Path::new(dir).join(format!("{signal}-{n}")), input).unwrap();
        }
    }
}

/// Found by the fuzz target: an attribute value whose `string_value` is followed by a
/// `string_value_strindex` (a member of the same `oneof`, an index into a profiles
/// dictionary). Prost reads the index, the last member; the view read the string before it.
/// OTLP asks signals other than profiles to read an index as no value, and so the view does.
#[test]
fn a_string_index_after_a_string_reads_as_no_value() {
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    let record = LogRecord { attributes: vec![kv("code", s("PLACEHOLDERXY"))], ..Default::default() };
    let request = opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs { log_records: vec![record], ..Default::default() }],
            ..Default::default()
        }],
    };
    let mut bytes = encode(&request);
    // The value's payload keeps its length: a 10-byte string, then field 8 = 201.
    let (from, to) = (b"\x0a\x0dPLACEHOLDERXY", b"\x0a\x0aPLACEHOLDE\x40\xc9\x01");
    let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
    bytes[at..at + from.len()].copy_from_slice(to);
    let logs = aegis_wire::Logs::parse(&bytes).unwrap();
    let record = logs.records().next().unwrap();
    assert_eq!(record.attribute("code").map(|v| v.get()), Some(aegis_wire::ValueRef::Empty));
    check::check(Signal::Logs, &bytes, &[1, 0, 1, 2, 3]);
}

/// Found by the fuzz target: a span whose status is there but empty. Prost reads an empty
/// `Status`, where the owned span writes none. OTLP reads an absent status as code unset with
/// no message, so the two are the same span; the view reads it so, and the check counts them
/// equal.
#[test]
fn an_empty_status_reads_as_unset() {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
    let span = Span { status: Some(Status::default()), ..Default::default() };
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans { spans: vec![span], ..Default::default() }],
            ..Default::default()
        }],
    };
    let bytes = encode(&request);
    // Field 15, length 0.
    assert!(bytes.ends_with(b"\x7a\x00"), "{bytes:x?}");
    let traces = aegis_wire::Traces::parse(&bytes).unwrap();
    let status = traces.spans().next().unwrap().status();
    assert_eq!((status.code(), status.message()), (0, ""));
    check::check(Signal::Traces, &bytes, &[1, 0, 1, 2, 3]);
    // The fuzzer's input: the same span, beside an unknown field of its `ResourceSpans`.
    check::check(Signal::Traces, b"\x0a\x08\x70\x01\x12\x04\x12\x02\x7a\x00", &[]);
}
