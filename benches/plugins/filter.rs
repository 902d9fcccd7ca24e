//! The filter processor: a severity test or an attribute comparison on every record, once
//! dropping nothing (the cost of evaluating conditions) and once dropping a quarter of the
//! records (the cost of writing the batch out without them); and without rules, which is
//! the floor every processor pays (the batch crosses into the sandbox and is indexed).

use aegis::batch::Signal;
use aegis_plugin_sdk::{Config, Processor};
use criterion::Criterion;

/// Matches none of the records of `logs_request`: all are INFO, none has `http.route`.
const KEEP_ALL: &str = r#"{"logs": {"drop": ["severity < INFO or attributes[\"http.route\"] == \"/healthz\""]}}"#;

/// Matches the records whose `duration_ms` (uniform in 0..2000) is above 1500.
const DROP_SLOW: &str = r#"{"logs": {"drop": ["severity < INFO", "attributes[\"duration_ms\"] > 1500 and attributes[\"method\"] == \"POST\""]}}"#;

/// No rules for logs: the batch passes untouched.
const NO_RULES: &str = "{}";

pub(crate) fn bench(c: &mut Criterion) {
    let payloads = vec![("1000 logs x 6 attributes".to_string(), crate::data::logs_request(1000, 6), 1000)];
    for (group, config) in
        [("filter/keep-all", KEEP_ALL), ("filter/drop-quarter", DROP_SLOW), ("filter/no-rules", NO_RULES)]
    {
        let native = aegis_plugin_filter::Filter::init(Config::from_json(config).unwrap()).unwrap();
        crate::support::compare(c, group, "filter", config, native, Signal::Logs, &payloads);
    }
}
