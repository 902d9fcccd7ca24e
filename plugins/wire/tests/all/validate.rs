//! `validate` against what prost encodes and decodes.

use aegis_wire::{Counts, Signal, validate};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

use crate::support::*;

#[test]
fn accepts_prost_encoded_logs_and_counts_them() {
    let bytes = encode(&logs_request(3));
    assert_eq!(validate(Signal::Logs, &bytes), Ok(Counts { resources: 2, items: 12 }));
}

#[test]
fn accepts_prost_encoded_traces_and_counts_spans() {
    let bytes = encode(&traces_request(2));
    assert_eq!(validate(Signal::Traces, &bytes), Ok(Counts { resources: 2, items: 8 }));
}

#[test]
fn accepts_every_metric_type_and_counts_every_data_point() {
    let bytes = encode(&metrics_request(3));
    // Two resources, five metrics each, three points per metric.
    assert_eq!(validate(Signal::Metrics, &bytes), Ok(Counts { resources: 2, items: 30 }));
}

#[test]
fn accepts_an_empty_request() {
    assert_eq!(validate(Signal::Logs, &[]), Ok(Counts::default()));
}

#[test]
fn two_requests_concatenated_count_as_one_request_with_both() {
    let mut bytes = encode(&logs_request(1));
    bytes.extend(encode(&logs_request(2)));
    assert_eq!(validate(Signal::Logs, &bytes), Ok(Counts { resources: 4, items: 12 }));
}

#[test]
fn unknown_fields_of_every_wire_type_are_skipped() {
    let mut bytes = encode(&logs_request(1));
    // field 99 varint, field 98 fixed64, field 97 bytes, field 96 fixed32, field 95 group
    bytes.extend([0x98, 0x06, 0x05]);
    bytes.extend([0x91, 0x06, 1, 2, 3, 4, 5, 6, 7, 8]);
    bytes.extend([0x8a, 0x06, 0x02, 0xff, 0xfe]);
    bytes.extend([0x85, 0x06, 1, 2, 3, 4]);
    bytes.extend([0xfb, 0x05, 0x08, 0x01, 0xfc, 0x05]);
    assert_eq!(validate(Signal::Logs, &bytes).map(|c| c.items), Ok(4));
    assert!(ExportLogsServiceRequest::decode(&bytes[..]).is_ok());
}

#[test]
fn garbage_is_rejected_at_its_first_byte() {
    let err = validate(Signal::Logs, &[0xff, 0xff]).unwrap_err();
    assert_eq!(err.offset, 0);
    assert_eq!(err.to_string(), "malformed OTLP protobuf at byte 0: truncated varint");
}

#[test]
fn a_length_past_the_end_is_reported_where_the_length_starts() {
    // resource_logs, length 10, but only two bytes follow
    let err = validate(Signal::Logs, &[0x0a, 0x0a, 0x00, 0x00]).unwrap_err();
    assert_eq!(err.offset, 1);
    assert_eq!(err.message, "length 10 exceeds the 2 bytes left");
}

#[test]
fn a_string_that_is_not_utf8_is_reported_where_the_string_starts() {
    let mut req = logs_request(1);
    req.resource_logs[0].scope_logs[0].log_records[0].severity_text = "ZZZZ".into();
    let mut bytes = encode(&req);
    let at = bytes.windows(4).position(|w| w == b"ZZZZ").expect("the marker is encoded");
    bytes[at + 1] = 0xc3; // a lead byte followed by an ASCII byte is invalid
    let err = validate(Signal::Logs, &bytes).unwrap_err();
    assert_eq!(err.offset, at);
    assert_eq!(err.message, "LogRecord.severity_text is not valid UTF-8");
    assert!(ExportLogsServiceRequest::decode(&bytes[..]).is_err());
}

#[test]
fn a_known_field_with_the_wrong_wire_type_is_reported_at_its_tag() {
    // ResourceLogs { ScopeLogs { LogRecord { time_unix_nano as a varint } } }
    let record = [0x08, 0x01];
    let scope = [&[0x12, record.len() as u8][..], &record].concat();
    let resource = [&[0x12, scope.len() as u8][..], &scope].concat();
    let bytes = [&[0x0a, resource.len() as u8][..], &resource].concat();
    let err = validate(Signal::Logs, &bytes).unwrap_err();
    assert_eq!(err.offset, 6);
    assert_eq!(err.message, "LogRecord.time_unix_nano has wire type 0, expected 1");
    assert!(ExportLogsServiceRequest::decode(&bytes[..]).is_err());
}

#[test]
fn deeply_nested_values_are_rejected_beyond_the_depth_limit() {
    use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, any_value};
    let mut value = s("leaf");
    for _ in 0..80 {
        value = AnyValue { value: Some(any_value::Value::ArrayValue(ArrayValue { values: vec![value] })) };
    }
    let mut req = logs_request(1);
    req.resource_logs[0].scope_logs[0].log_records[0].body = Some(value);
    let bytes = encode(&req);
    let err = validate(Signal::Logs, &bytes).unwrap_err();
    assert!(err.message.contains("nested deeper than 64"), "{}", err.message);
}

fn agrees_with_prost_on(signal: Signal, bytes: &[u8]) {
    let ours = validate(signal, bytes);
    let prost_ok = match signal {
        Signal::Logs => ExportLogsServiceRequest::decode(bytes).is_ok(),
        Signal::Traces => ExportTraceServiceRequest::decode(bytes).is_ok(),
        Signal::Metrics => ExportMetricsServiceRequest::decode(bytes).is_ok(),
    };
    assert_eq!(
        ours.is_ok(),
        prost_ok,
        "validate said {ours:?} where prost said ok={prost_ok} for {} bytes",
        bytes.len()
    );
    if let Err(err) = ours {
        assert!(err.offset <= bytes.len());
    }
}

#[test]
fn every_truncation_is_judged_as_prost_judges_it() {
    for (signal, bytes) in [
        (Signal::Logs, encode(&logs_request(1))),
        (Signal::Traces, encode(&traces_request(1))),
        (Signal::Metrics, encode(&metrics_request(1))),
    ] {
        for len in 0..bytes.len() {
            agrees_with_prost_on(signal, &bytes[..len]);
        }
    }
}

#[test]
fn random_byte_flips_are_judged_as_prost_judges_them() {
    let mut rng = Rng(0x5eed);
    for (signal, bytes) in [
        (Signal::Logs, encode(&logs_request(2))),
        (Signal::Traces, encode(&traces_request(1))),
        (Signal::Metrics, encode(&metrics_request(1))),
    ] {
        for _ in 0..3000 {
            let mut broken = bytes.clone();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(broken.len());
                broken[at] = rng.next() as u8;
            }
            agrees_with_prost_on(signal, &broken);
        }
    }
}

fn kvlist(
    values: Vec<opentelemetry_proto::tonic::common::v1::KeyValue>,
) -> opentelemetry_proto::tonic::common::v1::AnyValue {
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValueList, any_value::Value};
    AnyValue { value: Some(Value::KvlistValue(KeyValueList { values })) }
}

/// `payload` as field `number` (length-delimited) of a message.
fn field(number: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    aegis_wire::encode::put_len_header(&mut out, number, payload.len());
    out.extend_from_slice(payload);
    out
}

/// A logs request of one resource and scope holding one record encoded as `record`.
fn logs_with_record(record: &[u8]) -> Vec<u8> {
    field(1, &field(2, &field(2, record)))
}

#[test]
fn a_singular_message_given_twice_is_refused_where_the_second_starts() {
    use opentelemetry_proto::tonic::logs::v1::LogRecord;
    // Two encodings of one message, back to back, are one message to protobuf: the bodies
    // merge, so a decoder downstream reads both lists while a view reads the last.
    let first = LogRecord { body: Some(kvlist(vec![kv("password", s("hunter2"))])), ..Default::default() };
    let second = LogRecord { body: Some(kvlist(vec![kv("msg", s("hi"))])), ..Default::default() };
    let mut record = encode(&first);
    let second_at = record.len();
    record.extend(encode(&second));
    let merged = LogRecord::decode(&record[..]).unwrap();
    assert_eq!(merged.body, Some(kvlist(vec![kv("password", s("hunter2")), kv("msg", s("hi"))])));
    let request = logs_with_record(&record);
    let err = validate(Signal::Logs, &request).unwrap_err();
    assert_eq!(err.offset, request.len() - record.len() + second_at);
    assert_eq!(
        err.message,
        "LogRecord.body holds one message but came more than once (protobuf would merge the two; send it once)"
    );
    // A scalar given twice is protobuf's last-one-wins, which the views keep too.
    let mut twice = encode(&LogRecord { severity_number: 9, body: Some(s("a")), ..Default::default() });
    twice.extend(encode(&LogRecord { severity_number: 17, ..Default::default() }));
    assert!(validate(Signal::Logs, &logs_with_record(&twice)).is_ok());
}

#[test]
fn every_singular_message_of_the_schema_is_checked_once() {
    use opentelemetry_proto::tonic::common::v1::KeyValue;
    use opentelemetry_proto::tonic::logs::v1::LogRecord;
    use opentelemetry_proto::tonic::metrics::v1::{Gauge, Metric, Sum, metric::Data};
    use opentelemetry_proto::tonic::trace::v1::{Span, Status};
    let twice = |a: Vec<u8>, b: Vec<u8>| [a, b].concat();
    // A KeyValue's value, in a record's attributes.
    let kv_twice = twice(encode(&kv("k", s("a"))), encode(&KeyValue { value: Some(s("b")), ..Default::default() }));
    let err = validate(Signal::Logs, &logs_with_record(&field(6, &kv_twice))).unwrap_err();
    assert!(err.message.starts_with("KeyValue.value holds one message"), "{err}");
    // An AnyValue's list and map are one oneof: a list then a map is two values.
    let any_twice = twice(encode(&kvlist(vec![])), encode(&kvlist(vec![kv("a", s("b"))])));
    let record = encode(&LogRecord { body: None, ..Default::default() });
    let err = validate(Signal::Logs, &logs_with_record(&[record, field(5, &any_twice)].concat())).unwrap_err();
    assert!(err.message.starts_with("AnyValue.kvlist_value holds one message"), "{err}");
    // A span's status.
    let span = twice(
        encode(&Span { status: Some(Status { code: 2, message: String::new() }), ..Default::default() }),
        encode(&Span { status: Some(Status { code: 0, message: "fine".into() }), ..Default::default() }),
    );
    let err = validate(Signal::Traces, &field(1, &field(2, &field(2, &span)))).unwrap_err();
    assert!(err.message.starts_with("Span.status holds one message"), "{err}");
    // A metric's data: a gauge then a sum would be counted twice, and prost keeps the sum.
    let metric = twice(
        encode(&Metric { name: "m".into(), data: Some(Data::Gauge(Gauge::default())), ..Default::default() }),
        encode(&Metric { data: Some(Data::Sum(Sum::default())), ..Default::default() }),
    );
    let err = validate(Signal::Metrics, &field(1, &field(2, &field(2, &metric)))).unwrap_err();
    assert!(err.message.starts_with("Metric.sum holds one message"), "{err}");
    // A resource.
    let resource = encode(&resource("svc"));
    let resource_logs = [field(1, &resource), field(1, &resource)].concat();
    let err = validate(Signal::Logs, &field(1, &resource_logs)).unwrap_err();
    assert!(err.message.starts_with("ResourceLogs.resource holds one message"), "{err}");
}
