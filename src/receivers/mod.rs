//! Receivers: the built-in OTLP receiver (gRPC and HTTP) and the host transports that feed
//! receiver plugins (HTTP paths, TCP lines, UDP datagrams, scrapes, timers).
//!
//! Every receiver hands what it accepted to [`Outputs`], which enqueues it in every pipeline
//! the receiver feeds, or in none: a request is acknowledged only once every pipeline has
//! room for it, so nothing acknowledged is lost and nothing refused is half-delivered.

pub(crate) mod files;
pub(crate) mod otlp;
pub(crate) mod plugin;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use prometheus::IntCounter;

use crate::admin::metrics::Telemetry;
use crate::batch::{Batch, Signal, signal_name};
use crate::topology::pipeline::PipelineInput;

/// Why input was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No pipeline takes this signal from this receiver.
    NoPipeline,
    /// A pipeline queue stayed full for the whole accept timeout.
    Full,
    /// The collector is shutting down.
    ShuttingDown,
}

impl Refusal {
    fn reason(self) -> &'static str {
        match self {
            Refusal::NoPipeline => "no_pipeline",
            Refusal::Full => "queue_full",
            Refusal::ShuttingDown => "shutting_down",
        }
    }
}

struct SignalOutputs {
    pipelines: Vec<PipelineInput>,
    received: IntCounter,
    accepted: IntCounter,
    refused_invalid: IntCounter,
    refused: [IntCounter; 3],
}

/// The pipelines one receiver feeds, by signal, with its counters.
#[derive(Clone)]
pub(crate) struct Outputs {
    name: Arc<str>,
    signals: Arc<[SignalOutputs; 3]>,
    accept_timeout: Duration,
}

fn index(signal: Signal) -> usize {
    match signal {
        Signal::Logs => 0,
        Signal::Traces => 1,
        Signal::Metrics => 2,
    }
}

impl Outputs {
    pub(crate) fn new(
        name: &str,
        pipelines: Vec<PipelineInput>,
        accept_timeout: Duration,
        telemetry: &Telemetry,
    ) -> Self {
        let make = |signal: Signal| {
            let label = signal_name(signal);
            let refused = |reason: &str| telemetry.receiver_refused.with_label_values(&[name, label, reason]);
            SignalOutputs {
                pipelines: pipelines.iter().filter(|p| p.signal == signal).cloned().collect(),
                received: telemetry.receiver_received.with_label_values(&[name, label]),
                accepted: telemetry.receiver_accepted.with_label_values(&[name, label]),
                refused_invalid: telemetry.receiver_invalid.with_label_values(&[name, label]),
                refused: [
                    refused(Refusal::NoPipeline.reason()),
                    refused(Refusal::Full.reason()),
                    refused(Refusal::ShuttingDown.reason()),
                ],
            }
        };
        Self {
            name: name.into(),
            signals: Arc::new([make(Signal::Logs), make(Signal::Traces), make(Signal::Metrics)]),
            accept_timeout,
        }
    }

    /// The receiver's configured name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Whether any pipeline takes `signal` from this receiver.
    pub(crate) fn accepts(&self, signal: Signal) -> bool {
        !self.signals[index(signal)].pipelines.is_empty()
    }

    /// Counts a request that was refused before delivery because it was malformed (its
    /// items cannot be counted, so requests are).
    pub(crate) fn count_invalid(&self, signal: Signal) {
        self.signals[index(signal)].refused_invalid.inc();
    }

    /// Enqueues a validated batch in every pipeline that takes its signal, or in none.
    pub(crate) async fn deliver(&self, signal: Signal, payload: Bytes, items: usize) -> Result<(), Refusal> {
        let outputs = &self.signals[index(signal)];
        outputs.received.inc_by(items as u64);
        let result = self.reserve_and_send(outputs, signal, payload, items).await;
        match result {
            Ok(()) => outputs.accepted.inc_by(items as u64),
            Err(refusal) => {
                let slot = match refusal {
                    Refusal::NoPipeline => 0,
                    Refusal::Full => 1,
                    Refusal::ShuttingDown => 2,
                };
                outputs.refused[slot].inc_by(items as u64);
            }
        }
        result
    }

    async fn reserve_and_send(
        &self,
        outputs: &SignalOutputs,
        signal: Signal,
        payload: Bytes,
        items: usize,
    ) -> Result<(), Refusal> {
        if outputs.pipelines.is_empty() {
            return Err(Refusal::NoPipeline);
        }
        let deadline = tokio::time::Instant::now() + self.accept_timeout;
        let mut permits = Vec::with_capacity(outputs.pipelines.len());
        for pipeline in &outputs.pipelines {
            match tokio::time::timeout_at(deadline, pipeline.sender.reserve()).await {
                Ok(Ok(permit)) => permits.push(permit),
                Ok(Err(_)) => return Err(Refusal::ShuttingDown),
                Err(_) => return Err(Refusal::Full),
            }
        }
        for (permit, pipeline) in permits.into_iter().zip(&outputs.pipelines) {
            pipeline.depth.inc();
            pipeline.items_in.inc_by(items as u64);
            permit.send(Batch { signal, payload: payload.clone(), items });
        }
        Ok(())
    }
}
