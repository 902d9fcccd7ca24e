//! Rate limits: a token bucket per key (say per `service.name`), refilled by the host's
//! monotonic clock, with a cap on how many keys get their own bucket so that a flood of
//! distinct keys cannot grow the plugin's memory.

use std::collections::HashMap;
use std::fmt::Write as _;

use aegis_plugin_sdk::{AnyValue, ValueRef};

use crate::config::RateLimit;

/// One token bucket.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    /// When it was last refilled, in monotonic nanoseconds.
    at: u64,
}

impl Bucket {
    fn full(burst: f64, now: u64) -> Self {
        Bucket { tokens: burst, at: now }
    }

    fn refill(&mut self, per_nano: f64, burst: f64, now: u64) {
        let elapsed = now.saturating_sub(self.at) as f64;
        self.tokens = (self.tokens + elapsed * per_nano).min(burst);
        self.at = self.at.max(now);
    }
}

/// The rate limit of one processor instance.
#[derive(Debug)]
pub(crate) struct Limiter {
    settings: RateLimit,
    per_nano: f64,
    buckets: HashMap<String, Bucket>,
    /// Shared by the keys that found every bucket taken.
    overflow: Bucket,
    /// A key's text when its value is not a string.
    text: String,
    /// When full buckets were last forgotten: a flood of new keys must not make every
    /// item scan all the buckets.
    tidied: Option<u64>,
}

/// How often, at most, full buckets are forgotten to make room for new keys.
const TIDY_INTERVAL: u64 = 100_000_000;

impl Limiter {
    pub(crate) fn new(settings: RateLimit, now: u64) -> Self {
        let burst = settings.burst;
        Limiter {
            per_nano: settings.per_second / 1e9,
            settings,
            buckets: HashMap::new(),
            overflow: Bucket::full(burst, now),
            text: String::new(),
            tidied: None,
        }
    }

    pub(crate) fn settings(&self) -> &RateLimit {
        &self.settings
    }

    /// Admits `cost` items of the key whose value is `value` (none: the items lack the key
    /// attribute, and share the bucket of the empty key) at `now`. An admission needs one
    /// whole token; a larger cost (the spans of a trace) may leave the bucket in debt,
    /// which later admissions wait out, so that the long-run rate holds.
    pub(crate) fn admit(&mut self, value: Option<AnyValue<'_>>, cost: f64, now: u64) -> bool {
        let mut text = std::mem::take(&mut self.text);
        let key = key_text(value, &mut text);
        let admitted = self.take(key, cost, now, false);
        self.text = text;
        admitted
    }

    /// Takes `cost` tokens of the key whose value is `value` whatever the bucket holds: the
    /// further spans of a trace whose first span was admitted.
    pub(crate) fn charge(&mut self, value: Option<AnyValue<'_>>, cost: f64, now: u64) {
        let mut text = std::mem::take(&mut self.text);
        let key = key_text(value, &mut text);
        self.take(key, cost, now, true);
        self.text = text;
    }

    /// [`Limiter::admit`] for a key already rendered as text.
    pub(crate) fn admit_text(&mut self, key: &str, cost: f64, now: u64) -> bool {
        self.take(key, cost, now, false)
    }

    fn take(&mut self, key: &str, cost: f64, now: u64, force: bool) -> bool {
        let (per_nano, burst) = (self.per_nano, self.settings.burst);
        if !self.buckets.contains_key(key) {
            if self.buckets.len() >= self.settings.max_keys
                && self.tidied.is_none_or(|at| now.saturating_sub(at) >= TIDY_INTERVAL)
            {
                // A full bucket is the same as no bucket: forget those to make room.
                self.tidied = Some(now);
                self.buckets.retain(|_, b| {
                    b.refill(per_nano, burst, now);
                    b.tokens < burst
                });
            }
            if self.buckets.len() < self.settings.max_keys {
                self.buckets.insert(key.to_owned(), Bucket::full(burst, now));
            }
        }
        let bucket = match self.buckets.get_mut(key) {
            Some(bucket) => bucket,
            None => &mut self.overflow,
        };
        bucket.refill(per_nano, burst, now);
        if force || bucket.tokens >= 1.0 {
            bucket.tokens -= cost;
            true
        } else {
            false
        }
    }

    /// How many keys have their own bucket.
    #[cfg(test)]
    pub(crate) fn keys(&self) -> usize {
        self.buckets.len()
    }
}

/// The key of an attribute value: a string as it is, anything else rendered into `text`
/// (none: the empty key).
fn key_text<'t>(value: Option<AnyValue<'t>>, text: &'t mut String) -> &'t str {
    match value.map(|v| v.get()) {
        None => "",
        Some(ValueRef::Str(s)) => s,
        Some(other) => {
            text.clear();
            let _ = write!(text, "{other}");
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KeySource;
    use aegis_plugin_sdk::wire::encode_any_value;

    fn limiter(per_second: f64, burst: f64, max_keys: usize) -> Limiter {
        let settings = RateLimit {
            per_second,
            burst,
            key: Some("service.name".into()),
            key_source: KeySource::Resource,
            max_keys,
            include_kept: false,
        };
        Limiter::new(settings, 0)
    }

    const SECOND: u64 = 1_000_000_000;

    #[test]
    fn a_bucket_admits_its_burst_then_its_rate() {
        let mut limiter = limiter(10.0, 5.0, 10);
        let checkout = encode_any_value("checkout");
        let value = Some(AnyValue::new(&checkout));
        let admitted = (0..20).filter(|_| limiter.admit(value, 1.0, 0)).count();
        assert_eq!(admitted, 5);
        // A second later, ten more tokens, capped at the burst of five.
        let admitted = (0..20).filter(|_| limiter.admit(value, 1.0, SECOND)).count();
        assert_eq!(admitted, 5);
        // Over ten seconds at one item per 50 ms, the rate (10/s) is what passes.
        let admitted = (0..200).filter(|i| limiter.admit(value, 1.0, SECOND + 1 + i * SECOND / 20)).count();
        assert!((99..=101).contains(&admitted), "{admitted}");
    }

    #[test]
    fn keys_have_their_own_buckets_up_to_the_cap() {
        let mut limiter = limiter(1.0, 1.0, 2);
        let names: Vec<Vec<u8>> = ["a", "b", "c", "d"].iter().map(|n| encode_any_value(*n)).collect();
        let admitted: Vec<bool> = names.iter().map(|n| limiter.admit(Some(AnyValue::new(n)), 1.0, 0)).collect();
        // a and b get buckets; c and d share the overflow bucket, which has one token.
        assert_eq!(admitted, [true, true, true, false]);
        assert_eq!(limiter.keys(), 2);
        // Once a and b have refilled, their buckets are forgotten and c gets one.
        assert!(limiter.admit(Some(AnyValue::new(&names[2])), 1.0, 10 * SECOND));
        assert_eq!(limiter.keys(), 1);
    }

    #[test]
    fn a_costly_admission_leaves_a_debt() {
        let mut limiter = limiter(4.0, 4.0, 10);
        assert!(limiter.admit(None, 8.0, 0));
        assert!(!limiter.admit(None, 1.0, SECOND));
        assert!(limiter.admit(None, 1.0, 2 * SECOND + 250_000_000));
    }
}
