//! Owned records and spans, for plugins that keep telemetry past one batch or build it
//! from scratch: decode a view into one, change it freely, encode it and add it back.

use crate::pb::{self, I32, I64, VARINT, put_len_field, put_tag};
use crate::value::{EncodeValue, Value, put_key_value};
use crate::view::{LogRecord, Span, SpanEvent, SpanLink};

/// Attributes as owned pairs, in order.
pub type AttributeList = Vec<(String, Value)>;

fn owned_attributes<'a>(attrs: impl Iterator<Item = (&'a str, crate::AnyValue<'a>)>) -> AttributeList {
    attrs.map(|(k, v)| (k.to_owned(), v.to_value())).collect()
}

fn put_fixed64(out: &mut Vec<u8>, number: u32, value: u64) {
    if value != 0 {
        put_tag(out, number, I64);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

fn put_fixed32(out: &mut Vec<u8>, number: u32, value: u32) {
    if value != 0 {
        put_tag(out, number, I32);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

fn put_uvarint(out: &mut Vec<u8>, number: u32, value: u64) {
    if value != 0 {
        put_tag(out, number, VARINT);
        pb::put_varint(out, value);
    }
}

fn put_bytes(out: &mut Vec<u8>, number: u32, value: &[u8]) {
    if !value.is_empty() {
        put_len_field(out, number, value);
    }
}

fn put_attributes(out: &mut Vec<u8>, number: u32, attributes: &AttributeList) {
    for (k, v) in attributes {
        put_key_value(out, number, k, v);
    }
}

/// An owned `LogRecord`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogRecordData {
    /// `time_unix_nano`.
    pub time_unix_nano: u64,
    /// `observed_time_unix_nano`.
    pub observed_time_unix_nano: u64,
    /// `severity_number`.
    pub severity_number: i32,
    /// `severity_text`.
    pub severity_text: String,
    /// `body`, when present.
    pub body: Option<Value>,
    /// `attributes`.
    pub attributes: AttributeList,
    /// `dropped_attributes_count`.
    pub dropped_attributes_count: u32,
    /// `flags`.
    pub flags: u32,
    /// `trace_id`.
    pub trace_id: Vec<u8>,
    /// `span_id`.
    pub span_id: Vec<u8>,
    /// `event_name`.
    pub event_name: String,
}

impl LogRecordData {
    /// Copies a view into an owned record.
    pub fn from_view(view: &LogRecord<'_>) -> Self {
        LogRecordData {
            time_unix_nano: view.time_unix_nano(),
            observed_time_unix_nano: view.observed_time_unix_nano(),
            severity_number: view.severity_number(),
            severity_text: view.severity_text().to_owned(),
            body: view.body().map(|b| b.to_value()),
            attributes: owned_attributes(view.attributes()),
            dropped_attributes_count: view.dropped_attributes_count(),
            flags: view.flags(),
            trace_id: view.trace_id().to_vec(),
            span_id: view.span_id().to_vec(),
            event_name: view.event_name().to_owned(),
        }
    }

    /// Encodes the record as a `LogRecord` payload, ready for
    /// [`crate::ScopeLogsMut::push_record`].
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        put_fixed64(&mut out, 1, self.time_unix_nano);
        put_uvarint(&mut out, 2, i64::from(self.severity_number) as u64);
        put_bytes(&mut out, 3, self.severity_text.as_bytes());
        if let Some(body) = &self.body {
            pb::put_len_header(&mut out, 5, body.encoded_len());
            body.encode(&mut out);
        }
        put_attributes(&mut out, 6, &self.attributes);
        put_uvarint(&mut out, 7, u64::from(self.dropped_attributes_count));
        put_fixed32(&mut out, 8, self.flags);
        put_bytes(&mut out, 9, &self.trace_id);
        put_bytes(&mut out, 10, &self.span_id);
        put_fixed64(&mut out, 11, self.observed_time_unix_nano);
        put_bytes(&mut out, 12, self.event_name.as_bytes());
        out
    }
}

/// An owned `Span.Event`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpanEventData {
    /// `time_unix_nano`.
    pub time_unix_nano: u64,
    /// `name`.
    pub name: String,
    /// `attributes`.
    pub attributes: AttributeList,
    /// `dropped_attributes_count`.
    pub dropped_attributes_count: u32,
}

impl SpanEventData {
    /// Copies a view into an owned event.
    pub fn from_view(view: &SpanEvent<'_>) -> Self {
        SpanEventData {
            time_unix_nano: view.time_unix_nano(),
            name: view.name().to_owned(),
            attributes: owned_attributes(view.attributes()),
            dropped_attributes_count: view.dropped_attributes_count(),
        }
    }

    /// Encodes the event as a `Span.Event` payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        put_fixed64(&mut out, 1, self.time_unix_nano);
        put_bytes(&mut out, 2, self.name.as_bytes());
        put_attributes(&mut out, 3, &self.attributes);
        put_uvarint(&mut out, 4, u64::from(self.dropped_attributes_count));
        out
    }
}

/// An owned `Span.Link`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpanLinkData {
    /// `trace_id`.
    pub trace_id: Vec<u8>,
    /// `span_id`.
    pub span_id: Vec<u8>,
    /// `trace_state`.
    pub trace_state: String,
    /// `attributes`.
    pub attributes: AttributeList,
    /// `dropped_attributes_count`.
    pub dropped_attributes_count: u32,
    /// `flags`.
    pub flags: u32,
}

impl SpanLinkData {
    /// Copies a view into an owned link.
    pub fn from_view(view: &SpanLink<'_>) -> Self {
        SpanLinkData {
            trace_id: view.trace_id().to_vec(),
            span_id: view.span_id().to_vec(),
            trace_state: view.trace_state().to_owned(),
            attributes: owned_attributes(view.attributes()),
            dropped_attributes_count: view.dropped_attributes_count(),
            flags: view.flags(),
        }
    }

    /// Encodes the link as a `Span.Link` payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        put_bytes(&mut out, 1, &self.trace_id);
        put_bytes(&mut out, 2, &self.span_id);
        put_bytes(&mut out, 3, self.trace_state.as_bytes());
        put_attributes(&mut out, 4, &self.attributes);
        put_uvarint(&mut out, 5, u64::from(self.dropped_attributes_count));
        put_fixed32(&mut out, 6, self.flags);
        out
    }
}

/// An owned `Span`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpanData {
    /// `trace_id`.
    pub trace_id: Vec<u8>,
    /// `span_id`.
    pub span_id: Vec<u8>,
    /// `trace_state`.
    pub trace_state: String,
    /// `parent_span_id`.
    pub parent_span_id: Vec<u8>,
    /// `flags`.
    pub flags: u32,
    /// `name`.
    pub name: String,
    /// `kind`; see [`crate::span_kind`].
    pub kind: i32,
    /// `start_time_unix_nano`.
    pub start_time_unix_nano: u64,
    /// `end_time_unix_nano`.
    pub end_time_unix_nano: u64,
    /// `attributes`.
    pub attributes: AttributeList,
    /// `dropped_attributes_count`.
    pub dropped_attributes_count: u32,
    /// `events`.
    pub events: Vec<SpanEventData>,
    /// `dropped_events_count`.
    pub dropped_events_count: u32,
    /// `links`.
    pub links: Vec<SpanLinkData>,
    /// `dropped_links_count`.
    pub dropped_links_count: u32,
    /// `status.code`; see [`crate::status_code`].
    pub status_code: i32,
    /// `status.message`.
    pub status_message: String,
}

impl SpanData {
    /// Copies a view into an owned span.
    pub fn from_view(view: &Span<'_>) -> Self {
        let status = view.status();
        SpanData {
            trace_id: view.trace_id().to_vec(),
            span_id: view.span_id().to_vec(),
            trace_state: view.trace_state().to_owned(),
            parent_span_id: view.parent_span_id().to_vec(),
            flags: view.flags(),
            name: view.name().to_owned(),
            kind: view.kind(),
            start_time_unix_nano: view.start_time_unix_nano(),
            end_time_unix_nano: view.end_time_unix_nano(),
            attributes: owned_attributes(view.attributes()),
            dropped_attributes_count: view.dropped_attributes_count(),
            events: view.events().map(|e| SpanEventData::from_view(&e)).collect(),
            dropped_events_count: view.dropped_events_count(),
            links: view.links().map(|l| SpanLinkData::from_view(&l)).collect(),
            dropped_links_count: view.dropped_links_count(),
            status_code: status.code(),
            status_message: status.message().to_owned(),
        }
    }

    /// Encodes the span as a `Span` payload, ready for [`crate::ScopeSpansMut::push_span`].
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        put_bytes(&mut out, 1, &self.trace_id);
        put_bytes(&mut out, 2, &self.span_id);
        put_bytes(&mut out, 3, self.trace_state.as_bytes());
        put_bytes(&mut out, 4, &self.parent_span_id);
        put_bytes(&mut out, 5, self.name.as_bytes());
        put_uvarint(&mut out, 6, i64::from(self.kind) as u64);
        put_fixed64(&mut out, 7, self.start_time_unix_nano);
        put_fixed64(&mut out, 8, self.end_time_unix_nano);
        put_attributes(&mut out, 9, &self.attributes);
        put_uvarint(&mut out, 10, u64::from(self.dropped_attributes_count));
        for event in &self.events {
            put_len_field(&mut out, 11, &event.encode());
        }
        put_uvarint(&mut out, 12, u64::from(self.dropped_events_count));
        for link in &self.links {
            put_len_field(&mut out, 13, &link.encode());
        }
        put_uvarint(&mut out, 14, u64::from(self.dropped_links_count));
        if self.status_code != 0 || !self.status_message.is_empty() {
            let mut status = Vec::new();
            put_bytes(&mut status, 2, self.status_message.as_bytes());
            put_uvarint(&mut status, 3, i64::from(self.status_code) as u64);
            put_len_field(&mut out, 15, &status);
        }
        put_fixed32(&mut out, 16, self.flags);
        out
    }
}

/// An owned `Resource`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResourceData {
    /// `attributes`, e.g. `service.name`.
    pub attributes: AttributeList,
    /// `dropped_attributes_count`.
    pub dropped_attributes_count: u32,
}

impl ResourceData {
    /// Encodes the resource as a `Resource` payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        put_attributes(&mut out, 1, &self.attributes);
        put_uvarint(&mut out, 2, u64::from(self.dropped_attributes_count));
        out
    }
}

/// An owned `InstrumentationScope`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScopeData {
    /// `name`.
    pub name: String,
    /// `version`.
    pub version: String,
    /// `attributes`.
    pub attributes: AttributeList,
    /// `dropped_attributes_count`.
    pub dropped_attributes_count: u32,
}

impl ScopeData {
    /// Encodes the scope as an `InstrumentationScope` payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        put_bytes(&mut out, 1, self.name.as_bytes());
        put_bytes(&mut out, 2, self.version.as_bytes());
        put_attributes(&mut out, 3, &self.attributes);
        put_uvarint(&mut out, 4, u64::from(self.dropped_attributes_count));
        out
    }
}

/// Writes a resource- or scope-level container: its node (field 1), its items
/// (field 2) and its schema URL (field 3).
fn put_container(out: &mut Vec<u8>, node: Option<Vec<u8>>, items: &[Vec<u8>], schema_url: &str) {
    if let Some(node) = node {
        put_len_field(out, 1, &node);
    }
    for item in items {
        put_len_field(out, 2, item);
    }
    put_bytes(out, 3, schema_url.as_bytes());
}

macro_rules! owned_request {
    (
        $(#[$rdoc:meta])* $Request:ident { $resources:ident: $Resource:ident }
        $(#[$resdoc:meta])* $Resource2:ident { $scopes:ident: $Scope:ident }
        $(#[$sdoc:meta])* $Scope2:ident { $items:ident: $Item:ident }
    ) => {
        $(#[$rdoc])*
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct $Request {
            /// The resources, in order.
            pub $resources: Vec<$Resource>,
        }

        impl $Request {
            /// Encodes the whole request, ready to return from a receiver.
            pub fn encode(&self) -> Vec<u8> {
                let mut out = Vec::with_capacity(256);
                for resource in &self.$resources {
                    put_len_field(&mut out, 1, &resource.encode());
                }
                out
            }
        }

        $(#[$resdoc])*
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct $Resource {
            /// The resource, if any.
            pub resource: Option<ResourceData>,
            /// The scopes, in order.
            pub $scopes: Vec<$Scope>,
            /// `schema_url`.
            pub schema_url: String,
        }

        impl $Resource {
            /// Encodes this resource's payload.
            pub fn encode(&self) -> Vec<u8> {
                let mut out = Vec::with_capacity(256);
                let scopes: Vec<Vec<u8>> = self.$scopes.iter().map(|s| s.encode()).collect();
                put_container(&mut out, self.resource.as_ref().map(|r| r.encode()), &scopes, &self.schema_url);
                out
            }
        }

        $(#[$sdoc])*
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct $Scope {
            /// The instrumentation scope, if any.
            pub scope: Option<ScopeData>,
            /// The items, in order.
            pub $items: Vec<$Item>,
            /// `schema_url`.
            pub schema_url: String,
        }

        impl $Scope {
            /// Encodes this scope's payload.
            pub fn encode(&self) -> Vec<u8> {
                let mut out = Vec::with_capacity(256);
                let items: Vec<Vec<u8>> = self.$items.iter().map(|i| i.encode()).collect();
                put_container(&mut out, self.scope.as_ref().map(|s| s.encode()), &items, &self.schema_url);
                out
            }
        }
    };
}

owned_request! {
    /// An owned `ExportLogsServiceRequest`.
    LogsData { resource_logs: ResourceLogsData }
    /// An owned `ResourceLogs`.
    ResourceLogsData { scope_logs: ScopeLogsData }
    /// An owned `ScopeLogs`.
    ScopeLogsData { log_records: LogRecordData }
}

owned_request! {
    /// An owned `ExportTraceServiceRequest`.
    TracesData { resource_spans: ResourceSpansData }
    /// An owned `ResourceSpans`.
    ResourceSpansData { scope_spans: ScopeSpansData }
    /// An owned `ScopeSpans`.
    ScopeSpansData { spans: SpanData }
}

owned_request! {
    /// An owned `ExportMetricsServiceRequest`.
    MetricsData { resource_metrics: ResourceMetricsData }
    /// An owned `ResourceMetrics`.
    ResourceMetricsData { scope_metrics: ScopeMetricsData }
    /// An owned `ScopeMetrics`.
    ScopeMetricsData { metrics: MetricData }
}

/// An owned `NumberDataPoint`.
#[derive(Clone, Debug, PartialEq)]
pub struct NumberPointData {
    /// `attributes`.
    pub attributes: AttributeList,
    /// `start_time_unix_nano`.
    pub start_time_unix_nano: u64,
    /// `time_unix_nano`.
    pub time_unix_nano: u64,
    /// The value.
    pub value: crate::NumberValue,
    /// `flags`.
    pub flags: u32,
}

impl NumberPointData {
    /// Encodes the point as a `NumberDataPoint` payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        put_fixed64(&mut out, 2, self.start_time_unix_nano);
        put_fixed64(&mut out, 3, self.time_unix_nano);
        match self.value {
            crate::NumberValue::Double(v) => {
                put_tag(&mut out, 4, I64);
                out.extend_from_slice(&v.to_bits().to_le_bytes());
            }
            crate::NumberValue::Int(v) => {
                put_tag(&mut out, 6, I64);
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        put_attributes(&mut out, 7, &self.attributes);
        put_uvarint(&mut out, 8, u64::from(self.flags));
        out
    }
}

/// The data of an owned metric. Histograms, exponential histograms and summaries can
/// be built as raw payloads with [`MetricKindData::Encoded`].
#[derive(Clone, Debug, PartialEq)]
pub enum MetricKindData {
    /// A gauge.
    Gauge(Vec<NumberPointData>),
    /// A sum.
    Sum {
        /// The points.
        points: Vec<NumberPointData>,
        /// 1 delta, 2 cumulative.
        aggregation_temporality: i32,
        /// Whether the sum only grows.
        is_monotonic: bool,
    },
    /// Any data message, already encoded, with its `Metric` field number (5 gauge,
    /// 7 sum, 9 histogram, 10 exponential histogram, 11 summary).
    Encoded(u32, Vec<u8>),
}

/// An owned `Metric`.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricData {
    /// `name`.
    pub name: String,
    /// `description`.
    pub description: String,
    /// `unit`.
    pub unit: String,
    /// The data.
    pub data: MetricKindData,
    /// `metadata`.
    pub metadata: AttributeList,
}

impl MetricData {
    /// Encodes the metric as a `Metric` payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        put_bytes(&mut out, 1, self.name.as_bytes());
        put_bytes(&mut out, 2, self.description.as_bytes());
        put_bytes(&mut out, 3, self.unit.as_bytes());
        let mut data = Vec::with_capacity(64);
        let number = match &self.data {
            MetricKindData::Gauge(points) => {
                for p in points {
                    put_len_field(&mut data, 1, &p.encode());
                }
                5
            }
            MetricKindData::Sum { points, aggregation_temporality, is_monotonic } => {
                for p in points {
                    put_len_field(&mut data, 1, &p.encode());
                }
                put_uvarint(&mut data, 2, i64::from(*aggregation_temporality) as u64);
                put_uvarint(&mut data, 3, u64::from(*is_monotonic));
                7
            }
            MetricKindData::Encoded(number, bytes) => {
                data.extend_from_slice(bytes);
                *number
            }
        };
        put_len_field(&mut out, number, &data);
        put_attributes(&mut out, 12, &self.metadata);
        out
    }
}

/// Builds an attribute list from pairs: `attributes([("env", "prod".into())])`.
pub fn attributes<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Value)>) -> AttributeList {
    pairs.into_iter().map(|(k, v)| (k.into(), v)).collect()
}
