//! The processor world: a batch in, a batch (or nothing) out.

use aegis_wire::{Logs, Metrics, Signal, Traces};

use crate::{Config, Error, PluginInfo, types::ALL_SIGNALS};

/// A processor plugin. Implement the `process_*` methods for the signals you handle
/// (the others pass batches through untouched) and export the type with
/// [`export_processor!`](crate::export_processor).
///
/// Edits made through the batch (`logs.records_mut()`, ...) are spliced into the
/// bytes when the method returns; a batch nothing was done to goes back to the host as
/// "unchanged", without being copied.
pub trait Processor: Sized + 'static {
    /// The signals this processor handles; the host refuses pipelines of others.
    /// Defaults to all three.
    fn signals() -> Vec<Signal> {
        ALL_SIGNALS.to_vec()
    }

    /// Who the plugin is. `info` holds the crate's name (without `aegis-plugin-`),
    /// its version and [`Processor::signals`]; change what you need.
    fn describe(info: PluginInfo) -> PluginInfo {
        info
    }

    /// Builds the processor from its configuration. Types that implement `Default`
    /// and take no configuration need not implement this.
    fn init(config: Config) -> Result<Self, Error> {
        let _ = config;
        Err(Error::not_implemented())
    }

    /// Processes a batch of logs. Defaults to passing it through.
    fn process_logs(&mut self, logs: &mut Logs<'_>) -> Result<(), Error> {
        let _ = logs;
        Ok(())
    }

    /// Processes a batch of traces. Defaults to passing it through.
    fn process_traces(&mut self, traces: &mut Traces<'_>) -> Result<(), Error> {
        let _ = traces;
        Ok(())
    }

    /// Processes a batch of metrics. Defaults to passing it through.
    fn process_metrics(&mut self, metrics: &mut Metrics<'_>) -> Result<(), Error> {
        let _ = metrics;
        Ok(())
    }

    /// Called on a timer (the processor's `tick_interval`, 1 s by default) whether batches
    /// come or not, and once more with `stopping` set when the pipeline drains at shutdown:
    /// returns what the processor sends on now, as (signal, OTLP request bytes). A processor
    /// that holds records between batches (tail sampling, aggregation) decides here what
    /// time alone decides, and hands everything over when `stopping`. Defaults to nothing.
    fn tick(&mut self, now_unix_nanos: u64, stopping: bool) -> Result<Vec<(Signal, Vec<u8>)>, Error> {
        let _ = (now_unix_nanos, stopping);
        Ok(Vec::new())
    }
}

/// Runs a processor over one batch outside WebAssembly, exactly as the export glue
/// does inside it: for a plugin's own unit tests.
pub fn run<T: Processor>(processor: &mut T, signal: Signal, payload: &[u8]) -> Result<aegis_wire::Outcome, Error> {
    Ok(match signal {
        Signal::Logs => {
            let mut logs = Logs::parse(payload)?;
            processor.process_logs(&mut logs)?;
            logs.finish()
        }
        Signal::Traces => {
            let mut traces = Traces::parse(payload)?;
            processor.process_traces(&mut traces)?;
            traces.finish()
        }
        Signal::Metrics => {
            let mut metrics = Metrics::parse(payload)?;
            processor.process_metrics(&mut metrics)?;
            metrics.finish()
        }
    })
}

/// The export glue, instantiated by [`export_processor!`](crate::export_processor).
#[doc(hidden)]
pub mod glue {
    use super::*;
    use crate::bindings::wit;
    use crate::glue::{Slot, init_instance};

    pub fn describe<T: Processor>(package: &str, version: &str) -> wit::PluginInfo {
        T::describe(PluginInfo::from_crate(package, version, T::signals())).into()
    }

    pub fn init<T: Processor>(
        slot: &'static Slot<T>,
        config: &str,
        fallback: fn() -> Option<T>,
    ) -> Result<(), wit::Error> {
        let instance = init_instance(config, T::init, fallback)?;
        slot.with_borrow_mut(|s| *s = Some(instance));
        Ok(())
    }

    pub fn tick<T: Processor>(
        slot: &'static Slot<T>,
        now_unix_nanos: u64,
        stopping: bool,
    ) -> Result<Vec<wit::Batch>, wit::Error> {
        slot.with_borrow_mut(|instance| {
            let processor = instance.as_mut().ok_or_else(|| Error::failed("`tick` was called before `init`"))?;
            let batches = processor.tick(now_unix_nanos, stopping)?;
            Ok(batches
                .into_iter()
                .map(|(signal, payload)| wit::Batch { signal: crate::types::to_wit_signal(signal), payload })
                .collect())
        })
        .map_err(|e: Error| e.into())
    }

    pub fn process<T: Processor>(slot: &'static Slot<T>, batch: wit::Batch) -> Result<wit::Outcome, wit::Error> {
        slot.with_borrow_mut(|instance| {
            let processor = instance.as_mut().ok_or_else(|| Error::failed("`process` was called before `init`"))?;
            Ok(match run(processor, batch.signal.into(), &batch.payload)? {
                aegis_wire::Outcome::Unchanged => wit::Outcome::Unchanged,
                aegis_wire::Outcome::Replaced(bytes) => wit::Outcome::Replaced(bytes),
                aegis_wire::Outcome::Dropped => wit::Outcome::Dropped,
            })
        })
        .map_err(|e: Error| e.into())
    }
}
