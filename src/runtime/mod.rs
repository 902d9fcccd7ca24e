//! The Wasm host: one wasmtime engine for every plugin, components compiled once (and cached
//! on disk between runs), instantiated from `InstancePre` with the pooling allocator, each
//! instance in its own store with a memory cap and a CPU deadline per call.
//!
//! [`Runtime::prepare`] loads a component, finds which world it implements, asks it who it
//! is (`describe`) and checks its config (`init`); the resulting [`Plugin`] makes as many
//! [`Slot`]s as there are workers, each holding one instance that is replaced after a trap.

mod bindings;
mod host;
mod instance;
pub mod native;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::component::{Component, Linker, types::ComponentItem};
use wasmtime::{Config as EngineConfig, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::admin::metrics::Telemetry;
use crate::config::{Grants, Limits, OnError, PluginSource, RuntimeConfig};
use aegis_wire::Signal;

pub(crate) use host::PluginState;
pub use instance::{Failure, FailureKind, Outcome, Slot};

/// The generated WIT types the rest of the host exchanges with plugins.
pub(crate) mod wit {
    pub(crate) use super::bindings::types::{FileLine, Frame, HttpRequest, HttpResponse, Input, Payload, Scrape};
}

include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));

/// The names of the first-party plugins embedded in this binary.
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTIN_PLUGINS.iter().map(|(name, _)| *name)
}

/// What went wrong while loading or preparing a plugin.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The engine could not be set up.
    #[error("cannot set up the Wasm engine: {0}")]
    Engine(String),
    /// `builtin:NAME` names no embedded plugin.
    #[error("no built-in plugin is called `{name}` (built-ins: {known})")]
    UnknownBuiltin {
        /// The name asked for.
        name: String,
        /// The names there are.
        known: String,
    },
    /// The file could not be read.
    #[error("cannot read {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// `native:NAME` names no registered native processor.
    #[error(
        "no native processor is registered as `{name}` (native processors exist only where Aegis is embedded as a library)"
    )]
    UnknownNative {
        /// The name asked for.
        name: String,
    },
    /// The bytes are not a valid component.
    #[error("{plugin} is not a valid WebAssembly component: {error}")]
    Compile {
        /// The plugin.
        plugin: PluginSource,
        /// wasmtime's explanation.
        error: String,
    },
    /// The component implements another world than the role asks for.
    #[error("{plugin} implements the `{found}` world, but a {expected} is needed here")]
    WrongWorld {
        /// The plugin.
        plugin: PluginSource,
        /// The world it implements (or `no Aegis`).
        found: String,
        /// The world needed.
        expected: World,
    },
    /// The component imports something the host does not provide.
    #[error("{plugin} cannot be linked: {error}")]
    Link {
        /// The plugin.
        plugin: PluginSource,
        /// wasmtime's explanation (names the import).
        error: String,
    },
    /// `describe` or `init` failed.
    #[error("{plugin}: {failure}")]
    Plugin {
        /// The plugin.
        plugin: PluginSource,
        /// What happened.
        failure: Failure,
    },
    /// A capability in `grants` could not be given.
    #[error("{plugin}: cannot grant {what}: {error}")]
    Grant {
        /// The plugin.
        plugin: PluginSource,
        /// The grant.
        what: String,
        /// Why.
        error: String,
    },
}

/// The three plugin worlds of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum World {
    /// `aegis:telemetry/processor`.
    Processor,
    /// `aegis:telemetry/receiver`.
    Receiver,
    /// `aegis:telemetry/exporter`.
    Exporter,
}

impl fmt::Display for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            World::Processor => "processor",
            World::Receiver => "receiver",
            World::Exporter => "exporter",
        })
    }
}

/// Who a plugin says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The signals it handles.
    pub signals: Vec<Signal>,
}

/// What `aegis plugin inspect` shows of a component.
#[derive(Debug, Clone)]
pub struct Inspection {
    /// The world it implements, if it is an Aegis plugin.
    pub world: Option<World>,
    /// Every import, by name (e.g. `aegis:telemetry/host@0.1.0`, `wasi:cli/environment@0.2.6`).
    pub imports: Vec<String>,
    /// Every export, by name.
    pub exports: Vec<String>,
    /// What `describe` said, when the component could be instantiated.
    pub info: Option<PluginInfo>,
}

/// The engine and linker every plugin shares.
pub struct Runtime {
    shared: Arc<Shared>,
    components: Mutex<HashMap<PluginSource, Component>>,
    ticker: Option<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
}

pub(crate) struct Shared {
    engine: Engine,
    linker: Linker<PluginState>,
    telemetry: Arc<Telemetry>,
    epoch_tick: Duration,
}

/// The largest linear memory any plugin may be given; each pooled slot reserves this much
/// virtual address space (not memory).
const MAX_PLUGIN_MEMORY: u64 = 4 << 30;

impl Runtime {
    /// Sets up the engine: cranelift, epoch interruption, the pooling allocator (falling back
    /// to on-demand allocation where the address space is too small), and the disk cache.
    pub fn new(config: &RuntimeConfig, telemetry: Arc<Telemetry>) -> Result<Self, RuntimeError> {
        let engine = match Self::engine(config, true) {
            Ok(engine) => engine,
            Err(error) => {
                tracing::warn!(%error, "The pooling allocator is unavailable; plugins use on-demand allocation.");
                Self::engine(config, false)?
            }
        };
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| RuntimeError::Engine(e.to_string()))?;
        bindings::host::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |state| state)
            .map_err(|e| RuntimeError::Engine(e.to_string()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let engine = engine.clone();
            let stop = stop.clone();
            let tick = config.epoch_tick;
            std::thread::Builder::new()
                .name("aegis-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(tick);
                        engine.increment_epoch();
                    }
                })
                .map_err(|e| RuntimeError::Engine(e.to_string()))?
        };
        Ok(Self {
            shared: Arc::new(Shared { engine, linker, telemetry, epoch_tick: config.epoch_tick }),
            components: Mutex::new(HashMap::new()),
            ticker: Some(ticker),
            stop,
        })
    }

    fn engine(config: &RuntimeConfig, pooling: bool) -> Result<Engine, RuntimeError> {
        let mut engine = EngineConfig::new();
        engine.wasm_component_model(true).epoch_interruption(config.cpu_limit).parallel_compilation(true);
        // `AEGIS_WASM_PROFILER=perfmap` writes /tmp/perf-PID.map, so that `perf record` names
        // the plugins' compiled functions.
        if std::env::var("AEGIS_WASM_PROFILER").is_ok_and(|v| v == "perfmap") {
            engine.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        if pooling {
            let mut pool = PoolingAllocationConfig::default();
            pool.total_component_instances(512)
                .total_core_instances(1024)
                .total_memories(512)
                .total_tables(1024)
                .total_stacks(512)
                .max_memory_size(MAX_PLUGIN_MEMORY as usize)
                .max_memories_per_component(4)
                .max_tables_per_component(8);
            engine.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        if config.cache {
            let mut cache = wasmtime::CacheConfig::new();
            if let Some(dir) = &config.cache_dir {
                cache.with_directory(dir);
            }
            match wasmtime::Cache::new(cache) {
                Ok(cache) => {
                    engine.cache(Some(cache));
                }
                Err(error) => {
                    tracing::warn!(%error, "The compilation cache is unavailable; plugins compile at every start.")
                }
            }
        }
        let engine = Engine::new(&engine).map_err(|e| RuntimeError::Engine(e.to_string()))?;
        if pooling {
            // Reserving the pool happens lazily; make one store to find out whether it fits.
            let mut store = wasmtime::Store::new(&engine, ());
            wasmtime::Memory::new(&mut store, wasmtime::MemoryType::new(1, None))
                .map_err(|e| RuntimeError::Engine(e.to_string()))?;
        }
        Ok(engine)
    }

    /// The engine's self-metrics.
    pub fn telemetry(&self) -> &Arc<Telemetry> {
        &self.shared.telemetry
    }

    /// Compiles a component once per process (and once per machine with the disk cache).
    fn component(&self, source: &PluginSource) -> Result<Component, RuntimeError> {
        let mut components = self.components.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(component) = components.get(source) {
            return Ok(component.clone());
        }
        let bytes: std::borrow::Cow<'static, [u8]> = match source {
            PluginSource::Builtin(name) => match BUILTIN_PLUGINS.iter().find(|(builtin, _)| builtin == name) {
                Some((_, bytes)) => (*bytes).into(),
                None => {
                    return Err(RuntimeError::UnknownBuiltin {
                        name: name.clone(),
                        known: builtin_names().collect::<Vec<_>>().join(", "),
                    });
                }
            },
            PluginSource::File(path) => {
                std::fs::read(path).map_err(|error| RuntimeError::Read { path: path.clone(), error })?.into()
            }
            PluginSource::Native(name) => return Err(RuntimeError::UnknownNative { name: name.clone() }),
        };
        let component = Component::new(&self.shared.engine, &bytes)
            .map_err(|e| RuntimeError::Compile { plugin: source.clone(), error: format!("{e:#}") })?;
        components.insert(source.clone(), component.clone());
        Ok(component)
    }

    /// Which world a component implements, judged by its exports.
    fn exports(&self, component: &Component, name: &str) -> bool {
        component.component_type().exports(&self.shared.engine).any(|(export, _)| export == name)
    }

    fn world_of(&self, component: &Component) -> Option<World> {
        let ty = component.component_type();
        let exports: Vec<&str> = ty.exports(&self.shared.engine).map(|(name, _)| name).collect();
        let has = |name: &str| exports.contains(&name);
        if has("process") {
            Some(World::Processor)
        } else if has("receive") {
            Some(World::Receiver)
        } else if has("export") && has("render") {
            Some(World::Exporter)
        } else {
            None
        }
    }

    /// Loads a plugin for a role: checks its world and imports, calls `describe` and
    /// `init(config)` once so that a bad config is reported before anything runs.
    pub fn prepare(&self, spec: PluginSpec) -> Result<Arc<Plugin>, RuntimeError> {
        if let PluginSource::Native(name) = &spec.source {
            let factory = native::lookup(name).ok_or_else(|| RuntimeError::UnknownNative { name: name.clone() })?;
            if spec.world != World::Processor {
                return Err(RuntimeError::WrongWorld {
                    plugin: spec.source.clone(),
                    found: "native processor".into(),
                    expected: spec.world,
                });
            }
            let info = PluginInfo { name: name.clone(), version: "native".into(), signals: factory.signals.clone() };
            return Ok(Arc::new(Plugin {
                spec,
                ticks: false,
                kind: Kind::Native(factory),
                shared: self.shared.clone(),
                info: Some(info),
            }));
        }
        let component = self.component(&spec.source)?;
        match self.world_of(&component) {
            Some(world) if world == spec.world => {}
            found => {
                return Err(RuntimeError::WrongWorld {
                    plugin: spec.source.clone(),
                    found: found.map_or_else(|| "no Aegis".to_string(), |w| w.to_string()),
                    expected: spec.world,
                });
            }
        }
        let pre = self
            .shared
            .linker
            .instantiate_pre(&component)
            .map_err(|e| RuntimeError::Link { plugin: spec.source.clone(), error: format!("{e:#}") })?;
        let ticks = spec.world == World::Processor && self.exports(&component, "tick");
        let mut plugin = Plugin { spec, kind: Kind::Wasm(pre), ticks, shared: self.shared.clone(), info: None };
        let (_, info) = instance::Instance::start(&plugin)?;
        plugin.info = Some(info);
        Ok(Arc::new(plugin))
    }

    /// What a component file is: its world, imports and exports, and what `describe` says.
    pub fn inspect(&self, path: &Path) -> Result<Inspection, RuntimeError> {
        let source = PluginSource::File(path.to_path_buf());
        let component = self.component(&source)?;
        let engine = &self.shared.engine;
        let ty = component.component_type();
        let imports = ty.imports(engine).map(|(name, _)| name.to_string()).collect();
        let exports = ty
            .exports(engine)
            .map(|(name, item)| match item.ty {
                ComponentItem::ComponentFunc(_) => format!("{name} (function)"),
                ComponentItem::ComponentInstance(_) => format!("{name} (interface)"),
                _ => name.to_string(),
            })
            .collect();
        let world = self.world_of(&component);
        let info = world.and_then(|world| {
            let spec = PluginSpec {
                name: "inspect".into(),
                source: source.clone(),
                world,
                config_json: "{}".into(),
                limits: Limits::default(),
                on_error: OnError::Pass,
                grants: Grants::default(),
            };
            let pre = self.shared.linker.instantiate_pre(&component).ok()?;
            let ticks = world == World::Processor && self.exports(&component, "tick");
            let plugin = Plugin { spec, kind: Kind::Wasm(pre), ticks, shared: self.shared.clone(), info: None };
            instance::Instance::describe_only(&plugin).ok()
        });
        Ok(Inspection { world, imports, exports, info })
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
    }
}

/// How a prepared plugin runs.
enum Kind {
    /// A Wasm component, ready to instantiate.
    Wasm(wasmtime::component::InstancePre<PluginState>),
    /// A native processor registered by an embedding program.
    Native(Arc<native::Registration>),
}

/// Everything needed to load one configured plugin.
#[derive(Debug, Clone)]
pub struct PluginSpec {
    /// The component's name in the config (`scrub` for `[processors.scrub]`).
    pub name: String,
    /// Where the component comes from.
    pub source: PluginSource,
    /// The world its role needs.
    pub world: World,
    /// Its config table as JSON text, for `init`.
    pub config_json: String,
    /// Memory and CPU limits per call.
    pub limits: Limits,
    /// What happens to a batch when it fails.
    pub on_error: OnError,
    /// Capabilities granted to it.
    pub grants: Grants,
}

/// A prepared plugin: checked, described, ready to instantiate any number of times.
pub struct Plugin {
    spec: PluginSpec,
    kind: Kind,
    /// Whether the component exports `tick` (the `timed-processor` world).
    ticks: bool,
    shared: Arc<Shared>,
    info: Option<PluginInfo>,
}

impl Plugin {
    /// What `describe` said.
    pub fn info(&self) -> &PluginInfo {
        self.info.as_ref().expect("a prepared plugin has been described")
    }

    /// The configured name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The `on_error` policy.
    pub fn on_error(&self) -> OnError {
        self.spec.on_error
    }

    /// A fresh slot holding one instance, started lazily.
    pub fn slot(self: &Arc<Self>) -> Slot {
        Slot::new(self.clone())
    }
}
