//! Prometheus names for OTLP metrics and attributes, after the OpenTelemetry "Prometheus and
//! OpenMetrics Compatibility" specification: invalid characters become `_`, units become
//! suffixes (`_seconds`, `_bytes`, `_ratio`), monotonic sums end in `_total`.

use std::borrow::Cow;

/// What a metric becomes in Prometheus, as far as its name is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    /// A monotonic sum: `_total` is appended.
    Counter,
    /// A gauge (or a non-monotonic sum): a unit of `1` becomes `_ratio`.
    Gauge,
    /// Histograms and summaries: only the unit suffix.
    Other,
}

/// The Prometheus name of one OTLP metric.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricName {
    /// The family name: the sanitized name with its unit suffix, without `_total`.
    pub base: String,
    /// The unit as Prometheus writes it (`seconds`, `bytes`, `ratio`), empty when none.
    pub unit: String,
    /// Whether the samples of a counter carry `_total` after `base`.
    pub total: bool,
}

/// Builds the Prometheus name of a metric called `name` measured in `unit` (UCUM, as
/// OTLP carries it). With `add_suffixes` false only the characters are sanitized (a
/// counter whose name already ends in `_total` keeps it).
pub fn metric_name(name: &str, unit: &str, kind: NameKind, add_suffixes: bool) -> MetricName {
    let mut base = sanitize_metric_name(name);
    let unit = match prometheus_unit(unit) {
        Some(unit) => unit,
        None if unit == "1" && kind == NameKind::Gauge => "ratio".to_owned(),
        None => String::new(),
    };
    if !add_suffixes {
        let total = kind == NameKind::Counter && base.ends_with("_total") && base.len() > "_total".len();
        if total {
            base.truncate(base.len() - "_total".len());
        }
        return MetricName { base, unit, total };
    }
    if kind == NameKind::Counter {
        // `_total` goes last, after the unit, so take it off before adding the unit.
        while base.ends_with("_total") && base.len() > "_total".len() {
            base.truncate(base.len() - "_total".len());
        }
    }
    if !unit.is_empty() && !has_suffix_token(&base, &unit) {
        base.push('_');
        base.push_str(&unit);
    }
    MetricName { base, unit, total: kind == NameKind::Counter }
}

/// Whether `name` already ends in `_` + `suffix` (or is `suffix`).
fn has_suffix_token(name: &str, suffix: &str) -> bool {
    name == suffix || (name.ends_with(suffix) && name[..name.len() - suffix.len()].ends_with('_'))
}

/// The Prometheus unit for a UCUM unit: `s` is `seconds`, `By` is `bytes`, `m/s` is
/// `meters_per_second`, `1/s` is `per_second`; annotations in braces (`{request}`) are
/// dropped. `None` when nothing is left (no unit, `1`, or only an annotation).
pub fn prometheus_unit(unit: &str) -> Option<String> {
    let unit = strip_annotations(unit);
    let unit = unit.trim();
    if unit.is_empty() || unit == "1" {
        return None;
    }
    let (main, per) = match unit.split_once('/') {
        Some((main, per)) => (main.trim(), Some(per.trim())),
        None => (unit, None),
    };
    let main = match main {
        "" | "1" => String::new(),
        other => sanitize_unit(unit_word(other).unwrap_or(other)),
    };
    let per = per.filter(|p| !p.is_empty()).map(|p| sanitize_unit(per_unit_word(p).unwrap_or(p)));
    let joined = match (main.is_empty(), per) {
        (false, Some(per)) => format!("{main}_per_{per}"),
        (true, Some(per)) => format!("per_{per}"),
        (false, None) => main,
        (true, None) => return None,
    };
    let trimmed = joined.trim_matches('_');
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

fn strip_annotations(unit: &str) -> Cow<'_, str> {
    if !unit.contains('{') {
        return Cow::Borrowed(unit);
    }
    let mut out = String::with_capacity(unit.len());
    let mut depth = 0usize;
    for c in unit.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    Cow::Owned(out)
}

/// The word for a UCUM unit, as the specification's table has it.
fn unit_word(unit: &str) -> Option<&'static str> {
    Some(match unit {
        // Time
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        // Bytes
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        // SI
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        // Misc
        "Cel" => "celsius",
        "Hz" => "hertz",
        "%" => "percent",
        _ => return None,
    })
}

/// The word for the unit after a `/`.
fn per_unit_word(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        _ => return None,
    })
}

fn sanitize_unit(unit: &str) -> String {
    let mut out = String::with_capacity(unit.len());
    for c in unit.chars() {
        out.push(if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' });
    }
    out
}

fn is_metric_char(c: u8, first: bool) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':' || (!first && c.is_ascii_digit())
}

/// A valid Prometheus metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`): every other character
/// becomes `_`, runs of `_` become one, and a leading digit gets a `_` in front.
pub fn sanitize_metric_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    if name.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        out.push('_');
    }
    for c in name.chars() {
        let c = if c.is_ascii() && is_metric_char(c as u8, false) { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// A valid Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`, which
/// Prometheus reserves): every other character becomes `_`, a leading digit gets `key_` in
/// front and a leading `__` gets `key`. `None` for an empty key, which has no valid name.
pub fn sanitize_label_name(name: &str) -> Option<Cow<'_, str>> {
    let bytes = name.as_bytes();
    let first = *bytes.first()?;
    let valid = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let fine = !first.is_ascii_digit() && bytes.iter().all(|&c| valid(c)) && !name.starts_with("__");
    if fine {
        return Some(Cow::Borrowed(name));
    }
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        out.push(if c.is_ascii() && valid(c as u8) { c } else { '_' });
    }
    if first.is_ascii_digit() {
        out.insert_str(0, "key_");
    } else if out.starts_with("__") {
        out.insert_str(0, "key");
    }
    Some(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(name: &str, unit: &str, kind: NameKind) -> String {
        let built = metric_name(name, unit, kind, true);
        if built.total { format!("{}_total", built.base) } else { built.base }
    }

    #[test]
    fn units_become_suffixes_and_counters_end_in_total() {
        assert_eq!(name("http.server.request.duration", "s", NameKind::Other), "http_server_request_duration_seconds");
        assert_eq!(name("http_requests", "", NameKind::Counter), "http_requests_total");
        assert_eq!(name("http_requests_total", "{request}", NameKind::Counter), "http_requests_total");
        assert_eq!(name("network.io", "By", NameKind::Counter), "network_io_bytes_total");
        assert_eq!(name("system.memory.usage", "By", NameKind::Gauge), "system_memory_usage_bytes");
        assert_eq!(name("cpu.utilization", "1", NameKind::Gauge), "cpu_utilization_ratio");
        assert_eq!(name("errors", "1", NameKind::Counter), "errors_total");
        assert_eq!(name("speed", "m/s", NameKind::Gauge), "speed_meters_per_second");
        assert_eq!(name("throughput", "1/s", NameKind::Gauge), "throughput_per_second");
        assert_eq!(name("temperature", "Cel", NameKind::Gauge), "temperature_celsius");
        assert_eq!(name("queue.size", "{items}", NameKind::Gauge), "queue_size");
        assert_eq!(name("odd", "foo.bar", NameKind::Gauge), "odd_foo_bar");
    }

    #[test]
    fn a_unit_suffix_already_in_the_name_is_not_repeated() {
        assert_eq!(name("http_request_duration_seconds", "s", NameKind::Other), "http_request_duration_seconds");
        assert_eq!(name("db_query_duration_seconds_total", "s", NameKind::Counter), "db_query_duration_seconds_total");
        assert_eq!(name("response_bytes", "By", NameKind::Gauge), "response_bytes");
        // Only a whole word counts: `megabytes` does not end in the word `bytes`.
        assert_eq!(name("size_megabytes", "By", NameKind::Gauge), "size_megabytes_bytes");
    }

    #[test]
    fn without_suffixes_only_the_characters_change() {
        let built = metric_name("http.server.duration", "ms", NameKind::Other, false);
        assert_eq!(
            (built.base.as_str(), built.unit.as_str(), built.total),
            ("http_server_duration", "milliseconds", false)
        );
        let counter = metric_name("http_requests_total", "", NameKind::Counter, false);
        assert_eq!((counter.base.as_str(), counter.total), ("http_requests", true));
        let plain = metric_name("hits", "", NameKind::Counter, false);
        assert_eq!((plain.base.as_str(), plain.total), ("hits", false));
    }

    #[test]
    fn metric_names_lose_invalid_characters_and_leading_digits() {
        assert_eq!(sanitize_metric_name("http.server.duration"), "http_server_duration");
        assert_eq!(sanitize_metric_name("a..b--c"), "a_b_c");
        assert_eq!(sanitize_metric_name("2xx_count"), "_2xx_count");
        assert_eq!(sanitize_metric_name("ns:metric"), "ns:metric");
        assert_eq!(sanitize_metric_name("höhe"), "h_he");
        assert_eq!(sanitize_metric_name(""), "_");
    }

    #[test]
    fn label_names_lose_invalid_characters_and_reserved_prefixes() {
        assert_eq!(sanitize_label_name("http.method").unwrap(), "http_method");
        assert!(matches!(sanitize_label_name("status").unwrap(), Cow::Borrowed("status")));
        assert_eq!(sanitize_label_name("4xx").unwrap(), "key_4xx");
        assert_eq!(sanitize_label_name("__secret").unwrap(), "key__secret");
        assert_eq!(sanitize_label_name("..dots").unwrap(), "key__dots");
        assert_eq!(sanitize_label_name("_private").unwrap(), "_private");
        assert_eq!(sanitize_label_name("ns:name").unwrap(), "ns_name");
        assert_eq!(sanitize_label_name(""), None);
    }
}
