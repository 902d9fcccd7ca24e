//! The sample processor: keeps what matters and drops the rest.
//!
//! Head modes decide about each span and log record as it passes, consistently across
//! collectors: by the Collector's seeded hash of the trace id (`hash_seed`), or by the
//! OpenTelemetry thresholds in the W3C trace state (`proportional`, `equalizing`). Keep
//! rules (conditions, errors, slow spans) win over the sampling, and a per-key rate limit
//! caps what passes. The `tail` mode buffers whole traces and decides by policies once a
//! trace has been seen. Every key is documented in `docs/plugins/sample.md`.

mod config;
mod counts;
mod facts;
mod head;
mod limit;
mod seed;
mod tail;
mod threshold;
mod tracestate;

use std::collections::{HashMap, HashSet};

use aegis_plugin_sdk::prelude::*;
use aegis_plugin_sdk::wire::{AttributeScratch, ResourceSpans};
use aegis_plugin_sdk::{LogRecordMut, SpanMut};

use config::{KeySource, Mode, Rules};
use counts::{Reason, Tally};
use facts::{LogFacts, SpanFacts};
use head::{Decision, HeadSampler, Rng, annotate_log, rules_keep_log, shortcuts_keep_span};
use limit::Limiter;
use tail::{Context, Outbox, TailSampler};

/// The processor. Public so that the benchmarks can run the same logic natively.
#[derive(Debug)]
pub struct Sample {
    mode: Mode,
    rules: Rules,
    head: HeadSampler,
    limiter: Option<Limiter>,
    tail: Option<TailSampler>,
    tally: Tally,
    /// Per batch: which spans a keep rule matched, and their trace ids.
    matched: Vec<bool>,
    forced: HashSet<[u8; 16]>,
    /// Per batch: whether the rate limit admitted each trace, so its spans go together.
    admitted: HashMap<[u8; 16], bool>,
    text: String,
    scratch: AttributeScratch,
    /// A fixed clock for tests, in monotonic nanoseconds.
    #[cfg(test)]
    clock: Option<u64>,
}

impl Processor for Sample {
    fn signals() -> Vec<Signal> {
        vec![Signal::Logs, Signal::Traces]
    }

    fn init(config: Config) -> Result<Self, Error> {
        let settings = config::parse(&config)?;
        let now = host::monotonic_nanos();
        let mut rng = Rng::new(host::now_unix_nanos() ^ now.rotate_left(32));
        let tail = settings.tail.map(|tail| TailSampler::new(tail, settings.head.seed, Rng::new(rng.next_u64())));
        Ok(Sample {
            mode: settings.mode,
            rules: settings.rules,
            head: HeadSampler::new(settings.head, settings.logs, settings.fallback, rng),
            limiter: settings.rate_limit.map(|r| Limiter::new(r, now)),
            tail,
            tally: Tally::default(),
            matched: Vec::new(),
            forced: HashSet::new(),
            admitted: HashMap::new(),
            text: String::new(),
            scratch: AttributeScratch::default(),
            #[cfg(test)]
            clock: None,
        })
    }

    fn process_logs(&mut self, logs: &mut Logs<'_>) -> Result<(), Error> {
        if self.mode == Mode::Tail {
            return Err(Error::failed(
                "mode = \"tail\" samples traces; give the logs pipeline its own sample processor in a head mode",
            ));
        }
        self.tally = Tally::default();
        let now = self.now();
        let Sample { rules, head, limiter, tally, text, scratch, .. } = self;
        let rules_apply = rules.any_for_logs();
        // One scan of each record for the fields the decision reads.
        let mut facts: Vec<LogFacts<'_>> = Vec::with_capacity(logs.len());
        facts.extend(logs.records().map(|record| facts::log(record.bytes())));
        for (mut record, facts) in logs.records_mut().zip(&facts) {
            let decision = if rules_apply && rules_keep_log(rules, facts, &record) {
                Decision::plain(true, Reason::KeepRule)
            } else {
                head.log(&record, facts, tally)
            };
            let (mut keep, mut reason) = (decision.keep, decision.reason);
            if let Some(limiter) = limiter.as_mut()
                && keep
                && (reason != Reason::KeepRule || limiter.settings().include_kept)
                && !limiter.admit(log_key(limiter, &record), 1.0, now)
            {
                (keep, reason) = (false, Reason::RateLimited);
            }
            tally.add(keep, reason, 1);
            if !keep {
                record.remove();
            } else if decision.annotate {
                annotate_log(&mut record, &decision, text, scratch);
            }
        }
        self.tally.flush(Signal::Logs);
        Ok(())
    }

    fn process_traces(&mut self, traces: &mut Traces<'_>) -> Result<(), Error> {
        self.tally = Tally::default();
        if self.mode == Mode::Tail {
            self.tail_traces(traces);
        } else {
            self.head_traces(traces);
        }
        self.tally.flush(Signal::Traces);
        Ok(())
    }

    /// In tail mode, decides the traces whose wait is over even when no batch comes in, and
    /// every trace still held when the pipeline stops (with what was seen of it by then).
    fn tick(&mut self, _now_unix_nanos: u64, stopping: bool) -> Result<Vec<(Signal, Vec<u8>)>, Error> {
        if self.tail.is_none() {
            return Ok(Vec::new());
        }
        self.tally = Tally::default();
        let now = self.now();
        let Sample { rules, limiter, tally, tail, .. } = self;
        let Some(tail) = tail.as_mut() else { return Ok(Vec::new()) };
        let mut outbox = Outbox::new();
        let mut cx = Context { rules, limiter: limiter.as_mut(), tally, outbox: &mut outbox, now };
        if stopping {
            tail.decide_all(&mut cx);
        } else {
            tail.expire(&mut cx);
        }
        // Written out before tidying, so that resources only the outbox used are freed now.
        let payloads = tail::encode(outbox);
        tail.tidy();
        tail.flush();
        self.tally.flush(Signal::Traces);
        if payloads.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![(Signal::Traces, tail::request(payloads))])
    }
}

export_processor!(Sample);

impl Sample {
    /// The monotonic clock the decisions and rate limits run on.
    fn now(&self) -> u64 {
        #[cfg(test)]
        if let Some(now) = self.clock {
            return now;
        }
        host::monotonic_nanos()
    }

    /// Head sampling of spans. A span a keep rule matches keeps the spans of its trace
    /// that are in the same batch too, so that an error comes with its context.
    fn head_traces(&mut self, traces: &mut Traces<'_>) {
        let now = if self.limiter.is_some() { self.now() } else { 0 };
        let Sample { rules, head, limiter, tally, matched, forced, admitted, .. } = self;
        // One scan of each span for everything the decision reads.
        let mut facts: Vec<SpanFacts<'_>> = Vec::with_capacity(traces.len());
        facts.extend(traces.spans().map(|span| facts::span(span.bytes())));
        matched.clear();
        forced.clear();
        admitted.clear();
        let rules_apply = rules.any_for_spans();
        if rules_apply {
            if rules.spans.is_empty() {
                matched.extend(facts.iter().map(|f| shortcuts_keep_span(rules, f)));
            } else {
                // Conditions read the span through its editor.
                let spans = traces.spans_mut().zip(&facts);
                matched.extend(spans.map(|(span, f)| {
                    shortcuts_keep_span(rules, f) || rules.spans.iter().any(|c| c.matches_span(&span))
                }));
            }
            for (f, _) in facts.iter().zip(matched.iter()).filter(|(_, hit)| **hit) {
                if let Ok(id) = f.trace_id.try_into() {
                    forced.insert(id);
                }
            }
        }
        for ((mut span, f), &hit) in traces.spans_mut().zip(&facts).zip(matched.iter().chain(std::iter::repeat(&false)))
        {
            let by_rule =
                hit || (!forced.is_empty() && <[u8; 16]>::try_from(f.trace_id).is_ok_and(|id| forced.contains(&id)));
            let decision = if by_rule { Decision::plain(true, Reason::KeepRule) } else { head.span(f, tally) };
            let (mut keep, mut reason) = (decision.keep, decision.reason);
            if let Some(limiter) = limiter.as_mut()
                && keep
                && (reason != Reason::KeepRule || limiter.settings().include_kept)
            {
                let value = span_key(limiter, &span);
                // The first span of a trace in the batch decides for the others, which
                // are charged without a check: a trace passes whole or not at all.
                let passed = match <[u8; 16]>::try_from(f.trace_id) {
                    Ok(id) => match admitted.get(&id) {
                        Some(&passed) => {
                            if passed {
                                limiter.charge(value, 1.0, now);
                            }
                            passed
                        }
                        None => {
                            let passed = limiter.admit(value, 1.0, now);
                            admitted.insert(id, passed);
                            passed
                        }
                    },
                    Err(_) => limiter.admit(value, 1.0, now),
                };
                if !passed {
                    (keep, reason) = (false, Reason::RateLimited);
                }
            }
            tally.add(keep, reason, 1);
            if !keep {
                span.remove();
            } else if decision.annotate {
                span.set_trace_state(head.trace_state());
            }
        }
    }

    /// Tail sampling: buffers the batch's spans, decides the traces whose wait is over,
    /// and writes the spans of the kept ones into the batch.
    fn tail_traces(&mut self, traces: &mut Traces<'_>) {
        let now = self.now();
        let Sample { rules, limiter, tally, tail, .. } = self;
        let Some(tail) = tail.as_mut() else { return };
        let mut outbox = Outbox::new();
        let mut cx = Context { rules, limiter: limiter.as_mut(), tally, outbox: &mut outbox, now };
        let resources: Vec<ResourceSpans<'_>> = traces.resource_spans().collect();
        for (r, mut resource) in traces.resource_spans_mut().enumerate() {
            let view = resources.get(r).copied().unwrap_or_default();
            let scopes: Vec<_> = view.scope_spans().collect();
            for (s, mut scope) in resource.scope_spans_mut().enumerate() {
                let scope_view = scopes.get(s).copied().unwrap_or_default();
                let origin = tail.origin(
                    view.resource().bytes(),
                    view.schema_url(),
                    scope_view.scope().bytes(),
                    scope_view.schema_url(),
                );
                for mut span in scope.spans_mut() {
                    tail.ingest(&mut span, &origin, &mut cx);
                }
            }
        }
        tail.expire(&mut cx);
        tail.tidy();
        tail.flush();
        for payload in tail::encode(outbox) {
            traces.push_resource_spans(payload);
        }
    }
}

/// The rate limit key of a log record.
fn log_key<'r>(limiter: &Limiter, record: &'r LogRecordMut<'_>) -> Option<AnyValue<'r>> {
    let name = limiter.settings().key.as_deref()?;
    match limiter.settings().key_source {
        KeySource::Resource => record.resource().attribute(name),
        KeySource::Record => record.attribute(name),
    }
}

/// The rate limit key of a span.
fn span_key<'s>(limiter: &Limiter, span: &'s SpanMut<'_>) -> Option<AnyValue<'s>> {
    let name = limiter.settings().key.as_deref()?;
    match limiter.settings().key_source {
        KeySource::Resource => span.resource().attribute(name),
        KeySource::Record => span.attribute(name),
    }
}

#[cfg(test)]
mod tests;
