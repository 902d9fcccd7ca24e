//! The parse-logs configuration: the keys of `docs/plugins/parse-logs.md`, checked as a
//! whole so that every mistake is reported at once, each under its key.

use std::collections::BTreeMap;
use std::time::Duration;

use aegis_plugin_sdk::{Config, Error};
use serde::Deserialize;

use crate::access::Access;
use crate::line::{Mapping, Nested, ROLE_KEYS, ROLES};
use crate::pattern::Pattern;
use crate::severity::{SeverityMap, SeveritySetting};
use crate::time::TimeFormat;

/// The configuration as written in the pipeline TOML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// Which format the lines are in.
    format: FormatName,
    /// The regex with named captures (`format = "regex"` only).
    pattern: Option<String>,
    /// What to parse: `body`, or `attributes.KEY`.
    #[serde(default = "default_source")]
    source: String,
    /// The field holding the record's time (field formats).
    timestamp_field: Option<String>,
    /// The field holding the level (field formats).
    level_field: Option<String>,
    /// The field holding the message, which becomes the body (field formats).
    message_field: Option<String>,
    /// The field holding the service, which becomes the resource's `service.name`.
    service_field: Option<String>,
    /// The field holding the trace id in hex (field formats).
    trace_id_field: Option<String>,
    /// The field holding the span id in hex (field formats).
    span_id_field: Option<String>,
    /// How the timestamp field is written (field formats).
    time_format: Option<String>,
    /// Level names to add to (or change in) the default severity map.
    #[serde(default)]
    severity_map: BTreeMap<String, SeveritySetting>,
    /// What becomes of nested JSON objects: `kvlist` or `flatten`.
    nested: Option<NestedName>,
    /// What joins the keys of flattened objects.
    separator: Option<String>,
    /// Whether short hex ids are left-padded with zeros (or kept as attributes).
    #[serde(default = "default_true")]
    pad_ids: bool,
    /// What happens to a line that does not parse: `pass` or `drop`.
    #[serde(default)]
    on_failure: OnFailure,
    /// The attribute that tells, on a line that did not parse, why.
    error_attribute: Option<String>,
    /// Whether a parsed line keeps its raw text as an attribute.
    #[serde(default)]
    keep_original: bool,
    /// The attribute holding the raw text when `keep_original` is set.
    original_attribute: Option<String>,
    /// Whether CRI partial lines are joined (`format = "cri"` only).
    join_partial: Option<bool>,
    /// The most bytes a joined CRI line may hold before it is emitted as it is.
    max_partial_size: Option<u64>,
    /// How long a CRI partial line waits for the rest before it is emitted as it is.
    partial_timeout: Option<String>,
}

fn default_source() -> String {
    "body".to_owned()
}

fn default_true() -> bool {
    true
}

/// The formats, as written in the config.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum FormatName {
    Json,
    Logfmt,
    Regex,
    Nginx,
    Apache,
    SyslogRfc5424,
    SyslogRfc3164,
    Klog,
    Cri,
}

impl FormatName {
    fn has_fields(self) -> bool {
        matches!(self, FormatName::Json | FormatName::Logfmt | FormatName::Regex)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum NestedName {
    Kvlist,
    Flatten,
}

/// What happens to a line that does not parse.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum OnFailure {
    /// The record passes on unchanged (tagged with `error_attribute` if set).
    #[default]
    Pass,
    /// The record is removed.
    Drop,
}

/// The parser of a format, ready to run.
#[derive(Clone, Debug)]
pub(crate) enum Format {
    Json,
    Logfmt,
    Regex(Pattern),
    Access(Access),
    Syslog5424,
    Syslog3164,
    Klog,
    Cri,
}

/// Where the text to parse is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Body,
    Attribute(String),
}

/// How CRI partial lines are joined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Joining {
    pub(crate) max_size: usize,
    pub(crate) timeout: Duration,
}

/// The checked configuration.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) format: Format,
    pub(crate) source: Source,
    pub(crate) mapping: Mapping,
    pub(crate) on_failure: OnFailure,
    pub(crate) error_attribute: Option<String>,
    /// The attribute for the raw line, when it is kept.
    pub(crate) original_attribute: Option<String>,
    /// CRI joining, when on.
    pub(crate) joining: Option<Joining>,
}

/// The field names each format looks for by default: the Aegis services' JSON log
/// format, and what Go's slog, logrus and go-kit write in logfmt.
fn default_names(format: FormatName) -> [&'static str; ROLES] {
    match format {
        FormatName::Logfmt => ["time", "level", "msg", "service", "trace_id", "span_id"],
        _ => ["timestamp", "level", "message", "service", "trace_id", "span_id"],
    }
}

/// Reads and checks the configuration.
pub(crate) fn parse(config: &Config) -> Result<Settings, Error> {
    let raw: RawConfig = config.parse()?;
    let mut problems = Vec::new();
    let format = raw.format;
    let format_name = match format {
        FormatName::Json => "json",
        FormatName::Logfmt => "logfmt",
        FormatName::Regex => "regex",
        FormatName::Nginx => "nginx",
        FormatName::Apache => "apache",
        FormatName::SyslogRfc5424 => "syslog_rfc5424",
        FormatName::SyslogRfc3164 => "syslog_rfc3164",
        FormatName::Klog => "klog",
        FormatName::Cri => "cri",
    };
    let only = |key: &str, what: &str| format!("{key}: only {what} (this is format = \"{format_name}\")");

    let parser = match (format, &raw.pattern) {
        (FormatName::Regex, Some(pattern)) => match Pattern::new(pattern) {
            Ok(pattern) => Some(Format::Regex(pattern)),
            Err(e) => {
                problems.push(e);
                None
            }
        },
        (FormatName::Regex, None) => {
            problems.push("pattern: required for format = \"regex\"".to_owned());
            None
        }
        (_, Some(_)) => {
            problems.push(only("pattern", "format = \"regex\" has a pattern"));
            None
        }
        (FormatName::Json, None) => Some(Format::Json),
        (FormatName::Logfmt, None) => Some(Format::Logfmt),
        (FormatName::Nginx | FormatName::Apache, None) => Some(Format::Access(Access::new())),
        (FormatName::SyslogRfc5424, None) => Some(Format::Syslog5424),
        (FormatName::SyslogRfc3164, None) => Some(Format::Syslog3164),
        (FormatName::Klog, None) => Some(Format::Klog),
        (FormatName::Cri, None) => Some(Format::Cri),
    };

    let source = match raw.source.as_str() {
        "body" => Source::Body,
        other => match other.strip_prefix("attributes.") {
            Some(key) if !key.is_empty() => Source::Attribute(key.to_owned()),
            _ => {
                problems.push(format!("source: `{other}` is neither `body` nor `attributes.KEY`"));
                Source::Body
            }
        },
    };

    let given = [
        raw.timestamp_field,
        raw.level_field,
        raw.message_field,
        raw.service_field,
        raw.trace_id_field,
        raw.span_id_field,
    ];
    let defaults = default_names(format);
    let mut names: [String; ROLES] = Default::default();
    for (index, given) in given.into_iter().enumerate() {
        let key = ROLE_KEYS[index].0;
        match given {
            Some(_) if !format.has_fields() => problems.push(only(key, "json, logfmt and regex have named fields")),
            Some(name) => names[index] = name,
            None => names[index] = defaults[index].to_owned(),
        }
    }
    for i in 0..ROLES {
        for j in i + 1..ROLES {
            if !names[i].is_empty() && names[i] == names[j] {
                problems.push(format!("{}: `{}` is also the {}", ROLE_KEYS[j].0, names[j], ROLE_KEYS[i].0));
            }
        }
    }

    let time_format = match raw.time_format {
        Some(_) if !format.has_fields() => {
            problems.push(only("time_format", "json, logfmt and regex read a timestamp field"));
            TimeFormat::Auto
        }
        Some(text) => TimeFormat::parse(&text).unwrap_or_else(|e| {
            problems.push(format!("time_format: {e}"));
            TimeFormat::Auto
        }),
        None => TimeFormat::Auto,
    };
    let severities = SeverityMap::new(&raw.severity_map).unwrap_or_else(|errors| {
        problems.extend(errors);
        SeverityMap::new(&BTreeMap::new()).expect("the defaults are valid")
    });
    if !raw.severity_map.is_empty() && !format.has_fields() {
        problems.push(only("severity_map", "json, logfmt and regex read a level field"));
    }
    let nested = match (raw.nested, raw.separator) {
        (Some(_), _) | (_, Some(_)) if format != FormatName::Json => {
            problems.push(only("nested and separator", "format = \"json\" has nested objects"));
            Nested::KvList
        }
        (Some(NestedName::Flatten), separator) => {
            let separator = separator.unwrap_or_else(|| ".".to_owned());
            if separator.is_empty() {
                problems.push("separator: must not be empty".to_owned());
            }
            Nested::Flatten(separator)
        }
        (_, Some(_)) => {
            problems.push("separator: only used with nested = \"flatten\"".to_owned());
            Nested::KvList
        }
        _ => Nested::KvList,
    };

    let error_attribute = raw.error_attribute.filter(|key| {
        if key.is_empty() {
            problems.push("error_attribute: must not be empty".to_owned());
        }
        !key.is_empty()
    });
    let original_attribute = match (raw.keep_original, raw.original_attribute) {
        (true, Some(key)) if key.is_empty() => {
            problems.push("original_attribute: must not be empty".to_owned());
            None
        }
        (true, key) => Some(key.unwrap_or_else(|| "log.record.original".to_owned())),
        (false, Some(_)) => {
            problems.push("original_attribute: only used with keep_original = true".to_owned());
            None
        }
        (false, None) => None,
    };

    let cri_keys = raw.join_partial.is_some() || raw.max_partial_size.is_some() || raw.partial_timeout.is_some();
    if cri_keys && format != FormatName::Cri {
        problems.push(only("join_partial, max_partial_size and partial_timeout", "format = \"cri\" has partial lines"));
    }
    let timeout = match raw.partial_timeout.as_deref().map(humantime::parse_duration) {
        None => Duration::from_secs(5),
        Some(Ok(timeout)) => timeout,
        Some(Err(e)) => {
            problems.push(format!("partial_timeout: {e} (write it like \"5s\" or \"500ms\")"));
            Duration::from_secs(5)
        }
    };
    let max_size = match raw.max_partial_size {
        None => 1 << 20,
        Some(0) => {
            problems.push("max_partial_size: must be at least 1 byte".to_owned());
            1
        }
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let joining =
        (format == FormatName::Cri && raw.join_partial.unwrap_or(true)).then_some(Joining { max_size, timeout });

    match parser {
        Some(parser) if problems.is_empty() => Ok(Settings {
            format: parser,
            source,
            mapping: Mapping { names, nested, time_format, severities, pad_ids: raw.pad_ids },
            on_failure: raw.on_failure,
            error_attribute,
            original_attribute,
            joining,
        }),
        _ => Err(Error::config(problems.join("; "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(value: serde_json::Value) -> String {
        parse(&Config::from_value(value)).unwrap_err().message().to_owned()
    }

    #[test]
    fn a_format_alone_is_a_whole_config_with_the_aegis_defaults() {
        let settings = parse(&Config::from_value(json!({"format": "json"}))).unwrap();
        assert_eq!(settings.mapping.names, ["timestamp", "level", "message", "service", "trace_id", "span_id"]);
        assert_eq!(settings.source, Source::Body);
        assert_eq!(settings.on_failure, OnFailure::Pass);
        assert_eq!((settings.error_attribute, settings.original_attribute), (None, None));
        let logfmt = parse(&Config::from_value(json!({"format": "logfmt"}))).unwrap();
        assert_eq!(logfmt.mapping.names[..3], ["time", "level", "msg"]);
        let cri = parse(&Config::from_value(json!({"format": "cri"}))).unwrap();
        assert_eq!(cri.joining, Some(Joining { max_size: 1 << 20, timeout: Duration::from_secs(5) }));
    }

    #[test]
    fn field_names_sources_and_originals_are_configurable() {
        let settings = parse(&Config::from_value(json!({
            "format": "logfmt", "timestamp_field": "ts", "service_field": "", "source": "attributes.log.line",
            "keep_original": true, "error_attribute": "parse.error", "on_failure": "drop"
        })))
        .unwrap();
        assert_eq!(settings.mapping.names[0], "ts");
        assert_eq!(settings.mapping.names[3], "");
        assert_eq!(settings.source, Source::Attribute("log.line".into()));
        assert_eq!(settings.original_attribute.as_deref(), Some("log.record.original"));
        assert_eq!(settings.error_attribute.as_deref(), Some("parse.error"));
        assert_eq!(settings.on_failure, OnFailure::Drop);
    }

    #[test]
    fn unknown_formats_and_keys_are_named() {
        assert_eq!(
            problems(json!({"format": "xml"})),
            "format: unknown variant `xml`, expected one of `json`, `logfmt`, `regex`, `nginx`, `apache`, \
             `syslog_rfc5424`, `syslog_rfc3164`, `klog`, `cri`"
        );
        assert!(problems(json!({"format": "json", "fromat": 1})).starts_with("fromat: unknown field `fromat`"));
        assert_eq!(problems(json!({})), "missing field `format`");
    }

    #[test]
    fn every_inconsistency_is_reported_at_once_under_its_key() {
        let text = problems(json!({
            "format": "nginx", "pattern": "(?P<a>.)", "source": "attr.x", "level_field": "lvl",
            "time_format": "%Q", "nested": "flatten", "join_partial": false, "error_attribute": "",
            "original_attribute": "raw", "severity_map": {"loud": 99}
        }));
        let got: Vec<&str> = text.split("; ").collect();
        assert_eq!(
            got,
            [
                "pattern: only format = \"regex\" has a pattern (this is format = \"nginx\")",
                "source: `attr.x` is neither `body` nor `attributes.KEY`",
                "level_field: only json, logfmt and regex have named fields (this is format = \"nginx\")",
                "time_format: only json, logfmt and regex read a timestamp field (this is format = \"nginx\")",
                "severity_map.loud: 99 is not a severity number (1-24)",
                "severity_map: only json, logfmt and regex read a level field (this is format = \"nginx\")",
                "nested and separator: only format = \"json\" has nested objects (this is format = \"nginx\")",
                "error_attribute: must not be empty",
                "original_attribute: only used with keep_original = true",
                "join_partial, max_partial_size and partial_timeout: only format = \"cri\" has partial lines \
                 (this is format = \"nginx\")",
            ]
        );
    }

    #[test]
    fn field_format_mistakes_are_reported_too() {
        assert_eq!(problems(json!({"format": "regex"})), "pattern: required for format = \"regex\"");
        assert_eq!(
            problems(json!({"format": "json", "message_field": "level", "time_format": "%Q"})),
            "message_field: `level` is also the level_field; time_format: unknown directive `%Q` at byte 0"
        );
        assert_eq!(
            problems(json!({"format": "json", "nested": "flatten", "separator": ""})),
            "separator: must not be empty"
        );
        assert_eq!(
            problems(json!({"format": "cri", "partial_timeout": "soon", "max_partial_size": 0})),
            "partial_timeout: expected number at 0 (write it like \"5s\" or \"500ms\"); max_partial_size: must be at least 1 byte"
        );
    }
}
