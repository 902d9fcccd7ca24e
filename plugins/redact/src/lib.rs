//! The redact processor: keeps secrets and personal data out of the backends. It removes
//! attributes whose keys are not allowed, masks (or hashes) the values of sensitive keys
//! and what the detectors and patterns find in values, in log bodies (strings, and
//! key-value lists and arrays, recursively), in the attributes of log records, spans,
//! span events and data points, and in resource and scope attributes, like the
//! OpenTelemetry Collector's redaction processor. The keys are documented in
//! `docs/plugins/redact.md`.

mod config;
mod detect;
mod engine;
#[cfg(test)]
mod tests;

use aegis_plugin_sdk::prelude::*;
use aegis_plugin_sdk::wire::{AttributeList, Attributes, EncodeValue, MessageMut, Span, SpanEventData};
use aegis_plugin_sdk::{DataPointMut, SpanMut};

use config::Scope;
use detect::Reason;
use engine::{Changed, Engine, Plan, Set, Summary, Tally};

/// OTLP field numbers of what is redacted.
const LOG_BODY: u32 = 5;
const LOG_ATTRIBUTES: u32 = 6;
const SPAN_ATTRIBUTES: u32 = 9;
const SPAN_EVENTS: u32 = 11;
const RESOURCE_ATTRIBUTES: u32 = 1;
const SCOPE_ATTRIBUTES: u32 = 3;

/// The processor: the rules and the scratch space reused from item to item. Public so
/// that the benchmarks can run the same logic natively.
#[derive(Debug)]
pub struct Redact {
    engine: Engine,
    /// Which items are redacted.
    scope: Scope,
    plan: Plan,
    summary: Summary,
    tally: Tally,
    /// The encoded values of the summary attributes being written.
    summary_values: Vec<u8>,
    /// The payloads of a span's events being rewritten, and where each is.
    events: Vec<u8>,
    event_bounds: Vec<(usize, usize)>,
}

impl Processor for Redact {
    fn init(config: Config) -> Result<Self, Error> {
        // Inside WebAssembly the environment holds only what `grants.env` names.
        Redact::with_env(config, |name| std::env::var(name).ok())
    }

    fn process_logs(&mut self, logs: &mut Logs) -> Result<(), Error> {
        // Taken out for the loop, which edits through `self`.
        let scope = std::mem::take(&mut self.scope);
        let condition = scope.condition(Signal::Logs);
        let everything = condition.is_none();
        for mut resource in logs.resource_logs_mut() {
            let mut resource_matched = everything;
            for mut scope in resource.scope_logs_mut() {
                let mut scope_matched = everything;
                for mut record in scope.records_mut() {
                    if condition.is_none_or(|c| c.matches_log(&record)) {
                        scope_matched = true;
                        self.record(&mut record);
                    }
                }
                if scope_matched {
                    self.attribute_set(Set::Scope, &mut scope.scope_mut(), SCOPE_ATTRIBUTES);
                }
                resource_matched |= scope_matched;
            }
            if resource_matched {
                self.attribute_set(Set::Resource, &mut resource.resource_mut(), RESOURCE_ATTRIBUTES);
            }
        }
        self.scope = scope;
        self.flush(Signal::Logs);
        Ok(())
    }

    fn process_traces(&mut self, traces: &mut Traces) -> Result<(), Error> {
        // Taken out for the loop, which edits through `self`.
        let scope = std::mem::take(&mut self.scope);
        let condition = scope.condition(Signal::Traces);
        let everything = condition.is_none();
        for mut resource in traces.resource_spans_mut() {
            let mut resource_matched = everything;
            for mut scope in resource.scope_spans_mut() {
                let mut scope_matched = everything;
                for mut span in scope.spans_mut() {
                    if condition.is_none_or(|c| c.matches_span(&span)) {
                        scope_matched = true;
                        self.span(&mut span);
                    }
                }
                if scope_matched {
                    self.attribute_set(Set::Scope, &mut scope.scope_mut(), SCOPE_ATTRIBUTES);
                }
                resource_matched |= scope_matched;
            }
            if resource_matched {
                self.attribute_set(Set::Resource, &mut resource.resource_mut(), RESOURCE_ATTRIBUTES);
            }
        }
        self.scope = scope;
        self.flush(Signal::Traces);
        Ok(())
    }

    fn process_metrics(&mut self, metrics: &mut Metrics) -> Result<(), Error> {
        // Taken out for the loop, which edits through `self`.
        let scope = std::mem::take(&mut self.scope);
        let condition = scope.condition(Signal::Metrics);
        let everything = condition.is_none();
        for mut resource in metrics.resource_metrics_mut() {
            let mut resource_matched = everything;
            for mut scope in resource.scope_metrics_mut() {
                let mut scope_matched = everything;
                for mut metric in scope.metrics_mut() {
                    for mut point in metric.data_points_mut() {
                        if condition.is_none_or(|c| c.matches_point(&point)) {
                            scope_matched = true;
                            self.point(&mut point);
                        }
                    }
                }
                if scope_matched {
                    self.attribute_set(Set::Scope, &mut scope.scope_mut(), SCOPE_ATTRIBUTES);
                }
                resource_matched |= scope_matched;
            }
            if resource_matched {
                self.attribute_set(Set::Resource, &mut resource.resource_mut(), RESOURCE_ATTRIBUTES);
            }
        }
        self.scope = scope;
        self.flush(Signal::Metrics);
        Ok(())
    }
}

export_processor!(Redact);

impl Redact {
    /// Builds the processor, reading environment variables with `env`.
    fn with_env(config: Config, env: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let mut rules = config::parse(&config, env)?;
        Ok(Redact {
            scope: std::mem::take(&mut rules.scope),
            summary: Summary::new(rules.summary),
            engine: Engine::new(rules),
            plan: Plan::default(),
            tally: Tally::default(),
            summary_values: Vec::new(),
            events: Vec::new(),
            event_bounds: Vec::new(),
        })
    }

    /// Redacts a log record's body and attributes.
    fn record(&mut self, record: &mut LogRecordMut<'_>) {
        let msg = record.message_mut();
        self.summary.clear();
        // One walk over the record finds the attributes and the body. The attributes are
        // planned first and the body, which the walk has passed by then, is scanned next,
        // so that the summary counts both; the body is written last, since the plan's
        // places are those of the record as it was when it was planned.
        let mut attributes = Attributes::new(msg.bytes(), LOG_ATTRIBUTES).also(LOG_BODY);
        self.engine.attributes(Set::Item, &mut attributes, &mut self.plan, &mut self.summary, &mut self.tally);
        let body = attributes.also_found().map(AnyValue::new);
        let body = body.and_then(|body| self.engine.body(body, &mut self.summary, &mut self.tally));
        let mut changed = self.rewrite(msg, LOG_ATTRIBUTES);
        match body {
            Some(Changed::Text) => {
                msg.set_any_value(LOG_BODY, &ValueRef::Str(self.engine.text()));
                changed = true;
            }
            Some(Changed::Value(value)) => {
                msg.set_any_value(LOG_BODY, &value);
                changed = true;
            }
            None => {}
        }
        self.tally.items += u64::from(changed);
    }

    /// Redacts a span's attributes and its events' attributes.
    fn span(&mut self, span: &mut SpanMut<'_>) {
        let msg = span.message_mut();
        let events = self.events(msg);
        let attributes = self.attribute_set(Set::Item, msg, SPAN_ATTRIBUTES);
        self.tally.items += u64::from(events || attributes);
    }

    /// Redacts a data point's attributes.
    fn point(&mut self, point: &mut DataPointMut<'_>) {
        let number = point.view().kind().attributes_field();
        let changed = self.attribute_set(Set::Item, point.message_mut(), number);
        self.tally.items += u64::from(changed);
    }

    /// Redacts the attributes in field `number` of `msg` (with their own summary);
    /// returns whether anything changed.
    fn attribute_set(&mut self, set: Set, msg: &mut MessageMut<'_>, number: u32) -> bool {
        self.summary.clear();
        self.engine.attributes(
            set,
            &mut Attributes::new(msg.bytes(), number),
            &mut self.plan,
            &mut self.summary,
            &mut self.tally,
        );
        self.rewrite(msg, number)
    }

    /// Writes the attributes in field `number` of `msg` as planned, with the summary;
    /// returns whether anything changed. The message is copied once: unchanged
    /// attributes as they are, each change at its own place, new summary attributes last.
    fn rewrite(&mut self, msg: &mut MessageMut<'_>, number: u32) -> bool {
        if self.plan.is_empty() && !self.summary.writes() {
            return false;
        }
        let plan = &self.plan;
        let merged = self.summary.attributes(
            |key| plan.existing_value(key).and_then(|v| v.as_int()),
            |key| plan.existing_value(key).and_then(|v| v.as_str()).map(str::to_owned),
        );
        let encoded = &mut self.summary_values;
        encoded.clear();
        let mut bounds = [(0, 0); 4];
        for ((_, value), bound) in merged.iter().zip(&mut bounds) {
            let start = encoded.len();
            value.encode(encoded);
            *bound = (start, encoded.len());
        }
        let summary = merged.iter().zip(bounds).map(|((key, _), (a, b))| (*key, &encoded[a..b]));
        let edits = plan.edits().map(|e| (e.field, e.value.map(|v| (e.key, v))));
        if !plan.has_existing() {
            // The usual case: nothing to merge into, the summary goes last.
            msg.splice_attributes(number, edits, summary);
            return true;
        }
        // Summary attributes from an earlier redaction are updated where they are (the
        // first occurrence; any other goes), like a message's own setter.
        let mut all: Vec<_> = edits.collect();
        let mut appended = Vec::new();
        for (key, value) in summary {
            let mut fields = plan.existing_fields(key);
            match fields.next() {
                Some(first) => {
                    all.push((first, Some((key, value))));
                    all.extend(fields.map(|field| (field, None)));
                }
                None => appended.push((key, value)),
            }
        }
        // The summary's change of a field wins over the plan's (it comes later).
        all.sort_by_key(|(field, _)| field.start);
        let mut deduped: Vec<AttributeEdit<'_>> = Vec::with_capacity(all.len());
        for edit in all {
            match deduped.last_mut() {
                Some(last) if last.0 == edit.0 => *last = edit,
                _ => deduped.push(edit),
            }
        }
        msg.splice_attributes(number, deduped, appended);
        true
    }

    /// Redacts the attributes of a span's events, each event with its own summary (like
    /// the OpenTelemetry Collector); returns whether any changed. The events are written
    /// again, in their order, only when one changed.
    fn events(&mut self, msg: &mut MessageMut<'_>) -> bool {
        let span = Span::new(msg.bytes());
        let mut changed = false;
        self.events.clear();
        self.event_bounds.clear();
        for event in span.events() {
            self.summary.clear();
            self.engine.attributes(
                Set::Event,
                &mut event.attributes(),
                &mut self.plan,
                &mut self.summary,
                &mut self.tally,
            );
            let start = self.events.len();
            if !self.plan.is_empty() || self.summary.writes() {
                changed = true;
                let mut data = SpanEventData::from_view(&event);
                data.attributes = owned_attributes(event.attributes(), &self.plan, &self.summary);
                self.events.extend_from_slice(&data.encode());
            } else {
                self.events.extend_from_slice(event.bytes());
            }
            self.event_bounds.push((start, self.events.len()));
        }
        if changed {
            msg.clear(SPAN_EVENTS);
            for &(start, end) in &self.event_bounds {
                msg.push_len(SPAN_EVENTS, &self.events[start..end]);
            }
        }
        changed
    }

    /// Reports what the batch did to the host's metrics.
    fn flush(&mut self, signal: Signal) {
        let tally = std::mem::take(&mut self.tally);
        let signal = signal.as_str();
        for reason in Reason::ALL {
            let n = tally.masked[reason.index()];
            if n > 0 {
                host::counter_add("redact_masked", n, &[("signal", signal), ("reason", reason.name())]);
            }
        }
        if tally.removed > 0 {
            host::counter_add("redact_removed", tally.removed, &[("signal", signal)]);
        }
        if tally.items > 0 {
            host::counter_add("redact_items", tally.items, &[("signal", signal)]);
        }
    }
}

/// One change for `splice_attributes`: a field of the message, and the attribute (key,
/// encoded value) in its place, or none.
type AttributeEdit<'a> = (std::ops::Range<usize>, Option<(&'a str, &'a [u8])>);

/// The attributes as planned, with the summary, as owned pairs (for span events).
fn owned_attributes(attributes: Attributes<'_>, plan: &Plan, summary: &Summary) -> AttributeList {
    let mut edits = plan.edits().peekable();
    let mut list = AttributeList::new();
    for (i, (key, value)) in attributes.enumerate() {
        match edits.next_if(|e| e.index == i) {
            Some(edit) => {
                if let Some(value) = edit.value {
                    list.push((key.to_owned(), AnyValue::new(value).to_value()));
                }
            }
            None => list.push((key.to_owned(), value.to_value())),
        }
    }
    let get = |key: &str| list.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let merged = summary.attributes(
        |key| match get(key) {
            Some(Value::Int(n)) => Some(n),
            _ => None,
        },
        |key| match get(key) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        },
    );
    for (key, value) in merged {
        set_owned(&mut list, key, value);
    }
    list
}

/// Sets `key` like a message's own setter: in place of its first occurrence (removing
/// any other), or last.
fn set_owned(list: &mut AttributeList, key: &str, value: Value) {
    match list.iter().position(|(k, _)| k == key) {
        Some(first) => {
            list[first].1 = value;
            let mut i = 0;
            list.retain(|(k, _)| {
                i += 1;
                i - 1 == first || k != key
            });
        }
        None => list.push((key.to_owned(), value)),
    }
}
