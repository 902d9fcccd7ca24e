//! The series the exporter knows, with the samples waiting to be written: the state that
//! makes batching across batches, per-series ordering and staleness markers possible.
//!
//! Each converted data point is a *group* of series (a histogram point is its buckets,
//! `_sum` and `_count`), found by the point's key with one hash lookup. A series encodes
//! its labels once, when it is made, and keeps its pending samples and the newest
//! timestamp it has written, so that nothing older than that is ever sent (Prometheus
//! rejects a whole request over one out-of-order sample).

use std::collections::VecDeque;

use aegis_prometheus_common::{Extra, Family, FamilyKind, Point, STALE_NAN, Suffix, Visitor, float_text};
use rustc_hash::FxHashMap;

use crate::proto::{self, MetricMetadata, MetricType, Sample};

/// What the store counted since the counters were last taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct StoreStats {
    /// Samples not newer than what their series already wrote.
    pub(crate) out_of_order: u64,
    /// Points of new series refused because `max_series` was reached.
    pub(crate) series_limit: u64,
    /// Staleness markers queued.
    pub(crate) stale_markers: u64,
}

/// One series: its encoded labels and what it still has to write.
#[derive(Debug)]
struct Series {
    /// The `labels` fields of its `TimeSeries`, `__name__` included.
    labels: Vec<u8>,
    /// Samples not written yet, in arrival order.
    samples: Vec<Sample>,
    /// The newest timestamp written.
    written: i64,
    /// The newest timestamp taken in (written or pending).
    newest: i64,
}

impl Series {
    fn new(labels: Vec<u8>) -> Self {
        Series { labels, samples: Vec::new(), written: i64::MIN, newest: i64::MIN }
    }

    /// Queues the staleness marker, just after the newest sample: it is then never older
    /// than anything the series wrote, whatever the clocks of the senders.
    fn mark_stale(&mut self) -> bool {
        if self.newest == i64::MIN {
            return false;
        }
        let timestamp = self.newest.saturating_add(1);
        self.samples.push(Sample { value: STALE_NAN, timestamp });
        self.newest = timestamp;
        true
    }
}

/// Which sample of a point a series holds: its suffix and `le`/`quantile`.
type Slot = (Suffix, Option<u64>);

fn slot(suffix: Suffix, extra: Option<Extra>) -> Slot {
    (suffix, extra.map(|e| e.value().to_bits()))
}

#[derive(Debug)]
struct Group {
    key: Box<[u8]>,
    slots: Vec<Slot>,
    series: Vec<Series>,
    /// When a point of it last came in, by the wall clock (Unix nanoseconds).
    seen: u64,
    /// Whether it is in the pending queue.
    queued: bool,
}

/// The sample names of the family being converted.
#[derive(Debug, Default)]
struct Names {
    value: String,
    bucket: String,
    sum: String,
    count: String,
}

impl Names {
    fn get(&self, suffix: Suffix) -> &str {
        match suffix {
            Suffix::Value => &self.value,
            Suffix::Bucket => &self.bucket,
            Suffix::Sum => &self.sum,
            Suffix::Count => &self.count,
        }
    }
}

/// The metadata last sent for a family.
#[derive(Debug, PartialEq)]
struct Sent {
    kind: MetricType,
    help: String,
    unit: String,
}

/// Every known series and the samples waiting to be written.
#[derive(Debug)]
pub(crate) struct Store {
    index: FxHashMap<Box<[u8]>, u32>,
    groups: Vec<Option<Group>>,
    free: Vec<u32>,
    /// Groups with pending samples, oldest first (an id may be stale or repeated; draining
    /// skips what it finds empty).
    pending: VecDeque<u32>,
    /// Series that ended, with their last samples and staleness marker.
    retired: VecDeque<Series>,
    pending_samples: usize,
    series: usize,
    max_series: usize,
    send_metadata: bool,
    metadata_sent: FxHashMap<String, Sent>,
    metadata_pending: Vec<MetricMetadata>,
    names: Names,
    /// The wall clock of the batch being taken in.
    now: u64,
    stats: StoreStats,
}

impl Store {
    pub(crate) fn new(max_series: usize, send_metadata: bool) -> Self {
        Store {
            index: FxHashMap::default(),
            groups: Vec::new(),
            free: Vec::new(),
            pending: VecDeque::new(),
            retired: VecDeque::new(),
            pending_samples: 0,
            series: 0,
            max_series,
            send_metadata,
            metadata_sent: FxHashMap::default(),
            metadata_pending: Vec::new(),
            names: Names::default(),
            now: 0,
            stats: StoreStats::default(),
        }
    }

    /// Sets the wall clock for the points that follow.
    pub(crate) fn set_now(&mut self, now: u64) {
        self.now = now;
    }

    /// Samples waiting to be written.
    pub(crate) fn pending_samples(&self) -> usize {
        self.pending_samples
    }

    /// Series known.
    pub(crate) fn series(&self) -> usize {
        self.series
    }

    pub(crate) fn take_stats(&mut self) -> StoreStats {
        std::mem::take(&mut self.stats)
    }

    /// Ends every series whose point has not come in since `oldest` (wall clock): each
    /// gets a staleness marker and is forgotten.
    pub(crate) fn expire(&mut self, oldest: u64) {
        for id in 0..self.groups.len() {
            if self.groups[id].as_ref().is_some_and(|group| group.seen < oldest) {
                self.retire(id as u32);
            }
        }
    }

    fn retire(&mut self, id: u32) {
        let Some(group) = self.groups[id as usize].take() else { return };
        self.index.remove(&group.key);
        self.free.push(id);
        self.series -= group.series.len();
        for mut series in group.series {
            self.retire_series(&mut series);
            if !series.samples.is_empty() {
                self.retired.push_back(series);
            }
        }
    }

    fn retire_series(&mut self, series: &mut Series) {
        if series.mark_stale() {
            self.pending_samples += 1;
            self.stats.stale_markers += 1;
        }
    }

    fn new_group(&mut self, point: &Point<'_>) -> Option<u32> {
        if self.series + point.samples.len() > self.max_series {
            self.stats.series_limit += 1;
            return None;
        }
        let group = Group {
            key: point.key.into(),
            slots: point.samples.iter().map(|s| slot(s.suffix, s.extra)).collect(),
            series: point.samples.iter().map(|s| Series::new(self.labels(point, s.suffix, s.extra))).collect(),
            seen: self.now,
            queued: false,
        };
        self.series += group.series.len();
        let id = match self.free.pop() {
            Some(id) => {
                self.groups[id as usize] = Some(group);
                id
            }
            None => {
                self.groups.push(Some(group));
                (self.groups.len() - 1) as u32
            }
        };
        self.index.insert(point.key.into(), id);
        Some(id)
    }

    /// The encoded labels of one series of `point`: its labels with `__name__` and
    /// `le`/`quantile` merged in by name.
    fn labels(&self, point: &Point<'_>, suffix: Suffix, extra: Option<Extra>) -> Vec<u8> {
        let extra_text = extra.map(|e| (e.name(), float_text(e.value())));
        let mut added: Vec<(&str, &str)> = vec![("__name__", self.names.get(suffix))];
        if let Some((name, value)) = &extra_text {
            added.push((name, value));
        }
        let mut all: Vec<(&str, &str)> = point.labels.iter().map(|(n, v)| (n.as_ref(), v.as_ref())).collect();
        all.retain(|(name, _)| !added.iter().any(|(a, _)| a == name));
        all.extend(added);
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        proto::encode_labels(all)
    }

    /// The layout of a group's point changed (e.g. other bucket bounds): keep the series
    /// that are still there, end the others.
    fn relayout(&mut self, id: u32, point: &Point<'_>) {
        let Some(mut group) = self.groups[id as usize].take() else { return };
        let mut old: Vec<(Slot, Series)> = group.slots.drain(..).zip(group.series.drain(..)).collect();
        for sample in point.samples {
            let wanted = slot(sample.suffix, sample.extra);
            let series = match old.iter().position(|(s, _)| *s == wanted) {
                Some(at) => old.swap_remove(at).1,
                None => {
                    self.series += 1;
                    Series::new(self.labels(point, sample.suffix, sample.extra))
                }
            };
            group.slots.push(wanted);
            group.series.push(series);
        }
        for (_, mut series) in old {
            self.series -= 1;
            self.retire_series(&mut series);
            if !series.samples.is_empty() {
                self.retired.push_back(series);
            }
        }
        self.groups[id as usize] = Some(group);
    }

    /// Takes up to `max` pending samples into one encoded `WriteRequest` (with the pending
    /// metadata); `None` when nothing is pending.
    pub(crate) fn drain_request(&mut self, max: usize) -> Option<(Vec<u8>, usize)> {
        if self.pending_samples == 0 && self.metadata_pending.is_empty() {
            return None;
        }
        let mut body = Vec::with_capacity(max.min(self.pending_samples) * 24 + 256);
        for metadata in self.metadata_pending.drain(..) {
            proto::write_metadata(&mut body, &metadata);
        }
        let mut taken = 0;
        while taken < max {
            let Some(series) = self.retired.front_mut() else { break };
            let before = series.samples.len();
            taken += take(series, max - taken, &mut body);
            self.pending_samples -= before - series.samples.len();
            if series.samples.is_empty() {
                self.retired.pop_front();
            }
        }
        while taken < max {
            let Some(&id) = self.pending.front() else { break };
            let Some(group) = self.groups.get_mut(id as usize).and_then(Option::as_mut) else {
                self.pending.pop_front();
                continue;
            };
            let mut left = false;
            for series in &mut group.series {
                if taken >= max {
                    left = true;
                    break;
                }
                let before = series.samples.len();
                taken += take(series, max - taken, &mut body);
                self.pending_samples -= before - series.samples.len();
                left |= !series.samples.is_empty();
            }
            if left {
                break;
            }
            group.queued = false;
            self.pending.pop_front();
        }
        Some((body, taken))
    }
}

/// Writes up to `max` of a series' pending samples, oldest first, as one `TimeSeries`;
/// returns how many. Samples of equal timestamps collapse to the last that came in.
fn take(series: &mut Series, max: usize, body: &mut Vec<u8>) -> usize {
    if series.samples.is_empty() {
        return 0;
    }
    if !series.samples.is_sorted_by_key(|s| s.timestamp) {
        series.samples.sort_by_key(|s| s.timestamp);
    }
    series.samples.dedup_by(|later, earlier| {
        let same = later.timestamp == earlier.timestamp;
        if same {
            earlier.value = later.value;
        }
        same
    });
    let n = series.samples.len().min(max);
    proto::write_series(body, &series.labels, &series.samples[..n]);
    series.written = series.samples[n - 1].timestamp;
    series.samples.drain(..n);
    n
}

impl Visitor for Store {
    fn family(&mut self, family: &Family<'_>) {
        let names = &mut self.names;
        for (name, suffix) in [
            (&mut names.value, Suffix::Value),
            (&mut names.bucket, Suffix::Bucket),
            (&mut names.sum, Suffix::Sum),
            (&mut names.count, Suffix::Count),
        ] {
            name.clear();
            name.push_str(family.name);
            name.push_str(family.suffix(suffix));
        }
        if !self.send_metadata {
            return;
        }
        let kind = match family.kind {
            FamilyKind::Counter => MetricType::Counter,
            FamilyKind::Gauge => MetricType::Gauge,
            FamilyKind::Histogram => MetricType::Histogram,
            FamilyKind::Summary => MetricType::Summary,
            FamilyKind::Info => MetricType::Info,
        };
        let family_name = &self.names.value;
        let unchanged = self
            .metadata_sent
            .get(family_name.as_str())
            .is_some_and(|sent| sent.kind == kind && sent.help == family.help && sent.unit == family.unit);
        if unchanged {
            return;
        }
        self.metadata_sent
            .insert(family_name.clone(), Sent { kind, help: family.help.to_owned(), unit: family.unit.to_owned() });
        self.metadata_pending.push(MetricMetadata {
            r#type: kind as i32,
            metric_family_name: family_name.clone(),
            help: family.help.to_owned(),
            unit: family.unit.to_owned(),
        });
    }

    fn point(&mut self, point: &Point<'_>) {
        let found = self.index.get(point.key).copied();
        if point.stale {
            // "No recorded value": end the series the point had, whatever it carries now.
            if let Some(id) = found {
                self.retire(id);
            }
            return;
        }
        let id = match found {
            Some(id) => {
                let same = self.groups[id as usize].as_ref().is_some_and(|group| {
                    group.slots.len() == point.samples.len()
                        && group.slots.iter().zip(point.samples).all(|(s, p)| *s == slot(p.suffix, p.extra))
                });
                if !same {
                    self.relayout(id, point);
                }
                id
            }
            None => match self.new_group(point) {
                Some(id) => id,
                None => return,
            },
        };
        let Some(group) = self.groups[id as usize].as_mut() else { return };
        group.seen = self.now;
        let timestamp = point.timestamp_ms;
        let mut added = 0;
        for (series, sample) in group.series.iter_mut().zip(point.samples) {
            if timestamp <= series.written {
                self.stats.out_of_order += 1;
                continue;
            }
            series.samples.push(Sample { value: sample.value, timestamp });
            series.newest = series.newest.max(timestamp);
            added += 1;
        }
        self.pending_samples += added;
        if added > 0 && !group.queued {
            group.queued = true;
            self.pending.push_back(id);
        }
    }
}
