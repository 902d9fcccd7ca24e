//! The two workloads over an encoded `ExportLogsServiceRequest`, read in place
//! with the walk in [`crate::otlp`].

use crate::otlp::{Field, Fields, Malformed, Result, Splice, bytes_of, str_of};
use crate::rules;

// Field numbers from opentelemetry/proto/{collector/logs/v1,logs/v1,common/v1}.
const REQUEST_RESOURCE_LOGS: u32 = 1;
const RESOURCE_LOGS_SCOPE_LOGS: u32 = 2;
const SCOPE_LOGS_LOG_RECORDS: u32 = 2;
const LOG_RECORD_BODY: u32 = 5;
const LOG_RECORD_ATTRIBUTES: u32 = 6;
const LOG_RECORD_TRACE_ID: u32 = 9;
const KEY_VALUE_KEY: u32 = 1;
const KEY_VALUE_VALUE: u32 = 2;
const ANY_VALUE_STRING: u32 = 1;

/// What a workload made of a batch.
pub(crate) enum Edited {
    Unchanged,
    Replaced(Vec<u8>),
    Dropped,
}

/// Masks secret attribute values and e-mail-like bodies and values.
pub(crate) fn redact(buf: &[u8]) -> Result<Edited> {
    let mut splice = Splice::default();
    let growth = each_record(buf, &mut splice, |splice, record| {
        let open = splice.open(record);
        let mut inner = 0;
        for field in Fields::new(buf, body(record)?) {
            let field = field?;
            inner += match field.number {
                LOG_RECORD_BODY => redact_any_value(buf, splice, &field, rules::looks_like_email)?,
                LOG_RECORD_ATTRIBUTES => redact_attribute(buf, splice, &field)?,
                _ => 0,
            };
        }
        Ok(splice.close(open, inner))
    })?;
    Ok(if splice.is_empty() {
        Edited::Unchanged
    } else {
        Edited::Replaced(splice.apply(buf, growth))
    })
}

/// Keeps about one record in ten, by a hash of its trace id.
pub(crate) fn sample(buf: &[u8]) -> Result<Edited> {
    let mut splice = Splice::default();
    let (mut kept, mut dropped) = (0usize, 0usize);
    let growth = each_record(buf, &mut splice, |splice, record| {
        let mut trace_id: &[u8] = &[];
        for field in Fields::new(buf, body(record)?) {
            let field = field?;
            if field.number == LOG_RECORD_TRACE_ID {
                trace_id = &buf[body(&field)?];
            }
        }
        if rules::keep(trace_id) {
            kept += 1;
            Ok(0)
        } else {
            dropped += 1;
            Ok(splice.remove(record))
        }
    })?;
    Ok(match (kept, dropped) {
        (_, 0) => Edited::Unchanged,
        (0, _) => Edited::Dropped,
        _ => Edited::Replaced(splice.apply(buf, growth)),
    })
}

/// Calls `edit` on every log record (resource logs → scope logs → log
/// records), fixing up the enclosing lengths; returns the total growth.
fn each_record(
    buf: &[u8],
    splice: &mut Splice,
    mut edit: impl FnMut(&mut Splice, &Field) -> Result<isize>,
) -> Result<isize> {
    let mut growth = 0;
    for resource in Fields::new(buf, 0..buf.len()) {
        let resource = resource?;
        if resource.number != REQUEST_RESOURCE_LOGS {
            continue;
        }
        let open_resource = splice.open(&resource);
        let mut in_resource = 0;
        for scope in Fields::new(buf, body(&resource)?) {
            let scope = scope?;
            if scope.number != RESOURCE_LOGS_SCOPE_LOGS {
                continue;
            }
            let open_scope = splice.open(&scope);
            let mut in_scope = 0;
            for record in Fields::new(buf, body(&scope)?) {
                let record = record?;
                if record.number == SCOPE_LOGS_LOG_RECORDS {
                    in_scope += edit(splice, &record)?;
                }
            }
            in_resource += splice.close(open_scope, in_scope);
        }
        growth += splice.close(open_resource, in_resource);
    }
    Ok(growth)
}

/// Masks one `KeyValue` whose string value the rules call secret.
fn redact_attribute(buf: &[u8], splice: &mut Splice, pair: &Field) -> Result<isize> {
    let mut key = "";
    let mut value = None;
    for field in Fields::new(buf, body(pair)?) {
        let field = field?;
        match field.number {
            KEY_VALUE_KEY => key = str_of(buf, &field)?.unwrap_or_default(),
            KEY_VALUE_VALUE => value = Some(field),
            _ => {}
        }
    }
    let Some(value) = value else { return Ok(0) };
    let open = splice.open(pair);
    let inner = redact_any_value(buf, splice, &value, |text| rules::must_mask(key, text))?;
    Ok(splice.close(open, inner))
}

/// Masks the string in an `AnyValue` when `secret` says so.
fn redact_any_value(
    buf: &[u8],
    splice: &mut Splice,
    any: &Field,
    secret: impl Fn(&str) -> bool,
) -> Result<isize> {
    for field in Fields::new(buf, body(any)?) {
        let field = field?;
        if field.number == ANY_VALUE_STRING
            && let Some(text) = str_of(buf, &field)?
            && secret(text)
        {
            let open = splice.open(any);
            let inner = splice.set_str(&field, rules::MASK);
            return Ok(splice.close(open, inner));
        }
    }
    Ok(0)
}

fn body(field: &Field) -> Result<std::ops::Range<usize>> {
    bytes_of(field).ok_or(Malformed::NotLengthDelimited)
}
