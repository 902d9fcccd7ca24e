//! Zero-copy views and splice editors over OTLP protobuf bytes.
//!
//! Telemetry crosses every Aegis boundary as encoded `ExportLogsServiceRequest`,
//! `ExportTraceServiceRequest` and `ExportMetricsServiceRequest` messages. Decoding them
//! into structs and encoding them again costs more than a whole pipeline stage may
//! spend, so this crate works on the bytes instead:
//!
//! - [`validate`] checks a whole request against the OTLP schema in one pass and counts it;
//! - [`split`] cuts a request into requests of at most N items, copying byte ranges;
//! - [`Logs`], [`Traces`] and [`Metrics`] index a request, hand out lazy views of its
//!   records, spans and data points, and apply edits by re-encoding only the touched
//!   messages and copying everything else verbatim.
//!
//! Nothing here panics on malformed input: validation reports the byte offset of the
//! first problem, and views read garbage as absent fields.

mod assemble;
mod edit;
mod index;
mod logs;
mod metrics;
mod owned;
mod pb;
mod request;
mod split;
mod traces;
mod tree;
mod validate;
mod value;
mod view;

/// Protobuf writing at the lowest level, for plugins that write OTLP (or another protocol's
/// protobuf, as the Loki exporter does) directly instead of through the owned structs.
pub mod encode {
    pub use crate::pb::{len_field_len, put_len_header, put_tag, put_varint, tag_len, varint_len};
}

use std::fmt;

pub use edit::{AttributeScratch, AttributesMut, MessageMut, Outcome};
pub use logs::{LogRecordMut, Logs, ResourceLogsMut, ScopeLogsMut};
pub use metrics::{DataPointMut, MetricMut, Metrics, ResourceMetricsMut, ScopeMetricsMut};
pub use owned::{
    AttributeList, LogRecordData, LogsData, MetricData, MetricKindData, MetricsData, NumberPointData, ResourceData,
    ResourceLogsData, ResourceMetricsData, ResourceSpansData, ScopeData, ScopeLogsData, ScopeMetricsData,
    ScopeSpansData, SpanData, SpanEventData, SpanLinkData, TracesData, attributes,
};
pub use traces::{ResourceSpansMut, ScopeSpansMut, SpanMut, Traces};
pub use value::{
    AnyValue, ArrayValue, Attributes, EncodeValue, KvList, Value, ValueRef, encode_any_value, encode_key_value,
};
pub use view::{
    DataPoint, LogFields, LogRecord, Metric, MetricKind, NumberValue, PointKind, Resource, ResourceLogs,
    ResourceMetrics, ResourceSpans, Scope, ScopeLogs, ScopeMetrics, ScopeSpans, Span, SpanEvent, SpanLink, Status,
    span_kind, status_code,
};

/// How deep messages may nest in a request (the OTLP structure itself takes up to nine
/// levels; the rest is for nested `AnyValue` arrays and lists). Deeper requests are
/// rejected, which also keeps them within what prost decodes.
pub const MAX_DEPTH: usize = 64;

/// The three OTLP signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Log records: `ExportLogsServiceRequest`.
    Logs,
    /// Spans: `ExportTraceServiceRequest`.
    Traces,
    /// Metrics: `ExportMetricsServiceRequest`.
    Metrics,
}

impl Signal {
    /// The signal's name in lowercase: `logs`, `traces`, `metrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Logs => "logs",
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request that is not valid OTLP protobuf, and where it goes wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireError {
    /// The byte offset, from the start of the request, of the first bad byte.
    pub offset: usize,
    /// What is wrong there.
    pub message: String,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed OTLP protobuf at byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for WireError {}

impl From<Box<pb::Failure>> for WireError {
    fn from(failure: Box<pb::Failure>) -> Self {
        WireError { offset: failure.offset, message: failure.fault.describe() }
    }
}

/// What a valid request holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Resources (`ResourceLogs`, `ResourceSpans`, `ResourceMetrics`).
    pub resources: usize,
    /// Log records, spans, or data points of every metric type.
    pub items: usize,
}

/// Validates a whole request of `signal`.
///
/// Every message of the OTLP schema reachable from the request is checked: resources,
/// scopes, log records, spans with their events, links and status, metrics with every
/// data point type, exemplars and buckets, and `KeyValue`/`AnyValue` through arrays and
/// lists (nested at most [`MAX_DEPTH`] messages deep). Checked are the wire type of each
/// known field, varints, length bounds and the UTF-8 of string fields; unknown fields
/// are skipped, as protobuf requires. A field that holds one message (a record's body, an
/// attribute's value, a resource, a scope, a span's status, a metric's data, the members of
/// `AnyValue`'s list and map) may come only once: protobuf would merge two, and the views,
/// which read the last, would then read other than the backends. Two valid requests concatenated are a valid
/// request. Returns how many resources and items the request holds.
pub fn validate(signal: Signal, bytes: &[u8]) -> Result<Counts, WireError> {
    validate::validate(signal, bytes).map_err(WireError::from)
}

/// Splits a request into requests of at most `max_items` items each (a `max_items` of
/// zero counts as one).
///
/// Resources, scopes and metrics that must be cut are re-framed around each part, with
/// their other fields copied; containers without items go with the part they sit in.
/// The parts concatenated are the same telemetry as the input. A request that already
/// fits, or that cannot be indexed (validate it first), comes back as one part.
pub fn split(signal: Signal, bytes: &[u8], max_items: usize) -> Vec<Vec<u8>> {
    split::split(signal, bytes, max_items)
}
