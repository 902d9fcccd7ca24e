//! The store state of one plugin instance and the host's side of the `host` interface:
//! structured logging, the plugin's own metrics, and clocks.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::host::{FilesystemStats, Host, Level};
use crate::admin::metrics::{CustomKind, Telemetry};

/// What each plugin instance's store holds.
pub(crate) struct PluginState {
    pub(super) wasi: WasiCtx,
    pub(super) table: ResourceTable,
    pub(super) limiter: MemoryLimiter,
    /// The configured name of the plugin (`scrub`), used in logs and metric labels.
    pub(super) name: Arc<str>,
    pub(super) telemetry: Arc<Telemetry>,
    pub(super) started: Instant,
    /// The granted directories: (where the plugin sees it, the host directory).
    pub(super) dirs: Arc<[(String, PathBuf)]>,
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Caps an instance's linear memory and remembers when the cap was hit, so that the
/// resulting trap is counted as `memory` rather than as a plain trap.
pub(super) struct MemoryLimiter {
    pub(super) max_bytes: usize,
    pub(super) hit: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// Caps what a plugin may put in one log line or metric call, so that a hostile plugin cannot
/// make the host's logs or registry grow without bound.
const MAX_LOG_BYTES: usize = 8 * 1024;
const MAX_FIELDS: usize = 32;

impl Host for PluginState {
    fn log(&mut self, level: Level, message: String, fields: Vec<(String, String)>) {
        let mut message = message;
        truncate(&mut message, MAX_LOG_BYTES);
        let fields: Vec<String> =
            fields.into_iter().take(MAX_FIELDS).map(|(key, value)| format!("{key}={value:?}")).collect();
        let fields = fields.join(" ");
        let plugin = &*self.name;
        match level {
            Level::Trace => tracing::trace!(plugin, fields, "{message}"),
            Level::Debug => tracing::debug!(plugin, fields, "{message}"),
            Level::Info => tracing::info!(plugin, fields, "{message}"),
            Level::Warn => tracing::warn!(plugin, fields, "{message}"),
            Level::Error => tracing::error!(plugin, fields, "{message}"),
        }
    }

    fn counter_add(&mut self, name: String, value: u64, labels: Vec<(String, String)>) {
        self.metric(CustomKind::Counter, &name, value as f64, &labels);
    }

    fn gauge_set(&mut self, name: String, value: f64, labels: Vec<(String, String)>) {
        self.metric(CustomKind::Gauge, &name, value, &labels);
    }

    fn histogram_record(&mut self, name: String, value: f64, labels: Vec<(String, String)>) {
        self.metric(CustomKind::Histogram, &name, value, &labels);
    }

    fn now_unix_nanos(&mut self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
    }

    fn monotonic_nanos(&mut self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }

    fn statvfs(&mut self, path: String) -> Result<FilesystemStats, String> {
        let host = granted_path(&self.dirs, &path)?;
        let stat = rustix::fs::statvfs(&host).map_err(|error| format!("statvfs {path}: {error}"))?;
        let unit = if stat.f_frsize > 0 { stat.f_frsize } else { stat.f_bsize };
        Ok(FilesystemStats {
            total_bytes: stat.f_blocks.saturating_mul(unit),
            free_bytes: stat.f_bfree.saturating_mul(unit),
            available_bytes: stat.f_bavail.saturating_mul(unit),
            total_inodes: stat.f_files,
            free_inodes: stat.f_ffree,
            read_only: stat.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY),
        })
    }
}

/// The host path of `guest`, a path inside one of `dirs` as the plugin sees them; an error
/// when it is in none of them or leaves its grant (by `..` or by a symbolic link).
pub(super) fn granted_path(dirs: &[(String, PathBuf)], guest: &str) -> Result<PathBuf, String> {
    let wanted = Path::new(guest);
    if wanted.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!("{guest}: `..` is not allowed"));
    }
    let (grant, rest) = dirs
        .iter()
        .filter_map(|(seen, host)| wanted.strip_prefix(seen).ok().map(|rest| ((seen, host), rest)))
        .max_by_key(|((seen, _), _)| seen.len())
        .ok_or_else(|| format!("{guest}: not inside a directory granted to this plugin"))?;
    let (_, base) = grant;
    let resolved = base.join(rest).canonicalize().map_err(|error| format!("{guest}: {error}"))?;
    let base = base.canonicalize().map_err(|error| format!("{guest}: the granted directory: {error}"))?;
    if !resolved.starts_with(&base) {
        return Err(format!("{guest}: a symbolic link leads out of the granted directory"));
    }
    Ok(resolved)
}

impl super::bindings::types::Host for PluginState {}

impl PluginState {
    fn metric(&mut self, kind: CustomKind, name: &str, value: f64, labels: &[(String, String)]) {
        if labels.len() > MAX_FIELDS {
            tracing::warn!(plugin = &*self.name, metric = name, "A plugin metric has too many labels; ignored.");
            return;
        }
        if let Err(error) = self.telemetry.plugin_metric(&self.name, kind, name, value, labels) {
            tracing::warn!(plugin = &*self.name, %error, "A plugin metric was refused.");
        }
    }
}

fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
}

#[cfg(test)]
mod tests {
    use super::granted_path;
    use std::path::PathBuf;

    #[test]
    fn statvfs_paths_stay_inside_the_grants() {
        let root = tempfile::tempdir().unwrap();
        let inner = root.path().join("inner");
        std::fs::create_dir_all(inner.join("deep")).unwrap();
        std::os::unix::fs::symlink("/", root.path().join("out")).unwrap();
        std::os::unix::fs::symlink("inner/deep", root.path().join("in")).unwrap();
        let dirs: Vec<(String, PathBuf)> =
            vec![("/host".into(), root.path().to_path_buf()), ("/host/inner".into(), inner.clone())];
        let base = root.path().canonicalize().unwrap();
        assert_eq!(granted_path(&dirs, "/host").unwrap(), base);
        assert_eq!(granted_path(&dirs, "/host/").unwrap(), base);
        assert_eq!(granted_path(&dirs, "/host/inner/deep").unwrap(), base.join("inner/deep"));
        assert_eq!(granted_path(&dirs, "/host/in").unwrap(), base.join("inner/deep"), "a link inside is followed");
        for (path, why) in [
            ("/etc", "not inside a directory granted"),
            ("/hostile", "not inside a directory granted"),
            ("/host/../etc", "`..` is not allowed"),
            ("/host/out", "a symbolic link leads out"),
            ("/host/missing", "No such file"),
        ] {
            let error = granted_path(&dirs, path).unwrap_err();
            assert!(error.starts_with(path) && error.contains(why), "{path}: {error}");
        }
    }
}
