//! The attributes processor: upsert one attribute, rename one, delete one; then the
//! newer actions: a copy from the resource, an `extract` with two named captures, a
//! resource action and an action behind an `if`.

use aegis::batch::Signal;
use aegis_plugin_sdk::{Config, Processor};
use criterion::Criterion;

const CONFIG: &str = r#"{"actions": [
    {"key": "deployment.environment", "action": "upsert", "value": "production"},
    {"key": "method", "action": "rename", "new_key": "http.request.method"},
    {"key": "user_id", "action": "delete"}
]}"#;

const EXTRACT_COPY: &str = r#"{"actions": [
    {"key": "service.name", "action": "upsert", "from_resource_attribute": "service.name"},
    {"key": "path", "action": "extract", "pattern": "^/api/v(?P<api_version>\\d+)/(?P<api_resource>\\w+)"},
    {"key": "deployment.environment", "action": "insert", "value": "prod", "context": "resource"},
    {"key": "slow", "action": "upsert", "value": true, "if": "attributes[\"duration_ms\"] > 1500"}
]}"#;

pub(crate) fn bench(c: &mut Criterion) {
    let payloads = vec![("1000 logs x 6 attributes".to_string(), crate::data::logs_request(1000, 6), 1000)];
    for (group, config) in [("attributes", CONFIG), ("attributes/extract-copy-if", EXTRACT_COPY)] {
        let native = aegis_plugin_attributes::Attributes::init(Config::from_json(config).unwrap()).unwrap();
        crate::support::compare(c, group, "attributes", config, native, Signal::Logs, &payloads);
    }
}
