//! Schema-driven validation of whole OTLP requests.
//!
//! The schema is a table per message: for each field number, how it is encoded and,
//! for nested messages, which message it holds. One loop walks any message against
//! its table, so adding a field to the schema is one line. `LogRecord`, `KeyValue` and
//! `AnyValue`, which make up most of every batch, have hand-written loops for speed
//! that fall back to the table for anything unusual.

use crate::pb::{Failure, Fault, I32, I64, LEN, Reader, Res, VARINT};
use crate::{Counts, Signal};

/// How a field is encoded, and what a nested message is.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A field the schema does not define (or reserves): skipped like any unknown field.
    Unknown,
    Varint,
    Fixed64,
    Fixed32,
    Str,
    Bytes,
    /// A nested message, repeated.
    Msg(M),
    /// A nested message that is not repeated, and the bit that stands for it among its
    /// message's fields (the members of one `oneof` share a bit). Protobuf merges two
    /// occurrences into one message; the views read the last. A request that holds one
    /// twice is refused, so that nothing reads it other than the backends would.
    One(M, u8),
    /// A nested message that counts as one resource.
    Resource(M),
    /// A nested message that counts as one item (record, span, data point).
    Item(M),
    /// A repeated fixed64 or double: one value per field, or packed.
    PackedFixed64,
    /// A repeated varint: one value per field, or packed.
    PackedVarint,
}

/// One field of the schema.
#[derive(Clone, Copy, Debug)]
struct Fd {
    kind: Kind,
    name: &'static str,
}

const fn fd(kind: Kind, name: &'static str) -> Fd {
    Fd { kind, name }
}

const UNKNOWN: Fd = fd(Kind::Unknown, "");

/// Every message of the OTLP schema that a request can reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum M {
    LogsRequest,
    ResourceLogs,
    ScopeLogs,
    LogRecord,
    TracesRequest,
    ResourceSpans,
    ScopeSpans,
    Span,
    Event,
    Link,
    Status,
    MetricsRequest,
    ResourceMetrics,
    ScopeMetrics,
    Metric,
    Gauge,
    Sum,
    Histogram,
    ExponentialHistogram,
    Summary,
    NumberDataPoint,
    HistogramDataPoint,
    ExponentialHistogramDataPoint,
    Buckets,
    SummaryDataPoint,
    ValueAtQuantile,
    Exemplar,
    Resource,
    EntityRef,
    Scope,
    KeyValue,
    AnyValue,
    ArrayValue,
    KeyValueList,
}

use Kind::{Bytes, Fixed32, Fixed64, Msg, One, PackedFixed64, PackedVarint, Str, Varint};

/// The bit of `LogRecord.body` among the record's singular messages.
const BODY_BIT: u8 = 5;
/// The bit of `KeyValue.value`.
const VALUE_BIT: u8 = 2;

const LOGS_REQUEST: &[Fd] = &[UNKNOWN, fd(Kind::Resource(M::ResourceLogs), "resource_logs")];
const RESOURCE_LOGS: &[Fd] =
    &[UNKNOWN, fd(One(M::Resource, 1), "resource"), fd(Msg(M::ScopeLogs), "scope_logs"), fd(Str, "schema_url")];
const SCOPE_LOGS: &[Fd] =
    &[UNKNOWN, fd(One(M::Scope, 1), "scope"), fd(Kind::Item(M::LogRecord), "log_records"), fd(Str, "schema_url")];
const LOG_RECORD: &[Fd] = &[
    UNKNOWN,
    fd(Fixed64, "time_unix_nano"),
    fd(Varint, "severity_number"),
    fd(Str, "severity_text"),
    UNKNOWN,
    fd(One(M::AnyValue, BODY_BIT), "body"),
    fd(Msg(M::KeyValue), "attributes"),
    fd(Varint, "dropped_attributes_count"),
    fd(Fixed32, "flags"),
    fd(Bytes, "trace_id"),
    fd(Bytes, "span_id"),
    fd(Fixed64, "observed_time_unix_nano"),
    fd(Str, "event_name"),
];
const TRACES_REQUEST: &[Fd] = &[UNKNOWN, fd(Kind::Resource(M::ResourceSpans), "resource_spans")];
const RESOURCE_SPANS: &[Fd] =
    &[UNKNOWN, fd(One(M::Resource, 1), "resource"), fd(Msg(M::ScopeSpans), "scope_spans"), fd(Str, "schema_url")];
const SCOPE_SPANS: &[Fd] =
    &[UNKNOWN, fd(One(M::Scope, 1), "scope"), fd(Kind::Item(M::Span), "spans"), fd(Str, "schema_url")];
const SPAN: &[Fd] = &[
    UNKNOWN,
    fd(Bytes, "trace_id"),
    fd(Bytes, "span_id"),
    fd(Str, "trace_state"),
    fd(Bytes, "parent_span_id"),
    fd(Str, "name"),
    fd(Varint, "kind"),
    fd(Fixed64, "start_time_unix_nano"),
    fd(Fixed64, "end_time_unix_nano"),
    fd(Msg(M::KeyValue), "attributes"),
    fd(Varint, "dropped_attributes_count"),
    fd(Msg(M::Event), "events"),
    fd(Varint, "dropped_events_count"),
    fd(Msg(M::Link), "links"),
    fd(Varint, "dropped_links_count"),
    fd(One(M::Status, 15), "status"),
    fd(Fixed32, "flags"),
];
const EVENT: &[Fd] = &[
    UNKNOWN,
    fd(Fixed64, "time_unix_nano"),
    fd(Str, "name"),
    fd(Msg(M::KeyValue), "attributes"),
    fd(Varint, "dropped_attributes_count"),
];
const LINK: &[Fd] = &[
    UNKNOWN,
    fd(Bytes, "trace_id"),
    fd(Bytes, "span_id"),
    fd(Str, "trace_state"),
    fd(Msg(M::KeyValue), "attributes"),
    fd(Varint, "dropped_attributes_count"),
    fd(Fixed32, "flags"),
];
const STATUS: &[Fd] = &[UNKNOWN, UNKNOWN, fd(Str, "message"), fd(Varint, "code")];
const METRICS_REQUEST: &[Fd] = &[UNKNOWN, fd(Kind::Resource(M::ResourceMetrics), "resource_metrics")];
const RESOURCE_METRICS: &[Fd] =
    &[UNKNOWN, fd(One(M::Resource, 1), "resource"), fd(Msg(M::ScopeMetrics), "scope_metrics"), fd(Str, "schema_url")];
const SCOPE_METRICS: &[Fd] =
    &[UNKNOWN, fd(One(M::Scope, 1), "scope"), fd(Msg(M::Metric), "metrics"), fd(Str, "schema_url")];
const METRIC: &[Fd] = &[
    UNKNOWN,
    fd(Str, "name"),
    fd(Str, "description"),
    fd(Str, "unit"),
    UNKNOWN,
    fd(One(M::Gauge, 5), "gauge"),
    UNKNOWN,
    fd(One(M::Sum, 5), "sum"),
    UNKNOWN,
    fd(One(M::Histogram, 5), "histogram"),
    fd(One(M::ExponentialHistogram, 5), "exponential_histogram"),
    fd(One(M::Summary, 5), "summary"),
    fd(Msg(M::KeyValue), "metadata"),
];
const GAUGE: &[Fd] = &[UNKNOWN, fd(Kind::Item(M::NumberDataPoint), "data_points")];
const SUM: &[Fd] = &[
    UNKNOWN,
    fd(Kind::Item(M::NumberDataPoint), "data_points"),
    fd(Varint, "aggregation_temporality"),
    fd(Varint, "is_monotonic"),
];
const HISTOGRAM: &[Fd] =
    &[UNKNOWN, fd(Kind::Item(M::HistogramDataPoint), "data_points"), fd(Varint, "aggregation_temporality")];
const EXPONENTIAL_HISTOGRAM: &[Fd] =
    &[UNKNOWN, fd(Kind::Item(M::ExponentialHistogramDataPoint), "data_points"), fd(Varint, "aggregation_temporality")];
const SUMMARY: &[Fd] = &[UNKNOWN, fd(Kind::Item(M::SummaryDataPoint), "data_points")];
const NUMBER_DATA_POINT: &[Fd] = &[
    UNKNOWN,
    UNKNOWN,
    fd(Fixed64, "start_time_unix_nano"),
    fd(Fixed64, "time_unix_nano"),
    fd(Fixed64, "as_double"),
    fd(Msg(M::Exemplar), "exemplars"),
    fd(Fixed64, "as_int"),
    fd(Msg(M::KeyValue), "attributes"),
    fd(Varint, "flags"),
];
const HISTOGRAM_DATA_POINT: &[Fd] = &[
    UNKNOWN,
    UNKNOWN,
    fd(Fixed64, "start_time_unix_nano"),
    fd(Fixed64, "time_unix_nano"),
    fd(Fixed64, "count"),
    fd(Fixed64, "sum"),
    fd(PackedFixed64, "bucket_counts"),
    fd(PackedFixed64, "explicit_bounds"),
    fd(Msg(M::Exemplar), "exemplars"),
    fd(Msg(M::KeyValue), "attributes"),
    fd(Varint, "flags"),
    fd(Fixed64, "min"),
    fd(Fixed64, "max"),
];
const EXPONENTIAL_HISTOGRAM_DATA_POINT: &[Fd] = &[
    UNKNOWN,
    fd(Msg(M::KeyValue), "attributes"),
    fd(Fixed64, "start_time_unix_nano"),
    fd(Fixed64, "time_unix_nano"),
    fd(Fixed64, "count"),
    fd(Fixed64, "sum"),
    fd(Varint, "scale"),
    fd(Fixed64, "zero_count"),
    fd(One(M::Buckets, 8), "positive"),
    fd(One(M::Buckets, 9), "negative"),
    fd(Varint, "flags"),
    fd(Msg(M::Exemplar), "exemplars"),
    fd(Fixed64, "min"),
    fd(Fixed64, "max"),
    fd(Fixed64, "zero_threshold"),
];
const BUCKETS: &[Fd] = &[UNKNOWN, fd(Varint, "offset"), fd(PackedVarint, "bucket_counts")];
const SUMMARY_DATA_POINT: &[Fd] = &[
    UNKNOWN,
    UNKNOWN,
    fd(Fixed64, "start_time_unix_nano"),
    fd(Fixed64, "time_unix_nano"),
    fd(Fixed64, "count"),
    fd(Fixed64, "sum"),
    fd(Msg(M::ValueAtQuantile), "quantile_values"),
    fd(Msg(M::KeyValue), "attributes"),
    fd(Varint, "flags"),
];
const VALUE_AT_QUANTILE: &[Fd] = &[UNKNOWN, fd(Fixed64, "quantile"), fd(Fixed64, "value")];
const EXEMPLAR: &[Fd] = &[
    UNKNOWN,
    UNKNOWN,
    fd(Fixed64, "time_unix_nano"),
    fd(Fixed64, "as_double"),
    fd(Bytes, "span_id"),
    fd(Bytes, "trace_id"),
    fd(Fixed64, "as_int"),
    fd(Msg(M::KeyValue), "filtered_attributes"),
];
const RESOURCE: &[Fd] = &[
    UNKNOWN,
    fd(Msg(M::KeyValue), "attributes"),
    fd(Varint, "dropped_attributes_count"),
    fd(Msg(M::EntityRef), "entity_refs"),
];
const ENTITY_REF: &[Fd] =
    &[UNKNOWN, fd(Str, "schema_url"), fd(Str, "type"), fd(Str, "id_keys"), fd(Str, "description_keys")];
const SCOPE: &[Fd] = &[
    UNKNOWN,
    fd(Str, "name"),
    fd(Str, "version"),
    fd(Msg(M::KeyValue), "attributes"),
    fd(Varint, "dropped_attributes_count"),
];
const KEY_VALUE: &[Fd] =
    &[UNKNOWN, fd(Str, "key"), fd(One(M::AnyValue, VALUE_BIT), "value"), fd(Varint, "key_strindex")];
const ANY_VALUE: &[Fd] = &[
    UNKNOWN,
    fd(Str, "string_value"),
    fd(Varint, "bool_value"),
    fd(Varint, "int_value"),
    fd(Fixed64, "double_value"),
    fd(One(M::ArrayValue, 5), "array_value"),
    fd(One(M::KeyValueList, 5), "kvlist_value"),
    fd(Bytes, "bytes_value"),
    fd(Varint, "string_value_strindex"),
];
const ARRAY_VALUE: &[Fd] = &[UNKNOWN, fd(Msg(M::AnyValue), "values")];
const KEY_VALUE_LIST: &[Fd] = &[UNKNOWN, fd(Msg(M::KeyValue), "values")];

impl M {
    fn name(self) -> &'static str {
        match self {
            M::LogsRequest => "ExportLogsServiceRequest",
            M::ResourceLogs => "ResourceLogs",
            M::ScopeLogs => "ScopeLogs",
            M::LogRecord => "LogRecord",
            M::TracesRequest => "ExportTraceServiceRequest",
            M::ResourceSpans => "ResourceSpans",
            M::ScopeSpans => "ScopeSpans",
            M::Span => "Span",
            M::Event => "Span.Event",
            M::Link => "Span.Link",
            M::Status => "Status",
            M::MetricsRequest => "ExportMetricsServiceRequest",
            M::ResourceMetrics => "ResourceMetrics",
            M::ScopeMetrics => "ScopeMetrics",
            M::Metric => "Metric",
            M::Gauge => "Gauge",
            M::Sum => "Sum",
            M::Histogram => "Histogram",
            M::ExponentialHistogram => "ExponentialHistogram",
            M::Summary => "Summary",
            M::NumberDataPoint => "NumberDataPoint",
            M::HistogramDataPoint => "HistogramDataPoint",
            M::ExponentialHistogramDataPoint => "ExponentialHistogramDataPoint",
            M::Buckets => "ExponentialHistogramDataPoint.Buckets",
            M::SummaryDataPoint => "SummaryDataPoint",
            M::ValueAtQuantile => "SummaryDataPoint.ValueAtQuantile",
            M::Exemplar => "Exemplar",
            M::Resource => "Resource",
            M::EntityRef => "EntityRef",
            M::Scope => "InstrumentationScope",
            M::KeyValue => "KeyValue",
            M::AnyValue => "AnyValue",
            M::ArrayValue => "ArrayValue",
            M::KeyValueList => "KeyValueList",
        }
    }

    fn fields(self) -> &'static [Fd] {
        match self {
            M::LogsRequest => LOGS_REQUEST,
            M::ResourceLogs => RESOURCE_LOGS,
            M::ScopeLogs => SCOPE_LOGS,
            M::LogRecord => LOG_RECORD,
            M::TracesRequest => TRACES_REQUEST,
            M::ResourceSpans => RESOURCE_SPANS,
            M::ScopeSpans => SCOPE_SPANS,
            M::Span => SPAN,
            M::Event => EVENT,
            M::Link => LINK,
            M::Status => STATUS,
            M::MetricsRequest => METRICS_REQUEST,
            M::ResourceMetrics => RESOURCE_METRICS,
            M::ScopeMetrics => SCOPE_METRICS,
            M::Metric => METRIC,
            M::Gauge => GAUGE,
            M::Sum => SUM,
            M::Histogram => HISTOGRAM,
            M::ExponentialHistogram => EXPONENTIAL_HISTOGRAM,
            M::Summary => SUMMARY,
            M::NumberDataPoint => NUMBER_DATA_POINT,
            M::HistogramDataPoint => HISTOGRAM_DATA_POINT,
            M::ExponentialHistogramDataPoint => EXPONENTIAL_HISTOGRAM_DATA_POINT,
            M::Buckets => BUCKETS,
            M::SummaryDataPoint => SUMMARY_DATA_POINT,
            M::ValueAtQuantile => VALUE_AT_QUANTILE,
            M::Exemplar => EXEMPLAR,
            M::Resource => RESOURCE,
            M::EntityRef => ENTITY_REF,
            M::Scope => SCOPE,
            M::KeyValue => KEY_VALUE,
            M::AnyValue => ANY_VALUE,
            M::ArrayValue => ARRAY_VALUE,
            M::KeyValueList => KEY_VALUE_LIST,
        }
    }
}

/// Walks a request, counting as it goes.
struct Validator<'a> {
    buf: &'a [u8],
    counts: Counts,
}

#[cold]
fn fail<T>(offset: usize, fault: Fault) -> Res<T> {
    Err(Box::new(Failure { offset, fault }))
}

#[inline]
fn check_utf8(bytes: &[u8], at: usize, message: M, field: &'static str) -> Res<()> {
    // Most OTLP strings are ASCII; checking that first is cheaper than full decoding.
    if bytes.is_ascii() || std::str::from_utf8(bytes).is_ok() {
        Ok(())
    } else {
        fail(at, Fault::InvalidUtf8 { message: message.name(), field })
    }
}

/// Notes singular message `field` (bit `bit`) of `message` at `at`; fails if it came before.
#[inline]
fn once(seen: &mut u32, bit: u8, at: usize, message: M, field: &'static str) -> Res<()> {
    if *seen & (1 << bit) != 0 {
        return fail(at, Fault::Repeated { message: message.name(), field });
    }
    *seen |= 1 << bit;
    Ok(())
}

#[inline]
fn expect(wt: u8, expected: u8, at: usize, message: M, field: &'static str) -> Res<()> {
    if wt == expected {
        Ok(())
    } else {
        fail(at, Fault::WrongWireType { message: message.name(), field, found: wt, expected })
    }
}

impl Validator<'_> {
    fn message(&mut self, m: M, start: usize, end: usize, depth: usize) -> Res<()> {
        if depth > crate::MAX_DEPTH {
            return fail(start, Fault::TooDeep);
        }
        match m {
            M::KeyValue => return self.key_value(start, end, depth),
            M::AnyValue => return self.any_value(start, end, depth),
            M::LogRecord => return self.log_record(start, end, depth),
            _ => {}
        }
        let table = m.fields();
        let mut r = Reader::range(self.buf, start, end);
        let mut seen = 0u32;
        while !r.is_empty() {
            self.field(m, table, &mut r, depth, &mut seen)?;
        }
        Ok(())
    }

    /// Checks one field of message `m` against its table. `seen` holds the bits of the
    /// singular messages of `m` met so far.
    fn field(&mut self, m: M, table: &[Fd], r: &mut Reader<'_>, depth: usize, seen: &mut u32) -> Res<()> {
        let at = r.pos;
        let (number, wt) = r.tag()?;
        let fd = table.get(number as usize).copied().unwrap_or(UNKNOWN);
        match fd.kind {
            Kind::Unknown => r.skip(number, wt, at)?,
            Kind::Varint => {
                expect(wt, VARINT, at, m, fd.name)?;
                r.varint()?;
            }
            Kind::Fixed64 => {
                expect(wt, I64, at, m, fd.name)?;
                r.fixed64()?;
            }
            Kind::Fixed32 => {
                expect(wt, I32, at, m, fd.name)?;
                r.fixed32()?;
            }
            Kind::Str => {
                expect(wt, LEN, at, m, fd.name)?;
                let (s, e) = r.len_delimited()?;
                check_utf8(&self.buf[s..e], s, m, fd.name)?;
            }
            Kind::Bytes => {
                expect(wt, LEN, at, m, fd.name)?;
                r.len_delimited()?;
            }
            Kind::Msg(inner) => {
                expect(wt, LEN, at, m, fd.name)?;
                let (s, e) = r.len_delimited()?;
                self.message(inner, s, e, depth + 1)?;
            }
            Kind::One(inner, bit) => {
                expect(wt, LEN, at, m, fd.name)?;
                once(seen, bit, at, m, fd.name)?;
                let (s, e) = r.len_delimited()?;
                self.message(inner, s, e, depth + 1)?;
            }
            Kind::Resource(inner) => {
                expect(wt, LEN, at, m, fd.name)?;
                let (s, e) = r.len_delimited()?;
                self.counts.resources += 1;
                self.message(inner, s, e, depth + 1)?;
            }
            Kind::Item(inner) => {
                expect(wt, LEN, at, m, fd.name)?;
                let (s, e) = r.len_delimited()?;
                self.counts.items += 1;
                self.message(inner, s, e, depth + 1)?;
            }
            Kind::PackedFixed64 => match wt {
                I64 => {
                    r.fixed64()?;
                }
                LEN => {
                    let (s, e) = r.len_delimited()?;
                    if (e - s) % 8 != 0 {
                        return fail(s, Fault::PackedLength { message: m.name(), field: fd.name });
                    }
                }
                _ => expect(wt, LEN, at, m, fd.name)?,
            },
            Kind::PackedVarint => match wt {
                VARINT => {
                    r.varint()?;
                }
                LEN => {
                    let (s, e) = r.len_delimited()?;
                    let mut inner = Reader::range(self.buf, s, e);
                    while !inner.is_empty() {
                        inner.varint()?;
                    }
                }
                _ => expect(wt, LEN, at, m, fd.name)?,
            },
        }
        Ok(())
    }

    // The hot messages below dispatch on the tag byte: every field they define has a
    // one-byte tag, so one `match` checks number and wire type together. Anything
    // else (unknown fields, wrong wire types) goes through the table, which also
    // produces the error messages.

    /// `LogRecord`.
    fn log_record(&mut self, start: usize, end: usize, depth: usize) -> Res<()> {
        let buf = self.buf;
        let mut r = Reader::range(buf, start, end);
        let mut seen = 0u32;
        while r.pos < r.end {
            let tag = buf[r.pos];
            match tag {
                0x09 | 0x59 => {
                    r.pos += 1;
                    r.fixed64()?;
                }
                0x10 | 0x38 => {
                    r.pos += 1;
                    r.varint()?;
                }
                0x1a | 0x62 => {
                    r.pos += 1;
                    let (s, e) = r.len_delimited()?;
                    let name = if tag == 0x1a { "severity_text" } else { "event_name" };
                    check_utf8(&buf[s..e], s, M::LogRecord, name)?;
                }
                0x2a => {
                    once(&mut seen, BODY_BIT, r.pos, M::LogRecord, "body")?;
                    r.pos += 1;
                    let (s, e) = r.len_delimited()?;
                    self.any_value_fast(s, e, depth + 1)?;
                }
                0x32 => {
                    r.pos += 1;
                    let (s, e) = r.len_delimited()?;
                    self.key_value_inline(s, e, depth + 1)?;
                }
                0x45 => {
                    r.pos += 1;
                    r.fixed32()?;
                }
                0x4a | 0x52 => {
                    r.pos += 1;
                    r.len_delimited()?;
                }
                _ => self.field(M::LogRecord, LOG_RECORD, &mut r, depth, &mut seen)?,
            }
        }
        Ok(())
    }

    /// `KeyValue`, out of line (for nested lists).
    #[inline(never)]
    fn key_value(&mut self, start: usize, end: usize, depth: usize) -> Res<()> {
        self.key_value_inline(start, end, depth)
    }

    /// `KeyValue { string key = 1; AnyValue value = 2; int32 key_strindex = 3; }`
    #[inline(always)]
    fn key_value_inline(&mut self, start: usize, end: usize, depth: usize) -> Res<()> {
        let buf = self.buf;
        let mut r = Reader::range(buf, start, end);
        let mut seen = 0u32;
        while r.pos < r.end {
            match buf[r.pos] {
                0x0a => {
                    r.pos += 1;
                    let (s, e) = r.len_delimited()?;
                    check_utf8(&buf[s..e], s, M::KeyValue, "key")?;
                }
                0x12 => {
                    once(&mut seen, VALUE_BIT, r.pos, M::KeyValue, "value")?;
                    r.pos += 1;
                    let (s, e) = r.len_delimited()?;
                    self.any_value_fast(s, e, depth + 1)?;
                }
                0x18 => {
                    r.pos += 1;
                    r.varint()?;
                }
                _ => self.field(M::KeyValue, KEY_VALUE, &mut r, depth, &mut seen)?,
            }
        }
        Ok(())
    }

    /// An `AnyValue` holding one short scalar is checked right here; anything else
    /// goes to the full loop.
    #[inline(always)]
    fn any_value_fast(&mut self, start: usize, end: usize, depth: usize) -> Res<()> {
        let buf = self.buf;
        if let (Some(&tag), Some(&second)) = (buf.get(start), buf.get(start + 1)) {
            let len = end - start;
            match tag {
                // string_value with a one-byte length filling the whole value
                0x0a if second < 0x80 && len == 2 + second as usize => {
                    return check_utf8(&buf[start + 2..end], start + 2, M::AnyValue, "string_value");
                }
                // bool_value or int_value with a one-byte varint
                0x10 | 0x18 if second < 0x80 && len == 2 => return Ok(()),
                // double_value
                0x21 if len == 9 => return Ok(()),
                _ => {}
            }
        }
        self.any_value(start, end, depth)
    }

    /// `AnyValue { oneof value { string = 1; bool = 2; int64 = 3; double = 4;
    /// ArrayValue = 5; KeyValueList = 6; bytes = 7; int32 string_value_strindex = 8; } }`
    #[inline(never)]
    fn any_value(&mut self, start: usize, end: usize, depth: usize) -> Res<()> {
        if depth > crate::MAX_DEPTH {
            return fail(start, Fault::TooDeep);
        }
        let buf = self.buf;
        let mut r = Reader::range(buf, start, end);
        let mut seen = 0u32;
        while r.pos < r.end {
            match buf[r.pos] {
                0x0a => {
                    r.pos += 1;
                    let (s, e) = r.len_delimited()?;
                    check_utf8(&buf[s..e], s, M::AnyValue, "string_value")?;
                }
                0x10 | 0x18 | 0x40 => {
                    r.pos += 1;
                    r.varint()?;
                }
                0x21 => {
                    r.pos += 1;
                    r.fixed64()?;
                }
                0x3a => {
                    r.pos += 1;
                    r.len_delimited()?;
                }
                _ => self.field(M::AnyValue, ANY_VALUE, &mut r, depth, &mut seen)?,
            }
        }
        Ok(())
    }
}

/// Validates a whole request of `signal`; see [`crate::validate`].
pub(crate) fn validate(signal: Signal, bytes: &[u8]) -> Res<Counts> {
    if bytes.len() > u32::MAX as usize {
        return fail(0, Fault::TooLarge);
    }
    let root = match signal {
        Signal::Logs => M::LogsRequest,
        Signal::Traces => M::TracesRequest,
        Signal::Metrics => M::MetricsRequest,
    };
    let mut v = Validator { buf: bytes, counts: Counts::default() };
    v.message(root, 0, bytes.len(), 0)?;
    Ok(v.counts)
}
