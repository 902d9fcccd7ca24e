//! The built-in `debug` exporter: prints batches readably to standard output, one line per
//! batch (`basic`), one line per record, span or data point (`normal`), or every field
//! (`detailed`).

use std::fmt::Write as _;
use std::io::Write as _;

use opentelemetry_proto::tonic::collector::{logs::v1 as logs, metrics::v1 as metrics, trace::v1 as trace};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use prost::Message;

use super::{ExportCounters, Failed};
use crate::batch::Signal;
use crate::config::{DebugExporterConfig, Verbosity};
use crate::topology::pipeline::ExportItem;

/// Drains the queue on a blocking thread, printing each batch.
pub(crate) fn run(
    config: DebugExporterConfig,
    queue: async_channel::Receiver<ExportItem>,
    counters: ExportCounters,
    depth: prometheus::IntGauge,
) {
    while let Ok(item) = queue.recv_blocking() {
        depth.dec();
        let result = render(config.verbosity, &item).and_then(|text| {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|error| Failed { reason: "failed", message: format!("cannot write to stdout: {error}") })
        });
        counters.record(&item, &result);
    }
}

fn render(verbosity: Verbosity, item: &ExportItem) -> Result<String, Failed> {
    let bad = |error: prost::DecodeError| Failed { reason: "rejected", message: error.to_string() };
    let payload = &item.batch.payload[..];
    let mut out = String::new();
    match item.batch.signal {
        Signal::Logs => {
            let request = logs::ExportLogsServiceRequest::decode(payload).map_err(bad)?;
            let count: usize =
                request.resource_logs.iter().flat_map(|r| &r.scope_logs).map(|s| s.log_records.len()).sum();
            let _ = writeln!(
                out,
                "Logs ({}): {} resources, {count} log records",
                item.pipeline,
                request.resource_logs.len()
            );
            if verbosity == Verbosity::Basic {
                return Ok(out);
            }
            for resource in &request.resource_logs {
                let attributes = resource.resource.as_ref().map(|r| &r.attributes[..]).unwrap_or_default();
                let _ = writeln!(out, "  resource {}", key_values(attributes));
                for scope in &resource.scope_logs {
                    for record in &scope.log_records {
                        if verbosity == Verbosity::Detailed {
                            let _ = writeln!(out, "    {record:#?}");
                            continue;
                        }
                        let body = record.body.as_ref().map(any_value).unwrap_or_default();
                        let _ = write!(
                            out,
                            "    {} {} {body}",
                            timestamp(record.time_unix_nano.max(record.observed_time_unix_nano)),
                            if record.severity_text.is_empty() {
                                severity(record.severity_number)
                            } else {
                                record.severity_text.clone()
                            },
                        );
                        if !record.trace_id.is_empty() {
                            let _ = write!(out, " trace_id={} span_id={}", hex(&record.trace_id), hex(&record.span_id));
                        }
                        let _ = writeln!(out, " {}", key_values(&record.attributes));
                    }
                }
            }
        }
        Signal::Traces => {
            let request = trace::ExportTraceServiceRequest::decode(payload).map_err(bad)?;
            let count: usize = request.resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum();
            let _ =
                writeln!(out, "Traces ({}): {} resources, {count} spans", item.pipeline, request.resource_spans.len());
            if verbosity == Verbosity::Basic {
                return Ok(out);
            }
            for resource in &request.resource_spans {
                let attributes = resource.resource.as_ref().map(|r| &r.attributes[..]).unwrap_or_default();
                let _ = writeln!(out, "  resource {}", key_values(attributes));
                for scope in &resource.scope_spans {
                    for span in &scope.spans {
                        if verbosity == Verbosity::Detailed {
                            let _ = writeln!(out, "    {span:#?}");
                            continue;
                        }
                        let duration = span.end_time_unix_nano.saturating_sub(span.start_time_unix_nano);
                        let _ = writeln!(
                            out,
                            "    {} trace_id={} span_id={} parent={} {:.3}ms {}",
                            span.name,
                            hex(&span.trace_id),
                            hex(&span.span_id),
                            hex(&span.parent_span_id),
                            duration as f64 / 1e6,
                            key_values(&span.attributes)
                        );
                    }
                }
            }
        }
        Signal::Metrics => {
            let request = metrics::ExportMetricsServiceRequest::decode(payload).map_err(bad)?;
            let _ = writeln!(
                out,
                "Metrics ({}): {} resources, {} data points",
                item.pipeline,
                request.resource_metrics.len(),
                item.batch.items
            );
            if verbosity == Verbosity::Basic {
                return Ok(out);
            }
            for resource in &request.resource_metrics {
                let attributes = resource.resource.as_ref().map(|r| &r.attributes[..]).unwrap_or_default();
                let _ = writeln!(out, "  resource {}", key_values(attributes));
                for scope in &resource.scope_metrics {
                    for metric in &scope.metrics {
                        if verbosity == Verbosity::Detailed {
                            let _ = writeln!(out, "    {metric:#?}");
                            continue;
                        }
                        let (kind, points) = match &metric.data {
                            Some(Data::Gauge(g)) => ("gauge", g.data_points.len()),
                            Some(Data::Sum(s)) => ("sum", s.data_points.len()),
                            Some(Data::Histogram(h)) => ("histogram", h.data_points.len()),
                            Some(Data::ExponentialHistogram(h)) => ("exponential_histogram", h.data_points.len()),
                            Some(Data::Summary(s)) => ("summary", s.data_points.len()),
                            None => ("empty", 0),
                        };
                        let _ =
                            writeln!(out, "    {} ({kind}, unit {:?}): {points} data points", metric.name, metric.unit);
                    }
                }
            }
        }
    }
    Ok(out)
}

fn key_values(attributes: &[KeyValue]) -> String {
    let parts: Vec<String> = attributes
        .iter()
        .map(|kv| format!("{}={}", kv.key, kv.value.as_ref().map(any_value).unwrap_or_default()))
        .collect();
    parts.join(" ")
}

fn any_value(value: &AnyValue) -> String {
    match &value.value {
        Some(Value::StringValue(s)) => format!("{s:?}"),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(Value::BytesValue(b)) => hex(b),
        Some(Value::ArrayValue(a)) => format!("[{}]", a.values.iter().map(any_value).collect::<Vec<_>>().join(", ")),
        Some(Value::KvlistValue(kv)) => format!("{{{}}}", key_values(&kv.values)),
        Some(Value::StringValueStrindex(i)) => format!("strindex:{i}"),
        None => String::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn timestamp(nanos: u64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(nanos);
    humantime::format_rfc3339_millis(time).to_string()
}

fn severity(number: i32) -> String {
    match number {
        1..=4 => "TRACE",
        5..=8 => "DEBUG",
        9..=12 => "INFO",
        13..=16 => "WARN",
        17..=20 => "ERROR",
        21..=24 => "FATAL",
        _ => "UNSPECIFIED",
    }
    .to_string()
}
