//! The parse-logs processor: turns log records whose body (or an attribute) is a line of
//! text into structured records, with the time, severity, trace context, body and
//! attributes the line holds. JSON, logfmt, regex, nginx/apache access logs, syslog
//! (RFC 5424 and 3164), klog and CRI container lines; see `docs/plugins/parse-logs.md`.
//!
//! A line that does not parse passes on unchanged (or is dropped) and is counted; no line
//! fails the batch.

mod access;
mod config;
mod cri;
mod json;
mod klog;
mod line;
mod logfmt;
mod partial;
mod pattern;
mod reframe;
mod severity;
mod syslog;
mod time;
mod value;

use std::borrow::Cow;

use aegis_plugin_sdk::LogRecord;
use aegis_plugin_sdk::prelude::*;
use aegis_plugin_sdk::wire::ResourceLogs;

use config::{Format, OnFailure, Settings, Source};
use line::{Parsed, ROLE_KEYS, ROLES};
use partial::{Partials, Pending};
use reframe::ScopePart;
use time::Clock;
use value::{Val, put_key_value_payload};

/// The processor: the checked settings, and the CRI partial lines held between batches.
/// Public so that the benchmarks can run the same logic natively.
#[derive(Debug)]
pub struct ParseLogs {
    settings: Settings,
    partials: Partials,
    /// The wall clock (for timestamps without a year) and a monotonic one (for
    /// `partial_timeout`), in nanoseconds; the host's, except in tests.
    wall_clock: fn() -> u64,
    monotonic_clock: fn() -> u64,
}

impl Processor for ParseLogs {
    fn signals() -> Vec<Signal> {
        vec![Signal::Logs]
    }

    fn init(config: Config) -> Result<Self, Error> {
        Ok(ParseLogs {
            settings: config::parse(&config)?,
            partials: Partials::default(),
            wall_clock: host::now_unix_nanos,
            monotonic_clock: host::monotonic_nanos,
        })
    }

    fn process_logs(&mut self, logs: &mut Logs<'_>) -> Result<(), Error> {
        self.run(logs).report();
        Ok(())
    }
}

export_processor!(ParseLogs);

/// What one batch did, for the plugin's counters.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    parsed: u64,
    failed: u64,
    skipped: u64,
    /// Role fields whose value did not convert, by role.
    invalid: [u64; ROLES],
    /// CRI lines completed from pieces.
    joined: u64,
    /// CRI pieces emitted incomplete (too large, too old, or evicted).
    flushed: u64,
}

impl Counts {
    /// Adds the batch to the plugin's counters (`aegis_plugin_parse_logs_*_total`), one
    /// host call per non-zero series.
    fn report(&self) {
        for (result, n) in [("parsed", self.parsed), ("failed", self.failed), ("skipped", self.skipped)] {
            if n > 0 {
                host::counter_add("parse_logs_lines", n, &[("result", result)]);
            }
        }
        for (index, &n) in self.invalid.iter().enumerate() {
            if n > 0 {
                host::counter_add("parse_logs_invalid_fields", n, &[("field", ROLE_KEYS[index].1)]);
            }
        }
        for (result, n) in [("joined", self.joined), ("flushed", self.flushed)] {
            if n > 0 {
                host::counter_add("parse_logs_partial_lines", n, &[("result", result)]);
            }
        }
    }
}

/// What became of a record, for deciding its resource's `service.name`.
enum Fate<'x> {
    /// The record stays, naming this service (or none).
    Stays(Option<Cow<'x, str>>),
    /// The record was removed (dropped, or held as a CRI piece).
    Removed,
}

/// Records that move to a copy of their resource with another `service.name`.
struct Move {
    resource: usize,
    service: String,
    /// (scope index within the resource, the records' payloads)
    scopes: Vec<(usize, Vec<Vec<u8>>)>,
}

/// Where a record sits, for CRI pieces that may have to be emitted on their own.
#[derive(Clone, Copy)]
struct Place<'a> {
    resource: ResourceLogs<'a>,
    scope: usize,
}

impl ParseLogs {
    /// Parses every record of the batch.
    fn run<'a>(&mut self, logs: &mut Logs<'a>) -> Counts {
        let ParseLogs { settings, partials, wall_clock, monotonic_clock } = self;
        let settings: &Settings = settings;
        let mut counts = Counts::default();
        let mut clock = Clock::new(*wall_clock);
        let resources: Vec<ResourceLogs<'a>> = logs.resource_logs().collect();
        let originals: Vec<LogRecord<'a>> = logs.records().collect();
        let mut work = Work { line: Parsed::default(), keys: Vec::new(), scratch: Vec::new(), added: Vec::new() };
        if let Some(joining) = &settings.joining
            && !partials.is_empty()
        {
            for pending in partials.expired(monotonic_clock(), joining.timeout) {
                work.added.push(pending.into_resource_logs());
                counts.flushed += 1;
            }
        }
        let mut moves: Vec<Move> = Vec::new();
        let mut next = 0;
        for (r, mut resource) in logs.resource_logs_mut().enumerate() {
            let view = resources.get(r).copied().unwrap_or_default();
            let mut fates: Vec<Fate<'_>> = Vec::new();
            for (s, mut scope) in resource.scope_logs_mut().enumerate() {
                for mut record in scope.records_mut() {
                    let original = originals.get(next).copied().unwrap_or_default();
                    next += 1;
                    let place = Place { resource: view, scope: s };
                    let fate = process_record(
                        settings,
                        partials,
                        *monotonic_clock,
                        &mut record,
                        original,
                        place,
                        &mut work,
                        &mut clock,
                        &mut counts,
                    );
                    fates.push(fate);
                }
            }

            // The resource's service: what it came with; else, when every record that
            // stays names one, the first record's (set on the resource in place).
            let own = view.resource().attribute("service.name").and_then(|v| v.as_str());
            let target: Option<Cow<'_, str>> = match own {
                Some(own) => Some(Cow::Borrowed(own)),
                None => {
                    let mut staying = fates.iter().filter_map(|f| match f {
                        Fate::Stays(service) => Some(service),
                        Fate::Removed => None,
                    });
                    match staying.next() {
                        Some(Some(first)) if staying.all(Option::is_some) => {
                            resource.set_attribute("service.name", first.as_ref());
                            Some(first.clone())
                        }
                        _ => None,
                    }
                }
            };
            // Records naming another service move to a copy of the resource with theirs.
            let moves_out = |f: &Fate<'_>| matches!(f, Fate::Stays(Some(s)) if Some(s) != target.as_ref());
            if !fates.iter().any(moves_out) {
                continue;
            }
            let mut k = 0;
            for (s, mut scope) in resource.scope_logs_mut().enumerate() {
                for mut record in scope.records_mut() {
                    if let Some(fate @ Fate::Stays(Some(service))) = fates.get(k)
                        && moves_out(fate)
                    {
                        let bytes = record.view().bytes().to_vec();
                        record.remove();
                        add_move(&mut moves, r, service, s, bytes);
                    }
                    k += 1;
                }
            }
        }
        for m in &moves {
            let view = resources.get(m.resource).copied().unwrap_or_default();
            let scopes: Vec<_> = view.scope_logs().collect();
            let resource = reframe::resource_with_service(view.resource().bytes(), &m.service);
            let parts: Vec<ScopePart<'_>> = m
                .scopes
                .iter()
                .map(|(s, records)| {
                    let scope = scopes.get(*s).copied().unwrap_or_default();
                    ScopePart { scope: scope.scope().bytes(), schema_url: scope.schema_url(), records }
                })
                .collect();
            logs.push_resource_logs(reframe::resource_logs(&resource, view.schema_url(), &parts));
        }
        for added in work.added {
            logs.push_resource_logs(added);
        }
        counts
    }
}

fn add_move(moves: &mut Vec<Move>, resource: usize, service: &str, scope: usize, record: Vec<u8>) {
    let index = match moves.iter().position(|m| m.resource == resource && m.service == service) {
        Some(index) => index,
        None => {
            moves.push(Move { resource, service: service.to_owned(), scopes: Vec::new() });
            moves.len() - 1
        }
    };
    let scopes = &mut moves[index].scopes;
    match scopes.iter_mut().find(|(s, _)| *s == scope) {
        Some((_, records)) => records.push(record),
        None => scopes.push((scope, vec![record])),
    }
}

/// Buffers reused from record to record.
struct Work<'x> {
    line: Parsed<'x>,
    /// The attribute keys the record came with.
    keys: Vec<&'x str>,
    /// One encoded attribute at a time.
    scratch: Vec<u8>,
    /// Resources to add to the batch (CRI pieces emitted on their own).
    added: Vec<Vec<u8>>,
}

/// The text a record holds where the config says to look: a string (or UTF-8 bytes).
fn source_text<'a>(record: &LogRecord<'a>, source: &Source) -> Option<&'a str> {
    let value = match source {
        Source::Body => record.body()?,
        Source::Attribute(key) => record.attribute(key)?,
    };
    match value.get() {
        ValueRef::Str(s) => Some(s),
        ValueRef::Bytes(b) => std::str::from_utf8(b).ok(),
        _ => None,
    }
}

/// Parses one record and applies what came of it.
#[allow(clippy::too_many_arguments)]
fn process_record<'x>(
    settings: &'x Settings,
    partials: &mut Partials,
    monotonic_clock: fn() -> u64,
    record: &mut LogRecordMut<'_>,
    original: LogRecord<'x>,
    place: Place<'x>,
    work: &mut Work<'x>,
    clock: &mut Clock,
    counts: &mut Counts,
) -> Fate<'x> {
    let Some(raw) = source_text(&original, &settings.source) else {
        counts.skipped += 1;
        return Fate::Stays(None);
    };
    let text = raw.trim_end_matches(['\n', '\r']);
    let line = &mut work.line;
    line.clear();
    let mapping = &settings.mapping;
    let result = match &settings.format {
        Format::Json => json::parse(text, mapping, line).map(|()| mapping.resolve(line, clock)),
        Format::Logfmt => logfmt::parse(text, mapping, line).map(|()| mapping.resolve(line, clock)),
        Format::Regex(pattern) => pattern.parse(text, mapping, line).map(|()| mapping.resolve(line, clock)),
        Format::Access(access) => access.parse(text, line, clock),
        Format::Syslog5424 => syslog::parse_rfc5424(text, line),
        Format::Syslog3164 => syslog::parse_rfc3164(text, line, clock),
        Format::Klog => klog::parse(text, line, clock),
        Format::Cri => match parse_cri(settings, partials, monotonic_clock, &original, place, text, work, counts) {
            Ok(true) => {
                // A piece held for the rest of its line.
                counts.parsed += 1;
                record.remove();
                return Fate::Removed;
            }
            Ok(false) => Ok(()),
            Err(e) => Err(e),
        },
    };
    let line = &mut work.line;
    if let Err(reason) = result {
        counts.failed += 1;
        return match settings.on_failure {
            OnFailure::Drop => {
                record.remove();
                Fate::Removed
            }
            OnFailure::Pass => {
                if let Some(key) = &settings.error_attribute {
                    record.set_attribute(key, reason.as_str());
                }
                Fate::Stays(None)
            }
        };
    }
    counts.parsed += 1;
    for (count, invalid) in counts.invalid.iter_mut().zip(line.invalid) {
        *count += u64::from(invalid);
    }
    apply(settings, record, line, &original, raw, &mut work.keys, &mut work.scratch);
    Fate::Stays(line.service.take())
}

/// Writes a parsed line into its record. The body goes first, so that the edits after
/// it work on a record without the (usually largest) original text.
fn apply<'x>(
    settings: &Settings,
    record: &mut LogRecordMut<'_>,
    line: &Parsed<'x>,
    original: &LogRecord<'x>,
    raw: &str,
    keys: &mut Vec<&'x str>,
    scratch: &mut Vec<u8>,
) {
    if let Some(body) = &line.body {
        record.set_body(body);
    }
    if let Some(time) = line.time {
        record.set_time_unix_nano(time);
    }
    if let Some((number, text)) = &line.severity {
        // An unknown level keeps its text and leaves the number as it was.
        if *number != 0 {
            record.set_severity_number(*number);
        }
        record.set_severity_text(text);
    }
    if let Some(id) = &line.trace_id {
        record.set_trace_id(id);
    }
    if let Some(id) = &line.span_id {
        record.set_span_id(id);
    }
    if let Source::Attribute(key) = &settings.source {
        record.remove_attribute(key);
    }
    // Appending is one copy; only keys the record already had need the search that
    // replacing in place takes.
    keys.clear();
    keys.extend(original.attributes().map(|(key, _)| key));
    for (key, value) in &line.attrs {
        if keys.contains(&&**key) {
            record.set_attribute(key, value);
        } else {
            scratch.clear();
            put_key_value_payload(scratch, key, value);
            record.message_mut().push_len(6, scratch);
        }
    }
    if let Some(key) = &settings.original_attribute {
        record.set_attribute(key, raw);
    }
}

/// A CRI line: its fields into `work.line`, its pieces joined. Returns whether the record
/// is a piece held for the rest of its line (and so leaves the batch).
#[allow(clippy::too_many_arguments)]
fn parse_cri<'x>(
    settings: &'x Settings,
    partials: &mut Partials,
    monotonic_clock: fn() -> u64,
    original: &LogRecord<'x>,
    place: Place<'x>,
    text: &'x str,
    work: &mut Work<'x>,
    counts: &mut Counts,
) -> Result<bool, String> {
    let cri = cri::parse(text)?;
    let line = &mut work.line;
    line.time = Some(cri.time);
    line.body = Some(Val::str(cri.message));
    line.attr("log.iostream", Val::str(cri.stream));
    let Some(joining) = &settings.joining else {
        line.attr("logtag", Val::str(cri.tag));
        return Ok(false);
    };
    let resource = place.resource.resource();
    let path = original.attribute("log.file.path").and_then(|v| v.as_str());
    let found = partials.position(resource.bytes(), cri.stream, path);
    if !cri.partial {
        line.attr("logtag", Val::str(cri.tag));
        if let Some(index) = found {
            let mut pending = partials.remove(index);
            pending.text.push_str(cri.message);
            line.time = Some(pending.time);
            line.body = Some(Val::Str(Cow::Owned(pending.text)));
            counts.joined += 1;
        }
        return Ok(false);
    }
    let index = match found {
        Some(index) => index,
        None => {
            let scope = place.resource.scope_logs().nth(place.scope).unwrap_or_default();
            let (index, evicted) = partials.insert(Pending {
                resource: resource.bytes().to_vec(),
                resource_schema: place.resource.schema_url().to_owned(),
                scope: scope.scope().bytes().to_vec(),
                scope_schema: scope.schema_url().to_owned(),
                path: path.map(str::to_owned),
                stream: cri.stream.to_owned(),
                template: original.bytes().to_vec(),
                text: String::new(),
                time: cri.time,
                since: monotonic_clock(),
            });
            if let Some(evicted) = evicted {
                work.added.push(evicted.into_resource_logs());
                counts.flushed += 1;
            }
            index
        }
    };
    let pending = partials.get_mut(index);
    pending.text.push_str(cri.message);
    if pending.text.len() < joining.max_size {
        return Ok(true);
    }
    // Too large to wait for the rest: this record carries the pieces so far.
    let pending = partials.remove(index);
    line.time = Some(pending.time);
    line.body = Some(Val::Str(Cow::Owned(pending.text)));
    line.attr("logtag", Val::str("P"));
    counts.flushed += 1;
    Ok(false)
}

#[cfg(test)]
mod tests;
