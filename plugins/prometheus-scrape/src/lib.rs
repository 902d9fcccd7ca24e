//! The `prometheus-scrape` receiver (the Prometheus server's scrape role): the host's
//! `scrape` transport fetches each target; this plugin parses the Prometheus text format
//! 0.0.4 or OpenMetrics 1.0 body into cumulative OTLP metrics, keeps start times per
//! series, and adds `up`, `scrape_duration_seconds` and `scrape_samples_scraped` as
//! Prometheus does, so a failed scrape still shows as `up` 0.

mod convert;
mod encode;
mod parse;

use std::collections::HashMap;

use aegis_plugin_sdk::prelude::*;
use aegis_plugin_sdk::wire::{
    MetricData, MetricKindData, MetricsData, ResourceMetricsData, ScopeData, ScopeMetricsData,
};
use aegis_plugin_sdk::{Scrape, wire::NumberPointData, wire::NumberValue};
use regex::Regex;
use serde::Deserialize;

use convert::{Converted, Options, Starts, Target};
use parse::Format;

/// The plugin's config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScrapeConfig {
    /// The `job`: `service.name` of every resource (default `"aegis"`).
    #[serde(default = "default_job")]
    job: String,
    /// Whether `job`/`instance` labels in the body win over the target's; when false they
    /// are kept as `exported_job`/`exported_instance`, as Prometheus does.
    #[serde(default)]
    honor_labels: bool,
    /// Regexes (anchored) of metric names to drop: a family goes when its name or a
    /// sample's name matches.
    #[serde(default)]
    drop_metrics: Vec<String>,
}

fn default_job() -> String {
    "aegis".into()
}

/// The receiver. Public so that it can be run natively in tests.
#[derive(Debug)]
pub struct PrometheusScrape {
    job: String,
    honor_labels: bool,
    drop: Vec<Regex>,
    /// Per target URL, the start times of its cumulative series.
    starts: HashMap<String, Starts>,
}

impl Receiver for PrometheusScrape {
    fn signals() -> Vec<Signal> {
        vec![Signal::Metrics]
    }

    fn init(config: Config) -> Result<Self, Error> {
        let config: ScrapeConfig = config.parse()?;
        if config.job.is_empty() {
            return Err(Error::config("job: must not be empty"));
        }
        let mut errors = Vec::new();
        let mut drop = Vec::new();
        for (index, pattern) in config.drop_metrics.iter().enumerate() {
            match Regex::new(&format!("^(?:{pattern})$")) {
                Ok(re) => drop.push(re),
                Err(error) => errors.push(format!("drop_metrics[{index}]: `{pattern}` is not a valid regex: {error}")),
            }
        }
        if !errors.is_empty() {
            return Err(Error::config(errors.join("; ")));
        }
        Ok(PrometheusScrape { job: config.job, honor_labels: config.honor_labels, drop, starts: HashMap::new() })
    }

    fn receive(&mut self, input: Input) -> Result<Received, Error> {
        let Input::Scrape(scrape) = input else {
            return Err(Error::invalid_input(
                "prometheus-scrape takes scrape results: configure the `scrape` transport",
            ));
        };
        Ok(Received::batch(Signal::Metrics, self.scrape(scrape).encode()))
    }
}

export_receiver!(PrometheusScrape);

/// Why a scrape produced `up` 0; the label of the plugin's `prometheus_scrapes` counter.
enum Failure {
    Unreachable(String),
    Status(u16),
    Invalid(String),
}

impl PrometheusScrape {
    /// Converts one scrape result; never fails, since a failed scrape is itself data (`up` 0).
    fn scrape(&mut self, scrape: Scrape) -> MetricsData {
        let target = Target::from_url(&scrape.target, &self.job);
        let time = if scrape.started_unix_nanos == 0 { host::now_unix_nanos() } else { scrape.started_unix_nanos };
        let outcome = self.convert(&scrape, &target, time);
        let (mut converted, samples, result) = match outcome {
            Ok((converted, samples)) => (converted, samples, "ok"),
            Err(failure) => {
                let (result, reason) = match &failure {
                    Failure::Unreachable(error) => ("unreachable", error.clone()),
                    Failure::Status(status) => ("http_status", format!("the target answered HTTP {status}")),
                    Failure::Invalid(error) => ("invalid_body", error.clone()),
                };
                host::log(Level::Warn, "Scrape failed.", &[("target", &scrape.target), ("error", &reason)]);
                (Converted::default(), 0, result)
            }
        };
        host::counter_add("prometheus_scrapes", 1, &[("target", &scrape.target), ("result", result)]);
        host::counter_add("prometheus_samples", samples as u64, &[("target", &scrape.target)]);
        let up = if result == "ok" { 1.0 } else { 0.0 };
        let kept = converted.kept;
        let own = converted.group(&target.job, &target.instance);
        for (name, value) in [
            ("up", up),
            ("scrape_duration_seconds", scrape.duration_nanos as f64 / 1e9),
            ("scrape_samples_scraped", samples as f64),
            ("scrape_samples_post_metric_relabeling", kept as f64),
        ] {
            own.metrics.push(gauge(name, value, time));
        }
        let scope = ScopeData {
            name: "aegis.prometheus-scrape".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            ..Default::default()
        };
        MetricsData {
            resource_metrics: converted
                .groups
                .into_iter()
                .map(|group| ResourceMetricsData {
                    resource: Some(group.resource(&target.scheme)),
                    scope_metrics: vec![ScopeMetricsData {
                        scope: Some(scope.clone()),
                        metrics: group.metrics,
                        ..Default::default()
                    }],
                    ..Default::default()
                })
                .collect(),
        }
    }

    /// The body's metrics and how many samples it had, or why there are none.
    fn convert(&mut self, scrape: &Scrape, target: &Target, time: u64) -> Result<(Converted, usize), Failure> {
        if let Some(error) = &scrape.error {
            return Err(Failure::Unreachable(error.clone()));
        }
        match scrape.status {
            Some(status) if (200..300).contains(&status) => {}
            Some(status) => return Err(Failure::Status(status)),
            None => return Err(Failure::Unreachable("no response".into())),
        }
        let text =
            std::str::from_utf8(&scrape.body).map_err(|e| Failure::Invalid(format!("the body is not UTF-8: {e}")))?;
        let content_type =
            scrape.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-type")).map(|(_, v)| v.as_str());
        let exposition =
            parse::parse(text, Format::from_content_type(content_type)).map_err(|e| Failure::Invalid(e.to_string()))?;
        let options = Options { honor_labels: self.honor_labels, drop: &self.drop };
        let starts = self.starts.entry(scrape.target.clone()).or_default();
        let converted = convert::convert(&exposition, target, &options, time, starts)
            .map_err(|e| Failure::Invalid(e.to_string()))?;
        Ok((converted, exposition.samples))
    }
}

fn gauge(name: &str, value: f64, time: u64) -> MetricData {
    MetricData {
        name: name.into(),
        description: String::new(),
        unit: String::new(),
        data: MetricKindData::Gauge(vec![NumberPointData {
            attributes: Vec::new(),
            start_time_unix_nano: 0,
            time_unix_nano: time,
            value: NumberValue::Double(value),
            flags: 0,
        }]),
        metadata: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
