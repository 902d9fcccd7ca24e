//! Head sampling: a decision for each span and log record on its own, consistent across
//! collectors because it depends only on the item's trace id (or attribute, or explicit
//! randomness) and the configuration.

use aegis_plugin_sdk::wire::AttributeScratch;
use aegis_plugin_sdk::{AnyValue, LogRecord, LogRecordMut, Resource, SpanMut, ValueRef};

use crate::config::{AttributeSource, Fallback, Head, LogSource, Mode, Rules};
use crate::counts::{Anomaly, Reason, Tally};
use crate::facts::{LogFacts, SpanFacts};
use crate::seed;
use crate::threshold::{Randomness, Threshold};
use crate::tracestate;

/// The log record attribute that carries the threshold a record was sampled with.
pub(crate) const THRESHOLD_ATTRIBUTE: &str = "sampling.threshold";
/// The log record attribute that carries a record's explicit randomness.
pub(crate) const RANDOMNESS_ATTRIBUTE: &str = "sampling.randomness";

/// A small, fast generator for items that have nothing to sample by (splitmix64).
#[derive(Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// What to do with one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Decision {
    pub(crate) keep: bool,
    pub(crate) reason: Reason,
    /// Spans: the new trace state is in [`HeadSampler::trace_state`]. Logs: write
    /// `threshold` (and `randomness`, when set) as attributes.
    pub(crate) annotate: bool,
    pub(crate) threshold: Threshold,
    pub(crate) randomness: Option<Randomness>,
}

impl Decision {
    pub(crate) fn plain(keep: bool, reason: Reason) -> Self {
        Decision { keep, reason, annotate: false, threshold: Threshold::ALWAYS, randomness: None }
    }

    fn sampled(keep: bool) -> Self {
        Decision::plain(keep, if keep { Reason::Sampled } else { Reason::NotSampled })
    }
}

/// Where an item's randomness came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// Its trace id or its explicit `rv`: nothing to add.
    Carried,
    /// A hash or a random draw: downstream needs it written as `rv` to agree.
    Derived,
}

/// Makes head decisions; owns the scratch space they need.
#[derive(Debug)]
pub(crate) struct HeadSampler {
    head: Head,
    logs: LogSource,
    fallback: Fallback,
    rng: Rng,
    /// The trace state written by the last span decision that annotates.
    trace_state: String,
    /// Attribute values rendered as text for hashing.
    text: String,
}

impl HeadSampler {
    pub(crate) fn new(head: Head, logs: LogSource, fallback: Fallback, rng: Rng) -> Self {
        HeadSampler { head, logs, fallback, rng, trace_state: String::new(), text: String::new() }
    }

    /// The trace state to set on the span of the last decision that annotates.
    pub(crate) fn trace_state(&self) -> &str {
        &self.trace_state
    }

    /// Decides about a span.
    pub(crate) fn span(&mut self, span: &SpanFacts<'_>, tally: &mut Tally) -> Decision {
        let trace_id = span.trace_id;
        match self.head.mode {
            Mode::HashSeed | Mode::Tail => {
                let hash = if valid_trace_id(trace_id) {
                    seed::fnv1a(self.head.seed, trace_id)
                } else {
                    match self.without_id(tally) {
                        Ok(hash) => hash,
                        Err(decision) => return decision,
                    }
                };
                let keep = seed::keeps(hash, self.head.buckets);
                let mut decision = Decision::sampled(keep);
                if keep && self.head.annotate {
                    // Like the Collector: the hash's threshold and randomness go into a trace
                    // state that has no sampling values yet; one that has them is left alone.
                    let raw = span.trace_state;
                    let existing = if raw.is_empty() { Default::default() } else { tracestate::read(raw) };
                    if existing.th.is_none() && existing.rv.is_none() && !existing.malformed {
                        let (th, rv) = (self.head.threshold, seed::randomness(hash));
                        decision.annotate = self.write_trace_state(raw, th, Some(rv), tally);
                    }
                }
                decision
            }
            Mode::Proportional | Mode::Equalizing => {
                let raw = span.trace_state;
                let carried = if raw.is_empty() { Default::default() } else { tracestate::read(raw) };
                if carried.malformed {
                    tally.anomaly(Anomaly::MalformedSamplingValue);
                }
                let (randomness, source) = match carried.rv.or_else(|| Randomness::from_trace_id(trace_id)) {
                    Some(r) => (r, Source::Carried),
                    None => match self.without_id(tally) {
                        Ok(hash) => (seed::randomness(hash), Source::Derived),
                        Err(decision) => return decision,
                    },
                };
                let mut decision = self.threshold_decision(carried.th, randomness, source, tally);
                if decision.annotate {
                    let rv = carried.rv.or(decision.randomness);
                    decision.annotate = self.write_trace_state(raw, decision.threshold, rv, tally);
                } else if decision.keep && carried.malformed {
                    // Nothing new to say, but the unreadable values must not travel on.
                    decision.annotate = self.write_trace_state(raw, decision.threshold, carried.rv, tally);
                }
                decision
            }
        }
    }

    /// Decides about a log record.
    pub(crate) fn log(&mut self, record: &LogRecordMut<'_>, facts: &LogFacts<'_>, tally: &mut Tally) -> Decision {
        let view = record.view();
        let resource = record.resource();
        match self.head.mode {
            Mode::HashSeed | Mode::Tail => {
                let hash = match self.log_hash(facts.trace_id, &view, &resource) {
                    Some(hash) => hash,
                    None => match self.without_id(tally) {
                        Ok(hash) => hash,
                        Err(decision) => return decision,
                    },
                };
                let keep = seed::keeps(hash, self.head.buckets);
                let mut decision = Decision::sampled(keep);
                if keep
                    && self.head.annotate
                    && !(facts.sampling_attributes
                        && (record.has_attribute(THRESHOLD_ATTRIBUTE) || record.has_attribute(RANDOMNESS_ATTRIBUTE)))
                {
                    decision.annotate = true;
                    decision.threshold = self.head.threshold;
                    decision.randomness = Some(seed::randomness(hash));
                }
                decision
            }
            Mode::Proportional | Mode::Equalizing => {
                // Absent: None; present: Some(the value, if it reads as one). The presence
                // tests compare key bytes only, which is much cheaper than reading values.
                let read = |key: &str| {
                    (facts.sampling_attributes && record.has_attribute(key))
                        .then(|| view.attribute(key).and_then(|v: AnyValue<'_>| v.as_str()))
                };
                let parsed_th = read(THRESHOLD_ATTRIBUTE).map(|t| t.and_then(Threshold::parse));
                let parsed_rv = read(RANDOMNESS_ATTRIBUTE).map(|r| r.and_then(Randomness::parse));
                let malformed = matches!(parsed_th, Some(None)) || matches!(parsed_rv, Some(None));
                if malformed {
                    tally.anomaly(Anomaly::MalformedSamplingValue);
                }
                let carried_rv = parsed_rv.flatten();
                let (randomness, source) = match carried_rv {
                    Some(rv) => (rv, Source::Carried),
                    None => match self.log_randomness(facts.trace_id, &view, &resource) {
                        Some(found) => found,
                        None => match self.without_id(tally) {
                            Ok(hash) => (seed::randomness(hash), Source::Derived),
                            Err(decision) => return decision,
                        },
                    },
                };
                let mut decision = self.threshold_decision(parsed_th.flatten(), randomness, source, tally);
                if decision.keep && malformed {
                    decision.annotate = true;
                    decision.randomness = decision.randomness.or(carried_rv);
                }
                decision
            }
        }
    }

    /// The decision of the threshold modes for an item with `randomness` that arrived with
    /// threshold `incoming`.
    fn threshold_decision(
        &mut self,
        incoming: Option<Threshold>,
        randomness: Randomness,
        source: Source,
        tally: &mut Tally,
    ) -> Decision {
        // An item whose randomness is below the threshold it claims should not exist: the
        // specification says to erase that threshold.
        let arrived = incoming.filter(|t| t.keeps(randomness));
        if incoming.is_some() && arrived.is_none() {
            tally.anomaly(Anomaly::InconsistentThreshold);
        }
        let applied = match self.head.mode {
            Mode::Proportional => match arrived {
                // Most items arrive unsampled: the configured threshold, worked out once.
                None => self.head.threshold,
                // Rounding to fewer digits must never lower a threshold set upstream.
                Some(arrived) => {
                    Threshold::from_probability(arrived.probability() * self.head.ratio, self.head.precision)
                        .max(arrived)
                }
            },
            _ => self.head.threshold.max(arrived.unwrap_or(Threshold::ALWAYS)),
        };
        let keep = applied.keeps(randomness);
        let mut decision = Decision::sampled(keep);
        if keep {
            let derived = source == Source::Derived;
            decision.annotate = arrived != Some(applied) || incoming != arrived || derived;
            decision.threshold = applied;
            decision.randomness = derived.then_some(randomness);
        }
        decision
    }

    /// What to do about an item with nothing to sample by: `Ok(hash)` to sample it by a
    /// random hash, or the decision.
    fn without_id(&mut self, tally: &mut Tally) -> Result<u32, Decision> {
        tally.anomaly(Anomaly::NoRandomness);
        match self.fallback {
            Fallback::Random => Ok(self.rng.next_u64() as u32),
            Fallback::Keep => Err(Decision::plain(true, Reason::Fallback)),
            Fallback::Drop => Err(Decision::plain(false, Reason::Fallback)),
        }
    }

    /// The hash of a log record's trace id or attribute, in the configured order.
    fn log_hash(&mut self, trace_id: &[u8], view: &LogRecord<'_>, resource: &Resource<'_>) -> Option<u32> {
        let seed = self.head.seed;
        let by_trace = || valid_trace_id(trace_id).then(|| seed::fnv1a(seed, trace_id));
        match self.logs.first {
            AttributeSource::TraceId => by_trace().or_else(|| self.attribute_hash(view, resource)),
            AttributeSource::Record => self.attribute_hash(view, resource).or_else(by_trace),
        }
    }

    /// The randomness of a log record for the threshold modes: its trace id's last 56
    /// bits, or the hash of its attribute, in the configured order.
    fn log_randomness(
        &mut self,
        trace_id: &[u8],
        view: &LogRecord<'_>,
        resource: &Resource<'_>,
    ) -> Option<(Randomness, Source)> {
        let by_trace = || Randomness::from_trace_id(trace_id).map(|r| (r, Source::Carried));
        let by_attribute =
            |this: &mut Self| this.attribute_hash(view, resource).map(|h| (seed::randomness(h), Source::Derived));
        match self.logs.first {
            AttributeSource::TraceId => by_trace().or_else(|| by_attribute(self)),
            AttributeSource::Record => by_attribute(self).or_else(by_trace),
        }
    }

    /// The hash of `from_attribute`'s value (the record's own, else its resource's).
    fn attribute_hash(&mut self, view: &LogRecord<'_>, resource: &Resource<'_>) -> Option<u32> {
        let name = self.logs.attribute.as_deref()?;
        let value = view.attribute(name).or_else(|| resource.attribute(name))?;
        Some(match value.get() {
            ValueRef::Str(s) => seed::fnv1a(self.head.seed, s.as_bytes()),
            ValueRef::Bytes(b) => seed::fnv1a(self.head.seed, b),
            other => {
                use std::fmt::Write as _;
                self.text.clear();
                let _ = write!(self.text, "{other}");
                seed::fnv1a(self.head.seed, self.text.as_bytes())
            }
        })
    }

    fn write_trace_state(&mut self, raw: &str, th: Threshold, rv: Option<Randomness>, tally: &mut Tally) -> bool {
        let written = tracestate::write(raw, th, rv, &mut self.trace_state);
        if !written {
            tally.anomaly(Anomaly::TraceStateTooLong);
        }
        written
    }
}

/// Whether a trace id is one to sample by: 16 bytes, not all zero (W3C's invalid id).
fn valid_trace_id(id: &[u8]) -> bool {
    <[u8; 16]>::try_from(id).is_ok_and(|id| u128::from_ne_bytes(id) != 0)
}

/// Applies a decision to a log record (the span case is in `lib.rs`, which owns the
/// trace state text): both attributes in one re-encoding of the record.
pub(crate) fn annotate_log(
    record: &mut LogRecordMut<'_>,
    decision: &Decision,
    text: &mut String,
    scratch: &mut AttributeScratch,
) {
    text.clear();
    decision.threshold.encode(text);
    let threshold_end = text.len();
    if let Some(rv) = decision.randomness {
        rv.encode(text);
    }
    let (threshold, randomness) = text.split_at(threshold_end);
    record.edit_attributes(scratch, |attributes| {
        attributes.set(THRESHOLD_ATTRIBUTE, threshold);
        if !randomness.is_empty() {
            attributes.set(RANDOMNESS_ATTRIBUTE, randomness);
        }
    });
}

/// Whether a keep rule's shortcut (`keep_errors`, `keep_slower_than`) keeps a span.
pub(crate) fn shortcuts_keep_span(rules: &Rules, span: &SpanFacts<'_>) -> bool {
    (rules.errors && span.status == aegis_plugin_sdk::wire::status_code::ERROR)
        || rules.slower_than.is_some_and(|limit| span.duration() > limit)
}

/// Whether a keep rule keeps a span, given its facts.
pub(crate) fn rules_keep_span(rules: &Rules, facts: &SpanFacts<'_>, span: &SpanMut<'_>) -> bool {
    shortcuts_keep_span(rules, facts) || rules.spans.iter().any(|c| c.matches_span(span))
}

/// Whether a keep rule keeps a log record.
pub(crate) fn rules_keep_log(rules: &Rules, facts: &LogFacts<'_>, record: &LogRecordMut<'_>) -> bool {
    // Severity numbers 17 to 24 are ERROR and FATAL.
    (rules.errors && facts.severity >= 17) || rules.logs.iter().any(|c| c.matches_log(record))
}
