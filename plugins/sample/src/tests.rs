//! The processor end to end on encoded OTLP batches, as the export glue runs it: head
//! sampling consistency and rates, thresholds in trace states, keep rules, logs, rate
//! limits and tail sampling.

use std::collections::BTreeSet;

use aegis_plugin_sdk::{Outcome, run_processor};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue as PbValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use serde_json::json;

use super::*;
use crate::counts::Anomaly;
use crate::tail::Limit;
use crate::threshold::{Randomness, Threshold};

const MS: u64 = 1_000_000;
const SECOND: u64 = 1_000 * MS;
const START: u64 = 1_706_193_045_000_000_000;

fn sampler(config: serde_json::Value) -> Sample {
    Sample::init(Config::from_value(config)).unwrap_or_else(|e| panic!("{e}"))
}

/// Deterministic trace ids (splitmix64), the same in every run.
fn trace_ids(n: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| [rng.next_u64().to_be_bytes(), rng.next_u64().to_be_bytes()].concat()).collect()
}

/// A trace id whose last seven bytes (the W3C randomness) are `randomness`.
fn id_with_randomness(randomness: u64) -> Vec<u8> {
    let mut id = vec![0xab; 9];
    id.extend_from_slice(&randomness.to_be_bytes()[1..]);
    id
}

fn string(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(PbValue { value: Some(any_value::Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.as_str()),
        _ => None,
    })
}

fn span(trace_id: &[u8], name: &str, millis: u64) -> Span {
    Span {
        trace_id: trace_id.to_vec(),
        span_id: trace_id.iter().copied().chain([7; 8]).take(8).collect(),
        name: name.into(),
        kind: 2,
        start_time_unix_nano: START,
        end_time_unix_nano: START + millis * MS,
        attributes: vec![string("http.route", "/api/v1/users")],
        ..Default::default()
    }
}

fn error(mut span: Span) -> Span {
    span.status = Some(Status { code: 2, message: "connection pool exhausted".into() });
    span
}

fn with_state(mut span: Span, state: &str) -> Span {
    span.trace_state = state.into();
    span
}

/// The spans of the `POST /api/v1/users` trace: `http.request` with children
/// `auth.verify`, `policy.evaluate` and `db.insert`.
fn users_trace(trace_id: &[u8], root_millis: u64) -> Vec<Span> {
    let root = trace_id[..8].to_vec();
    [("http.request", root_millis), ("auth.verify", 5), ("policy.evaluate", 12), ("db.insert", 23)]
        .into_iter()
        .enumerate()
        .map(|(i, (name, millis))| {
            let mut s = span(trace_id, name, millis);
            s.span_id = if i == 0 { root.clone() } else { vec![i as u8; 8] };
            s.parent_span_id = if i == 0 { Vec::new() } else { root.clone() };
            s
        })
        .collect()
}

fn traces_request(spans: Vec<Span>) -> Vec<u8> {
    traces_request_of("aegis-backend", spans)
}

fn traces_request_of(service: &str, spans: Vec<Span>) -> Vec<u8> {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource { attributes: vec![string("service.name", service)], ..Default::default() }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope { name: "aegis-backend".into(), ..Default::default() }),
                spans,
                schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
            }],
            schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
        }],
    }
    .encode_to_vec()
}

/// What comes out of the processor for a traces batch.
fn run_traces(p: &mut Sample, request: &[u8]) -> ExportTraceServiceRequest {
    match run_processor(p, Signal::Traces, request).unwrap_or_else(|e| panic!("{e}")) {
        Outcome::Unchanged => ExportTraceServiceRequest::decode(request).unwrap(),
        Outcome::Replaced(bytes) => ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap(),
        Outcome::Dropped => ExportTraceServiceRequest::default(),
    }
}

fn spans_of(request: &ExportTraceServiceRequest) -> Vec<Span> {
    request.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| s.spans.clone()).collect()
}

fn kept_spans(p: &mut Sample, spans: Vec<Span>) -> Vec<Span> {
    spans_of(&run_traces(p, &traces_request(spans)))
}

fn kept_ids(p: &mut Sample, ids: &[Vec<u8>]) -> BTreeSet<Vec<u8>> {
    let mut kept = BTreeSet::new();
    for chunk in ids.chunks(1000) {
        let spans = chunk.iter().map(|id| span(id, "http.request", 45)).collect();
        kept.extend(kept_spans(p, spans).into_iter().map(|s| s.trace_id));
    }
    kept
}

fn names(spans: &[Span]) -> Vec<&str> {
    spans.iter().map(|s| s.name.as_str()).collect()
}

fn log(trace_id: &[u8], severity: i32, attributes: Vec<KeyValue>) -> LogRecord {
    LogRecord {
        time_unix_nano: START,
        severity_number: severity,
        body: Some(PbValue { value: Some(any_value::Value::StringValue("User created successfully".into())) }),
        attributes,
        trace_id: trace_id.to_vec(),
        ..Default::default()
    }
}

fn logs_request(service: &str, log_records: Vec<LogRecord>) -> Vec<u8> {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource { attributes: vec![string("service.name", service)], ..Default::default() }),
            scope_logs: vec![ScopeLogs { log_records, ..Default::default() }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

fn run_logs(p: &mut Sample, request: &[u8]) -> Vec<LogRecord> {
    let out = match run_processor(p, Signal::Logs, request).unwrap_or_else(|e| panic!("{e}")) {
        Outcome::Unchanged => ExportLogsServiceRequest::decode(request).unwrap(),
        Outcome::Replaced(bytes) => ExportLogsServiceRequest::decode(bytes.as_slice()).unwrap(),
        Outcome::Dropped => ExportLogsServiceRequest::default(),
    };
    out.resource_logs.iter().flat_map(|r| &r.scope_logs).flat_map(|s| s.log_records.clone()).collect()
}

/// Expects `kept` of `n` items at probability `p`, within five standard deviations.
fn assert_rate(kept: usize, n: usize, p: f64) {
    let expected = n as f64 * p;
    let bound = 5.0 * (n as f64 * p * (1.0 - p)).sqrt();
    assert!((kept as f64 - expected).abs() <= bound, "kept {kept} of {n}, expected {expected:.0} ± {bound:.0}");
}

// Head sampling: consistency and rates.

#[test]
fn the_same_seed_keeps_the_same_traces_and_another_seed_keeps_others() {
    let ids = trace_ids(20_000, 1);
    let config = json!({ "sampling_percentage": 10, "hash_seed": 22 });
    let sidecar = kept_ids(&mut sampler(config.clone()), &ids);
    let gateway = kept_ids(&mut sampler(config), &ids);
    assert_eq!(sidecar, gateway);
    assert_rate(sidecar.len(), ids.len(), 0.1);
    let other = kept_ids(&mut sampler(json!({ "sampling_percentage": 10, "hash_seed": 23 })), &ids);
    let both = sidecar.intersection(&other).count();
    // Independent 10 % samples share about 1 % of the traces.
    assert_rate(both, ids.len(), 0.01);
}

#[test]
fn hash_seed_keeps_its_share_of_100k_trace_ids_within_statistical_bounds() {
    let ids = trace_ids(100_000, 2);
    for (percentage, buckets) in [(1.0, 163.0), (10.0, 1638.0), (50.0, 8192.0)] {
        let kept = kept_ids(&mut sampler(json!({ "sampling_percentage": percentage, "hash_seed": 7 })), &ids);
        assert_rate(kept.len(), ids.len(), buckets / 16384.0);
    }
    assert_eq!(kept_ids(&mut sampler(json!({ "sampling_percentage": 100 })), &ids[..1000]).len(), 1000);
    assert!(kept_ids(&mut sampler(json!({ "sampling_percentage": 0 })), &ids[..1000]).is_empty());
}

#[test]
fn proportional_mode_keeps_its_share_of_100k_trace_ids_within_statistical_bounds() {
    let ids = trace_ids(100_000, 3);
    for percentage in [1.0, 10.0, 25.0] {
        let mut p = sampler(json!({ "mode": "proportional", "sampling_percentage": percentage }));
        assert_rate(kept_ids(&mut p, &ids).len(), ids.len(), percentage / 100.0);
    }
}

#[test]
fn a_smaller_percentage_keeps_a_subset_of_what_a_larger_one_keeps() {
    let ids = trace_ids(20_000, 4);
    for mode in ["hash_seed", "proportional", "equalizing"] {
        let at = |percentage: f64| {
            kept_ids(&mut sampler(json!({ "mode": mode, "sampling_percentage": percentage, "hash_seed": 5 })), &ids)
        };
        let (one, ten, fifty) = (at(1.0), at(10.0), at(50.0));
        assert!(one.is_subset(&ten) && ten.is_subset(&fifty), "{mode}");
        assert!(!one.is_empty() && ten.len() > one.len() && fifty.len() > ten.len(), "{mode}");
    }
}

#[test]
fn spans_of_one_trace_get_one_decision() {
    let ids = trace_ids(500, 5);
    let mut p = sampler(json!({ "sampling_percentage": 30, "hash_seed": 1 }));
    let spans = ids.iter().flat_map(|id| users_trace(id, 45)).collect();
    let kept = kept_spans(&mut p, spans);
    for id in kept.iter().map(|s| &s.trace_id).collect::<BTreeSet<_>>() {
        assert_eq!(kept.iter().filter(|s| &s.trace_id == id).count(), 4);
    }
    assert_rate(kept.len() / 4, ids.len(), 4915.0 / 16384.0);
}

// Thresholds in trace states.

#[test]
fn hash_seed_writes_its_threshold_and_randomness_into_kept_spans() {
    let ids = trace_ids(200, 6);
    let mut p = sampler(json!({ "sampling_percentage": 10, "hash_seed": 22 }));
    let spans = ids.iter().map(|id| with_state(span(id, "http.request", 45), "rojo=00f067aa0ba902b7")).collect();
    let kept = kept_spans(&mut p, spans);
    assert!(!kept.is_empty());
    for span in &kept {
        let (ot, rest) = span.trace_state.split_once(',').unwrap();
        assert_eq!(rest, "rojo=00f067aa0ba902b7");
        let rv = ot.strip_prefix("ot=th:e668;rv:").unwrap_or_else(|| panic!("{ot}"));
        // The randomness written passes the threshold written: downstream samplers agree.
        let rv = Randomness::parse(rv).unwrap();
        assert!(Threshold::parse("e668").unwrap().keeps(rv));
    }
    // A span whose trace state already has sampling values keeps them as they are.
    let state = "ot=th:8;rv:ffffffffffffff";
    let mut all = sampler(json!({ "sampling_percentage": 100 }));
    let kept = kept_spans(&mut all, vec![with_state(span(&ids[0], "http.request", 45), state)]);
    assert_eq!(kept[0].trace_state, state);
    // Without `annotate`, kept spans are passed on untouched.
    let mut quiet = sampler(json!({ "sampling_percentage": 100, "annotate": false }));
    let request = traces_request(vec![span(&ids[0], "http.request", 45)]);
    assert_eq!(run_processor(&mut quiet, Signal::Traces, &request).unwrap(), Outcome::Unchanged);
}

#[test]
fn proportional_mode_multiplies_the_incoming_probability_and_writes_the_product() {
    let mut p = sampler(json!({ "mode": "proportional", "sampling_percentage": 50 }));
    let spans = vec![
        // No threshold yet: 50 % is th:8; randomness 0xc0.. passes.
        span(&id_with_randomness(0xc0_0000_0000_0000), "fresh", 1),
        // Sampled at 50 % upstream (th:8): now 25 % (th:c); 0xd0.. passes, 0x90.. does not.
        with_state(span(&id_with_randomness(0xd0_0000_0000_0000), "halved", 1), "ot=th:8,congo=t61rcWkgMzE"),
        with_state(span(&id_with_randomness(0x90_0000_0000_0000), "dropped", 1), "ot=th:8"),
    ];
    let kept = kept_spans(&mut p, spans);
    assert_eq!(names(&kept), ["fresh", "halved"]);
    assert_eq!(kept[0].trace_state, "ot=th:8");
    assert_eq!(kept[1].trace_state, "ot=th:c,congo=t61rcWkgMzE");
}

#[test]
fn equalizing_mode_raises_lower_thresholds_and_leaves_stricter_ones_alone() {
    let mut p = sampler(json!({ "mode": "equalizing", "sampling_percentage": 25 }));
    let spans = vec![
        with_state(span(&id_with_randomness(0xf8_0000_0000_0000), "stricter", 1), "ot=th:f;p:1"),
        with_state(span(&id_with_randomness(0xd0_0000_0000_0000), "raised", 1), "ot=th:8"),
        with_state(span(&id_with_randomness(0xb0_0000_0000_0000), "dropped", 1), "ot=th:8"),
    ];
    let kept = kept_spans(&mut p, spans);
    assert_eq!(names(&kept), ["stricter", "raised"]);
    assert_eq!(kept[0].trace_state, "ot=th:f;p:1");
    assert_eq!(kept[1].trace_state, "ot=th:c");
}

#[test]
fn an_explicit_randomness_value_decides_instead_of_the_trace_id() {
    let mut p = sampler(json!({ "mode": "proportional", "sampling_percentage": 10 }));
    let low = id_with_randomness(0);
    let spans = vec![
        with_state(span(&low, "explicit", 1), "ot=rv:ffffffffffffff"),
        with_state(span(&id_with_randomness(0xff_ffff_ffff_ffff), "explicit-low", 1), "ot=rv:00000000000001"),
    ];
    let kept = kept_spans(&mut p, spans);
    assert_eq!(names(&kept), ["explicit"]);
    assert_eq!(kept[0].trace_state, "ot=th:e666;rv:ffffffffffffff");
}

#[test]
fn an_inconsistent_or_malformed_incoming_threshold_is_erased_and_counted() {
    let mut p = sampler(json!({ "mode": "proportional", "sampling_percentage": 100 }));
    let spans = vec![
        // th:c claims 25 %, but randomness 0x10.. would not have passed it.
        with_state(span(&id_with_randomness(0x10_0000_0000_0000), "inconsistent", 1), "ot=th:c"),
        with_state(span(&id_with_randomness(0x10_0000_0000_0000), "malformed", 1), "ot=th:zz;x:1"),
    ];
    let kept = kept_spans(&mut p, spans);
    assert_eq!(names(&kept), ["inconsistent", "malformed"]);
    assert_eq!(kept[0].trace_state, "ot=th:0");
    assert_eq!(kept[1].trace_state, "ot=th:0;x:1");
    assert_eq!(p.tally.anomalies(Anomaly::InconsistentThreshold), 1);
    assert_eq!(p.tally.anomalies(Anomaly::MalformedSamplingValue), 1);
}

#[test]
fn spans_without_a_trace_id_follow_the_fallback() {
    let spans = || (0..100).map(|_| span(&[0; 16], "orphan", 1)).collect::<Vec<_>>();
    assert_eq!(kept_spans(&mut sampler(json!({ "sampling_percentage": 0, "fallback": "keep" })), spans()).len(), 100);
    assert!(kept_spans(&mut sampler(json!({ "sampling_percentage": 100, "fallback": "drop" })), spans()).is_empty());
    let mut random = sampler(json!({ "mode": "proportional", "sampling_percentage": 50 }));
    let kept = kept_spans(&mut random, spans());
    assert_rate(kept.len(), 100, 0.5);
    // A random draw is written as `rv`, so that downstream samplers agree with it.
    assert!(kept.iter().all(|s| s.trace_state.starts_with("ot=th:8;rv:")), "{:?}", kept[0].trace_state);
    assert_eq!(random.tally.anomalies(Anomaly::NoRandomness), 100);
}

// Keep rules.

#[test]
fn errors_and_slow_spans_are_kept_with_their_traces_whatever_the_rate() {
    let ids = trace_ids(3, 7);
    let mut failing = users_trace(&ids[0], 45);
    failing[3] = error(failing[3].clone());
    let slow = users_trace(&ids[1], 1500);
    let fine = users_trace(&ids[2], 45);
    let mut p = sampler(json!({ "sampling_percentage": 0, "keep": ["status == ERROR", "duration > 1s"] }));
    let kept = kept_spans(&mut p, [failing, slow, fine].concat());
    assert_eq!(kept.len(), 8);
    assert!(kept[..4].iter().all(|s| s.trace_id == ids[0]) && kept[4..].iter().all(|s| s.trace_id == ids[1]));
    assert_eq!(names(&kept[..4]), ["http.request", "auth.verify", "policy.evaluate", "db.insert"]);
    // Kept by a rule, not by probability: their trace state says nothing.
    assert!(kept.iter().all(|s| s.trace_state.is_empty()));
    assert_eq!((p.tally.get(true, Reason::KeepRule), p.tally.get(false, Reason::NotSampled)), (8, 4));
}

#[test]
fn the_shortcuts_keep_errors_and_slow_spans_too() {
    let ids = trace_ids(3, 8);
    let spans = vec![error(span(&ids[0], "failed", 1)), span(&ids[1], "slow", 2000), span(&ids[2], "fine", 10)];
    let mut p = sampler(json!({ "sampling_percentage": 0, "keep_errors": true, "keep_slower_than": "1s" }));
    assert_eq!(names(&kept_spans(&mut p, spans)), ["failed", "slow"]);
}

#[test]
fn an_attribute_condition_keeps_what_it_matches() {
    let ids = trace_ids(2, 9);
    let mut admin = span(&ids[0], "admin", 1);
    admin.attributes = vec![string("http.route", "/api/v1/admin")];
    let spans = vec![admin, span(&ids[1], "users", 1)];
    let mut p =
        sampler(json!({ "sampling_percentage": 0, "keep": [r#"attributes["http.route"] == "/api/v1/admin""#] }));
    assert_eq!(names(&kept_spans(&mut p, spans)), ["admin"]);
}

// Logs.

#[test]
fn log_records_get_the_decision_of_their_trace() {
    let ids = trace_ids(2_000, 10);
    let config = json!({ "sampling_percentage": 20, "hash_seed": 3 });
    let spans = kept_ids(&mut sampler(config.clone()), &ids);
    let records = ids.iter().map(|id| log(id, 9, vec![])).collect();
    let logs: BTreeSet<Vec<u8>> = run_logs(&mut sampler(config), &logs_request("aegis-backend", records))
        .into_iter()
        .map(|r| r.trace_id)
        .collect();
    assert_eq!(logs, spans);
}

#[test]
fn log_records_without_a_trace_id_are_sampled_by_their_attribute() {
    let users: Vec<String> = (0..2_000).map(|i| format!("user-{i}")).collect();
    let records =
        users.iter().flat_map(|u| [log(&[], 9, vec![string("user_id", u)]), log(&[], 13, vec![string("user_id", u)])]);
    let request = logs_request("aegis-backend", records.collect());
    let config = json!({ "sampling_percentage": 10, "attribute_source": "record", "from_attribute": "user_id" });
    let kept = run_logs(&mut sampler(config.clone()), &request);
    let kept_users: Vec<&str> = kept.iter().map(|r| attribute(&r.attributes, "user_id").unwrap()).collect();
    // Both records of a user go the same way.
    for user in &kept_users {
        assert_eq!(kept_users.iter().filter(|u| *u == user).count(), 2, "{user}");
    }
    assert_rate(kept.len() / 2, users.len(), 1638.0 / 16384.0);
    // Every record of a kept user says how it was sampled.
    for record in &kept {
        assert_eq!(attribute(&record.attributes, "sampling.threshold"), Some("e668"));
        assert_eq!(attribute(&record.attributes, "sampling.randomness").map(str::len), Some(14));
    }
    // The same users again: the same decisions, in another instance.
    assert_eq!(run_logs(&mut sampler(config), &request), kept);
}

#[test]
fn log_records_with_nothing_to_sample_by_are_sampled_at_random() {
    let records = (0..1_000).map(|_| log(&[], 9, vec![])).collect();
    let request = logs_request("aegis-backend", records);
    let mut p = sampler(json!({ "sampling_percentage": 30, "from_attribute": "user_id" }));
    assert_rate(run_logs(&mut p, &request).len(), 1_000, 4915.0 / 16384.0);
    assert_eq!(p.tally.anomalies(Anomaly::NoRandomness), 1_000);
    assert!(run_logs(&mut sampler(json!({ "sampling_percentage": 100, "fallback": "drop" })), &request).is_empty());
}

#[test]
fn log_records_of_error_severity_are_kept_whatever_the_rate() {
    let ids = trace_ids(100, 11);
    let records = ids.iter().enumerate().map(|(i, id)| log(id, if i % 10 == 0 { 17 } else { 9 }, vec![])).collect();
    let mut p = sampler(json!({ "sampling_percentage": 0, "keep": ["severity >= ERROR"] }));
    let kept = run_logs(&mut p, &logs_request("aegis-backend", records));
    assert_eq!(kept.len(), 10);
    assert!(kept.iter().all(|r| r.severity_number == 17 && r.attributes.is_empty()));
}

#[test]
fn proportional_log_sampling_writes_the_threshold_attribute() {
    let kept_id = id_with_randomness(0xf0_0000_0000_0000);
    let records = vec![log(&kept_id, 9, vec![]), log(&id_with_randomness(0x10), 9, vec![])];
    let mut p = sampler(json!({ "mode": "proportional", "sampling_percentage": 10 }));
    let kept = run_logs(&mut p, &logs_request("aegis-backend", records));
    assert_eq!(kept.len(), 1);
    assert_eq!(attribute(&kept[0].attributes, "sampling.threshold"), Some("e666"));
    // The randomness came from the trace id, which travels with the record anyway.
    assert_eq!(attribute(&kept[0].attributes, "sampling.randomness"), None);
}

// Rate limits.

#[test]
fn the_rate_limit_caps_each_service_and_counts_what_it_dropped() {
    let mut p = sampler(json!({
        "sampling_percentage": 100, "annotate": false,
        "rate_limit": { "per_second": 10, "key": "service.name" },
    }));
    p.clock = Some(SECOND);
    let ids = trace_ids(50, 12);
    for service in ["checkout", "users"] {
        let records = ids.iter().map(|id| log(id, 9, vec![])).collect();
        assert_eq!(run_logs(&mut p, &logs_request(service, records)).len(), 10, "{service}");
        assert_eq!((p.tally.get(true, Reason::Sampled), p.tally.get(false, Reason::RateLimited)), (10, 40));
    }
    // Half a second later, five more tokens for each.
    p.clock = Some(SECOND + 500 * MS);
    let records = ids.iter().map(|id| log(id, 9, vec![])).collect();
    assert_eq!(run_logs(&mut p, &logs_request("checkout", records)).len(), 5);
}

#[test]
fn the_rate_limit_passes_or_drops_the_spans_of_a_trace_together() {
    let mut p = sampler(json!({ "sampling_percentage": 100, "annotate": false, "rate_limit": { "per_second": 6 } }));
    p.clock = Some(SECOND);
    let ids = trace_ids(5, 13);
    let kept = kept_spans(&mut p, ids.iter().flat_map(|id| users_trace(id, 45)).collect());
    // Six tokens: the first trace takes four, the second passes on the two left and leaves
    // a debt; the rest wait.
    assert_eq!(kept.len(), 8);
    assert!(kept[..4].iter().all(|s| s.trace_id == ids[0]) && kept[4..].iter().all(|s| s.trace_id == ids[1]));
}

#[test]
fn errors_pass_the_rate_limit_unless_it_includes_kept_items() {
    let ids = trace_ids(20, 14);
    let spans = || ids.iter().map(|id| error(span(id, "failed", 1))).collect::<Vec<_>>();
    let limit = |include: bool| {
        let mut p = sampler(json!({
            "sampling_percentage": 0, "keep_errors": true,
            "rate_limit": { "per_second": 5, "include_kept": include },
        }));
        p.clock = Some(SECOND);
        kept_spans(&mut p, spans()).len()
    };
    assert_eq!((limit(false), limit(true)), (20, 5));
}

// Tail sampling.

fn tail_sampler(tail: serde_json::Value) -> Sample {
    let mut p = sampler(json!({ "mode": "tail", "tail": tail }));
    p.clock = Some(0);
    p
}

fn at(p: &mut Sample, now: u64, spans: Vec<Span>) -> Vec<Span> {
    p.clock = Some(now);
    kept_spans(p, spans)
}

#[test]
fn tail_mode_holds_traces_until_their_wait_is_over_then_keeps_them_whole() {
    let ids = trace_ids(3, 15);
    let mut p = tail_sampler(json!({
        "decision_wait": "10s",
        "policies": [{ "name": "errors", "type": "status_code", "status_codes": ["ERROR"] }],
    }));
    let mut failing = users_trace(&ids[0], 45);
    failing[2] = error(failing[2].clone());
    let root = failing.remove(0);
    let fine = users_trace(&ids[1], 45);
    assert!(at(&mut p, 0, [failing, fine].concat()).is_empty());
    assert_eq!(p.tail.as_ref().unwrap().buffered().0, 2);
    // The root span comes in a later batch; still nothing is decided.
    assert!(at(&mut p, 5 * SECOND, vec![root]).is_empty());
    // A batch after the wait: the failing trace comes out whole, the fine one is dropped,
    // and the newcomer waits its turn.
    let out = at(&mut p, 10 * SECOND, vec![span(&ids[2], "newcomer", 1)]);
    let mut out_names = names(&out);
    out_names.sort();
    assert_eq!(out_names, ["auth.verify", "db.insert", "http.request", "policy.evaluate"]);
    assert!(out.iter().all(|s| s.trace_id == ids[0]));
    assert_eq!((p.tally.get(true, Reason::Policy), p.tally.get(false, Reason::NoPolicy)), (4, 4));
    assert_eq!(p.tail.as_ref().unwrap().buffered().0, 1);
}

/// The spans a tick hands over.
fn ticked(p: &mut Sample, now: u64, stopping: bool) -> Vec<Span> {
    p.clock = Some(now);
    let batches = Processor::tick(p, 0, stopping).unwrap();
    assert!(batches.iter().all(|(signal, _)| *signal == Signal::Traces));
    let mut spans = Vec::new();
    for (_, bytes) in batches {
        aegis_plugin_sdk::wire::validate(Signal::Traces, &bytes).expect("valid OTLP");
        spans.extend(spans_of(&ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap()));
    }
    spans
}

#[test]
fn ticks_decide_on_time_without_batches_and_hand_everything_over_when_stopping() {
    let ids = trace_ids(3, 17);
    let mut p = tail_sampler(json!({
        "decision_wait": "10s",
        "policies": [{ "type": "latency", "threshold": "0s" }],
    }));
    assert!(at(&mut p, 0, users_trace(&ids[0], 45)).is_empty());
    assert!(at(&mut p, 4 * SECOND, users_trace(&ids[1], 45)).is_empty());
    // Before the wait is over a tick gives nothing; after it, the first trace, alone.
    assert!(ticked(&mut p, 9 * SECOND, false).is_empty());
    let out = ticked(&mut p, 10 * SECOND, false);
    assert_eq!(out.len(), 4);
    assert!(out.iter().all(|s| s.trace_id == ids[0]));
    // Stopping: the trace still inside its wait is decided with what was seen of it.
    assert!(at(&mut p, 11 * SECOND, vec![span(&ids[2], "late", 1)]).is_empty());
    let out = ticked(&mut p, 11 * SECOND, true);
    let mut traces: Vec<&Vec<u8>> = out.iter().map(|s| &s.trace_id).collect();
    traces.dedup();
    assert_eq!(traces, [&ids[1], &ids[2]]);
    assert_eq!(p.tail.as_ref().unwrap().buffered(), (0, 0, 0));
    assert!(ticked(&mut p, 12 * SECOND, true).is_empty());
    // Head modes hold nothing: a tick gives nothing.
    let mut head = sampler(json!({ "mode": "hash_seed", "sampling_percentage": 50 }));
    assert!(Processor::tick(&mut head, 0, true).unwrap().is_empty());
}

#[test]
fn tail_spans_come_out_with_their_resource_scope_and_schemas() {
    let ids = trace_ids(1, 16);
    let mut p = tail_sampler(json!({ "decision_wait": "1s", "policies": [{ "type": "latency", "threshold": "0s" }] }));
    assert!(at(&mut p, 0, users_trace(&ids[0], 45)).is_empty());
    p.clock = Some(2 * SECOND);
    let out = run_traces(&mut p, &traces_request_of("other", vec![span(&trace_ids(1, 99)[0], "later", 1)]));
    assert_eq!(out.resource_spans.len(), 1);
    let resource = &out.resource_spans[0];
    assert_eq!(attribute(&resource.resource.as_ref().unwrap().attributes, "service.name"), Some("aegis-backend"));
    assert_eq!(resource.schema_url, "https://opentelemetry.io/schemas/1.26.0");
    let scope = &resource.scope_spans[0];
    assert_eq!(scope.scope.as_ref().unwrap().name, "aegis-backend");
    assert_eq!(scope.schema_url, "https://opentelemetry.io/schemas/1.26.0");
    assert_eq!(scope.spans, users_trace(&ids[0], 45));
}

#[test]
fn tail_policies_decide_by_latency_status_attribute_probability_and_composites() {
    let ids = trace_ids(6, 17);
    let mut p = tail_sampler(json!({ "decision_wait": "1s", "policies": [
        { "name": "slow", "type": "latency", "threshold": "1s" },
        { "name": "errors", "type": "status_code", "status_codes": ["ERROR"] },
        { "name": "admin", "type": "attribute", "key": "http.route", "values": ["/api/v1/admin"] },
        { "name": "big-and-users", "type": "composite", "operator": "and", "policies": [
            { "type": "attribute", "key": "http.request.body.size", "min": 1000 },
            { "type": "condition", "condition": "name == \"db.insert\"" },
        ] },
    ] }));
    let mut admin = users_trace(&ids[2], 45);
    admin[1].attributes = vec![string("http.route", "/api/v1/admin")];
    let mut big = users_trace(&ids[3], 45);
    big[0].attributes.push(KeyValue {
        key: "http.request.body.size".into(),
        value: Some(PbValue { value: Some(any_value::Value::IntValue(4096)) }),
        ..Default::default()
    });
    let mut big_but_no_insert = big.clone();
    big_but_no_insert.truncate(3);
    for s in &mut big_but_no_insert {
        s.trace_id = ids[4].clone();
    }
    let mut failing = users_trace(&ids[1], 45);
    failing[3] = error(failing[3].clone());
    let all = [users_trace(&ids[0], 1200), failing, admin, big, big_but_no_insert, users_trace(&ids[5], 45)];
    assert!(at(&mut p, 0, all.concat()).is_empty());
    let out = at(&mut p, 2 * SECOND, vec![]);
    let kept: BTreeSet<_> = out.iter().map(|s| s.trace_id.clone()).collect();
    assert_eq!(kept, ids[..4].iter().cloned().collect());
    assert_eq!(out.len(), 16);
}

#[test]
fn a_probabilistic_tail_policy_agrees_with_head_sampling_of_the_same_seed() {
    let ids = trace_ids(2_000, 18);
    let head = kept_ids(&mut sampler(json!({ "sampling_percentage": 25, "hash_seed": 9 })), &ids);
    let mut p = sampler(json!({ "mode": "tail", "hash_seed": 9, "tail": { "decision_wait": "1s", "policies": [
        { "name": "baseline", "type": "probabilistic", "sampling_percentage": 25 },
    ] } }));
    p.clock = Some(0);
    for chunk in ids.chunks(500) {
        assert!(at(&mut p, 0, chunk.iter().map(|id| span(id, "http.request", 45)).collect()).is_empty());
    }
    let tail: BTreeSet<_> = at(&mut p, SECOND, vec![]).into_iter().map(|s| s.trace_id).collect();
    assert_eq!(tail, head);
}

#[test]
fn a_full_tail_buffer_decides_its_oldest_traces_early_and_counts_them() {
    let ids = trace_ids(5, 19);
    let mut p = tail_sampler(json!({ "decision_wait": "10s", "max_traces": 3,
        "policies": [{ "type": "status_code", "status_codes": ["ERROR"] }] }));
    let spans: Vec<Span> = ids.iter().map(|id| error(span(id, "failed", 1))).collect();
    // The fourth and fifth traces push out the first two, which are decided (and kept) at once.
    let out = at(&mut p, 0, spans);
    assert_eq!(out.iter().map(|s| s.trace_id.clone()).collect::<Vec<_>>(), ids[..2]);
    let tail = p.tail.as_ref().unwrap();
    assert_eq!(tail.buffered().0, 3);
    assert_eq!(tail.early(Limit::Traces), 2);
    assert_eq!(p.tally.get(true, Reason::Policy), 2);

    // A span budget works the same way, and so does a byte budget.
    let mut p = tail_sampler(json!({ "decision_wait": "10s", "max_spans": 6,
        "policies": [{ "type": "latency", "threshold": "0s" }] }));
    let out = at(&mut p, 0, ids.iter().take(2).flat_map(|id| users_trace(id, 45)).collect());
    assert_eq!(out.len(), 4);
    assert_eq!(p.tail.as_ref().unwrap().buffered().1, 4);
    let mut p = tail_sampler(json!({ "decision_wait": "10s", "max_bytes": "2KiB",
        "policies": [{ "type": "latency", "threshold": "0s" }] }));
    let out = at(&mut p, 0, ids.iter().flat_map(|id| users_trace(id, 45)).collect());
    let (_, spans, bytes) = p.tail.as_ref().unwrap().buffered();
    assert!(bytes <= 2048, "{bytes}");
    assert_eq!(out.len() + spans, 20);
}

#[test]
fn late_spans_follow_the_decision_of_their_trace() {
    let ids = trace_ids(2, 20);
    let mut p = tail_sampler(json!({ "decision_wait": "1s",
        "policies": [{ "type": "status_code", "status_codes": ["ERROR"] }] }));
    assert!(at(&mut p, 0, vec![error(span(&ids[0], "failed", 1)), span(&ids[1], "fine", 1)]).is_empty());
    assert_eq!(names(&at(&mut p, SECOND, vec![])), ["failed"]);
    let late = at(&mut p, 2 * SECOND, vec![span(&ids[0], "late-kept", 1), span(&ids[1], "late-dropped", 1)]);
    assert_eq!(names(&late), ["late-kept"]);
    assert_eq!((p.tally.get(true, Reason::Late), p.tally.get(false, Reason::Late)), (1, 1));
}

#[test]
fn tail_keep_rules_and_the_rate_limit_apply_to_whole_traces() {
    let ids = trace_ids(4, 21);
    let mut p = sampler(json!({
        "mode": "tail", "keep_errors": true, "sampling_percentage": 100,
        "rate_limit": { "per_second": 4 },
        "tail": { "decision_wait": "1s" },
    }));
    p.clock = Some(0);
    let mut failing = users_trace(&ids[0], 45);
    failing[1] = error(failing[1].clone());
    let spans = [failing, users_trace(&ids[1], 45), users_trace(&ids[2], 45), users_trace(&ids[3], 45)].concat();
    assert!(at(&mut p, 0, spans).is_empty());
    let out = at(&mut p, SECOND, vec![]);
    // The error trace passes by its rule; of the others, one fits the four tokens.
    let kept: BTreeSet<_> = out.iter().map(|s| s.trace_id.clone()).collect();
    assert_eq!(kept, [ids[0].clone(), ids[1].clone()].into_iter().collect());
    assert_eq!(p.tally.get(false, Reason::RateLimited), 8);
}

#[test]
fn tail_mode_refuses_logs_with_a_message_that_says_why() {
    let mut p = tail_sampler(json!({ "policies": [{ "type": "latency", "threshold": "1s" }] }));
    let err = run_processor(&mut p, Signal::Logs, &logs_request("x", vec![log(&[], 9, vec![])])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Failed);
    assert!(err.message().starts_with("mode = \"tail\" samples traces"), "{}", err.message());
}

// Robustness.

#[test]
fn garbage_and_odd_values_are_errors_or_pass_never_a_panic() {
    let mut rng = Rng::new(22);
    let configs = [
        json!({ "sampling_percentage": 50 }),
        json!({ "mode": "proportional", "sampling_percentage": 50, "keep_errors": true,
                "rate_limit": { "per_second": 1, "key": "service.name" } }),
        json!({ "mode": "tail", "sampling_percentage": 50, "tail": { "max_spans": 3 } }),
    ];
    for config in configs {
        let mut p = sampler(config);
        for _ in 0..200 {
            let len = (rng.next_u64() % 64) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            let _ = run_processor(&mut p, Signal::Traces, &bytes);
        }
        // Odd but valid: short ids, huge trace states, times running backwards.
        let mut odd = span(&[1, 2, 3], "short-id", 1);
        odd.end_time_unix_nano = 0;
        let long = with_state(span(&trace_ids(1, 23)[0], "long", 1), &format!("ot=k:{}", "a".repeat(300)));
        let _ = kept_spans(&mut p, vec![odd, long]);
    }
}

// Timing, natively: `cargo test --release -p aegis-plugin-sample -- --ignored --nocapture timing`
// (`SAMPLE_TIMING=proportional` runs only the configuration of that name,
// `SAMPLE_TIMING_ROUNDS=20` fewer rounds, e.g. under `valgrind --tool=callgrind`).

#[test]
#[ignore = "a measurement, not a check"]
fn timing() {
    let ids = trace_ids(250, 24);
    let request = traces_request(ids.iter().flat_map(|id| users_trace(id, 45)).collect());
    let configs = [
        ("hash_seed", json!({ "sampling_percentage": 10, "hash_seed": 22 })),
        ("hash_seed, not annotated", json!({ "sampling_percentage": 10, "annotate": false })),
        ("hash_seed + keep_errors", json!({ "sampling_percentage": 10, "keep_errors": true })),
        ("hash_seed + keep condition", json!({ "sampling_percentage": 10, "keep": ["status == ERROR"] })),
        (
            "proportional + keep_errors",
            json!({ "mode": "proportional", "sampling_percentage": 10, "keep_errors": true }),
        ),
    ];
    let only = std::env::var("SAMPLE_TIMING").unwrap_or_default();
    for (name, config) in configs.into_iter().filter(|(name, _)| only.is_empty() || *name == only) {
        let mut p = sampler(config);
        let rounds: u32 = std::env::var("SAMPLE_TIMING_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(2_000);
        let started = std::time::Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(run_processor(&mut p, Signal::Traces, &request).unwrap());
        }
        let per_span = started.elapsed().as_nanos() as f64 / (f64::from(rounds) * 1000.0);
        println!("{name:30} {per_span:6.1} ns/span");
    }
    let attributes = |i: usize| {
        ["method", "path", "status_code", "duration_ms", "user_id", "client.address"]
            .iter()
            .map(|key| string(key, &format!("{key}-{i}")))
            .collect::<Vec<_>>()
    };
    let records = trace_ids(1000, 25).iter().enumerate().map(|(i, id)| log(id, 9, attributes(i))).collect();
    let request = logs_request("aegis-backend", records);
    let configs = [
        ("logs hash_seed", json!({ "sampling_percentage": 10, "hash_seed": 22 })),
        ("logs hash_seed + keep condition", json!({ "sampling_percentage": 10, "keep": ["severity >= ERROR"] })),
        ("logs proportional", json!({ "mode": "proportional", "sampling_percentage": 10 })),
    ];
    for (name, config) in configs.into_iter().filter(|(name, _)| only.is_empty() || *name == only) {
        let mut p = sampler(config);
        let rounds: u32 = std::env::var("SAMPLE_TIMING_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(2_000);
        let started = std::time::Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(run_processor(&mut p, Signal::Logs, &request).unwrap());
        }
        let per_record = started.elapsed().as_nanos() as f64 / (f64::from(rounds) * 1000.0);
        println!("{name:30} {per_record:6.1} ns/record");
    }
}
