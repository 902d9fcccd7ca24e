//! The two workloads' rules, shared by every approach so that each one does
//! exactly the same work and only the way the data arrives differs.

/// What a redacted value becomes.
pub(crate) const MASK: &str = "***";

/// Attribute keys whose values are always masked.
const SECRET_KEYS: &[&str] = &["user_id"];

/// Whether the redaction workload rewrites the value of this attribute.
pub(crate) fn must_mask(key: &str, value: &str) -> bool {
    SECRET_KEYS.contains(&key) || looks_like_email(value)
}

/// A cheap byte scan for `local@domain.tld`: an `@` with something before it,
/// and a `.` after it that is neither next to the `@` nor last.
pub(crate) fn looks_like_email(text: &str) -> bool {
    let bytes = text.as_bytes();
    let Some(at) = bytes.iter().position(|&b| b == b'@') else {
        return false;
    };
    if at == 0 {
        return false;
    }
    let domain = &bytes[at + 1..];
    domain.iter().enumerate().any(|(i, &b)| b == b'.' && i > 0 && i + 1 < domain.len())
}

/// Whether the sampling workload keeps a record: about one in ten, by a hash
/// of the trace id, so that all records of a trace share a fate. Records
/// without a trace id are kept.
pub(crate) fn keep(trace_id: &[u8]) -> bool {
    if trace_id.is_empty() {
        return true;
    }
    fnv1a(trace_id).is_multiple_of(10)
}

/// FNV-1a, 64 bits: enough to spread random trace ids, and trivially the
/// same on the host (which checks the results) and in the guest.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}
