//! The attributes processor: upsert one attribute, rename one, delete one.

use aegis::batch::Signal;
use aegis_plugin_sdk::{Config, Processor};
use criterion::Criterion;

const CONFIG: &str = r#"{"actions": [
    {"key": "deployment.environment", "action": "upsert", "value": "production"},
    {"key": "method", "action": "rename", "new_key": "http.request.method"},
    {"key": "user_id", "action": "delete"}
]}"#;

pub(crate) fn bench(c: &mut Criterion) {
    let native = aegis_plugin_attributes::Attributes::init(Config::from_json(CONFIG).unwrap()).unwrap();
    let payloads = vec![("1000 logs x 6 attributes".to_string(), crate::data::logs_request(1000, 6), 1000)];
    crate::support::compare(c, "attributes", "attributes", CONFIG, native, Signal::Logs, &payloads);
}
