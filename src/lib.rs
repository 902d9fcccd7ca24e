//! Aegis: a telemetry pipeline whose receivers, processors and exporters beyond the OTLP
//! core are sandboxed WebAssembly components written against a WIT contract.

pub mod admin;
pub mod batch;
pub mod config;
pub(crate) mod exporters;
pub(crate) mod net;
pub(crate) mod otlp;
pub(crate) mod receivers;
pub mod runtime;
pub mod service;
pub mod topology;
