//! Lean field lookups for conditions, which read one field of every item: a key-first
//! attribute lookup (each `KeyValue`'s key bytes are compared in place and only the value
//! of the one that matches is decoded, where the general iterator decodes every entry) and
//! a varint lookup. Measured natively on the benchmark's log records, they take about half
//! the time of the general views' getters, which most of a condition's cost is.

/// Reads the varint at `pos`; returns it and the position after it. Tags, lengths and
/// severities almost always fit in one byte; that case is kept to one compare. Positions
/// go by value, not `&mut`: a local whose address is taken lives in Wasm's shadow stack
/// in linear memory, and every step of the scan would load and store it there.
#[inline(always)]
fn varint(bytes: &[u8], pos: usize) -> Option<(u64, usize)> {
    let byte = *bytes.get(pos)?;
    if byte < 0x80 {
        return Some((u64::from(byte), pos + 1));
    }
    // Two calls that return one number each. A call that returns a pair comes back
    // through the shadow stack in Wasm, and a function that makes one sets up a
    // shadow-stack frame every time it is entered, whether the long case comes or not.
    let end = varint_end(bytes, pos);
    if end == 0 {
        return None;
    }
    Some((varint_value(bytes, pos, end), end))
}

/// The position after the varint of two or more bytes at `pos`; 0 when it is cut short
/// or runs past ten bytes.
#[inline(never)]
fn varint_end(bytes: &[u8], pos: usize) -> usize {
    let Some(rest) = bytes.get(pos..) else { return 0 };
    rest.iter().take(10).position(|byte| byte & 0x80 == 0).map_or(0, |last| pos + last + 1)
}

/// The value of the varint in `bytes[pos..end]` ([`varint_end`] found `end`).
#[inline(never)]
fn varint_value(bytes: &[u8], pos: usize, end: usize) -> u64 {
    let encoded = bytes.get(pos..end).unwrap_or_default();
    encoded.iter().enumerate().fold(0, |value, (i, byte)| value | (u64::from(byte & 0x7f) << (7 * i)))
}

/// Calls `each` with the payload of every length-delimited field `number` of `message`,
/// in order. Stops quietly at bytes that are not protobuf (the host validated the batch,
/// so that happens only to a message a plugin broke).
#[inline(always)]
fn len_fields<'a>(message: &'a [u8], number: u64, mut each: impl FnMut(&'a [u8])) {
    len_field_ranges(message, number, |start, end| each(&message[start..end]));
}

/// [`len_fields`], with where each payload lies in `message` (`start..end`, in bounds).
#[inline(always)]
fn len_field_ranges(message: &[u8], number: u64, mut each: impl FnMut(usize, usize)) {
    let mut pos = 0;
    while pos < message.len() {
        let Some((tag, next)) = varint(message, pos) else { return };
        pos = next;
        match tag & 7 {
            0 => {
                let Some((_, next)) = varint(message, pos) else { return };
                pos = next;
            }
            1 => pos += 8,
            5 => pos += 4,
            2 => {
                let Some((len, next)) = varint(message, pos) else { return };
                pos = next;
                let Some(end) = usize::try_from(len).ok().and_then(|len| pos.checked_add(len)) else { return };
                if end > message.len() {
                    return;
                }
                if tag >> 3 == number {
                    each(pos, end);
                }
                pos = end;
            }
            _ => return,
        }
    }
}

/// The last value of varint field `number` of `message` (protobuf's last-one-wins), or 0
/// (protobuf's default) when it has none. A plain number, not an `Option`, so that it comes
/// back in a register in Wasm too.
pub(crate) fn last_varint(message: &[u8], number: u32) -> u64 {
    let number = u64::from(number);
    let mut pos = 0;
    let mut found = 0;
    while pos < message.len() {
        let Some((tag, next)) = varint(message, pos) else { break };
        pos = next;
        match tag & 7 {
            0 => {
                let Some((value, next)) = varint(message, pos) else { break };
                pos = next;
                if tag >> 3 == number {
                    found = value;
                }
            }
            1 => pos += 8,
            5 => pos += 4,
            2 => {
                let Some((len, next)) = varint(message, pos) else { break };
                pos = next;
                match usize::try_from(len).ok().and_then(|len| pos.checked_add(len)) {
                    Some(end) if end <= message.len() => pos = end,
                    _ => break,
                }
            }
            _ => break,
        }
    }
    found
}

/// The `AnyValue` payload of the last attribute named `key` in the repeated `KeyValue`
/// field `number` of `message` (protobuf's last-one-wins), if any.
pub(crate) fn attribute<'a>(message: &'a [u8], number: u32, key: &str) -> Option<&'a [u8]> {
    let key = key.as_bytes();
    let mut found = None;
    len_fields(message, u64::from(number), |kv| {
        // Every encoder writes a short key first: compare it in place before anything else.
        if let [0x0a, len, rest @ ..] = kv
            && *len < 0x80
        {
            if usize::from(*len) != key.len() || !rest.starts_with(key) {
                return;
            }
            let after = &rest[key.len()..];
            if let Some(value) = sole_value(after) {
                found = Some(value);
                return;
            }
        }
        if let Some(value) = unpack_range(kv, key_value(kv, key)) {
            found = Some(value);
        }
    });
    found
}

/// What [`key_value`] returns when the key is another: no packed range is all ones.
const NO_RANGE: u64 = u64::MAX;

/// The bytes of `kv` at a range [`key_value`] packed.
#[inline(always)]
fn unpack_range(kv: &[u8], packed: u64) -> Option<&[u8]> {
    if packed == NO_RANGE {
        return None;
    }
    let (start, len) = ((packed >> 32) as usize, (packed & 0xffff_ffff) as usize);
    kv.get(start..start.checked_add(len)?)
}

/// The value payload when `after` (what follows the key) is exactly one value field.
#[inline(always)]
fn sole_value(after: &[u8]) -> Option<&[u8]> {
    let [0x12, rest @ ..] = after else { return None };
    let (len, pos) = varint(rest, 0)?;
    let len = usize::try_from(len).ok()?;
    (rest.len() - pos == len).then(|| &rest[pos..])
}

/// The careful reading of a `KeyValue`: the last key and the last value; where the value
/// lies in `kv` when the key is `key` (start in the high half, length in the low half: one
/// number, so that it comes back in a register even in Wasm), else [`NO_RANGE`]. An absent
/// value reads as an empty `AnyValue`.
#[inline(never)]
fn key_value(kv: &[u8], key: &[u8]) -> u64 {
    let mut name: &[u8] = &[];
    let (mut start, mut end) = (0, 0);
    len_fields(kv, 1, |k| name = k);
    len_field_ranges(kv, 2, |s, e| (start, end) = (s, e));
    if name != key {
        return NO_RANGE;
    }
    // Ranges of a message of a batch, which is under 4 GiB.
    match (u32::try_from(start), u32::try_from(end - start)) {
        (Ok(start), Ok(len)) => (u64::from(start) << 32) | u64::from(len),
        _ => NO_RANGE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_wire::{LogRecordData, Value, attributes};

    fn record(pairs: Vec<(&str, Value)>) -> Vec<u8> {
        LogRecordData { severity_number: 9, attributes: attributes(pairs), ..Default::default() }.encode()
    }

    #[test]
    fn finds_the_last_attribute_with_the_key_and_only_that_key() {
        let bytes = record(vec![
            ("http.route", Value::from("/a")),
            ("http.route.x", Value::from("no")),
            ("http", Value::from("no")),
            ("http.route", Value::from("/b")),
        ]);
        let found = attribute(&bytes, 6, "http.route").map(|v| aegis_wire::AnyValue::new(v).to_value());
        assert_eq!(found, Some(Value::from("/b")));
        assert_eq!(attribute(&bytes, 6, "absent"), None);
        assert_eq!(attribute(&bytes, 7, "http.route"), None, "another field number");
    }

    #[test]
    fn long_keys_and_unusual_layouts_are_read_carefully() {
        let long = "k".repeat(200);
        let bytes = record(vec![(long.as_str(), Value::Int(5))]);
        let found = attribute(&bytes, 6, &long).map(|v| aegis_wire::AnyValue::new(v).to_value());
        assert_eq!(found, Some(Value::Int(5)));
        // A KeyValue with the value before the key, and one without a value.
        let mut message = vec![0x32, 9, 0x12, 2, 0x18, 7, 0x0a, 3, b'a', b'b', b'c'];
        message.extend_from_slice(&[0x32, 3, 0x0a, 1, b'z']);
        let found = attribute(&message, 6, "abc").map(|v| aegis_wire::AnyValue::new(v).to_value());
        assert_eq!(found, Some(Value::Int(7)));
        assert_eq!(attribute(&message, 6, "z"), Some(&[][..]));
    }

    #[test]
    fn the_last_varint_of_a_field_wins() {
        let bytes = record(vec![("a", Value::Int(3))]);
        assert_eq!(last_varint(&bytes, 2), 9);
        assert_eq!(last_varint(&bytes, 4), 0);
        let twice = [0x10, 0x05, 0x1a, 0x01, b'x', 0x10, 0x96, 0x01];
        assert_eq!(last_varint(&twice, 2), 150);
        // Ten bytes, the longest a varint may be: a negative int32, as protobuf writes it.
        let negative = [0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(last_varint(&negative, 2), u64::MAX);
        assert_eq!(last_varint(&negative, 2) as i32, -1);
    }

    #[test]
    fn garbage_reads_as_absent_without_panicking() {
        for bytes in [&[0x32, 0xff][..], &[0x32, 5, 0x0a], &[0xff; 12], &[0x0f], &[0x32, 2, 0x0a, 9]] {
            assert_eq!(attribute(bytes, 6, "a"), None);
        }
        let bytes = record(vec![("abc", Value::from("x"))]);
        for end in 0..bytes.len() {
            let _ = attribute(&bytes[..end], 6, "abc");
            let _ = last_varint(&bytes[..end], 2);
        }
        assert_eq!(last_varint(&[0x10, 0xff, 0xff], 2), 0);
        // Eleven bytes is no varint.
        assert_eq!(last_varint(&[0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], 2), 0);
    }
}
