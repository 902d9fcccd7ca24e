//! What the sampler counts: decisions by reason and anomalies in what arrived, summed over
//! a batch and handed to the host's metrics once per batch (a host call per item would
//! cost more than the decision).

use aegis_plugin_sdk::{Signal, host};

/// Why an item was kept or dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    /// Kept by the probabilistic decision.
    Sampled,
    /// Dropped by the probabilistic decision.
    NotSampled,
    /// Kept by a keep rule (or, in head mode, with a span of its trace that was).
    KeepRule,
    /// Kept or dropped by `fallback`, having nothing to sample by.
    Fallback,
    /// Dropped by the rate limit.
    RateLimited,
    /// Tail: a span of a trace decided before it arrived.
    Late,
    /// Tail: a span of a trace a policy kept.
    Policy,
    /// Tail: a span of a trace no policy kept.
    NoPolicy,
}

const REASONS: [Reason; 8] = [
    Reason::Sampled,
    Reason::NotSampled,
    Reason::KeepRule,
    Reason::Fallback,
    Reason::RateLimited,
    Reason::Late,
    Reason::Policy,
    Reason::NoPolicy,
];

impl Reason {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Reason::Sampled => "sampled",
            Reason::NotSampled => "not_sampled",
            Reason::KeepRule => "keep_rule",
            Reason::Fallback => "fallback",
            Reason::RateLimited => "rate_limited",
            Reason::Late => "late",
            Reason::Policy => "policy",
            Reason::NoPolicy => "no_policy",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Something odd about an item, handled and counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Anomaly {
    /// No trace id, explicit randomness or attribute to sample by: `fallback` applied.
    NoRandomness,
    /// A threshold that the item's own randomness does not pass; erased.
    InconsistentThreshold,
    /// A `th` or `rv` (or `sampling.*` attribute) that does not parse; ignored.
    MalformedSamplingValue,
    /// The trace state would have grown past its limit; left as it was.
    TraceStateTooLong,
}

const ANOMALIES: [Anomaly; 4] = [
    Anomaly::NoRandomness,
    Anomaly::InconsistentThreshold,
    Anomaly::MalformedSamplingValue,
    Anomaly::TraceStateTooLong,
];

impl Anomaly {
    fn name(self) -> &'static str {
        match self {
            Anomaly::NoRandomness => "no_randomness",
            Anomaly::InconsistentThreshold => "inconsistent_threshold",
            Anomaly::MalformedSamplingValue => "malformed_sampling_value",
            Anomaly::TraceStateTooLong => "trace_state_too_long",
        }
    }
}

/// The counts of one batch.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    kept: [u64; REASONS.len()],
    dropped: [u64; REASONS.len()],
    anomalies: [u64; ANOMALIES.len()],
}

impl Tally {
    /// Counts `n` items kept (or dropped) for `reason`.
    pub(crate) fn add(&mut self, keep: bool, reason: Reason, n: u64) {
        let row = if keep { &mut self.kept } else { &mut self.dropped };
        row[reason.index()] += n;
    }

    pub(crate) fn anomaly(&mut self, anomaly: Anomaly) {
        self.anomalies[anomaly as usize] += 1;
    }

    /// How many items were kept (or dropped) for `reason`.
    #[cfg(test)]
    pub(crate) fn get(&self, keep: bool, reason: Reason) -> u64 {
        if keep { self.kept[reason.index()] } else { self.dropped[reason.index()] }
    }

    /// How often `anomaly` was seen.
    #[cfg(test)]
    pub(crate) fn anomalies(&self, anomaly: Anomaly) -> u64 {
        self.anomalies[anomaly as usize]
    }

    /// Hands the counts to the host: `aegis_plugin_sample_items_total{signal, decision,
    /// reason}` and `aegis_plugin_sample_anomalies_total{signal, kind}`.
    pub(crate) fn flush(&self, signal: Signal) {
        let signal = signal.as_str();
        for reason in REASONS {
            for (decision, row) in [("kept", &self.kept), ("dropped", &self.dropped)] {
                let n = row[reason.index()];
                if n > 0 {
                    host::counter_add(
                        "sample_items",
                        n,
                        &[("signal", signal), ("decision", decision), ("reason", reason.name())],
                    );
                }
            }
        }
        for anomaly in ANOMALIES {
            let n = self.anomalies[anomaly as usize];
            if n > 0 {
                host::counter_add("sample_anomalies", n, &[("signal", signal), ("kind", anomaly.name())]);
            }
        }
    }
}
