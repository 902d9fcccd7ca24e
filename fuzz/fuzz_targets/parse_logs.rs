//! parse-logs on fuzzed lines, in every format: a line that does not parse passes through
//! (or is dropped, per config), and never fails the batch or makes invalid output.
#![no_main]

use aegis_fuzz::{attribute, logs, processor, record, run, split};
use aegis_plugin_parse_logs::ParseLogs;
use aegis_plugin_sdk::Signal;
use libfuzzer_sys::fuzz_target;

const CONFIGS: &[&str] = &[
    r#"{"format": "json"}"#,
    r#"{"format": "json", "nested": "flatten", "separator": "_", "time_format": "epoch_ms", "keep_original": true, "error_attribute": "parse.error", "pad_ids": false}"#,
    r#"{"format": "json", "time_format": "%d/%b/%Y:%H:%M:%S %z", "message_field": "msg", "level_field": "severity", "severity_map": {"SEVERE": "error"}}"#,
    r#"{"format": "json", "time_format": "%Y-%m-%d %H:%M:%S%.f", "on_failure": "drop"}"#,
    r#"{"format": "json", "time_format": "%a %b %e %T %Y %Z"}"#,
    r#"{"format": "json", "time_format": "%s", "source": "attributes.log"}"#,
    r#"{"format": "logfmt"}"#,
    r#"{"format": "logfmt", "time_format": "epoch_us", "error_attribute": "parse.error", "on_failure": "drop"}"#,
    r#"{"format": "regex", "pattern": "^(?P<timestamp>\\S+ \\S+) (?P<level>[A-Z]+) \\[(?P<component>[^\\]]+)\\] (?P<message>.*)$", "time_format": "%Y-%m-%d %H:%M:%S%.f"}"#,
    r#"{"format": "regex", "pattern": "(?P<trace_id>[0-9a-f]+)?-(?P<span_id>\\w*)-(?P<service>.*)"}"#,
    r#"{"format": "nginx"}"#,
    r#"{"format": "apache", "keep_original": true}"#,
    r#"{"format": "syslog_rfc5424"}"#,
    r#"{"format": "syslog_rfc3164"}"#,
    r#"{"format": "klog"}"#,
    r#"{"format": "cri"}"#,
    r#"{"format": "cri", "max_partial_size": 64}"#,
    r#"{"format": "cri", "join_partial": false}"#,
];

fuzz_target!(|data: &[u8]| {
    let Some((choice, text)) = split(data) else { return };
    let config = CONFIGS[usize::from(choice) % CONFIGS.len()];
    let mut parse: ParseLogs = processor(config);
    let records = text
        .split('\n')
        .take(32)
        .map(|line| record(line, vec![attribute("log", line), attribute("log.file.path", "/var/log/fuzz.log")]))
        .collect();
    let payload = logs(vec![attribute("host.name", "node-1")], records);
    // Twice, so that CRI pieces held by the first batch meet the second.
    run(&mut parse, Signal::Logs, &payload);
    run(&mut parse, Signal::Logs, &payload);
});
