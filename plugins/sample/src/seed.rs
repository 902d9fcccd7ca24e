//! The hash seed method of the OpenTelemetry Collector's probabilistic sampler: a seeded
//! 32-bit FNV-1a hash of the trace id (or of an attribute value), of which 14 bits are
//! compared with the sampling percentage.
//!
//! It is reproduced bit for bit so that Aegis and Collector instances configured with
//! the same `hash_seed` and `sampling_percentage` keep the same traces, and so that the
//! `th` and `rv` values they write agree.

use crate::threshold::{Randomness, Threshold};

/// The method uses 14 bits of the hash: 16384 buckets.
const BUCKETS: u32 = 1 << 14;

/// FNV-1a, 32 bits, over the seed's four little-endian bytes and then `bytes`.
pub(crate) fn fnv1a(seed: u32, bytes: &[u8]) -> u32 {
    const OFFSET: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;
    seed.to_le_bytes().iter().chain(bytes).fold(OFFSET, |hash, &b| (hash ^ u32::from(b)).wrapping_mul(PRIME))
}

/// How many of the 16384 buckets a percentage keeps. The Collector multiplies in 32-bit
/// floating point and truncates; so does this, or 15.3 % would keep a different bucket.
pub(crate) fn buckets_kept(percentage: f64) -> u32 {
    let percentage = percentage.clamp(0.0, 100.0) as f32;
    ((percentage * (BUCKETS as f32 / 100.0)) as u32).min(BUCKETS)
}

/// Whether the hash method keeps an item whose key hashes to `hash`.
pub(crate) fn keeps(hash: u32, buckets_kept: u32) -> bool {
    hash & (BUCKETS - 1) < buckets_kept
}

/// The rejection threshold equivalent to keeping `buckets_kept` buckets: its top 14 bits
/// are the rejected buckets.
pub(crate) fn threshold(buckets_kept: u32) -> Threshold {
    Threshold::from_value(u64::from(BUCKETS - buckets_kept.min(BUCKETS)) << 42)
}

/// The 56-bit randomness value equivalent to `hash`: its top 14 bits are chosen so that
/// `randomness >= threshold(k)` exactly when `keeps(hash, k)`, which lets downstream
/// samplers of the OpenTelemetry specification make decisions consistent with this one.
/// The 18 hash bits the method does not use fill the middle bits, as the Collector does.
pub(crate) fn randomness(hash: u32) -> Randomness {
    let bucket = u64::from(hash & (BUCKETS - 1));
    let unused = u64::from(hash >> 14);
    let mixed = unused ^ (unused << 10);
    Randomness::from_bits(((u64::from(BUCKETS) - 1 - bucket) << 42) | (mixed << 14) | bucket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        // FNV-1a 32 of "", "a" and "foobar" (the FNV reference test suite): with the seed
        // folded in first, seed bytes and data are one stream.
        let plain = |bytes: &[u8]| {
            bytes.iter().fold(0x811c_9dc5_u32, |hash, &b| (hash ^ u32::from(b)).wrapping_mul(0x0100_0193))
        };
        assert_eq!(plain(b""), 0x811c_9dc5);
        assert_eq!(plain(b"a"), 0xe40c_292c);
        assert_eq!(plain(b"foobar"), 0xbf9c_f968);
        assert_eq!(fnv1a(u32::from_le_bytes(*b"foob"), b"ar"), 0xbf9c_f968);
    }

    #[test]
    fn percentages_become_buckets_as_in_the_collector() {
        assert_eq!(buckets_kept(100.0), 16384);
        assert_eq!(buckets_kept(250.0), 16384);
        assert_eq!(buckets_kept(50.0), 8192);
        assert_eq!(buckets_kept(10.0), 1638);
        assert_eq!(buckets_kept(15.3), 2506);
        assert_eq!(buckets_kept(0.001), 0);
        assert_eq!(buckets_kept(0.0), 0);
    }

    #[test]
    fn the_randomness_of_a_hash_agrees_with_the_hash_decision() {
        for kept in [0, 1, 1638, 2506, 8192, 16383, 16384] {
            let threshold = threshold(kept);
            for hash in (0..u32::MAX).step_by(40_503) {
                assert_eq!(threshold.keeps(randomness(hash)), keeps(hash, kept), "hash {hash:#x}, {kept} buckets");
            }
        }
        let mut th = String::new();
        threshold(1638).encode(&mut th);
        assert_eq!(th, "e668");
    }
}
