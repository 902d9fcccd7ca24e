//! Parsed metric families to cumulative OTLP metrics, following the OpenTelemetry
//! Prometheus compatibility spec: counters become monotonic sums without `_total`,
//! histograms and summaries are grouped from their `_bucket`/`_sum`/`_count` samples,
//! `job`/`instance` become the resource, and start times are kept per series.

use std::collections::HashMap;

use aegis_plugin_sdk::Value;
use aegis_plugin_sdk::wire::{MetricData, MetricKindData, ResourceData};
use regex::Regex;

use crate::encode::{ExemplarData, HistogramPoint, NumberPoint, Points, SummaryPoint};
use crate::parse::{Exemplar, Exposition, Family, Kind, ParseError, Result, Sample};

/// The scraped target, as the resource of what it exposes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Target {
    /// `job`: the `service.name`.
    pub(crate) job: String,
    /// `instance`: `host:port` of the URL, the `service.instance.id`.
    pub(crate) instance: String,
    /// The URL's scheme, `url.scheme`.
    pub(crate) scheme: String,
}

impl Target {
    /// The target a scrape URL names; the port defaults by scheme, as Prometheus's
    /// `instance` label does.
    pub(crate) fn from_url(url: &str, job: &str) -> Target {
        let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
        let has_port = match authority.rfind(']') {
            Some(bracket) => authority[bracket..].contains(':'),
            None => authority.contains(':'),
        };
        let instance = if has_port || authority.is_empty() {
            authority.to_string()
        } else {
            let port = if scheme.eq_ignore_ascii_case("https") { 443 } else { 80 };
            format!("{authority}:{port}")
        };
        Target { job: job.to_string(), instance, scheme: scheme.to_ascii_lowercase() }
    }
}

/// What a series looked like at the last successful scrape of its target.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Start {
    start: u64,
    last: f64,
    time: u64,
}

/// The start times of one target's cumulative series.
pub(crate) type Starts = HashMap<String, Start>;

/// How samples become points.
pub(crate) struct Options<'a> {
    /// Whether `job`/`instance` labels of the body win over the target's.
    pub(crate) honor_labels: bool,
    /// Families and samples to drop, by name.
    pub(crate) drop: &'a [Regex],
}

/// The metrics of one resource (one `job`/`instance` pair).
#[derive(Debug, Default)]
pub(crate) struct ResourceGroup {
    pub(crate) job: String,
    pub(crate) instance: String,
    /// Labels of `target_info`, which the compatibility spec makes resource attributes.
    pub(crate) extra: Vec<(String, String)>,
    pub(crate) metrics: Vec<MetricData>,
}

impl ResourceGroup {
    /// The resource: `service.name`, `service.instance.id`, `server.address`,
    /// `server.port`, `url.scheme`, then `target_info`'s labels.
    pub(crate) fn resource(&self, scheme: &str) -> ResourceData {
        let mut attributes = vec![
            ("service.name".to_string(), Value::Str(self.job.clone())),
            ("service.instance.id".to_string(), Value::Str(self.instance.clone())),
        ];
        if let Some((host, port)) = self.instance.rsplit_once(':')
            && let Ok(port) = port.parse::<i64>()
        {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            attributes.push(("server.address".into(), Value::Str(host.to_string())));
            attributes.push(("server.port".into(), Value::Int(port)));
        }
        attributes.push(("url.scheme".into(), Value::Str(scheme.to_string())));
        attributes.extend(self.extra.iter().map(|(k, v)| (k.clone(), Value::Str(v.clone()))));
        ResourceData { attributes, dropped_attributes_count: 0 }
    }
}

/// The converted scrape.
#[derive(Debug, Default)]
pub(crate) struct Converted {
    pub(crate) groups: Vec<ResourceGroup>,
    /// Samples left after `drop_metrics`.
    pub(crate) kept: usize,
}

impl Converted {
    /// The group of `job`/`instance`, created when new.
    pub(crate) fn group(&mut self, job: &str, instance: &str) -> &mut ResourceGroup {
        let index = match self.groups.iter().position(|g| g.job == job && g.instance == instance) {
            Some(index) => index,
            None => {
                self.groups.push(ResourceGroup { job: job.into(), instance: instance.into(), ..Default::default() });
                self.groups.len() - 1
            }
        };
        &mut self.groups[index]
    }
}

/// Converts a parsed body scraped at `time` (nanoseconds). On success `starts` holds the
/// series of this scrape only, so a series that vanished starts afresh when it returns.
pub(crate) fn convert(
    exposition: &Exposition,
    target: &Target,
    options: &Options<'_>,
    time: u64,
    starts: &mut Starts,
) -> Result<Converted> {
    let mut converter = Converter { target, options, time, previous: starts, next: Starts::new() };
    let mut out = Converted::default();
    for family in &exposition.families {
        converter.family(family, &mut out)?;
    }
    *starts = converter.next;
    Ok(out)
}

struct Converter<'a> {
    target: &'a Target,
    options: &'a Options<'a>,
    time: u64,
    previous: &'a Starts,
    next: Starts,
}

/// The series of one family under one resource, in body order.
struct ResourceSeries {
    /// `job`, `instance`.
    resource: (String, String),
    series: Vec<Series>,
    /// Where each label set is in `series`.
    index_of: HashMap<Vec<(String, String)>, usize>,
}

/// One series being assembled from its samples.
#[derive(Default)]
struct Series {
    attributes: Vec<(String, String)>,
    value: Option<f64>,
    created: Option<f64>,
    time: Option<i64>,
    sum: Option<f64>,
    count: Option<f64>,
    /// (upper bound or quantile, value).
    entries: Vec<(f64, f64)>,
    exemplars: Vec<ExemplarData>,
}

impl Converter<'_> {
    fn dropped(&self, family: &Family, sample: &Sample) -> bool {
        self.options.drop.iter().any(|re| re.is_match(&family.name) || re.is_match(&sample.name))
    }

    /// The resource a sample belongs to and its other labels, per `honor_labels`.
    fn split_labels(&self, sample: &Sample) -> ((String, String), Vec<(String, String)>) {
        let mut job = self.target.job.clone();
        let mut instance = self.target.instance.clone();
        let mut attributes = Vec::with_capacity(sample.labels.len());
        for (key, value) in &sample.labels {
            // Prometheus treats an empty label as one that is absent.
            if value.is_empty() {
                continue;
            }
            match key.as_str() {
                "job" if self.options.honor_labels => job = value.clone(),
                "instance" if self.options.honor_labels => instance = value.clone(),
                "job" | "instance" => attributes.push((format!("exported_{key}"), value.clone())),
                _ => attributes.push((key.clone(), value.clone())),
            }
        }
        attributes.sort();
        ((job, instance), attributes)
    }

    fn family(&mut self, family: &Family, out: &mut Converted) -> Result<()> {
        let samples: Vec<&Sample> = family.samples.iter().filter(|s| !self.dropped(family, s)).collect();
        out.kept += samples.len();
        if samples.is_empty() {
            return Ok(());
        }
        // Per resource, the series of this family in body order.
        let mut by_resource: Vec<ResourceSeries> = Vec::new();
        for sample in samples {
            let (resource, mut attributes) = self.split_labels(sample);
            if family.name == "target_info" && matches!(family.kind, Kind::Info | Kind::Gauge | Kind::Untyped) {
                out.group(&resource.0, &resource.1).extra.extend(attributes);
                continue;
            }
            let suffix = sample.name.strip_prefix(family.name.as_str()).unwrap_or_default();
            let entry = match (family.kind, suffix) {
                (Kind::Histogram | Kind::GaugeHistogram, "_bucket") => Some(take(&mut attributes, "le", sample)?),
                (Kind::Summary, "") => Some(take(&mut attributes, "quantile", sample)?),
                _ => None,
            };
            let index = match by_resource.iter().position(|r| r.resource == resource) {
                Some(index) => index,
                None => {
                    by_resource.push(ResourceSeries { resource, series: Vec::new(), index_of: HashMap::new() });
                    by_resource.len() - 1
                }
            };
            let ResourceSeries { series, index_of, .. } = &mut by_resource[index];
            let at = *index_of.entry(attributes.clone()).or_insert_with(|| {
                series.push(Series { attributes, ..Default::default() });
                series.len() - 1
            });
            let series = &mut series[at];
            if series.time.is_none() {
                series.time = sample.timestamp_nanos;
            }
            if let Some(exemplar) = &sample.exemplar {
                series.exemplars.push(exemplar_data(exemplar));
            }
            match (suffix, entry) {
                (_, Some(bound)) => series.entries.push((bound, sample.value)),
                ("_created", _) if family.kind.has_created() => series.created = Some(sample.value),
                ("_sum" | "_gsum", _) if family.kind.is_distribution() => series.sum = Some(sample.value),
                ("_count" | "_gcount", _) if family.kind.is_distribution() => series.count = Some(sample.value),
                _ => series.value = Some(sample.value),
            }
        }
        for ResourceSeries { resource: (job, instance), series, .. } in by_resource {
            let points = self.points(family, &job, &instance, series);
            if points.is_empty() {
                continue;
            }
            let (field, data) = points.encode();
            let name = match family.kind {
                Kind::Counter => family.name.strip_suffix("_total").filter(|n| !n.is_empty()).unwrap_or(&family.name),
                _ => &family.name,
            };
            out.group(&job, &instance).metrics.push(MetricData {
                name: name.to_string(),
                description: family.help.clone(),
                unit: family.unit.clone(),
                data: MetricKindData::Encoded(field, data),
                metadata: Vec::new(),
            });
        }
        Ok(())
    }

    /// The start of a cumulative series: the previous one while `reset_value` does not
    /// go down; on a reset, the previous scrape's time (the restart happened after it).
    fn start(&mut self, key: String, reset_value: f64, time: u64, created: Option<f64>) -> u64 {
        let start = match (created, self.previous.get(&key)) {
            (Some(created), _) if created.is_finite() && created > 0.0 => (created * 1e9) as u64,
            (_, Some(previous)) if reset_value < previous.last => previous.time,
            (_, Some(previous)) => previous.start,
            (_, None) => time,
        };
        self.next.insert(key, Start { start, last: reset_value, time });
        start
    }

    fn key(&self, job: &str, instance: &str, name: &str, attributes: &[(String, String)]) -> String {
        let mut key = format!("{job}\0{instance}\0{name}");
        for (k, v) in attributes {
            key.push('\0');
            key.push_str(k);
            key.push('\u{1}');
            key.push_str(v);
        }
        key
    }

    fn time_of(&self, series: &Series) -> u64 {
        series.time.map_or(self.time, |t| t.max(0) as u64)
    }

    fn points(&mut self, family: &Family, job: &str, instance: &str, all: Vec<Series>) -> Points {
        match family.kind {
            Kind::Gauge | Kind::Untyped => Points::Gauge(self.numbers(family, job, instance, all, false)),
            Kind::Counter => Points::Sum { points: self.numbers(family, job, instance, all, true), monotonic: true },
            // The spec makes info and stateset non-monotonic sums; they never reset.
            Kind::Info | Kind::StateSet => {
                Points::Sum { points: self.numbers(family, job, instance, all, false), monotonic: false }
            }
            Kind::Histogram | Kind::GaugeHistogram => {
                let cumulative = family.kind == Kind::Histogram;
                let points = all
                    .into_iter()
                    .map(|mut series| {
                        let time = self.time_of(&series);
                        let point = histogram_point(&mut series, time);
                        let start = if cumulative {
                            let key = self.key(job, instance, &family.name, &point.attributes);
                            self.start(key, point.count as f64, time, series.created)
                        } else {
                            0
                        };
                        HistogramPoint { start_time_unix_nano: start, ..point }
                    })
                    .collect();
                Points::Histogram(points)
            }
            Kind::Summary => {
                let points = all
                    .into_iter()
                    .map(|mut series| {
                        let time = self.time_of(&series);
                        let count = to_count(series.count.unwrap_or(0.0));
                        let key = self.key(job, instance, &family.name, &series.attributes);
                        let start = self.start(key, count as f64, time, series.created);
                        series.entries.sort_by(|a, b| a.0.total_cmp(&b.0));
                        SummaryPoint {
                            attributes: series.attributes,
                            start_time_unix_nano: start,
                            time_unix_nano: time,
                            count,
                            sum: series.sum.unwrap_or(0.0),
                            quantiles: series.entries,
                        }
                    })
                    .collect();
                Points::Summary(points)
            }
        }
    }

    fn numbers(
        &mut self,
        family: &Family,
        job: &str,
        instance: &str,
        all: Vec<Series>,
        track: bool,
    ) -> Vec<NumberPoint> {
        all.into_iter()
            .filter_map(|series| {
                // A `_created` sample without its value carries nothing to send.
                let value = series.value?;
                let time = self.time_of(&series);
                let start = if track {
                    let key = self.key(job, instance, &family.name, &series.attributes);
                    self.start(key, value, time, series.created)
                } else {
                    0
                };
                Some(NumberPoint {
                    attributes: series.attributes,
                    start_time_unix_nano: start,
                    time_unix_nano: time,
                    value,
                    exemplars: series.exemplars,
                })
            })
            .collect()
    }
}

impl Kind {
    fn has_created(self) -> bool {
        matches!(self, Kind::Counter | Kind::Histogram | Kind::Summary)
    }

    fn is_distribution(self) -> bool {
        matches!(self, Kind::Histogram | Kind::Summary | Kind::GaugeHistogram)
    }
}

/// Removes label `name` (`le` or `quantile`) and reads it as a number.
fn take(attributes: &mut Vec<(String, String)>, name: &str, sample: &Sample) -> Result<f64> {
    let position = attributes
        .iter()
        .position(|(k, _)| k == name)
        .ok_or_else(|| ParseError { line: sample.line, message: format!("`{}` has no `{name}` label", sample.name) })?;
    let (_, text) = attributes.remove(position);
    text.trim().parse::<f64>().ok().filter(|v| !v.is_nan()).ok_or_else(|| ParseError {
        line: sample.line,
        message: format!("`{}` has `{name}=\"{text}\"`, which is not a number", sample.name),
    })
}

/// A count as Prometheus writes it (a float) as OTLP's integer.
fn to_count(value: f64) -> u64 {
    if value.is_finite() && value > 0.0 { value.round() as u64 } else { 0 }
}

/// The histogram point of a series: cumulative `le` buckets become per-bucket counts, the
/// `+Inf` bucket (or `_count` when it is missing) the last one.
fn histogram_point(series: &mut Series, time: u64) -> HistogramPoint {
    series.entries.sort_by(|a, b| a.0.total_cmp(&b.0));
    series.entries.dedup_by(|a, b| a.0 == b.0);
    let mut explicit_bounds = Vec::with_capacity(series.entries.len());
    let mut bucket_counts = Vec::with_capacity(series.entries.len() + 1);
    let mut previous = 0u64;
    let mut infinite = None;
    for &(bound, cumulative) in &series.entries {
        let cumulative = to_count(cumulative);
        if bound == f64::INFINITY {
            infinite = Some(cumulative);
            break;
        }
        explicit_bounds.push(bound);
        // A cumulative count that goes down is malformed; its bucket counts nothing.
        bucket_counts.push(cumulative.saturating_sub(previous));
        previous = previous.max(cumulative);
    }
    let count = series.count.map(to_count).or(infinite).unwrap_or(previous);
    bucket_counts.push(infinite.unwrap_or(count).saturating_sub(previous));
    HistogramPoint {
        attributes: std::mem::take(&mut series.attributes),
        start_time_unix_nano: 0,
        time_unix_nano: time,
        count,
        sum: series.sum,
        bucket_counts,
        explicit_bounds,
        exemplars: std::mem::take(&mut series.exemplars),
    }
}

/// An exemplar with `trace_id`/`span_id` labels moved to the OTLP fields when they are hex
/// of the right length.
fn exemplar_data(exemplar: &Exemplar) -> ExemplarData {
    let mut data = ExemplarData {
        time_unix_nano: exemplar.timestamp_nanos.map_or(0, |t| t.max(0) as u64),
        value: exemplar.value,
        ..Default::default()
    };
    for (key, value) in &exemplar.labels {
        match (key.as_str(), hex(value)) {
            ("trace_id", Some(bytes)) if bytes.len() == 16 => data.trace_id = bytes,
            ("span_id", Some(bytes)) if bytes.len() == 8 => data.span_id = bytes,
            _ => data.attributes.push((key.clone(), value.clone())),
        }
    }
    data
}

fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}
