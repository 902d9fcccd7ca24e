//! Reading and editing an `ExportTraceServiceRequest`.

use crate::edit::{AttributeScratch, AttributesMut, MessageMut};
use crate::owned::{SpanData, SpanEventData, SpanLinkData};
use crate::pb::{self, put_len_field};
use crate::request::request_editor;
use crate::value::{AnyValue, Attributes, EncodeValue};
use crate::view::field::*;
use crate::view::{Resource, ResourceSpans, Scope, Span};

request_editor! {
    /// An `ExportTraceServiceRequest`, indexed for reading and splice editing.
    request Traces(crate::Signal::Traces);
    resource ResourceSpansMut / ResourceSpans, resource_spans, resource_spans_mut, push_resource_spans;
    scope ScopeSpansMut, scope_spans_mut;
    item Span / SpanMut, spans, spans_mut, push_span;
}

/// Edits one span. Getters see the span as edited so far.
#[derive(Debug)]
pub struct SpanMut<'e> {
    msg: MessageMut<'e>,
    resource: Resource<'e>,
    scope: Scope<'e>,
}

impl<'e> SpanMut<'e> {
    fn new(msg: MessageMut<'e>, resource: Resource<'e>, scope: Scope<'e>) -> Self {
        SpanMut { msg, resource, scope }
    }

    /// The span as edited so far.
    pub fn view(&self) -> Span<'_> {
        Span::new(self.msg.bytes())
    }

    /// The resource the span belongs to, as it came in.
    pub fn resource(&self) -> Resource<'e> {
        self.resource
    }

    /// The instrumentation scope the span belongs to, as it came in.
    pub fn scope(&self) -> Scope<'e> {
        self.scope
    }

    /// The underlying message, for edits the typed setters do not cover.
    pub fn message_mut(&mut self) -> &mut MessageMut<'e> {
        &mut self.msg
    }

    /// The value of attribute `key`.
    pub fn attribute(&self, key: &str) -> Option<AnyValue<'_>> {
        self.msg.attribute(SPAN_ATTRIBUTES, key)
    }

    /// Whether attribute `key` is present.
    pub fn has_attribute(&self, key: &str) -> bool {
        self.msg.has_attribute(SPAN_ATTRIBUTES, key)
    }

    /// The attributes, in order.
    pub fn attributes(&self) -> Attributes<'_> {
        self.msg.attributes(SPAN_ATTRIBUTES)
    }

    /// Sets attribute `key` (replacing it in place, or appending it).
    pub fn set_attribute(&mut self, key: &str, value: impl EncodeValue) {
        self.msg.set_attribute(SPAN_ATTRIBUTES, key, &value);
    }

    /// Removes attribute `key`; returns whether it was there.
    pub fn remove_attribute(&mut self, key: &str) -> bool {
        self.msg.remove_attribute(SPAN_ATTRIBUTES, key)
    }

    /// Makes any number of attribute edits in one pass; see
    /// [`MessageMut::edit_attributes`].
    pub fn edit_attributes<R>(
        &mut self,
        scratch: &mut AttributeScratch,
        edit: impl FnOnce(&mut AttributesMut<'_>) -> R,
    ) -> R {
        self.msg.edit_attributes(SPAN_ATTRIBUTES, scratch, edit)
    }

    /// Keeps only the attributes for which `keep` returns true.
    pub fn retain_attributes(&mut self, keep: impl FnMut(&str, AnyValue<'_>) -> bool) {
        self.msg.retain_attributes(SPAN_ATTRIBUTES, keep);
    }

    /// Sets `name`.
    pub fn set_name(&mut self, name: &str) {
        self.msg.set_len(SPAN_NAME, name.as_bytes());
    }

    /// Sets `kind`; see [`crate::span_kind`].
    pub fn set_kind(&mut self, kind: i32) {
        self.msg.set_varint(SPAN_KIND, i64::from(kind) as u64);
    }

    /// Sets `trace_id`.
    pub fn set_trace_id(&mut self, id: &[u8]) {
        self.msg.set_len(SPAN_TRACE_ID, id);
    }

    /// Sets `span_id`.
    pub fn set_span_id(&mut self, id: &[u8]) {
        self.msg.set_len(SPAN_SPAN_ID, id);
    }

    /// Sets `parent_span_id`.
    pub fn set_parent_span_id(&mut self, id: &[u8]) {
        self.msg.set_len(SPAN_PARENT_SPAN_ID, id);
    }

    /// Sets `trace_state`.
    pub fn set_trace_state(&mut self, state: &str) {
        self.msg.set_len(SPAN_TRACE_STATE, state.as_bytes());
    }

    /// Sets `flags`.
    pub fn set_flags(&mut self, flags: u32) {
        self.msg.set_fixed32(SPAN_FLAGS, flags);
    }

    /// Sets `start_time_unix_nano`.
    pub fn set_start_time_unix_nano(&mut self, nanos: u64) {
        self.msg.set_fixed64(SPAN_START, nanos);
    }

    /// Sets `end_time_unix_nano`.
    pub fn set_end_time_unix_nano(&mut self, nanos: u64) {
        self.msg.set_fixed64(SPAN_END, nanos);
    }

    /// Sets `dropped_attributes_count`.
    pub fn set_dropped_attributes_count(&mut self, count: u32) {
        self.msg.set_varint(SPAN_DROPPED_ATTRIBUTES, u64::from(count));
    }

    /// Sets the status; see [`crate::status_code`].
    pub fn set_status(&mut self, code: i32, message: &str) {
        let mut status = Vec::with_capacity(message.len() + 8);
        if !message.is_empty() {
            put_len_field(&mut status, 2, message.as_bytes());
        }
        if code != 0 {
            pb::put_tag(&mut status, 3, pb::VARINT);
            pb::put_varint(&mut status, i64::from(code) as u64);
        }
        self.msg.set_len(SPAN_STATUS, &status);
    }

    /// Appends an event.
    pub fn push_event(&mut self, event: &SpanEventData) {
        self.msg.push_len(SPAN_EVENTS, &event.encode());
    }

    /// Removes every event.
    pub fn clear_events(&mut self) {
        self.msg.clear(SPAN_EVENTS);
    }

    /// Appends a link.
    pub fn push_link(&mut self, link: &SpanLinkData) {
        self.msg.push_len(SPAN_LINKS, &link.encode());
    }

    /// Removes every link.
    pub fn clear_links(&mut self) {
        self.msg.clear(SPAN_LINKS);
    }

    /// Sets `dropped_events_count`.
    pub fn set_dropped_events_count(&mut self, count: u32) {
        self.msg.set_varint(SPAN_DROPPED_EVENTS, u64::from(count));
    }

    /// Sets `dropped_links_count`.
    pub fn set_dropped_links_count(&mut self, count: u32) {
        self.msg.set_varint(SPAN_DROPPED_LINKS, u64::from(count));
    }

    /// Removes the span from the batch.
    pub fn remove(&mut self) {
        self.msg.remove();
    }

    /// Whether the span was removed.
    pub fn is_removed(&self) -> bool {
        self.msg.is_removed()
    }

    /// Copies the span, as edited so far, into an owned struct.
    pub fn to_data(&self) -> SpanData {
        SpanData::from_view(&self.view())
    }
}
