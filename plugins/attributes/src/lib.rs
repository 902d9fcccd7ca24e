//! The attributes processor: inserts, updates, upserts, deletes, renames and hashes
//! attributes of log records, spans and metric data points, like the OpenTelemetry
//! Collector's processor of the same name. The actions are documented in
//! `docs/plugins/attributes.md`.

mod config;

use aegis_plugin_sdk::prelude::*;
use aegis_plugin_sdk::wire::{AttributeScratch, AttributesMut};
use sha2::{Digest, Sha256};

use config::{Action, Source};

/// The processor: the checked actions, and scratch space for editing an item's
/// attributes in one pass. Public so that the benchmarks can run the same logic natively.
#[derive(Debug)]
pub struct Attributes {
    actions: Vec<Action>,
    scratch: AttributeScratch,
}

impl Processor for Attributes {
    fn init(config: Config) -> Result<Self, Error> {
        Ok(Attributes { actions: config::parse(&config)?, scratch: AttributeScratch::default() })
    }

    fn process_logs(&mut self, logs: &mut Logs) -> Result<(), Error> {
        for mut record in logs.records_mut() {
            record.edit_attributes(&mut self.scratch, |attrs| apply(&self.actions, attrs));
        }
        Ok(())
    }

    fn process_traces(&mut self, traces: &mut Traces) -> Result<(), Error> {
        for mut span in traces.spans_mut() {
            span.edit_attributes(&mut self.scratch, |attrs| apply(&self.actions, attrs));
        }
        Ok(())
    }

    fn process_metrics(&mut self, metrics: &mut Metrics) -> Result<(), Error> {
        for mut point in metrics.data_points_mut() {
            point.edit_attributes(&mut self.scratch, |attrs| apply(&self.actions, attrs));
        }
        Ok(())
    }
}

export_processor!(Attributes);

/// Applies every action, in order, to one item's attributes. All of them work on one
/// table of the item's attributes, so the item is read once and re-encoded at most once.
fn apply(actions: &[Action], attrs: &mut AttributesMut<'_>) {
    for action in actions {
        match action {
            Action::Insert { key, source } => {
                if !attrs.contains(key) {
                    set_from(attrs, key, source);
                }
            }
            Action::Update { key, source } => {
                if attrs.contains(key) {
                    set_from(attrs, key, source);
                }
            }
            Action::Upsert { key, source } => set_from(attrs, key, source),
            Action::Delete { key } => {
                attrs.remove(key);
            }
            Action::Rename { key, new_key } => {
                attrs.rename(key, new_key);
            }
            Action::Hash { key } => {
                let hex = attrs.get(key).map(|value| {
                    let digest = match value.get() {
                        ValueRef::Str(s) => Sha256::digest(s.as_bytes()),
                        ValueRef::Bytes(b) => Sha256::digest(b),
                        other => Sha256::digest(other.to_string().as_bytes()),
                    };
                    hex(&digest)
                });
                if let Some(hex) = hex {
                    attrs.set(key, hex.as_str());
                }
            }
        }
    }
}

/// Sets `key` from a literal or from another attribute (nothing when that is absent).
fn set_from(attrs: &mut AttributesMut<'_>, key: &str, source: &Source) {
    match source {
        Source::Literal(encoded) => attrs.set(key, ValueRef::Encoded(encoded)),
        Source::Attribute(from) => {
            attrs.copy(from, key);
        }
    }
}

/// Lowercase hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
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
        assert_eq!(
            got,
            pairs(&[("env", Value::Double(1.5)), ("user", Value::from("ann")), ("copy", Value::from("ann")),])
        );
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
                ("id", Value::from(hex(&Sha256::digest(b"42")).as_str())),
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
}
