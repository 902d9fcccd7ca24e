//! The one place the host's bindings to the WIT contract are generated: one module per
//! world, sharing the `types` and `host` interfaces generated with the processor world.

#![allow(missing_docs, unreachable_pub, clippy::all)]

/// The `processor` world, and the shared `aegis:telemetry/types` and `host` interfaces.
pub(crate) mod processor {
    wasmtime::component::bindgen!({
        world: "processor",
        path: "wit",
    });
}

/// The `timed-processor` world: a processor with `tick`.
pub(crate) mod timed_processor {
    wasmtime::component::bindgen!({
        world: "timed-processor",
        path: "wit",
        with: {
            "aegis:telemetry/types": super::processor::aegis::telemetry::types,
            "aegis:telemetry/host": super::processor::aegis::telemetry::host,
        },
    });
}

/// The `receiver` world.
pub(crate) mod receiver {
    wasmtime::component::bindgen!({
        world: "receiver",
        path: "wit",
        with: {
            "aegis:telemetry/types": super::processor::aegis::telemetry::types,
            "aegis:telemetry/host": super::processor::aegis::telemetry::host,
        },
    });
}

/// The `exporter` world.
pub(crate) mod exporter {
    wasmtime::component::bindgen!({
        world: "exporter",
        path: "wit",
        with: {
            "aegis:telemetry/types": super::processor::aegis::telemetry::types,
            "aegis:telemetry/host": super::processor::aegis::telemetry::host,
        },
    });
}

pub(crate) use processor::aegis::telemetry::{host, types};
