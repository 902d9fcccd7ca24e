//! Plugin instances and the calls into them, with their limits, their failures, and the
//! replacement of an instance that trapped.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use wasmtime::Store;
use wasmtime::component::{ComponentType, Func, Lower, ResourceTable};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use super::bindings::{exporter, processor, receiver, timed_processor, types};
use super::host::{MemoryLimiter, PluginState};
use super::native::{NativeOutcome, NativeProcessor};
use super::{Kind, Plugin, PluginInfo, RuntimeError, World};
use aegis_wire::Signal;

/// How a plugin call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// The instance trapped (a panic, `unreachable`, an out-of-bounds access).
    Trap,
    /// The call ran past its CPU deadline.
    Timeout,
    /// The instance tried to grow its memory past its cap.
    Memory,
    /// The plugin returned an error.
    Error,
    /// The plugin returned bytes that are not valid OTLP.
    InvalidOutput,
    /// A fresh instance could not be made or configured.
    Instantiate,
}

impl FailureKind {
    /// The label used in metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Trap => "trap",
            FailureKind::Timeout => "timeout",
            FailureKind::Memory => "memory",
            FailureKind::Error => "error",
            FailureKind::InvalidOutput => "invalid_output",
            FailureKind::Instantiate => "instantiate",
        }
    }

    /// Whether the instance must be replaced before the next call.
    fn poisons(self) -> bool {
        matches!(self, FailureKind::Trap | FailureKind::Timeout | FailureKind::Memory | FailureKind::Instantiate)
    }
}

/// A failed plugin call.
#[derive(Debug, Clone)]
pub struct Failure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// The plugin's own message, or the trap's.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.kind.as_str())
    }
}

impl std::error::Error for Failure {}

/// What a processor did with a batch.
#[derive(Debug)]
pub enum Outcome {
    /// Pass the input on.
    Unchanged,
    /// Pass these (validated) bytes on, holding this many items.
    Replaced(Vec<u8>, usize),
    /// Nothing passes on.
    Dropped,
}

/// What a receiver made of one input.
#[derive(Debug)]
pub(crate) struct Received {
    /// Validated batches with their item counts.
    pub(crate) batches: Vec<(Signal, Vec<u8>, usize)>,
    /// The HTTP response to send, when the plugin chose one.
    pub(crate) response: Option<types::HttpResponse>,
}

enum Bindings {
    Processor(processor::Processor),
    /// A processor that also exports `tick`.
    Timed(timed_processor::TimedProcessor),
    Receiver(receiver::Receiver),
    Exporter(exporter::Exporter),
}

/// The contract's `batch` record, lowered straight from the pipeline's bytes.
///
/// The generated `types::Batch` owns its payload, so passing one would copy every batch on
/// the host before the component model copies it again into the plugin's memory. This
/// record has the same WIT type (checked on every call) and borrows.
#[derive(ComponentType, Lower)]
#[component(record)]
struct BatchRef<'a> {
    signal: types::Signal,
    payload: &'a [u8],
}

/// Calls `process` (or `export`) with a borrowed batch. The type check costs string
/// comparisons of a few names, far less than the copy it saves.
fn call_with_batch<R>(store: &mut Store<PluginState>, func: Func, batch: BatchRef<'_>) -> wasmtime::Result<R>
where
    R: wasmtime::component::Lift + 'static,
    (R,): wasmtime::component::ComponentNamedList + wasmtime::component::Lift,
{
    let typed = func.typed::<(BatchRef<'_>,), (R,)>(&*store)?;
    Ok(typed.call(store, (batch,))?.0)
}

/// One live instance of a plugin.
pub(super) struct Instance {
    store: Store<PluginState>,
    bindings: Bindings,
}

fn signal_from(signal: types::Signal) -> Signal {
    match signal {
        types::Signal::Logs => Signal::Logs,
        types::Signal::Traces => Signal::Traces,
        types::Signal::Metrics => Signal::Metrics,
    }
}

pub(crate) fn signal_to(signal: Signal) -> types::Signal {
    match signal {
        Signal::Logs => types::Signal::Logs,
        Signal::Traces => types::Signal::Traces,
        Signal::Metrics => types::Signal::Metrics,
    }
}

impl Instance {
    fn new(plugin: &Plugin) -> Result<Self, RuntimeError> {
        let spec = &plugin.spec;
        let Kind::Wasm(pre) = &plugin.kind else { unreachable!("native processors have no Wasm instance") };
        let mut wasi = WasiCtxBuilder::new();
        wasi.allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false);
        for name in &spec.grants.env {
            if let Ok(value) = std::env::var(name) {
                wasi.env(name, value);
            }
        }
        for dir in &spec.grants.dirs {
            let perms = if dir.writable { FsPerms::ReadWrite } else { FsPerms::ReadOnly };
            wasi.preopened_dir(&dir.host, &dir.guest, perms).map_err(|error| RuntimeError::Grant {
                plugin: spec.source.clone(),
                what: format!("directory {}", dir.host.display()),
                error: error.to_string(),
            })?;
        }
        let state = PluginState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter { max_bytes: spec.limits.memory.as_u64() as usize, hit: false },
            name: spec.name.as_str().into(),
            telemetry: plugin.shared.telemetry.clone(),
            started: Instant::now(),
            dirs: spec.grants.dirs.iter().map(|dir| (dir.guest.clone(), dir.host.clone())).collect(),
        };
        let mut store = Store::new(&plugin.shared.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.set_epoch_deadline(deadline_ticks(plugin));
        store.epoch_deadline_trap();
        let link =
            |error: wasmtime::Error| RuntimeError::Link { plugin: spec.source.clone(), error: format!("{error:#}") };
        let bindings = match spec.world {
            World::Processor if plugin.ticks => Bindings::Timed(
                timed_processor::TimedProcessorPre::new(pre.clone())
                    .map_err(link)?
                    .instantiate(&mut store)
                    .map_err(link)?,
            ),
            World::Processor => Bindings::Processor(
                processor::ProcessorPre::new(pre.clone()).map_err(link)?.instantiate(&mut store).map_err(link)?,
            ),
            World::Receiver => Bindings::Receiver(
                receiver::ReceiverPre::new(pre.clone()).map_err(link)?.instantiate(&mut store).map_err(link)?,
            ),
            World::Exporter => Bindings::Exporter(
                exporter::ExporterPre::new(pre.clone()).map_err(link)?.instantiate(&mut store).map_err(link)?,
            ),
        };
        Ok(Self { store, bindings })
    }

    /// A fresh instance, described and configured.
    pub(super) fn start(plugin: &Plugin) -> Result<(Self, PluginInfo), RuntimeError> {
        let mut instance = Self::new(plugin)?;
        let source = &plugin.spec.source;
        let info =
            instance.describe(plugin).map_err(|failure| RuntimeError::Plugin { plugin: source.clone(), failure })?;
        instance.init(plugin).map_err(|failure| RuntimeError::Plugin { plugin: source.clone(), failure })?;
        Ok((instance, info))
    }

    /// A fresh instance, only described (for `aegis plugin inspect`).
    pub(super) fn describe_only(plugin: &Plugin) -> Result<PluginInfo, RuntimeError> {
        let mut instance = Self::new(plugin)?;
        instance
            .describe(plugin)
            .map_err(|failure| RuntimeError::Plugin { plugin: plugin.spec.source.clone(), failure })
    }

    fn describe(&mut self, plugin: &Plugin) -> Result<PluginInfo, Failure> {
        let store = &mut self.store;
        let info = match &self.bindings {
            Bindings::Processor(b) => guarded(plugin, store, "describe", |s| b.call_describe(s)),
            Bindings::Timed(b) => guarded(plugin, store, "describe", |s| b.call_describe(s)),
            Bindings::Receiver(b) => guarded(plugin, store, "describe", |s| b.call_describe(s)),
            Bindings::Exporter(b) => guarded(plugin, store, "describe", |s| b.call_describe(s)),
        }?;
        Ok(PluginInfo {
            name: info.name,
            version: info.version,
            signals: info.signals.into_iter().map(signal_from).collect(),
        })
    }

    fn init(&mut self, plugin: &Plugin) -> Result<(), Failure> {
        let config = plugin.spec.config_json.as_str();
        let store = &mut self.store;
        let result = match &self.bindings {
            Bindings::Processor(b) => guarded(plugin, store, "init", |s| b.call_init(s, config)),
            Bindings::Timed(b) => guarded(plugin, store, "init", |s| b.call_init(s, config)),
            Bindings::Receiver(b) => guarded(plugin, store, "init", |s| b.call_init(s, config)),
            Bindings::Exporter(b) => guarded(plugin, store, "init", |s| b.call_init(s, config)),
        }?;
        result.map_err(plugin_error)
    }
}

fn deadline_ticks(plugin: &Plugin) -> u64 {
    let tick = plugin.shared.epoch_tick.as_nanos().max(1);
    (plugin.spec.limits.timeout.as_nanos().div_ceil(tick) as u64).max(1)
}

fn plugin_error(error: types::Error) -> Failure {
    let kind = match error.kind {
        types::ErrorKind::Config => "config",
        types::ErrorKind::InvalidInput => "invalid input",
        types::ErrorKind::Failed => "failed",
    };
    Failure { kind: FailureKind::Error, message: format!("{kind}: {}", error.message) }
}

/// Runs one call with a fresh CPU deadline, times it, and turns a trap into a [`Failure`]
/// that says whether it was the deadline, the memory cap or the plugin itself.
fn guarded<T>(
    plugin: &Plugin,
    store: &mut Store<PluginState>,
    function: &'static str,
    call: impl FnOnce(&mut Store<PluginState>) -> wasmtime::Result<T>,
) -> Result<T, Failure> {
    store.set_epoch_deadline(deadline_ticks(plugin));
    store.data_mut().limiter.hit = false;
    let started = Instant::now();
    let result = call(store);
    plugin
        .shared
        .telemetry
        .plugin_call_seconds
        .with_label_values(&[plugin.name(), function])
        .observe(started.elapsed().as_secs_f64());
    result.map_err(|error| {
        let trap = error.downcast_ref::<wasmtime::Trap>().copied();
        let kind = if trap == Some(wasmtime::Trap::Interrupt) {
            FailureKind::Timeout
        } else if store.data().limiter.hit {
            FailureKind::Memory
        } else {
            FailureKind::Trap
        };
        let message = match kind {
            FailureKind::Timeout => format!("`{function}` ran past its {:?} limit", plugin.spec.limits.timeout),
            FailureKind::Memory => {
                format!("`{function}` tried to use more than {} of memory", plugin.spec.limits.memory)
            }
            _ => format!("`{function}` trapped: {}", first_line(&format!("{error:#}"))),
        };
        Failure { kind, message }
    })
}

/// Trusts a processor's output only once it is valid OTLP, and counts what it holds.
fn checked_replacement(signal: Signal, bytes: Vec<u8>) -> Result<Outcome, Failure> {
    match aegis_wire::validate(signal, &bytes) {
        Ok(counts) if counts.items == 0 => Ok(Outcome::Dropped),
        Ok(counts) => Ok(Outcome::Replaced(bytes, counts.items)),
        Err(error) => Err(Failure { kind: FailureKind::InvalidOutput, message: format!("`process` returned {error}") }),
    }
}

/// Trusts the batches a receiver or a tick produced only once each is valid OTLP; counts
/// their items and leaves out the empty ones.
fn checked_batches(function: &str, batches: Vec<types::Batch>) -> Result<Vec<(Signal, Vec<u8>, usize)>, Failure> {
    let mut checked = Vec::with_capacity(batches.len());
    for batch in batches {
        let signal = signal_from(batch.signal);
        let counts = aegis_wire::validate(signal, &batch.payload).map_err(|error| Failure {
            kind: FailureKind::InvalidOutput,
            message: format!("`{function}` returned {error}"),
        })?;
        if counts.items > 0 {
            checked.push((signal, batch.payload, counts.items));
        }
    }
    Ok(checked)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

/// One worker's instance of a plugin: made on first use, replaced after a trap, so that one
/// bad batch costs one instance and never the host.
pub struct Slot {
    plugin: Arc<Plugin>,
    instance: Option<Instance>,
    native: Option<Box<dyn NativeProcessor>>,
}

impl Slot {
    pub(super) fn new(plugin: Arc<Plugin>) -> Self {
        Self { plugin, instance: None, native: None }
    }

    /// The plugin this slot runs.
    pub fn plugin(&self) -> &Arc<Plugin> {
        &self.plugin
    }

    /// Runs `call` on the live instance (starting one if needed), counting and logging a
    /// failure, and dropping the instance when the failure leaves it unusable.
    fn with<T>(
        &mut self,
        function: &'static str,
        call: impl FnOnce(&Plugin, &mut Instance) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let plugin = self.plugin.clone();
        let result = match &mut self.instance {
            Some(instance) => call(&plugin, instance),
            None => match Instance::start(&plugin) {
                Ok((instance, _)) => call(&plugin, self.instance.insert(instance)),
                Err(error) => Err(Failure { kind: FailureKind::Instantiate, message: error.to_string() }),
            },
        };
        if let Err(failure) = &result {
            plugin.shared.telemetry.plugin_failures.with_label_values(&[plugin.name(), failure.kind.as_str()]).inc();
            tracing::warn!(plugin = plugin.name(), function, kind = failure.kind.as_str(), error = %failure.message, "A plugin call failed.");
            if failure.kind.poisons() {
                self.instance = None;
            }
        }
        result
    }

    /// Starts the instance now rather than on the first call, so that a pipeline is only
    /// ready once its plugins are.
    pub fn warm(&mut self) -> Result<(), Failure> {
        if let Kind::Native(registration) = &self.plugin.kind {
            self.native.get_or_insert_with(|| (registration.factory)());
            return Ok(());
        }
        self.with("init", |_, _| Ok(()))
    }

    fn process_native(&mut self, signal: Signal, payload: &[u8]) -> Result<Outcome, Failure> {
        let Kind::Native(registration) = &self.plugin.kind else { unreachable!("checked by the caller") };
        let processor = self.native.get_or_insert_with(|| (registration.factory)());
        let outcome =
            processor.process(signal, payload).map_err(|message| Failure { kind: FailureKind::Error, message })?;
        match outcome {
            NativeOutcome::Unchanged => Ok(Outcome::Unchanged),
            NativeOutcome::Dropped => Ok(Outcome::Dropped),
            NativeOutcome::Replaced(bytes) => checked_replacement(signal, bytes),
        }
    }

    /// Runs a processor on one batch; returned bytes are validated before they are trusted.
    pub fn process(&mut self, signal: Signal, payload: &[u8]) -> Result<Outcome, Failure> {
        if matches!(self.plugin.kind, Kind::Native(_)) {
            return self.process_native(signal, payload);
        }
        self.with("process", |plugin, instance| {
            let func = match &instance.bindings {
                Bindings::Processor(b) => *b.func_process().func(),
                Bindings::Timed(b) => *b.func_process().func(),
                _ => unreachable!("world checked at load"),
            };
            let batch = BatchRef { signal: signal_to(signal), payload };
            let result: Result<types::Outcome, types::Error> =
                guarded(plugin, &mut instance.store, "process", |s| call_with_batch(s, func, batch))?;
            match result.map_err(plugin_error)? {
                types::Outcome::Unchanged => Ok(Outcome::Unchanged),
                types::Outcome::Dropped => Ok(Outcome::Dropped),
                types::Outcome::Replaced(bytes) => checked_replacement(signal, bytes),
            }
        })
    }

    /// Whether the plugin exports `tick` (the `timed-processor` world).
    pub fn ticks(&self) -> bool {
        self.plugin.ticks
    }

    /// Ticks a timed processor: the batches it sends on now, validated, with their item
    /// counts (empty ones left out). `stopping` says the pipeline is draining at shutdown.
    pub fn tick(&mut self, now_unix_nanos: u64, stopping: bool) -> Result<Vec<(Signal, Vec<u8>, usize)>, Failure> {
        if !self.plugin.ticks {
            return Ok(Vec::new());
        }
        self.with("tick", |plugin, instance| {
            let Bindings::Timed(bindings) = &instance.bindings else { unreachable!("world checked at load") };
            let result =
                guarded(plugin, &mut instance.store, "tick", |s| bindings.call_tick(s, now_unix_nanos, stopping))?;
            checked_batches("tick", result.map_err(plugin_error)?)
        })
    }

    /// Runs a receiver on one input; produced batches are validated before they are trusted.
    pub(crate) fn receive(&mut self, input: types::Input) -> Result<Received, Failure> {
        self.with("receive", |plugin, instance| {
            let Bindings::Receiver(bindings) = &instance.bindings else { unreachable!("world checked at load") };
            let result = guarded(plugin, &mut instance.store, "receive", |s| bindings.call_receive(s, &input))?;
            let received = result.map_err(plugin_error)?;
            let batches = checked_batches("receive", received.batches)?;
            Ok(Received { batches, response: received.response })
        })
    }

    /// Hands one batch to an exporter; returns the payloads to send.
    pub fn export(&mut self, signal: Signal, payload: &[u8]) -> Result<Vec<types::Payload>, Failure> {
        self.with("export", |plugin, instance| {
            let Bindings::Exporter(bindings) = &instance.bindings else { unreachable!("world checked at load") };
            let func = *bindings.func_export().func();
            let batch = BatchRef { signal: signal_to(signal), payload };
            let result: Result<Vec<types::Payload>, types::Error> =
                guarded(plugin, &mut instance.store, "export", |s| call_with_batch(s, func, batch))?;
            result.map_err(plugin_error)
        })
    }

    /// Asks an exporter for what it still holds.
    pub(crate) fn flush(&mut self, now_unix_nanos: u64) -> Result<Vec<types::Payload>, Failure> {
        self.with("flush", |plugin, instance| {
            let Bindings::Exporter(bindings) = &instance.bindings else { unreachable!("world checked at load") };
            let result = guarded(plugin, &mut instance.store, "flush", |s| bindings.call_flush(s, now_unix_nanos))?;
            result.map_err(plugin_error)
        })
    }

    /// Asks a pull exporter to answer a request.
    pub(crate) fn render(&mut self, request: types::HttpRequest) -> Result<types::HttpResponse, Failure> {
        self.with("render", |plugin, instance| {
            let Bindings::Exporter(bindings) = &instance.bindings else { unreachable!("world checked at load") };
            let result = guarded(plugin, &mut instance.store, "render", |s| bindings.call_render(s, &request))?;
            result.map_err(plugin_error)
        })
    }
}
