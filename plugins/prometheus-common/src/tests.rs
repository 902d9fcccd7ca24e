//! Conversion tests: OTLP requests built with the prost types go through the converter,
//! and the tests check the Prometheus series a user would see.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint, exponential_histogram_data_point, metric::Data,
    number_data_point, summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

use crate::{Converter, DeltaMode, Family, Options, Point, STALE_NAN, Visitor, float_text};

const T: u64 = 1_706_193_045_123_000_000;
const NOW: u64 = 1_706_193_100_000_000_000;

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

fn kv_int(key: &str, value: i64) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(Value::IntValue(value)) }), ..Default::default() }
}

fn service() -> Vec<KeyValue> {
    vec![kv("service.name", "backend"), kv("service.namespace", "aegis"), kv("service.instance.id", "backend-1")]
}

fn request(resource: Vec<KeyValue>, metrics: Vec<Metric>) -> Vec<u8> {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource { attributes: resource, ..Default::default() }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "aegis-backend".into(),
                    version: "1.2.0".into(),
                    ..Default::default()
                }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

fn metric(name: &str, unit: &str, data: Data) -> Metric {
    Metric {
        name: name.into(),
        unit: unit.into(),
        description: format!("About {name}."),
        data: Some(data),
        ..Default::default()
    }
}

fn number(attributes: Vec<KeyValue>, time: u64, value: f64) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        time_unix_nano: time,
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    }
}

fn counter(name: &str, temporality: i32, points: Vec<NumberDataPoint>) -> Metric {
    metric(name, "", Data::Sum(Sum { data_points: points, aggregation_temporality: temporality, is_monotonic: true }))
}

/// A series as a user sees it: `name{labels}` and its value at a time.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
    timestamp_ms: i64,
}

#[derive(Default)]
struct Record {
    family: Option<(String, crate::FamilyKind, String, String, bool)>,
    families: Vec<(String, crate::FamilyKind, String, String)>,
    seen: Vec<Seen>,
}

impl Visitor for Record {
    fn family(&mut self, family: &Family<'_>) {
        self.family = Some((family.name.into(), family.kind, family.help.into(), family.unit.into(), family.total));
        self.families.push((family.name.into(), family.kind, family.help.into(), family.unit.into()));
    }

    fn point(&mut self, point: &Point<'_>) {
        let (name, kind, _, _, total) = self.family.clone().expect("a family before its points");
        let family = Family { name: &name, kind, help: "", unit: "", total };
        for sample in point.samples {
            let mut labels: BTreeMap<String, String> =
                point.labels.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
            if let Some(extra) = sample.extra {
                labels.insert(extra.name().into(), float_text(extra.value()));
            }
            self.seen.push(Seen {
                name: format!("{name}{}", family.suffix(sample.suffix)),
                labels,
                value: sample.value,
                timestamp_ms: point.timestamp_ms,
            });
        }
    }
}

fn convert(converter: &mut Converter, bytes: &[u8]) -> Record {
    let mut record = Record::default();
    converter.convert(bytes, NOW, &mut record).expect("a valid request");
    record
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn find<'r>(record: &'r Record, name: &str, with: &[(&str, &str)]) -> &'r Seen {
    record
        .seen
        .iter()
        .find(|s| s.name == name && with.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v)))
        .unwrap_or_else(|| panic!("no {name} with {with:?} in {:#?}", record.seen))
}

#[test]
fn a_counter_gets_total_and_job_and_instance_from_the_service() {
    let bytes = request(
        service(),
        vec![counter(
            "http.requests",
            2,
            vec![
                number(vec![kv("method", "GET"), kv("status", "200")], T, 42.0),
                number(vec![kv("method", "POST"), kv("status", "201")], T, 7.0),
            ],
        )],
    );
    let record = convert(&mut Converter::new(Options { target_info: false, ..Options::default() }), &bytes);
    assert_eq!(record.seen.len(), 2);
    let get = &record.seen[0];
    assert_eq!(get.name, "http_requests_total");
    assert_eq!(
        get.labels,
        labels(&[
            ("instance", "backend-1"),
            ("job", "aegis/backend"),
            ("method", "GET"),
            ("otel_scope_name", "aegis-backend"),
            ("otel_scope_version", "1.2.0"),
            ("status", "200"),
        ])
    );
    assert_eq!((get.value, get.timestamp_ms), (42.0, 1_706_193_045_123));
    assert_eq!(find(&record, "http_requests_total", &[("method", "POST")]).value, 7.0);
    assert_eq!(
        record.families,
        vec![("http_requests".into(), crate::FamilyKind::Counter, "About http.requests.".into(), String::new())]
    );
}

#[test]
fn gauges_get_their_unit_and_ratio_and_non_monotonic_sums_are_gauges() {
    let gauge =
        metric("process.memory.usage", "By", Data::Gauge(Gauge { data_points: vec![number(vec![], T, 1.5e9)] }));
    let ratio =
        metric("system.cpu.utilization", "1", Data::Gauge(Gauge { data_points: vec![number(vec![], T, 0.25)] }));
    let updown = metric(
        "active.sessions",
        "{session}",
        Data::Sum(Sum { data_points: vec![number(vec![], T, 12.0)], aggregation_temporality: 2, is_monotonic: false }),
    );
    let record = convert(&mut Converter::new(Options::default()), &request(service(), vec![gauge, ratio, updown]));
    assert_eq!(find(&record, "process_memory_usage_bytes", &[]).value, 1.5e9);
    assert_eq!(find(&record, "system_cpu_utilization_ratio", &[]).value, 0.25);
    assert_eq!(find(&record, "active_sessions", &[]).value, 12.0);
    let kinds: Vec<_> = record.families.iter().map(|f| (f.0.as_str(), f.1, f.3.as_str())).collect();
    assert_eq!(kinds[0], ("process_memory_usage_bytes", crate::FamilyKind::Gauge, "bytes"));
    assert_eq!(kinds[1], ("system_cpu_utilization_ratio", crate::FamilyKind::Gauge, "ratio"));
    assert_eq!(kinds[2], ("active_sessions", crate::FamilyKind::Gauge, ""));
}

fn histogram(temporality: i32, points: Vec<HistogramDataPoint>) -> Metric {
    metric(
        "http.request.duration",
        "s",
        Data::Histogram(Histogram { data_points: points, aggregation_temporality: temporality }),
    )
}

fn histogram_point(time: u64, counts: Vec<u64>, sum: f64) -> HistogramDataPoint {
    HistogramDataPoint {
        attributes: vec![kv("method", "GET"), kv("le", "spoofed")],
        time_unix_nano: time,
        count: counts.iter().sum(),
        sum: Some(sum),
        bucket_counts: counts,
        explicit_bounds: vec![0.005, 0.01, 0.1, 1.0],
        ..Default::default()
    }
}

#[test]
fn histogram_buckets_are_cumulative_with_le_up_to_inf_then_sum_and_count() {
    let bytes = request(service(), vec![histogram(2, vec![histogram_point(T, vec![1, 2, 3, 4, 5], 12.5)])]);
    let record = convert(&mut Converter::new(Options { target_info: false, ..Options::default() }), &bytes);
    let got: Vec<(String, Option<String>, f64)> =
        record.seen.iter().map(|s| (s.name.clone(), s.labels.get("le").cloned(), s.value)).collect();
    let bucket = |le: &str, v: f64| ("http_request_duration_seconds_bucket".to_owned(), Some(le.to_owned()), v);
    assert_eq!(
        got,
        vec![
            bucket("0.005", 1.0),
            bucket("0.01", 3.0),
            bucket("0.1", 6.0),
            bucket("1", 10.0),
            bucket("+Inf", 15.0),
            ("http_request_duration_seconds_sum".to_owned(), None, 12.5),
            ("http_request_duration_seconds_count".to_owned(), None, 15.0),
        ]
    );
    // The point's own `le` attribute cannot clash with the bucket label.
    assert!(record.seen.iter().all(|s| s.labels.get("le").is_none_or(|le| le != "spoofed")));
}

#[test]
fn a_histogram_whose_counts_do_not_match_its_bounds_is_counted_invalid() {
    let mut point = histogram_point(T, vec![1, 2, 3], 1.0);
    point.explicit_bounds = vec![1.0, 0.5];
    let mut converter = Converter::new(Options { target_info: false, ..Options::default() });
    let record = convert(&mut converter, &request(service(), vec![histogram(2, vec![point])]));
    assert!(record.seen.is_empty());
    assert_eq!(converter.take_stats().invalid, 1);
}

#[test]
fn exponential_histograms_become_explicit_buckets_at_their_edges() {
    // Scale 0: base 2, so positive bucket i holds (2^i, 2^(i+1)].
    let point = ExponentialHistogramDataPoint {
        time_unix_nano: T,
        count: 10,
        sum: Some(20.0),
        scale: 0,
        zero_count: 1,
        positive: Some(exponential_histogram_data_point::Buckets { offset: 0, bucket_counts: vec![2, 3, 1] }),
        negative: Some(exponential_histogram_data_point::Buckets { offset: 1, bucket_counts: vec![3] }),
        ..Default::default()
    };
    let data =
        Data::ExponentialHistogram(ExponentialHistogram { data_points: vec![point], aggregation_temporality: 2 });
    let record = convert(
        &mut Converter::new(Options { target_info: false, ..Options::default() }),
        &request(vec![], vec![metric("latency", "ms", data)]),
    );
    let buckets: Vec<(String, f64)> = record
        .seen
        .iter()
        .filter(|s| s.name == "latency_milliseconds_bucket")
        .map(|s| (s.labels["le"].clone(), s.value))
        .collect();
    let expected = [("-2", 3.0), ("0", 4.0), ("2", 6.0), ("4", 9.0), ("8", 10.0), ("+Inf", 10.0)];
    assert_eq!(buckets, expected.map(|(le, v)| (le.to_owned(), v)).to_vec());
    assert_eq!(find(&record, "latency_milliseconds_count", &[]).value, 10.0);
    assert_eq!(find(&record, "latency_milliseconds_sum", &[]).value, 20.0);
}

#[test]
fn summaries_have_quantiles_sum_and_count() {
    let point = SummaryDataPoint {
        time_unix_nano: T,
        count: 100,
        sum: 45.5,
        quantile_values: vec![
            ValueAtQuantile { quantile: 0.5, value: 0.4 },
            ValueAtQuantile { quantile: 0.99, value: 1.2 },
        ],
        ..Default::default()
    };
    let data = Data::Summary(Summary { data_points: vec![point] });
    let record =
        convert(&mut Converter::new(Options::default()), &request(vec![], vec![metric("rpc.duration", "s", data)]));
    assert_eq!(find(&record, "rpc_duration_seconds", &[("quantile", "0.5")]).value, 0.4);
    assert_eq!(find(&record, "rpc_duration_seconds", &[("quantile", "0.99")]).value, 1.2);
    assert_eq!(find(&record, "rpc_duration_seconds_sum", &[]).value, 45.5);
    assert_eq!(find(&record, "rpc_duration_seconds_count", &[]).value, 100.0);
}

#[test]
fn delta_sums_are_added_up_per_series_and_older_points_are_refused() {
    let mut converter = Converter::new(Options { target_info: false, ..Options::default() });
    let batch = |time, get, post| {
        request(
            service(),
            vec![counter(
                "http.requests",
                1,
                vec![number(vec![kv("method", "GET")], time, get), number(vec![kv("method", "POST")], time, post)],
            )],
        )
    };
    convert(&mut converter, &batch(T, 5.0, 1.0));
    let second = convert(&mut converter, &batch(T + 10_000_000_000, 3.0, 0.0));
    assert_eq!(find(&second, "http_requests_total", &[("method", "GET")]).value, 8.0);
    assert_eq!(find(&second, "http_requests_total", &[("method", "POST")]).value, 1.0);
    let late = convert(&mut converter, &batch(T + 5_000_000_000, 100.0, 100.0));
    assert!(late.seen.is_empty(), "{:?}", late.seen);
    let stats = converter.take_stats();
    assert_eq!((stats.out_of_order, stats.points), (2, 4));
    // A series not updated since the expiry starts over.
    converter.expire(NOW + 1);
    let again = convert(&mut converter, &batch(T + 20_000_000_000, 2.0, 2.0));
    assert_eq!(find(&again, "http_requests_total", &[("method", "GET")]).value, 2.0);
}

#[test]
fn delta_points_are_refused_and_counted_when_delta_is_drop() {
    let mut converter = Converter::new(Options { delta: DeltaMode::Drop, target_info: false, ..Options::default() });
    let bytes = request(
        service(),
        vec![
            counter("deltas", 1, vec![number(vec![], T, 1.0), number(vec![kv("a", "b")], T, 1.0)]),
            counter("cumulative", 2, vec![number(vec![], T, 1.0)]),
        ],
    );
    let record = convert(&mut converter, &bytes);
    assert_eq!(record.seen.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), vec!["cumulative_total"]);
    assert_eq!(converter.take_stats().delta_refused, 2);
}

#[test]
fn delta_histograms_add_up_bucket_by_bucket() {
    let mut converter = Converter::new(Options { target_info: false, ..Options::default() });
    convert(
        &mut converter,
        &request(service(), vec![histogram(1, vec![histogram_point(T, vec![1, 0, 0, 0, 0], 0.001)])]),
    );
    let record = convert(
        &mut converter,
        &request(service(), vec![histogram(1, vec![histogram_point(T + 1, vec![0, 1, 0, 0, 1], 2.0)])]),
    );
    assert_eq!(find(&record, "http_request_duration_seconds_bucket", &[("le", "0.005")]).value, 1.0);
    assert_eq!(find(&record, "http_request_duration_seconds_bucket", &[("le", "0.01")]).value, 2.0);
    assert_eq!(find(&record, "http_request_duration_seconds_bucket", &[("le", "+Inf")]).value, 3.0);
    assert_eq!(find(&record, "http_request_duration_seconds_count", &[]).value, 3.0);
    assert_eq!(find(&record, "http_request_duration_seconds_sum", &[]).value, 2.001);
}

#[test]
fn target_info_carries_the_other_resource_attributes() {
    let mut resource = service();
    resource.push(kv("deployment.environment", "production"));
    resource.push(kv_int("process.pid", 4242));
    let bytes = request(
        resource,
        vec![counter("hits", 2, vec![number(vec![], T, 1.0), number(vec![kv("x", "y")], T + 1_000_000, 1.0)])],
    );
    let record = convert(&mut Converter::new(Options::default()), &bytes);
    let info = find(&record, "target_info", &[]);
    assert_eq!(
        info.labels,
        labels(&[
            ("deployment_environment", "production"),
            ("instance", "backend-1"),
            ("job", "aegis/backend"),
            ("process_pid", "4242"),
        ])
    );
    assert_eq!((info.value, info.timestamp_ms), (1.0, 1_706_193_045_124));
    // Without attributes beyond the service's there is no target_info.
    let plain = convert(
        &mut Converter::new(Options::default()),
        &request(service(), vec![counter("hits", 2, vec![number(vec![], T, 1.0)])]),
    );
    assert!(plain.seen.iter().all(|s| s.name != "target_info"));
}

#[test]
fn attribute_names_are_sanitized_and_clashing_ones_are_joined_while_the_resource_wins() {
    let mut resource = service();
    resource.push(kv("k8s.namespace.name", "prod"));
    let attributes = vec![
        kv("http.method", "GET"),
        kv("http_method", "HEAD"),
        kv("job", "spoofed"),
        kv("2xx", "yes"),
        kv("__reserved", "r"),
        kv("empty", ""),
        kv_int("code", 200),
    ];
    let options = Options {
        target_info: false,
        scope_labels: false,
        promote_resource_attributes: vec!["k8s.namespace.name".into()],
        external_labels: vec![("cluster".into(), "eu-1".into()), ("job".into(), "ignored".into())],
        ..Options::default()
    };
    let record = convert(
        &mut Converter::new(options),
        &request(resource, vec![counter("hits", 2, vec![number(attributes, T, 1.0)])]),
    );
    assert_eq!(
        record.seen[0].labels,
        labels(&[
            ("cluster", "eu-1"),
            ("code", "200"),
            ("http_method", "GET;HEAD"),
            ("instance", "backend-1"),
            ("job", "aegis/backend"),
            ("k8s_namespace_name", "prod"),
            ("key_2xx", "yes"),
            ("key__reserved", "r"),
        ])
    );
}

#[test]
fn without_suffixes_names_keep_their_own_endings() {
    let options = Options { add_metric_suffixes: false, target_info: false, ..Options::default() };
    let bytes = request(
        vec![],
        vec![
            metric("http.server.duration", "ms", Data::Gauge(Gauge { data_points: vec![number(vec![], T, 1.0)] })),
            counter("http_requests_total", 2, vec![number(vec![], T, 1.0)]),
            counter("hits", 2, vec![number(vec![], T, 1.0)]),
        ],
    );
    let record = convert(&mut Converter::new(options), &bytes);
    let names: Vec<_> = record.seen.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["http_server_duration", "http_requests_total", "hits"]);
}

#[test]
fn a_point_without_a_recorded_value_is_a_staleness_marker_and_missing_times_are_now() {
    let mut point = number(vec![], 0, 0.0);
    point.value = None;
    point.flags = 1;
    let record = convert(
        &mut Converter::new(Options::default()),
        &request(vec![], vec![metric("gone", "", Data::Gauge(Gauge { data_points: vec![point] }))]),
    );
    assert_eq!(record.seen.len(), 1);
    assert_eq!(record.seen[0].value.to_bits(), STALE_NAN.to_bits());
    assert_eq!(record.seen[0].timestamp_ms, (NOW / 1_000_000) as i64);
}

#[test]
fn malformed_requests_are_invalid_input_and_never_panic() {
    let mut converter = Converter::new(Options::default());
    let err = converter.convert(&[0x0a, 0x05, 0x01], NOW, &mut Record::default()).unwrap_err();
    assert_eq!(err.kind(), aegis_plugin_sdk::ErrorKind::InvalidInput);
    assert!(err.message().contains("byte 0"), "{}", err.message());
    // Garbage inside a resource reads as absent fields.
    let mut bytes = vec![0x0a, 0x04];
    bytes.extend_from_slice(&[0x12, 0x02, 0xff, 0xff]);
    converter.convert(&bytes, NOW, &mut Record::default()).unwrap();
    for length in 0..64 {
        let junk: Vec<u8> = (0..length).map(|i| (i * 37 + 11) as u8).collect();
        let _ = converter.convert(&junk, NOW, &mut Record::default());
    }
}

#[test]
fn buckets_that_would_repeat_le_inf_and_repeated_quantiles_are_refused_or_kept_once() {
    let mut converter = Converter::new(Options { target_info: false, ..Options::default() });
    let mut infinite = histogram_point(T, vec![1, 1, 1, 1, 1], 1.0);
    infinite.explicit_bounds = vec![0.1, 0.5, 1.0, f64::INFINITY];
    let huge = ExponentialHistogramDataPoint {
        time_unix_nano: T,
        count: 1,
        scale: -10,
        positive: Some(exponential_histogram_data_point::Buckets { offset: 5, bucket_counts: vec![1] }),
        ..Default::default()
    };
    let exponential =
        Data::ExponentialHistogram(ExponentialHistogram { data_points: vec![huge], aggregation_temporality: 2 });
    let summary = SummaryDataPoint {
        time_unix_nano: T,
        count: 2,
        sum: 1.0,
        quantile_values: vec![
            ValueAtQuantile { quantile: 0.5, value: 0.4 },
            ValueAtQuantile { quantile: 0.5, value: 0.9 },
        ],
        ..Default::default()
    };
    let bytes = request(
        vec![],
        vec![
            histogram(2, vec![infinite]),
            metric("huge", "", exponential),
            metric("rpc", "", Data::Summary(Summary { data_points: vec![summary] })),
        ],
    );
    let record = convert(&mut converter, &bytes);
    assert_eq!(converter.take_stats().invalid, 2);
    let quantiles: Vec<f64> = record.seen.iter().filter(|s| s.name == "rpc").map(|s| s.value).collect();
    assert_eq!(quantiles, vec![0.4]);
}
