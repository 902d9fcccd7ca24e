//! The 56-bit rejection thresholds (`th`) and randomness values (`rv`) of the OpenTelemetry
//! probability sampling specification, and their hex encodings.
//!
//! An item is kept when its randomness is at least the threshold; a threshold of 0 keeps
//! everything, and the sampling probability of threshold `T` is `(2^56 - T) / 2^56`.

/// 2^56: the number of distinct randomness values, and the threshold that keeps nothing.
pub(crate) const MAX: u64 = 1 << 56;

/// The smallest probability a threshold can express (one in 2^56).
pub(crate) const MIN_PROBABILITY: f64 = 1.0 / MAX as f64;

/// How many hex digits a threshold or randomness value has at most.
const DIGITS: u32 = 14;

/// A rejection threshold: items whose randomness is below it are dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Threshold(u64);

impl Threshold {
    /// Keeps everything (`th:0`).
    pub(crate) const ALWAYS: Threshold = Threshold(0);
    /// Keeps nothing; never encoded, since "never" is not a probability.
    pub(crate) const NEVER: Threshold = Threshold(MAX);

    /// The threshold of `probability`, rounded to `precision` significant hex digits (1 to
    /// 14). Leading `0` digits (probabilities near 1) and leading `f` digits (near 0) do not
    /// count as significant, so small probabilities keep their precision, as the
    /// specification recommends. Probabilities below 2^-56 (and NaN) keep nothing.
    pub(crate) fn from_probability(probability: f64, precision: u8) -> Threshold {
        if probability.is_nan() || probability < MIN_PROBABILITY {
            return Threshold::NEVER;
        }
        if probability >= 1.0 {
            return Threshold::ALWAYS;
        }
        let accepted = ((probability * MAX as f64).round() as u64).clamp(1, MAX);
        let exact = MAX - accepted;
        // The run of identical leading digits that carries no information.
        let lead = match exact >> 52 {
            0x0 => leading_digits(exact, 0x0),
            0xf => leading_digits(exact, 0xf),
            _ => 0,
        };
        let precision = (u32::from(precision.clamp(1, DIGITS as u8)) + lead).min(DIGITS);
        let shift = 4 * (DIGITS - precision);
        if shift == 0 {
            return Threshold(exact);
        }
        let rounded = ((exact + (1 << (shift - 1))) >> shift) << shift;
        // Rounding up past the last representable threshold would mean "keep nothing";
        // round down instead, which keeps the probability positive.
        Threshold(if rounded >= MAX { (exact >> shift) << shift } else { rounded })
    }

    /// The threshold as a 56-bit number.
    #[cfg(test)]
    pub(crate) fn value(self) -> u64 {
        self.0
    }

    /// A threshold from its 56-bit number (larger values keep nothing).
    pub(crate) fn from_value(value: u64) -> Threshold {
        Threshold(value.min(MAX))
    }

    /// The probability that an item passes.
    pub(crate) fn probability(self) -> f64 {
        (MAX - self.0) as f64 / MAX as f64
    }

    /// Whether an item with `randomness` passes.
    pub(crate) fn keeps(self, randomness: Randomness) -> bool {
        randomness.0 >= self.0
    }

    /// Parses a `th` value: 1 to 14 hex digits, extended with trailing zeros to 14.
    pub(crate) fn parse(text: &str) -> Option<Threshold> {
        let digits = text.len() as u32;
        if digits == 0 || digits > DIGITS {
            return None;
        }
        let value = parse_hex(text)?;
        Some(Threshold(value << (4 * (DIGITS - digits))))
    }

    /// Appends the `th` value: 14 hex digits without their trailing zeros, or `0`.
    /// [`Threshold::NEVER`] has no encoding and appends nothing.
    pub(crate) fn encode(self, out: &mut String) {
        if self.0 >= MAX {
            return;
        }
        if self.0 == 0 {
            out.push('0');
            return;
        }
        let mut value = self.0;
        let mut digits = DIGITS;
        while value & 0xf == 0 {
            value >>= 4;
            digits -= 1;
        }
        push_hex(out, value, digits);
    }
}

/// How many of the leading hex digits of a 56-bit `value` equal `digit`.
fn leading_digits(value: u64, digit: u64) -> u32 {
    (0..DIGITS).take_while(|&i| (value >> (4 * (DIGITS - 1 - i))) & 0xf == digit).count() as u32
}

/// Appends the low `digits` hex digits of `value`, in lower case, with leading zeros. (The
/// formatting machinery of `write!` cost more than the rest of writing a trace state.)
fn push_hex(out: &mut String, value: u64, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..digits).rev() {
        out.push(char::from(HEX[((value >> (4 * i)) & 0xf) as usize]));
    }
}

/// Parses hex digits (either case) that fit in 56 bits.
fn parse_hex(text: &str) -> Option<u64> {
    if text.len() > DIGITS as usize || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(text, 16).ok()
}

/// A 56-bit randomness value: from a trace id, an explicit `rv`, or a hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Randomness(u64);

impl Randomness {
    /// The least significant 56 bits of a 16-byte trace id (W3C Trace Context Level 2);
    /// none for ids of another length or all zeros, which W3C calls invalid.
    pub(crate) fn from_trace_id(id: &[u8]) -> Option<Randomness> {
        let id: &[u8; 16] = id.try_into().ok()?;
        if id.iter().all(|&b| b == 0) {
            return None;
        }
        let mut low = [0u8; 8];
        low[1..].copy_from_slice(&id[9..]);
        Some(Randomness(u64::from_be_bytes(low)))
    }

    /// A randomness value from its 56 low bits.
    pub(crate) fn from_bits(bits: u64) -> Randomness {
        Randomness(bits & (MAX - 1))
    }

    /// The value as a 56-bit number.
    #[cfg(test)]
    pub(crate) fn value(self) -> u64 {
        self.0
    }

    /// Parses an `rv` value: exactly 14 hex digits.
    pub(crate) fn parse(text: &str) -> Option<Randomness> {
        if text.len() != DIGITS as usize {
            return None;
        }
        parse_hex(text).map(Randomness)
    }

    /// Appends the `rv` value: 14 hex digits.
    pub(crate) fn encode(self, out: &mut String) {
        push_hex(out, self.0, DIGITS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn th(probability: f64, precision: u8) -> String {
        let mut out = String::new();
        Threshold::from_probability(probability, precision).encode(&mut out);
        out
    }

    #[test]
    fn probabilities_encode_as_the_specification_tabulates() {
        // The 1-in-N table of the OpenTelemetry probability sampling specification,
        // precisions 3, 4 and 5.
        let table: &[(f64, [&str; 3])] = &[
            (1.0, ["0", "0", "0"]),
            (0.5, ["8", "8", "8"]),
            (1.0 / 3.0, ["aab", "aaab", "aaaab"]),
            (0.25, ["c", "c", "c"]),
            (0.2, ["ccd", "cccd", "ccccd"]),
            (0.125, ["e", "e", "e"]),
            (0.1, ["e66", "e666", "e6666"]),
            (0.0625, ["f", "f", "f"]),
            (0.01, ["fd71", "fd70a", "fd70a4"]),
            (0.001, ["ffbe7", "ffbe77", "ffbe76d"]),
            (0.0001, ["fff972", "fff9724", "fff97247"]),
            (0.00001, ["ffff584", "ffff583a", "ffff583a5"]),
            (0.000001, ["ffffef4", "ffffef39", "ffffef391"]),
        ];
        for (probability, expected) in table {
            for (precision, want) in [3, 4, 5].into_iter().zip(expected) {
                assert_eq!(th(*probability, precision), *want, "p = {probability}, precision {precision}");
            }
        }
    }

    #[test]
    fn thresholds_round_trip_through_their_encoding() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..10_000 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let threshold = Threshold::from_value(state >> 8);
            let mut text = String::new();
            threshold.encode(&mut text);
            assert!(!text.is_empty() && text.len() <= 14, "{text}");
            assert_eq!(Threshold::parse(&text), Some(threshold), "{text}");
        }
        for text in ["0", "8", "c", "e668", "fd70a4", "00000000000001", "ffffffffffffff"] {
            let mut again = String::new();
            Threshold::parse(text).unwrap().encode(&mut again);
            assert_eq!(again, text);
        }
        // Leading zeros are digits too; upper case is accepted and re-encoded in lower case.
        assert_eq!(Threshold::parse("008").unwrap().value(), 0x0000_8000_0000_0000);
        assert_eq!(Threshold::parse("C"), Threshold::parse("c"));
    }

    #[test]
    fn malformed_thresholds_and_randomness_are_refused() {
        for text in ["", "123456789abcdef", "g", "-1", "+1", " 8", "8 "] {
            assert_eq!(Threshold::parse(text), None, "{text:?}");
        }
        for text in ["", "9b8233f7e3a15", "9b8233f7e3a1511", "9b8233f7e3a15g"] {
            assert_eq!(Randomness::parse(text), None, "{text:?}");
        }
        assert_eq!(Randomness::parse("9b8233f7e3a151").unwrap().value(), 0x009b_8233_f7e3_a151);
    }

    #[test]
    fn randomness_is_the_last_seven_bytes_of_a_valid_trace_id() {
        let id = [0xff, 0, 0, 0, 0, 0, 0, 0, 0xaa, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde];
        assert_eq!(Randomness::from_trace_id(&id).unwrap().value(), 0x12_3456_789a_bcde);
        assert_eq!(Randomness::from_trace_id(&[0; 16]), None);
        assert_eq!(Randomness::from_trace_id(&id[..8]), None);
        let mut out = String::new();
        Randomness::from_trace_id(&id).unwrap().encode(&mut out);
        assert_eq!(out, "123456789abcde");
    }

    #[test]
    fn a_threshold_keeps_what_is_at_or_above_it() {
        let half = Threshold::parse("8").unwrap();
        assert!(half.keeps(Randomness::from_bits(0x80_0000_0000_0000)));
        assert!(!half.keeps(Randomness::from_bits(0x7f_ffff_ffff_ffff)));
        assert!(Threshold::ALWAYS.keeps(Randomness::from_bits(0)));
        assert!(!Threshold::NEVER.keeps(Randomness::from_bits(MAX - 1)));
        assert_eq!(half.probability(), 0.5);
        assert_eq!(Threshold::from_probability(0.0, 4), Threshold::NEVER);
        assert_eq!(Threshold::from_probability(f64::NAN, 4), Threshold::NEVER);
        assert_eq!(Threshold::from_probability(MIN_PROBABILITY, 4).value(), MAX - 1);
        let mut never = String::new();
        Threshold::NEVER.encode(&mut never);
        assert_eq!(never, "");
    }
}
