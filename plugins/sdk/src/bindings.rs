//! The one place where bindings for the WIT contract (`wit/` at the repository root)
//! are generated: one module per world. The export glue is emitted only where a plugin
//! invokes its world's export macro, so a plugin exports exactly its world's functions.

/// Bindings for processors: the `timed-processor` world (the `processor` world with
/// `tick`, which the SDK answers for every processor), also carrying the shared `types` and
/// `host` interfaces for the other worlds.
#[allow(clippy::all)] // generated code
pub mod processor {
    wit_bindgen::generate!({
        world: "timed-processor",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "$crate::__private::bindings::processor",
    });
}

/// Bindings for the `receiver` world.
#[allow(clippy::all)] // generated code
pub mod receiver {
    wit_bindgen::generate!({
        world: "receiver",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "$crate::__private::bindings::receiver",
        with: {
            "aegis:telemetry/types@0.1.0": crate::bindings::processor::aegis::telemetry::types,
            "aegis:telemetry/host@0.1.0": crate::bindings::processor::aegis::telemetry::host,
        },
    });
}

/// Bindings for the `exporter` world.
#[allow(clippy::all)] // generated code
pub mod exporter {
    wit_bindgen::generate!({
        world: "exporter",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "$crate::__private::bindings::exporter",
        with: {
            "aegis:telemetry/types@0.1.0": crate::bindings::processor::aegis::telemetry::types,
            "aegis:telemetry/host@0.1.0": crate::bindings::processor::aegis::telemetry::host,
        },
    });
}

/// The types every world shares.
pub(crate) use processor::aegis::telemetry::types as wit;
