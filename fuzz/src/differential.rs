//! Holds the wire crate to what prost, a reference protobuf decoder, makes of the same bytes.
//!
//! The host checks every request with `aegis_wire::validate` and then trusts it: the debug
//! exporter decodes it with prost, the OTLP exporters send it to other collectors, plugins
//! read it through views and edit it in place. So for any bytes:
//!
//! - `validate` never panics, and what it accepts prost decodes, with the same counts;
//! - `split` keeps every item, in order, within the size asked, each part valid;
//! - views read what prost reads, and edits do to the bytes what the same edits do to
//!   prost's structs.
//!
//! Shared by the `wire` fuzz target and aegis-wire's `differential` test, which includes
//! this file by its path, so it uses nothing but aegis-wire, prost and opentelemetry-proto.

use aegis_wire::{
    AttributeScratch, Counts, DataPoint, LogRecordData, Logs, MetricKind, Metrics, NumberValue, Outcome, Signal,
    SpanData, Traces,
};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogram, Gauge, Histogram, Metric, ResourceMetrics, ScopeMetrics, Sum, Summary, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{Span, Status};
use prost::Message;

/// Reads a fuzz input: its first byte picks the signal, its second how many bytes of edits
/// follow (at most 31), and the rest is the request.
pub fn parse_input(data: &[u8]) -> Option<(Signal, &[u8], &[u8])> {
    let (&signal, rest) = data.split_first()?;
    let (&n, rest) = rest.split_first()?;
    let signal = [Signal::Logs, Signal::Traces, Signal::Metrics][usize::from(signal % 3)];
    let (ops, bytes) = rest.split_at(usize::from(n % 32).min(rest.len()));
    Some((signal, ops, bytes))
}

/// The fuzz input that [`parse_input`] reads as `bytes` of `signal` with `ops`.
pub fn make_input(signal: Signal, ops: &[u8], bytes: &[u8]) -> Vec<u8> {
    let signal = match signal {
        Signal::Logs => 0,
        Signal::Traces => 1,
        Signal::Metrics => 2,
    };
    let ops = &ops[..ops.len().min(31)];
    let mut out = vec![signal, ops.len() as u8];
    out.extend_from_slice(ops);
    out.extend_from_slice(bytes);
    out
}

/// Runs every check on `bytes` as a request of `signal`. `ops` drives the split size and the
/// edits. Panics, naming the check, when the wire crate and prost disagree.
pub fn check(signal: Signal, bytes: &[u8], ops: &[u8]) {
    let Some(counts) = agree_on_validity(signal, bytes) else { return };
    let max_items = usize::from(ops.first().copied().unwrap_or(1) % 8);
    check_split(signal, bytes, counts, max_items);
    match signal {
        Signal::Logs => {
            check_log_views(bytes);
            check_log_edits(bytes, ops.get(1..).unwrap_or(&[]));
        }
        Signal::Traces => {
            check_span_views(bytes);
            check_span_edits(bytes, ops.get(1..).unwrap_or(&[]));
        }
        Signal::Metrics => {
            check_metric_views(bytes);
            check_metric_edits(bytes, ops.get(1..).unwrap_or(&[]));
        }
    }
}

/// Every item of a request, each alone in a request of its own resource and scope, encoded:
/// two requests hold the same telemetry when these lists are equal.
fn items(signal: Signal, bytes: &[u8]) -> Result<(usize, Vec<Vec<u8>>), prost::DecodeError> {
    let mut out = Vec::new();
    let resources = match signal {
        Signal::Logs => {
            let request = ExportLogsServiceRequest::decode(bytes)?;
            for rl in &request.resource_logs {
                for sl in &rl.scope_logs {
                    for record in &sl.log_records {
                        let mut sl = sl.clone();
                        sl.log_records = vec![record.clone()];
                        let mut rl = rl.clone();
                        rl.scope_logs = vec![sl];
                        out.push(ExportLogsServiceRequest { resource_logs: vec![rl] }.encode_to_vec());
                    }
                }
            }
            request.resource_logs.len()
        }
        Signal::Traces => {
            let request = ExportTraceServiceRequest::decode(bytes)?;
            for rs in &request.resource_spans {
                for ss in &rs.scope_spans {
                    for span in &ss.spans {
                        let mut ss = ss.clone();
                        ss.spans = vec![span.clone()];
                        let mut rs = rs.clone();
                        rs.scope_spans = vec![ss];
                        out.push(ExportTraceServiceRequest { resource_spans: vec![rs] }.encode_to_vec());
                    }
                }
            }
            request.resource_spans.len()
        }
        Signal::Metrics => {
            let request = ExportMetricsServiceRequest::decode(bytes)?;
            for rm in &request.resource_metrics {
                for sm in &rm.scope_metrics {
                    for metric in &sm.metrics {
                        for one in points(metric) {
                            let sm = ScopeMetrics { metrics: vec![one], ..sm.clone() };
                            let rm = ResourceMetrics { scope_metrics: vec![sm], ..rm.clone() };
                            out.push(ExportMetricsServiceRequest { resource_metrics: vec![rm] }.encode_to_vec());
                        }
                    }
                }
            }
            request.resource_metrics.len()
        }
    };
    Ok((resources, out))
}

/// A metric once for each of its data points, holding only that point.
fn points(metric: &Metric) -> Vec<Metric> {
    let with = |data: Data| Metric { data: Some(data), ..metric.clone() };
    match &metric.data {
        None => Vec::new(),
        Some(Data::Gauge(g)) => {
            g.data_points.iter().map(|p| with(Data::Gauge(Gauge { data_points: vec![p.clone()] }))).collect()
        }
        Some(Data::Sum(s)) => {
            s.data_points.iter().map(|p| with(Data::Sum(Sum { data_points: vec![p.clone()], ..s.clone() }))).collect()
        }
        Some(Data::Histogram(h)) => h
            .data_points
            .iter()
            .map(|p| with(Data::Histogram(Histogram { data_points: vec![p.clone()], ..h.clone() })))
            .collect(),
        Some(Data::ExponentialHistogram(h)) => h
            .data_points
            .iter()
            .map(|p| {
                with(Data::ExponentialHistogram(ExponentialHistogram { data_points: vec![p.clone()], ..h.clone() }))
            })
            .collect(),
        Some(Data::Summary(s)) => {
            s.data_points.iter().map(|p| with(Data::Summary(Summary { data_points: vec![p.clone()] }))).collect()
        }
    }
}

/// `validate` against prost: what one accepts the other decodes, with the same counts.
/// Returns the counts when both accept.
fn agree_on_validity(signal: Signal, bytes: &[u8]) -> Option<Counts> {
    let ours = aegis_wire::validate(signal, bytes);
    let theirs = items(signal, bytes);
    match (ours, theirs) {
        (Ok(counts), Ok((resources, items))) => {
            assert_eq!(counts.resources, resources, "validate counted resources that prost does not");
            assert_eq!(counts.items, items.len(), "validate counted items that prost does not");
            Some(counts)
        }
        (Ok(_), Err(e)) => panic!("validate accepted a {signal} request that prost refuses: {e}"),
        (Err(_), _) => None,
    }
}

/// `split` keeps every item, in order, and cuts where it was asked.
fn check_split(signal: Signal, bytes: &[u8], counts: Counts, max_items: usize) {
    let parts = aegis_wire::split(signal, bytes, max_items);
    let mut all = Vec::new();
    let mut total = 0;
    for part in &parts {
        let part_counts = aegis_wire::validate(signal, part)
            .unwrap_or_else(|e| panic!("split made a part that does not validate: {e}"));
        if parts.len() > 1 {
            assert!(part_counts.items <= max_items.max(1), "split made a part of {} items", part_counts.items);
        }
        total += part_counts.items;
        all.extend(items(signal, part).expect("a part prost decodes").1);
    }
    assert_eq!(total, counts.items, "split lost or added items");
    assert_eq!(all, items(signal, bytes).expect("decoded before").1, "split changed the telemetry");
}

/// A view of every log record reads what prost reads.
fn check_log_views(bytes: &[u8]) {
    let logs = Logs::parse(bytes).expect("a valid request indexes");
    let request = ExportLogsServiceRequest::decode(bytes).expect("decoded before");
    let expected = request.resource_logs.iter().flat_map(|r| &r.scope_logs).flat_map(|s| &s.log_records);
    let mut n = 0;
    for (view, want) in logs.records().zip(expected) {
        let mut got =
            LogRecord::decode(&LogRecordData::from_view(&view).encode()[..]).expect("an owned record decodes");
        let mut want = want.clone();
        normalize_record(&mut got);
        normalize_record(&mut want);
        // Compared encoded: a NaN is not equal to itself.
        assert!(
            got.encode_to_vec() == want.encode_to_vec(),
            "a log record's view reads {got:?} where prost reads {want:?}"
        );
        n += 1;
    }
    assert_eq!(n, logs.len(), "the index holds other records than prost");
}

/// A view of every span reads what prost reads.
fn check_span_views(bytes: &[u8]) {
    let traces = Traces::parse(bytes).expect("a valid request indexes");
    let request = ExportTraceServiceRequest::decode(bytes).expect("decoded before");
    let expected = request.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans);
    let mut n = 0;
    for (view, want) in traces.spans().zip(expected) {
        let mut got = Span::decode(&SpanData::from_view(&view).encode()[..]).expect("an owned span decodes");
        let mut want = want.clone();
        normalize_span(&mut got);
        normalize_span(&mut want);
        assert!(got.encode_to_vec() == want.encode_to_vec(), "a span's view reads {got:?} where prost reads {want:?}");
        n += 1;
    }
    assert_eq!(n, traces.len(), "the index holds other spans than prost");
}

/// An attribute without a value and one whose value is empty mean the same (an empty
/// `AnyValue`); the owned structs write the second. Makes every attribute the second, and
/// drops `key_strindex` (a profiles dictionary index, which the owned structs do not carry).
/// Bodies and values go through [`normalize_value`].
fn normalize(attributes: &mut [KeyValue]) {
    for kv in attributes {
        kv.key_strindex = 0;
        normalize_value(kv.value.get_or_insert_with(AnyValue::default));
    }
}

/// A `string_value_strindex` (a profiles dictionary index) is no value outside profiles, as
/// OTLP asks and the views read it.
fn normalize_value(value: &mut AnyValue) {
    match &mut value.value {
        Some(any_value::Value::StringValueStrindex(_)) => value.value = None,
        Some(any_value::Value::KvlistValue(list)) => normalize(&mut list.values),
        Some(any_value::Value::ArrayValue(array)) => array.values.iter_mut().for_each(normalize_value),
        _ => {}
    }
}

fn normalize_record(record: &mut LogRecord) {
    normalize(&mut record.attributes);
    if let Some(body) = &mut record.body {
        normalize_value(body);
    }
}

/// An empty status and no status mean the same (code unset, no message: OTLP's `Span.status`
/// reads an absent status as unset); the owned struct writes the second.
fn normalize_span(span: &mut Span) {
    if span.status == Some(Status::default()) {
        span.status = None;
    }
    normalize(&mut span.attributes);
    span.events.iter_mut().for_each(|e| normalize(&mut e.attributes));
    span.links.iter_mut().for_each(|l| normalize(&mut l.attributes));
}

fn string(text: &str) -> AnyValue {
    AnyValue { value: Some(any_value::Value::StringValue(text.to_owned())) }
}

/// Edits every resource, and the scopes in it, by the bytes of `ops` counted from the end, in
/// the bytes and in prost's structs. Returns the positions of the resources removed, which the
/// caller drops from prost's list once the items in them are edited too.
macro_rules! edit_resources {
    ($resources:expr, $scopes_mut:ident, $wants:expr, $scope_list:ident, $ops:expr) => {{
        let ops: &[u8] = $ops;
        let mut gone = Vec::new();
        for (r, (mut resource, want)) in $resources.zip($wants.iter_mut()).enumerate() {
            let key = want
                .resource
                .as_ref()
                .map_or_else(|| "service.name".to_owned(), |res| first_key(&res.attributes, "service.name"));
            match ops.len().checked_sub(r + 1).map_or(0, |k| ops[k]) % 6 {
                0 => {}
                1 => {
                    resource.set_attribute(&key, "r");
                    set(resource_attributes(&mut want.resource), &key, string("r"));
                }
                2 => {
                    resource.remove_attribute(&key);
                    if let Some(res) = &mut want.resource {
                        res.attributes.retain(|kv| kv.key != key);
                    }
                }
                3 => {
                    resource.remove();
                    gone.push(r);
                }
                4 => {
                    for (mut scope, want) in resource.$scopes_mut().zip(want.$scope_list.iter_mut()) {
                        scope.set_name("edited.scope");
                        scope.set_version("2.0");
                        let s = scope_of(&mut want.scope);
                        s.name = "edited.scope".into();
                        s.version = "2.0".into();
                    }
                }
                5 => {
                    for (mut scope, want) in resource.$scopes_mut().zip(want.$scope_list.iter_mut()) {
                        let key = want
                            .scope
                            .as_ref()
                            .map_or_else(|| "scope.k".to_owned(), |s| first_key(&s.attributes, "scope.k"));
                        scope.set_attribute("scope.added", "s");
                        scope.remove_attribute(&key);
                        let s = scope_of(&mut want.scope);
                        set(&mut s.attributes, "scope.added", string("s"));
                        s.attributes.retain(|kv| kv.key != key);
                    }
                }
                _ => unreachable!("an op is below 6"),
            }
        }
        gone
    }};
}

/// Edits every log record, by the byte of `ops` at its position, and the resources and scopes,
/// in the bytes and in prost's structs, and compares the results.
fn check_log_edits(bytes: &[u8], ops: &[u8]) {
    let mut expected = ExportLogsServiceRequest::decode(bytes).expect("decoded before");
    let mut logs = Logs::parse(bytes).expect("a valid request indexes");
    let gone = edit_resources!(logs.resource_logs_mut(), scope_logs_mut, expected.resource_logs, scope_logs, ops);
    let mut wants: Vec<&mut LogRecord> =
        expected.resource_logs.iter_mut().flat_map(|r| &mut r.scope_logs).flat_map(|s| &mut s.log_records).collect();
    assert_eq!(wants.len(), logs.len(), "the index holds other records than prost");
    let mut removed = Vec::new();
    let mut scratch = AttributeScratch::default();
    for (i, (mut record, want)) in logs.records_mut().zip(wants.iter_mut()).enumerate() {
        // A key the record may hold: its first attribute's, or a fixed one.
        let key = first_key(&want.attributes, "k");
        match ops.get(i).copied().unwrap_or(0) % 9 {
            0 => {}
            1 => {
                record.remove();
                removed.push(i);
            }
            2 => {
                record.set_attribute(&key, "v");
                set(&mut want.attributes, &key, string("v"));
            }
            3 => {
                record.remove_attribute(&key);
                want.attributes.retain(|kv| kv.key != key);
            }
            4 => {
                record.set_body("b");
                want.body = Some(string("b"));
            }
            5 => {
                record.clear_body();
                want.body = None;
            }
            6 => {
                record.set_severity(17, "ERROR");
                want.severity_number = 17;
                want.severity_text = "ERROR".into();
            }
            7 => {
                record.set_trace_id(&[7; 16]);
                record.set_time_unix_nano(42);
                want.trace_id = vec![7; 16];
                want.time_unix_nano = 42;
            }
            8 => {
                record.edit_attributes(&mut scratch, |attributes| one_pass(attributes, &key));
                one_pass_on(&mut want.attributes, &key);
            }
            _ => unreachable!("an op is below 9"),
        }
    }
    drop(wants);
    drop_removed(
        expected.resource_logs.iter_mut().flat_map(|r| &mut r.scope_logs).map(|s| &mut s.log_records),
        &removed,
    );
    drop_removed(std::iter::once(&mut expected.resource_logs), &gone);
    same_outcome(Signal::Logs, bytes, logs.finish(), &expected.encode_to_vec());
}

/// Drops the items at the positions in `removed`, counted across the lists in turn.
fn drop_removed<'a, T: 'a>(lists: impl Iterator<Item = &'a mut Vec<T>>, removed: &[usize]) {
    let mut i = 0;
    for list in lists {
        list.retain(|_| {
            i += 1;
            !removed.contains(&(i - 1))
        });
    }
}

/// What came out of edits in the bytes holds the same items as `expected`, the same edits
/// made on prost's structs.
fn same_outcome(signal: Signal, bytes: &[u8], outcome: Outcome, expected: &[u8]) {
    let want = items(signal, expected).expect("prost decodes its own").1;
    let got = match outcome {
        Outcome::Unchanged => items(signal, bytes).expect("decoded before").1,
        Outcome::Dropped => Vec::new(),
        Outcome::Replaced(out) => {
            aegis_wire::validate(signal, &out).unwrap_or_else(|e| panic!("edits made invalid OTLP: {e}"));
            items(signal, &out).expect("edited bytes prost decodes").1
        }
    };
    assert_eq!(got.len(), want.len(), "edits kept other items than prost's");
    if let Some(k) = (0..got.len()).find(|&k| got[k] != want[k]) {
        let show = |b: &[u8]| match signal {
            Signal::Logs => format!("{:?}", ExportLogsServiceRequest::decode(b).expect("decoded before")),
            Signal::Traces => format!("{:?}", ExportTraceServiceRequest::decode(b).expect("decoded before")),
            Signal::Metrics => format!("{:?}", ExportMetricsServiceRequest::decode(b).expect("decoded before")),
        };
        panic!(
            "edits did other than the same edits on prost's structs: item {k} is\n{}\nwhere prost's is\n{}",
            show(&got[k]),
            show(&want[k])
        );
    }
}

/// `set_attribute` on prost's list: the first `key` takes the value, later ones go; a key
/// not there is appended.
fn set(attributes: &mut Vec<KeyValue>, key: &str, value: AnyValue) {
    match attributes.iter().position(|kv| kv.key == key) {
        Some(first) => {
            attributes[first] = KeyValue { key: key.to_owned(), value: Some(value), ..Default::default() };
            let mut seen = 0;
            attributes.retain(|kv| {
                kv.key != key || {
                    seen += 1;
                    seen == 1
                }
            });
        }
        None => attributes.push(KeyValue { key: key.to_owned(), value: Some(value), ..Default::default() }),
    }
}

/// The edits of one `edit_attributes` pass, as the first-party plugins make them: set
/// `edited`, rename `key` to `renamed` (the value of its last occurrence moves), copy
/// `edited` to `copied`.
fn one_pass(attributes: &mut aegis_wire::AttributesMut<'_>, key: &str) {
    attributes.set("edited", 7i64);
    attributes.rename(key, "renamed");
    attributes.copy("edited", "copied");
}

/// [`one_pass`] on prost's list.
fn one_pass_on(attributes: &mut Vec<KeyValue>, key: &str) {
    let int = |v| AnyValue { value: Some(any_value::Value::IntValue(v)) };
    set(attributes, "edited", int(7));
    if key != "renamed"
        && let Some(last) = attributes.iter().rposition(|kv| kv.key == key)
    {
        let value = attributes[last].value.clone().unwrap_or_default();
        set(attributes, "renamed", value);
        attributes.retain(|kv| kv.key != key);
    }
    let value = attributes.iter().rposition(|kv| kv.key == "edited").map(|i| attributes[i].value.clone());
    if let Some(value) = value {
        set(attributes, "copied", value.unwrap_or_default());
    }
}

/// Edits every span, by the byte of `ops` at its position, and the resources and scopes, in the
/// bytes and in prost's structs, and compares the results.
fn check_span_edits(bytes: &[u8], ops: &[u8]) {
    let mut expected = ExportTraceServiceRequest::decode(bytes).expect("decoded before");
    let mut traces = Traces::parse(bytes).expect("a valid request indexes");
    let gone = edit_resources!(traces.resource_spans_mut(), scope_spans_mut, expected.resource_spans, scope_spans, ops);
    let mut wants: Vec<&mut Span> =
        expected.resource_spans.iter_mut().flat_map(|r| &mut r.scope_spans).flat_map(|s| &mut s.spans).collect();
    assert_eq!(wants.len(), traces.len(), "the index holds other spans than prost");
    let mut removed = Vec::new();
    let mut scratch = AttributeScratch::default();
    for (i, (mut span, want)) in traces.spans_mut().zip(wants.iter_mut()).enumerate() {
        let key = first_key(&want.attributes, "k");
        match ops.get(i).copied().unwrap_or(0) % 8 {
            0 => {}
            1 => {
                span.remove();
                removed.push(i);
            }
            2 => {
                span.set_attribute(&key, "v");
                set(&mut want.attributes, &key, string("v"));
            }
            3 => {
                span.remove_attribute(&key);
                want.attributes.retain(|kv| kv.key != key);
            }
            4 => {
                span.edit_attributes(&mut scratch, |attributes| one_pass(attributes, &key));
                one_pass_on(&mut want.attributes, &key);
            }
            5 => {
                span.set_name("renamed span");
                want.name = "renamed span".into();
            }
            6 => {
                span.set_status(2, "boom");
                want.status = Some(Status { message: "boom".into(), code: 2 });
            }
            7 => {
                span.set_trace_id(&[7; 16]);
                span.set_end_time_unix_nano(42);
                span.clear_events();
                want.trace_id = vec![7; 16];
                want.end_time_unix_nano = 42;
                want.events.clear();
            }
            _ => unreachable!("an op is below 8"),
        }
    }
    drop(wants);
    drop_removed(expected.resource_spans.iter_mut().flat_map(|r| &mut r.scope_spans).map(|s| &mut s.spans), &removed);
    drop_removed(std::iter::once(&mut expected.resource_spans), &gone);
    same_outcome(Signal::Traces, bytes, traces.finish(), &expected.encode_to_vec());
}

/// What a data point holds, read the same way from a view and from prost's struct:
/// attributes (encoded, normalized), times, flags, and the numbers by their bits.
#[derive(Debug, PartialEq)]
struct PointFacts {
    attributes: Vec<u8>,
    start: u64,
    time: u64,
    flags: u32,
    value: Option<(bool, u64)>,
    count: Option<u64>,
    sum: Option<u64>,
    min: Option<u64>,
    max: Option<u64>,
}

/// Normalized attributes, encoded as a run of `KeyValue` fields.
fn attribute_bytes(mut attributes: Vec<KeyValue>) -> Vec<u8> {
    normalize(&mut attributes);
    attributes.iter().flat_map(|kv| kv.encode_length_delimited_to_vec()).collect()
}

fn view_facts(point: &DataPoint<'_>, summary: bool) -> PointFacts {
    let attributes = point
        .attributes()
        .map(|(key, value)| {
            let mut out = Vec::new();
            aegis_wire::encode_key_value(&mut out, 1, key, &value);
            let mut bytes = &out[..];
            // The field's tag, then its length; the payload is the `KeyValue`.
            prost::encoding::decode_key(&mut bytes).expect("a tag");
            KeyValue::decode_length_delimited(bytes).expect("an encoded attribute decodes")
        })
        .collect();
    PointFacts {
        attributes: attribute_bytes(attributes),
        start: point.start_time_unix_nano(),
        time: point.time_unix_nano(),
        flags: point.flags(),
        value: point.value().map(|v| match v {
            NumberValue::Double(d) => (true, d.to_bits()),
            NumberValue::Int(i) => (false, i as u64),
        }),
        count: point.count(),
        // A summary's sum is not optional in the schema: absent reads as 0.
        sum: if summary { Some(point.sum().unwrap_or(0.0).to_bits()) } else { point.sum().map(f64::to_bits) },
        min: point.min().map(f64::to_bits),
        max: point.max().map(f64::to_bits),
    }
}

/// The kind, temporality, monotonicity and points of prost's metric.
fn prost_facts(metric: &Metric) -> (Option<MetricKind>, i32, bool, Vec<PointFacts>) {
    let facts = |attributes: &[KeyValue], start, time, flags| PointFacts {
        attributes: attribute_bytes(attributes.to_vec()),
        start,
        time,
        flags,
        value: None,
        count: None,
        sum: None,
        min: None,
        max: None,
    };
    // Histogram and exponential histogram points are two types with the same fields here.
    macro_rules! histogram_facts {
        ($points:expr) => {
            $points
                .iter()
                .map(|p| PointFacts {
                    count: Some(p.count),
                    sum: p.sum.map(f64::to_bits),
                    min: p.min.map(f64::to_bits),
                    max: p.max.map(f64::to_bits),
                    ..facts(&p.attributes, p.start_time_unix_nano, p.time_unix_nano, p.flags)
                })
                .collect()
        };
    }
    match &metric.data {
        None => (None, 0, false, Vec::new()),
        Some(Data::Gauge(Gauge { data_points }) | Data::Sum(Sum { data_points, .. })) => {
            let points = data_points
                .iter()
                .map(|p| PointFacts {
                    value: p.value.map(|v| match v {
                        number_data_point::Value::AsDouble(d) => (true, d.to_bits()),
                        number_data_point::Value::AsInt(i) => (false, i as u64),
                    }),
                    ..facts(&p.attributes, p.start_time_unix_nano, p.time_unix_nano, p.flags)
                })
                .collect();
            match &metric.data {
                Some(Data::Sum(s)) => (Some(MetricKind::Sum), s.aggregation_temporality, s.is_monotonic, points),
                _ => (Some(MetricKind::Gauge), 0, false, points),
            }
        }
        Some(Data::Histogram(h)) => {
            (Some(MetricKind::Histogram), h.aggregation_temporality, false, histogram_facts!(h.data_points))
        }
        Some(Data::ExponentialHistogram(h)) => {
            (Some(MetricKind::ExponentialHistogram), h.aggregation_temporality, false, histogram_facts!(h.data_points))
        }
        Some(Data::Summary(s)) => {
            let points = s
                .data_points
                .iter()
                .map(|p| PointFacts {
                    count: Some(p.count),
                    sum: Some(p.sum.to_bits()),
                    ..facts(&p.attributes, p.start_time_unix_nano, p.time_unix_nano, p.flags)
                })
                .collect();
            (Some(MetricKind::Summary), 0, false, points)
        }
    }
}

/// A view of every metric, and of each of its points, reads what prost reads.
fn check_metric_views(bytes: &[u8]) {
    let metrics = Metrics::parse(bytes).expect("a valid request indexes");
    let request = ExportMetricsServiceRequest::decode(bytes).expect("decoded before");
    let expected = request.resource_metrics.iter().flat_map(|r| &r.scope_metrics).flat_map(|s| &s.metrics);
    let mut n = 0;
    for (view, want) in metrics.metrics().zip(expected) {
        assert_eq!(view.name(), want.name, "a metric's view reads another name than prost");
        assert_eq!(view.description(), want.description, "a metric's view reads another description than prost");
        assert_eq!(view.unit(), want.unit, "a metric's view reads another unit than prost");
        let (kind, temporality, monotonic, points) = prost_facts(want);
        assert_eq!(view.kind(), kind, "a metric's view reads another kind than prost");
        assert_eq!(view.aggregation_temporality(), temporality, "a metric's view reads another temporality");
        assert_eq!(view.is_monotonic(), monotonic, "a metric's view reads another monotonicity");
        let summary = kind == Some(MetricKind::Summary);
        let got: Vec<PointFacts> = view.data_points().map(|p| view_facts(&p, summary)).collect();
        assert_eq!(got, points, "the points of metric {:?} read otherwise than prost's", want.name);
        n += 1;
    }
    assert_eq!(n, metrics.metric_count(), "the index holds other metrics than prost");
}

/// The attribute lists of prost's points of `metric`, in order.
fn point_attributes(metric: &mut Metric) -> Vec<&mut Vec<KeyValue>> {
    match &mut metric.data {
        None => Vec::new(),
        Some(Data::Gauge(Gauge { data_points }) | Data::Sum(Sum { data_points, .. })) => {
            data_points.iter_mut().map(|p| &mut p.attributes).collect()
        }
        Some(Data::Histogram(h)) => h.data_points.iter_mut().map(|p| &mut p.attributes).collect(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.iter_mut().map(|p| &mut p.attributes).collect(),
        Some(Data::Summary(s)) => s.data_points.iter_mut().map(|p| &mut p.attributes).collect(),
    }
}

/// Keeps the points of prost's `metric` at the positions for which `keep` is true.
fn retain_points(metric: &mut Metric, keep: impl Fn(usize) -> bool) {
    fn by_position<T>(points: &mut Vec<T>, keep: impl Fn(usize) -> bool) {
        let removed: Vec<usize> = (0..points.len()).filter(|&k| !keep(k)).collect();
        drop_removed(std::iter::once(points), &removed);
    }
    match &mut metric.data {
        None => {}
        Some(Data::Gauge(Gauge { data_points }) | Data::Sum(Sum { data_points, .. })) => by_position(data_points, keep),
        Some(Data::Histogram(h)) => by_position(&mut h.data_points, keep),
        Some(Data::ExponentialHistogram(h)) => by_position(&mut h.data_points, keep),
        Some(Data::Summary(s)) => by_position(&mut s.data_points, keep),
    }
}

/// Edits every metric and its points, by the byte of `ops` at the metric's position, and the
/// resources and scopes, in the bytes and in prost's structs, and compares the results.
fn check_metric_edits(bytes: &[u8], ops: &[u8]) {
    let mut expected = ExportMetricsServiceRequest::decode(bytes).expect("decoded before");
    let mut metrics = Metrics::parse(bytes).expect("a valid request indexes");
    let gone = edit_resources!(
        metrics.resource_metrics_mut(),
        scope_metrics_mut,
        expected.resource_metrics,
        scope_metrics,
        ops
    );
    let mut wants: Vec<&mut Metric> =
        expected.resource_metrics.iter_mut().flat_map(|r| &mut r.scope_metrics).flat_map(|s| &mut s.metrics).collect();
    assert_eq!(wants.len(), metrics.metric_count(), "the index holds other metrics than prost");
    let mut removed = Vec::new();
    let mut scratch = AttributeScratch::default();
    for (i, (mut metric, want)) in metrics.metrics_mut().zip(wants.iter_mut()).enumerate() {
        // A key the points may hold: the first point's first attribute's, or a fixed one.
        let key =
            point_attributes(want).first().and_then(|a| a.first()).map_or_else(|| "k".to_owned(), |kv| kv.key.clone());
        match ops.get(i).copied().unwrap_or(0) % 9 {
            0 => {}
            1 => {
                metric.remove();
                removed.push(i);
            }
            2 => {
                metric.set_name("renamed.metric");
                want.name = "renamed.metric".into();
                assert_eq!(metric.name(), "renamed.metric", "a set name reads back otherwise");
            }
            3 => {
                metric.set_unit("ms");
                metric.set_description("what it counts");
                want.unit = "ms".into();
                want.description = "what it counts".into();
            }
            4 => {
                metric.data_points_mut().for_each(|mut p| p.set_attribute(&key, "v"));
                point_attributes(want).into_iter().for_each(|a| set(a, &key, string("v")));
            }
            5 => {
                metric.data_points_mut().for_each(|mut p| {
                    p.remove_attribute(&key);
                });
                point_attributes(want).into_iter().for_each(|a| a.retain(|kv| kv.key != key));
            }
            6 => {
                metric.data_points_mut().enumerate().filter(|(k, _)| k % 2 == 0).for_each(|(_, mut p)| p.remove());
                retain_points(want, |k| k % 2 == 1);
            }
            7 => {
                metric.data_points_mut().for_each(|mut p| p.edit_attributes(&mut scratch, |a| one_pass(a, &key)));
                point_attributes(want).into_iter().for_each(|a| one_pass_on(a, &key));
            }
            8 => {
                let mut numbers = 0;
                metric.data_points_mut().for_each(|mut p| {
                    numbers += usize::from(p.set_int(5));
                    p.set_time_unix_nano(42);
                });
                match &mut want.data {
                    Some(Data::Gauge(Gauge { data_points }) | Data::Sum(Sum { data_points, .. })) => {
                        assert_eq!(numbers, data_points.len(), "set_int refused a number point");
                        data_points.iter_mut().for_each(|p| {
                            p.value = Some(number_data_point::Value::AsInt(5));
                            p.time_unix_nano = 42;
                        });
                    }
                    Some(Data::Histogram(h)) => h.data_points.iter_mut().for_each(|p| p.time_unix_nano = 42),
                    Some(Data::ExponentialHistogram(h)) => h.data_points.iter_mut().for_each(|p| p.time_unix_nano = 42),
                    Some(Data::Summary(s)) => s.data_points.iter_mut().for_each(|p| p.time_unix_nano = 42),
                    None => {}
                }
            }
            _ => unreachable!("an op is below 9"),
        }
    }
    drop(wants);
    drop_removed(
        expected.resource_metrics.iter_mut().flat_map(|r| &mut r.scope_metrics).map(|s| &mut s.metrics),
        &removed,
    );
    drop_removed(std::iter::once(&mut expected.resource_metrics), &gone);
    same_outcome(Signal::Metrics, bytes, metrics.finish(), &expected.encode_to_vec());
}

/// The key a resource or scope edit works on: its first attribute's, or `fallback`.
fn first_key(attributes: &[KeyValue], fallback: &str) -> String {
    attributes.first().map_or_else(|| fallback.to_owned(), |kv| kv.key.clone())
}

/// [`set`] on a resource that prost may not have: an edit makes one.
fn resource_attributes(resource: &mut Option<Resource>) -> &mut Vec<KeyValue> {
    &mut resource.get_or_insert_with(Resource::default).attributes
}

fn scope_of(scope: &mut Option<InstrumentationScope>) -> &mut InstrumentationScope {
    scope.get_or_insert_with(InstrumentationScope::default)
}
