//! Tail sampling: spans are held back, grouped by trace id, until `decision_wait` has passed
//! since a trace's first span; then the policies decide about the whole trace at once and
//! the spans of a kept trace go out together.
//!
//! A processor only runs when a batch arrives, so decisions are taken at the start of each
//! call for the traces whose wait is over: an idle pipeline holds its traces until the next
//! batch. Everything a policy needs is worked out as each span arrives (one bit per span
//! test, the earliest start and latest end), so buffered spans are only copied, never read
//! again. The buffer has a hard budget of traces, spans and bytes; when a new span would
//! pass it, the oldest traces are decided early, with what has arrived of them.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;

use aegis_plugin_sdk::{AnyValue, SpanMut, ValueRef, host};

use crate::config::{AttributeTest, KeySource, Leaf, Operator, Policy, Rules, Scalar, Tail};
use crate::counts::{Reason, Tally};
use crate::facts;
use crate::head::{Rng, rules_keep_span};
use crate::limit::Limiter;
use crate::seed;

/// What a buffered span costs besides its bytes: its slot, its box, its share of the
/// origin pointer (an estimate that errs on the high side).
const SPAN_OVERHEAD: u64 = 48;
/// What a buffered trace costs besides its spans: the map entry, the queue entry, the summary.
const TRACE_OVERHEAD: u64 = 160;

/// The resource and scope a span came with, shared by the buffered spans that came with
/// the same ones.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct Origin {
    resource: Box<[u8]>,
    resource_schema: Box<str>,
    scope: Box<[u8]>,
    scope_schema: Box<str>,
}

impl Origin {
    fn size(&self) -> u64 {
        (self.resource.len() + self.resource_schema.len() + self.scope.len() + self.scope_schema.len()) as u64
            + TRACE_OVERHEAD
    }
}

/// What the policies know about a trace so far.
#[derive(Clone, Copy, Debug)]
struct Summary {
    /// The earliest start and the latest end of its spans.
    start: u64,
    end: u64,
    /// Bit `i`: some span passed leaf test `i`.
    mask: u64,
    /// Some span matched a keep rule.
    rule: bool,
}

impl Summary {
    fn new() -> Self {
        Summary { start: u64::MAX, end: 0, mask: 0, rule: false }
    }

    fn duration(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
}

/// One buffered trace.
#[derive(Debug)]
struct Trace {
    spans: Vec<(Rc<Origin>, Box<[u8]>)>,
    summary: Summary,
    /// The rate limit key of its first span.
    key: Option<Box<str>>,
    /// Its spans' bytes plus their overheads.
    bytes: u64,
}

/// Which budget forced an early decision: `max_traces`, `max_spans` or `max_bytes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Limit {
    Traces,
    Spans,
    Bytes,
}

impl Limit {
    fn name(self) -> &'static str {
        match self {
            Limit::Traces => "max_traces",
            Limit::Spans => "max_spans",
            Limit::Bytes => "max_bytes",
        }
    }
}

/// Why a trace was decided as it was: the trace-level counts.
#[derive(Debug, Default)]
struct TraceTally {
    /// Kept by each top-level policy, by index.
    policies: Vec<u64>,
    keep_rule: u64,
    no_policy: u64,
    rate_limited: u64,
    early: [u64; 3],
}

/// The tail sampler of one processor instance.
#[derive(Debug)]
pub(crate) struct TailSampler {
    settings: Tail,
    seed: u32,
    traces: HashMap<[u8; 16], Trace>,
    /// Buffered trace ids by arrival of their first span: decisions always take the front.
    order: VecDeque<([u8; 16], u64)>,
    /// Decided trace ids and whether they were kept, for spans that come late.
    decided: HashMap<[u8; 16], bool>,
    decided_order: VecDeque<[u8; 16]>,
    origins: HashSet<Rc<Origin>>,
    spans: usize,
    bytes: u64,
    rng: Rng,
    traces_tally: TraceTally,
    /// Early decisions since the start, by limit.
    #[cfg(test)]
    early_total: [u64; 3],
}

/// The spans of kept traces, waiting to be written into the batch.
pub(crate) type Outbox = Vec<(Rc<Origin>, Box<[u8]>)>;

/// What one call hands the tail sampler besides the span: the shared parts of the processor.
pub(crate) struct Context<'p> {
    pub(crate) rules: &'p Rules,
    pub(crate) limiter: Option<&'p mut Limiter>,
    pub(crate) tally: &'p mut Tally,
    pub(crate) outbox: &'p mut Outbox,
    pub(crate) now: u64,
}

impl TailSampler {
    pub(crate) fn new(settings: Tail, seed: u32, rng: Rng) -> Self {
        let policies = settings.policies.len();
        TailSampler {
            settings,
            seed,
            traces: HashMap::new(),
            order: VecDeque::new(),
            decided: HashMap::new(),
            decided_order: VecDeque::new(),
            origins: HashSet::new(),
            spans: 0,
            bytes: 0,
            rng,
            traces_tally: TraceTally { policies: vec![0; policies], ..TraceTally::default() },
            #[cfg(test)]
            early_total: [0; 3],
        }
    }

    /// The shared copy of a resource and scope.
    pub(crate) fn origin(
        &mut self,
        resource: &[u8],
        resource_schema: &str,
        scope: &[u8],
        scope_schema: &str,
    ) -> Rc<Origin> {
        let origin = Origin {
            resource: resource.into(),
            resource_schema: resource_schema.into(),
            scope: scope.into(),
            scope_schema: scope_schema.into(),
        };
        if let Some(known) = self.origins.get(&origin) {
            return known.clone();
        }
        self.bytes += origin.size();
        let origin = Rc::new(origin);
        self.origins.insert(origin.clone());
        origin
    }

    /// Takes one span of the batch: passes or drops it when its trace was decided, else
    /// buffers it (removing it from the batch) and decides early if the budget is passed.
    pub(crate) fn ingest(&mut self, span: &mut SpanMut<'_>, origin: &Rc<Origin>, cx: &mut Context<'_>) {
        let view = span.view();
        let id: [u8; 16] = match view.trace_id().try_into() {
            Ok(id) if id != [0; 16] => id,
            // Without a trace id there is nothing to group by: the span is a trace of its own.
            _ => {
                let mut summary = Summary::new();
                observe(&self.settings.leaves, &mut summary, span, cx.rules);
                let key = cx.limiter.as_ref().and_then(|l| rate_key(l, span));
                // Probabilistic policies draw at random for it.
                let hash = self.rng.next_u64() as u32;
                let (keep, reason) = self.decide(&summary, hash, key.as_deref(), 1, cx);
                cx.tally.add(keep, reason, 1);
                if !keep {
                    span.remove();
                }
                return;
            }
        };
        if let Some(&kept) = self.decided.get(&id) {
            cx.tally.add(kept, Reason::Late, 1);
            if !kept {
                span.remove();
            }
            return;
        }
        if !self.traces.contains_key(&id) {
            while self.traces.len() >= self.settings.max_traces && self.decide_oldest(Limit::Traces, cx) {}
            let key = cx.limiter.as_ref().and_then(|l| rate_key(l, span)).map(String::into_boxed_str);
            self.traces.insert(id, Trace { spans: Vec::new(), summary: Summary::new(), key, bytes: TRACE_OVERHEAD });
            self.order.push_back((id, cx.now));
            self.bytes += TRACE_OVERHEAD;
        }
        let payload: Box<[u8]> = span.view().bytes().into();
        let cost = payload.len() as u64 + SPAN_OVERHEAD;
        let leaves = &self.settings.leaves;
        let Some(trace) = self.traces.get_mut(&id) else { return };
        observe(leaves, &mut trace.summary, span, cx.rules);
        trace.spans.push((origin.clone(), payload));
        trace.bytes += cost;
        self.spans += 1;
        self.bytes += cost;
        span.remove();
        loop {
            let limit = if self.spans > self.settings.max_spans {
                Limit::Spans
            } else if self.bytes > self.settings.max_bytes {
                Limit::Bytes
            } else {
                break;
            };
            if !self.decide_oldest(limit, cx) {
                break;
            }
        }
    }

    /// Decides every trace whose wait is over at `cx.now`.
    pub(crate) fn expire(&mut self, cx: &mut Context<'_>) {
        while let Some(&(id, first)) = self.order.front() {
            if first.saturating_add(self.settings.decision_wait) > cx.now {
                break;
            }
            self.order.pop_front();
            self.finish(id, cx);
        }
    }

    /// Decides every buffered trace now, oldest first (the pipeline is stopping).
    pub(crate) fn decide_all(&mut self, cx: &mut Context<'_>) {
        while let Some((id, _)) = self.order.pop_front() {
            self.finish(id, cx);
        }
    }

    /// Decides the oldest buffered trace now; false when nothing is buffered.
    fn decide_oldest(&mut self, limit: Limit, cx: &mut Context<'_>) -> bool {
        let Some((id, _)) = self.order.pop_front() else { return false };
        self.traces_tally.early[limit as usize] += 1;
        #[cfg(test)]
        {
            self.early_total[limit as usize] += 1;
        }
        self.finish(id, cx);
        true
    }

    /// Decides a buffered trace, taken off the queue: its spans go to the outbox or away.
    fn finish(&mut self, id: [u8; 16], cx: &mut Context<'_>) {
        let Some(trace) = self.traces.remove(&id) else { return };
        let spans = trace.spans.len();
        let hash = seed::fnv1a(self.seed, &id);
        let (keep, reason) = self.decide(&trace.summary, hash, trace.key.as_deref(), spans, cx);
        cx.tally.add(keep, reason, spans as u64);
        self.spans -= spans;
        self.bytes = self.bytes.saturating_sub(trace.bytes);
        if keep {
            cx.outbox.extend(trace.spans);
        }
        if self.settings.decided_cache > 0 {
            if self.decided_order.len() >= self.settings.decided_cache
                && let Some(old) = self.decided_order.pop_front()
            {
                self.decided.remove(&old);
            }
            if let Entry::Vacant(slot) = self.decided.entry(id) {
                slot.insert(keep);
                self.decided_order.push_back(id);
            }
        }
    }

    /// The decision about a trace whose id hashes to `hash`: keep rules first, then the
    /// policies in order, then the rate limit. Counts the trace.
    fn decide(
        &mut self,
        summary: &Summary,
        hash: u32,
        key: Option<&str>,
        spans: usize,
        cx: &mut Context<'_>,
    ) -> (bool, Reason) {
        let (keep, reason, policy) = if summary.rule {
            (true, Reason::KeepRule, None)
        } else {
            match (0..self.settings.policies.len())
                .find(|&i| self.eval(&self.settings.policies[i].policy, summary, hash))
            {
                Some(i) => (true, Reason::Policy, Some(i)),
                None => (false, Reason::NoPolicy, None),
            }
        };
        let limited = keep
            && cx.limiter.as_deref_mut().is_some_and(|limiter| {
                (reason != Reason::KeepRule || limiter.settings().include_kept)
                    && !limiter.admit_text(key.unwrap_or(""), spans as f64, cx.now)
            });
        let tally = &mut self.traces_tally;
        if limited {
            tally.rate_limited += 1;
            return (false, Reason::RateLimited);
        }
        match (reason, policy) {
            (Reason::KeepRule, _) => tally.keep_rule += 1,
            (_, Some(i)) => tally.policies[i] += 1,
            _ => tally.no_policy += 1,
        }
        (keep, reason)
    }

    fn eval(&self, policy: &Policy, summary: &Summary, hash: u32) -> bool {
        match policy {
            Policy::Latency { min, max } => {
                let duration = summary.duration();
                duration >= *min && max.is_none_or(|max| duration <= max)
            }
            Policy::Leaf(i) => summary.mask & (1 << i) != 0,
            Policy::Probabilistic { buckets } => seed::keeps(hash, *buckets),
            Policy::Composite { operator: Operator::And, policies } => {
                policies.iter().all(|p| self.eval(p, summary, hash))
            }
            Policy::Composite { operator: Operator::Or, policies } => {
                policies.iter().any(|p| self.eval(p, summary, hash))
            }
        }
    }

    /// Forgets resources and scopes that no buffered span refers to any more.
    pub(crate) fn tidy(&mut self) {
        let mut freed = 0;
        self.origins.retain(|origin| {
            let used = Rc::strong_count(origin) > 1;
            if !used {
                freed += origin.size();
            }
            used
        });
        self.bytes = self.bytes.saturating_sub(freed);
    }

    /// Hands the trace-level counts and the buffer's size to the host, and clears the counts.
    pub(crate) fn flush(&mut self) {
        let tally = std::mem::take(&mut self.traces_tally);
        let kept = |reason: &str, n: u64| {
            if n > 0 {
                host::counter_add("sample_tail_traces", n, &[("decision", "kept"), ("reason", reason)]);
            }
        };
        for (policy, n) in self.settings.policies.iter().zip(&tally.policies) {
            kept(&policy.name, *n);
        }
        kept("keep_rule", tally.keep_rule);
        for (reason, n) in [("no_policy", tally.no_policy), ("rate_limited", tally.rate_limited)] {
            if n > 0 {
                host::counter_add("sample_tail_traces", n, &[("decision", "dropped"), ("reason", reason)]);
            }
        }
        for limit in [Limit::Traces, Limit::Spans, Limit::Bytes] {
            let n = tally.early[limit as usize];
            if n > 0 {
                host::counter_add("sample_tail_early_decisions", n, &[("limit", limit.name())]);
            }
        }
        self.traces_tally = TraceTally { policies: vec![0; self.settings.policies.len()], ..TraceTally::default() };
        host::gauge_set("sample_tail_buffered_traces", self.traces.len() as f64, &[]);
        host::gauge_set("sample_tail_buffered_spans", self.spans as f64, &[]);
        host::gauge_set("sample_tail_buffered_bytes", self.bytes as f64, &[]);
    }

    /// How many traces, spans and bytes are buffered.
    #[cfg(test)]
    pub(crate) fn buffered(&self) -> (usize, usize, u64) {
        (self.traces.len(), self.spans, self.bytes)
    }

    /// How many traces were decided early because of `limit`.
    #[cfg(test)]
    pub(crate) fn early(&self, limit: Limit) -> u64 {
        self.early_total[limit as usize]
    }
}

/// Folds what the policies need to know about one span into its trace's summary.
fn observe(leaves: &[Leaf], summary: &mut Summary, span: &SpanMut<'_>, rules: &Rules) {
    let facts = facts::span(span.view().bytes());
    summary.start = summary.start.min(facts.start);
    summary.end = summary.end.max(facts.end.max(facts.start));
    if !summary.rule && rules_keep_span(rules, &facts, span) {
        summary.rule = true;
    }
    for (i, leaf) in leaves.iter().enumerate() {
        if summary.mask & (1 << i) == 0 && leaf_matches(leaf, facts.status, span) {
            summary.mask |= 1 << i;
        }
    }
}

/// The rate limit key of a span, as text.
fn rate_key(limiter: &Limiter, span: &SpanMut<'_>) -> Option<String> {
    let settings = limiter.settings();
    let name = settings.key.as_deref()?;
    let value = match settings.key_source {
        KeySource::Resource => span.resource().attribute(name),
        KeySource::Record => span.attribute(name),
    }?;
    Some(value.to_string())
}

/// Whether a span (of status code `status`) passes a leaf test.
fn leaf_matches(leaf: &Leaf, status: i32, span: &SpanMut<'_>) -> bool {
    match leaf {
        Leaf::Status(mask) => (0..=2).contains(&status) && mask & (1 << status) != 0,
        Leaf::Attribute { key, test } => {
            let value = span.attribute(key).or_else(|| span.resource().attribute(key));
            value.is_some_and(|value| attribute_passes(value, test))
        }
        Leaf::Condition(condition) => condition.matches_span(span),
    }
}

fn attribute_passes(value: AnyValue<'_>, test: &AttributeTest) -> bool {
    let value = value.get();
    let number = match value {
        ValueRef::Int(i) => Some(i as f64),
        ValueRef::Double(d) => Some(d),
        _ => None,
    };
    match test {
        AttributeTest::Exists => true,
        AttributeTest::Range { min, max } => number.is_some_and(|n| n >= *min && n <= *max),
        AttributeTest::OneOf(values) => values.iter().any(|literal| match (literal, value) {
            (Scalar::Str(s), ValueRef::Str(v)) => s == v,
            (Scalar::Bool(b), ValueRef::Bool(v)) => *b == v,
            (Scalar::Int(i), ValueRef::Int(v)) => *i == v,
            (Scalar::Int(i), _) => number == Some(*i as f64),
            (Scalar::Double(d), _) => number == Some(*d),
            _ => false,
        }),
    }
}

/// Writes the outbox as `ResourceSpans` payloads, one per resource and scope, in the order
/// their first span was kept.
pub(crate) fn encode(outbox: Outbox) -> Vec<Vec<u8>> {
    type Group = (Rc<Origin>, Vec<Box<[u8]>>);
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<*const Origin, usize> = HashMap::new();
    for (origin, span) in outbox {
        let at = *index.entry(Rc::as_ptr(&origin)).or_insert_with(|| {
            groups.push((origin.clone(), Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(span);
    }
    groups
        .into_iter()
        .map(|(origin, spans)| {
            let mut scope =
                Vec::with_capacity(spans.iter().map(|s| s.len() + 4).sum::<usize>() + origin.scope.len() + 8);
            put_len_field(&mut scope, 1, &origin.scope, false);
            for span in &spans {
                put_len_field(&mut scope, 2, span, true);
            }
            put_len_field(&mut scope, 3, origin.scope_schema.as_bytes(), false);
            let mut resource = Vec::with_capacity(scope.len() + origin.resource.len() + 16);
            put_len_field(&mut resource, 1, &origin.resource, false);
            put_len_field(&mut resource, 2, &scope, true);
            put_len_field(&mut resource, 3, origin.resource_schema.as_bytes(), false);
            resource
        })
        .collect()
}

/// `ResourceSpans` payloads as one `ExportTraceServiceRequest`.
pub(crate) fn request(resource_spans: Vec<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::with_capacity(resource_spans.iter().map(|r| r.len() + 6).sum());
    for resource in &resource_spans {
        put_len_field(&mut out, 1, resource, true);
    }
    out
}

/// Appends a length-delimited field (left out when empty, unless `always`).
fn put_len_field(out: &mut Vec<u8>, number: u32, payload: &[u8], always: bool) {
    if payload.is_empty() && !always {
        return;
    }
    aegis_plugin_sdk::wire::encode::put_len_header(out, number, payload.len());
    out.extend_from_slice(payload);
}
