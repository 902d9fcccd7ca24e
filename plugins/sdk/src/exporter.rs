//! The exporter world: batches in, payloads for the host to send out (push), or state
//! rendered when the host serves a request (pull).

use aegis_wire::Signal;

use crate::types::ALL_SIGNALS;
use crate::{Batch, Config, Error, HttpRequest, HttpResponse, Payload, PluginInfo};

/// An exporter plugin. Push exporters turn batches into payloads in
/// [`Exporter::export`] (or buffer them and hand them over in [`Exporter::flush`]);
/// pull exporters keep state and answer [`Exporter::render`]. Export it with
/// [`export_exporter!`](crate::export_exporter).
pub trait Exporter: Sized + 'static {
    /// The signals this exporter accepts. Defaults to all three.
    fn signals() -> Vec<Signal> {
        ALL_SIGNALS.to_vec()
    }

    /// Who the plugin is; see [`crate::Processor::describe`].
    fn describe(info: PluginInfo) -> PluginInfo {
        info
    }

    /// Builds the exporter from its configuration. Types that implement `Default`
    /// and take no configuration need not implement this.
    fn init(config: Config) -> Result<Self, Error> {
        let _ = config;
        Err(Error::not_implemented())
    }

    /// Takes one batch; returns the payloads to send now. Defaults to sending nothing.
    fn export(&mut self, batch: Batch) -> Result<Vec<Payload>, Error> {
        let _ = batch;
        Ok(Vec::new())
    }

    /// Called on every flush tick and at shutdown; returns what the exporter still
    /// holds. Defaults to nothing.
    fn flush(&mut self, now_unix_nanos: u64) -> Result<Vec<Payload>, Error> {
        let _ = now_unix_nanos;
        Ok(Vec::new())
    }

    /// Serves a request on the exporter's listen address. Defaults to 404.
    fn render(&mut self, request: HttpRequest) -> Result<HttpResponse, Error> {
        let _ = request;
        Ok(HttpResponse::not_found())
    }
}

/// The export glue, instantiated by [`export_exporter!`](crate::export_exporter).
#[doc(hidden)]
pub mod glue {
    use super::*;
    use crate::bindings::wit;
    use crate::glue::{Slot, init_instance};

    pub fn describe<T: Exporter>(package: &str, version: &str) -> wit::PluginInfo {
        T::describe(PluginInfo::from_crate(package, version, T::signals())).into()
    }

    pub fn init<T: Exporter>(
        slot: &'static Slot<T>,
        config: &str,
        fallback: fn() -> Option<T>,
    ) -> Result<(), wit::Error> {
        let instance = init_instance(config, T::init, fallback)?;
        slot.with_borrow_mut(|s| *s = Some(instance));
        Ok(())
    }

    fn with<T: Exporter, R>(
        slot: &'static Slot<T>,
        call: &str,
        f: impl FnOnce(&mut T) -> Result<R, Error>,
    ) -> Result<R, wit::Error> {
        slot.with_borrow_mut(|instance| match instance.as_mut() {
            Some(exporter) => f(exporter),
            None => Err(Error::failed(format!("`{call}` was called before `init`"))),
        })
        .map_err(Into::into)
    }

    pub fn export<T: Exporter>(slot: &'static Slot<T>, batch: wit::Batch) -> Result<Vec<wit::Payload>, wit::Error> {
        with(slot, "export", |e| e.export(batch.into())).map(|p| p.into_iter().map(Into::into).collect())
    }

    pub fn flush<T: Exporter>(slot: &'static Slot<T>, now: u64) -> Result<Vec<wit::Payload>, wit::Error> {
        with(slot, "flush", |e| e.flush(now)).map(|p| p.into_iter().map(Into::into).collect())
    }

    pub fn render<T: Exporter>(
        slot: &'static Slot<T>,
        request: wit::HttpRequest,
    ) -> Result<wit::HttpResponse, wit::Error> {
        with(slot, "render", |e| e.render(request.into())).map(Into::into)
    }
}
