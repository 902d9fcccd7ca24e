//! The exposition formats: the Prometheus text format 0.0.4 and OpenMetrics 1.0, chosen
//! from the scraper's `Accept` header.

use std::fmt::Write as _;

use aegis_prometheus_common::{FamilyKind, Suffix, write_float};

use crate::store::{FamilyState, PointState, Store};

/// An exposition format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// `text/plain; version=0.0.4`.
    Text,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` of a response in this format.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::OpenMetrics => "openmetrics",
        }
    }

    /// The format a scraper asks for: OpenMetrics when `Accept` ranks
    /// `application/openmetrics-text` at least as high as the text format (Prometheus
    /// ranks it first), the text format otherwise.
    pub(crate) fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else { return Format::Text };
        let (mut openmetrics, mut text) = (0.0f64, 0.0f64);
        for range in accept.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.strip_prefix("q="))
                .find_map(|q| q.parse::<f64>().ok())
                .filter(|q| (0.0..=1.0).contains(q))
                .unwrap_or(1.0);
            match media.as_str() {
                "application/openmetrics-text" => openmetrics = openmetrics.max(q),
                "text/plain" | "text/*" | "*/*" => text = text.max(q),
                _ => {}
            }
        }
        if openmetrics > 0.0 && openmetrics >= text { Format::OpenMetrics } else { Format::Text }
    }
}

/// Renders every family of `store`.
pub(crate) fn render(store: &Store, format: Format, timestamps: bool) -> String {
    let mut out = String::with_capacity(4096);
    let mut points: Vec<&PointState> = Vec::new();
    for family in store.families() {
        if family.points.is_empty() {
            continue;
        }
        points.clear();
        points.extend(family.points.values());
        points.sort_unstable_by(|a, b| a.labels.cmp(&b.labels));
        match format {
            Format::Text => text_header(&mut out, family),
            Format::OpenMetrics => openmetrics_header(&mut out, family),
        }
        let names = [Suffix::Value, Suffix::Bucket, Suffix::Sum, Suffix::Count].map(|s| sample_name(family, s, format));
        for point in &points {
            for sample in &point.samples {
                let name = &names[sample.suffix as usize];
                out.push_str(name);
                write_labels(&mut out, &point.labels, sample.extra.map(|e| (e.name(), e.value())));
                out.push(' ');
                write_float(&mut out, sample.value);
                if timestamps {
                    match format {
                        Format::Text => {
                            let _ = write!(out, " {}", point.timestamp_ms);
                        }
                        Format::OpenMetrics => write_seconds(&mut out, point.timestamp_ms),
                    }
                }
                out.push('\n');
            }
        }
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

/// The name of a family's samples of one suffix, in `format`.
fn sample_name(family: &FamilyState, suffix: Suffix, format: Format) -> String {
    if format == Format::OpenMetrics && family.kind == FamilyKind::Counter && suffix == Suffix::Value {
        // OpenMetrics requires `_total` on counter samples, suffixes or not.
        return format!("{}_total", family.base);
    }
    family.sample_name(suffix)
}

fn text_header(out: &mut String, family: &FamilyState) {
    let (name, kind) = match family.kind {
        FamilyKind::Counter => (family.sample_name(Suffix::Value), "counter"),
        FamilyKind::Gauge => (family.base.clone(), "gauge"),
        FamilyKind::Histogram => (family.base.clone(), "histogram"),
        FamilyKind::Summary => (family.base.clone(), "summary"),
        // The text format has no info type; `target_info` is a gauge of 1 there.
        FamilyKind::Info => (family.base.clone(), "gauge"),
    };
    if !family.help.is_empty() {
        let _ = write!(out, "# HELP {name} ");
        escape(out, &family.help, false);
        out.push('\n');
    }
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn openmetrics_header(out: &mut String, family: &FamilyState) {
    let (name, kind) = match family.kind {
        FamilyKind::Counter => (family.base.as_str(), "counter"),
        FamilyKind::Gauge => (family.base.as_str(), "gauge"),
        FamilyKind::Histogram => (family.base.as_str(), "histogram"),
        FamilyKind::Summary => (family.base.as_str(), "summary"),
        // An info family `target` has samples named `target_info`.
        FamilyKind::Info => (family.base.strip_suffix("_info").unwrap_or(&family.base), "info"),
    };
    let _ = writeln!(out, "# TYPE {name} {kind}");
    // OpenMetrics allows a unit only on a family whose name ends in it.
    let unit = &family.unit;
    if !unit.is_empty() && name.strip_suffix(unit.as_str()).is_some_and(|rest| rest.ends_with('_')) {
        let _ = writeln!(out, "# UNIT {name} {unit}");
    }
    if !family.help.is_empty() {
        let _ = write!(out, "# HELP {name} ");
        escape(out, &family.help, true);
        out.push('\n');
    }
}

fn write_labels(out: &mut String, labels: &[(String, String)], extra: Option<(&str, f64)>) {
    if labels.is_empty() && extra.is_none() {
        return;
    }
    out.push('{');
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        escape(out, value, true);
        out.push('"');
    }
    if let Some((name, value)) = extra {
        if !labels.is_empty() {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        write_float(out, value);
        out.push('"');
    }
    out.push('}');
}

/// Escapes `\` and line feeds, and `"` when `quotes` (label values in both formats, help
/// text in OpenMetrics; the text format's help text leaves quotes alone).
fn escape(out: &mut String, text: &str, quotes: bool) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quotes => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// An OpenMetrics timestamp: seconds, with the milliseconds as a fraction.
fn write_seconds(out: &mut String, timestamp_ms: i64) {
    let seconds = timestamp_ms.div_euclid(1000);
    let millis = timestamp_ms.rem_euclid(1000);
    let _ = write!(out, " {seconds}.{millis:03}");
}
