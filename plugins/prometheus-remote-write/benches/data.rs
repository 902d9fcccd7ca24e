//! The batch both remote-write benchmarks use (the Wasm one in the root `benches/` and the
//! native one here): the Aegis backend's metrics as one OTLP request of 1,750 data points,
//! 1,000 counter points, 500 gauge points and 250 histograms of 8 bounds, which Prometheus
//! stores as 4,251 samples (with `target_info`). Each batch is 15 s newer than the last,
//! as a periodic reader would send them, so that no sample is refused as out of order.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric::Data,
    number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

/// The samples one batch becomes.
pub(crate) const SAMPLES_PER_BATCH: u64 = 1000 + 500 + 250 * 11 + 1;

const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
const STATUSES: [&str; 5] = ["200", "201", "400", "404", "500"];
const BOUNDS: [f64; 8] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

/// Makes the batches, each newer than the last.
pub(crate) struct Batches {
    template: ExportMetricsServiceRequest,
    time: u64,
    round: u64,
}

impl Default for Batches {
    fn default() -> Self {
        Self::new()
    }
}

impl Batches {
    pub(crate) fn new() -> Self {
        let paths: Vec<String> = (0..50).map(|i| format!("/api/v1/resource{i}")).collect();
        let mut counters = Vec::new();
        for path in &paths {
            for method in METHODS {
                for status in STATUSES {
                    counters.push(number(vec![kv("method", method), kv("path", path), kv("status", status)]));
                }
            }
        }
        let gauges =
            (0..500).map(|i| number(vec![kv("queue", &format!("queue-{i}")), kv("region", "eu-west-1")])).collect();
        let mut histograms = Vec::new();
        for path in paths.iter().take(50) {
            for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
                histograms.push(HistogramDataPoint {
                    attributes: vec![kv("method", method), kv("path", path)],
                    bucket_counts: vec![0; BOUNDS.len() + 1],
                    explicit_bounds: BOUNDS.to_vec(),
                    sum: Some(0.0),
                    ..Default::default()
                });
            }
        }
        let metrics = vec![
            Metric {
                name: "http_requests_total".into(),
                description: "Total HTTP requests".into(),
                data: Some(Data::Sum(Sum { data_points: counters, aggregation_temporality: 2, is_monotonic: true })),
                ..Default::default()
            },
            Metric {
                name: "queue.depth".into(),
                unit: "{job}".into(),
                description: "Jobs waiting".into(),
                data: Some(Data::Gauge(Gauge { data_points: gauges })),
                ..Default::default()
            },
            Metric {
                name: "http.request.duration".into(),
                unit: "s".into(),
                description: "Request duration".into(),
                data: Some(Data::Histogram(Histogram { data_points: histograms, aggregation_temporality: 2 })),
                ..Default::default()
            },
        ];
        let template = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource {
                    attributes: vec![
                        kv("service.name", "backend"),
                        kv("service.namespace", "aegis"),
                        kv("service.instance.id", "backend-7f9c4d-x2k8p"),
                        kv("deployment.environment", "production"),
                        kv("host.name", "node-3"),
                    ],
                    ..Default::default()
                }),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "aegis-backend".into(),
                        version: "1.4.2".into(),
                        ..Default::default()
                    }),
                    metrics,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        Batches { template, time: 1_706_193_045_000_000_000, round: 0 }
    }

    /// The next batch, encoded: 15 s later, every counter and histogram grown.
    pub(crate) fn next_batch(&mut self) -> Vec<u8> {
        self.time += 15_000_000_000;
        self.round += 1;
        let (time, round) = (self.time, self.round);
        for metric in &mut self.template.resource_metrics[0].scope_metrics[0].metrics {
            match &mut metric.data {
                Some(Data::Sum(sum)) => {
                    for (i, point) in sum.data_points.iter_mut().enumerate() {
                        point.time_unix_nano = time;
                        point.value = Some(number_data_point::Value::AsDouble((round * (i as u64 % 17 + 1)) as f64));
                    }
                }
                Some(Data::Gauge(gauge)) => {
                    for (i, point) in gauge.data_points.iter_mut().enumerate() {
                        point.time_unix_nano = time;
                        point.value = Some(number_data_point::Value::AsInt(((round + i as u64) % 97) as i64));
                    }
                }
                Some(Data::Histogram(histogram)) => {
                    for (i, point) in histogram.data_points.iter_mut().enumerate() {
                        point.time_unix_nano = time;
                        for (b, count) in point.bucket_counts.iter_mut().enumerate() {
                            *count += ((i + b) % 5) as u64;
                        }
                        point.count = point.bucket_counts.iter().sum();
                        point.sum = Some(point.count as f64 * 0.042);
                    }
                }
                _ => {}
            }
        }
        self.template.encode_to_vec()
    }
}

fn number(attributes: Vec<KeyValue>) -> NumberDataPoint {
    NumberDataPoint { attributes, value: Some(number_data_point::Value::AsDouble(0.0)), ..Default::default() }
}
