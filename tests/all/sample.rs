//! The sample processor in a running collector: which traces and log records come out of
//! head sampling and why, that two collectors with the same seed keep the same traces,
//! the OpenTelemetry thresholds in trace states, and tail sampling of whole traces.

use std::collections::BTreeSet;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

use crate::support::{Collector, Sink, fixture, kv};

const START: u64 = 1_706_193_045_000_000_000;
const MS: u64 = 1_000_000;

/// Deterministic, random-looking trace ids.
fn trace_ids(n: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    (0..n).map(|_| [next().to_be_bytes(), next().to_be_bytes()].concat()).collect()
}

/// The OpenTelemetry Collector's hash seed decision, written out independently of the
/// plugin: FNV-1a over the seed's little-endian bytes and the trace id, 14 bits, against
/// the percentage scaled in 32-bit floating point.
fn collector_keeps(seed: u32, percentage: f32, trace_id: &[u8]) -> bool {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in seed.to_le_bytes().iter().chain(trace_id) {
        hash = (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193);
    }
    (hash & 0x3fff) < (percentage * (16384.0_f32 / 100.0)) as u32
}

/// The spans of a `POST /api/v1/users` trace: `http.request` (lasting `root_millis`) with
/// children `auth.verify`, `policy.evaluate` and `db.insert`.
fn users_trace(trace_id: &[u8], root_millis: u64) -> Vec<Span> {
    let root = trace_id[8..].to_vec();
    [("http.request", root_millis), ("auth.verify", 5), ("policy.evaluate", 12), ("db.insert", 23)]
        .into_iter()
        .enumerate()
        .map(|(i, (name, millis))| Span {
            trace_id: trace_id.to_vec(),
            span_id: if i == 0 { root.clone() } else { [&trace_id[..7], &[i as u8]].concat() },
            parent_span_id: if i == 0 { Vec::new() } else { root.clone() },
            name: name.into(),
            kind: if i == 0 { 2 } else { 1 },
            start_time_unix_nano: START,
            end_time_unix_nano: START + millis * MS,
            attributes: vec![kv("http.method", "POST"), kv("http.route", "/api/v1/users")],
            ..Default::default()
        })
        .collect()
}

fn failed(mut span: Span) -> Span {
    span.status = Some(Status { code: 2, message: "duplicate key value violates unique constraint".into() });
    span
}

fn traces_request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource { attributes: vec![kv("service.name", "aegis-backend")], ..Default::default() }),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
}

async fn send_traces(collector: &Collector, spans: Vec<Span>) {
    let mut client = TraceServiceClient::connect(format!("http://{}", collector.grpc)).await.expect("connect");
    client.export(traces_request(spans)).await.expect("the collector accepts the spans");
}

async fn send_logs(collector: &Collector, records: Vec<LogRecord>) {
    let mut client = LogsServiceClient::connect(format!("http://{}", collector.grpc)).await.expect("connect");
    let request = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource { attributes: vec![kv("service.name", "aegis-backend")], ..Default::default() }),
            scope_logs: vec![ScopeLogs { log_records: records, ..Default::default() }],
            ..Default::default()
        }],
    };
    client.export(request).await.expect("the collector accepts the records");
}

fn trace_id_set(spans: &[Span]) -> BTreeSet<Vec<u8>> {
    spans.iter().map(|s| s.trace_id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_and_slow_spans_come_out_with_their_traces_and_the_rest_by_the_hash() {
    let sink = Sink::start().await;
    let collector = Collector::start(&fixture("sample/head.toml"), &[("AEGIS_TEST_SINK", sink.endpoint())]);
    let ids = trace_ids(302, 1);
    let (failing_id, slow_id, random_ids) = (&ids[0], &ids[1], &ids[2..]);
    let mut failing = users_trace(failing_id, 45);
    failing[3] = failed(failing[3].clone());
    let slow = users_trace(slow_id, 1500);
    let mut spans = [failing, slow].concat();
    spans.extend(random_ids.iter().flat_map(|id| users_trace(id, 45)));
    send_traces(&collector, spans).await;

    let sampled: BTreeSet<Vec<u8>> = random_ids.iter().filter(|id| collector_keeps(22, 10.0, id)).cloned().collect();
    assert!(!sampled.is_empty() && sampled.len() < 60, "{} of 300 sampled", sampled.len());
    let expected_spans = 4 * (2 + sampled.len());
    sink.wait_for(Duration::from_secs(20), "the kept spans", |sink| sink.spans().len() >= expected_spans).await;
    let out = sink.spans();
    assert_eq!(out.len(), expected_spans);
    let mut expected = sampled.clone();
    expected.extend([failing_id.clone(), slow_id.clone()]);
    assert_eq!(trace_id_set(&out), expected);
    for id in &expected {
        let mut names: Vec<&str> = out.iter().filter(|s| &s.trace_id == id).map(|s| s.name.as_str()).collect();
        names.sort();
        assert_eq!(names, ["auth.verify", "db.insert", "http.request", "policy.evaluate"]);
    }
    for span in &out {
        if &span.trace_id == failing_id || &span.trace_id == slow_id {
            // Kept by a rule, not by chance: nothing to say about probability.
            assert_eq!(span.trace_state, "", "{}", span.name);
        } else {
            // Sampled at 10 % (1638 of 16384 buckets, th:e668), with the hash's randomness.
            assert!(span.trace_state.starts_with("ot=th:e668;rv:"), "{}", span.trace_state);
            assert_eq!(span.trace_state.len(), "ot=th:e668;rv:".len() + 14);
        }
    }
    let series = |decision: &str, reason: &str| {
        format!(
            "aegis_plugin_sample_items_total{{decision=\"{decision}\",plugin=\"sample\",reason=\"{reason}\",signal=\"traces\"}}"
        )
    };
    collector.wait_metric(&series("kept", "keep_rule"), 8.0);
    collector.wait_metric(&series("kept", "sampled"), (4 * sampled.len()) as f64);
    collector.wait_metric(&series("dropped", "not_sampled"), (4 * (300 - sampled.len())) as f64);
    let (status, logs) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_collectors_with_the_same_seed_keep_the_same_traces_and_their_logs() {
    let (sink_a, sink_b) = (Sink::start().await, Sink::start().await);
    let sidecar = Collector::start(&fixture("sample/head.toml"), &[("AEGIS_TEST_SINK", sink_a.endpoint())]);
    let gateway = Collector::start(&fixture("sample/head.toml"), &[("AEGIS_TEST_SINK", sink_b.endpoint())]);
    let ids = trace_ids(1000, 2);
    for collector in [&sidecar, &gateway] {
        for chunk in ids.chunks(250) {
            send_traces(collector, chunk.iter().flat_map(|id| users_trace(id, 45)).collect()).await;
            let records = chunk
                .iter()
                .map(|id| LogRecord {
                    time_unix_nano: START,
                    severity_number: 9,
                    body: Some(opentelemetry_proto::tonic::common::v1::AnyValue {
                        value: Some(opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(
                            "User created successfully".into(),
                        )),
                    }),
                    trace_id: id.clone(),
                    span_id: id[8..].to_vec(),
                    ..Default::default()
                })
                .collect();
            send_logs(collector, records).await;
        }
    }
    let expected: BTreeSet<Vec<u8>> = ids.iter().filter(|id| collector_keeps(22, 10.0, id)).cloned().collect();
    for sink in [&sink_a, &sink_b] {
        let done = |s: &Sink| s.spans().len() >= 4 * expected.len() && s.log_records().len() >= expected.len();
        sink.wait_for(Duration::from_secs(20), "the kept spans and records", done).await;
    }
    let (a, b) = (trace_id_set(&sink_a.spans()), trace_id_set(&sink_b.spans()));
    assert_eq!(a, b, "both collectors kept the same traces");
    assert_eq!(a, expected, "and the same ones as the Collector's hash_seed sampler would");
    assert_eq!((sink_a.spans().len(), sink_b.spans().len()), (4 * expected.len(), 4 * expected.len()));
    for sink in [&sink_a, &sink_b] {
        let logs: BTreeSet<Vec<u8>> = sink.log_records().into_iter().map(|r| r.trace_id).collect();
        assert_eq!(logs, expected, "log records follow their traces");
    }
    for collector in [sidecar, gateway] {
        let (status, logs) = collector.stop();
        assert!(status.success(), "aegis exited with {status}:\n{logs}");
    }
}

/// A trace id whose last seven bytes, the W3C randomness, are `randomness`.
fn id_with_randomness(randomness: u64) -> Vec<u8> {
    [&[0x5a; 9][..], &randomness.to_be_bytes()[1..]].concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proportional_sampling_writes_the_product_of_the_probabilities_into_the_trace_state() {
    let sink = Sink::start().await;
    let collector = Collector::start(&fixture("sample/proportional.toml"), &[("AEGIS_TEST_SINK", sink.endpoint())]);
    let span = |name: &str, randomness: u64, state: &str| Span {
        trace_id: id_with_randomness(randomness),
        span_id: vec![1; 8],
        name: name.into(),
        start_time_unix_nano: START,
        end_time_unix_nano: START + MS,
        trace_state: state.into(),
        ..Default::default()
    };
    send_traces(
        &collector,
        vec![
            // 25 % of everything: th:c.
            span("unsampled-upstream", 0xe0_0000_0000_0000, ""),
            span("below-25-percent", 0xb0_0000_0000_0000, ""),
            // Half of it passed a 50 % sampler upstream: 12.5 % in all, th:e.
            span("sampled-upstream", 0xf0_0000_0000_0000, "ot=th:8,vendor=abc"),
            span("below-12-percent", 0xd0_0000_0000_0000, "ot=th:8"),
            // Explicit randomness decides instead of the trace id, and stays.
            span("explicit-randomness", 0, "ot=rv:fc000000000000"),
        ],
    )
    .await;
    sink.wait_for(Duration::from_secs(20), "three spans", |sink| sink.spans().len() >= 3).await;
    // Give a wrongly kept span the time to arrive too.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut out: Vec<(String, String)> = sink.spans().into_iter().map(|s| (s.name, s.trace_state)).collect();
    out.sort();
    assert_eq!(
        out,
        [
            ("explicit-randomness".to_string(), "ot=th:c;rv:fc000000000000".to_string()),
            ("sampled-upstream".to_string(), "ot=th:e,vendor=abc".to_string()),
            ("unsampled-upstream".to_string(), "ot=th:c".to_string()),
        ]
    );
    let (status, logs) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_sampling_keeps_whole_failing_and_slow_traces_once_their_wait_is_over() {
    let sink = Sink::start().await;
    let collector = Collector::start(&fixture("sample/tail.toml"), &[("AEGIS_TEST_SINK", sink.endpoint())]);
    let ids = trace_ids(23, 3);
    let mut failing = users_trace(&ids[0], 45);
    failing[2] = failed(failing[2].clone());
    let root = failing.remove(0);
    let slow = users_trace(&ids[1], 1500);
    let mut first = [failing, slow].concat();
    first.extend(ids[2..22].iter().flat_map(|id| users_trace(id, 45)));
    send_traces(&collector, first).await;
    // The failing trace's root span comes in a later request, as from another service.
    tokio::time::sleep(Duration::from_millis(200)).await;
    send_traces(&collector, vec![root]).await;
    // Nothing comes out while the traces wait; and a processor only runs when a batch
    // arrives, so the decision waits for the next one after the second is over.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(sink.spans().is_empty(), "spans came out before their wait was over");
    send_traces(&collector, users_trace(&ids[22], 45)).await;

    sink.wait_for(Duration::from_secs(20), "two whole traces", |sink| sink.spans().len() >= 8).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let out = sink.spans();
    assert_eq!(out.len(), 8);
    assert_eq!(trace_id_set(&out), [ids[0].clone(), ids[1].clone()].into_iter().collect());
    for id in &ids[..2] {
        let mut names: Vec<&str> = out.iter().filter(|s| &s.trace_id == id).map(|s| s.name.as_str()).collect();
        names.sort();
        assert_eq!(names, ["auth.verify", "db.insert", "http.request", "policy.evaluate"]);
    }
    let traces = |decision: &str, reason: &str| {
        format!(
            "aegis_plugin_sample_tail_traces_total{{decision=\"{decision}\",plugin=\"sample\",reason=\"{reason}\"}}"
        )
    };
    collector.wait_metric(&traces("kept", "errors"), 1.0);
    collector.wait_metric(&traces("kept", "slow"), 1.0);
    collector.wait_metric(&traces("dropped", "no_policy"), 20.0);
    // The last trace is still waiting for its decision.
    collector.wait_metric("aegis_plugin_sample_tail_buffered_traces{plugin=\"sample\"}", 1.0);
    let (status, logs) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticks_decide_traces_in_an_idle_pipeline() {
    let sink = Sink::start().await;
    let collector = Collector::start(
        &fixture("sample/tail-ticks.toml"),
        &[("AEGIS_TEST_SINK", sink.endpoint()), ("AEGIS_TEST_WAIT", "300ms".into())],
    );
    let ids = trace_ids(1, 41);
    send_traces(&collector, users_trace(&ids[0], 45)).await;
    // No other batch comes: the processor's tick decides once the wait is over.
    sink.wait_for(Duration::from_secs(20), "the trace, decided on a tick", |sink| sink.spans().len() >= 4).await;
    assert_eq!(trace_id_set(&sink.spans()), [ids[0].clone()].into_iter().collect());
    collector
        .wait_metric("aegis_plugin_sample_tail_traces_total{decision=\"kept\",plugin=\"sample\",reason=\"all\"}", 1.0);
    let (status, logs) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{logs}");
    assert_eq!(sink.spans().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_held_at_shutdown_are_decided_and_sent_before_the_collector_exits() {
    let sink = Sink::start().await;
    let collector = Collector::start(
        &fixture("sample/tail-ticks.toml"),
        &[("AEGIS_TEST_SINK", sink.endpoint()), ("AEGIS_TEST_WAIT", "1h".into())],
    );
    let ids = trace_ids(3, 42);
    send_traces(&collector, ids.iter().flat_map(|id| users_trace(id, 45)).collect()).await;
    collector.wait_metric("aegis_plugin_sample_tail_buffered_traces{plugin=\"sample\"}", 3.0);
    assert!(sink.spans().is_empty(), "decided before the hour was over");
    // SIGTERM: the pipeline drains, the last tick hands the held traces over, the exporter
    // sends them, and only then does the collector exit.
    let (status, logs) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{logs}");
    let out = sink.spans();
    assert_eq!(out.len(), 12, "every span of the three held traces");
    assert_eq!(trace_id_set(&out), ids.into_iter().collect());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_workers_decide_every_trace_whole() {
    let sink = Sink::start().await;
    let collector = Collector::start(
        &fixture("sample/tail-workers.toml"),
        &[("AEGIS_TEST_SINK", sink.endpoint()), ("AEGIS_TEST_PARTITION", "trace_id".into())],
    );
    // Twenty traces, each failing in one span; every request carries one span of each
    // trace, and the requests come far enough apart to be batches of their own, which the
    // four workers share.
    let ids = trace_ids(20, 7);
    let traces: Vec<Vec<Span>> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| {
            let mut spans = users_trace(id, 45);
            spans[n % 4] = failed(spans[n % 4].clone());
            spans
        })
        .collect();
    for request in 0..4 {
        send_traces(&collector, traces.iter().map(|spans| spans[request].clone()).collect()).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sink.wait_for(Duration::from_secs(20), "all eighty spans", |sink| sink.spans().len() >= 80).await;
    let kept = "aegis_plugin_sample_tail_traces_total{decision=\"kept\",plugin=\"sample\",reason=\"errors\"}";
    collector.wait_metric(kept, 20.0);
    let out = sink.spans();
    assert_eq!(out.len(), 80, "every span of every trace, once");
    for id in &ids {
        assert_eq!(out.iter().filter(|s| &s.trace_id == id).count(), 4, "trace {id:02x?} whole");
    }
    let (status, logs) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_balancing_exporter_takes_its_endpoints_from_dns() {
    // A sink on 127.0.0.1 and, at the same port, one on ::1 where the machine has it:
    // `localhost` resolves to one or both, and each address is an endpoint.
    let first = Sink::start().await;
    let port = first.address.port();
    let resolved: BTreeSet<std::net::IpAddr> =
        tokio::net::lookup_host(("localhost", port)).await.expect("localhost resolves").map(|a| a.ip()).collect();
    let mut sinks = vec![first];
    for ip in &resolved {
        if *ip != std::net::IpAddr::from([127, 0, 0, 1]) {
            sinks.push(Sink::start_on((*ip, port).into()).await.expect("a sink at every address of localhost"));
        }
    }
    assert!(resolved.contains(&std::net::IpAddr::from([127, 0, 0, 1])), "localhost is 127.0.0.1: {resolved:?}");
    let collector = Collector::start(&fixture("balance-dns.toml"), &[("AEGIS_TEST_SINK_PORT", port.to_string())]);
    collector.wait_metric("aegis_exporter_endpoints{exporter=\"tails\"}", resolved.len() as f64);
    let ids = trace_ids(20, 52);
    let traces: Vec<Vec<Span>> = ids.iter().map(|id| users_trace(id, 45)).collect();
    send_traces(&collector, traces.iter().flat_map(|t| t[..2].to_vec()).collect()).await;
    send_traces(&collector, traces.iter().flat_map(|t| t[2..].to_vec()).collect()).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while sinks.iter().map(|s| s.spans().len()).sum::<usize>() < 80 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got: Vec<Vec<Span>> = sinks.iter().map(Sink::spans).collect();
    assert_eq!(got.iter().map(Vec::len).sum::<usize>(), 80, "every span, once");
    let sets: Vec<BTreeSet<Vec<u8>>> = got.iter().map(|spans| trace_id_set(spans)).collect();
    for (i, a) in sets.iter().enumerate() {
        for b in &sets[i + 1..] {
            assert!(a.is_disjoint(b), "a trace went to two endpoints");
        }
    }
    collector.wait_metric("aegis_exporter_sent_items_total{exporter=\"tails\",pipeline=\"traces\"}", 80.0);
    collector.wait_metric("aegis_exporter_resolve_failures_total{exporter=\"tails\"}", 0.0);
    let (status, logs) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_balancing_exporter_sends_each_trace_whole_to_one_of_its_endpoints() {
    let (a, b) = (Sink::start().await, Sink::start().await);
    let collector = Collector::start(
        &fixture("balance.toml"),
        &[("AEGIS_TEST_SINK_A", a.endpoint()), ("AEGIS_TEST_SINK_B", b.endpoint())],
    );
    let ids = trace_ids(20, 51);
    // Each trace's spans arrive in two requests, as from two services.
    let traces: Vec<Vec<Span>> = ids.iter().map(|id| users_trace(id, 45)).collect();
    send_traces(&collector, traces.iter().flat_map(|t| t[..2].to_vec()).collect()).await;
    send_traces(&collector, traces.iter().flat_map(|t| t[2..].to_vec()).collect()).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while a.spans().len() + b.spans().len() < 80 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (got_a, got_b) = (a.spans(), b.spans());
    assert_eq!(got_a.len() + got_b.len(), 80);
    let (in_a, in_b) = (trace_id_set(&got_a), trace_id_set(&got_b));
    assert!(in_a.is_disjoint(&in_b), "a trace went to both endpoints");
    assert!(!in_a.is_empty() && !in_b.is_empty(), "one endpoint got everything");
    for id in &ids {
        let spans = got_a.iter().chain(&got_b).filter(|s| &s.trace_id == id).count();
        assert_eq!(spans, 4, "a trace arrived in part");
    }
    collector.wait_metric("aegis_exporter_sent_items_total{exporter=\"tails\",pipeline=\"traces\"}", 80.0);
    let (status, logs) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{logs}");
}
