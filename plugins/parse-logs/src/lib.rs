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
mod rebuild;
mod reframe;
mod severity;
mod syslog;
mod time;
mod value;

use std::borrow::Cow;
use std::ops::Range;

use aegis_plugin_sdk::LogRecord;
use aegis_plugin_sdk::prelude::*;
use aegis_plugin_sdk::wire::{ResourceLogs, ScopeLogs};

use config::{Format, OnFailure, Settings, Source};
use line::{Parsed, ROLE_KEYS, ROLES};
use partial::{Partials, Pending};
use rebuild::{Extra, Out};
use time::Clock;
use value::Val;

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
    /// The rebuilt records' buffer, kept between batches so that it does not grow anew
    /// (and copy itself over) in every one.
    arena: Vec<u8>,
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
            arena: Vec::new(),
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

/// What became of a record.
enum Fate<'x> {
    /// It passes as it came (it had no text, or it did not parse and gets no tag).
    Unchanged,
    /// It was written anew into the arena, naming this service (or none).
    Rebuilt(Range<usize>, Option<Cow<'x, str>>),
    /// It leaves the batch (dropped, or held as a CRI piece).
    Removed,
}

/// Where a record sits, for CRI pieces that may have to be emitted on their own.
#[derive(Clone, Copy)]
struct Place<'a> {
    resource: ResourceLogs<'a>,
    scope: ScopeLogs<'a>,
}

/// Buffers reused from record to record.
struct Work<'x> {
    line: Parsed<'x>,
    /// The batch's rebuilt records.
    arena: Vec<u8>,
    /// Which parsed attributes a rebuilt record already has.
    done: Vec<bool>,
    /// The records of the resource at hand.
    outs: Vec<Out<'x>>,
    /// Resources to add to the batch.
    added: Vec<Vec<u8>>,
}

impl ParseLogs {
    /// Parses every record of the batch. A resource none of whose records changed stays
    /// as it is; the others are written anew (see [`rebuild`]) after the batch's others.
    fn run<'a>(&mut self, logs: &mut Logs<'a>) -> Counts {
        let ParseLogs { settings, partials, wall_clock, monotonic_clock, arena } = self;
        let settings: &Settings = settings;
        let mut counts = Counts::default();
        let mut clock = Clock::new(*wall_clock);
        let mut arena = std::mem::take(arena);
        arena.clear();
        arena.reserve(logs.bytes().len() + logs.bytes().len() / 4);
        let mut work = Work { line: Parsed::default(), arena, done: Vec::new(), outs: Vec::new(), added: Vec::new() };
        if let Some(joining) = &settings.joining
            && !partials.is_empty()
        {
            for pending in partials.expired(monotonic_clock(), joining.timeout) {
                work.added.push(pending.into_resource_logs());
                counts.flushed += 1;
            }
        }
        let resources: Vec<ResourceLogs<'a>> = logs.resource_logs().collect();
        let mut rewritten = vec![false; resources.len()];
        let mut replacements = Vec::new();
        for (r, resource) in resources.iter().enumerate() {
            let scopes: Vec<ScopeLogs<'a>> = resource.scope_logs().collect();
            work.outs.clear();
            work.arena.clear();
            let mut changed = false;
            for (s, scope) in scopes.iter().enumerate() {
                for original in scope.log_records() {
                    let place = Place { resource: *resource, scope: *scope };
                    let fate = process_record(
                        settings,
                        partials,
                        *monotonic_clock,
                        original,
                        place,
                        &mut work,
                        &mut clock,
                        &mut counts,
                    );
                    let (rebuilt, service) = match fate {
                        Fate::Unchanged => (None, None),
                        Fate::Rebuilt(range, service) => (Some(range), service),
                        Fate::Removed => {
                            changed = true;
                            continue;
                        }
                    };
                    changed |= rebuilt.is_some();
                    work.outs.push(Out { scope: s, original: original.bytes(), rebuilt, service });
                }
            }
            if changed {
                rewritten[r] = true;
                rewrite(resource, &scopes, &work.outs, &work.arena, &mut replacements);
            }
        }
        if rewritten.contains(&true) {
            for (mut resource, rewritten) in logs.resource_logs_mut().zip(rewritten) {
                if rewritten {
                    resource.remove();
                }
            }
        }
        for payload in replacements.into_iter().chain(work.added) {
            logs.push_resource_logs(payload);
        }
        // Kept for the next batch, unless a huge batch made it huge.
        if work.arena.capacity() <= 64 << 20 {
            self.arena = work.arena;
        }
        counts
    }
}

/// Writes a resource whose records changed, once per service they name:
///
/// - a resource that came with a `service.name` keeps it, and so do its records that name
///   none or the same;
/// - a resource without one takes the first record's service when every record names one;
/// - every other record goes to a copy of the resource with its own service.
///
/// Copies follow in the order their services first appear; a resource left without
/// records is not written.
fn rewrite(
    resource: &ResourceLogs<'_>,
    scopes: &[ScopeLogs<'_>],
    outs: &[Out<'_>],
    arena: &[u8],
    into: &mut Vec<Vec<u8>>,
) {
    let header = resource.resource();
    let own = header.attribute("service.name").and_then(|v| v.as_str());
    let inferred = match (own, outs.first()) {
        (None, Some(first)) if outs.iter().all(|o| o.service.is_some()) => first.service.as_deref(),
        _ => None,
    };
    let target = own.or(inferred);
    let stays = |o: &Out<'_>| o.service.is_none() || o.service.as_deref() == target;
    if outs.iter().any(stays) {
        let renamed;
        let bytes = match inferred {
            Some(service) => {
                renamed = reframe::resource_with_service(header.bytes(), service);
                &renamed[..]
            }
            None => header.bytes(),
        };
        into.push(rebuild::resource(resource, scopes, bytes, outs, |i| stays(&outs[i]), arena));
    }
    let mut services: Vec<&str> = Vec::new();
    for o in outs.iter().filter(|o| !stays(o)) {
        let service = o.service.as_deref().unwrap_or_default();
        if !services.contains(&service) {
            services.push(service);
        }
    }
    for service in services {
        let bytes = reframe::resource_with_service(header.bytes(), service);
        let member = |i: usize| !stays(&outs[i]) && outs[i].service.as_deref() == Some(service);
        into.push(rebuild::resource(resource, scopes, &bytes, outs, member, arena));
    }
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

/// Parses one record and writes what came of it.
#[allow(clippy::too_many_arguments)]
fn process_record<'x>(
    settings: &'x Settings,
    partials: &mut Partials,
    monotonic_clock: fn() -> u64,
    original: LogRecord<'x>,
    place: Place<'x>,
    work: &mut Work<'x>,
    clock: &mut Clock,
    counts: &mut Counts,
) -> Fate<'x> {
    let Some(raw) = source_text(&original, &settings.source) else {
        counts.skipped += 1;
        return Fate::Unchanged;
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
                return Fate::Removed;
            }
            Ok(false) => Ok(()),
            Err(e) => Err(e),
        },
    };
    let Work { line, arena, done, .. } = work;
    if let Err(reason) = result {
        counts.failed += 1;
        return match (settings.on_failure, &settings.error_attribute) {
            (OnFailure::Drop, _) => Fate::Removed,
            (OnFailure::Pass, None) => Fate::Unchanged,
            (OnFailure::Pass, Some(key)) => {
                line.clear();
                let extra = Extra { remove: None, set: Some((key, &reason)) };
                Fate::Rebuilt(rebuild::record(arena, original.bytes(), line, extra, done), None)
            }
        };
    }
    counts.parsed += 1;
    for (count, invalid) in counts.invalid.iter_mut().zip(line.invalid) {
        *count += u64::from(invalid);
    }
    let extra = Extra {
        remove: match &settings.source {
            Source::Attribute(key) => Some(key),
            Source::Body => None,
        },
        set: settings.original_attribute.as_deref().map(|key| (key, raw)),
    };
    let range = rebuild::record(arena, original.bytes(), line, extra, done);
    Fate::Rebuilt(range, line.service.take())
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
            let scope = place.scope;
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
