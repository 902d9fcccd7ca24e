//! The redact processor's configuration, checked as a whole so that every mistake is
//! reported at once, each under its key. The keys are documented in
//! `docs/plugins/redact.md`.

use std::collections::HashSet;

use aegis_plugin_sdk::condition::Condition;
use aegis_plugin_sdk::hash::HmacSha256Key;
use aegis_plugin_sdk::{Config, Error, Signal};
use regex::bytes::{Regex, RegexSet};
use serde::Deserialize;

use crate::detect::{Detectors, Found, Reason};

/// The configuration as written in the pipeline TOML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// Keep attributes of every key (masking still applies); otherwise only `allowed_keys`.
    #[serde(default)]
    allow_all_keys: bool,
    /// The keys that stay when `allow_all_keys` is false; all others are removed.
    allowed_keys: Option<Vec<String>>,
    /// Keys passed on untouched: neither removed nor masked.
    #[serde(default)]
    ignored_keys: Vec<String>,
    /// Regexes on keys: the whole value of a matching key is masked.
    #[serde(default)]
    blocked_key_patterns: Vec<String>,
    /// Regexes on values: the matching parts are masked.
    #[serde(default)]
    blocked_values: Vec<String>,
    /// Regexes on values: what they match is never masked by `blocked_values` or detectors.
    #[serde(default)]
    allowed_values: Vec<String>,
    /// Built-in detectors to switch on, by name.
    #[serde(default)]
    detectors: Vec<String>,
    /// What masked parts are replaced by (default `****`).
    mask: Option<String>,
    /// Replace masked parts by their hash instead of `mask`.
    #[serde(default)]
    hash: HashKind,
    /// The environment variable holding the key for `hash = "hmac-sha256"`.
    hash_key_env: Option<String>,
    /// Which summary attributes are added to what was redacted.
    #[serde(default)]
    summary: SummaryLevel,
    /// Only items matching this condition (and their resources and scopes) are redacted.
    #[serde(rename = "where")]
    condition: Option<String>,
}

/// How masked parts are hashed, if they are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum HashKind {
    /// Replaced by `mask`.
    #[default]
    None,
    /// Replaced by their SHA-256, in hex.
    Sha256,
    /// Replaced by their HMAC-SHA256 under a secret key, in hex.
    HmacSha256,
}

/// Which summary attributes are added to an item (or resource, or scope) that had
/// something masked or removed, like the OpenTelemetry Collector's redaction processor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SummaryLevel {
    /// None.
    #[default]
    Silent,
    /// `redaction.masked.count` and `redaction.redacted.count`.
    Info,
    /// The counts and `redaction.masked.keys` and `redaction.redacted.keys`.
    Debug,
}

/// What masked parts become.
#[derive(Clone, Debug)]
pub(crate) enum Replacement {
    /// This text.
    Mask(String),
    /// The SHA-256 of the part, in hex.
    Sha256,
    /// The HMAC-SHA256 of the part under the key, in hex.
    HmacSha256(HmacSha256Key),
}

/// A list of regexes from the config: a set to tell in one scan whether any matches, and
/// each one to find where.
#[derive(Debug)]
pub(crate) struct Patterns {
    set: RegexSet,
    each: Vec<Regex>,
}

impl Patterns {
    /// Compiles the regexes of `key`, reporting each one that does not compile. `None`
    /// when there are none, or when one is wrong.
    fn compile(key: &str, patterns: &[String], problems: &mut Vec<String>) -> Option<Patterns> {
        let mut each = Vec::with_capacity(patterns.len());
        for (i, pattern) in patterns.iter().enumerate() {
            match Regex::new(pattern) {
                Ok(regex) => each.push(regex),
                Err(error) => problems.push(format!("{key}[{i}]: {}", one_line(&error.to_string()))),
            }
        }
        if patterns.is_empty() || each.len() != patterns.len() {
            return None;
        }
        match RegexSet::new(patterns) {
            Ok(set) => Some(Patterns { set, each }),
            Err(error) => {
                problems.push(format!("{key}: {}", one_line(&error.to_string())));
                None
            }
        }
    }

    /// Whether any of the regexes matches `text`.
    pub(crate) fn is_match(&self, text: &[u8]) -> bool {
        match &self.each[..] {
            [one] => one.is_match(text),
            _ => self.set.is_match(text),
        }
    }

    /// Adds every non-empty match of every regex in `text` to `out`.
    pub(crate) fn find(&self, text: &[u8], reason: Reason, out: &mut Vec<Found>) {
        let mut add = |regex: &Regex| {
            for m in regex.find_iter(text).filter(|m| !m.is_empty()) {
                out.push(Found { start: m.start(), end: m.end(), reason });
            }
        };
        match &self.each[..] {
            [one] => add(one),
            _ => self.set.matches(text).into_iter().for_each(|i| add(&self.each[i])),
        }
    }
}

/// Regex errors span several lines, with a caret under the problem; config errors are one.
fn one_line(text: &str) -> String {
    text.split('\n').map(str::trim).filter(|line| !line.is_empty()).collect::<Vec<_>>().join(" ")
}

/// The checked configuration.
#[derive(Debug)]
pub(crate) struct Rules {
    /// Whether attributes of every key stay (only masking applies).
    pub(crate) allow_all_keys: bool,
    /// The keys that stay when `allow_all_keys` is false.
    pub(crate) allowed_keys: HashSet<String>,
    /// Keys passed on untouched.
    pub(crate) ignored_keys: HashSet<String>,
    /// Keys whose whole value is masked.
    pub(crate) blocked_keys: Option<Patterns>,
    /// Whether the Aegis services' sensitive keys are masked.
    pub(crate) sensitive_keys: bool,
    /// The value detectors switched on.
    pub(crate) detectors: Detectors,
    /// Parts of values to mask.
    pub(crate) blocked_values: Option<Patterns>,
    /// Parts of values never to mask.
    pub(crate) allowed_values: Option<Patterns>,
    /// What masked parts become.
    pub(crate) replacement: Replacement,
    /// The summary attributes to add.
    pub(crate) summary: SummaryLevel,
    /// Which items to redact.
    pub(crate) scope: Scope,
}

/// Which items of each signal are redacted: those matching the signal's condition, or
/// all of them when it has none.
#[derive(Debug, Default)]
pub(crate) struct Scope {
    logs: Option<Condition>,
    traces: Option<Condition>,
    metrics: Option<Condition>,
}

impl Scope {
    /// The condition items of `signal` must match, if any.
    pub(crate) fn condition(&self, signal: Signal) -> Option<&Condition> {
        match signal {
            Signal::Logs => self.logs.as_ref(),
            Signal::Traces => self.traces.as_ref(),
            Signal::Metrics => self.metrics.as_ref(),
        }
    }

    /// Parses `where` for each signal. A condition on fields that one signal's items lack
    /// (`severity`, for spans) does not scope that signal: its items are all redacted,
    /// rather than none. Only a condition that fits no signal is an error.
    fn parse(text: &str) -> Result<Scope, Error> {
        let [logs, traces, metrics] =
            [Signal::Logs, Signal::Traces, Signal::Metrics].map(|signal| Condition::parse_for(text, signal));
        match (logs, traces, metrics) {
            (Err(error), Err(_), Err(_)) => Err(error),
            (logs, traces, metrics) => Ok(Scope { logs: logs.ok(), traces: traces.ok(), metrics: metrics.ok() }),
        }
    }
}

/// The names `detectors` accepts, for the error message.
fn detector_names() -> String {
    Reason::ALL[..8].iter().map(|r| r.name()).collect::<Vec<_>>().join(", ")
}

/// Parses and checks the configuration; `env` reads an environment variable (the
/// process environment, which the host fills with what `grants.env` names).
pub(crate) fn parse(config: &Config, env: impl Fn(&str) -> Option<String>) -> Result<Rules, Error> {
    let raw: RawConfig = config.parse()?;
    let mut problems = Vec::new();

    match (&raw.allowed_keys, raw.allow_all_keys) {
        (None, false) => problems.push(
            "allowed_keys: missing: list the attribute keys to keep (every other key is removed, \
             resource attributes included), or set `allow_all_keys = true` to keep every key"
                .to_owned(),
        ),
        (Some(_), true) => {
            problems.push("allowed_keys: has no effect with `allow_all_keys = true`; remove one of the two".to_owned())
        }
        _ => {}
    }

    let blocked_keys = Patterns::compile("blocked_key_patterns", &raw.blocked_key_patterns, &mut problems);
    let blocked_values = Patterns::compile("blocked_values", &raw.blocked_values, &mut problems);
    let allowed_values = Patterns::compile("allowed_values", &raw.allowed_values, &mut problems);

    let mut detectors = Detectors::default();
    let mut sensitive_keys = false;
    for (i, name) in raw.detectors.iter().enumerate() {
        match Reason::detector(name) {
            Some(Reason::SensitiveKey) => sensitive_keys = true,
            Some(reason) => detectors.enable(reason),
            None => problems
                .push(format!("detectors[{i}]: unknown detector {name:?}, expected one of {}", detector_names())),
        }
    }

    if raw.allow_all_keys
        && raw.detectors.is_empty()
        && raw.blocked_key_patterns.is_empty()
        && raw.blocked_values.is_empty()
    {
        problems.push(
            "nothing to redact: with `allow_all_keys = true`, give `detectors`, `blocked_key_patterns` or \
             `blocked_values`"
                .to_owned(),
        );
    }

    let replacement = match (raw.hash, &raw.mask) {
        (HashKind::None, mask) => Some(Replacement::Mask(mask.clone().unwrap_or_else(|| "****".to_owned()))),
        (_, Some(_)) => {
            problems.push("mask: has no effect with `hash`: masked parts are replaced by their hash".to_owned());
            None
        }
        (HashKind::Sha256, None) => Some(Replacement::Sha256),
        (HashKind::HmacSha256, None) => match &raw.hash_key_env {
            None => {
                problems.push(
                    "hash_key_env: missing: `hash = \"hmac-sha256\"` needs the name of the environment variable \
                     that holds the key"
                        .to_owned(),
                );
                None
            }
            Some(name) => match env(name) {
                Some(key) if !key.is_empty() => Some(Replacement::HmacSha256(HmacSha256Key::new(key.as_bytes()))),
                Some(_) => {
                    problems.push(format!("hash_key_env: the environment variable {name:?} is empty"));
                    None
                }
                None => {
                    problems.push(format!(
                        "hash_key_env: the environment variable {name:?} is not set, or not granted to the plugin \
                         (grant it with `grants = {{ env = [{name:?}] }}`)"
                    ));
                    None
                }
            },
        },
    };
    if raw.hash_key_env.is_some() && raw.hash != HashKind::HmacSha256 {
        problems.push("hash_key_env: only used with `hash = \"hmac-sha256\"`".to_owned());
    }

    let scope = match raw.condition.as_deref().map(Scope::parse) {
        Some(Ok(scope)) => scope,
        Some(Err(error)) => {
            problems.push(format!("where: {}", error.message()));
            Scope::default()
        }
        None => Scope::default(),
    };

    match replacement {
        Some(replacement) if problems.is_empty() => Ok(Rules {
            allow_all_keys: raw.allow_all_keys,
            allowed_keys: raw.allowed_keys.unwrap_or_default().into_iter().collect(),
            ignored_keys: raw.ignored_keys.into_iter().collect(),
            blocked_keys,
            sensitive_keys,
            detectors,
            blocked_values,
            allowed_values,
            replacement,
            summary: raw.summary,
            scope,
        }),
        _ => Err(Error::config(problems.join("; "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_plugin_sdk::ErrorKind;
    use serde_json::json;

    fn parse_json(value: serde_json::Value) -> Result<Rules, Error> {
        parse(&Config::from_value(value), |name| (name == "REDACT_KEY").then(|| "k3y".to_owned()))
    }

    fn message(value: serde_json::Value) -> String {
        let error = parse_json(value).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Config);
        error.message().to_owned()
    }

    #[test]
    fn a_full_config_parses() {
        let rules = parse_json(json!({
            "allowed_keys": ["service.name", "user.email"],
            "ignored_keys": ["trace.note"],
            "blocked_key_patterns": ["(?i)session"],
            "blocked_values": ["acct-[0-9]+"],
            "allowed_values": ["@aegis\\.example$"],
            "detectors": ["email", "credit_card", "ipv4", "ipv6", "jwt", "bearer", "aws_access_key", "aegis_sensitive_keys"],
            "hash": "hmac-sha256",
            "hash_key_env": "REDACT_KEY",
            "summary": "debug",
            "where": "resource.attributes[\"service.name\"] == \"aegis-backend\"",
        }))
        .unwrap();
        assert!(!rules.allow_all_keys);
        assert!(rules.allowed_keys.contains("user.email"));
        assert!(rules.sensitive_keys);
        assert!(Reason::ALL[..7].iter().all(|&r| rules.detectors.has(r)));
        assert!(matches!(rules.replacement, Replacement::HmacSha256(_)));
        assert_eq!(rules.summary, SummaryLevel::Debug);
        assert!([Signal::Logs, Signal::Traces, Signal::Metrics].iter().all(|&s| rules.scope.condition(s).is_some()));
    }

    #[test]
    fn defaults_mask_with_four_stars_and_add_no_summary() {
        let rules = parse_json(json!({ "allow_all_keys": true, "detectors": ["email"] })).unwrap();
        assert!(matches!(&rules.replacement, Replacement::Mask(mask) if mask == "****"));
        assert_eq!(rules.summary, SummaryLevel::Silent);
        assert!(rules.scope.condition(Signal::Logs).is_none() && rules.blocked_keys.is_none() && !rules.sensitive_keys);
    }

    #[test]
    fn the_key_policy_must_be_chosen_explicitly() {
        assert!(message(json!({ "detectors": ["email"] })).starts_with("allowed_keys: missing"));
        assert_eq!(
            message(json!({ "allow_all_keys": true, "allowed_keys": ["a"], "detectors": ["email"] })),
            "allowed_keys: has no effect with `allow_all_keys = true`; remove one of the two"
        );
        // An empty list is a choice: every attribute goes.
        assert!(parse_json(json!({ "allowed_keys": [] })).is_ok());
    }

    #[test]
    fn every_problem_is_reported_at_once_under_its_key() {
        let text = message(json!({
            "allow_all_keys": true,
            "blocked_values": ["ok", "(unclosed"],
            "detectors": ["email", "emial"],
            "mask": "X",
            "hash": "sha256",
            "hash_key_env": "REDACT_KEY",
            "where": "severity >= ",
        }));
        let problems: Vec<&str> = text.split("; ").collect();
        assert!(problems[0].starts_with("blocked_values[1]: regex parse error"), "{text}");
        assert!(!problems[0].contains('\n'));
        assert_eq!(
            problems[1],
            "detectors[1]: unknown detector \"emial\", expected one of email, credit_card, ipv4, ipv6, jwt, bearer, \
             aws_access_key, aegis_sensitive_keys"
        );
        assert_eq!(problems[2], "mask: has no effect with `hash`: masked parts are replaced by their hash");
        assert_eq!(problems[3], "hash_key_env: only used with `hash = \"hmac-sha256\"`");
        assert_eq!(problems[4], "where: at column 13: expected a value after \">=\"");
        assert_eq!(problems.len(), 5, "{text}");
    }

    #[test]
    fn hmac_needs_a_granted_non_empty_key() {
        assert!(
            message(json!({ "allow_all_keys": true, "detectors": ["email"], "hash": "hmac-sha256" }))
                .starts_with("hash_key_env: missing")
        );
        assert_eq!(
            message(
                json!({ "allow_all_keys": true, "detectors": ["email"], "hash": "hmac-sha256", "hash_key_env": "NOPE" })
            ),
            "hash_key_env: the environment variable \"NOPE\" is not set, or not granted to the plugin \
             (grant it with `grants = { env = [\"NOPE\"] }`)"
        );
        let empty = parse(
            &Config::from_value(
                json!({ "allow_all_keys": true, "detectors": ["email"], "hash": "hmac-sha256", "hash_key_env": "K" }),
            ),
            |_| Some(String::new()),
        );
        assert_eq!(empty.unwrap_err().message(), "hash_key_env: the environment variable \"K\" is empty");
    }

    #[test]
    fn a_condition_on_fields_of_one_signal_scopes_only_that_signal() {
        let rules =
            parse_json(json!({ "allow_all_keys": true, "detectors": ["email"], "where": "severity >= WARN" })).unwrap();
        assert!(rules.scope.condition(Signal::Logs).is_some());
        assert!(rules.scope.condition(Signal::Traces).is_none());
        assert!(rules.scope.condition(Signal::Metrics).is_none());
        let text = message(json!({ "allow_all_keys": true, "detectors": ["email"], "where": "sevrity >= WARN" }));
        assert!(text.starts_with("where: at column 1: "), "{text}");
    }

    #[test]
    fn a_config_that_redacts_nothing_is_refused() {
        assert!(message(json!({ "allow_all_keys": true })).starts_with("nothing to redact"));
    }

    #[test]
    fn unknown_keys_and_bad_enum_values_name_the_key() {
        assert!(
            message(json!({ "allow_all_keys": true, "detector": ["email"] })).starts_with("detector: unknown field")
        );
        assert!(
            message(json!({ "allow_all_keys": true, "detectors": ["email"], "hash": "md5" }))
                .starts_with("hash: unknown variant `md5`")
        );
        assert!(
            message(json!({ "allow_all_keys": true, "detectors": ["email"], "summary": "loud" }))
                .starts_with("summary: unknown variant `loud`")
        );
    }
}
