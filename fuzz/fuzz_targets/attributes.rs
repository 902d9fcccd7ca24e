//! attributes on fuzzed keys and values: every action, with regex extraction and a
//! condition, on log records, spans and metric data points and on their resources: never a
//! failed batch or invalid output.
#![no_main]

use aegis_fuzz::tonic::common::v1::KeyValue;
use aegis_fuzz::tonic::metrics::v1::{Gauge, Histogram, Metric, NumberDataPoint, metric::Data, number_data_point};
use aegis_fuzz::tonic::trace::v1::Span;
use aegis_fuzz::{attribute, histogram_point, logs, metrics, processor, record, run, split, traces};
use aegis_plugin_attributes::Attributes;
use aegis_plugin_sdk::Signal;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((choice, text)) = split(data) else { return };
    let mut parts = text.split('\u{1}');
    let mut next = || parts.next().unwrap_or("").to_owned();
    let (key, value, other) = (next(), next(), next());
    if key.is_empty() || key == "renamed" {
        return;
    }
    let action = match choice % 6 {
        0 => serde_json::json!({ "key": key, "action": "extract", "pattern": "^(?P<method>[A-Z]+) (?P<path>/\\S*)" }),
        1 => serde_json::json!({ "key": key, "action": "hash" }),
        2 => serde_json::json!({ "key": key, "action": "rename", "new_key": "renamed" }),
        3 => serde_json::json!({ "key": key, "action": "upsert", "from_resource_attribute": "service.name" }),
        4 => serde_json::json!({ "key": key, "action": "insert", "value": value, "context": "resource" }),
        _ => serde_json::json!({ "key": key, "action": "delete", "if": "attributes[\"other\"] != \"\"" }),
    };
    let config = serde_json::json!({ "actions": [action, { "key": "other", "action": "update", "value": 7 }] });
    let mut attributes: Attributes = processor(&config.to_string());
    let resource = vec![attribute("service.name", &other), attribute(&key, &value)];
    // The same attributes on every signal's items: the key twice, so that an action sees a
    // duplicate, and a second item with only `other`.
    let first = || vec![attribute(&key, &value), attribute("other", &other), attribute(&key, &other)];
    let second = || vec![attribute("other", &value)];
    match choice / 6 % 3 {
        0 => {
            let records = vec![record(&value, first()), record(&other, second())];
            run(&mut attributes, Signal::Logs, &logs(resource, records));
        }
        1 => {
            let span = |name: &str, attributes: Vec<KeyValue>, id: u8| Span {
                trace_id: vec![0xab; 16],
                span_id: vec![id; 8],
                name: name.to_owned(),
                kind: 2,
                start_time_unix_nano: 1_706_193_045_000_000_000,
                end_time_unix_nano: 1_706_193_045_250_000_000,
                attributes,
                ..Default::default()
            };
            let spans = vec![span(&value, first(), 1), span(&other, second(), 2)];
            run(&mut attributes, Signal::Traces, &traces(resource, spans));
        }
        _ => {
            let gauge = Metric {
                name: value.clone(),
                unit: "1".into(),
                data: Some(Data::Gauge(Gauge {
                    data_points: vec![
                        NumberDataPoint {
                            attributes: first(),
                            time_unix_nano: 1_706_193_045_000_000_000,
                            value: Some(number_data_point::Value::AsInt(3)),
                            ..Default::default()
                        },
                        NumberDataPoint {
                            attributes: second(),
                            time_unix_nano: 1_706_193_045_000_000_000,
                            value: Some(number_data_point::Value::AsDouble(0.5)),
                            ..Default::default()
                        },
                    ],
                })),
                ..Default::default()
            };
            let histogram = Metric {
                name: other.clone(),
                unit: "ms".into(),
                data: Some(Data::Histogram(Histogram {
                    data_points: vec![histogram_point(first())],
                    aggregation_temporality: 2,
                })),
                ..Default::default()
            };
            run(&mut attributes, Signal::Metrics, &metrics(resource, vec![gauge, histogram]));
        }
    }
});
