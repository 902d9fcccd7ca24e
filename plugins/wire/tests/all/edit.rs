//! Edits decode, with prost, to exactly the messages expected.

use aegis_wire::{
    EncodeValue, LogRecordData, Logs, Metrics, Outcome, Signal, SpanData, Traces, Value, ValueRef, validate,
};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::trace::v1::Status;
use prost::Message;

use crate::support::*;

fn replaced(outcome: Outcome) -> Vec<u8> {
    match outcome {
        Outcome::Replaced(bytes) => bytes,
        other => panic!("expected replaced bytes, got {other:?}"),
    }
}

fn decode_logs(outcome: Outcome) -> ExportLogsServiceRequest {
    let bytes = replaced(outcome);
    validate(Signal::Logs, &bytes).expect("the output is valid");
    ExportLogsServiceRequest::decode(&bytes[..]).unwrap()
}

fn all_records(
    req: &mut ExportLogsServiceRequest,
) -> impl Iterator<Item = &mut opentelemetry_proto::tonic::logs::v1::LogRecord> {
    req.resource_logs.iter_mut().flat_map(|r| &mut r.scope_logs).flat_map(|s| &mut s.log_records)
}

#[test]
fn nothing_edited_means_unchanged() {
    let bytes = encode(&logs_request(2));
    let mut logs = Logs::parse(&bytes).unwrap();
    for record in logs.records_mut() {
        assert!(!record.view().severity_text().is_empty());
    }
    assert!(!logs.is_modified());
    assert_eq!(logs.finish(), Outcome::Unchanged);
}

#[test]
fn views_read_every_field_of_a_log_record() {
    let req = logs_request(1);
    let bytes = encode(&req);
    let logs = Logs::parse(&bytes).unwrap();
    let ours: Vec<_> = logs.records().map(|r| LogRecordData::from_view(&r)).collect();
    let theirs = flat_logs(&req);
    assert_eq!(ours.len(), theirs.len());
    for (data, (_, _, _, _, rec)) in ours.iter().zip(&theirs) {
        // Encoding the owned copy must give back exactly the prost record.
        let decoded = opentelemetry_proto::tonic::logs::v1::LogRecord::decode(&data.encode()[..]).unwrap();
        assert_eq!(&decoded, rec);
    }
    let first = logs.records().next().unwrap();
    assert_eq!(first.attribute("http.method").unwrap().as_str(), Some("GET"));
    assert_eq!(first.attribute("http.status_code").unwrap().as_int(), Some(201));
    assert_eq!(first.attribute("cached").unwrap().as_bool(), Some(false));
    assert_eq!(first.attribute("duration").unwrap().as_double(), Some(1.5));
    assert_eq!(first.attribute("payload").unwrap().get(), ValueRef::Bytes(&[1, 2, 3, 1]));
    let body = first.body().unwrap().as_kvlist().unwrap();
    assert_eq!(body.get("msg").unwrap().as_str(), Some("structured"));
    let nested: Vec<Value> = body.get("nested").unwrap().as_array().unwrap().iter().map(|v| v.to_value()).collect();
    assert_eq!(nested, vec![Value::Int(1), Value::Str("two".into()), Value::Int(3)]);
}

#[test]
fn setting_a_new_attribute_appends_it_to_every_record() {
    let mut req = logs_request(2);
    let bytes = encode(&req);
    let mut logs = Logs::parse(&bytes).unwrap();
    for mut record in logs.records_mut() {
        record.set_attribute("env", "prod");
    }
    let got = decode_logs(logs.finish());
    for record in all_records(&mut req) {
        record.attributes.push(kv("env", s("prod")));
    }
    assert_eq!(got, req);
}

#[test]
fn setting_an_existing_attribute_replaces_it_in_place() {
    let mut req = logs_request(1);
    let bytes = encode(&req);
    let mut logs = Logs::parse(&bytes).unwrap();
    for mut record in logs.records_mut() {
        record.set_attribute("http.status_code", 503i64);
        record.set_attribute("http.method", "POST");
        assert_eq!(record.attribute("http.method").unwrap().as_str(), Some("POST"));
    }
    let got = decode_logs(logs.finish());
    for record in all_records(&mut req) {
        record.attributes[2] = kv("http.status_code", i(503));
        record.attributes[0] = kv("http.method", s("POST"));
    }
    assert_eq!(got, req);
}

#[test]
fn removing_attributes_and_setting_body_and_severity_apply_together() {
    let mut req = logs_request(1);
    let bytes = encode(&req);
    let mut logs = Logs::parse(&bytes).unwrap();
    for mut record in logs.records_mut() {
        assert!(record.remove_attribute("payload"));
        assert!(!record.remove_attribute("absent"));
        record.set_body("redacted");
        record.set_severity(17, "ERROR");
        record.set_time_unix_nano(42);
        record.set_observed_time_unix_nano(43);
        record.set_trace_id(&[1; 16]);
        record.set_span_id(&[2; 8]);
        record.set_flags(3);
        record.set_event_name("renamed");
        record.set_attribute("copied", record.view().severity_text().to_owned());
    }
    let got = decode_logs(logs.finish());
    for record in all_records(&mut req) {
        record.attributes.retain(|a| a.key != "payload");
        record.attributes.push(kv("copied", s("ERROR")));
        record.body = Some(s("redacted"));
        record.severity_number = 17;
        record.severity_text = "ERROR".into();
        record.time_unix_nano = 42;
        record.observed_time_unix_nano = 43;
        record.trace_id = vec![1; 16];
        record.span_id = vec![2; 8];
        record.flags = 3;
        record.event_name = "renamed".into();
    }
    assert_eq!(got, req);
}

#[test]
fn values_of_every_type_can_be_set_and_copied_between_records() {
    let mut req = logs_request(1);
    let bytes = encode(&req);
    let mut logs = Logs::parse(&bytes).unwrap();
    for mut record in logs.records_mut() {
        record.set_attribute("int", 7);
        record.set_attribute("double", 2.5);
        record.set_attribute("bool", true);
        record.set_attribute("bytes", ValueRef::Bytes(&[9, 9]));
        record.set_attribute("list", Value::KvList(vec![("a".into(), Value::Array(vec![Value::Int(1)]))]));
        let body = record.body().unwrap().to_value();
        record.set_attribute("body_copy", &body);
    }
    let got = decode_logs(logs.finish());
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};
    for record in all_records(&mut req) {
        let body = record.body.clone().unwrap();
        record.attributes.extend([
            kv("int", i(7)),
            kv("double", AnyValue { value: Some(any_value::Value::DoubleValue(2.5)) }),
            kv("bool", AnyValue { value: Some(any_value::Value::BoolValue(true)) }),
            kv("bytes", AnyValue { value: Some(any_value::Value::BytesValue(vec![9, 9])) }),
            kv(
                "list",
                AnyValue {
                    value: Some(any_value::Value::KvlistValue(KeyValueList {
                        values: vec![kv(
                            "a",
                            AnyValue { value: Some(any_value::Value::ArrayValue(ArrayValue { values: vec![i(1)] })) },
                        )],
                    })),
                },
            ),
            kv("body_copy", body),
        ]);
    }
    assert_eq!(got, req);
}

#[test]
fn removing_records_removes_emptied_scopes_and_resources() {
    let mut req = logs_request(2);
    let bytes = encode(&req);
    let mut logs = Logs::parse(&bytes).unwrap();
    // Remove all of the first resource, and the first scope of the second.
    for (n, mut record) in logs.records_mut().enumerate() {
        if n < 6 || n == 7 {
            record.remove();
        }
    }
    let got = decode_logs(logs.finish());
    req.resource_logs.remove(0);
    req.resource_logs[0].scope_logs.remove(0);
    req.resource_logs[0].scope_logs[0].log_records.remove(1);
    assert_eq!(got.resource_logs.len(), 1);
    assert_eq!(got.resource_logs[0].scope_logs.len(), 1);
    assert_eq!(got.resource_logs[0].scope_logs[0].log_records.len(), 1);
    assert_eq!(got, req);
}

#[test]
fn removing_every_record_drops_the_request() {
    let bytes = encode(&logs_request(2));
    let mut logs = Logs::parse(&bytes).unwrap();
    logs.retain(|r| r.severity_number() > 100);
    assert_eq!(logs.finish(), Outcome::Dropped);
}

#[test]
fn retain_keeps_what_the_predicate_accepts() {
    let mut req = logs_request(4);
    let bytes = encode(&req);
    let mut logs = Logs::parse(&bytes).unwrap();
    logs.retain(|r| r.severity_text() != "WARN");
    let got = decode_logs(logs.finish());
    for r in &mut req.resource_logs {
        for s in &mut r.scope_logs {
            s.log_records.retain(|l| l.severity_text != "WARN");
        }
    }
    assert_eq!(got, req);
}

#[test]
fn records_can_be_added_to_a_scope_from_owned_data() {
    let mut req = logs_request(1);
    let bytes = encode(&req);
    let mut logs = Logs::parse(&bytes).unwrap();
    let copy = logs.records().next().map(|r| LogRecordData::from_view(&r)).unwrap();
    let mut changed = copy.clone();
    changed.severity_text = "COPY".into();
    changed.attributes.push(("copied".into(), Value::Bool(true)));
    for mut resource in logs.resource_logs_mut() {
        for mut scope in resource.scope_logs_mut() {
            scope.push_record(changed.encode());
        }
    }
    let got = decode_logs(logs.finish());
    let mut added = req.resource_logs[0].scope_logs[0].log_records[0].clone();
    added.severity_text = "COPY".into();
    added.attributes.push(kv("copied", AnyValue { value: Some(any_value::Value::BoolValue(true)) }));
    for r in &mut req.resource_logs {
        for s in &mut r.scope_logs {
            s.log_records.push(added.clone());
        }
    }
    assert_eq!(got, req);
}

#[test]
fn resource_and_scope_edits_touch_only_their_messages() {
    let mut req = logs_request(1);
    let bytes = encode(&req);
    let mut logs = Logs::parse(&bytes).unwrap();
    let mut resources = logs.resource_logs_mut();
    let mut first = resources.next().unwrap();
    first.set_attribute("deployment.environment", "prod");
    assert!(first.remove_attribute("host.name"));
    assert_eq!(first.attribute("deployment.environment").unwrap().as_str(), Some("prod"));
    for mut scope in first.scope_logs_mut() {
        scope.set_name("renamed");
        scope.set_attribute("tier", 1);
    }
    drop(resources);
    let got = decode_logs(logs.finish());
    let r0 = &mut req.resource_logs[0];
    let res = r0.resource.as_mut().unwrap();
    res.attributes.retain(|a| a.key != "host.name");
    res.attributes.push(kv("deployment.environment", s("prod")));
    for sc in &mut r0.scope_logs {
        let scope = sc.scope.as_mut().unwrap();
        scope.name = "renamed".into();
        scope.attributes.push(kv("tier", i(1)));
    }
    assert_eq!(got, req);
}

#[test]
fn a_resource_without_a_resource_message_gets_one_when_edited() {
    let mut req = logs_request(1);
    req.resource_logs[1].resource = None;
    let bytes = encode(&req);
    let mut logs = Logs::parse(&bytes).unwrap();
    for mut resource in logs.resource_logs_mut() {
        resource.set_attribute("added", "yes");
    }
    let got = decode_logs(logs.finish());
    req.resource_logs[0].resource.as_mut().unwrap().attributes.push(kv("added", s("yes")));
    req.resource_logs[1].resource = Some(opentelemetry_proto::tonic::resource::v1::Resource {
        attributes: vec![kv("added", s("yes"))],
        ..Default::default()
    });
    assert_eq!(got, req);
}

#[test]
fn removing_a_whole_scope_or_resource_removes_its_records() {
    let mut req = logs_request(1);
    let bytes = encode(&req);
    let mut logs = Logs::parse(&bytes).unwrap();
    for (n, mut resource) in logs.resource_logs_mut().enumerate() {
        if n == 0 {
            resource.remove();
        } else {
            resource.scope_logs_mut().next().unwrap().remove();
        }
    }
    let got = decode_logs(logs.finish());
    req.resource_logs.remove(0);
    req.resource_logs[0].scope_logs.remove(0);
    assert_eq!(got, req);
}

#[test]
fn concatenated_requests_edit_as_one() {
    let a = logs_request(1);
    let b = logs_request(2);
    let bytes = [encode(&a), encode(&b)].concat();
    let mut logs = Logs::parse(&bytes).unwrap();
    assert_eq!(logs.len(), 12);
    for mut record in logs.records_mut() {
        record.set_attribute("env", "prod");
    }
    let got = decode_logs(logs.finish());
    let mut expected = ExportLogsServiceRequest { resource_logs: [a.resource_logs, b.resource_logs].concat() };
    for record in all_records(&mut expected) {
        record.attributes.push(kv("env", s("prod")));
    }
    assert_eq!(got, expected);
}

#[test]
fn whole_request_overrides_win_over_edits() {
    let bytes = encode(&logs_request(1));
    let mut logs = Logs::parse(&bytes).unwrap();
    for mut record in logs.records_mut() {
        record.set_attribute("a", 1);
    }
    logs.replace(vec![1, 2, 3]);
    assert_eq!(logs.finish(), Outcome::Replaced(vec![1, 2, 3]));
    let mut logs = Logs::parse(&bytes).unwrap();
    logs.drop_all();
    assert_eq!(logs.finish(), Outcome::Dropped);
}

fn decode_traces(outcome: Outcome) -> ExportTraceServiceRequest {
    let bytes = replaced(outcome);
    validate(Signal::Traces, &bytes).expect("the output is valid");
    ExportTraceServiceRequest::decode(&bytes[..]).unwrap()
}

#[test]
fn span_edits_decode_to_the_expected_spans() {
    let mut req = traces_request(2);
    let bytes = encode(&req);
    let mut traces = Traces::parse(&bytes).unwrap();
    for (n, mut span) in traces.spans_mut().enumerate() {
        if n == 1 {
            span.remove();
            continue;
        }
        span.set_name("renamed");
        span.set_attribute("http.route", "/hidden");
        span.set_status(2, "boom");
        span.set_kind(3);
        span.clear_events();
        assert_eq!(span.view().status().code(), 2);
    }
    let got = decode_traces(traces.finish());
    req.resource_spans[0].scope_spans[0].spans.remove(1);
    for sp in req.resource_spans.iter_mut().flat_map(|r| &mut r.scope_spans).flat_map(|s| &mut s.spans) {
        sp.name = "renamed".into();
        sp.attributes[1] = kv("http.route", s("/hidden"));
        sp.status = Some(Status { message: "boom".into(), code: 2 });
        sp.kind = 3;
        sp.events.clear();
    }
    assert_eq!(got, req);
}

#[test]
fn spans_round_trip_through_owned_data() {
    let req = traces_request(1);
    let bytes = encode(&req);
    let traces = Traces::parse(&bytes).unwrap();
    for (view, (_, _, span)) in traces.spans().zip(flat_spans(&req)) {
        let data = SpanData::from_view(&view);
        let decoded = opentelemetry_proto::tonic::trace::v1::Span::decode(&data.encode()[..]).unwrap();
        assert_eq!(decoded, span);
        assert_eq!(view.name(), span.name);
        assert_eq!(view.events().count(), 1);
        assert_eq!(view.links().next().unwrap().trace_state(), "a=b");
    }
}

fn decode_metrics(outcome: Outcome) -> ExportMetricsServiceRequest {
    let bytes = replaced(outcome);
    validate(Signal::Metrics, &bytes).expect("the output is valid");
    ExportMetricsServiceRequest::decode(&bytes[..]).unwrap()
}

#[test]
fn data_point_attribute_edits_apply_to_every_point_type() {
    let mut req = metrics_request(2);
    let bytes = encode(&req);
    let mut metrics = Metrics::parse(&bytes).unwrap();
    for mut point in metrics.data_points_mut() {
        point.set_attribute("env", "prod");
    }
    let got = decode_metrics(metrics.finish());
    for metric in req.resource_metrics.iter_mut().flat_map(|r| &mut r.scope_metrics).flat_map(|s| &mut s.metrics) {
        let env = kv("env", s("prod"));
        match metric.data.as_mut().unwrap() {
            Data::Gauge(g) => g.data_points.iter_mut().for_each(|p| p.attributes.push(env.clone())),
            Data::Sum(x) => x.data_points.iter_mut().for_each(|p| p.attributes.push(env.clone())),
            Data::Histogram(x) => x.data_points.iter_mut().for_each(|p| p.attributes.push(env.clone())),
            Data::ExponentialHistogram(x) => x.data_points.iter_mut().for_each(|p| p.attributes.push(env.clone())),
            Data::Summary(x) => x.data_points.iter_mut().for_each(|p| p.attributes.push(env.clone())),
        }
    }
    assert_eq!(got, req);
}

#[test]
fn metrics_whose_points_are_all_removed_disappear_and_renames_apply() {
    let mut req = metrics_request(2);
    let bytes = encode(&req);
    let mut metrics = Metrics::parse(&bytes).unwrap();
    for mut point in metrics.data_points_mut() {
        if point.metric().name() == "gauge" {
            point.remove();
        }
    }
    for mut metric in metrics.metrics_mut() {
        if metric.name() == "sum" {
            metric.set_name("sum.renamed");
            metric.set_unit("s");
            assert_eq!(metric.name(), "sum.renamed");
        }
        if metric.name() == "summary" {
            metric.remove();
        }
    }
    let got = decode_metrics(metrics.finish());
    for sm in req.resource_metrics.iter_mut().flat_map(|r| &mut r.scope_metrics) {
        sm.metrics.retain(|m| m.name != "gauge" && m.name != "summary");
        for m in &mut sm.metrics {
            if m.name == "sum" {
                m.name = "sum.renamed".into();
                m.unit = "s".into();
            }
        }
    }
    assert_eq!(got, req);
}

#[test]
fn number_point_values_can_be_rewritten() {
    let mut req = metrics_request(1);
    let bytes = encode(&req);
    let mut metrics = Metrics::parse(&bytes).unwrap();
    for mut point in metrics.data_points_mut() {
        if point.metric().name() == "gauge" {
            assert!(point.set_int(99));
        } else {
            assert_eq!(point.set_int(1), point.metric().name() == "sum");
            if point.metric().name() == "sum" {
                assert!(point.set_double(0.25));
            }
        }
    }
    let got = decode_metrics(metrics.finish());
    use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as N;
    for m in req.resource_metrics.iter_mut().flat_map(|r| &mut r.scope_metrics).flat_map(|s| &mut s.metrics) {
        match m.data.as_mut().unwrap() {
            Data::Gauge(g) => g.data_points.iter_mut().for_each(|p| p.value = Some(N::AsInt(99))),
            Data::Sum(x) => x.data_points.iter_mut().for_each(|p| p.value = Some(N::AsDouble(0.25))),
            _ => {}
        }
    }
    assert_eq!(got, req);
}

#[test]
fn metric_views_read_values_of_every_kind() {
    let bytes = encode(&metrics_request(1));
    let metrics = Metrics::parse(&bytes).unwrap();
    let all: Vec<_> = metrics.metrics().collect();
    assert_eq!(all.len(), 10);
    let hist = all.iter().find(|m| m.name() == "histogram").unwrap();
    assert_eq!(hist.aggregation_temporality(), 1);
    let p = hist.data_points().next().unwrap();
    assert_eq!(p.count(), Some(10));
    assert_eq!(p.sum(), Some(55.5));
    assert_eq!(p.bucket_counts(), vec![1, 2, 3, 4]);
    assert_eq!(p.explicit_bounds(), vec![1.0, 5.0, 10.0]);
    assert_eq!((p.min(), p.max()), (Some(0.5), Some(20.0)));
    assert_eq!(p.attribute("route").unwrap().as_str(), Some("/r0"));
    let exp = all.iter().find(|m| m.name() == "exp").unwrap();
    let p = exp.data_points().next().unwrap();
    assert_eq!((p.scale(), p.zero_count()), (-3, 1));
    let sum = all.iter().find(|m| m.name() == "sum").unwrap();
    assert!(sum.is_monotonic());
    assert_eq!(sum.data_points().next().unwrap().value(), Some(aegis_wire::NumberValue::Double(0.0)));
    let summary = all.iter().find(|m| m.name() == "summary").unwrap();
    assert_eq!(summary.data_points().next().unwrap().quantile_values(), vec![(0.5, 2.0), (0.99, 9.0)]);
}

#[test]
fn one_pass_attribute_edits_decode_to_the_expected_records() {
    let mut req = logs_request(2);
    let bytes = encode(&req);
    let mut logs = Logs::parse(&bytes).unwrap();
    let mut scratch = aegis_wire::AttributeScratch::default();
    for mut record in logs.records_mut() {
        let renamed = record.edit_attributes(&mut scratch, |attrs| {
            attrs.set("env", "prod");
            attrs.set("http.status_code", 503);
            assert_eq!(attrs.get("http.status_code").unwrap().as_int(), Some(503));
            assert!(attrs.remove("payload"));
            assert!(!attrs.contains("payload"));
            assert!(attrs.copy("http.method", "method.copy"));
            assert!(!attrs.copy("absent", "x"));
            attrs.rename("http.route", "route")
        });
        assert!(renamed);
    }
    let got = decode_logs(logs.finish());
    for record in all_records(&mut req) {
        let route = record.attributes[1].value.clone().unwrap();
        record.attributes[2] = kv("http.status_code", i(503));
        record.attributes.retain(|a| a.key != "payload" && a.key != "http.route");
        record.attributes.extend([kv("env", s("prod")), kv("method.copy", s("GET")), kv("route", route)]);
    }
    assert_eq!(got, req);
}

#[test]
fn one_pass_edits_that_change_nothing_leave_the_batch_unchanged() {
    let bytes = encode(&logs_request(1));
    let mut logs = Logs::parse(&bytes).unwrap();
    let mut scratch = aegis_wire::AttributeScratch::default();
    for mut record in logs.records_mut() {
        record.edit_attributes(&mut scratch, |attrs| {
            assert!(!attrs.remove("absent"));
            assert!(!attrs.rename("absent", "other"));
        });
    }
    assert_eq!(logs.finish(), Outcome::Unchanged);
}

#[test]
fn one_pass_edits_match_sequential_edits_on_random_programs() {
    let mut rng = Rng(99);
    let keys = ["http.method", "http.route", "cached", "env", "x"];
    let bytes = encode(&logs_request(1));
    for _ in 0..300 {
        let program: Vec<(usize, usize, usize)> =
            (0..1 + rng.below(5)).map(|_| (rng.below(4), rng.below(keys.len()), rng.below(keys.len()))).collect();
        let mut one = Logs::parse(&bytes).unwrap();
        let mut scratch = aegis_wire::AttributeScratch::default();
        for mut record in one.records_mut() {
            record.edit_attributes(&mut scratch, |attrs| {
                for &(op, a, b) in &program {
                    match op {
                        0 => attrs.set(keys[a], b as i64),
                        1 => {
                            attrs.remove(keys[a]);
                        }
                        2 => {
                            attrs.copy(keys[a], keys[b]);
                        }
                        _ => {
                            attrs.rename(keys[a], keys[b]);
                        }
                    }
                }
            });
        }
        let mut seq = Logs::parse(&bytes).unwrap();
        for mut record in seq.records_mut() {
            for &(op, a, b) in &program {
                let value = record.attribute(keys[a]).map(|v| v.to_value());
                match (op, value) {
                    (0, _) => record.set_attribute(keys[a], b as i64),
                    (1, _) => {
                        record.remove_attribute(keys[a]);
                    }
                    (2, Some(v)) => record.set_attribute(keys[b], &v),
                    (3, Some(v)) if a != b => {
                        record.set_attribute(keys[b], &v);
                        record.remove_attribute(keys[a]);
                    }
                    _ => {}
                }
            }
        }
        let decode = |o: Outcome| match o {
            Outcome::Replaced(b) => ExportLogsServiceRequest::decode(&b[..]).unwrap(),
            Outcome::Unchanged => ExportLogsServiceRequest::decode(&bytes[..]).unwrap(),
            Outcome::Dropped => panic!("nothing is removed"),
        };
        assert_eq!(decode(one.finish()), decode(seq.finish()), "program {program:?}");
    }
}

/// Rewrites the attributes of every record at the places an `Attributes` walk found them:
/// `http.route` replaced, `payload` removed, `env` appended.
fn splice_each_record(logs: &mut Logs<'_>, set_body_first: bool) {
    let mut route = Vec::new();
    ValueRef::Str("/redacted").encode(&mut route);
    let mut prod = Vec::new();
    ValueRef::Str("prod").encode(&mut prod);
    for mut record in logs.records_mut() {
        if set_body_first {
            record.set_body("new body");
        }
        let msg = record.message_mut();
        let mut edits = Vec::new();
        let mut attributes = aegis_wire::Attributes::new(msg.bytes(), 6);
        while let Some((key, _)) = attributes.next() {
            match key {
                "http.route" => edits.push((attributes.field_range(), Some(("http.route", &route[..])))),
                "payload" => edits.push((attributes.field_range(), None)),
                _ => {}
            }
        }
        msg.splice_attributes(6, edits, [("env", &prod[..])]);
    }
}

#[test]
fn attributes_spliced_at_their_places_decode_to_the_expected_records() {
    for set_body_first in [false, true] {
        let mut req = logs_request(2);
        let bytes = encode(&req);
        let mut logs = Logs::parse(&bytes).unwrap();
        splice_each_record(&mut logs, set_body_first);
        let got = decode_logs(logs.finish());
        for record in all_records(&mut req) {
            if set_body_first {
                record.body = Some(s("new body"));
            }
            record.attributes[1] = kv("http.route", s("/redacted"));
            record.attributes.retain(|a| a.key != "payload");
            record.attributes.push(kv("env", s("prod")));
        }
        assert_eq!(got, req, "body set first: {set_body_first}");
    }
}

#[test]
#[should_panic(expected = "out of order")]
fn attribute_splices_out_of_order_are_refused() {
    let bytes = encode(&logs_request(1));
    let mut logs = Logs::parse(&bytes).unwrap();
    let mut record = logs.records_mut().next().unwrap();
    let msg = record.message_mut();
    let mut attributes = aegis_wire::Attributes::new(msg.bytes(), 6);
    let first = attributes.next().map(|_| attributes.field_range()).unwrap();
    let second = attributes.next().map(|_| attributes.field_range()).unwrap();
    msg.splice_attributes(6, [(second, None), (first, None)], []);
}
