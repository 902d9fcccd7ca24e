//! Histogram buckets as Prometheus needs them: explicit bounds with a count per bucket,
//! from an OTLP histogram point or converted from an exponential histogram point.
//!
//! The wire views expose the scale and zero count of exponential points but not their
//! buckets, so those few fields are decoded here with prost; every other field of the
//! point is skipped.

use aegis_plugin_sdk::wire::DataPoint;
use prost::Message;

/// The most buckets a point may convert to; more is treated as invalid input rather than
/// grown into thousands of series.
pub(crate) const MAX_BUCKETS: usize = 4096;

/// Explicit histogram buckets: `counts[i]` values fell at or below `bounds[i]` (and above
/// the bound before); `counts` has one more entry, for values above the last bound.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Buckets {
    pub(crate) bounds: Vec<f64>,
    pub(crate) counts: Vec<u64>,
    pub(crate) sum: Option<f64>,
    pub(crate) count: u64,
    /// The scale of the exponential histogram these buckets came from: buckets of equal
    /// scale line up, so deltas of them can be merged bucket by bucket.
    pub(crate) scale: Option<i32>,
}

/// Why a point has no usable buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Invalid;

impl Buckets {
    /// Reads an explicit histogram point: bounds must increase and there must be one count
    /// more than bounds (or neither).
    pub(crate) fn fill_explicit(&mut self, point: &DataPoint<'_>) -> Result<(), Invalid> {
        self.bounds = point.explicit_bounds();
        self.counts = point.bucket_counts();
        self.sum = point.sum();
        self.count = point.count().unwrap_or(0);
        self.scale = None;
        if self.counts.is_empty() && self.bounds.is_empty() {
            self.counts.push(self.count);
            return Ok(());
        }
        // An infinite bound would make a second `le="+Inf"` series; NaN bounds cannot be ordered.
        let increasing = self.bounds.windows(2).all(|w| w[0] < w[1]) && self.bounds.iter().all(|b| b.is_finite());
        if self.counts.len() != self.bounds.len() + 1 || !increasing || self.bounds.len() > MAX_BUCKETS {
            return Err(Invalid);
        }
        Ok(())
    }

    /// Converts an exponential histogram point to explicit buckets, exactly: each
    /// exponential bucket becomes one explicit bucket whose bound is its upper edge
    /// (negative buckets first, then the zero bucket up to the zero threshold, then the
    /// positive buckets).
    pub(crate) fn fill_exponential(&mut self, point: &DataPoint<'_>) -> Result<(), Invalid> {
        let decoded = ExponentialPoint::decode(point.bytes()).map_err(|_| Invalid)?;
        if !(-10..=20).contains(&decoded.scale) {
            return Err(Invalid);
        }
        let positive = decoded.positive.unwrap_or_default();
        let negative = decoded.negative.unwrap_or_default();
        if positive.bucket_counts.len() + negative.bucket_counts.len() + 1 > MAX_BUCKETS {
            return Err(Invalid);
        }
        self.bounds.clear();
        self.counts.clear();
        self.sum = point.sum();
        self.count = point.count().unwrap_or(0);
        self.scale = Some(decoded.scale);
        let edge = |index: i64| upper_edge(decoded.scale, index);
        // Negative bucket j holds values in [-base^(j+1), -base^j): its upper edge is -base^j,
        // and the most negative comes first.
        for (j, &count) in negative.bucket_counts.iter().enumerate().rev() {
            self.push(-edge(i64::from(negative.offset) + j as i64 - 1), count);
        }
        let threshold = if decoded.zero_threshold.is_finite() { decoded.zero_threshold.abs() } else { 0.0 };
        self.push(threshold, decoded.zero_count);
        // Positive bucket i holds values in (base^i, base^(i+1)].
        for (i, &count) in positive.bucket_counts.iter().enumerate() {
            self.push(edge(i64::from(positive.offset) + i as i64), count);
        }
        self.counts.push(0);
        // Edges past f64's range (a coarse scale with a large index) would be infinite.
        if self.bounds.iter().any(|b| !b.is_finite()) {
            return Err(Invalid);
        }
        Ok(())
    }

    /// Appends a bucket; one whose bound does not exceed the last (which a point with an
    /// odd zero threshold can produce) is counted in the last bucket, which holds it too.
    fn push(&mut self, bound: f64, count: u64) {
        match self.bounds.last() {
            // A NaN bound never compares greater, so it lands in the last bucket too.
            Some(&last) if bound.partial_cmp(&last) != Some(std::cmp::Ordering::Greater) => {
                if let Some(c) = self.counts.last_mut() {
                    *c = c.saturating_add(count);
                }
            }
            _ => {
                self.bounds.push(bound);
                self.counts.push(count);
            }
        }
    }
}

/// base^(index+1) where base = 2^(2^-scale): the upper edge of positive bucket `index`.
fn upper_edge(scale: i32, index: i64) -> f64 {
    let exponent = (index + 1) as f64 * (-f64::from(scale)).exp2();
    if exponent.fract() == 0.0 && exponent.abs() < 1100.0 {
        // Whole powers of two are exact this way; exp2 of a large argument may round.
        2f64.powi(exponent as i32)
    } else {
        exponent.exp2()
    }
}

/// The fields of an `ExponentialHistogramDataPoint` that hold its buckets.
#[derive(Clone, PartialEq, Message)]
struct ExponentialPoint {
    #[prost(sint32, tag = "6")]
    scale: i32,
    #[prost(fixed64, tag = "7")]
    zero_count: u64,
    #[prost(message, optional, tag = "8")]
    positive: Option<ExponentialBuckets>,
    #[prost(message, optional, tag = "9")]
    negative: Option<ExponentialBuckets>,
    #[prost(double, tag = "14")]
    zero_threshold: f64,
}

/// `ExponentialHistogramDataPoint.Buckets`.
#[derive(Clone, PartialEq, Message)]
struct ExponentialBuckets {
    #[prost(sint32, tag = "1")]
    offset: i32,
    #[prost(uint64, repeated, tag = "2")]
    bucket_counts: Vec<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_edges_at_scale_zero_are_powers_of_two() {
        assert_eq!(upper_edge(0, 0), 2.0);
        assert_eq!(upper_edge(0, -1), 1.0);
        assert_eq!(upper_edge(0, 3), 16.0);
        assert_eq!(upper_edge(-1, 0), 4.0);
        assert!((upper_edge(1, 0) - std::f64::consts::SQRT_2).abs() < 1e-15);
    }
}
