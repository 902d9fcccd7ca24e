//! attributes on fuzzed keys and values: every action, with regex extraction and a
//! condition, on records and resources: never a failed batch or invalid output.
#![no_main]

use aegis_fuzz::{attribute, logs, processor, record, run, split};
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
    let records = vec![
        record(&value, vec![attribute(&key, &value), attribute("other", &other), attribute(&key, &other)]),
        record(&other, vec![attribute("other", &value)]),
    ];
    run(
        &mut attributes,
        Signal::Logs,
        &logs(vec![attribute("service.name", &other), attribute(&key, &value)], records),
    );
});
