//! The plugin's `config` table: the scrape path, how long idle series are kept, and the
//! naming and conversion options it shares with the `prometheus-remote-write` exporter.

use std::collections::BTreeMap;
use std::time::Duration;

use aegis_plugin_sdk::{Config, Error};
use aegis_prometheus_common::{DeltaMode, Options};
use serde::Deserialize;

/// The keys of `[exporters.NAME] config = { ... }`; see `docs/plugins/prometheus.md`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// The path the metrics are served on.
    #[serde(default = "default_path")]
    path: String,
    /// A series not updated for this long is no longer served.
    #[serde(default = "default_expire_after", with = "humantime_serde")]
    expire_after: Duration,
    /// Write each point's own timestamp next to its value.
    #[serde(default)]
    send_timestamps: bool,
    /// Append unit suffixes and `_total` to metric names.
    #[serde(default = "yes")]
    add_metric_suffixes: bool,
    /// `"convert"` delta sums and histograms to cumulative, or `"drop"` them.
    #[serde(default)]
    delta: DeltaMode,
    /// Serve `target_info` with each resource's attributes.
    #[serde(default = "yes")]
    target_info: bool,
    /// Add `otel_scope_name` and `otel_scope_version` labels.
    #[serde(default = "yes")]
    scope_labels: bool,
    /// Resource attributes copied onto every series as labels.
    #[serde(default)]
    promote_resource_attributes: Vec<String>,
    /// Labels added to every series.
    #[serde(default)]
    external_labels: BTreeMap<String, String>,
    /// The most data points kept at once; points of further series are dropped.
    #[serde(default = "default_max_series")]
    max_series: usize,
}

fn default_path() -> String {
    "/metrics".to_owned()
}

fn default_expire_after() -> Duration {
    Duration::from_secs(300)
}

fn default_max_series() -> usize {
    100_000
}

fn yes() -> bool {
    true
}

/// The checked settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) path: String,
    pub(crate) expire_after: Duration,
    pub(crate) send_timestamps: bool,
    pub(crate) max_series: usize,
    pub(crate) options: Options,
}

impl Settings {
    /// Parses and checks the config, reporting every problem at once.
    pub(crate) fn parse(config: &Config) -> Result<Self, Error> {
        let raw: Raw = config.parse()?;
        let mut problems = Vec::new();
        if !raw.path.starts_with('/') || raw.path.contains('?') {
            problems.push(format!("path: `{}` must start with `/` and have no query", raw.path));
        }
        if raw.expire_after.is_zero() {
            problems.push("expire_after: must be longer than 0s".to_owned());
        }
        if raw.max_series == 0 {
            problems.push("max_series: must be at least 1".to_owned());
        }
        for (index, key) in raw.promote_resource_attributes.iter().enumerate() {
            if key.is_empty() {
                problems.push(format!("promote_resource_attributes[{index}]: empty attribute key"));
            }
        }
        let external_labels =
            aegis_prometheus_common::external_labels(&raw.external_labels, "external_labels", &mut problems);
        if !problems.is_empty() {
            return Err(Error::config(problems.join("; ")));
        }
        Ok(Settings {
            path: raw.path,
            expire_after: raw.expire_after,
            send_timestamps: raw.send_timestamps,
            max_series: raw.max_series,
            options: Options {
                add_metric_suffixes: raw.add_metric_suffixes,
                target_info: raw.target_info,
                scope_labels: raw.scope_labels,
                promote_resource_attributes: raw.promote_resource_attributes,
                external_labels,
                delta: raw.delta,
            },
        })
    }
}
