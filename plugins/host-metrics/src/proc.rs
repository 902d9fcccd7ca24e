//! Parsers for the `/proc` files the collectors read. Each takes the file's text and
//! returns plain numbers; lines it does not understand are skipped, so a kernel that adds
//! columns or keys breaks nothing. None of them panics on any input.

/// One line of `/proc/stat` that starts with `cpu`: clock ticks per state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CpuTimes {
    /// `None` for the aggregate line, `Some(n)` for `cpuN`.
    pub(crate) cpu: Option<u32>,
    pub(crate) user: u64,
    pub(crate) nice: u64,
    pub(crate) system: u64,
    pub(crate) idle: u64,
    pub(crate) iowait: u64,
    pub(crate) irq: u64,
    pub(crate) softirq: u64,
    pub(crate) steal: u64,
}

/// What the collectors use of `/proc/stat`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Stat {
    /// The aggregate line first, then one per CPU, as in the file.
    pub(crate) cpus: Vec<CpuTimes>,
    /// Boot time, in seconds since the Unix epoch (`btime`).
    pub(crate) boot_time: Option<u64>,
}

/// Parses `/proc/stat`.
pub(crate) fn stat(text: &str) -> Stat {
    let mut stat = Stat::default();
    for line in text.lines() {
        let mut words = line.split_ascii_whitespace();
        let Some(key) = words.next() else { continue };
        if key == "btime" {
            stat.boot_time = words.next().and_then(|w| w.parse().ok());
            continue;
        }
        let Some(index) = key.strip_prefix("cpu") else { continue };
        let cpu = if index.is_empty() {
            None
        } else {
            match index.parse() {
                Ok(n) => Some(n),
                Err(_) => continue,
            }
        };
        let values: Vec<u64> = words.map_while(|w| w.parse().ok()).collect();
        // user nice system idle are there since Linux 2.6; later columns default to 0.
        if values.len() < 4 {
            continue;
        }
        let at = |i: usize| values.get(i).copied().unwrap_or(0);
        stat.cpus.push(CpuTimes {
            cpu,
            user: at(0),
            nice: at(1),
            system: at(2),
            idle: at(3),
            iowait: at(4),
            irq: at(5),
            softirq: at(6),
            steal: at(7),
        });
    }
    stat
}

/// `/proc/meminfo` as key -> bytes (the file says `kB`, which means KiB).
pub(crate) fn meminfo(text: &str) -> Vec<(&str, u64)> {
    text.lines()
        .filter_map(|line| {
            let (key, rest) = line.split_once(':')?;
            let mut words = rest.split_ascii_whitespace();
            let number: u64 = words.next()?.parse().ok()?;
            let bytes = match words.next() {
                Some("kB") => number.checked_mul(1024)?,
                Some(_) => return None,
                None => number,
            };
            Some((key.trim(), bytes))
        })
        .collect()
}

/// The 1, 5 and 15 minute load averages of `/proc/loadavg`.
pub(crate) fn loadavg(text: &str) -> Option<[f64; 3]> {
    let mut words = text.split_ascii_whitespace().map(|w| w.parse::<f64>().ok());
    Some([words.next()??, words.next()??, words.next()??])
}

/// One interface's counters from `/proc/net/dev`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct NetDev {
    pub(crate) device: String,
    pub(crate) receive: NetCounters,
    pub(crate) transmit: NetCounters,
}

/// The counters of one direction of an interface.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct NetCounters {
    pub(crate) bytes: u64,
    pub(crate) packets: u64,
    pub(crate) errors: u64,
    pub(crate) dropped: u64,
}

/// Parses `/proc/net/dev` (two header lines, then `name: 8 receive and 8 transmit columns`).
pub(crate) fn net_dev(text: &str) -> Vec<NetDev> {
    text.lines()
        .filter_map(|line| {
            let (name, rest) = line.split_once(':')?;
            let values: Vec<u64> = rest.split_ascii_whitespace().map_while(|w| w.parse().ok()).collect();
            if values.len() < 16 {
                return None;
            }
            let counters = |at: usize| NetCounters {
                bytes: values[at],
                packets: values[at + 1],
                errors: values[at + 2],
                dropped: values[at + 3],
            };
            Some(NetDev { device: name.trim().to_owned(), receive: counters(0), transmit: counters(8) })
        })
        .collect()
}

/// One block device's counters from `/proc/diskstats`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct DiskStats {
    pub(crate) device: String,
    pub(crate) reads: u64,
    pub(crate) read_sectors: u64,
    pub(crate) read_millis: u64,
    pub(crate) writes: u64,
    pub(crate) written_sectors: u64,
    pub(crate) write_millis: u64,
    pub(crate) io_millis: u64,
}

/// Parses `/proc/diskstats` (`major minor name` and at least 11 counters).
pub(crate) fn diskstats(text: &str) -> Vec<DiskStats> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_ascii_whitespace();
            let (_major, _minor, device) = (words.next()?, words.next()?, words.next()?);
            let values: Vec<u64> = words.map_while(|w| w.parse().ok()).collect();
            if values.len() < 11 {
                return None;
            }
            Some(DiskStats {
                device: device.to_owned(),
                reads: values[0],
                read_sectors: values[2],
                read_millis: values[3],
                writes: values[4],
                written_sectors: values[6],
                write_millis: values[7],
                io_millis: values[9],
            })
        })
        .collect()
}

/// One line of `/proc/<pid>/mounts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mount {
    pub(crate) device: String,
    pub(crate) mount_point: String,
    pub(crate) fs_type: String,
    /// `ro` or `rw`, from the mount options.
    pub(crate) mode: &'static str,
}

/// Parses `/proc/<pid>/mounts` (`device mount-point type options dump pass`, with spaces,
/// tabs, newlines and backslashes written as octal escapes). A mount point mounted over
/// again is kept once, as the last mount made there (the one that is visible).
pub(crate) fn mounts(text: &str) -> Vec<Mount> {
    let mut found: Vec<Mount> = Vec::new();
    for line in text.lines() {
        let mut words = line.split_ascii_whitespace();
        let (Some(device), Some(mount_point), Some(fs_type), Some(options)) =
            (words.next(), words.next(), words.next(), words.next())
        else {
            continue;
        };
        let mode = if options.split(',').any(|o| o == "ro") { "ro" } else { "rw" };
        let mount =
            Mount { device: unescape(device), mount_point: unescape(mount_point), fs_type: fs_type.into(), mode };
        found.retain(|m| m.mount_point != mount.mount_point);
        found.push(mount);
    }
    found
}

/// Undoes the kernel's `\ooo` octal escapes.
fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'\\'
            && let Some(code) = bytes.get(at + 1..at + 4)
            && code.iter().all(|b| (b'0'..=b'7').contains(b))
        {
            let value = code.iter().fold(0u32, |v, b| v * 8 + u32::from(b - b'0'));
            if let Ok(byte) = u8::try_from(value) {
                out.push(byte);
                at += 4;
                continue;
            }
        }
        out.push(bytes[at]);
        at += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_unescape_paths_keep_the_last_mount_of_a_point_and_skip_short_lines() {
        let text = "/dev/sda1 / ext4 rw,relatime 0 0\n\
                    proc /proc proc rw,nosuid 0 0\n\
                    /dev/sdb1 /mnt/my\\040disk ext4 ro,noatime 0 0\n\
                    garbage line\n\
                    tmpfs /mnt/my\\040disk tmpfs rw 0 0\n\
                    /dev/sdc1 /back\\134slash xfs rw 0 0\n";
        let found = mounts(text);
        let summary: Vec<(&str, &str, &str, &str)> =
            found.iter().map(|m| (m.device.as_str(), m.mount_point.as_str(), m.fs_type.as_str(), m.mode)).collect();
        assert_eq!(
            summary,
            [
                ("/dev/sda1", "/", "ext4", "rw"),
                ("proc", "/proc", "proc", "rw"),
                ("tmpfs", "/mnt/my disk", "tmpfs", "rw"),
                ("/dev/sdc1", "/back\\slash", "xfs", "rw"),
            ]
        );
        assert_eq!(unescape("a\\04"), "a\\04", "a short escape is kept");
        assert_eq!(unescape("\\777x"), "\\777x", "an escape past a byte is kept");
    }

    fn fixture(name: &str) -> String {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/host-metrics/proc/");
        std::fs::read_to_string(format!("{path}{name}")).unwrap()
    }

    #[test]
    fn stat_gives_the_aggregate_and_each_cpu_and_the_boot_time() {
        let stat = stat(&fixture("stat"));
        assert_eq!(stat.boot_time, Some(1_706_180_000));
        let cpus: Vec<Option<u32>> = stat.cpus.iter().map(|c| c.cpu).collect();
        assert_eq!(cpus, [None, Some(0), Some(1)]);
        assert_eq!(
            stat.cpus[1],
            CpuTimes {
                cpu: Some(0),
                user: 123_456,
                nice: 1000,
                system: 34_567,
                idle: 987_654,
                iowait: 2345,
                irq: 0,
                softirq: 678,
                steal: 0
            }
        );
    }

    #[test]
    fn meminfo_is_in_bytes() {
        let text = fixture("meminfo");
        let info = meminfo(&text);
        assert!(info.contains(&("MemTotal", 16_384_000 * 1024)));
        assert!(info.contains(&("SReclaimable", 256_000 * 1024)));
        assert!(info.contains(&("HugePages_Total", 0)));
    }

    #[test]
    fn loadavg_gives_three_averages() {
        assert_eq!(loadavg(&fixture("loadavg")), Some([1.25, 0.80, 0.55]));
        assert_eq!(loadavg("1.0 garbage"), None);
    }

    #[test]
    fn net_dev_gives_both_directions_of_every_interface() {
        let devices = net_dev(&fixture("net/dev"));
        let names: Vec<&str> = devices.iter().map(|d| d.device.as_str()).collect();
        assert_eq!(names, ["lo", "eth0"]);
        assert_eq!(devices[1].receive, NetCounters { bytes: 123_456_789, packets: 98_765, errors: 1, dropped: 2 });
        assert_eq!(devices[1].transmit, NetCounters { bytes: 987_654_321, packets: 87_654, errors: 3, dropped: 4 });
    }

    #[test]
    fn diskstats_accepts_old_and_new_column_counts() {
        let disks = diskstats(&fixture("diskstats"));
        let names: Vec<&str> = disks.iter().map(|d| d.device.as_str()).collect();
        assert_eq!(names, ["sda", "sda1", "loop0", "nvme0n1"]);
        assert_eq!(disks[0].read_sectors, 3_000_000);
        assert_eq!(disks[0].io_millis, 70_000);
        assert_eq!(disks[3].written_sectors, 1_600_000);
    }

    #[test]
    fn garbage_reads_as_nothing_rather_than_a_panic() {
        for text in ["", "cpu", "cpu x y z", ":::\n\0\u{fffd}", "cpu0 1 2 3", "eth0: 1 2 3"] {
            assert!(stat(text).cpus.is_empty(), "{text:?}");
            assert!(net_dev(text).is_empty(), "{text:?}");
            assert!(diskstats(text).is_empty(), "{text:?}");
            assert!(loadavg(text).is_none(), "{text:?}");
        }
    }
}
