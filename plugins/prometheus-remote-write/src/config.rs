//! The plugin's `config` table: where to write, how much per request, and the naming and
//! conversion options it shares with the `prometheus` exporter.

use std::collections::BTreeMap;
use std::time::Duration;

use aegis_plugin_sdk::{Config, Error};
use aegis_prometheus_common::{DeltaMode, Options};
use serde::Deserialize;

/// The keys of `[exporters.NAME] config = { ... }`; see `docs/plugins/prometheus-remote-write.md`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// The path appended to the exporter's `endpoint`.
    #[serde(default = "default_path")]
    path: String,
    /// The most samples one request carries.
    #[serde(default = "default_max_samples")]
    max_samples_per_request: usize,
    /// Append unit suffixes and `_total` to metric names.
    #[serde(default = "yes")]
    add_metric_suffixes: bool,
    /// `"convert"` delta sums and histograms to cumulative, or `"drop"` them.
    #[serde(default)]
    delta: DeltaMode,
    /// A series not updated for this long gets a staleness marker; `0s` never.
    #[serde(default = "default_stale_after", with = "humantime_serde")]
    stale_after: Duration,
    /// Send `target_info` with each resource's attributes.
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
    /// Send type, help and unit of each metric family.
    #[serde(default = "yes")]
    send_metadata: bool,
    /// The most series kept at once; points of further series are dropped.
    #[serde(default = "default_max_series")]
    max_series: usize,
}

fn default_path() -> String {
    "/api/v1/write".to_owned()
}

fn default_max_samples() -> usize {
    2000
}

fn yes() -> bool {
    true
}

fn default_stale_after() -> Duration {
    Duration::from_secs(300)
}

fn default_max_series() -> usize {
    100_000
}

/// The checked settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) path: String,
    pub(crate) max_samples_per_request: usize,
    pub(crate) stale_after: Option<Duration>,
    pub(crate) send_metadata: bool,
    pub(crate) max_series: usize,
    pub(crate) options: Options,
}

/// The longest `stale_after`: Prometheus refuses samples more than about an hour older than
/// its newest, and a staleness marker is written just after the series' last sample.
const MAX_STALE_AFTER: Duration = Duration::from_secs(3600);

impl Settings {
    /// Parses and checks the config, reporting every problem at once.
    pub(crate) fn parse(config: &Config) -> Result<Self, Error> {
        let raw: Raw = config.parse()?;
        let mut problems = Vec::new();
        if !raw.path.starts_with('/') {
            problems.push(format!("path: `{}` must start with `/`", raw.path));
        }
        if raw.max_samples_per_request == 0 || raw.max_samples_per_request > 1_000_000 {
            problems
                .push(format!("max_samples_per_request: {} is not between 1 and 1000000", raw.max_samples_per_request));
        }
        if raw.max_series == 0 {
            problems.push("max_series: must be at least 1".to_owned());
        }
        if raw.stale_after > MAX_STALE_AFTER {
            problems.push(format!(
                "stale_after: {} is longer than 1h, past which Prometheus refuses the markers",
                humantime_serde::re::humantime::format_duration(raw.stale_after)
            ));
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
            max_samples_per_request: raw.max_samples_per_request,
            stale_after: (!raw.stale_after.is_zero()).then_some(raw.stale_after),
            send_metadata: raw.send_metadata,
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
