//! A minimal zero-copy walk over an encoded OTLP `ExportLogsServiceRequest`,
//! with edits spliced into a copy of the input (approach (b) of the benchmark).
//!
//! Fields are read in place (strings as `&str` borrowed from the input); an
//! edit is recorded as a patch over a byte range, and the length prefixes of
//! the messages that enclose it are patched to match. Output is the input with
//! the patches applied, written in one pass. Only what the two workloads need
//! is here; `plugins/wire` is where the SDK's full version of this lives.

use std::ops::Range;

/// Why the input could not be walked.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// A varint, length or fixed-width field runs past its message.
    Truncated,
    /// A varint longer than ten bytes.
    Overlong,
    /// A wire type that protobuf does not define (or a deprecated group).
    WireType(u8),
    /// A string field that is not UTF-8.
    Utf8,
    /// A field that should hold a message or string is not length-delimited.
    NotLengthDelimited,
}

const VARINT: u8 = 0;
const I64: u8 = 1;
const LEN: u8 = 2;
const I32: u8 = 5;

/// A `Result` whose error is [`Malformed`].
pub(crate) type Result<T> = std::result::Result<T, Malformed>;

/// One field of a message, as offsets into the whole buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub(crate) number: u32,
    /// The wire type; 2 is length-delimited (a message, string or bytes). A
    /// `u8` rather than a `bool`, so that `Result<Field>` keeps a plain layout.
    wire: u8,
    /// The tag's first byte.
    start: usize,
    /// The length prefix of a delimited value; the value itself otherwise.
    prefix: usize,
    /// The first byte after the length prefix (equal to `prefix` for scalars).
    body: usize,
    /// One past the field's last byte.
    end: usize,
}

impl Field {
    /// From the tag to the end: what dropping the field removes.
    pub(crate) fn whole(&self) -> Range<usize> {
        self.start..self.end
    }

    /// The body of a delimited field (the bytes after its length prefix).
    pub(crate) fn body(&self) -> Result<Range<usize>> {
        if self.wire == LEN { Ok(self.body..self.end) } else { Err(Malformed::NotLengthDelimited) }
    }

    /// A delimited field read as text.
    #[inline(always)]
    pub(crate) fn str<'a>(&self, buf: &'a [u8]) -> Result<&'a str> {
        std::str::from_utf8(&buf[self.body()?]).map_err(|_| Malformed::Utf8)
    }
}

/// The fields of one message, in order.
pub(crate) struct Fields<'a> {
    /// The buffer up to the message's end, so that one bounds check suffices.
    buf: &'a [u8],
    at: usize,
}

impl<'a> Fields<'a> {
    /// The fields of the message in `buf[range]`.
    pub(crate) fn new(buf: &'a [u8], range: Range<usize>) -> Self {
        Self { buf: &buf[..range.end], at: range.start }
    }

    #[inline(always)]
    fn byte(&mut self) -> Result<u8> {
        let byte = *self.buf.get(self.at).ok_or(Malformed::Truncated)?;
        self.at += 1;
        Ok(byte)
    }

    #[inline(always)]
    fn varint(&mut self) -> Result<u64> {
        let first = self.byte()?;
        if first < 0x80 {
            return Ok(u64::from(first));
        }
        let mut value = u64::from(first & 0x7f);
        for shift in [7, 14, 21, 28, 35, 42, 49, 56, 63] {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(Malformed::Overlong)
    }

    #[inline(always)]
    fn skip(&mut self, len: u64) -> Result<()> {
        let left = (self.buf.len() - self.at) as u64;
        if len > left {
            return Err(Malformed::Truncated);
        }
        self.at += len as usize;
        Ok(())
    }

    #[inline(always)]
    fn field(&mut self) -> Result<Field> {
        let start = self.at;
        let tag = self.varint()?;
        let number = (tag >> 3) as u32;
        let prefix = self.at;
        let wire = (tag & 7) as u8;
        match wire {
            VARINT => self.varint().map(drop)?,
            I64 => self.skip(8)?,
            I32 => self.skip(4)?,
            LEN => {}
            other => return Err(Malformed::WireType(other)),
        }
        let mut body = self.at;
        if wire == LEN {
            let len = self.varint()?;
            body = self.at;
            self.skip(len)?;
        }
        Ok(Field { number, wire, start, prefix, body, end: self.at })
    }
}

impl Iterator for Fields<'_> {
    type Item = Result<Field>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.buf.len() {
            return None;
        }
        let field = self.field();
        if field.is_err() {
            self.at = self.buf.len();
        }
        Some(field)
    }
}

/// What replaces a patched range.
#[derive(Debug)]
enum Replacement {
    /// A length prefix, re-encoded for the edited length.
    Length(u64),
    /// A string: its length prefix followed by its bytes.
    Str(&'static str),
    /// Nothing: the range is removed.
    Remove,
}

#[derive(Debug)]
struct Patch {
    range: Range<usize>,
    with: Replacement,
}

/// Edits to one buffer, kept in the order of their positions.
#[derive(Default)]
pub(crate) struct Splice {
    patches: Vec<Patch>,
}

/// A message being edited: its patch slot and its length before the edits.
pub(crate) struct Open {
    slot: usize,
    old_len: usize,
}

impl Splice {
    /// Starts editing the message in `field`; pair with [`Splice::close`].
    /// Messages must be opened in the order of their positions, before any
    /// edit inside them.
    pub(crate) fn open(&mut self, field: &Field) -> Open {
        let old_len = field.end - field.body;
        self.patches.push(Patch { range: field.prefix..field.body, with: Replacement::Length(old_len as u64) });
        Open { slot: self.patches.len() - 1, old_len }
    }

    /// Finishes a message whose content grew by `inner` bytes; returns how much
    /// the whole field grew (its length prefix may have changed size too).
    pub(crate) fn close(&mut self, open: Open, inner: isize) -> isize {
        if inner == 0 {
            // Nothing inside changed size: the old prefix stands.
            if open.slot + 1 == self.patches.len() {
                self.patches.pop();
            } else {
                let patch = &mut self.patches[open.slot];
                patch.range.end = patch.range.start;
                patch.with = Replacement::Remove;
            }
            return 0;
        }
        let new_len = open.old_len.checked_add_signed(inner).expect("edits cannot remove more than a message holds");
        self.patches[open.slot].with = Replacement::Length(new_len as u64);
        inner + varint_len(new_len as u64) as isize - varint_len(open.old_len as u64) as isize
    }

    /// Replaces the string in `field` with `text`; returns the growth in bytes.
    pub(crate) fn set_str(&mut self, field: &Field, text: &'static str) -> isize {
        self.patches.push(Patch { range: field.prefix..field.end, with: Replacement::Str(text) });
        let old = field.end - field.prefix;
        (varint_len(text.len() as u64) + text.len()) as isize - old as isize
    }

    /// Removes `field` entirely; returns the growth in bytes (negative).
    pub(crate) fn remove(&mut self, field: &Field) -> isize {
        self.patches.push(Patch { range: field.whole(), with: Replacement::Remove });
        -((field.end - field.start) as isize)
    }

    /// Whether there is anything to apply.
    pub(crate) fn is_empty(&self) -> bool {
        self.patches.iter().all(|patch| patch.range.is_empty() && matches!(patch.with, Replacement::Remove))
    }

    /// `input` with every patch applied; `growth` is the total the callers were told.
    pub(crate) fn apply(&self, input: &[u8], growth: isize) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len().saturating_add_signed(growth));
        let mut at = 0;
        for patch in &self.patches {
            out.extend_from_slice(&input[at..patch.range.start]);
            match patch.with {
                Replacement::Length(len) => put_varint(&mut out, len),
                Replacement::Str(text) => {
                    put_varint(&mut out, text.len() as u64);
                    out.extend_from_slice(text.as_bytes());
                }
                Replacement::Remove => {}
            }
            at = patch.range.end;
        }
        out.extend_from_slice(&input[at..]);
        out
    }
}

fn varint_len(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}
