//! Reading and rewriting the OpenTelemetry entry (`ot=th:...;rv:...`) of a W3C
//! `tracestate`, keeping every other vendor's entry and every other `ot` sub-key.

use crate::threshold::{Randomness, Threshold};

/// The W3C limit on list members; members past it are dropped from the right.
const MAX_MEMBERS: usize = 32;
/// The OpenTelemetry limit on the `ot` entry's value.
const MAX_OT_VALUE: usize = 256;

/// What the `ot` entry of a tracestate says about sampling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sampling {
    /// The threshold applied upstream, when given and well formed.
    pub(crate) th: Option<Threshold>,
    /// The explicit randomness, when given and well formed.
    pub(crate) rv: Option<Randomness>,
    /// Whether a `th` or `rv` was there but could not be read (it is then ignored, and
    /// replaced when the entry is rewritten).
    pub(crate) malformed: bool,
}

/// The list members of a tracestate, trimmed, without empty ones.
fn members(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(',').map(|m| m.trim_matches([' ', '\t'])).filter(|m| !m.is_empty())
}

/// The value of the first `ot` member.
fn ot_value(raw: &str) -> Option<&str> {
    members(raw).find_map(|m| m.strip_prefix("ot="))
}

/// Reads the sampling sub-keys of `raw`.
pub(crate) fn read(raw: &str) -> Sampling {
    let mut sampling = Sampling::default();
    let Some(ot) = ot_value(raw) else { return sampling };
    for (key, value) in ot.split(';').filter_map(|sub| sub.split_once(':')) {
        match key {
            "th" => {
                sampling.th = Threshold::parse(value);
                sampling.malformed |= sampling.th.is_none();
            }
            "rv" => {
                sampling.rv = Randomness::parse(value);
                sampling.malformed |= sampling.rv.is_none();
            }
            _ => {}
        }
    }
    sampling
}

/// Writes `raw` with its `ot` entry set to `th` (and `rv`, when given) into `out`, the `ot`
/// entry first as W3C asks of an updated entry. Other `ot` sub-keys and other members are
/// kept in their order. Returns false, leaving `out` to be ignored, when the `ot` entry
/// would pass its 256-character limit.
pub(crate) fn write(raw: &str, th: Threshold, rv: Option<Randomness>, out: &mut String) -> bool {
    out.clear();
    out.push_str("ot=th:");
    th.encode(out);
    if let Some(rv) = rv {
        out.push_str(";rv:");
        rv.encode(out);
    }
    if let Some(ot) = ot_value(raw) {
        for sub in ot.split(';').filter(|s| !s.is_empty()) {
            let key = sub.split_once(':').map_or(sub, |(k, _)| k);
            if key != "th" && key != "rv" {
                out.push(';');
                out.push_str(sub);
            }
        }
    }
    if out.len() - "ot=".len() > MAX_OT_VALUE {
        return false;
    }
    // Every `ot` member is replaced by the one written above (a second one is invalid anyway).
    for member in members(raw).filter(|m| !m.starts_with("ot=")).take(MAX_MEMBERS - 1) {
        out.push(',');
        out.push_str(member);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(raw: &str, th: &str, rv: Option<&str>) -> String {
        let mut out = String::new();
        assert!(write(raw, Threshold::parse(th).unwrap(), rv.map(|r| Randomness::parse(r).unwrap()), &mut out));
        out
    }

    #[test]
    fn the_ot_entry_is_read_among_other_vendors() {
        let sampling = read("congo=t61rcWkgMzE, ot=th:c;rv:9b8233f7e3a151;p:8 ,rojo=00f067aa0ba902b7");
        assert_eq!(sampling.th, Threshold::parse("c"));
        assert_eq!(sampling.rv, Randomness::parse("9b8233f7e3a151"));
        assert!(!sampling.malformed);
        assert_eq!(read(""), Sampling::default());
        assert_eq!(read("rojo=00f067aa0ba902b7"), Sampling::default());
    }

    #[test]
    fn malformed_sampling_values_are_ignored_and_flagged() {
        let sampling = read("ot=th:xyz;rv:12");
        assert_eq!((sampling.th, sampling.rv, sampling.malformed), (None, None, true));
    }

    #[test]
    fn rewriting_puts_the_ot_entry_first_and_keeps_the_rest() {
        assert_eq!(rewritten("", "c", None), "ot=th:c");
        assert_eq!(rewritten("ot=th:8;rv:9b8233f7e3a151", "c", Some("9b8233f7e3a151")), "ot=th:c;rv:9b8233f7e3a151");
        assert_eq!(
            rewritten("congo=t61rcWkgMzE,ot=p:8;th:4;k1:13,rojo=00f067aa0ba902b7", "e", None),
            "ot=th:e;p:8;k1:13,congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
        );
        // A malformed threshold is replaced; a duplicate `ot` member is dropped.
        assert_eq!(rewritten("ot=th:zz,ot=th:1,a=b", "8", None), "ot=th:8,a=b");
    }

    #[test]
    fn rewriting_respects_the_limits() {
        let many: Vec<String> = (0..40).map(|i| format!("v{i}=x")).collect();
        let out = rewritten(&many.join(","), "8", None);
        assert_eq!(out.split(',').count(), 32);
        assert!(out.ends_with(",v30=x"));
        let long = format!("ot=th:8;k:{}", "a".repeat(250));
        let mut out = String::new();
        assert!(!write(&long, Threshold::ALWAYS, None, &mut out));
    }
}
