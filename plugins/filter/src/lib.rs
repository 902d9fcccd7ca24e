//! The filter processor: drops log records, spans, metrics and data points that match
//! conditions (or that match none of the `keep` conditions), like the OpenTelemetry
//! Collector's filter processor, and counts what it drops per condition. The keys are
//! documented in `docs/plugins/filter.md`, the conditions in `docs/conditions.md`.

mod config;

use aegis_plugin_sdk::prelude::*;

use config::{Rules, Settings};

/// The counter every drop is added to: `aegis_plugin_filter_dropped_total` on the
/// collector's `/metrics`, labelled with the signal and the condition's config key.
const DROPPED: &str = "filter_dropped";

/// The processor: the parsed rules of each signal. Public so that the benchmarks can run
/// the same logic natively.
#[derive(Debug)]
pub struct Filter {
    settings: Settings,
}

impl Processor for Filter {
    fn init(config: Config) -> Result<Self, Error> {
        Ok(Filter { settings: config::parse(&config)? })
    }

    fn process_logs(&mut self, logs: &mut Logs) -> Result<(), Error> {
        let rules = &mut self.settings.logs;
        if rules.is_empty() {
            return Ok(());
        }
        for mut record in logs.records_mut() {
            if let Some(reason) = rules.verdict(|c| c.matches_log(&record)) {
                record.remove();
                rules.count(reason, 1);
            }
        }
        report(rules);
        Ok(())
    }

    fn process_traces(&mut self, traces: &mut Traces) -> Result<(), Error> {
        let rules = &mut self.settings.traces;
        if rules.is_empty() {
            return Ok(());
        }
        for mut span in traces.spans_mut() {
            if let Some(reason) = rules.verdict(|c| c.matches_span(&span)) {
                span.remove();
                rules.count(reason, 1);
            }
        }
        report(rules);
        Ok(())
    }

    fn process_metrics(&mut self, metrics: &mut Metrics) -> Result<(), Error> {
        let Settings { metrics: whole, data_points: points, .. } = &mut self.settings;
        if whole.is_empty() && points.is_empty() {
            return Ok(());
        }
        for mut metric in metrics.metrics_mut() {
            if let Some(reason) = whole.verdict(|c| c.matches_metric(&metric)) {
                // The host counts data points as its items; so does this counter.
                let n = metric.data_points_mut().count() as u64;
                metric.remove();
                whole.count(reason, n);
                continue;
            }
            if points.is_empty() {
                continue;
            }
            // A metric whose every point goes is dropped with them.
            for mut point in metric.data_points_mut() {
                if let Some(reason) = points.verdict(|c| c.matches_point(&point)) {
                    point.remove();
                    points.count(reason, 1);
                }
            }
        }
        report(whole);
        report(points);
        Ok(())
    }
}

export_processor!(Filter);

/// Adds the batch's drops to the host counter, one call per condition that dropped
/// something rather than one per item.
fn report(rules: &mut Rules) {
    let signal = rules.signal;
    for (condition, n) in rules.take_counts() {
        host::counter_add(DROPPED, n, &[("signal", signal), ("condition", condition)]);
    }
}

#[cfg(test)]
mod tests;
