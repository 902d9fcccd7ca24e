//! The sample processor's configuration: the keys as written in the pipeline TOML, and
//! the checked settings the processor runs on. Every problem is reported at once, each
//! under the key it is about. The keys are documented in `docs/plugins/sample.md`.

use std::collections::HashSet;
use std::time::Duration;

use aegis_plugin_sdk::condition::Condition;
use aegis_plugin_sdk::{Config, Error, Signal};
use bytesize::ByteSize;
use serde::Deserialize;

use crate::seed;
use crate::threshold::Threshold;

/// The configuration as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// How items are chosen.
    #[serde(default)]
    mode: Mode,
    /// The share of items to keep, in percent.
    sampling_percentage: Option<f64>,
    /// The seed of the hash of trace ids and attribute values.
    #[serde(default)]
    hash_seed: u32,
    /// Significant hex digits of the thresholds written.
    #[serde(default = "default_precision")]
    sampling_precision: u8,
    /// Whether kept items carry the threshold (and randomness) they were sampled with.
    #[serde(default = "default_annotate")]
    annotate: bool,
    /// Where log records take their randomness from first.
    #[serde(default)]
    attribute_source: AttributeSource,
    /// The attribute whose value stands in for the trace id of log records.
    from_attribute: Option<String>,
    /// What happens to items without a trace id (or attribute) to sample by.
    #[serde(default)]
    fallback: Fallback,
    /// Conditions that keep an item whatever the sampling says.
    #[serde(default)]
    keep: Vec<String>,
    /// Shortcut: keep log records of severity ERROR and above and spans of status ERROR.
    #[serde(default)]
    keep_errors: bool,
    /// Shortcut: keep spans that took longer than this.
    #[serde(default, with = "humantime_serde")]
    keep_slower_than: Option<Duration>,
    /// At most so many kept items per second per key.
    rate_limit: Option<RawRateLimit>,
    /// Tail sampling: buffering, budget and policies.
    tail: Option<RawTail>,
}

fn default_precision() -> u8 {
    4
}

fn default_annotate() -> bool {
    true
}

/// How items are chosen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Mode {
    /// The Collector's hash of the trace id with `hash_seed`, 14 bits.
    #[default]
    HashSeed,
    /// OpenTelemetry thresholds: multiply the incoming probability by the percentage.
    Proportional,
    /// OpenTelemetry thresholds: lower every item's probability to the percentage, leaving
    /// items already sampled harder alone.
    Equalizing,
    /// Buffer whole traces and decide by policies once they are complete.
    Tail,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::HashSeed => "hash_seed",
            Mode::Proportional => "proportional",
            Mode::Equalizing => "equalizing",
            Mode::Tail => "tail",
        }
    }
}

/// Where log records take their randomness from first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub(crate) enum AttributeSource {
    /// The trace id, then `from_attribute`.
    #[default]
    #[serde(rename = "traceID", alias = "trace_id")]
    TraceId,
    /// `from_attribute`, then the trace id.
    #[serde(rename = "record")]
    Record,
}

/// What happens to an item without a trace id (or attribute) to sample by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Fallback {
    /// Sample it with a random value (not consistent across collectors).
    #[default]
    Random,
    /// Keep it.
    Keep,
    /// Drop it.
    Drop,
}

/// `rate_limit` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    /// Items per second per key.
    per_second: f64,
    /// How many items may pass at once after a quiet spell; defaults to `per_second`.
    burst: Option<f64>,
    /// The attribute whose value is the key; none puts every item in one bucket.
    key: Option<String>,
    /// Whether `key` is a resource attribute or the item's own.
    #[serde(default)]
    key_source: KeySource,
    /// How many keys get their own bucket; the rest share one.
    #[serde(default = "default_max_keys")]
    max_keys: usize,
    /// Whether items kept by a keep rule are limited too.
    #[serde(default)]
    include_kept: bool,
}

fn default_max_keys() -> usize {
    1000
}

/// Where the rate limit's key attribute is looked up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum KeySource {
    /// The item's resource (`service.name`).
    #[default]
    Resource,
    /// The log record's or span's own attributes.
    Record,
}

/// `tail` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTail {
    /// How long after its first span a trace is decided.
    #[serde(default = "default_decision_wait", with = "humantime_serde")]
    decision_wait: Duration,
    /// The most traces buffered at once.
    #[serde(default = "default_max_traces")]
    max_traces: usize,
    /// The most spans buffered at once.
    #[serde(default = "default_max_spans")]
    max_spans: usize,
    /// The most bytes of spans (and their resources) buffered at once.
    #[serde(default = "default_max_bytes")]
    max_bytes: ByteSize,
    /// How many decided trace ids are remembered for spans that come late.
    #[serde(default = "default_decided_cache")]
    decided_cache: usize,
    /// The policies; a trace is kept when any of them says so.
    #[serde(default)]
    policies: Vec<RawPolicy>,
}

fn default_decision_wait() -> Duration {
    Duration::from_secs(10)
}

fn default_max_traces() -> usize {
    20_000
}

fn default_max_spans() -> usize {
    200_000
}

fn default_max_bytes() -> ByteSize {
    ByteSize::mib(16)
}

fn default_decided_cache() -> usize {
    50_000
}

/// One tail policy as written; which keys apply depends on `type`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    /// The name in metrics; defaults to the type.
    name: Option<String>,
    /// What the policy looks at.
    #[serde(rename = "type")]
    kind: PolicyKind,
    /// `latency`: the shortest trace duration kept.
    #[serde(default, with = "humantime_serde")]
    threshold: Option<Duration>,
    /// `latency`: the longest trace duration kept.
    #[serde(default, with = "humantime_serde")]
    upper_threshold: Option<Duration>,
    /// `status_code`: the span status codes that keep a trace.
    status_codes: Option<Vec<StatusName>>,
    /// `attribute`: the span (or resource) attribute looked at.
    key: Option<String>,
    /// `attribute`: the values that keep a trace.
    values: Option<Vec<serde_json::Value>>,
    /// `attribute`: the smallest number that keeps a trace.
    min: Option<f64>,
    /// `attribute`: the largest number that keeps a trace.
    max: Option<f64>,
    /// `condition`: a condition any span must match.
    condition: Option<String>,
    /// `probabilistic`: the share of traces kept, in percent.
    sampling_percentage: Option<f64>,
    /// `composite`: `and` or `or`.
    operator: Option<Operator>,
    /// `composite`: the policies combined.
    policies: Option<Vec<RawPolicy>>,
}

/// The types of tail policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum PolicyKind {
    Latency,
    StatusCode,
    Attribute,
    Condition,
    #[serde(alias = "rate")]
    Probabilistic,
    Composite,
}

impl PolicyKind {
    fn name(self) -> &'static str {
        match self {
            PolicyKind::Latency => "latency",
            PolicyKind::StatusCode => "status_code",
            PolicyKind::Attribute => "attribute",
            PolicyKind::Condition => "condition",
            PolicyKind::Probabilistic => "probabilistic",
            PolicyKind::Composite => "composite",
        }
    }
}

/// Span status codes as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
enum StatusName {
    Unset,
    Ok,
    Error,
}

/// How a composite policy combines its policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Operator {
    /// Every policy must keep the trace.
    And,
    /// One policy keeping the trace is enough.
    Or,
}

/// The checked settings.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) mode: Mode,
    pub(crate) head: Head,
    pub(crate) logs: LogSource,
    pub(crate) fallback: Fallback,
    pub(crate) rules: Rules,
    pub(crate) rate_limit: Option<RateLimit>,
    pub(crate) tail: Option<Tail>,
}

/// The numbers of probabilistic sampling, precomputed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Head {
    /// The mode (never `Tail` here: the tail mode's baseline uses `buckets`).
    pub(crate) mode: Mode,
    pub(crate) seed: u32,
    /// hash_seed: how many of the 16384 hash buckets are kept.
    pub(crate) buckets: u32,
    /// hash_seed and equalizing: the threshold applied.
    pub(crate) threshold: Threshold,
    /// proportional: the factor applied to the incoming probability.
    pub(crate) ratio: f64,
    pub(crate) precision: u8,
    pub(crate) annotate: bool,
}

/// Where log records take their randomness from.
#[derive(Clone, Debug)]
pub(crate) struct LogSource {
    pub(crate) first: AttributeSource,
    pub(crate) attribute: Option<String>,
}

/// The keep rules: conditions and shortcuts.
#[derive(Clone, Debug, Default)]
pub(crate) struct Rules {
    /// Conditions on log records (those that can apply to them).
    pub(crate) logs: Vec<Condition>,
    /// Conditions on spans (those that can apply to them).
    pub(crate) spans: Vec<Condition>,
    pub(crate) errors: bool,
    /// Spans longer than this many nanoseconds.
    pub(crate) slower_than: Option<u64>,
}

impl Rules {
    /// Whether any rule may keep spans.
    pub(crate) fn any_for_spans(&self) -> bool {
        self.errors || self.slower_than.is_some() || !self.spans.is_empty()
    }

    /// Whether any rule may keep log records.
    pub(crate) fn any_for_logs(&self) -> bool {
        self.errors || !self.logs.is_empty()
    }
}

/// The checked rate limit.
#[derive(Clone, Debug)]
pub(crate) struct RateLimit {
    pub(crate) per_second: f64,
    pub(crate) burst: f64,
    pub(crate) key: Option<String>,
    pub(crate) key_source: KeySource,
    pub(crate) max_keys: usize,
    pub(crate) include_kept: bool,
}

/// The checked tail settings.
#[derive(Debug)]
pub(crate) struct Tail {
    pub(crate) decision_wait: u64,
    pub(crate) max_traces: usize,
    pub(crate) max_spans: usize,
    pub(crate) max_bytes: u64,
    pub(crate) decided_cache: usize,
    pub(crate) policies: Vec<NamedPolicy>,
    /// The span-level tests the policies refer to by index.
    pub(crate) leaves: Vec<Leaf>,
}

/// A top-level tail policy and its name.
#[derive(Debug)]
pub(crate) struct NamedPolicy {
    pub(crate) name: String,
    pub(crate) policy: Policy,
}

/// A checked tail policy.
#[derive(Debug)]
pub(crate) enum Policy {
    /// The trace lasted at least `min` (and at most `max`) nanoseconds, first start to last end.
    Latency { min: u64, max: Option<u64> },
    /// Some span passed the leaf test of this index.
    Leaf(usize),
    /// The trace id hashes into the kept buckets.
    Probabilistic { buckets: u32 },
    /// Combined policies.
    Composite { operator: Operator, policies: Vec<Policy> },
}

/// A test of one span, evaluated as spans arrive so that buffered spans are never read again.
#[derive(Debug)]
pub(crate) enum Leaf {
    /// The span's status code is in the mask (bit 0 unset, 1 ok, 2 error).
    Status(u8),
    /// The span (or its resource) has the attribute, with a value that passes the test.
    Attribute { key: String, test: AttributeTest },
    /// The span matches the condition.
    Condition(Condition),
}

/// What an attribute's value must be.
#[derive(Debug)]
pub(crate) enum AttributeTest {
    /// Anything.
    Exists,
    /// One of these.
    OneOf(Vec<Scalar>),
    /// A number in this range.
    Range { min: f64, max: f64 },
}

/// A literal attribute value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Scalar {
    Str(String),
    Int(i64),
    Double(f64),
    Bool(bool),
}

/// How many span tests the policies may use in all (they are one bit each per trace).
const MAX_LEAVES: usize = 64;
/// How deep composite policies may nest.
const MAX_DEPTH: usize = 4;

/// Collects the problems found, each under its key.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, at: &str, text: impl AsRef<str>) {
        self.0.push(format!("{at}: {}", text.as_ref()));
    }
}

/// Parses and checks the configuration.
pub(crate) fn parse(config: &Config) -> Result<Settings, Error> {
    let raw: Raw = config.parse()?;
    let mut problems = Problems::default();

    let percentage = match (raw.sampling_percentage, raw.mode) {
        (Some(p), _) if !(0.0..=100.0).contains(&p) => {
            problems.add("sampling_percentage", format!("must be between 0 and 100, got {p}"));
            None
        }
        (None, Mode::Tail) => None,
        (None, mode) => {
            problems.add("sampling_percentage", format!("is required in mode \"{}\"", mode.name()));
            None
        }
        (Some(p), _) => Some(p),
    };
    if !(1..=14).contains(&raw.sampling_precision) {
        problems.add("sampling_precision", format!("must be between 1 and 14, got {}", raw.sampling_precision));
    }
    if !raw.annotate && matches!(raw.mode, Mode::Proportional | Mode::Equalizing) {
        problems.add(
            "annotate",
            format!(
                "mode \"{}\" must write the threshold it applied; only hash_seed may leave it out",
                raw.mode.name()
            ),
        );
    }
    match &raw.from_attribute {
        Some(name) if name.is_empty() => problems.add("from_attribute", "must not be empty"),
        None if raw.attribute_source == AttributeSource::Record => {
            problems.add("from_attribute", "is required when attribute_source = \"record\"")
        }
        _ => {}
    }

    let mut rules = Rules { errors: raw.keep_errors, slower_than: raw.keep_slower_than.map(nanos), ..Rules::default() };
    for (i, text) in raw.keep.iter().enumerate() {
        keep_rule(&mut rules, text, &format!("keep[{i}]"), &mut problems);
    }

    let rate_limit = raw.rate_limit.map(|r| {
        if !(r.per_second.is_finite() && r.per_second > 0.0) {
            problems.add("rate_limit.per_second", format!("must be a positive number, got {}", r.per_second));
        }
        let burst = r.burst.unwrap_or(r.per_second.max(1.0));
        if !(burst.is_finite() && burst >= 1.0) {
            problems.add("rate_limit.burst", format!("must be at least 1, got {burst}"));
        }
        if r.key.as_deref() == Some("") {
            problems.add("rate_limit.key", "must not be empty");
        }
        if r.max_keys == 0 {
            problems.add("rate_limit.max_keys", "must be at least 1");
        }
        RateLimit {
            per_second: r.per_second,
            burst,
            key: r.key,
            key_source: r.key_source,
            max_keys: r.max_keys,
            include_kept: r.include_kept,
        }
    });

    let tail = match (raw.mode, raw.tail) {
        (Mode::Tail, tail) => Some(tail_settings(tail, percentage, &rules, &mut problems)),
        (mode, Some(_)) => {
            problems.add("tail", format!("is only read in mode \"tail\", not \"{}\"", mode.name()));
            None
        }
        (_, None) => None,
    };

    if !problems.0.is_empty() {
        return Err(Error::config(problems.0.join("; ")));
    }
    let percentage = percentage.unwrap_or(0.0);
    let buckets = seed::buckets_kept(percentage);
    let ratio = percentage / 100.0;
    let threshold = match raw.mode {
        Mode::HashSeed | Mode::Tail => seed::threshold(buckets),
        Mode::Proportional | Mode::Equalizing => Threshold::from_probability(ratio, raw.sampling_precision),
    };
    Ok(Settings {
        mode: raw.mode,
        head: Head {
            mode: raw.mode,
            seed: raw.hash_seed,
            buckets,
            threshold,
            ratio,
            precision: raw.sampling_precision,
            annotate: raw.annotate,
        },
        logs: LogSource { first: raw.attribute_source, attribute: raw.from_attribute },
        fallback: raw.fallback,
        rules,
        rate_limit,
        tail,
    })
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// Parses one keep condition for the signals it can apply to. A condition written for
/// spans (`status == ERROR`) does not apply to log records, and the other way round; one
/// that fits neither is an error, named by the span parser's complaint.
fn keep_rule(rules: &mut Rules, text: &str, at: &str, problems: &mut Problems) {
    if let Err(error) = Condition::parse(text) {
        problems.add(at, error.message());
        return;
    }
    let spans = Condition::parse_for(text, Signal::Traces);
    let logs = Condition::parse_for(text, Signal::Logs);
    match (spans, logs) {
        (Err(error), Err(_)) => problems.add(at, error.message()),
        (spans, logs) => {
            rules.spans.extend(spans.ok());
            rules.logs.extend(logs.ok());
        }
    }
}

/// Checks the tail settings; keep rules and a top-level percentage count as policies.
fn tail_settings(raw: Option<RawTail>, percentage: Option<f64>, rules: &Rules, problems: &mut Problems) -> Tail {
    let raw = raw.unwrap_or(RawTail {
        decision_wait: default_decision_wait(),
        max_traces: default_max_traces(),
        max_spans: default_max_spans(),
        max_bytes: default_max_bytes(),
        decided_cache: default_decided_cache(),
        policies: Vec::new(),
    });
    for (key, value) in [("tail.max_traces", raw.max_traces), ("tail.max_spans", raw.max_spans)] {
        if value == 0 {
            problems.add(key, "must be at least 1");
        }
    }
    if raw.max_bytes.as_u64() < 1024 {
        problems.add("tail.max_bytes", format!("must be at least 1KiB, got {}", raw.max_bytes));
    }
    let mut leaves = Vec::new();
    let mut names = HashSet::new();
    let mut policies = Vec::new();
    for (i, policy) in raw.policies.into_iter().enumerate() {
        let name = policy.name.clone().unwrap_or_else(|| policy.kind.name().to_owned());
        let at = format!("tail.policies[{i}] (name {name:?})");
        if name.is_empty() {
            problems.add(&at, "`name` must not be empty");
        } else if !names.insert(name.clone()) {
            problems.add(&at, "has the same name as another policy (give each its own `name`)");
        }
        if let Some(policy) = check_policy(policy, &at, 1, &mut leaves, problems) {
            policies.push(NamedPolicy { name, policy });
        }
    }
    if let Some(percentage) = percentage {
        if names.contains("sampling_percentage") {
            problems.add("tail.policies", "the name \"sampling_percentage\" is taken by the top-level percentage");
        }
        policies.push(NamedPolicy {
            name: "sampling_percentage".to_owned(),
            policy: Policy::Probabilistic { buckets: seed::buckets_kept(percentage) },
        });
    }
    if leaves.len() > MAX_LEAVES {
        problems.add(
            "tail.policies",
            format!("use at most {MAX_LEAVES} status_code, attribute and condition tests in all, not {}", leaves.len()),
        );
    }
    if policies.is_empty() && !rules.any_for_spans() {
        problems.add("tail", "keeps nothing: give `tail.policies`, keep rules or a `sampling_percentage`");
    }
    Tail {
        decision_wait: nanos(raw.decision_wait),
        max_traces: raw.max_traces,
        max_spans: raw.max_spans,
        max_bytes: raw.max_bytes.as_u64(),
        decided_cache: raw.decided_cache,
        policies,
        leaves,
    }
}

/// Checks one policy (recursively for composites), reporting what does not fit its type.
fn check_policy(
    raw: RawPolicy,
    at: &str,
    depth: usize,
    leaves: &mut Vec<Leaf>,
    problems: &mut Problems,
) -> Option<Policy> {
    let kind = raw.kind;
    let given: [(&str, bool); 11] = [
        ("threshold", raw.threshold.is_some()),
        ("upper_threshold", raw.upper_threshold.is_some()),
        ("status_codes", raw.status_codes.is_some()),
        ("key", raw.key.is_some()),
        ("values", raw.values.is_some()),
        ("min", raw.min.is_some()),
        ("max", raw.max.is_some()),
        ("condition", raw.condition.is_some()),
        ("sampling_percentage", raw.sampling_percentage.is_some()),
        ("operator", raw.operator.is_some()),
        ("policies", raw.policies.is_some()),
    ];
    let allowed: &[&str] = match kind {
        PolicyKind::Latency => &["threshold", "upper_threshold"],
        PolicyKind::StatusCode => &["status_codes"],
        PolicyKind::Attribute => &["key", "values", "min", "max"],
        PolicyKind::Condition => &["condition"],
        PolicyKind::Probabilistic => &["sampling_percentage"],
        PolicyKind::Composite => &["operator", "policies"],
    };
    let mut ok = true;
    for (key, present) in given {
        if present && !allowed.contains(&key) {
            problems.add(at, format!("`{}` takes no `{key}`", kind.name()));
            ok = false;
        }
    }
    let mut missing = |key: &str| {
        problems.add(at, format!("`{}` needs `{key}`", kind.name()));
        None
    };
    let policy = match kind {
        PolicyKind::Latency => {
            let Some(min) = raw.threshold else { return missing("threshold") };
            let (min, max) = (nanos(min), raw.upper_threshold.map(nanos));
            if max.is_some_and(|max| max < min) {
                problems.add(at, "`upper_threshold` is below `threshold`");
                ok = false;
            }
            Policy::Latency { min, max }
        }
        PolicyKind::StatusCode => {
            let Some(codes) = raw.status_codes else { return missing("status_codes") };
            if codes.is_empty() {
                problems.add(at, "`status_codes` must not be empty");
                ok = false;
            }
            let mask = codes.iter().fold(0u8, |mask, code| {
                mask | match code {
                    StatusName::Unset => 1,
                    StatusName::Ok => 2,
                    StatusName::Error => 4,
                }
            });
            leaf(leaves, Leaf::Status(mask))
        }
        PolicyKind::Attribute => {
            let Some(key) = raw.key else { return missing("key") };
            if key.is_empty() {
                problems.add(at, "`key` must not be empty");
                ok = false;
            }
            let test = match (raw.values, raw.min, raw.max) {
                (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                    problems.add(at, "give either `values` or `min`/`max`, not both");
                    ok = false;
                    AttributeTest::Exists
                }
                (Some(values), None, None) => {
                    let mut scalars = Vec::with_capacity(values.len());
                    for value in &values {
                        match scalar(value) {
                            Some(s) => scalars.push(s),
                            None => {
                                problems.add(at, format!("`values` must be strings, numbers or booleans, not {value}"));
                                ok = false;
                            }
                        }
                    }
                    if values.is_empty() {
                        problems.add(at, "`values` must not be empty");
                        ok = false;
                    }
                    AttributeTest::OneOf(scalars)
                }
                (None, None, None) => AttributeTest::Exists,
                (None, min, max) => {
                    let (min, max) = (min.unwrap_or(f64::NEG_INFINITY), max.unwrap_or(f64::INFINITY));
                    if min.is_nan() || max.is_nan() || max < min {
                        problems.add(at, "`max` is below `min`");
                        ok = false;
                    }
                    AttributeTest::Range { min, max }
                }
            };
            leaf(leaves, Leaf::Attribute { key, test })
        }
        PolicyKind::Condition => {
            let Some(text) = raw.condition else { return missing("condition") };
            match Condition::parse_for(&text, Signal::Traces) {
                Ok(condition) => leaf(leaves, Leaf::Condition(condition)),
                Err(error) => {
                    problems.add(at, format!("`condition`: {}", error.message()));
                    return None;
                }
            }
        }
        PolicyKind::Probabilistic => {
            let Some(percentage) = raw.sampling_percentage else { return missing("sampling_percentage") };
            if !(0.0..=100.0).contains(&percentage) {
                problems.add(at, format!("`sampling_percentage` must be between 0 and 100, got {percentage}"));
                ok = false;
            }
            Policy::Probabilistic { buckets: seed::buckets_kept(percentage) }
        }
        PolicyKind::Composite => {
            let Some(operator) = raw.operator else { return missing("operator") };
            let Some(inner) = raw.policies else { return missing("policies") };
            if inner.is_empty() {
                problems.add(at, "`policies` must not be empty");
                ok = false;
            }
            if depth >= MAX_DEPTH {
                problems.add(at, format!("composite policies nest at most {MAX_DEPTH} deep"));
                return None;
            }
            let mut policies = Vec::with_capacity(inner.len());
            for (i, policy) in inner.into_iter().enumerate() {
                let at = format!("{at}.policies[{i}]");
                if policy.name.is_some() {
                    problems.add(&at, "only top-level policies have a `name`");
                    ok = false;
                }
                match check_policy(policy, &at, depth + 1, leaves, problems) {
                    Some(policy) => policies.push(policy),
                    None => ok = false,
                }
            }
            Policy::Composite { operator, policies }
        }
    };
    ok.then_some(policy)
}

fn leaf(leaves: &mut Vec<Leaf>, leaf: Leaf) -> Policy {
    leaves.push(leaf);
    Policy::Leaf(leaves.len() - 1)
}

/// A JSON scalar as an attribute value.
fn scalar(value: &serde_json::Value) -> Option<Scalar> {
    Some(match value {
        serde_json::Value::String(s) => Scalar::Str(s.clone()),
        serde_json::Value::Bool(b) => Scalar::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Scalar::Int(i),
            None => Scalar::Double(n.as_f64()?),
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_json(value: serde_json::Value) -> Result<Settings, Error> {
        parse(&Config::from_value(value))
    }

    fn message(value: serde_json::Value) -> String {
        parse_json(value).unwrap_err().message().to_owned()
    }

    #[test]
    fn a_percentage_alone_is_a_hash_seed_sampler() {
        let settings = parse_json(json!({ "sampling_percentage": 10, "hash_seed": 22 })).unwrap();
        assert_eq!(settings.mode, Mode::HashSeed);
        assert_eq!((settings.head.seed, settings.head.buckets), (22, 1638));
        assert!(settings.head.annotate);
        assert!(settings.tail.is_none() && settings.rate_limit.is_none());
    }

    #[test]
    fn every_problem_is_reported_at_once_under_its_key() {
        let text = message(json!({
            "mode": "proportional",
            "sampling_percentage": 150,
            "sampling_precision": 0,
            "annotate": false,
            "attribute_source": "record",
            "keep": ["status ==", "kind == SERVER"],
            "rate_limit": { "per_second": 0, "key": "" },
        }));
        assert_eq!(
            text,
            "sampling_percentage: must be between 0 and 100, got 150; \
             sampling_precision: must be between 1 and 14, got 0; \
             annotate: mode \"proportional\" must write the threshold it applied; only hash_seed may leave it out; \
             from_attribute: is required when attribute_source = \"record\"; \
             keep[0]: at column 10: expected a value after \"==\"; \
             rate_limit.per_second: must be a positive number, got 0; \
             rate_limit.key: must not be empty"
        );
    }

    #[test]
    fn keep_rules_apply_to_the_signals_they_fit() {
        let settings =
            parse_json(json!({ "sampling_percentage": 1, "keep": ["status == ERROR", "severity >= ERROR"] })).unwrap();
        assert_eq!(settings.rules.spans.len(), 1);
        assert_eq!(settings.rules.logs.len(), 1);
        assert_eq!(settings.rules.spans[0].as_str(), "status == ERROR");
        assert_eq!(settings.rules.logs[0].as_str(), "severity >= ERROR");
    }

    #[test]
    fn unknown_keys_and_modes_are_rejected() {
        assert!(message(json!({ "sampling_percentage": 1, "rate": 5 })).starts_with("rate: unknown field `rate`"));
        assert!(
            message(json!({ "mode": "fast", "sampling_percentage": 1 })).starts_with("mode: unknown variant `fast`")
        );
        assert_eq!(message(json!({})), "sampling_percentage: is required in mode \"hash_seed\"");
        assert_eq!(
            message(json!({ "sampling_percentage": 1, "tail": {} })),
            "tail: is only read in mode \"tail\", not \"hash_seed\""
        );
    }

    #[test]
    fn tail_policies_are_checked_type_by_type() {
        let text = message(json!({ "mode": "tail", "tail": { "policies": [
            { "type": "latency" },
            { "type": "status_code", "status_codes": ["ERROR"], "threshold": "1s" },
            { "name": "x", "type": "attribute", "key": "a", "values": [[1]] },
            { "name": "x", "type": "probabilistic", "sampling_percentage": 10 },
            { "name": "c", "type": "composite", "operator": "and", "policies": [
                { "type": "condition", "condition": "severity > INFO" },
            ] },
        ] } }));
        let problems: Vec<&str> = text.split("; ").collect();
        assert_eq!(
            problems[..4],
            [
                "tail.policies[0] (name \"latency\"): `latency` needs `threshold`",
                "tail.policies[1] (name \"status_code\"): `status_code` takes no `threshold`",
                "tail.policies[2] (name \"x\"): `values` must be strings, numbers or booleans, not [1]",
                "tail.policies[3] (name \"x\"): has the same name as another policy (give each its own `name`)",
            ],
            "{text}"
        );
        // The condition language names the field it does not know, for spans.
        let condition = text.split("tail.policies[4]").nth(1).unwrap();
        assert!(condition.starts_with(" (name \"c\").policies[0]: `condition`: at column 1: "), "{text}");
        assert!(condition.contains("severity") && condition.contains("spans"), "{text}");
    }

    #[test]
    fn a_tail_sampler_that_keeps_nothing_is_refused() {
        assert_eq!(
            message(json!({ "mode": "tail" })),
            "tail: keeps nothing: give `tail.policies`, keep rules or a `sampling_percentage`"
        );
        let settings = parse_json(json!({ "mode": "tail", "keep_errors": true })).unwrap();
        let tail = settings.tail.unwrap();
        assert_eq!(tail.decision_wait, 10_000_000_000);
        assert_eq!(tail.max_bytes, 16 << 20);
    }

    #[test]
    fn tail_sizes_and_durations_read_the_host_way() {
        let settings = parse_json(json!({ "mode": "tail", "sampling_percentage": 5, "tail": {
            "decision_wait": "1m30s", "max_bytes": "2MiB", "max_traces": 10,
        } }))
        .unwrap();
        let tail = settings.tail.unwrap();
        assert_eq!((tail.decision_wait, tail.max_bytes, tail.max_traces), (90_000_000_000, 2 << 20, 10));
        assert_eq!(tail.policies[0].name, "sampling_percentage");
        let text = message(json!({ "mode": "tail", "keep_errors": true, "tail": { "decision_wait": "soon" } }));
        assert!(text.starts_with("tail.decision_wait: "), "{text}");
    }
}
