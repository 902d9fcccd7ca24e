//! Lazy, zero-copy views over encoded OTLP messages.
//!
//! A view is a byte slice and a set of getters; each getter scans the message for its
//! field when called (the last occurrence wins, as protobuf says). Absent fields read
//! as their protobuf defaults; a string that is not UTF-8 reads as empty. Views never
//! panic, whatever the bytes.

use crate::pb::{self, Fields, last_fixed32, last_fixed64, last_len, last_str, last_varint};
use crate::value::{AnyValue, Attributes};

/// Field numbers used by the views and editors.
pub(crate) mod field {
    pub(crate) const LOG_TIME: u32 = 1;
    pub(crate) const LOG_SEVERITY_NUMBER: u32 = 2;
    pub(crate) const LOG_SEVERITY_TEXT: u32 = 3;
    pub(crate) const LOG_BODY: u32 = 5;
    pub(crate) const LOG_ATTRIBUTES: u32 = 6;
    pub(crate) const LOG_DROPPED_ATTRIBUTES: u32 = 7;
    pub(crate) const LOG_FLAGS: u32 = 8;
    pub(crate) const LOG_TRACE_ID: u32 = 9;
    pub(crate) const LOG_SPAN_ID: u32 = 10;
    pub(crate) const LOG_OBSERVED_TIME: u32 = 11;
    pub(crate) const LOG_EVENT_NAME: u32 = 12;

    pub(crate) const SPAN_TRACE_ID: u32 = 1;
    pub(crate) const SPAN_SPAN_ID: u32 = 2;
    pub(crate) const SPAN_TRACE_STATE: u32 = 3;
    pub(crate) const SPAN_PARENT_SPAN_ID: u32 = 4;
    pub(crate) const SPAN_NAME: u32 = 5;
    pub(crate) const SPAN_KIND: u32 = 6;
    pub(crate) const SPAN_START: u32 = 7;
    pub(crate) const SPAN_END: u32 = 8;
    pub(crate) const SPAN_ATTRIBUTES: u32 = 9;
    pub(crate) const SPAN_DROPPED_ATTRIBUTES: u32 = 10;
    pub(crate) const SPAN_EVENTS: u32 = 11;
    pub(crate) const SPAN_DROPPED_EVENTS: u32 = 12;
    pub(crate) const SPAN_LINKS: u32 = 13;
    pub(crate) const SPAN_DROPPED_LINKS: u32 = 14;
    pub(crate) const SPAN_STATUS: u32 = 15;
    pub(crate) const SPAN_FLAGS: u32 = 16;

    pub(crate) const RESOURCE_ATTRIBUTES: u32 = 1;
    pub(crate) const SCOPE_NAME: u32 = 1;
    pub(crate) const SCOPE_VERSION: u32 = 2;
    pub(crate) const SCOPE_ATTRIBUTES: u32 = 3;

    pub(crate) const METRIC_NAME: u32 = 1;
    pub(crate) const METRIC_DESCRIPTION: u32 = 2;
    pub(crate) const METRIC_UNIT: u32 = 3;
    pub(crate) const METRIC_METADATA: u32 = 12;
}

use field::*;

/// A view over an encoded `LogRecord`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LogRecord<'a> {
    bytes: &'a [u8],
}

impl<'a> LogRecord<'a> {
    /// Views `bytes` (a `LogRecord` message's payload).
    pub fn new(bytes: &'a [u8]) -> Self {
        LogRecord { bytes }
    }

    /// The encoded payload.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// `time_unix_nano`: when the event happened.
    pub fn time_unix_nano(&self) -> u64 {
        last_fixed64(self.bytes, LOG_TIME).unwrap_or(0)
    }

    /// `observed_time_unix_nano`: when the event was observed.
    pub fn observed_time_unix_nano(&self) -> u64 {
        last_fixed64(self.bytes, LOG_OBSERVED_TIME).unwrap_or(0)
    }

    /// `severity_number` (0 unspecified, 1-4 trace, 5-8 debug, 9-12 info, 13-16 warn,
    /// 17-20 error, 21-24 fatal).
    pub fn severity_number(&self) -> i32 {
        last_varint(self.bytes, LOG_SEVERITY_NUMBER).map_or(0, |v| v as i32)
    }

    /// `severity_text`, e.g. `INFO`.
    pub fn severity_text(&self) -> &'a str {
        last_str(self.bytes, LOG_SEVERITY_TEXT)
    }

    /// The body, if the record has one.
    pub fn body(&self) -> Option<AnyValue<'a>> {
        last_len(self.bytes, LOG_BODY).map(AnyValue::new)
    }

    /// The attributes, in order.
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes::new(self.bytes, LOG_ATTRIBUTES)
    }

    /// The value of the attribute named `key`.
    pub fn attribute(&self, key: &str) -> Option<AnyValue<'a>> {
        self.attributes().get(key)
    }

    /// `dropped_attributes_count`.
    pub fn dropped_attributes_count(&self) -> u32 {
        last_varint(self.bytes, LOG_DROPPED_ATTRIBUTES).map_or(0, |v| v as u32)
    }

    /// `flags` (the low byte holds the W3C trace flags).
    pub fn flags(&self) -> u32 {
        last_fixed32(self.bytes, LOG_FLAGS).unwrap_or(0)
    }

    /// `trace_id`: 16 bytes, or empty.
    pub fn trace_id(&self) -> &'a [u8] {
        last_len(self.bytes, LOG_TRACE_ID).unwrap_or(&[])
    }

    /// `span_id`: 8 bytes, or empty.
    pub fn span_id(&self) -> &'a [u8] {
        last_len(self.bytes, LOG_SPAN_ID).unwrap_or(&[])
    }

    /// `event_name`.
    pub fn event_name(&self) -> &'a str {
        last_str(self.bytes, LOG_EVENT_NAME)
    }

    /// Every singular field at once, read in one pass over the record. Each getter above
    /// scans the whole record, so code that needs several of them (an exporter turning
    /// records into another format) reads them here; the values are the getters' own.
    pub fn fields(&self) -> LogFields<'a> {
        let mut out = LogFields::default();
        let (mut severity_text, mut event_name): (&[u8], &[u8]) = (&[], &[]);
        for field in Fields::new(self.bytes) {
            match (field.number, field.value) {
                (LOG_TIME, pb::Value::I64(v)) => out.time_unix_nano = v,
                (LOG_SEVERITY_NUMBER, pb::Value::Varint(v)) => out.severity_number = v as i32,
                (LOG_SEVERITY_TEXT, pb::Value::Len(v)) => severity_text = v,
                (LOG_BODY, pb::Value::Len(v)) => out.body = Some(AnyValue::new(v)),
                (LOG_DROPPED_ATTRIBUTES, pb::Value::Varint(v)) => out.dropped_attributes_count = v as u32,
                (LOG_FLAGS, pb::Value::I32(v)) => out.flags = v,
                (LOG_TRACE_ID, pb::Value::Len(v)) => out.trace_id = v,
                (LOG_SPAN_ID, pb::Value::Len(v)) => out.span_id = v,
                (LOG_OBSERVED_TIME, pb::Value::I64(v)) => out.observed_time_unix_nano = v,
                (LOG_EVENT_NAME, pb::Value::Len(v)) => event_name = v,
                _ => {}
            }
        }
        out.severity_text = std::str::from_utf8(severity_text).unwrap_or("");
        out.event_name = std::str::from_utf8(event_name).unwrap_or("");
        out
    }
}

/// A log record's singular fields, as [`LogRecord::fields`] reads them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogFields<'a> {
    /// `time_unix_nano`.
    pub time_unix_nano: u64,
    /// `observed_time_unix_nano`.
    pub observed_time_unix_nano: u64,
    /// `severity_number`.
    pub severity_number: i32,
    /// `severity_text` (empty when absent or not UTF-8).
    pub severity_text: &'a str,
    /// The body, if the record has one.
    pub body: Option<AnyValue<'a>>,
    /// `dropped_attributes_count`.
    pub dropped_attributes_count: u32,
    /// `flags`.
    pub flags: u32,
    /// `trace_id`, or empty.
    pub trace_id: &'a [u8],
    /// `span_id`, or empty.
    pub span_id: &'a [u8],
    /// `event_name`.
    pub event_name: &'a str,
}

/// Span kinds (`Span.kind`).
pub mod span_kind {
    /// Unspecified.
    pub const UNSPECIFIED: i32 = 0;
    /// An internal operation.
    pub const INTERNAL: i32 = 1;
    /// The server side of a remote call.
    pub const SERVER: i32 = 2;
    /// The client side of a remote call.
    pub const CLIENT: i32 = 3;
    /// The sender of a message.
    pub const PRODUCER: i32 = 4;
    /// The receiver of a message.
    pub const CONSUMER: i32 = 5;
}

/// Status codes (`Status.code`).
pub mod status_code {
    /// Unset.
    pub const UNSET: i32 = 0;
    /// Success.
    pub const OK: i32 = 1;
    /// An error.
    pub const ERROR: i32 = 2;
}

/// A view over an encoded `Span`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span<'a> {
    bytes: &'a [u8],
}

impl<'a> Span<'a> {
    /// Views `bytes` (a `Span` message's payload).
    pub fn new(bytes: &'a [u8]) -> Self {
        Span { bytes }
    }

    /// The encoded payload.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// `trace_id`: 16 bytes.
    pub fn trace_id(&self) -> &'a [u8] {
        last_len(self.bytes, SPAN_TRACE_ID).unwrap_or(&[])
    }

    /// `span_id`: 8 bytes.
    pub fn span_id(&self) -> &'a [u8] {
        last_len(self.bytes, SPAN_SPAN_ID).unwrap_or(&[])
    }

    /// `trace_state`, W3C format.
    pub fn trace_state(&self) -> &'a str {
        last_str(self.bytes, SPAN_TRACE_STATE)
    }

    /// `parent_span_id`: 8 bytes, or empty for a root span.
    pub fn parent_span_id(&self) -> &'a [u8] {
        last_len(self.bytes, SPAN_PARENT_SPAN_ID).unwrap_or(&[])
    }

    /// `flags`.
    pub fn flags(&self) -> u32 {
        last_fixed32(self.bytes, SPAN_FLAGS).unwrap_or(0)
    }

    /// `name`.
    pub fn name(&self) -> &'a str {
        last_str(self.bytes, SPAN_NAME)
    }

    /// `kind`; see [`span_kind`].
    pub fn kind(&self) -> i32 {
        last_varint(self.bytes, SPAN_KIND).map_or(0, |v| v as i32)
    }

    /// `start_time_unix_nano`.
    pub fn start_time_unix_nano(&self) -> u64 {
        last_fixed64(self.bytes, SPAN_START).unwrap_or(0)
    }

    /// `end_time_unix_nano`.
    pub fn end_time_unix_nano(&self) -> u64 {
        last_fixed64(self.bytes, SPAN_END).unwrap_or(0)
    }

    /// The attributes, in order.
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes::new(self.bytes, SPAN_ATTRIBUTES)
    }

    /// The value of the attribute named `key`.
    pub fn attribute(&self, key: &str) -> Option<AnyValue<'a>> {
        self.attributes().get(key)
    }

    /// `dropped_attributes_count`.
    pub fn dropped_attributes_count(&self) -> u32 {
        last_varint(self.bytes, SPAN_DROPPED_ATTRIBUTES).map_or(0, |v| v as u32)
    }

    /// The events, in order.
    pub fn events(&self) -> impl Iterator<Item = SpanEvent<'a>> + 'a {
        repeated(self.bytes, SPAN_EVENTS).map(|bytes| SpanEvent { bytes })
    }

    /// `dropped_events_count`.
    pub fn dropped_events_count(&self) -> u32 {
        last_varint(self.bytes, SPAN_DROPPED_EVENTS).map_or(0, |v| v as u32)
    }

    /// The links, in order.
    pub fn links(&self) -> impl Iterator<Item = SpanLink<'a>> + 'a {
        repeated(self.bytes, SPAN_LINKS).map(|bytes| SpanLink { bytes })
    }

    /// `dropped_links_count`.
    pub fn dropped_links_count(&self) -> u32 {
        last_varint(self.bytes, SPAN_DROPPED_LINKS).map_or(0, |v| v as u32)
    }

    /// The status; an absent status reads as code unset with no message.
    pub fn status(&self) -> Status<'a> {
        Status { bytes: last_len(self.bytes, SPAN_STATUS).unwrap_or(&[]) }
    }
}

/// The payloads of every occurrence of a length-delimited field.
pub(crate) fn repeated(bytes: &[u8], number: u32) -> impl Iterator<Item = &[u8]> {
    Fields::new(bytes).filter_map(move |f| match f.value {
        pb::Value::Len(b) if f.number == number => Some(b),
        _ => None,
    })
}

/// A view over an encoded `Span.Event`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SpanEvent<'a> {
    bytes: &'a [u8],
}

impl<'a> SpanEvent<'a> {
    /// The encoded payload.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// `time_unix_nano`.
    pub fn time_unix_nano(&self) -> u64 {
        last_fixed64(self.bytes, 1).unwrap_or(0)
    }

    /// `name`.
    pub fn name(&self) -> &'a str {
        last_str(self.bytes, 2)
    }

    /// The attributes, in order.
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes::new(self.bytes, 3)
    }

    /// `dropped_attributes_count`.
    pub fn dropped_attributes_count(&self) -> u32 {
        last_varint(self.bytes, 4).map_or(0, |v| v as u32)
    }
}

/// A view over an encoded `Span.Link`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SpanLink<'a> {
    bytes: &'a [u8],
}

impl<'a> SpanLink<'a> {
    /// The encoded payload.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// `trace_id`.
    pub fn trace_id(&self) -> &'a [u8] {
        last_len(self.bytes, 1).unwrap_or(&[])
    }

    /// `span_id`.
    pub fn span_id(&self) -> &'a [u8] {
        last_len(self.bytes, 2).unwrap_or(&[])
    }

    /// `trace_state`.
    pub fn trace_state(&self) -> &'a str {
        last_str(self.bytes, 3)
    }

    /// The attributes, in order.
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes::new(self.bytes, 4)
    }

    /// `dropped_attributes_count`.
    pub fn dropped_attributes_count(&self) -> u32 {
        last_varint(self.bytes, 5).map_or(0, |v| v as u32)
    }

    /// `flags`.
    pub fn flags(&self) -> u32 {
        last_fixed32(self.bytes, 6).unwrap_or(0)
    }
}

/// A view over an encoded `Status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Status<'a> {
    bytes: &'a [u8],
}

impl<'a> Status<'a> {
    /// `code`; see [`status_code`].
    pub fn code(&self) -> i32 {
        last_varint(self.bytes, 3).map_or(0, |v| v as i32)
    }

    /// `message`.
    pub fn message(&self) -> &'a str {
        last_str(self.bytes, 2)
    }
}

/// A view over an encoded `Resource`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Resource<'a> {
    bytes: &'a [u8],
}

impl<'a> Resource<'a> {
    /// Views `bytes` (a `Resource` message's payload).
    pub fn new(bytes: &'a [u8]) -> Self {
        Resource { bytes }
    }

    /// The encoded payload.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The attributes, in order.
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes::new(self.bytes, RESOURCE_ATTRIBUTES)
    }

    /// The value of the attribute named `key`, e.g. `service.name`.
    pub fn attribute(&self, key: &str) -> Option<AnyValue<'a>> {
        self.attributes().get(key)
    }

    /// `dropped_attributes_count`.
    pub fn dropped_attributes_count(&self) -> u32 {
        last_varint(self.bytes, 2).map_or(0, |v| v as u32)
    }
}

/// A view over an encoded `InstrumentationScope`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Scope<'a> {
    bytes: &'a [u8],
}

impl<'a> Scope<'a> {
    /// Views `bytes` (an `InstrumentationScope` message's payload).
    pub fn new(bytes: &'a [u8]) -> Self {
        Scope { bytes }
    }

    /// The encoded payload.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// `name`.
    pub fn name(&self) -> &'a str {
        last_str(self.bytes, SCOPE_NAME)
    }

    /// `version`.
    pub fn version(&self) -> &'a str {
        last_str(self.bytes, SCOPE_VERSION)
    }

    /// The attributes, in order.
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes::new(self.bytes, SCOPE_ATTRIBUTES)
    }

    /// The value of the attribute named `key`.
    pub fn attribute(&self, key: &str) -> Option<AnyValue<'a>> {
        self.attributes().get(key)
    }

    /// `dropped_attributes_count`.
    pub fn dropped_attributes_count(&self) -> u32 {
        last_varint(self.bytes, 4).map_or(0, |v| v as u32)
    }
}

/// Which kind of data a metric carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// `gauge`: number data points.
    Gauge,
    /// `sum`: number data points, with temporality and monotonicity.
    Sum,
    /// `histogram`: histogram data points.
    Histogram,
    /// `exponential_histogram`: exponential histogram data points.
    ExponentialHistogram,
    /// `summary`: summary data points.
    Summary,
}

impl MetricKind {
    /// The kind stored in `Metric` field `number`.
    pub(crate) fn from_field(number: u32) -> Option<MetricKind> {
        Some(match number {
            5 => MetricKind::Gauge,
            7 => MetricKind::Sum,
            9 => MetricKind::Histogram,
            10 => MetricKind::ExponentialHistogram,
            11 => MetricKind::Summary,
            _ => return None,
        })
    }

    /// The kind of data point this metric kind holds.
    pub fn point_kind(self) -> PointKind {
        match self {
            MetricKind::Gauge | MetricKind::Sum => PointKind::Number,
            MetricKind::Histogram => PointKind::Histogram,
            MetricKind::ExponentialHistogram => PointKind::ExponentialHistogram,
            MetricKind::Summary => PointKind::Summary,
        }
    }
}

/// A view over an encoded `Metric`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Metric<'a> {
    bytes: &'a [u8],
}

impl<'a> Metric<'a> {
    /// Views `bytes` (a `Metric` message's payload).
    pub fn new(bytes: &'a [u8]) -> Self {
        Metric { bytes }
    }

    /// The encoded payload.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// `name`.
    pub fn name(&self) -> &'a str {
        last_str(self.bytes, METRIC_NAME)
    }

    /// `description`.
    pub fn description(&self) -> &'a str {
        last_str(self.bytes, METRIC_DESCRIPTION)
    }

    /// `unit`.
    pub fn unit(&self) -> &'a str {
        last_str(self.bytes, METRIC_UNIT)
    }

    /// `metadata` attributes.
    pub fn metadata(&self) -> Attributes<'a> {
        Attributes::new(self.bytes, METRIC_METADATA)
    }

    fn data(&self) -> Option<(MetricKind, &'a [u8])> {
        let mut found = None;
        for f in Fields::new(self.bytes) {
            if let (Some(kind), pb::Value::Len(b)) = (MetricKind::from_field(f.number), f.value) {
                found = Some((kind, b));
            }
        }
        found
    }

    /// Which kind of data the metric carries, if any.
    pub fn kind(&self) -> Option<MetricKind> {
        self.data().map(|(kind, _)| kind)
    }

    /// `aggregation_temporality` for sums and histograms (0 unspecified, 1 delta,
    /// 2 cumulative).
    pub fn aggregation_temporality(&self) -> i32 {
        match self.data() {
            Some((MetricKind::Sum | MetricKind::Histogram | MetricKind::ExponentialHistogram, data)) => {
                last_varint(data, 2).map_or(0, |v| v as i32)
            }
            _ => 0,
        }
    }

    /// `is_monotonic` for sums.
    pub fn is_monotonic(&self) -> bool {
        match self.data() {
            Some((MetricKind::Sum, data)) => last_varint(data, 3).is_some_and(|v| v != 0),
            _ => false,
        }
    }

    /// The data points, in order.
    pub fn data_points(&self) -> impl Iterator<Item = DataPoint<'a>> + 'a {
        let (kind, data) = match self.data() {
            Some((kind, data)) => (kind.point_kind(), data),
            None => (PointKind::Number, &[][..]),
        };
        repeated(data, 1).map(move |bytes| DataPoint { kind, bytes })
    }
}

/// Which kind of data point a view holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PointKind {
    /// `NumberDataPoint` (gauges and sums).
    Number,
    /// `HistogramDataPoint`.
    Histogram,
    /// `ExponentialHistogramDataPoint`.
    ExponentialHistogram,
    /// `SummaryDataPoint`.
    Summary,
}

impl PointKind {
    /// The field number of the point's attributes.
    pub fn attributes_field(self) -> u32 {
        match self {
            PointKind::Number | PointKind::Summary => 7,
            PointKind::Histogram => 9,
            PointKind::ExponentialHistogram => 1,
        }
    }

    fn flags_field(self) -> u32 {
        match self {
            PointKind::Number | PointKind::Summary => 8,
            PointKind::Histogram | PointKind::ExponentialHistogram => 10,
        }
    }
}

/// The value of a number data point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NumberValue {
    /// `as_double`.
    Double(f64),
    /// `as_int`.
    Int(i64),
}

impl NumberValue {
    /// The value as a double (integers converted).
    pub fn as_f64(self) -> f64 {
        match self {
            NumberValue::Double(v) => v,
            NumberValue::Int(v) => v as f64,
        }
    }
}

/// A view over an encoded data point of any kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataPoint<'a> {
    kind: PointKind,
    bytes: &'a [u8],
}

impl<'a> DataPoint<'a> {
    /// Views `bytes` as a data point of `kind`.
    pub fn new(kind: PointKind, bytes: &'a [u8]) -> Self {
        DataPoint { kind, bytes }
    }

    /// The encoded payload.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Which kind of point this is.
    pub fn kind(&self) -> PointKind {
        self.kind
    }

    /// The attributes, in order.
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes::new(self.bytes, self.kind.attributes_field())
    }

    /// The value of the attribute named `key`.
    pub fn attribute(&self, key: &str) -> Option<AnyValue<'a>> {
        self.attributes().get(key)
    }

    /// `start_time_unix_nano`.
    pub fn start_time_unix_nano(&self) -> u64 {
        last_fixed64(self.bytes, 2).unwrap_or(0)
    }

    /// `time_unix_nano`.
    pub fn time_unix_nano(&self) -> u64 {
        last_fixed64(self.bytes, 3).unwrap_or(0)
    }

    /// `flags`.
    pub fn flags(&self) -> u32 {
        last_varint(self.bytes, self.kind.flags_field()).map_or(0, |v| v as u32)
    }

    /// The value of a number point (`None` for other kinds or when unset).
    pub fn value(&self) -> Option<NumberValue> {
        if self.kind != PointKind::Number {
            return None;
        }
        let mut found = None;
        for f in Fields::new(self.bytes) {
            match (f.number, f.value) {
                (4, pb::Value::I64(v)) => found = Some(NumberValue::Double(f64::from_bits(v))),
                (6, pb::Value::I64(v)) => found = Some(NumberValue::Int(v as i64)),
                _ => {}
            }
        }
        found
    }

    /// `count` of histogram, exponential histogram and summary points.
    pub fn count(&self) -> Option<u64> {
        match self.kind {
            PointKind::Number => None,
            _ => Some(last_fixed64(self.bytes, 4).unwrap_or(0)),
        }
    }

    /// `sum` of histogram, exponential histogram and summary points, when set.
    pub fn sum(&self) -> Option<f64> {
        match self.kind {
            PointKind::Number => None,
            _ => last_fixed64(self.bytes, 5).map(f64::from_bits),
        }
    }

    /// `min` of histogram and exponential histogram points, when set.
    pub fn min(&self) -> Option<f64> {
        match self.kind {
            PointKind::Histogram => last_fixed64(self.bytes, 11),
            PointKind::ExponentialHistogram => last_fixed64(self.bytes, 12),
            _ => None,
        }
        .map(f64::from_bits)
    }

    /// `max` of histogram and exponential histogram points, when set.
    pub fn max(&self) -> Option<f64> {
        match self.kind {
            PointKind::Histogram => last_fixed64(self.bytes, 12),
            PointKind::ExponentialHistogram => last_fixed64(self.bytes, 13),
            _ => None,
        }
        .map(f64::from_bits)
    }

    /// `bucket_counts` of a histogram point (packed or not).
    pub fn bucket_counts(&self) -> Vec<u64> {
        if self.kind != PointKind::Histogram {
            return Vec::new();
        }
        fixed64s(self.bytes, 6)
    }

    /// `explicit_bounds` of a histogram point.
    pub fn explicit_bounds(&self) -> Vec<f64> {
        if self.kind != PointKind::Histogram {
            return Vec::new();
        }
        fixed64s(self.bytes, 7).into_iter().map(f64::from_bits).collect()
    }

    /// `scale` of an exponential histogram point.
    pub fn scale(&self) -> i32 {
        match self.kind {
            PointKind::ExponentialHistogram => last_varint(self.bytes, 6).map_or(0, zigzag32),
            _ => 0,
        }
    }

    /// `zero_count` of an exponential histogram point.
    pub fn zero_count(&self) -> u64 {
        match self.kind {
            PointKind::ExponentialHistogram => last_fixed64(self.bytes, 7).unwrap_or(0),
            _ => 0,
        }
    }

    /// `quantile_values` of a summary point, as `(quantile, value)` pairs.
    pub fn quantile_values(&self) -> Vec<(f64, f64)> {
        if self.kind != PointKind::Summary {
            return Vec::new();
        }
        repeated(self.bytes, 6)
            .map(|q| (f64::from_bits(last_fixed64(q, 1).unwrap_or(0)), f64::from_bits(last_fixed64(q, 2).unwrap_or(0))))
            .collect()
    }

    /// How many exemplars the point carries.
    pub fn exemplar_count(&self) -> usize {
        let number = match self.kind {
            PointKind::Number => 5,
            PointKind::Histogram => 8,
            PointKind::ExponentialHistogram => 11,
            PointKind::Summary => return 0,
        };
        repeated(self.bytes, number).count()
    }
}

fn zigzag32(v: u64) -> i32 {
    let v = v as u32;
    ((v >> 1) as i32) ^ -((v & 1) as i32)
}

/// Every value of a repeated fixed64 field, packed or not.
fn fixed64s(bytes: &[u8], number: u32) -> Vec<u64> {
    let mut out = Vec::new();
    for f in Fields::new(bytes) {
        if f.number != number {
            continue;
        }
        match f.value {
            pb::Value::I64(v) => out.push(v),
            pb::Value::Len(b) => out.extend(b.chunks_exact(8).map(|c| {
                let mut raw = [0u8; 8];
                raw.copy_from_slice(c);
                u64::from_le_bytes(raw)
            })),
            _ => {}
        }
    }
    out
}

macro_rules! container_views {
    ($(
        $(#[$rdoc:meta])* $resource:ident, $scopes_fn:ident,
        $(#[$sdoc:meta])* $scope:ident, $items_fn:ident -> $item:ident;
    )*) => {$(
        $(#[$rdoc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
        pub struct $resource<'a> {
            bytes: &'a [u8],
        }

        impl<'a> $resource<'a> {
            /// Views the message's payload.
            pub fn new(bytes: &'a [u8]) -> Self {
                $resource { bytes }
            }

            /// The encoded payload.
            pub fn bytes(&self) -> &'a [u8] {
                self.bytes
            }

            /// The resource (empty when absent).
            pub fn resource(&self) -> Resource<'a> {
                Resource::new(last_len(self.bytes, 1).unwrap_or(&[]))
            }

            /// `schema_url`.
            pub fn schema_url(&self) -> &'a str {
                last_str(self.bytes, 3)
            }

            /// The scopes, in order.
            pub fn $scopes_fn(&self) -> impl Iterator<Item = $scope<'a>> + 'a {
                repeated(self.bytes, 2).map($scope::new)
            }
        }

        $(#[$sdoc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
        pub struct $scope<'a> {
            bytes: &'a [u8],
        }

        impl<'a> $scope<'a> {
            /// Views the message's payload.
            pub fn new(bytes: &'a [u8]) -> Self {
                $scope { bytes }
            }

            /// The encoded payload.
            pub fn bytes(&self) -> &'a [u8] {
                self.bytes
            }

            /// The instrumentation scope (empty when absent).
            pub fn scope(&self) -> Scope<'a> {
                Scope::new(last_len(self.bytes, 1).unwrap_or(&[]))
            }

            /// `schema_url`.
            pub fn schema_url(&self) -> &'a str {
                last_str(self.bytes, 3)
            }

            /// The items, in order.
            pub fn $items_fn(&self) -> impl Iterator<Item = $item<'a>> + 'a {
                repeated(self.bytes, 2).map($item::new)
            }
        }
    )*};
}

container_views! {
    /// A view over an encoded `ResourceLogs`.
    ResourceLogs, scope_logs,
    /// A view over an encoded `ScopeLogs`.
    ScopeLogs, log_records -> LogRecord;
    /// A view over an encoded `ResourceSpans`.
    ResourceSpans, scope_spans,
    /// A view over an encoded `ScopeSpans`.
    ScopeSpans, spans -> Span;
    /// A view over an encoded `ResourceMetrics`.
    ResourceMetrics, scope_metrics,
    /// A view over an encoded `ScopeMetrics`.
    ScopeMetrics, metrics -> Metric;
}
