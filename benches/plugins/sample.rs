//! The sample processor in head mode: 10 % of the `POST /api/v1/users` traces by the hash
//! seed and by OpenTelemetry thresholds (kept spans get their threshold written), and 10 %
//! of the backend's log records, errors kept by a condition.

use aegis::batch::Signal;
use aegis_plugin_sdk::{Config, Processor};
use criterion::Criterion;

const HASH_SEED: &str = r#"{"hash_seed": 22, "sampling_percentage": 10, "keep_errors": true}"#;
const PROPORTIONAL: &str = r#"{"mode": "proportional", "sampling_percentage": 10, "keep_errors": true}"#;
const LOGS: &str = r#"{"hash_seed": 22, "sampling_percentage": 10, "keep": ["severity >= ERROR"]}"#;

fn sampler(config: &str) -> aegis_plugin_sample::Sample {
    aegis_plugin_sample::Sample::init(Config::from_json(config).unwrap()).unwrap()
}

pub(crate) fn bench(c: &mut Criterion) {
    let traces = vec![("250 traces x 4 spans".to_string(), crate::data::traces_request(250), 1000)];
    for (group, config) in [("sample/traces-hash-seed", HASH_SEED), ("sample/traces-proportional", PROPORTIONAL)] {
        crate::support::compare(c, group, "sample", config, sampler(config), Signal::Traces, &traces);
    }
    let logs = vec![("1000 logs x 6 attributes".to_string(), crate::data::logs_request(1000, 6), 1000)];
    crate::support::compare(c, "sample/logs-hash-seed", "sample", LOGS, sampler(LOGS), Signal::Logs, &logs);
}
