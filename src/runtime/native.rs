//! Processors written in Rust and linked into a program that embeds Aegis as a library,
//! configured as `plugin = "native:NAME"`. They run in the same pipeline slots as Wasm
//! processors, and their output is validated the same way, which makes them the fair
//! baseline the benchmarks compare Wasm plugins against. The `aegis` binary registers none.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::batch::Signal;

/// What a native processor did with a batch.
#[derive(Debug)]
pub enum NativeOutcome {
    /// The batch passes on as it came in.
    Unchanged,
    /// The batch passes on as these bytes.
    Replaced(Vec<u8>),
    /// Nothing passes on.
    Dropped,
}

/// A processor written in Rust.
pub trait NativeProcessor: Send {
    /// Processes one batch of OTLP protobuf bytes; an error gets the `on_error` policy.
    fn process(&mut self, signal: Signal, payload: &[u8]) -> Result<NativeOutcome, String>;
}

/// A registered native processor: the signals it handles and how to make one per worker.
pub struct Registration {
    pub(crate) signals: Vec<Signal>,
    pub(crate) factory: Box<dyn Fn() -> Box<dyn NativeProcessor> + Send + Sync>,
}

fn registry() -> &'static Mutex<HashMap<String, Arc<Registration>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<String, Arc<Registration>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// Registers a native processor under `name`, for `plugin = "native:NAME"`.
pub fn register(
    name: &str,
    signals: &[Signal],
    factory: impl Fn() -> Box<dyn NativeProcessor> + Send + Sync + 'static,
) {
    let registration = Registration { signals: signals.to_vec(), factory: Box::new(factory) };
    registry().lock().unwrap_or_else(|p| p.into_inner()).insert(name.to_string(), Arc::new(registration));
}

pub(crate) fn lookup(name: &str) -> Option<Arc<Registration>> {
    registry().lock().unwrap_or_else(|p| p.into_inner()).get(name).cloned()
}
