//! Fixtures: OTLP requests built with the prost types, covering every field, plus
//! helpers to flatten decoded requests for comparison.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    self as m, Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
    exponential_histogram_data_point::Buckets, number_data_point, summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span::Event, span::Link};
use prost::Message;

pub(crate) fn s(v: &str) -> AnyValue {
    AnyValue { value: Some(any_value::Value::StringValue(v.to_owned())) }
}

pub(crate) fn i(v: i64) -> AnyValue {
    AnyValue { value: Some(any_value::Value::IntValue(v)) }
}

pub(crate) fn kv(key: &str, value: AnyValue) -> KeyValue {
    KeyValue { key: key.to_owned(), value: Some(value), key_strindex: 0 }
}

/// Six attributes of every scalar type, as the performance target assumes.
pub(crate) fn six_attributes(n: usize) -> Vec<KeyValue> {
    vec![
        kv("http.method", s("GET")),
        kv("http.route", s(&format!("/api/v1/items/{n}"))),
        kv("http.status_code", i(200 + (n % 3) as i64)),
        kv("duration", AnyValue { value: Some(any_value::Value::DoubleValue(1.5 * n as f64)) }),
        kv("cached", AnyValue { value: Some(any_value::Value::BoolValue(n.is_multiple_of(2))) }),
        kv("payload", AnyValue { value: Some(any_value::Value::BytesValue(vec![1, 2, 3, n as u8])) }),
    ]
}

pub(crate) fn resource(service: &str) -> Resource {
    Resource {
        attributes: vec![kv("service.name", s(service)), kv("host.name", s("node-1"))],
        dropped_attributes_count: 1,
        entity_refs: vec![EntityRef {
            schema_url: "https://schema".into(),
            r#type: "service".into(),
            id_keys: vec!["service.name".into()],
            description_keys: vec!["host.name".into()],
        }],
    }
}

pub(crate) fn scope(name: &str) -> InstrumentationScope {
    InstrumentationScope {
        name: name.to_owned(),
        version: "1.2.3".into(),
        attributes: vec![kv("scope.attr", s("x"))],
        dropped_attributes_count: 2,
    }
}

pub(crate) fn log_record(n: usize) -> LogRecord {
    let body = match n % 3 {
        0 => s(&format!("request {n} served in a reasonable amount of time")),
        1 => AnyValue {
            value: Some(any_value::Value::KvlistValue(KeyValueList {
                values: vec![
                    kv("msg", s("structured")),
                    kv(
                        "nested",
                        AnyValue {
                            value: Some(any_value::Value::ArrayValue(ArrayValue {
                                values: vec![i(1), s("two"), i(3)],
                            })),
                        },
                    ),
                ],
            })),
        },
        _ => AnyValue { value: Some(any_value::Value::ArrayValue(ArrayValue { values: vec![s("a"), s("b")] })) },
    };
    LogRecord {
        time_unix_nano: 1_700_000_000_000_000_000 + n as u64,
        observed_time_unix_nano: 1_700_000_000_000_000_100 + n as u64,
        severity_number: 9 + (n % 4) as i32 * 4,
        severity_text: ["INFO", "WARN", "ERROR", "FATAL"][n % 4].into(),
        body: Some(body),
        attributes: six_attributes(n),
        dropped_attributes_count: (n % 2) as u32,
        flags: 1,
        trace_id: vec![0xab; 16],
        span_id: vec![0xcd; 8],
        event_name: if n.is_multiple_of(2) { "event".into() } else { String::new() },
    }
}

/// Two resources, two scopes each, `per_scope` records per scope.
pub(crate) fn logs_request(per_scope: usize) -> ExportLogsServiceRequest {
    let mut n = 0;
    let mut next = || {
        n += 1;
        log_record(n)
    };
    ExportLogsServiceRequest {
        resource_logs: (0..2)
            .map(|r| ResourceLogs {
                resource: Some(resource(&format!("svc-{r}"))),
                scope_logs: (0..2)
                    .map(|sc| ScopeLogs {
                        scope: Some(scope(&format!("scope-{r}-{sc}"))),
                        log_records: (0..per_scope).map(|_| next()).collect(),
                        schema_url: "https://opentelemetry.io/schemas/1.21.0".into(),
                    })
                    .collect(),
                schema_url: "https://resource-schema".into(),
            })
            .collect(),
    }
}

pub(crate) fn span(n: usize) -> Span {
    Span {
        trace_id: vec![n as u8; 16],
        span_id: vec![n as u8 + 1; 8],
        trace_state: "vendor=x".into(),
        parent_span_id: vec![7; 8],
        flags: 0x101,
        name: format!("GET /items/{n}"),
        kind: 2,
        start_time_unix_nano: 1_000 + n as u64,
        end_time_unix_nano: 2_000 + n as u64,
        attributes: six_attributes(n),
        dropped_attributes_count: 3,
        events: vec![Event {
            time_unix_nano: 1_500,
            name: "exception".into(),
            attributes: vec![kv("exception.type", s("Boom"))],
            dropped_attributes_count: 1,
        }],
        dropped_events_count: 4,
        links: vec![Link {
            trace_id: vec![9; 16],
            span_id: vec![8; 8],
            trace_state: "a=b".into(),
            attributes: vec![kv("link", i(1))],
            dropped_attributes_count: 0,
            flags: 1,
        }],
        dropped_links_count: 5,
        status: Some(Status { message: "fine".into(), code: 1 }),
    }
}

pub(crate) fn traces_request(per_scope: usize) -> ExportTraceServiceRequest {
    let mut n = 0;
    ExportTraceServiceRequest {
        resource_spans: (0..2)
            .map(|r| ResourceSpans {
                resource: Some(resource(&format!("svc-{r}"))),
                scope_spans: (0..2)
                    .map(|sc| ScopeSpans {
                        scope: Some(scope(&format!("scope-{r}-{sc}"))),
                        spans: (0..per_scope)
                            .map(|_| {
                                n += 1;
                                span(n)
                            })
                            .collect(),
                        schema_url: "https://schema".into(),
                    })
                    .collect(),
                schema_url: String::new(),
            })
            .collect(),
    }
}

fn exemplar() -> Exemplar {
    Exemplar {
        filtered_attributes: vec![kv("ex", s("y"))],
        time_unix_nano: 5,
        span_id: vec![1; 8],
        trace_id: vec![2; 16],
        value: Some(m::exemplar::Value::AsInt(3)),
    }
}

fn number_point(n: usize) -> NumberDataPoint {
    NumberDataPoint {
        attributes: vec![kv("cpu", i(n as i64)), kv("state", s("user"))],
        start_time_unix_nano: 10,
        time_unix_nano: 20 + n as u64,
        exemplars: vec![exemplar()],
        flags: 0,
        value: Some(if n.is_multiple_of(2) {
            number_data_point::Value::AsDouble(n as f64 * 0.5)
        } else {
            number_data_point::Value::AsInt(n as i64)
        }),
    }
}

/// One scope holding one metric of every type, `points` data points each.
pub(crate) fn all_metrics(points: usize) -> Vec<Metric> {
    let meta = vec![kv("meta", s("m"))];
    let number = |_| (0..points).map(number_point).collect::<Vec<_>>();
    vec![
        Metric {
            name: "gauge".into(),
            description: "a gauge".into(),
            unit: "1".into(),
            metadata: meta.clone(),
            data: Some(m::metric::Data::Gauge(Gauge { data_points: number(0) })),
        },
        Metric {
            name: "sum".into(),
            description: "a sum".into(),
            unit: "By".into(),
            metadata: vec![],
            data: Some(m::metric::Data::Sum(Sum {
                data_points: number(1),
                aggregation_temporality: 2,
                is_monotonic: true,
            })),
        },
        Metric {
            name: "histogram".into(),
            description: String::new(),
            unit: "ms".into(),
            metadata: vec![],
            data: Some(m::metric::Data::Histogram(Histogram {
                data_points: (0..points)
                    .map(|n| HistogramDataPoint {
                        attributes: vec![kv("route", s(&format!("/r{n}")))],
                        start_time_unix_nano: 1,
                        time_unix_nano: 2,
                        count: 10,
                        sum: Some(55.5),
                        bucket_counts: vec![1, 2, 3, 4],
                        explicit_bounds: vec![1.0, 5.0, 10.0],
                        exemplars: vec![exemplar()],
                        flags: 1,
                        min: Some(0.5),
                        max: Some(20.0),
                    })
                    .collect(),
                aggregation_temporality: 1,
            })),
        },
        Metric {
            name: "exp".into(),
            description: String::new(),
            unit: String::new(),
            metadata: vec![],
            data: Some(m::metric::Data::ExponentialHistogram(ExponentialHistogram {
                data_points: (0..points)
                    .map(|n| ExponentialHistogramDataPoint {
                        attributes: vec![kv("k", i(n as i64))],
                        start_time_unix_nano: 1,
                        time_unix_nano: 2,
                        count: 7,
                        sum: Some(3.5),
                        scale: -3,
                        zero_count: 1,
                        positive: Some(Buckets { offset: -2, bucket_counts: vec![1, 300, 70_000] }),
                        negative: Some(Buckets { offset: 1, bucket_counts: vec![] }),
                        flags: 0,
                        exemplars: vec![exemplar()],
                        min: Some(0.1),
                        max: Some(9.0),
                        zero_threshold: 0.001,
                    })
                    .collect(),
                aggregation_temporality: 2,
            })),
        },
        Metric {
            name: "summary".into(),
            description: "q".into(),
            unit: String::new(),
            metadata: vec![],
            data: Some(m::metric::Data::Summary(Summary {
                data_points: (0..points)
                    .map(|n| SummaryDataPoint {
                        attributes: vec![kv("q", s(&n.to_string()))],
                        start_time_unix_nano: 1,
                        time_unix_nano: 2,
                        count: 4,
                        sum: 10.0,
                        quantile_values: vec![
                            ValueAtQuantile { quantile: 0.5, value: 2.0 },
                            ValueAtQuantile { quantile: 0.99, value: 9.0 },
                        ],
                        flags: 0,
                    })
                    .collect(),
            })),
        },
    ]
}

pub(crate) fn metrics_request(points: usize) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: (0..2)
            .map(|r| ResourceMetrics {
                resource: Some(resource(&format!("svc-{r}"))),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(scope("meter")),
                    metrics: all_metrics(points),
                    schema_url: "https://schema".into(),
                }],
                schema_url: String::new(),
            })
            .collect(),
    }
}

pub(crate) fn encode<M: Message>(message: &M) -> Vec<u8> {
    message.encode_to_vec()
}

/// Every log record with its resource and scope, for comparing requests that carry
/// the same telemetry framed differently.
/// A log record with where it sits: resource, its schema URL, scope, its schema URL.
pub(crate) type PlacedRecord = (Option<Resource>, String, Option<InstrumentationScope>, String, LogRecord);

pub(crate) fn flat_logs(req: &ExportLogsServiceRequest) -> Vec<PlacedRecord> {
    let mut out = Vec::new();
    for rl in &req.resource_logs {
        for sl in &rl.scope_logs {
            for rec in &sl.log_records {
                out.push((
                    rl.resource.clone(),
                    rl.schema_url.clone(),
                    sl.scope.clone(),
                    sl.schema_url.clone(),
                    rec.clone(),
                ));
            }
        }
    }
    out
}

/// Every span with its resource and scope.
pub(crate) fn flat_spans(
    req: &ExportTraceServiceRequest,
) -> Vec<(Option<Resource>, Option<InstrumentationScope>, Span)> {
    let mut out = Vec::new();
    for rs in &req.resource_spans {
        for ss in &rs.scope_spans {
            for sp in &ss.spans {
                out.push((rs.resource.clone(), ss.scope.clone(), sp.clone()));
            }
        }
    }
    out
}

/// Every data point, as its metric with only that point, with resource and scope.
pub(crate) fn flat_points(
    req: &ExportMetricsServiceRequest,
) -> Vec<(Option<Resource>, Option<InstrumentationScope>, Metric)> {
    let mut out = Vec::new();
    for rm in &req.resource_metrics {
        for sm in &rm.scope_metrics {
            for metric in &sm.metrics {
                for single in single_point_metrics(metric) {
                    out.push((rm.resource.clone(), sm.scope.clone(), single));
                }
            }
        }
    }
    out
}

fn single_point_metrics(metric: &Metric) -> Vec<Metric> {
    use m::metric::Data;
    let with = |data| Metric { data: Some(data), ..metric.clone() };
    match &metric.data {
        Some(Data::Gauge(g)) => {
            g.data_points.iter().map(|p| with(Data::Gauge(Gauge { data_points: vec![p.clone()] }))).collect()
        }
        Some(Data::Sum(x)) => {
            x.data_points.iter().map(|p| with(Data::Sum(Sum { data_points: vec![p.clone()], ..x.clone() }))).collect()
        }
        Some(Data::Histogram(x)) => x
            .data_points
            .iter()
            .map(|p| with(Data::Histogram(Histogram { data_points: vec![p.clone()], ..x.clone() })))
            .collect(),
        Some(Data::ExponentialHistogram(x)) => x
            .data_points
            .iter()
            .map(|p| {
                with(Data::ExponentialHistogram(ExponentialHistogram { data_points: vec![p.clone()], ..x.clone() }))
            })
            .collect(),
        Some(Data::Summary(x)) => {
            x.data_points.iter().map(|p| with(Data::Summary(Summary { data_points: vec![p.clone()] }))).collect()
        }
        None => vec![],
    }
}

/// A small deterministic PRNG (xorshift64*), so fuzz-ish tests are reproducible.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
