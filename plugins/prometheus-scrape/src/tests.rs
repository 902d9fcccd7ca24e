//! Unit tests of the parser and the conversion, decoding what the receiver returns with
//! the OTLP protobuf types a downstream collector would use.

use super::*;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Proto;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{Metric, number_data_point};
use prost::Message;

const BACKEND: &str = include_str!("../../../tests/fixtures/prometheus-scrape/aegis-backend.txt");
const TARGET: &str = "http://127.0.0.1:3000/metrics";
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn receiver(config: serde_json::Value) -> PrometheusScrape {
    PrometheusScrape::init(Config::from_value(config)).unwrap()
}

fn scrape(body: &str, content_type: &str, started: u64) -> Input {
    Input::Scrape(Scrape {
        target: TARGET.into(),
        status: Some(200),
        headers: vec![("Content-Type".into(), content_type.into())],
        body: body.as_bytes().to_vec(),
        duration_nanos: 1_500_000,
        error: None,
        started_unix_nanos: started,
    })
}

fn receive(receiver: &mut PrometheusScrape, input: Input) -> ExportMetricsServiceRequest {
    let received = receiver.receive(input).unwrap();
    ExportMetricsServiceRequest::decode(&received.batches[0].payload[..]).unwrap()
}

fn metrics(request: &ExportMetricsServiceRequest) -> Vec<&Metric> {
    request.resource_metrics.iter().flat_map(|r| &r.scope_metrics).flat_map(|s| &s.metrics).collect()
}

fn metric<'a>(request: &'a ExportMetricsServiceRequest, name: &str) -> &'a Metric {
    let all = metrics(request);
    let names: Vec<&str> = all.iter().map(|m| m.name.as_str()).collect();
    all.into_iter().find(|m| m.name == name).unwrap_or_else(|| panic!("no metric {name} among {names:?}"))
}

fn string(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
        Proto::StringValue(s) => Some(s.clone()),
        Proto::IntValue(i) => Some(i.to_string()),
        _ => None,
    })
}

fn double(point: &opentelemetry_proto::tonic::metrics::v1::NumberDataPoint) -> f64 {
    match point.value {
        Some(number_data_point::Value::AsDouble(v)) => v,
        other => panic!("not a double: {other:?}"),
    }
}

fn gauge_value(request: &ExportMetricsServiceRequest, name: &str) -> f64 {
    match &metric(request, name).data {
        Some(Data::Gauge(g)) => double(&g.data_points[0]),
        other => panic!("{name} is not a gauge: {other:?}"),
    }
}

#[test]
fn counters_become_monotonic_cumulative_sums_without_the_total_suffix() {
    let request = receive(&mut receiver(serde_json::json!({})), scrape(BACKEND, "text/plain; version=0.0.4", 5_000));
    let requests = metric(&request, "http_requests");
    assert_eq!(requests.description, "Total number of HTTP requests.");
    let Some(Data::Sum(sum)) = &requests.data else { panic!("not a sum: {requests:?}") };
    assert!(sum.is_monotonic);
    assert_eq!(sum.aggregation_temporality, 2, "cumulative");
    assert_eq!(sum.data_points.len(), 3);
    let errors = sum.data_points.iter().find(|p| string(&p.attributes, "status").as_deref() == Some("500")).unwrap();
    assert_eq!(double(errors), 3.0);
    assert_eq!(string(&errors.attributes, "route").as_deref(), Some("/api/users"));
    assert_eq!(errors.time_unix_nano, 1_706_140_800_000 * 1_000_000, "the sample's own timestamp, in ms");
    assert_eq!(sum.data_points[0].time_unix_nano, 5_000, "the scrape's time when the sample has none");
}

#[test]
fn gauges_untyped_samples_and_summaries_keep_their_values() {
    let request = receive(&mut receiver(serde_json::json!({})), scrape(BACKEND, "text/plain", 5_000));
    assert_eq!(gauge_value(&request, "process_start_time_seconds"), 1_706_140_000.0);
    assert_eq!(gauge_value(&request, "nodejs_active_handles"), 7.0);
    let summary = metric(&request, "db_query_duration_seconds");
    let Some(Data::Summary(summary)) = &summary.data else { panic!("not a summary: {summary:?}") };
    let point = &summary.data_points[0];
    assert_eq!((point.count, point.sum), (2000, 42.5));
    let quantiles: Vec<(f64, f64)> = point.quantile_values.iter().map(|q| (q.quantile, q.value)).collect();
    assert_eq!(quantiles, [(0.5, 0.012), (0.9, 0.05), (0.99, 0.2)]);
}

#[test]
fn label_values_and_help_are_unescaped() {
    let request = receive(&mut receiver(serde_json::json!({})), scrape(BACKEND, "text/plain", 5_000));
    let handles = metric(&request, "nodejs_active_handles");
    assert_eq!(handles.description, "Number of active libuv handles, with \"quotes\" and a back\\slash.");
    let Some(Data::Gauge(gauge)) = &handles.data else { panic!() };
    assert_eq!(string(&gauge.data_points[0].attributes, "note").as_deref(), Some("say \"hi\"\nnext line \\ done"));
}

#[test]
fn histogram_samples_are_grouped_by_labels_and_their_buckets_decumulated() {
    let request = receive(&mut receiver(serde_json::json!({})), scrape(BACKEND, "text/plain", 5_000));
    let histogram = metric(&request, "http_request_duration_seconds");
    let Some(Data::Histogram(histogram)) = &histogram.data else { panic!("not a histogram: {histogram:?}") };
    assert_eq!(histogram.aggregation_temporality, 2);
    assert_eq!(histogram.data_points.len(), 2);
    let users = &histogram.data_points[0];
    assert_eq!(string(&users.attributes, "route").as_deref(), Some("/api/users"));
    assert!(users.attributes.iter().all(|kv| kv.key != "le"), "le is not an attribute");
    assert_eq!(users.explicit_bounds, [0.05, 0.1, 0.5, 1.0]);
    assert_eq!(users.bucket_counts, [24054, 9390, 95945, 4599, 10332]);
    assert_eq!(users.count, 144_320);
    assert_eq!(users.sum, Some(53423.5));
    assert_eq!(histogram.data_points[1].bucket_counts, [10, 0, 0, 0, 0]);
}

#[test]
fn the_resource_names_the_job_and_the_target() {
    let request = receive(&mut receiver(serde_json::json!({"job": "aegis-backend"})), scrape(BACKEND, "text/plain", 1));
    assert_eq!(request.resource_metrics.len(), 1);
    let resource = request.resource_metrics[0].resource.as_ref().unwrap();
    assert_eq!(string(&resource.attributes, "service.name").as_deref(), Some("aegis-backend"));
    assert_eq!(string(&resource.attributes, "service.instance.id").as_deref(), Some("127.0.0.1:3000"));
    assert_eq!(string(&resource.attributes, "server.address").as_deref(), Some("127.0.0.1"));
    assert_eq!(string(&resource.attributes, "server.port").as_deref(), Some("3000"));
    assert_eq!(gauge_value(&request, "up"), 1.0);
    assert_eq!(gauge_value(&request, "scrape_samples_scraped"), 24.0);
    assert_eq!(gauge_value(&request, "scrape_duration_seconds"), 0.0015);
}

#[test]
fn special_values_parse_and_exemplars_become_otlp_exemplars() {
    let body = "# TYPE rpc_duration_seconds histogram\n\
        # UNIT rpc_duration_seconds seconds\n\
        rpc_duration_seconds_bucket{le=\"0.1\"} 8 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\",span_id=\"00f067aa0ba902b7\",user=\"a\"} 0.07 1700000000.5\n\
        rpc_duration_seconds_bucket{le=\"+Inf\"} 10\n\
        rpc_duration_seconds_sum 1.5\n\
        rpc_duration_seconds_count 10\n\
        # TYPE jobs counter\n\
        jobs_total 4 # {trace_id=\"x\"} 1\n\
        # TYPE temps gauge\n\
        temps{probe=\"a\"} +Inf\n\
        temps{probe=\"b\"} -Inf\n\
        temps{probe=\"c\"} NaN\n\
        # EOF\n";
    let request = receive(&mut receiver(serde_json::json!({})), scrape(body, OPENMETRICS, 1));
    let rpc = metric(&request, "rpc_duration_seconds");
    assert_eq!(rpc.unit, "seconds");
    let Some(Data::Histogram(histogram)) = &rpc.data else { panic!() };
    let exemplar = &histogram.data_points[0].exemplars[0];
    assert_eq!(exemplar.trace_id.len(), 16);
    assert_eq!(exemplar.span_id, [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]);
    assert_eq!(exemplar.time_unix_nano, 1_700_000_000_500_000_000);
    assert_eq!(string(&exemplar.filtered_attributes, "user").as_deref(), Some("a"));
    let Some(Data::Sum(jobs)) = &metric(&request, "jobs").data else { panic!() };
    // A trace id that is not hex stays an attribute rather than becoming bytes.
    assert_eq!(string(&jobs.data_points[0].exemplars[0].filtered_attributes, "trace_id").as_deref(), Some("x"));
    let Some(Data::Gauge(temps)) = &metric(&request, "temps").data else { panic!() };
    let values: Vec<f64> = temps.data_points.iter().map(double).collect();
    assert_eq!(values[..2], [f64::INFINITY, f64::NEG_INFINITY]);
    assert!(values[2].is_nan());
}

#[test]
fn malformed_lines_are_reported_with_their_line_number() {
    let cases = [
        ("ok 1\nbroken{a=\"1\" 2\n", 2, "expected `,` or `}` after label `a`"),
        ("# TYPE x counter\nx_total{a=\"unterminated} 1\n", 2, "not closed"),
        ("a 1\nb\n", 2, "expected a blank and a value after `b`"),
        ("a one\n", 1, "`one` is not a number"),
        ("a{a=\"1\",a=\"2\"} 1\n", 1, "label `a` appears twice"),
        ("a 1 12:00\n", 1, "`12:00` is not a timestamp"),
        ("# TYPE a countr\n", 1, "unknown metric type `countr`"),
        ("# TYPE h histogram\nh_bucket 1\n", 2, "`h_bucket` has no `le` label"),
    ];
    for (body, line, message) in cases {
        let error = parse::parse(body, Format::Text)
            .and_then(|e| {
                let target = Target::from_url(TARGET, "aegis");
                convert::convert(&e, &target, &Options { honor_labels: false, drop: &[] }, 0, &mut Starts::new())
                    .map(|_| ())
            })
            .unwrap_err();
        assert_eq!(error.line, line, "{body:?}: {error}");
        assert!(error.message.contains(message), "{body:?}: {error}");
    }
    let error = parse::parse("a 1\n", Format::OpenMetrics).unwrap_err();
    assert_eq!(error.to_string(), "line 1: the OpenMetrics body does not end with `# EOF`");
}

#[test]
fn a_body_that_does_not_parse_yields_only_up_zero() {
    let mut receiver = receiver(serde_json::json!({}));
    let request = receive(&mut receiver, scrape("good 1\nbad{ 1\n", "text/plain", 1));
    let names: Vec<&str> = metrics(&request).iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling"]
    );
    assert_eq!(gauge_value(&request, "up"), 0.0);
    assert_eq!(gauge_value(&request, "scrape_samples_scraped"), 0.0);
}

#[test]
fn an_unreachable_target_or_an_error_status_yields_up_zero() {
    let mut receiver = receiver(serde_json::json!({}));
    let unreachable =
        Input::Scrape(Scrape { target: TARGET.into(), error: Some("connection refused".into()), ..Default::default() });
    assert_eq!(gauge_value(&receive(&mut receiver, unreachable), "up"), 0.0);
    let Input::Scrape(mut not_found) = scrape(BACKEND, "text/plain", 1) else { unreachable!() };
    not_found.status = Some(404);
    let request = receive(&mut receiver, Input::Scrape(not_found));
    assert_eq!(gauge_value(&request, "up"), 0.0);
    assert_eq!(metrics(&request).len(), 4);
}

#[test]
fn start_times_are_kept_per_series_and_reset_when_a_counter_goes_down() {
    let mut receiver = receiver(serde_json::json!({}));
    let start = |request: &ExportMetricsServiceRequest| {
        let Some(Data::Sum(sum)) = &metric(request, "jobs").data else { panic!() };
        sum.data_points[0].start_time_unix_nano
    };
    let body = |value: u32| format!("# TYPE jobs_total counter\njobs_total {value}\n");
    assert_eq!(start(&receive(&mut receiver, scrape(&body(5), "text/plain", 1_000))), 1_000);
    assert_eq!(start(&receive(&mut receiver, scrape(&body(9), "text/plain", 2_000))), 1_000);
    // The counter went down: the process restarted after the previous scrape.
    assert_eq!(start(&receive(&mut receiver, scrape(&body(2), "text/plain", 3_000))), 2_000);
    assert_eq!(start(&receive(&mut receiver, scrape(&body(4), "text/plain", 4_000))), 2_000);
}

#[test]
fn job_and_instance_labels_are_exported_unless_honored() {
    let body = "jobs{job=\"batch\",instance=\"worker:1\",queue=\"q\"} 1\n";
    let request = receive(&mut receiver(serde_json::json!({})), scrape(body, "text/plain", 1));
    let Some(Data::Gauge(gauge)) = &metric(&request, "jobs").data else { panic!() };
    let attributes = &gauge.data_points[0].attributes;
    assert_eq!(string(attributes, "exported_job").as_deref(), Some("batch"));
    assert_eq!(string(attributes, "exported_instance").as_deref(), Some("worker:1"));

    let request = receive(&mut receiver(serde_json::json!({"honor_labels": true})), scrape(body, "text/plain", 1));
    let honored = request
        .resource_metrics
        .iter()
        .find(|r| string(&r.resource.as_ref().unwrap().attributes, "service.name").as_deref() == Some("batch"))
        .expect("a resource for the honored job");
    let resource = &honored.resource.as_ref().unwrap().attributes;
    assert_eq!(string(resource, "service.instance.id").as_deref(), Some("worker:1"));
    let Some(Data::Gauge(gauge)) = &honored.scope_metrics[0].metrics[0].data else { panic!() };
    let keys: Vec<&str> = gauge.data_points[0].attributes.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["queue"]);
}

#[test]
fn drop_metrics_removes_matching_families_and_bad_patterns_name_the_key() {
    let mut receiver = receiver(serde_json::json!({"drop_metrics": ["http_request_duration_.*", "nodejs_.*"]}));
    let request = receive(&mut receiver, scrape(BACKEND, "text/plain", 1));
    let names: Vec<&str> = metrics(&request).iter().map(|m| m.name.as_str()).collect();
    assert!(!names.iter().any(|n| n.starts_with("http_request_duration") || n.starts_with("nodejs")), "{names:?}");
    assert!(names.contains(&"http_requests"));
    assert_eq!(gauge_value(&request, "scrape_samples_post_metric_relabeling"), 9.0);

    let error =
        PrometheusScrape::init(Config::from_value(serde_json::json!({"drop_metrics": ["ok", "(bad"]}))).unwrap_err();
    assert!(error.message().starts_with("drop_metrics[1]: `(bad` is not a valid regex"), "{error}");
    let error = PrometheusScrape::init(Config::from_value(serde_json::json!({"jobb": "x"}))).unwrap_err();
    assert!(error.message().contains("jobb"), "{error}");
}

#[test]
fn other_input_is_refused_with_a_hint() {
    let error = receiver(serde_json::json!({})).receive(Input::Tick(1)).unwrap_err();
    assert!(error.to_string().contains("`scrape` transport"), "{error}");
}
