//! What a plugin may ask of the host: structured logs, its own metrics, and clocks.
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

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::Level;
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
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::Level;
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
