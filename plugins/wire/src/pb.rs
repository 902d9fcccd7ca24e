//! Protobuf wire-format primitives: a bounds-checked reader that reports absolute byte
//! offsets, and the few encoders the editors and the splitter need.
//!
//! Everything here works on byte ranges of one buffer, so an offset in an error is an
//! offset into the request the caller handed in, not into some nested slice.

/// Wire type 0: a varint.
pub(crate) const VARINT: u8 = 0;
/// Wire type 1: eight little-endian bytes.
pub(crate) const I64: u8 = 1;
/// Wire type 2: a length-delimited payload.
pub(crate) const LEN: u8 = 2;
/// Wire type 3: the start of a (deprecated) group.
pub(crate) const SGROUP: u8 = 3;
/// Wire type 4: the end of a group.
pub(crate) const EGROUP: u8 = 4;
/// Wire type 5: four little-endian bytes.
pub(crate) const I32: u8 = 5;

/// How deep unknown groups may nest before the reader gives up.
const MAX_GROUP_DEPTH: u32 = 32;

/// What went wrong while reading, without allocating; turned into a
/// [`crate::WireError`] only when it reaches the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The buffer ended inside a varint.
    TruncatedVarint,
    /// A varint ran past ten bytes or overflowed 64 bits.
    OverlongVarint,
    /// A tag's value does not fit a field number.
    BadTag,
    /// Field number zero, which protobuf reserves.
    FieldZero,
    /// Wire types 6 and 7 do not exist.
    BadWireType(u8),
    /// A length prefix points past the end of the enclosing message.
    LengthOverrun { declared: u64, available: usize },
    /// A fixed-width value is cut short.
    TruncatedFixed { width: usize },
    /// An end-group tag without a matching start, or a group that never ends.
    UnbalancedGroup,
    /// Groups nested deeper than the reader allows.
    GroupTooDeep,
    /// A known field came with the wrong wire type.
    WrongWireType { message: &'static str, field: &'static str, found: u8, expected: u8 },
    /// A string field is not UTF-8.
    InvalidUtf8 { message: &'static str, field: &'static str },
    /// A packed repeated field whose length is not a multiple of its element width.
    PackedLength { message: &'static str, field: &'static str },
    /// A field that holds one message, not a list of them, came twice.
    Repeated { message: &'static str, field: &'static str },
    /// Messages nested deeper than [`crate::MAX_DEPTH`].
    TooDeep,
    /// The request is larger than the 4 GiB the index can address.
    TooLarge,
}

impl Fault {
    /// Describes the fault for a human.
    pub(crate) fn describe(self) -> String {
        match self {
            Fault::TruncatedVarint => "truncated varint".to_owned(),
            Fault::OverlongVarint => "varint longer than 10 bytes".to_owned(),
            Fault::BadTag => "tag out of range".to_owned(),
            Fault::FieldZero => "field number 0".to_owned(),
            Fault::BadWireType(wt) => format!("invalid wire type {wt}"),
            Fault::LengthOverrun { declared, available } => {
                format!("length {declared} exceeds the {available} bytes left")
            }
            Fault::TruncatedFixed { width } => format!("truncated {width}-byte value"),
            Fault::UnbalancedGroup => "unbalanced group".to_owned(),
            Fault::GroupTooDeep => format!("groups nested deeper than {MAX_GROUP_DEPTH}"),
            Fault::WrongWireType { message, field, found, expected } => {
                format!("{message}.{field} has wire type {found}, expected {expected}")
            }
            Fault::InvalidUtf8 { message, field } => {
                format!("{message}.{field} is not valid UTF-8")
            }
            Fault::PackedLength { message, field } => {
                format!("{message}.{field} has a packed length that is not a multiple of 8")
            }
            Fault::Repeated { message, field } => format!(
                "{message}.{field} holds one message but came more than once (protobuf would merge the two; \
                 send it once)"
            ),
            Fault::TooDeep => format!("messages nested deeper than {}", crate::MAX_DEPTH),
            Fault::TooLarge => "request larger than 4 GiB".to_owned(),
        }
    }
}

/// A fault and where it happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) offset: usize,
    pub(crate) fault: Fault,
}

/// Shorthand for reader results. The failure is boxed so that results stay two
/// words wide on the hot path, where nothing fails.
pub(crate) type Res<T> = Result<T, Box<Failure>>;

/// A cursor over `buf[pos..end]` that never reads outside that range.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) pos: usize,
    pub(crate) end: usize,
}

impl<'a> Reader<'a> {
    /// A reader over all of `buf`.
    #[inline]
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0, end: buf.len() }
    }

    /// A reader over `buf[start..end]`; the caller guarantees the range is inside `buf`.
    #[inline]
    pub(crate) fn range(buf: &'a [u8], start: usize, end: usize) -> Self {
        Reader { buf, pos: start, end: end.min(buf.len()) }
    }

    /// Whether the cursor has reached the end of its range.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.end
    }

    #[cold]
    #[inline(never)]
    fn fail<T>(&self, offset: usize, fault: Fault) -> Res<T> {
        Err(Box::new(Failure { offset, fault }))
    }

    /// Reads a varint.
    #[inline(always)]
    pub(crate) fn varint(&mut self) -> Res<u64> {
        let pos = self.pos;
        if pos < self.end {
            let b0 = self.buf[pos];
            if b0 < 0x80 {
                self.pos = pos + 1;
                return Ok(u64::from(b0));
            }
            // Two-byte varints (lengths of 128 to 16383 bytes) are common enough.
            if pos + 1 < self.end {
                let b1 = self.buf[pos + 1];
                if b1 < 0x80 {
                    self.pos = pos + 2;
                    return Ok(u64::from(b0 & 0x7f) | (u64::from(b1) << 7));
                }
            }
        }
        self.varint_slow()
    }

    #[inline(never)]
    fn varint_slow(&mut self) -> Res<u64> {
        let start = self.pos;
        let mut value: u64 = 0;
        let mut shift = 0u32;
        let mut pos = start;
        loop {
            if pos >= self.end {
                return self.fail(start, Fault::TruncatedVarint);
            }
            let b = self.buf[pos];
            pos += 1;
            if shift == 63 && b > 1 {
                return self.fail(start, Fault::OverlongVarint);
            }
            value |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                self.pos = pos;
                return Ok(value);
            }
            shift += 7;
            if shift > 63 {
                return self.fail(start, Fault::OverlongVarint);
            }
        }
    }

    /// Reads a tag and splits it into field number and wire type.
    #[inline(always)]
    pub(crate) fn tag(&mut self) -> Res<(u32, u8)> {
        let start = self.pos;
        let tag = self.varint()?;
        if tag > u64::from(u32::MAX) {
            return self.fail(start, Fault::BadTag);
        }
        let number = (tag >> 3) as u32;
        let wire_type = (tag & 7) as u8;
        if number == 0 {
            return self.fail(start, Fault::FieldZero);
        }
        Ok((number, wire_type))
    }

    /// Reads a length prefix and returns the payload's range, moving past it.
    #[inline(always)]
    pub(crate) fn len_delimited(&mut self) -> Res<(usize, usize)> {
        let at = self.pos;
        let len = self.varint()?;
        let available = self.end - self.pos;
        if len > available as u64 {
            return self.fail(at, Fault::LengthOverrun { declared: len, available });
        }
        let start = self.pos;
        self.pos = start + len as usize;
        Ok((start, self.pos))
    }

    /// Reads eight little-endian bytes.
    #[inline(always)]
    pub(crate) fn fixed64(&mut self) -> Res<u64> {
        let pos = self.pos;
        match self.buf.get(pos..pos + 8) {
            Some(bytes) if pos + 8 <= self.end => {
                self.pos = pos + 8;
                let mut raw = [0u8; 8];
                raw.copy_from_slice(bytes);
                Ok(u64::from_le_bytes(raw))
            }
            _ => self.fail(pos, Fault::TruncatedFixed { width: 8 }),
        }
    }

    /// Reads four little-endian bytes.
    #[inline(always)]
    pub(crate) fn fixed32(&mut self) -> Res<u32> {
        let pos = self.pos;
        match self.buf.get(pos..pos + 4) {
            Some(bytes) if pos + 4 <= self.end => {
                self.pos = pos + 4;
                let mut raw = [0u8; 4];
                raw.copy_from_slice(bytes);
                Ok(u32::from_le_bytes(raw))
            }
            _ => self.fail(pos, Fault::TruncatedFixed { width: 4 }),
        }
    }

    /// Skips the value of a field whose tag (starting at `tag_at`) was just read.
    pub(crate) fn skip(&mut self, number: u32, wire_type: u8, tag_at: usize) -> Res<()> {
        match wire_type {
            VARINT => self.varint().map(drop),
            I64 => self.fixed64().map(drop),
            LEN => self.len_delimited().map(drop),
            I32 => self.fixed32().map(drop),
            SGROUP => self.skip_group(number, tag_at, 1),
            EGROUP => self.fail(tag_at, Fault::UnbalancedGroup),
            other => self.fail(tag_at, Fault::BadWireType(other)),
        }
    }

    fn skip_group(&mut self, number: u32, tag_at: usize, depth: u32) -> Res<()> {
        if depth > MAX_GROUP_DEPTH {
            return self.fail(tag_at, Fault::GroupTooDeep);
        }
        while !self.is_empty() {
            let at = self.pos;
            let (n, wt) = self.tag()?;
            match wt {
                EGROUP if n == number => return Ok(()),
                EGROUP => return self.fail(at, Fault::UnbalancedGroup),
                SGROUP => self.skip_group(n, at, depth + 1)?,
                _ => self.skip(n, wt, at)?,
            }
        }
        self.fail(tag_at, Fault::UnbalancedGroup)
    }
}

/// The value of one field as read off the wire.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Value<'a> {
    Varint(u64),
    I64(u64),
    Len(&'a [u8]),
    I32(u32),
    /// A group, skipped; its contents are not exposed.
    Group,
}

/// One field with its position in the buffer being iterated.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Field<'a> {
    pub(crate) number: u32,
    pub(crate) value: Value<'a>,
    /// Where the field's tag starts.
    pub(crate) start: usize,
    /// One past the field's last byte.
    pub(crate) end: usize,
}

/// Reads a varint at `pos` of `buf` leniently: the value and the position after it.
#[inline(always)]
fn varint_at(buf: &[u8], pos: usize) -> Option<(u64, usize)> {
    let b = *buf.get(pos)?;
    if b < 0x80 {
        return Some((u64::from(b), pos + 1));
    }
    if let Some(&b1) = buf.get(pos + 1)
        && b1 < 0x80
    {
        return Some((u64::from(b & 0x7f) | (u64::from(b1) << 7), pos + 2));
    }
    varint_at_slow(buf, pos)
}

#[inline(never)]
fn varint_at_slow(buf: &[u8], pos: usize) -> Option<(u64, usize)> {
    let mut r = Reader::range(buf, pos, buf.len());
    let v = r.varint().ok()?;
    Some((v, r.pos))
}

/// Steps over the field starting at `pos` of the message `buf`: its number, wire type,
/// where its value starts (for `LEN`, the payload) and where it ends. `None` when the
/// bytes there are not a well-formed field.
#[inline(always)]
pub(crate) fn step(buf: &[u8], pos: usize) -> Option<(u32, u8, usize, usize)> {
    let tag = *buf.get(pos)?;
    if !(8..0x80).contains(&tag) {
        return step_slow(buf, pos);
    }
    let number = u32::from(tag >> 3);
    let body = pos + 1;
    let end = match tag & 7 {
        VARINT => varint_at(buf, body)?.1,
        I64 => body + 8,
        LEN => {
            let (len, start) = varint_at(buf, body)?;
            let end = start.checked_add(usize::try_from(len).ok()?)?;
            if end > buf.len() {
                return None;
            }
            return Some((number, LEN, start, end));
        }
        I32 => body + 4,
        _ => return step_slow(buf, pos),
    };
    if end > buf.len() {
        return None;
    }
    Some((number, tag & 7, body, end))
}

/// [`step`] for multi-byte tags and groups.
#[inline(never)]
fn step_slow(buf: &[u8], pos: usize) -> Option<(u32, u8, usize, usize)> {
    let mut r = Reader::range(buf, pos, buf.len());
    let (number, wt) = r.tag().ok()?;
    let body = r.pos;
    if wt == LEN {
        let (s, e) = r.len_delimited().ok()?;
        return Some((number, wt, s, e));
    }
    r.skip(number, wt, pos).ok()?;
    Some((number, wt, body, r.pos))
}

/// Decodes the value of a field found by [`step`].
#[inline(always)]
fn value_of(buf: &[u8], wt: u8, body: usize, end: usize) -> Value<'_> {
    match wt {
        VARINT => Value::Varint(varint_at(buf, body).map_or(0, |(v, _)| v)),
        I64 => Value::I64(le_u64(&buf[body..end])),
        LEN => Value::Len(&buf[body..end]),
        I32 => Value::I32(le_u32(&buf[body..end])),
        _ => Value::Group,
    }
}

#[inline(always)]
fn le_u64(bytes: &[u8]) -> u64 {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(raw)
}

#[inline(always)]
fn le_u32(bytes: &[u8]) -> u32 {
    let mut raw = [0u8; 4];
    raw.copy_from_slice(&bytes[..4]);
    u32::from_le_bytes(raw)
}

/// Iterates the fields of a message leniently: it stops at the first malformed byte.
///
/// Views use this; the host validates requests before anything reads them, so stopping
/// quietly on garbage is only a guard against panics, not a way to accept bad input.
#[derive(Clone, Debug)]
pub(crate) struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    #[inline]
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Fields { buf, pos: 0 }
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    #[inline(always)]
    fn next(&mut self) -> Option<Field<'a>> {
        let start = self.pos;
        match step(self.buf, start) {
            Some((number, wt, body, end)) => {
                self.pos = end;
                Some(Field { number, value: value_of(self.buf, wt, body, end), start, end })
            }
            None => {
                self.pos = self.buf.len();
                None
            }
        }
    }
}

/// The value of the last field `number` with wire type `wt` (protobuf's last-one-wins).
#[inline(always)]
fn find_last(bytes: &[u8], number: u32, wt: u8) -> Option<Value<'_>> {
    let mut pos = 0;
    let mut found = None;
    while let Some((n, w, body, end)) = step(bytes, pos) {
        if n == number && w == wt {
            found = Some((body, end));
        }
        pos = end;
    }
    found.map(|(body, end)| value_of(bytes, wt, body, end))
}

/// The last occurrence of a length-delimited field.
#[inline]
pub(crate) fn last_len(bytes: &[u8], number: u32) -> Option<&[u8]> {
    match find_last(bytes, number, LEN)? {
        Value::Len(v) => Some(v),
        _ => None,
    }
}

/// The last occurrence of a varint field.
#[inline]
pub(crate) fn last_varint(bytes: &[u8], number: u32) -> Option<u64> {
    match find_last(bytes, number, VARINT)? {
        Value::Varint(v) => Some(v),
        _ => None,
    }
}

/// The last occurrence of a fixed64 field.
#[inline]
pub(crate) fn last_fixed64(bytes: &[u8], number: u32) -> Option<u64> {
    match find_last(bytes, number, I64)? {
        Value::I64(v) => Some(v),
        _ => None,
    }
}

/// The last occurrence of a fixed32 field.
#[inline]
pub(crate) fn last_fixed32(bytes: &[u8], number: u32) -> Option<u32> {
    match find_last(bytes, number, I32)? {
        Value::I32(v) => Some(v),
        _ => None,
    }
}

/// The last occurrence of a string field, or `""` when absent or not UTF-8.
#[inline]
pub(crate) fn last_str(bytes: &[u8], number: u32) -> &str {
    last_len(bytes, number).and_then(|b| std::str::from_utf8(b).ok()).unwrap_or("")
}

/// How many bytes `value` takes as a varint.
#[inline]
pub fn varint_len(value: u64) -> usize {
    // Each byte carries seven bits; `| 1` makes zero take one byte.
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

/// Appends `value` as a varint.
#[inline]
pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends a tag.
#[inline]
pub fn put_tag(out: &mut Vec<u8>, number: u32, wire_type: u8) {
    put_varint(out, (u64::from(number) << 3) | u64::from(wire_type));
}

/// How many bytes a tag takes.
#[inline]
pub fn tag_len(number: u32) -> usize {
    varint_len(u64::from(number) << 3)
}

/// How many bytes a length-delimited field with a payload of `len` bytes takes.
#[inline]
pub fn len_field_len(number: u32, len: usize) -> usize {
    tag_len(number) + varint_len(len as u64) + len
}

/// Appends the tag and length prefix of a length-delimited field.
#[inline]
pub fn put_len_header(out: &mut Vec<u8>, number: u32, len: usize) {
    put_tag(out, number, LEN);
    put_varint(out, len as u64);
}

/// Appends a whole length-delimited field.
#[inline]
pub(crate) fn put_len_field(out: &mut Vec<u8>, number: u32, payload: &[u8]) {
    put_len_header(out, number, payload.len());
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_every_width() {
        for value in [0u64, 1, 127, 128, 300, 16_383, 16_384, u32::MAX as u64, u64::MAX] {
            let mut buf = Vec::new();
            put_varint(&mut buf, value);
            assert_eq!(buf.len(), varint_len(value), "length of {value}");
            let mut reader = Reader::new(&buf);
            assert_eq!(reader.varint(), Ok(value));
            assert!(reader.is_empty());
        }
    }

    #[test]
    fn an_eleven_byte_varint_is_rejected_at_its_start() {
        let buf = [0xffu8; 11];
        let mut reader = Reader::new(&buf);
        assert_eq!(reader.varint(), Err(Box::new(Failure { offset: 0, fault: Fault::OverlongVarint })));
    }

    #[test]
    fn a_varint_cut_short_is_reported_as_truncated() {
        let buf = [0x01, 0x80, 0x80];
        let mut reader = Reader::new(&buf);
        assert_eq!(reader.varint(), Ok(1));
        assert_eq!(reader.varint().unwrap_err().fault, Fault::TruncatedVarint);
    }

    #[test]
    fn groups_are_skipped_with_their_contents() {
        // field 1 start-group, field 2 varint 5 inside, field 1 end-group, field 3 varint 7
        let buf = [0x0b, 0x10, 0x05, 0x0c, 0x18, 0x07];
        let fields: Vec<_> = Fields::new(&buf).map(|f| (f.number, f.value)).collect();
        assert_eq!(fields, vec![(1, Value::Group), (3, Value::Varint(7))]);
    }
}
