//! Tests of the condition language: what matches which record, and what each mistake in
//! a condition is told.

use aegis_wire::{
    LogRecordData, Logs, LogsData, MetricData, MetricKindData, Metrics, MetricsData, NumberPointData, NumberValue,
    ResourceData, ResourceLogsData, ResourceMetricsData, ResourceSpansData, ScopeData, ScopeLogsData, ScopeMetricsData,
    ScopeSpansData, SpanData, Traces, TracesData, Value, attributes,
};

use super::{Condition, Context};
use crate::Signal;

fn resource() -> Option<ResourceData> {
    Some(ResourceData {
        attributes: attributes([("service.name", Value::from("checkout")), ("k8s.pod.uid", Value::Int(7))]),
        ..Default::default()
    })
}

fn scope() -> Option<ScopeData> {
    Some(ScopeData { name: "io.opentelemetry.jdbc".into(), version: "1.2.0".into(), ..Default::default() })
}

/// Whether `condition` (parsed for logs) matches `record`.
fn log(condition: &str, record: LogRecordData) -> bool {
    let condition = Condition::parse_for(condition, Signal::Logs).unwrap_or_else(|e| panic!("{condition}: {e}"));
    let bytes = LogsData {
        resource_logs: vec![ResourceLogsData {
            resource: resource(),
            scope_logs: vec![ScopeLogsData { scope: scope(), log_records: vec![record], ..Default::default() }],
            ..Default::default()
        }],
    }
    .encode();
    let mut logs = Logs::parse(&bytes).unwrap();
    let record = logs.records_mut().next().unwrap();
    condition.matches_log(&record)
}

/// A record at `severity` with body `body` and attributes.
fn record(severity: i32, body: &str, attrs: Vec<(&str, Value)>) -> LogRecordData {
    LogRecordData {
        severity_number: severity,
        severity_text: if severity == 0 { String::new() } else { "sev".into() },
        body: Some(Value::from(body)),
        attributes: attributes(attrs),
        ..Default::default()
    }
}

fn span_matches(condition: &str, span: SpanData) -> bool {
    let condition = Condition::parse_for(condition, Signal::Traces).unwrap_or_else(|e| panic!("{condition}: {e}"));
    let bytes = TracesData {
        resource_spans: vec![ResourceSpansData {
            resource: resource(),
            scope_spans: vec![ScopeSpansData { scope: scope(), spans: vec![span], ..Default::default() }],
            ..Default::default()
        }],
    }
    .encode();
    let mut traces = Traces::parse(&bytes).unwrap();
    let span = traces.spans_mut().next().unwrap();
    condition.matches_span(&span)
}

const MS: u64 = 1_000_000;

fn span(name: &str, kind: i32, millis: u64, status: i32) -> SpanData {
    SpanData {
        trace_id: vec![0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18, 0x29, 0x3a, 0x4b, 0x5c, 0x6d, 0x7e, 0x8f, 0x90],
        span_id: vec![1, 2, 3, 4, 5, 6, 7, 8],
        name: name.into(),
        kind,
        start_time_unix_nano: 1_706_193_045_000_000_000,
        end_time_unix_nano: 1_706_193_045_000_000_000 + millis * MS,
        attributes: attributes([("http.route", Value::from("/api/v1/users"))]),
        status_code: status,
        status_message: if status == 2 { "connection refused".into() } else { String::new() },
        ..Default::default()
    }
}

fn metrics_request(metrics: Vec<MetricData>) -> Vec<u8> {
    MetricsData {
        resource_metrics: vec![ResourceMetricsData {
            resource: resource(),
            scope_metrics: vec![ScopeMetricsData { scope: scope(), metrics, ..Default::default() }],
            ..Default::default()
        }],
    }
    .encode()
}

fn gauge(name: &str, points: Vec<Vec<(&str, Value)>>) -> MetricData {
    MetricData {
        name: name.into(),
        description: "Open connections".into(),
        unit: "{connection}".into(),
        data: MetricKindData::Gauge(
            points
                .into_iter()
                .map(|attrs| NumberPointData {
                    attributes: attributes(attrs),
                    start_time_unix_nano: 0,
                    time_unix_nano: 1,
                    value: NumberValue::Int(1),
                    flags: 0,
                })
                .collect(),
        ),
        metadata: vec![],
    }
}

/// The names of the metrics that match `condition`, parsed for whole metrics.
fn matching_metrics(condition: &str, metrics: Vec<MetricData>) -> Vec<String> {
    let condition = Condition::parse_for(condition, Context::Metric).unwrap_or_else(|e| panic!("{condition}: {e}"));
    let bytes = metrics_request(metrics);
    let mut metrics = Metrics::parse(&bytes).unwrap();
    metrics.metrics_mut().filter(|m| condition.matches_metric(m)).map(|m| m.name().to_owned()).collect()
}

/// The message of the error `text` gets when parsed for `context`.
fn error(text: &str, context: impl Into<Context>) -> String {
    match Condition::parse_for(text, context) {
        Ok(c) => panic!("{text:?} parsed as {c:?}"),
        Err(e) => {
            assert_eq!(e.kind(), crate::ErrorKind::Config);
            e.message().to_owned()
        }
    }
}

#[test]
fn severity_names_stand_for_their_four_numbers() {
    let at = |condition: &str, severity: i32| log(condition, record(severity, "x", vec![]));
    // DEBUG is 5-8, INFO 9-12, WARN 13-16, ERROR 17-20.
    assert!(at("severity < INFO", 5));
    assert!(at("severity < INFO", 8));
    assert!(!at("severity < INFO", 9));
    assert!(at("severity <= INFO", 12));
    assert!(!at("severity <= INFO", 13));
    assert!(at("severity == ERROR", 17));
    assert!(at("severity == ERROR", 20));
    assert!(!at("severity == ERROR", 21));
    assert!(at("severity != ERROR", 21));
    assert!(at("severity > WARN", 17));
    assert!(!at("severity > WARN", 16));
    assert!(at("severity >= WARN", 13));
    assert!(at("severity >= warn", 13), "names are not case-sensitive");
    assert!(at("severity in [TRACE, FATAL]", 23));
    assert!(!at("severity in [TRACE, FATAL]", 9));
    // Numbers are exact.
    assert!(at("severity == 18", 18));
    assert!(!at("severity == 17", 18));
}

#[test]
fn records_without_a_severity_have_none_to_compare() {
    let unspecified = || record(0, "x", vec![]);
    assert!(!log("severity < INFO", unspecified()));
    assert!(log("severity != INFO", unspecified()));
    assert!(log("not severity exists", unspecified()));
    assert!(!log("severity_text exists", unspecified()));
    assert!(log("severity_text == \"sev\"", record(9, "x", vec![])));
}

#[test]
fn a_missing_attribute_fails_every_test_but_not_equal() {
    let r = || record(9, "x", vec![("present", Value::from("a"))]);
    assert!(!log(r#"attributes["absent"] == "a""#, r()));
    assert!(log(r#"attributes["absent"] != "a""#, r()));
    assert!(!log(r#"attributes["absent"] < 5"#, r()));
    assert!(!log(r#"attributes["absent"] >= 5"#, r()));
    assert!(!log(r#"attributes["absent"] in ["a", "b"]"#, r()));
    assert!(!log(r#"attributes["absent"] matches ".*""#, r()));
    assert!(!log(r#"attributes["absent"] contains """#, r()));
    assert!(!log(r#"attributes["absent"] starts_with """#, r()));
    assert!(!log(r#"attributes["absent"] exists"#, r()));
    assert!(log(r#"not attributes["absent"] exists"#, r()));
    assert!(log(r#"attributes["present"] exists"#, r()));
}

#[test]
fn values_of_another_type_compare_false_and_numbers_compare_across_int_and_float() {
    let r =
        || record(9, "x", vec![("code", Value::Int(200)), ("ratio", Value::Double(0.5)), ("ok", Value::Bool(true))]);
    assert!(!log(r#"attributes["code"] == "200""#, r()));
    assert!(log(r#"attributes["code"] != "200""#, r()));
    assert!(!log(r#"attributes["code"] matches "^2""#, r()), "regexes only see strings");
    assert!(log(r#"attributes["code"] == 200"#, r()));
    assert!(log(r#"attributes["code"] == 200.0"#, r()));
    assert!(log(r#"attributes["code"] >= 200 and attributes["code"] < 300"#, r()));
    assert!(log(r#"attributes["ratio"] < 1"#, r()));
    assert!(log(r#"attributes["ratio"] == 5e-1"#, r()));
    assert!(!log(r#"attributes["ratio"] > 0.75"#, r()));
    assert!(log(r#"attributes["ok"] == true"#, r()));
    assert!(!log(r#"attributes["ok"] == false"#, r()));
    assert!(!log(r#"attributes["ok"] == 1"#, r()));
    assert!(log(r#"attributes["code"] in [404, 200]"#, r()));
    assert!(!log(r#"attributes["code"] in ["200"]"#, r()));
}

#[test]
fn strings_compare_exactly_and_by_regex_substring_and_prefix() {
    let r = || record(9, "GET /healthz 200 OK", vec![("http.route", Value::from("/api/v1/users"))]);
    assert!(log(r#"body == "GET /healthz 200 OK""#, r()));
    assert!(!log(r#"body == "get /healthz 200 ok""#, r()));
    assert!(log(r#"body contains "/healthz""#, r()));
    assert!(log(r#"body starts_with "GET ""#, r()));
    assert!(!log(r#"body starts_with "POST""#, r()));
    assert!(log(r#"body matches "^GET /\w+ \d{3}""#, r()), "backslashes other than \\\" and \\\\ stay");
    assert!(log(r#"body matches "(?i)get""#, r()));
    assert!(!log(r#"body matches "^\d""#, r()));
    assert!(log(r#"attributes["http.route"] > "/api/v0""#, r()), "strings order bytewise");
    assert!(log(r#"attributes["http.route"] in ["/healthz", "/api/v1/users"]"#, r()));
}

#[test]
fn escapes_in_strings_reach_the_comparison() {
    let r = || record(9, r#"say "hi" \ bye"#, vec![("a\"b", Value::from("x"))]);
    assert!(log(r#"body == "say \"hi\" \\ bye""#, r()));
    assert!(log(r#"attributes["a\"b"] == "x""#, r()));
}

#[test]
fn attribute_keys_are_written_in_brackets_or_after_a_dot() {
    let r = || record(9, "x", vec![("http.route", Value::from("/healthz")), ("key with space", Value::from("v"))]);
    assert!(log(r#"attributes["http.route"] == "/healthz""#, r()));
    assert!(log(r#"attributes.http.route == "/healthz""#, r()));
    assert!(log(r#"attributes["key with space"] == "v""#, r()));
    assert!(log(r#"resource.attributes["service.name"] == "checkout""#, r()));
    assert!(log(r#"resource.attributes.service.name == "checkout""#, r()));
    assert!(log(r#"resource.attributes["k8s.pod.uid"] == 7"#, r()));
    assert!(!log(r#"attributes["service.name"] exists"#, r()), "record and resource attributes are apart");
}

#[test]
fn scope_name_and_version_are_read() {
    let r = || record(9, "x", vec![]);
    assert!(log(r#"scope.name starts_with "io.opentelemetry""#, r()));
    assert!(log(r#"scope.version == "1.2.0""#, r()));
}

#[test]
fn and_binds_tighter_than_or_and_parentheses_and_not_group() {
    let r = || record(5, "x", vec![("env", Value::from("prod"))]);
    // (severity < INFO and env == dev) or env == prod
    assert!(log(r#"severity < INFO and attributes.env == "dev" or attributes.env == "prod""#, r()));
    assert!(!log(r#"severity < INFO and (attributes.env == "dev" or attributes.env == "staging")"#, r()));
    assert!(log(r#"not (severity >= INFO or attributes.env == "dev")"#, r()));
    assert!(!log(r#"not not not severity < INFO"#, r()));
    assert!(log(r#"((severity == DEBUG))"#, r()));
}

#[test]
fn log_ids_and_event_names_are_read() {
    let r = || LogRecordData {
        trace_id: vec![0xA1; 16],
        span_id: vec![0x0f, 0, 0, 0, 0, 0, 0, 1],
        event_name: "user.login".into(),
        ..Default::default()
    };
    assert!(log(r#"trace_id == "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1""#, r()));
    assert!(log(r#"trace_id == "A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1""#, r()), "hex is not case-sensitive");
    assert!(log(r#"span_id starts_with "0f00""#, r()));
    assert!(log(r#"span_id matches "01$""#, r()));
    assert!(log(r#"event_name == "user.login""#, r()));
    assert!(!log(r#"body exists"#, r()));
    assert!(!log(r#"trace_id exists"#, LogRecordData::default()));
}

#[test]
fn span_kind_status_and_duration_are_read() {
    assert!(span_matches("kind == SERVER", span("GET", 2, 45, 0)));
    assert!(!span_matches("kind == CLIENT", span("GET", 2, 45, 0)));
    assert!(span_matches("kind in [CLIENT, PRODUCER]", span("GET", 4, 45, 0)));
    assert!(span_matches("status == UNSET", span("GET", 2, 45, 0)), "a span without a status is unset");
    assert!(span_matches("status == ERROR", span("GET", 2, 45, 2)));
    assert!(span_matches("status != OK", span("GET", 2, 45, 2)));
    assert!(span_matches(r#"status.message contains "refused""#, span("GET", 2, 45, 2)));
    assert!(span_matches("duration > 2s", span("GET", 2, 2001, 0)));
    assert!(!span_matches("duration > 2s", span("GET", 2, 2000, 0)));
    assert!(span_matches("duration >= 2s", span("GET", 2, 2000, 0)));
    assert!(span_matches("duration <= 250ms", span("GET", 2, 250, 0)));
    assert!(span_matches("duration == 1m30s", span("GET", 2, 90_000, 0)));
    assert!(span_matches("duration < 1.5s", span("GET", 2, 1499, 0)));
    assert!(span_matches(r#"name == "GET" and attributes["http.route"] starts_with "/api""#, span("GET", 2, 45, 0)));
    assert!(span_matches(r#"trace_id starts_with "a1b2c3d4""#, span("GET", 2, 45, 0)));
    assert!(span_matches(r#"span_id == "0102030405060708""#, span("GET", 2, 45, 0)));
    assert!(span_matches("not parent_span_id exists", span("GET", 2, 45, 0)), "a root span has no parent");
    assert!(span_matches(r#"resource.attributes["service.name"] == "checkout""#, span("GET", 2, 45, 0)));
    let unfinished = SpanData { end_time_unix_nano: 0, ..span("GET", 2, 45, 0) };
    assert!(!span_matches("duration < 1s", unfinished.clone()), "a span that ends before it starts has no duration");
    assert!(span_matches("not duration exists", unfinished));
}

#[test]
fn metric_name_type_unit_and_description_are_read() {
    let histogram = MetricData {
        name: "http.server.duration".into(),
        description: String::new(),
        unit: "ms".into(),
        data: MetricKindData::Encoded(9, vec![]),
        metadata: vec![],
    };
    let all = || vec![gauge("db.connections", vec![vec![]]), histogram.clone()];
    assert_eq!(matching_metrics("type == histogram", all()), ["http.server.duration"]);
    assert_eq!(matching_metrics("type != histogram", all()), ["db.connections"]);
    assert_eq!(matching_metrics("type in [gauge, sum]", all()), ["db.connections"]);
    assert_eq!(matching_metrics(r#"name starts_with "http.""#, all()), ["http.server.duration"]);
    assert_eq!(matching_metrics(r#"unit == "ms""#, all()), ["http.server.duration"]);
    assert_eq!(matching_metrics("description exists", all()), ["db.connections"]);
    assert_eq!(matching_metrics(r#"resource.attributes["service.name"] == "checkout""#, all()).len(), 2);
    assert_eq!(matching_metrics(r#"scope.name == "io.opentelemetry.jdbc""#, all()).len(), 2);
}

#[test]
fn data_point_conditions_see_the_point_attributes_and_its_metric() {
    let condition =
        Condition::parse_for(r#"name == "db.connections" and attributes["state"] == "idle""#, Signal::Metrics).unwrap();
    let bytes = metrics_request(vec![
        gauge("db.connections", vec![vec![("state", Value::from("idle"))], vec![("state", Value::from("used"))]]),
        gauge("other", vec![vec![("state", Value::from("idle"))]]),
    ]);
    let mut metrics = Metrics::parse(&bytes).unwrap();
    let matched: Vec<bool> = metrics.data_points_mut().map(|p| condition.matches_point(&p)).collect();
    assert_eq!(matched, [true, false, false]);
    let mut via_view = Vec::new();
    for point in metrics.data_points_mut() {
        let metric = point.metric();
        via_view.push(condition.matches_data_point(&metric, &point));
    }
    assert_eq!(via_view, matched);
}

#[test]
fn whole_metric_conditions_see_renames_made_so_far() {
    let condition = Condition::parse_for(r#"name == "renamed""#, Context::Metric).unwrap();
    let bytes = metrics_request(vec![gauge("db.connections", vec![vec![]])]);
    let mut metrics = Metrics::parse(&bytes).unwrap();
    let mut metric = metrics.metrics_mut().next().unwrap();
    assert!(!condition.matches_metric(&metric));
    metric.set_name("renamed");
    assert!(condition.matches_metric(&metric));
}

#[test]
fn conditions_see_the_record_as_edited_so_far() {
    let condition = Condition::parse_for(r#"attributes["env"] == "prod" and severity == ERROR"#, Signal::Logs).unwrap();
    let bytes = LogsData {
        resource_logs: vec![ResourceLogsData {
            scope_logs: vec![ScopeLogsData { log_records: vec![record(9, "x", vec![])], ..Default::default() }],
            ..Default::default()
        }],
    }
    .encode();
    let mut logs = Logs::parse(&bytes).unwrap();
    let mut record = logs.records_mut().next().unwrap();
    assert!(!condition.matches_log(&record));
    record.set_attribute("env", "prod");
    record.set_severity(17, "ERROR");
    assert!(condition.matches_log(&record));
}

#[test]
fn resource_conditions_read_resource_attributes_only() {
    let condition =
        Condition::parse_for(r#"resource.attributes["service.name"] == "checkout""#, Context::Resource).unwrap();
    let bytes = resource().unwrap().encode();
    assert!(condition.matches_resource(&aegis_wire::Resource::new(&bytes)));
    assert!(!condition.matches_resource(&aegis_wire::Resource::new(&[])));
    let err = error(r#"attributes["a"] exists"#, Context::Resource);
    assert!(err.starts_with("at column 1: \"attributes\" is not a field of resources"), "{err}");
}

#[test]
fn an_unbound_condition_reads_paths_an_item_lacks_as_missing() {
    let condition = Condition::parse("kind == SERVER").unwrap();
    let bytes = LogsData {
        resource_logs: vec![ResourceLogsData {
            scope_logs: vec![ScopeLogsData { log_records: vec![record(9, "x", vec![])], ..Default::default() }],
            ..Default::default()
        }],
    }
    .encode();
    let mut logs = Logs::parse(&bytes).unwrap();
    let record = logs.records_mut().next().unwrap();
    assert!(!condition.matches_log(&record));
    assert!(Condition::parse("not kind exists").unwrap().matches_log(&record));
    assert_eq!(condition.context(), None);
    assert_eq!(condition.as_str(), "kind == SERVER");
    assert_eq!(condition.to_string(), "kind == SERVER");
}

#[test]
fn a_missing_value_is_reported_at_its_column() {
    assert_eq!(error("severity >= ", Signal::Logs), "at column 13: expected a value after \">=\"");
    assert_eq!(error("severity >= and", Signal::Logs), "at column 13: expected a value, found \"and\"");
    assert_eq!(error("attributes.a ==", Signal::Logs), "at column 16: expected a value after \"==\"");
}

#[test]
fn syntax_errors_say_where_and_what_was_expected() {
    let logs = |text: &str| error(text, Signal::Logs);
    assert_eq!(logs(""), "at column 1: the condition is empty");
    assert_eq!(logs("   "), "at column 1: the condition is empty");
    assert_eq!(
        logs("severity"),
        "at column 9: expected an operator (==, !=, <, <=, >, >=, exists, matches, contains, starts_with, in) \
         after \"severity\""
    );
    assert_eq!(
        logs("severity < INFO severity"),
        "at column 17: expected \"and\", \"or\" or the end, found \"severity\""
    );
    assert_eq!(
        logs("severity < INFO AND body exists"),
        "at column 17: expected \"and\", \"or\" or the end, found \"AND\""
    );
    assert_eq!(logs("(severity < INFO or body exists"), "at column 32: expected \")\" to close the \"(\" at column 1");
    assert_eq!(logs("severity < INFO)"), "at column 16: found \")\" without a matching \"(\"");
    assert_eq!(logs(r#"body == "open"#), "at column 9: unterminated string: expected a closing \"");
    assert_eq!(logs("severity = INFO"), "at column 10: expected \"==\", found \"=\"");
    assert_eq!(logs("severity < INFO and"), "at column 20: expected a field such as severity or attributes[\"key\"]");
    assert_eq!(logs("body ~ \"x\""), "at column 6: unexpected character '~'");
    assert_eq!(logs("attributes == 1"), "at column 12: expected [\"key\"] or .key after \"attributes\", found \"==\"");
    assert_eq!(logs("attributes[k] == 1"), "at column 12: expected a quoted attribute key, found \"k\"");
    assert_eq!(logs(r#"attributes.a in []"#), "at column 18: the list after \"in\" is empty");
    assert_eq!(logs(r#"attributes.a in ["x" "y"]"#), "at column 22: expected \",\" or \"]\", found \"y\"");
    assert_eq!(logs(r#"attributes.a in "x""#), "at column 17: expected \"[\" after \"in\", found \"x\"");
}

#[test]
fn unknown_fields_and_fields_of_other_items_are_named() {
    let err = error("sevrity < INFO", Signal::Logs);
    assert!(
        err.starts_with("at column 1: unknown field \"sevrity\"; expected one of severity, severity_text"),
        "{err}"
    );
    let err = error(r#"severity < INFO or kind == SERVER"#, Signal::Logs);
    assert!(err.starts_with("at column 20: \"kind\" is not a field of log records; use severity, "), "{err}");
    let err = error("severity < INFO", Signal::Traces);
    assert!(err.starts_with("at column 1: \"severity\" is not a field of spans; use name, kind"), "{err}");
    let err = error(r#"attributes["a"] exists"#, Context::Metric);
    assert!(err.starts_with("at column 1: \"attributes\" is not a field of metrics"), "{err}");
    assert!(Condition::parse_for(r#"attributes["a"] exists"#, Signal::Metrics).is_ok());
    assert!(Condition::parse("kind == SERVER and severity < INFO").is_ok(), "unbound conditions take any field");
}

#[test]
fn literals_must_suit_their_field() {
    let spans = |text: &str| error(text, Signal::Traces);
    assert_eq!(
        spans("duration > 5"),
        "at column 12: \"duration\" compares with a duration such as 250ms, 2s or 1m, not \"5\""
    );
    assert_eq!(
        spans("kind == SERVR"),
        "at column 9: \"kind\" compares with a span kind (INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER), not \"SERVR\""
    );
    assert_eq!(spans("kind < SERVER"), "at column 6: \"kind\" takes == or !=, not \"<\"");
    assert_eq!(spans("status > OK"), "at column 8: \"status\" takes == or !=, not \">\"");
    assert_eq!(
        spans("duration matches \"1\""),
        "at column 10: \"duration\" takes ==, !=, in or exists, not \"matches\""
    );
    assert_eq!(spans("name == 5"), "at column 9: \"name\" compares with a quoted string, not \"5\"");
    assert_eq!(
        spans("trace_id == \"xyz\""),
        "at column 13: \"trace_id\" compares with a quoted hex string such as \"5b8efff798038103\", not \"xyz\""
    );
    let logs = |text: &str| error(text, Signal::Logs);
    assert_eq!(
        logs("severity < LOUD"),
        "at column 12: \"severity\" compares with a severity name (TRACE, DEBUG, INFO, WARN, ERROR, FATAL) or an \
         integer, not \"LOUD\""
    );
    assert_eq!(
        logs(r#"attributes["level"] == ERROR"#),
        "at column 24: expected a value, found \"ERROR\"; quote it if it is a string"
    );
    assert_eq!(logs(r#"attributes.ok < true"#), "at column 15: \"attributes.ok\" takes == or !=, not \"<\"");
    assert_eq!(
        logs(r#"attributes.t > 2s"#),
        "at column 16: \"attributes.t\" compares with a string, a number or true/false (durations are for \
         `duration`), not \"2s\""
    );
    assert_eq!(
        error("type == counter", Context::Metric),
        "at column 9: \"type\" compares with a metric type (gauge, sum, histogram, exponential_histogram, summary), \
         not \"counter\""
    );
}

#[test]
fn durations_and_numbers_are_checked_as_they_are_read() {
    let spans = |text: &str| error(text, Signal::Traces);
    assert_eq!(spans("duration > 5sec"), "at column 13: unknown duration unit \"sec\": use ns, us, ms, s, m or h");
    assert_eq!(spans("duration > -5s"), "at column 12: a duration must be a positive number with a unit, e.g. 250ms");
    assert_eq!(error("attributes.a > -", Signal::Logs), "at column 16: expected digits after \"-\"");
    assert_eq!(error("attributes.a > 99999999999999999999", Signal::Logs).split(':').next(), Some("at column 16"));
    for ok in ["duration < 250ms", "duration < 1m30s", "duration < 1.5s", "duration < 10us", "duration < 2h"] {
        assert!(Condition::parse_for(ok, Signal::Traces).is_ok(), "{ok}");
    }
}

#[test]
fn invalid_regexes_are_reported_with_the_reason() {
    let err = error(r#"body matches "(unclosed""#, Signal::Logs);
    assert_eq!(err, "at column 14: invalid regex \"(unclosed\": unclosed group");
    assert_eq!(
        error("body matches 5", Signal::Logs),
        "at column 14: expected a quoted regex after \"matches\", found \"5\""
    );
}

#[test]
fn columns_count_characters_not_bytes() {
    assert_eq!(
        error(r#"body == "héllo" and"#, Signal::Logs),
        "at column 20: expected a field such as severity or attributes[\"key\"]"
    );
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let deep = format!("{}severity < INFO{}", "(".repeat(10_000), ")".repeat(10_000));
    let err = error(&deep, Signal::Logs);
    assert!(err.ends_with("nested more than 64 levels deep"), "{err}");
    let nots = format!("{}severity < INFO", "not ".repeat(10_000));
    assert!(error(&nots, Signal::Logs).ends_with("nested more than 64 levels deep"));
    let fine = format!("{}severity < INFO{}", "(".repeat(60), ")".repeat(60));
    assert!(Condition::parse_for(&fine, Signal::Logs).is_ok());
}

#[test]
fn no_text_makes_the_parser_panic() {
    let samples = [
        r#"(severity < INFO or attributes["http.route"] == "/healthz") and not body matches "^\d+" and duration > 1m30s"#,
        r#"kind in [SERVER, CLIENT] and status.message contains "é\"\\" and trace_id starts_with "ab""#,
        "1e 1e+ 1.2.3 -- 5ms5 \"\\ ] [ , != !x <= >= µs é 🦀 ((( )))",
    ];
    for sample in samples {
        for end in (0..=sample.len()).filter(|&i| sample.is_char_boundary(i)) {
            for start in (0..end).filter(|&i| sample.is_char_boundary(i)).step_by(7) {
                let _ = Condition::parse(&sample[start..end]);
                let _ = Condition::parse_for(&sample[start..end], Signal::Traces);
            }
        }
    }
}
