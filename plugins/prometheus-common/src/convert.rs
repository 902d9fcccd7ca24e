//! Walks an OTLP metrics batch and hands each data point to a [`Visitor`] as Prometheus
//! samples, with the labels the specification asks for: the point's attributes, `job` and
//! `instance` from the resource, the scope's name and version, promoted resource attributes
//! and external labels; plus one `target_info` point per resource.

use std::borrow::Cow;

use aegis_plugin_sdk::Error;
use aegis_plugin_sdk::wire::{AnyValue, DataPoint, Metric, MetricKind, Resource, ResourceMetrics, ValueRef};

use crate::delta::{DeltaMode, DeltaState};
use crate::exponential::Buckets;
use crate::naming::{self, NameKind};

/// The staleness marker: the NaN Prometheus reads as "this series ended here".
pub const STALE_NAN: f64 = f64::from_bits(0x7ff0_0000_0000_0002);

/// A label: a valid Prometheus name and its value.
pub type Label<'a> = (Cow<'a, str>, Cow<'a, str>);

/// How the batch is translated (each plugin builds this from its own config).
#[derive(Clone, Debug)]
pub struct Options {
    /// Append unit suffixes and `_total` to metric names.
    pub add_metric_suffixes: bool,
    /// Emit a `target_info` point per resource with its other attributes as labels.
    pub target_info: bool,
    /// Add `otel_scope_name` and `otel_scope_version` labels.
    pub scope_labels: bool,
    /// Resource attributes copied onto every point as labels.
    pub promote_resource_attributes: Vec<String>,
    /// Labels added to every point unless it has a label of that name already.
    pub external_labels: Vec<(String, String)>,
    /// What happens to delta sums and histograms.
    pub delta: DeltaMode,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            add_metric_suffixes: true,
            target_info: true,
            scope_labels: true,
            promote_resource_attributes: Vec::new(),
            external_labels: Vec::new(),
            delta: DeltaMode::Convert,
        }
    }
}

/// The Prometheus type of a metric family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FamilyKind {
    /// A monotonic sum.
    Counter,
    /// A gauge, or a non-monotonic sum.
    Gauge,
    /// A histogram or exponential histogram, as explicit buckets.
    Histogram,
    /// A summary.
    Summary,
    /// `target_info`: an info metric (a gauge of 1 outside OpenMetrics).
    Info,
}

/// A metric family: what every point of one OTLP metric shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Family<'a> {
    /// The family name: sanitized, with its unit suffix, without `_total`.
    pub name: &'a str,
    /// The Prometheus type.
    pub kind: FamilyKind,
    /// The metric's description.
    pub help: &'a str,
    /// The Prometheus unit (`seconds`), empty when none.
    pub unit: &'a str,
    /// Whether counter samples are named `name` + `_total`.
    pub total: bool,
}

impl Family<'_> {
    /// The name suffix of a sample of this family.
    pub fn suffix(&self, suffix: Suffix) -> &'static str {
        match suffix {
            Suffix::Value if self.kind == FamilyKind::Counter && self.total => "_total",
            Suffix::Value => "",
            Suffix::Bucket => "_bucket",
            Suffix::Sum => "_sum",
            Suffix::Count => "_count",
        }
    }
}

/// Which series of a point a sample belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Suffix {
    /// The value of a counter (`_total`) or gauge, or a summary quantile.
    Value,
    /// A histogram bucket (`_bucket`, with `le`).
    Bucket,
    /// `_sum` of a histogram or summary.
    Sum,
    /// `_count` of a histogram or summary.
    Count,
}

/// The label a sample adds to its point's labels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Extra {
    /// `le`: a bucket's upper bound (`+Inf` for the last).
    Le(f64),
    /// `quantile` of a summary.
    Quantile(f64),
}

impl Extra {
    /// The label name.
    pub fn name(&self) -> &'static str {
        match self {
            Extra::Le(_) => "le",
            Extra::Quantile(_) => "quantile",
        }
    }

    /// The number, as the label value is written.
    pub fn value(&self) -> f64 {
        match *self {
            Extra::Le(v) | Extra::Quantile(v) => v,
        }
    }
}

/// One sample of a point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Which series of the point.
    pub suffix: Suffix,
    /// `le` or `quantile`, when the series has one.
    pub extra: Option<Extra>,
    /// The value ([`STALE_NAN`] for a point without a recorded value).
    pub value: f64,
}

/// One data point as Prometheus samples.
#[derive(Clone, Copy, Debug)]
pub struct Point<'p> {
    /// The labels shared by every sample, sorted by name, without `__name__`.
    pub labels: &'p [Label<'p>],
    /// Identifies the point's series within its family: the family name and labels.
    pub key: &'p [u8],
    /// The point's time in Unix milliseconds (the batch's arrival when the point had none).
    pub timestamp_ms: i64,
    /// The samples, in exposition order (buckets by increasing `le`, then `_sum`, `_count`).
    pub samples: &'p [Sample],
    /// The point had the "no recorded value" flag: every value is [`STALE_NAN`].
    pub stale: bool,
}

/// Receives the converted batch: each family, then its points.
pub trait Visitor {
    /// A family starts; the points that follow belong to it.
    fn family(&mut self, family: &Family<'_>);
    /// One data point of the last family.
    fn point(&mut self, point: &Point<'_>);
}

/// What the conversions counted since the last [`Converter::take_stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Points handed to the visitor (`target_info` included).
    pub points: u64,
    /// Delta points refused because `delta = "drop"`.
    pub delta_refused: u64,
    /// Delta points not newer than the last one of their series.
    pub out_of_order: u64,
    /// Points that cannot be converted: no value, histogram buckets that do not match their
    /// bounds, a metric without data.
    pub invalid: u64,
}

/// Translates OTLP metrics batches; keeps the running totals of delta series between them.
#[derive(Debug)]
pub struct Converter {
    options: Options,
    delta: DeltaState,
    stats: Stats,
    key: Vec<u8>,
    samples: Vec<Sample>,
    buckets: Buckets,
}

/// An attribute while a point's labels are gathered.
#[derive(Clone, Debug)]
struct Entry<'a> {
    name: Cow<'a, str>,
    value: Cow<'a, str>,
    /// The attribute key before sanitizing: values of keys that sanitize alike are joined
    /// in the order of these keys.
    key: &'a str,
}

const SERVICE_NAME: &str = "service.name";
const SERVICE_NAMESPACE: &str = "service.namespace";
const SERVICE_INSTANCE: &str = "service.instance.id";

impl Converter {
    /// A converter with these options.
    pub fn new(options: Options) -> Self {
        Converter {
            options,
            delta: DeltaState::default(),
            stats: Stats::default(),
            key: Vec::with_capacity(256),
            samples: Vec::with_capacity(32),
            buckets: Buckets::default(),
        }
    }

    /// The options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Returns what was counted and starts counting again.
    pub fn take_stats(&mut self) -> Stats {
        std::mem::take(&mut self.stats)
    }

    /// Forgets the running totals of delta series not updated since `oldest` (wall-clock
    /// Unix nanoseconds); such a series starts from zero if it comes back.
    pub fn expire(&mut self, oldest: u64) {
        self.delta.expire(oldest);
    }

    /// How many delta series have a running total.
    pub fn delta_series(&self) -> usize {
        self.delta.len()
    }

    /// Converts one encoded `ExportMetricsServiceRequest`. `now` (Unix nanoseconds) stands
    /// in for missing point times and marks when delta series were last updated.
    pub fn convert(&mut self, request: &[u8], now: u64, visitor: &mut impl Visitor) -> Result<(), Error> {
        for resource in resources(request)? {
            self.resource(ResourceMetrics::new(resource), now, visitor);
        }
        Ok(())
    }

    fn resource(&mut self, resource_metrics: ResourceMetrics<'_>, now: u64, visitor: &mut impl Visitor) {
        let resource = resource_metrics.resource();
        let owned = resource_labels(&resource, &self.options, true);
        let mut labels: Vec<Label<'_>> = Vec::with_capacity(16);
        let mut entries: Vec<Entry<'_>> = Vec::with_capacity(16);
        let (labels, entries) = (&mut labels, &mut entries);
        let mut base: Vec<Label<'_>> = Vec::with_capacity(owned.len() + 2);
        let mut newest = 0i64;
        for scope_metrics in resource_metrics.scope_metrics() {
            // The points borrow these labels (`job` may be made above), never copy them.
            base.clear();
            base.extend(owned.iter().map(|(n, v)| (Cow::Borrowed(n.as_ref()), Cow::Borrowed(v.as_ref()))));
            if self.options.scope_labels {
                let scope = scope_metrics.scope();
                for (name, value) in [("otel_scope_name", scope.name()), ("otel_scope_version", scope.version())] {
                    if !value.is_empty() && !base.iter().any(|(n, _)| n == name) {
                        base.push((name.into(), value.into()));
                    }
                }
            }
            base.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            for metric in scope_metrics.metrics() {
                self.metric(&metric, &base, now, visitor, labels, entries, &mut newest);
            }
        }
        if self.options.target_info && newest != 0 {
            self.target_info(&resource, newest, visitor, labels, entries);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn metric<'a>(
        &mut self,
        metric: &Metric<'a>,
        base: &[Label<'a>],
        now: u64,
        visitor: &mut impl Visitor,
        labels: &mut Vec<Label<'a>>,
        entries: &mut Vec<Entry<'a>>,
        newest: &mut i64,
    ) {
        let Some(kind) = metric.kind() else {
            self.stats.invalid += 1;
            return;
        };
        let (family_kind, name_kind) = match kind {
            MetricKind::Gauge => (FamilyKind::Gauge, NameKind::Gauge),
            MetricKind::Sum if metric.is_monotonic() => (FamilyKind::Counter, NameKind::Counter),
            MetricKind::Sum => (FamilyKind::Gauge, NameKind::Gauge),
            MetricKind::Histogram | MetricKind::ExponentialHistogram => (FamilyKind::Histogram, NameKind::Other),
            MetricKind::Summary => (FamilyKind::Summary, NameKind::Other),
        };
        let delta = kind != MetricKind::Gauge && kind != MetricKind::Summary && metric.aggregation_temporality() == 1;
        if delta && self.options.delta == DeltaMode::Drop {
            self.stats.delta_refused += metric.data_points().count() as u64;
            return;
        }
        let name = naming::metric_name(metric.name(), metric.unit(), name_kind, self.options.add_metric_suffixes);
        let family = Family {
            name: &name.base,
            kind: family_kind,
            help: metric.description(),
            unit: &name.unit,
            total: name.total,
        };
        visitor.family(&family);
        let reserved = match family_kind {
            FamilyKind::Histogram => "le",
            FamilyKind::Summary => "quantile",
            _ => "",
        };
        for point in metric.data_points() {
            point_labels(&point, base, reserved, entries, labels);
            family_key(&mut self.key, &family, labels);
            let time = point.time_unix_nano();
            let timestamp_ms = if time == 0 { (now / 1_000_000) as i64 } else { (time / 1_000_000) as i64 };
            let stale = point.flags() & 1 != 0;
            self.samples.clear();
            let converted = match kind {
                MetricKind::Gauge | MetricKind::Sum => self.number(&point, delta && !stale, time, now),
                MetricKind::Histogram | MetricKind::ExponentialHistogram => {
                    let mut buckets = std::mem::take(&mut self.buckets);
                    let filled = match kind {
                        MetricKind::Histogram => buckets.fill_explicit(&point),
                        _ => buckets.fill_exponential(&point),
                    };
                    let done = match filled {
                        Ok(()) => self.histogram(&mut buckets, delta && !stale, time, now),
                        Err(_) => {
                            self.stats.invalid += 1;
                            false
                        }
                    };
                    self.buckets = buckets;
                    done
                }
                MetricKind::Summary => {
                    self.summary(&point);
                    true
                }
            };
            if !converted {
                continue;
            }
            if stale {
                for sample in &mut self.samples {
                    sample.value = STALE_NAN;
                }
            }
            *newest = (*newest).max(timestamp_ms);
            self.stats.points += 1;
            visitor.point(&Point { labels, key: &self.key, timestamp_ms, samples: &self.samples, stale });
        }
    }

    /// A gauge or sum point; false when it was not converted (and was counted).
    fn number(&mut self, point: &DataPoint<'_>, delta: bool, time: u64, now: u64) -> bool {
        let Some(value) = point.value().map(|v| v.as_f64()) else {
            // A point flagged "no recorded value" may lack one: it still marks staleness.
            if point.flags() & 1 != 0 {
                self.samples.push(Sample { suffix: Suffix::Value, extra: None, value: STALE_NAN });
                return true;
            }
            self.stats.invalid += 1;
            return false;
        };
        let value = if delta {
            match self.delta.add_sum(&self.key, time, value, now) {
                Ok(total) => total,
                Err(_) => {
                    self.stats.out_of_order += 1;
                    return false;
                }
            }
        } else {
            value
        };
        self.samples.push(Sample { suffix: Suffix::Value, extra: None, value });
        true
    }

    fn histogram(&mut self, buckets: &mut Buckets, delta: bool, time: u64, now: u64) -> bool {
        if delta && self.delta.add_histogram(&self.key, time, buckets, now).is_err() {
            self.stats.out_of_order += 1;
            return false;
        }
        let mut cumulative = 0u64;
        for (bound, count) in buckets.bounds.iter().zip(&buckets.counts) {
            cumulative = cumulative.saturating_add(*count);
            self.samples.push(Sample {
                suffix: Suffix::Bucket,
                extra: Some(Extra::Le(*bound)),
                value: cumulative as f64,
            });
        }
        let count = buckets.count as f64;
        self.samples.push(Sample { suffix: Suffix::Bucket, extra: Some(Extra::Le(f64::INFINITY)), value: count });
        if let Some(sum) = buckets.sum {
            self.samples.push(Sample { suffix: Suffix::Sum, extra: None, value: sum });
        }
        self.samples.push(Sample { suffix: Suffix::Count, extra: None, value: count });
        true
    }

    fn summary(&mut self, point: &DataPoint<'_>) {
        for (quantile, value) in point.quantile_values() {
            // A repeated quantile would be a second series with the same labels.
            let repeated = self.samples.iter().any(|s| s.extra == Some(Extra::Quantile(quantile)));
            if !quantile.is_nan() && !repeated {
                self.samples.push(Sample { suffix: Suffix::Value, extra: Some(Extra::Quantile(quantile)), value });
            }
        }
        self.samples.push(Sample { suffix: Suffix::Sum, extra: None, value: point.sum().unwrap_or(0.0) });
        self.samples.push(Sample { suffix: Suffix::Count, extra: None, value: point.count().unwrap_or(0) as f64 });
    }

    /// `target_info{job, instance, <other resource attributes>} 1`, when the resource has
    /// attributes other than those `job` and `instance` are made of.
    fn target_info<'a>(
        &mut self,
        resource: &Resource<'a>,
        timestamp_ms: i64,
        visitor: &mut impl Visitor,
        labels: &mut Vec<Label<'a>>,
        entries: &mut Vec<Entry<'a>>,
    ) {
        entries.clear();
        for (key, value) in resource.attributes() {
            if matches!(key, SERVICE_NAME | SERVICE_NAMESPACE | SERVICE_INSTANCE) {
                continue;
            }
            if let Some(name) = naming::sanitize_label_name(key) {
                let value = value_text(&value);
                if !value.is_empty() {
                    entries.push(Entry { name, value, key });
                }
            }
        }
        if entries.is_empty() {
            return;
        }
        let mut base = resource_labels(resource, &self.options, false);
        base.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        merge_labels(entries, &base, labels);
        let family =
            Family { name: "target_info", kind: FamilyKind::Info, help: "Target metadata", unit: "", total: false };
        visitor.family(&family);
        family_key(&mut self.key, &family, labels);
        self.samples.clear();
        self.samples.push(Sample { suffix: Suffix::Value, extra: None, value: 1.0 });
        self.stats.points += 1;
        visitor.point(&Point { labels, key: &self.key, timestamp_ms, samples: &self.samples, stale: false });
    }
}

/// The payloads of the `resource_metrics` fields of a request.
fn resources(request: &[u8]) -> Result<Vec<&[u8]>, Error> {
    use prost::encoding::{WireType, decode_key, decode_varint, skip_field};
    let mut out = Vec::new();
    let mut rest = request;
    while !rest.is_empty() {
        let offset = request.len() - rest.len();
        let bad =
            |e: prost::DecodeError| Error::invalid_input(format!("malformed metrics request at byte {offset}: {e}"));
        let (number, wire_type) = decode_key(&mut rest).map_err(bad)?;
        if number == 1 && wire_type == WireType::LengthDelimited {
            let len = decode_varint(&mut rest).map_err(bad)?;
            let len = usize::try_from(len).ok().filter(|&len| len <= rest.len()).ok_or_else(|| {
                Error::invalid_input(format!("malformed metrics request at byte {offset}: a field runs past the end"))
            })?;
            out.push(&rest[..len]);
            rest = &rest[len..];
        } else {
            skip_field(wire_type, number, &mut rest, prost::encoding::DecodeContext::default()).map_err(bad)?;
        }
    }
    Ok(out)
}

/// The labels every point of a resource gets: `job`, `instance`, promoted resource
/// attributes (when `promote`) and external labels, each name once.
fn resource_labels<'a>(resource: &Resource<'a>, options: &Options, promote: bool) -> Vec<Label<'a>> {
    let mut out: Vec<Label<'a>> = Vec::new();
    let service = resource.attribute(SERVICE_NAME).map(|v| value_text(&v)).filter(|v| !v.is_empty());
    let namespace = resource.attribute(SERVICE_NAMESPACE).map(|v| value_text(&v)).filter(|v| !v.is_empty());
    let job = match (namespace, service) {
        (Some(namespace), Some(service)) => Some(Cow::Owned(format!("{namespace}/{service}"))),
        (None, Some(service)) => Some(service),
        _ => None,
    };
    if let Some(job) = job {
        out.push(("job".into(), job));
    }
    if let Some(instance) = resource.attribute(SERVICE_INSTANCE).map(|v| value_text(&v)).filter(|v| !v.is_empty()) {
        out.push(("instance".into(), instance));
    }
    let promoted = if promote { options.promote_resource_attributes.as_slice() } else { &[] };
    for key in promoted {
        if let (Some(value), Some(name)) = (resource.attribute(key), naming::sanitize_label_name(key)) {
            let value = value_text(&value);
            if !value.is_empty() && !out.iter().any(|(n, _)| *n == name) {
                out.push((Cow::Owned(name.into_owned()), value));
            }
        }
    }
    for (name, value) in &options.external_labels {
        if !out.iter().any(|(n, _)| n == name.as_str()) {
            out.push((Cow::Owned(name.clone()), Cow::Owned(value.clone())));
        }
    }
    out
}

/// A point's labels: its attributes (sanitized, without `reserved`) merged with `base`.
fn point_labels<'a>(
    point: &DataPoint<'a>,
    base: &[Label<'a>],
    reserved: &str,
    entries: &mut Vec<Entry<'a>>,
    labels: &mut Vec<Label<'a>>,
) {
    entries.clear();
    for (key, value) in point.attributes() {
        let Some(name) = naming::sanitize_label_name(key) else { continue };
        if name == reserved {
            continue;
        }
        let value = value_text(&value);
        if !value.is_empty() {
            entries.push(Entry { name, value, key });
        }
    }
    merge_labels(entries, base, labels);
}

/// Merges attributes with `base` (sorted by name, each name once) into `labels`, sorted by
/// name. A base label wins over attributes of its name; attributes that sanitize to the
/// same name have their values joined with `;`. Most senders keep attributes sorted, so
/// they are sorted here only when they are not.
fn merge_labels<'a>(entries: &mut [Entry<'a>], base: &[Label<'a>], labels: &mut Vec<Label<'a>>) {
    labels.clear();
    let order = |a: &Entry<'_>, b: &Entry<'_>| a.name.cmp(&b.name).then(a.key.cmp(b.key));
    if !entries.is_sorted_by(|a, b| order(a, b).is_le()) {
        entries.sort_unstable_by(order);
    }
    let (mut i, mut j) = (0, 0);
    while i < entries.len() {
        let mut end = i + 1;
        while end < entries.len() && entries[end].name == entries[i].name {
            end += 1;
        }
        while j < base.len() && base[j].0 < entries[i].name {
            labels.push(base[j].clone());
            j += 1;
        }
        if j < base.len() && base[j].0 == entries[i].name {
            labels.push(base[j].clone());
            j += 1;
        } else if end == i + 1 {
            // Taken rather than cloned: the entries are cleared before they are used again.
            let entry = &mut entries[i];
            labels.push((std::mem::take(&mut entry.name), std::mem::take(&mut entry.value)));
        } else {
            let joined = entries[i..end].iter().map(|e| e.value.as_ref()).collect::<Vec<_>>().join(";");
            labels.push((std::mem::take(&mut entries[i].name), Cow::Owned(joined)));
        }
        i = end;
    }
    labels.extend_from_slice(&base[j..]);
}

/// The series key of a point: the family's name and kind, then every label, each
/// length-prefixed so that no two label sets share a key.
fn family_key(key: &mut Vec<u8>, family: &Family<'_>, labels: &[Label<'_>]) {
    key.clear();
    key.push(family.kind as u8);
    push_prefixed(key, family.name);
    for (name, value) in labels {
        push_prefixed(key, name);
        push_prefixed(key, value);
    }
}

fn push_prefixed(key: &mut Vec<u8>, text: &str) {
    key.extend_from_slice(&(text.len() as u32).to_le_bytes());
    key.extend_from_slice(text.as_bytes());
}

/// An attribute value as a label value: strings as they are, other values as text
/// (arrays and maps JSON-like).
fn value_text<'a>(value: &AnyValue<'a>) -> Cow<'a, str> {
    match value.get() {
        ValueRef::Str(s) => Cow::Borrowed(s),
        ValueRef::Empty => Cow::Borrowed(""),
        other => Cow::Owned(other.to_string()),
    }
}
