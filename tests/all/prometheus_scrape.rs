//! The `prometheus-scrape` receiver through the real host: `aegis run` scrapes an in-test
//! exporter serving the Aegis backend's `/metrics` (and, when it is installed, a real
//! Prometheus server's own `/metrics`) every 200ms and forwards OTLP metrics to a sink.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{Metric, NumberDataPoint, number_data_point};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::prometheus_support::{PROMETHEUS_BIN, PrometheusServer};
use crate::support::{Collector, Sink, attribute, fixture, http_client};

/// The Accept header the host's scrape transport sends.
const ACCEPT: &str = "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1";

/// A tiny exporter: answers every request with the fixture, or with a body that does not
/// parse once `broken` is set.
async fn serve_fixture(broken: Arc<AtomicBool>) -> SocketAddr {
    let body = std::fs::read_to_string(fixture("prometheus-scrape/aegis-backend.txt")).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let body =
                if broken.load(Ordering::SeqCst) { "http_requests_total{ oops\n".to_string() } else { body.clone() };
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(body.as_bytes()).await;
            });
        }
    });
    address
}

fn named<'a>(metrics: &'a [Metric], name: &str) -> &'a Metric {
    metrics.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("no metric {name}"))
}

fn label(point_attributes: &[opentelemetry_proto::tonic::common::v1::KeyValue], key: &str) -> Option<String> {
    match attribute(point_attributes, key) {
        Some(Value::StringValue(s)) => Some(s.clone()),
        _ => None,
    }
}

fn double(point: &NumberDataPoint) -> f64 {
    match point.value {
        Some(number_data_point::Value::AsDouble(v)) => v,
        other => panic!("not a double: {other:?}"),
    }
}

/// The values of `up`, in the order the scrapes arrived.
fn ups(sink: &Sink) -> Vec<f64> {
    sink.metrics()
        .iter()
        .filter(|m| m.name == "up")
        .filter_map(|m| match &m.data {
            Some(Data::Gauge(g)) => g.data_points.first().map(double),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scraped_backend_arrives_as_typed_otlp_metrics_and_a_broken_body_as_up_zero() {
    let sink = Sink::start().await;
    let broken = Arc::new(AtomicBool::new(false));
    let exporter = serve_fixture(broken.clone()).await;
    let env = [
        ("AEGIS_TEST_SINK", sink.endpoint()),
        ("AEGIS_TEST_TARGET", format!("http://{exporter}/metrics")),
        ("AEGIS_TEST_JOB", "aegis-backend".to_string()),
    ];
    let collector = Collector::start(&fixture("prometheus-scrape/scrape.toml"), &env);
    sink.wait_for(Duration::from_secs(15), "two scrapes", |sink| ups(sink).len() >= 2).await;

    let metrics = sink.metrics();
    let requests = named(&metrics, "http_requests");
    let Some(Data::Sum(sum)) = &requests.data else { panic!("http_requests is not a sum: {requests:?}") };
    assert!(sum.is_monotonic);
    assert_eq!(sum.aggregation_temporality, 2);
    let mut series: Vec<(String, String, f64)> = sum
        .data_points
        .iter()
        .map(|p| (label(&p.attributes, "method").unwrap(), label(&p.attributes, "status").unwrap(), double(p)))
        .collect();
    series.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        series,
        [("GET".into(), "200".into(), 1027.0), ("POST".into(), "201".into(), 12.0), ("GET".into(), "500".into(), 3.0)]
    );

    let duration = named(&metrics, "http_request_duration_seconds");
    let Some(Data::Histogram(histogram)) = &duration.data else { panic!("not a histogram: {duration:?}") };
    let users = histogram.data_points.iter().find(|p| label(&p.attributes, "route").as_deref() == Some("/api/users"));
    let users = users.expect("the /api/users series");
    assert_eq!(users.explicit_bounds, [0.05, 0.1, 0.5, 1.0]);
    assert_eq!(users.bucket_counts, [24054, 9390, 95945, 4599, 10332]);
    assert_eq!((users.count, users.sum), (144_320, Some(53423.5)));

    let query = named(&metrics, "db_query_duration_seconds");
    let Some(Data::Summary(summary)) = &query.data else { panic!("not a summary: {query:?}") };
    assert_eq!(summary.data_points[0].quantile_values.len(), 3);
    assert_eq!(summary.data_points[0].count, 2000);

    let handles = named(&metrics, "nodejs_active_handles");
    let Some(Data::Gauge(gauge)) = &handles.data else { panic!("not a gauge: {handles:?}") };
    assert_eq!(label(&gauge.data_points[0].attributes, "note").as_deref(), Some("say \"hi\"\nnext line \\ done"));
    assert_eq!(ups(&sink)[..2], [1.0, 1.0]);

    // The second scrape keeps the first one's start time: the series is cumulative.
    let starts: Vec<u64> = metrics
        .iter()
        .filter(|m| m.name == "http_requests")
        .filter_map(|m| match &m.data {
            Some(Data::Sum(s)) => Some(s.data_points[0].start_time_unix_nano),
            _ => None,
        })
        .collect();
    assert!(starts.len() >= 2 && starts[1] == starts[0], "{starts:?}");

    let resource = sink.with(|r| r.metrics[0].resource_metrics[0].resource.clone().unwrap());
    assert_eq!(attribute(&resource.attributes, "service.name"), Some(&Value::StringValue("aegis-backend".into())));
    let instance = exporter.to_string();
    assert_eq!(attribute(&resource.attributes, "service.instance.id"), Some(&Value::StringValue(instance)));
    assert_eq!(attribute(&resource.attributes, "server.port"), Some(&Value::IntValue(i64::from(exporter.port()))));

    broken.store(true, Ordering::SeqCst);
    sink.wait_for(Duration::from_secs(10), "up 0 for the broken body", |sink| ups(sink).contains(&0.0)).await;
    assert!(collector.metrics().contains("invalid_body"), "{}", collector.metrics());
    let (status, log) = collector.stop();
    assert!(status.success(), "{log}");
}

/// Splits the inside of `{...}` into `name="value"` pairs, minding quotes.
fn label_pairs(inside: &str) -> Vec<String> {
    let (mut pairs, mut current, mut quoted, mut escaped) = (Vec::new(), String::new(), false, false);
    for c in inside.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                pairs.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        pairs.push(current);
    }
    pairs.into_iter().map(|p| p.trim().to_string()).collect()
}

/// For each family of a text exposition, under the name and type OTLP gives it, its number of
/// distinct series (a histogram's buckets and a summary's quantiles are one series). The type is
/// part of the key because a counter without `_total` may share its name with a gauge.
fn series_per_family(text: &str) -> BTreeMap<(String, &'static str), usize> {
    let mut kinds: BTreeMap<String, String> = BTreeMap::new();
    let mut series: BTreeMap<(String, &'static str), std::collections::BTreeSet<Vec<String>>> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            kinds.insert(name.to_string(), kind.trim().to_string());
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let end = line.find(['{', ' ']).unwrap();
        let name = &line[..end];
        let family = ["", "_total", "_created", "_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix).filter(|base| kinds.contains_key(*base)))
            .unwrap_or(name);
        if name.ends_with("_created") && name != family {
            continue;
        }
        let mut labels = match line[end..].strip_prefix('{') {
            Some(rest) => label_pairs(&rest[..rest.rfind('}').unwrap()]),
            None => Vec::new(),
        };
        labels.retain(|pair| !pair.starts_with("le=") && !pair.starts_with("quantile="));
        labels.sort();
        let otlp = match kinds.get(family).map(String::as_str) {
            Some("counter") => (family.strip_suffix("_total").unwrap_or(family), "sum"),
            Some("histogram") => (family, "histogram"),
            Some("summary") => (family, "summary"),
            _ => (family, "gauge"),
        };
        series.entry((otlp.0.to_string(), otlp.1)).or_default().insert(labels);
    }
    series.into_iter().map(|(name, set)| (name, set.len())).collect()
}

/// The points per metric name of the newest scrape whose batch has surely arrived whole.
fn points_of_a_complete_scrape(requests: &[ExportMetricsServiceRequest]) -> BTreeMap<(String, &'static str), usize> {
    let metrics: Vec<&Metric> = requests
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .collect();
    let mut times: Vec<u64> = metrics
        .iter()
        .filter(|m| m.name == "up")
        .filter_map(|m| match &m.data {
            Some(Data::Gauge(g)) => g.data_points.first().map(|p| p.time_unix_nano),
            _ => None,
        })
        .collect();
    times.sort();
    let Some(&time) = times.iter().rev().nth(1) else { return BTreeMap::new() };
    let mut points = BTreeMap::new();
    for metric in metrics {
        let (kind, times): (&'static str, Vec<u64>) = match &metric.data {
            Some(Data::Gauge(g)) => ("gauge", g.data_points.iter().map(|p| p.time_unix_nano).collect()),
            Some(Data::Sum(s)) => ("sum", s.data_points.iter().map(|p| p.time_unix_nano).collect()),
            Some(Data::Histogram(h)) => ("histogram", h.data_points.iter().map(|p| p.time_unix_nano).collect()),
            Some(Data::Summary(s)) => ("summary", s.data_points.iter().map(|p| p.time_unix_nano).collect()),
            _ => continue,
        };
        let n = times.iter().filter(|t| **t == time).count();
        if n > 0 {
            *points.entry((metric.name.clone(), kind)).or_default() += n;
        }
    }
    points
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_servers_own_metrics_convert_without_losing_series() {
    if !Path::new(PROMETHEUS_BIN).exists() {
        eprintln!("skipped: {PROMETHEUS_BIN} is not installed");
        return;
    }
    let prometheus = PrometheusServer::start("global:\n  scrape_interval: 15s\n", &[]);
    let sink = Sink::start().await;
    let env = [
        ("AEGIS_TEST_SINK", sink.endpoint()),
        ("AEGIS_TEST_TARGET", format!("http://{}/metrics", prometheus.address())),
        ("AEGIS_TEST_JOB", "prometheus".to_string()),
    ];
    let collector = Collector::start(&fixture("prometheus-scrape/scrape.toml"), &env);
    let client = http_client();
    // Series appear while the server warms up (e.g. the /metrics handler's own), so compare
    // a scrape with a fetch made just after it until both have settled.
    let mut last = (BTreeMap::new(), BTreeMap::new(), String::new());
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(600)).await;
        let response = client.get(format!("http://{}/metrics", prometheus.address())).header("Accept", ACCEPT).send();
        let response = response.await.unwrap();
        let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
        let text = response.text().await.unwrap();
        let expected = series_per_family(&text);
        let got = sink.with(|r| points_of_a_complete_scrape(&r.metrics));
        let got: BTreeMap<_, usize> = got.into_iter().filter(|(name, _)| expected.contains_key(name)).collect();
        if !expected.is_empty() && got == expected {
            assert!(expected.len() > 50, "Prometheus exposes many families: {expected:?}");
            assert!(ups(&sink).iter().all(|up| *up == 1.0));
            let (status, log) = collector.stop();
            assert!(status.success(), "{log}");
            return;
        }
        last = (expected, got, content_type.unwrap_or_default());
    }
    let (expected, got, content_type) = last;
    let differ: Vec<String> = expected
        .iter()
        .filter(|(name, n)| got.get(*name) != Some(n))
        .map(|((name, kind), n)| {
            format!("{name} ({kind}): {n} in the text, {:?} in OTLP", got.get(&(name.clone(), *kind)))
        })
        .collect();
    panic!("series differ ({content_type}):\n{}\n{}", differ.join("\n"), collector.logs());
}
