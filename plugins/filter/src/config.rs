//! The filter processor's configuration: `keep` and `drop` condition lists per signal,
//! each condition parsed for the items it will see, and every bad one reported at once
//! under its key (`logs.drop[2]: at column 12: ...`).

use aegis_plugin_sdk::condition::{Condition, Context};
use aegis_plugin_sdk::{Config, Error};
use serde::Deserialize;

/// The configuration as written in the pipeline TOML.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// Rules for log records.
    #[serde(default)]
    logs: RawRules,
    /// Rules for spans.
    #[serde(default)]
    traces: RawRules,
    /// Rules for metrics and their data points.
    #[serde(default)]
    metrics: RawMetricRules,
}

/// The rules of logs or traces, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    /// When not empty, items that match none of these are dropped.
    #[serde(default)]
    keep: Vec<String>,
    /// Items that match any of these are dropped.
    #[serde(default)]
    drop: Vec<String>,
}

/// The rules of metrics, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetricRules {
    /// When not empty, metrics that match none of these are dropped.
    #[serde(default)]
    keep: Vec<String>,
    /// Metrics that match any of these are dropped, with all their data points.
    #[serde(default)]
    drop: Vec<String>,
    /// When not empty, data points that match none of these are dropped.
    #[serde(default)]
    keep_data_points: Vec<String>,
    /// Data points that match any of these are dropped.
    #[serde(default)]
    drop_data_points: Vec<String>,
}

/// Why an item was dropped: it matched no `keep` condition, or `drop[i]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    NotKept,
    Dropped(usize),
}

/// The checked rules for one kind of item, with a count per reason for the batch at hand.
#[derive(Debug)]
pub(crate) struct Rules {
    keep: Vec<Condition>,
    drop: Vec<Condition>,
    /// `signal` label of the counter.
    pub(crate) signal: &'static str,
    /// `condition` label per reason: index 0 is `<table>.keep`, 1 + i is `<table>.drop[i]`.
    labels: Vec<String>,
    /// Items dropped per reason in the current batch, indexed like `labels`.
    counts: Vec<u64>,
}

impl Rules {
    /// Whether there is nothing to check.
    pub(crate) fn is_empty(&self) -> bool {
        self.keep.is_empty() && self.drop.is_empty()
    }

    /// Decides one item: `None` keeps it, `Some(reason)` drops it. `keep` is checked
    /// first; the first `drop` condition that matches is the reason.
    #[inline]
    pub(crate) fn verdict(&self, matches: impl Fn(&Condition) -> bool) -> Option<Reason> {
        if !self.keep.is_empty() && !self.keep.iter().any(&matches) {
            return Some(Reason::NotKept);
        }
        self.drop.iter().position(matches).map(Reason::Dropped)
    }

    /// Counts `n` items dropped for `reason` in the current batch.
    pub(crate) fn count(&mut self, reason: Reason, n: u64) {
        let slot = match reason {
            Reason::NotKept => 0,
            Reason::Dropped(i) => 1 + i,
        };
        if let Some(count) = self.counts.get_mut(slot) {
            *count += n;
        }
    }

    /// The counts of the batch, as `(condition label, items)`, reset for the next one.
    pub(crate) fn take_counts(&mut self) -> impl Iterator<Item = (&str, u64)> + '_ {
        self.labels.iter().zip(self.counts.iter_mut()).filter(|(_, n)| **n > 0).map(|(label, n)| {
            let taken = std::mem::take(n);
            (label.as_str(), taken)
        })
    }
}

/// Every set of rules the processor applies.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) logs: Rules,
    pub(crate) traces: Rules,
    pub(crate) metrics: Rules,
    pub(crate) data_points: Rules,
}

/// Where a set of rules sits in the config: `<table>.<keep>` and `<table>.<drop>`.
struct Keys {
    table: &'static str,
    keep: &'static str,
    drop: &'static str,
    context: Context,
}

/// Parses the conditions of `keep` and `drop` for their context, adding each failure to
/// `problems`.
fn rules(keys: Keys, keep: &[String], drop: &[String], problems: &mut Vec<String>) -> Rules {
    let mut parse = |key: &str, list: &[String]| -> Vec<Condition> {
        list.iter()
            .enumerate()
            .filter_map(|(i, text)| match Condition::parse_for(text, keys.context) {
                Ok(condition) => Some(condition),
                Err(e) => {
                    problems.push(format!("{}.{key}[{i}]: {}", keys.table, e.message()));
                    None
                }
            })
            .collect()
    };
    let keep = parse(keys.keep, keep);
    let drop = parse(keys.drop, drop);
    let labels: Vec<String> = std::iter::once(format!("{}.{}", keys.table, keys.keep))
        .chain((0..drop.len()).map(|i| format!("{}.{}[{i}]", keys.table, keys.drop)))
        .collect();
    let counts = vec![0; labels.len()];
    Rules { keep, drop, signal: keys.table, labels, counts }
}

/// Parses and checks the configuration.
pub(crate) fn parse(config: &Config) -> Result<Settings, Error> {
    let raw: RawConfig = config.parse()?;
    let mut problems = Vec::new();
    let keys = |table, keep, drop, context| Keys { table, keep, drop, context };
    let logs = rules(keys("logs", "keep", "drop", Context::Log), &raw.logs.keep, &raw.logs.drop, &mut problems);
    let traces =
        rules(keys("traces", "keep", "drop", Context::Span), &raw.traces.keep, &raw.traces.drop, &mut problems);
    let m = &raw.metrics;
    let metrics = rules(keys("metrics", "keep", "drop", Context::Metric), &m.keep, &m.drop, &mut problems);
    let data_points = rules(
        keys("metrics", "keep_data_points", "drop_data_points", Context::DataPoint),
        &m.keep_data_points,
        &m.drop_data_points,
        &mut problems,
    );
    if problems.is_empty() {
        Ok(Settings { logs, traces, metrics, data_points })
    } else {
        Err(Error::config(problems.join("; ")))
    }
}
