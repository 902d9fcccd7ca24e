//! The OpenTelemetry-to-Prometheus translation shared by the `prometheus` (scrape endpoint)
//! and `prometheus-remote-write` exporters, so that both name and convert metrics alike.
//!
//! [`naming`] turns OTLP metric names, units and attribute keys into Prometheus names
//! following the OpenTelemetry "Prometheus and OpenMetrics Compatibility" specification;
//! [`Converter`] walks an OTLP metrics batch and hands every data point to a [`Visitor`]
//! as Prometheus samples: counters and gauges, cumulative histogram buckets with `le`,
//! summaries with `quantile`, exponential histograms as explicit buckets, `target_info`,
//! `job` and `instance`, with delta temporality converted to cumulative (or refused).

mod convert;
mod delta;
mod exponential;
pub mod naming;

pub use convert::{
    Converter, Extra, Family, FamilyKind, Label, Options, Point, STALE_NAN, Sample, Stats, Suffix, Visitor,
};
pub use delta::DeltaMode;

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Writes a number as Prometheus reads it: `+Inf`, `-Inf`, `NaN`, otherwise the shortest
/// text that reads back as the same double, never in exponent form (as Go's
/// `FormatFloat(v, 'f', -1, 64)`, which the OpenTelemetry Collector uses for `le`).
pub fn write_float(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value == f64::INFINITY {
        out.push_str("+Inf");
    } else if value == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        let _ = write!(out, "{value}");
    }
}

/// [`write_float`] into a new string.
pub fn float_text(value: f64) -> String {
    let mut out = String::new();
    write_float(&mut out, value);
    out
}

/// Checks the `external_labels` table of a config: every name must be a valid label name
/// that Prometheus does not reserve, every value non-empty. Problems are added to
/// `problems`, naming `key.NAME`.
pub fn external_labels(
    labels: &BTreeMap<String, String>,
    key: &str,
    problems: &mut Vec<String>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, value) in labels {
        let valid = naming::sanitize_label_name(name).is_some_and(|sanitized| sanitized == name.as_str());
        if !valid {
            problems.push(format!(
                "{key}.{name}: not a valid label name (letters, digits and `_`, not starting with a digit or `__`)"
            ));
        } else if value.is_empty() {
            problems.push(format!("{key}.{name}: the value is empty (Prometheus drops labels with empty values)"));
        } else {
            out.push((name.clone(), value.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests;
