//! The Loki exporter: turns log records into entries of Loki streams and pushes them to
//! Loki's push API (`/loki/api/v1/push`) as snappy-compressed protobuf or as JSON. The host
//! POSTs each push to the exporter's `endpoint` and retries what Loki asks to be retried.
//! The keys are documented in `docs/plugins/loki.md`.

mod config;
mod labels;
mod line;
mod push;

use std::borrow::Cow;
use std::collections::HashMap;

use aegis_plugin_sdk::prelude::*;
use aegis_plugin_sdk::wire::{LogFields, LogRecord, Resource, Scope};

use config::{LongLine, Settings, Source};
use labels::{Admitted, Guard};
use push::{Buffer, Entry};

/// The exporter: its settings, the cardinality guard's memory and the entries waiting for
/// the next push.
#[derive(Debug)]
pub struct Loki {
    settings: Settings,
    guard: Guard,
    buffer: Buffer,
    counts: Counts,
    /// The labels of the last record of this call; consecutive records mostly share them.
    memo: Option<Memo>,
}

/// What the labels of one record came to, kept for the next records of the same call that
/// have the same label values. Only within one call: the guard's clock is the call's `now`,
/// so skipping its lookups for a repeat changes nothing.
#[derive(Debug)]
struct Memo {
    /// Each label's value before the guard, as the record gave it.
    found: Vec<Option<String>>,
    selector: String,
    pairs: Vec<(String, String)>,
    /// The labels that overflowed, counted again for every record that repeats them.
    overflowed: Vec<String>,
}

/// What happened since the counters were last handed to the host; reported once per call
/// rather than once per record.
#[derive(Debug, Default)]
struct Counts {
    sent: u64,
    pushes: u64,
    push_bytes: u64,
    truncated: u64,
    dropped: HashMap<&'static str, u64>,
    overflows: HashMap<String, u64>,
}

impl Exporter for Loki {
    fn signals() -> Vec<Signal> {
        vec![Signal::Logs]
    }

    fn init(config: Config) -> Result<Self, Error> {
        Ok(Loki {
            settings: config::parse(&config)?,
            guard: Guard::default(),
            buffer: Buffer::default(),
            counts: Counts::default(),
            memo: None,
        })
    }

    fn export(&mut self, batch: Batch) -> Result<Vec<Payload>, Error> {
        let logs = batch.logs()?;
        let now = host::now_unix_nanos();
        self.memo = None;
        for resource_logs in logs.resource_logs() {
            let resource = resource_logs.resource();
            for scope_logs in resource_logs.scope_logs() {
                let scope = scope_logs.scope();
                // Resource and scope values are the same for every record beneath them.
                let fields = Fields { resource: &resource, scope: &scope, record: None };
                let shared: Vec<Option<String>> = self
                    .settings
                    .labels
                    .iter()
                    .map(|(_, source)| {
                        source.is_per_container().then(|| fields.value(source).map(Cow::into_owned)).flatten()
                    })
                    .collect();
                for record in scope_logs.log_records() {
                    self.add(&resource, &scope, &shared, &record, now);
                }
            }
        }
        let full = self.buffer.is_full(self.settings.max_entries_per_push, self.settings.max_push_size);
        let payloads = if full { self.drain() } else { Vec::new() };
        self.report();
        Ok(payloads)
    }

    fn flush(&mut self, _now_unix_nanos: u64) -> Result<Vec<Payload>, Error> {
        let payloads = self.drain();
        self.report();
        Ok(payloads)
    }
}

export_exporter!(Loki);

impl Loki {
    /// Turns one record into an entry of its stream in the buffer.
    fn add(
        &mut self,
        resource: &Resource<'_>,
        scope: &Scope<'_>,
        shared: &[Option<String>],
        record: &LogRecord<'_>,
        now: u64,
    ) {
        let settings = &self.settings;
        // One pass over the record for all its singular fields.
        let fields = record.fields();
        let level = labels::level(fields.severity_number, fields.severity_text);
        let mut line = line::render(record, &fields, settings.line_format, settings.line_attributes, level.as_deref());
        if settings.max_line_size > 0 && line.len() > settings.max_line_size {
            match settings.on_long_line {
                LongLine::Truncate => {
                    line::truncate(&mut line, settings.max_line_size);
                    self.counts.truncated += 1;
                }
                LongLine::Drop => {
                    *self.counts.dropped.entry("line_too_long").or_default() += 1;
                    return;
                }
            }
        }

        let source_fields =
            Fields { resource, scope, record: Some(Record { view: record, fields: &fields, level: level.as_deref() }) };
        fn label<'s>(source: &Source, shared: &'s Option<String>, fields: &Fields<'s, '_>) -> Option<Cow<'s, str>> {
            let found = match source.is_per_container() {
                true => shared.as_deref().map(Cow::Borrowed),
                false => fields.value(source),
            };
            found.filter(|v| !v.is_empty())
        }
        // Most records repeat the last one's label values: compare them in place, and build
        // (and put through the guard) only values that changed.
        let repeat = self.memo.as_ref().is_some_and(|memo| {
            settings.labels.iter().zip(shared).zip(&memo.found).all(|(((_, source), shared), before)| {
                label(source, shared, &source_fields).as_deref() == before.as_deref()
            })
        });
        if repeat {
            let memo = self.memo.as_ref().expect("checked");
            for name in &memo.overflowed {
                *self.counts.overflows.entry(name.clone()).or_default() += 1;
            }
        } else {
            let found = settings
                .labels
                .iter()
                .zip(shared)
                .map(|((_, source), shared)| label(source, shared, &source_fields).map(Cow::into_owned))
                .collect();
            let memo = self.labels(found, now);
            self.memo = Some(memo);
        }

        let settings = &self.settings;
        let metadata = settings
            .structured_metadata
            .iter()
            .filter_map(|(name, metadata)| {
                let found = source_fields.value(metadata).filter(|v| !v.is_empty());
                found.map(|v| (name.clone(), v.into_owned()))
            })
            .collect();
        let timestamp =
            [fields.time_unix_nano, fields.observed_time_unix_nano].into_iter().find(|t| *t != 0).unwrap_or(now);
        let entry = Entry { timestamp, line, metadata };
        let memo = self.memo.as_ref().expect("set above");
        self.buffer.push(&memo.selector, || memo.pairs.clone(), entry);
    }

    /// Puts a record's label values through the cardinality guard and renders the selector.
    fn labels(&mut self, found: Vec<Option<String>>, now: u64) -> Memo {
        let settings = &self.settings;
        let mut pairs: Vec<(&str, String)> = Vec::with_capacity(settings.labels.len() + settings.static_labels.len());
        let mut overflowed = Vec::new();
        for ((name, _), value) in settings.labels.iter().zip(&found) {
            let Some(value) = value else { continue };
            match self.guard.admit(settings, name, value.clone(), now) {
                Admitted::Value(v) => pairs.push((name, v)),
                Admitted::Overflowed(v) => {
                    *self.counts.overflows.entry(name.clone()).or_default() += 1;
                    overflowed.push(name.clone());
                    pairs.push((name, v));
                }
                Admitted::Dropped => {
                    *self.counts.overflows.entry(name.clone()).or_default() += 1;
                    overflowed.push(name.clone());
                }
            }
        }
        pairs.extend(settings.static_labels.iter().map(|(name, value)| (name.as_str(), value.clone())));
        if pairs.is_empty() {
            // Loki refuses a stream without labels; this is the name and value its own OTLP
            // endpoint gives logs that lack `service.name`.
            pairs.push(("service_name", "unknown_service".to_owned()));
        }
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let selector = labels::selector(&borrowed);
        let pairs = pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        Memo { found, selector, pairs, overflowed }
    }

    /// Every buffered entry as payloads for the host to push.
    fn drain(&mut self) -> Vec<Payload> {
        let settings = &self.settings;
        let pushes = self.buffer.drain(settings.max_entries_per_push, settings.max_push_size);
        pushes
            .into_iter()
            .map(|streams| {
                self.counts.sent += streams.iter().map(|s| s.entries.len() as u64).sum::<u64>();
                let body = push::encode(settings.format, streams);
                self.counts.pushes += 1;
                self.counts.push_bytes += body.len() as u64;
                Payload { path: settings.path.clone(), headers: settings.headers.clone(), body }
            })
            .collect()
    }

    /// Hands the counts gathered since the last call to the host's metrics.
    fn report(&mut self) {
        let counts = std::mem::take(&mut self.counts);
        for (name, value) in [
            ("loki_entries_sent", counts.sent),
            ("loki_pushes", counts.pushes),
            ("loki_push_bytes", counts.push_bytes),
            ("loki_lines_truncated", counts.truncated),
        ] {
            if value > 0 {
                host::counter_add(name, value, &[]);
            }
        }
        for (reason, value) in counts.dropped {
            host::counter_add("loki_entries_dropped", value, &[("reason", reason)]);
        }
        for (label, value) in &counts.overflows {
            host::counter_add("loki_label_overflows", value.to_owned(), &[("label", label)]);
            host::gauge_set("loki_label_values", self.guard.values(label) as f64, &[("label", label)]);
        }
        host::gauge_set("loki_buffered_entries", self.buffer.len() as f64, &[]);
    }
}

/// Where a record's label and metadata values come from: its resource and scope, and the
/// record (none for values shared by a scope).
struct Fields<'r, 'a> {
    resource: &'r Resource<'a>,
    scope: &'r Scope<'a>,
    record: Option<Record<'r, 'a>>,
}

/// A record with its singular fields and its level label already worked out.
#[derive(Clone, Copy)]
struct Record<'r, 'a> {
    view: &'r LogRecord<'a>,
    fields: &'r LogFields<'a>,
    level: Option<&'r str>,
}

impl<'r> Fields<'r, '_> {
    /// The text of `source`, borrowed from the request where it is a string there.
    fn value(&self, source: &Source) -> Option<Cow<'r, str>> {
        let record = self.record;
        match source {
            Source::Resource(key) => self.resource.attribute(key).map(|v| line::text_cow(v.get())),
            Source::ScopeName => Some(Cow::Borrowed(self.scope.name())),
            Source::Attribute(key) => record?.view.attribute(key).map(|v| line::text_cow(v.get())),
            Source::Severity => record?.level.map(Cow::Borrowed),
            Source::TraceId => Some(Cow::Owned(aegis_plugin_sdk::hash::hex(record?.fields.trace_id))),
            Source::SpanId => Some(Cow::Owned(aegis_plugin_sdk::hash::hex(record?.fields.span_id))),
        }
    }
}

#[cfg(test)]
mod tests;
