//! A processor of the plain `processor` world: it counts the batches it sees in a host
//! counter and drops logs batches whose payload is empty, passing everything else on
//! unchanged. It exports no `tick`, so the host must never call one.

// The generated glue (imports, exports and their ABI) is the one place with `unsafe`.
#[allow(unsafe_code)]
mod bindings {
    wit_bindgen::generate!({ path: "../../../wit", world: "processor" });
    use super::Plain;
    export!(Plain with_types_in self);
}

use bindings::aegis::telemetry::host;
use bindings::aegis::telemetry::types::{Batch, Error, ErrorKind, Outcome, PluginInfo, Signal};

struct Plain;

impl bindings::Guest for Plain {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "plain-processor".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            signals: vec![Signal::Logs, Signal::Traces, Signal::Metrics],
        }
    }

    fn init(config: String) -> Result<(), Error> {
        if config.contains("\"fail\"") {
            return Err(Error { kind: ErrorKind::Config, message: "asked to fail".into() });
        }
        Ok(())
    }

    fn process(batch: Batch) -> Result<Outcome, Error> {
        host::counter_add("plain_batches", 1, &[]);
        Ok(if batch.payload.is_empty() { Outcome::Dropped } else { Outcome::Unchanged })
    }
}
