//! The scrape endpoint natively: OTLP batches in, the exact text a scraper reads out.

use aegis_plugin_sdk::prelude::*;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric::Data,
    number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

use crate::Prometheus;
use crate::render::Format;

const SECOND: u64 = 1_000_000_000;
const T: u64 = 1_706_193_045_000_000_000;

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

fn exporter(config: serde_json::Value) -> Prometheus {
    Prometheus::init(Config::from_value(config)).expect("a valid config")
}

fn batch(metrics: Vec<Metric>) -> Batch {
    let request = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource { attributes: vec![kv("service.name", "backend")], ..Default::default() }),
            scope_metrics: vec![ScopeMetrics { metrics, ..Default::default() }],
            ..Default::default()
        }],
    };
    Batch::new(Signal::Metrics, request.encode_to_vec())
}

fn point(attributes: Vec<KeyValue>, value: f64) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        time_unix_nano: T,
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    }
}

fn sample_metrics() -> Vec<Metric> {
    vec![
        Metric {
            name: "http.requests".into(),
            description: "Total HTTP requests".into(),
            data: Some(Data::Sum(Sum {
                data_points: vec![
                    point(vec![kv("method", "POST"), kv("status", "201")], 7.0),
                    point(vec![kv("method", "GET"), kv("status", "200")], 42.0),
                ],
                aggregation_temporality: 2,
                is_monotonic: true,
            })),
            ..Default::default()
        },
        Metric {
            name: "queue.depth".into(),
            description: "Jobs waiting.\nPer \"queue\", in C:\\jobs".into(),
            data: Some(Data::Gauge(Gauge {
                data_points: vec![point(vec![kv("queue", "a \"quoted\"\\path\nnext")], 3.0)],
            })),
            ..Default::default()
        },
        Metric {
            name: "http.request.duration".into(),
            unit: "s".into(),
            description: "Request duration".into(),
            data: Some(Data::Histogram(Histogram {
                data_points: vec![HistogramDataPoint {
                    time_unix_nano: T,
                    count: 4,
                    sum: Some(1.25),
                    bucket_counts: vec![2, 1, 1],
                    explicit_bounds: vec![0.1, 0.5],
                    ..Default::default()
                }],
                aggregation_temporality: 2,
            })),
            ..Default::default()
        },
    ]
}

fn get(exporter: &mut Prometheus, accept: Option<&str>, now: u64) -> HttpResponse {
    let mut request = HttpRequest { method: "GET".into(), path: "/metrics".into(), ..Default::default() };
    if let Some(accept) = accept {
        request.headers.push(("Accept".into(), accept.into()));
    }
    exporter.render_at(&request, now)
}

fn body(response: &HttpResponse) -> &str {
    std::str::from_utf8(&response.body).expect("UTF-8")
}

const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

#[test]
fn the_text_format_has_help_type_escaped_labels_and_histogram_series() {
    let mut exporter = exporter(serde_json::json!({}));
    exporter.export_at(&batch(sample_metrics()), T).unwrap();
    let response = get(&mut exporter, None, T);
    assert_eq!(response.status, 200);
    assert_eq!(response.headers, vec![("Content-Type".into(), "text/plain; version=0.0.4; charset=utf-8".into())]);
    assert_eq!(
        body(&response),
        concat!(
            "# HELP http_request_duration_seconds Request duration\n",
            "# TYPE http_request_duration_seconds histogram\n",
            "http_request_duration_seconds_bucket{job=\"backend\",le=\"0.1\"} 2\n",
            "http_request_duration_seconds_bucket{job=\"backend\",le=\"0.5\"} 3\n",
            "http_request_duration_seconds_bucket{job=\"backend\",le=\"+Inf\"} 4\n",
            "http_request_duration_seconds_sum{job=\"backend\"} 1.25\n",
            "http_request_duration_seconds_count{job=\"backend\"} 4\n",
            "# HELP http_requests_total Total HTTP requests\n",
            "# TYPE http_requests_total counter\n",
            "http_requests_total{job=\"backend\",method=\"GET\",status=\"200\"} 42\n",
            "http_requests_total{job=\"backend\",method=\"POST\",status=\"201\"} 7\n",
            "# HELP queue_depth Jobs waiting.\\nPer \"queue\", in C:\\\\jobs\n",
            "# TYPE queue_depth gauge\n",
            "queue_depth{job=\"backend\",queue=\"a \\\"quoted\\\"\\\\path\\nnext\"} 3\n",
        )
    );
}

#[test]
fn openmetrics_is_served_when_the_scraper_asks_with_units_total_and_eof() {
    let mut exporter = exporter(serde_json::json!({ "send_timestamps": true }));
    exporter.export_at(&batch(sample_metrics()), T).unwrap();
    let response = get(&mut exporter, Some(PROMETHEUS_ACCEPT), T);
    assert_eq!(
        response.headers,
        vec![("Content-Type".into(), "application/openmetrics-text; version=1.0.0; charset=utf-8".into())]
    );
    assert_eq!(
        body(&response),
        concat!(
            "# TYPE http_request_duration_seconds histogram\n",
            "# UNIT http_request_duration_seconds seconds\n",
            "# HELP http_request_duration_seconds Request duration\n",
            "http_request_duration_seconds_bucket{job=\"backend\",le=\"0.1\"} 2 1706193045.000\n",
            "http_request_duration_seconds_bucket{job=\"backend\",le=\"0.5\"} 3 1706193045.000\n",
            "http_request_duration_seconds_bucket{job=\"backend\",le=\"+Inf\"} 4 1706193045.000\n",
            "http_request_duration_seconds_sum{job=\"backend\"} 1.25 1706193045.000\n",
            "http_request_duration_seconds_count{job=\"backend\"} 4 1706193045.000\n",
            "# TYPE http_requests counter\n",
            "# HELP http_requests Total HTTP requests\n",
            "http_requests_total{job=\"backend\",method=\"GET\",status=\"200\"} 42 1706193045.000\n",
            "http_requests_total{job=\"backend\",method=\"POST\",status=\"201\"} 7 1706193045.000\n",
            "# TYPE queue_depth gauge\n",
            "# HELP queue_depth Jobs waiting.\\nPer \\\"queue\\\", in C:\\\\jobs\n",
            "queue_depth{job=\"backend\",queue=\"a \\\"quoted\\\"\\\\path\\nnext\"} 3 1706193045.000\n",
            "# EOF\n",
        )
    );
}

#[test]
fn target_info_is_an_info_family_in_openmetrics_and_a_gauge_in_text() {
    let mut exporter = exporter(serde_json::json!({}));
    let mut request = ExportMetricsServiceRequest::decode(batch(sample_metrics()).payload.as_slice()).unwrap();
    let resource = request.resource_metrics[0].resource.as_mut().unwrap();
    resource.attributes.push(kv("deployment.environment", "production"));
    exporter.export_at(&Batch::new(Signal::Metrics, request.encode_to_vec()), T).unwrap();
    let text = get(&mut exporter, None, T);
    assert!(
        body(&text).contains(
            "# TYPE target_info gauge\ntarget_info{deployment_environment=\"production\",job=\"backend\"} 1\n"
        )
    );
    let om = get(&mut exporter, Some("application/openmetrics-text"), T);
    assert!(body(&om).contains("# TYPE target info\n# HELP target Target metadata\ntarget_info{deployment_environment=\"production\",job=\"backend\"} 1\n"));
}

#[test]
fn accept_headers_choose_the_format_by_preference() {
    assert_eq!(Format::negotiate(None), Format::Text);
    assert_eq!(Format::negotiate(Some(PROMETHEUS_ACCEPT)), Format::OpenMetrics);
    assert_eq!(Format::negotiate(Some("text/plain;version=0.0.4")), Format::Text);
    assert_eq!(Format::negotiate(Some("application/openmetrics-text;q=0.2,text/plain;q=0.9")), Format::Text);
    assert_eq!(Format::negotiate(Some("application/openmetrics-text;q=0")), Format::Text);
    assert_eq!(Format::negotiate(Some("*/*")), Format::Text);
}

#[test]
fn the_latest_value_wins_and_idle_series_expire() {
    let mut exporter = exporter(serde_json::json!({ "expire_after": "1m", "target_info": false }));
    let gauge = |name: &str, value| Metric {
        name: name.into(),
        data: Some(Data::Gauge(Gauge { data_points: vec![point(vec![], value)] })),
        ..Default::default()
    };
    exporter.export_at(&batch(vec![gauge("kept", 1.0), gauge("idle", 1.0)]), T).unwrap();
    exporter.export_at(&batch(vec![gauge("kept", 2.0)]), T + 50 * SECOND).unwrap();
    let response = get(&mut exporter, None, T + 70 * SECOND);
    assert_eq!(body(&response), "# TYPE kept gauge\nkept{job=\"backend\"} 2\n");
    let later = get(&mut exporter, None, T + 200 * SECOND);
    assert_eq!(body(&later), "");
}

#[test]
fn a_point_without_a_recorded_value_removes_its_series() {
    let mut exporter = exporter(serde_json::json!({ "target_info": false }));
    exporter.export_at(&batch(sample_metrics()), T).unwrap();
    let mut request = ExportMetricsServiceRequest::decode(batch(sample_metrics()).payload.as_slice()).unwrap();
    let metrics = &mut request.resource_metrics[0].scope_metrics[0].metrics;
    metrics.truncate(1);
    let Some(Data::Sum(sum)) = &mut metrics[0].data else { unreachable!() };
    sum.data_points.truncate(1);
    sum.data_points[0].flags = 1;
    exporter.export_at(&Batch::new(Signal::Metrics, request.encode_to_vec()), T).unwrap();
    let text = get(&mut exporter, None, T);
    assert!(!body(&text).contains("method=\"POST\""), "{}", body(&text));
    assert!(body(&text).contains("method=\"GET\""));
}

#[test]
fn other_paths_are_not_found_and_other_methods_not_allowed() {
    let mut exporter = exporter(serde_json::json!({}));
    let request =
        |method: &str, path: &str| HttpRequest { method: method.into(), path: path.into(), ..Default::default() };
    assert_eq!(exporter.render_at(&request("GET", "/"), T).status, 404);
    assert_eq!(exporter.render_at(&request("POST", "/metrics"), T).status, 405);
    let head = exporter.render_at(&request("HEAD", "/metrics?x=1"), T);
    assert_eq!((head.status, head.body.len()), (200, 0));
}

#[test]
fn config_errors_name_every_wrong_key_at_once() {
    let err = Prometheus::init(Config::from_value(serde_json::json!({
        "path": "metrics",
        "expire_after": "0s",
        "external_labels": { "1x": "a" },
    })))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    for key in ["path:", "expire_after:", "external_labels.1x:"] {
        assert!(err.message().contains(key), "{key} in {}", err.message());
    }
    let err = Prometheus::init(Config::from_value(serde_json::json!({ "listen": ":9464" }))).unwrap_err();
    assert!(err.message().starts_with("listen: unknown field `listen`"), "{}", err.message());
}
