//! The latest point of every series, by family, as the scrape endpoint serves them; points
//! not updated for `expire_after` are forgotten.

use std::collections::BTreeMap;

use aegis_prometheus_common::{Family, FamilyKind, Point, Sample, Suffix, Visitor};
use rustc_hash::FxHashMap;

/// A metric family and its points.
#[derive(Debug)]
pub(crate) struct FamilyState {
    /// The family name (without `_total`).
    pub(crate) base: String,
    pub(crate) kind: FamilyKind,
    pub(crate) help: String,
    pub(crate) unit: String,
    pub(crate) total: bool,
    pub(crate) points: FxHashMap<Box<[u8]>, PointState>,
}

impl FamilyState {
    /// The name of the family's main samples (`http_requests_total`, `memory_bytes`,
    /// `http_request_duration_seconds` for a histogram).
    pub(crate) fn sample_name(&self, suffix: Suffix) -> String {
        let family = Family { name: &self.base, kind: self.kind, help: "", unit: "", total: self.total };
        format!("{}{}", self.base, family.suffix(suffix))
    }
}

/// The latest point of one series.
#[derive(Debug, Clone)]
pub(crate) struct PointState {
    /// Sorted by name.
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) samples: Vec<Sample>,
    pub(crate) timestamp_ms: i64,
    /// When it last came in, by the wall clock (Unix nanoseconds).
    seen: u64,
}

/// What the store counted since it was last asked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct StoreStats {
    /// Points of new series refused because `max_series` was reached.
    pub(crate) series_limit: u64,
}

/// Every family, by the name of its main samples (so a counter `x_total` and a gauge `x`
/// stay apart).
#[derive(Debug)]
pub(crate) struct Store {
    families: BTreeMap<String, FamilyState>,
    current: String,
    points: usize,
    max_series: usize,
    now: u64,
    stats: StoreStats,
}

impl Store {
    pub(crate) fn new(max_series: usize) -> Self {
        Store {
            families: BTreeMap::new(),
            current: String::new(),
            points: 0,
            max_series,
            now: 0,
            stats: StoreStats::default(),
        }
    }

    /// Sets the wall clock for the points that follow.
    pub(crate) fn set_now(&mut self, now: u64) {
        self.now = now;
    }

    /// The families, sorted by name.
    pub(crate) fn families(&self) -> impl Iterator<Item = &FamilyState> {
        self.families.values()
    }

    /// Points kept.
    pub(crate) fn points(&self) -> usize {
        self.points
    }

    pub(crate) fn take_stats(&mut self) -> StoreStats {
        std::mem::take(&mut self.stats)
    }

    /// Forgets points not updated since `oldest` (wall clock), and families left empty.
    pub(crate) fn expire(&mut self, oldest: u64) {
        let mut removed = 0;
        self.families.retain(|_, family| {
            let before = family.points.len();
            family.points.retain(|_, point| point.seen >= oldest);
            removed += before - family.points.len();
            !family.points.is_empty()
        });
        self.points -= removed;
    }
}

impl Visitor for Store {
    fn family(&mut self, family: &Family<'_>) {
        self.current.clear();
        self.current.push_str(family.name);
        self.current.push_str(family.suffix(Suffix::Value));
        match self.families.get_mut(self.current.as_str()) {
            Some(state) => {
                if state.kind != family.kind {
                    // Another metric now has this name with another type: serve the new one.
                    self.points -= state.points.len();
                    state.points.clear();
                    state.kind = family.kind;
                }
                if state.help != family.help {
                    state.help = family.help.to_owned();
                }
                if state.unit != family.unit {
                    state.unit = family.unit.to_owned();
                }
                state.base.clear();
                state.base.push_str(family.name);
                state.total = family.total;
            }
            None => {
                self.families.insert(
                    self.current.clone(),
                    FamilyState {
                        base: family.name.to_owned(),
                        kind: family.kind,
                        help: family.help.to_owned(),
                        unit: family.unit.to_owned(),
                        total: family.total,
                        points: FxHashMap::default(),
                    },
                );
            }
        }
    }

    fn point(&mut self, point: &Point<'_>) {
        let Some(family) = self.families.get_mut(self.current.as_str()) else { return };
        if point.stale {
            // "No recorded value": the series ended; stop serving it.
            if family.points.remove(point.key).is_some() {
                self.points -= 1;
            }
            return;
        }
        if let Some(state) = family.points.get_mut(point.key) {
            state.samples.clear();
            state.samples.extend_from_slice(point.samples);
            state.timestamp_ms = point.timestamp_ms;
            state.seen = self.now;
            return;
        }
        if self.points >= self.max_series {
            self.stats.series_limit += 1;
            return;
        }
        let labels = point.labels.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        let state =
            PointState { labels, samples: point.samples.to_vec(), timestamp_ms: point.timestamp_ms, seen: self.now };
        family.points.insert(point.key.into(), state);
        self.points += 1;
    }
}
