//! sample on spans and log records with fuzzed trace states, ids and attributes, in every
//! head mode and the tail mode: never a failed batch or invalid output.
#![no_main]

use aegis_fuzz::tonic::trace::v1::{Span, Status};
use aegis_fuzz::{attribute, logs, processor, record, run, split, traces};
use aegis_plugin_sample::Sample;
use aegis_plugin_sdk::Signal;
use libfuzzer_sys::fuzz_target;

const CONFIGS: &[&str] = &[
    r#"{"sampling_percentage": 50}"#,
    r#"{"mode": "proportional", "sampling_percentage": 25, "sampling_precision": 14}"#,
    r#"{"mode": "equalizing", "sampling_percentage": 10, "sampling_precision": 1}"#,
    r#"{"mode": "proportional", "sampling_percentage": 0.001, "keep": ["trace_state == \"x\""], "keep_errors": true}"#,
    r#"{"sampling_percentage": 30, "from_attribute": "user_id", "attribute_source": "record", "fallback": "drop"}"#,
    r#"{"sampling_percentage": 100, "rate_limit": {"per_second": 1, "key": "user_id", "key_source": "record", "max_keys": 2}}"#,
    r#"{"mode": "tail", "tail": {"decision_wait": "1ms", "max_traces": 2, "max_spans": 4, "max_bytes": "2KiB", "policies": [{"type": "status_code", "status_codes": ["ERROR"]}, {"type": "probabilistic", "sampling_percentage": 50}]}}"#,
];

fuzz_target!(|data: &[u8]| {
    let Some((choice, text)) = split(data) else { return };
    let config = CONFIGS[usize::from(choice) % CONFIGS.len()];
    let mut sample: Sample = processor(config);
    let mut parts = text.split('\u{1}');
    let mut next = || parts.next().unwrap_or("").to_owned();
    let (state, user, id) = (next(), next(), next());
    // Ids of any length the fuzzer gives (the host accepts only 0 or 16 and 0 or 8).
    let trace_id = if id.len() >= 16 { id.as_bytes()[..16].to_vec() } else { Vec::new() };
    let spans = (0..4)
        .map(|i| Span {
            trace_id: trace_id.clone(),
            span_id: vec![i + 1; 8],
            name: "http.request".into(),
            trace_state: state.clone(),
            start_time_unix_nano: 1_706_193_045_000_000_000,
            end_time_unix_nano: 1_706_193_045_000_000_000 + u64::from(i) * 1_000_000,
            attributes: vec![attribute("user_id", &user)],
            status: Some(Status { code: i32::from(i % 3), ..Default::default() }),
            ..Default::default()
        })
        .collect();
    run(&mut sample, Signal::Traces, &traces(vec![attribute("service.name", &user)], spans));
    if config.contains("\"tail\"") {
        // The tail mode samples traces only (a logs pipeline gets a head-mode sampler).
        return;
    }
    let mut log = record(&state, vec![attribute("user_id", &user), attribute("sampling.randomness", &state)]);
    log.trace_id = trace_id;
    log.severity_number = i32::from(choice % 25);
    run(&mut sample, Signal::Logs, &logs(vec![attribute("service.name", &user)], vec![log]));
});
