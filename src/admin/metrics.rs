//! The collector's own metrics, served on the admin endpoint's `/metrics`.
//!
//! Hot paths hold pre-resolved counters (`IntCounter`), looked up once when the topology is
//! built, so counting costs an atomic add. Metrics that plugins define through the `host`
//! interface are created on first use and carry a `plugin` label.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};

/// Every self-metric of one collector.
pub struct Telemetry {
    registry: Registry,
    /// Items (log records, spans, data points) a receiver got, accepted or not.
    pub receiver_received: IntCounterVec,
    /// Items a receiver accepted into at least one pipeline.
    pub receiver_accepted: IntCounterVec,
    /// Items a receiver refused, by reason.
    pub receiver_refused: IntCounterVec,
    /// Requests a receiver refused as malformed (their items cannot be counted).
    pub receiver_invalid: IntCounterVec,
    /// Items into each processor of each pipeline.
    pub processor_in: IntCounterVec,
    /// Items out of each processor.
    pub processor_out: IntCounterVec,
    /// Items a processor dropped, by reason (`plugin` when it chose to, `on_error` when it failed).
    pub processor_dropped: IntCounterVec,
    /// Items an exporter delivered.
    pub exporter_sent: IntCounterVec,
    /// Items an exporter gave up on, by reason.
    pub exporter_failed: IntCounterVec,
    /// Payloads an exporter plugin made and the host pushed (`sent`) or gave up on (`failed`),
    /// flushed ones included.
    pub exporter_payloads: IntCounterVec,
    /// The endpoints a balancing OTLP exporter sends to now.
    pub exporter_endpoints: IntGaugeVec,
    /// DNS resolutions of a balancing exporter's `dns.hostname` that failed or found nothing.
    pub exporter_resolve_failures: IntCounterVec,
    /// Items that entered each pipeline.
    pub pipeline_in: IntCounterVec,
    /// Items each pipeline handed to its exporters.
    pub pipeline_out: IntCounterVec,
    /// How long plugin calls take.
    pub plugin_call_seconds: HistogramVec,
    /// Plugin failures by kind (`trap`, `timeout`, `memory`, `error`, `invalid_output`, `instantiate`).
    pub plugin_failures: IntCounterVec,
    /// Batches waiting in each bounded queue.
    pub queue_depth: IntGaugeVec,
    /// The capacity of each bounded queue, in batches.
    pub queue_capacity: IntGaugeVec,
    custom: Mutex<HashMap<(String, Vec<String>), Custom>>,
}

#[derive(Clone)]
enum Custom {
    Counter(IntCounterVec),
    Gauge(prometheus::GaugeVec),
    Histogram(HistogramVec),
}

/// Which kind of metric a plugin asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CustomKind {
    Counter,
    Gauge,
    Histogram,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let vec = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric definition");
    registry.register(Box::new(vec.clone())).expect("metric registered once");
    vec
}

fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let vec = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric definition");
    registry.register(Box::new(vec.clone())).expect("metric registered once");
    vec
}

impl Telemetry {
    /// A fresh set of self-metrics in its own registry.
    pub fn new() -> Arc<Self> {
        let r = Registry::new();
        let plugin_call_seconds = HistogramVec::new(
            HistogramOpts::new("aegis_plugin_call_duration_seconds", "How long plugin calls take.")
                .buckets(vec![0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0]),
            &["plugin", "function"],
        )
        .expect("valid metric definition");
        r.register(Box::new(plugin_call_seconds.clone())).expect("metric registered once");
        Arc::new(Self {
            receiver_received: counter(
                &r,
                "aegis_receiver_received_items_total",
                "Items a receiver got.",
                &["receiver", "signal"],
            ),
            receiver_accepted: counter(
                &r,
                "aegis_receiver_accepted_items_total",
                "Items a receiver accepted.",
                &["receiver", "signal"],
            ),
            receiver_refused: counter(
                &r,
                "aegis_receiver_refused_items_total",
                "Items a receiver refused.",
                &["receiver", "signal", "reason"],
            ),
            receiver_invalid: counter(
                &r,
                "aegis_receiver_invalid_requests_total",
                "Requests a receiver refused as malformed.",
                &["receiver", "signal"],
            ),
            processor_in: counter(
                &r,
                "aegis_processor_items_in_total",
                "Items into a processor.",
                &["pipeline", "processor"],
            ),
            processor_out: counter(
                &r,
                "aegis_processor_items_out_total",
                "Items out of a processor.",
                &["pipeline", "processor"],
            ),
            processor_dropped: counter(
                &r,
                "aegis_processor_dropped_items_total",
                "Items a processor dropped.",
                &["pipeline", "processor", "reason"],
            ),
            exporter_sent: counter(
                &r,
                "aegis_exporter_sent_items_total",
                "Items an exporter delivered.",
                &["exporter", "pipeline"],
            ),
            exporter_failed: counter(
                &r,
                "aegis_exporter_failed_items_total",
                "Items an exporter gave up on.",
                &["exporter", "pipeline", "reason"],
            ),
            exporter_payloads: counter(
                &r,
                "aegis_exporter_payloads_total",
                "Payloads of exporter plugins, by outcome.",
                &["exporter", "outcome"],
            ),
            exporter_endpoints: gauge(
                &r,
                "aegis_exporter_endpoints",
                "The endpoints a balancing exporter sends to.",
                &["exporter"],
            ),
            exporter_resolve_failures: counter(
                &r,
                "aegis_exporter_resolve_failures_total",
                "DNS resolutions of a balancing exporter that failed or found no address.",
                &["exporter"],
            ),
            pipeline_in: counter(&r, "aegis_pipeline_items_in_total", "Items that entered a pipeline.", &["pipeline"]),
            pipeline_out: counter(
                &r,
                "aegis_pipeline_items_out_total",
                "Items a pipeline handed to its exporters.",
                &["pipeline"],
            ),
            plugin_call_seconds,
            plugin_failures: counter(
                &r,
                "aegis_plugin_failures_total",
                "Plugin failures by kind.",
                &["plugin", "kind"],
            ),
            queue_depth: gauge(&r, "aegis_queue_depth_batches", "Batches waiting in a bounded queue.", &["queue"]),
            queue_capacity: gauge(&r, "aegis_queue_capacity_batches", "The capacity of a bounded queue.", &["queue"]),
            custom: Mutex::new(HashMap::new()),
            registry: r,
        })
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer).expect("text encoding cannot fail");
        String::from_utf8(buffer).expect("the text format is UTF-8")
    }

    /// Applies a plugin's counter, gauge or histogram update; a bad name or a clash with an
    /// existing metric of another kind is returned as text for the plugin's log.
    pub(crate) fn plugin_metric(
        &self,
        plugin: &str,
        kind: CustomKind,
        name: &str,
        value: f64,
        labels: &[(String, String)],
    ) -> Result<(), String> {
        let base = sanitize(name);
        if base.is_empty() {
            return Err(format!("metric name `{name}` has no usable characters"));
        }
        let full = match kind {
            CustomKind::Counter => format!("aegis_plugin_{base}_total"),
            CustomKind::Gauge | CustomKind::Histogram => format!("aegis_plugin_{base}"),
        };
        let mut label_names: Vec<String> =
            std::iter::once("plugin".to_string()).chain(labels.iter().map(|(key, _)| sanitize(key))).collect();
        label_names.sort();
        label_names.dedup();
        if label_names.len() != labels.len() + 1 {
            return Err(format!("metric `{name}` has duplicate labels or a label named `plugin`"));
        }
        let mut values: HashMap<&str, &str> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        values.insert("plugin", plugin);
        let sanitized: Vec<(String, &str)> = values.iter().map(|(k, v)| (sanitize(k), *v)).collect();
        let lookup: HashMap<&str, &str> = sanitized.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let ordered: Vec<&str> = label_names.iter().map(|label| lookup[label.as_str()]).collect();

        let mut custom = self.custom.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (full.clone(), label_names.clone());
        let metric = match custom.get(&key) {
            Some(metric) => metric.clone(),
            None => {
                let names: Vec<&str> = label_names.iter().map(String::as_str).collect();
                let help = format!("Defined by a plugin ({name}).");
                let made = match kind {
                    CustomKind::Counter => IntCounterVec::new(Opts::new(&full, &help), &names).map(Custom::Counter),
                    CustomKind::Gauge => prometheus::GaugeVec::new(Opts::new(&full, &help), &names).map(Custom::Gauge),
                    CustomKind::Histogram => {
                        HistogramVec::new(HistogramOpts::new(&full, &help), &names).map(Custom::Histogram)
                    }
                }
                .map_err(|error| format!("metric `{name}`: {error}"))?;
                let collector: Box<dyn prometheus::core::Collector> = match &made {
                    Custom::Counter(vec) => Box::new(vec.clone()),
                    Custom::Gauge(vec) => Box::new(vec.clone()),
                    Custom::Histogram(vec) => Box::new(vec.clone()),
                };
                self.registry
                    .register(collector)
                    .map_err(|error| format!("metric `{full}` clashes with another definition: {error}"))?;
                custom.insert(key, made.clone());
                made
            }
        };
        match (metric, kind) {
            (Custom::Counter(vec), CustomKind::Counter) => vec.with_label_values(&ordered).inc_by(value as u64),
            (Custom::Gauge(vec), CustomKind::Gauge) => vec.with_label_values(&ordered).set(value),
            (Custom::Histogram(vec), CustomKind::Histogram) => vec.with_label_values(&ordered).observe(value),
            _ => return Err(format!("metric `{name}` is already defined as another kind")),
        }
        Ok(())
    }
}

/// Makes a string a valid Prometheus metric or label name (`[a-zA-Z_][a-zA-Z0-9_]*`).
pub(crate) fn sanitize(name: &str) -> String {
    let mut out: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_metrics_appear_with_the_plugin_label() {
        let telemetry = Telemetry::new();
        let labels = vec![("key".to_string(), "email".to_string())];
        telemetry.plugin_metric("redact", CustomKind::Counter, "masked", 3.0, &labels).unwrap();
        telemetry.plugin_metric("redact", CustomKind::Counter, "masked", 2.0, &labels).unwrap();
        telemetry.plugin_metric("redact", CustomKind::Gauge, "rules", 5.0, &[]).unwrap();
        let text = telemetry.render();
        assert!(text.contains("aegis_plugin_masked_total{key=\"email\",plugin=\"redact\"} 5"), "{text}");
        assert!(text.contains("aegis_plugin_rules{plugin=\"redact\"} 5"), "{text}");
        let clash = telemetry.plugin_metric("redact", CustomKind::Histogram, "masked_total", 1.0, &[]);
        assert!(clash.is_ok() || clash.unwrap_err().contains("masked"));
        assert!(telemetry.plugin_metric("x", CustomKind::Counter, "m", 1.0, &[("plugin".into(), "y".into())]).is_err());
    }
}
