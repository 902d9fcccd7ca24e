//! The few fields of a span or log record that head sampling reads, taken in one pass
//! over its bytes.
//!
//! The SDK's views scan a message once per getter (the last occurrence of a field wins, so
//! each getter reads to the end); the trace id, trace state, status and times of a span cost
//! four or five such scans, which was most of a head decision. This reads them all at
//! once, with the same rules: the last occurrence wins, absent fields read as defaults, a
//! trace state that is not UTF-8 reads as empty, and bytes that do not parse end the scan
//! without a panic.

/// What head sampling needs of a span.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SpanFacts<'a> {
    pub(crate) trace_id: &'a [u8],
    pub(crate) trace_state: &'a str,
    /// `status.code`: 0 unset, 1 ok, 2 error.
    pub(crate) status: i32,
    pub(crate) start: u64,
    pub(crate) end: u64,
}

impl SpanFacts<'_> {
    /// How long the span took, in nanoseconds (0 when it ends before it starts).
    pub(crate) fn duration(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
}

/// Reads the facts of an encoded `Span`.
pub(crate) fn span(bytes: &[u8]) -> SpanFacts<'_> {
    let mut facts = SpanFacts::default();
    // One loop over the fields, without building values for the ones skipped: this runs
    // for every span, and is most of what a decision costs.
    let mut rest = bytes;
    while let Some((tag, after)) = varint(rest) {
        rest = match tag & 7 {
            LEN => {
                let Some((payload, after)) = len_payload(after) else { break };
                match tag >> 3 {
                    1 => facts.trace_id = payload,
                    3 => facts.trace_state = std::str::from_utf8(payload).unwrap_or(""),
                    15 => facts.status = status_code(payload),
                    _ => {}
                }
                after
            }
            I64 => {
                let Some((value, after)) = after.split_first_chunk::<8>() else { break };
                match tag >> 3 {
                    7 => facts.start = u64::from_le_bytes(*value),
                    8 => facts.end = u64::from_le_bytes(*value),
                    _ => {}
                }
                after
            }
            VARINT => match varint(after) {
                Some((_, after)) => after,
                None => break,
            },
            I32 => match after.get(4..) {
                Some(after) => after,
                None => break,
            },
            // Groups (deprecated, and not in OTLP) and invalid wire types end the scan.
            _ => break,
        };
    }
    facts
}

/// What head sampling needs of a log record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LogFacts<'a> {
    pub(crate) trace_id: &'a [u8],
    /// `severity_number`: 17 and above are ERROR and FATAL.
    pub(crate) severity: i32,
    /// Whether an attribute's key starts with `sampling.`: only then can the record carry
    /// `sampling.threshold` or `sampling.randomness`, which are worth looking up.
    pub(crate) sampling_attributes: bool,
}

/// Reads the facts of an encoded `LogRecord`.
pub(crate) fn log(bytes: &[u8]) -> LogFacts<'_> {
    let mut facts = LogFacts::default();
    let mut rest = bytes;
    while let Some((tag, after)) = varint(rest) {
        rest = match tag & 7 {
            LEN => {
                let Some((payload, after)) = len_payload(after) else { break };
                match tag >> 3 {
                    9 => facts.trace_id = payload,
                    6 => facts.sampling_attributes |= key_starts_with(payload, b"sampling."),
                    _ => {}
                }
                after
            }
            VARINT => {
                let Some((value, after)) = varint(after) else { break };
                if tag >> 3 == 2 {
                    facts.severity = value as i32;
                }
                after
            }
            I64 => match after.get(8..) {
                Some(after) => after,
                None => break,
            },
            I32 => match after.get(4..) {
                Some(after) => after,
                None => break,
            },
            _ => break,
        };
    }
    facts
}

/// Whether the key of an encoded `KeyValue` starts with `prefix`. Encoders write the key
/// first; a key written elsewhere is looked for the slow way.
fn key_starts_with(kv: &[u8], prefix: &[u8]) -> bool {
    match kv {
        [0x0a, len, key @ ..] if *len < 0x80 => key.get(..*len as usize).is_some_and(|key| key.starts_with(prefix)),
        _ => kv.windows(prefix.len()).any(|w| w == prefix),
    }
}

const VARINT: u64 = 0;
const I64: u64 = 1;
const LEN: u64 = 2;
const I32: u64 = 5;

/// The payload of a length-delimited field whose tag was read, and what follows it.
#[inline(always)]
fn len_payload(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = varint(bytes)?;
    let len = usize::try_from(len).ok().filter(|&len| len <= rest.len())?;
    Some(rest.split_at(len))
}

/// The `code` (field 3) of an encoded `Status`; the last one wins.
fn status_code(bytes: &[u8]) -> i32 {
    let mut code = 0;
    let mut rest = bytes;
    while let Some((tag, after)) = varint(rest) {
        rest = match tag & 7 {
            VARINT => match varint(after) {
                Some((value, after)) => {
                    if tag >> 3 == 3 {
                        code = value as i32;
                    }
                    after
                }
                None => break,
            },
            LEN => match len_payload(after) {
                Some((_, after)) => after,
                None => break,
            },
            I64 => match after.get(8..) {
                Some(after) => after,
                None => break,
            },
            I32 => match after.get(4..) {
                Some(after) => after,
                None => break,
            },
            _ => break,
        };
    }
    code
}

/// A varint and what follows it. Tags and lengths are almost always one byte: that case
/// comes first.
#[inline(always)]
fn varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let (&first, rest) = bytes.split_first()?;
    if first < 0x80 {
        return Some((u64::from(first), rest));
    }
    let mut value = u64::from(first & 0x7f);
    for (i, &b) in rest.iter().enumerate().take(9) {
        value |= u64::from(b & 0x7f) << (7 * (i + 1));
        if b < 0x80 {
            return Some((value, &rest[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_plugin_sdk::{SpanData, wire::Span};

    #[test]
    fn the_facts_agree_with_the_sdk_views() {
        let data = SpanData {
            trace_id: vec![7; 16],
            span_id: vec![1; 8],
            trace_state: "ot=th:c,rojo=1".into(),
            name: "db.insert".into(),
            start_time_unix_nano: 1_000,
            end_time_unix_nano: 24_000_000,
            attributes: vec![("http.route".into(), aegis_plugin_sdk::Value::Str("/api/v1/users".into()))],
            status_code: 2,
            status_message: "duplicate key".into(),
            ..Default::default()
        };
        let bytes = data.encode();
        let view = Span::new(&bytes);
        let facts = span(&bytes);
        assert_eq!(facts.trace_id, view.trace_id());
        assert_eq!(facts.trace_state, view.trace_state());
        assert_eq!(facts.status, view.status().code());
        assert_eq!((facts.start, facts.end), (view.start_time_unix_nano(), view.end_time_unix_nano()));
        assert_eq!(facts.duration(), 23_999_000);
        // A later occurrence of a field wins, as in protobuf.
        let mut twice = bytes.clone();
        twice.extend_from_slice(&[0x0a, 2, 0xaa, 0xbb]);
        assert_eq!(span(&twice).trace_id, [0xaa, 0xbb]);
    }

    #[test]
    fn log_facts_agree_with_the_sdk_views() {
        let data = aegis_plugin_sdk::LogRecordData {
            time_unix_nano: 5,
            severity_number: 17,
            body: Some(aegis_plugin_sdk::Value::Str("boom".into())),
            trace_id: vec![3; 16],
            span_id: vec![4; 8],
            flags: 1,
            ..Default::default()
        };
        let bytes = data.encode();
        let view = aegis_plugin_sdk::LogRecord::new(&bytes);
        let facts = log(&bytes);
        assert_eq!((facts.trace_id, facts.severity), (view.trace_id(), view.severity_number()));
        assert!(!facts.sampling_attributes);
        let tagged = aegis_plugin_sdk::LogRecordData {
            attributes: vec![("sampling.threshold".into(), aegis_plugin_sdk::Value::Str("c".into()))],
            ..data
        };
        assert!(log(&tagged.encode()).sampling_attributes);
        assert_eq!(log(&[0x48, 0xff]), LogFacts::default());
    }

    #[test]
    fn garbage_reads_as_what_came_before_it() {
        assert_eq!(span(&[]), SpanFacts::default());
        // A trace id, then a length that runs past the end.
        let bytes = [0x0a, 1, 9, 0x1a, 50, 1];
        assert_eq!(span(&bytes).trace_id, [9]);
        assert_eq!(span(&bytes).trace_state, "");
        for len in 0..64 {
            let noise: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let _ = span(&noise);
        }
        assert_eq!(varint(&[0xff; 11]), None);
    }
}
