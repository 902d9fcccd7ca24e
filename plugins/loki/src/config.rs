//! The Loki exporter's configuration: the keys of `docs/plugins/loki.md`, parsed and checked
//! once at `init` so that every later call works on settings that are known to be valid.

use std::collections::BTreeMap;
use std::time::Duration;

use aegis_plugin_sdk::{Config, Error};
use base64::Engine as _;
use bytesize::ByteSize;
use serde::Deserialize;

/// The configuration table as written in the TOML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// `protobuf` (snappy-compressed `logproto.PushRequest`) or `json`.
    #[serde(default)]
    format: Format,
    /// The path appended to the exporter's `endpoint`.
    #[serde(default = "default_path")]
    path: String,
    /// The Loki tenant, sent as `X-Scope-OrgID`.
    #[serde(default)]
    tenant: Option<String>,
    /// Stream labels: label name -> where its value comes from.
    #[serde(default = "default_labels")]
    labels: BTreeMap<String, String>,
    /// Labels with a fixed value on every stream.
    #[serde(default)]
    static_labels: BTreeMap<String, String>,
    /// Structured metadata: name -> where its value comes from.
    #[serde(default = "default_structured_metadata")]
    structured_metadata: BTreeMap<String, String>,
    /// How a record becomes the entry's line.
    #[serde(default)]
    line_format: LineFormat,
    /// Whether `json` and `logfmt` lines carry the record's attributes.
    #[serde(default = "default_true")]
    line_attributes: bool,
    /// The most labels one stream may have (Loki's `max_label_names_per_series`).
    #[serde(default = "default_max_labels")]
    max_labels: usize,
    /// The most distinct values one label may take before it overflows.
    #[serde(default = "default_max_values_per_label")]
    max_values_per_label: usize,
    /// What happens to a label past `max_values_per_label`.
    #[serde(default)]
    on_label_overflow: Overflow,
    /// The value an overflowing label gets with `on_label_overflow = "replace"`.
    #[serde(default = "default_overflow_value")]
    overflow_value: String,
    /// How long a label value counts against `max_values_per_label` after it was last seen.
    #[serde(default = "default_label_value_ttl", with = "humantime_serde")]
    label_value_ttl: Duration,
    /// The most entries one push carries.
    #[serde(default = "default_max_entries_per_push")]
    max_entries_per_push: usize,
    /// The most line and metadata bytes one push carries, before compression.
    #[serde(default = "default_max_push_size")]
    max_push_size: ByteSize,
    /// The longest line sent (Loki's `max_line_size`); 0 for no limit.
    #[serde(default = "default_max_line_size")]
    max_line_size: ByteSize,
    /// What happens to a line longer than `max_line_size`.
    #[serde(default)]
    on_long_line: LongLine,
    /// HTTP basic auth, the password read from an environment variable.
    #[serde(default)]
    basic_auth: Option<BasicAuth>,
    /// The environment variable holding a bearer token.
    #[serde(default)]
    bearer_token_env: Option<String>,
}

/// `basic_auth = { username = "...", password_env = "LOKI_PASSWORD" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BasicAuth {
    /// The user name (often the tenant's numeric id on Grafana Cloud).
    username: String,
    /// The environment variable holding the password or API key.
    password_env: String,
}

/// The body format of a push.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Format {
    /// `logproto.PushRequest`, snappy-compressed (block format): what Promtail and Alloy send.
    #[default]
    Protobuf,
    /// `{"streams": [{"stream": {...}, "values": [[ns, line, {metadata}]]}]}`.
    Json,
}

/// How a record becomes the entry's line.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LineFormat {
    /// The body: a string as it is, a map or array as JSON, anything else as text.
    #[default]
    Body,
    /// A JSON object: the body (its keys when it is a map, else `message`), `level`, attributes.
    Json,
    /// The same fields as `key=value` pairs.
    Logfmt,
}

/// What happens to a label past `max_values_per_label`.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Overflow {
    /// The label takes `overflow_value`, so the streams of that label stay at most
    /// `max_values_per_label + 1`.
    #[default]
    Replace,
    /// The label is left off the entry's stream.
    Drop,
}

/// What happens to a line longer than `max_line_size`.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LongLine {
    /// The line is cut at `max_line_size` (on a character boundary).
    #[default]
    Truncate,
    /// The entry is dropped.
    Drop,
}

fn default_path() -> String {
    "/loki/api/v1/push".into()
}

fn default_labels() -> BTreeMap<String, String> {
    // `job` too, so that the Aegis stack's LogQL (`{job="aegis-backend"}`) works unchanged;
    // a label with the same value as another adds no streams.
    [("service_name", "resource.service.name"), ("job", "resource.service.name"), ("level", "severity")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn default_structured_metadata() -> BTreeMap<String, String> {
    [("trace_id", "trace_id"), ("span_id", "span_id")].into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

fn default_true() -> bool {
    true
}

fn default_max_labels() -> usize {
    15
}

fn default_max_values_per_label() -> usize {
    1000
}

fn default_overflow_value() -> String {
    "__overflow__".into()
}

fn default_label_value_ttl() -> Duration {
    Duration::from_secs(3600)
}

fn default_max_entries_per_push() -> usize {
    1000
}

fn default_max_push_size() -> ByteSize {
    ByteSize::mib(1)
}

fn default_max_line_size() -> ByteSize {
    ByteSize::kib(256)
}

/// Where a label's or a structured metadata entry's value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// `resource.<key>`: an attribute of the record's resource.
    Resource(String),
    /// `attributes.<key>`: an attribute of the record.
    Attribute(String),
    /// `scope.name`: the instrumentation scope's name.
    ScopeName,
    /// `severity`: the level, `trace` to `fatal`, from the severity number (else its text).
    Severity,
    /// `trace_id`, as lowercase hex.
    TraceId,
    /// `span_id`, as lowercase hex.
    SpanId,
}

impl Source {
    fn parse(text: &str) -> Option<Source> {
        let keyed = |prefix: &str| text.strip_prefix(prefix).filter(|key| !key.is_empty()).map(str::to_owned);
        match text {
            "scope.name" => Some(Source::ScopeName),
            "severity" => Some(Source::Severity),
            "trace_id" => Some(Source::TraceId),
            "span_id" => Some(Source::SpanId),
            _ => keyed("resource.").map(Source::Resource).or_else(|| keyed("attributes.").map(Source::Attribute)),
        }
    }

    /// Whether the value is the same for every record of a resource and scope.
    pub(crate) fn is_per_container(&self) -> bool {
        matches!(self, Source::Resource(_) | Source::ScopeName)
    }
}

/// The checked settings the exporter runs with.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) format: Format,
    pub(crate) path: String,
    /// Every header of a push: content type, tenant, auth.
    pub(crate) headers: Vec<(String, String)>,
    /// Label name and source, sorted by name.
    pub(crate) labels: Vec<(String, Source)>,
    /// Fixed labels, sorted by name.
    pub(crate) static_labels: Vec<(String, String)>,
    /// Metadata name and source, sorted by name.
    pub(crate) structured_metadata: Vec<(std::rc::Rc<str>, Source)>,
    pub(crate) line_format: LineFormat,
    pub(crate) line_attributes: bool,
    pub(crate) max_values_per_label: usize,
    pub(crate) on_label_overflow: Overflow,
    pub(crate) overflow_value: String,
    pub(crate) label_value_ttl: Duration,
    pub(crate) max_entries_per_push: usize,
    pub(crate) max_push_size: usize,
    /// 0 for no limit.
    pub(crate) max_line_size: usize,
    pub(crate) on_long_line: LongLine,
}

const SOURCES: &str = "resource.<key>, attributes.<key>, scope.name, severity, trace_id or span_id";

/// Parses and checks the configuration, reporting every problem at once.
pub(crate) fn parse(config: &Config) -> Result<Settings, Error> {
    let raw: Raw = config.parse()?;
    let mut problems = Vec::new();

    let mut labels = Vec::new();
    for (name, source) in &raw.labels {
        check_label_name(&mut problems, &format!("labels.{name}"), name);
        match Source::parse(source) {
            Some(Source::TraceId | Source::SpanId) => problems.push(format!(
                "labels.{name}: `{source}` is unique per request and would make a stream per request; \
                 put it in structured_metadata instead"
            )),
            Some(parsed) => labels.push((name.clone(), parsed)),
            None => problems.push(format!("labels.{name}: unknown source `{source}`, expected {SOURCES}")),
        }
    }
    for (name, value) in &raw.static_labels {
        check_label_name(&mut problems, &format!("static_labels.{name}"), name);
        if raw.labels.contains_key(name) {
            problems.push(format!("static_labels.{name}: `{name}` is also under labels; keep one"));
        }
        if value.is_empty() {
            problems.push(format!("static_labels.{name}: an empty value is no label in Loki"));
        }
    }
    let total = raw.labels.len() + raw.static_labels.len();
    if total > raw.max_labels {
        problems.push(format!(
            "labels: {total} labels (with static_labels) are more than max_labels ({}); Loki refuses streams \
             with more label names than its max_label_names_per_series (15 by default)",
            raw.max_labels
        ));
    }

    let mut structured_metadata = Vec::new();
    for (name, source) in &raw.structured_metadata {
        if name.is_empty() {
            problems.push("structured_metadata: a name may not be empty".to_owned());
        }
        match Source::parse(source) {
            Some(parsed) => structured_metadata.push((name.as_str().into(), parsed)),
            None => problems.push(format!("structured_metadata.{name}: unknown source `{source}`, expected {SOURCES}")),
        }
    }

    if !raw.path.is_empty() && !raw.path.starts_with('/') {
        problems.push(format!("path: `{}` must start with `/`", raw.path));
    }
    if raw.max_values_per_label == 0 {
        problems.push("max_values_per_label: must be at least 1".to_owned());
    }
    if raw.max_entries_per_push == 0 {
        problems.push("max_entries_per_push: must be at least 1".to_owned());
    }
    if raw.max_push_size.as_u64() == 0 {
        problems.push("max_push_size: must be more than 0 bytes".to_owned());
    }
    if raw.on_label_overflow == Overflow::Replace && raw.overflow_value.is_empty() {
        problems
            .push("overflow_value: an empty value would drop the label; say on_label_overflow = \"drop\"".to_owned());
    }

    let content_type = match raw.format {
        Format::Protobuf => "application/x-protobuf",
        Format::Json => "application/json",
    };
    let mut headers = vec![("Content-Type".to_owned(), content_type.to_owned())];
    if let Some(tenant) = &raw.tenant {
        if tenant.is_empty() {
            problems.push("tenant: may not be empty; leave it out for a single-tenant Loki".to_owned());
        }
        headers.push(("X-Scope-OrgID".to_owned(), tenant.clone()));
    }
    match (&raw.basic_auth, &raw.bearer_token_env) {
        (Some(_), Some(_)) => problems.push("basic_auth: set basic_auth or bearer_token_env, not both".to_owned()),
        (Some(auth), None) => match secret(&auth.password_env, "basic_auth.password_env") {
            Ok(password) => {
                let token = base64::engine::general_purpose::STANDARD.encode(format!("{}:{password}", auth.username));
                headers.push(("Authorization".to_owned(), format!("Basic {token}")));
            }
            Err(problem) => problems.push(problem),
        },
        (None, Some(variable)) => match secret(variable, "bearer_token_env") {
            Ok(token) => headers.push(("Authorization".to_owned(), format!("Bearer {token}"))),
            Err(problem) => problems.push(problem),
        },
        (None, None) => {}
    }

    if !problems.is_empty() {
        return Err(Error::config(problems.join("; ")));
    }
    Ok(Settings {
        format: raw.format,
        path: raw.path,
        headers,
        labels,
        static_labels: raw.static_labels.into_iter().collect(),
        structured_metadata,
        line_format: raw.line_format,
        line_attributes: raw.line_attributes,
        max_values_per_label: raw.max_values_per_label,
        on_label_overflow: raw.on_label_overflow,
        overflow_value: raw.overflow_value,
        label_value_ttl: raw.label_value_ttl,
        max_entries_per_push: raw.max_entries_per_push,
        max_push_size: usize::try_from(raw.max_push_size.as_u64()).unwrap_or(usize::MAX),
        max_line_size: usize::try_from(raw.max_line_size.as_u64()).unwrap_or(usize::MAX),
        on_long_line: raw.on_long_line,
    })
}

/// Loki (like Prometheus) takes label names of `[a-zA-Z_][a-zA-Z0-9_]*`; names starting
/// with `__` are reserved for its internal use.
fn check_label_name(problems: &mut Vec<String>, key: &str, name: &str) {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        problems.push(format!("{key}: `{name}` is not a Loki label name ([a-zA-Z_][a-zA-Z0-9_]*)"));
    } else if name.starts_with("__") {
        problems.push(format!("{key}: names starting with `__` are reserved by Loki"));
    }
}

/// Reads a secret from the plugin's environment, which holds only the variables the
/// pipeline grants (`grants = { env = [...] }`).
fn secret(variable: &str, key: &str) -> Result<String, String> {
    match std::env::var(variable) {
        Ok(value) if !value.is_empty() => Ok(value),
        Ok(_) => Err(format!("{key}: the environment variable {variable} is empty")),
        Err(_) => Err(format!(
            "{key}: the environment variable {variable} is not set for the plugin; set it and grant it \
             with grants = {{ env = [\"{variable}\"] }} on the exporter"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(value: serde_json::Value) -> Result<Settings, Error> {
        parse(&Config::from_value(value))
    }

    #[test]
    fn defaults_label_streams_by_service_job_and_level_with_ids_as_metadata() {
        let settings = settings(json!({})).unwrap();
        let names: Vec<&str> = settings.labels.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["job", "level", "service_name"]);
        assert_eq!(settings.labels[0].1, Source::Resource("service.name".into()));
        assert_eq!(settings.labels[1].1, Source::Severity);
        let metadata: Vec<&str> = settings.structured_metadata.iter().map(|(name, _)| &**name).collect();
        assert_eq!(metadata, ["span_id", "trace_id"]);
        assert_eq!(settings.path, "/loki/api/v1/push");
        assert_eq!(settings.headers, [("Content-Type".to_owned(), "application/x-protobuf".to_owned())]);
    }

    #[test]
    fn every_mistake_is_reported_at_once_with_its_key() {
        let err = settings(json!({
            "labels": { "job": "resourse.service.name", "trace": "trace_id", "9lives": "severity" },
            "static_labels": { "__name__": "x" },
            "max_entries_per_push": 0,
        }))
        .unwrap_err();
        let message = err.message();
        assert!(message.contains("labels.job: unknown source `resourse.service.name`"), "{message}");
        assert!(message.contains("labels.trace: `trace_id` is unique per request"), "{message}");
        assert!(message.contains("labels.9lives: `9lives` is not a Loki label name"), "{message}");
        assert!(message.contains("static_labels.__name__: names starting with `__` are reserved"), "{message}");
        assert!(message.contains("max_entries_per_push: must be at least 1"), "{message}");
    }

    #[test]
    fn more_labels_than_max_labels_is_a_config_error() {
        let err = settings(json!({ "max_labels": 2, "static_labels": { "env": "prod" } })).unwrap_err();
        assert!(err.message().contains("labels: 4 labels (with static_labels) are more than max_labels (2)"), "{err}");
    }

    #[test]
    fn a_missing_secret_names_the_variable_and_the_grant() {
        let err = settings(json!({ "bearer_token_env": "AEGIS_LOKI_TEST_UNSET_TOKEN" })).unwrap_err();
        assert!(
            err.message().contains(
                "bearer_token_env: the environment variable AEGIS_LOKI_TEST_UNSET_TOKEN is not set for the plugin"
            ),
            "{err}"
        );
        assert!(err.message().contains("grants = { env = [\"AEGIS_LOKI_TEST_UNSET_TOKEN\"] }"), "{err}");
    }

    #[test]
    fn tenant_and_basic_auth_become_headers() {
        // cargo sets CARGO_PKG_NAME for the test process, so no test has to change the
        // environment (which is unsafe while other test threads run).
        let settings = settings(json!({
            "tenant": "aegis",
            "basic_auth": { "username": "aegis", "password_env": "CARGO_PKG_NAME" },
        }))
        .unwrap();
        assert!(settings.headers.contains(&("X-Scope-OrgID".to_owned(), "aegis".to_owned())));
        // base64("aegis:aegis-plugin-loki")
        assert!(
            settings
                .headers
                .contains(&("Authorization".to_owned(), "Basic YWVnaXM6YWVnaXMtcGx1Z2luLWxva2k=".to_owned())),
            "{:?}",
            settings.headers
        );
    }
}
