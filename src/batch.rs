//! The unit that moves through a pipeline: OTLP protobuf bytes of one signal, with the
//! number of items (log records, spans or data points) they hold.

use bytes::Bytes;

pub use aegis_wire::Signal;

/// One batch of telemetry.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Which signal the bytes are.
    pub signal: Signal,
    /// An encoded `Export{Logs,Trace,Metrics}ServiceRequest`.
    pub payload: Bytes,
    /// How many items the payload holds.
    pub items: usize,
}

/// The lower-case name of a signal, as in configs and metric labels.
pub fn signal_name(signal: Signal) -> &'static str {
    match signal {
        Signal::Logs => "logs",
        Signal::Traces => "traces",
        Signal::Metrics => "metrics",
    }
}

impl From<crate::config::SignalName> for Signal {
    fn from(name: crate::config::SignalName) -> Self {
        match name {
            crate::config::SignalName::Logs => Signal::Logs,
            crate::config::SignalName::Traces => Signal::Traces,
            crate::config::SignalName::Metrics => Signal::Metrics,
        }
    }
}
