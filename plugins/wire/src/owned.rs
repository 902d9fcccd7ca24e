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
