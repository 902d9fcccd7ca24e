//! Builds and runs the graph a config describes: receivers → pipelines (batching, processors
//! in order) → exporters (fan-out), with bounded queues between every stage, and shuts it
//! down in order: stop accepting, drain what is in flight, flush the exporters.
//!
//! [`Topology::prepare`] loads every plugin and checks it against its role and signals,
//! adding what it finds to the config's list of errors; [`Topology::start`] binds the
//! listeners and starts the tasks.

pub(crate) mod pipeline;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::admin::metrics::Telemetry;
use crate::batch::{Signal, signal_name};
use crate::config::{Config, ConfigError, ConfigErrors, ExporterConfig, OnError, PluginSource, ReceiverConfig};
use crate::exporters::{self, ExportCounters};
use crate::receivers::{self, Outputs};
use crate::runtime::{Plugin, PluginSpec, Runtime, World};
use pipeline::{ExporterQueue, PipelineInput, Stage};

/// A config whose plugins are loaded and checked.
pub struct Topology {
    config: Config,
    runtime: Arc<Runtime>,
    processors: BTreeMap<String, Arc<Plugin>>,
    receivers: BTreeMap<String, Arc<Plugin>>,
    exporters: BTreeMap<String, Arc<Plugin>>,
}

/// Why a topology could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener or client could not be set up; each names the table and key.
    #[error("cannot start:\n{}", .0.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
    Setup(Vec<String>),
}

fn config_json(table: &toml::Table) -> String {
    serde_json::to_string(table).expect("a TOML table converts to JSON")
}

/// Runs a plugin's `init` (warming its slot) where blocking is allowed. A plugin may read
/// the directories it was granted while it starts, and wasmtime-wasi's synchronous WASI
/// bindings block on the tokio runtime to do so, which panics on an async worker thread.
fn off_the_io_threads<T>(warm: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(warm)
        }
        _ => warm(),
    }
}

impl Topology {
    /// Loads every plugin the config names and checks its world and signals; the result
    /// lists every problem, the config's own included.
    pub fn prepare(config: Config, runtime: Arc<Runtime>) -> Result<Self, ConfigErrors> {
        let mut errors = Vec::new();
        let mut topology = Self {
            config,
            runtime,
            processors: BTreeMap::new(),
            receivers: BTreeMap::new(),
            exporters: BTreeMap::new(),
        };
        let config = topology.config.clone();
        for (name, processor) in &config.processors {
            let spec = PluginSpec {
                name: name.clone(),
                source: processor.plugin.clone(),
                world: World::Processor,
                config_json: config_json(&processor.config),
                limits: processor.limits,
                on_error: processor.on_error,
                grants: processor.grants.clone(),
            };
            topology
                .load(&mut errors, format!("processors.{name}"), spec)
                .map(|p| topology.processors.insert(name.clone(), p));
        }
        for (name, receiver) in &config.receivers {
            if let ReceiverConfig::Plugin(receiver) = receiver {
                let spec = PluginSpec {
                    name: name.clone(),
                    source: receiver.plugin.clone(),
                    world: World::Receiver,
                    config_json: config_json(&receiver.config),
                    limits: receiver.limits,
                    on_error: OnError::Drop,
                    grants: receiver.grants.clone(),
                };
                topology
                    .load(&mut errors, format!("receivers.{name}"), spec)
                    .map(|p| topology.receivers.insert(name.clone(), p));
            }
        }
        for (name, exporter) in &config.exporters {
            if let ExporterConfig::Plugin(exporter) = exporter {
                let spec = PluginSpec {
                    name: name.clone(),
                    source: exporter.plugin.clone(),
                    world: World::Exporter,
                    config_json: config_json(&exporter.config),
                    limits: exporter.limits,
                    on_error: OnError::Drop,
                    grants: exporter.grants.clone(),
                };
                topology
                    .load(&mut errors, format!("exporters.{name}"), spec)
                    .map(|p| topology.exporters.insert(name.clone(), p));
            }
        }
        for (name, pipeline) in &config.pipelines {
            let signal = Signal::from(pipeline.signal);
            for (key, names, plugins) in [
                ("receivers", &pipeline.receivers, &topology.receivers),
                ("processors", &pipeline.processors, &topology.processors),
                ("exporters", &pipeline.exporters, &topology.exporters),
            ] {
                for (index, component) in names.iter().enumerate() {
                    let Some(plugin) = plugins.get(component) else { continue };
                    if !plugin.info().signals.contains(&signal) {
                        let handles: Vec<&str> = plugin.info().signals.iter().map(|s| signal_name(*s)).collect();
                        errors.push(ConfigError::new(
                            format!("pipelines.{name}.{key}[{index}]"),
                            format!(
                                "`{component}` ({}) cannot handle {} (it handles: {})",
                                plugin.info().name,
                                signal_name(signal),
                                if handles.is_empty() { "nothing".to_string() } else { handles.join(", ") }
                            ),
                        ));
                    }
                }
            }
        }
        if errors.is_empty() { Ok(topology) } else { Err(ConfigErrors { origin: config.source.clone(), errors }) }
    }

    fn load(&self, errors: &mut Vec<ConfigError>, at: String, spec: PluginSpec) -> Option<Arc<Plugin>> {
        if let PluginSource::File(path) = &spec.source
            && !path.is_file()
        {
            // Already reported by the config's own checks.
            return None;
        }
        match self.runtime.prepare(spec) {
            Ok(plugin) => Some(plugin),
            Err(error) => {
                let key =
                    if matches!(error, crate::runtime::RuntimeError::Plugin { .. }) { "config" } else { "plugin" };
                errors.push(ConfigError::new(format!("{at}.{key}"), error.to_string()));
                None
            }
        }
    }

    /// The config this topology was built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Binds every listener and starts every task.
    pub async fn start(self, telemetry: Arc<Telemetry>) -> Result<Running, StartError> {
        let config = &self.config;
        let (shutdown_tx, shutdown) = watch::channel(false);
        let (receivers_done_tx, receivers_done) = watch::channel(false);
        let mut setup_errors = Vec::new();
        let mut exporter_tasks = JoinSet::new();
        let mut pipeline_tasks = JoinSet::new();
        let mut receiver_tasks = JoinSet::new();

        // Exporters first, so that pipelines have somewhere to send.
        let used_exporters: BTreeSet<&String> = config.pipelines.values().flat_map(|p| &p.exporters).collect();
        let mut queues: BTreeMap<String, ExporterQueue> = BTreeMap::new();
        for name in used_exporters {
            let exporter = &config.exporters[name];
            let capacity = match exporter {
                ExporterConfig::Otlp(otlp) => otlp.queue_size,
                ExporterConfig::Debug(_) => 64,
                ExporterConfig::Plugin(plugin) => plugin.queue_size,
            };
            let (sender, receiver) = async_channel::bounded(capacity);
            let label = format!("exporter/{name}");
            let depth = telemetry.queue_depth.with_label_values(&[&label]);
            telemetry.queue_capacity.with_label_values(&[&label]).set(capacity as i64);
            let counters = ExportCounters::new(telemetry.clone(), name);
            match exporter {
                ExporterConfig::Otlp(otlp) => match exporters::otlp::OtlpExporter::new(name, otlp) {
                    Ok(exporter) => {
                        exporter_tasks.spawn(exporter.run(receiver, counters, depth.clone()));
                    }
                    Err(error) => setup_errors.push(error.to_string()),
                },
                ExporterConfig::Debug(debug) => {
                    let debug = debug.clone();
                    let depth = depth.clone();
                    exporter_tasks.spawn(async move {
                        let _ = tokio::task::spawn_blocking(move || {
                            exporters::debug::run(debug, receiver, counters, depth)
                        })
                        .await;
                    });
                }
                ExporterConfig::Plugin(plugin_config) => {
                    let mut slot = self.exporters[name].slot();
                    if let Err(failure) = off_the_io_threads(|| slot.warm()) {
                        setup_errors.push(format!("exporters.{name}: {failure}"));
                        continue;
                    }
                    match exporters::plugin::PluginExporter::new(name, plugin_config, slot, telemetry.clone()).await {
                        Ok(exporter) => {
                            exporter_tasks.spawn(exporter.run(receiver, counters, depth.clone(), shutdown.clone()));
                        }
                        Err(error) => setup_errors.push(error.to_string()),
                    }
                }
            }
            queues.insert(name.clone(), ExporterQueue { sender, depth });
        }

        // Pipelines: input queue → batcher → workers.
        let mut inputs: Vec<(String, PipelineInput)> = Vec::new();
        for (name, pipeline) in &config.pipelines {
            let signal = Signal::from(pipeline.signal);
            let pipeline_name: Arc<str> = name.as_str().into();
            let (sender, input) = mpsc::channel(pipeline.queue_size);
            let label = format!("pipeline/{name}");
            let depth = telemetry.queue_depth.with_label_values(&[&label]);
            telemetry.queue_capacity.with_label_values(&[&label]).set(pipeline.queue_size as i64);
            let work_label = format!("pipeline/{name}/work");
            let work_depth = telemetry.queue_depth.with_label_values(&[&work_label]);
            let (work, work_rxs, work_capacity) = match pipeline.partition_by {
                Some(key) if pipeline.workers > 1 => {
                    pipeline::WorkQueues::partitioned(pipeline.workers, key, work_depth.clone())
                }
                _ => pipeline::WorkQueues::shared(pipeline.workers * 2, work_depth.clone()),
            };
            telemetry.queue_capacity.with_label_values(&[&work_label]).set(work_capacity as i64);
            pipeline_tasks.spawn(pipeline::batcher(
                pipeline.batch,
                signal,
                input,
                depth.clone(),
                work,
                receivers_done.clone(),
            ));
            let exporters: Vec<ExporterQueue> =
                pipeline.exporters.iter().filter_map(|e| queues.get(e).cloned()).collect();
            for index in 0..pipeline.workers {
                // A worker of its own queue when partitioned, else of the shared one.
                let work_rx = work_rxs[index % work_rxs.len()].clone();
                let mut stages = Vec::with_capacity(pipeline.processors.len());
                for processor in &pipeline.processors {
                    let tick_interval = config.processors[processor].tick_interval;
                    let mut stage = Stage::new(&self.processors[processor], name, &telemetry, tick_interval);
                    if let Err(failure) = off_the_io_threads(|| stage.warm()) {
                        setup_errors.push(format!("processors.{processor}: {failure}"));
                    }
                    stages.push(stage);
                }
                let (pipeline_name, work_depth, exporters) =
                    (pipeline_name.clone(), work_depth.clone(), exporters.clone());
                let items_out = telemetry.pipeline_out.with_label_values(&[name]);
                let handle = tokio::runtime::Handle::current();
                pipeline_tasks.spawn(async move {
                    let _ = tokio::task::spawn_blocking(move || {
                        pipeline::worker(pipeline_name, stages, work_rx, work_depth, exporters, items_out, handle)
                    })
                    .await;
                });
            }
            inputs.push((
                name.clone(),
                PipelineInput { signal, sender, depth, items_in: telemetry.pipeline_in.with_label_values(&[name]) },
            ));
        }
        drop(queues);

        // Receivers last: once they accept, everything behind them runs.
        for (name, receiver) in &config.receivers {
            let feeds: Vec<PipelineInput> = inputs
                .iter()
                .filter(|(pipeline, _)| config.pipelines[pipeline].receivers.contains(name))
                .map(|(_, input)| input.clone())
                .collect();
            if feeds.is_empty() {
                tracing::warn!(receiver = name, "The receiver feeds no pipeline; it is not started.");
                continue;
            }
            match receiver {
                ReceiverConfig::Otlp(otlp) => {
                    let outputs = Outputs::new(name, feeds, otlp.accept_timeout, &telemetry);
                    match receivers::otlp::OtlpReceiver::bind(otlp, outputs).await {
                        Ok(receiver) => {
                            receiver_tasks.spawn(receiver.serve(shutdown.clone()));
                        }
                        Err(error) => setup_errors.push(error.to_string()),
                    }
                }
                ReceiverConfig::Plugin(plugin_config) => {
                    let outputs = Outputs::new(name, feeds, plugin_config.accept_timeout, &telemetry);
                    let mut slot = self.receivers[name].slot();
                    if let Err(failure) = off_the_io_threads(|| slot.warm()) {
                        setup_errors.push(format!("receivers.{name}: {failure}"));
                        continue;
                    }
                    match receivers::plugin::PluginReceiver::bind(name, plugin_config, slot, outputs).await {
                        Ok(receiver) => {
                            receiver_tasks.spawn(receiver.serve(shutdown.clone()));
                        }
                        Err(error) => setup_errors.push(error.to_string()),
                    }
                }
            }
        }
        drop(inputs);

        let running = Running {
            shutdown_tx,
            receivers_done: receivers_done_tx,
            receiver_tasks,
            pipeline_tasks,
            exporter_tasks,
            ready: Arc::new(AtomicBool::new(false)),
            shutdown_timeout: config.runtime.shutdown_timeout,
            _runtime: self.runtime.clone(),
        };
        if !setup_errors.is_empty() {
            running.shutdown().await;
            return Err(StartError::Setup(setup_errors));
        }
        running.ready.store(true, Ordering::SeqCst);
        for (name, pipeline) in &config.pipelines {
            tracing::info!(
                pipeline = name,
                signal = signal_name(pipeline.signal.into()),
                workers = pipeline.workers,
                "Pipeline started."
            );
        }
        Ok(running)
    }
}

/// A started topology.
pub struct Running {
    shutdown_tx: watch::Sender<bool>,
    receivers_done: watch::Sender<bool>,
    receiver_tasks: JoinSet<()>,
    pipeline_tasks: JoinSet<()>,
    exporter_tasks: JoinSet<()>,
    ready: Arc<AtomicBool>,
    shutdown_timeout: Duration,
    _runtime: Arc<Runtime>,
}

impl Running {
    /// Whether every pipeline runs (what `/readyz` reports).
    pub fn readiness(&self) -> Arc<AtomicBool> {
        self.ready.clone()
    }

    /// Stops accepting, drains what is in flight and flushes the exporters, giving up after
    /// the configured shutdown timeout. Returns whether everything drained in time.
    pub async fn shutdown(mut self) -> bool {
        self.ready.store(false, Ordering::SeqCst);
        let _ = self.shutdown_tx.send(true);
        let drain = async {
            while self.receiver_tasks.join_next().await.is_some() {}
            tracing::debug!("Receivers stopped.");
            let _ = self.receivers_done.send(true);
            while self.pipeline_tasks.join_next().await.is_some() {}
            tracing::debug!("Pipelines drained.");
            while self.exporter_tasks.join_next().await.is_some() {}
            tracing::debug!("Exporters flushed.");
        };
        match tokio::time::timeout(self.shutdown_timeout, drain).await {
            Ok(()) => true,
            Err(_) => {
                tracing::error!(timeout = ?self.shutdown_timeout, "Shutdown timed out; what was still queued is lost.");
                self.receiver_tasks.abort_all();
                self.pipeline_tasks.abort_all();
                self.exporter_tasks.abort_all();
                false
            }
        }
    }
}
