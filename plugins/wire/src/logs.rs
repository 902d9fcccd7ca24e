//! Reading and editing an `ExportLogsServiceRequest`.
//!
//! ```
//! use aegis_wire::{Logs, Outcome};
//! # let bytes: Vec<u8> = Vec::new();
//! let mut logs = Logs::parse(&bytes)?;
//! for mut record in logs.records_mut() {
//!     if record.view().severity_number() < 9 {
//!         record.remove();
//!     } else {
//!         record.set_attribute("env", "prod");
//!     }
//! }
//! match logs.finish() {
//!     Outcome::Unchanged => { /* pass the input on */ }
//!     Outcome::Replaced(bytes) => { /* pass `bytes` on */ }
//!     Outcome::Dropped => { /* nothing left */ }
//! }
//! # Ok::<(), aegis_wire::WireError>(())
//! ```

use crate::edit::{AttributeScratch, AttributesMut, MessageMut};
use crate::owned::LogRecordData;
use crate::request::request_editor;
use crate::value::{AnyValue, Attributes, EncodeValue};
use crate::view::field::*;
use crate::view::{LogRecord, Resource, ResourceLogs, Scope};

request_editor! {
    /// An `ExportLogsServiceRequest`, indexed for reading and splice editing.
    request Logs(crate::Signal::Logs);
    resource ResourceLogsMut / ResourceLogs, resource_logs, resource_logs_mut, push_resource_logs;
    scope ScopeLogsMut, scope_logs_mut;
    item LogRecord / LogRecordMut, records, records_mut, push_record;
}

/// Edits one log record. Getters see the record as edited so far.
#[derive(Debug)]
pub struct LogRecordMut<'e> {
    msg: MessageMut<'e>,
    resource: Resource<'e>,
    scope: Scope<'e>,
}

impl<'e> LogRecordMut<'e> {
    fn new(msg: MessageMut<'e>, resource: Resource<'e>, scope: Scope<'e>) -> Self {
        LogRecordMut { msg, resource, scope }
    }

    /// The record as edited so far.
    pub fn view(&self) -> LogRecord<'_> {
        LogRecord::new(self.msg.bytes())
    }

    /// The resource the record belongs to, as it came in.
    pub fn resource(&self) -> Resource<'e> {
        self.resource
    }

    /// The instrumentation scope the record belongs to, as it came in.
    pub fn scope(&self) -> Scope<'e> {
        self.scope
    }

    /// The underlying message, for edits the typed setters do not cover.
    pub fn message_mut(&mut self) -> &mut MessageMut<'e> {
        &mut self.msg
    }

    /// The value of attribute `key`.
    pub fn attribute(&self, key: &str) -> Option<AnyValue<'_>> {
        self.msg.attribute(LOG_ATTRIBUTES, key)
    }

    /// Whether attribute `key` is present.
    pub fn has_attribute(&self, key: &str) -> bool {
        self.msg.has_attribute(LOG_ATTRIBUTES, key)
    }

    /// The attributes, in order.
    pub fn attributes(&self) -> Attributes<'_> {
        self.msg.attributes(LOG_ATTRIBUTES)
    }

    /// Sets attribute `key` (replacing it in place, or appending it).
    pub fn set_attribute(&mut self, key: &str, value: impl EncodeValue) {
        self.msg.set_attribute(LOG_ATTRIBUTES, key, &value);
    }

    /// Removes attribute `key`; returns whether it was there.
    pub fn remove_attribute(&mut self, key: &str) -> bool {
        self.msg.remove_attribute(LOG_ATTRIBUTES, key)
    }

    /// Makes any number of attribute edits in one pass; see
    /// [`MessageMut::edit_attributes`].
    pub fn edit_attributes<R>(
        &mut self,
        scratch: &mut AttributeScratch,
        edit: impl FnOnce(&mut AttributesMut<'_>) -> R,
    ) -> R {
        self.msg.edit_attributes(LOG_ATTRIBUTES, scratch, edit)
    }

    /// Keeps only the attributes for which `keep` returns true.
    pub fn retain_attributes(&mut self, keep: impl FnMut(&str, AnyValue<'_>) -> bool) {
        self.msg.retain_attributes(LOG_ATTRIBUTES, keep);
    }

    /// The body.
    pub fn body(&self) -> Option<AnyValue<'_>> {
        self.view().body()
    }

    /// Sets the body.
    pub fn set_body(&mut self, value: impl EncodeValue) {
        self.msg.set_any_value(LOG_BODY, &value);
    }

    /// Removes the body.
    pub fn clear_body(&mut self) {
        self.msg.clear(LOG_BODY);
    }

    /// Sets `severity_number` and `severity_text` together.
    pub fn set_severity(&mut self, number: i32, text: &str) {
        self.set_severity_number(number);
        self.set_severity_text(text);
    }

    /// Sets `severity_number`.
    pub fn set_severity_number(&mut self, number: i32) {
        self.msg.set_varint(LOG_SEVERITY_NUMBER, i64::from(number) as u64);
    }

    /// Sets `severity_text`.
    pub fn set_severity_text(&mut self, text: &str) {
        self.msg.set_len(LOG_SEVERITY_TEXT, text.as_bytes());
    }

    /// Sets `time_unix_nano`.
    pub fn set_time_unix_nano(&mut self, nanos: u64) {
        self.msg.set_fixed64(LOG_TIME, nanos);
    }

    /// Sets `observed_time_unix_nano`.
    pub fn set_observed_time_unix_nano(&mut self, nanos: u64) {
        self.msg.set_fixed64(LOG_OBSERVED_TIME, nanos);
    }

    /// Sets `trace_id`.
    pub fn set_trace_id(&mut self, id: &[u8]) {
        self.msg.set_len(LOG_TRACE_ID, id);
    }

    /// Sets `span_id`.
    pub fn set_span_id(&mut self, id: &[u8]) {
        self.msg.set_len(LOG_SPAN_ID, id);
    }

    /// Sets `flags`.
    pub fn set_flags(&mut self, flags: u32) {
        self.msg.set_fixed32(LOG_FLAGS, flags);
    }

    /// Sets `event_name`.
    pub fn set_event_name(&mut self, name: &str) {
        self.msg.set_len(LOG_EVENT_NAME, name.as_bytes());
    }

    /// Sets `dropped_attributes_count`.
    pub fn set_dropped_attributes_count(&mut self, count: u32) {
        self.msg.set_varint(LOG_DROPPED_ATTRIBUTES, u64::from(count));
    }

    /// Removes the record from the batch.
    pub fn remove(&mut self) {
        self.msg.remove();
    }

    /// Whether the record was removed.
    pub fn is_removed(&self) -> bool {
        self.msg.is_removed()
    }

    /// Copies the record, as edited so far, into an owned struct.
    pub fn to_data(&self) -> LogRecordData {
        LogRecordData::from_view(&self.view())
    }
}
