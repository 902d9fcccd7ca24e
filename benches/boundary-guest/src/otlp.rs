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
    /// A wire type that protobuf does not define (or a deprecated group).
    WireType(u8),
    /// A string field that is not UTF-8.
    Utf8,
    /// A field that should hold a message or string is not length-delimited.
    NotLengthDelimited,
}

/// A `Result` whose error is [`Malformed`].
pub(crate) type Result<T> = std::result::Result<T, Malformed>;

/// One field of a message, as positions in the whole buffer.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub(crate) number: u32,
    /// From the tag's first byte to the field's end: what dropping the field removes.
    pub(crate) whole: Range<usize>,
    pub(crate) value: Value,
}

/// A field's value.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// A varint or fixed-width value; the workloads never read one.
    Scalar,
    /// A length-delimited value: `prefix` is the length varint, `body` what follows it.
    Bytes {
        prefix: Range<usize>,
        body: Range<usize>,
    },
}

/// The fields of one message, in order.
pub(crate) struct Fields<'a> {
    buf: &'a [u8],
    at: usize,
    end: usize,
}

impl<'a> Fields<'a> {
    /// The fields of the message in `buf[range]`.
    pub(crate) fn new(buf: &'a [u8], range: Range<usize>) -> Self {
        Self {
            buf,
            at: range.start,
            end: range.end,
        }
    }

    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let &byte = self.buf[..self.end]
                .get(self.at)
                .ok_or(Malformed::Truncated)?;
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Malformed::Truncated)
    }

    fn take(&mut self, len: usize) -> Result<Range<usize>> {
        let start = self.at;
        let end = start
            .checked_add(len)
            .filter(|&end| end <= self.end)
            .ok_or(Malformed::Truncated)?;
        self.at = end;
        Ok(start..end)
    }

    fn field(&mut self) -> Result<Field> {
        let start = self.at;
        let tag = self.varint()?;
        let number = u32::try_from(tag >> 3).map_err(|_| Malformed::Truncated)?;
        let value = match (tag & 7) as u8 {
            0 => self.varint().map(|_| Value::Scalar)?,
            1 => self.take(8).map(|_| Value::Scalar)?,
            5 => self.take(4).map(|_| Value::Scalar)?,
            2 => {
                let prefix_start = self.at;
                let len = usize::try_from(self.varint()?).map_err(|_| Malformed::Truncated)?;
                let prefix = prefix_start..self.at;
                Value::Bytes {
                    prefix,
                    body: self.take(len)?,
                }
            }
            other => return Err(Malformed::WireType(other)),
        };
        Ok(Field {
            number,
            whole: start..self.at,
            value,
        })
    }
}

impl Iterator for Fields<'_> {
    type Item = Result<Field>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.end {
            return None;
        }
        let field = self.field();
        if field.is_err() {
            self.at = self.end;
        }
        Some(field)
    }
}

/// The body of a length-delimited field, or `None` for any other wire type.
pub(crate) fn bytes_of(field: &Field) -> Option<Range<usize>> {
    match &field.value {
        Value::Bytes { body, .. } => Some(body.clone()),
        _ => None,
    }
}

/// A length-delimited field read as text.
pub(crate) fn str_of<'a>(buf: &'a [u8], field: &Field) -> Result<Option<&'a str>> {
    bytes_of(field)
        .map(|body| std::str::from_utf8(&buf[body]).map_err(|_| Malformed::Utf8))
        .transpose()
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

/// A message being edited: where its length prefix is, and its patch slot.
pub(crate) struct Open {
    slot: usize,
    old_len: usize,
}

impl Splice {
    /// Starts editing the message in `field`; pair with [`Splice::close`].
    pub(crate) fn open(&mut self, field: &Field) -> Open {
        let Value::Bytes { prefix, body } = &field.value else {
            unreachable!("only length-delimited fields are opened");
        };
        self.patches.push(Patch {
            range: prefix.clone(),
            with: Replacement::Length(body.len() as u64),
        });
        Open {
            slot: self.patches.len() - 1,
            old_len: body.len(),
        }
    }

    /// Finishes a message whose content grew by `inner` bytes; returns how much
    /// the whole field grew (its length prefix may have changed size too).
    pub(crate) fn close(&mut self, open: Open, inner: isize) -> isize {
        if inner == 0 {
            // Nothing inside changed: drop the placeholder so that it costs nothing.
            if open.slot + 1 == self.patches.len() {
                self.patches.pop();
            } else {
                self.patches[open.slot].with = Replacement::Remove;
                let prefix = &self.patches[open.slot].range;
                self.patches[open.slot].range = prefix.start..prefix.start;
            }
            return 0;
        }
        let new_len = open
            .old_len
            .checked_add_signed(inner)
            .expect("a message cannot shrink below empty");
        self.patches[open.slot].with = Replacement::Length(new_len as u64);
        inner + varint_len(new_len as u64) as isize - varint_len(open.old_len as u64) as isize
    }

    /// Replaces the string in `field` with `text`; returns the growth in bytes.
    pub(crate) fn set_str(&mut self, field: &Field, text: &'static str) -> isize {
        let Value::Bytes { prefix, body } = &field.value else {
            unreachable!("only length-delimited fields hold strings");
        };
        let old = body.end - prefix.start;
        self.patches.push(Patch {
            range: prefix.start..body.end,
            with: Replacement::Str(text),
        });
        (varint_len(text.len() as u64) + text.len()) as isize - old as isize
    }

    /// Removes `field` entirely; returns the growth in bytes (negative).
    pub(crate) fn remove(&mut self, field: &Field) -> isize {
        self.patches.push(Patch {
            range: field.whole.clone(),
            with: Replacement::Remove,
        });
        -(field.whole.len() as isize)
    }

    /// Whether there is anything to apply.
    pub(crate) fn is_empty(&self) -> bool {
        self.patches
            .iter()
            .all(|patch| patch.range.is_empty() && matches!(patch.with, Replacement::Remove))
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
