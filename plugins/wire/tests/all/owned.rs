//! Owned requests built from scratch encode to what prost decodes as the same thing.

use aegis_wire::{
    LogRecordData, LogsData, MetricData, MetricKindData, MetricsData, NumberPointData, NumberValue, ResourceData,
    ResourceLogsData, ResourceMetricsData, ResourceSpansData, ScopeData, ScopeLogsData, ScopeMetricsData,
    ScopeSpansData, Signal, SpanData, TracesData, Value, attributes, validate,
};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point};
use prost::Message;

use crate::support::*;

fn resource_data() -> ResourceData {
    ResourceData { attributes: attributes([("service.name", Value::from("checkout"))]), dropped_attributes_count: 0 }
}

fn scope_data() -> ScopeData {
    ScopeData { name: "lib".into(), version: "1".into(), ..Default::default() }
}

#[test]
fn an_owned_logs_request_decodes_as_built() {
    let record = LogRecordData {
        time_unix_nano: 5,
        severity_number: 9,
        severity_text: "INFO".into(),
        body: Some(Value::from("hello")),
        attributes: attributes([("n", Value::Int(1))]),
        ..Default::default()
    };
    let request = LogsData {
        resource_logs: vec![ResourceLogsData {
            resource: Some(resource_data()),
            scope_logs: vec![ScopeLogsData {
                scope: Some(scope_data()),
                log_records: vec![record.clone(), record],
                schema_url: "s".into(),
            }],
            schema_url: String::new(),
        }],
    };
    let bytes = request.encode();
    assert_eq!(validate(Signal::Logs, &bytes).unwrap().items, 2);
    let decoded = ExportLogsServiceRequest::decode(&bytes[..]).unwrap();
    let rl = &decoded.resource_logs[0];
    assert_eq!(rl.resource.as_ref().unwrap().attributes, vec![kv("service.name", s("checkout"))]);
    assert_eq!(rl.scope_logs[0].scope.as_ref().unwrap().name, "lib");
    assert_eq!(rl.scope_logs[0].schema_url, "s");
    let rec = &rl.scope_logs[0].log_records[1];
    assert_eq!((rec.time_unix_nano, rec.severity_text.as_str()), (5, "INFO"));
    assert_eq!(rec.body, Some(s("hello")));
    assert_eq!(rec.attributes, vec![kv("n", i(1))]);
}

#[test]
fn an_owned_traces_request_decodes_as_built() {
    let request = TracesData {
        resource_spans: vec![ResourceSpansData {
            resource: Some(resource_data()),
            scope_spans: vec![ScopeSpansData {
                scope: None,
                spans: vec![SpanData {
                    name: "op".into(),
                    trace_id: vec![1; 16],
                    span_id: vec![2; 8],
                    status_code: 2,
                    ..Default::default()
                }],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    };
    let bytes = request.encode();
    let decoded = ExportTraceServiceRequest::decode(&bytes[..]).unwrap();
    let span = &decoded.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(span.name, "op");
    assert_eq!(span.status.as_ref().unwrap().code, 2);
}

#[test]
fn an_owned_metrics_request_decodes_as_built() {
    let point = NumberPointData {
        attributes: attributes([("cpu", Value::Int(0))]),
        start_time_unix_nano: 1,
        time_unix_nano: 2,
        value: NumberValue::Double(0.5),
        flags: 0,
    };
    let request = MetricsData {
        resource_metrics: vec![ResourceMetricsData {
            resource: None,
            scope_metrics: vec![ScopeMetricsData {
                scope: Some(scope_data()),
                metrics: vec![
                    MetricData {
                        name: "load".into(),
                        description: String::new(),
                        unit: "1".into(),
                        data: MetricKindData::Gauge(vec![point.clone()]),
                        metadata: vec![],
                    },
                    MetricData {
                        name: "requests".into(),
                        description: "count".into(),
                        unit: String::new(),
                        data: MetricKindData::Sum {
                            points: vec![NumberPointData { value: NumberValue::Int(7), ..point }],
                            aggregation_temporality: 2,
                            is_monotonic: true,
                        },
                        metadata: vec![],
                    },
                ],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    };
    let bytes = request.encode();
    assert_eq!(validate(Signal::Metrics, &bytes).unwrap().items, 2);
    let decoded = ExportMetricsServiceRequest::decode(&bytes[..]).unwrap();
    let metrics = &decoded.resource_metrics[0].scope_metrics[0].metrics;
    match &metrics[1].data {
        Some(Data::Sum(sum)) => {
            assert!(sum.is_monotonic);
            assert_eq!(sum.aggregation_temporality, 2);
            assert_eq!(sum.data_points[0].value, Some(number_data_point::Value::AsInt(7)));
        }
        other => panic!("expected a sum, got {other:?}"),
    }
}
