//! The receiver world: raw input from a host transport in, telemetry out.

use aegis_wire::Signal;

use crate::{Config, Error, Input, PluginInfo, Received, types::ALL_SIGNALS};

/// A receiver plugin: turns what a host transport delivers (HTTP bodies, socket
/// frames, file lines, scrapes, ticks) into batches. Export it with
/// [`export_receiver!`](crate::export_receiver).
pub trait Receiver: Sized + 'static {
    /// The signals this receiver produces. Defaults to all three.
    fn signals() -> Vec<Signal> {
        ALL_SIGNALS.to_vec()
    }

    /// Who the plugin is; see [`crate::Processor::describe`].
    fn describe(info: PluginInfo) -> PluginInfo {
        info
    }

    /// Builds the receiver from its configuration. Types that implement `Default`
    /// and take no configuration need not implement this.
    fn init(config: Config) -> Result<Self, Error> {
        let _ = config;
        Err(Error::not_implemented())
    }

    /// Turns one input into telemetry.
    fn receive(&mut self, input: Input) -> Result<Received, Error>;
}

/// The export glue, instantiated by [`export_receiver!`](crate::export_receiver).
#[doc(hidden)]
pub mod glue {
    use super::*;
    use crate::bindings::wit;
    use crate::glue::{Slot, init_instance};

    pub fn describe<T: Receiver>(package: &str, version: &str) -> wit::PluginInfo {
        T::describe(PluginInfo::from_crate(package, version, T::signals())).into()
    }

    pub fn init<T: Receiver>(
        slot: &'static Slot<T>,
        config: &str,
        fallback: fn() -> Option<T>,
    ) -> Result<(), wit::Error> {
        let instance = init_instance(config, T::init, fallback)?;
        slot.with_borrow_mut(|s| *s = Some(instance));
        Ok(())
    }

    pub fn receive<T: Receiver>(slot: &'static Slot<T>, input: wit::Input) -> Result<wit::Received, wit::Error> {
        slot.with_borrow_mut(|instance| {
            let receiver = instance.as_mut().ok_or_else(|| Error::failed("`receive` was called before `init`"))?;
            receiver.receive(input.into()).map(Into::into)
        })
        .map_err(|e: Error| e.into())
    }
}
