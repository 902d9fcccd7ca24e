//! Unit tests of the attributes processor: batches in, the attributes that come out.

use super::*;
use aegis_plugin_sdk::wire::{
    self, LogRecordData, LogsData, MetricData, MetricKindData, MetricsData, NumberPointData, NumberValue,
    ResourceLogsData, ResourceMetricsData, ResourceSpansData, ScopeLogsData, ScopeMetricsData, ScopeSpansData,
    SpanData, TracesData, attributes,
};
use aegis_plugin_sdk::{Outcome, run_processor};
use serde_json::json;

fn processor(actions: serde_json::Value) -> Attributes {
    Attributes::init(Config::from_value(json!({ "actions": actions }))).unwrap()
}

fn logs(attrs: Vec<(&str, Value)>) -> Vec<u8> {
    LogsData {
        resource_logs: vec![ResourceLogsData {
            scope_logs: vec![ScopeLogsData {
                log_records: vec![LogRecordData {
                    body: Some(Value::from("hello")),
                    attributes: attributes(attrs),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode()
}

/// The attributes of the first record after processing.
fn run_logs(p: &mut Attributes, input: &[u8]) -> Vec<(String, Value)> {
    let out = match run_processor(p, Signal::Logs, input).unwrap() {
        Outcome::Replaced(bytes) => bytes,
        Outcome::Unchanged => input.to_vec(),
        Outcome::Dropped => panic!("nothing should be dropped"),
    };
    let logs = wire::Logs::parse(&out).unwrap();
    let record = logs.records().next().unwrap();
    record.attributes().map(|(k, v)| (k.to_owned(), v.to_value())).collect()
}

fn pairs(list: &[(&str, Value)]) -> Vec<(String, Value)> {
    list.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

#[test]
fn insert_sets_only_absent_keys() {
    let mut p = processor(json!([
        { "key": "env", "action": "insert", "value": "prod" },
        { "key": "team", "action": "insert", "value": "core" },
    ]));
    let got = run_logs(&mut p, &logs(vec![("env", Value::from("dev"))]));
    assert_eq!(got, pairs(&[("env", Value::from("dev")), ("team", Value::from("core"))]));
}

#[test]
fn update_changes_only_present_keys() {
    let mut p = processor(json!([
        { "key": "env", "action": "update", "value": 7 },
        { "key": "absent", "action": "update", "value": true },
    ]));
    let got = run_logs(&mut p, &logs(vec![("env", Value::from("dev"))]));
    assert_eq!(got, pairs(&[("env", Value::Int(7))]));
}

#[test]
fn upsert_sets_always_and_can_copy_another_attribute() {
    let mut p = processor(json!([
        { "key": "env", "action": "upsert", "value": 1.5 },
        { "key": "copy", "action": "upsert", "from_attribute": "user" },
        { "key": "none", "action": "upsert", "from_attribute": "missing" },
    ]));
    let input = logs(vec![("env", Value::from("dev")), ("user", Value::from("ann"))]);
    let got = run_logs(&mut p, &input);
    assert_eq!(got, pairs(&[("env", Value::Double(1.5)), ("user", Value::from("ann")), ("copy", Value::from("ann")),]));
}

#[test]
fn delete_and_rename_move_and_remove_keys() {
    let mut p = processor(json!([
        { "key": "secret", "action": "delete" },
        { "key": "usr", "action": "rename", "new_key": "user.name" },
        { "key": "absent", "action": "rename", "new_key": "x" },
    ]));
    let input = logs(vec![("secret", Value::from("s")), ("usr", Value::Int(3)), ("keep", Value::Bool(true))]);
    let got = run_logs(&mut p, &input);
    assert_eq!(got, pairs(&[("keep", Value::Bool(true)), ("user.name", Value::Int(3))]));
}

#[test]
fn an_attribute_key_written_twice_is_acted_on_as_every_decoder_reads_it() {
    // `x` then `password`: protobuf's last-one-wins makes the key `password` downstream, so
    // a delete of `password` must find it (it once looked only at the first key).
    let input = logs(vec![("PLACEHOLDER", Value::from("hunter2"))]);
    let placeholder = b"\x0a\x0bPLACEHOLDER";
    let at = input.windows(placeholder.len()).position(|w| w == placeholder).unwrap();
    let mut crafted = input.clone();
    crafted[at..at + placeholder.len()].copy_from_slice(b"\x0a\x01x\x0a\x08password");
    let mut p = processor(json!([{ "key": "password", "action": "delete" }]));
    assert_eq!(run_logs(&mut p, &crafted), pairs(&[]));
    let mut p = processor(json!([{ "key": "password", "action": "hash" }]));
    let got = run_logs(&mut p, &crafted);
    assert_eq!(got.len(), 1);
    assert_ne!(got[0].1, Value::from("hunter2"));
}

#[test]
fn hash_replaces_values_with_their_sha256_hex() {
    let mut p = processor(json!([
        { "key": "email", "action": "hash" },
        { "key": "id", "action": "hash" },
    ]));
    let input = logs(vec![("email", Value::from("abc")), ("id", Value::Int(42))]);
    let got = run_logs(&mut p, &input);
    assert_eq!(
        got,
        pairs(&[
            ("email", Value::from("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")),
            ("id", Value::from("73475cb40a568e8da8a045ced110137e159f890ac4da883b6b17dc651b3a8049")),
        ])
    );
}

#[test]
fn a_batch_no_action_touches_comes_back_unchanged() {
    let mut p = processor(json!([{ "key": "absent", "action": "delete" }]));
    let input = logs(vec![("env", Value::from("dev"))]);
    assert_eq!(run_processor(&mut p, Signal::Logs, &input).unwrap(), Outcome::Unchanged);
}

#[test]
fn span_and_data_point_attributes_are_edited_too() {
    let mut p = processor(json!([{ "key": "env", "action": "upsert", "value": "prod" }]));
    let traces = TracesData {
        resource_spans: vec![ResourceSpansData {
            scope_spans: vec![ScopeSpansData {
                spans: vec![SpanData { name: "op".into(), ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode();
    let Outcome::Replaced(out) = run_processor(&mut p, Signal::Traces, &traces).unwrap() else {
        panic!("the span should change");
    };
    let parsed = wire::Traces::parse(&out).unwrap();
    let span = parsed.spans().next().unwrap();
    assert_eq!(span.attribute("env").unwrap().as_str(), Some("prod"));

    let metrics = MetricsData {
        resource_metrics: vec![ResourceMetricsData {
            scope_metrics: vec![ScopeMetricsData {
                metrics: vec![MetricData {
                    name: "m".into(),
                    description: String::new(),
                    unit: String::new(),
                    data: MetricKindData::Gauge(vec![NumberPointData {
                        attributes: vec![],
                        start_time_unix_nano: 0,
                        time_unix_nano: 1,
                        value: NumberValue::Int(1),
                        flags: 0,
                    }]),
                    metadata: vec![],
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode();
    let Outcome::Replaced(out) = run_processor(&mut p, Signal::Metrics, &metrics).unwrap() else {
        panic!("the point should change");
    };
    let parsed = wire::Metrics::parse(&out).unwrap();
    let point = parsed.metrics().next().unwrap().data_points().next().unwrap();
    assert_eq!(point.attribute("env").unwrap().as_str(), Some("prod"));
    assert_eq!(point.value(), Some(NumberValue::Int(1)));
}

/// Attributes as written in a test.
type Pairs<'a> = Vec<(&'a str, Value)>;

/// A request of one resource per `(resource attributes, [(severity, record attributes)])`.
fn logs_in_resources(resources: Vec<(Pairs<'_>, Vec<(i32, Pairs<'_>)>)>) -> Vec<u8> {
    LogsData {
        resource_logs: resources
            .into_iter()
            .map(|(resource, records)| ResourceLogsData {
                resource: (!resource.is_empty())
                    .then(|| wire::ResourceData { attributes: attributes(resource), ..Default::default() }),
                scope_logs: vec![ScopeLogsData {
                    log_records: records
                        .into_iter()
                        .map(|(severity, attrs)| LogRecordData {
                            severity_number: severity,
                            attributes: attributes(attrs),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    }
    .encode()
}

/// Owned attributes, as read back.
type Owned = Vec<(String, Value)>;

/// Per resource: its attributes, and the attributes of each of its records.
fn run_resources(p: &mut Attributes, input: &[u8]) -> Vec<(Owned, Vec<Owned>)> {
    let out = match run_processor(p, Signal::Logs, input).unwrap() {
        Outcome::Replaced(bytes) => bytes,
        Outcome::Unchanged => input.to_vec(),
        Outcome::Dropped => panic!("nothing should be dropped"),
    };
    let logs = wire::Logs::parse(&out).unwrap();
    let owned = |attrs: wire::Attributes<'_>| attrs.map(|(k, v)| (k.to_owned(), v.to_value())).collect::<Vec<_>>();
    logs.resource_logs()
        .map(|r| {
            let records = r
                .scope_logs()
                .flat_map(|s| s.log_records().collect::<Vec<_>>())
                .map(|l| owned(l.attributes()))
                .collect();
            (owned(r.resource().attributes()), records)
        })
        .collect()
}

#[test]
fn from_resource_attribute_copies_the_resource_value_into_every_record() {
    let mut p = processor(json!([
        { "key": "service.name", "action": "upsert", "from_resource_attribute": "service.name" },
        { "key": "pod", "action": "insert", "from_resource_attribute": "k8s.pod.uid" },
        { "key": "zone", "action": "upsert", "from_resource_attribute": "cloud.zone" },
    ]));
    let input = logs_in_resources(vec![
        (
            vec![("service.name", Value::from("checkout")), ("k8s.pod.uid", Value::Int(7))],
            vec![(9, vec![]), (9, vec![("pod", Value::from("mine"))])],
        ),
        (vec![("service.name", Value::from("payments"))], vec![(9, vec![("service.name", Value::from("old"))])]),
    ]);
    let got = run_resources(&mut p, &input);
    assert_eq!(got[0].0, pairs(&[("service.name", Value::from("checkout")), ("k8s.pod.uid", Value::Int(7))]));
    assert_eq!(
        got[0].1,
        [
            pairs(&[("service.name", Value::from("checkout")), ("pod", Value::Int(7))]),
            pairs(&[("pod", Value::from("mine")), ("service.name", Value::from("checkout"))]),
        ]
    );
    assert_eq!(got[1].1, [pairs(&[("service.name", Value::from("payments"))])], "no zone: nothing copied");
}

#[test]
fn resource_actions_change_each_resource_and_leave_the_records_alone() {
    let mut p = processor(json!([
        { "key": "deployment.environment", "action": "insert", "value": "prod", "context": "resource" },
        { "key": "host.name", "action": "delete", "context": "resource" },
        { "key": "svc", "action": "rename", "new_key": "service.name", "context": "resource" },
    ]));
    let input = logs_in_resources(vec![
        (
            vec![("svc", Value::from("checkout")), ("host.name", Value::from("node-1"))],
            vec![(9, vec![("host.name", Value::from("node-1"))])],
        ),
        (vec![], vec![(9, vec![])]),
    ]);
    let got = run_resources(&mut p, &input);
    assert_eq!(
        got[0],
        (
            pairs(&[("deployment.environment", Value::from("prod")), ("service.name", Value::from("checkout"))]),
            vec![pairs(&[("host.name", Value::from("node-1"))])],
        )
    );
    assert_eq!(got[1].0, pairs(&[("deployment.environment", Value::from("prod"))]), "a resource is made if absent");
}

#[test]
fn resource_actions_with_if_touch_only_the_resources_that_match() {
    let mut p = processor(json!([
        { "key": "team", "action": "upsert", "value": "payments", "context": "resource",
          "if": r#"resource.attributes["service.name"] starts_with "pay""# },
        { "key": "tier", "action": "insert", "value": "gold", "context": "resource",
          "if": r#"resource.attributes["team"] == "payments""# },
    ]));
    let input = logs_in_resources(vec![
        (vec![("service.name", Value::from("checkout"))], vec![(9, vec![])]),
        (vec![("service.name", Value::from("payments"))], vec![(9, vec![])]),
    ]);
    let got = run_resources(&mut p, &input);
    assert_eq!(got[0].0, pairs(&[("service.name", Value::from("checkout"))]));
    assert_eq!(
        got[1].0,
        pairs(&[
            ("service.name", Value::from("payments")),
            ("team", Value::from("payments")),
            ("tier", Value::from("gold")),
        ]),
        "the second condition sees what the first action did"
    );
}

#[test]
fn extract_sets_one_attribute_per_named_capture_that_matched() {
    let mut p = processor(json!([
        { "key": "http.url", "action": "extract",
          "pattern": r"^/api/v(?P<api_version>\d+)/(?P<resource>\w+)(?:/(?P<id>\d+))?" },
    ]));
    let got = run_logs(&mut p, &logs(vec![("http.url", Value::from("/api/v2/users/17?x=1"))]));
    assert_eq!(
        got,
        pairs(&[
            ("http.url", Value::from("/api/v2/users/17?x=1")),
            ("api_version", Value::from("2")),
            ("resource", Value::from("users")),
            ("id", Value::from("17")),
        ])
    );
    let got = run_logs(&mut p, &logs(vec![("http.url", Value::from("/api/v1/orders")), ("resource", Value::Int(1))]));
    assert_eq!(
        got,
        pairs(&[
            ("http.url", Value::from("/api/v1/orders")),
            ("resource", Value::from("orders")),
            ("api_version", Value::from("1")),
        ]),
        "an existing attribute is overwritten; a capture that took no part sets nothing"
    );
    for untouched in [Value::from("/static/app.js"), Value::Int(3)] {
        let input = logs(vec![("http.url", untouched)]);
        assert_eq!(run_processor(&mut p, Signal::Logs, &input).unwrap(), Outcome::Unchanged);
    }
}

#[test]
fn extract_works_on_resource_attributes_too() {
    let mut p = processor(json!([
        { "key": "k8s.pod.name", "action": "extract", "context": "resource",
          "pattern": r"^(?P<k8s_deployment_name>.+)-[a-z0-9]+-[a-z0-9]{5}$" },
    ]));
    let input =
        logs_in_resources(vec![(vec![("k8s.pod.name", Value::from("checkout-7d9f8b6c4-x2k9p"))], vec![(9, vec![])])]);
    let got = run_resources(&mut p, &input);
    assert_eq!(
        got[0].0,
        pairs(&[
            ("k8s.pod.name", Value::from("checkout-7d9f8b6c4-x2k9p")),
            ("k8s_deployment_name", Value::from("checkout")),
        ])
    );
}

#[test]
fn if_gates_its_action_and_sees_what_earlier_actions_did() {
    let mut p = processor(json!([
        { "key": "http.url", "action": "extract", "pattern": r"^/api/v(?P<api_version>\d+)/" },
        { "key": "deprecated", "action": "upsert", "value": true, "if": r#"attributes["api_version"] == "1""# },
        { "key": "env", "action": "insert", "value": "prod" },
        { "key": "alert", "action": "insert", "value": "page", "if": "severity >= ERROR" },
    ]));
    let input = logs_in_resources(vec![(
        vec![],
        vec![
            (9, vec![("http.url", Value::from("/api/v1/users"))]),
            (17, vec![("http.url", Value::from("/api/v2/users"))]),
        ],
    )]);
    let got = run_resources(&mut p, &input);
    assert_eq!(
        got[0].1,
        [
            pairs(&[
                ("http.url", Value::from("/api/v1/users")),
                ("api_version", Value::from("1")),
                ("deprecated", Value::Bool(true)),
                ("env", Value::from("prod")),
            ]),
            pairs(&[
                ("http.url", Value::from("/api/v2/users")),
                ("api_version", Value::from("2")),
                ("env", Value::from("prod")),
                ("alert", Value::from("page")),
            ]),
        ],
        "`env` has no `if` and runs either way"
    );
}

#[test]
fn a_condition_on_fields_an_item_lacks_skips_those_items() {
    let mut p = processor(json!([
        { "key": "tier", "action": "upsert", "value": "edge", "if": "kind == SERVER" },
        { "key": "point", "action": "upsert", "value": true, "if": r#"name == "m""# },
    ]));
    let input = logs(vec![("a", Value::from("b"))]);
    assert_eq!(run_processor(&mut p, Signal::Logs, &input).unwrap(), Outcome::Unchanged);
    let traces = TracesData {
        resource_spans: vec![ResourceSpansData {
            scope_spans: vec![ScopeSpansData {
                spans: vec![
                    SpanData { name: "GET /".into(), kind: 2, ..Default::default() },
                    SpanData { name: "db".into(), kind: 3, ..Default::default() },
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode();
    let Outcome::Replaced(out) = run_processor(&mut p, Signal::Traces, &traces).unwrap() else { panic!("changed") };
    let parsed = wire::Traces::parse(&out).unwrap();
    let tiers: Vec<Option<String>> =
        parsed.spans().map(|s| s.attribute("tier").and_then(|v| v.as_str().map(str::to_owned))).collect();
    assert_eq!(tiers, [Some("edge".to_owned()), None]);
    assert!(parsed.spans().all(|s| s.attribute("point").is_none()), "spans have a name, but `m` is not it");
}
