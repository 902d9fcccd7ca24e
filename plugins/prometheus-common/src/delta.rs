//! Delta temporality turned cumulative: Prometheus only knows counters that grow from a
//! start, so each delta series keeps a running total here, per series, between batches.

use rustc_hash::FxHashMap;
use serde::Deserialize;

use crate::exponential::Buckets;

/// What happens to sums and histograms with delta temporality (config key `delta`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeltaMode {
    /// Keep a running total per series and export that (the default).
    #[default]
    Convert,
    /// Refuse the points and count them (`reason="delta"`).
    Drop,
}

/// Why a delta point was not added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// It is not newer than the last point added to its series.
    OutOfOrder,
}

/// The running totals, by series key.
#[derive(Debug, Default)]
pub(crate) struct DeltaState {
    entries: FxHashMap<Box<[u8]>, Entry>,
}

#[derive(Debug)]
struct Entry {
    /// The newest point time added, in Unix nanoseconds.
    time: u64,
    /// When the series was last updated, by the wall clock, for expiry.
    seen: u64,
    total: Total,
}

#[derive(Debug)]
enum Total {
    Sum(f64),
    Histogram(Buckets),
}

impl DeltaState {
    /// Adds a delta sum point; returns the running total.
    pub(crate) fn add_sum(&mut self, key: &[u8], time: u64, value: f64, now: u64) -> Result<f64, Refused> {
        match self.entries.get_mut(key) {
            Some(entry) => {
                if time <= entry.time && time != 0 {
                    return Err(Refused::OutOfOrder);
                }
                entry.time = time;
                entry.seen = now;
                let total = match &mut entry.total {
                    Total::Sum(total) => {
                        *total += value;
                        *total
                    }
                    // The same series changed from histogram to sum: start over.
                    other => {
                        *other = Total::Sum(value);
                        value
                    }
                };
                Ok(total)
            }
            None => {
                self.entries.insert(key.into(), Entry { time, seen: now, total: Total::Sum(value) });
                Ok(value)
            }
        }
    }

    /// Adds a delta histogram point; on success `buckets` holds the running total.
    /// Buckets with the same bounds add up one by one, buckets converted from exponential
    /// histograms of the same scale are merged by bound; any other change of layout starts
    /// the total over from this point (Prometheus sees a counter reset).
    pub(crate) fn add_histogram(
        &mut self,
        key: &[u8],
        time: u64,
        buckets: &mut Buckets,
        now: u64,
    ) -> Result<(), Refused> {
        let Some(entry) = self.entries.get_mut(key) else {
            self.entries.insert(key.into(), Entry { time, seen: now, total: Total::Histogram(buckets.clone()) });
            return Ok(());
        };
        if time <= entry.time && time != 0 {
            return Err(Refused::OutOfOrder);
        }
        entry.time = time;
        entry.seen = now;
        let Total::Histogram(total) = &mut entry.total else {
            entry.total = Total::Histogram(buckets.clone());
            return Ok(());
        };
        if total.bounds == buckets.bounds && total.scale == buckets.scale {
            for (t, c) in total.counts.iter_mut().zip(&buckets.counts) {
                *t = t.saturating_add(*c);
            }
        } else if total.scale.is_some() && total.scale == buckets.scale {
            merge_by_bound(total, buckets);
        } else {
            *total = buckets.clone();
            return Ok(());
        }
        total.count = total.count.saturating_add(buckets.count);
        total.sum = match (total.sum, buckets.sum) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        buckets.clone_from(total);
        Ok(())
    }

    /// Forgets series not updated since `oldest` (wall-clock nanoseconds).
    pub(crate) fn expire(&mut self, oldest: u64) {
        self.entries.retain(|_, entry| entry.seen >= oldest);
    }

    /// How many series have a running total.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Adds `add` into `total`, bucket by bound (both sorted, as converted buckets are).
fn merge_by_bound(total: &mut Buckets, add: &Buckets) {
    let mut bounds = Vec::with_capacity(total.bounds.len().max(add.bounds.len()));
    let mut counts = Vec::with_capacity(bounds.capacity() + 1);
    let (mut i, mut j) = (0, 0);
    while i < total.bounds.len() || j < add.bounds.len() {
        let a = total.bounds.get(i).copied().unwrap_or(f64::INFINITY);
        let b = add.bounds.get(j).copied().unwrap_or(f64::INFINITY);
        if a == b {
            bounds.push(a);
            counts.push(total.counts[i].saturating_add(add.counts[j]));
            i += 1;
            j += 1;
        } else if a < b {
            bounds.push(a);
            counts.push(total.counts[i]);
            i += 1;
        } else {
            bounds.push(b);
            counts.push(add.counts[j]);
            j += 1;
        }
    }
    let overflow = total.counts.last().copied().unwrap_or(0).saturating_add(add.counts.last().copied().unwrap_or(0));
    counts.push(overflow);
    total.bounds = bounds;
    total.counts = counts;
}
