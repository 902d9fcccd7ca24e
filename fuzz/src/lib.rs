//! What the fuzz targets share: building OTLP requests around fuzzed text, and running a
//! processor on them the way the host would, with the host's checks as assertions.
//!
//! Each target holds a processor to the promises its documentation makes: a request the
//! host accepted never fails as a whole, and what comes out is valid OTLP (the host would
//! refuse anything else, and the batch with it).

pub mod differential;

use aegis_plugin_sdk::{Config, Outcome, Processor, Signal, run_processor, wire};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, KeyValueList, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{HistogramDataPoint, Metric, ResourceMetrics, ScopeMetrics};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

pub use opentelemetry_proto::tonic;

/// Splits a fuzz input into a choice (its first byte) and text (the rest, as UTF-8 with
/// invalid sequences replaced: OTLP strings are UTF-8, and the host refuses others).
pub fn split(data: &[u8]) -> Option<(u8, String)> {
    let (&choice, rest) = data.split_first()?;
    Some((choice, String::from_utf8_lossy(rest).into_owned()))
}

/// A processor made from `json`, which must be a configuration it accepts.
pub fn processor<P: Processor>(json: &str) -> P {
    let config = Config::from_json(json).unwrap_or_else(|e| panic!("{json}: {e}"));
    P::init(config).unwrap_or_else(|e| panic!("{json}: {e}"))
}

/// Runs `processor` on `payload` (which must be valid) and checks what the host checks.
/// Returns the bytes that pass on, or `None` when everything was dropped.
pub fn run<P: Processor>(processor: &mut P, signal: Signal, payload: &[u8]) -> Option<Vec<u8>> {
    if let Err(e) = wire::validate(signal, payload) {
        panic!("the target built an invalid request: {e}");
    }
    match run_processor(processor, signal, payload) {
        Ok(Outcome::Replaced(bytes)) => {
            if let Err(e) = wire::validate(signal, &bytes) {
                panic!("the processor returned invalid OTLP: {e}");
            }
            Some(bytes)
        }
        Ok(Outcome::Unchanged) => Some(payload.to_vec()),
        Ok(Outcome::Dropped) => None,
        Err(e) => panic!("the processor failed the whole batch: {e}"),
    }
}

/// A string value.
pub fn string(text: &str) -> AnyValue {
    AnyValue { value: Some(any_value::Value::StringValue(text.to_owned())) }
}

/// A string attribute.
pub fn attribute(key: &str, value: &str) -> KeyValue {
    KeyValue { key: key.to_owned(), value: Some(string(value)), ..Default::default() }
}

/// A key-value list value.
pub fn kvlist(values: Vec<KeyValue>) -> AnyValue {
    AnyValue { value: Some(any_value::Value::KvlistValue(KeyValueList { values })) }
}

/// A logs request of one resource (with `resource` attributes) and one scope.
pub fn logs(resource: Vec<KeyValue>, records: Vec<LogRecord>) -> Vec<u8> {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource { attributes: resource, ..Default::default() }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope { name: "fuzz".into(), ..Default::default() }),
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// A traces request of one resource (with `resource` attributes) and one scope.
pub fn traces(resource: Vec<KeyValue>, spans: Vec<Span>) -> Vec<u8> {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource { attributes: resource, ..Default::default() }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope { name: "fuzz".into(), ..Default::default() }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// A metrics request of one resource (with `resource` attributes) and one scope.
pub fn metrics(resource: Vec<KeyValue>, metrics: Vec<Metric>) -> Vec<u8> {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource { attributes: resource, ..Default::default() }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope { name: "fuzz".into(), version: "1.0".into(), ..Default::default() }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// A log record whose body is `body`.
pub fn record(body: &str, attributes: Vec<KeyValue>) -> LogRecord {
    LogRecord {
        time_unix_nano: 1_706_193_045_123_000_000,
        observed_time_unix_nano: 1_706_193_045_124_000_000,
        body: Some(string(body)),
        attributes,
        ..Default::default()
    }
}

/// A histogram data point with `attributes`: four values, 12.5 in all, one of them at most 5.
pub fn histogram_point(attributes: Vec<KeyValue>) -> HistogramDataPoint {
    HistogramDataPoint {
        attributes,
        count: 4,
        sum: Some(12.5),
        bucket_counts: vec![1, 3],
        explicit_bounds: vec![5.0],
        ..Default::default()
    }
}
