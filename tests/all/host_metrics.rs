//! The host-metrics receiver plugin through a real `aegis run`: a 200ms timer, the fixture
//! `/proc` granted read-only as `/host/proc`, metrics to an OTLP sink; and the capability
//! model at work: without the grant the pipeline does not start, and says which directory
//! the plugin could not see and which grant to add.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::{Metric, NumberDataPoint, metric::Data, number_data_point};

use crate::support::{Collector, Sink, aegis_bin, attribute, fixture, free_port};

fn points(metric: &Metric) -> &[NumberDataPoint] {
    match metric.data.as_ref() {
        Some(Data::Sum(sum)) => &sum.data_points,
        Some(Data::Gauge(gauge)) => &gauge.data_points,
        other => panic!("{}: unexpected data {other:?}", metric.name),
    }
}

/// The value of the first point of `name` (in the first request) whose attributes include `attributes`.
fn value(metrics: &[Metric], name: &str, attributes: &[(&str, &str)]) -> f64 {
    let metric = metrics.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("no {name}"));
    let point = points(metric)
        .iter()
        .find(|p| {
            attributes.iter().all(|(k, v)| matches!(attribute(&p.attributes, k), Some(Value::StringValue(s)) if s == v))
        })
        .unwrap_or_else(|| panic!("{name}: no point with {attributes:?}"));
    match point.value {
        Some(number_data_point::Value::AsDouble(v)) => v,
        Some(number_data_point::Value::AsInt(v)) => v as f64,
        None => panic!("{name}: a point without a value"),
    }
}

/// The metrics of the first request the sink received.
fn first_request(sink: &Sink) -> Vec<Metric> {
    sink.with(|received| {
        received.metrics[0]
            .resource_metrics
            .iter()
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| s.metrics.clone())
            .collect()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_metrics_from_the_granted_proc_arrive_on_every_tick() {
    let sink = Sink::start().await;
    let collector = Collector::start(&fixture("host-metrics/granted.toml"), &[("AEGIS_TEST_SINK", sink.endpoint())]);
    let started = Instant::now();
    sink.wait_for(Duration::from_secs(10), "three ticks of host metrics", |sink| {
        sink.with(|received| received.metrics.len()) >= 3
    })
    .await;
    // Three ticks 200ms apart take at least 400ms (the first fires at once).
    assert!(started.elapsed() >= Duration::from_millis(350), "ticks came too fast: {:?}", started.elapsed());

    let first = first_request(&sink);
    let resource = sink.with(|received| received.metrics[0].resource_metrics[0].resource.clone().unwrap());
    assert_eq!(attribute(&resource.attributes, "host.name"), Some(&Value::StringValue("fixture-host".into())));

    // The fixture's counters, in the units of the semantic conventions.
    assert_eq!(value(&first, "system.cpu.time", &[("cpu", "cpu0"), ("state", "user")]), 1234.56);
    assert_eq!(value(&first, "system.cpu.time", &[("cpu", "cpu1"), ("state", "idle")]), 9999.99);
    assert_eq!(value(&first, "system.memory.usage", &[("state", "used")]), 9_472_000.0 * 1024.0);
    assert_eq!(value(&first, "system.memory.limit", &[]), 16_384_000.0 * 1024.0);
    assert_eq!(value(&first, "system.linux.memory.available", &[]), 8_192_000.0 * 1024.0);
    assert_eq!(value(&first, "system.cpu.load_average.1m", &[]), 1.25);
    assert_eq!(value(&first, "system.cpu.load_average.15m", &[]), 0.55);
    assert_eq!(value(&first, "system.network.io", &[("device", "eth0"), ("direction", "transmit")]), 987_654_321.0);
    assert_eq!(value(&first, "system.disk.io", &[("device", "sda"), ("direction", "write")]), 4_000_000.0 * 512.0);

    // `lo` is excluded by the fixture's network_device_exclude.
    let network = first.iter().find(|m| m.name == "system.network.io").unwrap();
    assert!(
        points(network).iter().all(|p| attribute(&p.attributes, "device") != Some(&Value::StringValue("lo".into())))
    );

    // Cumulative counters start at the fixture's boot time; each tick has its own time.
    let cpu = first.iter().find(|m| m.name == "system.cpu.time").unwrap();
    assert!(points(cpu).iter().all(|p| p.start_time_unix_nano == 1_706_180_000_000_000_000));
    let times: Vec<u64> = sink.with(|received| {
        received
            .metrics
            .iter()
            .map(|r| points(&r.resource_metrics[0].scope_metrics[0].metrics[0])[0].time_unix_nano)
            .collect()
    });
    assert!(times.windows(2).all(|w| w[0] < w[1]), "tick times: {times:?}");

    let (status, logs) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filesystem_usage_comes_from_the_hosts_statvfs_inside_the_grant_only() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("proc/1")).unwrap();
    std::fs::create_dir_all(root.path().join("data")).unwrap();
    // A link out of the grant: the host must refuse to follow it.
    std::os::unix::fs::symlink("/", root.path().join("escape")).unwrap();
    std::fs::write(
        root.path().join("proc/1/mounts"),
        "/dev/root / ext4 rw,relatime 0 0\n\
         proc /proc proc rw,nosuid 0 0\n\
         /dev/data /data ext4 ro,noatime 0 0\n\
         /dev/gone /not-there ext4 rw 0 0\n\
         /dev/out /escape ext4 rw 0 0\n",
    )
    .unwrap();
    let expected = rustix::fs::statvfs(root.path()).unwrap();
    let unit = if expected.f_frsize > 0 { expected.f_frsize } else { expected.f_bsize };

    let sink = Sink::start().await;
    let collector = Collector::start(
        &fixture("host-metrics/filesystem.toml"),
        &[("AEGIS_TEST_SINK", sink.endpoint()), ("AEGIS_TEST_ROOT", root.path().display().to_string())],
    );
    sink.wait_for(Duration::from_secs(10), "a tick of filesystem metrics", |sink| {
        sink.with(|received| !received.metrics.is_empty())
    })
    .await;
    let first = first_request(&sink);
    let usage = first.iter().find(|m| m.name == "system.filesystem.usage").expect("system.filesystem.usage");
    let mut mounts: Vec<String> = points(usage)
        .iter()
        .filter_map(|p| match attribute(&p.attributes, "mountpoint") {
            Some(Value::StringValue(s)) => Some(s.clone()),
            _ => None,
        })
        .collect();
    mounts.dedup();
    // /proc is left out by type; /not-there and /escape cannot be read and are skipped.
    assert_eq!(mounts, ["/", "/data"]);
    let state =
        |mount: &str, state: &str| value(&first, "system.filesystem.usage", &[("mountpoint", mount), ("state", state)]);
    let total = state("/", "used") + state("/", "free") + state("/", "reserved");
    assert_eq!(total, (expected.f_blocks * unit) as f64, "the three states add up to the size");
    assert!(state("/", "free") > 0.0);
    let data_mode = value(&first, "system.filesystem.usage", &[("mountpoint", "/data"), ("mode", "ro")]);
    assert_eq!(data_mode, state("/data", "used"), "the mode comes from the mount options");
    if expected.f_files > 0 {
        let inodes = value(&first, "system.filesystem.inodes.usage", &[("mountpoint", "/"), ("state", "used")])
            + value(&first, "system.filesystem.inodes.usage", &[("mountpoint", "/"), ("state", "free")]);
        assert_eq!(inodes, expected.f_files as f64);
    }
    assert!(collector.metric("aegis_plugin_host_metrics_filesystems_skipped_total{plugin=\"host\"}") >= 2.0);

    let (status, logs) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{logs}");
}

#[test]
fn without_the_grant_the_pipeline_does_not_start_and_names_the_directory() {
    let cache = tempfile::tempdir().unwrap();
    let env = [
        ("AEGIS_TEST_ADMIN", format!("127.0.0.1:{}", free_port())),
        ("AEGIS_TEST_CACHE", cache.path().display().to_string()),
    ];
    let expected = [
        "receivers.host",
        "root: cannot read /host/proc",
        r#"add grants = { dirs = [{ host = "/proc", guest = "/host/proc" }] } to this receiver"#,
    ];

    let output = Command::new(aegis_bin())
        .args(["validate", "--config"])
        .arg(fixture("host-metrics/ungranted.toml"))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run aegis validate");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{text}");
    for part in expected {
        assert!(text.contains(part), "missing {part:?} in:\n{text}");
    }

    let mut child = Command::new(aegis_bin())
        .args(["run", "--config"])
        .arg(fixture("host-metrics/ungranted.toml"))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run aegis");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("aegis run kept running without the grant");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().expect("collect the output");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!output.status.success(), "aegis run started without the grant:\n{text}");
    for part in expected {
        assert!(text.contains(part), "missing {part:?} in:\n{text}");
    }
}
