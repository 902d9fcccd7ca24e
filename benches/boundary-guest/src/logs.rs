//! The two workloads over an encoded `ExportLogsServiceRequest`, read in place
//! with the walk in [`crate::otlp`].

use crate::otlp::{Field, Fields, Result, Splice};
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
        for field in Fields::new(buf, record.body()?) {
            let field = field?;
            inner += match field.number {
                LOG_RECORD_BODY => match string_in(buf, &field)? {
                    Some((string, text)) if rules::looks_like_email(text) => mask(splice, &[&field], &string),
                    _ => 0,
                },
                LOG_RECORD_ATTRIBUTES => redact_attribute(buf, splice, &field)?,
                _ => 0,
            };
        }
        Ok(splice.close(open, inner))
    })?;
    Ok(if splice.is_empty() { Edited::Unchanged } else { Edited::Replaced(splice.apply(buf, growth)) })
}

/// Keeps about one record in ten, by a hash of its trace id.
pub(crate) fn sample(buf: &[u8]) -> Result<Edited> {
    let mut splice = Splice::default();
    let (mut kept, mut dropped) = (0usize, 0usize);
    let growth = each_record(buf, &mut splice, |splice, record| {
        let mut trace_id: &[u8] = &[];
        for field in Fields::new(buf, record.body()?) {
            let field = field?;
            if field.number == LOG_RECORD_TRACE_ID {
                trace_id = &buf[field.body()?];
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
        for scope in Fields::new(buf, resource.body()?) {
            let scope = scope?;
            if scope.number != RESOURCE_LOGS_SCOPE_LOGS {
                continue;
            }
            let open_scope = splice.open(&scope);
            let mut in_scope = 0;
            for record in Fields::new(buf, scope.body()?) {
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

/// Masks the value of one `KeyValue` when the rules call it secret.
#[inline(always)]
fn redact_attribute(buf: &[u8], splice: &mut Splice, pair: &Field) -> Result<isize> {
    let mut key = "";
    let mut value = None;
    for field in Fields::new(buf, pair.body()?) {
        let field = field?;
        match field.number {
            KEY_VALUE_KEY => key = field.str(buf)?,
            KEY_VALUE_VALUE => value = Some(field),
            _ => {}
        }
    }
    let Some(any) = value else { return Ok(0) };
    match string_in(buf, &any)? {
        Some((string, text)) if rules::must_mask(key, text) => Ok(mask(splice, &[pair, &any], &string)),
        _ => Ok(0),
    }
}

/// The `string_value` of an `AnyValue`, when it holds one.
#[inline(always)]
fn string_in<'a>(buf: &'a [u8], any: &Field) -> Result<Option<(Field, &'a str)>> {
    for field in Fields::new(buf, any.body()?) {
        let field = field?;
        if field.number == ANY_VALUE_STRING {
            return Ok(Some((field, field.str(buf)?)));
        }
    }
    Ok(None)
}

/// Replaces `string` with the mask, inside the messages `enclosing` (outermost
/// first); returns how much they grew.
fn mask(splice: &mut Splice, enclosing: &[&Field], string: &Field) -> isize {
    match enclosing.split_first() {
        None => splice.set_str(string, rules::MASK),
        Some((outer, inner)) => {
            let open = splice.open(outer);
            let growth = mask(splice, inner, string);
            splice.close(open, growth)
        }
    }
}
