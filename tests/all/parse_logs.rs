//! The parse-logs plugin in a real `aegis run`: log lines from the fixture files go in as
//! record bodies over OTLP/gRPC, as a file receiver would send them; the tests check the
//! exact records that reach the sink (time, severity, ids, body, typed attributes, the
//! resource's `service.name`), that lines which do not parse pass (or are dropped) and
//! that everything is counted.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value::Value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;

use crate::support::{Collector, Sink, fixture, free_port, kv};

const OBSERVED: u64 = 1_706_193_100_000_000_000;
const PATH: &str = "/var/log/aegis/app.log";

/// The lines of a fixture file under `tests/fixtures/parse-logs`.
fn fixture_lines(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(fixture(&format!("parse-logs/{name}"))).expect("fixture");
    text.lines().map(String::from).collect()
}

/// A request as a file receiver sends lines: one resource (tagged with the fixture's
/// format, so the test can tell the pipelines apart), one scope, a record per line.
fn request(format: &str, lines: &[String]) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![kv("host.name", "node-1"), kv("test.format", format)],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope { name: "file-logs".into(), ..Default::default() }),
                log_records: lines
                    .iter()
                    .map(|line| LogRecord {
                        observed_time_unix_nano: OBSERVED,
                        body: Some(string(line)),
                        attributes: vec![kv("log.file.path", PATH)],
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

async fn send(port: u16, request: ExportLogsServiceRequest) {
    let mut client = LogsServiceClient::connect(format!("http://127.0.0.1:{port}")).await.expect("connect");
    client.export(request).await.expect("the batch is accepted");
}

fn string(s: &str) -> AnyValue {
    AnyValue { value: Some(Value::StringValue(s.into())) }
}

fn attr(key: &str, value: Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

fn s(key: &str, value: &str) -> KeyValue {
    attr(key, Value::StringValue(value.into()))
}

fn int(key: &str, value: i64) -> KeyValue {
    attr(key, Value::IntValue(value))
}

fn list(entries: Vec<KeyValue>) -> Value {
    Value::KvlistValue(KeyValueList { values: entries })
}

/// A record as the plugin should emit it: the input's observed time and file path, then
/// the parsed attributes.
fn parsed(time: u64, severity: (i32, &str), body: &str, attributes: Vec<KeyValue>) -> LogRecord {
    LogRecord {
        time_unix_nano: time,
        observed_time_unix_nano: OBSERVED,
        severity_number: severity.0,
        severity_text: severity.1.into(),
        body: Some(string(body)),
        attributes: [vec![kv("log.file.path", PATH)], attributes].concat(),
        ..Default::default()
    }
}

/// A record as it came in (a line that did not parse), with these extra attributes.
fn unparsed(line: &str, extra: Vec<KeyValue>) -> LogRecord {
    parsed(0, (0, ""), line, extra)
}

fn padded_id(short: &[u8]) -> Vec<u8> {
    [vec![0; 16 - short.len()], short.to_vec()].concat()
}

/// The resources that arrived for `format`, in order: (service.name, records).
fn arrived(sink: &Sink, format: &str) -> Vec<(Option<String>, Vec<LogRecord>)> {
    sink.with(|received| {
        received
            .logs
            .iter()
            .flat_map(|r| &r.resource_logs)
            .filter(|r| {
                let attrs = r.resource.as_ref().map(|r| &r.attributes[..]).unwrap_or_default();
                attrs.iter().any(|a| *a == kv("test.format", format))
            })
            .map(|r| {
                let attrs = &r.resource.as_ref().unwrap().attributes;
                let service = attrs.iter().find(|a| a.key == "service.name").map(|a| match &a.value {
                    Some(AnyValue { value: Some(Value::StringValue(s)) }) => s.clone(),
                    other => format!("{other:?}"),
                });
                (service, r.scope_logs.iter().flat_map(|s| s.log_records.clone()).collect())
            })
            .collect()
    })
}

async fn wait_records(sink: &Sink, format: &str, n: usize) {
    let count = |sink: &Sink| arrived(sink, format).iter().map(|(_, r)| r.len()).sum::<usize>();
    sink.wait_for(Duration::from_secs(20), &format!("{n} {format} records"), |sink| count(sink) >= n).await;
    assert_eq!(count(sink), n, "{format}: {:#?}", arrived(sink, format));
}

fn lines_metric(plugin: &str, result: &str) -> String {
    format!("aegis_plugin_parse_logs_lines_total{{plugin=\"{plugin}\",result=\"{result}\"}}")
}

/// Nanoseconds of midnight, January 1 of the current UTC year: the fixtures of formats
/// without a year are dated January 1, so they always read as this year.
fn this_new_year() -> u64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let (mut start, mut year) = (0u64, 1970u64);
    loop {
        let days = if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 { 366 } else { 365 };
        if start + days * 86_400 > now {
            return start * 1_000_000_000;
        }
        start += days * 86_400;
        year += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aegis_json_lines_arrive_as_structured_records_under_their_services() {
    let sink = Sink::start().await;
    let collector = Collector::start(&fixture("parse-logs/json.toml"), &[("AEGIS_TEST_SINK", sink.endpoint())]);
    let lines = fixture_lines("aegis-services.log");
    send(collector.grpc.port(), request("json", &lines)).await;
    wait_records(&sink, "json", 9).await;

    let short_trace = padded_id(&[0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6]);
    let full_trace =
        vec![0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18, 0x29, 0x3a, 0x4b, 0x5c, 0x6d, 0x7e, 0x8f, 0x90];
    let backend = vec![
        LogRecord {
            trace_id: short_trace.clone(),
            ..parsed(
                1_706_193_045_123_000_000,
                (9, "info"),
                "User created successfully",
                vec![
                    s("method", "POST"),
                    s("path", "/api/v1/users"),
                    int("status_code", 201),
                    int("duration_ms", 45),
                    s("user_id", "admin-uuid"),
                ],
            )
        },
        LogRecord {
            trace_id: full_trace,
            span_id: vec![1, 2, 3, 4, 5, 6, 7, 8],
            ..parsed(
                1_706_193_047_500_000_000,
                (17, "error"),
                "Error: Connection pool exhausted",
                vec![
                    attr("pool", list(vec![int("size", 20), int("waiting", 57)])),
                    attr("retryable", Value::BoolValue(true)),
                ],
            )
        },
        parsed(
            1_706_193_080_000_000_000,
            (9, "info"),
            "Benutzer angemeldet ✅ 用户登录成功 🎉 cafe\u{301} n\u{303}",
            vec![s("user_id", "ユーザー-42"), s("locale", "de-DE")],
        ),
    ];
    let ai = vec![LogRecord {
        trace_id: short_trace.clone(),
        ..parsed(
            1_706_193_060_000_000_000,
            (13, "warning"),
            "Anomaly detected: api latency p99 z-score 4.2",
            vec![
                attr("z_score", Value::DoubleValue(4.2)),
                s("severity", "high"),
                attr(
                    "metrics",
                    Value::ArrayValue(ArrayValue {
                        values: vec![string("http_request_duration_seconds"), string("http_requests_total")],
                    }),
                ),
            ],
        )
    }];
    let executor = vec![
        LogRecord {
            trace_id: short_trace,
            ..parsed(
                1_706_193_075_250_000_000,
                (9, "info"),
                "Remediation completed: scaled aegis-backend to 5 replicas",
                vec![
                    s("action", "scale_up"),
                    int("replicas", 5),
                    attr("dry_run", Value::BoolValue(false)),
                    int("duration_ms", 1840),
                ],
            )
        },
        // A trace id that is not hex stays an attribute; JSON null is an empty value.
        parsed(
            1_706_193_081_000_000_000,
            (21, "critical"),
            "Rollback failed",
            vec![
                KeyValue { key: "error".into(), value: Some(AnyValue { value: None }), ..Default::default() },
                s("trace_id", "not-a-trace-id"),
            ],
        ),
    ];
    // The three lines that do not parse stay, unchanged but for the reason, in the
    // resource as it came (which names no service, since they name none); the parsed
    // ones moved to a copy of it per service, in the order their services first appear.
    let failures = vec![
        unparsed(&lines[6], vec![s("parse.error", "json: EOF while parsing a string at line 1 column 112")]),
        unparsed(&lines[7], vec![s("parse.error", "json: expected value at line 1 column 1")]),
        unparsed(&lines[8], vec![s("parse.error", "json: trailing comma at line 1 column 47")]),
    ];
    let got = arrived(&sink, "json");
    let want = vec![
        (None, failures),
        (Some("aegis-backend".to_string()), backend),
        (Some("aegis-ai-engine".to_string()), ai),
        (Some("aegis-executor".to_string()), executor),
    ];
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for (got, want) in got.iter().zip(&want) {
        assert_eq!(got.0, want.0);
        for (got, want) in got.1.iter().zip(&want.1) {
            assert_eq!(got, want);
        }
        assert_eq!(got.1.len(), want.1.len());
    }
    // The copies keep the resource's other attributes.
    let resources = sink.with(|r| r.logs.iter().flat_map(|r| r.resource_logs.clone()).collect::<Vec<_>>());
    assert!(resources.iter().all(|r| r.resource.as_ref().unwrap().attributes.contains(&kv("host.name", "node-1"))));

    collector.wait_metric(&lines_metric("parse", "parsed"), 6.0);
    collector.wait_metric(&lines_metric("parse", "failed"), 3.0);
    collector.wait_metric("aegis_plugin_parse_logs_invalid_fields_total{field=\"trace_id\",plugin=\"parse\"}", 1.0);
    let (status, logs) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_kb_line_is_parsed_whole() {
    let sink = Sink::start().await;
    let collector = Collector::start(&fixture("parse-logs/json.toml"), &[("AEGIS_TEST_SINK", sink.endpoint())]);
    let lines = fixture_lines("huge.log");
    let message: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    let message = message["message"].as_str().unwrap().to_string();
    assert!(message.len() >= 100 * 1024 - 4);
    send(collector.grpc.port(), request("huge", &lines)).await;
    wait_records(&sink, "huge", 1).await;
    let got = arrived(&sink, "huge");
    assert_eq!(got[0].0.as_deref(), Some("aegis-ai-engine"));
    assert_eq!(
        got[0].1[0],
        parsed(1_706_193_120_000_000_000, (5, "debug"), &message, vec![s("model", "isolation-forest-v3")])
    );
    collector.wait_metric(&lines_metric("parse", "parsed"), 1.0);
    let (status, logs) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{logs}");
}

/// The formats of `formats.toml`, each with its own receiver port.
const FORMATS: [&str; 7] = ["nginx", "apache", "syslog5424", "syslog3164", "klog", "logfmt", "cri"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_syslog_klog_logfmt_and_cri_lines_arrive_as_structured_records() {
    let sink = Sink::start().await;
    let ports: Vec<(String, u16)> =
        FORMATS.iter().map(|f| (format!("AEGIS_TEST_PORT_{}", f.to_uppercase()), free_port())).collect();
    let mut env: Vec<(&str, String)> = ports.iter().map(|(k, p)| (k.as_str(), format!("127.0.0.1:{p}"))).collect();
    env.push(("AEGIS_TEST_SINK", sink.endpoint()));
    let collector = Collector::start(&fixture("parse-logs/formats.toml"), &env);
    let port = |format: &str| ports[FORMATS.iter().position(|f| *f == format).unwrap()].1;
    for (format, file) in [
        ("nginx", "nginx.log"),
        ("apache", "apache.log"),
        ("syslog5424", "syslog-rfc5424.log"),
        ("syslog3164", "syslog-rfc3164.log"),
        ("klog", "klog.log"),
        ("logfmt", "logfmt.log"),
        ("cri", "cri-first.log"),
    ] {
        send(port(format), request(format, &fixture_lines(file))).await;
    }
    // The CRI piece left pending by the first request is completed by the second.
    wait_records(&sink, "cri", 3).await;
    send(port("cri"), request("cri", &fixture_lines("cri-second.log"))).await;

    let http = |method: &str, path: &str, version: &str| {
        vec![
            s("http.request.method", method),
            s("url.path", path),
            s("network.protocol.name", "http"),
            s("network.protocol.version", version),
        ]
    };
    let nginx_lines = fixture_lines("nginx.log");
    wait_records(&sink, "nginx", 4).await;
    let nginx = &arrived(&sink, "nginx")[0].1;
    let mut first = vec![s("client.address", "203.0.113.7")];
    first.extend(http("POST", "/api/v1/users", "1.1"));
    first.insert(3, s("url.query", "tenant=acme"));
    first.extend([
        int("http.response.status_code", 201),
        int("http.response.body.size", 512),
        s("http.request.header.referer", "https://app.aegis.example/signup"),
        s("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"),
    ]);
    let mut second = vec![s("client.address", "10.0.0.12"), s("user.name", "alice")];
    second.extend(http("GET", "/api/v1/users/42", "2.0"));
    second.extend([
        int("http.response.status_code", 404),
        int("http.response.body.size", 0),
        s("user_agent.original", "curl/8.5.0"),
        s("http.request.header.x-forwarded-for", "198.51.100.23, 10.0.0.1"),
    ]);
    let third = vec![
        s("client.address", "192.0.2.44"),
        s("http.request.line", r"\x16\x03\x01\x02\x00\x01\x00\x01\xFC\x03\x03"),
        int("http.response.status_code", 400),
        int("http.response.body.size", 157),
    ];
    // Access logs keep the line as the body; nginx has no error_attribute configured.
    assert_eq!(
        nginx,
        &vec![
            parsed(1_706_193_045_000_000_000, (0, ""), &nginx_lines[0], first),
            parsed(1_706_193_046_000_000_000, (0, ""), &nginx_lines[1], second),
            parsed(1_706_193_047_000_000_000, (0, ""), &nginx_lines[2], third),
            unparsed(&nginx_lines[3], vec![]),
        ]
    );

    // Apache drops what does not parse.
    let apache_lines = fixture_lines("apache.log");
    wait_records(&sink, "apache", 2).await;
    let mut common = vec![s("client.address", "127.0.0.1"), s("user.name", "frank")];
    common.extend(http("GET", "/apache_pb.gif", "1.0"));
    common.extend([int("http.response.status_code", 200), int("http.response.body.size", 2326)]);
    let mut combined = vec![s("client.address", "198.51.100.9")];
    combined.extend(http("GET", "/metrics", "1.1"));
    combined.extend([int("http.response.status_code", 200), s("user_agent.original", "Prometheus/2.48.0")]);
    assert_eq!(
        arrived(&sink, "apache")[0].1,
        vec![
            parsed(971_211_336_000_000_000, (0, ""), &apache_lines[0], common),
            parsed(1_706_193_045_000_000_000, (0, ""), &apache_lines[1], combined),
        ]
    );

    let rfc5424_lines = fixture_lines("syslog-rfc5424.log");
    wait_records(&sink, "syslog5424", 4).await;
    assert_eq!(
        arrived(&sink, "syslog5424")[0].1,
        vec![
            parsed(
                1_706_193_045_123_000_000,
                (10, "notice"),
                "Pod restarted",
                vec![
                    int("syslog.facility", 20),
                    int("syslog.version", 1),
                    s("syslog.hostname", "node-1"),
                    s("syslog.appname", "aegis-executor"),
                    s("syslog.procid", "4242"),
                    s("syslog.msgid", "REMEDIATE"),
                    attr(
                        "syslog.structured_data",
                        list(vec![attr(
                            "action@32473",
                            list(vec![s("kind", "restart_pod"), s("target", "aegis-backend-7d9f")]),
                        )]),
                    ),
                ],
            ),
            parsed(
                1_706_193_046_000_000_000,
                (17, "err"),
                "Database connection lost",
                vec![
                    int("syslog.facility", 1),
                    int("syslog.version", 1),
                    s("syslog.hostname", "node-2"),
                    s("syslog.appname", "aegis-backend")
                ],
            ),
            // Every header field nil and no message: the body stays the line.
            parsed(0, (22, "crit"), &rfc5424_lines[2], vec![int("syslog.facility", 4), int("syslog.version", 1)]),
            unparsed(&rfc5424_lines[3], vec![s("parse.error", "syslog: bad timestamp `2024-01-25`")]),
        ]
    );

    let new_year = this_new_year();
    let second_ns = 1_000_000_000;
    wait_records(&sink, "syslog3164", 4).await;
    assert_eq!(
        arrived(&sink, "syslog3164")[0].1,
        vec![
            parsed(
                new_year + 5 * second_ns,
                (22, "crit"),
                "Failed password for root from 203.0.113.50 port 51234 ssh2",
                vec![
                    int("syslog.facility", 4),
                    s("syslog.hostname", "node-1"),
                    s("syslog.appname", "sshd"),
                    s("syslog.procid", "2211")
                ],
            ),
            parsed(
                new_year + 6 * second_ns,
                (0, ""),
                "Out of memory: Killed process 4242 (aegis-ai-engine)",
                vec![s("syslog.hostname", "node-1"), s("syslog.appname", "kernel")],
            ),
            parsed(
                new_year + 7 * second_ns,
                (10, "notice"),
                "(root) CMD (/usr/local/bin/backup.sh)",
                vec![
                    int("syslog.facility", 1),
                    s("syslog.hostname", "node-2"),
                    s("syslog.appname", "CRON"),
                    s("syslog.procid", "100")
                ],
            ),
            unparsed("garbage line", vec![s("parse.error", "syslog: bad timestamp `garbage line`")]),
        ]
    );

    let location = |thread: i64, file: &str, line: i64| {
        vec![int("thread.id", thread), s("code.file.path", file), int("code.line.number", line)]
    };
    wait_records(&sink, "klog", 4).await;
    assert_eq!(
        arrived(&sink, "klog")[0].1,
        vec![
            parsed(
                new_year + 5 * second_ns + 123_456_000,
                (9, "INFO"),
                "Pod status updated",
                [
                    location(4321, "controller.go", 123),
                    vec![s("pod", "aegis/aegis-backend-7d9f"), s("status", "ready")]
                ]
                .concat(),
            ),
            parsed(
                new_year + 6 * second_ns + 1_000,
                (17, "ERROR"),
                "failed to list *v1.Pod: connection refused",
                location(1, "reflector.go", 424),
            ),
            parsed(
                new_year + 7 * second_ns + 500_000_000,
                (13, "WARNING"),
                "Nodes: node-1 memory pressure",
                location(77, "kubelet.go", 2112),
            ),
            unparsed("not klog", vec![s("parse.error", "klog: the line does not start with I, W, E or F")]),
        ]
    );

    // logfmt values are strings; a bare key is a flag. The service moves the parsed
    // records to a copy of the resource; the failure stays.
    wait_records(&sink, "logfmt", 3).await;
    let logfmt = arrived(&sink, "logfmt");
    assert_eq!(
        logfmt[0],
        (None, vec![unparsed("just words", vec![s("parse.error", "logfmt: no key=value pair in the line")])])
    );
    assert_eq!(
        logfmt[1],
        (
            Some("aegis-backend".to_string()),
            vec![
                LogRecord {
                    trace_id: padded_id(&[0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6]),
                    ..parsed(
                        1_706_193_045_123_000_000,
                        (9, "info"),
                        "User created successfully",
                        vec![s("method", "POST"), s("status_code", "201"), s("duration_ms", "45")],
                    )
                },
                parsed(
                    1_706_193_046_000_000_000,
                    (17, "error"),
                    "Prediction failed: \"model not loaded\"",
                    vec![s("model", "isolation-forest-v3"), attr("retry", Value::BoolValue(true))],
                ),
            ]
        )
    );

    wait_records(&sink, "cri", 5).await;
    let cri: Vec<LogRecord> = arrived(&sink, "cri").into_iter().flat_map(|(_, r)| r).collect();
    let stream = |name: &str, tag: &str| vec![s("log.iostream", name), s("logtag", tag)];
    assert_eq!(
        cri,
        vec![
            parsed(1_706_193_045_000_000_001, (0, ""), r#"{"level":"info","message":"ready"}"#, stream("stdout", "F")),
            parsed(1_706_193_045_100_000_001, (0, ""), "panic: runtime error", stream("stderr", "F")),
            parsed(1_706_193_045_100_000_000, (0, ""), "first part, second part, last part", stream("stdout", "F")),
            parsed(1_706_193_046_000_000_000, (0, ""), "held across requests, and completed", stream("stdout", "F")),
            unparsed("bad cri line", vec![s("parse.error", "cri: bad timestamp `bad`")]),
        ]
    );

    for (plugin, parsed, failed) in [
        ("nginx", 3.0, 1.0),
        ("apache", 2.0, 1.0),
        ("syslog5424", 3.0, 1.0),
        ("syslog3164", 3.0, 1.0),
        ("klog", 3.0, 1.0),
        ("logfmt", 2.0, 1.0),
        ("cri", 7.0, 1.0),
    ] {
        collector.wait_metric(&lines_metric(plugin, "parsed"), parsed);
        collector.wait_metric(&lines_metric(plugin, "failed"), failed);
    }
    collector.wait_metric("aegis_plugin_parse_logs_partial_lines_total{plugin=\"cri\",result=\"joined\"}", 2.0);
    let (status, logs) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{logs}");
}
