//! The two Prometheus exporter plugins through a real `aegis run` and a real Prometheus:
//! OTLP metrics in, then Prometheus either scrapes the `prometheus` exporter or receives the
//! `prometheus-remote-write` exporter's requests, and the tests read the series back through
//! Prometheus's query API: names, labels (`job`, `instance`), values and histogram buckets.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric::Data,
    number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

use crate::prometheus_support::{PrometheusServer, has_series, sample_value};
use crate::support::{Collector, fixture, free_port, kv};

const WAIT: Duration = Duration::from_secs(30);

/// The histogram's bounds and per-bucket counts: cumulative 0, 2, 5, 10, 14, 17, 19, 20, 20.
const BOUNDS: [f64; 8] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];
const COUNTS: [u64; 9] = [0, 2, 3, 5, 4, 3, 2, 1, 0];

fn now_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_nanos() as u64
}

fn number(attributes: Vec<KeyValue>, time: u64, value: f64) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: time - 60_000_000_000,
        time_unix_nano: time,
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    }
}

/// The Aegis backend's metrics: a counter, a gauge and a latency histogram.
fn backend_metrics(time: u64) -> Vec<Metric> {
    vec![
        Metric {
            name: "http_requests_total".into(),
            description: "Total HTTP requests".into(),
            data: Some(Data::Sum(Sum {
                data_points: vec![
                    number(vec![kv("method", "GET"), kv("status", "200")], time, 42.0),
                    number(vec![kv("method", "POST"), kv("status", "201")], time, 7.0),
                ],
                aggregation_temporality: 2,
                is_monotonic: true,
            })),
            ..Default::default()
        },
        Metric {
            name: "process.memory.usage".into(),
            unit: "By".into(),
            description: "Resident memory".into(),
            data: Some(Data::Gauge(Gauge { data_points: vec![number(vec![], time, 123_456_789.0)] })),
            ..Default::default()
        },
        Metric {
            name: "http.request.duration".into(),
            unit: "s".into(),
            description: "Request duration".into(),
            data: Some(Data::Histogram(Histogram {
                data_points: vec![HistogramDataPoint {
                    attributes: vec![kv("method", "GET")],
                    start_time_unix_nano: time - 60_000_000_000,
                    time_unix_nano: time,
                    count: COUNTS.iter().sum(),
                    sum: Some(1.75),
                    bucket_counts: COUNTS.to_vec(),
                    explicit_bounds: BOUNDS.to_vec(),
                    ..Default::default()
                }],
                aggregation_temporality: 2,
            })),
            ..Default::default()
        },
    ]
}

fn request(metrics: Vec<Metric>) -> Vec<u8> {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", "backend"),
                    kv("service.namespace", "aegis"),
                    kv("service.instance.id", "backend-1"),
                    kv("deployment.environment", "production"),
                ],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope { name: "aegis-backend".into(), ..Default::default() }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// POSTs an OTLP/HTTP metrics request to the collector and checks it was accepted.
fn send(collector: &Collector, body: &[u8]) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(collector.http).expect("connect to the OTLP receiver");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "POST /v1/metrics HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        collector.http,
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 200"), "the receiver refused the metrics: {response}");
}

/// The one series of `result`, with a check that there is exactly one.
fn only(result: &serde_json::Value) -> &serde_json::Value {
    let series = result.as_array().expect("a vector");
    assert_eq!(series.len(), 1, "{result}");
    &series[0]
}

/// Checks the series `backend_metrics` makes, as Prometheus stored them.
fn check_backend_series(prometheus: &PrometheusServer, extra: &[(&str, &str)]) {
    let counters = prometheus.wait_for("http_requests_total{job=\"aegis/backend\"}", |r| has_series(r, 2), WAIT);
    let mut seen: Vec<(String, String, String, f64)> = counters
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let label = |name: &str| s["metric"][name].as_str().unwrap_or("").to_owned();
            (label("method"), label("status"), label("instance"), sample_value(s))
        })
        .collect();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        seen,
        vec![
            ("GET".into(), "200".into(), "backend-1".into(), 42.0),
            ("POST".into(), "201".into(), "backend-1".into(), 7.0),
        ]
    );
    let get = prometheus.query("http_requests_total{method=\"GET\"}");
    let labels = &only(&get)["metric"];
    assert_eq!(labels["__name__"], "http_requests_total");
    assert_eq!(labels["otel_scope_name"], "aegis-backend");
    for (name, value) in extra {
        assert_eq!(labels[*name], *value, "{labels}");
    }

    let memory = prometheus.query("process_memory_usage_bytes");
    assert_eq!(sample_value(only(&memory)), 123_456_789.0);
    assert_eq!(only(&memory)["metric"]["job"], "aegis/backend");

    let buckets = prometheus.wait_for("http_request_duration_seconds_bucket", |r| has_series(r, 9), WAIT);
    let mut by_le: Vec<(f64, f64)> = buckets
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["metric"]["method"], "GET");
            let le = s["metric"]["le"].as_str().expect("an le label");
            let le = if le == "+Inf" { f64::INFINITY } else { le.parse().expect("a number") };
            (le, sample_value(s))
        })
        .collect();
    by_le.sort_by(|a, b| a.0.total_cmp(&b.0));
    let expected: Vec<(f64, f64)> = BOUNDS
        .iter()
        .copied()
        .chain([f64::INFINITY])
        .zip([0.0, 2.0, 5.0, 10.0, 14.0, 17.0, 19.0, 20.0, 20.0])
        .collect();
    assert_eq!(by_le, expected);
    assert_eq!(sample_value(only(&prometheus.query("http_request_duration_seconds_bucket{le=\"0.05\"}"))), 10.0);
    assert_eq!(sample_value(only(&prometheus.query("http_request_duration_seconds_sum"))), 1.75);
    assert_eq!(sample_value(only(&prometheus.query("http_request_duration_seconds_count"))), 20.0);
    // The median is the 10th of 20 observations, the top of the (0.025, 0.05] bucket.
    let median = prometheus.query("histogram_quantile(0.5, http_request_duration_seconds_bucket)");
    assert!((sample_value(only(&median)) - 0.05).abs() < 1e-9, "{median}");

    let info = prometheus.query("target_info");
    let info = &only(&info)["metric"];
    assert_eq!(
        (&info["deployment_environment"], &info["job"], &info["instance"]),
        (&"production".into(), &"aegis/backend".into(), &"backend-1".into())
    );
}

#[test]
fn prometheus_scrapes_the_values_sent_as_otlp_from_the_prometheus_exporter() {
    let listen = format!("127.0.0.1:{}", free_port());
    let collector =
        Collector::start(&fixture("prometheus/scrape.toml"), &[("AEGIS_TEST_PROMETHEUS_LISTEN", listen.clone())]);
    send(&collector, &request(backend_metrics(now_nanos())));
    // `honor_labels` keeps the `job` and `instance` the exporter derived from the resource.
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: aegis\n    honor_labels: true\n    static_configs:\n      - targets: ['{listen}']\n"
    );
    let prometheus = PrometheusServer::start(&config, &[]);
    let up = prometheus.wait_for("up{job=\"aegis\"}", |r| has_series(r, 1) && sample_value(&r[0]) == 1.0, WAIT);
    assert_eq!(only(&up)["metric"]["instance"], listen.as_str());
    check_backend_series(&prometheus, &[]);
    // Prometheus asked for OpenMetrics, and got it.
    assert!(
        collector.metric("aegis_plugin_scrapes_total{format=\"openmetrics\",plugin=\"prometheus\"}") >= 1.0,
        "{}",
        collector.metrics()
    );
}

#[test]
fn prometheus_receives_remote_writes_with_names_labels_values_and_staleness() {
    let prometheus =
        PrometheusServer::start("global:\n  scrape_interval: 1m\n", &["--web.enable-remote-write-receiver"]);
    let collector =
        Collector::start(&fixture("prometheus/remote_write.toml"), &[("AEGIS_TEST_PROMETHEUS", prometheus.url())]);
    let now = now_nanos();
    send(&collector, &request(backend_metrics(now)));
    // A delta counter, sent twice, arrives as its running total.
    for (offset, value) in [(1_000_000_000, 5.0), (0, 3.0)] {
        let actions = Metric {
            name: "executor.actions".into(),
            data: Some(Data::Sum(Sum {
                data_points: vec![number(vec![kv("status", "completed")], now - offset, value)],
                aggregation_temporality: 1,
                is_monotonic: true,
            })),
            ..Default::default()
        };
        send(&collector, &request(vec![actions]));
    }
    check_backend_series(&prometheus, &[("job", "aegis/backend"), ("instance", "backend-1"), ("cluster", "test")]);
    let actions = prometheus.wait_for(
        "executor_actions_total{status=\"completed\"}",
        |r| has_series(r, 1) && sample_value(&r[0]) == 8.0,
        WAIT,
    );
    assert_eq!(only(&actions)["metric"]["job"], "aegis/backend");
    assert_eq!(collector.metric("aegis_plugin_points_dropped_total{plugin=\"prometheus\",reason=\"delta\"}"), 0.0);
    // 2 counters, a gauge, 9 buckets with _sum and _count, target_info and the delta counter.
    assert!(
        collector.metric("aegis_plugin_samples_sent_total{plugin=\"prometheus\"}") >= 17.0,
        "{}",
        collector.metrics()
    );

    // Nothing more comes: after `stale_after` every series gets its staleness marker, and
    // Prometheus stops returning it at once rather than five minutes later.
    prometheus.wait_for("http_requests_total", |r| r.as_array().is_some_and(|a| a.is_empty()), WAIT);
    prometheus.wait_for("http_request_duration_seconds_bucket", |r| r.as_array().is_some_and(|a| a.is_empty()), WAIT);
    let stored = prometheus.query("count_over_time(http_requests_total{method=\"GET\"}[5m])");
    assert_eq!(sample_value(only(&stored)), 1.0, "the value stays stored; only its series ended");
    assert!(
        collector.metric("aegis_plugin_stale_markers_total{plugin=\"prometheus\"}") >= 16.0,
        "{}",
        collector.metrics()
    );
    assert!(!prometheus.logs().contains("level=error"), "{}", prometheus.logs());
}
