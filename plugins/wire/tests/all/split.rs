//! `split`: every part is valid, small enough, and together they carry the input.

use aegis_wire::{Signal, split, validate};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
use prost::Message;

use crate::support::*;

fn check_parts(signal: Signal, parts: &[Vec<u8>], max: usize, total: usize) {
    let mut items = 0;
    for part in parts {
        let counts = validate(signal, part).expect("every part is valid");
        assert!(counts.items <= max, "{} items in a part of at most {max}", counts.items);
        items += counts.items;
    }
    assert_eq!(items, total);
}

#[test]
fn logs_split_at_every_size_carry_the_same_records_in_order() {
    let req = logs_request(5);
    let bytes = encode(&req);
    let expected = flat_logs(&req);
    for max in [1, 2, 3, 4, 5, 7, 10, 19, 20] {
        let parts = split(Signal::Logs, &bytes, max);
        assert_eq!(parts.len(), 20usize.div_ceil(max), "parts for max {max}");
        check_parts(Signal::Logs, &parts, max, 20);
        let joined = ExportLogsServiceRequest::decode(&parts.concat()[..]).unwrap();
        assert_eq!(flat_logs(&joined), expected, "max {max}");
    }
}

#[test]
fn a_request_that_fits_comes_back_as_it_was() {
    let bytes = encode(&logs_request(2));
    assert_eq!(split(Signal::Logs, &bytes, 8), vec![bytes.clone()]);
    assert_eq!(split(Signal::Logs, &bytes, 100), vec![bytes]);
}

#[test]
fn a_max_of_zero_splits_into_single_items() {
    let bytes = encode(&logs_request(1));
    let parts = split(Signal::Logs, &bytes, 0);
    assert_eq!(parts.len(), 4);
}

#[test]
fn traces_split_carry_the_same_spans() {
    let req = traces_request(3);
    let bytes = encode(&req);
    for max in [1, 2, 5, 11] {
        let parts = split(Signal::Traces, &bytes, max);
        check_parts(Signal::Traces, &parts, max, 12);
        let joined = ExportTraceServiceRequest::decode(&parts.concat()[..]).unwrap();
        assert_eq!(flat_spans(&joined), flat_spans(&req), "max {max}");
    }
}

#[test]
fn metrics_split_inside_a_metric_keep_its_name_kind_and_temporality() {
    let req = metrics_request(3);
    let bytes = encode(&req);
    for max in [1, 2, 4, 7, 29] {
        let parts = split(Signal::Metrics, &bytes, max);
        check_parts(Signal::Metrics, &parts, max, 30);
        let joined = ExportMetricsServiceRequest::decode(&parts.concat()[..]).unwrap();
        assert_eq!(flat_points(&joined), flat_points(&req), "max {max}");
    }
}

#[test]
fn empty_scopes_and_resources_appear_exactly_once() {
    let mut req = logs_request(2);
    req.resource_logs[0]
        .scope_logs
        .insert(1, ScopeLogs { scope: Some(scope("empty")), log_records: vec![], schema_url: String::new() });
    req.resource_logs.push(ResourceLogs {
        resource: Some(resource("idle")),
        scope_logs: vec![],
        schema_url: String::new(),
    });
    let bytes = encode(&req);
    for max in [1, 2, 3] {
        let parts = split(Signal::Logs, &bytes, max);
        let joined = ExportLogsServiceRequest::decode(&parts.concat()[..]).unwrap();
        let empty_scopes = joined
            .resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .filter(|s| s.scope.as_ref().is_some_and(|s| s.name == "empty"))
            .count();
        let idle = joined.resource_logs.iter().filter(|r| r.scope_logs.is_empty()).count();
        assert_eq!((empty_scopes, idle), (1, 1), "max {max}");
        assert_eq!(flat_logs(&joined), flat_logs(&req));
    }
}

#[test]
fn garbage_comes_back_as_one_part() {
    let garbage = vec![0xff, 0x01, 0x02];
    assert_eq!(split(Signal::Logs, &garbage, 1), vec![garbage]);
}
