//! What a plugin may ask of the host: structured logs, its own metrics, clocks, and the
//! size and free space of filesystems under its granted directories.
//!
//! Outside WebAssembly (unit tests of a plugin on the build machine) there is no host:
//! logs go to stderr, metrics are ignored and the clocks are the machine's.

/// The level of a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Very detailed tracing.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected that the plugin handled.
    Warn,
    /// Something failed.
    Error,
}

/// The size and free space of a filesystem, as statvfs(2) gives them (see [`statvfs`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FilesystemStats {
    /// Bytes in the filesystem.
    pub total_bytes: u64,
    /// Bytes free, including those reserved for the superuser.
    pub free_bytes: u64,
    /// Bytes free to unprivileged users.
    pub available_bytes: u64,
    /// Inodes in the filesystem (0 when it has no fixed number).
    pub total_inodes: u64,
    /// Inodes free.
    pub free_inodes: u64,
    /// Whether the filesystem is mounted read-only.
    pub read_only: bool,
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::{FilesystemStats, Level};
    use crate::bindings::processor::aegis::telemetry::host;

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    pub(super) fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
        let level = match level {
            Level::Trace => host::Level::Trace,
            Level::Debug => host::Level::Debug,
            Level::Info => host::Level::Info,
            Level::Warn => host::Level::Warn,
            Level::Error => host::Level::Error,
        };
        host::log(level, message, &owned(fields));
    }

    pub(super) fn counter_add(name: &str, value: u64, labels: &[(&str, &str)]) {
        host::counter_add(name, value, &owned(labels));
    }

    pub(super) fn gauge_set(name: &str, value: f64, labels: &[(&str, &str)]) {
        host::gauge_set(name, value, &owned(labels));
    }

    pub(super) fn histogram_record(name: &str, value: f64, labels: &[(&str, &str)]) {
        host::histogram_record(name, value, &owned(labels));
    }

    pub(super) fn now_unix_nanos() -> u64 {
        host::now_unix_nanos()
    }

    pub(super) fn monotonic_nanos() -> u64 {
        host::monotonic_nanos()
    }

    pub(super) fn statvfs(path: &str) -> Result<FilesystemStats, String> {
        host::statvfs(path).map(|s| FilesystemStats {
            total_bytes: s.total_bytes,
            free_bytes: s.free_bytes,
            available_bytes: s.available_bytes,
            total_inodes: s.total_inodes,
            free_inodes: s.free_inodes,
            read_only: s.read_only,
        })
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::{FilesystemStats, Level};
    use std::sync::OnceLock;
    use std::time::{Instant, SystemTime, UNIX_EPOCH};

    pub(super) fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
        eprintln!("{level:?} {message} {fields:?}");
    }

    pub(super) fn counter_add(_: &str, _: u64, _: &[(&str, &str)]) {}

    pub(super) fn gauge_set(_: &str, _: f64, _: &[(&str, &str)]) {}

    pub(super) fn histogram_record(_: &str, _: f64, _: &[(&str, &str)]) {}

    pub(super) fn now_unix_nanos() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
    }

    pub(super) fn monotonic_nanos() -> u64 {
        static START: OnceLock<Instant> = OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }

    pub(super) fn statvfs(path: &str) -> Result<FilesystemStats, String> {
        Err(format!("{path}: statvfs is the host's, and outside WebAssembly there is no host"))
    }
}

/// Writes a structured log line under the plugin's name.
pub fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
    imp::log(level, message, fields);
}

/// Adds to one of the plugin's counters (`aegis_plugin_<name>_total` on /metrics).
pub fn counter_add(name: &str, value: u64, labels: &[(&str, &str)]) {
    imp::counter_add(name, value, labels);
}

/// Sets one of the plugin's gauges (`aegis_plugin_<name>`).
pub fn gauge_set(name: &str, value: f64, labels: &[(&str, &str)]) {
    imp::gauge_set(name, value, labels);
}

/// Records a value in one of the plugin's histograms (`aegis_plugin_<name>`).
pub fn histogram_record(name: &str, value: f64, labels: &[(&str, &str)]) {
    imp::histogram_record(name, value, labels);
}

/// The wall clock, in nanoseconds since the Unix epoch.
pub fn now_unix_nanos() -> u64 {
    imp::now_unix_nanos()
}

/// A monotonic clock, in nanoseconds since an arbitrary start.
pub fn monotonic_nanos() -> u64 {
    imp::monotonic_nanos()
}

/// The size and free space of the filesystem holding `path`, a path inside one of the
/// directories granted to the plugin (`grants.dirs`), as the plugin sees it. WASI has no
/// statvfs, so the host makes the call; a path outside the grants (or leaving one through
/// `..` or a symbolic link) is an error.
pub fn statvfs(path: &str) -> Result<FilesystemStats, String> {
    imp::statvfs(path)
}

/// Logs at trace level, `format!`-style: `trace!("saw {n} records")`.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)+) => { $crate::host::log($crate::host::Level::Trace, &::std::format!($($arg)+), &[]) };
}

/// Logs at debug level, `format!`-style.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => { $crate::host::log($crate::host::Level::Debug, &::std::format!($($arg)+), &[]) };
}

/// Logs at info level, `format!`-style.
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => { $crate::host::log($crate::host::Level::Info, &::std::format!($($arg)+), &[]) };
}

/// Logs at warn level, `format!`-style.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => { $crate::host::log($crate::host::Level::Warn, &::std::format!($($arg)+), &[]) };
}

/// Logs at error level, `format!`-style.
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => { $crate::host::log($crate::host::Level::Error, &::std::format!($($arg)+), &[]) };
}
