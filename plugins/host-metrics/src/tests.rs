//! The receiver end to end, natively, on the fixture `/proc` of
//! `tests/fixtures/host-metrics/proc`: a tick in, the OTLP metrics a user would chart out.

use aegis_plugin_sdk::prelude::*;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as PbValue;
use opentelemetry_proto::tonic::metrics::v1::{Metric, NumberDataPoint, metric::Data, number_data_point};
use prost::Message as _;
use serde_json::json;

use crate::HostMetrics;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/host-metrics");
const TICK: u64 = 1_706_193_045_000_000_000;
const BOOT: u64 = 1_706_180_000_000_000_000;

fn receiver(config: serde_json::Value) -> HostMetrics {
    let mut config = config;
    config["root"] = json!(ROOT);
    HostMetrics::init(Config::from_value(config)).unwrap()
}

fn tick(receiver: &mut HostMetrics) -> ExportMetricsServiceRequest {
    let received = receiver.receive(Input::Tick(TICK)).unwrap();
    assert_eq!(received.batches.len(), 1);
    assert_eq!(received.batches[0].signal, Signal::Metrics);
    ExportMetricsServiceRequest::decode(received.batches[0].payload.as_slice()).unwrap()
}

fn metrics(request: &ExportMetricsServiceRequest) -> Vec<Metric> {
    request.resource_metrics.iter().flat_map(|r| &r.scope_metrics).flat_map(|s| s.metrics.clone()).collect()
}

fn metric<'a>(metrics: &'a [Metric], name: &str) -> &'a Metric {
    metrics.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("no {name}"))
}

fn points(metric: &Metric) -> &[NumberDataPoint] {
    match metric.data.as_ref() {
        Some(Data::Sum(sum)) => &sum.data_points,
        Some(Data::Gauge(gauge)) => &gauge.data_points,
        other => panic!("{}: unexpected data {other:?}", metric.name),
    }
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
        PbValue::StringValue(s) => Some(s.as_str()),
        _ => None,
    })
}

/// The value of the point whose attributes are exactly `attributes`.
fn value(metric: &Metric, attributes: &[(&str, &str)]) -> f64 {
    let point = points(metric)
        .iter()
        .find(|p| {
            p.attributes.len() == attributes.len()
                && attributes.iter().all(|(k, v)| attribute(&p.attributes, k) == Some(v))
        })
        .unwrap_or_else(|| panic!("{}: no point {attributes:?}", metric.name));
    match point.value {
        Some(number_data_point::Value::AsDouble(v)) => v,
        Some(number_data_point::Value::AsInt(v)) => v as f64,
        None => panic!("no value"),
    }
}

#[test]
fn cpu_time_is_seconds_per_cpu_and_state_counted_since_boot() {
    let request = tick(&mut receiver(json!({})));
    let metrics = metrics(&request);
    let cpu = metric(&metrics, "system.cpu.time");
    assert_eq!(cpu.unit, "s");
    let Some(Data::Sum(sum)) = &cpu.data else { panic!() };
    assert!(sum.is_monotonic);
    assert_eq!(sum.aggregation_temporality, 2);
    assert_eq!(sum.data_points.len(), 2 * 8);
    assert!(sum.data_points.iter().all(|p| p.start_time_unix_nano == BOOT && p.time_unix_nano == TICK));
    assert_eq!(value(cpu, &[("cpu", "cpu0"), ("state", "user")]), 1234.56);
    assert_eq!(value(cpu, &[("cpu", "cpu0"), ("state", "idle")]), 9876.54);
    assert_eq!(value(cpu, &[("cpu", "cpu1"), ("state", "wait")]), 11.11);
    assert_eq!(value(cpu, &[("cpu", "cpu1"), ("state", "steal")]), 0.1);
    assert_eq!(value(metric(&metrics, "system.cpu.logical.count"), &[]), 2.0);
}

#[test]
fn cpu_time_can_be_one_series_for_the_whole_machine() {
    let request = tick(&mut receiver(json!({ "per_cpu": false, "collectors": ["cpu"] })));
    let metrics = metrics(&request);
    let cpu = metric(&metrics, "system.cpu.time");
    assert_eq!(points(cpu).len(), 8);
    assert_eq!(value(cpu, &[("state", "system")]), 645.67);
}

#[test]
fn memory_states_add_up_to_the_total() {
    let request = tick(&mut receiver(json!({ "collectors": ["memory"] })));
    let metrics = metrics(&request);
    let usage = metric(&metrics, "system.memory.usage");
    let kib = 1024.0;
    assert_eq!(value(usage, &[("state", "free")]), 2_048_000.0 * kib);
    assert_eq!(value(usage, &[("state", "buffered")]), 512_000.0 * kib);
    assert_eq!(value(usage, &[("state", "cached")]), (4_096_000.0 + 256_000.0) * kib);
    assert_eq!(value(usage, &[("state", "used")]), 9_472_000.0 * kib);
    let total: f64 = ["used", "free", "buffered", "cached"].iter().map(|s| value(usage, &[("state", s)])).sum();
    assert_eq!(total, value(metric(&metrics, "system.memory.limit"), &[]));
    assert_eq!(value(metric(&metrics, "system.linux.memory.available"), &[]), 8_192_000.0 * kib);
    assert_eq!(value(metric(&metrics, "system.paging.usage"), &[("state", "used")]), 1_048_576.0 * kib);
    // HighMemoryUsage (memory > 85 %) reads 1 - available / limit: 50 % here.
    let Some(Data::Sum(sum)) = &usage.data else { panic!() };
    assert!(!sum.is_monotonic);
}

#[test]
fn load_averages_are_gauges() {
    let request = tick(&mut receiver(json!({ "collectors": ["load"] })));
    let metrics = metrics(&request);
    for (name, expected) in [
        ("system.cpu.load_average.1m", 1.25),
        ("system.cpu.load_average.5m", 0.80),
        ("system.cpu.load_average.15m", 0.55),
    ] {
        let metric = metric(&metrics, name);
        assert!(matches!(metric.data, Some(Data::Gauge(_))), "{name}");
        assert_eq!(value(metric, &[]), expected, "{name}");
    }
}

#[test]
fn network_counters_are_per_device_and_direction_without_excluded_devices() {
    let request = tick(&mut receiver(json!({ "collectors": ["network"], "network_device_exclude": "^lo$" })));
    let metrics = metrics(&request);
    let io = metric(&metrics, "system.network.io");
    assert_eq!(io.unit, "By");
    assert_eq!(points(io).len(), 2, "lo is excluded");
    assert_eq!(value(io, &[("device", "eth0"), ("direction", "receive")]), 123_456_789.0);
    assert_eq!(value(io, &[("device", "eth0"), ("direction", "transmit")]), 987_654_321.0);
    assert_eq!(
        value(metric(&metrics, "system.network.packets"), &[("device", "eth0"), ("direction", "transmit")]),
        87_654.0
    );
    assert_eq!(value(metric(&metrics, "system.network.errors"), &[("device", "eth0"), ("direction", "receive")]), 1.0);
    assert_eq!(
        value(metric(&metrics, "system.network.dropped"), &[("device", "eth0"), ("direction", "transmit")]),
        4.0
    );
}

#[test]
fn disk_counters_leave_out_partitions_and_loop_devices_by_default() {
    let request = tick(&mut receiver(json!({ "collectors": ["disk"] })));
    let metrics = metrics(&request);
    let io = metric(&metrics, "system.disk.io");
    let mut devices: Vec<&str> = points(io).iter().filter_map(|p| attribute(&p.attributes, "device")).collect();
    devices.dedup();
    assert_eq!(devices, ["sda", "nvme0n1"]);
    assert_eq!(value(io, &[("device", "sda"), ("direction", "read")]), 3_000_000.0 * 512.0);
    assert_eq!(
        value(metric(&metrics, "system.disk.operations"), &[("device", "nvme0n1"), ("direction", "write")]),
        20_000.0
    );
    assert_eq!(value(metric(&metrics, "system.disk.io_time"), &[("device", "sda")]), 70.0);
}

#[test]
fn the_resource_names_the_host_from_proc() {
    let request = tick(&mut receiver(
        json!({ "collectors": ["load"], "resource_attributes": { "deployment.environment": "production" } }),
    ));
    let resource = request.resource_metrics[0].resource.as_ref().unwrap();
    assert_eq!(attribute(&resource.attributes, "host.name"), Some("fixture-host"));
    assert_eq!(attribute(&resource.attributes, "os.type"), Some("linux"));
    assert_eq!(attribute(&resource.attributes, "deployment.environment"), Some("production"));
}

#[test]
fn a_root_without_proc_is_refused_with_the_directory_and_the_grant_to_add() {
    let err = HostMetrics::init(Config::from_value(json!({ "root": "/no/such/root" }))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().starts_with("root: cannot read /no/such/root/proc ("), "{err}");
    assert!(
        err.message().contains(r#"grants = { dirs = [{ host = "/proc", guest = "/no/such/root/proc" }] }"#),
        "{err}"
    );
}

#[test]
fn inputs_other_than_ticks_are_invalid() {
    let mut receiver = receiver(json!({}));
    let err = receiver.receive(Input::Frame(Default::default())).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[test]
fn metrics_whose_devices_are_all_excluded_are_left_out() {
    let request = tick(&mut receiver(json!({ "collectors": ["network", "load"], "network_device_exclude": "." })));
    let names: Vec<String> = metrics(&request).into_iter().map(|m| m.name).collect();
    assert_eq!(names, ["system.cpu.load_average.1m", "system.cpu.load_average.5m", "system.cpu.load_average.15m"]);
}

#[test]
fn filesystems_are_asked_of_the_host_under_root_and_excluded_by_type_and_mount_point() {
    use crate::{HostMetrics, Series};
    use aegis_plugin_sdk::host::FilesystemStats;
    use aegis_plugin_sdk::wire::{MetricKindData, NumberValue};
    use std::cell::RefCell;

    let receiver: HostMetrics = receiver(json!({}));
    let mounts = "/dev/sda1 / ext4 rw 0 0\nproc /proc proc rw 0 0\n/dev/sdb1 /data xfs ro 0 0\n\
                  shm /dev/shm tmpfs rw 0 0\n/dev/sdc1 /gone ext4 rw 0 0\n";
    let asked = RefCell::new(Vec::new());
    let stat = |path: &str| {
        asked.borrow_mut().push(path.to_owned());
        if path.ends_with("/gone") {
            return Err(format!("{path}: not inside a directory granted to this plugin"));
        }
        Ok(FilesystemStats {
            total_bytes: 1000,
            free_bytes: 400,
            available_bytes: 300,
            total_inodes: 10,
            free_inodes: 4,
            read_only: false,
        })
    };
    let mut out = Vec::new();
    receiver.filesystem(mounts, Series { start: 0, time: TICK }, &mut out, &stat).unwrap();
    assert_eq!(*asked.borrow(), [format!("{ROOT}/"), format!("{ROOT}/data"), format!("{ROOT}/gone")]);
    let summary = |index: usize| -> Vec<(String, i64)> {
        let MetricKindData::Sum { points, .. } = &out[index].data else { panic!("a sum") };
        points
            .iter()
            .map(|p| {
                let text = |key: &str| {
                    p.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| format!("{v:?}")).unwrap_or_default()
                };
                let NumberValue::Int(value) = p.value else { panic!("an int") };
                (format!("{} {} {}", text("mountpoint"), text("mode"), text("state")), value)
            })
            .collect()
    };
    assert_eq!(out[0].name, "system.filesystem.usage");
    let usage = summary(0);
    assert_eq!(usage.len(), 6);
    assert_eq!(usage[0], (r#"Str("/") Str("rw") Str("used")"#.to_owned(), 600));
    assert_eq!(usage[1].1, 300, "free is what users may still write");
    assert_eq!(usage[2].1, 100, "reserved is free to root only");
    assert!(usage[3].0.starts_with(r#"Str("/data") Str("ro")"#), "{:?}", usage[3]);
    assert_eq!(out[1].name, "system.filesystem.inodes.usage");
    assert_eq!(summary(1).iter().map(|(_, v)| *v).collect::<Vec<_>>(), [6, 4, 6, 4]);

    // Nothing readable: an error that says which grant to add.
    let mut out = Vec::new();
    let error = receiver
        .filesystem("/dev/sda1 / ext4 rw 0 0\n", Series { start: 0, time: TICK }, &mut out, &|p: &str| {
            Err(format!("{p}: not inside a directory granted to this plugin"))
        })
        .unwrap_err();
    assert!(error.contains("no filesystem could be read") && error.contains(r#"host = "/""#), "{error}");
}
