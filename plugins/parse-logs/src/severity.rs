//! Severity: level names (as loggers and syslog write them) mapped to OpenTelemetry
//! severity numbers, with the defaults below and whatever the config adds.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The OpenTelemetry severity numbers by name: TRACE is 1-4, DEBUG 5-8, INFO 9-12,
/// WARN 13-16, ERROR 17-20, FATAL 21-24.
const NAMES: [(&str, i32); 24] = [
    ("trace", 1),
    ("trace2", 2),
    ("trace3", 3),
    ("trace4", 4),
    ("debug", 5),
    ("debug2", 6),
    ("debug3", 7),
    ("debug4", 8),
    ("info", 9),
    ("info2", 10),
    ("info3", 11),
    ("info4", 12),
    ("warn", 13),
    ("warn2", 14),
    ("warn3", 15),
    ("warn4", 16),
    ("error", 17),
    ("error2", 18),
    ("error3", 19),
    ("error4", 20),
    ("fatal", 21),
    ("fatal2", 22),
    ("fatal3", 23),
    ("fatal4", 24),
];

/// Level names every map starts with. The syslog keywords follow the OpenTelemetry
/// Collector's syslog parser (emerg FATAL4 down to debug DEBUG).
const DEFAULTS: [(&str, i32); 20] = [
    ("trace", 1),
    ("debug", 5),
    ("info", 9),
    ("information", 9),
    ("informational", 9),
    ("notice", 10),
    ("warn", 13),
    ("warning", 13),
    ("error", 17),
    ("err", 17),
    ("fatal", 21),
    ("critical", 21),
    ("crit", 22),
    ("alert", 23),
    ("emerg", 24),
    ("emergency", 24),
    ("panic", 24),
    ("dpanic", 21),
    ("severe", 17),
    ("fine", 5),
];

/// The syslog severities 0-7 as (severity number, keyword).
pub(crate) const SYSLOG: [(i32, &str); 8] = [
    (24, "emerg"),
    (23, "alert"),
    (22, "crit"),
    (17, "err"),
    (13, "warning"),
    (10, "notice"),
    (9, "info"),
    (5, "debug"),
];

/// A severity in the config: a number 1-24 or one of the OpenTelemetry names.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum SeveritySetting {
    Number(i64),
    Name(String),
}

/// Level text to severity number, compared without regard to ASCII case.
#[derive(Clone, Debug)]
pub(crate) struct SeverityMap {
    /// The entries by the length of their name, so that a lookup (once a line) compares
    /// one or two names rather than all of them.
    by_len: Vec<Vec<(String, i32)>>,
}

impl SeverityMap {
    /// The defaults with `extra` on top; errors name the entry that is wrong.
    pub(crate) fn new(extra: &BTreeMap<String, SeveritySetting>) -> Result<SeverityMap, Vec<String>> {
        let mut entries: Vec<(String, i32)> = DEFAULTS.iter().map(|&(k, v)| (k.to_owned(), v)).collect();
        let mut errors = Vec::new();
        for (level, setting) in extra {
            let number = match setting {
                SeveritySetting::Number(n @ 1..=24) => *n as i32,
                SeveritySetting::Number(n) => {
                    errors.push(format!("severity_map.{level}: {n} is not a severity number (1-24)"));
                    continue;
                }
                SeveritySetting::Name(name) => match NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
                    Some(&(_, number)) => number,
                    None => {
                        errors.push(format!(
                            "severity_map.{level}: `{name}` is not a severity (trace, debug, info, warn, \
                                 error, fatal, optionally with 2-4, or a number 1-24)"
                        ));
                        continue;
                    }
                },
            };
            if level.is_empty() {
                errors.push("severity_map: a level name is empty".to_owned());
                continue;
            }
            let key = level.to_ascii_lowercase();
            match entries.iter_mut().find(|(k, _)| *k == key) {
                Some(entry) => entry.1 = number,
                None => entries.push((key, number)),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut by_len: Vec<Vec<(String, i32)>> = Vec::new();
        for (name, number) in entries {
            if by_len.len() <= name.len() {
                by_len.resize_with(name.len() + 1, Vec::new);
            }
            by_len[name.len()].push((name, number));
        }
        Ok(SeverityMap { by_len })
    }

    /// The severity number of a level name, if the map knows it.
    pub(crate) fn lookup(&self, text: &str) -> Option<i32> {
        let text = text.trim();
        self.by_len.get(text.len())?.iter().find(|(k, _)| k.eq_ignore_ascii_case(text)).map(|&(_, n)| n)
    }

    /// The severity number of a numeric level: its digits looked up as a name first (so
    /// that a map can give meaning to a logger's own numbers), then 1-24 taken as they are.
    pub(crate) fn lookup_number(&self, value: i64, text: &str) -> Option<i32> {
        self.lookup(text).or_else(|| (1..=24).contains(&value).then_some(value as i32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(extra: &[(&str, SeveritySetting)]) -> Result<SeverityMap, Vec<String>> {
        let extra = extra.iter().map(|(k, v)| ((*k).to_owned(), clone(v))).collect();
        SeverityMap::new(&extra)
    }

    fn clone(setting: &SeveritySetting) -> SeveritySetting {
        match setting {
            SeveritySetting::Number(n) => SeveritySetting::Number(*n),
            SeveritySetting::Name(s) => SeveritySetting::Name(s.clone()),
        }
    }

    #[test]
    fn default_levels_map_to_their_otel_numbers_in_any_case() {
        let m = map(&[]).unwrap();
        let cases =
            [("trace", 1), ("DEBUG", 5), ("Info", 9), ("warn", 13), ("WARNING", 13), ("error", 17), ("fatal", 21)];
        for (text, number) in cases {
            assert_eq!(m.lookup(text), Some(number), "{text}");
        }
        assert_eq!(m.lookup("critical"), Some(21));
        assert_eq!(m.lookup("emerg"), Some(24));
        assert_eq!(m.lookup("notice"), Some(10));
        assert_eq!(m.lookup(" info "), Some(9));
        assert_eq!(m.lookup("loud"), None);
        assert_eq!(m.lookup(""), None);
    }

    #[test]
    fn the_config_adds_levels_and_overrides_defaults() {
        let m = map(&[
            ("LOUD", SeveritySetting::Name("error2".into())),
            ("notice", SeveritySetting::Number(11)),
            ("30", SeveritySetting::Name("info".into())),
        ])
        .unwrap();
        assert_eq!(m.lookup("loud"), Some(18));
        assert_eq!(m.lookup("NOTICE"), Some(11));
        assert_eq!(m.lookup_number(30, "30"), Some(9));
        assert_eq!(m.lookup_number(17, "17"), Some(17));
        assert_eq!(m.lookup_number(60, "60"), None);
    }

    #[test]
    fn bad_map_entries_are_all_reported_with_their_key() {
        let errors = map(&[("a", SeveritySetting::Number(0)), ("b", SeveritySetting::Name("sev".into()))]).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0], "severity_map.a: 0 is not a severity number (1-24)");
        assert!(errors[1].starts_with("severity_map.b: `sev` is not a severity"), "{}", errors[1]);
    }
}
