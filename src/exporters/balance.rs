//! Load balancing of the OTLP exporter over several endpoints, by trace id or by service:
//! what a tail-sampling tier needs in front of it, so that every span of a trace reaches the
//! same collector (the OpenTelemetry Collector's `loadbalancing` exporter does this job).
//!
//! Each item's key picks its endpoint by rendezvous hashing (the endpoint with the highest
//! hash of key and endpoint wins): every collector with the same endpoint list routes a
//! key to the same endpoint, and removing an endpoint moves only the keys it had.

use bytes::Bytes;

use crate::batch::{Batch, Signal};
use crate::config::RoutingKey;

/// One batch cut into one part per endpoint that gets any of its items: (endpoint index, part).
pub(crate) fn route(batch: &Batch, endpoints: &[String], key: RoutingKey) -> Vec<(usize, Batch)> {
    if endpoints.len() < 2 {
        return vec![(0, batch.clone())];
    }
    if batch.signal == Signal::Metrics {
        // Metrics go whole, to the endpoint of their first resource's service.
        let service = aegis_wire::Metrics::parse(&batch.payload)
            .ok()
            .and_then(|metrics| metrics.resource_metrics().next().map(|r| service(&r.resource())))
            .unwrap_or_default();
        return vec![(pick(service.as_bytes(), endpoints), batch.clone())];
    }
    let Some(assigned) = assign(batch, endpoints, key) else {
        // Not parseable here (the receivers validated it, so this does not happen): whole.
        return vec![(0, batch.clone())];
    };
    let mut parts = Vec::new();
    for index in 0..endpoints.len() {
        let count = assigned.iter().filter(|&&a| a == index).count();
        if count == 0 {
            continue;
        }
        if count == assigned.len() {
            parts.push((index, batch.clone()));
            continue;
        }
        if let Some(payload) = keep_only(batch, &assigned, index) {
            parts.push((index, Batch { signal: batch.signal, payload, items: count }));
        }
    }
    parts
}

/// The endpoint of each span or log record, in the order the editors give them.
fn assign(batch: &Batch, endpoints: &[String], key: RoutingKey) -> Option<Vec<usize>> {
    let pick = |key: &[u8]| pick(key, endpoints);
    match batch.signal {
        Signal::Traces => {
            let mut traces = aegis_wire::Traces::parse(&batch.payload).ok()?;
            let mut out = Vec::with_capacity(traces.len());
            for span in traces.spans_mut() {
                out.push(match key {
                    RoutingKey::TraceId => pick(span.view().trace_id()),
                    RoutingKey::Service => pick(service(&span.resource()).as_bytes()),
                });
            }
            Some(out)
        }
        Signal::Logs => {
            let mut logs = aegis_wire::Logs::parse(&batch.payload).ok()?;
            let mut out = Vec::with_capacity(logs.len());
            for record in logs.records_mut() {
                let view = record.view();
                // Records without a trace id stay with their service.
                out.push(match key {
                    RoutingKey::TraceId if !view.trace_id().is_empty() => pick(view.trace_id()),
                    _ => pick(service(&record.resource()).as_bytes()),
                });
            }
            Some(out)
        }
        Signal::Metrics => None,
    }
}

/// A resource's `service.name` ("" without one).
fn service(resource: &aegis_wire::Resource<'_>) -> String {
    resource.attribute("service.name").and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// The batch with only the items assigned to `index`.
fn keep_only(batch: &Batch, assigned: &[usize], index: usize) -> Option<Bytes> {
    let outcome = match batch.signal {
        Signal::Traces => {
            let mut traces = aegis_wire::Traces::parse(&batch.payload).ok()?;
            for (mut span, &to) in traces.spans_mut().zip(assigned) {
                if to != index {
                    span.remove();
                }
            }
            traces.finish()
        }
        Signal::Logs => {
            let mut logs = aegis_wire::Logs::parse(&batch.payload).ok()?;
            for (mut record, &to) in logs.records_mut().zip(assigned) {
                if to != index {
                    record.remove();
                }
            }
            logs.finish()
        }
        Signal::Metrics => return None,
    };
    match outcome {
        aegis_wire::Outcome::Unchanged => Some(batch.payload.clone()),
        aegis_wire::Outcome::Replaced(bytes) => Some(Bytes::from(bytes)),
        aegis_wire::Outcome::Dropped => None,
    }
}

/// The endpoint with the highest FNV-1a hash of (endpoint, key).
fn pick(key: &[u8], endpoints: &[String]) -> usize {
    let score = |endpoint: &str| {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in endpoint.as_bytes().iter().chain([0u8].iter()).chain(key) {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        // A final mix, so that keys differing in their last bytes spread well.
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
        hash ^ (hash >> 33)
    };
    (0..endpoints.len()).max_by_key(|&i| score(&endpoints[i])).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use prost::Message;

    fn resource(service: &str) -> Option<Resource> {
        let value = AnyValue { value: Some(any_value::Value::StringValue(service.into())) };
        Some(Resource {
            attributes: vec![KeyValue { key: "service.name".into(), value: Some(value), ..Default::default() }],
            ..Default::default()
        })
    }

    fn trace_id(n: u8) -> Vec<u8> {
        (0..16).map(|i| n.wrapping_mul(37).wrapping_add(i * 11)).collect()
    }

    /// 30 traces of 4 spans, the spans of each spread over two resources.
    fn traces() -> Batch {
        let spans = |range: std::ops::Range<u8>, part: u8| -> Vec<Span> {
            range
                .flat_map(|t| {
                    (0..2).map(move |s| Span {
                        trace_id: trace_id(t),
                        span_id: vec![t, part, s, 0, 0, 0, 0, 1],
                        ..Default::default()
                    })
                })
                .collect()
        };
        let request = ExportTraceServiceRequest {
            resource_spans: ["aegis-backend", "aegis-executor"]
                .iter()
                .enumerate()
                .map(|(part, service)| ResourceSpans {
                    resource: resource(service),
                    scope_spans: vec![ScopeSpans { spans: spans(0..30, part as u8), ..Default::default() }],
                    ..Default::default()
                })
                .collect(),
        };
        Batch { signal: Signal::Traces, payload: request.encode_to_vec().into(), items: 120 }
    }

    fn endpoints(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("http://tail-{i}:4317")).collect()
    }

    /// endpoint index -> trace ids it got, with how many spans of each.
    fn routed(parts: &[(usize, Batch)]) -> std::collections::BTreeMap<Vec<u8>, (usize, usize)> {
        let mut seen = std::collections::BTreeMap::new();
        for (index, part) in parts {
            let request = ExportTraceServiceRequest::decode(&part.payload[..]).unwrap();
            let spans: Vec<&Span> =
                request.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans).collect();
            assert_eq!(spans.len(), part.items);
            for span in spans {
                let entry = seen.entry(span.trace_id.clone()).or_insert((*index, 0));
                assert_eq!(entry.0, *index, "a trace went to two endpoints");
                entry.1 += 1;
            }
        }
        seen
    }

    #[test]
    fn every_span_of_a_trace_goes_to_one_endpoint_and_the_load_spreads() {
        let batch = traces();
        let parts = route(&batch, &endpoints(3), RoutingKey::TraceId);
        let seen = routed(&parts);
        assert_eq!(seen.len(), 30);
        assert!(seen.values().all(|(_, spans)| *spans == 4));
        let per_endpoint: Vec<usize> = (0..3).map(|i| seen.values().filter(|(e, _)| *e == i).count()).collect();
        assert!(per_endpoint.iter().all(|&n| n >= 4), "uneven: {per_endpoint:?}");
        // Another collector with the same endpoints routes the same way.
        assert_eq!(routed(&route(&batch, &endpoints(3), RoutingKey::TraceId)), seen);
        // Without one endpoint, only the traces it had move.
        let fewer: Vec<String> = endpoints(3).into_iter().take(2).collect();
        let after = routed(&route(&batch, &fewer, RoutingKey::TraceId));
        for (trace, (endpoint, _)) in &seen {
            if *endpoint < 2 {
                assert_eq!(after[trace].0, *endpoint, "a trace moved though its endpoint stayed");
            }
        }
        // One endpoint: the batch as it is.
        let whole = route(&batch, &endpoints(1), RoutingKey::TraceId);
        assert_eq!((whole.len(), whole[0].1.payload.clone()), (1, batch.payload.clone()));
    }

    #[test]
    fn by_service_each_resource_goes_whole_and_logs_without_trace_ids_follow_their_service() {
        let parts = route(&traces(), &endpoints(4), RoutingKey::Service);
        for (_, part) in &parts {
            let request = ExportTraceServiceRequest::decode(&part.payload[..]).unwrap();
            for resource in &request.resource_spans {
                assert_eq!(resource.scope_spans[0].spans.len(), 60, "a service was split");
            }
        }
        let logs = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: resource("aegis-ai-engine"),
                scope_logs: vec![ScopeLogs {
                    log_records: (0..10u8)
                        .map(|i| LogRecord {
                            trace_id: if i < 5 { trace_id(i) } else { Vec::new() },
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let batch = Batch { signal: Signal::Logs, payload: logs.encode_to_vec().into(), items: 10 };
        let parts = route(&batch, &endpoints(3), RoutingKey::TraceId);
        assert_eq!(parts.iter().map(|(_, p)| p.items).sum::<usize>(), 10);
        let service_endpoint = pick(b"aegis-ai-engine", &endpoints(3));
        let untraced: usize = parts
            .iter()
            .map(|(index, part)| {
                let request = ExportLogsServiceRequest::decode(&part.payload[..]).unwrap();
                let records = &request.resource_logs[0].scope_logs[0].log_records;
                let count = records.iter().filter(|r| r.trace_id.is_empty()).count();
                assert!(count == 0 || *index == service_endpoint);
                count
            })
            .sum();
        assert_eq!(untraced, 5);

        // Metrics go whole, to their service's endpoint.
        use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
        use opentelemetry_proto::tonic::metrics::v1::ResourceMetrics;
        let metrics = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics { resource: resource("aegis-ai-engine"), ..Default::default() }],
        };
        let batch = Batch { signal: Signal::Metrics, payload: metrics.encode_to_vec().into(), items: 3 };
        let parts = route(&batch, &endpoints(3), RoutingKey::TraceId);
        assert_eq!(parts.len(), 1);
        assert_eq!((parts[0].0, &parts[0].1.payload), (service_endpoint, &batch.payload));
    }
}
