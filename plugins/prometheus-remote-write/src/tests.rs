//! The exporter end to end, natively: OTLP batches in, snappy-compressed `WriteRequest`s
//! out, decoded again with the prost messages to check what Prometheus would store.

use aegis_plugin_sdk::prelude::*;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric::Data,
    number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

use crate::RemoteWrite;
use crate::proto::{MetricType, WriteRequest};

const SECOND: u64 = 1_000_000_000;
const T: u64 = 1_706_193_045_000_000_000;

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

fn exporter(config: serde_json::Value) -> RemoteWrite {
    RemoteWrite::init(Config::from_value(config)).expect("a valid config")
}

fn batch(metrics: Vec<Metric>) -> Batch {
    let request = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "backend"), kv("service.instance.id", "backend-1")],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics { metrics, ..Default::default() }],
            ..Default::default()
        }],
    };
    Batch::new(Signal::Metrics, request.encode_to_vec())
}

fn point(attributes: Vec<KeyValue>, time: u64, value: f64) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        time_unix_nano: time,
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    }
}

fn requests_counter(temporality: i32, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: "http_requests_total".into(),
        description: "Total HTTP requests".into(),
        data: Some(Data::Sum(Sum { data_points: points, aggregation_temporality: temporality, is_monotonic: true })),
        ..Default::default()
    }
}

fn gauge(name: &str, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.into(),
        unit: "By".into(),
        data: Some(Data::Gauge(Gauge { data_points: points })),
        ..Default::default()
    }
}

fn duration_histogram(time: u64, bounds: Vec<f64>, counts: Vec<u64>) -> Metric {
    Metric {
        name: "http.request.duration".into(),
        unit: "s".into(),
        description: "Request duration".into(),
        data: Some(Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint {
                time_unix_nano: time,
                count: counts.iter().sum(),
                sum: Some(3.5),
                bucket_counts: counts,
                explicit_bounds: bounds,
                ..Default::default()
            }],
            aggregation_temporality: 2,
        })),
        ..Default::default()
    }
}

/// Checks the request a payload carries and decodes it.
fn decode(payload: &Payload) -> WriteRequest {
    assert_eq!(payload.path, "/api/v1/write");
    let header =
        |name: &str| payload.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    assert_eq!(header("content-encoding"), Some("snappy"));
    assert_eq!(header("content-type"), Some("application/x-protobuf"));
    assert_eq!(header("x-prometheus-remote-write-version"), Some("0.1.0"));
    assert!(header("user-agent").is_some_and(|ua| ua.starts_with("aegis-prometheus-remote-write/")));
    let raw = snap::raw::Decoder::new().decompress_vec(&payload.body).expect("snappy block format");
    WriteRequest::decode(raw.as_slice()).expect("a WriteRequest")
}

/// Every series as `name{a="b",...}` with its (timestamp, value) samples, in request order.
fn series(requests: &[WriteRequest]) -> Vec<(String, Vec<(i64, f64)>)> {
    let mut out = Vec::new();
    for request in requests {
        for series in &request.timeseries {
            let names: Vec<&str> = series.labels.iter().map(|l| l.name.as_str()).collect();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            assert_eq!(names, sorted, "labels are sorted by name");
            let name = series.labels.iter().find(|l| l.name == "__name__").map_or("", |l| l.value.as_str());
            let labels: Vec<String> = series
                .labels
                .iter()
                .filter(|l| l.name != "__name__")
                .map(|l| format!("{}=\"{}\"", l.name, l.value))
                .collect();
            let samples = series.samples.iter().map(|s| (s.timestamp, s.value)).collect();
            out.push((format!("{name}{{{}}}", labels.join(",")), samples));
        }
    }
    out
}

fn flushed(exporter: &mut RemoteWrite, now: u64) -> Vec<WriteRequest> {
    exporter.flush_at(now).expect("flush").iter().map(decode).collect()
}

const SERVICE: &str = "instance=\"backend-1\",job=\"backend\"";

#[test]
fn a_batch_arrives_as_snappy_protobuf_with_names_labels_values_and_metadata() {
    let mut exporter = exporter(serde_json::json!({}));
    let metrics = vec![
        requests_counter(2, vec![point(vec![kv("method", "GET"), kv("status", "200")], T, 42.0)]),
        gauge("process.memory.usage", vec![point(vec![], T, 1024.0)]),
        duration_histogram(T, vec![0.1, 0.5], vec![2, 1, 1]),
    ];
    assert!(exporter.export_at(&batch(metrics), T).unwrap().is_empty(), "below max_samples_per_request, it buffers");
    let requests = flushed(&mut exporter, T + SECOND);
    assert_eq!(requests.len(), 1);
    let ms = (T / 1_000_000) as i64;
    assert_eq!(
        series(&requests),
        vec![
            (format!("http_requests_total{{{SERVICE},method=\"GET\",status=\"200\"}}"), vec![(ms, 42.0)]),
            (format!("process_memory_usage_bytes{{{SERVICE}}}"), vec![(ms, 1024.0)]),
            (format!("http_request_duration_seconds_bucket{{{SERVICE},le=\"0.1\"}}"), vec![(ms, 2.0)]),
            (format!("http_request_duration_seconds_bucket{{{SERVICE},le=\"0.5\"}}"), vec![(ms, 3.0)]),
            (format!("http_request_duration_seconds_bucket{{{SERVICE},le=\"+Inf\"}}"), vec![(ms, 4.0)]),
            (format!("http_request_duration_seconds_sum{{{SERVICE}}}"), vec![(ms, 3.5)]),
            (format!("http_request_duration_seconds_count{{{SERVICE}}}"), vec![(ms, 4.0)]),
        ]
    );
    let metadata: Vec<(i32, &str, &str, &str)> = requests[0]
        .metadata
        .iter()
        .map(|m| (m.r#type, m.metric_family_name.as_str(), m.help.as_str(), m.unit.as_str()))
        .collect();
    assert_eq!(
        metadata,
        vec![
            (MetricType::Counter as i32, "http_requests_total", "Total HTTP requests", ""),
            (MetricType::Gauge as i32, "process_memory_usage_bytes", "", "bytes"),
            (MetricType::Histogram as i32, "http_request_duration_seconds", "Request duration", "seconds"),
        ]
    );
    // Metadata goes once; the next request carries only samples.
    exporter
        .export_at(&batch(vec![gauge("process.memory.usage", vec![point(vec![], T + SECOND, 2048.0)])]), T)
        .unwrap();
    assert!(flushed(&mut exporter, T + 2 * SECOND)[0].metadata.is_empty());
}

#[test]
fn requests_hold_at_most_max_samples_and_the_rest_waits_for_the_flush() {
    let mut exporter = exporter(serde_json::json!({ "max_samples_per_request": 5, "send_metadata": false }));
    let points = (0..12).map(|i| point(vec![kv("path", &format!("/api/v1/{i}"))], T, i as f64)).collect();
    let payloads = exporter.export_at(&batch(vec![requests_counter(2, points)]), T).unwrap();
    let sent: Vec<usize> =
        payloads.iter().map(|p| decode(p).timeseries.iter().map(|s| s.samples.len()).sum()).collect();
    assert_eq!(sent, vec![5, 5]);
    let rest = flushed(&mut exporter, T);
    assert_eq!(series(&rest).len(), 2);
    assert!(flushed(&mut exporter, T).is_empty(), "nothing is sent twice");
}

#[test]
fn samples_of_a_series_go_out_sorted_and_older_than_written_ones_are_dropped() {
    let mut exporter = exporter(serde_json::json!({ "send_metadata": false }));
    let one = |time, value| batch(vec![gauge("queue", vec![point(vec![], time, value)])]);
    exporter.export_at(&one(T + 2 * SECOND, 2.0), T).unwrap();
    exporter.export_at(&one(T + SECOND, 1.0), T).unwrap();
    exporter.export_at(&one(T + 3 * SECOND, 3.0), T).unwrap();
    let ms = |s: u64| ((T + s * SECOND) / 1_000_000) as i64;
    let sent = series(&flushed(&mut exporter, T));
    assert_eq!(sent, vec![(format!("queue_bytes{{{SERVICE}}}"), vec![(ms(1), 1.0), (ms(2), 2.0), (ms(3), 3.0)])]);
    // Prometheus would refuse the whole request for a sample older than one it has.
    exporter.export_at(&one(T + 2 * SECOND, 9.0), T).unwrap();
    assert!(flushed(&mut exporter, T).is_empty());
    assert_eq!(exporter.counted[&("samples_dropped", "out_of_order")], 1);
}

#[test]
fn a_series_not_seen_for_stale_after_gets_one_staleness_marker_after_its_last_sample() {
    let mut exporter = exporter(serde_json::json!({ "stale_after": "30s", "send_metadata": false }));
    let two = batch(vec![gauge("queue", vec![point(vec![kv("q", "a")], T, 1.0), point(vec![kv("q", "b")], T, 1.0)])]);
    exporter.export_at(&two, T).unwrap();
    flushed(&mut exporter, T);
    // Only `a` keeps coming.
    let a = batch(vec![gauge("queue", vec![point(vec![kv("q", "a")], T + 20 * SECOND, 2.0)])]);
    exporter.export_at(&a, T + 20 * SECOND).unwrap();
    let sent = series(&flushed(&mut exporter, T + 31 * SECOND));
    assert_eq!(sent.len(), 2, "{sent:?}");
    let (name, samples) = &sent[0];
    assert_eq!(name, &format!("queue_bytes{{{SERVICE},q=\"b\"}}"));
    assert_eq!(samples.len(), 1);
    assert_eq!(samples[0].0, (T / 1_000_000) as i64 + 1);
    assert_eq!(samples[0].1.to_bits(), 0x7ff0_0000_0000_0002, "the staleness NaN, bit for bit");
    assert_eq!(sent[1].1, vec![(((T + 20 * SECOND) / 1_000_000) as i64, 2.0)]);
    assert_eq!(exporter.store.series(), 1);
    assert!(flushed(&mut exporter, T + 32 * SECOND).is_empty(), "one marker per series");
    assert_eq!(exporter.counted[&("stale_markers", "")], 1);
    assert_eq!(exporter.counted[&("samples_sent", "")], 4, "two values, then a value and a marker");
}

#[test]
fn buckets_that_disappear_from_a_histogram_get_staleness_markers() {
    let mut exporter = exporter(serde_json::json!({ "send_metadata": false }));
    exporter.export_at(&batch(vec![duration_histogram(T, vec![0.1, 0.5], vec![1, 1, 1])]), T).unwrap();
    flushed(&mut exporter, T);
    exporter.export_at(&batch(vec![duration_histogram(T + SECOND, vec![0.1, 1.0], vec![2, 2, 2])]), T).unwrap();
    let sent = series(&flushed(&mut exporter, T));
    let gone = sent.iter().find(|(name, _)| name.contains("le=\"0.5\"")).expect("the 0.5 bucket ends");
    assert!(gone.1[0].1.is_nan());
    let new = sent.iter().find(|(name, _)| name.contains("le=\"1\"")).expect("the new 1.0 bucket");
    assert_eq!(new.1[0].1, 4.0);
    assert_eq!(exporter.store.series(), 5);
}

#[test]
fn delta_counters_are_sent_as_running_totals_or_refused_when_delta_is_drop() {
    let mut convert = exporter(serde_json::json!({ "send_metadata": false }));
    convert.export_at(&batch(vec![requests_counter(1, vec![point(vec![], T, 5.0)])]), T).unwrap();
    convert.export_at(&batch(vec![requests_counter(1, vec![point(vec![], T + SECOND, 3.0)])]), T).unwrap();
    let sent = series(&flushed(&mut convert, T));
    assert_eq!(sent[0].1.iter().map(|s| s.1).collect::<Vec<_>>(), vec![5.0, 8.0]);

    let mut drop = exporter(serde_json::json!({ "delta": "drop" }));
    drop.export_at(&batch(vec![requests_counter(1, vec![point(vec![], T, 5.0)])]), T).unwrap();
    let sent = flushed(&mut drop, T);
    assert!(sent.iter().all(|r| r.timeseries.is_empty()), "{sent:?}");
    assert_eq!(drop.counted[&("points_dropped", "delta")], 1);
}

#[test]
fn new_series_past_max_series_are_dropped_and_counted() {
    let mut exporter = exporter(serde_json::json!({ "max_series": 2, "send_metadata": false }));
    let points = (0..3).map(|i| point(vec![kv("i", &i.to_string())], T, 1.0)).collect();
    exporter.export_at(&batch(vec![gauge("g", points)]), T).unwrap();
    assert_eq!(series(&flushed(&mut exporter, T)).len(), 2);
    assert_eq!(exporter.counted[&("points_dropped", "series_limit")], 1);
}

#[test]
fn config_errors_name_every_wrong_key_at_once() {
    let err = RemoteWrite::init(Config::from_value(serde_json::json!({
        "path": "api/v1/write",
        "max_samples_per_request": 0,
        "stale_after": "2h",
        "external_labels": { "__cluster": "a", "region": "" },
    })))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    for key in
        ["path:", "max_samples_per_request:", "stale_after:", "external_labels.__cluster:", "external_labels.region:"]
    {
        assert!(err.message().contains(key), "{key} in {}", err.message());
    }
    let err = RemoteWrite::init(Config::from_value(serde_json::json!({ "delta": "keep" }))).unwrap_err();
    assert!(err.message().starts_with("delta: unknown variant `keep`"), "{}", err.message());
}

#[test]
fn other_signals_and_malformed_batches_are_invalid_input() {
    let mut exporter = exporter(serde_json::json!({}));
    let err = exporter.export_at(&Batch::new(Signal::Logs, vec![]), T).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = exporter.export_at(&Batch::new(Signal::Metrics, vec![0x0a, 0x7f]), T).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}
