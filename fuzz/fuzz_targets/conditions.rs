//! The SDK's condition syntax, through the filter: any text either is refused at
//! configuration with an error, or evaluates on logs, spans, metrics and data points without
//! failing a batch.
#![no_main]

use aegis_fuzz::tonic::metrics::v1::{Gauge, Histogram, Metric, NumberDataPoint, Sum, metric::Data, number_data_point};
use aegis_fuzz::tonic::trace::v1::{Span, Status};
use aegis_fuzz::{attribute, histogram_point, logs, metrics, record, run, split, traces};
use aegis_plugin_filter::Filter;
use aegis_plugin_sdk::{Config, Processor, Signal};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((choice, condition)) = split(data) else { return };
    let (signal, list) = match choice % 8 {
        0 => ("logs", "drop"),
        1 => ("logs", "keep"),
        2 => ("traces", "drop"),
        3 => ("traces", "keep"),
        4 => ("metrics", "drop"),
        5 => ("metrics", "keep"),
        6 => ("metrics", "drop_data_points"),
        _ => ("metrics", "keep_data_points"),
    };
    let config = serde_json::json!({ signal: { list: [condition] } }).to_string();
    let Ok(config) = Config::from_json(&config) else { return };
    // A condition that does not parse, or does not fit the signal, is a configuration
    // error: what matters is that it is one, not a panic.
    let Ok(mut filter) = Filter::init(config) else { return };
    let attributes = vec![
        attribute("http.route", "/api/v1/users"),
        attribute("user_id", "u-1"),
        aegis_fuzz::tonic::common::v1::KeyValue {
            key: "n".into(),
            value: Some(aegis_fuzz::tonic::common::v1::AnyValue {
                value: Some(aegis_fuzz::tonic::common::v1::any_value::Value::IntValue(42)),
            }),
            ..Default::default()
        },
    ];
    let resource = vec![attribute("service.name", "aegis-backend")];
    if signal == "logs" {
        let mut error = record("database timeout after 5000ms", attributes.clone());
        error.severity_number = 17;
        error.severity_text = "ERROR".into();
        error.trace_id = vec![0xab; 16];
        let payload = logs(resource, vec![error, record("ok", vec![]), record(&condition, attributes)]);
        run(&mut filter, Signal::Logs, &payload);
    } else if signal == "metrics" {
        let number = |value| NumberDataPoint {
            attributes: attributes.clone(),
            time_unix_nano: 1_706_193_045_000_000_000,
            value: Some(value),
            ..Default::default()
        };
        let metric = |name: &str, unit: &str, data| Metric {
            name: name.into(),
            unit: unit.into(),
            description: condition.clone(),
            data: Some(data),
            ..Default::default()
        };
        let payload = metrics(
            resource,
            vec![
                metric(
                    "db.connections",
                    "1",
                    Data::Gauge(Gauge {
                        data_points: vec![
                            number(number_data_point::Value::AsInt(3)),
                            number(number_data_point::Value::AsDouble(f64::NAN)),
                        ],
                    }),
                ),
                metric(
                    "http.server.requests",
                    "{request}",
                    Data::Sum(Sum {
                        data_points: vec![number(number_data_point::Value::AsInt(1_000))],
                        aggregation_temporality: 2,
                        is_monotonic: true,
                    }),
                ),
                metric(
                    &condition,
                    "ms",
                    Data::Histogram(Histogram {
                        data_points: vec![histogram_point(attributes.clone())],
                        aggregation_temporality: 1,
                    }),
                ),
            ],
        );
        run(&mut filter, Signal::Metrics, &payload);
    } else {
        let span = |name: &str, code: i32| Span {
            trace_id: vec![0x4b; 16],
            span_id: vec![0x01; 8],
            name: name.into(),
            kind: 2,
            start_time_unix_nano: 1_706_193_045_000_000_000,
            end_time_unix_nano: 1_706_193_046_500_000_000,
            attributes: attributes.clone(),
            status: Some(Status { code, message: "boom".into() }),
            trace_state: "ot=th:8".into(),
            ..Default::default()
        };
        let payload = traces(resource, vec![span("http.request", 2), span("db.insert", 0), span(&condition, 1)]);
        run(&mut filter, Signal::Traces, &payload);
    }
});
