//! `memcmp` and `bcmp` for plugins built for `wasm32`, comparing eight bytes at a time.
//!
//! Every `==` on strings and byte slices, every `BTreeMap<String, _>` lookup and every
//! sort of strings ends in `memcmp`. On `wasm32-wasip2` it comes from wasi-libc, whose
//! version (musl's) walks one byte at a time; natively glibc's compares 32 bytes a step.
//! Profiles of the Loki exporter and of `parse-logs` put a few percent of their time there.
//! The SDK links this crate, so every SDK plugin gets these instead of wasi-libc's (the
//! linker takes a symbol from an archive only while it is undefined, and Rust's crates
//! come before libc).
//!
//! The comparison itself is safe code ([`compare`]), tested natively; only the two C
//! entry points, compiled for `wasm32` alone, are unsafe. The crate is `no_builtins`, so
//! the compiler cannot turn the loop back into a call to `memcmp`.

#![no_std]
#![no_builtins]

/// Compares the first `min(a.len(), b.len())` bytes of `a` and `b` as `memcmp` does:
/// negative, zero or positive as the first differing byte (unsigned) of `a` is less than,
/// equal to or greater than that of `b`.
#[inline]
pub fn compare(a: &[u8], b: &[u8]) -> i32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    if n >= 8 {
        let mut words_a = a.chunks_exact(8);
        let mut words_b = b.chunks_exact(8);
        for (x, y) in (&mut words_a).zip(&mut words_b) {
            let (x, y) = (word(x), word(y));
            if x != y {
                return order(x, y);
            }
        }
        if !words_a.remainder().is_empty() {
            // The last (overlapping) word: its bytes before the tail are known equal.
            let (x, y) = (word(&a[n - 8..]), word(&b[n - 8..]));
            if x != y {
                return order(x, y);
            }
        }
        return 0;
    }
    if n >= 4 {
        for at in [0, n - 4] {
            let (x, y) = (half(&a[at..]), half(&b[at..]));
            if x != y {
                return if x.swap_bytes() < y.swap_bytes() { -1 } else { 1 };
            }
        }
        return 0;
    }
    // Up to three bytes, unrolled.
    for at in [0, 1, 2] {
        if at >= n {
            break;
        }
        let difference = i32::from(a[at]) - i32::from(b[at]);
        if difference != 0 {
            return difference;
        }
    }
    0
}

/// Eight bytes as a little-endian integer (the first byte lowest).
#[inline(always)]
fn word(bytes: &[u8]) -> u64 {
    let mut out = [0; 8];
    out.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(out)
}

#[inline(always)]
fn half(bytes: &[u8]) -> u32 {
    let mut out = [0; 4];
    out.copy_from_slice(&bytes[..4]);
    u32::from_le_bytes(out)
}

/// The order of two different words by their first differing byte: as big-endian
/// integers, the first byte is the most significant.
#[inline(always)]
fn order(x: u64, y: u64) -> i32 {
    if x.swap_bytes() < y.swap_bytes() { -1 } else { 1 }
}

#[cfg(target_arch = "wasm32")]
mod entry {
    /// # Safety
    /// `a` and `b` point to `n` readable bytes each (C's contract for `memcmp`).
    #[unsafe(no_mangle)]
    unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        if n == 0 {
            return 0;
        }
        // SAFETY: the caller promises `n` readable bytes at each pointer.
        let (a, b) = unsafe { (core::slice::from_raw_parts(a, n), core::slice::from_raw_parts(b, n)) };
        super::compare(a, b)
    }

    /// # Safety
    /// As for [`memcmp`].
    #[unsafe(no_mangle)]
    unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        // SAFETY: the same contract as `memcmp`.
        unsafe { memcmp(a, b, n) }
    }
}

#[cfg(test)]
mod tests {
    use super::compare;

    fn sign(value: i32) -> i32 {
        value.signum()
    }

    #[test]
    fn agrees_with_slice_ordering_at_every_length_and_position() {
        extern crate std;
        use std::vec::Vec;
        for len in 0..40usize {
            let base: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
            assert_eq!(compare(&base, &base), 0, "equal, length {len}");
            for at in 0..len {
                for delta in [1u8, 0x80, 0xff] {
                    let mut other = base.clone();
                    other[at] = other[at].wrapping_add(delta);
                    // A later difference must not mask the first one.
                    if at + 1 < len {
                        other[len - 1] = other[len - 1].wrapping_sub(delta);
                    }
                    let expected = base.cmp(&other) as i32;
                    assert_eq!(sign(compare(&base, &other)), expected, "length {len}, byte {at}, delta {delta}");
                    assert_eq!(sign(compare(&other, &base)), -expected, "length {len}, byte {at}, reversed");
                }
            }
        }
    }

    #[test]
    fn compares_the_common_prefix_of_different_lengths() {
        assert_eq!(compare(b"abcdefghij", b"abcdefghijkl"), 0);
        assert!(compare(b"abcdefghiz", b"abcdefghijkl") > 0);
    }
}
