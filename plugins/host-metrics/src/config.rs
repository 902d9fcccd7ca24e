//! The host-metrics receiver's configuration: the keys of `docs/plugins/host-metrics.md`,
//! parsed and checked once at `init`.

use std::collections::BTreeMap;

use aegis_plugin_sdk::{Config, Error};
use regex::Regex;
use serde::Deserialize;

/// The configuration table as written in the TOML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// Where the host's `/proc` is visible to the plugin, without the `/proc`.
    #[serde(default = "default_root")]
    root: String,
    /// Which collectors run on every tick.
    #[serde(default = "default_collectors")]
    collectors: Vec<String>,
    /// One `system.cpu.time` series per CPU (else one for the whole machine).
    #[serde(default = "default_true")]
    per_cpu: bool,
    /// The kernel's USER_HZ, the unit of `/proc/stat`.
    #[serde(default = "default_clock_ticks")]
    clock_ticks_per_second: u32,
    /// Interfaces whose names match are left out.
    #[serde(default)]
    network_device_exclude: Option<String>,
    /// Block devices whose names match are left out.
    #[serde(default = "default_disk_exclude")]
    disk_device_exclude: Option<String>,
    /// Filesystems whose type matches are left out.
    #[serde(default = "default_fs_type_exclude")]
    filesystem_type_exclude: Option<String>,
    /// Mount points that match are left out.
    #[serde(default = "default_mount_point_exclude")]
    mount_point_exclude: Option<String>,
    /// Resource attributes added to (or replacing) `host.name` and `os.type`.
    #[serde(default)]
    resource_attributes: BTreeMap<String, String>,
}

fn default_root() -> String {
    "/host".into()
}

fn default_collectors() -> Vec<String> {
    Collector::DEFAULT.iter().map(|c| c.name().to_owned()).collect()
}

fn default_fs_type_exclude() -> Option<String> {
    // node-exporter's default: pseudo and virtual filesystems.
    Some(
        "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|\
         overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$"
            .into(),
    )
}

fn default_mount_point_exclude() -> Option<String> {
    // node-exporter's default.
    Some("^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)".into())
}

fn default_true() -> bool {
    true
}

fn default_clock_ticks() -> u32 {
    100
}

fn default_disk_exclude() -> Option<String> {
    // node-exporter's default: partitions, RAM disks, loop and floppy devices.
    Some(r"^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$".into())
}

/// A group of metrics read from one `/proc` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Collector {
    /// `/proc/stat`: `system.cpu.time`, `system.cpu.logical.count`.
    Cpu,
    /// `/proc/meminfo`: `system.memory.*`, `system.paging.usage`.
    Memory,
    /// `/proc/loadavg`: `system.cpu.load_average.*`.
    Load,
    /// `/proc/net/dev`: `system.network.*`.
    Network,
    /// `/proc/diskstats`: `system.disk.*`.
    Disk,
    /// `/proc/1/mounts` and the host's statvfs of each mount point: `system.filesystem.*`.
    Filesystem,
}

impl Collector {
    pub(crate) const ALL: [Collector; 6] = [
        Collector::Cpu,
        Collector::Memory,
        Collector::Load,
        Collector::Network,
        Collector::Disk,
        Collector::Filesystem,
    ];

    /// What runs without `collectors`: all but `filesystem`, which needs a wider grant.
    pub(crate) const DEFAULT: [Collector; 5] =
        [Collector::Cpu, Collector::Memory, Collector::Load, Collector::Network, Collector::Disk];

    /// The name in `collectors`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Collector::Cpu => "cpu",
            Collector::Memory => "memory",
            Collector::Load => "load",
            Collector::Network => "network",
            Collector::Disk => "disk",
            Collector::Filesystem => "filesystem",
        }
    }

    /// The file under `<root>/proc` the collector reads.
    pub(crate) fn file(self) -> &'static str {
        match self {
            Collector::Cpu => "stat",
            Collector::Memory => "meminfo",
            Collector::Load => "loadavg",
            Collector::Network => "net/dev",
            Collector::Disk => "diskstats",
            Collector::Filesystem => "1/mounts",
        }
    }
}

/// The checked settings the receiver runs with.
#[derive(Debug)]
pub(crate) struct Settings {
    /// `root`, without a trailing `/`: where the plugin sees the host's `/`.
    pub(crate) root: String,
    /// `<root>/proc`.
    pub(crate) proc: String,
    pub(crate) collectors: Vec<Collector>,
    pub(crate) per_cpu: bool,
    pub(crate) clock_ticks_per_second: f64,
    pub(crate) network_device_exclude: Option<Regex>,
    pub(crate) disk_device_exclude: Option<Regex>,
    pub(crate) filesystem_type_exclude: Option<Regex>,
    pub(crate) mount_point_exclude: Option<Regex>,
    pub(crate) resource_attributes: BTreeMap<String, String>,
}

/// Parses and checks the configuration, reporting every problem at once.
pub(crate) fn parse(config: &Config) -> Result<Settings, Error> {
    let raw: Raw = config.parse()?;
    let mut problems = Vec::new();
    let mut collectors = Vec::new();
    for (index, name) in raw.collectors.iter().enumerate() {
        match Collector::ALL.iter().find(|c| c.name() == name) {
            Some(collector) if collectors.contains(collector) => {
                problems.push(format!("collectors[{index}]: `{name}` is listed twice"));
            }
            Some(collector) => collectors.push(*collector),
            None => problems.push(format!(
                "collectors[{index}]: unknown collector `{name}`, expected one of cpu, memory, load, network, disk, \
                 filesystem"
            )),
        }
    }
    if raw.clock_ticks_per_second == 0 {
        problems.push("clock_ticks_per_second: must be at least 1 (Linux uses 100)".to_owned());
    }
    let mut pattern = |key: &str, text: &Option<String>| match text.as_deref().map(Regex::new) {
        None => None,
        Some(Ok(regex)) => Some(regex),
        Some(Err(error)) => {
            problems.push(format!("{key}: {error}"));
            None
        }
    };
    let network_device_exclude = pattern("network_device_exclude", &raw.network_device_exclude);
    let disk_device_exclude = pattern("disk_device_exclude", &raw.disk_device_exclude);
    let filesystem_type_exclude = pattern("filesystem_type_exclude", &raw.filesystem_type_exclude);
    let mount_point_exclude = pattern("mount_point_exclude", &raw.mount_point_exclude);
    if !raw.root.starts_with('/') {
        problems.push(format!("root: `{}` must be an absolute path in the plugin's view, e.g. /host", raw.root));
    }
    if !problems.is_empty() {
        return Err(Error::config(problems.join("; ")));
    }
    Ok(Settings {
        root: raw.root.trim_end_matches('/').to_owned(),
        proc: format!("{}/proc", raw.root.trim_end_matches('/')),
        collectors,
        per_cpu: raw.per_cpu,
        clock_ticks_per_second: f64::from(raw.clock_ticks_per_second),
        network_device_exclude,
        disk_device_exclude,
        filesystem_type_exclude,
        mount_point_exclude,
        resource_attributes: raw.resource_attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_collector_runs_by_default_under_host_proc() {
        let settings = parse(&Config::from_value(json!({}))).unwrap();
        assert_eq!(settings.collectors, Collector::DEFAULT);
        assert_eq!(settings.proc, "/host/proc");
        let disks = settings.disk_device_exclude.unwrap();
        assert!(disks.is_match("sda1") && disks.is_match("loop0") && disks.is_match("nvme0n1p2"));
        assert!(!disks.is_match("sda") && !disks.is_match("nvme0n1"));
    }

    #[test]
    fn unknown_and_repeated_collectors_are_named_and_filesystem_is_opt_in() {
        let err =
            parse(&Config::from_value(json!({ "collectors": ["cpu", "filesystem", "cpus", "cpu"] }))).unwrap_err();
        let message = err.message();
        assert!(!message.contains("collectors[1]"), "{message}");
        assert!(message.contains("collectors[2]: unknown collector `cpus`"), "{message}");
        assert!(message.contains("collectors[3]: `cpu` is listed twice"), "{message}");
        let settings = parse(&Config::from_value(json!({ "collectors": ["filesystem"], "root": "/host/" }))).unwrap();
        assert_eq!((settings.collectors, settings.root.as_str()), (vec![Collector::Filesystem], "/host"));
        let types = settings.filesystem_type_exclude.unwrap();
        assert!(!types.is_match("tmpfs") && types.is_match("overlay") && types.is_match("cgroup2"));
        let mounts = settings.mount_point_exclude.unwrap();
        assert!(mounts.is_match("/proc") && mounts.is_match("/var/lib/docker/overlay2/x") && !mounts.is_match("/data"));
    }

    #[test]
    fn bad_patterns_and_relative_roots_are_config_errors() {
        let err = parse(&Config::from_value(json!({ "network_device_exclude": "(", "root": "host" }))).unwrap_err();
        assert!(err.message().contains("network_device_exclude: regex parse error"), "{err}");
        assert!(err.message().contains("root: `host` must be an absolute path"), "{err}");
    }
}
