//! The host-metrics receiver, node-exporter's role in an Aegis pipeline: on every timer tick
//! it reads CPU, memory, load, network and disk counters from the host's `/proc` and emits
//! them as OTLP metrics named by the OpenTelemetry semantic conventions.
//!
//! The plugin sees no file unless the pipeline grants it a directory
//! (`grants = { dirs = [{ host = "/proc", guest = "/host/proc" }] }`); `init` refuses to start
//! without it and names the directory it could not read. The keys and the mapping to
//! node-exporter's names are in `docs/plugins/host-metrics.md`.

mod config;
mod proc;

use std::collections::HashMap;

use aegis_plugin_sdk::prelude::*;
use aegis_plugin_sdk::wire::{
    MetricData, MetricKindData, MetricsData, NumberPointData, NumberValue, ResourceData, ResourceMetricsData,
    ScopeData, ScopeMetricsData,
};

use config::{Collector, Settings};

/// OTLP's `AGGREGATION_TEMPORALITY_CUMULATIVE`: every counter here counts since boot.
const CUMULATIVE: i32 = 2;

/// The receiver: its settings, what it read once at `init`, and which collectors are failing
/// (so a broken file is logged when it breaks and when it recovers, not on every tick).
#[derive(Debug)]
pub struct HostMetrics {
    settings: Settings,
    resource: ResourceData,
    /// Boot time in Unix nanoseconds: the start of every cumulative series.
    boot: u64,
    failing: HashMap<Collector, String>,
}

impl Receiver for HostMetrics {
    fn signals() -> Vec<Signal> {
        vec![Signal::Metrics]
    }

    fn init(config: Config) -> Result<Self, Error> {
        let settings = config::parse(&config)?;
        if let Err(error) = std::fs::metadata(&settings.proc) {
            return Err(Error::config(format!(
                "root: cannot read {} ({error}); a plugin sees only the directories granted to it: add \
                 grants = {{ dirs = [{{ host = \"/proc\", guest = \"{}\" }}] }} to this receiver",
                settings.proc, settings.proc
            )));
        }
        let mut missing = Vec::new();
        for collector in &settings.collectors {
            if let Err((path, error)) = read(&settings, *collector) {
                missing.push(format!(
                    "collectors: `{}` reads {path}, which cannot be read ({error}); leave `{}` out of collectors \
                     on a host without it",
                    collector.name(),
                    collector.name()
                ));
            }
        }
        if !missing.is_empty() {
            return Err(Error::config(missing.join("; ")));
        }
        let boot = std::fs::read_to_string(format!("{}/stat", settings.proc))
            .ok()
            .and_then(|text| proc::stat(&text).boot_time)
            .map_or(0, |seconds| seconds.saturating_mul(1_000_000_000));
        let mut attributes = vec![("os.type".to_owned(), Value::from("linux"))];
        if let Ok(name) = std::fs::read_to_string(format!("{}/sys/kernel/hostname", settings.proc)) {
            attributes.insert(0, ("host.name".to_owned(), Value::from(name.trim())));
        }
        for (key, value) in &settings.resource_attributes {
            attributes.retain(|(k, _)| k != key);
            attributes.push((key.clone(), Value::from(value.as_str())));
        }
        let resource = ResourceData { attributes, dropped_attributes_count: 0 };
        Ok(HostMetrics { settings, resource, boot, failing: HashMap::new() })
    }

    fn receive(&mut self, input: Input) -> Result<Received, Error> {
        let Input::Tick(now) = input else {
            return Err(Error::invalid_input(
                "host-metrics reads /proc on timer ticks; give the receiver `timer = { interval = \"10s\" }` only",
            ));
        };
        let mut metrics = Vec::new();
        let mut errors = Vec::new();
        for collector in self.settings.collectors.clone() {
            let result = read(&self.settings, collector)
                .map_err(|(path, error)| format!("cannot read {path}: {error}"))
                .and_then(|(path, text)| {
                    self.collect(collector, &text, now, &mut metrics).map_err(|e| format!("{path}: {e}"))
                });
            match result {
                Ok(()) => {
                    if self.failing.remove(&collector).is_some() {
                        host::log(Level::Info, "A collector works again.", &[("collector", collector.name())]);
                    }
                }
                Err(message) => {
                    host::counter_add("host_metrics_errors", 1, &[("collector", collector.name())]);
                    if self.failing.get(&collector) != Some(&message) {
                        host::log(Level::Warn, &message, &[("collector", collector.name())]);
                        self.failing.insert(collector, message.clone());
                    }
                    errors.push(message);
                }
            }
        }
        // A collector whose devices are all excluded leaves metrics without points: noise.
        metrics.retain(|metric| point_count(metric) > 0);
        if metrics.is_empty() && !errors.is_empty() {
            return Err(Error::failed(errors.join("; ")));
        }
        let points: usize = metrics.iter().map(point_count).sum();
        host::counter_add("host_metrics_points", points as u64, &[]);
        let request = MetricsData {
            resource_metrics: vec![ResourceMetricsData {
                resource: Some(self.resource.clone()),
                scope_metrics: vec![ScopeMetricsData {
                    scope: Some(ScopeData {
                        name: "aegis.host-metrics".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..Default::default()
                    }),
                    metrics,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        };
        Ok(Received::batch(Signal::Metrics, request.encode()))
    }
}

export_receiver!(HostMetrics);

impl HostMetrics {
    /// Turns one file's text into the collector's metrics.
    fn collect(&self, collector: Collector, text: &str, now: u64, out: &mut Vec<MetricData>) -> Result<(), String> {
        let series = Series { start: self.boot, time: now };
        match collector {
            Collector::Cpu => self.cpu(text, series, out),
            Collector::Memory => memory(text, series, out),
            Collector::Load => load(text, series, out),
            Collector::Network => self.network(text, series, out),
            Collector::Disk => self.disk(text, series, out),
            Collector::Filesystem => self.filesystem(text, series, out, &host::statvfs),
        }
    }

    /// `system.filesystem.*` of every mount point of `mounts` that is not excluded, by the
    /// host's statvfs of `<root><mount point>` (`stat`, so that tests can stand in for it).
    /// Mount points outside the plugin's grants are skipped and counted; an error only when
    /// none could be read.
    fn filesystem(
        &self,
        mounts: &str,
        series: Series,
        out: &mut Vec<MetricData>,
        stat: &dyn Fn(&str) -> Result<host::FilesystemStats, String>,
    ) -> Result<(), String> {
        let settings = &self.settings;
        let excluded = |regex: &Option<regex::Regex>, text: &str| regex.as_ref().is_some_and(|r| r.is_match(text));
        let mut usage = Vec::new();
        let mut inodes = Vec::new();
        let mut first_error = None;
        for mount in proc::mounts(mounts) {
            if excluded(&settings.filesystem_type_exclude, &mount.fs_type)
                || excluded(&settings.mount_point_exclude, &mount.mount_point)
            {
                continue;
            }
            let path = if mount.mount_point == "/" {
                format!("{}/", settings.root)
            } else {
                format!("{}{}", settings.root, mount.mount_point)
            };
            let stats = match stat(&path) {
                Ok(stats) => stats,
                Err(error) => {
                    host::counter_add("host_metrics_filesystems_skipped", 1, &[]);
                    first_error.get_or_insert(error);
                    continue;
                }
            };
            let attributes = |state: &'static str| {
                [
                    ("device", mount.device.as_str()),
                    ("mountpoint", mount.mount_point.as_str()),
                    ("type", mount.fs_type.as_str()),
                    ("mode", if stats.read_only { "ro" } else { mount.mode }),
                    ("state", state),
                ]
            };
            let int = |v: u64| NumberValue::Int(v.min(i64::MAX as u64) as i64);
            let used = stats.total_bytes.saturating_sub(stats.free_bytes);
            let reserved = stats.free_bytes.saturating_sub(stats.available_bytes);
            for (state, bytes) in [("used", used), ("free", stats.available_bytes), ("reserved", reserved)] {
                usage.push(series.now(&attributes(state), int(bytes)));
            }
            if stats.total_inodes > 0 {
                let used = stats.total_inodes.saturating_sub(stats.free_inodes);
                for (state, count) in [("used", used), ("free", stats.free_inodes)] {
                    inodes.push(series.now(&attributes(state), int(count)));
                }
            }
        }
        if usage.is_empty()
            && let Some(error) = first_error
        {
            return Err(format!(
                "no filesystem could be read ({error}); grant the host's mount points under {}, e.g. \
                 grants = {{ dirs = [{{ host = \"/\", guest = \"{}\" }}] }}",
                settings.root, settings.root
            ));
        }
        out.push(sum("system.filesystem.usage", "By", "Filesystem space used, free and reserved.", false, usage));
        out.push(sum("system.filesystem.inodes.usage", "{inode}", "Filesystem inodes used and free.", false, inodes));
        Ok(())
    }

    fn cpu(&self, text: &str, series: Series, out: &mut Vec<MetricData>) -> Result<(), String> {
        let stat = proc::stat(text);
        let per_cpu: Vec<&proc::CpuTimes> = stat.cpus.iter().filter(|c| c.cpu.is_some()).collect();
        let chosen: Vec<&proc::CpuTimes> = if self.settings.per_cpu {
            per_cpu.clone()
        } else {
            stat.cpus.iter().filter(|c| c.cpu.is_none()).collect()
        };
        if chosen.is_empty() {
            return Err("no cpu lines".into());
        }
        let hz = self.settings.clock_ticks_per_second;
        let mut points = Vec::new();
        for times in chosen {
            let cpu = times.cpu.map(|n| format!("cpu{n}"));
            for (state, ticks) in [
                ("user", times.user),
                ("nice", times.nice),
                ("system", times.system),
                ("idle", times.idle),
                ("wait", times.iowait),
                ("interrupt", times.irq),
                ("softirq", times.softirq),
                ("steal", times.steal),
            ] {
                let mut attributes = Vec::with_capacity(2);
                if let Some(cpu) = &cpu {
                    attributes.push(("cpu", cpu.as_str()));
                }
                attributes.push(("state", state));
                points.push(series.cumulative(&attributes, NumberValue::Double(ticks as f64 / hz)));
            }
        }
        out.push(sum("system.cpu.time", "s", "Seconds each logical CPU spent in each state.", true, points));
        if !per_cpu.is_empty() {
            let count = NumberValue::Int(per_cpu.len() as i64);
            out.push(sum("system.cpu.logical.count", "{cpu}", "Logical CPUs.", false, vec![series.now(&[], count)]));
        }
        Ok(())
    }

    fn network(&self, text: &str, series: Series, out: &mut Vec<MetricData>) -> Result<(), String> {
        let excluded = |device: &str| self.settings.network_device_exclude.as_ref().is_some_and(|r| r.is_match(device));
        let devices: Vec<proc::NetDev> = proc::net_dev(text).into_iter().filter(|d| !excluded(&d.device)).collect();
        let mut io = Vec::new();
        let mut packets = Vec::new();
        let mut errors = Vec::new();
        let mut dropped = Vec::new();
        for device in &devices {
            for (direction, counters) in [("receive", device.receive), ("transmit", device.transmit)] {
                let attributes = [("device", device.device.as_str()), ("direction", direction)];
                let int = |v: u64| NumberValue::Int(v as i64);
                io.push(series.cumulative(&attributes, int(counters.bytes)));
                packets.push(series.cumulative(&attributes, int(counters.packets)));
                errors.push(series.cumulative(&attributes, int(counters.errors)));
                dropped.push(series.cumulative(&attributes, int(counters.dropped)));
            }
        }
        out.push(sum("system.network.io", "By", "Bytes received and transmitted.", true, io));
        out.push(sum("system.network.packets", "{packet}", "Packets received and transmitted.", true, packets));
        out.push(sum("system.network.errors", "{error}", "Receive and transmit errors.", true, errors));
        out.push(sum("system.network.dropped", "{packet}", "Packets dropped.", true, dropped));
        Ok(())
    }

    fn disk(&self, text: &str, series: Series, out: &mut Vec<MetricData>) -> Result<(), String> {
        let excluded = |device: &str| self.settings.disk_device_exclude.as_ref().is_some_and(|r| r.is_match(device));
        let disks: Vec<proc::DiskStats> = proc::diskstats(text).into_iter().filter(|d| !excluded(&d.device)).collect();
        let mut io = Vec::new();
        let mut operations = Vec::new();
        let mut operation_time = Vec::new();
        let mut io_time = Vec::new();
        for disk in &disks {
            // /proc/diskstats counts 512-byte sectors whatever the device's sector size.
            for (direction, sectors, count, millis) in [
                ("read", disk.read_sectors, disk.reads, disk.read_millis),
                ("write", disk.written_sectors, disk.writes, disk.write_millis),
            ] {
                let attributes = [("device", disk.device.as_str()), ("direction", direction)];
                io.push(series.cumulative(&attributes, NumberValue::Int(sectors.saturating_mul(512) as i64)));
                operations.push(series.cumulative(&attributes, NumberValue::Int(count as i64)));
                operation_time.push(series.cumulative(&attributes, NumberValue::Double(millis as f64 / 1000.0)));
            }
            let attributes = [("device", disk.device.as_str())];
            io_time.push(series.cumulative(&attributes, NumberValue::Double(disk.io_millis as f64 / 1000.0)));
        }
        out.push(sum("system.disk.io", "By", "Bytes read from and written to each disk.", true, io));
        out.push(sum("system.disk.operations", "{operation}", "Reads and writes completed.", true, operations));
        out.push(sum("system.disk.operation_time", "s", "Time spent in reads and writes.", true, operation_time));
        out.push(sum("system.disk.io_time", "s", "Time each disk was busy.", true, io_time));
        Ok(())
    }
}

fn memory(text: &str, series: Series, out: &mut Vec<MetricData>) -> Result<(), String> {
    let info = proc::meminfo(text);
    let get = |key: &str| info.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let total = get("MemTotal").ok_or("no MemTotal")?;
    let free = get("MemFree").ok_or("no MemFree")?;
    let buffered = get("Buffers").unwrap_or(0);
    // As the OpenTelemetry Collector's hostmetrics receiver does: reclaimable slab counts as
    // cache, and `used` is what remains, so that the four states add up to MemTotal.
    let cached = get("Cached").unwrap_or(0).saturating_add(get("SReclaimable").unwrap_or(0));
    let used = total.saturating_sub(free).saturating_sub(buffered).saturating_sub(cached);
    let int = |v: u64| NumberValue::Int(v as i64);
    let usage = [("used", used), ("free", free), ("buffered", buffered), ("cached", cached)]
        .into_iter()
        .map(|(state, bytes)| series.now(&[("state", state)], int(bytes)))
        .collect();
    out.push(sum("system.memory.usage", "By", "Memory in use, free, in buffers and in the page cache.", false, usage));
    out.push(sum("system.memory.limit", "By", "Total memory.", false, vec![series.now(&[], int(total))]));
    if let Some(available) = get("MemAvailable") {
        let points = vec![series.now(&[], int(available))];
        out.push(sum(
            "system.linux.memory.available",
            "By",
            "Memory available for new work without swapping.",
            false,
            points,
        ));
    }
    if let (Some(swap_total), Some(swap_free)) = (get("SwapTotal"), get("SwapFree")) {
        let points = vec![
            series.now(&[("state", "used")], int(swap_total.saturating_sub(swap_free))),
            series.now(&[("state", "free")], int(swap_free)),
        ];
        out.push(sum("system.paging.usage", "By", "Swap in use and free.", false, points));
    }
    Ok(())
}

fn load(text: &str, series: Series, out: &mut Vec<MetricData>) -> Result<(), String> {
    let averages = proc::loadavg(text).ok_or("not three load averages")?;
    for (name, value) in ["system.cpu.load_average.1m", "system.cpu.load_average.5m", "system.cpu.load_average.15m"]
        .into_iter()
        .zip(averages)
    {
        let data = MetricKindData::Gauge(vec![series.now(&[], NumberValue::Double(value))]);
        out.push(MetricData {
            name: name.into(),
            description: "Average number of runnable and uninterruptible threads.".into(),
            unit: "{thread}".into(),
            data,
            metadata: Vec::new(),
        });
    }
    Ok(())
}

/// The path and text of the file `collector` reads: `/proc/1/mounts` (the host's mounts when
/// the host's `/proc` is granted) or, where that cannot be read, `/proc/self/mounts`.
fn read(settings: &Settings, collector: Collector) -> Result<(String, String), (String, std::io::Error)> {
    let path = format!("{}/{}", settings.proc, collector.file());
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok((path, text)),
        Err(_) if collector == Collector::Filesystem => {
            let fallback = format!("{}/self/mounts", settings.proc);
            std::fs::read_to_string(&fallback).map(|text| (fallback.clone(), text)).map_err(|error| (path, error))
        }
        Err(error) => Err((path, error)),
    }
}

/// The times of one tick's points.
#[derive(Clone, Copy)]
struct Series {
    start: u64,
    time: u64,
}

impl Series {
    /// A point of a counter that counts since boot.
    fn cumulative(self, attributes: &[(&str, &str)], value: NumberValue) -> NumberPointData {
        NumberPointData { start_time_unix_nano: self.start, ..self.now(attributes, value) }
    }

    /// A point of a value as it is now.
    fn now(self, attributes: &[(&str, &str)], value: NumberValue) -> NumberPointData {
        NumberPointData {
            attributes: attributes.iter().map(|(k, v)| ((*k).to_owned(), Value::from(*v))).collect(),
            start_time_unix_nano: 0,
            time_unix_nano: self.time,
            value,
            flags: 0,
        }
    }
}

/// A cumulative sum (a counter when `monotonic`, an up-down counter otherwise).
fn sum(name: &str, unit: &str, description: &str, monotonic: bool, points: Vec<NumberPointData>) -> MetricData {
    MetricData {
        name: name.into(),
        description: description.into(),
        unit: unit.into(),
        data: MetricKindData::Sum { points, aggregation_temporality: CUMULATIVE, is_monotonic: monotonic },
        metadata: Vec::new(),
    }
}

fn point_count(metric: &MetricData) -> usize {
    match &metric.data {
        MetricKindData::Gauge(points) | MetricKindData::Sum { points, .. } => points.len(),
        MetricKindData::Encoded(..) => 0,
    }
}

#[cfg(test)]
mod tests;
