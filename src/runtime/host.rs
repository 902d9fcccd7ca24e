//! The store state of one plugin instance and the host's side of the `host` interface:
//! structured logging, the plugin's own metrics, and clocks.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::host::{Host, Level};
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
