//! Stream labels: the `{name="value", ...}` selector Loki files entries under, and the
//! cardinality guard that keeps one runaway attribute from creating a stream per value.
//!
//! Every stream is an index entry and a set of chunks in Loki; it refuses pushes past
//! `max_global_streams_per_user` (429, retried in vain). The guard counts the distinct
//! values of each label seen within `label_value_ttl` and, past `max_values_per_label`,
//! replaces a new value by the overflow value or leaves the label off.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;

use crate::config::{Overflow, Settings};

/// Distinct recent values per label name.
#[derive(Debug, Default)]
pub(crate) struct Guard {
    /// label name -> value -> when it was last seen (Unix nanoseconds).
    seen: HashMap<String, HashMap<String, u64>>,
}

/// What the guard made of one label value.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admitted {
    /// The value is one of the label's admitted values.
    Value(String),
    /// The label overflowed and takes this value instead.
    Overflowed(String),
    /// The label overflowed and is left off.
    Dropped,
}

impl Guard {
    /// Admits `value` for label `name`, or says what to do instead.
    pub(crate) fn admit(&mut self, settings: &Settings, name: &str, value: String, now: u64) -> Admitted {
        let values = match self.seen.get_mut(name) {
            Some(values) => values,
            None => self.seen.entry(name.to_owned()).or_default(),
        };
        if let Some(last) = values.get_mut(&value) {
            *last = now;
            return Admitted::Value(value);
        }
        if values.len() >= settings.max_values_per_label {
            // Only a full table pays for the scan, and it frees every stale value at once.
            let ttl = u64::try_from(settings.label_value_ttl.as_nanos()).unwrap_or(u64::MAX);
            values.retain(|_, last| now.saturating_sub(*last) < ttl);
        }
        if values.len() < settings.max_values_per_label {
            values.insert(value.clone(), now);
            return Admitted::Value(value);
        }
        match settings.on_label_overflow {
            Overflow::Replace => Admitted::Overflowed(settings.overflow_value.clone()),
            Overflow::Drop => Admitted::Dropped,
        }
    }

    /// How many distinct values label `name` holds now.
    pub(crate) fn values(&self, name: &str) -> usize {
        self.seen.get(name).map_or(0, HashMap::len)
    }
}

/// Renders sorted label pairs as Loki's selector text: `{job="a", level="error"}`, values
/// quoted the way its (PromQL) parser reads them.
pub(crate) fn selector(pairs: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(2 + pairs.iter().map(|(k, v)| k.len() + v.len() + 6).sum::<usize>());
    out.push('{');
    for (index, (name, value)) in pairs.iter().enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        out.push_str(name);
        out.push_str("=\"");
        for c in value.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push('}');
    out
}

/// The canonical level name of a record: from its severity number (the OTLP ranges), else
/// its severity text in lowercase, else none.
pub(crate) fn level(number: i32, text: &str) -> Option<Cow<'static, str>> {
    let name = match number {
        1..=4 => "trace",
        5..=8 => "debug",
        9..=12 => "info",
        13..=16 => "warn",
        17..=20 => "error",
        21..=24 => "fatal",
        _ if text.is_empty() => return None,
        _ => return Some(Cow::Owned(text.to_lowercase())),
    };
    Some(Cow::Borrowed(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_plugin_sdk::Config;
    use serde_json::json;

    fn settings(value: serde_json::Value) -> Settings {
        crate::config::parse(&Config::from_value(value)).unwrap()
    }

    #[test]
    fn selectors_quote_and_escape_values_as_loki_parses_them() {
        assert_eq!(
            selector(&[("job", "aegis-backend"), ("level", "error")]),
            r#"{job="aegis-backend", level="error"}"#
        );
        assert_eq!(selector(&[("path", "C:\\logs\\\"a\"\n")]), r#"{path="C:\\logs\\\"a\"\n"}"#);
    }

    #[test]
    fn levels_come_from_the_severity_number_then_the_text() {
        assert_eq!(level(9, "whatever").as_deref(), Some("info"));
        assert_eq!(level(17, "").as_deref(), Some("error"));
        assert_eq!(level(13, "WARNING").as_deref(), Some("warn"));
        assert_eq!(level(0, "NOTICE").as_deref(), Some("notice"));
        assert_eq!(level(0, ""), None);
    }

    #[test]
    fn values_past_the_limit_take_the_overflow_value() {
        let settings = settings(json!({ "max_values_per_label": 2 }));
        let mut guard = Guard::default();
        assert_eq!(guard.admit(&settings, "pod", "a".into(), 1), Admitted::Value("a".into()));
        assert_eq!(guard.admit(&settings, "pod", "b".into(), 2), Admitted::Value("b".into()));
        assert_eq!(guard.admit(&settings, "pod", "c".into(), 3), Admitted::Overflowed("__overflow__".into()));
        // Known values stay admitted, and other labels have their own budget.
        assert_eq!(guard.admit(&settings, "pod", "a".into(), 4), Admitted::Value("a".into()));
        assert_eq!(guard.admit(&settings, "job", "c".into(), 5), Admitted::Value("c".into()));
        assert_eq!(guard.values("pod"), 2);
    }

    #[test]
    fn values_past_the_limit_drop_the_label_when_configured() {
        let settings = settings(json!({ "max_values_per_label": 1, "on_label_overflow": "drop" }));
        let mut guard = Guard::default();
        assert_eq!(guard.admit(&settings, "pod", "a".into(), 1), Admitted::Value("a".into()));
        assert_eq!(guard.admit(&settings, "pod", "b".into(), 2), Admitted::Dropped);
    }

    #[test]
    fn values_not_seen_within_the_ttl_make_room_for_new_ones() {
        let settings = settings(json!({ "max_values_per_label": 1, "label_value_ttl": "1s" }));
        let mut guard = Guard::default();
        assert_eq!(guard.admit(&settings, "pod", "a".into(), 0), Admitted::Value("a".into()));
        assert_eq!(guard.admit(&settings, "pod", "b".into(), 500_000_000), Admitted::Overflowed("__overflow__".into()));
        assert_eq!(guard.admit(&settings, "pod", "b".into(), 1_000_000_001), Admitted::Value("b".into()));
        assert_eq!(guard.values("pod"), 1);
    }
}
